//! `text-encoder`: a BERT-family encoder imported from a Hugging Face directory; text in,
//! pooled (mean or CLS) and L2-normalised embedding out, like sentence-transformers.
//!
//! The tokenizer's own padding (all-MiniLM-L6-v2 ships fixed padding to 128) is switched off:
//! a batch is sorted by token length, cut into chunks, and each chunk is padded only to its own
//! longest sequence, which removes most of the work for short texts.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use strata_data::{Artifact, FileSource, ManifestInfo};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use super::bert::{Bert, BertConfig, l2_normalize, mean_pool, weights_prefix};
use super::{
    InputType, KindInfo, Model, ModelFiles, ModelKind, TrainRequest, TrainedModel, to_json,
};
use crate::schema::{InputSchema, Inputs, IoSchema, OutputSchema, Outputs};
use crate::{CoreError, Result, tensors};

pub const NAME: &str = "text-encoder";
pub(crate) const CONFIG: &str = "config.json";
pub(crate) const WEIGHTS: &str = "model.safetensors";
pub(crate) const TOKENIZER: &str = "tokenizer.json";
pub(crate) const POOLING: &str = "pooling.json";
/// Largest chunk run through the encoder at once; bigger requests are split.
const MAX_CHUNK: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolingMode {
    Mean,
    Cls,
}

/// How token states become one vector; our normalised form of sentence-transformers' modules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolingConfig {
    pub mode: PoolingMode,
    pub normalize: bool,
    pub max_tokens: usize,
}

/// Tokenizer + BERT + pooling; used by `text-encoder` and inside `text-classifier`.
pub struct Encoder {
    pub bert: Bert,
    tokenizer: Tokenizer,
    pub pooling: PoolingConfig,
    pad_id: u32,
    device: Device,
}

/// A padded chunk ready for the encoder.
pub struct TokenBatch {
    pub ids: Tensor,
    pub type_ids: Tensor,
    /// None when no row is padded (every row has the same length).
    pub mask: Option<Tensor>,
}

impl Encoder {
    pub fn new(
        config: &[u8],
        tokenizer: &[u8],
        pooling: PoolingConfig,
        weights: &HashMap<String, Tensor>,
        fuse: bool,
        device: &Device,
    ) -> Result<Self> {
        let cfg = BertConfig::from_json(config)?;
        let prefix = weights_prefix(weights.keys())?;
        let bert = Bert::from_tensors(weights, &prefix, &cfg, fuse)?;
        if pooling.max_tokens == 0 || pooling.max_tokens > cfg.max_position_embeddings {
            return Err(CoreError::Config(format!(
                "max_tokens {} must be in 1..={}",
                pooling.max_tokens, cfg.max_position_embeddings
            )));
        }
        let mut tokenizer = Tokenizer::from_bytes(tokenizer)
            .map_err(|e| CoreError::Tokenizer(format!("tokenizer.json: {e}")))?;
        let pad_id = tokenizer.get_padding().map(|p| p.pad_id).unwrap_or(0);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: pooling.max_tokens,
                ..Default::default()
            }))
            .map_err(|e| CoreError::Tokenizer(e.to_string()))?;
        Ok(Encoder {
            bert,
            tokenizer,
            pooling,
            pad_id,
            device: device.clone(),
        })
    }

    pub fn dim(&self) -> usize {
        self.bert.config.hidden_size
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn tokenize(&self, texts: &[String]) -> Result<Vec<Encoding>> {
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.tokenizer
            .encode_batch_fast(inputs, true)
            .map_err(|e| CoreError::Tokenizer(e.to_string()))
    }

    /// Pads `encodings` to the longest of them.
    pub fn batch(&self, encodings: &[&Encoding]) -> Result<TokenBatch> {
        let b = encodings.len();
        let s = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![self.pad_id; b * s];
        let mut types = vec![0u32; b * s];
        let mut mask = vec![0f32; b * s];
        let mut padded = false;
        for (r, e) in encodings.iter().enumerate() {
            let n = e.len();
            padded |= n < s;
            ids[r * s..r * s + n].copy_from_slice(e.get_ids());
            types[r * s..r * s + n].copy_from_slice(e.get_type_ids());
            mask[r * s..r * s + n].iter_mut().for_each(|m| *m = 1.0);
        }
        Ok(TokenBatch {
            ids: Tensor::from_vec(ids, (b, s), &self.device)?,
            type_ids: Tensor::from_vec(types, (b, s), &self.device)?,
            mask: if padded {
                Some(Tensor::from_vec(mask, (b, s), &self.device)?)
            } else {
                None
            },
        })
    }

    /// Pooled (and, if configured, normalised) embeddings `(batch, dim)` of one chunk.
    pub fn forward(&self, batch: &TokenBatch, train: bool) -> Result<Tensor> {
        let hidden = self
            .bert
            .forward(&batch.ids, &batch.type_ids, batch.mask.as_ref(), train)?;
        let pooled = match self.pooling.mode {
            PoolingMode::Mean => mean_pool(&hidden, batch.mask.as_ref())?,
            PoolingMode::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
        };
        if self.pooling.normalize {
            l2_normalize(&pooled)
        } else {
            Ok(pooled)
        }
    }

    /// Embeddings of `texts` in input order, as one `(n, dim)` tensor.
    pub fn embed(&self, texts: &[String]) -> Result<Tensor> {
        if texts.is_empty() {
            return Ok(Tensor::zeros((0, self.dim()), DType::F32, &self.device)?);
        }
        let encodings = self.tokenize(texts)?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let mut chunks = Vec::new();
        for part in order.chunks(MAX_CHUNK) {
            let encs: Vec<&Encoding> = part.iter().map(|&i| &encodings[i]).collect();
            chunks.push(self.forward(&self.batch(&encs)?, false)?);
        }
        let sorted = Tensor::cat(&chunks, 0)?;
        // Row j of `sorted` belongs to input order[j]; invert the permutation.
        let mut inverse = vec![0u32; order.len()];
        for (j, &i) in order.iter().enumerate() {
            inverse[i] = j as u32;
        }
        Ok(sorted.index_select(&Tensor::from_vec(inverse, order.len(), &self.device)?, 0)?)
    }
}

/// Reads the encoder files of a stored text-encoder or text-classifier.
pub(crate) fn encoder_from_artifact(
    artifact: &Artifact,
    fuse: bool,
    device: &Device,
) -> Result<(Encoder, HashMap<String, Tensor>)> {
    let pooling: PoolingConfig = serde_json::from_slice(artifact.file(POOLING)?)
        .map_err(|e| CoreError::Config(format!("{POOLING}: {e}")))?;
    let weights = tensors::load(artifact.file(WEIGHTS)?, device)?;
    let enc = Encoder::new(
        artifact.file(CONFIG)?,
        artifact.file(TOKENIZER)?,
        pooling,
        &weights,
        fuse,
        device,
    )?;
    Ok((enc, weights))
}

pub(crate) fn encoder_schema(enc: &Encoder) -> IoSchema {
    IoSchema {
        input: InputSchema::Text {
            max_tokens: enc.pooling.max_tokens,
        },
        output: OutputSchema::Embedding { dim: enc.dim() },
    }
}

pub struct TextEncoderKind;

impl ModelKind for TextEncoderKind {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> KindInfo {
        KindInfo {
            name: NAME,
            title: "Text encoder",
            description: "A BERT-family sentence encoder imported from a Hugging Face directory \
                          (mean pooling, L2 norm); fine-tune one with text-classifier.",
            input: InputType::Text,
            trainable: false,
            base_kind: None,
            parameters: serde_json::json!({ "type": "object", "properties": {} }),
        }
    }

    fn train(&self, _req: TrainRequest<'_>) -> Result<TrainedModel> {
        Err(CoreError::Config(format!(
            "{NAME} models are imported (import-hf), not trained; fine-tune one with text-classifier"
        )))
    }

    fn import(&self, dir: &Path) -> Result<ModelFiles> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| CoreError::Config(format!("{}: {e}", dir.join(name).display())))
        };
        let config = read(CONFIG)?;
        let tokenizer = read(TOKENIZER)?;
        let weights_bytes = read(WEIGHTS)?;
        let pooling = pooling_from_dir(dir, &config)?;
        // Build the encoder once, so a broken directory fails here and not at first use.
        let weights = tensors::load(&weights_bytes, &Device::Cpu)?;
        let enc = Encoder::new(
            &config,
            &tokenizer,
            pooling.clone(),
            &weights,
            false,
            &Device::Cpu,
        )?;
        enc.tokenize(&["import check".to_string()])?;
        let io = encoder_schema(&enc);
        let source = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let pooling_json =
            serde_json::to_vec_pretty(&pooling).map_err(|e| CoreError::Config(e.to_string()))?;
        Ok(ModelFiles {
            files: vec![
                (CONFIG.into(), FileSource::Bytes(config)),
                (TOKENIZER.into(), FileSource::Bytes(tokenizer)),
                (WEIGHTS.into(), FileSource::Bytes(weights_bytes)),
                (POOLING.into(), FileSource::Bytes(pooling_json)),
            ],
            info: ManifestInfo {
                kind: NAME.into(),
                schema: to_json(&io),
                hyperparameters: json!({ "pooling": pooling }),
                metrics: json!({}),
                dataset_sha256: None,
                extra: json!({ "imported_from": source }),
            },
        })
    }

    fn load(&self, artifact: Artifact, device: &Device) -> Result<Box<dyn Model>> {
        let (encoder, _) = encoder_from_artifact(&artifact, true, device)?;
        let io = encoder_schema(&encoder);
        Ok(Box::new(TextEncoderModel { encoder, io }))
    }
}

/// sentence-transformers' module files, when present, decide pooling, normalisation and length.
fn pooling_from_dir(dir: &Path, config: &[u8]) -> Result<PoolingConfig> {
    let json_file = |p: &Path| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(p).ok()?).ok()
    };
    let cfg = BertConfig::from_json(config)?;
    let mode = match json_file(&dir.join("1_Pooling/config.json")) {
        Some(p) if p["pooling_mode_cls_token"].as_bool() == Some(true) => PoolingMode::Cls,
        Some(p) if p["pooling_mode_mean_tokens"].as_bool() == Some(false) => {
            return Err(CoreError::Config(
                "only mean or CLS pooling is supported".into(),
            ));
        }
        _ => PoolingMode::Mean,
    };
    let normalize = match json_file(&dir.join("modules.json")) {
        Some(serde_json::Value::Array(mods)) => mods
            .iter()
            .any(|m| m["type"].as_str().is_some_and(|t| t.ends_with("Normalize"))),
        _ => true,
    };
    let max_tokens = json_file(&dir.join("sentence_bert_config.json"))
        .and_then(|c| c["max_seq_length"].as_u64())
        .map(|n| n as usize)
        .unwrap_or(cfg.max_position_embeddings)
        .min(cfg.max_position_embeddings);
    Ok(PoolingConfig {
        mode,
        normalize,
        max_tokens,
    })
}

struct TextEncoderModel {
    encoder: Encoder,
    io: IoSchema,
}

impl Model for TextEncoderModel {
    fn kind(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> &IoSchema {
        &self.io
    }

    fn predict(&self, inputs: &Inputs) -> Result<Outputs> {
        self.io.check(inputs)?;
        let Inputs::Texts(texts) = inputs else {
            return Err(CoreError::Schema("the model expects texts".into()));
        };
        Ok(Outputs::Embeddings(
            self.encoder.embed(texts)?.to_vec2::<f32>()?,
        ))
    }
}

//! `text-classifier`: a `text-encoder` plus a linear classification head on its pooled embedding.
//!
//! Two fine-tuning modes: `head` trains the head only (the encoder runs once over the table and
//! its embeddings are cached, so an epoch costs almost nothing); `full` trains the encoder too,
//! at `encoder_lr_scale` times the head's learning rate.

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use strata_data::{Artifact, DatasetSchema, FileSource, ManifestInfo};
use tokenizers::Encoding;

use super::bert::{parameter_names, weights_prefix};
use super::mlp::init_linear;
use super::text_encoder::{
    self, CONFIG, Encoder, POOLING, PoolingConfig, TOKENIZER, WEIGHTS, encoder_from_artifact,
};
use super::{
    InputType, KindInfo, KindParams, Model, ModelFiles, ModelKind, Plan, TextClassification,
    TrainRequest, TrainedModel, class_predictions, fingerprint, info, parse_params,
    text_classification, to_json,
};
use crate::schema::{InputSchema, Inputs, IoSchema, OutputSchema, Outputs};
use crate::train::{Param, Trainable, evaluate, fit};
use crate::{CoreError, Result, tensors};

pub const NAME: &str = "text-classifier";
const HEAD: &str = "head.safetensors";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FineTune {
    Head,
    Full,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TextClassifierParams {
    /// `head`: train the classification head on a frozen encoder (fast); `full`: fine-tune the
    /// encoder too.
    pub mode: FineTune,
    /// Encoder learning rate as a fraction of the head's (mode `full`); above 0.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub encoder_lr_scale: f64,
}

impl KindParams for TextClassifierParams {
    fn check(&self) -> Result<()> {
        if !(self.encoder_lr_scale.is_finite() && self.encoder_lr_scale > 0.0) {
            return Err(CoreError::Config(format!(
                "{NAME} parameters: encoder_lr_scale must be above 0, got {}",
                self.encoder_lr_scale
            )));
        }
        Ok(())
    }
}

impl Default for TextClassifierParams {
    fn default() -> Self {
        TextClassifierParams {
            mode: FineTune::Head,
            encoder_lr_scale: 0.1,
        }
    }
}

pub struct TextClassifierKind;

struct Head {
    weight: Var,
    bias: Var,
}

impl Head {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.weight.as_tensor().t()?)?
            .broadcast_add(self.bias.as_tensor())?)
    }

    fn params(&self) -> Vec<Param> {
        vec![
            Param {
                name: "head.weight".into(),
                var: self.weight.clone(),
                lr_scale: 1.0,
            },
            Param {
                name: "head.bias".into(),
                var: self.bias.clone(),
                lr_scale: 1.0,
            },
        ]
    }
}

/// Head-only: logits from cached embeddings.
struct HeadTrainer {
    head: Head,
    embeddings: Tensor,
    device: Device,
}

impl Trainable for HeadTrainer {
    fn params(&self) -> Vec<Param> {
        self.head.params()
    }

    fn logits(&self, rows: &[usize], _train: bool) -> Result<Tensor> {
        let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
        let x = self
            .embeddings
            .index_select(&Tensor::from_vec(idx, rows.len(), &self.device)?, 0)?;
        self.head.forward(&x)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

/// Full fine-tuning: the encoder runs on every batch, built from `Var`s.
struct FullTrainer {
    head: Head,
    encoder: Encoder,
    encoder_vars: Vec<(String, Var)>,
    encodings: Vec<Encoding>,
    lr_scale: f64,
}

impl Trainable for FullTrainer {
    fn params(&self) -> Vec<Param> {
        let mut p: Vec<Param> = self
            .encoder_vars
            .iter()
            .map(|(n, v)| Param {
                name: format!("encoder.{n}"),
                var: v.clone(),
                lr_scale: self.lr_scale,
            })
            .collect();
        p.extend(self.head.params());
        p
    }

    fn logits(&self, rows: &[usize], train: bool) -> Result<Tensor> {
        let encs: Vec<&Encoding> = rows.iter().map(|&r| &self.encodings[r]).collect();
        let pooled = self.encoder.forward(&self.encoder.batch(&encs)?, train)?;
        self.head.forward(&pooled)
    }

    fn device(&self) -> &Device {
        self.encoder.device()
    }
}

impl ModelKind for TextClassifierKind {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> KindInfo {
        info::<TextClassifierParams>(
            NAME,
            "Text classifier",
            "A text encoder plus a classification head, fine-tuned head-only or in full on a \
             labelled text column.",
            InputType::Text,
            Some(text_encoder::NAME),
        )
    }

    fn plan(&self, params: &serde_json::Value, _dataset: &DatasetSchema) -> Result<Plan> {
        parse_params::<TextClassifierParams>(NAME, params)?;
        // The size is the base encoder's, which the service already stores.
        Ok(Plan::default())
    }

    fn train(&self, req: TrainRequest<'_>) -> Result<TrainedModel> {
        let params: TextClassifierParams = parse_params(NAME, &req.params)?;
        let Some(base) = req.base else {
            return Err(CoreError::Config(format!(
                "{NAME} needs a base text-encoder model to fine-tune"
            )));
        };
        if base.manifest.info.kind != text_encoder::NAME {
            return Err(CoreError::Config(format!(
                "the base model must be a {}, not {}",
                text_encoder::NAME,
                base.manifest.info.kind
            )));
        }
        let schema = req.dataset.schema();
        let TextClassification {
            classes,
            config: cfg,
            dataset_sha,
            examples,
            splits,
        } = text_classification(NAME, req.dataset, &req.config)?;
        let device = req.device.clone();

        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let fp = fingerprint(
            &[
                &to_json(&cfg),
                &to_json(&params),
                &to_json(schema),
                &json!(base.manifest.key),
            ],
            &dataset_sha,
        );
        let (fit_report, test, head, encoder_weights, dim) = match params.mode {
            FineTune::Head => {
                let (encoder, _) = encoder_from_artifact(&base, true, &device)?;
                let embeddings = encoder.embed(&examples.texts)?;
                let (w, b) = init_linear(&mut rng, encoder.dim(), classes.len(), &device)?;
                let trainer = HeadTrainer {
                    head: Head {
                        weight: Var::from_tensor(&w)?,
                        bias: Var::from_tensor(&b)?,
                    },
                    embeddings,
                    device: device.clone(),
                };
                let fit_report = fit(
                    &trainer,
                    &examples.labels,
                    classes.len(),
                    &splits.train,
                    &splits.val,
                    &cfg,
                    &fp,
                    &req.control,
                )?;
                let test = evaluate(&trainer, &examples.labels, classes.len(), &splits.test, 256)?;
                (fit_report, test, trainer.head, None, encoder.dim())
            }
            FineTune::Full => {
                let pooling: PoolingConfig = serde_json::from_slice(base.file(POOLING)?)
                    .map_err(|e| CoreError::Config(format!("{POOLING}: {e}")))?;
                let cfg_bert = super::bert::BertConfig::from_json(base.file(CONFIG)?)?;
                let mut weights = tensors::load(base.file(WEIGHTS)?, &device)?;
                let prefix = weights_prefix(weights.keys())?;
                let mut encoder_vars = Vec::new();
                for name in parameter_names(&cfg_bert) {
                    let full = format!("{prefix}{name}");
                    let Some(t) = weights.get(&full) else {
                        return Err(CoreError::Config(format!("base model lacks `{full}`")));
                    };
                    let var = Var::from_tensor(&t.to_dtype(candle_core::DType::F32)?)?;
                    weights.insert(full.clone(), var.as_tensor().clone());
                    encoder_vars.push((full, var));
                }
                let encoder = Encoder::new(
                    base.file(CONFIG)?,
                    base.file(TOKENIZER)?,
                    pooling,
                    &weights,
                    false,
                    &device,
                )?;
                let encodings = encoder.tokenize(&examples.texts)?;
                let (w, b) = init_linear(&mut rng, encoder.dim(), classes.len(), &device)?;
                let dim = encoder.dim();
                let trainer = FullTrainer {
                    head: Head {
                        weight: Var::from_tensor(&w)?,
                        bias: Var::from_tensor(&b)?,
                    },
                    encoder,
                    encoder_vars,
                    encodings,
                    lr_scale: params.encoder_lr_scale,
                };
                let fit_report = fit(
                    &trainer,
                    &examples.labels,
                    classes.len(),
                    &splits.train,
                    &splits.val,
                    &cfg,
                    &fp,
                    &req.control,
                )?;
                let test = evaluate(&trainer, &examples.labels, classes.len(), &splits.test, 64)?;
                for (name, var) in &trainer.encoder_vars {
                    weights.insert(name.clone(), var.as_tensor().clone());
                }
                (fit_report, test, trainer.head, Some(weights), dim)
            }
        };

        let head_tensors: HashMap<String, Tensor> = HashMap::from([
            ("head.weight".to_string(), head.weight.as_tensor().clone()),
            ("head.bias".to_string(), head.bias.as_tensor().clone()),
        ]);
        let weights_bytes = match encoder_weights {
            None => base.file(WEIGHTS)?.to_vec(),
            Some(w) => tensors::serialize(&w)?,
        };
        let max_tokens = match serde_json::from_value::<IoSchema>(base.manifest.info.schema.clone())
        {
            Ok(IoSchema {
                input: InputSchema::Text { max_tokens },
                ..
            }) => max_tokens,
            _ => 512,
        };
        let io = IoSchema {
            input: InputSchema::Text { max_tokens },
            output: OutputSchema::Classes { classes },
        };
        debug_assert!(dim > 0);
        let info = ManifestInfo {
            kind: NAME.into(),
            schema: to_json(&io),
            hyperparameters: json!({ "train": cfg, "model": params }),
            metrics: json!({ "test": test, "validation": fit_report.best_val, "history": fit_report.history }),
            dataset_sha256: Some(dataset_sha),
            extra: json!({ "dataset_schema": schema, "base": base.manifest.key, "steps": fit_report.steps }),
        };
        let files = vec![
            (
                CONFIG.to_string(),
                FileSource::Bytes(base.file(CONFIG)?.to_vec()),
            ),
            (
                TOKENIZER.to_string(),
                FileSource::Bytes(base.file(TOKENIZER)?.to_vec()),
            ),
            (
                POOLING.to_string(),
                FileSource::Bytes(base.file(POOLING)?.to_vec()),
            ),
            (WEIGHTS.to_string(), FileSource::Bytes(weights_bytes)),
            (
                HEAD.to_string(),
                FileSource::Bytes(tensors::serialize(&head_tensors)?),
            ),
        ];
        Ok(TrainedModel {
            model: ModelFiles { files, info },
            fit: fit_report,
            test,
        })
    }

    fn load(&self, artifact: Artifact, device: &Device) -> Result<Box<dyn Model>> {
        let io: IoSchema = serde_json::from_value(artifact.manifest.info.schema.clone())
            .map_err(|e| CoreError::Config(format!("{NAME} manifest schema: {e}")))?;
        let OutputSchema::Classes { classes } = &io.output else {
            return Err(CoreError::Config(format!(
                "{NAME} manifest declares no classes"
            )));
        };
        let (encoder, _) = encoder_from_artifact(&artifact, true, device)?;
        let head = tensors::load(artifact.file(HEAD)?, device)?;
        let get = |k: &str| {
            head.get(k)
                .cloned()
                .ok_or_else(|| CoreError::Config(format!("{HEAD} lacks `{k}`")))
        };
        let (weight, bias) = (get("head.weight")?, get("head.bias")?);
        if weight.dims() != [classes.len(), encoder.dim()] {
            return Err(CoreError::Config(format!(
                "{HEAD} does not match {} classes",
                classes.len()
            )));
        }
        Ok(Box::new(TextClassifierModel {
            encoder,
            weight,
            bias,
            classes: classes.clone(),
            io,
        }))
    }
}

struct TextClassifierModel {
    encoder: Encoder,
    weight: Tensor,
    bias: Tensor,
    classes: Vec<String>,
    io: IoSchema,
}

impl Model for TextClassifierModel {
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
        if texts.is_empty() {
            return Ok(Outputs::Classes(Vec::new()));
        }
        let emb = self.encoder.embed(texts)?;
        let logits = emb.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)?;
        Ok(Outputs::Classes(class_predictions(&logits, &self.classes)?))
    }
}

//! `text-ngram-classifier`: hashed word n-grams and a linear layer (fastText-style), trained from
//! scratch in seconds on a labelled text table, with no pretrained model to download.
//!
//! Text is lowercased and split into words (runs of alphanumeric characters); every run of 1 to
//! `ngrams` consecutive words, and every `char_ngrams`-character piece of a word, is hashed with
//! 64-bit FNV-1a into one of `buckets` features. A row is the L2-normalised vector of
//! `ln(1 + count)` per bucket, and a linear layer maps it to class logits. A sparse linear model
//! wants a larger learning rate than the engine's default (0.05 rather than 0.001). The hash is fixed here, not taken from a library, so a stored model means the same
//! thing on every machine and every version. The weights file is `(classes, buckets)`.
//!
//! This kind is the worked example of docs/add-a-model-kind.md: it touches nothing outside this
//! file but one line in [`super::Registry::builtin`].

use std::collections::{BTreeMap, HashMap};

use candle_core::{Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use strata_data::{Artifact, DatasetSchema, FileSource, ManifestInfo};

use super::mlp::init_linear;
use super::{
    InputType, KindInfo, KindParams, Model, ModelFiles, ModelKind, Plan, TextClassification,
    TrainRequest, TrainedModel, class_predictions, fingerprint, info, parse_params,
    text_classification, to_json,
};
use crate::schema::{InputSchema, Inputs, IoSchema, OutputSchema, Outputs};
use crate::train::{Param, Trainable, evaluate, fit};
use crate::{CoreError, Result, tensors};

pub const NAME: &str = "text-ngram-classifier";
const WEIGHTS: &str = "model.safetensors";

/// Kind-specific hyperparameters (`params` in a training request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NgramParams {
    /// Hash buckets, i.e. input features: more means fewer collisions and a larger model.
    #[schemars(range(min = 16, max = 1048576))]
    pub buckets: usize,
    /// Longest word n-gram (1: words only, 2: words and pairs).
    #[schemars(range(min = 1, max = 4))]
    pub ngrams: usize,
    /// Length of the character n-grams taken inside each word (with `<` and `>` marking its
    /// start and end), so `refund` and `refunds` share features; 0 turns them off.
    #[schemars(range(min = 0, max = 8))]
    pub char_ngrams: usize,
    /// Words read per text; the rest is ignored. Declared as the model's `max_tokens`.
    #[schemars(range(min = 1, max = 65536))]
    pub max_words: usize,
}

impl Default for NgramParams {
    fn default() -> Self {
        NgramParams {
            buckets: 8192,
            ngrams: 2,
            char_ngrams: 4,
            max_words: 256,
        }
    }
}

impl KindParams for NgramParams {
    fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(CoreError::Config(format!("{NAME} parameters: {m}")));
        if !(16..=1 << 20).contains(&self.buckets) {
            return bad("buckets must be between 16 and 1048576");
        }
        if !(1..=4).contains(&self.ngrams) {
            return bad("ngrams must be between 1 and 4");
        }
        if self.char_ngrams > 8 {
            return bad("char_ngrams must be between 0 (off) and 8");
        }
        if !(1..=65_536).contains(&self.max_words) {
            return bad("max_words must be between 1 and 65536");
        }
        Ok(())
    }
}

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        // A separator no word contains, so ("ab", "c") and ("a", "bc") hash apart.
        let sep: &[u8] = if i > 0 { b" " } else { b"" };
        for &byte in sep.iter().chain(part.as_bytes()) {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The sparse feature vector of one text: (bucket, value) sorted by bucket, L2-normalised.
fn featurize(text: &str, p: &NgramParams) -> Vec<(u32, f32)> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(p.max_words)
        .collect();
    let mut counts: BTreeMap<u32, f32> = BTreeMap::new();
    let mut add = |parts: &[&str]| {
        let bucket = (fnv1a(parts) % p.buckets as u64) as u32;
        *counts.entry(bucket).or_default() += 1.0;
    };
    for n in 1..=p.ngrams {
        words.windows(n).for_each(&mut add);
    }
    if p.char_ngrams > 0 {
        for word in &words {
            let marked: Vec<char> = format!("<{word}>").chars().collect();
            for gram in marked.windows(p.char_ngrams) {
                // Prefixed with a byte no word gram has, so char grams and words hash apart.
                let gram: String = std::iter::once('\u{1}')
                    .chain(gram.iter().copied())
                    .collect();
                add(&[gram.as_str()]);
            }
        }
    }
    let mut features: Vec<(u32, f32)> = counts.into_iter().map(|(b, c)| (b, c.ln_1p())).collect();
    let norm = features.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        features.iter_mut().for_each(|(_, v)| *v /= norm);
    }
    features
}

/// Dense `(rows, buckets)` matrix of sparse rows.
fn dense(rows: &[&[(u32, f32)]], buckets: usize, device: &Device) -> Result<Tensor> {
    let mut data = vec![0f32; rows.len() * buckets];
    for (r, row) in rows.iter().enumerate() {
        for &(b, v) in *row {
            data[r * buckets + b as usize] = v;
        }
    }
    Ok(Tensor::from_vec(data, (rows.len(), buckets), device)?)
}

pub struct TextNgramClassifier;

struct NgramTrainer {
    weight: Var,
    bias: Var,
    rows: Vec<Vec<(u32, f32)>>,
    buckets: usize,
    device: Device,
}

impl Trainable for NgramTrainer {
    fn params(&self) -> Vec<Param> {
        [("weight", &self.weight), ("bias", &self.bias)]
            .into_iter()
            .map(|(name, var)| Param {
                name: name.into(),
                var: var.clone(),
                lr_scale: 1.0,
            })
            .collect()
    }

    fn logits(&self, rows: &[usize], _train: bool) -> Result<Tensor> {
        let batch: Vec<&[(u32, f32)]> = rows.iter().map(|&r| self.rows[r].as_slice()).collect();
        let x = dense(&batch, self.buckets, &self.device)?;
        Ok(x.matmul(&self.weight.as_tensor().t()?)?
            .broadcast_add(self.bias.as_tensor())?)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

impl ModelKind for TextNgramClassifier {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> KindInfo {
        info::<NgramParams>(
            NAME,
            "N-gram text classifier",
            "Hashed word n-grams and a linear layer over a text column, trained from scratch in \
             seconds with no pretrained model.",
            InputType::Text,
            None,
        )
    }

    fn plan(&self, params: &serde_json::Value, dataset: &DatasetSchema) -> Result<Plan> {
        let params: NgramParams = parse_params(NAME, params)?;
        let classes = dataset.classes.len().max(1) as u64;
        Ok(Plan {
            parameters: Some((params.buckets as u64 + 1) * classes),
        })
    }

    fn train(&self, req: TrainRequest<'_>) -> Result<TrainedModel> {
        let params: NgramParams = parse_params(NAME, &req.params)?;
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
        let (w, b) = init_linear(&mut rng, params.buckets, classes.len(), &device)?;
        let trainer = NgramTrainer {
            weight: Var::from_tensor(&w)?,
            bias: Var::from_tensor(&b)?,
            rows: examples
                .texts
                .iter()
                .map(|t| featurize(t, &params))
                .collect(),
            buckets: params.buckets,
            device: device.clone(),
        };
        let fp = fingerprint(
            &[&to_json(&cfg), &to_json(&params), &to_json(schema)],
            &dataset_sha,
        );
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

        let weights: HashMap<String, Tensor> = trainer
            .params()
            .into_iter()
            .map(|p| (p.name, p.var.as_tensor().clone()))
            .collect();
        let io = IoSchema {
            input: InputSchema::Text {
                max_tokens: params.max_words,
            },
            output: OutputSchema::Classes { classes },
        };
        let info = ManifestInfo {
            kind: NAME.into(),
            schema: to_json(&io),
            hyperparameters: json!({ "train": cfg, "model": params }),
            metrics: json!({ "test": test, "validation": fit_report.best_val, "history": fit_report.history }),
            dataset_sha256: Some(dataset_sha),
            extra: json!({ "dataset_schema": schema, "steps": fit_report.steps }),
        };
        let files = vec![(
            WEIGHTS.to_string(),
            FileSource::Bytes(tensors::serialize(&weights)?),
        )];
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
        let params: NgramParams =
            parse_params(NAME, &artifact.manifest.info.hyperparameters["model"])?;
        let w = tensors::load(artifact.file(WEIGHTS)?, device)?;
        let get = |k: &str| {
            w.get(k)
                .cloned()
                .ok_or_else(|| CoreError::Config(format!("{NAME} weights lack `{k}`")))
        };
        let (weight, bias) = (get("weight")?, get("bias")?);
        if weight.dims() != [classes.len(), params.buckets] {
            return Err(CoreError::Config(format!(
                "{NAME} weights do not match {} classes and {} buckets",
                classes.len(),
                params.buckets
            )));
        }
        Ok(Box::new(NgramModel {
            weight,
            bias,
            classes: classes.clone(),
            params,
            io,
            device: device.clone(),
        }))
    }
}

struct NgramModel {
    weight: Tensor,
    bias: Tensor,
    classes: Vec<String>,
    params: NgramParams,
    io: IoSchema,
    device: Device,
}

impl Model for NgramModel {
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
        let rows: Vec<Vec<(u32, f32)>> = texts.iter().map(|t| featurize(t, &self.params)).collect();
        let refs: Vec<&[(u32, f32)]> = rows.iter().map(Vec::as_slice).collect();
        let x = dense(&refs, self.params.buckets, &self.device)?;
        let logits = x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)?;
        Ok(Outputs::Classes(class_predictions(&logits, &self.classes)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_is_fixed_and_separates_word_boundaries() {
        // FNV-1a 64 of "a", a published test vector: stored models depend on these values.
        assert_eq!(fnv1a(&["a"]), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
    }

    #[test]
    fn features_ignore_case_and_punctuation_and_are_unit_length() {
        let p = NgramParams::default();
        let a = featurize("Refund my ORDER, please!", &p);
        assert_eq!(a, featurize("refund my order please", &p));
        // 4 words, 3 pairs and 15 4-character pieces of `<refund>` `<my>` `<order>` `<please>`,
        // barring collisions in 8192 buckets.
        assert_eq!(a.len(), 22);
        let norm: f32 = a.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(featurize("  ...  ", &p).is_empty());
        let words_only = NgramParams {
            ngrams: 1,
            char_ngrams: 0,
            max_words: 2,
            ..p
        };
        assert_eq!(featurize("refund my order please", &words_only).len(), 2);
        // Pieces of words let an unseen form share features with a seen one.
        let pieces = NgramParams { ngrams: 1, ..p };
        let seen = featurize("refund", &pieces);
        let unseen = featurize("refunds", &pieces);
        assert!(
            seen.iter()
                .filter(|(b, _)| unseen.iter().any(|(u, _)| u == b))
                .count()
                >= 3
        );
    }
}

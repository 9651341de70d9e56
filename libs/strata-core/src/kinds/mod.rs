//! Model kinds behind one trait, and the registry that names them.
//!
//! Adding a kind: write a module here with a type implementing [`ModelKind`] and list it in
//! [`Registry::builtin`]. Nothing else in the workspace changes: the CLI and the services find
//! kinds by name through the registry, and every kind declares its own [`IoSchema`].
//! docs/add-a-model-kind.md walks through it; [`text_ngram`] is the worked example.

pub mod bert;
pub mod mlp;
pub mod text_classifier;
pub mod text_encoder;
pub mod text_ngram;

use std::path::Path;

use candle_core::Device;
use serde::{Serialize, de::DeserializeOwned};
use strata_data::{Artifact, FileSource, ManifestInfo, ParquetDataset};

use crate::metrics::ClassificationMetrics;
use crate::schema::{Inputs, IoSchema, Outputs};
use crate::train::{FitReport, TrainConfig, TrainControl};
use crate::{CoreError, Result};

/// A training request as a kind sees it.
pub struct TrainRequest<'a> {
    /// The opened dataset; its schema says which columns are features, text and label.
    pub dataset: &'a ParquetDataset,
    pub config: TrainConfig,
    /// Kind-specific hyperparameters (JSON object; unknown fields are rejected).
    pub params: serde_json::Value,
    /// The model to start from, for kinds that fine-tune.
    pub base: Option<Artifact>,
    pub device: Device,
    pub control: TrainControl<'a>,
}

/// Files and manifest fields of a new model version, ready for `ArtifactStore::put`.
pub struct ModelFiles {
    pub files: Vec<(String, FileSource)>,
    pub info: ManifestInfo,
}

pub struct TrainedModel {
    pub model: ModelFiles,
    pub fit: FitReport,
    /// Metrics on the held-out test split.
    pub test: ClassificationMetrics,
}

/// A loaded model, ready for batched inference.
pub trait Model: Send + Sync {
    fn kind(&self) -> &'static str;
    fn schema(&self) -> &IoSchema;
    /// Predicts a batch; inputs are checked against [`Model::schema`] first.
    fn predict(&self, inputs: &Inputs) -> Result<Outputs>;
}

pub trait ModelKind: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// Trains a new model version. Kinds that cannot be trained return `CoreError::Config`.
    fn train(&self, req: TrainRequest<'_>) -> Result<TrainedModel>;
    /// Builds a model version from a directory in a foreign format (e.g. a Hugging Face export).
    fn import(&self, dir: &Path) -> Result<ModelFiles> {
        let _ = dir;
        Err(CoreError::Config(format!(
            "{} models cannot be imported from a directory",
            self.name()
        )))
    }
    /// Loads a stored, verified model version.
    fn load(&self, artifact: Artifact, device: &Device) -> Result<Box<dyn Model>>;
}

pub struct Registry {
    kinds: Vec<Box<dyn ModelKind>>,
}

impl Registry {
    /// The kinds strata ships.
    pub fn builtin() -> Self {
        Registry {
            kinds: vec![
                Box::new(mlp::MlpClassifier),
                Box::new(text_encoder::TextEncoderKind),
                Box::new(text_classifier::TextClassifierKind),
                Box::new(text_ngram::TextNgramClassifier),
            ],
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    pub fn get(&self, name: &str) -> Result<&dyn ModelKind> {
        self.kinds
            .iter()
            .find(|k| k.name() == name)
            .map(|k| k.as_ref())
            .ok_or_else(|| CoreError::UnknownKind(name.into(), self.names().join(", ")))
    }

    /// Loads any stored model by the kind its manifest names.
    pub fn load(&self, artifact: Artifact, device: &Device) -> Result<Box<dyn Model>> {
        let kind = self.get(&artifact.manifest.info.kind)?;
        kind.load(artifact, device)
    }
}

/// Parses kind-specific hyperparameters; `null` means all defaults.
pub(crate) fn parse_params<T: DeserializeOwned + Default>(
    kind: &str,
    value: &serde_json::Value,
) -> Result<T> {
    if value.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(value.clone())
        .map_err(|e| CoreError::Config(format!("{kind} hyperparameters: {e}")))
}

/// What every text classifier reads from its training request, checked the same way: a text and
/// a label column, at least two classes, a valid run configuration, then the rows and their splits.
pub(crate) struct TextClassification {
    pub classes: Vec<String>,
    pub config: TrainConfig,
    pub dataset_sha: String,
    pub examples: strata_data::Examples,
    pub splits: strata_data::Splits,
}

pub(crate) fn text_classification(
    kind: &str,
    ds: &ParquetDataset,
    config: &TrainConfig,
) -> Result<TextClassification> {
    let schema = ds.schema();
    if schema.text.is_none() || schema.label.is_none() {
        return Err(CoreError::Config(format!(
            "{kind} needs a text column and a label column"
        )));
    }
    let classes = schema.classes.clone();
    if classes.len() < 2 {
        return Err(CoreError::Config(
            "a classifier needs at least two classes".into(),
        ));
    }
    let config = config.clone();
    config.check()?;
    let dataset_sha = ds.sha256()?;
    let examples = ds.read_all()?;
    let splits = strata_data::split(examples.rows, &config.split)?;
    Ok(TextClassification {
        classes,
        config,
        dataset_sha,
        examples,
        splits,
    })
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A stable identity for a training job's inputs, so a checkpoint is only resumed by the same job.
pub(crate) fn fingerprint(parts: &[&serde_json::Value], dataset_sha: &str) -> String {
    let mut text = String::from(dataset_sha);
    for p in parts {
        text.push('|');
        text.push_str(&p.to_string());
    }
    strata_data::sha256_bytes(text.as_bytes())
}

/// Softmax rows of logits into class predictions.
pub(crate) fn class_predictions(
    logits: &candle_core::Tensor,
    classes: &[String],
) -> Result<Vec<crate::schema::ClassPrediction>> {
    let probs = candle_nn::ops::softmax_last_dim(logits)?.to_vec2::<f32>()?;
    Ok(probs
        .into_iter()
        .map(|p| {
            let class = p
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i)
                .unwrap_or(0);
            crate::schema::ClassPrediction {
                class,
                label: classes.get(class).cloned().unwrap_or_default(),
                probabilities: p,
            }
        })
        .collect())
}

/// Loss and class metrics of any classifier `model` on labelled inputs, through `predict`.
pub fn evaluate_model(
    model: &dyn Model,
    inputs: Inputs,
    labels: &[u32],
    batch: usize,
) -> Result<ClassificationMetrics> {
    let classes = match &model.schema().output {
        crate::schema::OutputSchema::Classes { classes } => classes.len(),
        crate::schema::OutputSchema::Embedding { .. } => {
            return Err(CoreError::Schema(
                "an embedding model has no class metrics".into(),
            ));
        }
    };
    if inputs.len() != labels.len() {
        return Err(CoreError::Schema(
            "inputs and labels differ in length".into(),
        ));
    }
    let chunks: Vec<Inputs> = match inputs {
        Inputs::Features(f) => f
            .chunks(batch.max(1))
            .map(|c| Inputs::Features(c.to_vec()))
            .collect(),
        Inputs::Texts(t) => t
            .chunks(batch.max(1))
            .map(|c| Inputs::Texts(c.to_vec()))
            .collect(),
    };
    let mut predicted = Vec::with_capacity(labels.len());
    let mut loss = 0.0;
    let mut i = 0;
    for chunk in chunks {
        let Outputs::Classes(preds) = model.predict(&chunk)? else {
            return Err(CoreError::Schema("model returned no classes".into()));
        };
        for p in preds {
            let prob = p
                .probabilities
                .get(labels[i] as usize)
                .copied()
                .unwrap_or(0.0);
            loss -= (prob.max(1e-12) as f64).ln();
            predicted.push(p.class as u32);
            i += 1;
        }
    }
    Ok(ClassificationMetrics::compute(
        &predicted,
        labels,
        classes,
        loss / labels.len().max(1) as f64,
    ))
}

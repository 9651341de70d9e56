//! Model kinds behind one trait, and the registry that names them.
//!
//! Adding a kind: write a module here with a type implementing [`ModelKind`] and list it in
//! [`Registry::builtin`]. Nothing else in the workspace changes: the CLI and the services find
//! kinds by name through the registry, every kind declares its own [`IoSchema`], and
//! [`ModelKind::describe`] tells every front door (gRPC, REST, the web app's training form) what
//! it reads, whether it trains, what base model it needs and its parameters as JSON Schema.
//! docs/add-a-model-kind.md walks through it; [`text_ngram`] is the worked example.

pub mod bert;
pub mod mlp;
pub mod text_classifier;
pub mod text_encoder;
pub mod text_generator;
pub mod text_ngram;

use std::path::Path;

use candle_core::Device;
use serde::{Serialize, de::DeserializeOwned};
use strata_data::{Artifact, DatasetSchema, FileSource, ManifestInfo, ParquetDataset};

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
    /// The text generator behind a generative model (served by a generation engine, not
    /// `predict`); `None` for every other kind.
    fn generator(&self) -> Option<std::sync::Arc<crate::generate::Generator>> {
        None
    }
}

/// What a kind reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// Numeric feature columns.
    Features,
    /// One text column.
    Text,
    /// A prompt or chat to continue (generative kinds, which are imported, not trained).
    Prompt,
}

/// A kind as it describes itself to every front door.
#[derive(Debug, Clone, Serialize)]
pub struct KindInfo {
    pub name: &'static str,
    /// A short human name, e.g. "MLP classifier".
    pub title: &'static str,
    pub description: &'static str,
    pub input: InputType,
    /// Trained from a dataset by a job; the others are only imported.
    pub trainable: bool,
    /// The kind a training job's base model must be, for kinds that fine-tune one. `None`: the
    /// kind trains from scratch and a base model is refused rather than silently ignored.
    pub base_kind: Option<&'static str>,
    /// The kind-specific parameters a training job takes, as JSON Schema (draft 2020-12,
    /// subschemas inlined) with each property's default and bounds.
    pub parameters: serde_json::Value,
}

impl KindInfo {
    /// Checks what a training job brings besides its parameters: the dataset's columns and the
    /// base model (by the kind of the model it names).
    pub fn check_job(&self, dataset: &DatasetSchema, base: Option<&str>) -> Result<()> {
        let name = self.name;
        if !self.trainable {
            return Err(CoreError::Config(format!(
                "{name} models are imported, not trained"
            )));
        }
        let input_ok = match self.input {
            InputType::Features => !dataset.features.is_empty(),
            InputType::Text => dataset.text.is_some(),
            InputType::Prompt => false,
        };
        if !input_ok || dataset.label.is_none() {
            let input = match self.input {
                InputType::Features => "feature columns",
                InputType::Text | InputType::Prompt => "a text column",
            };
            return Err(CoreError::Config(format!(
                "{name} needs {input} and a label column"
            )));
        }
        match (self.base_kind, base) {
            (None, Some(_)) => Err(CoreError::Config(format!(
                "{name} trains from scratch; it does not start from a base model"
            ))),
            (Some(wanted), None) => Err(CoreError::Config(format!(
                "{name} needs a base {wanted} model to fine-tune"
            ))),
            (Some(wanted), Some(got)) if wanted != got => Err(CoreError::Config(format!(
                "the base model of a {name} must be a {wanted}, not a {got}"
            ))),
            _ => Ok(()),
        }
    }
}

/// What a kind can say about a job before it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Trainable parameters of the model the job will make, when the kind knows them ahead
    /// (services refuse jobs above their budget with it).
    pub parameters: Option<u64>,
}

/// Kind-specific hyperparameters: parsed from JSON with unknown fields refused, defaults from
/// `Default`, bounds checked by [`KindParams::check`] and declared (the same bounds) as
/// `#[schemars(range(..))]` attributes, so the JSON Schema a form is built from matches what
/// the kind accepts. A test per kind checks the two agree.
pub trait KindParams: DeserializeOwned + Serialize + Default + schemars::JsonSchema {
    fn check(&self) -> Result<()> {
        Ok(())
    }
}

pub trait ModelKind: Send + Sync {
    fn name(&self) -> &'static str;
    fn describe(&self) -> KindInfo;
    /// Checks a job's parameters against its dataset before it is queued. Kinds that cannot be
    /// trained return `CoreError::Config`.
    fn plan(&self, params: &serde_json::Value, dataset: &DatasetSchema) -> Result<Plan> {
        let _ = (params, dataset);
        Err(CoreError::Config(format!(
            "{} models are imported, not trained",
            self.name()
        )))
    }
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
                Box::new(text_generator::TextGeneratorKind),
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

    /// Every kind's description, in registry order.
    pub fn describe(&self) -> Vec<KindInfo> {
        self.kinds.iter().map(|k| k.describe()).collect()
    }

    /// Checks a training job before it is queued: the kind trains, the dataset has what it
    /// reads, the base model (by its kind) is what it fine-tunes, and its parameters are valid.
    pub fn plan(
        &self,
        kind: &str,
        params: &serde_json::Value,
        dataset: &DatasetSchema,
        base_kind: Option<&str>,
    ) -> Result<Plan> {
        let kind = self.get(kind)?;
        kind.describe().check_job(dataset, base_kind)?;
        kind.plan(params, dataset)
    }

    /// Loads any stored model by the kind its manifest names.
    pub fn load(&self, artifact: Artifact, device: &Device) -> Result<Box<dyn Model>> {
        let kind = self.get(&artifact.manifest.info.kind)?;
        kind.load(artifact, device)
    }
}

/// Parses and checks kind-specific hyperparameters; `null` means all defaults.
pub(crate) fn parse_params<T: KindParams>(kind: &str, value: &serde_json::Value) -> Result<T> {
    let params = if value.is_null() {
        T::default()
    } else {
        serde_json::from_value(value.clone())
            .map_err(|e| CoreError::Config(format!("{kind} parameters: {e}")))?
    };
    params.check()?;
    Ok(params)
}

/// JSON Schema of `T` (draft 2020-12) with every subschema inlined, so a client renders a form
/// from one object without resolving references.
pub fn json_schema<T: schemars::JsonSchema>() -> serde_json::Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
    });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

/// The description of a kind whose parameters are `P`.
pub(crate) fn info<P: KindParams>(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    input: InputType,
    base_kind: Option<&'static str>,
) -> KindInfo {
    KindInfo {
        name,
        title,
        description,
        input,
        trainable: true,
        base_kind,
        parameters: json_schema::<P>(),
    }
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
        crate::schema::OutputSchema::Embedding { .. }
        | crate::schema::OutputSchema::Text { .. } => {
            return Err(CoreError::Schema(
                "only classifiers have class metrics".into(),
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn dataset() -> DatasetSchema {
        DatasetSchema {
            features: vec!["a".into(), "b".into()],
            text: Some("text".into()),
            label: Some("label".into()),
            classes: vec!["x".into(), "y".into()],
        }
    }

    fn accepts(kind: &dyn ModelKind, params: Value) -> bool {
        kind.plan(&params, &dataset()).is_ok()
    }

    /// The schema a form is built from and the check the kind runs agree: every declared bound
    /// is accepted at its edge and refused one step past it, every default is accepted, and an
    /// unknown field is refused.
    #[test]
    fn each_kind_accepts_exactly_what_its_schema_declares() {
        let registry = Registry::builtin();
        for info in registry.describe() {
            let kind = registry.get(info.name).expect("listed kind");
            let schema = &info.parameters;
            assert_eq!(schema["type"], "object", "{}", info.name);
            assert!(schema.get("$ref").is_none() && schema.get("$defs").is_none());
            if !info.trainable {
                assert!(!accepts(kind, Value::Null), "{} is import-only", info.name);
                continue;
            }
            assert!(accepts(kind, Value::Null), "{}: all defaults", info.name);
            assert!(
                !accepts(kind, json!({ "no_such_knob": 1 })),
                "{}",
                info.name
            );
            let props = schema["properties"].as_object().expect("properties");
            let defaults: serde_json::Map<String, Value> = props
                .iter()
                .map(|(k, p)| (k.clone(), p.get("default").cloned().expect("a default")))
                .collect();
            assert!(accepts(kind, Value::Object(defaults)), "{}", info.name);
            for (name, prop) in props {
                let one = |v: Value| json!({ name.as_str(): v });
                let integer = prop["type"] == "integer";
                let at = |v: f64| if integer { json!(v as i64) } else { json!(v) };
                let step = |v: f64, up: bool| -> Value {
                    if integer {
                        json!(if up { v as i64 + 1 } else { v as i64 - 1 })
                    } else {
                        json!(if up { v * 1.001 + 1e-9 } else { v - 1e-9 })
                    }
                };
                if let Some(min) = prop["minimum"].as_f64() {
                    assert!(accepts(kind, one(at(min))), "{}.{name} = min", info.name);
                    assert!(
                        !accepts(kind, one(step(min, false))),
                        "{}.{name} < min",
                        info.name
                    );
                }
                if let Some(max) = prop["maximum"].as_f64() {
                    assert!(accepts(kind, one(at(max))), "{}.{name} = max", info.name);
                    assert!(
                        !accepts(kind, one(step(max, true))),
                        "{}.{name} > max",
                        info.name
                    );
                }
                if let Some(min) = prop["exclusiveMinimum"].as_f64() {
                    assert!(
                        !accepts(kind, one(json!(min))),
                        "{}.{name} = exclusive min",
                        info.name
                    );
                }
                if prop["type"] == "array" {
                    let item = &prop["items"];
                    if let (Some(lo), Some(hi)) =
                        (item["minimum"].as_i64(), item["maximum"].as_i64())
                    {
                        assert!(accepts(kind, one(json!([lo, hi]))), "{}.{name}", info.name);
                        assert!(!accepts(kind, one(json!([lo - 1]))), "{}.{name}", info.name);
                        assert!(!accepts(kind, one(json!([hi + 1]))), "{}.{name}", info.name);
                    }
                    if let Some(n) = prop["maxItems"].as_u64() {
                        let lo = item["minimum"].as_i64().unwrap_or(1);
                        let at = vec![lo; n as usize];
                        let past = vec![lo; n as usize + 1];
                        assert!(
                            accepts(kind, one(json!(at))),
                            "{}.{name} maxItems",
                            info.name
                        );
                        assert!(
                            !accepts(kind, one(json!(past))),
                            "{}.{name} maxItems",
                            info.name
                        );
                    }
                }
                if let Some(choices) = prop["enum"].as_array() {
                    for c in choices {
                        assert!(accepts(kind, one(c.clone())), "{}.{name} = {c}", info.name);
                    }
                    assert!(
                        !accepts(kind, one(json!("no-such-choice"))),
                        "{}.{name}",
                        info.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_job_brings_the_dataset_and_base_model_its_kind_reads() {
        let registry = Registry::builtin();
        let data = dataset();
        let no_text = DatasetSchema {
            text: None,
            ..dataset()
        };
        let no_label = DatasetSchema {
            label: None,
            ..dataset()
        };
        let plan = |kind, ds: &DatasetSchema, base| registry.plan(kind, &Value::Null, ds, base);
        assert!(plan(mlp::NAME, &data, None).is_ok());
        assert!(plan(mlp::NAME, &no_label, None).is_err());
        // A base model for a kind that trains from scratch is refused, not ignored.
        assert!(plan(mlp::NAME, &data, Some(text_encoder::NAME)).is_err());
        assert!(plan(text_ngram::NAME, &data, Some(text_encoder::NAME)).is_err());
        assert!(plan(text_ngram::NAME, &no_text, None).is_err());
        assert!(plan(text_classifier::NAME, &data, Some(text_encoder::NAME)).is_ok());
        assert!(plan(text_classifier::NAME, &data, None).is_err());
        assert!(plan(text_classifier::NAME, &data, Some(mlp::NAME)).is_err());
        assert!(plan(text_encoder::NAME, &data, None).is_err());
        // The size of an MLP is known ahead: 2 features -> 128 -> 2 classes.
        assert_eq!(
            plan(mlp::NAME, &data, None).expect("plan").parameters,
            Some(2 * 128 + 128 + 128 * 2 + 2)
        );
    }
}

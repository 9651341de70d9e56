//! `mlp-classifier`: feature vector -> class, trained from scratch on a Parquet table.
//!
//! Features are standardised with the training split's mean and standard deviation (kept in the
//! weights file), then pass through ReLU hidden layers and a linear output layer.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use strata_data::{Artifact, DatasetSchema, FileSource, ManifestInfo, split};

use super::{
    InputType, KindInfo, KindParams, Model, ModelFiles, ModelKind, Plan, TrainRequest,
    TrainedModel, class_predictions, fingerprint, info, parse_params, to_json,
};
use crate::schema::{InputSchema, Inputs, IoSchema, OutputSchema, Outputs};
use crate::train::{Param, Trainable, evaluate, fit};
use crate::{CoreError, Result, tensors};

pub const NAME: &str = "mlp-classifier";
const WEIGHTS: &str = "model.safetensors";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MlpParams {
    /// Widths of the hidden layers, input side first (none: a linear model).
    #[schemars(length(max = 16), inner(range(min = 1, max = 65536)))]
    pub hidden: Vec<usize>,
}

/// Bounds, so one request cannot ask for a model that does not fit in memory (the services
/// also cap the total with `--max-train-parameters`).
const MAX_HIDDEN_LAYERS: usize = 16;
const MAX_LAYER_WIDTH: usize = 65_536;

impl KindParams for MlpParams {
    fn check(&self) -> Result<()> {
        if self.hidden.len() > MAX_HIDDEN_LAYERS
            || self.hidden.iter().any(|&w| w == 0 || w > MAX_LAYER_WIDTH)
        {
            return Err(CoreError::Config(format!(
                "{NAME} parameters: hidden takes at most {MAX_HIDDEN_LAYERS} layers of \
                 1-{MAX_LAYER_WIDTH} units, got {:?}",
                self.hidden
            )));
        }
        Ok(())
    }
}

impl MlpParams {
    /// Weights and biases of the dense layers from `inputs` features to `classes` logits.
    fn parameter_count(&self, inputs: usize, classes: usize) -> u64 {
        let widths: Vec<u64> = std::iter::once(inputs.max(1))
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(classes.max(1)))
            .map(|w| w as u64)
            .collect();
        widths
            .windows(2)
            .map(|w| w[0].saturating_mul(w[1]).saturating_add(w[1]))
            .fold(0u64, u64::saturating_add)
    }
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams { hidden: vec![128] }
    }
}

pub struct MlpClassifier;

/// Linear layers; `weights[i]` is `(out, in)`.
struct Net {
    weights: Vec<Tensor>,
    biases: Vec<Tensor>,
}

impl Net {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        let last = self.weights.len() - 1;
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            x = x.matmul(&w.t()?)?.broadcast_add(b)?;
            if i < last {
                x = x.relu()?;
            }
        }
        Ok(x)
    }
}

/// PyTorch's default `nn.Linear` init (uniform in ±1/sqrt(fan_in)), from a seeded stream so the
/// same seed gives the same model on every machine.
pub(crate) fn init_linear(
    rng: &mut ChaCha8Rng,
    fan_in: usize,
    fan_out: usize,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let bound = 1.0 / (fan_in as f32).sqrt();
    let w: Vec<f32> = (0..fan_in * fan_out)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    let b: Vec<f32> = (0..fan_out)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    Ok((
        Tensor::from_vec(w, (fan_out, fan_in), device)?,
        Tensor::from_vec(b, fan_out, device)?,
    ))
}

struct MlpTrainer {
    vars: Vec<(String, Var)>,
    features: Tensor,
    device: Device,
}

impl MlpTrainer {
    fn net(&self) -> Net {
        let t = |i: usize| self.vars[i].1.as_tensor().clone();
        let layers = self.vars.len() / 2;
        Net {
            weights: (0..layers).map(|l| t(2 * l)).collect(),
            biases: (0..layers).map(|l| t(2 * l + 1)).collect(),
        }
    }
}

impl Trainable for MlpTrainer {
    fn params(&self) -> Vec<Param> {
        self.vars
            .iter()
            .map(|(name, var)| Param {
                name: name.clone(),
                var: var.clone(),
                lr_scale: 1.0,
            })
            .collect()
    }

    fn logits(&self, rows: &[usize], _train: bool) -> Result<Tensor> {
        let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
        let idx = Tensor::from_vec(idx, rows.len(), &self.device)?;
        self.net().forward(&self.features.index_select(&idx, 0)?)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

impl ModelKind for MlpClassifier {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> KindInfo {
        info::<MlpParams>(
            NAME,
            "MLP classifier",
            "Multi-layer perceptron over numeric feature columns, trained from scratch.",
            InputType::Features,
            None,
        )
    }

    fn plan(&self, params: &serde_json::Value, dataset: &DatasetSchema) -> Result<Plan> {
        let params: MlpParams = parse_params(NAME, params)?;
        Ok(Plan {
            parameters: Some(params.parameter_count(dataset.features.len(), dataset.classes.len())),
        })
    }

    fn train(&self, req: TrainRequest<'_>) -> Result<TrainedModel> {
        let params: MlpParams = parse_params(NAME, &req.params)?;
        let ds = req.dataset;
        let schema = ds.schema();
        if schema.features.is_empty() || schema.label.is_none() {
            return Err(CoreError::Config(format!(
                "{NAME} needs feature columns and a label column"
            )));
        }
        let classes = schema.classes.clone();
        if classes.len() < 2 {
            return Err(CoreError::Config(
                "a classifier needs at least two classes".into(),
            ));
        }
        let cfg = req.config.clone();
        cfg.check()?;
        let dataset_sha = ds.sha256()?;
        let examples = ds.read_all()?;
        let splits = split(examples.rows, &cfg.split)?;
        let d = examples.feature_dim;
        let (mean, std) = standardisation(&examples.features, d, &splits.train);
        let device = req.device.clone();
        let mean_t = Tensor::from_vec(mean.clone(), d, &device)?;
        let std_t = Tensor::from_vec(std.clone(), d, &device)?;
        let raw = Tensor::from_vec(examples.features.clone(), (examples.rows, d), &device)?;
        let features = raw.broadcast_sub(&mean_t)?.broadcast_div(&std_t)?;

        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut widths = vec![d];
        widths.extend(&params.hidden);
        widths.push(classes.len());
        let mut vars = Vec::new();
        for (l, w) in widths.windows(2).enumerate() {
            let (weight, bias) = init_linear(&mut rng, w[0], w[1], &device)?;
            vars.push((format!("layers.{l}.weight"), Var::from_tensor(&weight)?));
            vars.push((format!("layers.{l}.bias"), Var::from_tensor(&bias)?));
        }
        let trainer = MlpTrainer {
            vars,
            features,
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
        let test = evaluate(&trainer, &examples.labels, classes.len(), &splits.test, 512)?;

        let mut weights: HashMap<String, Tensor> = trainer
            .vars
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        weights.insert("norm.mean".into(), mean_t);
        weights.insert("norm.std".into(), std_t);
        let io = IoSchema {
            input: InputSchema::Features {
                dim: d,
                names: schema.features.clone(),
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
        let params: MlpParams =
            parse_params(NAME, &artifact.manifest.info.hyperparameters["model"])?;
        let w = tensors::load(artifact.file(WEIGHTS)?, device)?;
        let get = |k: &str| {
            w.get(k)
                .cloned()
                .ok_or_else(|| CoreError::Config(format!("{NAME} weights lack `{k}`")))
        };
        let layers = params.hidden.len() + 1;
        let net = Net {
            weights: (0..layers)
                .map(|l| get(&format!("layers.{l}.weight")))
                .collect::<Result<_>>()?,
            biases: (0..layers)
                .map(|l| get(&format!("layers.{l}.bias")))
                .collect::<Result<_>>()?,
        };
        let (InputSchema::Features { dim, .. }, OutputSchema::Classes { classes }) =
            (&io.input, &io.output)
        else {
            return Err(CoreError::Config(format!(
                "{NAME} manifest declares a non-classifier schema"
            )));
        };
        if net.weights[0].dims() != [net.weights[0].dim(0)?, *dim]
            || net.weights[layers - 1].dim(0)? != classes.len()
        {
            return Err(CoreError::Config(format!(
                "{NAME} weights do not match the declared schema"
            )));
        }
        Ok(Box::new(MlpModel {
            net,
            mean: get("norm.mean")?,
            std: get("norm.std")?,
            classes: classes.clone(),
            io,
            device: device.clone(),
        }))
    }
}

/// Per-feature mean and standard deviation over `rows`; constant features get std 1 so they pass
/// through as zeros instead of dividing by zero.
fn standardisation(features: &[f32], d: usize, rows: &[usize]) -> (Vec<f32>, Vec<f32>) {
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0f64; d];
    for &r in rows {
        for j in 0..d {
            mean[j] += features[r * d + j] as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0f64; d];
    for &r in rows {
        for j in 0..d {
            let x = features[r * d + j] as f64 - mean[j];
            var[j] += x * x;
        }
    }
    let std = var
        .iter()
        .map(|v| (v / n).sqrt())
        .map(|s| if s < 1e-6 { 1.0 } else { s as f32 })
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), std)
}

struct MlpModel {
    net: Net,
    mean: Tensor,
    std: Tensor,
    classes: Vec<String>,
    io: IoSchema,
    device: Device,
}

impl Model for MlpModel {
    fn kind(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> &IoSchema {
        &self.io
    }

    fn predict(&self, inputs: &Inputs) -> Result<Outputs> {
        self.io.check(inputs)?;
        let Inputs::Features(rows) = inputs else {
            unreachable_schema()?
        };
        if rows.is_empty() {
            return Ok(Outputs::Classes(Vec::new()));
        }
        let d = self.mean.dim(0)?;
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let x = Tensor::from_vec(flat, (rows.len(), d), &self.device)?.to_dtype(DType::F32)?;
        let x = x.broadcast_sub(&self.mean)?.broadcast_div(&self.std)?;
        Ok(Outputs::Classes(class_predictions(
            &self.net.forward(&x)?,
            &self.classes,
        )?))
    }
}

fn unreachable_schema<T>() -> Result<T> {
    Err(CoreError::Schema(
        "input type does not match the model".into(),
    ))
}

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FileSource, ManifestInfo};

use super::{AdamW, TrainConfig, TrainControl, TrainEvent};
use crate::metrics::ClassificationMetrics;
use crate::{CoreError, Result, tensors};

/// A trainable tensor, its stable name (used in weights files and checkpoints) and its
/// learning-rate multiplier (e.g. 0.1 for a pretrained encoder under a fresh head).
#[derive(Clone)]
pub struct Param {
    pub name: String,
    pub var: Var,
    pub lr_scale: f64,
}

/// What a kind gives the engine: parameters and class logits for rows of its training table.
pub trait Trainable {
    fn params(&self) -> Vec<Param>;
    /// Logits `(rows.len(), classes)`. `train` selects differentiable code paths.
    fn logits(&self, rows: &[usize], train: bool) -> Result<Tensor>;
    fn device(&self) -> &Device;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub val_macro_f1: f64,
}

/// The outcome of [`fit`]; the model's parameters hold the best validation weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub steps: u64,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub best_val: Option<ClassificationMetrics>,
    pub history: Vec<EpochSummary>,
    pub resumed_from_step: Option<u64>,
    pub stopped_early: bool,
}

/// Where the loop is; stored in each checkpoint's manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    fingerprint: String,
    epoch: usize,
    /// Next batch within `epoch`.
    batch: usize,
    global_step: u64,
    adam_t: u64,
    epoch_loss_sum: f64,
    epoch_examples: u64,
    best_val_loss: Option<f64>,
    best_epoch: usize,
    bad_epochs: usize,
    history: Vec<EpochSummary>,
}

const PARAMS: &str = "params.safetensors";
const BEST: &str = "best.safetensors";
const OPTIM: &str = "optimizer.safetensors";

/// Trains `model` on `train_rows`, validating on `val_rows` after each epoch.
///
/// If the store holds a checkpoint for `ctl.job`, the run continues from it, and the result is
/// the same as that of an uninterrupted run. `fingerprint` identifies the job's configuration
/// and data; resuming a checkpoint with another fingerprint is refused.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    model: &dyn Trainable,
    labels: &[u32],
    classes: usize,
    train_rows: &[usize],
    val_rows: &[usize],
    cfg: &TrainConfig,
    fingerprint: &str,
    ctl: &TrainControl<'_>,
) -> Result<FitReport> {
    cfg.check()?;
    if train_rows.is_empty() {
        return Err(crate::error::config_err("the training split is empty"));
    }
    let params = model.params();
    let mut opt = AdamW::new(params.clone(), cfg.weight_decay)?;
    let steps_per_epoch = train_rows.len().div_ceil(cfg.batch_size) as u64;
    let total_steps = steps_per_epoch * cfg.epochs as u64;

    let mut state = RunState {
        fingerprint: fingerprint.to_owned(),
        epoch: 0,
        batch: 0,
        global_step: 0,
        adam_t: 0,
        epoch_loss_sum: 0.0,
        epoch_examples: 0,
        best_val_loss: None,
        best_epoch: 0,
        bad_epochs: 0,
        history: Vec::new(),
    };
    let mut best: Option<HashMap<String, Tensor>> = None;
    let mut resumed_from_step = None;
    if let Some(version) = latest_checkpoint(ctl)? {
        let key = ArtifactKey::new(ArtifactClass::Checkpoint, &ctl.job, version);
        let artifact = ctl.store.get(&key)?;
        let restored: RunState = serde_json::from_value(artifact.manifest.info.extra.clone())
            .map_err(|e| {
                crate::error::config_err(format!("checkpoint {key} has an unreadable state: {e}"))
            })?;
        if restored.fingerprint != fingerprint {
            return Err(crate::error::config_err(format!(
                "checkpoint {key} belongs to a run with other settings or data; use a new job id"
            )));
        }
        let device = model.device();
        let values = tensors::load(artifact.file(PARAMS)?, device)?;
        for p in &params {
            let t = values.get(&p.name).ok_or_else(|| {
                crate::error::config_err(format!("checkpoint {key} lacks `{}`", p.name))
            })?;
            p.var.set(t)?;
        }
        opt.load_state(
            &tensors::load(artifact.file(OPTIM)?, device)?,
            restored.adam_t,
        )?;
        if artifact.has_file(BEST) {
            best = Some(tensors::load(artifact.file(BEST)?, device)?);
        }
        tracing::info!(job = %ctl.job, step = restored.global_step, "resuming from checkpoint {key}");
        resumed_from_step = Some(restored.global_step);
        state = restored;
    }
    (ctl.progress)(&TrainEvent::Started {
        total_steps,
        steps_per_epoch,
        resumed_from_step,
    });

    let device = model.device().clone();
    let mut stopped_early = false;
    let mut rate = Throughput::default();
    while state.epoch < cfg.epochs {
        let mut order = train_rows.to_vec();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            cfg.seed ^ (state.epoch as u64).wrapping_mul(0x9E37_79B9),
        ));
        let batches: Vec<&[usize]> = order.chunks(cfg.batch_size).collect();
        while state.batch < batches.len() {
            if ctl.cancel.is_cancelled() {
                let version =
                    save_checkpoint(ctl, &params, &opt, &best, &state, cfg.keep_checkpoints)?;
                (ctl.progress)(&TrainEvent::Checkpoint {
                    step: state.global_step,
                    version,
                });
                return Err(CoreError::Cancelled {
                    step: state.global_step,
                });
            }
            let started = Instant::now();
            let rows = batches[state.batch];
            let batch_labels: Vec<u32> = rows.iter().map(|&r| labels[r]).collect();
            let target = Tensor::from_vec(batch_labels, rows.len(), &device)?;
            let logits = model.logits(rows, true)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &target)?;
            let grads = loss.backward()?;
            let scale = match cfg.clip_grad_norm {
                Some(max) => {
                    let norm = grad_norm(&params, &grads)?;
                    if norm > max { max / norm } else { 1.0 }
                }
                None => 1.0,
            };
            let lr = learning_rate(cfg, state.global_step, total_steps);
            opt.step(&grads, lr, scale)?;
            let loss = loss.to_scalar::<f32>()? as f64;
            if !loss.is_finite() {
                return Err(crate::error::config_err(format!(
                    "training diverged (loss {loss}) at step {}; lower the learning rate",
                    state.global_step
                )));
            }
            state.global_step += 1;
            state.batch += 1;
            state.adam_t = opt.steps();
            state.epoch_loss_sum += loss * rows.len() as f64;
            state.epoch_examples += rows.len() as u64;
            let per_sec = rate.record(rows.len(), started.elapsed().as_secs_f64());
            let steps_left = total_steps.saturating_sub(state.global_step) as f64;
            (ctl.progress)(&TrainEvent::Step {
                epoch: state.epoch,
                step: state.global_step,
                total_steps,
                loss,
                learning_rate: lr,
                examples_per_sec: per_sec,
                eta_secs: steps_left * cfg.batch_size as f64 / per_sec.max(1e-9),
            });
            if cfg.checkpoint_every > 0 && state.global_step.is_multiple_of(cfg.checkpoint_every) {
                let version =
                    save_checkpoint(ctl, &params, &opt, &best, &state, cfg.keep_checkpoints)?;
                (ctl.progress)(&TrainEvent::Checkpoint {
                    step: state.global_step,
                    version,
                });
            }
        }

        let train_loss = state.epoch_loss_sum / state.epoch_examples.max(1) as f64;
        let epoch = state.epoch;
        state.epoch += 1;
        state.batch = 0;
        state.epoch_loss_sum = 0.0;
        state.epoch_examples = 0;
        if val_rows.is_empty() {
            continue;
        }
        let val = evaluate(model, labels, classes, val_rows, cfg.batch_size.max(256))?;
        state.history.push(EpochSummary {
            epoch,
            train_loss,
            val_loss: val.loss,
            val_accuracy: val.accuracy,
            val_macro_f1: val.macro_f1,
        });
        (ctl.progress)(&TrainEvent::Epoch {
            epoch,
            train_loss,
            val: val.clone(),
        });
        if state.best_val_loss.is_none_or(|b| val.loss < b) {
            state.best_val_loss = Some(val.loss);
            state.best_epoch = epoch;
            state.bad_epochs = 0;
            best = Some(snapshot(&params)?);
        } else {
            state.bad_epochs += 1;
            if cfg.patience.is_some_and(|p| state.bad_epochs >= p) {
                (ctl.progress)(&TrainEvent::EarlyStopped {
                    epoch,
                    best_epoch: state.best_epoch,
                });
                stopped_early = true;
                break;
            }
        }
    }

    if let Some(best) = &best {
        for p in &params {
            if let Some(t) = best.get(&p.name) {
                p.var.set(t)?;
            }
        }
    }
    let best_val = if val_rows.is_empty() {
        None
    } else {
        Some(evaluate(
            model,
            labels,
            classes,
            val_rows,
            cfg.batch_size.max(256),
        )?)
    };
    (ctl.progress)(&TrainEvent::Finished {
        steps: state.global_step,
        best_epoch: state.best_epoch,
    });
    Ok(FitReport {
        steps: state.global_step,
        epochs_run: state.history.len().max(state.epoch),
        best_epoch: state.best_epoch,
        best_val,
        history: state.history,
        resumed_from_step,
        stopped_early,
    })
}

/// Loss and class metrics of `model` on `rows`, without gradients.
pub fn evaluate(
    model: &dyn Trainable,
    labels: &[u32],
    classes: usize,
    rows: &[usize],
    batch_size: usize,
) -> Result<ClassificationMetrics> {
    let mut predicted = Vec::with_capacity(rows.len());
    let mut truth = Vec::with_capacity(rows.len());
    let mut loss_sum = 0.0;
    for chunk in rows.chunks(batch_size.max(1)) {
        let batch_labels: Vec<u32> = chunk.iter().map(|&r| labels[r]).collect();
        let target = Tensor::from_vec(batch_labels.clone(), chunk.len(), model.device())?;
        let logits = model.logits(chunk, false)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &target)?.to_scalar::<f32>()? as f64;
        loss_sum += loss * chunk.len() as f64;
        predicted.extend(logits.argmax(1)?.to_vec1::<u32>()?);
        truth.extend(batch_labels);
    }
    let loss = loss_sum / rows.len().max(1) as f64;
    Ok(ClassificationMetrics::compute(
        &predicted, &truth, classes, loss,
    ))
}

/// Removes every checkpoint of `job` (after its model has been stored).
pub fn clear_checkpoints(store: &dyn ArtifactStore, job: &str) -> Result<()> {
    for v in store.versions(ArtifactClass::Checkpoint, job)? {
        store.delete(&ArtifactKey::new(ArtifactClass::Checkpoint, job, v))?;
    }
    Ok(())
}

fn latest_checkpoint(ctl: &TrainControl<'_>) -> Result<Option<String>> {
    Ok(ctl
        .store
        .versions(ArtifactClass::Checkpoint, &ctl.job)?
        .pop())
}

fn learning_rate(cfg: &TrainConfig, step: u64, total: u64) -> f64 {
    let warmup = cfg.warmup_steps.min(total / 2);
    if step < warmup {
        return cfg.learning_rate * (step + 1) as f64 / warmup as f64;
    }
    let decay_span = (total - warmup).max(1) as f64;
    cfg.learning_rate * (1.0 - (step - warmup) as f64 / decay_span).max(0.0)
}

fn grad_norm(params: &[Param], grads: &candle_core::backprop::GradStore) -> Result<f64> {
    let mut sum = 0.0f64;
    for p in params {
        if let Some(g) = grads.get(p.var.as_tensor()) {
            sum += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    Ok(sum.sqrt())
}

fn snapshot(params: &[Param]) -> Result<HashMap<String, Tensor>> {
    params
        .iter()
        .map(|p| Ok((p.name.clone(), p.var.as_tensor().copy()?)))
        .collect()
}

fn save_checkpoint(
    ctl: &TrainControl<'_>,
    params: &[Param],
    opt: &AdamW,
    best: &Option<HashMap<String, Tensor>>,
    state: &RunState,
    keep: usize,
) -> Result<String> {
    let version = format!("step-{:09}", state.global_step);
    let key = ArtifactKey::new(ArtifactClass::Checkpoint, &ctl.job, &version);
    let existing = ctl.store.versions(ArtifactClass::Checkpoint, &ctl.job)?;
    if existing.contains(&version) {
        // Cancelled right after a periodic checkpoint of the same step: nothing new to save.
        return Ok(version);
    }
    let current: HashMap<String, Tensor> = params
        .iter()
        .map(|p| (p.name.clone(), p.var.as_tensor().clone()))
        .collect();
    let mut files = vec![
        (
            PARAMS.to_string(),
            FileSource::Bytes(tensors::serialize(&current)?),
        ),
        (
            OPTIM.to_string(),
            FileSource::Bytes(tensors::serialize(&opt.state())?),
        ),
    ];
    if let Some(best) = best {
        files.push((
            BEST.to_string(),
            FileSource::Bytes(tensors::serialize(best)?),
        ));
    }
    let info = ManifestInfo {
        kind: "checkpoint".into(),
        extra: serde_json::to_value(state).map_err(|e| crate::error::config_err(e.to_string()))?,
        ..Default::default()
    };
    ctl.store.put(&key, files, info)?;
    let mut all = ctl.store.versions(ArtifactClass::Checkpoint, &ctl.job)?;
    while all.len() > keep {
        let old = all.remove(0);
        ctl.store
            .delete(&ArtifactKey::new(ArtifactClass::Checkpoint, &ctl.job, old))?;
    }
    Ok(version)
}

/// Examples per second, smoothed so one slow step does not swing the ETA.
#[derive(Default)]
struct Throughput {
    ema: Option<f64>,
}

impl Throughput {
    fn record(&mut self, examples: usize, secs: f64) -> f64 {
        let now = examples as f64 / secs.max(1e-9);
        let ema = match self.ema {
            None => now,
            Some(prev) => 0.9 * prev + 0.1 * now,
        };
        self.ema = Some(ema);
        ema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_linear_decay() {
        let cfg = TrainConfig {
            learning_rate: 1.0,
            warmup_steps: 4,
            ..Default::default()
        };
        let lrs: Vec<f64> = (0..10).map(|s| learning_rate(&cfg, s, 10)).collect();
        assert_eq!(&lrs[..4], &[0.25, 0.5, 0.75, 1.0]);
        assert!(lrs[4] == 1.0 && lrs[9] > 0.0 && lrs[9] < lrs[5]);
        assert!(lrs.windows(2).skip(4).all(|w| w[1] <= w[0]));
    }
}

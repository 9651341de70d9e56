//! The training engine: one loop for every classifier kind.
//!
//! A kind hands the engine a [`Trainable`] (named parameters and a logits function over row
//! indices); the engine owns everything else: seeded shuffling, AdamW with a warm-up schedule,
//! gradient clipping, validation each epoch with early stopping, checkpoints every N steps (and on
//! cancellation) through the artifact store, exact resume from the last checkpoint, and progress
//! events.

mod engine;
mod optim;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use strata_data::{ArtifactStore, SplitSpec};

pub use engine::{FitReport, Param, Trainable, clear_checkpoints, evaluate, fit};
pub use optim::AdamW;

use crate::metrics::ClassificationMetrics;

/// Hyperparameters every trainable kind shares. Unknown fields are rejected, so a typo is an
/// error instead of a silently ignored setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Steps of linear warm-up from 0 to `learning_rate`; then linear decay to 0 at the end.
    pub warmup_steps: u64,
    /// Clip the global gradient L2 norm to this value (none when absent).
    pub clip_grad_norm: Option<f64>,
    /// Stop after this many epochs without a better validation loss (never when absent).
    pub patience: Option<usize>,
    /// Write a checkpoint every this many optimiser steps (0: only on cancellation).
    pub checkpoint_every: u64,
    /// How many checkpoints of a job to keep.
    pub keep_checkpoints: usize,
    /// Seeds weight initialisation and shuffling; the same seed gives the same model.
    pub seed: u64,
    pub split: SplitSpec,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            warmup_steps: 20,
            clip_grad_norm: Some(1.0),
            patience: Some(5),
            checkpoint_every: 100,
            keep_checkpoints: 2,
            seed: 42,
            split: SplitSpec::default(),
        }
    }
}

impl TrainConfig {
    pub(crate) fn check(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::error::config_err(m));
        if self.epochs == 0 {
            return bad("epochs must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate must be a positive number");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay must be a non-negative number");
        }
        if self
            .clip_grad_norm
            .is_some_and(|c| !(c.is_finite() && c > 0.0))
        {
            return bad("clip_grad_norm must be a positive number");
        }
        if self.keep_checkpoints == 0 {
            return bad("keep_checkpoints must be at least 1");
        }
        Ok(())
    }
}

/// The shared training knobs as every front door takes them (REST, gRPC, CLI, web form): each one
/// optional, a missing one meaning the default. [`TrainSettings::resolve`] is the only place
/// that turns them into a [`TrainConfig`], so every front door trains with the same defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSettings {
    /// Passes over the training split.
    #[schemars(range(min = 1))]
    pub epochs: Option<u32>,
    /// Rows per optimiser step.
    #[schemars(range(min = 1))]
    pub batch_size: Option<u32>,
    /// Peak learning rate of AdamW (after warm-up); above 0.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub learning_rate: Option<f64>,
    /// AdamW's decoupled weight decay.
    #[schemars(range(min = 0.0))]
    pub weight_decay: Option<f64>,
    /// Steps of linear learning-rate warm-up.
    pub warmup_steps: Option<u64>,
    /// Clip the global gradient norm to this value; 0 turns clipping off.
    #[schemars(range(min = 0.0))]
    pub max_grad_norm: Option<f64>,
    /// Stop after this many epochs without a better validation loss; 0 turns early stopping off.
    pub early_stopping_patience: Option<u32>,
    /// Checkpoint every this many steps; by default once per epoch.
    #[schemars(range(min = 1))]
    pub checkpoint_every_steps: Option<u64>,
    /// Seeds initialisation, shuffling and the splits: equal seeds give equal models.
    pub seed: Option<u64>,
    /// Fraction of rows held out for validation (early stopping and progress).
    #[schemars(range(min = 0.0), extend("exclusiveMaximum" = 1))]
    pub validation_fraction: Option<f64>,
    /// Fraction of rows held out for the test metrics of the new version.
    #[schemars(range(min = 0.0), extend("exclusiveMaximum" = 1))]
    pub test_fraction: Option<f64>,
}

impl TrainSettings {
    /// The configuration a run with these settings uses on a dataset of `rows` rows (0 when
    /// unknown: then checkpoints fall back to [`TrainConfig::default`]'s interval and the engine
    /// checks the split itself).
    pub fn resolve(&self, rows: usize) -> crate::Result<TrainConfig> {
        let d = TrainConfig::default();
        let bad = |m: String| -> crate::Result<()> { Err(crate::error::config_err(m)) };
        let positive = |name: &str, v: Option<f64>| match v {
            Some(v) if !(v.is_finite() && v > 0.0) => {
                bad(format!("{name} must be above 0, got {v}"))
            }
            _ => Ok(()),
        };
        let non_negative = |name: &str, v: Option<f64>| match v {
            Some(v) if !(v.is_finite() && v >= 0.0) => {
                bad(format!("{name} must be 0 or more, got {v}"))
            }
            _ => Ok(()),
        };
        positive("learning_rate", self.learning_rate)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("max_grad_norm", self.max_grad_norm)?;
        non_negative("validation_fraction", self.validation_fraction)?;
        non_negative("test_fraction", self.test_fraction)?;
        if self.epochs == Some(0) {
            bad("epochs must be at least 1".into())?;
        }
        if self.batch_size == Some(0) {
            bad("batch_size must be at least 1".into())?;
        }
        if self.checkpoint_every_steps == Some(0) {
            bad(
                "checkpoint_every_steps must be at least 1; leave it out for once per epoch".into(),
            )?;
        }
        let seed = self.seed.unwrap_or(d.seed);
        let split = SplitSpec {
            val_fraction: self.validation_fraction.unwrap_or(d.split.val_fraction),
            test_fraction: self.test_fraction.unwrap_or(d.split.test_fraction),
            seed,
        };
        let batch_size = self.batch_size.map_or(d.batch_size, |b| b as usize);
        let checkpoint_every = match (self.checkpoint_every_steps, rows) {
            (Some(n), _) => n,
            (None, 0) => d.checkpoint_every,
            (None, rows) => {
                let splits = strata_data::split(rows, &split)
                    .map_err(|e| crate::error::config_err(e.to_string()))?;
                splits.train.len().div_ceil(batch_size).max(1) as u64
            }
        };
        let config = TrainConfig {
            epochs: self.epochs.map_or(d.epochs, |e| e as usize),
            batch_size,
            learning_rate: self.learning_rate.unwrap_or(d.learning_rate),
            weight_decay: self.weight_decay.unwrap_or(d.weight_decay),
            warmup_steps: self.warmup_steps.unwrap_or(d.warmup_steps),
            clip_grad_norm: match self.max_grad_norm {
                Some(n) => (n > 0.0).then_some(n),
                None => d.clip_grad_norm,
            },
            patience: match self.early_stopping_patience {
                Some(p) => (p > 0).then_some(p as usize),
                None => d.patience,
            },
            checkpoint_every,
            keep_checkpoints: d.keep_checkpoints,
            seed,
            split,
        };
        config.check()?;
        Ok(config)
    }

    /// JSON Schema of the settings, each property carrying its default, for forms and docs.
    pub fn schema() -> serde_json::Value {
        let d = TrainConfig::default();
        let defaults = serde_json::json!({
            "epochs": d.epochs,
            "batch_size": d.batch_size,
            "learning_rate": d.learning_rate,
            "weight_decay": d.weight_decay,
            "warmup_steps": d.warmup_steps,
            "max_grad_norm": d.clip_grad_norm.unwrap_or(0.0),
            "early_stopping_patience": d.patience.unwrap_or(0),
            "seed": d.seed,
            "validation_fraction": d.split.val_fraction,
            "test_fraction": d.split.test_fraction,
        });
        let mut schema = crate::kinds::json_schema::<TrainSettings>();
        if let (Some(props), Some(defaults)) = (
            schema.get_mut("properties").and_then(|p| p.as_object_mut()),
            defaults.as_object(),
        ) {
            for (name, prop) in props.iter_mut() {
                if let serde_json::Value::Object(prop) = prop {
                    // The derive's `null` (an absent Option) says nothing; the real one does.
                    prop.remove("default");
                    if let Some(value) = defaults.get(name) {
                        prop.insert("default".into(), value.clone());
                    }
                }
            }
        }
        schema
    }
}

/// Cooperative cancellation: the engine checks it before every step.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Progress of a training run, in the order they happen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    Started {
        total_steps: u64,
        steps_per_epoch: u64,
        resumed_from_step: Option<u64>,
    },
    Step {
        epoch: usize,
        step: u64,
        total_steps: u64,
        loss: f64,
        learning_rate: f64,
        examples_per_sec: f64,
        eta_secs: f64,
    },
    Epoch {
        epoch: usize,
        train_loss: f64,
        val: ClassificationMetrics,
    },
    Checkpoint {
        step: u64,
        version: String,
    },
    EarlyStopped {
        epoch: usize,
        best_epoch: usize,
    },
    Finished {
        steps: u64,
        best_epoch: usize,
    },
}

/// Where a run reports to and keeps its checkpoints.
pub struct TrainControl<'a> {
    pub store: &'a dyn ArtifactStore,
    /// Checkpoint name: the training job id. A run with an existing job id resumes it.
    pub job: String,
    pub cancel: CancelToken,
    pub progress: &'a (dyn Fn(&TrainEvent) + Send + Sync),
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    /// Every bound the schema declares is the one `resolve` applies: accepted at the edge,
    /// refused one step past it (the web form checks with the schema, the service with resolve).
    #[test]
    fn the_schema_bounds_are_the_ones_resolve_applies() {
        let schema = TrainSettings::schema();
        let props = schema["properties"].as_object().expect("properties");
        let resolves = |name: &str, v: f64| {
            let integer = props[name]["type"]
                .as_array()
                .is_some_and(|t| t.contains(&serde_json::json!("integer")));
            let value = if integer {
                serde_json::json!(v as i64)
            } else {
                serde_json::json!(v)
            };
            // Integers below zero do not parse at all; that is a refusal too.
            serde_json::from_value::<TrainSettings>(serde_json::json!({ name: value }))
                .ok()
                .is_some_and(|s| s.resolve(1000).is_ok())
        };
        let mut checked = 0;
        for (name, prop) in props {
            if let Some(min) = prop["minimum"].as_f64() {
                assert!(resolves(name, min), "{name} = minimum {min}");
                assert!(!resolves(name, min - 1.0), "{name} below minimum");
                checked += 1;
            }
            if let Some(min) = prop["exclusiveMinimum"].as_f64() {
                assert!(!resolves(name, min), "{name} = exclusive minimum");
                assert!(resolves(name, min + 1e-3), "{name} just above");
                checked += 1;
            }
            if let Some(max) = prop["exclusiveMaximum"].as_f64() {
                assert!(!resolves(name, max), "{name} = exclusive maximum");
                checked += 1;
            }
        }
        assert!(checked >= 8, "only {checked} bounds declared");
    }

    #[test]
    fn no_settings_is_the_default_config_with_a_checkpoint_per_epoch() {
        let config = TrainSettings::default().resolve(1000).expect("defaults");
        // 800 training rows in batches of 32.
        let expected = TrainConfig {
            checkpoint_every: 25,
            ..TrainConfig::default()
        };
        assert_eq!(config, expected);
        assert_eq!(
            TrainSettings::default().resolve(0).expect("rows unknown"),
            TrainConfig::default()
        );
    }

    #[test]
    fn zero_turns_clipping_and_early_stopping_off_and_bad_values_are_refused() {
        let off = TrainSettings {
            max_grad_norm: Some(0.0),
            early_stopping_patience: Some(0),
            ..Default::default()
        }
        .resolve(0)
        .expect("off");
        assert_eq!((off.clip_grad_norm, off.patience), (None, None));
        for bad in [
            TrainSettings {
                epochs: Some(0),
                ..Default::default()
            },
            TrainSettings {
                batch_size: Some(0),
                ..Default::default()
            },
            TrainSettings {
                learning_rate: Some(0.0),
                ..Default::default()
            },
            TrainSettings {
                learning_rate: Some(f64::NAN),
                ..Default::default()
            },
            TrainSettings {
                weight_decay: Some(-1.0),
                ..Default::default()
            },
            TrainSettings {
                max_grad_norm: Some(f64::INFINITY),
                ..Default::default()
            },
            TrainSettings {
                checkpoint_every_steps: Some(0),
                ..Default::default()
            },
            TrainSettings {
                validation_fraction: Some(0.6),
                test_fraction: Some(0.6),
                ..Default::default()
            },
        ] {
            assert!(bad.resolve(1000).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_schema_names_every_setting_with_the_default_resolve_uses() {
        let schema = TrainSettings::schema();
        let props = schema["properties"].as_object().expect("properties");
        assert_eq!(props.len(), 11);
        let d = TrainConfig::default();
        assert_eq!(props["epochs"]["default"], d.epochs);
        assert_eq!(props["max_grad_norm"]["default"], 1.0);
        assert_eq!(props["early_stopping_patience"]["default"], 5);
        assert_eq!(props["test_fraction"]["default"], d.split.test_fraction);
        assert_eq!(props["learning_rate"]["exclusiveMinimum"], 0);
        assert_eq!(props["test_fraction"]["exclusiveMaximum"], 1);
        // Every default but the per-epoch checkpoint is written out.
        for (name, prop) in props {
            assert_eq!(
                prop.get("default").is_some(),
                name != "checkpoint_every_steps",
                "{name}"
            );
        }
    }
}

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

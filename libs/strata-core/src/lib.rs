//! strata-core: the ML core of strata, on candle.
//!
//! Model kinds ([`kinds`]: `mlp-classifier`, `text-encoder`, `text-classifier`,
//! `text-ngram-classifier`) behind the [`ModelKind`] trait and its [`Registry`]; the training
//! engine ([`train`]: AdamW, warm-up, clipping, early stopping, checkpoints and exact resume,
//! cancellation, progress events);
//! batched inference with schema checks ([`Model::predict`]); metrics ([`metrics`]); and device
//! selection ([`device`], the only place a device is chosen).
//!
//! **Invariant:** the core reads datasets and artifacts only through `strata-data` and knows no
//! protocol (no gRPC, HTTP or CLI types); every failure is a [`CoreError`], never a panic on
//! input. Builds without CUDA unless the `cuda` feature is enabled.

pub mod device;
pub mod error;
pub mod generate;
mod kernels;
pub mod kinds;
pub mod metrics;
pub mod schema;
pub mod tensors;
pub mod train;

pub use device::{Device, DeviceSpec, Resolved};
pub use error::{CoreError, Result};
pub use kinds::{
    InputType, KindInfo, Model, ModelFiles, ModelKind, Plan, Registry, TrainRequest, TrainedModel,
    evaluate_model,
};
pub use metrics::{ClassificationMetrics, CosineAgreement, cosine, cosine_agreement};
pub use schema::{ClassPrediction, InputSchema, Inputs, IoSchema, OutputSchema, Outputs};
pub use train::{CancelToken, FitReport, TrainConfig, TrainControl, TrainEvent, TrainSettings};

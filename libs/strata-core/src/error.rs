//! The one error type of the ML core. Variants separate the caller's mistakes (schema, config,
//! device requests) from internal failures so the service can map each to the right status.

use strata_data::{DataError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request does not fit the model's declared input schema.
    #[error("schema mismatch: {0}")]
    Schema(String),
    /// Hyperparameters, dataset columns or model files do not make sense for this kind.
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("unknown model kind `{0}`; known kinds: {1}")]
    UnknownKind(String, String),
    #[error("device: {0}")]
    Device(String),
    #[error("training was cancelled at step {step}; resume continues from the last checkpoint")]
    Cancelled { step: u64 },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

pub(crate) fn config_err(msg: impl Into<String>) -> CoreError {
    CoreError::Config(msg.into())
}

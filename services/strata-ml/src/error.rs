//! The one place where failures become gRPC statuses. Handlers return [`ServiceError`]; its
//! `From` impls classify the core's and the data layer's typed errors, and `From<ServiceError>
//! for Status` picks the code, so a given failure always gets the same status everywhere.

use strata_core::CoreError;
use strata_data::{DataError, StoreError};
use tonic::{Code, Status};

use strata_meta::MetaError;

/// A failed call, already classified by what the caller can do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// The request itself is wrong; retrying it unchanged fails again.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// The caller is known but may not do this (another principal's job or model, a protected
    /// alias).
    #[error("{0}")]
    PermissionDenied(String),
    /// The request is valid but the system is not in a state to do it (e.g. deleting an
    /// aliased version, cancelling a finished job).
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// A limit was hit (queue full, upload too large); retry later or send less.
    #[error("{0}")]
    ResourceExhausted(String),
    /// A write did not fit on the service's storage ([`STORAGE_FULL`]).
    #[error("{STORAGE_FULL}")]
    StorageFull,
    #[error("{0}")]
    DeadlineExceeded(String),
    /// Stored bytes no longer match their recorded hashes.
    #[error("{0}")]
    DataLoss(String),
    /// The service is shutting down.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an environment failure (disk, device); details go to the log, not the caller.
    #[error("{0}")]
    Internal(String),
}

/// What a caller is told of a failure that is the server's own: its text can name paths,
/// buckets and database errors, so it goes to the log (with the request's trace) instead.
pub const INTERNAL_MESSAGE: &str =
    "internal error in the ML service; its log has the details under this request's trace";

/// What a caller is told when a write does not fit: the disk (or its quota) is full. It names no
/// path; the operator reads the details in the log.
pub const STORAGE_FULL: &str = "the ML service's storage is full: nothing was stored; free space on its volume, or give it a larger one";

/// Whether an I/O failure means the storage is full (as opposed to broken).
pub fn storage_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), StorageFull | QuotaExceeded | FileTooLarge)
}

impl ServiceError {
    /// A failed write of the server's own files: [`STORAGE_FULL`] (RESOURCE_EXHAUSTED) when the
    /// disk is full, an internal error naming `what` otherwise.
    pub fn write_failed(what: &str, e: &std::io::Error) -> Self {
        if storage_full(e) {
            tracing::warn!(error = %e, "{what}: storage full");
            ServiceError::StorageFull
        } else {
            ServiceError::Internal(format!("{what}: {e}"))
        }
    }

    /// Whether the text is about the server (its disk, store, database, a bug) rather than about
    /// the request: such text is logged, and callers get [`INTERNAL_MESSAGE`].
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            ServiceError::Internal(_) | ServiceError::DataLoss(_) | ServiceError::Unavailable(_)
        )
    }

    /// The text a caller may see: the error's own, or [`INTERNAL_MESSAGE`] for internal ones.
    pub fn public_message(&self) -> String {
        if self.is_internal() {
            INTERNAL_MESSAGE.to_owned()
        } else {
            self.to_string()
        }
    }

    /// The same error with every mention of `path` replaced by `name`: callers learn which of
    /// their inputs is wrong, not where the server keeps its scratch files.
    pub fn hide_path(self, path: &std::path::Path, name: &str) -> Self {
        let path = path.display().to_string();
        let hide = |m: String| m.replace(&path, name);
        use ServiceError::*;
        match self {
            InvalidArgument(m) => InvalidArgument(hide(m)),
            NotFound(m) => NotFound(hide(m)),
            PermissionDenied(m) => PermissionDenied(hide(m)),
            FailedPrecondition(m) => FailedPrecondition(hide(m)),
            AlreadyExists(m) => AlreadyExists(hide(m)),
            ResourceExhausted(m) => ResourceExhausted(hide(m)),
            StorageFull => StorageFull,
            DeadlineExceeded(m) => DeadlineExceeded(hide(m)),
            DataLoss(m) => DataLoss(hide(m)),
            Unavailable(m) => Unavailable(hide(m)),
            Internal(m) => Internal(hide(m)),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        let msg = e.to_string();
        match e {
            StoreError::NotFound(_) => ServiceError::NotFound(msg),
            StoreError::InvalidName { .. } | StoreError::NoSuchFile { .. } => {
                ServiceError::InvalidArgument(msg)
            }
            StoreError::AlreadyExists(_) => ServiceError::AlreadyExists(msg),
            StoreError::CorruptManifest { .. }
            | StoreError::CorruptFile { .. }
            | StoreError::MissingFile { .. } => ServiceError::DataLoss(msg),
            StoreError::Io { ref source, .. } if storage_full(source) => {
                tracing::warn!(error = %msg, "storage full");
                ServiceError::StorageFull
            }
            StoreError::Io { .. } | StoreError::InvalidUrl(_) => ServiceError::Internal(msg),
            // The object store may be back in a moment.
            StoreError::Remote(_) => ServiceError::Unavailable(msg),
        }
    }
}

impl From<DataError> for ServiceError {
    fn from(e: DataError) -> Self {
        let msg = e.to_string();
        match e {
            // The data layer reads files the service itself wrote; an I/O error there is ours.
            DataError::Io { .. } => ServiceError::Internal(msg),
            DataError::LimitExceeded { limit, .. } => ServiceError::InvalidArgument(format!(
                "{msg} (this server's limit; {} sets it)",
                crate::config::limit_flag(limit)
            )),
            // Everything else is about the caller's table or schema.
            _ => ServiceError::InvalidArgument(msg),
        }
    }
}

impl From<CoreError> for ServiceError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Data(e) => e.into(),
            CoreError::Store(e) => e.into(),
            CoreError::Schema(_)
            | CoreError::Config(_)
            | CoreError::UnknownKind(..)
            | CoreError::Tokenizer(_) => ServiceError::InvalidArgument(e.to_string()),
            CoreError::Cancelled { .. } => ServiceError::FailedPrecondition(e.to_string()),
            CoreError::Device(_) => ServiceError::FailedPrecondition(e.to_string()),
            CoreError::Candle(_) => ServiceError::Internal(e.to_string()),
        }
    }
}

impl From<MetaError> for ServiceError {
    fn from(e: MetaError) -> Self {
        let msg = e.to_string();
        match e {
            MetaError::NotFound(_) => ServiceError::NotFound(msg),
            MetaError::AlreadyExists(_) => ServiceError::AlreadyExists(msg),
            MetaError::QueueFull(_) => ServiceError::ResourceExhausted(msg),
            MetaError::Corrupt { .. } => ServiceError::DataLoss(msg),
            // Another replica holds the job now; the caller may look again.
            MetaError::LeaseLost(_) => ServiceError::Unavailable(msg),
            _ if e.is_transient() => ServiceError::Unavailable(msg),
            MetaError::Database(_)
            | MetaError::Migrate(_)
            | MetaError::InvalidUrl(_)
            | MetaError::CreateDir { .. } => ServiceError::Internal(msg),
        }
    }
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Self {
        let code = match &e {
            ServiceError::InvalidArgument(_) => Code::InvalidArgument,
            ServiceError::NotFound(_) => Code::NotFound,
            ServiceError::PermissionDenied(_) => Code::PermissionDenied,
            ServiceError::FailedPrecondition(_) => Code::FailedPrecondition,
            ServiceError::AlreadyExists(_) => Code::AlreadyExists,
            ServiceError::ResourceExhausted(_) | ServiceError::StorageFull => {
                Code::ResourceExhausted
            }
            ServiceError::DeadlineExceeded(_) => Code::DeadlineExceeded,
            ServiceError::DataLoss(_) => Code::DataLoss,
            ServiceError::Unavailable(_) => Code::Unavailable,
            ServiceError::Internal(_) => Code::Internal,
        };
        if e.is_internal() {
            tracing::error!(error = %e, ?code, "request failed");
        }
        let mut status = Status::new(code, e.public_message());
        if matches!(e, ServiceError::StorageFull) {
            status.metadata_mut().insert(
                strata_runtime::REASON_METADATA,
                tonic::metadata::MetadataValue::from_static(strata_runtime::REASON_STORAGE_FULL),
            );
        }
        status
    }
}

/// A blocking task that panicked or was cancelled is a bug, never the caller's fault.
impl From<tokio::task::JoinError> for ServiceError {
    fn from(e: tokio::task::JoinError) -> Self {
        ServiceError::Internal(format!("worker task failed: {e}"))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Runs blocking work (files, models) off the async threads and answers with its result.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ServiceResult<T> + Send + 'static,
) -> Result<tonic::Response<T>, Status> {
    let out = tokio::task::spawn_blocking(f)
        .await
        .map_err(ServiceError::from)?;
    Ok(tonic::Response::new(out?))
}

//! Typed errors of the data layer. Each variant names the file, column or row at fault so that the
//! service layer can map it to a 4xx answer without parsing strings.

use std::path::PathBuf;

/// A dataset could not be read or does not match its declared schema.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a readable Parquet file: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("arrow error while reading {path}: {source}")]
    Arrow {
        path: PathBuf,
        source: arrow::error::ArrowError,
    },
    #[error("column `{column}` not found; the file has: {}", available.join(", "))]
    MissingColumn {
        column: String,
        available: Vec<String>,
    },
    #[error("column `{column}` has type {found}, expected {expected}")]
    WrongType {
        column: String,
        expected: &'static str,
        found: String,
    },
    #[error("column `{column}` row {row} is {value} (NaN and infinity are not allowed)")]
    NonFinite {
        column: String,
        row: usize,
        value: f64,
    },
    #[error("column `{column}` row {row} is null")]
    Null { column: String, row: usize },
    #[error("{path} has no rows")]
    EmptyTable { path: PathBuf },
    #[error("label `{label}` in row {row} is out of range: the schema declares {classes} classes")]
    LabelOutOfRange {
        row: usize,
        label: String,
        classes: usize,
    },
    #[error("invalid dataset schema: {0}")]
    InvalidSchema(String),
    /// The file is larger, wider or deeper than the configured [`crate::DatasetLimits`] allow.
    #[error("dataset limit on {limit} exceeded by {what}: {found} > {max}")]
    LimitExceeded {
        limit: crate::Limit,
        max: u64,
        found: u64,
        what: String,
    },
    #[error("invalid split: {0}")]
    InvalidSplit(String),
}

/// An artifact could not be written, found or verified.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "invalid artifact {what} `{value}`: use 1-128 characters from [A-Za-z0-9._-], not starting with `.`"
    )]
    InvalidName { what: &'static str, value: String },
    #[error("artifact {0} not found")]
    NotFound(String),
    #[error("artifact {0} already exists")]
    AlreadyExists(String),
    #[error("artifact {key}: manifest is corrupted: {reason}")]
    CorruptManifest { key: String, reason: String },
    #[error(
        "artifact {key}: file `{file}` is corrupted (sha256 {actual}, manifest says {expected})"
    )]
    CorruptFile {
        key: String,
        file: String,
        expected: String,
        actual: String,
    },
    #[error("artifact {key}: file `{file}` listed in the manifest is missing")]
    MissingFile { key: String, file: String },
    #[error("artifact {key}: no file named `{file}`")]
    NoSuchFile { key: String, file: String },
    /// The artifact store URL is malformed or names an unsupported scheme.
    #[error("invalid artifact store URL: {0}")]
    InvalidUrl(String),
    /// A request to the object store failed (network, permissions, throttling).
    #[error("object store: {0}")]
    Remote(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

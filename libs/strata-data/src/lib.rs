//! strata-data: the data layer of strata.
//!
//! Two jobs, both about bytes on disk and nothing about models:
//! - [`dataset`]: Parquet datasets with a declared [`DatasetSchema`] (feature columns, a text column,
//!   a label column), validated while streamed in record batches, and split into deterministic
//!   train/validation/test index sets by [`split`].
//! - [`store`]: the [`ArtifactStore`] for datasets, model versions and checkpoints, each a directory
//!   of files plus a JSON [`Manifest`] that records the sha256 of every file: on the filesystem
//!   ([`FsArtifactStore`], the default) or on object storage ([`object`]: S3, GCS, Azure).
//!
//! **Invariant:** a reader never sees a half-written artifact (writes are staged, fsynced and
//! renamed into place) and never gets bytes whose hash differs from the manifest; bad data or a
//! corrupted artifact is a typed [`DataError`] or [`StoreError`], never a panic. This crate knows
//! nothing about candle or model kinds.

pub mod dataset;
pub mod error;
mod hash;
pub mod limits;
pub mod object;
pub mod split;
pub mod store;

pub use dataset::{ColumnInfo, DatasetInfo, DatasetSchema, Examples, ParquetDataset};
pub use error::{DataError, StoreError};
pub use hash::{sha256_bytes, sha256_file};
pub use limits::{DatasetLimits, Limit};
pub use object::ObjectArtifactStore;
pub use split::{SplitSpec, Splits, split};
pub use store::{
    Artifact, ArtifactClass, ArtifactKey, ArtifactStore, FileEntry, FileSource, FsArtifactStore,
    Manifest, ManifestInfo, next_version,
};

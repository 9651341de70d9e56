//! strata-meta: the metadata store and job queue of strata.
//!
//! Training jobs, their event logs, model aliases, and the web API's users and API keys live in SQL: SQLite (one file in the data
//! directory, WAL) as the embedded default, PostgreSQL when several ML service replicas share one
//! queue. [`connect`] picks the backend from the URL and runs the versioned migrations of
//! `migrations/<backend>/` before anything else touches the database. Both backends run the same
//! queries through sqlx's `Any` driver; they differ only in how a write transaction starts and in
//! the row locks (`FOR UPDATE [SKIP LOCKED]`) that PostgreSQL needs and SQLite's single writer
//! makes implicit.
//!
//! The queue: a replica [`MetadataStore::claim`]s the oldest claimable job (queued, or running
//! with an expired lease) atomically and holds it with a [`Lease`] it renews. Every later write
//! for that job names the lease (owner and attempt), so a replica that lost its lease can no
//! longer change the job: at most one replica runs a job at a time, and each transition
//! (succeeded, failed, cancelled, back to the queue) is recorded exactly once.
//!
//! Records and events are opaque bytes here (the ML service stores its protobuf messages); the
//! store keeps beside them only what it filters and locks on: state, model name, lease.
//!
//! **Invariant:** a job's record and its events change in one transaction, and event sequence
//! numbers are assigned here, from 1 and without gaps per job. This crate knows rows, leases and
//! SQL; never the contracts, files, models or gRPC.

mod error;
mod sql;

use std::collections::BTreeMap;
use std::time::Duration;

pub use error::MetaError;
pub use sql::{SqlMetadataStore, connect};

/// Which SQL engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a metadata URL names (`sqlite:`, `postgres://`, `postgresql://`).
    pub fn from_url(url: &str) -> Result<Self, MetaError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(MetaError::InvalidUrl(format!(
                "unsupported scheme `{scheme}:`; use sqlite:PATH or postgres://USER@HOST/DB"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where a job is in its life. The codes are stored, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobStatus {
    Queued = 1,
    Running = 2,
    Succeeded = 3,
    Failed = 4,
    Cancelled = 5,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn from_code(code: i64) -> Option<Self> {
        JobStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// A job as stored: what the queue needs, and the caller's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    pub status: JobStatus,
    pub model_name: String,
    pub record: Vec<u8>,
}

/// One event of a job's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub sequence: u64,
    pub body: Vec<u8>,
}

/// The right to change one running job, held by one replica until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: String,
    /// The replica holding it.
    pub owner: String,
    /// Increases with every claim of the job; a fencing token.
    pub attempt: i64,
}

/// A job a replica has just claimed; its status is now RUNNING under `lease`.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub lease: Lease,
    /// The row as it was before the claim (status QUEUED, or RUNNING for an expired lease).
    pub row: JobRow,
    /// Someone asked to cancel the job before this replica claimed it.
    pub cancel_requested: bool,
}

impl Claimed {
    /// A previous holder's lease expired: the job resumes from its last checkpoint.
    pub fn resumed(&self) -> bool {
        self.row.status == JobStatus::Running
    }
}

/// What a renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// Still ours, for another lease period.
    Held { cancel_requested: bool },
    /// Taken over or ended: stop without writing anything more.
    Lost,
}

/// A user of the web API as stored. `role` is the API's name for it; this crate does not read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub name: String,
    /// A PHC password hash string.
    pub password_hash: String,
    pub role: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// An API key as stored: only its digest, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub name: String,
    /// Hex sha256 of the key.
    pub key_sha256: String,
    pub role: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// What [`MetadataStore::delete_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDeletion {
    Deleted,
    NotFound,
    /// The user is the only one left with the protected role; nothing was deleted.
    LastOfRole,
}

/// Storage of training jobs, their event logs and model aliases; the job queue of the replicas;
/// the users and API keys of the web API.
#[async_trait::async_trait]
pub trait MetadataStore: Send + Sync {
    fn backend(&self) -> Backend;

    /// Adds a QUEUED job with its first event (sequence 1), unless `max_queued` jobs already
    /// wait ([`MetaError::QueueFull`]).
    async fn create_job(
        &self,
        job: &JobRow,
        event: &[u8],
        max_queued: u64,
    ) -> Result<(), MetaError>;

    async fn job(&self, id: &str) -> Result<Option<JobRow>, MetaError>;

    /// Jobs in `status` (None: any) of `model_name` (None: any), newest (highest id) first.
    async fn jobs(
        &self,
        status: Option<JobStatus>,
        model_name: Option<&str>,
    ) -> Result<Vec<JobRow>, MetaError>;

    /// Number of jobs in each status.
    async fn count_by_status(&self) -> Result<BTreeMap<JobStatus, u64>, MetaError>;

    /// The job's events with `sequence > after`, oldest first.
    async fn events(&self, job_id: &str, after: u64) -> Result<Vec<EventRow>, MetaError>;

    /// Atomically takes the oldest queued job, or a running one whose lease expired, for
    /// `owner`: its status becomes RUNNING under a lease of `lease` from now. The caller then
    /// records the transition with [`MetadataStore::record`].
    async fn claim(&self, owner: &str, lease: Duration) -> Result<Option<Claimed>, MetaError>;

    /// Ends every lease `owner` holds, making its running jobs claimable at once: a replica
    /// starting under a name knows no earlier process of that name runs anything any more.
    async fn expire_leases(&self, owner: &str) -> Result<u64, MetaError>;

    /// Extends a held lease to `duration` from now.
    async fn renew(&self, lease: &Lease, duration: Duration) -> Result<Renewal, MetaError>;

    /// Replaces the job's status and record and appends `events`, if `lease` is still held
    /// ([`MetaError::LeaseLost`] otherwise); returns the events' sequence numbers. A status other
    /// than RUNNING releases the lease: a QUEUED job is claimable again at once.
    async fn record(
        &self,
        lease: &Lease,
        status: JobStatus,
        record: &[u8],
        events: &[Vec<u8>],
    ) -> Result<Vec<u64>, MetaError>;

    /// Moves a job from `from` to `to` with a new record and one event, if it is in `from`
    /// (compare-and-set, whoever holds it); returns the event's sequence, or None when the job
    /// was not in `from`. Cancelling a queued job is `QUEUED → CANCELLED`.
    async fn transition(
        &self,
        id: &str,
        from: JobStatus,
        to: JobStatus,
        record: &[u8],
        event: &[u8],
    ) -> Result<Option<u64>, MetaError>;

    /// Asks the holder of a running job to stop (seen at its next renewal, or by the next
    /// claimer). Returns the job's status; only a RUNNING job is flagged.
    async fn request_cancel(&self, id: &str) -> Result<JobStatus, MetaError>;

    /// alias -> version of one model.
    async fn aliases(&self, model: &str) -> Result<BTreeMap<String, String>, MetaError>;

    /// Points `alias` of `model` at `version` (creating or moving it).
    async fn set_alias(&self, model: &str, alias: &str, version: &str) -> Result<(), MetaError>;

    /// Removes an alias; false if it did not exist.
    async fn delete_alias(&self, model: &str, alias: &str) -> Result<bool, MetaError>;

    async fn user(&self, name: &str) -> Result<Option<UserRow>, MetaError>;

    /// Every user, by name.
    async fn users(&self) -> Result<Vec<UserRow>, MetaError>;

    /// Adds a user; false (and nothing changed) when the name is taken. Several API replicas
    /// may bootstrap the same admin at once: exactly one of them creates it.
    async fn create_user(&self, user: &UserRow) -> Result<bool, MetaError>;

    /// Replaces a user's password hash; false if there is no such user.
    async fn set_user_password(&self, name: &str, password_hash: &str) -> Result<bool, MetaError>;

    /// Deletes a user, unless it is the last one whose role is `keep_role` (so the API never
    /// locks out its last admin, even with two admins deleting each other at once).
    async fn delete_user(&self, name: &str, keep_role: &str) -> Result<UserDeletion, MetaError>;

    /// The API key named `name`.
    async fn api_key(&self, name: &str) -> Result<Option<ApiKeyRow>, MetaError>;

    /// The API key whose sha256 is `key_sha256`.
    async fn api_key_by_hash(&self, key_sha256: &str) -> Result<Option<ApiKeyRow>, MetaError>;

    /// Every API key, by name.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, MetaError>;

    /// Adds an API key; false (and nothing changed) when its name or digest is taken.
    async fn create_api_key(&self, key: &ApiKeyRow) -> Result<bool, MetaError>;

    /// Revokes an API key; false if there was none of that name.
    async fn delete_api_key(&self, name: &str) -> Result<bool, MetaError>;
}

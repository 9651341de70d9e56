/// A metadata read or write failed, or was refused.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The URL is malformed or names an unsupported backend. Never holds the URL itself, which
    /// may carry a password.
    #[error("invalid metadata URL: {0}")]
    InvalidUrl(String),
    #[error("cannot create the metadata database's directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("metadata database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("metadata schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored {what} is corrupted: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("training job `{0}` not found")]
    NotFound(String),
    #[error("training job `{0}` already exists")]
    AlreadyExists(String),
    /// The caller's lease expired and another replica claimed the job, or the job ended.
    #[error("the lease on training job `{0}` is no longer held by this replica")]
    LeaseLost(String),
    #[error("the training queue is full ({0} jobs waiting); retry later")]
    QueueFull(u64),
}

impl MetaError {
    /// The database was unreachable or overloaded: the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MetaError::Database(
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
            )
        )
    }
}

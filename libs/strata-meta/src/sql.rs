//! [`SqlMetadataStore`]: the [`MetadataStore`] on SQLite or PostgreSQL through sqlx's `Any`
//! driver. Queries are checked at run time (no database at build time); the migrations are
//! compiled in and run by [`connect`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, Row, SqlSafeStr, Transaction};

use crate::{
    ApiKeyRow, Backend, Claimed, EventRow, JobRow, JobStatus, Lease, MetaError, MetadataStore,
    Renewal, UserDeletion, UserRow,
};

const QUEUED: i64 = JobStatus::Queued as i64;
const RUNNING: i64 = JobStatus::Running as i64;

/// Connects to the metadata database at `url` and brings its schema up to date.
///
/// `sqlite:PATH` (created if missing; WAL, `synchronous=FULL`) or
/// `postgres://USER:PASSWORD@HOST:PORT/DB` (options such as `sslmode=require` in the query).
/// Several replicas may start at once: migrations run under the database's own lock.
/// On PostgreSQL, a schema that is already current is left alone, so a role that may not change
/// it (the ML service's `strata_ml`, migration 0003) can connect once the owner has migrated.
pub async fn connect(url: &str) -> Result<SqlMetadataStore, MetaError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_url(url)?;
    let (url, max_connections) = match backend {
        Backend::Sqlite => {
            create_sqlite_dir(url)?;
            (sqlite_create_url(url), 4)
        }
        Backend::Postgres => (url.to_owned(), 8),
    };
    let mut options = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30));
    if backend == Backend::Sqlite {
        options = options.after_connect(|conn, _| {
            Box::pin(async move {
                // WAL: readers never block the writer; FULL: a commit survives power loss too.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                Ok(())
            })
        });
    }
    let pool = options.connect(&url).await?;
    let migrator = migrator(backend);
    // A role that may not change the schema (the ML service's own on PostgreSQL) starts only
    // once its owner has migrated it: sqlx's `run` first creates its bookkeeping table, which
    // needs CREATE on the schema even when the table exists.
    if backend == Backend::Sqlite || !schema_is_current(&pool, &migrator).await {
        migrator.run(&pool).await?;
    }
    tracing::info!(backend = backend.name(), "metadata store ready");
    Ok(SqlMetadataStore { pool, backend })
}

/// Whether the database has exactly this build's migrations applied, checksums included, and
/// none of a newer build (which `run` refuses too). False when that cannot be read.
async fn schema_is_current(pool: &AnyPool, migrator: &Migrator) -> bool {
    let applied: Vec<(i64, Vec<u8>, bool)> =
        match sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations")
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows,
            Err(_) => return false,
        };
    applied.len() == migrator.iter().count()
        && migrator.iter().all(|m| {
            applied.iter().any(|(version, checksum, success)| {
                *version == m.version && *success && checksum[..] == m.checksum[..]
            })
        })
}

/// Creates the directory an `sqlite:` URL's file goes in, as SQLite creates only the file.
fn create_sqlite_dir(url: &str) -> Result<(), MetaError> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return Ok(()); // `:memory:` and friends
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| MetaError::CreateDir {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// `sqlite:` URLs create the file unless the caller chose a mode.
fn sqlite_create_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The schema versions of one backend, oldest first. Add a file per change; never edit one that
/// was released (sqlx refuses a database whose applied migration's checksum differs).
fn migrator(backend: Backend) -> Migrator {
    let files: &[(i64, &str, &'static str)] = match backend {
        Backend::Sqlite => &[
            (
                1,
                "jobs, events, aliases",
                include_str!("../migrations/sqlite/0001_jobs_events_aliases.sql"),
            ),
            (
                2,
                "users, api keys",
                include_str!("../migrations/sqlite/0002_principals.sql"),
            ),
        ],
        Backend::Postgres => &[
            (
                1,
                "jobs, events, aliases",
                include_str!("../migrations/postgres/0001_jobs_events_aliases.sql"),
            ),
            (
                2,
                "users, api keys",
                include_str!("../migrations/postgres/0002_principals.sql"),
            ),
            (
                3,
                "the ml service's role",
                include_str!("../migrations/postgres/0003_ml_service_role.sql"),
            ),
        ],
    };
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The [`MetadataStore`] on SQL; see the crate docs.
#[derive(Debug, Clone)]
pub struct SqlMetadataStore {
    pool: AnyPool,
    backend: Backend,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn status_of(code: i64, id: &str) -> Result<JobStatus, MetaError> {
    JobStatus::from_code(code).ok_or_else(|| MetaError::Corrupt {
        what: format!("status of job {id}"),
        reason: format!("unknown code {code}"),
    })
}

fn job_from(row: &AnyRow) -> Result<JobRow, MetaError> {
    let id: String = row.try_get("id")?;
    Ok(JobRow {
        status: status_of(row.try_get("state")?, &id)?,
        model_name: row.try_get("model_name")?,
        record: row.try_get("record")?,
        id,
    })
}

const JOB_COLUMNS: &str = "id, state, model_name, record";

impl SqlMetadataStore {
    /// A transaction that writes. SQLite takes its write lock up front, so two writers never
    /// both read a snapshot and then fail to upgrade; PostgreSQL locks rows as it goes.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, MetaError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Appends events to a job's log, numbering them after the job's last one.
    async fn append(
        tx: &mut Transaction<'static, Any>,
        job_id: &str,
        events: &[Vec<u8>],
    ) -> Result<Vec<u64>, MetaError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // The row lock taken by this UPDATE orders concurrent appenders on PostgreSQL.
        let row = sqlx::query(
            "UPDATE jobs SET next_sequence = next_sequence + $1 WHERE id = $2 RETURNING next_sequence",
        )
        .bind(events.len() as i64)
        .bind(job_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| MetaError::NotFound(job_id.to_owned()))?;
        let next: i64 = row.try_get(0)?;
        let first = next - events.len() as i64;
        let mut sequences = Vec::with_capacity(events.len());
        for (i, body) in events.iter().enumerate() {
            let sequence = first + i as i64;
            sqlx::query("INSERT INTO job_events (job_id, sequence, event) VALUES ($1, $2, $3)")
                .bind(job_id)
                .bind(sequence)
                .bind(body.as_slice())
                .execute(&mut **tx)
                .await?;
            sequences.push(sequence as u64);
        }
        Ok(sequences)
    }

    /// Closes every connection (tests stop a database server after this).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait::async_trait]
impl MetadataStore for SqlMetadataStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn create_job(
        &self,
        job: &JobRow,
        event: &[u8],
        max_queued: u64,
    ) -> Result<(), MetaError> {
        let mut tx = self.begin_write().await?;
        let queued: i64 = sqlx::query("SELECT COUNT(*) FROM jobs WHERE state = $1")
            .bind(QUEUED)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if queued as u64 >= max_queued {
            return Err(MetaError::QueueFull(queued as u64));
        }
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, state, model_name, record) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&job.id)
        .bind(QUEUED)
        .bind(&job.model_name)
        .bind(job.record.as_slice())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(MetaError::AlreadyExists(job.id.clone()));
        }
        Self::append(&mut tx, &job.id, &[event.to_vec()]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn job(&self, id: &str) -> Result<Option<JobRow>, MetaError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(job_from)
        .transpose()
    }

    async fn jobs(
        &self,
        status: Option<JobStatus>,
        model_name: Option<&str>,
    ) -> Result<Vec<JobRow>, MetaError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 = 0 OR state = $1) AND ($2 = '' OR model_name = $2) \
             ORDER BY id DESC"
        )))
        .bind(status.map(JobStatus::code).unwrap_or(0))
        .bind(model_name.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(job_from)
        .collect()
    }

    async fn count_by_status(&self) -> Result<BTreeMap<JobStatus, u64>, MetaError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = BTreeMap::new();
        for row in rows {
            let status = status_of(row.try_get("state")?, "(count)")?;
            let n: i64 = row.try_get("n")?;
            counts.insert(status, n as u64);
        }
        Ok(counts)
    }

    async fn events(&self, job_id: &str, after: u64) -> Result<Vec<EventRow>, MetaError> {
        let rows = sqlx::query(
            "SELECT sequence, event FROM job_events WHERE job_id = $1 AND sequence > $2 ORDER BY sequence",
        )
        .bind(job_id)
        .bind(after as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EventRow {
                    sequence: row.try_get::<i64, _>("sequence")? as u64,
                    body: row.try_get("event")?,
                })
            })
            .collect()
    }

    async fn claim(&self, owner: &str, lease: Duration) -> Result<Option<Claimed>, MetaError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // SKIP LOCKED: replicas claiming at the same moment take different jobs instead of
        // waiting on each other's row lock. SQLite's write lock is already exclusive.
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS}, cancel_requested FROM jobs \
             WHERE state = $1 OR (state = $2 AND lease_until < $3) ORDER BY id LIMIT 1{lock}"
        )))
        .bind(QUEUED)
        .bind(RUNNING)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let job = job_from(&row)?;
        let cancel_requested: i64 = row.try_get("cancel_requested")?;
        let attempt: i64 = sqlx::query(
            "UPDATE jobs SET state = $1, owner = $2, attempt = attempt + 1, lease_until = $3 \
             WHERE id = $4 RETURNING attempt",
        )
        .bind(RUNNING)
        .bind(owner)
        .bind(now + lease.as_millis() as i64)
        .bind(&job.id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        tx.commit().await?;
        Ok(Some(Claimed {
            lease: Lease {
                job_id: job.id.clone(),
                owner: owner.to_owned(),
                attempt,
            },
            row: job,
            cancel_requested: cancel_requested != 0,
        }))
    }

    async fn expire_leases(&self, owner: &str) -> Result<u64, MetaError> {
        let done = sqlx::query("UPDATE jobs SET lease_until = 0 WHERE owner = $1 AND state = $2")
            .bind(owner)
            .bind(RUNNING)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn renew(&self, lease: &Lease, duration: Duration) -> Result<Renewal, MetaError> {
        let row = sqlx::query(
            "UPDATE jobs SET lease_until = $1 \
             WHERE id = $2 AND owner = $3 AND attempt = $4 AND state = $5 RETURNING cancel_requested",
        )
        .bind(now_ms() + duration.as_millis() as i64)
        .bind(&lease.job_id)
        .bind(&lease.owner)
        .bind(lease.attempt)
        .bind(RUNNING)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => Renewal::Held {
                cancel_requested: row.try_get::<i64, _>(0)? != 0,
            },
            None => Renewal::Lost,
        })
    }

    async fn record(
        &self,
        lease: &Lease,
        status: JobStatus,
        record: &[u8],
        events: &[Vec<u8>],
    ) -> Result<Vec<u64>, MetaError> {
        let mut tx = self.begin_write().await?;
        // Leaving RUNNING gives the job up: no holder, and a QUEUED one is claimable at once.
        let sql = if status == JobStatus::Running {
            "UPDATE jobs SET record = $1, state = $2 \
             WHERE id = $3 AND owner = $4 AND attempt = $5 AND state = $6"
        } else {
            "UPDATE jobs SET record = $1, state = $2, owner = NULL, lease_until = 0 \
             WHERE id = $3 AND owner = $4 AND attempt = $5 AND state = $6"
        };
        let updated = sqlx::query(sql)
            .bind(record)
            .bind(status.code())
            .bind(&lease.job_id)
            .bind(&lease.owner)
            .bind(lease.attempt)
            .bind(RUNNING)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(MetaError::LeaseLost(lease.job_id.clone()));
        }
        let sequences = Self::append(&mut tx, &lease.job_id, events).await?;
        tx.commit().await?;
        Ok(sequences)
    }

    async fn transition(
        &self,
        id: &str,
        from: JobStatus,
        to: JobStatus,
        record: &[u8],
        event: &[u8],
    ) -> Result<Option<u64>, MetaError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE jobs SET record = $1, state = $2, owner = NULL, lease_until = 0 \
             WHERE id = $3 AND state = $4",
        )
        .bind(record)
        .bind(to.code())
        .bind(id)
        .bind(from.code())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let sequence = Self::append(&mut tx, id, &[event.to_vec()]).await?;
        tx.commit().await?;
        Ok(sequence.first().copied())
    }

    async fn request_cancel(&self, id: &str) -> Result<JobStatus, MetaError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND state = $2")
            .bind(id)
            .bind(RUNNING)
            .execute(&mut *tx)
            .await?;
        let state: i64 = sqlx::query("SELECT state FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| MetaError::NotFound(id.to_owned()))?
            .try_get(0)?;
        tx.commit().await?;
        status_of(state, id)
    }

    async fn aliases(&self, model: &str) -> Result<BTreeMap<String, String>, MetaError> {
        let rows = sqlx::query("SELECT alias, version FROM model_aliases WHERE model = $1")
            .bind(model)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("alias")?, r.try_get("version")?)))
            .collect()
    }

    async fn set_alias(&self, model: &str, alias: &str, version: &str) -> Result<(), MetaError> {
        sqlx::query(
            "INSERT INTO model_aliases (model, alias, version) VALUES ($1, $2, $3) \
             ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version",
        )
        .bind(model)
        .bind(alias)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_alias(&self, model: &str, alias: &str) -> Result<bool, MetaError> {
        let done = sqlx::query("DELETE FROM model_aliases WHERE model = $1 AND alias = $2")
            .bind(model)
            .bind(alias)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn user(&self, name: &str) -> Result<Option<UserRow>, MetaError> {
        sqlx::query("SELECT name, password_hash, role, created_ms FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from)
            .transpose()
    }

    async fn users(&self) -> Result<Vec<UserRow>, MetaError> {
        let rows =
            sqlx::query("SELECT name, password_hash, role, created_ms FROM users ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(user_from).collect()
    }

    async fn create_user(&self, user: &UserRow) -> Result<bool, MetaError> {
        let done = sqlx::query(
            "INSERT INTO users (name, password_hash, role, created_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(&user.role)
        .bind(user.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_user_password(&self, name: &str, password_hash: &str) -> Result<bool, MetaError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(password_hash)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user(&self, name: &str, keep_role: &str) -> Result<UserDeletion, MetaError> {
        let mut tx = self.begin_write().await?;
        // SQLite's immediate transaction already excludes other writers.
        let holders_query = match self.backend {
            Backend::Postgres => "SELECT name FROM users WHERE role = $1 FOR UPDATE",
            Backend::Sqlite => "SELECT name FROM users WHERE role = $1",
        };
        let rows = sqlx::query(holders_query)
            .bind(keep_role)
            .fetch_all(&mut *tx)
            .await?;
        let holders: Vec<String> = rows
            .iter()
            .map(|r| r.try_get("name"))
            .collect::<Result<_, _>>()?;
        if holders.len() == 1 && holders[0] == name {
            return Ok(UserDeletion::LastOfRole);
        }
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if done.rows_affected() > 0 {
            UserDeletion::Deleted
        } else {
            UserDeletion::NotFound
        })
    }

    async fn api_key(&self, name: &str) -> Result<Option<ApiKeyRow>, MetaError> {
        sqlx::query("SELECT name, key_sha256, role, created_ms FROM api_keys WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(api_key_from)
            .transpose()
    }

    async fn api_key_by_hash(&self, key_sha256: &str) -> Result<Option<ApiKeyRow>, MetaError> {
        sqlx::query("SELECT name, key_sha256, role, created_ms FROM api_keys WHERE key_sha256 = $1")
            .bind(key_sha256)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(api_key_from)
            .transpose()
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, MetaError> {
        let rows =
            sqlx::query("SELECT name, key_sha256, role, created_ms FROM api_keys ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(api_key_from).collect()
    }

    async fn create_api_key(&self, key: &ApiKeyRow) -> Result<bool, MetaError> {
        let done = sqlx::query(
            "INSERT INTO api_keys (name, key_sha256, role, created_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&key.name)
        .bind(&key.key_sha256)
        .bind(&key.role)
        .bind(key.created_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_api_key(&self, name: &str) -> Result<bool, MetaError> {
        let done = sqlx::query("DELETE FROM api_keys WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn user_from(row: &AnyRow) -> Result<UserRow, MetaError> {
    Ok(UserRow {
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        role: row.try_get("role")?,
        created_ms: row.try_get("created_ms")?,
    })
}

fn api_key_from(row: &AnyRow) -> Result<ApiKeyRow, MetaError> {
    Ok(ApiKeyRow {
        name: row.try_get("name")?,
        key_sha256: row.try_get("key_sha256")?,
        role: row.try_get("role")?,
        created_ms: row.try_get("created_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_the_file_unless_a_mode_is_given() {
        assert_eq!(
            sqlite_create_url("sqlite:/x/m.db"),
            "sqlite:/x/m.db?mode=rwc"
        );
        assert_eq!(
            sqlite_create_url("sqlite:/x/m.db?cache=private"),
            "sqlite:/x/m.db?cache=private&mode=rwc"
        );
        assert_eq!(
            sqlite_create_url("sqlite:/x/m.db?mode=ro"),
            "sqlite:/x/m.db?mode=ro"
        );
    }

    #[test]
    fn backends_come_from_the_scheme_and_errors_never_echo_the_url() {
        assert_eq!(Backend::from_url("sqlite:m.db").ok(), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgresql://u:p@h/db").ok(),
            Some(Backend::Postgres)
        );
        let err = Backend::from_url("mysql://user:secret@h/db").expect_err("unsupported");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn status_codes_round_trip_and_unknown_codes_are_refused() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::from_code(s.code()), Some(s));
        }
        assert!(status_of(9, "j").is_err());
    }
}

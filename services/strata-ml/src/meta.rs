//! The service's own metadata: training jobs, their event logs and model aliases.
//!
//! [`MetadataStore`] is deliberately narrow so that a SQL backend (SQLite, PostgreSQL) can stand
//! in for [`FsMetadataStore`], the embedded default. Records are the protobuf messages of the
//! contract, encoded with prost: protobuf's compatibility rules then also keep old state files
//! readable by newer binaries.
//!
//! Layout under the root: `jobs/<id>.pb` (the job, replaced atomically: temp file, fsync,
//! rename, fsync of the directory), `jobs/<id>.events` (length-delimited `TrainingEvent`s,
//! appended; a torn last record from a crash is cut off when the store opens) and
//! `aliases/<model>.pb`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use prost::Message;
use strata_proto::strata::ml::v1::{TrainingEvent, TrainingJob};

/// A metadata read or write failed.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("metadata I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("metadata file {path} is corrupted: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MetaError + '_ {
    move |source| MetaError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Storage of job records, job event logs and model aliases.
pub trait MetadataStore: Send + Sync {
    /// Creates or replaces a job record; readers see the old or the new record, never a mix.
    fn put_job(&self, job: &TrainingJob) -> Result<(), MetaError>;
    /// Every job, in no particular order.
    fn jobs(&self) -> Result<Vec<TrainingJob>, MetaError>;
    /// Appends to a job's event log. `durable` events (state changes) are on disk when this returns.
    fn append_event(
        &self,
        job_id: &str,
        event: &TrainingEvent,
        durable: bool,
    ) -> Result<(), MetaError>;
    /// The job's events with `sequence > after`, oldest first.
    fn events(&self, job_id: &str, after: u64) -> Result<Vec<TrainingEvent>, MetaError>;
    /// alias -> version of one model.
    fn aliases(&self, model: &str) -> Result<BTreeMap<String, String>, MetaError>;
    /// Replaces the aliases of one model.
    fn set_aliases(&self, model: &str, aliases: &BTreeMap<String, String>)
    -> Result<(), MetaError>;
}

/// [`MetadataStore`] in a directory; see the module docs for the layout.
#[derive(Debug)]
pub struct FsMetadataStore {
    jobs: PathBuf,
    aliases: PathBuf,
}

/// Aliases of one model, as stored.
#[derive(Clone, PartialEq, prost::Message)]
struct AliasRecord {
    #[prost(btree_map = "string, string", tag = "1")]
    aliases: BTreeMap<String, String>,
}

impl FsMetadataStore {
    /// Opens (and creates) the store, cutting torn records off the end of event logs.
    pub fn open(root: &Path) -> Result<Self, MetaError> {
        let store = FsMetadataStore {
            jobs: root.join("jobs"),
            aliases: root.join("aliases"),
        };
        for dir in [&store.jobs, &store.aliases] {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        for entry in fs::read_dir(&store.jobs).map_err(io(&store.jobs))? {
            let path = entry.map_err(io(&store.jobs))?.path();
            if path.extension().is_some_and(|e| e == "events") {
                let (_, valid_len) = read_events(&path)?;
                let len = fs::metadata(&path).map_err(io(&path))?.len();
                if valid_len < len {
                    tracing::warn!(path = %path.display(), cut = len - valid_len, "cutting a torn record off an event log");
                    let file = OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(io(&path))?;
                    file.set_len(valid_len).map_err(io(&path))?;
                    file.sync_all().map_err(io(&path))?;
                }
            }
        }
        Ok(store)
    }

    fn job_path(&self, id: &str) -> Result<PathBuf, MetaError> {
        Ok(self.jobs.join(format!("{}.pb", file_stem(id)?)))
    }

    fn events_path(&self, id: &str) -> Result<PathBuf, MetaError> {
        Ok(self.jobs.join(format!("{}.events", file_stem(id)?)))
    }
}

/// Ids and names are validated by the services; this refuses anything that could leave the
/// directory, as a second line of defence.
fn file_stem(name: &str) -> Result<&str, MetaError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(name)
    } else {
        Err(MetaError::Corrupt {
            path: PathBuf::from(name),
            reason: "not a valid record name".into(),
        })
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), MetaError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    tmp.persist(path).map_err(|e| MetaError::Io {
        path: path.to_owned(),
        source: e.error,
    })?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn read_record<M: Message + Default>(path: &Path) -> Result<Option<M>, MetaError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    M::decode(bytes.as_slice())
        .map(Some)
        .map_err(|e| MetaError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Decodes a log, stopping at the first undecodable record; returns the events and the length
/// of the valid prefix.
fn read_events(path: &Path) -> Result<(Vec<TrainingEvent>, u64), MetaError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io(path)(e)),
    };
    let mut rest = bytes.as_slice();
    let mut events = Vec::new();
    while !rest.is_empty() {
        let before = rest;
        match TrainingEvent::decode_length_delimited(&mut rest) {
            Ok(e) => events.push(e),
            Err(_) => {
                rest = before;
                break;
            }
        }
    }
    Ok((events, (bytes.len() - rest.len()) as u64))
}

impl MetadataStore for FsMetadataStore {
    fn put_job(&self, job: &TrainingJob) -> Result<(), MetaError> {
        write_atomic(&self.job_path(&job.id)?, &job.encode_to_vec())
    }

    fn jobs(&self) -> Result<Vec<TrainingJob>, MetaError> {
        let mut jobs = Vec::new();
        for entry in fs::read_dir(&self.jobs).map_err(io(&self.jobs))? {
            let path = entry.map_err(io(&self.jobs))?.path();
            if path.extension().is_some_and(|e| e == "pb")
                && let Some(job) = read_record::<TrainingJob>(&path)?
            {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    fn append_event(
        &self,
        job_id: &str,
        event: &TrainingEvent,
        durable: bool,
    ) -> Result<(), MetaError> {
        let path = self.events_path(job_id)?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        // One write(2) per record, so a crash tears at most the last one.
        file.write_all(&event.encode_length_delimited_to_vec())
            .map_err(io(&path))?;
        if durable {
            file.sync_data().map_err(io(&path))?;
        }
        Ok(())
    }

    fn events(&self, job_id: &str, after: u64) -> Result<Vec<TrainingEvent>, MetaError> {
        let (events, _) = read_events(&self.events_path(job_id)?)?;
        Ok(events.into_iter().filter(|e| e.sequence > after).collect())
    }

    fn aliases(&self, model: &str) -> Result<BTreeMap<String, String>, MetaError> {
        let path = self.aliases.join(format!("{}.pb", file_stem(model)?));
        Ok(read_record::<AliasRecord>(&path)?
            .map(|r| r.aliases)
            .unwrap_or_default())
    }

    fn set_aliases(
        &self,
        model: &str,
        aliases: &BTreeMap<String, String>,
    ) -> Result<(), MetaError> {
        let path = self.aliases.join(format!("{}.pb", file_stem(model)?));
        if aliases.is_empty() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
                _ => Ok(()),
            };
        }
        write_atomic(
            &path,
            &AliasRecord {
                aliases: aliases.clone(),
            }
            .encode_to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_proto::strata::ml::v1::training_event::Event;

    fn event(sequence: u64) -> TrainingEvent {
        TrainingEvent {
            sequence,
            event: Some(Event::CheckpointStep(sequence * 10)),
            ..Default::default()
        }
    }

    #[test]
    fn jobs_events_and_aliases_round_trip_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FsMetadataStore::open(dir.path()).expect("open");
        let job = TrainingJob {
            id: "job-1".into(),
            model_name: "digits".into(),
            ..Default::default()
        };
        store.put_job(&job).expect("put");
        for s in 1..=3 {
            store
                .append_event("job-1", &event(s), s == 3)
                .expect("append");
        }
        store
            .set_aliases(
                "digits",
                &BTreeMap::from([("production".into(), "v2".into())]),
            )
            .expect("alias");

        let store = FsMetadataStore::open(dir.path()).expect("reopen");
        assert_eq!(store.jobs().expect("jobs"), vec![job]);
        let seqs: Vec<u64> = store
            .events("job-1", 1)
            .expect("events")
            .iter()
            .map(|e| e.sequence)
            .collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(
            store.aliases("digits").expect("aliases")["production"],
            "v2"
        );
        assert!(store.aliases("other").expect("none").is_empty());
    }

    #[test]
    fn a_torn_last_event_is_cut_off_and_later_appends_stay_readable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FsMetadataStore::open(dir.path()).expect("open");
        store.append_event("j", &event(1), true).expect("append");
        // A crash in the middle of the second record's write.
        let torn = event(2).encode_length_delimited_to_vec();
        let path = dir.path().join("jobs/j.events");
        let mut file = OpenOptions::new().append(true).open(&path).expect("log");
        file.write_all(&torn[..torn.len() - 3]).expect("torn write");
        drop(file);

        let store = FsMetadataStore::open(dir.path()).expect("reopen repairs");
        store
            .append_event("j", &event(2), true)
            .expect("append after repair");
        let seqs: Vec<u64> = store
            .events("j", 0)
            .expect("events")
            .iter()
            .map(|e| e.sequence)
            .collect();
        assert_eq!(seqs, [1, 2]);
    }

    #[test]
    fn names_that_could_escape_the_directory_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FsMetadataStore::open(dir.path()).expect("open");
        for bad in ["../x", "a/b", ".hidden", ""] {
            assert!(store.aliases(bad).is_err(), "{bad}");
        }
    }
}

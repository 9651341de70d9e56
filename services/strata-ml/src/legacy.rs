//! One-shot import of the metadata layout that versions before the SQL store kept under
//! `<data>/meta/`: `jobs/<id>.pb` (a `TrainingJob`), `jobs/<id>.events` (length-delimited
//! `TrainingEvent`s; a torn last record from a crash is dropped) and `aliases/<model>.pb`.
//!
//! At start-up, if that directory exists, its contents go into the metadata store in one
//! transaction (records that already exist there win) and the directory is renamed
//! `meta.imported`, so it is read once. A job that was running resumes from its checkpoint.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use prost::Message;
use strata_meta::{EventRow, ImportJob, JobRow, JobStatus, SqlMetadataStore};
use strata_proto::strata::ml::v1::{JobState, TrainingEvent, TrainingJob};

/// Aliases of one model as the filesystem store kept them.
#[derive(Clone, PartialEq, prost::Message)]
struct AliasRecord {
    #[prost(btree_map = "string, string", tag = "1")]
    aliases: BTreeMap<String, String>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

fn files_with(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| err(dir, e))?.path();
        if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn status(state: i32) -> JobStatus {
    match JobState::try_from(state) {
        Ok(JobState::Running) => JobStatus::Running,
        Ok(JobState::Succeeded) => JobStatus::Succeeded,
        Ok(JobState::Failed) => JobStatus::Failed,
        Ok(JobState::Cancelled) => JobStatus::Cancelled,
        _ => JobStatus::Queued,
    }
}

type Aliases = BTreeMap<String, BTreeMap<String, String>>;

/// Reads a legacy directory. An undecodable job or alias record is an error: the import must
/// not drop data silently.
fn read(root: &Path) -> Result<(Vec<ImportJob>, Aliases), String> {
    let mut jobs = Vec::new();
    for path in files_with(&root.join("jobs"), "pb")? {
        let bytes = fs::read(&path).map_err(|e| err(&path, e))?;
        let mut job = TrainingJob::decode(bytes.as_slice()).map_err(|e| err(&path, e))?;
        let log = path.with_extension("events");
        let mut events = Vec::new();
        match fs::read(&log) {
            Ok(bytes) => {
                let mut rest = bytes.as_slice();
                while !rest.is_empty() {
                    match TrainingEvent::decode_length_delimited(&mut rest) {
                        Ok(e) => events.push(e),
                        Err(_) => break,
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(&log, e)),
        }
        // The log is newer than the record for progress, which was not rewritten per event.
        if let Some(snapshot) = events.last().and_then(|e| e.job.as_ref()) {
            job.progress = snapshot.progress.clone();
        }
        jobs.push(ImportJob {
            row: JobRow {
                id: job.id.clone(),
                status: status(job.state),
                model_name: job.model_name.clone(),
                record: job.encode_to_vec(),
            },
            events: events
                .iter()
                .map(|e| EventRow {
                    sequence: e.sequence,
                    body: e.encode_to_vec(),
                })
                .collect(),
        });
    }
    let mut aliases = BTreeMap::new();
    for path in files_with(&root.join("aliases"), "pb")? {
        let Some(model) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let bytes = fs::read(&path).map_err(|e| err(&path, e))?;
        let record = AliasRecord::decode(bytes.as_slice()).map_err(|e| err(&path, e))?;
        aliases.insert(model.to_owned(), record.aliases);
    }
    Ok((jobs, aliases))
}

/// Imports `<data_dir>/meta` if it exists (see the module docs).
pub async fn import_if_present(meta: &SqlMetadataStore, data_dir: &Path) -> Result<(), String> {
    let dir = data_dir.join("meta");
    if !dir.is_dir() {
        return Ok(());
    }
    let (jobs, aliases) = read(&dir)?;
    let imported = meta
        .import(&jobs, &aliases)
        .await
        .map_err(|e| format!("importing {}: {e}", dir.display()))?;
    let done = data_dir.join("meta.imported");
    fs::rename(&dir, &done).map_err(|e| err(&dir, e))?;
    tracing::info!(jobs = imported, aliases = aliases.len(), from = %dir.display(), "imported the metadata of an earlier version");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use strata_meta::MetadataStore;

    #[tokio::test]
    async fn legacy_jobs_events_and_aliases_are_imported_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let meta_dir = dir.path().join("meta");
        fs::create_dir_all(meta_dir.join("jobs")).expect("jobs dir");
        fs::create_dir_all(meta_dir.join("aliases")).expect("aliases dir");
        let job = TrainingJob {
            id: "job-1".into(),
            model_name: "digits".into(),
            state: JobState::Running as i32,
            ..Default::default()
        };
        fs::write(meta_dir.join("jobs/job-1.pb"), job.encode_to_vec()).expect("job");
        let mut log = fs::File::create(meta_dir.join("jobs/job-1.events")).expect("log");
        for sequence in 1..=2 {
            let e = TrainingEvent {
                sequence,
                ..Default::default()
            };
            log.write_all(&e.encode_length_delimited_to_vec())
                .expect("event");
        }
        let torn = TrainingEvent {
            sequence: 3,
            job: Some(job.clone()),
            ..Default::default()
        }
        .encode_length_delimited_to_vec();
        log.write_all(&torn[..torn.len() - 2]).expect("torn");
        let aliases = AliasRecord {
            aliases: BTreeMap::from([("production".into(), "v1".into())]),
        };
        fs::write(meta_dir.join("aliases/digits.pb"), aliases.encode_to_vec()).expect("alias");

        let url = format!("sqlite:{}", dir.path().join("meta.db").display());
        let store = strata_meta::connect(&url).await.expect("connect");
        import_if_present(&store, dir.path()).await.expect("import");
        assert!(!meta_dir.exists() && dir.path().join("meta.imported").is_dir());
        // Nothing left to import the second time.
        import_if_present(&store, dir.path()).await.expect("no-op");

        let row = store.job("job-1").await.expect("get").expect("imported");
        assert_eq!(row.status, JobStatus::Running);
        let seqs: Vec<u64> = store
            .events("job-1", 0)
            .await
            .expect("events")
            .iter()
            .map(|e| e.sequence)
            .collect();
        assert_eq!(seqs, [1, 2]);
        assert_eq!(
            store.aliases("digits").await.expect("aliases")["production"],
            "v1"
        );
        // It was running: any replica claims it at once, as a resumed job.
        let claimed = store
            .claim("r1", std::time::Duration::from_secs(5))
            .await
            .expect("claim")
            .expect("claimable");
        assert!(claimed.resumed());
    }

    #[test]
    fn a_corrupt_job_record_is_an_error_not_a_silent_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("jobs")).expect("jobs dir");
        fs::write(dir.path().join("jobs/bad.pb"), [0xff, 0xff, 0xff]).expect("write");
        assert!(read(dir.path()).is_err());
    }
}

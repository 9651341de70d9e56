//! The scale-out backends side by side with the embedded defaults, on this machine:
//! metadata operations per second (strata-meta on SQLite and on PostgreSQL) and artifact write
//! and read throughput (the filesystem store, the object store on a local directory, and the
//! object store on the S3-protocol server s3s-fs). The servers are started on loopback by
//! strata-testkit, as in the tests; without PostgreSQL installed its row is skipped with a note.
//!
//! `cargo run --release -p strata-bench --bin scale-out -- --jobs 300 --artifact-mb 64`

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use comfy_table::Table;
use strata_data::{
    ArtifactClass, ArtifactKey, ArtifactStore, FileSource, FsArtifactStore, ManifestInfo,
    ObjectArtifactStore,
};
use strata_meta::{JobRow, JobStatus, MetadataStore};

#[derive(Parser)]
#[command(about = "Metadata ops/s and artifact MB/s, embedded defaults vs scale-out backends")]
struct Args {
    /// Jobs per metadata run (each: create, claim, 5 progress records, finish, read events).
    #[arg(long, default_value_t = 300)]
    jobs: usize,
    /// Concurrent clients of the metadata store.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Size of the artifact written and read back, in MiB.
    #[arg(long, default_value_t = 64)]
    artifact_mb: usize,
}

/// Runs the job life cycle `jobs` times over `clients` tasks; returns store operations per second.
async fn metadata_ops(
    store: Arc<dyn MetadataStore>,
    jobs: usize,
    clients: usize,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ops = 0u64;
            for i in (c..jobs).step_by(clients) {
                let row = JobRow {
                    id: format!("job-{i:06}"),
                    status: JobStatus::Queued,
                    model_name: "bench".into(),
                    record: vec![0u8; 256],
                };
                store.create_job(&row, &[1u8; 128], u64::MAX).await?;
                // Another client's claim may hold the only queued row for a moment (PostgreSQL's
                // SKIP LOCKED passes over it, SQLite waits on its writer): claim again.
                let mut tries = 0;
                let claimed = loop {
                    ops += 1;
                    if let Some(c) = store
                        .claim(&format!("r{c}"), Duration::from_secs(60))
                        .await?
                    {
                        break c;
                    }
                    tries += 1;
                    anyhow::ensure!(tries < 10_000, "nothing to claim");
                    tokio::task::yield_now().await;
                };
                for _ in 0..5 {
                    store
                        .record(
                            &claimed.lease,
                            JobStatus::Running,
                            &[2u8; 256],
                            &[vec![3u8; 128]],
                        )
                        .await?;
                }
                store
                    .record(
                        &claimed.lease,
                        JobStatus::Succeeded,
                        &[4u8; 256],
                        &[vec![5u8; 128]],
                    )
                    .await?;
                store.events(&claimed.lease.job_id, 0).await?;
                ops += 8;
            }
            Ok::<u64, anyhow::Error>(ops)
        }));
    }
    let mut ops = 0;
    for t in tasks {
        ops += t.await??;
    }
    Ok(ops as f64 / start.elapsed().as_secs_f64())
}

/// Writes one artifact of `mb` MiB from a file and reads it back (hash-verified); MB/s each way.
fn artifact_mbps(
    store: &dyn ArtifactStore,
    file: &std::path::Path,
    mb: usize,
) -> anyhow::Result<(f64, f64)> {
    let key = ArtifactKey::new(ArtifactClass::Model, "bench", "v1");
    let start = Instant::now();
    store.put(
        &key,
        vec![("weights.bin".into(), FileSource::Path(file.to_owned()))],
        ManifestInfo::default(),
    )?;
    let write = mb as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let a = store.get(&key)?;
    anyhow::ensure!(a.file("weights.bin")?.len() == mb << 20);
    let read = mb as f64 / start.elapsed().as_secs_f64();
    Ok((write, read))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;

    let mut meta = Table::new();
    meta.set_header(["metadata backend", "jobs", "clients", "ops/s"]);
    let sqlite_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let pg = strata_testkit::Postgres::start();
    let mut backends = vec![("SQLite (WAL, synchronous=FULL)", sqlite_url)];
    if let Some(pg) = &pg {
        backends.push(("PostgreSQL (loopback)", pg.database()));
    }
    for (name, url) in backends {
        let ops = rt.block_on(async {
            let store = strata_meta::connect(&url).await.context("connect")?;
            metadata_ops(Arc::new(store), args.jobs, args.clients).await
        })?;
        meta.add_row([
            name.to_owned(),
            args.jobs.to_string(),
            args.clients.to_string(),
            format!("{ops:.0}"),
        ]);
    }
    println!("{meta}");

    let file = dir.path().join("artifact.bin");
    let bytes: Vec<u8> = (0..(args.artifact_mb << 20) as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&file, &bytes)?;
    drop(bytes);
    let mut art = Table::new();
    art.set_header([
        "artifact store",
        "MiB",
        "write MiB/s",
        "read MiB/s (sha256 verified)",
    ]);
    let fs_root = dir.path().join("fs");
    let local_root = dir.path().join("objects");
    std::fs::create_dir_all(&local_root)?;
    let mut stores: Vec<(&str, Box<dyn ArtifactStore>)> = vec![
        ("filesystem", Box::new(FsArtifactStore::open(&fs_root)?)),
        (
            "object store, local dir",
            Box::new(ObjectArtifactStore::open(&format!(
                "file://{}",
                local_root.display()
            ))?),
        ),
    ];
    let s3 = strata_testkit::S3Server::start();
    stores.push((
        "object store, S3 (s3s-fs, loopback)",
        Box::new(ObjectArtifactStore::open_with(
            &s3.url("bench"),
            s3.options(),
        )?),
    ));
    for (name, store) in &stores {
        let (w, r) = artifact_mbps(&**store, &file, args.artifact_mb)?;
        art.add_row([
            name.to_string(),
            args.artifact_mb.to_string(),
            format!("{w:.0}"),
            format!("{r:.0}"),
        ]);
    }
    println!("{art}");
    Ok(())
}

//! Fault injection against stored state: every artifact kind the service writes (a dataset, a
//! checkpoint, models of three kinds) is damaged on disk file by file, one flipped bit and one
//! truncation at a time, and each damage is refused with a clear error, never served; and the
//! real binary on a full file system (a small tmpfs in a private mount namespace) answers uploads
//! and checkpoints that do not fit with a clear error and keeps what it had; and the real binary,
//! SIGKILLed at 21 points spread over uploads, training, checkpoint writes and alias moves and
//! started again each time, shows only whole artifacts and resumes every interrupted job.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FsArtifactStore, StoreError};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::training_event::Event;
use tonic::Code;

/// Every file of every stored artifact under `root`, with the artifact it belongs to.
fn artifact_files(root: &Path) -> Vec<(ArtifactKey, PathBuf)> {
    let mut out = Vec::new();
    for (class, dir) in [
        (ArtifactClass::Dataset, "datasets"),
        (ArtifactClass::Model, "models"),
        (ArtifactClass::Checkpoint, "checkpoints"),
    ] {
        for name in std::fs::read_dir(root.join(dir)).into_iter().flatten() {
            let name = name.expect("entry").path();
            for version in std::fs::read_dir(&name).expect("versions") {
                let version = version.expect("entry").path();
                let key = ArtifactKey::new(
                    class,
                    name.file_name().expect("name").to_string_lossy(),
                    version.file_name().expect("version").to_string_lossy(),
                );
                for file in std::fs::read_dir(&version).expect("files") {
                    out.push((key.clone(), file.expect("entry").path()));
                }
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

async fn watch_until_checkpoint(c: &mut Clients, id: &str) {
    let mut watch = watch_job(c, id).await;
    loop {
        let e = watch
            .message()
            .await
            .expect("stream")
            .expect("job still running");
        if let Some(Event::CheckpointStep(_)) = e.event {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_bit_or_a_truncation_in_any_stored_file_is_refused_never_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let mut c = server.clients().await;
    let ds = upload_digits(&mut c).await;
    let job = create_job(&mut c, mlp_job("digits", &ds.id, 2)).await;
    let events = watch_to_end(&mut c, &job.id, 0).await;
    assert_eq!(
        events.last().and_then(final_state),
        Some(pb::JobState::Succeeded)
    );
    // A job stopped with the service keeps its checkpoint for the restart.
    let long = checkpointing(mlp_job("long", &ds.id, 500), 10);
    let long = create_job(&mut c, long).await;
    watch_until_checkpoint(&mut c, &long.id).await;
    let minilm = minilm_dir().expect("all-MiniLM-L6-v2 (tools/setup fetches it)");
    for (name, kind, path) in [
        ("minilm", "text-encoder", minilm),
        ("smollm2", "text-generator", assets_dir().join("smollm2")),
    ] {
        c.models
            .import_model(pb::ImportModelRequest {
                name: name.into(),
                kind: kind.into(),
                path: path.to_str().expect("utf-8 path").into(),
            })
            .await
            .unwrap_or_else(|e| panic!("import {name}: {e:?}"));
    }
    server.stop().await;

    let root = dir.path().join("artifacts");
    let files = artifact_files(&root);
    let classes: std::collections::BTreeSet<_> = files.iter().map(|(k, _)| k.class).collect();
    assert_eq!(
        classes.len(),
        3,
        "a dataset, models and a checkpoint: {files:?}"
    );
    let store = FsArtifactStore::open(&root).expect("store");
    let mut refused = 0;
    for (key, path) in &files {
        let good = std::fs::read(path).expect("read");
        assert!(!good.is_empty(), "{}", path.display());
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0x10;
        let damages = [
            ("a flipped bit", flipped),
            ("a truncation", good[..good.len() / 2].to_vec()),
        ];
        for (damage, bytes) in damages {
            std::fs::write(path, &bytes).expect("damage");
            match store.get(key) {
                Err(
                    e @ (StoreError::CorruptFile { .. }
                    | StoreError::CorruptManifest { .. }
                    | StoreError::MissingFile { .. }),
                ) => {
                    assert!(e.to_string().contains(&key.to_string()), "{e} names {key}");
                    refused += 1;
                }
                other => panic!(
                    "{damage} in {} was not refused: {:?}",
                    path.display(),
                    other.map(|a| a.manifest.key)
                ),
            }
            std::fs::write(path, &good).expect("restore");
        }
        store.get(key).expect("restored artifact verifies");
    }
    assert_eq!(refused, 2 * files.len());
    eprintln!(
        "{} files in {} artifacts, {refused} damages refused",
        files.len(),
        {
            let keys: std::collections::BTreeSet<_> = files.iter().map(|(k, _)| k).collect();
            keys.len()
        }
    );

    // Through the service: a damaged model is DATA_LOSS for whoever asks for it, the others
    // still answer, and nothing of the damage reaches the caller but a stable message.
    let weights = files
        .iter()
        .find(|(k, p)| {
            k.name == "digits"
                && k.class == ArtifactClass::Model
                && p.extension().is_some_and(|e| e == "safetensors")
        })
        .map(|(_, p)| p.clone())
        .expect("the digits model's weights");
    let good = std::fs::read(&weights).expect("read");
    let mut bad = good.clone();
    bad[good.len() / 3] ^= 1;
    std::fs::write(&weights, &bad).expect("damage");
    let server = start(dir.path(), &[]).await;
    let mut c = server.clients().await;
    let (rows, _) = digits_rows();
    let predict = |model: &str| pb::PredictRequest {
        model: model.into(),
        features: vec![pb::FeatureVector {
            values: rows[0].clone(),
        }],
        texts: vec![],
    };
    let status = c
        .inference
        .predict(predict("digits@v1"))
        .await
        .expect_err("damaged model");
    assert_eq!(status.code(), Code::DataLoss, "{status:?}");
    assert!(
        !status
            .message()
            .contains(dir.path().to_str().expect("utf-8")),
        "{status:?}"
    );
    let embedded = c
        .inference
        .embed(pb::EmbedRequest {
            model: "minilm".into(),
            texts: vec!["still served".into()],
        })
        .await
        .expect("an undamaged model still answers");
    assert_eq!(embedded.into_inner().embeddings.len(), 1);
    std::fs::write(&weights, &good).expect("restore");
    server.stop().await;
}

/// The real binary with its data directory on a tmpfs of `size` in a mount namespace of its own
/// (an unprivileged user namespace maps us to root there, which may mount a tmpfs).
fn spawn_on_tmpfs(data_dir: &Path, size: &str, port: u16) -> Process {
    let script = r#"mount -t tmpfs -o size="$1" strata-full "$2" && shift 2 && exec "$@""#;
    let child = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            size,
        ])
        .arg(data_dir)
        .arg(env!("CARGO_BIN_EXE_strata-ml"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("unshare (util-linux) starts strata-ml in its own mount namespace");
    Process(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_clear_error_for_uploads_and_checkpoints_and_keeps_what_was_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let _server = spawn_on_tmpfs(dir.path(), "6m", port);
    let mut c = Clients::connect(format!("127.0.0.1:{port}").parse().expect("addr")).await;
    let ds = upload_digits(&mut c).await;

    // An upload bigger than the space left: a clear RESOURCE_EXHAUSTED, and no trace of it.
    let schema = pb::DatasetSchema {
        label_column: "label".into(),
        ..Default::default()
    };
    let big = vec![0u8; 8 << 20];
    let status = upload(&mut c, "too-big", schema.clone(), big)
        .await
        .expect_err("does not fit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("storage is full"), "{status:?}");
    assert_eq!(
        status
            .metadata()
            .get(strata_runtime::REASON_METADATA)
            .map(|v| v.to_str().unwrap_or("")),
        Some(strata_runtime::REASON_STORAGE_FULL),
        "the web API tells a full disk (507) from a too-large upload (413) by this"
    );
    let listed = c
        .datasets
        .list_datasets(pb::ListDatasetsRequest::default())
        .await
        .expect("listing still works")
        .into_inner();
    assert_eq!(
        listed
            .datasets
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        ["digits"]
    );

    // A checkpoint that does not fit (a wide model's weights and optimizer state): the job fails
    // with the same clear message, and the service goes on.
    let mut wide = mlp_job("wide", &ds.id, 3);
    wide.parameters =
        strata_runtime::structs::to_struct(&serde_json::json!({ "hidden": [2048, 512] }));
    let wide = checkpointing(wide, 5);
    let wide = create_job(&mut c, wide).await;
    let events = watch_to_end(&mut c, &wide.id, 0).await;
    assert_eq!(
        events.last().and_then(final_state),
        Some(pb::JobState::Failed),
        "{:?}",
        events.last()
    );
    let failed = c
        .training
        .get_training_job(pb::GetTrainingJobRequest {
            id: wide.id.clone(),
        })
        .await
        .expect("job")
        .into_inner();
    assert!(failed.error.contains("storage is full"), "{failed:?}");

    // What was stored before is intact, and the freed space takes a small model.
    let again = c
        .datasets
        .get_dataset(pb::GetDatasetRequest { id: ds.id.clone() })
        .await
        .expect("dataset verifies")
        .into_inner();
    assert_eq!(again.sha256, ds.sha256);
    let small = create_job(&mut c, mlp_job("small", &ds.id, 1)).await;
    let events = watch_to_end(&mut c, &small.id, 0).await;
    assert_eq!(
        events.last().and_then(final_state),
        Some(pb::JobState::Succeeded),
        "{:?}",
        events.last()
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Where a SIGKILL lands. Delays are after the named moment; the service is killed while the
/// operation is in flight (an upload stream held open, a job between steps or writing a
/// checkpoint, an alias move whose answer has not come back).
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// After the metadata and `chunks` chunks, the stream still open.
    UploadOpen { chunks: usize },
    /// `ms` after the last chunk and the end of the stream (while validating and committing).
    UploadClosed { ms: u64 },
    /// After the job's `n`-th progress event.
    TrainingProgress { n: usize },
    /// `ms` after a checkpoint event (the next checkpoint write, or the one just announced).
    AfterCheckpoint { ms: u64 },
    /// `ms` after a short job was created (claiming, training, committing the model).
    AfterCreate { ms: u64 },
    /// `ms` after an alias move was sent.
    AliasMove { ms: u64 },
}

const KILL_POINTS: &[KillPoint] = &[
    KillPoint::UploadOpen { chunks: 0 },
    KillPoint::UploadOpen { chunks: 1 },
    KillPoint::UploadOpen { chunks: 2 },
    KillPoint::UploadClosed { ms: 0 },
    KillPoint::UploadClosed { ms: 3 },
    KillPoint::UploadClosed { ms: 10 },
    KillPoint::UploadClosed { ms: 40 },
    KillPoint::TrainingProgress { n: 1 },
    KillPoint::TrainingProgress { n: 4 },
    KillPoint::AfterCheckpoint { ms: 0 },
    KillPoint::AfterCheckpoint { ms: 2 },
    KillPoint::AfterCheckpoint { ms: 8 },
    KillPoint::AfterCreate { ms: 0 },
    KillPoint::AfterCreate { ms: 50 },
    KillPoint::AfterCreate { ms: 200 },
    KillPoint::AfterCreate { ms: 600 },
    KillPoint::AliasMove { ms: 0 },
    KillPoint::AliasMove { ms: 1 },
    KillPoint::AliasMove { ms: 3 },
    KillPoint::AliasMove { ms: 10 },
    KillPoint::AliasMove { ms: 30 },
];

fn kill(server: &mut Process) {
    server.0.kill().expect("SIGKILL");
    server.0.wait().expect("reaped");
}

/// Every dataset (the test stays below one page).
async fn all_datasets(c: &mut Clients) -> Vec<pb::Dataset> {
    let req = pb::ListDatasetsRequest {
        page_size: 500,
        ..Default::default()
    };
    c.datasets
        .list_datasets(req)
        .await
        .expect("list datasets")
        .into_inner()
        .datasets
}

/// Every training job (the test stays below one page).
async fn all_jobs(c: &mut Clients) -> Vec<pb::TrainingJob> {
    let req = pb::ListTrainingJobsRequest {
        page_size: 500,
        ..Default::default()
    };
    c.training
        .list_training_jobs(req)
        .await
        .expect("list jobs")
        .into_inner()
        .jobs
}

/// What the service shows after a restart is whole: every listed dataset and model version
/// reads back verified (models answer a prediction), every alias names a listed version, every
/// job ends (resumed to success, or failed with the stable message), and the store itself, read
/// directly, holds only artifacts that verify. Returns the jobs that ended after the restart.
async fn check_whole(c: &mut Clients, store_root: &Path) -> usize {
    let datasets = all_datasets(c).await;
    for d in &datasets {
        let got = c
            .datasets
            .get_dataset(pb::GetDatasetRequest { id: d.id.clone() })
            .await
            .unwrap_or_else(|e| panic!("listed dataset {} does not read back: {e:?}", d.id));
        assert_eq!(got.into_inner().sha256, d.sha256);
    }
    let mut ended = 0;
    let jobs = all_jobs(c).await;
    for job in &jobs {
        let events = watch_to_end(c, &job.id, 0).await;
        let state = events.last().and_then(final_state);
        let job = c
            .training
            .get_training_job(pb::GetTrainingJobRequest { id: job.id.clone() })
            .await
            .expect("job")
            .into_inner();
        match state {
            Some(pb::JobState::Succeeded | pb::JobState::Cancelled) => {}
            Some(pb::JobState::Failed) => assert!(!job.error.is_empty(), "{job:?}"),
            other => panic!("job {} ended as {other:?}", job.id),
        }
        ended += 1;
    }
    let (rows, _) = digits_rows();
    let models = c
        .models
        .list_models(pb::ListModelsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list models")
        .into_inner()
        .models;
    for m in &models {
        let versions: Vec<&str> = m.versions.iter().map(|v| v.version.as_str()).collect();
        for (alias, version) in &m.aliases {
            assert!(
                versions.contains(&version.as_str()),
                "{}@{alias} -> {version}, not in {versions:?}",
                m.name
            );
        }
        for v in &versions {
            let out = c
                .inference
                .predict(pb::PredictRequest {
                    model: format!("{}@{v}", m.name),
                    features: vec![pb::FeatureVector {
                        values: rows[0].clone(),
                    }],
                    texts: vec![],
                })
                .await
                .unwrap_or_else(|e| panic!("{}@{v} does not load: {e:?}", m.name));
            assert_eq!(out.into_inner().predictions.len(), 1);
        }
    }
    let store = FsArtifactStore::open(store_root).expect("store opens beside the live service");
    for class in [
        ArtifactClass::Dataset,
        ArtifactClass::Model,
        ArtifactClass::Checkpoint,
    ] {
        for name in store.names(class).expect("names") {
            for version in store.versions(class, &name).expect("versions") {
                let key = ArtifactKey::new(class, &name, &version);
                match store.get(&key) {
                    Ok(_) => {}
                    // A checkpoint may be removed between listing and reading (its job finished).
                    Err(StoreError::NotFound(_)) if class == ArtifactClass::Checkpoint => {}
                    Err(e) => panic!("{key} does not verify: {e}"),
                }
            }
        }
    }
    ended
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_21_points_leaves_every_job_resumed_or_failed_and_every_artifact_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store_root = dir.path().join("artifacts");
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut server = spawn_binary(dir.path(), port);
    let mut c = Clients::connect(addr).await;
    let ds = upload_digits(&mut c).await;
    for _ in 0..2 {
        let job = create_job(&mut c, mlp_job("aliased", &ds.id, 1)).await;
        let events = watch_to_end(&mut c, &job.id, 0).await;
        assert_eq!(
            events.last().and_then(final_state),
            Some(pb::JobState::Succeeded)
        );
    }
    let digits = std::fs::read(digits_path()).expect("digits sample");
    let schema = pb::DatasetSchema {
        label_column: "label".into(),
        ..Default::default()
    };
    let mut survived = 0;
    let mut jobs_ended = 0;
    let mut confirmed_datasets: Vec<String> = Vec::new();
    let mut alias_move: Option<(&str, bool)> = None;
    let mut production: Option<String> = None;
    let mut confirmed_moves = 0;
    for (i, point) in KILL_POINTS.iter().enumerate() {
        match *point {
            KillPoint::UploadOpen { chunks } => {
                let (tx, rx) = tokio::sync::mpsc::channel(8);
                let mut uploads = c.datasets.clone();
                let call = tokio::spawn(async move {
                    uploads
                        .upload_dataset(tokio_stream::wrappers::ReceiverStream::new(rx))
                        .await
                });
                let metadata = pb::DatasetUploadMetadata {
                    name: format!("upload-{i}"),
                    schema: Some(schema.clone()),
                    description: String::new(),
                };
                let part = pb::upload_dataset_request::Part::Metadata(metadata);
                tx.send(pb::UploadDatasetRequest { part: Some(part) })
                    .await
                    .expect("send");
                for chunk in digits.chunks(64 * 1024).take(chunks) {
                    let part = pb::upload_dataset_request::Part::Chunk(chunk.to_vec());
                    tx.send(pb::UploadDatasetRequest { part: Some(part) })
                        .await
                        .expect("send");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                kill(&mut server);
                assert!(
                    call.await.expect("task").is_err(),
                    "{point:?}: the upload cannot have finished"
                );
            }
            KillPoint::UploadClosed { ms } => {
                let mut uploads = c.clone();
                let name = format!("upload-{i}");
                let (bytes, schema) = (digits.clone(), schema.clone());
                let call =
                    tokio::spawn(async move { upload(&mut uploads, &name, schema, bytes).await });
                tokio::time::sleep(Duration::from_millis(ms)).await;
                kill(&mut server);
                // Answered before the kill: the dataset must be there after the restart.
                if let Ok(Ok(dataset)) = call.await {
                    confirmed_datasets.push(dataset.id);
                }
            }
            KillPoint::TrainingProgress { n } => {
                let job = create_job(&mut c, mlp_job(&format!("p{i}"), &ds.id, 40)).await;
                let mut watch = watch_job(&mut c, &job.id).await;
                let mut seen = 0;
                while seen < n {
                    let e = watch.message().await.expect("stream").expect("running");
                    if let Some(Event::Progress(_)) = e.event {
                        seen += 1;
                    }
                }
                kill(&mut server);
            }
            KillPoint::AfterCheckpoint { ms } => {
                let req = checkpointing(mlp_job(&format!("c{i}"), &ds.id, 40), 10);
                let job = create_job(&mut c, req).await;
                watch_until_checkpoint(&mut c, &job.id).await;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                kill(&mut server);
            }
            KillPoint::AfterCreate { ms } => {
                c.training
                    .create_training_job(mlp_job(&format!("s{i}"), &ds.id, 2))
                    .await
                    .expect("create");
                tokio::time::sleep(Duration::from_millis(ms)).await;
                kill(&mut server);
            }
            KillPoint::AliasMove { ms } => {
                let mut models = c.models.clone();
                let version = if i % 2 == 0 { "v1" } else { "v2" };
                let req = pb::SetAliasRequest {
                    name: "aliased".into(),
                    alias: "production".into(),
                    version: version.into(),
                };
                let call = tokio::spawn(async move { models.set_alias(req).await });
                tokio::time::sleep(Duration::from_millis(ms)).await;
                kill(&mut server);
                // Answered before the kill: the move holds after the restart. Unanswered: the
                // alias is where it was or where it was sent, nothing else.
                let answered = matches!(call.await, Ok(Ok(_)));
                alias_move = Some((version, answered));
            }
        }
        server = spawn_binary(dir.path(), port);
        c = Clients::connect(addr).await;
        jobs_ended = check_whole(&mut c, &store_root).await;
        for id in &confirmed_datasets {
            c.datasets
                .get_dataset(pb::GetDatasetRequest { id: id.clone() })
                .await
                .unwrap_or_else(|e| panic!("{point:?}: confirmed dataset {id} is gone: {e:?}"));
        }
        let aliased = c
            .models
            .get_model(pb::GetModelRequest {
                name: "aliased".into(),
            })
            .await
            .expect("model")
            .into_inner();
        let now = aliased.aliases.get("production").cloned();
        if let Some((sent, answered)) = alias_move.take() {
            if answered {
                assert_eq!(
                    now.as_deref(),
                    Some(sent),
                    "{point:?}: a confirmed alias move was lost"
                );
            } else {
                assert!(
                    now.as_deref() == Some(sent) || now == production,
                    "{point:?}: production is {now:?}, neither {production:?} nor {sent}"
                );
            }
            confirmed_moves += usize::from(answered);
        }
        production = now;
        survived += 1;
    }
    let datasets = all_datasets(&mut c).await.len();
    let jobs = all_jobs(&mut c).await;
    let succeeded = jobs
        .iter()
        .filter(|j| j.state == pb::JobState::Succeeded as i32)
        .count();
    eprintln!(
        "{survived} kill points survived; {datasets} datasets ({} confirmed before a kill) and {jobs_ended} jobs, all {succeeded} resumed to success; {confirmed_moves} alias moves confirmed before a kill held; every artifact verified after each restart",
        confirmed_datasets.len()
    );
    // Every job a kill interrupted resumes from its checkpoint or from the start.
    assert_eq!(succeeded, jobs_ended, "{jobs:?}");
    assert_eq!(survived, KILL_POINTS.len());
    assert!(KILL_POINTS.len() >= 20);
    drop(server);
}

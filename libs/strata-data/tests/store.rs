//! The filesystem artifact store on a real temporary directory.

use std::fs;

use serde_json::json;
use strata_data::{
    ArtifactClass, ArtifactKey, ArtifactStore, FileSource, FsArtifactStore, ManifestInfo,
    StoreError,
};

fn info() -> ManifestInfo {
    ManifestInfo {
        kind: "mlp-classifier".into(),
        schema: json!({"input": "features"}),
        hyperparameters: json!({"lr": 0.01}),
        metrics: json!({"accuracy": 0.97}),
        dataset_sha256: Some("ab".repeat(32)),
        extra: json!(null),
    }
}

fn put_model(store: &FsArtifactStore, version: &str) -> ArtifactKey {
    let key = ArtifactKey::new(ArtifactClass::Model, "digits", version);
    let files = vec![
        (
            "weights.safetensors".to_string(),
            FileSource::Bytes(vec![1, 2, 3, 4]),
        ),
        ("config.json".to_string(), FileSource::Bytes(b"{}".to_vec())),
    ];
    store.put(&key, files, info()).unwrap();
    key
}

#[test]
fn round_trip_lists_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    for v in ["v1", "v2", "v10"] {
        put_model(&store, v);
    }
    assert_eq!(
        store.versions(ArtifactClass::Model, "digits").unwrap(),
        ["v1", "v2", "v10"]
    );
    assert_eq!(store.names(ArtifactClass::Model).unwrap(), ["digits"]);
    assert!(store.names(ArtifactClass::Checkpoint).unwrap().is_empty());

    let key = ArtifactKey::new(ArtifactClass::Model, "digits", "v2");
    let a = store.get(&key).unwrap();
    assert_eq!(a.file("weights.safetensors").unwrap(), [1, 2, 3, 4]);
    assert_eq!(a.manifest.info, info());
    assert_eq!(a.manifest.files["weights.safetensors"].bytes, 4);
    assert!(matches!(a.file("nope"), Err(StoreError::NoSuchFile { .. })));
    // Nothing is left behind in staging after successful writes.
    assert_eq!(
        fs::read_dir(dir.path().join(".staging")).unwrap().count(),
        0
    );
}

#[test]
fn existing_keys_and_bad_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let key = put_model(&store, "v1");
    let again = store.put(&key, vec![], info()).unwrap_err();
    assert!(matches!(again, StoreError::AlreadyExists(_)), "{again}");
    let bad = ArtifactKey::new(ArtifactClass::Model, "../escape", "v1");
    assert!(matches!(
        store.put(&bad, vec![], info()),
        Err(StoreError::InvalidName { .. })
    ));
    let bad_file = vec![("../x".to_string(), FileSource::Bytes(vec![]))];
    let key2 = ArtifactKey::new(ArtifactClass::Model, "digits", "v2");
    assert!(matches!(
        store.put(&key2, bad_file, info()),
        Err(StoreError::InvalidName { .. })
    ));
    // The failed write left neither the artifact nor staging debris.
    assert!(matches!(store.get(&key2), Err(StoreError::NotFound(_))));
    assert_eq!(
        fs::read_dir(dir.path().join(".staging")).unwrap().count(),
        0
    );
}

#[test]
fn corrupted_weights_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let key = put_model(&store, "v1");
    let weights = dir.path().join("models/digits/v1/weights.safetensors");
    fs::write(&weights, [1, 2, 3, 5]).unwrap();
    let err = store.get(&key).unwrap_err();
    assert!(
        matches!(&err, StoreError::CorruptFile { file, .. } if file == "weights.safetensors"),
        "{err}"
    );
    assert!(err.to_string().contains("corrupted"), "{err}");
    // A streamed export of it fails too, and leaves nothing where it was going.
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("weights");
    assert!(matches!(
        store.export_file(&key, "weights.safetensors", &dest),
        Err(StoreError::CorruptFile { .. })
    ));
    assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
    fs::remove_file(&weights).unwrap();
    assert!(matches!(
        store.get(&key),
        Err(StoreError::MissingFile { .. })
    ));
    assert!(matches!(
        store.export_file(&key, "weights.safetensors", &dest),
        Err(StoreError::MissingFile { .. })
    ));
}

#[test]
fn corrupted_manifests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let key = put_model(&store, "v1");
    let manifest = dir.path().join("models/digits/v1/manifest.json");
    let text = fs::read_to_string(&manifest).unwrap();

    // Still valid JSON, but edited: the manifest's own checksum catches it.
    fs::write(&manifest, text.replace("0.97", "0.99")).unwrap();
    let err = store.get(&key).unwrap_err();
    assert!(matches!(err, StoreError::CorruptManifest { .. }), "{err}");
    assert!(matches!(
        store.manifest(&key),
        Err(StoreError::CorruptManifest { .. })
    ));

    // Truncated.
    fs::write(&manifest, &text[..text.len() / 2]).unwrap();
    assert!(matches!(
        store.get(&key),
        Err(StoreError::CorruptManifest { .. })
    ));

    // Checksum file gone.
    fs::write(&manifest, &text).unwrap();
    store.get(&key).unwrap();
    fs::remove_file(dir.path().join("models/digits/v1/manifest.sha256")).unwrap();
    assert!(matches!(
        store.get(&key),
        Err(StoreError::CorruptManifest { .. })
    ));
}

#[test]
fn delete_removes_whole_artifact_and_reopen_clears_staging() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let key = put_model(&store, "v1");
    store.delete(&key).unwrap();
    assert!(matches!(store.get(&key), Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete(&key), Err(StoreError::NotFound(_))));
    // With its last version gone, the name is gone from listings too.
    assert!(store.names(ArtifactClass::Model).unwrap().is_empty());

    // A crash mid-write leaves a staging dir; the next open removes it and the key stays free.
    // Debris is a stage whose lock nobody holds, or a directory with no lock file at all (a
    // version that named stages by PID left those).
    let staging = dir.path().join(".staging");
    let debris = staging.join("18f2-4000000000-0");
    fs::create_dir_all(&debris).unwrap();
    fs::write(debris.join("weights.safetensors"), b"partial").unwrap();
    fs::write(staging.join("18f2-4000000000-0.lock"), b"").unwrap();
    let lockless = staging.join("4000000001-7");
    fs::create_dir_all(&lockless).unwrap();
    // A writer whose PID means nothing here (another node's, or one long gone on this one) but
    // which holds its lock: it is alive, and its stage stays.
    let live = staging.join("18f3-4000000002-0");
    fs::create_dir_all(&live).unwrap();
    let held = fs::File::create(staging.join("18f3-4000000002-0.lock")).unwrap();
    held.lock().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    assert!(!debris.exists() && !staging.join("18f2-4000000000-0.lock").exists());
    assert!(!lockless.exists());
    assert!(
        live.exists(),
        "a live writer's staging dir must survive another open"
    );
    put_model(&store, "v1");
    drop(held);
    FsArtifactStore::open(dir.path()).unwrap();
    assert_eq!(staging_entries(dir.path()), Vec::<String>::new());
}

fn staging_entries(root: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join(".staging"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `test` of this test binary again in a new process, as the other writer: there,
/// [`child_writer`] sees the variables and does `job` under `root` instead of the test.
fn spawn_writer(test: &str, root: &std::path::Path, job: &str) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env("STRATA_STAGE_CHILD_ROOT", root)
        .env("STRATA_STAGE_CHILD_JOB", job)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// In the process [`spawn_writer`] started, does its job and returns true (the test then ends
/// there). `fifo:PATH` puts `models/race/fifo` with one file read from the FIFO at PATH (so the
/// write waits inside its stage until the parent feeds it); `many:N` puts `models/race/v1` …
/// `vN` as fast as it can.
fn child_writer() -> bool {
    let (Ok(root), Ok(job)) = (
        std::env::var("STRATA_STAGE_CHILD_ROOT"),
        std::env::var("STRATA_STAGE_CHILD_JOB"),
    ) else {
        return false;
    };
    let store = FsArtifactStore::open(&root).unwrap();
    if let Some(fifo) = job.strip_prefix("fifo:") {
        let key = ArtifactKey::new(ArtifactClass::Model, "race", "fifo");
        let files = vec![("weights.bin".into(), FileSource::Path(fifo.into()))];
        store.put(&key, files, info()).unwrap();
    } else if let Some(n) = job.strip_prefix("many:") {
        for v in 1..=n.parse::<u32>().unwrap() {
            let key = ArtifactKey::new(ArtifactClass::Model, "race", format!("v{v}"));
            let files = vec![("weights.bin".into(), FileSource::Bytes(vec![v as u8; 4096]))];
            store.put(&key, files, info()).unwrap();
        }
    }
    true
}

fn wait_for_stage(root: &std::path::Path) -> std::path::PathBuf {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let dirs: Vec<_> = fs::read_dir(root.join(".staging"))
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        if let [one] = dirs.as_slice() {
            return one.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no stage appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn another_process_never_removes_a_live_writers_stage_and_removes_a_killed_ones() {
    if child_writer() {
        return;
    }
    const TEST: &str =
        "another_process_never_removes_a_live_writers_stage_and_removes_a_killed_ones";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let fifo = dir.path().join("weights.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let key = ArtifactKey::new(ArtifactClass::Model, "race", "fifo");

    // A writer in another process waits inside its stage; opening the store from here (as a
    // replica on another node would) leaves it alone, and the write then completes whole.
    let mut writer = spawn_writer(TEST, &root, &format!("fifo:{}", fifo.display()));
    let stage = wait_for_stage(&root);
    for _ in 0..3 {
        FsArtifactStore::open(&root).unwrap();
        assert!(stage.is_dir(), "a live writer's stage was removed");
    }
    fs::write(&fifo, vec![7u8; 100_000]).unwrap();
    assert!(writer.wait().unwrap().success());
    let store = FsArtifactStore::open(&root).unwrap();
    assert_eq!(
        store.get(&key).unwrap().file("weights.bin").unwrap(),
        vec![7u8; 100_000].as_slice()
    );
    store.delete(&key).unwrap();
    assert_eq!(staging_entries(&root), Vec::<String>::new());

    // Killed inside its stage: the lock goes with the process, and the next open clears it.
    let mut writer = spawn_writer(TEST, &root, &format!("fifo:{}", fifo.display()));
    let stage = wait_for_stage(&root);
    writer.kill().unwrap();
    writer.wait().unwrap();
    assert!(stage.is_dir());
    let store = FsArtifactStore::open(&root).unwrap();
    assert!(!stage.exists());
    assert_eq!(staging_entries(&root), Vec::<String>::new());
    assert!(matches!(store.get(&key), Err(StoreError::NotFound(_))));
}

#[test]
fn opening_the_store_while_another_process_writes_loses_nothing() {
    if child_writer() {
        return;
    }
    const TEST: &str = "opening_the_store_while_another_process_writes_loses_nothing";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    FsArtifactStore::open(&root).unwrap();
    const N: u32 = 150;
    let mut writer = spawn_writer(TEST, &root, &format!("many:{N}"));
    let mut opens = 0;
    while writer.try_wait().unwrap().is_none() {
        FsArtifactStore::open(&root).unwrap();
        opens += 1;
    }
    assert!(
        writer.wait().unwrap().success(),
        "the writer failed after {opens} opens beside it"
    );
    let store = FsArtifactStore::open(&root).unwrap();
    assert_eq!(
        store.versions(ArtifactClass::Model, "race").unwrap().len(),
        N as usize
    );
    for v in 1..=N {
        let key = ArtifactKey::new(ArtifactClass::Model, "race", format!("v{v}"));
        assert_eq!(
            store.get(&key).unwrap().file("weights.bin").unwrap(),
            vec![v as u8; 4096]
        );
    }
    assert_eq!(staging_entries(&root), Vec::<String>::new());
    assert!(opens > 0);
}

#[test]
fn files_can_be_copied_from_paths() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    fs::write(&src, b"hello").unwrap();
    let store = FsArtifactStore::open(dir.path().join("store")).unwrap();
    let key = ArtifactKey::new(ArtifactClass::Dataset, "greeting", "v1");
    let m = store
        .put(
            &key,
            vec![("data.bin".into(), FileSource::Path(src))],
            info(),
        )
        .unwrap();
    assert_eq!(
        m.files["data.bin"].sha256,
        strata_data::sha256_bytes(b"hello")
    );
    assert_eq!(store.get(&key).unwrap().file("data.bin").unwrap(), b"hello");
}

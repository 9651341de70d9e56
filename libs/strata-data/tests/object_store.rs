//! One artifact-store suite on three backends: the filesystem store, the object store on a
//! local directory (`file://`), and the object store on a real S3-protocol server (s3s-fs on
//! loopback, run in this process by strata-testkit). Object-store-only scenarios write around the store to
//! show what readers do with half-written or damaged objects.

use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::json;
use strata_data::{
    ArtifactClass, ArtifactKey, ArtifactStore, FileSource, FsArtifactStore, ManifestInfo,
    ObjectArtifactStore, StoreError, sha256_bytes,
};

fn info() -> ManifestInfo {
    ManifestInfo {
        kind: "mlp-classifier".into(),
        metrics: json!({"accuracy": 0.97}),
        ..Default::default()
    }
}

fn model(version: &str) -> ArtifactKey {
    ArtifactKey::new(ArtifactClass::Model, "digits", version)
}

fn files(weights: &[u8]) -> Vec<(String, FileSource)> {
    vec![
        (
            "weights.safetensors".into(),
            FileSource::Bytes(weights.to_vec()),
        ),
        ("config.json".into(), FileSource::Bytes(b"{}".to_vec())),
    ]
}

fn round_trip_lists_and_verifies(store: &dyn ArtifactStore) {
    for v in ["v1", "v2", "v10"] {
        store
            .put(&model(v), files(v.as_bytes()), info())
            .expect("put");
    }
    store
        .put(
            &ArtifactKey::new(ArtifactClass::Checkpoint, "job-1", "step-000010"),
            files(b"ckpt"),
            info(),
        )
        .expect("put checkpoint");
    assert_eq!(
        store
            .versions(ArtifactClass::Model, "digits")
            .expect("versions"),
        ["v1", "v2", "v10"]
    );
    assert_eq!(
        store.names(ArtifactClass::Model).expect("names"),
        ["digits"]
    );
    assert_eq!(
        store.names(ArtifactClass::Checkpoint).expect("names"),
        ["job-1"]
    );
    assert!(
        store
            .names(ArtifactClass::Dataset)
            .expect("names")
            .is_empty()
    );
    let a = store.get(&model("v2")).expect("get");
    assert_eq!(a.file("weights.safetensors").expect("file"), b"v2");
    assert_eq!(a.manifest.info, info());
    assert_eq!(
        a.manifest.files["weights.safetensors"].sha256,
        sha256_bytes(b"v2")
    );
    assert_eq!(
        store.manifest(&model("v10")).expect("manifest").key,
        model("v10")
    );
    assert!(matches!(a.file("nope"), Err(StoreError::NoSuchFile { .. })));
    assert!(matches!(
        store.get(&model("v3")),
        Err(StoreError::NotFound(_))
    ));
}

fn existing_keys_and_bad_names_are_refused(store: &dyn ArtifactStore) {
    store.put(&model("v1"), files(b"a"), info()).expect("put");
    assert!(matches!(
        store.put(&model("v1"), files(b"b"), info()),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store
            .get(&model("v1"))
            .expect("get")
            .file("weights.safetensors")
            .expect("f"),
        b"a",
        "the first version stays whole"
    );
    for bad in ["../x", "a/b", ".hidden", ""] {
        assert!(matches!(
            store.put(
                &ArtifactKey::new(ArtifactClass::Model, bad, "v1"),
                files(b"x"),
                info()
            ),
            Err(StoreError::InvalidName { .. })
        ));
    }
    assert!(matches!(
        store.put(
            &model("v2"),
            vec![("manifest.json".into(), FileSource::Bytes(vec![]))],
            info()
        ),
        Err(StoreError::InvalidName { .. })
    ));
}

fn delete_makes_a_version_disappear_whole(store: &dyn ArtifactStore) {
    store.put(&model("v1"), files(b"a"), info()).expect("put");
    store.put(&model("v2"), files(b"b"), info()).expect("put");
    store.delete(&model("v1")).expect("delete");
    assert_eq!(
        store
            .versions(ArtifactClass::Model, "digits")
            .expect("versions"),
        ["v2"]
    );
    assert!(matches!(
        store.get(&model("v1")),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete(&model("v1")),
        Err(StoreError::NotFound(_))
    ));
    // The name is free again.
    store
        .put(&model("v1"), files(b"c"), info())
        .expect("put again");
}

fn large_files_stream_from_disk(store: &dyn ArtifactStore) {
    // Above the multipart threshold on object stores (8 MiB parts).
    let bytes: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &bytes).expect("write");
    let key = ArtifactKey::new(ArtifactClass::Dataset, "big", "v1");
    let m = store
        .put(
            &key,
            vec![("data.bin".into(), FileSource::Path(path))],
            info(),
        )
        .expect("put");
    assert_eq!(m.files["data.bin"].bytes, bytes.len() as u64);
    assert_eq!(m.files["data.bin"].sha256, sha256_bytes(&bytes));
    let got = store.get(&key).expect("get");
    assert!(got.file("data.bin").expect("file") == bytes.as_slice());
    // Exported to a local file, verified on the way (streamed where the store can).
    let out = dir.path().join("exported.bin");
    store.export_file(&key, "data.bin", &out).expect("export");
    assert!(std::fs::read(&out).expect("exported") == bytes);
    assert!(matches!(
        store.export_file(&key, "nope.bin", &dir.path().join("nope")),
        Err(StoreError::NoSuchFile { .. })
    ));
}

/// Writes around the store (as a crashed or hostile writer would) through its object store.
fn raw(store: &ObjectArtifactStore) -> (Arc<dyn ObjectStore>, ObjectPath, tokio::runtime::Runtime) {
    let (objects, prefix) = store.object_store();
    // Multi-threaded: the HTTP client pools connections across runtimes, and a connection
    // opened here must keep being driven when the store's own runtime reuses it.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    (objects, prefix, rt)
}

fn files_without_a_manifest_are_invisible(store: &ObjectArtifactStore) {
    let (objects, prefix, rt) = raw(store);
    // A writer that died after its files, before its manifest.
    let orphan = prefix
        .join("models")
        .join("digits")
        .join("v1")
        .join("u-dead")
        .join("weights.safetensors");
    rt.block_on(objects.put(&orphan, PutPayload::from(vec![1u8, 2, 3])))
        .expect("raw put");
    assert!(
        store
            .versions(ArtifactClass::Model, "digits")
            .expect("versions")
            .is_empty()
    );
    assert!(store.names(ArtifactClass::Model).expect("names").is_empty());
    assert!(matches!(
        store.get(&model("v1")),
        Err(StoreError::NotFound(_))
    ));
    // A later writer of the same version is not disturbed by the leftovers.
    store.put(&model("v1"), files(b"ok"), info()).expect("put");
    assert_eq!(
        store
            .get(&model("v1"))
            .expect("get")
            .file("weights.safetensors")
            .expect("f"),
        b"ok"
    );
}

fn damaged_objects_are_refused(store: &ObjectArtifactStore) {
    let m = store
        .put(&model("v1"), files(b"weights"), info())
        .expect("put");
    let (objects, _, rt) = raw(store);
    let weights = store.file_location(&m, "weights.safetensors");
    rt.block_on(objects.put(&weights, PutPayload::from(b"WEIGHTS".to_vec())))
        .expect("raw overwrite");
    assert!(matches!(
        store.get(&model("v1")),
        Err(StoreError::CorruptFile { .. })
    ));
    // An export of the damaged file fails and leaves nothing at its destination.
    let out = tempfile::tempdir().expect("temp dir");
    let dest = out.path().join("weights");
    assert!(matches!(
        store.export_file(&model("v1"), "weights.safetensors", &dest),
        Err(StoreError::CorruptFile { .. })
    ));
    assert_eq!(std::fs::read_dir(out.path()).expect("dir").count(), 0);
    rt.block_on(objects.delete(&weights)).expect("raw delete");
    assert!(matches!(
        store.get(&model("v1")),
        Err(StoreError::MissingFile { .. })
    ));
    store.put(&model("v2"), files(b"x"), info()).expect("put");
    let (_, prefix, _) = raw(store);
    let path = prefix
        .join("models")
        .join("digits")
        .join("v2")
        .join("manifest.json");
    let mut json: serde_json::Value = serde_json::from_slice(&rt.block_on(async {
        objects
            .get(&path)
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes")
    }))
    .expect("json");
    json["kind"] = json!("tampered");
    rt.block_on(objects.put(
        &path,
        PutPayload::from(serde_json::to_vec(&json).expect("json")),
    ))
    .expect("raw put");
    assert!(matches!(
        store.manifest(&model("v2")),
        Err(StoreError::CorruptManifest { .. })
    ));
}

fn racing_writers_of_one_version_leave_one_whole_artifact(store: &ObjectArtifactStore) {
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                s.spawn(move || store.put(&model("v1"), files(format!("w{i}").as_bytes()), info()))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer"))
            .collect()
    });
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(StoreError::AlreadyExists(_))))
    );
    let got = store
        .get(&model("v1"))
        .expect("the winner's artifact verifies");
    assert_eq!(got.manifest.files, won[0].files);
    // The losers removed their uploads: only the winner's folder and the manifest remain.
    let (objects, prefix, rt) = raw(store);
    let dir = prefix.join("models").join("digits").join("v1");
    let listed: Vec<_> = rt
        .block_on(futures::TryStreamExt::try_collect::<Vec<_>>(
            objects.list(Some(&dir)),
        ))
        .expect("list");
    assert_eq!(listed.len(), 4, "manifest + its sum + 2 files: {listed:?}");
}

fn parquet_is_read_in_ranges(store: &ObjectArtifactStore) {
    let sample = strata_testkit::repo_path("libs/strata-data/samples/digits.parquet");
    let key = ArtifactKey::new(ArtifactClass::Dataset, "digits", "v1");
    store
        .put(
            &key,
            vec![("data.parquet".into(), FileSource::Path(sample))],
            info(),
        )
        .expect("put");
    let batches = store.read_parquet(&key, "data.parquet").expect("read");
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1797);
    assert_eq!(batches[0].num_columns(), 65);
}

macro_rules! shared {
    ($fresh:expr) => {{
        round_trip_lists_and_verifies(&*$fresh);
        existing_keys_and_bad_names_are_refused(&*$fresh);
        delete_makes_a_version_disappear_whole(&*$fresh);
        large_files_stream_from_disk(&*$fresh);
    }};
}

macro_rules! object_only {
    ($fresh:expr) => {{
        files_without_a_manifest_are_invisible(&$fresh);
        damaged_objects_are_refused(&$fresh);
        racing_writers_of_one_version_leave_one_whole_artifact(&$fresh);
        parquet_is_read_in_ranges(&$fresh);
    }};
}

#[test]
fn filesystem_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = std::cell::Cell::new(0);
    let fresh = || {
        n.set(n.get() + 1);
        Box::new(FsArtifactStore::open(dir.path().join(n.get().to_string())).expect("open"))
    };
    shared!(fresh());
}

#[test]
fn object_store_on_a_local_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = std::cell::Cell::new(0);
    let fresh = || {
        n.set(n.get() + 1);
        let root = dir.path().join(n.get().to_string());
        std::fs::create_dir_all(&root).expect("root");
        Box::new(ObjectArtifactStore::open(&format!("file://{}", root.display())).expect("open"))
    };
    shared!(fresh());
    object_only!(*fresh());
}

#[test]
fn object_store_on_an_s3_server() {
    let s3 = strata_testkit::S3Server::start();
    let n = std::cell::Cell::new(0);
    let fresh = || {
        n.set(n.get() + 1);
        Box::new(
            ObjectArtifactStore::open_with(&s3.url(&format!("run{}", n.get())), s3.options())
                .expect("open"),
        )
    };
    shared!(fresh());
    object_only!(*fresh());
}

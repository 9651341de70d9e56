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
    fs::remove_file(&weights).unwrap();
    assert!(matches!(
        store.get(&key),
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
    let debris = dir.path().join(".staging/4000000000-crashed");
    fs::create_dir_all(&debris).unwrap();
    fs::write(debris.join("weights.safetensors"), b"partial").unwrap();
    let live = dir
        .path()
        .join(format!(".staging/{}-writing", std::process::id()));
    fs::create_dir_all(&live).unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    assert!(!debris.exists());
    assert!(
        live.exists(),
        "a live writer's staging dir must survive another open"
    );
    put_model(&store, "v1");
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

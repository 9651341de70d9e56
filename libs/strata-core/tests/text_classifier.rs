//! text-classifier fine-tuned from all-MiniLM-L6-v2 on the shipped support-request table.

mod common;

use common::*;
use serde_json::json;
use strata_core::{CancelToken, ClassificationMetrics, Inputs, Outputs, Registry, TrainConfig};
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FsArtifactStore, split};

fn import_minilm(store: &FsArtifactStore) -> Option<ArtifactKey> {
    let dir = minilm_dir()?;
    let files = Registry::builtin()
        .get("text-encoder")
        .unwrap()
        .import(&dir)
        .unwrap();
    let key = ArtifactKey::new(ArtifactClass::Model, "minilm", "v1");
    store.put(&key, files.files, files.info).unwrap();
    Some(key)
}

#[test]
fn head_fine_tune_beats_majority_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let Some(base) = import_minilm(&store) else {
        return;
    };
    let ds = support_requests();
    let cfg = TrainConfig {
        epochs: 60,
        learning_rate: 0.05,
        batch_size: 16,
        patience: Some(10),
        ..Default::default()
    };
    let mut req = request(
        &ds,
        cfg.clone(),
        json!({"mode": "head"}),
        &store,
        "tc",
        CancelToken::new(),
        &quiet,
    );
    req.base = Some(store.get(&base).unwrap());
    let registry = Registry::builtin();
    let trained = registry.get("text-classifier").unwrap().train(req).unwrap();

    let all = ds.read_all().unwrap();
    let test_labels: Vec<u32> = split(all.rows, &cfg.split)
        .unwrap()
        .test
        .iter()
        .map(|&i| all.labels[i])
        .collect();
    let baseline = ClassificationMetrics::majority_baseline(&test_labels, 4);
    assert!(
        trained.test.accuracy >= baseline + 0.4 && trained.test.accuracy >= 0.8,
        "test accuracy {} vs majority baseline {baseline}",
        trained.test.accuracy
    );

    let key = ArtifactKey::new(ArtifactClass::Model, "topics", "v1");
    store
        .put(&key, trained.model.files, trained.model.info)
        .unwrap();
    let model = registry
        .load(store.get(&key).unwrap(), &strata_core::Device::Cpu)
        .unwrap();
    let texts = vec![
        "I was billed twice, please refund one of the charges".to_string(),
        "my parcel never showed up".to_string(),
    ];
    let Outputs::Classes(preds) = model.predict(&Inputs::Texts(texts)).unwrap() else {
        panic!()
    };
    assert_eq!(preds[0].label, "billing");
    assert_eq!(preds[1].label, "shipping");
}

#[test]
fn full_fine_tune_updates_the_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let Some(base) = import_minilm(&store) else {
        return;
    };
    let ds = support_requests();
    // A few steps only: this checks that gradients reach the encoder, not final quality.
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 8,
        learning_rate: 1e-2,
        warmup_steps: 0,
        checkpoint_every: 0,
        split: strata_data::SplitSpec {
            val_fraction: 0.05,
            test_fraction: 0.8,
            seed: 1,
        },
        ..Default::default()
    };
    let mut req = request(
        &ds,
        cfg,
        json!({"mode": "full", "encoder_lr_scale": 0.1}),
        &store,
        "full",
        CancelToken::new(),
        &quiet,
    );
    let base_artifact = store.get(&base).unwrap();
    req.base = Some(base_artifact.clone());
    let trained = Registry::builtin()
        .get("text-classifier")
        .unwrap()
        .train(req)
        .unwrap();
    assert!(trained.fit.steps >= 5);
    let (_, new_weights) = trained
        .model
        .files
        .iter()
        .find(|(n, _)| n == "model.safetensors")
        .unwrap();
    let strata_data::FileSource::Bytes(new_weights) = new_weights else {
        panic!()
    };
    assert_ne!(
        new_weights.as_slice(),
        base_artifact.file("model.safetensors").unwrap(),
        "encoder weights changed"
    );
    assert!(trained.test.loss.is_finite());
}

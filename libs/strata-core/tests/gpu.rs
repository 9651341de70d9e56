//! GPU checks of the CUDA build (feature `gpu`; Bazel tag `gpu`): the CUDA path must agree with
//! the CPU path, with the same embeddings and the same accuracy band. They run where a GPU is
//! lent (tools/cuda/gpu-check.sh carries this binary there). With no GPU they fail with the
//! device error; they never skip.
#![cfg(feature = "gpu")]

mod common;

use std::path::PathBuf;

use serde_json::json;
use strata_core::{
    CancelToken, Device, DeviceSpec, Inputs, Outputs, Registry, TrainConfig, cosine,
};
use strata_data::{
    ArtifactClass, ArtifactKey, ArtifactStore, DatasetSchema, FsArtifactStore, ParquetDataset,
};

fn cuda() -> Device {
    DeviceSpec::Cuda(0)
        .resolve()
        .unwrap_or_else(|e| panic!("the gpu tests need a CUDA GPU: {e}"))
}

/// Test data by environment first: this binary runs on another machine than it was built on.
fn minilm() -> PathBuf {
    let dir = std::env::var_os("STRATA_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::workspace_root().join(".cache/assets/all-MiniLM-L6-v2"));
    assert!(
        dir.join("model.safetensors").is_file(),
        "no all-MiniLM-L6-v2 at {} (set STRATA_MINILM_DIR)",
        dir.display()
    );
    dir
}

fn digits() -> ParquetDataset {
    let path = std::env::var_os("STRATA_DIGITS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::sample("digits.parquet"));
    let info = ParquetDataset::info(&path)
        .unwrap_or_else(|e| panic!("digits sample {}: {e}", path.display()));
    let schema = DatasetSchema {
        features: info.numeric_columns_except(&["label"]),
        label: Some("label".into()),
        ..Default::default()
    };
    ParquetDataset::open(&path, &schema).expect("digits sample opens")
}

#[test]
fn minilm_embeddings_on_cuda_match_cpu() {
    let gpu = cuda();
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let registry = Registry::builtin();
    let files = registry
        .get("text-encoder")
        .unwrap()
        .import(&minilm())
        .unwrap();
    let key = ArtifactKey::new(ArtifactClass::Model, "minilm", "v1");
    store.put(&key, files.files, files.info).unwrap();
    // Short, long, one-letter and mixed lengths in one batch (padding and masks on the GPU too).
    let texts: Vec<String> = [
        "My invoice was charged twice this month.",
        "How do I reset my password?",
        "The parcel never arrived and tracking has not moved for a week.",
        "a",
        "Can I export all my data as CSV, including the attachments and the comment history of every ticket?",
    ]
    .map(String::from)
    .to_vec();
    let embed = |device: &Device| {
        let model = registry.load(store.get(&key).unwrap(), device).unwrap();
        let Outputs::Embeddings(e) = model.predict(&Inputs::Texts(texts.clone())).unwrap() else {
            panic!("a text encoder returns embeddings")
        };
        e
    };
    let (on_cpu, on_gpu) = (embed(&Device::Cpu), embed(&gpu));
    assert_eq!(on_cpu.len(), texts.len());
    assert_eq!(on_gpu.len(), texts.len());
    for (i, (c, g)) in on_cpu.iter().zip(&on_gpu).enumerate() {
        let cos = cosine(c, g);
        eprintln!("text {i}: cosine(cpu, cuda) = {cos:.6}");
        assert!(cos >= 0.999, "text {i}: cosine(cpu, cuda) = {cos}");
    }
}

#[test]
fn digits_mlp_trains_on_cuda_to_the_cpu_accuracy_band() {
    let gpu = cuda();
    let ds = digits();
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let registry = Registry::builtin();
    let kind = registry.get("mlp-classifier").unwrap();
    // The CPU test's configuration (tests/mlp.rs), whose band is >= 0.96.
    let config = TrainConfig {
        epochs: 12,
        batch_size: 32,
        learning_rate: 3e-3,
        checkpoint_every: 0,
        ..Default::default()
    };
    let train = |device: Device, job: &str| {
        let mut req = common::request(
            &ds,
            config.clone(),
            json!(null),
            &store,
            job,
            CancelToken::new(),
            &common::quiet,
        );
        req.device = device;
        kind.train(req).unwrap()
    };
    let on_gpu = train(gpu, "cuda");
    let on_cpu = train(Device::Cpu, "cpu");
    eprintln!(
        "digits test accuracy: cuda {:.4}, cpu {:.4}",
        on_gpu.test.accuracy, on_cpu.test.accuracy
    );
    assert_eq!(on_gpu.test.examples, on_cpu.test.examples);
    assert!(
        on_gpu.test.accuracy >= 0.96,
        "cuda test accuracy {}",
        on_gpu.test.accuracy
    );
    // Kernels sum in another order, so not bit-equal, but within the same band.
    assert!(
        (on_gpu.test.accuracy - on_cpu.test.accuracy).abs() <= 0.02,
        "cuda {} vs cpu {}",
        on_gpu.test.accuracy,
        on_cpu.test.accuracy
    );
}

//! Shared helpers of the integration tests (included with `mod common;`).
#![allow(dead_code)]

use std::path::PathBuf;

use strata_core::{CancelToken, TrainConfig, TrainControl, TrainEvent, TrainRequest};
use strata_data::{ArtifactStore, DatasetSchema, ParquetDataset};

/// The repository (the runfiles tree under Bazel; see strata_testkit::repo_path).
pub fn workspace_root() -> PathBuf {
    strata_testkit::repo_path("")
}

/// A sample of strata-data (a runfile under Bazel; see strata_testkit::repo_path).
pub fn sample(name: &str) -> PathBuf {
    strata_testkit::repo_path(&format!("libs/strata-data/samples/{name}"))
}

pub fn digits() -> ParquetDataset {
    let path = sample("digits.parquet");
    let info = ParquetDataset::info(&path).expect("digits sample");
    let schema = DatasetSchema {
        features: info.numeric_columns_except(&["label"]),
        label: Some("label".into()),
        ..Default::default()
    };
    ParquetDataset::open(&path, &schema).expect("digits sample opens")
}

pub fn support_requests() -> ParquetDataset {
    let schema = DatasetSchema {
        text: Some("text".into()),
        label: Some("topic".into()),
        ..Default::default()
    };
    ParquetDataset::open(&sample("support_requests.parquet"), &schema)
        .expect("support sample opens")
}

/// The all-MiniLM-L6-v2 directory fetched by tools/assets/fetch.sh, or None (with a message).
pub fn minilm_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("STRATA_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".cache/assets/all-MiniLM-L6-v2"));
    if dir.join("model.safetensors").is_file() && dir.join("tokenizer.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: all-MiniLM-L6-v2 not found at {} (run tools/assets/fetch.sh or set STRATA_MINILM_DIR)",
            dir.display()
        );
        None
    }
}

pub fn request<'a>(
    dataset: &'a ParquetDataset,
    config: TrainConfig,
    params: serde_json::Value,
    store: &'a dyn ArtifactStore,
    job: &str,
    cancel: CancelToken,
    progress: &'a (dyn Fn(&TrainEvent) + Send + Sync),
) -> TrainRequest<'a> {
    TrainRequest {
        dataset,
        config,
        params,
        base: None,
        device: strata_core::Device::Cpu,
        control: TrainControl {
            store,
            job: job.into(),
            cancel,
            progress,
        },
    }
}

pub fn quiet(_: &TrainEvent) {}

/// SmolLM2-135M-Instruct (Q4_1 GGUF) fetched by tools/assets/fetch.sh. Missing is a failure,
/// not a skip: tools/setup fetches it on every machine that runs the tests.
pub fn smollm_gguf() -> PathBuf {
    let path = std::env::var_os("STRATA_SMOLLM_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            workspace_root().join(".cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    assert!(
        path.is_file(),
        "SmolLM2 GGUF not found at {} (run tools/assets/fetch.sh or set STRATA_SMOLLM_GGUF)",
        path.display()
    );
    path
}

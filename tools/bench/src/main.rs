//! strata-bench: the ML core side by side with the Python stack users would pick instead, in one
//! run on one machine: all-MiniLM-L6-v2 embedding throughput at batch 1 and 32 (candle vs
//! sentence-transformers) and MLP training steps/s on digits (candle vs PyTorch), with ratios.
//!
//!   tools/bench/python/setup.sh                 # once: venv + model under .cache/
//!   cargo run --release -p strata-bench -- [--repeat N] [--skip-python]

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use comfy_table::Table;
use serde_json::json;
use strata_core::{
    CancelToken, Inputs, Registry, TrainConfig, TrainControl, TrainEvent, TrainRequest,
};
use strata_data::{
    ArtifactClass, ArtifactKey, ArtifactStore, DatasetSchema, FsArtifactStore, ParquetDataset,
    SplitSpec,
};

const MLP_EPOCHS: usize = 25;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let repeat = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(3usize);
    let skip_python = args.iter().any(|a| a == "--skip-python");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?;
    let minilm = std::env::var_os("STRATA_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".cache/assets/all-MiniLM-L6-v2"));
    if !minilm.join("model.safetensors").is_file() {
        bail!(
            "all-MiniLM-L6-v2 not found at {}; run tools/bench/python/setup.sh",
            minilm.display()
        );
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let sentences = sentences(&root)?;

    // --- candle: embeddings ---
    let dir = tempfile::tempdir()?;
    let store = FsArtifactStore::open(dir.path())?;
    let registry = Registry::builtin();
    let files = registry.get("text-encoder")?.import(&minilm)?;
    let key = ArtifactKey::new(ArtifactClass::Model, "minilm", "v1");
    store.put(&key, files.files, files.info)?;
    let model = registry.load(store.get(&key)?, &strata_core::Device::Cpu)?;
    let mut by_len = sentences.clone();
    by_len.sort_by_key(String::len);
    model.predict(&Inputs::Texts(by_len[..32].to_vec()))?;
    let mut rust_b1 = 0f64;
    let mut rust_b32 = 0f64;
    for _ in 0..repeat {
        let t = Instant::now();
        for s in &by_len {
            model.predict(&Inputs::Texts(vec![s.clone()]))?;
        }
        rust_b1 = rust_b1.max(by_len.len() as f64 / t.elapsed().as_secs_f64());
        // One request: the encoder sorts by token length and runs chunks of 32.
        let t = Instant::now();
        model.predict(&Inputs::Texts(sentences.clone()))?;
        rust_b32 = rust_b32.max(sentences.len() as f64 / t.elapsed().as_secs_f64());
    }

    // --- candle: MLP training on digits ---
    let digits = root.join("libs/strata-data/samples/digits.parquet");
    let info = ParquetDataset::info(&digits)?;
    let schema = DatasetSchema {
        features: info.numeric_columns_except(&["label"]),
        label: Some("label".into()),
        ..Default::default()
    };
    let ds = ParquetDataset::open(&digits, &schema)?;
    let cfg = TrainConfig {
        epochs: MLP_EPOCHS,
        patience: None,
        checkpoint_every: 0,
        split: SplitSpec {
            val_fraction: 0.05,
            test_fraction: 0.05,
            seed: 1,
        },
        ..Default::default()
    };
    // Time only the steps: gaps across epoch boundaries (validation) are left out.
    let timing = Mutex::new((None::<(usize, Instant)>, 0f64, 0u64));
    let progress = |e: &TrainEvent| {
        if let TrainEvent::Step { epoch, .. } = e {
            let mut t = timing.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if let Some((last_epoch, last)) = t.0
                && last_epoch == *epoch
            {
                t.1 += now.duration_since(last).as_secs_f64();
                t.2 += 1;
            }
            t.0 = Some((*epoch, now));
        }
    };
    let trained = registry.get("mlp-classifier")?.train(TrainRequest {
        dataset: &ds,
        config: cfg,
        params: serde_json::Value::Null,
        base: None,
        device: strata_core::Device::Cpu,
        control: TrainControl {
            store: &store,
            job: "bench".into(),
            cancel: CancelToken::new(),
            progress: &progress,
        },
    })?;
    let (_, secs, steps) = *timing.lock().unwrap_or_else(|p| p.into_inner());
    let rust_mlp = steps as f64 / secs;

    // --- Python ---
    let python = if skip_python {
        None
    } else {
        let all = ds.read_all()?;
        let spec = json!({
            "model_dir": minilm, "sentences": sentences, "threads": threads, "repeat": repeat,
            "features": all.features.chunks(64).collect::<Vec<_>>(), "labels": all.labels,
            "mlp_steps": trained.fit.steps,
        });
        let spec_path = dir.path().join("spec.json");
        std::fs::write(&spec_path, spec.to_string())?;
        let py = root.join(".cache/venv-ml/bin/python");
        let out = std::process::Command::new(&py)
            .arg(root.join("tools/bench/python/bench.py"))
            .arg(&spec_path)
            .output()
            .with_context(|| {
                format!("running {} (run tools/bench/python/setup.sh)", py.display())
            })?;
        if !out.status.success() {
            bail!(
                "python bench failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let line = String::from_utf8_lossy(&out.stdout);
        Some(serde_json::from_str::<serde_json::Value>(
            line.lines().last().unwrap_or("{}"),
        )?)
    };

    let tokens: f64 = sentences
        .iter()
        .map(|s| s.split_whitespace().count() as f64)
        .sum::<f64>()
        / sentences.len() as f64;
    println!(
        "{} sentences (mean {tokens:.1} words), {threads} threads, best of {repeat}",
        sentences.len()
    );
    let mut table = Table::new();
    table.set_header(vec!["benchmark", "strata (candle)", "python", "ratio"]);
    let rows = [
        ("MiniLM embeddings/s, batch 1", rust_b1, "embed_b1"),
        ("MiniLM embeddings/s, batch 32", rust_b32, "embed_b32"),
        ("digits MLP training steps/s", rust_mlp, "mlp_steps"),
    ];
    for (name, ours, key) in rows {
        let theirs = python.as_ref().and_then(|p| p[key].as_f64());
        table.add_row(vec![
            name.to_string(),
            format!("{ours:.1}"),
            theirs
                .map(|t| format!("{t:.1}"))
                .unwrap_or_else(|| "-".into()),
            theirs
                .map(|t| format!("{:.2}x", ours / t))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    println!("{table}");
    if let Some(p) = python {
        println!(
            "python side: torch {} with {} threads (sentence-transformers, PyTorch AdamW)",
            p["torch"], p["threads"]
        );
    }
    Ok(())
}

/// 256 sentences of support-request length and up: pairs of requests from the shipped table.
fn sentences(root: &Path) -> Result<Vec<String>> {
    let schema = DatasetSchema {
        text: Some("text".into()),
        ..Default::default()
    };
    let ds = ParquetDataset::open(
        &root.join("libs/strata-data/samples/support_requests.parquet"),
        &schema,
    )?;
    let texts = ds.read_all()?.texts;
    Ok((0..256)
        .map(|i| {
            let a = &texts[i % texts.len()];
            let b = &texts[(i * 7 + 3) % texts.len()];
            format!("{a}, and also: {b}.")
        })
        .collect())
}

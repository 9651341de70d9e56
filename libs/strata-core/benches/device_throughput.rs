//! Throughput of the same work on a chosen device, as JSON lines for tools/cuda/gpu-check.sh,
//! which prints them next to PyTorch's (tools/cuda/torch_bench.py does the identical work):
//!   mlp_train     64 -> 128 ReLU -> 10 MLP, AdamW, batch 32, candle directly: examples/s
//!   minilm_embed  all-MiniLM-L6-v2 through strata's text-encoder, batch 32: texts/s
//!
//!   device_throughput --device cuda|cpu [--minilm DIR] [--seconds 5]

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use candle_core::{DType, Tensor};
use candle_nn::{AdamW, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde_json::json;
use strata_core::{Device, DeviceSpec, Inputs, Registry};
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FsArtifactStore};

const BATCH: usize = 32;

/// Calls per second of `f`, after 3 warm-up calls, over at least `secs` (synchronising the
/// device, so queued GPU work is counted).
fn rate(device: &Device, secs: f64, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..3 {
        f()?;
    }
    device.synchronize()?;
    let (start, mut n) = (Instant::now(), 0u64);
    loop {
        f()?;
        n += 1;
        if n % 10 == 0 {
            device.synchronize()?;
            if start.elapsed() >= Duration::from_secs_f64(secs) {
                return Ok(n as f64 / start.elapsed().as_secs_f64());
            }
        }
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    // `cargo bench` adds --bench; only the flags below matter.
    let spec: DeviceSpec = arg("--device").unwrap_or_else(|| "cuda".into()).parse()?;
    let secs: f64 = arg("--seconds")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5.0);
    if secs <= 0.0 {
        bail!("--seconds must be positive");
    }
    let device = spec.resolve()?;
    let name = strata_core::device::label(&device);
    let report = |bench: &str, per_sec: f64| {
        println!(
            "{}",
            json!({"impl": "strata", "device": name, "bench": bench, "batch": BATCH, "items_per_sec": per_sec})
        );
    };

    let vars = VarMap::new();
    let vb = VarBuilder::from_varmap(&vars, DType::F32, &device);
    let l1 = candle_nn::linear(64, 128, vb.pp("l1"))?;
    let l2 = candle_nn::linear(128, 10, vb.pp("l2"))?;
    let mut opt = AdamW::new(
        vars.all_vars(),
        ParamsAdamW {
            lr: 3e-3,
            ..Default::default()
        },
    )?;
    let x = Tensor::randn(0f32, 1.0, (BATCH, 64), &device)?;
    let y = Tensor::new(
        (0..BATCH as u32).map(|i| i % 10).collect::<Vec<_>>(),
        &device,
    )?;
    let steps = rate(&device, secs, || {
        let logits = l2.forward(&l1.forward(&x)?.relu()?)?;
        opt.backward_step(&candle_nn::loss::cross_entropy(&logits, &y)?)?;
        Ok(())
    })?;
    report("mlp_train", steps * BATCH as f64);

    if let Some(dir) = arg("--minilm") {
        let tmp = tempfile::tempdir()?;
        let store = FsArtifactStore::open(tmp.path())?;
        let registry = Registry::builtin();
        let files = registry
            .get("text-encoder")?
            .import(dir.as_ref())
            .with_context(|| format!("importing MiniLM from {dir}"))?;
        let key = ArtifactKey::new(ArtifactClass::Model, "minilm", "bench");
        store.put(&key, files.files, files.info)?;
        let model = registry.load(store.get(&key)?, &device)?;
        let texts: Vec<String> = (0..BATCH)
            .map(|i| {
                format!("sentence {i} about refunds, invoices and a delivery that never arrived")
            })
            .collect();
        let inputs = Inputs::Texts(texts);
        let calls = rate(&device, secs, || {
            model.predict(&inputs)?;
            Ok(())
        })?;
        report("minilm_embed", calls * BATCH as f64);
    }
    Ok(())
}

//! Serving overhead of Embed: throughput through gRPC with 64 concurrent single-text callers
//! (the dynamic batcher forms the batches) against the core's own throughput at batch size 32,
//! in the same process and run. Target: ratio >= 0.9.
//!
//!     cargo run --release -p strata-bench --bin embed-serving -- [--secs 10] [--minilm DIR]
//!
//! The MiniLM directory defaults to `STRATA_MINILM_DIR` or `.cache/assets/all-MiniLM-L6-v2`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use strata_core::{Inputs, Registry};
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FsArtifactStore};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::inference_service_client::InferenceServiceClient;
use strata_proto::strata::ml::v1::model_service_client::ModelServiceClient;

#[derive(Parser)]
struct Args {
    /// Seconds each side runs (after a warm-up).
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// all-MiniLM-L6-v2 directory.
    #[arg(long, env = "STRATA_MINILM_DIR")]
    minilm: Option<PathBuf>,
    /// Concurrent gRPC callers.
    #[arg(long, default_value_t = 64)]
    callers: usize,
    /// In-process batch size of the baseline (and the server's max batch size).
    #[arg(long, default_value_t = 32)]
    batch: usize,
}

const TEXTS: &[&str] = &[
    "How do I reset my password?",
    "I was charged twice for the same order",
    "The mobile app crashes when I open settings",
    "Can I change the email address on my account?",
    "Where can I download last month's invoice?",
    "The export to CSV never finishes",
    "Please cancel my subscription at the end of the month",
    "Two-factor codes arrive too late to use",
];

fn text(i: u64) -> String {
    format!("{} (ticket {})", TEXTS[i as usize % TEXTS.len()], i % 97)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let minilm = args.minilm.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/assets/all-MiniLM-L6-v2")
    });
    if !minilm.join("model.safetensors").is_file() {
        bail!(
            "all-MiniLM-L6-v2 not found at {} (run tools/setup or pass --minilm)",
            minilm.display()
        );
    }
    let duration = Duration::from_secs_f64(args.secs);

    // In-process: the core's model, batches of `batch` texts, back to back.
    let registry = Registry::builtin();
    let scratch = tempfile::tempdir()?;
    let store = FsArtifactStore::open(scratch.path().join("store"))?;
    let files = registry.get("text-encoder")?.import(&minilm)?;
    let key = ArtifactKey::new(ArtifactClass::Model, "minilm", "v1");
    store.put(&key, files.files, files.info)?;
    let model = registry.load(store.get(&key)?, &strata_core::Device::Cpu)?;
    let batch = |start: u64| Inputs::Texts((start..start + args.batch as u64).map(text).collect());
    model.predict(&batch(0))?;
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < duration {
        model.predict(&batch(done))?;
        done += args.batch as u64;
    }
    let in_process = done as f64 / started.elapsed().as_secs_f64();
    println!("in-process, batch {}: {in_process:.1} texts/s", args.batch);
    drop(model);

    // Through gRPC on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let data = scratch.path().join("server");
    let config = strata_ml::Config::parse_from([
        "strata-ml",
        "--data-dir",
        data.to_str().context("utf-8 temp dir")?,
        "--max-batch-size",
        &args.batch.to_string(),
        "--max-batch-wait-ms",
        "5",
    ]);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        strata_ml::serve(&config, listener, metrics, async {
            let _ = stopped.await;
        })
        .await
    });
    let channel = loop {
        match tonic::transport::Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await
        {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    ModelServiceClient::new(channel.clone())
        .import_model(pb::ImportModelRequest {
            name: "minilm".into(),
            kind: "text-encoder".into(),
            path: minilm.to_str().context("utf-8 path")?.into(),
        })
        .await?;
    let client = InferenceServiceClient::new(channel);
    let counter = Arc::new(AtomicU64::new(0));
    let run = |until: Instant, count: bool| {
        let tasks: Vec<_> = (0..args.callers)
            .map(|_| {
                let mut client = client.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < until {
                        let i = counter.fetch_add(1, Ordering::Relaxed);
                        let t = Instant::now();
                        let req = pb::EmbedRequest {
                            model: "minilm".into(),
                            texts: vec![text(i)],
                        };
                        client.embed(req).await?;
                        if count {
                            latencies.push(t.elapsed());
                        }
                    }
                    Ok::<_, tonic::Status>(latencies)
                })
            })
            .collect::<Vec<_>>();
        async move {
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await??);
            }
            anyhow::Ok(all)
        }
    };
    run(Instant::now() + Duration::from_secs(2), false).await?;
    let started = Instant::now();
    let mut latencies = run(started + duration, true).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let grpc = latencies.len() as f64 / elapsed;
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1e3
    };
    println!(
        "gRPC, {} callers x 1 text: {grpc:.1} texts/s (p50 {:.1} ms, p99 {:.1} ms)",
        args.callers,
        pct(0.5),
        pct(0.99)
    );
    println!(
        "ratio gRPC / in-process: {:.3} (target >= 0.9)",
        grpc / in_process
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}

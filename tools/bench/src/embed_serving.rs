//! Serving overhead of embeddings, in one process and one run, with the same all-MiniLM-L6-v2
//! text-encoder on every side:
//!
//! 1. the core in-process at batch size 32 (the baseline);
//! 2. the ML service's gRPC `Embed` with 64 concurrent single-text callers (the dynamic batcher
//!    forms the batches); target >= 0.9x the baseline (issue: ML gRPC service);
//! 3. the web API's `POST /v1/embeddings` (OpenAI shape) with 64 concurrent callers, in front of
//!    that same ML service; target >= 0.9x gRPC direct (issue: web API).
//!
//! gRPC and REST alternate for `--rounds` rounds so background load on the machine hits both
//! alike; each ratio is over the summed counts of all rounds.
//!
//!     cargo run --release -p strata-bench --bin embed-serving -- [--secs 10] [--rounds 3] [--minilm DIR]
//!
//! The MiniLM directory defaults to `STRATA_MINILM_DIR` or `.cache/assets/all-MiniLM-L6-v2`.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use strata_core::{Inputs, Registry};
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FsArtifactStore};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::inference_service_client::InferenceServiceClient;
use strata_proto::strata::ml::v1::model_service_client::ModelServiceClient;

#[derive(Parser)]
struct Args {
    /// Seconds each measured phase runs (after a warm-up).
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Alternating gRPC / REST rounds.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// all-MiniLM-L6-v2 directory.
    #[arg(long, env = "STRATA_MINILM_DIR")]
    minilm: Option<PathBuf>,
    /// Concurrent callers, for gRPC and REST alike.
    #[arg(long, default_value_t = 64)]
    callers: usize,
    /// In-process batch size of the baseline (and the server's max batch size).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// `encoding_format` of the REST calls: `float` (JSON numbers) or `base64` (what the
    /// official OpenAI clients ask for by default).
    #[arg(long, default_value = "float")]
    encoding: String,
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

/// Calls completed in a phase and their latencies.
struct Phase {
    latencies: Vec<Duration>,
    secs: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.secs
    }
}

/// Runs `callers` concurrent loops of `call(i)` (one text each) until `duration` has passed.
async fn drive<F, Fut>(callers: usize, duration: Duration, call: F) -> anyhow::Result<Phase>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let call = call.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    call(counter.fetch_add(1, Ordering::Relaxed)).await?;
                    latencies.push(t.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok(Phase {
        latencies,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// Sums phases and prints their throughput and latency percentiles.
fn report(name: &str, phases: &[Phase]) -> f64 {
    let mut latencies: Vec<Duration> = phases
        .iter()
        .flat_map(|p| p.latencies.iter().copied())
        .collect();
    let secs: f64 = phases.iter().map(|p| p.secs).sum();
    let rate = latencies.len() as f64 / secs;
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let rounds: Vec<String> = phases.iter().map(|p| format!("{:.1}", p.rate())).collect();
    println!(
        "{name}: {rate:.1} texts/s (p50 {:.1} ms, p99 {:.1} ms; rounds {})",
        pct(0.5),
        pct(0.99),
        rounds.join(", ")
    );
    rate
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
    if !matches!(args.encoding.as_str(), "float" | "base64") {
        bail!("--encoding must be float or base64");
    }
    let duration = Duration::from_secs_f64(args.secs);
    let warm_up = Duration::from_secs(2);

    // 1. In-process: the core's model, batches of `batch` texts, back to back.
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

    // The ML service on loopback, and the web API in front of it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let ml_addr = listener.local_addr()?;
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let data = scratch.path().join("server");
    let imports = minilm.parent().context("MiniLM directory has a parent")?;
    let ml_config = strata_ml::Config::parse_from([
        "strata-ml",
        "--data-dir",
        data.to_str().context("utf-8 temp dir")?,
        "--import-dir",
        imports.to_str().context("utf-8 path")?,
        "--max-batch-size",
        &args.batch.to_string(),
        "--max-batch-wait-ms",
        "5",
    ]);
    let (stop_ml, ml_stopped) = tokio::sync::oneshot::channel::<()>();
    let ml_server = tokio::spawn(async move {
        strata_ml::serve(&ml_config, listener, metrics, async {
            let _ = ml_stopped.await;
        })
        .await
    });
    let channel = loop {
        match tonic::transport::Channel::from_shared(format!("http://{ml_addr}"))?
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

    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api_addr = api_listener.local_addr()?;
    let password = "benchmark admin password";
    let metadata_url = format!(
        "sqlite:{}",
        scratch
            .path()
            .join("api/meta.db")
            .to_str()
            .context("utf-8 temp dir")?
    );
    let api_config = strata_api::Config::parse_from([
        "strata-api",
        "--ml-url",
        &format!("http://{ml_addr}"),
        "--dev",
        "--metadata-url",
        &metadata_url,
        "--bootstrap-admin-password",
        password,
        // The gateway's own overhead is measured, not its per-caller rate limit.
        "--rate-limit-per-second",
        "1000000",
        "--rate-limit-burst",
        "1000000",
        // Any free port: the bench reads no metrics and must not collide with a dev server's.
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let api_server = tokio::spawn(async move {
        strata_api::serve(&api_config, api_listener, async {
            let _ = api_stopped.await;
        })
        .await
    });
    // strata-data turns on reqwest's rustls without a crypto provider (object_store's TLS uses
    // ring, not reqwest's default aws-lc), and Cargo unifies that feature into every reqwest of
    // the build: a Client then needs a process-wide provider, even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.callers)
        .build()?;
    let base = format!("http://{api_addr}");
    let token: Value = loop {
        let response = http
            .post(format!("{base}/v1/auth/token"))
            .json(&json!({"username": "admin", "password": password}))
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => break r.json().await?,
            Ok(r) => bail!("token: HTTP {}", r.status()),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().context("access_token")?
    );

    let grpc = {
        let client = InferenceServiceClient::new(channel);
        move |i: u64| {
            let mut client = client.clone();
            async move {
                let req = pb::EmbedRequest {
                    model: "minilm".into(),
                    texts: vec![text(i)],
                };
                let out = client.embed(req).await?.into_inner();
                anyhow::ensure!(out.embeddings.len() == 1, "one embedding per text");
                Ok(())
            }
        }
    };
    let rest = {
        let url = Arc::new(format!("{base}/v1/embeddings"));
        let bearer = Arc::new(bearer);
        let encoding = Arc::new(args.encoding.clone());
        move |i: u64| {
            let (http, url, bearer, encoding) =
                (http.clone(), url.clone(), bearer.clone(), encoding.clone());
            async move {
                let response = http
                    .post(url.as_str())
                    .header("authorization", bearer.as_str())
                    .json(
                        &json!({"model": "minilm", "input": text(i), "encoding_format": *encoding}),
                    )
                    .send()
                    .await?;
                anyhow::ensure!(response.status().is_success(), "HTTP {}", response.status());
                let body: Value = response.json().await?;
                anyhow::ensure!(
                    body["data"][0]["embedding"].is_array()
                        || body["data"][0]["embedding"].is_string()
                );
                Ok(())
            }
        }
    };

    drive(args.callers, warm_up, grpc.clone()).await?;
    drive(args.callers, warm_up, rest.clone()).await?;
    let (mut grpc_phases, mut rest_phases) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds.max(1) {
        grpc_phases.push(drive(args.callers, duration, grpc.clone()).await?);
        rest_phases.push(drive(args.callers, duration, rest.clone()).await?);
    }
    let grpc_rate = report(
        &format!("gRPC Embed, {} callers x 1 text", args.callers),
        &grpc_phases,
    );
    let rest_rate = report(
        &format!(
            "REST /v1/embeddings ({}), {} callers x 1 text",
            args.encoding, args.callers
        ),
        &rest_phases,
    );
    println!(
        "ratio gRPC / in-process: {:.3} (target >= 0.9)",
        grpc_rate / in_process
    );
    println!(
        "ratio REST / gRPC: {:.3} (target >= 0.9)",
        rest_rate / grpc_rate
    );

    let _ = stop_api.send(());
    api_server.await??;
    let _ = stop_ml.send(());
    ml_server.await??;
    Ok(())
}

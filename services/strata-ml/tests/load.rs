//! Bounded load test on loopback: 64 concurrent Predict callers (and Embed callers when MiniLM is
//! present) against the real server. Below the queue limit every call succeeds and batches hold
//! more than one input on average; above it the server answers RESOURCE_EXHAUSTED and keeps
//! serving. Prints throughput and latency percentiles.
//!
//! Each phase runs `STRATA_LOAD_SECS` seconds (default 4, so the test stays well under 15 s;
//! set e.g. `STRATA_LOAD_SECS=30` for the long run).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use strata_proto::strata::ml::v1 as pb;
use tonic::Code;

const CALLERS: usize = 64;

fn phase_secs() -> Duration {
    let secs = std::env::var("STRATA_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4.0f64);
    Duration::from_secs_f64(secs)
}

struct Outcome {
    latencies: Vec<Duration>,
    exhausted: u64,
    other_errors: Vec<String>,
    elapsed: Duration,
}

impl Outcome {
    fn report(&mut self, what: &str) {
        self.latencies.sort_unstable();
        let pct = |p: f64| {
            self.latencies
                .get(
                    ((self.latencies.len() as f64 * p) as usize)
                        .min(self.latencies.len().saturating_sub(1)),
                )
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{what}: {} ok in {:.1} s = {:.0} req/s; p50 {:.2} ms, p99 {:.2} ms; {} RESOURCE_EXHAUSTED; {} other errors",
            self.latencies.len(),
            self.elapsed.as_secs_f64(),
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            self.exhausted,
            self.other_errors.len()
        );
    }
}

/// `CALLERS` tasks, each calling `call` back to back for `duration`.
async fn hammer<F, Fut>(duration: Duration, call: F) -> Outcome
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    let exhausted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let call = call.clone();
            let exhausted = exhausted.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                while started.elapsed() < duration {
                    let t = Instant::now();
                    match call().await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(s) if s.code() == Code::ResourceExhausted => {
                            exhausted.fetch_add(1, Ordering::Relaxed);
                            // A well-behaved client backs off before retrying.
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                        Err(s) => errors.push(format!("{:?}: {}", s.code(), s.message())),
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut out = Outcome {
        latencies: Vec::new(),
        exhausted: 0,
        other_errors: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        let (l, e) = t.await.expect("caller task");
        out.latencies.extend(l);
        out.other_errors.extend(e);
    }
    out.elapsed = started.elapsed();
    out.exhausted = exhausted.load(Ordering::Relaxed);
    out
}

async fn mean_batch(metrics: std::net::SocketAddr) -> (f64, f64) {
    (
        get_metric(metrics, "strata_inference_batch_size_sum").await,
        get_metric(metrics, "strata_inference_batch_size_count").await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_are_batched_and_a_full_queue_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(
        dir.path(),
        &["--max-batch-size", "32", "--max-batch-wait-ms", "2"],
    )
    .await;
    let mut c = server.clients().await;
    let ds = upload_digits(&mut c).await;
    let job = c
        .training
        .create_training_job(mlp_job("digits", &ds.id, 2))
        .await
        .expect("create")
        .into_inner();
    let events = watch_to_end(&mut c, &job.id, 0).await;
    assert_eq!(
        events.last().and_then(final_state),
        Some(pb::JobState::Succeeded)
    );
    let minilm = minilm_dir();
    if let Some(dir) = &minilm {
        let path = dir.to_str().expect("utf-8").to_owned();
        let import = pb::ImportModelRequest {
            name: "minilm".into(),
            kind: "text-encoder".into(),
            path,
        };
        c.models.import_model(import).await.expect("import MiniLM");
    }
    let (rows, _) = digits_rows();
    let rows = Arc::new(rows);
    let predict = {
        let (c, rows) = (c.clone(), rows.clone());
        let n = Arc::new(AtomicU64::new(0));
        move || {
            let mut c = c.clone();
            let i = n.fetch_add(1, Ordering::Relaxed) as usize % rows.len();
            let req = pb::PredictRequest {
                model: "digits".into(),
                features: vec![pb::FeatureVector {
                    values: rows[i].clone(),
                }],
                texts: vec![],
            };
            async move { c.inference.predict(req).await.map(|_| ()) }
        }
    };

    // Below the limit: no errors, real batching.
    let before = mean_batch(server.metrics_addr).await;
    let mut outcome = hammer(phase_secs(), predict.clone()).await;
    outcome.report("Predict, 64 callers, queue limit 1024");
    let after = mean_batch(server.metrics_addr).await;
    let mean = (after.0 - before.0) / (after.1 - before.1).max(1.0);
    println!("Predict mean batch size {mean:.1}");
    assert!(
        outcome.other_errors.is_empty(),
        "{:?}",
        &outcome.other_errors[..outcome.other_errors.len().min(5)]
    );
    assert_eq!(outcome.exhausted, 0);
    assert!(mean > 1.0, "mean batch size {mean}");
    assert_eq!(
        get_metric(server.metrics_addr, "strata_inference_queue_depth").await,
        0.0
    );

    if minilm.is_some() {
        let texts = [
            "reset my password",
            "refund for a double charge",
            "the app crashes on start",
            "change my email",
        ];
        let embed = {
            let c = c.clone();
            let n = Arc::new(AtomicU64::new(0));
            move || {
                let mut c = c.clone();
                let i = n.fetch_add(1, Ordering::Relaxed) as usize;
                let req = pb::EmbedRequest {
                    model: "minilm".into(),
                    texts: vec![texts[i % texts.len()].into()],
                };
                async move { c.inference.embed(req).await.map(|_| ()) }
            }
        };
        let before = mean_batch(server.metrics_addr).await;
        let mut outcome = hammer(phase_secs(), embed).await;
        outcome.report("Embed, 64 callers, queue limit 1024");
        let after = mean_batch(server.metrics_addr).await;
        let mean = (after.0 - before.0) / (after.1 - before.1).max(1.0);
        println!("Embed mean batch size {mean:.1}");
        assert!(
            outcome.other_errors.is_empty(),
            "{:?}",
            &outcome.other_errors[..outcome.other_errors.len().min(5)]
        );
        assert!(mean > 1.0, "mean batch size {mean}");
    }
    server.stop().await;

    // Above the limit: RESOURCE_EXHAUSTED, never a crash or another error, and the server serves on.
    let server = start(
        dir.path(),
        &["--max-batch-size", "1", "--inference-queue-depth", "4"],
    )
    .await;
    let c = server.clients().await;
    let predict = {
        let rows = rows.clone();
        move || {
            let mut c = c.clone();
            let req = pb::PredictRequest {
                model: "digits".into(),
                features: vec![pb::FeatureVector {
                    values: rows[0].clone(),
                }],
                texts: vec![],
            };
            async move { c.inference.predict(req).await.map(|_| ()) }
        }
    };
    let mut outcome = hammer(phase_secs().min(Duration::from_secs(2)), predict.clone()).await;
    outcome.report("Predict, 64 callers, queue limit 4");
    assert!(
        outcome.other_errors.is_empty(),
        "{:?}",
        &outcome.other_errors[..outcome.other_errors.len().min(5)]
    );
    assert!(outcome.exhausted > 0, "64 callers overflow a queue of 4");
    assert!(
        !outcome.latencies.is_empty(),
        "requests within the limit are still served"
    );
    predict()
        .await
        .expect("the server still serves after the overload");
    server.stop().await;
}

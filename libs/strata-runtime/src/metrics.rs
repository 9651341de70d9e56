//! Prometheus metrics: the one list of metric names every strata binary exports, the global
//! recorder, and the `/metrics` endpoint.
//!
//! Dashboards and alerts (infra/k8s) refer to these names, so they change only deliberately.

use std::sync::OnceLock;

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// HTTP requests served by the web API, by `method`, `route` (the matched pattern) and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "strata_http_requests_total";
/// Latency of those requests in seconds, same labels.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "strata_http_request_duration_seconds";
/// gRPC calls served by the ML service, by `service`, `method` and `code` (grpc-status name).
pub const GRPC_REQUESTS_TOTAL: &str = "strata_grpc_requests_total";
/// Latency of those calls in seconds, same labels.
pub const GRPC_REQUEST_DURATION_SECONDS: &str = "strata_grpc_request_duration_seconds";
/// Inference requests waiting for a batch, over all models (bounded by the queue depth limit).
pub const INFERENCE_QUEUE_DEPTH: &str = "strata_inference_queue_depth";
/// The most inference requests that may wait (`--inference-queue-depth`), for saturation alerts.
pub const INFERENCE_QUEUE_CAPACITY: &str = "strata_inference_queue_capacity";
/// The most training jobs that may wait (`--job-queue-depth`), for saturation alerts.
pub const TRAINING_QUEUE_CAPACITY: &str = "strata_training_queue_capacity";
/// Inputs per model run of the dynamic batcher; a mean near 1 under load means no batching.
pub const INFERENCE_BATCH_SIZE: &str = "strata_inference_batch_size";
/// Training jobs by `state` (queued, running, succeeded, failed, cancelled).
pub const TRAINING_JOBS: &str = "strata_training_jobs";
/// Estimated bytes of the models loaded in the ML service's model cache.
pub const MODEL_CACHE_BYTES: &str = "strata_model_cache_bytes";
/// Seconds an inference request waited in the batcher's queue before its batch ran.
pub const INFERENCE_QUEUE_WAIT_SECONDS: &str = "strata_inference_queue_wait_seconds";
/// Seconds one model run (forward pass) of a batch took.
pub const INFERENCE_FORWARD_SECONDS: &str = "strata_inference_forward_seconds";
/// Seconds between two optimizer steps of a training job (data loading included), by `kind`.
pub const TRAINING_STEP_DURATION_SECONDS: &str = "strata_training_step_duration_seconds";
/// Training jobs that ended on this replica, by `kind` and `outcome` (succeeded, failed,
/// cancelled); `strata_training_jobs` is a gauge over the shared queue, this counts events.
pub const TRAINING_JOBS_FINISHED_TOTAL: &str = "strata_training_jobs_finished_total";
/// Sequences of a text generator's engine, by `model` and `state` (active: decoding in shared
/// steps; waiting: queued for a slot). Updated after every decoder step.
pub const GENERATION_SEQUENCES: &str = "strata_generation_sequences";
/// Tokens a text generator read (`type="prompt"`) and wrote (`type="completion"`), by `model`.
pub const GENERATION_TOKENS_TOTAL: &str = "strata_generation_tokens_total";

/// Every metric name above, for the checks that dashboards and alerts name only these.
pub const ALL: &[&str] = &[
    HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS,
    GRPC_REQUESTS_TOTAL,
    GRPC_REQUEST_DURATION_SECONDS,
    INFERENCE_QUEUE_DEPTH,
    INFERENCE_QUEUE_CAPACITY,
    TRAINING_QUEUE_CAPACITY,
    INFERENCE_BATCH_SIZE,
    TRAINING_JOBS,
    MODEL_CACHE_BYTES,
    INFERENCE_QUEUE_WAIT_SECONDS,
    INFERENCE_FORWARD_SECONDS,
    TRAINING_STEP_DURATION_SECONDS,
    TRAINING_JOBS_FINISHED_TOTAL,
    GENERATION_SEQUENCES,
    GENERATION_TOKENS_TOTAL,
];

/// Batch-size buckets: powers of two up to the largest configurable batch.
const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

/// Latency buckets (seconds) from 1 ms to 60 s: inference is milliseconds, uploads are seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns its handle; later calls return the same
/// handle (tests start several servers in one process).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(INFERENCE_BATCH_SIZE.to_owned()),
                        BATCH_SIZE_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is already global (an embedding application installed its
                // own); keep a private one so /metrics still renders instead of failing start-up.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// `/metrics` ([`router`]) served on a listener of its own until [`MetricsServer::stop`]; both
/// services run it beside their public server.
pub struct MetricsServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl MetricsServer {
    pub fn spawn(listener: tokio::net::TcpListener) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(
            axum::serve(listener, router())
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        Self { stop, task }
    }

    /// Stops serving and waits until it has; a panic of its task comes back as an error.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// A router serving `GET /metrics` in the Prometheus text format. Servers serve it on a listener
/// of its own (`--metrics-listen`), never on their public port: scrapes stay inside the cluster.
pub fn router() -> Router {
    let handle = install();
    Router::new().route("/metrics", get(move || std::future::ready(handle.render())))
}

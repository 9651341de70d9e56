//! The strata ML service: a tonic gRPC server exposing the ML core (datasets, training jobs,
//! models, inference) plus `grpc.health.v1` and gRPC reflection.
//!
//! `main.rs` only parses [`Config`] and calls [`serve`]; tests call [`serve`] on a loopback
//! listener, so they exercise exactly the server the binary runs.
//!
//! Layout under the data directory: `artifacts/` (the strata-data artifact store: datasets,
//! model versions, checkpoints; `--artifact-url` may name object storage instead), `meta.db` (the default SQLite metadata store of strata-meta:
//! jobs, their events, aliases; `--metadata-url` may name PostgreSQL instead), `uploads/` and
//! `work/` (scratch files, one folder per replica, emptied when it starts). Several replicas may share one data directory and one
//! PostgreSQL database: the job queue is in the database.
//!
//! Architecture invariant: this crate speaks gRPC and nothing else. It depends on the contracts
//! (`strata-proto`) and the layers below it, never on the web API or the clients. Failures
//! become statuses only in [`error`].

mod batcher;
pub mod config;
mod convert;
mod datasets;
mod error;
mod inference;
mod jobs;
mod legacy;
mod models;
mod paging;
mod registry;
mod system;
mod telemetry;
mod training;

use std::future::{Future, IntoFuture};
use std::sync::Arc;

use strata_core::{Device, DeviceSpec, Registry};
use strata_data::{ArtifactStore, FsArtifactStore, ObjectArtifactStore};
use strata_proto::strata::ml::v1::dataset_service_server::DatasetServiceServer;
use strata_proto::strata::ml::v1::inference_service_server::InferenceServiceServer;
use strata_proto::strata::ml::v1::model_service_server::ModelServiceServer;
use strata_proto::strata::ml::v1::system_service_server::SystemServiceServer;
use strata_proto::strata::ml::v1::training_service_server::TrainingServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub use config::Config;
pub use system::SystemInfoService;
pub use telemetry::TelemetryLayer;

/// The contracts' encoded `FileDescriptorSet`, served by gRPC reflection.
const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(env!("STRATA_PROTO_DESCRIPTOR_SET"));

/// Largest gRPC message: an upload chunk of 4 MiB plus its framing.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024 + 64 * 1024;

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("device: {0}")]
    Device(#[from] strata_core::CoreError),
    #[error("cannot open the data directory: {0}")]
    Storage(String),
    #[error("metadata store: {0}")]
    Metadata(String),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("metrics endpoint failed: {0}")]
    Metrics(#[from] std::io::Error),
}

/// Serves the ML service on `listener` (gRPC) and `metrics_listener` (HTTP `/metrics`) until
/// `shutdown` resolves; then stops taking calls, ends watch streams, checkpoints running jobs
/// (they resume at the next start) and drains in-flight calls.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (device, device_name) = resolve_device(&config.device)?;
    let storage = |e: &dyn std::fmt::Display| {
        ServeError::Storage(format!("{}: {e}", config.data_dir.display()))
    };
    let store: Arc<dyn ArtifactStore> = match &config.artifact_url {
        None => Arc::new(
            FsArtifactStore::open(config.data_dir.join("artifacts")).map_err(|e| storage(&e))?,
        ),
        Some(url) => Arc::new(
            ObjectArtifactStore::open(url).map_err(|e| ServeError::Storage(e.to_string()))?,
        ),
    };
    let meta = open_metadata(config).await?;
    let kinds = Arc::new(Registry::builtin());
    let model_kinds = kinds.names().into_iter().map(str::to_owned).collect();
    let batch = batcher::BatchConfig {
        max_batch: config.max_batch_size as usize,
        max_wait: config.max_batch_wait(),
    };
    let queue = batcher::QueueLimit::new(config.inference_queue_depth as usize);
    let registry = Arc::new(registry::ModelRegistry::new(
        store.clone(),
        meta.clone(),
        kinds,
        device,
        batch,
        queue,
        config.model_cache_bytes,
    ));
    // Scratch space of this replica only: replicas sharing the data directory must not remove
    // each other's files when they start.
    let scratch = config.replica().replace(
        |c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'),
        "_",
    );
    let datasets = Arc::new(
        datasets::Datasets::new(
            store.clone(),
            &config.data_dir.join("uploads").join(&scratch),
        )
        .map_err(|e| storage(&e))?,
    );
    let work_dir = config.data_dir.join("work").join(&scratch);
    let _ = std::fs::remove_dir_all(&work_dir);
    let jobs = jobs::JobManager::start(
        meta,
        store,
        registry.clone(),
        datasets.clone(),
        work_dir,
        jobs::JobLimits {
            max_concurrent: config.max_concurrent_jobs as usize,
            queue_depth: config.job_queue_depth as usize,
            replica: config.replica(),
            lease: config.job_lease(),
        },
    )
    .map_err(|e| storage(&e))?;

    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics_server = tokio::spawn(
        axum::serve(metrics_listener, strata_runtime::metrics::router())
            .with_graceful_shutdown(async {
                let _ = metrics_stopped.await;
            })
            .into_future(),
    );
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<SystemServiceServer<SystemInfoService>>()
        .await;
    health_reporter
        .set_serving::<DatasetServiceServer<datasets::DatasetApi>>()
        .await;
    health_reporter
        .set_serving::<TrainingServiceServer<training::TrainingApi>>()
        .await;
    health_reporter
        .set_serving::<ModelServiceServer<models::ModelApi>>()
        .await;
    health_reporter
        .set_serving::<InferenceServiceServer<inference::InferenceApi>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Storage(format!("reflection descriptors: {e}")))?;

    // On shutdown: report NOT_SERVING, end watch streams and checkpoint jobs while tonic drains,
    // since open watch streams would otherwise hold the drain forever.
    let stopping = {
        let jobs = jobs.clone();
        let health = health_reporter.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: draining calls and checkpointing running jobs");
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
            jobs.shutdown().await;
        }
    };

    let system = SystemInfoService::new(device_name, model_kinds);
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "strata-ml serving gRPC");
    let served = tonic::transport::Server::builder()
        .layer(TelemetryLayer)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(SystemServiceServer::new(system))
        .add_service(
            DatasetServiceServer::new(datasets::DatasetApi {
                datasets,
                max_upload_bytes: config.max_upload_bytes,
            })
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(TrainingServiceServer::new(training::TrainingApi {
            jobs: jobs.clone(),
        }))
        .add_service(ModelServiceServer::new(models::ModelApi {
            registry: registry.clone(),
        }))
        .add_service(
            InferenceServiceServer::new(inference::InferenceApi { registry })
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stopping)
        .await;
    // Also when the transport failed: running jobs must still checkpoint.
    jobs.shutdown().await;
    let _ = stop_metrics.send(());
    let metrics_result = metrics_server.await;
    served?;
    match metrics_result {
        Ok(result) => result?,
        Err(join) => tracing::error!(%join, "metrics endpoint task failed"),
    }
    tracing::info!("strata-ml stopped");
    Ok(())
}

/// Connects to the metadata store (SQLite in the data directory unless `--metadata-url` says
/// otherwise), migrates it, and imports the metadata of an earlier version's `meta/` directory.
async fn open_metadata(config: &Config) -> Result<Arc<dyn strata_meta::MetadataStore>, ServeError> {
    let url = match &config.metadata_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| ServeError::Storage(format!("{}: {e}", config.data_dir.display())))?;
            let dir = std::fs::canonicalize(&config.data_dir)
                .map_err(|e| ServeError::Storage(format!("{}: {e}", config.data_dir.display())))?;
            // `?` and `#` would end the path part of the URL.
            let path = dir
                .join("meta.db")
                .display()
                .to_string()
                .replace('%', "%25")
                .replace('?', "%3F")
                .replace('#', "%23");
            format!("sqlite:{path}")
        }
    };
    let meta = strata_meta::connect(&url)
        .await
        .map_err(|e| ServeError::Metadata(e.to_string()))?;
    legacy::import_if_present(&meta, &config.data_dir)
        .await
        .map_err(ServeError::Metadata)?;
    Ok(Arc::new(meta))
}

/// The device models run on, and its name as GetSystemInfo reports it. The core decides (and
/// logs) what `auto` means.
fn resolve_device(requested: &str) -> Result<(Device, String), ServeError> {
    let device = requested.parse::<DeviceSpec>()?.resolve()?;
    let name = match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_owned(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    };
    Ok((device, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_builds_serve_on_cpu_and_refuse_cuda_clearly() {
        assert_eq!(
            resolve_device("cpu").ok().map(|d| d.1).as_deref(),
            Some("cpu")
        );
        assert_eq!(
            resolve_device("auto").ok().map(|d| d.1).as_deref(),
            Some("cpu")
        );
        if !cfg!(feature = "cuda") {
            let err = resolve_device("cuda:0").expect_err("no CUDA in this build");
            assert!(err.to_string().contains("cuda:0"), "{err}");
        }
        assert!(resolve_device("tpu").is_err());
    }
}

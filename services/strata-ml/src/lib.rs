//! The strata ML service: a tonic gRPC server exposing the ML core (datasets, training jobs,
//! models, inference) plus `grpc.health.v1`, and gRPC reflection with `--grpc-reflection`.
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
pub mod callers;
pub mod config;
mod convert;
mod datasets;
pub mod error;
mod generation;
mod inference;
mod jobs;
mod models;
mod paging;
mod registry;
mod system;
mod telemetry;
mod training;

use std::future::Future;
use std::sync::Arc;

use strata_core::{DeviceSpec, Registry};
use strata_data::{ArtifactStore, FsArtifactStore, ObjectArtifactStore};
use strata_proto::strata::ml::v1::dataset_service_server::DatasetServiceServer;
use strata_proto::strata::ml::v1::generation_service_server::GenerationServiceServer;
use strata_proto::strata::ml::v1::inference_service_server::InferenceServiceServer;
use strata_proto::strata::ml::v1::model_service_server::ModelServiceServer;
use strata_proto::strata::ml::v1::system_service_server::SystemServiceServer;
use strata_proto::strata::ml::v1::training_service_server::TrainingServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::server::NamedService;
use tonic::transport::{Identity, ServerTlsConfig};

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
    /// The requested device cannot be used (the core's one-line `device: ...` message).
    #[error(transparent)]
    Device(#[from] strata_core::CoreError),
    #[error("cannot open the data directory: {0}")]
    Storage(String),
    #[error("metadata store: {0}")]
    Metadata(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("TLS: {0}")]
    Tls(#[source] tonic::transport::Error),
    #[error("cannot read TLS {what} {path}: {source}")]
    TlsFile {
        what: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("health endpoint {addr}: {source}")]
    Health {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("metrics endpoint failed: {0}")]
    Metrics(#[from] std::io::Error),
}

/// Serves the ML service on `listener` (gRPC, over TLS when `--tls-cert`/`--tls-key` are set)
/// and `metrics_listener` (HTTP `/metrics`) until `shutdown` resolves; then reports every
/// service NOT_SERVING, stops taking calls, ends watch streams, checkpoints running jobs (they
/// resume at the next start) and drains in-flight calls.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    // First: values recorded before the recorder exists are lost (the model cache's 0 bytes).
    strata_runtime::metrics::install();
    config
        .generation_limits()
        .check()
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let resolved = resolve_device(&config.device)?;
    let device_name = strata_core::device::label(&resolved.device);
    let device_note = resolved.fallback.unwrap_or_default();
    tracing::info!(device = %device_name, requested = %config.device, note = %device_note, "compute device");
    // Before anything else starts: a bad certificate must stop the server, not the first call.
    let tls = tls_config(config)?;
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
    let batch = batcher::BatchConfig {
        max_batch: config.max_batch_size as usize,
        max_wait: config.max_batch_wait(),
        max_request: config.max_request_inputs as usize,
    };
    let queue = batcher::QueueLimit::new(config.inference_queue_depth as usize);
    let registry = Arc::new(
        registry::ModelRegistry::new(
            store.clone(),
            meta.clone(),
            kinds,
            resolved.device,
            batch,
            queue,
            config.model_cache_bytes,
        )
        .with_generation(config.generation_limits()),
    );
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
            config.dataset_limits(),
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
            max_parameters: config.max_train_parameters,
            max_steps: config.max_train_steps,
        },
    )
    .map_err(|e| storage(&e))?;

    // The limits, next to the depths they bound, so saturation alerts need no configuration.
    metrics::gauge!(strata_runtime::metrics::INFERENCE_QUEUE_CAPACITY)
        .set(f64::from(config.inference_queue_depth));
    metrics::gauge!(strata_runtime::metrics::TRAINING_QUEUE_CAPACITY)
        .set(f64::from(config.job_queue_depth));
    let metrics_server = strata_runtime::metrics::MetricsServer::spawn(metrics_listener);
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    for service in HEALTH_SERVICES {
        health_reporter
            .set_service_status(service, tonic_health::ServingStatus::Serving)
            .await;
    }
    // The same statuses in plaintext for probes that cannot do (mutual) TLS; it outlives the
    // drain of the main server, so probes see NOT_SERVING rather than a refused connection.
    let (stop_health, health_stopped) = tokio::sync::oneshot::channel::<()>();
    let health_server = match config.health_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Health { addr, source })?;
            tracing::info!(%addr, "strata-ml serving grpc.health.v1 in plaintext");
            Some(tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(health_service.clone())
                    .serve_with_incoming_shutdown(incoming(listener), async {
                        let _ = health_stopped.await;
                    }),
            ))
        }
        None => None,
    };
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
            // Every service, not only the server as a whole: probes and load balancers may
            // watch one service by name, and must stop routing to it before the drain starts.
            for service in HEALTH_SERVICES {
                health
                    .set_service_status(service, tonic_health::ServingStatus::NotServing)
                    .await;
            }
            jobs.shutdown().await;
        }
    };

    let caller_keys = match &config.caller_keys {
        Some(spec) => Some(
            strata_runtime::caller::CallerKeys::parse(spec)
                .map_err(|e| ServeError::Config(e.to_string()))?,
        ),
        None => {
            tracing::warn!(
                "no --caller-keys: every caller that can connect is accepted (fine on a developer's loopback, not in a cluster)"
            );
            None
        }
    };
    let import_dir = config.import_dir();
    std::fs::create_dir_all(&import_dir).map_err(|e| storage(&e))?;
    let system =
        SystemInfoService::new(device_name, registry.kinds()).with_device_note(device_note);
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "strata-ml serving gRPC");
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        server = server.tls_config(tls).map_err(ServeError::Tls)?;
    }
    let served = server
        .layer(TelemetryLayer)
        .layer(callers::CallerAuthLayer::new(caller_keys))
        .add_service(health_service)
        // Reflection lists every RPC to anyone who can connect: off unless asked for.
        .add_optional_service(config.grpc_reflection.then_some(reflection))
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
            import_dir,
            protected_aliases: config.protected_aliases.clone(),
        }))
        .add_service(
            InferenceServiceServer::new(inference::InferenceApi {
                registry: registry.clone(),
            })
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            GenerationServiceServer::new(generation::GenerationApi {
                registry,
                max_tokens: config.generate_max_tokens as usize,
            })
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .serve_with_incoming_shutdown(incoming(listener), stopping)
        .await;
    // Also when the transport failed: running jobs must still checkpoint.
    jobs.shutdown().await;
    let _ = stop_health.send(());
    if let Some(health) = health_server {
        match health.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "health endpoint failed"),
            Err(e) => tracing::warn!(error = %e, "health endpoint task failed"),
        }
    }
    let metrics_result = metrics_server.stop().await;
    served?;
    metrics_result?;
    // The spans of the last calls, before the process ends with them.
    strata_runtime::telemetry::flush();
    tracing::info!("strata-ml stopped");
    Ok(())
}

/// The connections `listener` accepts, with TCP_NODELAY set: a small response goes out at once
/// instead of waiting up to ~40 ms for the peer's delayed ACK (Nagle). tonic applies its own
/// `tcp_nodelay` only to listeners it binds itself, not to `serve_with_incoming`.
pub fn incoming(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        accepted.and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    })
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
    Ok(Arc::new(meta))
}

/// The gRPC services whose health `grpc.health.v1` reports, by name; `""` is the server as a whole.
const HEALTH_SERVICES: [&str; 7] = [
    "",
    <SystemServiceServer<SystemInfoService> as NamedService>::NAME,
    <DatasetServiceServer<datasets::DatasetApi> as NamedService>::NAME,
    <TrainingServiceServer<training::TrainingApi> as NamedService>::NAME,
    <ModelServiceServer<models::ModelApi> as NamedService>::NAME,
    <InferenceServiceServer<inference::InferenceApi> as NamedService>::NAME,
    <GenerationServiceServer<generation::GenerationApi> as NamedService>::NAME,
];

/// The server's TLS identity when `--tls-cert` and `--tls-key` are given (clap requires both).
fn tls_config(config: &Config) -> Result<Option<ServerTlsConfig>, ServeError> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let read = |what, path: &std::path::PathBuf| {
        std::fs::read(path).map_err(|source| ServeError::TlsFile {
            what,
            path: path.clone(),
            source,
        })
    };
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(
        read("certificate", cert)?,
        read("key", key)?,
    ));
    // Mutual TLS: only clients with a certificate this CA signed complete the handshake.
    if let Some(ca) = &config.tls_client_ca {
        tls = tls.client_ca_root(tonic::transport::Certificate::from_pem(read(
            "client CA",
            ca,
        )?));
    }
    // Building the acceptor parses both files, so a bad pair fails here, at start-up.
    tonic::transport::Server::builder()
        .tls_config(tls.clone())
        .map_err(ServeError::Tls)?;
    Ok(Some(tls))
}

/// The device models run on, resolved once at start-up by the core (the one place that knows
/// `cpu`, `cuda[:N]` and `auto`); an `auto` fallback to the CPU comes with its reason.
fn resolve_device(requested: &str) -> Result<strata_core::Resolved, ServeError> {
    Ok(requested.parse::<DeviceSpec>()?.resolve_explained()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_resolve_through_the_core() {
        let cpu = resolve_device("cpu").expect("cpu always resolves");
        assert!(cpu.device.is_cpu() && cpu.fallback.is_none());
        let err = resolve_device("tpu").expect_err("not a device");
        assert!(err.to_string().starts_with("device: `tpu`"), "{err}");
        if !cfg!(feature = "cuda") {
            let auto = resolve_device("auto").expect("auto falls back");
            assert!(auto.device.is_cpu());
            assert_eq!(
                auto.fallback.as_deref(),
                Some("auto: this build has no CUDA support; using cpu")
            );
            let err = resolve_device("cuda:0").expect_err("no CUDA in this build");
            assert!(err.to_string().starts_with("device: cuda:0"), "{err}");
        }
    }
}

//! The strata ML service: a tonic gRPC server exposing the ML core (datasets, training jobs,
//! models, inference) plus `grpc.health.v1`.
//!
//! `main.rs` only parses [`Config`] and calls [`serve`]; tests call [`serve`] on a loopback
//! listener, so they exercise exactly the server the binary runs.
//!
//! Architecture invariant: this crate speaks gRPC and nothing else. It depends on the contracts
//! (`strata-proto`) and the layers below it, never on the web API or the clients.

pub mod config;
mod system;
mod telemetry;

use std::future::{Future, IntoFuture};

use strata_proto::strata::ml::v1::system_service_server::SystemServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub use config::Config;
pub use system::SystemInfoService;
pub use telemetry::TelemetryLayer;

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("unsupported device {0:?}: this build supports only \"cpu\"")]
    UnsupportedDevice(String),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("metrics endpoint failed: {0}")]
    Metrics(#[from] std::io::Error),
}

/// Serves the ML service on `listener` (gRPC) and `metrics_listener` (HTTP `/metrics`) until
/// `shutdown` resolves, then drains in-flight calls.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let device = resolve_device(&config.device)?;
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics_server = tokio::spawn(
        axum::serve(metrics_listener, strata_runtime::metrics::router())
            .with_graceful_shutdown(async {
                let _ = metrics_stopped.await;
            })
            .into_future(),
    );
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<SystemServiceServer<SystemInfoService>>().await;

    let system = SystemInfoService::new(device, Vec::new());
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "strata-ml serving gRPC");
    let served = tonic::transport::Server::builder()
        .layer(TelemetryLayer)
        .add_service(health_service)
        .add_service(SystemServiceServer::new(system))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await;
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

fn resolve_device(requested: &str) -> Result<String, ServeError> {
    match requested {
        "cpu" | "auto" => Ok("cpu".to_owned()),
        other => Err(ServeError::UnsupportedDevice(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_builds_serve_on_cpu_and_refuse_cuda_clearly() {
        assert_eq!(resolve_device("cpu").ok().as_deref(), Some("cpu"));
        assert_eq!(resolve_device("auto").ok().as_deref(), Some("cpu"));
        let err = resolve_device("cuda:0").expect_err("no CUDA in this build");
        assert!(err.to_string().contains("cuda:0"), "{err}");
    }
}

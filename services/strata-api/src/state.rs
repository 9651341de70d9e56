//! The one shared state of the API, built once in [`AppState::new`] and passed with `with_state`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use strata_proto::strata::ml::v1::dataset_service_client::DatasetServiceClient;
use strata_proto::strata::ml::v1::inference_service_client::InferenceServiceClient;
use strata_proto::strata::ml::v1::model_service_client::ModelServiceClient;
use strata_proto::strata::ml::v1::system_service_client::SystemServiceClient;
use strata_proto::strata::ml::v1::training_service_client::TrainingServiceClient;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::health_client::HealthClient;

use crate::auth::Authenticator;
use crate::telemetry::TracedChannel;

/// Everything handlers share. Cheap to clone: the gRPC channel is a handle to one connection pool.
#[derive(Clone)]
pub struct AppState {
    pub ml: MlClient,
    pub auth: Arc<Authenticator>,
}

impl AppState {
    pub fn new(ml: MlClient, auth: Authenticator) -> Self {
        Self {
            ml,
            auth: Arc::new(auth),
        }
    }
}

/// Typed gRPC clients for the ML service, all over one lazily connected channel; every call gets
/// a client span and carries the trace to the ML service.
#[derive(Clone)]
pub struct MlClient {
    channel: TracedChannel,
}

/// The ML service's address or TLS settings are unusable; the API refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum MlClientError {
    #[error("invalid ML service URL {url:?}: {source}")]
    InvalidUrl {
        url: String,
        source: tonic::transport::Error,
    },
    #[error("cannot read the ML service's CA certificate {path}: {source}")]
    ReadCa {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS settings for the ML service: {0}")]
    Tls(#[source] tonic::transport::Error),
    #[error("a CA certificate for the ML service is set, but its URL {0:?} is not https://")]
    CaWithoutHttps(String),
}

impl MlClient {
    /// Prepares a channel without connecting, so the API starts (and reports not-ready) while the
    /// ML service is still down; every call then carries `timeout` as its gRPC deadline.
    ///
    /// An `https://` URL is verified against `ca` (a PEM file) if given, else against the
    /// operating system's trust store.
    pub fn connect_lazy(
        url: &str,
        timeout: Duration,
        ca: Option<&Path>,
    ) -> Result<Self, MlClientError> {
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|source| MlClientError::InvalidUrl {
                url: url.to_owned(),
                source,
            })?
            .connect_timeout(Duration::from_secs(2).min(timeout))
            .timeout(timeout);
        let https = endpoint.uri().scheme_str() == Some("https");
        if https {
            let tls = match ca {
                Some(path) => {
                    let pem = std::fs::read(path).map_err(|source| MlClientError::ReadCa {
                        path: path.to_owned(),
                        source,
                    })?;
                    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                }
                None => ClientTlsConfig::new().with_native_roots(),
            };
            endpoint = endpoint.tls_config(tls).map_err(MlClientError::Tls)?;
        } else if ca.is_some() {
            return Err(MlClientError::CaWithoutHttps(url.to_owned()));
        }
        Ok(Self {
            channel: TracedChannel::new(endpoint.connect_lazy()),
        })
    }

    pub fn system(&self) -> SystemServiceClient<TracedChannel> {
        SystemServiceClient::new(self.channel.clone())
    }

    pub fn health(&self) -> HealthClient<TracedChannel> {
        HealthClient::new(self.channel.clone())
    }

    pub fn datasets(&self) -> DatasetServiceClient<TracedChannel> {
        DatasetServiceClient::new(self.channel.clone())
    }

    pub fn training(&self) -> TrainingServiceClient<TracedChannel> {
        TrainingServiceClient::new(self.channel.clone())
    }

    pub fn models(&self) -> ModelServiceClient<TracedChannel> {
        ModelServiceClient::new(self.channel.clone())
    }

    pub fn inference(&self) -> InferenceServiceClient<TracedChannel> {
        InferenceServiceClient::new(self.channel.clone())
            .max_decoding_message_size(64 * 1024 * 1024)
    }
}

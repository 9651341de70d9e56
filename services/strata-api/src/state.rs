//! The one shared state of the API, built once in [`AppState::new`] and passed with `with_state`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use strata_proto::strata::ml::v1::dataset_service_client::DatasetServiceClient;
use strata_proto::strata::ml::v1::generation_service_client::GenerationServiceClient;
use strata_proto::strata::ml::v1::inference_service_client::InferenceServiceClient;
use strata_proto::strata::ml::v1::model_service_client::ModelServiceClient;
use strata_proto::strata::ml::v1::system_service_client::SystemServiceClient;
use strata_proto::strata::ml::v1::training_service_client::TrainingServiceClient;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::health_client::HealthClient;

use crate::auth::Authenticator;
use crate::backoff::SignInBackoff;
use crate::telemetry::TracedChannel;

/// Everything handlers share. Cheap to clone: the gRPC channel is a handle to one connection pool.
#[derive(Clone)]
pub struct AppState {
    pub ml: MlClient,
    pub auth: Arc<Authenticator>,
    /// Back-off of failed sign-ins, shared by every request of this replica.
    pub sign_in: Arc<SignInBackoff>,
    /// Where an upload's `file` part waits for its `metadata` part.
    pub spool_dir: Arc<std::path::PathBuf>,
    /// The caps on open event streams and how often their tokens are checked again.
    pub event_streams: Arc<crate::streams::EventStreams>,
}

impl AppState {
    pub fn new(ml: MlClient, auth: Authenticator, sign_in: SignInBackoff) -> Self {
        Self {
            ml,
            auth: Arc::new(auth),
            sign_in: Arc::new(sign_in),
            spool_dir: Arc::new(std::env::temp_dir()),
            event_streams: Arc::new(crate::streams::EventStreams::new(
                1024,
                16,
                Duration::from_secs(30),
            )),
        }
    }

    pub fn with_event_streams(mut self, streams: crate::streams::EventStreams) -> Self {
        self.event_streams = Arc::new(streams);
        self
    }

    pub fn with_spool_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.spool_dir = Arc::new(dir);
        self
    }
}

/// Typed gRPC clients for the ML service, all over one lazily connected channel; every call gets
/// a client span and carries the trace to the ML service.
#[derive(Clone)]
pub struct MlClient {
    channel: TracedChannel,
    endpoint_channel: tonic::transport::Channel,
    caller_keys: Option<Arc<strata_runtime::caller::CallerKeys>>,
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
    #[error("cannot read the API's client {what} {path} for the ML service: {source}")]
    ReadIdentity {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a client certificate for the ML service is set, but its URL {0:?} is not https://")]
    IdentityWithoutHttps(String),
}

/// A PEM certificate and key the API presents to the ML service (mutual TLS).
#[derive(Debug, Clone, Copy)]
pub struct ClientIdentity<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
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
        identity: Option<ClientIdentity<'_>>,
    ) -> Result<Self, MlClientError> {
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|source| MlClientError::InvalidUrl {
                url: url.to_owned(),
                source,
            })?
            .connect_timeout(Duration::from_secs(2).min(timeout))
            .timeout(timeout)
            // Small requests leave at once rather than after the peer's delayed ACK.
            .tcp_nodelay(true);
        let https = endpoint.uri().scheme_str() == Some("https");
        if https {
            let mut tls = match ca {
                Some(path) => {
                    let pem = std::fs::read(path).map_err(|source| MlClientError::ReadCa {
                        path: path.to_owned(),
                        source,
                    })?;
                    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                }
                None => ClientTlsConfig::new().with_native_roots(),
            };
            if let Some(identity) = identity {
                let read = |what, path: &Path| {
                    std::fs::read(path).map_err(|source| MlClientError::ReadIdentity {
                        what,
                        path: path.to_owned(),
                        source,
                    })
                };
                tls = tls.identity(tonic::transport::Identity::from_pem(
                    read("certificate", identity.cert)?,
                    read("key", identity.key)?,
                ));
            }
            endpoint = endpoint.tls_config(tls).map_err(MlClientError::Tls)?;
        } else if ca.is_some() {
            return Err(MlClientError::CaWithoutHttps(url.to_owned()));
        } else if identity.is_some() {
            return Err(MlClientError::IdentityWithoutHttps(url.to_owned()));
        }
        let channel = endpoint.connect_lazy();
        Ok(Self {
            channel: TracedChannel::new(channel.clone(), None),
            endpoint_channel: channel,
            caller_keys: None,
        })
    }

    /// Signs a caller token for every call (the principal's when `RequestContext::grpc` knows it,
    /// else the API's own), for an ML service started with `--caller-keys`.
    pub fn with_caller_keys(mut self, keys: strata_runtime::caller::CallerKeys) -> Self {
        let keys = Arc::new(keys);
        self.channel = TracedChannel::new(self.endpoint_channel.clone(), Some(keys.clone()));
        self.caller_keys = Some(keys);
        self
    }

    /// The keys caller tokens are signed with, if any.
    pub fn caller_keys(&self) -> Option<&Arc<strata_runtime::caller::CallerKeys>> {
        self.caller_keys.as_ref()
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

    pub fn generation(&self) -> GenerationServiceClient<TracedChannel> {
        GenerationServiceClient::new(self.channel.clone())
    }

    pub fn inference(&self) -> InferenceServiceClient<TracedChannel> {
        InferenceServiceClient::new(self.channel.clone())
            .max_decoding_message_size(64 * 1024 * 1024)
    }
}

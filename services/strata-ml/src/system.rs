//! `strata.ml.v1.SystemService`: what this process is and what it can do.

use std::time::Instant;

use strata_core::{InputType, Registry, TrainSettings};
use strata_proto::strata::ml::v1::system_service_server::SystemService;
use strata_proto::strata::ml::v1::{GetSystemInfoRequest, GetSystemInfoResponse, ModelKindInfo};
use strata_runtime::structs::to_struct;
use tonic::{Request, Response, Status};

/// Answers `GetSystemInfo` from facts fixed at start-up.
#[derive(Debug, Clone)]
pub struct SystemInfoService {
    started: Instant,
    device: String,
    device_note: String,
    kinds: Vec<ModelKindInfo>,
    hyperparameters: Option<prost_types::Struct>,
}

impl SystemInfoService {
    /// Describes the kinds of `registry` once: they are fixed for the life of the process.
    pub fn new(device: String, registry: &Registry) -> Self {
        let kinds = registry
            .describe()
            .into_iter()
            .map(|k| ModelKindInfo {
                name: k.name.into(),
                title: k.title.into(),
                description: k.description.into(),
                input: match k.input {
                    InputType::Features => "features",
                    InputType::Text => "text",
                    InputType::Prompt => "prompt",
                }
                .into(),
                trainable: k.trainable,
                base_kind: k.base_kind.unwrap_or_default().into(),
                parameters: to_struct(&k.parameters),
            })
            .collect();
        Self {
            started: Instant::now(),
            device,
            device_note: String::new(),
            kinds,
            hyperparameters: to_struct(&TrainSettings::schema()),
        }
    }

    /// Records why `device` differs from what was asked (an `auto` fallback), for readiness.
    pub fn with_device_note(mut self, note: impl Into<String>) -> Self {
        self.device_note = note.into();
        self
    }
}

#[tonic::async_trait]
impl SystemService for SystemInfoService {
    async fn get_system_info(
        &self,
        _request: Request<GetSystemInfoRequest>,
    ) -> Result<Response<GetSystemInfoResponse>, Status> {
        Ok(Response::new(GetSystemInfoResponse {
            service: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            device: self.device.clone(),
            device_note: self.device_note.clone(),
            cuda_compiled: cfg!(feature = "cuda"),
            uptime_seconds: self.started.elapsed().as_secs(),
            model_kinds: self.kinds.iter().map(|k| k.name.clone()).collect(),
            kinds: self.kinds.clone(),
            hyperparameters: self.hyperparameters.clone(),
        }))
    }
}

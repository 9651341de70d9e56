//! `strata.ml.v1.SystemService`: what this process is and what it can do.

use std::time::Instant;

use strata_proto::strata::ml::v1::system_service_server::SystemService;
use strata_proto::strata::ml::v1::{GetSystemInfoRequest, GetSystemInfoResponse};
use tonic::{Request, Response, Status};

/// Answers `GetSystemInfo` from facts fixed at start-up.
#[derive(Debug, Clone)]
pub struct SystemInfoService {
    started: Instant,
    device: String,
    device_note: String,
    model_kinds: Vec<String>,
}

impl SystemInfoService {
    pub fn new(device: String, model_kinds: Vec<String>) -> Self {
        Self {
            started: Instant::now(),
            device,
            device_note: String::new(),
            model_kinds,
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
            model_kinds: self.model_kinds.clone(),
        }))
    }
}

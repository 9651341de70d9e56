//! `GET /v1/system`: what the ML service behind this API runs on and can do.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use strata_proto::strata::ml::v1::GetSystemInfoRequest;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::middleware::RequestContext;
use crate::state::AppState;

/// The API's and the ML service's versions and capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SystemInfo {
    /// Version of the web API binary.
    pub api_version: String,
    /// The ML service this API talks to.
    pub ml: MlServiceInfo,
}

/// What the ML service reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MlServiceInfo {
    /// Service name, e.g. `strata-ml`.
    pub service: String,
    /// Version of the ML service binary.
    pub version: String,
    /// Compute device models run on, e.g. `cpu` or `cuda:0`.
    pub device: String,
    /// Whether the ML service was built with CUDA support.
    pub cuda_compiled: bool,
    /// Why `device` is not what was asked: set when the ML service was started with
    /// `--device auto` and fell back to the CPU, e.g. `auto: cuda:0 unavailable: no NVIDIA
    /// driver found, only the CUDA stub library (CUDA_ERROR_STUB_LIBRARY); using cpu`. Empty when
    /// the requested device is used.
    pub device_note: String,
    /// Seconds since the ML service started.
    #[schema(minimum = 0)]
    pub uptime_seconds: u64,
    /// Model kinds the ML service can train and serve.
    pub model_kinds: Vec<String>,
}

/// Returns the versions and capabilities of the API and the ML service behind it.
#[utoipa::path(
    get, path = "/v1/system", operation_id = "getSystemInfo", tag = "system",
    responses(
        (status = 200, description = "System information", body = SystemInfo),
        (status = 503, description = "The ML service is unavailable", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn get_system_info(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Json<SystemInfo>, ApiError> {
    let info = state
        .ml
        .system()
        .get_system_info(ctx.grpc(GetSystemInfoRequest {}))
        .await?
        .into_inner();
    Ok(Json(SystemInfo {
        api_version: env!("CARGO_PKG_VERSION").to_owned(),
        ml: MlServiceInfo {
            service: info.service,
            version: info.version,
            device: info.device,
            cuda_compiled: info.cuda_compiled,
            device_note: info.device_note,
            uptime_seconds: info.uptime_seconds,
            model_kinds: info.model_kinds,
        },
    }))
}

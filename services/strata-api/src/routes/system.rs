//! `GET /v1/system`: what the ML service behind this API runs on and can do.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use strata_proto::strata::ml::v1::{self as pb, GetSystemInfoRequest};
use strata_runtime::structs;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::middleware::RequestContext;
use crate::state::AppState;

/// The API's and the ML service's versions and capabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SystemInfo {
    /// Version of the web API binary.
    pub api_version: String,
    /// The ML service this API talks to.
    pub ml: MlServiceInfo,
}

/// What the ML service reports about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
    /// Every model kind, described by itself (in `model_kinds` order).
    pub kinds: Vec<ModelKindInfo>,
    /// JSON Schema of the shared training knobs (`hyperparameters` of a job), each with its
    /// default and bounds: the defaults every front door trains with.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub hyperparameters: serde_json::Value,
}

/// Whether a job of a kind fine-tunes a base model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BaseModel {
    /// Trained from scratch; a `base_model` is refused.
    None,
    /// Fine-tunes a model of `base_kind`, named by the job's `base_model`.
    Required,
}

/// What a model kind is and how to train it, as the kind describes itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelKindInfo {
    /// The name jobs and models use, e.g. `mlp-classifier`.
    pub name: String,
    /// A short human name, e.g. `MLP classifier`.
    pub title: String,
    /// What the kind does.
    pub description: String,
    /// What a dataset must provide: `features` (numeric columns) or `text` (a text column).
    #[schema(example = "features")]
    pub input: String,
    /// Trained by jobs; the others are only imported.
    pub trainable: bool,
    pub base_model: BaseModel,
    /// The kind the base model must be when `base_model` is `required`, e.g. `text-encoder`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub base_kind: Option<String>,
    /// JSON Schema (draft 2020-12, no references) of the job `parameters` the kind takes, with
    /// each property's default and bounds.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub parameters: serde_json::Value,
}

impl ModelKindInfo {
    fn from_pb(k: pb::ModelKindInfo) -> Self {
        let base_kind = Some(k.base_kind).filter(|b| !b.is_empty());
        Self {
            name: k.name,
            title: k.title,
            description: k.description,
            input: k.input,
            trainable: k.trainable,
            base_model: if base_kind.is_some() {
                BaseModel::Required
            } else {
                BaseModel::None
            },
            base_kind,
            parameters: structs::from_optional(k.parameters.as_ref()),
        }
    }
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
            kinds: info.kinds.into_iter().map(ModelKindInfo::from_pb).collect(),
            hyperparameters: structs::from_optional(info.hyperparameters.as_ref()),
        },
    }))
}

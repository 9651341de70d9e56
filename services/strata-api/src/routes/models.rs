//! `/v1/models`: the model registry (versions, metrics, schema, aliases) and predictions.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use strata_proto::strata::ml::v1 as pb;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::middleware::RequestContext;
use crate::routes::common::{
    ApiJson, ApiQuery, Metrics, PageParams, method_not_allowed, next_page, options_for, timestamp,
};
use crate::state::AppState;

/// One immutable version of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelVersion {
    pub version: String,
    pub kind: String,
    /// Input and output schema, e.g. `{"input":{"type":"features","dim":64},"output":{...}}`.
    #[schema(value_type = Object)]
    pub io_schema: serde_json::Value,
    pub test_metrics: Option<Metrics>,
    #[schema(value_type = Object)]
    pub hyperparameters: serde_json::Value,
    pub dataset_sha256: Option<String>,
    pub training_job_id: Option<String>,
    /// `name@version` it was fine-tuned from.
    pub base_model: Option<String>,
    pub size_bytes: u64,
    pub created_at: Option<String>,
}

impl From<pb::ModelVersion> for ModelVersion {
    fn from(v: pb::ModelVersion) -> Self {
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
        Self {
            io_schema: json(&v.io_schema_json),
            hyperparameters: json(&v.hyperparameters_json),
            version: v.version,
            kind: v.kind,
            test_metrics: Metrics::from_pb(v.test_metrics),
            dataset_sha256: some(v.dataset_sha256),
            training_job_id: some(v.training_job_id),
            base_model: some(v.base_model),
            size_bytes: v.size_bytes,
            created_at: timestamp(v.created_at),
        }
    }
}

/// A named model: its versions (oldest first) and aliases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Model {
    pub name: String,
    pub versions: Vec<ModelVersion>,
    /// alias → version, e.g. `{"production": "v3"}`.
    pub aliases: BTreeMap<String, String>,
}

impl From<pb::Model> for Model {
    fn from(m: pb::Model) -> Self {
        Self {
            name: m.name,
            versions: m.versions.into_iter().map(Into::into).collect(),
            aliases: m.aliases.into_iter().collect(),
        }
    }
}

/// A page of models.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelList {
    pub models: Vec<Model>,
    pub next_page_token: Option<String>,
}

/// Lists models with their versions and aliases.
#[utoipa::path(
    get, path = "/v1/models", operation_id = "listModels", tag = "models",
    security(("bearer" = [])), params(PageParams),
    responses(
        (status = 200, description = "A page of models", body = ModelList),
        (status = 400, description = "Bad page size or page token", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<ModelList>, ApiError> {
    caller.require(Role::Viewer)?;
    let response = state
        .ml
        .models()
        .list_models(ctx.grpc(pb::ListModelsRequest {
            page_size: page.size()?,
            page_token: page.page_token.unwrap_or_default(),
        }))
        .await?
        .into_inner();
    Ok(Json(ModelList {
        models: response.models.into_iter().map(Into::into).collect(),
        next_page_token: next_page(response.next_page_token),
    }))
}

/// Returns a model with all its versions.
#[utoipa::path(
    get, path = "/v1/models/{name}", operation_id = "getModel", tag = "models",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Model name", pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", example = "digits")),
    responses(
        (status = 200, description = "The model", body = Model),
        (status = 400, description = "Not a valid model name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Result<Caller, ApiError>,
    Path(name): Path<String>,
) -> Result<Json<Model>, ApiError> {
    if name.ends_with(PREDICT) {
        return Err(method_not_allowed("GET", &name, PREDICT));
    }
    caller?.require(Role::Viewer)?;
    let model = state
        .ml
        .models()
        .get_model(ctx.grpc(pb::GetModelRequest { name }))
        .await?
        .into_inner();
    Ok(Json(model.into()))
}

/// Body of `PUT /v1/models/{name}/aliases/{alias}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAlias {
    /// The version the alias points at.
    #[schema(pattern = r"^v[0-9]{1,9}$", example = "v1")]
    pub version: String,
}

/// Points an alias (e.g. `production`) at a version (trainer).
#[utoipa::path(
    put, path = "/v1/models/{name}/aliases/{alias}", operation_id = "setModelAlias", tag = "models",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Model name", pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", example = "digits"),
        ("alias" = String, Path, description = "Alias: 1-64 of `[a-z0-9-]`, not `latest` nor version-like (`v1`)", pattern = r"^(?!latest$)(?!v[0-9]+$)[a-z0-9-]{1,64}$", example = "production"),
    ),
    request_body = SetAlias,
    responses(
        (status = 200, description = "The model with the alias moved", body = Model),
        (status = 400, description = "Invalid model name or alias", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role too low", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model or version", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_alias(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    Path((name, alias)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetAlias>,
) -> Result<Json<Model>, ApiError> {
    caller.require(Role::Trainer)?;
    let model = state
        .ml
        .models()
        .set_alias(ctx.grpc(pb::SetAliasRequest {
            name,
            alias,
            version: body.version,
        }))
        .await?
        .into_inner();
    Ok(Json(model.into()))
}

/// Deletes a version (admin); refused while an alias points at it.
#[utoipa::path(
    delete, path = "/v1/models/{name}/versions/{version}", operation_id = "deleteModelVersion", tag = "models",
    security(("bearer" = [])),
    params(
        ("name" = String, Path, description = "Model name", pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", example = "digits"),
        ("version" = String, Path, description = "Version, e.g. `v2`", pattern = r"^v[0-9]{1,9}$", example = "v1"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a valid model name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An alias points at it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_version(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    state
        .ml
        .models()
        .delete_model_version(ctx.grpc(pb::DeleteModelVersionRequest { name, version }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The action suffix of `POST /v1/models/{name}:predict`.
const PREDICT: &str = ":predict";

/// `OPTIONS /v1/models/{name}` and `…/{name}:predict`.
pub async fn options(Path(name): Path<String>) -> axum::response::Response {
    options_for(&name, PREDICT)
}

/// Body of `POST /v1/models/{name}:predict`: features or texts, as the model's schema says.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// Feature vectors, for models with a features input (at most 2048).
    #[serde(default)]
    #[schema(max_items = 2048)]
    pub features: Vec<Vec<f32>>,
    /// Texts, for models with a text input (at most 2048).
    #[serde(default)]
    #[schema(max_items = 2048)]
    pub texts: Vec<String>,
}

/// One prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Prediction {
    pub class_index: u32,
    pub label: String,
    /// Probability of every class, in class-index order.
    pub probabilities: Vec<f32>,
}

/// Predictions, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PredictResponse {
    /// `name@version` that answered.
    pub model: String,
    pub predictions: Vec<Prediction>,
}

/// `POST /v1/models/{name}:predict`. `{name}` may carry `@version` or `@alias`
/// (e.g. `digits@production`); a bare name means the latest version.
#[utoipa::path(
    post, path = "/v1/models/{name}:predict", operation_id = "predict", tag = "models",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "`name`, `name@version` or `name@alias`", pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(@[a-z0-9-]{1,64})?$", example = "digits@production")),
    request_body = PredictRequest,
    responses(
        (status = 200, description = "Predictions", body = PredictResponse),
        (status = 400, description = "Invalid model reference, or inputs that do not fit the model", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Inference queue full", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_action(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Result<Caller, ApiError>,
    Path(name_action): Path<String>,
    body: Result<ApiJson<PredictRequest>, ApiError>,
) -> Result<Json<PredictResponse>, ApiError> {
    // The route decides before the body: a POST without `:predict` is the wrong method.
    let Some(model) = name_action.strip_suffix(PREDICT) else {
        return Err(method_not_allowed("POST", &name_action, PREDICT));
    };
    caller?.require(Role::Viewer)?;
    let ApiJson(body) = body?;
    let response = state
        .ml
        .inference()
        .predict(
            ctx.grpc(pb::PredictRequest {
                model: model.to_owned(),
                features: body
                    .features
                    .into_iter()
                    .map(|values| pb::FeatureVector { values })
                    .collect(),
                texts: body.texts,
            }),
        )
        .await?
        .into_inner();
    Ok(Json(PredictResponse {
        model: format!(
            "{}@{}",
            model.split('@').next().unwrap_or(model),
            response.model_version
        ),
        predictions: response
            .predictions
            .into_iter()
            .map(|p| Prediction {
                class_index: p.class_index,
                label: p.label,
                probabilities: p.probabilities,
            })
            .collect(),
    }))
}

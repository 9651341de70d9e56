//! `POST /v1/embeddings` in the OpenAI-compatible shape, so OpenAI client libraries work
//! against strata by changing only their base URL.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use serde::{Deserialize, Serialize};
use strata_proto::strata::ml::v1 as pb;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::middleware::RequestContext;
use crate::routes::common::ApiJson;
use crate::state::AppState;

/// One string or a list of 1-2048 strings (OpenAI's limit).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    One(String),
    Many(Vec<String>),
}

/// Most texts in one request, as OpenAI documents for its embeddings endpoint.
const MAX_INPUTS: usize = 2048;

// By hand: the derive cannot put item bounds on one variant of an untagged enum.
impl utoipa::PartialSchema for EmbeddingInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        let text = || ObjectBuilder::new().schema_type(Type::String);
        OneOfBuilder::new()
            .description(Some(
                "One string or a list of 1-2048 strings (OpenAI's limit).",
            ))
            .item(text())
            .item(
                ArrayBuilder::new()
                    .items(text())
                    .min_items(Some(1))
                    .max_items(Some(MAX_INPUTS)),
            )
            .into()
    }
}

impl ToSchema for EmbeddingInput {}

/// How vectors are encoded in the response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// JSON arrays of numbers.
    #[default]
    Float,
    /// Base64 of little-endian f32 bytes (smaller and faster to parse).
    Base64,
}

/// Body of `POST /v1/embeddings` (OpenAI's shape).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EmbeddingsRequest {
    /// A registered embedding model: `name`, `name@version` or `name@alias`.
    #[schema(
        pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(@[a-z0-9-]{1,64})?$",
        example = "minilm"
    )]
    pub model: String,
    pub input: EmbeddingInput,
    #[serde(default)]
    pub encoding_format: EncodingFormat,
    /// Accepted for compatibility; must equal the model's dimension if given.
    #[serde(default, deserialize_with = "super::common::whole")]
    #[schema(minimum = 1, maximum = 18446744073709551615_u64)]
    pub dimensions: Option<usize>,
    /// Accepted for compatibility and ignored.
    #[serde(default)]
    pub user: Option<String>,
}

/// A vector as JSON numbers or base64.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EmbeddingVector {
    Float(Vec<f32>),
    Base64(String),
}

/// One embedding, at the index of its input.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmbeddingData {
    /// Always `embedding`.
    pub object: &'static str,
    pub index: usize,
    pub embedding: EmbeddingVector,
}

/// Token counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmbeddingsUsage {
    pub prompt_tokens: u64,
    pub total_tokens: u64,
}

/// Response of `POST /v1/embeddings` (OpenAI's shape).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmbeddingsResponse {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<EmbeddingData>,
    /// `name@version` that answered.
    pub model: String,
    pub usage: EmbeddingsUsage,
}

/// Embeds one text or a batch of texts with an embedding model (viewer).
#[utoipa::path(
    post, path = "/v1/embeddings", operation_id = "createEmbeddings", tag = "models",
    security(("bearer" = [])), request_body = EmbeddingsRequest,
    responses(
        (status = 200, description = "Embeddings, in input order", body = EmbeddingsResponse),
        (status = 400, description = "Bad input, a `dimensions` the model does not have, or not an embedding model", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Inference queue full", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn embeddings(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    ApiJson(body): ApiJson<EmbeddingsRequest>,
) -> Result<Json<EmbeddingsResponse>, ApiError> {
    caller.require(Role::Viewer)?;
    let texts = match body.input {
        EmbeddingInput::One(text) => vec![text],
        EmbeddingInput::Many(texts) => texts,
    };
    if texts.is_empty() {
        return Err(ApiError::BadRequest("`input` must not be empty".to_owned()));
    }
    let response = state
        .ml
        .inference()
        .embed(ctx.grpc(pb::EmbedRequest {
            model: body.model.clone(),
            texts,
        }))
        .await?
        .into_inner();
    if let (Some(want), Some(first)) = (body.dimensions, response.embeddings.first())
        && want != first.values.len()
    {
        return Err(ApiError::BadRequest(format!(
            "`dimensions` is {want} but the model's embeddings have {} (strata does not truncate)",
            first.values.len()
        )));
    }
    let data = response
        .embeddings
        .into_iter()
        .enumerate()
        .map(|(index, e)| EmbeddingData {
            object: "embedding",
            index,
            embedding: match body.encoding_format {
                EncodingFormat::Float => EmbeddingVector::Float(e.values),
                EncodingFormat::Base64 => {
                    let bytes: Vec<u8> = e.values.iter().flat_map(|v| v.to_le_bytes()).collect();
                    EmbeddingVector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
                }
            },
        })
        .collect();
    let name = body
        .model
        .split('@')
        .next()
        .unwrap_or(&body.model)
        .to_owned();
    Ok(Json(EmbeddingsResponse {
        object: "list",
        data,
        model: format!("{name}@{}", response.model_version),
        usage: EmbeddingsUsage {
            prompt_tokens: response.prompt_tokens,
            total_tokens: response.prompt_tokens,
        },
    }))
}

//! `/v1/datasets`: upload Parquet tables (streamed to the ML service, never buffered whole),
//! list, inspect, delete.

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use strata_proto::strata::ml::v1 as pb;
use tracing::Instrument;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::middleware::RequestContext;
use crate::routes::common::{ApiQuery, PageParams, next_page, timestamp};
use crate::state::AppState;

/// Which columns of a table mean what.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetSchema {
    /// Numeric columns forming the feature vector, in order. Empty for text datasets.
    #[serde(default)]
    pub feature_columns: Vec<String>,
    /// Column of input text. Empty for feature datasets.
    #[serde(default)]
    pub text_column: String,
    /// Class column (integer indices or names). Empty for unlabelled data.
    #[serde(default)]
    pub label_column: String,
    /// Class names; empty means inferred from the data.
    #[serde(default)]
    pub classes: Vec<String>,
}

/// The `metadata` part of an upload.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetUploadMetadata {
    /// 1-128 characters of `[A-Za-z0-9._-]`, not starting with `.`.
    #[schema(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", example = "digits")]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub schema: DatasetSchema,
}

/// Multipart form of `POST /v1/datasets`: `metadata` (JSON) first, then `file` (Parquet).
#[derive(ToSchema)]
#[allow(dead_code)] // documents the form for OpenAPI only
pub struct DatasetUploadForm {
    metadata: DatasetUploadMetadata,
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// One column as stored in the Parquet file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ColumnInfo {
    pub name: String,
    /// Arrow data type, e.g. `Float32`, `Utf8`.
    pub data_type: String,
    pub nullable: bool,
    pub numeric: bool,
    /// Value statistics over every row; present for the declared feature columns.
    pub stats: Option<ColumnStats>,
}

/// Statistics of one numeric column over every row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ColumnStats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
}

/// A stored dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dataset {
    pub id: String,
    pub name: String,
    pub description: String,
    pub schema: DatasetSchema,
    pub num_rows: u64,
    pub size_bytes: u64,
    /// sha256 of the Parquet file, hex.
    pub sha256: String,
    pub columns: Vec<ColumnInfo>,
    /// Class names in class-index order.
    pub classes: Vec<String>,
    /// Rows per class, in class-index order; empty for unlabelled data.
    pub class_counts: Vec<u64>,
    /// RFC 3339.
    pub created_at: Option<String>,
}

impl From<pb::Dataset> for Dataset {
    fn from(d: pb::Dataset) -> Self {
        let schema = d.schema.unwrap_or_default();
        Self {
            id: d.id,
            name: d.name,
            description: d.description,
            schema: DatasetSchema {
                feature_columns: schema.feature_columns,
                text_column: schema.text_column,
                label_column: schema.label_column,
                classes: schema.classes,
            },
            num_rows: d.num_rows,
            size_bytes: d.size_bytes,
            sha256: d.sha256,
            columns: d
                .columns
                .into_iter()
                .map(|c| ColumnInfo {
                    name: c.name,
                    data_type: c.data_type,
                    nullable: c.nullable,
                    numeric: c.numeric,
                    stats: c.stats.map(|s| ColumnStats {
                        min: s.min,
                        max: s.max,
                        mean: s.mean,
                        stddev: s.stddev,
                    }),
                })
                .collect(),
            classes: d.classes,
            class_counts: d.class_counts,
            created_at: timestamp(d.created_at),
        }
    }
}

/// A page of datasets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DatasetList {
    pub datasets: Vec<Dataset>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

/// Chunks sent to the ML service; the multipart body is forwarded as it arrives.
const CHUNK_BYTES: usize = 1024 * 1024;

/// Where the Parquet bytes come from: the form part itself while it arrives (metadata came
/// first), or the spool file it was written to (the file came first).
enum FileSource<'a> {
    Live(axum::extract::multipart::Field<'a>),
    Spooled(tokio::fs::File),
}

impl FileSource<'_> {
    async fn next_chunk(&mut self) -> Result<Option<axum::body::Bytes>, ApiError> {
        match self {
            FileSource::Live(field) => field.chunk().await.map_err(form_error),
            FileSource::Spooled(file) => {
                use tokio::io::AsyncReadExt;
                let mut buffer = Vec::with_capacity(CHUNK_BYTES);
                let n = file
                    .read_buf(&mut buffer)
                    .await
                    .map_err(|e| ApiError::Internal(format!("reading the upload spool: {e}")))?;
                Ok((n > 0).then(|| buffer.into()))
            }
        }
    }
}

/// A multipart error: too large (the body limit) or malformed.
fn form_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(e.body_text())
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

/// Largest `metadata` part: a name, a description and a schema are a few kilobytes.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Reads and parses the `metadata` part, refusing it once it exceeds [`MAX_METADATA_BYTES`]
/// instead of reading it whole first.
async fn read_metadata(
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<DatasetUploadMetadata, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(form_error)? {
        if bytes.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(ApiError::PayloadTooLarge(format!(
                "the `metadata` part is larger than {MAX_METADATA_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("metadata: {e}")))
}

/// Writes a `file` part that arrived before `metadata` to an anonymous file in `dir` (gone when
/// closed), so memory stays bounded whatever the part order.
async fn spool(
    mut field: axum::extract::multipart::Field<'_>,
    dir: &std::path::Path,
) -> Result<tokio::fs::File, ApiError> {
    use tokio::io::{AsyncSeekExt, AsyncWriteExt};
    let io = |e: std::io::Error| ApiError::Internal(format!("spooling the upload: {e}"));
    let mut file = tokio::fs::File::from_std(tempfile::tempfile_in(dir).map_err(io)?);
    while let Some(bytes) = field.chunk().await.map_err(form_error)? {
        file.write_all(&bytes).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.rewind().await.map_err(io)?;
    Ok(file)
}

/// Uploads a Parquet dataset (trainer) as a form of two parts: `metadata` (JSON) and `file`
/// (the Parquet file). With `metadata` first the file is streamed straight to the ML service;
/// a `file` sent first is spooled to disk until `metadata` arrives. The ML service validates the
/// file against the declared schema before it becomes visible.
#[utoipa::path(
    post, path = "/v1/datasets", operation_id = "uploadDataset", tag = "datasets",
    security(("bearer" = [])),
    request_body(content = DatasetUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = Dataset),
        (status = 400, description = "Invalid form, schema or file", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role too low", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File too large", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The ML service's storage is full: nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "ML service unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    mut form: Multipart,
) -> Result<(StatusCode, Json<Dataset>), ApiError> {
    caller.require(Role::Trainer)?;
    let bad = |m: &str| ApiError::BadRequest(m.to_owned());
    const PARTS: &str = "send two form parts: `metadata` (JSON) and `file` (Parquet)";
    let first = form
        .next_field()
        .await
        .map_err(form_error)?
        .ok_or_else(|| bad(PARTS))?;
    let (metadata, mut file) = match first.name() {
        Some("metadata") => {
            let metadata = read_metadata(first).await?;
            let file = form
                .next_field()
                .await
                .map_err(form_error)?
                .filter(|f| f.name() == Some("file"))
                .ok_or_else(|| bad(PARTS))?;
            (metadata, FileSource::Live(file))
        }
        Some("file") => {
            let spooled = spool(first, &state.spool_dir).await?;
            let metadata = form
                .next_field()
                .await
                .map_err(form_error)?
                .filter(|f| f.name() == Some("metadata"))
                .ok_or_else(|| bad(PARTS))?;
            let metadata = read_metadata(metadata).await?;
            (metadata, FileSource::Spooled(spooled))
        }
        _ => return Err(bad(PARTS)),
    };

    let (tx, rx) = tokio::sync::mpsc::channel::<pb::UploadDatasetRequest>(4);
    let schema = metadata.schema;
    let head = pb::UploadDatasetRequest {
        part: Some(pb::upload_dataset_request::Part::Metadata(
            pb::DatasetUploadMetadata {
                name: metadata.name,
                description: metadata.description,
                schema: Some(pb::DatasetSchema {
                    feature_columns: schema.feature_columns,
                    text_column: schema.text_column,
                    label_column: schema.label_column,
                    classes: schema.classes,
                }),
            },
        )),
    };
    let call = {
        let mut client = state.ml.datasets();
        let request = ctx.grpc(tokio_stream::wrappers::ReceiverStream::new(rx));
        // In the request's span, so the call (and the ML service's side) stays in its trace.
        tokio::spawn(
            async move { client.upload_dataset(request).await }
                .instrument(tracing::Span::current()),
        )
    };
    // Forward the body as it arrives; if the ML service stops reading (it refused the upload),
    // `send` fails and its answer below says why.
    let forward = async {
        if tx.send(head).await.is_err() {
            return Ok(());
        }
        let mut buffer = Vec::with_capacity(CHUNK_BYTES);
        while let Some(bytes) = file.next_chunk().await? {
            buffer.extend_from_slice(&bytes);
            if buffer.len() >= CHUNK_BYTES {
                let chunk = std::mem::replace(&mut buffer, Vec::with_capacity(CHUNK_BYTES));
                let part = pb::UploadDatasetRequest {
                    part: Some(pb::upload_dataset_request::Part::Chunk(chunk)),
                };
                if tx.send(part).await.is_err() {
                    return Ok(());
                }
            }
        }
        if !buffer.is_empty() {
            let _ = tx
                .send(pb::UploadDatasetRequest {
                    part: Some(pb::upload_dataset_request::Part::Chunk(buffer)),
                })
                .await;
        }
        Ok::<(), ApiError>(())
    };
    let forwarded = forward.await;
    drop(tx);
    let answer = call
        .await
        .map_err(|e| ApiError::Internal(format!("upload task failed: {e}")))?;
    // A body error is the client's fault and explains itself better than the aborted stream.
    forwarded?;
    // The ML service's own size limit is a too-large body, not a rate limit (its general meaning).
    let dataset = answer
        .map_err(|s| match s.code() {
            tonic::Code::ResourceExhausted if !crate::error::storage_full(&s) => {
                ApiError::PayloadTooLarge(s.message().to_owned())
            }
            _ => ApiError::from(s),
        })?
        .into_inner();
    Ok((StatusCode::CREATED, Json(dataset.into())))
}

/// Lists datasets, newest first.
#[utoipa::path(
    get, path = "/v1/datasets", operation_id = "listDatasets", tag = "datasets",
    security(("bearer" = [])), params(PageParams),
    responses(
        (status = 200, description = "A page of datasets", body = DatasetList),
        (status = 400, description = "Bad page size or page token", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<DatasetList>, ApiError> {
    caller.require(Role::Viewer)?;
    let response = state
        .ml
        .datasets()
        .list_datasets(ctx.grpc(pb::ListDatasetsRequest {
            page_size: page.size()?,
            page_token: page.page_token.unwrap_or_default(),
        }))
        .await?
        .into_inner();
    Ok(Json(DatasetList {
        datasets: response.datasets.into_iter().map(Into::into).collect(),
        next_page_token: next_page(response.next_page_token),
    }))
}

/// Returns one dataset with its schema and columns.
#[utoipa::path(
    get, path = "/v1/datasets/{id}", operation_id = "getDataset", tag = "datasets",
    security(("bearer" = [])), params(("id" = String, Path, description = "Dataset id", pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")),
    responses(
        (status = 200, description = "The dataset", body = Dataset),
        (status = 400, description = "Not a valid dataset id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Dataset>, ApiError> {
    caller.require(Role::Viewer)?;
    let dataset = state
        .ml
        .datasets()
        .get_dataset(ctx.grpc(pb::GetDatasetRequest { id }))
        .await?
        .into_inner();
    Ok(Json(dataset.into()))
}

/// Deletes a dataset (admin). Models trained from it keep working.
#[utoipa::path(
    delete, path = "/v1/datasets/{id}", operation_id = "deleteDataset", tag = "datasets",
    security(("bearer" = [])), params(("id" = String, Path, description = "Dataset id", pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a valid dataset id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    state
        .ml
        .datasets()
        .delete_dataset(ctx.grpc(pb::DeleteDatasetRequest { id }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

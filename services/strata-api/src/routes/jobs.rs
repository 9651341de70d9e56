//! `/v1/training-jobs`: create, list, inspect and cancel training jobs, and follow one live as
//! Server-Sent Events relayed from the ML service's `WatchTrainingJob` stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use strata_proto::strata::ml::v1 as pb;
use strata_runtime::structs;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::middleware::RequestContext;
use crate::routes::common::{
    ApiJson, ApiQuery, Metrics, method_not_allowed, next_page, options_for, page_size, timestamp,
};
use crate::state::AppState;

/// Knobs of the training engine shared by every kind; every field is optional. A field left out
/// takes the server's default, the same one the CLI and the web form use (each is listed with
/// its default in `GET /v1/system` under `ml.hyperparameters`). Kind-specific settings are the
/// job's `parameters`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Hyperparameters {
    #[schema(minimum = 1, maximum = 4294967295_u64)]
    #[serde(deserialize_with = "super::common::whole")]
    pub epochs: Option<u32>,
    #[schema(minimum = 1, maximum = 4294967295_u64)]
    #[serde(deserialize_with = "super::common::whole")]
    pub batch_size: Option<u32>,
    #[schema(exclusive_minimum = 0)]
    pub learning_rate: Option<f64>,
    #[schema(minimum = 0)]
    pub weight_decay: Option<f64>,
    #[schema(maximum = 18446744073709551615_u64)]
    #[serde(deserialize_with = "super::common::whole")]
    pub warmup_steps: Option<u64>,
    /// Global gradient-norm clip; 0 turns clipping off.
    #[schema(minimum = 0)]
    pub max_grad_norm: Option<f64>,
    /// Stop after this many epochs without a better validation loss; 0 turns it off.
    #[schema(maximum = 4294967295_u64)]
    #[serde(deserialize_with = "super::common::whole")]
    pub early_stopping_patience: Option<u32>,
    /// Checkpoint every this many steps (default: once per epoch).
    #[schema(minimum = 1, maximum = 18446744073709551615_u64)]
    #[serde(deserialize_with = "super::common::whole")]
    pub checkpoint_every_steps: Option<u64>,
    /// Equal seeds give equal metrics.
    #[schema(maximum = 18446744073709551615_u64)]
    #[serde(deserialize_with = "super::common::whole")]
    pub seed: Option<u64>,
    /// Fraction held out for validation; with `test_fraction` below 1.
    #[schema(minimum = 0, exclusive_maximum = 1)]
    pub validation_fraction: Option<f64>,
    /// Fraction held out for the test metrics.
    #[schema(minimum = 0, exclusive_maximum = 1)]
    pub test_fraction: Option<f64>,
}

impl Hyperparameters {
    /// The contract's message: absent stays absent, so the ML service applies its defaults.
    /// What the schema above states is enforced here, before the ML service is asked.
    fn into_pb(self) -> Result<pb::Hyperparameters, ApiError> {
        let refuse = |name: &str, rule: &str| {
            Err(ApiError::BadRequest(format!(
                "hyperparameters.{name} must be {rule}; leave it out for the default"
            )))
        };
        let zero = |v: Option<u64>| v == Some(0);
        if zero(self.epochs.map(u64::from)) {
            return refuse("epochs", "at least 1");
        }
        if zero(self.batch_size.map(u64::from)) {
            return refuse("batch_size", "at least 1");
        }
        if zero(self.checkpoint_every_steps) {
            return refuse("checkpoint_every_steps", "at least 1");
        }
        if self
            .learning_rate
            .is_some_and(|v| !(v.is_finite() && v > 0.0))
        {
            return refuse("learning_rate", "above 0");
        }
        for (name, value) in [
            ("weight_decay", self.weight_decay),
            ("max_grad_norm", self.max_grad_norm),
        ] {
            if value.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                return refuse(name, "0 or more");
            }
        }
        for (name, value) in [
            ("validation_fraction", self.validation_fraction),
            ("test_fraction", self.test_fraction),
        ] {
            if value.is_some_and(|v| !(0.0..1.0).contains(&v)) {
                return refuse(name, "from 0 up to (not including) 1");
            }
        }
        Ok(pb::Hyperparameters {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            weight_decay: self.weight_decay,
            warmup_steps: self.warmup_steps,
            max_grad_norm: self.max_grad_norm,
            early_stopping_patience: self.early_stopping_patience,
            checkpoint_every_steps: self.checkpoint_every_steps,
            seed: self.seed,
            validation_fraction: self.validation_fraction,
            test_fraction: self.test_fraction,
        })
    }

    fn from_pb(h: pb::Hyperparameters) -> Self {
        Self {
            epochs: h.epochs,
            batch_size: h.batch_size,
            learning_rate: h.learning_rate,
            weight_decay: h.weight_decay,
            warmup_steps: h.warmup_steps,
            max_grad_norm: h.max_grad_norm,
            early_stopping_patience: h.early_stopping_patience,
            checkpoint_every_steps: h.checkpoint_every_steps,
            seed: h.seed,
            validation_fraction: h.validation_fraction,
            test_fraction: h.test_fraction,
        }
    }
}

/// Body of `POST /v1/training-jobs`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrainingJob {
    /// The model the job makes a new version of: 1-128 of `[A-Za-z0-9._-]`, not starting with `.`.
    #[schema(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", example = "digits")]
    pub model_name: String,
    /// A model kind, e.g. `mlp-classifier` (see `GET /v1/system`).
    #[schema(pattern = r"^[a-z0-9-]{1,64}$", example = "mlp-classifier")]
    pub kind: String,
    #[schema(pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")]
    pub dataset_id: String,
    #[serde(default)]
    pub hyperparameters: Hyperparameters,
    /// The kind's own settings, checked by the kind against its `parameters` schema (in
    /// `GET /v1/system`); a field left out takes the kind's default, an unknown one is refused.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub parameters: Option<serde_json::Map<String, serde_json::Value>>,
    /// For fine-tuning: `name`, `name@version` or `name@alias`.
    #[serde(default)]
    #[schema(
        pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(@[a-z0-9-]{1,64})?$",
        example = "minilm"
    )]
    pub base_model: Option<String>,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    fn from_pb(state: i32) -> Option<Self> {
        match pb::JobState::try_from(state).ok()? {
            pb::JobState::Queued => Some(Self::Queued),
            pb::JobState::Running => Some(Self::Running),
            pb::JobState::Succeeded => Some(Self::Succeeded),
            pb::JobState::Failed => Some(Self::Failed),
            pb::JobState::Cancelled => Some(Self::Cancelled),
            pb::JobState::Unspecified => None,
        }
    }

    fn to_pb(self) -> pb::JobState {
        match self {
            Self::Queued => pb::JobState::Queued,
            Self::Running => pb::JobState::Running,
            Self::Succeeded => pb::JobState::Succeeded,
            Self::Failed => pb::JobState::Failed,
            Self::Cancelled => pb::JobState::Cancelled,
        }
    }
}

/// Latest progress of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingProgress {
    pub epoch: u32,
    pub total_epochs: u32,
    pub step: u64,
    pub total_steps: u64,
    pub train_loss: f64,
    /// Present after each validation pass.
    pub validation: Option<Metrics>,
    pub examples_per_second: f64,
    /// Estimated seconds until the job finishes.
    pub eta_seconds: f64,
}

impl TrainingProgress {
    fn from_pb(p: pb::TrainingProgress) -> Self {
        Self {
            epoch: p.epoch,
            total_epochs: p.total_epochs,
            step: p.step,
            total_steps: p.total_steps,
            train_loss: p.train_loss,
            validation: Metrics::from_pb(p.validation),
            examples_per_second: p.examples_per_second,
            eta_seconds: p.eta_seconds,
        }
    }
}

/// A training job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingJob {
    pub id: String,
    pub model_name: String,
    pub kind: String,
    pub dataset_id: String,
    pub hyperparameters: Hyperparameters,
    /// The kind's own settings as the job was created with them (`{}`: all defaults).
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub parameters: serde_json::Value,
    pub base_model: Option<String>,
    pub state: Option<JobState>,
    /// Why the job failed.
    pub error: Option<String>,
    pub progress: Option<TrainingProgress>,
    /// The model version produced, once succeeded.
    pub model_version: Option<String>,
    /// Test-split metrics of the produced model, once succeeded.
    pub test_metrics: Option<Metrics>,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl From<pb::TrainingJob> for TrainingJob {
    fn from(j: pb::TrainingJob) -> Self {
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        Self {
            id: j.id,
            model_name: j.model_name,
            kind: j.kind,
            dataset_id: j.dataset_id,
            hyperparameters: Hyperparameters::from_pb(j.hyperparameters.unwrap_or_default()),
            parameters: j
                .parameters
                .as_ref()
                .map_or_else(|| serde_json::json!({}), structs::from_struct),
            base_model: some(j.base_model),
            state: JobState::from_pb(j.state),
            error: some(j.error),
            progress: j.progress.map(TrainingProgress::from_pb),
            model_version: some(j.model_version),
            test_metrics: Metrics::from_pb(j.test_metrics),
            created_at: timestamp(j.created_at),
            started_at: timestamp(j.started_at),
            finished_at: timestamp(j.finished_at),
        }
    }
}

/// A page of jobs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrainingJobList {
    pub jobs: Vec<TrainingJob>,
    pub next_page_token: Option<String>,
}

/// Filters and paging of `GET /v1/training-jobs`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// At most this many results, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page, as it was returned (a token from elsewhere is a
    /// 400).
    pub page_token: Option<String>,
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs producing this model.
    pub model_name: Option<String>,
}

/// Queues a training or fine-tuning job (trainer).
#[utoipa::path(
    post, path = "/v1/training-jobs", operation_id = "createTrainingJob", tag = "training",
    security(("bearer" = [])), request_body = CreateTrainingJob,
    responses(
        (status = 201, description = "Queued", body = TrainingJob),
        (status = 400, description = "Bad name, kind, dataset or hyperparameters", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role too low", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Dataset or base model not found", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Job queue full", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTrainingJob>,
) -> Result<(StatusCode, Json<TrainingJob>), ApiError> {
    caller.require(Role::Trainer)?;
    let parameters = body.parameters.map(serde_json::Value::Object);
    if let Some(p) = &parameters
        && structs::nesting(p) > structs::MAX_NESTING
    {
        return Err(ApiError::BadRequest(format!(
            "parameters nest {} levels deep; at most {} are accepted",
            structs::nesting(p),
            structs::MAX_NESTING
        )));
    }
    let job = state
        .ml
        .training()
        .create_training_job(ctx.grpc(pb::CreateTrainingJobRequest {
            model_name: body.model_name,
            kind: body.kind,
            dataset_id: body.dataset_id,
            hyperparameters: Some(body.hyperparameters.into_pb()?),
            parameters: parameters.as_ref().and_then(structs::to_struct),
            base_model: body.base_model.unwrap_or_default(),
        }))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(job.into())))
}

/// Lists jobs, newest first.
#[utoipa::path(
    get, path = "/v1/training-jobs", operation_id = "listTrainingJobs", tag = "training",
    security(("bearer" = [])), params(JobFilter),
    responses(
        (status = 200, description = "A page of jobs", body = TrainingJobList),
        (status = 400, description = "Bad filter, page size or page token", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    ApiQuery(filter): ApiQuery<JobFilter>,
) -> Result<Json<TrainingJobList>, ApiError> {
    caller.require(Role::Viewer)?;
    let response = state
        .ml
        .training()
        .list_training_jobs(
            ctx.grpc(pb::ListTrainingJobsRequest {
                page_size: page_size(filter.page_size)?,
                page_token: filter.page_token.unwrap_or_default(),
                state: filter
                    .state
                    .map_or(pb::JobState::Unspecified, JobState::to_pb)
                    .into(),
                model_name: filter.model_name.unwrap_or_default(),
            }),
        )
        .await?
        .into_inner();
    Ok(Json(TrainingJobList {
        jobs: response.jobs.into_iter().map(Into::into).collect(),
        next_page_token: next_page(response.next_page_token),
    }))
}

/// Returns one job.
#[utoipa::path(
    get, path = "/v1/training-jobs/{id}", operation_id = "getTrainingJob", tag = "training",
    security(("bearer" = [])), params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = TrainingJob),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Result<Caller, ApiError>,
    Path(id): Path<String>,
) -> Result<Json<TrainingJob>, ApiError> {
    if id.ends_with(CANCEL) {
        return Err(method_not_allowed("GET", &id, CANCEL));
    }
    caller?.require(Role::Viewer)?;
    let job = state
        .ml
        .training()
        .get_training_job(ctx.grpc(pb::GetTrainingJobRequest { id }))
        .await?
        .into_inner();
    Ok(Json(job.into()))
}

/// The action suffix of `POST /v1/training-jobs/{id}:cancel`.
const CANCEL: &str = ":cancel";

/// `OPTIONS /v1/training-jobs/{id}` and `…/{id}:cancel`.
pub async fn options(Path(id): Path<String>) -> axum::response::Response {
    options_for(&id, CANCEL)
}

/// `POST /v1/training-jobs/{id}:cancel` (the custom-method style of Google's API design guide).
#[utoipa::path(
    post, path = "/v1/training-jobs/{id}:cancel", operation_id = "cancelTrainingJob", tag = "training",
    security(("bearer" = [])), params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job, cancelled or cancelling", body = TrainingJob),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role too low", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job already ended", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_action(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Result<Caller, ApiError>,
    Path(id_action): Path<String>,
) -> Result<Json<TrainingJob>, ApiError> {
    let Some(id) = id_action.strip_suffix(CANCEL) else {
        return Err(method_not_allowed("POST", &id_action, CANCEL));
    };
    caller?.require(Role::Trainer)?;
    let job = state
        .ml
        .training()
        .cancel_training_job(ctx.grpc(pb::CancelTrainingJobRequest { id: id.to_owned() }))
        .await?
        .into_inner();
    Ok(Json(job.into()))
}

/// One Server-Sent Event of a job (the `data` of each event).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrainingEvent {
    /// Same as the SSE `id`: send it back as `Last-Event-ID` to resume.
    pub sequence: u64,
    pub time: Option<String>,
    /// `state`, `progress` or `checkpoint` (also the SSE `event` name).
    pub kind: String,
    /// The job as of this event.
    pub job: Option<TrainingJob>,
}

/// One event of `GET /v1/training-jobs/{id}/events`, described the way OpenAPI 3.2 describes
/// server-sent events (and schemathesis checks them): the event's fields, with `data` a JSON
/// document of the schema its `event` name says.
pub struct TrainingEventStream;

impl utoipa::PartialSchema for TrainingEventStream {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Ref, Type};
        let event = |names: &[&str], data: &str, description: &str| {
            ObjectBuilder::new()
                .description(Some(description))
                .property(
                    "event",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(names.iter().copied())),
                )
                .required("event")
                .property(
                    "id",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some("^[0-9]+$"))
                        .description(Some(
                            "The event's sequence number: send it back as Last-Event-ID to resume",
                        )),
                )
                .property(
                    "data",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .content_media_type("application/json")
                        .content_schema(Some(Ref::from_schema_name(data))),
                )
                .required("data")
                .property("retry", ObjectBuilder::new().schema_type(Type::Integer))
        };
        OneOfBuilder::new()
            .item(event(
                &["state", "progress", "checkpoint", "message"],
                "TrainingEvent",
                "The job changed state, made progress or wrote a checkpoint",
            ))
            .item(event(
                &["error"],
                "Problem",
                "The ML service ended the stream with an error; reconnect with Last-Event-ID",
            ))
            .into()
    }
}

impl utoipa::ToSchema for TrainingEventStream {}

fn sse_event(event: pb::TrainingEvent) -> Event {
    let kind = match &event.event {
        Some(pb::training_event::Event::StateChanged(_)) => "state",
        Some(pb::training_event::Event::Progress(_)) => "progress",
        Some(pb::training_event::Event::CheckpointStep(_)) => "checkpoint",
        None => "message",
    };
    let data = TrainingEvent {
        sequence: event.sequence,
        time: timestamp(event.time),
        kind: kind.to_owned(),
        job: event.job.map(Into::into),
    };
    Event::default()
        .id(event.sequence.to_string())
        .event(kind)
        .json_data(&data)
        .unwrap_or_else(|e| error_event(&ApiError::Internal(format!("unserializable event: {e}"))))
}

/// An `error` event: the problem+json body the same failure would have as a response.
fn error_event(error: &ApiError) -> Event {
    let problem = error.problem();
    Event::default()
        .event("error")
        .json_data(&problem)
        .unwrap_or_else(|_| Event::default().event("error").data(problem.title))
}

/// Follows a job live as Server-Sent Events until it ends; reconnect with `Last-Event-ID` to
/// resume after the last event received.
#[utoipa::path(
    get, path = "/v1/training-jobs/{id}/events", operation_id = "watchTrainingJob", tag = "training",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Job id"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event sequence number", nullable = false, maximum = 18446744073709551615_u64),
    ),
    responses(
        (status = 200, description = "An event stream: `state`, `progress` and `checkpoint` events carry a TrainingEvent, an `error` event a Problem", body = TrainingEventStream, content_type = "text/event-stream"),
        (status = 400, description = "Last-Event-ID is not a sequence number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many event streams open, for this caller or on this server", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(Role::Viewer)?;
    let slot = state.event_streams.admit(&caller.principal_id())?;
    let after_sequence = match headers.get("last-event-id") {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| {
                ApiError::BadRequest("Last-Event-ID must be an event sequence number".to_owned())
            })?,
    };
    // The first response (or error) arrives before we answer, so a missing job is a real 404.
    let stream = state
        .ml
        .training()
        .watch_training_job(ctx.grpc(pb::WatchTrainingJobRequest { id, after_sequence }))
        .await?
        .into_inner();
    let events = stream.map(|item| match item {
        Ok(event) => sse_event(event),
        Err(status) => error_event(&ApiError::Ml(status)),
    });
    // The Caller extractor has accepted this header; the stream checks it again while it runs.
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let events = state
        .event_streams
        .guard(slot, state.auth.clone(), token, events, error_event)
        .map(Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each REST field lands in its own contract field and back (distinct values, so a swap
    /// shows); absent stays absent, so the ML service applies the core's defaults.
    #[test]
    fn hyperparameters_map_field_by_field_and_absent_stays_absent() {
        let rest = Hyperparameters {
            epochs: Some(3),
            batch_size: Some(8),
            learning_rate: Some(0.01),
            weight_decay: Some(0.5),
            warmup_steps: Some(4),
            max_grad_norm: Some(0.25),
            early_stopping_patience: Some(6),
            checkpoint_every_steps: Some(9),
            seed: Some(11),
            validation_fraction: Some(0.2),
            test_fraction: Some(0.3),
        };
        let wire = rest.clone().into_pb().expect("valid");
        let expected = pb::Hyperparameters {
            epochs: Some(3),
            batch_size: Some(8),
            learning_rate: Some(0.01),
            weight_decay: Some(0.5),
            warmup_steps: Some(4),
            max_grad_norm: Some(0.25),
            early_stopping_patience: Some(6),
            checkpoint_every_steps: Some(9),
            seed: Some(11),
            validation_fraction: Some(0.2),
            test_fraction: Some(0.3),
        };
        assert_eq!(wire, expected);
        assert_eq!(Hyperparameters::from_pb(wire), rest);
        assert_eq!(
            Hyperparameters::default().into_pb().expect("empty"),
            pb::Hyperparameters::default()
        );
    }
}

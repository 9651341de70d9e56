//! `POST /v1/chat/completions` and `POST /v1/completions` in OpenAI's shapes, so OpenAI client
//! libraries (and tools built on them) talk to strata's text generators by changing only their
//! base URL. `stream: true` answers with Server-Sent Events in OpenAI's chunk format ending with
//! `data: [DONE]`; otherwise one JSON response.
//!
//! Bounds are checked here, before the ML service is called, so a bad request is a 400 whatever
//! model it names; the ML service checks the prompt against the model's context.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use strata_proto::strata::ml::v1 as pb;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::middleware::RequestContext;
use crate::routes::common::ApiJson;
use crate::state::AppState;

/// Most messages in one chat.
const MAX_MESSAGES: usize = 256;
/// Most stop strings (OpenAI's limit).
const MAX_STOP: usize = 4;

/// One string or a list of up to four (OpenAI's `stop`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

impl Stop {
    fn into_vec(self) -> Vec<String> {
        match self {
            Stop::One(s) => vec![s],
            Stop::Many(v) => v,
        }
    }
}

/// A part of a message's content; only text parts are supported.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ContentPart {
    /// Always `text`.
    #[serde(rename = "type")]
    #[schema(example = "text")]
    pub kind: String,
    pub text: String,
}

/// A message's content: a string, or a list of text parts (joined).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant` (`developer` is read as `system`).
    #[schema(example = "user")]
    pub role: String,
    pub content: Content,
}

/// Sampling fields both endpoints share (OpenAI's names; `top_k` and `repetition_penalty` are
/// strata's additions).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct Sampling {
    /// 0-2; 0 is greedy decoding (default 1, as OpenAI's).
    #[schema(minimum = 0, maximum = 2)]
    #[serde(default, deserialize_with = "super::common::number")]
    pub temperature: Option<f64>,
    /// Nucleus sampling, (0, 1] (default 1: off).
    #[schema(exclusive_minimum = 0, maximum = 1)]
    #[serde(default, deserialize_with = "super::common::number")]
    pub top_p: Option<f64>,
    /// Sample among the k most likely tokens; 0 is all.
    #[schema(minimum = 0, maximum = 1000000)]
    #[serde(default, deserialize_with = "super::common::whole")]
    pub top_k: Option<u32>,
    /// 1-2; 1 (default) is off.
    #[schema(minimum = 1, maximum = 2)]
    #[serde(default, deserialize_with = "super::common::number")]
    pub repetition_penalty: Option<f64>,
    /// Same seed, prompt and parameters, same text.
    #[schema(minimum = 0, maximum = 18446744073709551615_u64)]
    #[serde(default, deserialize_with = "super::common::whole")]
    pub seed: Option<u64>,
    /// Up to 4 strings that end the answer; they are not part of it.
    pub stop: Option<Stop>,
    /// Only 1 is supported.
    #[schema(minimum = 1, maximum = 1)]
    #[serde(default, deserialize_with = "super::common::whole")]
    pub n: Option<u32>,
    /// Accepted for compatibility; only 0 is supported.
    #[schema(minimum = 0, maximum = 0)]
    #[serde(default, deserialize_with = "super::common::number")]
    pub presence_penalty: Option<f64>,
    /// Accepted for compatibility; only 0 is supported.
    #[schema(minimum = 0, maximum = 0)]
    #[serde(default, deserialize_with = "super::common::number")]
    pub frequency_penalty: Option<f64>,
    /// Accepted for compatibility and ignored.
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StreamOptions {
    /// Send a last chunk with `usage` (and no choices) before `[DONE]`.
    #[serde(default)]
    pub include_usage: bool,
}

/// Body of `POST /v1/chat/completions` (OpenAI's shape).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChatCompletionRequest {
    /// A text-generator model: `name`, `name@version` or `name@alias`.
    #[schema(
        pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(@[a-z0-9-]{1,64})?$",
        example = "smollm2"
    )]
    pub model: String,
    #[schema(min_items = 1, max_items = 256)]
    pub messages: Vec<ChatMessage>,
    /// Most tokens to generate (default 256, or the server's limit if lower).
    #[schema(minimum = 1, maximum = 1048576)]
    #[serde(default, deserialize_with = "super::common::whole")]
    pub max_tokens: Option<u32>,
    /// OpenAI's newer name for `max_tokens`.
    #[schema(minimum = 1, maximum = 1048576)]
    #[serde(default, deserialize_with = "super::common::whole")]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// Body of `POST /v1/completions` (OpenAI's legacy shape): a raw prompt, continued as it is.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CompletionRequest {
    #[schema(
        pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(@[a-z0-9-]{1,64})?$",
        example = "smollm2"
    )]
    pub model: String,
    #[schema(min_length = 1)]
    pub prompt: String,
    /// Most tokens to generate (default 16, as OpenAI's).
    #[schema(minimum = 1, maximum = 1048576)]
    #[serde(default, deserialize_with = "super::common::whole")]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// Token counts of a completion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: &'static str,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatChoice {
    pub index: u32,
    pub message: AssistantMessage,
    /// `stop` (the model ended or a stop string appeared) or `length` (max_tokens).
    pub finish_reason: String,
    /// Always null (not supported).
    #[schema(value_type = Option<Object>)]
    pub logprobs: Option<()>,
}

/// Response of `POST /v1/chat/completions` without `stream`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatCompletion {
    pub id: String,
    /// Always `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// `name@version` that answered.
    pub model: String,
    pub choices: Vec<ChatChoice>,
    pub usage: Usage,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompletionChoice {
    pub index: u32,
    pub text: String,
    pub finish_reason: String,
    /// Always null (not supported).
    #[schema(value_type = Option<Object>)]
    pub logprobs: Option<()>,
}

/// Response of `POST /v1/completions` without `stream`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Completion {
    pub id: String,
    /// Always `text_completion`.
    pub object: &'static str,
    pub created: u64,
    pub model: String,
    pub choices: Vec<CompletionChoice>,
    pub usage: Usage,
}

/// One event of a `stream: true` response, as OpenAPI 3.2 describes server-sent events: `data`
/// holds a chunk (`chat.completion.chunk` or `text_completion` JSON), then the last event's is
/// `[DONE]`. A failure after the stream started arrives as `{"error": {...}}` before it ends.
pub struct CompletionStream;

impl utoipa::PartialSchema for CompletionStream {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .description(Some(
                "A chunk as JSON in `data`, or `[DONE]` as the last event",
            ))
            .property("data", ObjectBuilder::new().schema_type(Type::String))
            .required("data")
            .into()
    }
}

impl ToSchema for CompletionStream {}

/// Most tokens one request may ask for, as the schema documents; the ML service's own
/// `--generate-max-tokens` and the model's context bound it further.
const MAX_TOKENS: u32 = 1 << 20;

/// Both of a chat request's token limits are checked, not only the one that is used.
fn check_max_tokens(n: Option<u32>) -> Result<(), ApiError> {
    match n {
        Some(n) if n == 0 || n > MAX_TOKENS => Err(ApiError::BadRequest(format!(
            "`max_tokens` and `max_completion_tokens` are 1 to {MAX_TOKENS}"
        ))),
        _ => Ok(()),
    }
}

fn check_sampling(s: &Sampling) -> Result<(), ApiError> {
    let bad = |m: &str| Err(ApiError::BadRequest(m.to_owned()));
    if let Some(t) = s.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return bad("`temperature` must be between 0 and 2");
    }
    if let Some(p) = s.top_p
        && !(p > 0.0 && p <= 1.0)
    {
        return bad("`top_p` must be in (0, 1]");
    }
    if let Some(r) = s.repetition_penalty
        && !(1.0..=2.0).contains(&r)
    {
        return bad("`repetition_penalty` must be between 1 and 2");
    }
    if s.n.is_some_and(|n| n != 1) {
        return bad("only `n` = 1 is supported");
    }
    if s.presence_penalty.is_some_and(|p| p != 0.0) || s.frequency_penalty.is_some_and(|p| p != 0.0)
    {
        return bad(
            "`presence_penalty` and `frequency_penalty` are not supported (use `repetition_penalty`)",
        );
    }
    if let Some(stop) = &s.stop {
        let n = match stop {
            Stop::One(_) => 1,
            Stop::Many(v) => v.len(),
        };
        let empty = match stop {
            Stop::One(s) => s.is_empty(),
            Stop::Many(v) => v.iter().any(String::is_empty),
        };
        if n > MAX_STOP || empty {
            return bad("`stop` is 1 to 4 non-empty strings");
        }
    }
    Ok(())
}

/// `max_tokens` unset leaves the ML service's default (256, or its limit if lower).
fn sampling(s: Sampling, max_tokens: Option<u32>) -> pb::SamplingParameters {
    pb::SamplingParameters {
        max_tokens,
        // OpenAI's default temperature is 1.
        temperature: Some(s.temperature.unwrap_or(1.0) as f32),
        top_k: s.top_k,
        // A positive top_p below f32's range stays positive (it keeps the likeliest token).
        top_p: s.top_p.map(|p| (p as f32).max(f32::MIN_POSITIVE)),
        repetition_penalty: s.repetition_penalty.map(|r| r as f32),
        seed: s.seed,
        stop: s.stop.map(Stop::into_vec).unwrap_or_default(),
    }
}

fn finish_reason(code: i32) -> String {
    match pb::FinishReason::try_from(code) {
        Ok(pb::FinishReason::Length) => "length",
        _ => "stop",
    }
    .to_owned()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn request_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    // An id only labels the response; a failed read of the OS RNG leaves it all zeros.
    let _ = getrandom::fill(&mut bytes);
    format!("{prefix}-{}", hex::encode(bytes))
}

/// Which endpoint a stream belongs to (its chunk shape).
#[derive(Clone, Copy)]
enum Shape {
    Chat,
    Text,
}

/// Starts generation; errors before the first token (bad request, unknown model, full queue)
/// come back here as problem+json rather than inside a stream.
async fn start(
    state: &AppState,
    ctx: &RequestContext,
    req: pb::GenerateRequest,
) -> Result<(String, u32, tonic::Streaming<pb::GenerateResponse>), ApiError> {
    let name = req.model.split('@').next().unwrap_or(&req.model).to_owned();
    let mut stream = state
        .ml
        .generation()
        .generate(ctx.grpc(req))
        .await?
        .into_inner();
    match stream.message().await? {
        Some(pb::GenerateResponse {
            event: Some(pb::generate_response::Event::Start(s)),
        }) => Ok((
            format!("{name}@{}", s.model_version),
            s.prompt_tokens,
            stream,
        )),
        _ => Err(ApiError::Internal(
            "the ML service's stream did not start with `start`".to_owned(),
        )),
    }
}

/// Collects a whole answer: its text, finish reason and usage.
async fn collect(
    mut stream: tonic::Streaming<pb::GenerateResponse>,
) -> Result<(String, String, Usage), ApiError> {
    let mut text = String::new();
    while let Some(msg) = stream.message().await? {
        match msg.event {
            Some(pb::generate_response::Event::Delta(d)) => text.push_str(&d),
            Some(pb::generate_response::Event::Done(d)) => {
                return Ok((text, finish_reason(d.finish_reason), usage(&d)));
            }
            _ => {}
        }
    }
    Err(ApiError::Internal(
        "the ML service's stream ended without `done`".to_owned(),
    ))
}

fn usage(d: &pb::GenerateDone) -> Usage {
    Usage {
        prompt_tokens: d.prompt_tokens,
        completion_tokens: d.completion_tokens,
        total_tokens: d.prompt_tokens + d.completion_tokens,
    }
}

/// OpenAI's chunk stream over the ML service's events.
fn chunks(
    shape: Shape,
    id: String,
    model: String,
    include_usage: bool,
    stream: tonic::Streaming<pb::GenerateResponse>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let created = now();
    let chunk = move |choice: serde_json::Value, usage: Option<&Usage>| -> Event {
        let object = match shape {
            Shape::Chat => "chat.completion.chunk",
            Shape::Text => "text_completion",
        };
        let mut body = serde_json::json!({
            "id": id, "object": object, "created": created, "model": model,
            "choices": if choice.is_null() { serde_json::json!([]) } else { serde_json::json!([choice]) },
        });
        if let Some(u) = usage {
            body["usage"] = serde_json::to_value(u).unwrap_or_default();
        }
        Event::default().data(body.to_string())
    };
    let delta = move |text: Option<&str>, finish: Option<String>| -> serde_json::Value {
        match shape {
            Shape::Chat => {
                let delta = match text {
                    Some(t) => serde_json::json!({ "role": "assistant", "content": t }),
                    None => serde_json::json!({}),
                };
                serde_json::json!({ "index": 0, "delta": delta, "finish_reason": finish, "logprobs": null })
            }
            Shape::Text => serde_json::json!({
                "index": 0, "text": text.unwrap_or(""), "finish_reason": finish, "logprobs": null,
            }),
        }
    };
    let opening = match shape {
        // OpenAI opens a chat stream with the role and empty content.
        Shape::Chat => Some(chunk(delta(Some(""), None), None)),
        Shape::Text => None,
    };
    let body = stream
        .map(move |item| -> Vec<Event> {
            match item {
                Ok(pb::GenerateResponse {
                    event: Some(pb::generate_response::Event::Delta(d)),
                }) => vec![chunk(delta(Some(&d), None), None)],
                Ok(pb::GenerateResponse {
                    event: Some(pb::generate_response::Event::Done(d)),
                }) => {
                    let mut out = vec![chunk(delta(None, Some(finish_reason(d.finish_reason))), None)];
                    if include_usage {
                        out.push(chunk(serde_json::Value::Null, Some(&usage(&d))));
                    }
                    out.push(Event::default().data("[DONE]"));
                    out
                }
                Ok(_) => Vec::new(),
                Err(status) => {
                    let problem = ApiError::Ml(status).problem();
                    let error = serde_json::json!({
                        "error": { "message": problem.detail, "type": problem.title, "code": problem.status }
                    });
                    vec![Event::default().data(error.to_string())]
                }
            }
        })
        .flat_map(futures_util::stream::iter);
    futures_util::stream::iter(opening).chain(body).map(Ok)
}

fn sse(events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Answers a chat with a text-generator model (viewer); `stream: true` streams the answer.
#[utoipa::path(
    post, path = "/v1/chat/completions", operation_id = "createChatCompletion", tag = "generation",
    security(("bearer" = [])), request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "The answer; with `stream: true` an event stream of `chat.completion.chunk`s ending with `[DONE]`",
            content((ChatCompletion = "application/json"), (CompletionStream = "text/event-stream"))),
        (status = 400, description = "Bad parameters, a chat the model's template refuses, a prompt plus max_tokens beyond the context, or not a text-generator", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Generation queue full", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn chat_completions(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    ApiJson(body): ApiJson<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    check_sampling(&body.sampling)?;
    if body.messages.is_empty() || body.messages.len() > MAX_MESSAGES {
        return Err(ApiError::BadRequest(format!(
            "`messages` holds 1 to {MAX_MESSAGES} messages"
        )));
    }
    let mut messages = Vec::with_capacity(body.messages.len());
    for m in body.messages {
        let content = match m.content {
            Content::Text(t) => t,
            Content::Parts(parts) => {
                if let Some(p) = parts.iter().find(|p| p.kind != "text") {
                    return Err(ApiError::BadRequest(format!(
                        "content parts of type `{}` are not supported (only `text`)",
                        p.kind
                    )));
                }
                parts
                    .into_iter()
                    .map(|p| p.text)
                    .collect::<Vec<_>>()
                    .join("")
            }
        };
        let role = if m.role == "developer" {
            "system".to_owned()
        } else {
            m.role
        };
        messages.push(pb::ChatMessage { role, content });
    }
    check_max_tokens(body.max_tokens)?;
    check_max_tokens(body.max_completion_tokens)?;
    let max = body.max_completion_tokens.or(body.max_tokens);
    let req = pb::GenerateRequest {
        model: body.model,
        input: Some(pb::generate_request::Input::Chat(pb::Chat { messages })),
        sampling: Some(sampling(body.sampling, max)),
    };
    let (model, _, stream) = start(&state, &ctx, req).await?;
    let id = request_id("chatcmpl");
    if body.stream {
        let include_usage = body.stream_options.is_some_and(|o| o.include_usage);
        return Ok(sse(chunks(Shape::Chat, id, model, include_usage, stream)));
    }
    let (content, finish_reason, usage) = collect(stream).await?;
    Ok(Json(ChatCompletion {
        id,
        object: "chat.completion",
        created: now(),
        model,
        choices: vec![ChatChoice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content,
            },
            finish_reason,
            logprobs: None,
        }],
        usage,
    })
    .into_response())
}

/// Continues a raw prompt with a text-generator model (viewer); `stream: true` streams it.
#[utoipa::path(
    post, path = "/v1/completions", operation_id = "createCompletion", tag = "generation",
    security(("bearer" = [])), request_body = CompletionRequest,
    responses(
        (status = 200, description = "The continuation; with `stream: true` an event stream of `text_completion` chunks ending with `[DONE]`",
            content((Completion = "application/json"), (CompletionStream = "text/event-stream"))),
        (status = 400, description = "Bad parameters, an empty prompt, a prompt plus max_tokens beyond the context, or not a text-generator", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Generation queue full", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn completions(
    State(state): State<AppState>,
    ctx: RequestContext,
    caller: Caller,
    ApiJson(body): ApiJson<CompletionRequest>,
) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    check_sampling(&body.sampling)?;
    check_max_tokens(body.max_tokens)?;
    if body.prompt.is_empty() {
        return Err(ApiError::BadRequest(
            "`prompt` must not be empty".to_owned(),
        ));
    }
    let req = pb::GenerateRequest {
        model: body.model,
        input: Some(pb::generate_request::Input::Prompt(body.prompt)),
        // OpenAI's default for completions is 16 tokens.
        sampling: Some(sampling(body.sampling, body.max_tokens.or(Some(16)))),
    };
    let (model, _, stream) = start(&state, &ctx, req).await?;
    let id = request_id("cmpl");
    if body.stream {
        let include_usage = body.stream_options.is_some_and(|o| o.include_usage);
        return Ok(sse(chunks(Shape::Text, id, model, include_usage, stream)));
    }
    let (text, finish_reason, usage) = collect(stream).await?;
    Ok(Json(Completion {
        id,
        object: "text_completion",
        created: now(),
        model,
        choices: vec![CompletionChoice {
            index: 0,
            text,
            finish_reason,
            logprobs: None,
        }],
        usage,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies schemathesis generated from the spec (valid by it); they must deserialize.
    #[test]
    fn schema_valid_bodies_deserialize() {
        let chat = r#"{"messages": [{"content": [{"type": "text", "text": ""}], "role": "user"}], "model": "smollm2", "frequency_penalty": null, "n": null, "presence_penalty": null, "repetition_penalty": 1.0, "seed": 0, "stop": null, "temperature": 0.0, "top_k": 0, "top_p": 5e-324, "user": null, "max_completion_tokens": 1, "max_tokens": 1, "stream": false, "stream_options": null}"#;
        let r: ChatCompletionRequest = serde_json::from_str(chat).expect("chat body");
        assert_eq!(r.sampling.repetition_penalty, Some(1.0));
        assert_eq!(r.sampling.temperature, Some(0.0));
        let text = r#"{"model": "smollm2", "frequency_penalty": null, "n": null, "presence_penalty": null, "repetition_penalty": 1.0, "seed": 0, "stop": null, "temperature": 0.0, "top_k": 0, "top_p": 5e-324, "user": null, "max_tokens": 1, "prompt": "", "stream": false, "stream_options": null}"#;
        let r: CompletionRequest = serde_json::from_str(text).expect("completion body");
        assert_eq!(r.sampling.seed, Some(0));
        // In the schema's range, so accepted, and sent as a positive f32.
        assert!(check_sampling(&r.sampling).is_ok());
        assert!(sampling(r.sampling, None).top_p.is_some_and(|p| p > 0.0));
    }

    /// JSON Schema's integers include `50754.0`; a fraction, a negative or an overflow is refused.
    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        let body = |extra: &str| format!(r#"{{"model": "smollm2", "prompt": "p", {extra}}}"#);
        let r: CompletionRequest =
            serde_json::from_str(&body(r#""max_tokens": 50754.0, "top_k": 3.0, "seed": 7.0"#))
                .expect("integral floats");
        assert_eq!(
            (r.max_tokens, r.sampling.top_k, r.sampling.seed),
            (Some(50754), Some(3), Some(7))
        );
        for bad in [
            r#""max_tokens": 1.5"#,
            r#""max_tokens": -1"#,
            r#""max_tokens": 5e9"#,
            r#""max_tokens": "5""#,
            r#""seed": 1e300"#,
        ] {
            assert!(
                serde_json::from_str::<CompletionRequest>(&body(bad)).is_err(),
                "{bad}"
            );
        }
    }

    /// Each limit a chat request carries is held to the schema's range, the unused one too.
    #[test]
    fn token_limits_are_checked_against_the_documented_range() {
        assert!(check_max_tokens(None).is_ok());
        assert!(check_max_tokens(Some(1)).is_ok());
        assert!(check_max_tokens(Some(MAX_TOKENS)).is_ok());
        assert!(check_max_tokens(Some(0)).is_err());
        assert!(check_max_tokens(Some(MAX_TOKENS + 1)).is_err());
    }
}

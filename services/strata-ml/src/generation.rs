//! `strata.ml.v1.GenerationService`: streamed text from text-generator models.
//!
//! Each loaded generator has one engine ([`strata_core::generate::Engine`], owned by its
//! [`LoadedModel`]) that decodes every concurrent call's sequence in shared steps. A call
//! renders and tokenizes its input, is checked against the model's context before it is queued
//! (INVALID_ARGUMENT, not a failed stream), and streams the engine's events. When the caller goes
//! away the stream's receiver is dropped, and the engine drops the sequence at its next step.

use std::pin::Pin;
use std::sync::Arc;

use strata_core::generate::{
    Event, FinishReason, Message, Request as GenRequest, SamplingParams, Sink,
};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::generation_service_server::GenerationService;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::error::{ServiceError, ServiceResult};
use crate::registry::{LoadedModel, ModelRegistry};

pub struct GenerationApi {
    pub registry: Arc<ModelRegistry>,
    /// Largest `max_tokens` a call may ask for (`--generate-max-tokens`).
    pub max_tokens: usize,
}

/// Forwards engine events to the call's stream; closed once the caller has gone.
struct StreamSink(mpsc::UnboundedSender<Event>);

impl Sink for StreamSink {
    fn send(&mut self, event: Event) -> bool {
        self.0.send(event).is_ok()
    }
    fn closed(&self) -> bool {
        self.0.is_closed()
    }
}

fn sampling(p: Option<pb::SamplingParameters>) -> SamplingParams {
    let d = SamplingParams::default();
    let Some(p) = p else { return d };
    SamplingParams {
        max_tokens: p.max_tokens.map_or(d.max_tokens, |n| n as usize),
        temperature: p.temperature.map_or(d.temperature, f64::from),
        top_k: p.top_k.filter(|&k| k > 0).map(|k| k as usize),
        top_p: p.top_p.map(f64::from),
        repetition_penalty: p.repetition_penalty.unwrap_or(d.repetition_penalty),
        seed: p.seed.unwrap_or(d.seed),
        stop: p.stop,
        ignore_eos: false,
    }
}

fn finish(reason: FinishReason) -> pb::FinishReason {
    match reason {
        FinishReason::Stop => pb::FinishReason::Stop,
        FinishReason::Length => pb::FinishReason::Length,
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::GenerateResponse, Status>> + Send>>;

impl GenerationApi {
    async fn start(&self, req: pb::GenerateRequest) -> ServiceResult<EventStream> {
        if req.model.is_empty() {
            return Err(ServiceError::InvalidArgument(
                "model is required (name, name@version or name@alias)".into(),
            ));
        }
        let asked = req.sampling.as_ref().and_then(|s| s.max_tokens);
        let mut params = sampling(req.sampling);
        if asked.is_none() {
            params.max_tokens = params.max_tokens.min(self.max_tokens);
        }
        let over = (params.max_tokens > self.max_tokens).then(|| {
            ServiceError::InvalidArgument(format!(
                "max_tokens {} is above this server's limit of {}",
                params.max_tokens, self.max_tokens
            ))
        });
        let registry = self.registry.clone();
        let span = tracing::Span::current();
        let checked = params.clone();
        let (model, prompt) = tokio::task::spawn_blocking(move || {
            span.in_scope(|| -> ServiceResult<(Arc<LoadedModel>, Vec<u32>)> {
                let key = registry.resolve(&req.model)?;
                if let Some(e) = over {
                    return Err(e);
                }
                let model = registry.load(&key)?;
                let generator = model.generator.clone().ok_or_else(|| {
                    ServiceError::InvalidArgument(format!(
                        "{} is not a text-generator; use Predict or Embed",
                        key.name
                    ))
                })?;
                let prompt = match req.input {
                    Some(pb::generate_request::Input::Chat(chat)) => {
                        let messages: Vec<Message> = chat
                            .messages
                            .into_iter()
                            .map(|m| Message {
                                role: m.role,
                                content: m.content,
                            })
                            .collect();
                        generator.chat_prompt(&messages)?
                    }
                    Some(pb::generate_request::Input::Prompt(text)) => generator.encode(&text)?,
                    None => {
                        return Err(ServiceError::InvalidArgument(
                            "set `chat` or `prompt`".into(),
                        ));
                    }
                };
                generator.check(prompt.len(), &checked)?;
                Ok((model, prompt))
            })
        })
        .await??;
        let engine = model
            .engine
            .clone()
            .ok_or_else(|| ServiceError::Internal("a generator without an engine".into()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let prompt_tokens = prompt.len() as u32;
        engine
            .submit(GenRequest { prompt, params }, Box::new(StreamSink(tx)))
            .map_err(|e| ServiceError::ResourceExhausted(e.to_string()))?;
        let start = event(pb::generate_response::Event::Start(pb::GenerateStart {
            model_version: model.key.version.clone(),
            prompt_tokens,
        }));
        let events = UnboundedReceiverStream::new(rx).map(move |ev| {
            // Holding the model keeps its engine alive while this call streams.
            let _model = &model;
            Ok(event(match ev {
                Event::Delta(text) => pb::generate_response::Event::Delta(text),
                Event::Done(f) => pb::generate_response::Event::Done(pb::GenerateDone {
                    finish_reason: finish(f.reason) as i32,
                    prompt_tokens: f.prompt_tokens as u32,
                    completion_tokens: f.completion_tokens as u32,
                }),
                Event::Failed(msg) => {
                    let err = ServiceError::Internal(format!("generation failed: {msg}"));
                    tracing::error!(error = %err, "generation failed");
                    return Err(Status::from(err));
                }
            }))
        });
        let stream = tokio_stream::once(Ok(start)).chain(events);
        Ok(Box::pin(stream))
    }
}

fn event(e: pb::generate_response::Event) -> pb::GenerateResponse {
    pb::GenerateResponse { event: Some(e) }
}

#[tonic::async_trait]
impl GenerationService for GenerationApi {
    type GenerateStream = EventStream;

    async fn generate(
        &self,
        request: Request<pb::GenerateRequest>,
    ) -> Result<Response<Self::GenerateStream>, Status> {
        Ok(Response::new(self.start(request.into_inner()).await?))
    }
}

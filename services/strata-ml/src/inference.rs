//! `strata.ml.v1.InferenceService`: Predict and Embed through the dynamic batcher.
//!
//! Inputs are checked against the model's schema before they join a batch, so one bad request
//! never fails its neighbours. The caller's deadline (`grpc-timeout`) bounds the whole call,
//! including the wait for a batch.

use std::sync::Arc;
use std::time::Duration;

use strata_core::{InputSchema, Inputs, OutputSchema};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::inference_service_server::InferenceService;
use tokio::time::Instant;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use crate::error::{ServiceError, ServiceResult};
use crate::registry::{Input, LoadedModel, ModelRegistry, Output};

pub struct InferenceApi {
    pub registry: Arc<ModelRegistry>,
}

/// tonic's own timeout layer answers CANCELLED exactly at the deadline; finishing a moment
/// earlier lets the call end with the meaningful DEADLINE_EXCEEDED instead.
const DEADLINE_MARGIN: Duration = Duration::from_millis(5);

/// The caller's deadline from the `grpc-timeout` header (`<digits><H|M|S|m|u|n>`).
fn deadline(metadata: &MetadataMap) -> Option<Instant> {
    let raw = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    };
    Some(Instant::now() + timeout.saturating_sub(DEADLINE_MARGIN.min(timeout / 10)))
}

impl InferenceApi {
    async fn model(&self, reference: &str) -> ServiceResult<Arc<LoadedModel>> {
        if reference.is_empty() {
            return Err(ServiceError::InvalidArgument(
                "model is required (name, name@version or name@alias)".into(),
            ));
        }
        let registry = self.registry.clone();
        let reference = reference.to_owned();
        // The blocking thread does not inherit the caller's span; `model.load` belongs under it.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let key = registry.resolve(&reference)?;
                registry.load(&key)
            })
        })
        .await?
    }

    async fn run(
        &self,
        model: &LoadedModel,
        inputs: Inputs,
        deadline: Option<Instant>,
    ) -> ServiceResult<Vec<Output>> {
        model.schema.check(&inputs)?;
        let items: Vec<Input> = match inputs {
            Inputs::Features(f) => f.into_iter().map(Input::Features).collect(),
            Inputs::Texts(t) => t.into_iter().map(Input::Text).collect(),
        };
        model.batcher.submit(items, deadline).await
    }

    async fn run_predict(
        &self,
        metadata: &MetadataMap,
        req: pb::PredictRequest,
    ) -> ServiceResult<pb::PredictResponse> {
        let deadline = deadline(metadata);
        let work = async {
            let model = self.model(&req.model).await?;
            if !matches!(model.schema.output, OutputSchema::Classes { .. }) {
                return Err(ServiceError::InvalidArgument(format!(
                    "{} is an embedding model; use Embed",
                    model.key.name
                )));
            }
            let inputs = match (req.features.is_empty(), req.texts.is_empty()) {
                (false, true) => {
                    Inputs::Features(req.features.into_iter().map(|f| f.values).collect())
                }
                (true, false) => Inputs::Texts(req.texts),
                (true, true) => {
                    return Err(ServiceError::InvalidArgument(
                        "no inputs: set `features` or `texts`".into(),
                    ));
                }
                (false, false) => {
                    return Err(ServiceError::InvalidArgument(
                        "set either `features` or `texts`, not both".into(),
                    ));
                }
            };
            let outputs = self.run(&model, inputs, deadline).await?;
            let predictions = outputs
                .into_iter()
                .filter_map(|o| match o {
                    Output::Class(c) => Some(pb::Prediction {
                        class_index: c.class as u32,
                        label: c.label,
                        probabilities: c.probabilities,
                    }),
                    Output::Embedding(_) => None,
                })
                .collect();
            Ok(pb::PredictResponse {
                model_version: model.key.version.clone(),
                predictions,
            })
        };
        with_deadline(deadline, work).await
    }

    async fn run_embed(
        &self,
        metadata: &MetadataMap,
        req: pb::EmbedRequest,
    ) -> ServiceResult<pb::EmbedResponse> {
        let deadline = deadline(metadata);
        let work = async {
            let model = self.model(&req.model).await?;
            if !matches!(model.schema.output, OutputSchema::Embedding { .. }) {
                return Err(ServiceError::InvalidArgument(format!(
                    "{} is not an embedding model; use Predict",
                    model.key.name
                )));
            }
            if req.texts.is_empty() {
                return Err(ServiceError::InvalidArgument(
                    "no inputs: set `texts`".into(),
                ));
            }
            let prompt_tokens = match (&model.tokenizer, &model.schema.input) {
                (Some(t), InputSchema::Text { .. }) => t
                    .encode_batch_fast(
                        req.texts.iter().map(String::as_str).collect::<Vec<_>>(),
                        true,
                    )
                    .map_err(|e| {
                        ServiceError::InvalidArgument(format!("cannot tokenize the texts: {e}"))
                    })?
                    .iter()
                    .map(|e| e.len() as u64)
                    .sum(),
                _ => 0,
            };
            let outputs = self.run(&model, Inputs::Texts(req.texts), deadline).await?;
            let embeddings = outputs
                .into_iter()
                .filter_map(|o| match o {
                    Output::Embedding(values) => Some(pb::Embedding { values }),
                    Output::Class(_) => None,
                })
                .collect();
            Ok(pb::EmbedResponse {
                model_version: model.key.version.clone(),
                embeddings,
                prompt_tokens,
            })
        };
        with_deadline(deadline, work).await
    }
}

async fn with_deadline<T>(
    deadline: Option<Instant>,
    work: impl Future<Output = ServiceResult<T>>,
) -> ServiceResult<T> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, work).await.unwrap_or_else(|_| {
            Err(ServiceError::DeadlineExceeded(
                "the deadline passed before the model answered".into(),
            ))
        }),
        None => work.await,
    }
}

#[tonic::async_trait]
impl InferenceService for InferenceApi {
    async fn predict(
        &self,
        request: Request<pb::PredictRequest>,
    ) -> Result<Response<pb::PredictResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        Ok(Response::new(self.run_predict(&metadata, req).await?))
    }

    async fn embed(
        &self,
        request: Request<pb::EmbedRequest>,
    ) -> Result<Response<pb::EmbedResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        Ok(Response::new(self.run_embed(&metadata, req).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        let mut m = MetadataMap::new();
        assert!(deadline(&m).is_none());
        m.insert("grpc-timeout", "250m".parse().expect("ascii"));
        let d = deadline(&m).expect("deadline");
        let left = d - Instant::now();
        assert!(
            left <= Duration::from_millis(250) && left >= Duration::from_millis(200),
            "{left:?}"
        );
        m.insert("grpc-timeout", "xyz".parse().expect("ascii"));
        assert!(deadline(&m).is_none());
    }
}

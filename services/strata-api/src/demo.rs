//! Demo content on first start (`--demo`, off unless asked for): the two sample datasets, a text
//! encoder imported as `minilm`, a digits classifier and a support-request classifier trained
//! and promoted to `production`, so a new user's first page shows something to try.
//!
//! Everything goes through the server's own public REST endpoints over loopback, with a token of
//! an admin user, exactly as a user's script would: the datasets are uploads, the models come
//! from ordinary training jobs with their events, and the promotion is an alias move. The one
//! exception is the encoder import, which has no REST endpoint; it is the ML service's public
//! `ImportModel` RPC, the call `strata import-hf` makes.
//!
//! Idempotent without bookkeeping: each step runs only when what it makes is absent (a dataset
//! of that name, a model of that name, a training job for that model that has not failed, an
//! alias on that model). A restart, even mid-training, therefore duplicates nothing: it waits for
//! the job it finds instead of starting another, a job the user cancelled stays cancelled, and a
//! failed one is tried again.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use strata_proto::strata::ml::v1 as pb;

use crate::auth::Authenticator;
use crate::routes::datasets::{Dataset, DatasetList};
use crate::routes::jobs::{JobState, TrainingJob, TrainingJobList};
use crate::routes::models::{Model, ModelList};
use crate::state::MlClient;

/// The samples in `libs/strata-data/samples` (their provenance is documented there), compiled
/// in so the demo needs no files beside the binary, in a container image too.
const DIGITS_PARQUET: &[u8] = include_bytes!("../../../libs/strata-data/samples/digits.parquet");
const SUPPORT_PARQUET: &[u8] =
    include_bytes!("../../../libs/strata-data/samples/support_requests.parquet");

/// Registry name of the imported text encoder.
pub const ENCODER_MODEL: &str = "minilm";
/// The alias every demo model gets, the one the playgrounds prefer.
pub const ALIAS: &str = "production";

/// How long the demo waits for the API and the ML service to be ready, and for one training job.
const READY_TIMEOUT: Duration = Duration::from_secs(300);
const JOB_TIMEOUT: Duration = Duration::from_secs(1800);
const POLL: Duration = Duration::from_millis(500);

/// What the demo needs besides the running server.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The server's own base URL, e.g. `http://127.0.0.1:8080`.
    pub api_url: String,
    /// A Hugging Face text-encoder directory on the ML service's filesystem; `None` leaves the
    /// encoder and the text classifier (which fine-tunes it) out.
    pub text_encoder_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("no admin user to act as; create one, or restart with an empty user store")]
    NoAdmin,
    #[error("{0}")]
    Api(String),
    #[error("the API did not become ready within {0:?}: {1}")]
    NotReady(Duration, String),
    #[error("training job {id} for `{model}` ended {state:?}: {error}")]
    JobFailed {
        id: String,
        model: String,
        state: Option<JobState>,
        error: String,
    },
    #[error("training job {0} did not finish within {1:?}")]
    JobTimeout(String, Duration),
    #[error("cannot import the text encoder from {0}: {1}")]
    Import(String, String),
}

/// One thing the demo did or found done; the log says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Created(String),
    Present(String),
    Skipped(String),
}

/// The steps so far, each logged as it happens (a long training job shows in the log while it
/// runs, not only at the end).
#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    fn push(&mut self, step: Step) {
        tracing::info!(?step, "demo");
        self.0.push(step);
    }
}

/// A sample dataset and the model the demo trains on it.
struct Sample {
    dataset: &'static str,
    description: &'static str,
    parquet: &'static [u8],
    schema: serde_json::Value,
    model: &'static str,
    kind: &'static str,
    hyperparameters: serde_json::Value,
    base_model: Option<&'static str>,
}

fn samples() -> [Sample; 2] {
    let pixels: Vec<String> = (0..8)
        .flat_map(|r| (0..8).map(move |c| format!("pixel_{r}_{c}")))
        .collect();
    [
        Sample {
            dataset: "digits",
            description: "1,797 handwritten digits, 8x8 grey levels (UCI, via scikit-learn)",
            parquet: DIGITS_PARQUET,
            schema: json!({ "feature_columns": pixels, "label_column": "label" }),
            model: "digits",
            kind: "mlp-classifier",
            hyperparameters: json!({ "seed": 7 }),
            base_model: None,
        },
        Sample {
            dataset: "support-requests",
            description: "240 customer-support requests in four topics (written for strata)",
            parquet: SUPPORT_PARQUET,
            schema: json!({ "text_column": "text", "label_column": "topic" }),
            model: "support-topics",
            kind: "text-classifier",
            // Head-only on MiniLM: the encoder embeds the 240 texts once, the head trains in
            // seconds (the same settings as the ML service's fine-tuning test).
            hyperparameters: json!({
                "epochs": 60, "batch_size": 16, "learning_rate": 0.05,
                "early_stopping_patience": 10, "seed": 7
            }),
            base_model: Some("minilm@production"),
        },
    ]
}

/// Seeds the demo content; returns what it did, step by step.
pub async fn seed(
    config: &DemoConfig,
    auth: &Authenticator,
    ml: &MlClient,
) -> Result<Vec<Step>, DemoError> {
    // See Cargo.toml: without a provider, a rustls-enabled reqwest cannot build a client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| DemoError::Api(format!("cannot build an HTTP client: {e}")))?,
        base: config.api_url.trim_end_matches('/').to_owned(),
        auth,
    };
    api.wait_ready().await?;
    let mut steps = Steps::default();

    let existing = api.datasets().await?;
    let mut dataset_ids = std::collections::HashMap::new();
    for sample in samples() {
        let id = match existing.iter().find(|d| d.name == sample.dataset) {
            Some(d) => {
                steps.push(Step::Present(format!("dataset {}", sample.dataset)));
                d.id.clone()
            }
            None => {
                let d = api.upload(&sample).await?;
                steps.push(Step::Created(format!(
                    "dataset {} ({} rows)",
                    d.name, d.num_rows
                )));
                d.id
            }
        };
        dataset_ids.insert(sample.dataset, id);
    }

    let encoder = match (&config.text_encoder_dir, api.model(ENCODER_MODEL).await?) {
        (_, Some(_)) => {
            steps.push(Step::Present(format!("model {ENCODER_MODEL}")));
            true
        }
        (Some(dir), None) => {
            import_encoder(ml, dir).await?;
            steps.push(Step::Created(format!(
                "model {ENCODER_MODEL} (imported from {})",
                dir.display()
            )));
            true
        }
        (None, None) => {
            steps.push(Step::Skipped(format!(
                "model {ENCODER_MODEL}: no --demo-text-encoder directory"
            )));
            false
        }
    };
    if encoder {
        steps.push(api.promote_latest(ENCODER_MODEL).await?);
    }

    for sample in samples() {
        if sample.base_model.is_some() && !encoder {
            steps.push(Step::Skipped(format!(
                "model {}: it fine-tunes {ENCODER_MODEL}",
                sample.model
            )));
            continue;
        }
        if api.model(sample.model).await?.is_none() {
            // A job that failed before (a crash mid-training, say) is tried again, once per start.
            let earlier = api
                .latest_job(sample.model)
                .await?
                .filter(|j| j.state != Some(JobState::Failed));
            let job = match earlier {
                Some(job) => {
                    steps.push(Step::Present(format!("training job for {}", sample.model)));
                    job
                }
                None => {
                    let job = api.train(&sample, &dataset_ids[sample.dataset]).await?;
                    steps.push(Step::Created(format!(
                        "training job {} for {}",
                        job.id, sample.model
                    )));
                    job
                }
            };
            match api.wait_for(job).await {
                Ok(Some(_)) => {}
                // Cancelled by someone: leave it so.
                Ok(None) => {
                    steps.push(Step::Skipped(format!(
                        "model {}: its training job was cancelled",
                        sample.model
                    )));
                    continue;
                }
                // One model failing leaves the others to be made.
                Err(e @ DemoError::JobFailed { .. }) => {
                    steps.push(Step::Skipped(format!("model {}: {e}", sample.model)));
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            steps.push(Step::Present(format!("model {}", sample.model)));
        }
        steps.push(api.promote_latest(sample.model).await?);
    }
    Ok(steps.0)
}

async fn import_encoder(ml: &MlClient, dir: &std::path::Path) -> Result<(), DemoError> {
    let path = dir
        .to_str()
        .ok_or_else(|| DemoError::Import(dir.display().to_string(), "not UTF-8".to_owned()))?;
    ml.models()
        .import_model(pb::ImportModelRequest {
            name: ENCODER_MODEL.to_owned(),
            kind: "text-encoder".to_owned(),
            path: path.to_owned(),
        })
        .await
        .map_err(|s| DemoError::Import(path.to_owned(), s.message().to_owned()))?;
    Ok(())
}

/// The server's REST API, called as a client.
struct Api<'a> {
    http: reqwest::Client,
    base: String,
    auth: &'a Authenticator,
}

impl Api<'_> {
    /// A fresh token per call: a demo that waits on a long job outlives one token.
    async fn token(&self) -> Result<String, DemoError> {
        self.auth
            .token_for_an_admin()
            .await
            .map_err(|e| DemoError::Api(format!("cannot issue a token: {e:?}")))?
            .map(|t| t.access_token)
            .ok_or(DemoError::NoAdmin)
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, DemoError> {
        self.request_with(method, path, &[]).await
    }

    /// A request with query parameters (percent-encoded: page tokens are opaque).
    async fn request_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::RequestBuilder, DemoError> {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), query)
            .map_err(|e| DemoError::Api(format!("bad URL for {path}: {e}")))?;
        Ok(self
            .http
            .request(method, url)
            .bearer_auth(self.token().await?))
    }

    /// Sends and decodes; `Ok(None)` on 404.
    async fn call<T: DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<T>, DemoError> {
        let response = request
            .send()
            .await
            .map_err(|e| DemoError::Api(format!("{what}: {e}")))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(DemoError::Api(format!("{what}: HTTP {status}: {body}")));
        }
        response
            .json()
            .await
            .map(Some)
            .map_err(|e| DemoError::Api(format!("{what}: unexpected answer: {e}")))
    }

    async fn must<T: DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, DemoError> {
        self.call(what, request)
            .await?
            .ok_or_else(|| DemoError::Api(format!("{what}: HTTP 404")))
    }

    /// Waits until the API answers `/readyz` (so the ML service is up behind it).
    async fn wait_ready(&self) -> Result<(), DemoError> {
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let last = match self.http.get(format!("{}/readyz", self.base)).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => format!("HTTP {}", r.status()),
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(DemoError::NotReady(READY_TIMEOUT, last));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Every item of a paged listing at `path`: `split` takes a page apart into its items and
    /// the next page's token.
    async fn list_all<P: DeserializeOwned, T>(
        &self,
        path: &str,
        split: impl Fn(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, DemoError> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("page_size", "500")];
            query.extend(token.as_deref().map(|t| ("page_token", t)));
            let page: P = self
                .must(
                    &format!("list {path}"),
                    self.request_with(Method::GET, path, &query).await?,
                )
                .await?;
            let (items, next) = split(page);
            all.extend(items);
            match next {
                Some(t) => token = Some(t),
                None => return Ok(all),
            }
        }
    }

    async fn datasets(&self) -> Result<Vec<Dataset>, DemoError> {
        self.list_all("/v1/datasets", |p: DatasetList| {
            (p.datasets, p.next_page_token)
        })
        .await
    }

    async fn upload(&self, sample: &Sample) -> Result<Dataset, DemoError> {
        let metadata = json!({
            "name": sample.dataset,
            "description": sample.description,
            "schema": sample.schema,
        });
        let form = reqwest::multipart::Form::new()
            .part(
                "metadata",
                reqwest::multipart::Part::text(metadata.to_string())
                    .mime_str("application/json")
                    .map_err(|e| DemoError::Api(e.to_string()))?,
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(sample.parquet)
                    .file_name(format!("{}.parquet", sample.dataset)),
            );
        self.must(
            &format!("upload dataset {}", sample.dataset),
            self.request(Method::POST, "/v1/datasets")
                .await?
                .multipart(form),
        )
        .await
    }

    /// The model called `name`, found by listing (a lookup by name would log a 404 for every
    /// model not made yet).
    async fn model(&self, name: &str) -> Result<Option<Model>, DemoError> {
        let models = self
            .list_all("/v1/models", |p: ModelList| (p.models, p.next_page_token))
            .await?;
        Ok(models.into_iter().find(|m| m.name == name))
    }

    /// The newest job producing `model`, in any state.
    async fn latest_job(&self, model: &str) -> Result<Option<TrainingJob>, DemoError> {
        let page: TrainingJobList = self
            .must(
                &format!("list jobs for {model}"),
                self.request_with(
                    Method::GET,
                    "/v1/training-jobs",
                    &[("model_name", model), ("page_size", "1")],
                )
                .await?,
            )
            .await?;
        Ok(page.jobs.into_iter().next())
    }

    async fn train(&self, sample: &Sample, dataset_id: &str) -> Result<TrainingJob, DemoError> {
        let mut body = json!({
            "model_name": sample.model,
            "kind": sample.kind,
            "dataset_id": dataset_id,
            "hyperparameters": sample.hyperparameters,
        });
        if let Some(base) = sample.base_model {
            body["base_model"] = json!(base);
        }
        self.must(
            &format!("create a training job for {}", sample.model),
            self.request(Method::POST, "/v1/training-jobs")
                .await?
                .json(&body),
        )
        .await
    }

    /// Polls a job to its end: the job when it succeeded, `None` when it was cancelled.
    async fn wait_for(&self, mut job: TrainingJob) -> Result<Option<TrainingJob>, DemoError> {
        let deadline = tokio::time::Instant::now() + JOB_TIMEOUT;
        loop {
            match job.state {
                Some(JobState::Succeeded) => return Ok(Some(job)),
                Some(JobState::Cancelled) => return Ok(None),
                Some(JobState::Failed) => {
                    return Err(DemoError::JobFailed {
                        id: job.id,
                        model: job.model_name,
                        state: job.state,
                        error: job.error.unwrap_or_default(),
                    });
                }
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DemoError::JobTimeout(job.id, JOB_TIMEOUT));
            }
            tokio::time::sleep(POLL).await;
            job = self
                .must(
                    &format!("get job {}", job.id),
                    self.request(Method::GET, &format!("/v1/training-jobs/{}", job.id))
                        .await?,
                )
                .await?;
        }
    }

    /// Points `production` at the newest version, unless the model has an alias of that name
    /// already (the user may have moved it).
    async fn promote_latest(&self, name: &str) -> Result<Step, DemoError> {
        let model = self
            .model(name)
            .await?
            .ok_or_else(|| DemoError::Api(format!("model {name} vanished")))?;
        if model.aliases.contains_key(ALIAS) {
            return Ok(Step::Present(format!("alias {name}@{ALIAS}")));
        }
        let newest = model
            .versions
            .iter()
            .max_by_key(|v| {
                v.version
                    .trim_start_matches('v')
                    .parse::<u64>()
                    .unwrap_or(0)
            })
            .ok_or_else(|| DemoError::Api(format!("model {name} has no version")))?;
        let _: Model = self
            .must(
                &format!("promote {name}"),
                self.request(Method::PUT, &format!("/v1/models/{name}/aliases/{ALIAS}"))
                    .await?
                    .json(&json!({ "version": newest.version })),
            )
            .await?;
        Ok(Step::Created(format!(
            "alias {name}@{ALIAS} -> version {}",
            newest.version
        )))
    }
}

//! The strata web API: an axum REST gateway in front of the ML service's gRPC API, with its
//! OpenAPI 3.1 document at `/openapi.json` and a docs page at `/docs`.
//!
//! Start reading at [`router`]: it lists every route and the tower layers around them.
//! `main.rs` only parses [`Config`] and calls [`serve`]; tests call [`serve`] on loopback.
//!
//! Architecture invariant: the API never reaches past the ML service's gRPC contract (no ML core,
//! no data layer); every failure leaves through [`error::ApiError`] as problem+json.

pub mod auth;
pub mod backoff;
pub mod config;
pub mod demo;
pub mod error;
pub mod middleware;
pub mod routes;
pub mod state;
pub mod streams;
pub mod telemetry;

use std::future::Future;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use config::Config;
pub use state::{AppState, MlClient, MlClientError};

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "strata API", description = "REST API of the strata AI product starter."),
    paths(
        routes::ops::healthz,
        routes::ops::readyz,
        routes::system::get_system_info,
        routes::auth::create_token,
        routes::auth::me,
        routes::auth::list_principals,
        routes::auth::create_user,
        routes::auth::delete_user,
        routes::auth::set_user_password,
        routes::auth::create_api_key,
        routes::auth::delete_api_key,
        routes::datasets::upload,
        routes::datasets::list,
        routes::datasets::get,
        routes::datasets::delete,
        routes::jobs::create,
        routes::jobs::list,
        routes::jobs::get,
        routes::jobs::post_action,
        routes::jobs::events,
        routes::models::list,
        routes::models::get,
        routes::models::set_alias,
        routes::models::delete_version,
        routes::models::post_action,
        routes::inference::embeddings,
        routes::generation::chat_completions,
        routes::generation::completions,
    ),
    components(schemas(
        error::Problem,
        routes::system::SystemInfo,
        routes::system::MlServiceInfo,
        routes::system::ModelKindInfo,
        routes::system::BaseModel,
        routes::auth::TokenRequest,
        routes::auth::Principal,
        routes::auth::PrincipalEntry,
        routes::auth::CreateUserRequest,
        routes::auth::SetPasswordRequest,
        routes::auth::CreateApiKeyRequest,
        routes::auth::CreatedApiKey,
        auth::PrincipalKind,
        auth::TokenResponse,
        auth::Role,
        routes::common::Metrics,
        routes::datasets::Dataset,
        routes::datasets::DatasetList,
        routes::datasets::DatasetSchema,
        routes::datasets::DatasetUploadMetadata,
        routes::datasets::ColumnInfo,
        routes::datasets::ColumnStats,
        routes::jobs::CreateTrainingJob,
        routes::jobs::Hyperparameters,
        routes::jobs::JobState,
        routes::jobs::TrainingJob,
        routes::jobs::TrainingJobList,
        routes::jobs::TrainingProgress,
        routes::jobs::TrainingEvent,
        routes::jobs::TrainingEventStream,
        routes::models::Model,
        routes::models::ModelList,
        routes::models::ModelVersion,
        routes::models::SetAlias,
        routes::models::PredictRequest,
        routes::models::PredictResponse,
        routes::models::Prediction,
        routes::inference::EmbeddingsRequest,
        routes::inference::EmbeddingsResponse,
        routes::generation::ChatCompletionRequest,
        routes::generation::ChatCompletion,
        routes::generation::CompletionRequest,
        routes::generation::Completion,
    )),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "auth", description = "Tokens and identities"),
        (name = "datasets", description = "Parquet datasets"),
        (name = "training", description = "Training and fine-tuning jobs"),
        (name = "models", description = "The model registry, predictions and embeddings"),
        (name = "generation", description = "Chat and text completions from text-generator models (OpenAI-compatible)"),
        (name = "system", description = "What the ML service runs on and can do"),
        (name = "ops", description = "Probes for orchestrators"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme (a JWT from `POST /v1/auth/token`).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Responses that come from layers around the handlers rather than from one handler, added to
/// every operation they can happen on: 413 from the body limit (operations with a body), 429
/// from the per-caller rate limit (all), and 502, 503 and 504 where the operation calls the ML
/// service (everything under `/v1/` but `/v1/auth/`).
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, Ref, RefOr, ResponseBuilder, header::HeaderBuilder, schema::Type,
        };
        let problem = |description: &str, retry_after: bool| {
            let mut response = ResponseBuilder::new().description(description).content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
            if retry_after {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(utoipa::openapi::schema::Object::with_type(
                            Type::String,
                        )))
                        .description(Some("Seconds to wait before retrying"))
                        .build(),
                );
            }
            RefOr::T(response.build())
        };
        let shared = [
            (
                "413",
                "PayloadTooLarge",
                "The request body is over its limit",
                false,
                false,
            ),
            (
                "429",
                "RateLimited",
                "Too many requests from this caller",
                true,
                false,
            ),
            ("502", "MlError", "The ML service failed", false, true),
            (
                "503",
                "MlUnavailable",
                "The ML service is unavailable",
                true,
                true,
            ),
            (
                "504",
                "MlTimeout",
                "The ML service did not answer in time",
                false,
                true,
            ),
        ];
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description, retry_after, _) in shared {
            components
                .responses
                .insert(name.to_owned(), problem(description, retry_after));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let calls_ml = path.starts_with("/v1/") && !path.starts_with("/v1/auth/");
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let has_body = operation.request_body.is_some();
                for (code, name, _, _, ml_only) in shared {
                    if (ml_only && !calls_ml) || (code == "413" && !has_body) {
                        continue;
                    }
                    operation
                        .responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
}

/// The OpenAPI document served at `/openapi.json` and committed as `services/strata-api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Every route, wrapped in the cross-cutting layers (request ids, tracing, limits, timeouts).
pub fn router(state: AppState, config: &Config) -> Router {
    use axum::routing::{post, put};
    let x_request_id = axum::http::HeaderName::from_static(middleware::REQUEST_ID_HEADER);
    // Uploads stream large files, so they get their own body limit instead of the small default.
    let uploads = Router::new()
        .route("/v1/datasets", post(routes::datasets::upload))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            config.max_upload_bytes,
        ));
    let api = Router::new()
        .route("/v1/datasets", get(routes::datasets::list))
        .route(
            "/v1/datasets/{id}",
            get(routes::datasets::get).delete(routes::datasets::delete),
        )
        .route(
            "/v1/training-jobs",
            get(routes::jobs::list).post(routes::jobs::create),
        )
        // `POST {id}:cancel` arrives here as one path segment; the handler reads the action.
        .route(
            "/v1/training-jobs/{id}",
            get(routes::jobs::get)
                .post(routes::jobs::post_action)
                .options(routes::jobs::options),
        )
        .route("/v1/training-jobs/{id}/events", get(routes::jobs::events))
        .route("/v1/models", get(routes::models::list))
        .route(
            "/v1/models/{name}",
            get(routes::models::get)
                .post(routes::models::post_action)
                .options(routes::models::options),
        )
        .route(
            "/v1/models/{name}/aliases/{alias}",
            put(routes::models::set_alias),
        )
        .route(
            "/v1/models/{name}/versions/{version}",
            axum::routing::delete(routes::models::delete_version),
        )
        .route("/v1/embeddings", post(routes::inference::embeddings))
        .route(
            "/v1/chat/completions",
            post(routes::generation::chat_completions),
        )
        .route("/v1/completions", post(routes::generation::completions))
        .route("/v1/auth/token", post(routes::auth::create_token))
        .route("/v1/auth/me", get(routes::auth::me))
        .route("/v1/auth/principals", get(routes::auth::list_principals))
        .route("/v1/auth/users", post(routes::auth::create_user))
        .route(
            "/v1/auth/users/{name}",
            axum::routing::delete(routes::auth::delete_user),
        )
        .route(
            "/v1/auth/users/{name}/password",
            put(routes::auth::set_user_password),
        )
        .route("/v1/auth/api-keys", post(routes::auth::create_api_key))
        .route(
            "/v1/auth/api-keys/{name}",
            axum::routing::delete(routes::auth::delete_api_key),
        )
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            config.max_body_bytes,
        ));
    Router::new()
        .merge(uploads)
        .merge(api)
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/v1/system", get(routes::system::get_system_info))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi()))
        .fallback(routes::ops::not_found)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            middleware::RateLimiter::new(
                config.rate_limit_per_second,
                config.rate_limit_burst,
                state.auth.clone(),
                config.client_ip_header.clone(),
            ),
            middleware::rate_limit,
        ))
        // Inside the request-id layers, so metrics and handlers see the id.
        .layer(axum::middleware::from_fn(middleware::record_metrics))
        .layer(tower::util::option_layer(cors(config)))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            config.max_concurrent_requests,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            config.request_timeout(),
        ))
        .layer(axum::middleware::from_fn(
            middleware::problem_for_bare_errors,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::http_server_span))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// `listener` with TCP_NODELAY on every accepted connection, so small responses are not held back
/// by Nagle's algorithm waiting for the client's delayed ACK.
pub fn nodelay(
    listener: TcpListener,
) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn set(stream: &mut tokio::net::TcpStream) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on an accepted connection");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}

/// CORS for the configured origins only. With none configured there is no CORS layer at all:
/// it would answer every OPTIONS request itself, hiding the `Allow` the routes give.
fn cors(config: &Config) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<axum::http::HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|o| o.trim().parse().ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::PUT,
            axum::http::Method::DELETE,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            // A browser resuming a training event stream sends the last id it saw.
            axum::http::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([axum::http::HeaderName::from_static(
            middleware::REQUEST_ID_HEADER,
        )]);
    Some(layer)
}

/// Builds the authenticator from configuration: refuses to run without JWT keys outside `--dev`,
/// opens the metadata store (users, API keys) and creates the bootstrap admin in an empty one,
/// printing a generated password exactly once.
pub async fn authenticator(config: &Config) -> Result<auth::Authenticator, auth::AuthSetupError> {
    let keys = match (&config.jwt_keys, config.dev) {
        (Some(spec), _) => auth::JwtKeys::parse(spec)?,
        (None, true) => {
            tracing::warn!("--dev: signing tokens with a random per-process key");
            auth::JwtKeys::generate_dev()?
        }
        (None, false) => return Err(auth::AuthSetupError::MissingKeys),
    };
    use strata_meta::MetadataStore as _;
    let store = strata_meta::connect(&config.metadata_url).await?;
    let file = config.bootstrap_admin_password_file.as_deref();
    let no_handover = config.bootstrap_admin_password.is_none() && file.is_none() && !config.dev;
    if no_handover
        && store
            .users()
            .await
            .map_err(auth::AuthSetupError::Store)?
            .is_empty()
    {
        return Err(auth::AuthSetupError::NoBootstrapPassword);
    }
    let generated =
        auth::bootstrap_admin(&store, config.bootstrap_admin_password.as_deref(), file).await?;
    if let Some(password) = generated {
        match file {
            Some(path) => {
                eprintln!(
                    "\n  Created user `admin`; its password is in {} (mode 0600).\n  Add users and API keys through /v1/auth/users and /v1/auth/api-keys.\n",
                    path.display()
                );
            }
            // Outside --dev the start already failed (NoBootstrapPassword): in a deployment the
            // terminal is a log collector. In development it is someone's terminal.
            None => eprintln!(
                "\n  Created user `admin`, password: {password}\n  This is shown once; add users and API keys through /v1/auth/users and /v1/auth/api-keys.\n"
            ),
        }
    }
    Ok(auth::Authenticator::new(
        keys,
        config.jwt_issuer.clone(),
        config.jwt_audience.clone(),
        config.token_ttl_seconds,
        std::sync::Arc::new(store),
    )
    .with_password_checks(config.max_concurrent_password_checks as usize))
}

/// Serves the API on `listener` and Prometheus metrics on `--metrics-listen` until `shutdown`
/// resolves, then lets in-flight requests finish.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let metrics_listener = TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| format!("cannot listen on {} for metrics", config.metrics_listen))?;
    serve_with_metrics(config, listener, metrics_listener, shutdown).await
}

/// [`serve`] with the metrics listener given (tests bind port 0 and need to know the port).
/// `/metrics` is served there only, never on the public `listener`: the Ingress routes the
/// public port, and scrapes stay inside the cluster.
pub async fn serve_with_metrics(
    config: &Config,
    listener: TcpListener,
    metrics_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    strata_runtime::metrics::install();
    let identity = match (&config.ml_client_cert, &config.ml_client_key) {
        (Some(cert), Some(key)) => Some(state::ClientIdentity { cert, key }),
        _ => None,
    };
    let ml = MlClient::connect_lazy(
        &config.ml_url,
        config.ml_timeout(),
        config.ml_ca.as_deref(),
        identity,
    )?;
    let ml = match &config.ml_caller_key {
        Some(spec) => ml.with_caller_keys(strata_runtime::caller::CallerKeys::parse(spec)?),
        None => ml,
    };
    let state = AppState::new(
        ml,
        authenticator(config).await?,
        backoff::SignInBackoff::new(
            config.sign_in_free_failures,
            std::time::Duration::from_secs(config.sign_in_max_backoff_secs),
        ),
    );
    let state = match &config.upload_spool_dir {
        Some(dir) => state.with_spool_dir(dir.clone()),
        None => state,
    }
    .with_event_streams(streams::EventStreams::new(
        config.max_event_streams as usize,
        config.max_event_streams_per_caller as usize,
        std::time::Duration::from_secs(config.event_stream_recheck_secs),
    ));
    let addr = listener.local_addr()?;
    if config.demo {
        spawn_demo(config, addr, &state);
    }
    let app = router(state, config);
    tracing::info!(%addr, metrics = %metrics_listener.local_addr()?, ml_url = %config.ml_url, "strata-api serving HTTP");
    let metrics_server = strata_runtime::metrics::MetricsServer::spawn(metrics_listener);
    // Connect info gives the rate limiter the client address of anonymous callers.
    let served = axum::serve(
        nodelay(listener),
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    let metrics_result = metrics_server.stop().await;
    // The spans of the last requests, before the process ends with them.
    strata_runtime::telemetry::flush();
    served?;
    metrics_result?;
    tracing::info!("strata-api stopped");
    Ok(())
}

/// Seeds the demo content in the background once the server answers (see [`demo`]); a failure
/// is logged and leaves the server running.
fn spawn_demo(config: &Config, addr: std::net::SocketAddr, state: &AppState) {
    // The server calls itself on loopback, whatever address it listens on.
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let demo = demo::DemoConfig {
        api_url: format!("http://{}", std::net::SocketAddr::new(ip, addr.port())),
        text_encoder_dir: config.demo_text_encoder.clone(),
    };
    let state = state.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match demo::seed(&demo, &state.auth, &state.ml).await {
            Ok(_) => tracing::info!(
                target: "strata_api::demo",
                seconds = started.elapsed().as_secs_f64(),
                "demo content ready"
            ),
            Err(e) => {
                tracing::warn!(target: "strata_api::demo", error = %e, "demo content incomplete")
            }
        }
    });
}

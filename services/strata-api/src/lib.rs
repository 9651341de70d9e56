//! The strata web API: an axum REST gateway in front of the ML service's gRPC API, with its
//! OpenAPI 3.1 document at `/openapi.json` and a docs page at `/docs`.
//!
//! Start reading at [`router`]: it lists every route and the tower layers around them.
//! `main.rs` only parses [`Config`] and calls [`serve`]; tests call [`serve`] on loopback.
//!
//! Architecture invariant: the API never reaches past the ML service's gRPC contract (no ML core,
//! no data layer); every failure leaves through [`error::ApiError`] as problem+json.

pub mod auth;
pub mod config;
pub mod error;
pub mod middleware;
pub mod routes;
pub mod state;

use std::future::Future;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use config::Config;
pub use state::{AppState, MlClient};

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
    ),
    components(schemas(
        error::Problem,
        routes::system::SystemInfo,
        routes::system::MlServiceInfo,
        routes::auth::TokenRequest,
        routes::auth::Principal,
        auth::TokenResponse,
        auth::Role,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Tokens and identities"),
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
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The OpenAPI document served at `/openapi.json` and committed as `services/strata-api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Every route, wrapped in the cross-cutting layers (request ids, tracing, limits, timeouts).
pub fn router(state: AppState, config: &Config) -> Router {
    let x_request_id = axum::http::HeaderName::from_static(middleware::REQUEST_ID_HEADER);
    Router::new()
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/v1/system", get(routes::system::get_system_info))
        .route("/v1/auth/token", axum::routing::post(routes::auth::create_token))
        .route("/v1/auth/me", get(routes::auth::me))
        .route("/v1/auth/principals", get(routes::auth::list_principals))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi()))
        .fallback(routes::ops::not_found)
        .with_state(state)
        .merge(strata_runtime::metrics::router())
        // Inside the request-id layers, so metrics and handlers see the id.
        .layer(axum::middleware::from_fn(middleware::record_metrics))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            config.request_timeout(),
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// Builds the authenticator from configuration; refuses to run without JWT keys outside `--dev`,
/// and prints a generated bootstrap admin password exactly once.
pub fn authenticator(config: &Config) -> Result<auth::Authenticator, auth::AuthSetupError> {
    let keys = match (&config.jwt_keys, config.dev) {
        (Some(spec), _) => auth::JwtKeys::parse(spec)?,
        (None, true) => {
            tracing::warn!("--dev: signing tokens with a random per-process key");
            auth::JwtKeys::generate_dev()?
        }
        (None, false) => return Err(auth::AuthSetupError::MissingKeys),
    };
    let (users, generated) =
        auth::load_or_bootstrap(&config.users_file, config.bootstrap_admin_password.as_deref())?;
    if let Some(password) = generated {
        // Printed, not logged: log collectors must not keep it.
        eprintln!(
            "\n  Created {} with user `admin`, password: {password}\n  This is shown once; change it by editing that file.\n",
            config.users_file.display()
        );
    }
    Ok(auth::Authenticator::new(
        keys,
        config.jwt_issuer.clone(),
        config.jwt_audience.clone(),
        config.token_ttl_seconds,
        users,
    ))
}

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let ml = MlClient::connect_lazy(&config.ml_url, config.ml_timeout())?;
    let app = router(AppState::new(ml, authenticator(config)?), config);
    tracing::info!(addr = %listener.local_addr()?, ml_url = %config.ml_url, "strata-api serving HTTP");
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    tracing::info!("strata-api stopped");
    Ok(())
}

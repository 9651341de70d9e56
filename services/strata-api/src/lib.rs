//! The strata web API: an axum REST gateway in front of the ML service's gRPC API, with its
//! OpenAPI 3.1 document at `/openapi.json` and a docs page at `/docs`.
//!
//! Start reading at [`router`]: it lists every route and the tower layers around them.
//! `main.rs` only parses [`Config`] and calls [`serve`]; tests call [`serve`] on loopback.
//!
//! Architecture invariant: the API never reaches past the ML service's gRPC contract (no ML core,
//! no data layer); every failure leaves through [`error::ApiError`] as problem+json.

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
    paths(routes::ops::healthz, routes::ops::readyz, routes::system::get_system_info),
    components(schemas(error::Problem, routes::system::SystemInfo, routes::system::MlServiceInfo)),
    tags(
        (name = "system", description = "What the ML service runs on and can do"),
        (name = "ops", description = "Probes for orchestrators"),
    )
)]
pub struct ApiDoc;

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

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let ml = MlClient::connect_lazy(&config.ml_url, config.ml_timeout())?;
    let app = router(AppState::new(ml), config);
    tracing::info!(addr = %listener.local_addr()?, ml_url = %config.ml_url, "strata-api serving HTTP");
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    tracing::info!("strata-api stopped");
    Ok(())
}

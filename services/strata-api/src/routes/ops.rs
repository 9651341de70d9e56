//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Liveness: the process is up and serving HTTP. Never touches the ML service.
#[utoipa::path(
    get, path = "/healthz", operation_id = "healthz", tag = "ops",
    responses((status = 200, description = "The API process is alive", body = String, content_type = "text/plain"))
)]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the ML service answers its gRPC health check with SERVING.
#[utoipa::path(
    get, path = "/readyz", operation_id = "readyz", tag = "ops",
    responses(
        (status = 200, description = "The API can serve requests", body = String, content_type = "text/plain"),
        (status = 503, description = "The ML service is not ready", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    let mut health = state.ml.health();
    let response = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        // Not reaching a SERVING ML service is "not ready" whatever the cause (down, TLS
        // mismatch, protocol error): probes understand 503, not the gRPC code behind it.
        .map_err(|status| {
            ApiError::Ml(tonic::Status::unavailable(format!(
                "ML service health check failed: {}",
                status.message()
            )))
        })?
        .into_inner();
    if response.status() == ServingStatus::Serving {
        Ok("ready")
    } else {
        Err(ApiError::Ml(tonic::Status::unavailable(format!(
            "ML service health is {:?}",
            response.status()
        ))))
    }
}

/// Fallback for unknown paths, so even a 404 is problem+json.
pub async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem {
        type_: format!("{}not-found", crate::error::PROBLEM_TYPE_BASE),
        title: "Not found".to_owned(),
        status: StatusCode::NOT_FOUND.as_u16(),
        detail: Some(format!("no route for {}", uri.path())),
        instance: Some(uri.path().to_owned()),
    }
}

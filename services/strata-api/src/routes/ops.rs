//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use strata_proto::strata::ml::v1::GetSystemInfoRequest;
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
///
/// The plain-text body is `ready`, then `device: <device>` and, when the ML service fell back from what was asked (an
/// `auto` start on a machine without a usable GPU), `device_note: <why>`, so a GPU deployment
/// that silently serves on its CPU shows in every probe.
#[utoipa::path(
    get, path = "/readyz", operation_id = "readyz", tag = "ops",
    responses(
        (status = 200, description = "The API can serve requests. Lines: `ready`, `device: <device>` and, after a fallback, `device_note: <why>`",
            body = String, content_type = "text/plain"),
        (status = 503, description = "The ML service is not ready", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<String, ApiError> {
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
    if response.status() != ServingStatus::Serving {
        return Err(ApiError::Ml(tonic::Status::unavailable(format!(
            "ML service health is {:?}",
            response.status()
        ))));
    }
    let info = state
        .ml
        .system()
        .get_system_info(GetSystemInfoRequest {})
        .await?
        .into_inner();
    Ok(readiness_body(&info.device, &info.device_note))
}

fn readiness_body(device: &str, note: &str) -> String {
    let mut body = format!("ready\ndevice: {device}\n");
    // One line per fact: a note never spans lines, whatever the ML service sent.
    let note = note.split_whitespace().collect::<Vec<_>>().join(" ");
    if !note.is_empty() {
        body.push_str(&format!("device_note: {note}\n"));
    }
    body
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

#[cfg(test)]
mod tests {
    use super::readiness_body;

    #[test]
    fn readiness_names_the_device_and_a_fallback_on_lines_of_their_own() {
        assert_eq!(readiness_body("cuda:0", ""), "ready\ndevice: cuda:0\n");
        assert_eq!(
            readiness_body("cpu", "auto: no GPU;\nusing cpu"),
            "ready\ndevice: cpu\ndevice_note: auto: no GPU; using cpu\n"
        );
    }
}

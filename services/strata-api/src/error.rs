//! The one place where failures become HTTP responses: RFC 9457 `application/problem+json`
//! bodies with a stable `type`, and the mapping from gRPC statuses to HTTP codes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Prefix of every problem `type` URI; the suffix is a stable slug clients can switch on.
pub const PROBLEM_TYPE_BASE: &str = "https://strata.dev/problems/";

/// How long a client should wait before retrying when the ML service is unavailable.
const RETRY_AFTER_SECONDS: &str = "2";

/// An RFC 9457 problem details body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable across releases.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path the problem happened on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// Every failure a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The ML service answered with a gRPC error status.
    #[error("ML service: {}", .0.message())]
    Ml(#[from] tonic::Status),
    /// No valid credentials (missing, expired or forged token; wrong password).
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials whose role does not allow the operation.
    #[error("{0}")]
    Forbidden(String),
    /// The request is malformed (bad JSON, missing field, out-of-range value).
    #[error("{0}")]
    BadRequest(String),
    /// A REST resource or action that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what exists (a taken name, the last admin).
    #[error("{0}")]
    Conflict(String),
    /// The metadata database (users, API keys) is unreachable for now; retrying may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// The request body exceeds its limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A cap on what a caller may hold open at once (event streams) is reached.
    #[error("{0}")]
    TooManyRequests(String),
    /// The path exists, but not for this method; `allow` lists the methods it has.
    #[error("{detail}")]
    MethodNotAllowed { allow: &'static str, detail: String },
    /// A bug or misconfiguration of this server; details go to the log, not the client.
    #[error("internal error")]
    Internal(String),
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        // A body over the limit is 413 however it arrives: with a Content-Length the limit layer
        // answers before the handler, but a chunked body only fails while Json buffers it.
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(rejection.body_text())
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    }
}

impl From<strata_meta::MetaError> for ApiError {
    fn from(error: strata_meta::MetaError) -> Self {
        if error.is_transient() {
            ApiError::Unavailable(format!("metadata store: {error}"))
        } else {
            ApiError::Internal(format!("metadata store: {error}"))
        }
    }
}

/// Whether the ML service refused a write because its storage is full (it says so in the
/// status's metadata, as RESOURCE_EXHAUSTED alone also means a full queue or a large upload).
pub fn storage_full(status: &tonic::Status) -> bool {
    status
        .metadata()
        .get(strata_runtime::REASON_METADATA)
        .is_some_and(|v| v == strata_runtime::REASON_STORAGE_FULL)
}

impl ApiError {
    /// The HTTP status, problem slug and title for this error.
    fn classify(&self) -> (StatusCode, &'static str, &'static str) {
        use tonic::Code;
        match self {
            ApiError::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Unauthenticated",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Metadata store unavailable",
            ),
            ApiError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            ApiError::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
            ApiError::Ml(status) => match status.code() {
                Code::InvalidArgument | Code::OutOfRange => (
                    StatusCode::BAD_REQUEST,
                    "invalid-argument",
                    "Invalid argument",
                ),
                Code::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
                Code::AlreadyExists => (StatusCode::CONFLICT, "already-exists", "Already exists"),
                Code::FailedPrecondition | Code::Aborted => (
                    StatusCode::CONFLICT,
                    "failed-precondition",
                    "Failed precondition",
                ),
                Code::PermissionDenied => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
                // The ML service refused the API's own credentials (caller keys that do not
                // match): not the client's token, and nothing the client can fix.
                Code::Unauthenticated => (StatusCode::BAD_GATEWAY, "ml-error", "ML service error"),
                // A full disk is the server's condition, not the client's rate: 507.
                Code::ResourceExhausted if storage_full(status) => (
                    StatusCode::INSUFFICIENT_STORAGE,
                    "storage-full",
                    "ML service storage full",
                ),
                Code::ResourceExhausted => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "resource-exhausted",
                    "Resource exhausted",
                ),
                Code::DeadlineExceeded => (
                    StatusCode::GATEWAY_TIMEOUT,
                    "ml-timeout",
                    "ML service timed out",
                ),
                // tonic reports its own client-side deadline (the `--ml-timeout-ms` of every
                // call) as CANCELLED "Timeout expired": a timeout, not an unavailable service.
                Code::Cancelled if is_client_timeout(status) => (
                    StatusCode::GATEWAY_TIMEOUT,
                    "ml-timeout",
                    "ML service timed out",
                ),
                Code::Unimplemented => (
                    StatusCode::NOT_IMPLEMENTED,
                    "not-implemented",
                    "Not implemented",
                ),
                // A down or restarting ML service is a temporary condition, not a server bug.
                Code::Unavailable | Code::Cancelled => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ml-unavailable",
                    "ML service unavailable",
                ),
                Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => {
                    (StatusCode::BAD_GATEWAY, "ml-error", "ML service error")
                }
            },
        }
    }

    /// Builds the problem body this error is sent as. A server-side failure of the ML service
    /// gets a stable detail: its text is for the logs (both services log it with the request id
    /// and trace the response carries), not for callers.
    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.classify();
        let detail = match self {
            // A timeout and a full disk say nothing about the server's insides; they stay.
            ApiError::Ml(_)
                if status.is_server_error()
                    && status != StatusCode::GATEWAY_TIMEOUT
                    && status != StatusCode::INSUFFICIENT_STORAGE =>
            {
                ML_FAILURE_DETAIL.to_owned()
            }
            _ => self.to_string(),
        };
        Problem {
            type_: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: Some(detail),
            instance: None,
        }
    }
}

/// What a client is told when the ML service fails on its side (see [`ApiError::problem`]).
pub const ML_FAILURE_DETAIL: &str =
    "the ML service could not complete the request; retry, or quote this response's x-request-id";

/// Whether `status` is tonic's client-side timeout rather than a cancellation by the server.
fn is_client_timeout(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = error.source();
    }
    status.message() == tonic::TimeoutExpired(()).to_string()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        } else if let ApiError::Ml(status) = &self
            && problem.status >= 500
        {
            tracing::warn!(status = problem.status, code = ?status.code(), message = status.message(), "ML service failed");
        } else {
            tracing::warn!(status = problem.status, r#type = %problem.type_, detail = ?problem.detail, "request failed");
        }
        let mut response = problem.into_response();
        match self {
            ApiError::Unauthenticated(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"strata\""),
                );
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        response
    }
}

impl Problem {
    /// A problem for `status` with a slug derived from its reason phrase (`Not Found` →
    /// `not-found`): for failures the framework and tower layers answer without a handler.
    pub fn for_status(
        status: StatusCode,
        detail: Option<String>,
        instance: Option<String>,
    ) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        let slug: String = title
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        Problem {
            type_: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            instance,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(code: tonic::Code) -> u16 {
        ApiError::Ml(tonic::Status::new(code, "x")).problem().status
    }

    #[test]
    fn a_full_ml_disk_is_507_and_other_exhaustion_429() {
        let mut full = tonic::Status::resource_exhausted("storage is full");
        full.metadata_mut().insert(
            strata_runtime::REASON_METADATA,
            tonic::metadata::MetadataValue::from_static(strata_runtime::REASON_STORAGE_FULL),
        );
        let problem = ApiError::Ml(full).problem();
        assert_eq!(problem.status, 507);
        assert_eq!(
            problem.detail.as_deref(),
            Some("ML service: storage is full")
        );
        assert_eq!(status_of(tonic::Code::ResourceExhausted), 429);
    }

    #[test]
    fn grpc_statuses_map_to_http_codes_that_mean_the_same() {
        assert_eq!(status_of(tonic::Code::InvalidArgument), 400);
        assert_eq!(status_of(tonic::Code::NotFound), 404);
        assert_eq!(status_of(tonic::Code::AlreadyExists), 409);
        assert_eq!(status_of(tonic::Code::FailedPrecondition), 409);
        assert_eq!(status_of(tonic::Code::PermissionDenied), 403);
        // The ML service refusing the API itself is a gateway fault, not the client's token.
        assert_eq!(status_of(tonic::Code::Unauthenticated), 502);
        assert_eq!(status_of(tonic::Code::ResourceExhausted), 429);
        assert_eq!(status_of(tonic::Code::DeadlineExceeded), 504);
        assert_eq!(status_of(tonic::Code::Unavailable), 503);
    }

    #[test]
    fn the_clients_own_deadline_is_a_timeout_not_an_outage() {
        let timeout = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(timeout.code(), tonic::Code::Cancelled);
        assert_eq!(ApiError::Ml(timeout).problem().status, 504);
        assert_eq!(status_of(tonic::Code::Cancelled), 503);
    }

    #[test]
    fn upstream_failures_are_never_500() {
        for code in [
            tonic::Code::Unknown,
            tonic::Code::Internal,
            tonic::Code::DataLoss,
        ] {
            assert_eq!(status_of(code), 502, "{code:?}");
        }
    }

    #[test]
    fn framework_statuses_get_slugs_from_their_reason() {
        let p = Problem::for_status(StatusCode::METHOD_NOT_ALLOWED, None, None);
        assert_eq!(p.type_, "https://strata.dev/problems/method-not-allowed");
        assert_eq!(p.title, "Method Not Allowed");
        let p = Problem::for_status(StatusCode::PAYLOAD_TOO_LARGE, None, None);
        assert_eq!(p.type_, "https://strata.dev/problems/payload-too-large");
    }

    #[test]
    fn problem_types_are_stable_uris() {
        let problem = ApiError::Ml(tonic::Status::not_found("model m")).problem();
        assert_eq!(problem.type_, "https://strata.dev/problems/not-found");
        assert_eq!(problem.detail.as_deref(), Some("ML service: model m"));
    }
}

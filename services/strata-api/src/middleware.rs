//! Cross-cutting request handling written as axum middleware: Prometheus metrics per route (which
//! also name the request's trace span after its route), and the request context (request id)
//! that handlers forward to the ML service.

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use strata_runtime::metrics::{HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL};

/// The header carrying the request id, set by `SetRequestIdLayer` if the client sent none.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Records `strata_http_requests_total` and `strata_http_request_duration_seconds`, labelled by
/// the matched route pattern (not the raw path, which would explode label cardinality).
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    if route != "unmatched" {
        crate::telemetry::record_http_route(&method, &route);
    }
    let response = next.run(request).await;
    crate::telemetry::record_http_status(response.status().as_u16());
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// What a handler passes along to the ML service about the HTTP request it serves.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: Option<String>,
}

impl RequestContext {
    /// Wraps a gRPC message with this context as metadata, so ML service logs carry the same id.
    pub fn grpc<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(value) = self.request_id.as_deref().and_then(|id| id.parse().ok()) {
            request.metadata_mut().insert(REQUEST_ID_HEADER, value);
        }
        request
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self { request_id })
    }
}

/// Per-caller rate limiting (GCRA via `governor`): the key is the bearer token if one is sent,
/// else the client address. Over the limit → 429 problem+json with `Retry-After`.
#[derive(Clone)]
pub struct RateLimiter {
    limiter: std::sync::Arc<governor::DefaultKeyedRateLimiter<String>>,
}

impl RateLimiter {
    /// `per_second` sustained, `burst` at once; zero values are raised to one.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let one = std::num::NonZeroU32::MIN;
        let quota =
            governor::Quota::per_second(std::num::NonZeroU32::new(per_second).unwrap_or(one))
                .allow_burst(std::num::NonZeroU32::new(burst).unwrap_or(one));
        Self {
            limiter: std::sync::Arc::new(governor::RateLimiter::keyed(quota)),
        }
    }

    fn check(&self, key: String) -> Result<(), std::time::Duration> {
        use governor::clock::{Clock, DefaultClock};
        self.limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Middleware applying a [`RateLimiter`] (see `router`).
pub async fn rate_limit(
    axum::extract::State(limiter): axum::extract::State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    use axum::response::IntoResponse;
    let key = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip().to_string())
        })
        .unwrap_or_default();
    match limiter.check(key) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let problem = crate::error::Problem {
                type_: format!("{}rate-limited", crate::error::PROBLEM_TYPE_BASE),
                title: "Too many requests".to_owned(),
                status: 429,
                detail: Some(format!(
                    "rate limit exceeded; retry in {} ms",
                    wait.as_millis()
                )),
                instance: Some(request.uri().path().to_owned()),
            };
            let mut response = problem.into_response();
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(value) = seconds.to_string().parse() {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// Turns error responses that did not come from a handler (axum's 405 and path rejections,
/// tower-http's 413 and 504, ...) into problem+json, so every error a client sees has the same
/// shape. Responses that are already problem+json pass through untouched.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Bodies of these responses are one-line plain-text reasons; a larger one is not a reason.
    let detail = match axum::body::to_bytes(body, 4096).await {
        Ok(bytes) if !bytes.is_empty() && parts.headers.get(header::CONTENT_ENCODING).is_none() => {
            Some(String::from_utf8_lossy(&bytes).trim().to_owned())
        }
        _ => None,
    };
    let mut problem = crate::error::Problem::for_status(status, detail, Some(path)).into_response();
    // Keep what the other layers said (Allow, Retry-After, CORS, ...), but not the old body's.
    let own: Vec<_> = problem.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        let body_header = [header::CONTENT_LENGTH, header::CONTENT_ENCODING].contains(name);
        if !body_header && !own.contains(name) {
            problem.headers_mut().append(name.clone(), value.clone());
        }
    }
    problem
}

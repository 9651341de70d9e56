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

/// What a handler passes along to the ML service about the HTTP request it serves: its id, and
/// (when the ML service verifies callers) a caller token for the principal it is made for.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: Option<String>,
    caller_token: Option<String>,
}

impl RequestContext {
    /// Wraps a gRPC message with this context as metadata, so ML service logs carry the same id
    /// and the ML service knows who asked.
    pub fn grpc<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(value) = self.request_id.as_deref().and_then(|id| id.parse().ok()) {
            request.metadata_mut().insert(REQUEST_ID_HEADER, value);
        }
        if let Some(value) = self
            .caller_token
            .as_deref()
            .and_then(|t| format!("Bearer {t}").parse().ok())
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }
}

impl FromRequestParts<crate::state::AppState> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let request_id = parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The principal, if the request has one (the `Caller` extractor caches it, so a handler
        // that takes both authenticates once); without one the API's own token goes instead.
        let caller_token = match state.ml.caller_keys() {
            Some(keys)
                if parts
                    .headers
                    .contains_key(axum::http::header::AUTHORIZATION) =>
            {
                match crate::auth::Caller::from_request_parts(parts, state).await {
                    Ok(caller) => keys.sign(&caller.principal_id(), caller.role.into()).ok(),
                    Err(_) => None,
                }
            }
            _ => None,
        };
        Ok(Self {
            request_id,
            caller_token,
        })
    }
}

/// Longest `Authorization` header accepted: a token is a few hundred bytes, and the limiter must
/// not hash or hold kilobytes of junk per request.
pub const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// Keyed GCRA buckets (`governor`) that forget idle keys: every [`PRUNE_EVERY`] checks, keys whose
/// bucket is full again are dropped, so memory follows the callers of the last moments, not every
/// key ever seen.
#[derive(Clone)]
pub struct KeyedLimiter {
    limiter: std::sync::Arc<governor::DefaultKeyedRateLimiter<String>>,
    checks: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

const PRUNE_EVERY: u64 = 1024;

impl KeyedLimiter {
    /// `burst` at once, refilled at `per_second`; zero values are raised to one.
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        let one = std::num::NonZeroU32::MIN;
        Self::with_quota(
            governor::Quota::per_second(std::num::NonZeroU32::new(per_second).unwrap_or(one))
                .allow_burst(std::num::NonZeroU32::new(burst).unwrap_or(one)),
        )
    }

    /// `per_minute` at once, refilled over a minute; zero is raised to one.
    pub fn per_minute(per_minute: u32) -> Self {
        let n = std::num::NonZeroU32::new(per_minute).unwrap_or(std::num::NonZeroU32::MIN);
        Self::with_quota(governor::Quota::per_minute(n))
    }

    fn with_quota(quota: governor::Quota) -> Self {
        Self {
            limiter: std::sync::Arc::new(governor::RateLimiter::keyed(quota)),
            checks: Default::default(),
        }
    }

    /// Takes one cell from `key`'s bucket, or says how long until one is there.
    pub fn check(&self, key: &str) -> Result<(), std::time::Duration> {
        use governor::clock::{Clock, DefaultClock};
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Keys currently held (for tests and the pruning guarantee).
    pub fn keys(&self) -> usize {
        self.limiter.len()
    }
}

/// Per-caller rate limiting: a request whose bearer token verifies is counted against its
/// principal; any other request (no token, a junk or forged one) against its client address, so
/// inventing tokens never buys a fresh bucket. The address is the socket's peer, or, only when
/// `--client-ip-header` names one, the last address in that header (the one the trusted proxy in
/// front of the API wrote). Over the limit → 429 problem+json with `Retry-After`.
#[derive(Clone)]
pub struct RateLimiter {
    pub buckets: KeyedLimiter,
    auth: std::sync::Arc<crate::auth::Authenticator>,
    client_ip_header: Option<axum::http::HeaderName>,
}

impl RateLimiter {
    pub fn new(
        per_second: u32,
        burst: u32,
        auth: std::sync::Arc<crate::auth::Authenticator>,
        client_ip_header: Option<axum::http::HeaderName>,
    ) -> Self {
        Self {
            buckets: KeyedLimiter::per_second(per_second, burst),
            auth,
            client_ip_header,
        }
    }

    /// The bucket of an unauthenticated request.
    pub fn client_address(&self, request: &Request) -> String {
        client_address(request, self.client_ip_header.as_ref())
    }
}

/// The client address the rate limiter decided on, for handlers that key on it (sign-in).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

/// The caller's address: the last entry of the configured proxy header when there is one, else
/// the socket's peer.
pub fn client_address(request: &Request, header: Option<&axum::http::HeaderName>) -> String {
    let from_proxy = header
        .and_then(|h| request.headers().get_all(h).iter().next_back())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
    from_proxy
        .or_else(|| {
            request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip())
        })
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

/// A 429 problem with `Retry-After` in whole seconds.
pub fn too_many_requests(wait: std::time::Duration, detail: &str, path: &str) -> Response {
    use axum::response::IntoResponse;
    let problem = crate::error::Problem {
        type_: format!("{}rate-limited", crate::error::PROBLEM_TYPE_BASE),
        title: "Too many requests".to_owned(),
        status: 429,
        detail: Some(format!("{detail}; retry in {} ms", wait.as_millis())),
        instance: Some(path.to_owned()),
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

/// Middleware applying a [`RateLimiter`] (see `router`).
pub async fn rate_limit(
    axum::extract::State(limiter): axum::extract::State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    use axum::response::IntoResponse;
    let authorization = request.headers().get(axum::http::header::AUTHORIZATION);
    if authorization.is_some_and(|v| v.len() > MAX_AUTHORIZATION_BYTES) {
        return crate::error::ApiError::BadRequest(format!(
            "the Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes"
        ))
        .into_response();
    }
    // Signature and claims only (no database read): enough to know the token is ours.
    let principal = authorization
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| limiter.auth.verify(token.trim()).ok())
        .map(|claims| format!("principal:{:?}:{}", claims.kind, claims.sub));
    let address = limiter.client_address(&request);
    let key = principal.unwrap_or_else(|| format!("address:{address}"));
    match limiter.buckets.check(&key) {
        Ok(()) => {
            let mut request = request;
            request.extensions_mut().insert(ClientAddress(address));
            next.run(request).await
        }
        Err(wait) => too_many_requests(wait, "rate limit exceeded", request.uri().path()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_keys_are_pruned_so_memory_follows_recent_callers() {
        // Buckets refill within a microsecond, so every key but the newest is idle at once.
        let limiter = KeyedLimiter::per_second(1_000_000, 1);
        for i in 0..(4 * PRUNE_EVERY) {
            let _ = limiter.check(&format!("junk-{i}"));
            std::thread::sleep(std::time::Duration::from_micros(2));
        }
        assert!(
            limiter.keys() <= PRUNE_EVERY as usize,
            "{} keys held after {} distinct callers",
            limiter.keys(),
            4 * PRUNE_EVERY
        );
    }
}

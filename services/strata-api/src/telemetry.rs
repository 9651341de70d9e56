//! The web API's two trace hops: the server span of every HTTP request (continuing the browser's
//! or the Next.js proxy's W3C `traceparent`), and a client span around every gRPC call to the ML
//! service, whose `traceparent` travels in the call's metadata so the ML service's server span is
//! its child. Metrics stay in [`crate::middleware`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{Request, Response};
use strata_runtime::telemetry::{TraceParent, inject};
use tonic::body::Body;
use tonic::transport::Channel;
use tower::Service;
use tracing::Instrument;

/// The server span of one HTTP request (tower-http's `TraceLayer` creates it), named
/// `METHOD route` once the router matched a route (see `middleware::record_metrics`).
pub fn http_server_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(crate::middleware::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let span = tracing::info_span!(
        "http",
        otel.name = %request.method(),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %request.method(),
        url.path = %request.uri().path(),
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        request_id,
    );
    // Before anything enters the span: it must start as the caller's child, not as a root.
    TraceParent::from_headers(request.headers()).adopt(&span);
    span
}

/// Names the current server span `METHOD route` once the router matched a route. Called before
/// the handler runs: a span's name is fixed once its first child or log line needs its ids.
pub fn record_http_route(method: &str, route: &str) {
    let span = tracing::Span::current();
    span.record("http.route", route);
    span.record("otel.name", format!("{method} {route}"));
}

/// Records the response status on the current server span; 5xx marks it as an error (4xx are
/// the caller's, as OpenTelemetry's HTTP conventions say).
pub fn record_http_status(status: u16) {
    let span = tracing::Span::current();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
}

/// The ML service's channel with a client span around every call (see the module docs).
#[derive(Debug, Clone)]
pub struct TracedChannel {
    inner: Channel,
    /// Signs the API's own caller token for calls that carry none (see `strata_runtime::caller`).
    caller_keys: Option<std::sync::Arc<strata_runtime::caller::CallerKeys>>,
}

impl TracedChannel {
    pub fn new(
        inner: Channel,
        caller_keys: Option<std::sync::Arc<strata_runtime::caller::CallerKeys>>,
    ) -> Self {
        Self { inner, caller_keys }
    }
}

impl Service<Request<Body>> for TracedChannel {
    type Response = Response<Body>;
    type Error = tonic::transport::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // gRPC paths are "/package.Service/Method".
        let path = request.uri().path().trim_start_matches('/').to_owned();
        let (service, method) = path.split_once('/').unwrap_or((path.as_str(), ""));
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = %path,
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        inject(&span, request.headers_mut());
        // Calls made for a principal carry its token already (`RequestContext::grpc`); the rest
        // are the API's own (readiness, system info, demo content).
        if let Some(keys) = &self.caller_keys
            && !request
                .headers()
                .contains_key(axum::http::header::AUTHORIZATION)
        {
            match keys.sign(
                strata_runtime::caller::SERVICE_PRINCIPAL,
                strata_runtime::caller::CallerRole::Admin,
            ) {
                Ok(token) => {
                    if let Ok(value) = format!("Bearer {token}").parse() {
                        request
                            .headers_mut()
                            .insert(axum::http::header::AUTHORIZATION, value);
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot sign the API's caller token"),
            }
        }
        let future = self.inner.call(request);
        Box::pin(
            async move {
                let result = future.await;
                let span = tracing::Span::current();
                match &result {
                    // Unary errors arrive trailers-only, so grpc-status is a header; a
                    // successful stream's status is in trailers, which end after this span.
                    Ok(response) => {
                        let code = response
                            .headers()
                            .get("grpc-status")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<i32>().ok())
                            .unwrap_or(0);
                        span.record("rpc.grpc.status_code", code);
                        if code != 0 {
                            span.record("otel.status_code", "ERROR");
                        }
                    }
                    Err(_) => {
                        span.record("otel.status_code", "ERROR");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

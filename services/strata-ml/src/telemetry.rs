//! Per-call telemetry for the gRPC server as one tower layer: Prometheus metrics
//! (`strata_grpc_requests_total`, `strata_grpc_request_duration_seconds`) and a server span that
//! carries the caller's `x-request-id` and continues the caller's trace (W3C `traceparent` in
//! the gRPC metadata), so one trace follows a request from the browser through HTTP and gRPC.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use strata_runtime::metrics::{GRPC_REQUEST_DURATION_SECONDS, GRPC_REQUESTS_TOTAL};
use tonic::codegen::http;
use tower::{Layer, Service};
use tracing::Instrument;

/// Wraps every gRPC call of the server in [`Telemetry`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TelemetryLayer;

impl<S> Layer<S> for TelemetryLayer {
    type Service = Telemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Telemetry { inner }
    }
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Telemetry<S> {
    inner: S,
}

impl<S, B, ResBody> Service<http::Request<B>> for Telemetry<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // gRPC paths are "/package.Service/Method".
        let (service, method) = request
            .uri()
            .path()
            .trim_start_matches('/')
            .split_once('/')
            .map_or_else(
                || ("unknown".to_owned(), "unknown".to_owned()),
                |(s, m)| (s.to_owned(), m.to_owned()),
            );
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let span = tracing::info_span!(
            "grpc",
            otel.name = format!("{service}/{method}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            enduser.id = tracing::field::Empty,
            enduser.role = tracing::field::Empty,
            %request_id,
        );
        // Right after creating the span, before anything enters it: the caller's position.
        strata_runtime::telemetry::TraceParent::from_headers(request.headers()).adopt(&span);
        let started = Instant::now();
        // Inside the span, so inner layers (caller authentication) record on it.
        let future = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = future.await;
                // Unary errors travel as a trailers-only response, so grpc-status is a header;
                // streams that end well report their status in trailers, counted here as OK.
                let code = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map_or(tonic::Code::Ok, tonic::Code::from_i32),
                    Err(_) => tonic::Code::Unknown,
                };
                let span = tracing::Span::current();
                span.record("rpc.grpc.status_code", code as i32);
                // As OpenTelemetry's gRPC conventions say: only server-side faults are errors.
                if matches!(
                    code,
                    tonic::Code::Unknown
                        | tonic::Code::DeadlineExceeded
                        | tonic::Code::Unimplemented
                        | tonic::Code::Internal
                        | tonic::Code::Unavailable
                        | tonic::Code::DataLoss
                ) {
                    span.record("otel.status_code", "ERROR");
                }
                let labels = [
                    ("service", service),
                    ("method", method),
                    ("code", format!("{code:?}")),
                ];
                metrics::counter!(GRPC_REQUESTS_TOTAL, &labels).increment(1);
                metrics::histogram!(GRPC_REQUEST_DURATION_SECONDS, &labels)
                    .record(started.elapsed().as_secs_f64());
                tracing::debug!(
                    ?code,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "gRPC call"
                );
                result
            }
            .instrument(span),
        )
    }
}

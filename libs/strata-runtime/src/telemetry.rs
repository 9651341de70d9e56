//! Distributed traces: `tracing` spans become OpenTelemetry spans, W3C `traceparent` carries the
//! trace across HTTP and gRPC hops, and OTLP export (gRPC) is switched on by the standard
//! `OTEL_*` environment variables.
//!
//! Spans always get trace and span ids, exported or not, so JSON log lines of one request carry
//! the same `trace_id` in the web API and the ML service even without a collector. Export is off
//! unless `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_TRACES_EXPORTER=otlp` is set (and `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`
//! turn it off again); the OpenTelemetry SDK itself reads the rest: `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`,
//! `OTEL_EXPORTER_OTLP_{HEADERS,TIMEOUT,...}`.
//!
//! Services use only the helpers below and `tracing`; the OpenTelemetry types stay in this crate.

use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Where and how spans are exported; see the module docs for the environment variables.
#[derive(Debug, Clone, Default)]
pub struct TraceExport {
    /// OTLP/gRPC endpoint (`http://host:4317`); `None` exports nothing.
    pub endpoint: Option<String>,
    /// `service.name` unless `OTEL_SERVICE_NAME` says otherwise.
    pub service_name: String,
    /// Batch delay; `None` leaves it to `OTEL_BSP_SCHEDULE_DELAY` (5 s by default).
    pub batch_delay: Option<Duration>,
}

impl TraceExport {
    /// The export the `OTEL_*` variables ask for, named after the running binary.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        let asked = var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("otlp"));
        let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))
            // The OTLP/gRPC default endpoint, as the specification gives it.
            .or_else(|| asked.then(|| "http://localhost:4317".to_owned()))
            .filter(|_| !disabled);
        let service_name = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "strata".to_owned());
        Self {
            endpoint,
            service_name,
            batch_delay: None,
        }
    }
}

/// The process's tracer provider, kept for [`flush`].
static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Errors setting up trace export.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTLP trace exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// Builds the tracer provider (with an OTLP batch exporter when `export.endpoint` is set) and
/// remembers it for [`flush`]. Must run inside a Tokio runtime when exporting: the gRPC
/// exporter's connection lives on it.
pub(crate) fn provider(export: &TraceExport) -> Result<SdkTracerProvider, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::Resource;
    let resource = if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
        Resource::builder().build()
    } else {
        Resource::builder()
            .with_service_name(export.service_name.clone())
            .build()
    };
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &export.endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()?;
        let mut config = opentelemetry_sdk::trace::BatchConfigBuilder::default();
        if let Some(delay) = export.batch_delay {
            config = config.with_scheduled_delay(delay);
        }
        let processor = opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter)
            .with_batch_config(config.build())
            .build();
        builder = builder.with_span_processor(processor);
    }
    let provider = builder.build();
    *PROVIDER.lock().unwrap_or_else(|p| p.into_inner()) = Some(provider.clone());
    Ok(provider)
}

/// The `tracing` layer that turns spans into OpenTelemetry spans of `provider`.
pub(crate) fn layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("strata"))
        // Thread and source location on every span cost bytes without answering "why slow".
        .with_threads(false)
        .with_location(false)
        // Build each OpenTelemetry span when it is first needed (a child, its ids, its end), not
        // when it is entered: a name recorded after creation (the web API's route, known only
        // after routing) is then still the span's name. Nothing here reads OpenTelemetry's
        // thread-local current context, which activation would set.
        .with_context_activation(false)
}

/// Exports every finished span now; servers call it when they stop, so the last requests'
/// spans are not lost with the process. Waits at most for the exporter's own timeout.
pub fn flush() {
    let provider = PROVIDER.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(provider) = provider
        && let Err(e) = provider.force_flush()
    {
        tracing::warn!(error = %e, "cannot export the last spans");
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// A position in a trace that outlives the span it was taken from: the parent of work that
/// happens later (a queued training job), without keeping that span open.
#[derive(Debug, Clone, Default)]
pub struct TraceParent(opentelemetry::Context);

impl TraceParent {
    /// The trace position of `span`.
    pub fn of(span: &tracing::Span) -> Self {
        Self(span.context())
    }

    /// The caller's position as its `traceparent` (and `tracestate`) headers give it; an empty
    /// parent (a new trace) when they are missing or malformed.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self(TraceContextPropagator::new().extract(&HeaderExtractor(headers)))
    }

    /// Whether this names a real span (headers without a valid `traceparent` do not).
    pub fn is_valid(&self) -> bool {
        self.0.span().span_context().is_valid()
    }

    /// Makes `span` a child of this position; a no-op for an empty one, leaving `span` where
    /// `tracing` put it.
    pub fn adopt(&self, span: &tracing::Span) {
        if self.is_valid() {
            // Fails only for a span that already started elsewhere, which callers avoid by
            // adopting right after creating the span.
            let _ = span.set_parent(self.0.clone());
        }
    }

    /// Adds a link from `span` to this position (a batch run serving several requests).
    pub fn link(&self, span: &tracing::Span) {
        span.add_link(self.0.span().span_context().clone());
    }
}

/// Writes `span`'s position as `traceparent` (and `tracestate`) into `headers`, for the next hop.
pub fn inject(span: &tracing::Span, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// The hex trace id and span id of `span`, when it has a valid OpenTelemetry span.
pub fn ids(span: &tracing::Span) -> Option<(String, String)> {
    hex_ids(&span.context())
}

/// The same for the span `id` of `dispatch` (for code running inside a dispatch, where
/// `tracing::Span::current()` cannot be used).
pub(crate) fn ids_of(
    id: &tracing::span::Id,
    dispatch: &tracing::Dispatch,
) -> Option<(String, String)> {
    hex_ids(&tracing_opentelemetry::get_otel_context(id, dispatch)?)
}

fn hex_ids(cx: &opentelemetry::Context) -> Option<(String, String)> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace_and_a_valid_one_round_trips() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static("00-zz-nonsense-01"));
        assert!(!TraceParent::from_headers(&headers).is_valid());

        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        headers.insert("traceparent", HeaderValue::from_static(traceparent));
        let parent = TraceParent::from_headers(&headers);
        assert!(parent.is_valid());
        let mut out = HeaderMap::new();
        TraceContextPropagator::new().inject_context(&parent.0, &mut HeaderInjector(&mut out));
        assert_eq!(
            out.get("traceparent").and_then(|v| v.to_str().ok()),
            Some(traceparent)
        );
    }
}

//! Process plumbing shared by the strata binaries: logging and trace set-up, the shutdown signal,
//! Prometheus metrics, the caller token one strata process authenticates to another with
//! ([`caller`]), and JSON carried in gRPC messages as `google.protobuf.Struct` ([`structs`]).
//!
//! Every binary (ML service, web API, CLI) starts the same way, so the way logs look, the way a
//! process stops on Ctrl-C or SIGTERM and the names of exported metrics live here once.
//!
//! Architecture invariant: no domain knowledge. This crate knows processes, not models or HTTP.

pub mod caller;
pub mod metrics;

/// gRPC response metadata that says why a call failed where the status code alone is ambiguous
/// (RESOURCE_EXHAUSTED means a full disk as well as a full queue or a too-large upload), so the
/// web API can answer with the HTTP status that fits.
pub const REASON_METADATA: &str = "strata-reason";
/// [`REASON_METADATA`] of a write that did not fit: the ML service's storage is full.
pub const REASON_STORAGE_FULL: &str = "storage-full";
pub mod structs;
pub mod telemetry;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global tracing subscriber of a server: lines on stdout, `RUST_LOG` overrides the
/// `info` default, and spans become OpenTelemetry spans, exported over OTLP when the `OTEL_*`
/// variables ask for it ([`telemetry`]). Call it inside the Tokio runtime.
pub fn init_logging(format: LogFormat) {
    init_tracing(format, &telemetry::TraceExport::from_env());
}

/// [`init_logging`] with an explicit trace export (tests point it at an in-process receiver).
pub fn init_tracing(format: LogFormat, export: &telemetry::TraceExport) {
    let provider = match telemetry::provider(export) {
        Ok(p) => p,
        Err(e) => {
            // Traces are diagnostics: a bad endpoint must not stop the service, so it runs on
            // with spans that are numbered but not exported.
            eprintln!("{e}; spans are not exported");
            telemetry::provider(&telemetry::TraceExport::default())
                .unwrap_or_else(|_| opentelemetry_sdk::trace::SdkTracerProvider::builder().build())
        }
    };
    install(format, "info", std::io::stdout, Some(provider));
    if let Some(endpoint) = &export.endpoint {
        tracing::info!(%endpoint, "exporting traces over OTLP/gRPC");
        // Only the gRPC exporter is built in (it reuses the services' tonic); say so rather than
        // export to a port that expects another protocol.
        for var in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Ok(protocol) = std::env::var(var)
                && !protocol.trim().is_empty()
                && protocol.trim() != "grpc"
            {
                tracing::warn!(%var, %protocol, "only OTLP over gRPC is supported; exporting with grpc");
            }
        }
    }
}

/// The same for a command-line tool: lines on stderr, since stdout carries the command's output
/// (tables, `--json`), and `default_filter` when `RUST_LOG` is unset. No traces.
pub fn init_cli_logging(format: LogFormat, default_filter: &str) {
    install(format, default_filter, std::io::stderr, None);
}

fn install<W>(
    format: LogFormat,
    default_filter: &str,
    writer: W,
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
) where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::util::SubscriberInitExt;
    // A second init (tests starting several servers in one process) is harmless, so its error is ignored.
    let _ = subscriber(format, default_filter, writer, traces.as_ref()).try_init();
}

/// The subscriber [`install`] makes global: `RUST_LOG` (else `default_filter`), spans to
/// OpenTelemetry when `traces` is given, and lines in `format` to `writer`.
fn subscriber<W>(
    format: LogFormat,
    default_filter: &str,
    writer: W,
    traces: Option<&opentelemetry_sdk::trace::SdkTracerProvider>,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let otel = traces.map(telemetry::layer);
    let dispatch = CaptureDispatch::default();
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(dispatch.clone());
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(WithTraceIds {
                inner: tracing_subscriber::fmt::format().json(),
                dispatch,
            })
            .boxed(),
    };
    registry.with(fmt)
}

/// Remembers the dispatcher it is part of. The JSON formatter needs it to ask the OpenTelemetry
/// layer for a span's ids: while an event is dispatched, `tracing` hides the current dispatcher
/// from nested look-ups (`Span::current()` there sees none when any scoped one exists).
#[derive(Clone, Default)]
struct CaptureDispatch(std::sync::Arc<std::sync::OnceLock<tracing::dispatcher::WeakDispatch>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CaptureDispatch {
    fn on_register_dispatch(&self, dispatch: &tracing::Dispatch) {
        let _ = self.0.set(dispatch.downgrade());
    }
}

/// JSON lines with the OpenTelemetry `trace_id` and `span_id` of the current span first, so a
/// log collector can jump from a line to its trace.
struct WithTraceIds<F> {
    inner: F,
    dispatch: CaptureDispatch,
}

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for WithTraceIds<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.inner.format_event(
            ctx,
            tracing_subscriber::fmt::format::Writer::new(&mut line),
            event,
        )?;
        let ids = ctx.lookup_current().and_then(|span| {
            let dispatch = self.dispatch.0.get()?.upgrade()?;
            telemetry::ids_of(&span.id(), &dispatch)
        });
        match (ids, line.strip_prefix('{')) {
            (Some((trace_id, span_id)), Some(rest)) => write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
            ),
            _ => writer.write_str(&line),
        }
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM, which Kubernetes sends).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutdown requested; draining in-flight work");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_the_trace_and_span_ids_of_the_current_span() {
        let provider = telemetry::provider(&telemetry::TraceExport::default()).expect("provider");
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = subscriber(
            LogFormat::Json,
            "info",
            move || writer.clone(),
            Some(&provider),
        );
        let ids = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("work", job = "j1");
            let ids = span.in_scope(|| {
                tracing::info!("inside");
                telemetry::ids(&span)
            });
            tracing::info!("outside");
            ids
        });
        let (trace_id, span_id) = ids.expect("the span has OpenTelemetry ids");
        let text = String::from_utf8(lines.0.lock().expect("lines").clone()).expect("utf-8");
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(parsed.len(), 2, "{text}");
        assert_eq!(parsed[0]["trace_id"], trace_id.as_str());
        assert_eq!(parsed[0]["span_id"], span_id.as_str());
        assert_eq!(parsed[0]["fields"]["message"], "inside");
        assert_eq!(parsed[0]["span"]["job"], "j1", "span fields stay JSON");
        assert!(
            parsed[1].get("trace_id").is_none(),
            "no span, no ids: {text}"
        );
    }
}

//! Process plumbing shared by the strata binaries: logging set-up, the shutdown signal and
//! Prometheus metrics.
//!
//! Every binary (ML service, web API, CLI) starts the same way, so the way logs look, the way a
//! process stops on Ctrl-C or SIGTERM and the names of exported metrics live here once.
//!
//! Architecture invariant: no domain knowledge. This crate knows processes, not models or HTTP.

pub mod metrics;

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
/// `info` default.
pub fn init_logging(format: LogFormat) {
    install(format, "info", std::io::stdout);
}

/// The same for a command-line tool: lines on stderr, since stdout carries the command's output
/// (tables, `--json`), and `default_filter` when `RUST_LOG` is unset.
pub fn init_cli_logging(format: LogFormat, default_filter: &str) {
    install(format, default_filter, std::io::stderr);
}

fn install<W>(format: LogFormat, default_filter: &str, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // A second init (tests starting several servers in one process) is harmless, so its error is ignored.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
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

//! Entry point of the `strata-ml` binary: configuration, logging, signals. The server is in lib.rs.

use anyhow::Context;
use clap::Parser;
use strata_ml::Config;

// A failure ends as one line on stderr, never a Debug dump or a backtrace, e.g. a GPU that is not
// there: "strata-ml: device: cuda:0 unavailable: no NVIDIA driver found, ...".
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata-ml: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    let config = Config::parse();
    strata_runtime::init_logging(config.log_format);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let metrics_listener = tokio::net::TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| format!("cannot listen on {} for metrics", config.metrics_listen))?;
    strata_ml::serve(
        &config,
        listener,
        metrics_listener,
        strata_runtime::shutdown_signal(),
    )
    .await?;
    Ok(())
}

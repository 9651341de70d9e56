//! Entry point of the `strata-api` binary: configuration, logging, signals. Routes are in lib.rs.

use anyhow::Context;
use clap::Parser;
use strata_api::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if config.print_openapi {
        println!("{}", strata_api::openapi().to_pretty_json()?);
        return Ok(());
    }
    strata_runtime::init_logging(config.log_format);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    strata_api::serve(&config, listener, strata_runtime::shutdown_signal()).await
}

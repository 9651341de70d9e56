//! Process configuration: every setting is a flag with an environment twin, shown in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use strata_runtime::LogFormat;

/// Configuration of the ML service process.
#[derive(Debug, Clone, Parser)]
#[command(name = "strata-ml", version, about = "strata ML service (gRPC)")]
pub struct Config {
    /// Address the gRPC server listens on.
    #[arg(long, env = "STRATA_ML_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Address of the HTTP server exposing Prometheus metrics at `/metrics`.
    #[arg(long, env = "STRATA_ML_METRICS_LISTEN", default_value = "127.0.0.1:9464")]
    pub metrics_listen: SocketAddr,

    /// Directory holding datasets, models and job state (a shared volume in Kubernetes).
    #[arg(long, env = "STRATA_DATA_DIR", default_value = ".strata/data")]
    pub data_dir: PathBuf,

    /// Compute device: `cpu`, `cuda`, `cuda:N` or `auto`.
    #[arg(long, env = "STRATA_DEVICE", default_value = "cpu")]
    pub device: String,

    /// Log output format.
    #[arg(long, env = "STRATA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

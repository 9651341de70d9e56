//! Process configuration: every setting is a flag with an environment twin, shown in `--help`.
//! Limits are configuration, not constants, so an operator can size them to the machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use strata_data::{DatasetLimits, Limit};
use strata_runtime::LogFormat;

/// Configuration of the ML service process.
#[derive(Debug, Clone, Parser)]
#[command(name = "strata-ml", version, about = "strata ML service (gRPC)")]
pub struct Config {
    /// Address the gRPC server listens on.
    #[arg(long, env = "STRATA_ML_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Address of the HTTP server exposing Prometheus metrics at `/metrics`.
    #[arg(
        long,
        env = "STRATA_ML_METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_listen: SocketAddr,

    /// Address of a plaintext gRPC server answering `grpc.health.v1` only, with the statuses of
    /// `--listen` (NOT_SERVING from the start of shutdown), for probes that cannot speak TLS or
    /// present a client certificate, such as the kubelet's gRPC probe. Off unless set.
    #[arg(long, env = "STRATA_ML_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,

    /// Directory holding datasets, models and job state (a shared volume in Kubernetes).
    #[arg(long, env = "STRATA_DATA_DIR", default_value = ".strata/data")]
    pub data_dir: PathBuf,

    /// Where datasets, model versions and checkpoints live: `s3://BUCKET/PREFIX`,
    /// `gs://BUCKET/PREFIX`, `az://CONTAINER/PREFIX` or `file:///DIR`, with credentials from the
    /// cloud's usual variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`). Default: `<data dir>/artifacts`
    /// on the filesystem.
    #[arg(long, env = "STRATA_ARTIFACT_URL")]
    pub artifact_url: Option<String>,

    /// Metadata database (training jobs, their events, model aliases; also the job queue):
    /// `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`. Replicas that share one
    /// PostgreSQL database share one job queue. Default: `sqlite:<data dir>/meta.db`.
    #[arg(long, env = "STRATA_METADATA_URL", hide_env_values = true)]
    pub metadata_url: Option<String>,

    /// This replica's name in job leases; replicas sharing a metadata database need different
    /// names. A restarted replica with the same name takes back its running jobs at once.
    /// Default: the host name (the pod name in Kubernetes).
    #[arg(long, env = "STRATA_ML_REPLICA_ID")]
    pub replica_id: Option<String>,

    /// How long a replica's hold on a running job lasts without renewal, in seconds (renewed
    /// every third of it). When a replica dies, another resumes its jobs after this.
    #[arg(long, env = "STRATA_ML_JOB_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub job_lease_secs: u64,

    /// Compute device: `cpu`, `cuda`, `cuda:N` or `auto` (CUDA when this build and the machine
    /// have it, else CPU).
    #[arg(long, env = "STRATA_DEVICE", default_value = "cpu")]
    pub device: String,

    /// Log output format.
    #[arg(long, env = "STRATA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Largest dataset upload accepted, in bytes; larger ones get RESOURCE_EXHAUSTED.
    #[arg(long, env = "STRATA_ML_MAX_UPLOAD_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub max_upload_bytes: u64,

    /// Most rows a dataset may declare (checked from the file's footer, before decoding).
    #[arg(long, env = "STRATA_ML_MAX_DATASET_ROWS", default_value_t = DatasetLimits::default().max_rows)]
    pub max_dataset_rows: u64,

    /// Most columns a dataset file may have (leaf columns of its schema).
    #[arg(long, env = "STRATA_ML_MAX_DATASET_COLUMNS", default_value_t = DatasetLimits::default().max_columns)]
    pub max_dataset_columns: u64,

    /// Most classes a label column may give (an integer label `n` means `n + 1` classes).
    #[arg(long, env = "STRATA_ML_MAX_DATASET_CLASSES", default_value_t = DatasetLimits::default().max_classes)]
    pub max_dataset_classes: u64,

    /// Longest text value or class name of a dataset, in bytes.
    #[arg(long, env = "STRATA_ML_MAX_DATASET_STRING_BYTES", default_value_t = DatasetLimits::default().max_string_bytes)]
    pub max_dataset_string_bytes: u64,

    /// Most bytes a dataset's declared columns may decode to (uncompressed pages, and values):
    /// the memory one validation or training read may take.
    #[arg(long, env = "STRATA_ML_MAX_DATASET_DECODED_BYTES", default_value_t = DatasetLimits::default().max_decoded_bytes)]
    pub max_dataset_decoded_bytes: u64,

    /// Deepest schema nesting a dataset file may have (a flat table is 1).
    #[arg(long, env = "STRATA_ML_MAX_DATASET_NESTING_DEPTH", default_value_t = DatasetLimits::default().max_nesting_depth)]
    pub max_dataset_nesting_depth: u32,

    /// Largest Parquet footer (schema and row-group metadata) of a dataset, in bytes.
    #[arg(long, env = "STRATA_ML_MAX_DATASET_FOOTER_BYTES", default_value_t = DatasetLimits::default().max_footer_bytes)]
    pub max_dataset_footer_bytes: u64,

    /// Most inputs the server runs through a model at once; larger requests run as several
    /// batches.
    #[arg(long, env = "STRATA_ML_MAX_BATCH_SIZE", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_batch_size: u32,

    /// Most inputs one Predict or Embed request may carry (OpenAI's embeddings limit by
    /// default); larger requests get INVALID_ARGUMENT.
    #[arg(long, env = "STRATA_ML_MAX_REQUEST_INPUTS", default_value_t = 2048, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_request_inputs: u32,

    /// How long the first request of a batch may wait for others to join it, in milliseconds.
    #[arg(long, env = "STRATA_ML_MAX_BATCH_WAIT_MS", default_value_t = 5)]
    pub max_batch_wait_ms: u64,

    /// Inference requests that may wait for a batch, over all models; beyond it callers get
    /// RESOURCE_EXHAUSTED instead of queueing without bound.
    #[arg(long, env = "STRATA_ML_INFERENCE_QUEUE_DEPTH", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub inference_queue_depth: u32,

    /// Sequences a text generator decodes together in one step (continuous batching); more
    /// concurrent calls wait for a slot.
    #[arg(long, env = "STRATA_ML_GENERATE_MAX_SEQUENCES", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub generate_max_sequences: u32,

    /// Tokens per decoder step: one per decoding sequence, the rest for prompts in chunks of
    /// 128 (chunked prefill), so a long prompt does not stall the others. At least the
    /// sequences plus 128.
    #[arg(long, env = "STRATA_ML_GENERATE_STEP_TOKENS", default_value_t = 256, value_parser = clap::value_parser!(u32).range(2..=65536))]
    pub generate_step_tokens: u32,

    /// Most tokens one Generate call may ask for (`max_tokens`); more is INVALID_ARGUMENT.
    #[arg(long, env = "STRATA_ML_GENERATE_MAX_TOKENS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub generate_max_tokens: u32,

    /// Generate calls that may wait for a slot, per model; beyond it RESOURCE_EXHAUSTED.
    #[arg(long, env = "STRATA_ML_GENERATE_QUEUE_DEPTH", default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=65536))]
    pub generate_queue_depth: u32,

    /// Training jobs that run at the same time.
    #[arg(long, env = "STRATA_ML_MAX_CONCURRENT_JOBS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_jobs: u32,

    /// Training jobs that may wait in the queue; beyond it CreateTrainingJob gets RESOURCE_EXHAUSTED.
    #[arg(long, env = "STRATA_ML_JOB_QUEUE_DEPTH", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub job_queue_depth: u32,

    /// Most trainable parameters of a model one training job may build; larger requests get
    /// INVALID_ARGUMENT.
    #[arg(
        long,
        env = "STRATA_ML_MAX_TRAIN_PARAMETERS",
        default_value_t = 100_000_000
    )]
    pub max_train_parameters: u64,

    /// Most optimizer steps (epochs × batches per epoch) one training job may run.
    #[arg(long, env = "STRATA_ML_MAX_TRAIN_STEPS", default_value_t = 10_000_000)]
    pub max_train_steps: u64,

    /// Keys that verify the caller tokens the web API signs for this service
    /// (`kid:secret[,kid:secret...]`, secrets of at least 32 bytes; the web API's
    /// `--ml-caller-key` holds the first). With them, every RPC but the health checks needs a valid
    /// token whose role is enough for it; without them, every caller is accepted.
    #[arg(long, env = "STRATA_ML_CALLER_KEYS", hide_env_values = true)]
    pub caller_keys: Option<String>,

    /// Aliases only admins may move, comma-separated (with caller verification on: a trainer
    /// moves the other aliases of models they own).
    #[arg(
        long,
        env = "STRATA_ML_PROTECTED_ALIASES",
        value_delimiter = ',',
        default_value = "production"
    )]
    pub protected_aliases: Vec<String>,

    /// The directory `ImportModel` may read model directories from (a request names one inside
    /// it, relative or absolute); nothing outside it can be imported. Default: `<data dir>/imports`.
    #[arg(long, env = "STRATA_ML_IMPORT_DIR")]
    pub import_dir: Option<PathBuf>,

    /// Serve gRPC server reflection (for grpcurl and similar tools while developing). Off by
    /// default: it describes every RPC to whoever can connect.
    #[arg(long, env = "STRATA_ML_GRPC_REFLECTION", value_parser = clap::builder::BoolishValueParser::new())]
    pub grpc_reflection: bool,

    /// PEM certificate chain to serve gRPC over TLS (with `--tls-key`); without both, plaintext
    /// (for loopback or a service mesh that encrypts for you).
    #[arg(long, env = "STRATA_ML_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM CA certificate of the clients allowed to connect (mutual TLS, with `--tls-cert`):
    /// a client without a certificate it signed cannot complete the handshake.
    #[arg(long, env = "STRATA_ML_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "STRATA_ML_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Memory budget of loaded models, in bytes (least recently used ones are unloaded first).
    #[arg(long, env = "STRATA_ML_MODEL_CACHE_BYTES", default_value_t = 2 * 1024 * 1024 * 1024)]
    pub model_cache_bytes: u64,
}

/// The flag and environment variable that set `limit`, for error messages.
pub fn limit_flag(limit: Limit) -> &'static str {
    match limit {
        Limit::Rows => "--max-dataset-rows / STRATA_ML_MAX_DATASET_ROWS",
        Limit::Columns => "--max-dataset-columns / STRATA_ML_MAX_DATASET_COLUMNS",
        Limit::Classes => "--max-dataset-classes / STRATA_ML_MAX_DATASET_CLASSES",
        Limit::StringBytes => "--max-dataset-string-bytes / STRATA_ML_MAX_DATASET_STRING_BYTES",
        Limit::DecodedBytes => "--max-dataset-decoded-bytes / STRATA_ML_MAX_DATASET_DECODED_BYTES",
        Limit::NestingDepth => "--max-dataset-nesting-depth / STRATA_ML_MAX_DATASET_NESTING_DEPTH",
        Limit::FooterBytes => "--max-dataset-footer-bytes / STRATA_ML_MAX_DATASET_FOOTER_BYTES",
    }
}

impl Config {
    pub fn dataset_limits(&self) -> DatasetLimits {
        DatasetLimits {
            max_rows: self.max_dataset_rows,
            max_columns: self.max_dataset_columns,
            max_classes: self.max_dataset_classes,
            max_string_bytes: self.max_dataset_string_bytes,
            max_decoded_bytes: self.max_dataset_decoded_bytes,
            max_nesting_depth: self.max_dataset_nesting_depth,
            max_footer_bytes: self.max_dataset_footer_bytes,
        }
    }

    pub fn import_dir(&self) -> PathBuf {
        self.import_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("imports"))
    }

    pub fn generation_limits(&self) -> strata_core::generate::Limits {
        strata_core::generate::Limits {
            max_sequences: self.generate_max_sequences as usize,
            step_tokens: self.generate_step_tokens as usize,
            max_waiting: self.generate_queue_depth as usize,
        }
    }

    pub fn max_batch_wait(&self) -> Duration {
        Duration::from_millis(self.max_batch_wait_ms)
    }

    pub fn job_lease(&self) -> Duration {
        Duration::from_secs(self.job_lease_secs)
    }

    /// The replica id: the flag, else the host name, else `strata-ml`.
    pub fn replica(&self) -> String {
        self.replica_id
            .clone()
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
            })
            .or_else(|| std::env::var("HOSTNAME").ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "strata-ml".to_owned())
    }
}

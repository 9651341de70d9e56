//! Process configuration: every setting is a flag with an environment twin, shown in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use strata_runtime::LogFormat;

/// Configuration of the web API process.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "strata-api",
    version,
    about = "strata web API (REST gateway to the ML service)"
)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[arg(long, env = "STRATA_API_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of the HTTP server exposing Prometheus metrics at `/metrics` (kept off the public
    /// port above, so the Ingress never exposes them).
    #[arg(
        long,
        env = "STRATA_API_METRICS_LISTEN",
        default_value = "127.0.0.1:9465"
    )]
    pub metrics_listen: SocketAddr,

    /// URL of the ML service's gRPC endpoint: `http://` (plaintext) or `https://` (TLS).
    #[arg(long, env = "STRATA_ML_URL", default_value = "http://127.0.0.1:50051")]
    pub ml_url: String,

    /// PEM CA certificate that signed the ML service's TLS certificate (for an `https://`
    /// `--ml-url`); without it, https URLs are checked against the system's trust store.
    #[arg(long, env = "STRATA_ML_CA")]
    pub ml_ca: Option<PathBuf>,

    /// PEM certificate the API presents to an ML service that requires client certificates
    /// (its `--tls-client-ca`), with `--ml-client-key`; needs an `https://` ML URL.
    #[arg(long, env = "STRATA_ML_CLIENT_CERT", requires = "ml_client_key")]
    pub ml_client_cert: Option<PathBuf>,

    /// PEM private key of `--ml-client-cert`.
    #[arg(long, env = "STRATA_ML_CLIENT_KEY", requires = "ml_client_cert")]
    pub ml_client_key: Option<PathBuf>,

    /// Deadline for one call to the ML service, in milliseconds.
    #[arg(long, env = "STRATA_ML_TIMEOUT_MS", default_value_t = 10_000)]
    pub ml_timeout_ms: u64,

    /// Deadline for a whole HTTP request, in milliseconds.
    #[arg(long, env = "STRATA_API_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "STRATA_API_MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest accepted dataset upload request, in bytes (streamed, never held in memory whole).
    /// The same as the ML service's `--max-upload-bytes` by default, so a file too large for
    /// either gets 413 here.
    #[arg(long, env = "STRATA_API_MAX_UPLOAD_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// Where a dataset upload whose `file` part comes before its `metadata` is kept until the
    /// metadata arrives (an anonymous file, gone when the request ends). Default: the system's
    /// temporary directory; in Kubernetes a writable volume, as the root filesystem is read-only.
    #[arg(long, env = "STRATA_API_UPLOAD_SPOOL_DIR")]
    pub upload_spool_dir: Option<PathBuf>,

    /// Requests handled at once; more wait in line (bounded by the request timeout).
    #[arg(
        long,
        env = "STRATA_API_MAX_CONCURRENT_REQUESTS",
        default_value_t = 512
    )]
    pub max_concurrent_requests: usize,

    /// Event streams (a training job's live events) open at once on this replica; beyond it a
    /// new one gets 429.
    #[arg(long, env = "STRATA_API_MAX_EVENT_STREAMS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_event_streams: u32,

    /// Event streams one caller (user or API key) may hold open at once; beyond it 429.
    #[arg(long, env = "STRATA_API_MAX_EVENT_STREAMS_PER_CALLER", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_event_streams_per_caller: u32,

    /// Seconds between checks of an open event stream's token: once it is refused (user or API
    /// key removed, password changed, token expired) the stream sends a 401 `error` event and
    /// ends.
    #[arg(long, env = "STRATA_API_EVENT_STREAM_RECHECK_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub event_stream_recheck_secs: u64,

    /// Sustained requests per second allowed per caller (the principal of a valid bearer token,
    /// else the client address).
    #[arg(long, env = "STRATA_API_RATE_LIMIT_PER_SECOND", default_value_t = 50)]
    pub rate_limit_per_second: u32,

    /// Requests a caller may burst above the sustained rate.
    #[arg(long, env = "STRATA_API_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,

    /// Header whose last address is the client's, written by the trusted proxy in front of the
    /// API (e.g. `X-Forwarded-For`); only then is it read, for rate limiting and sign-in
    /// back-off of unauthenticated callers. Without it the socket's peer address counts.
    #[arg(long, env = "STRATA_API_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<axum::http::HeaderName>,

    /// Password checks (argon2id, 19 MiB each) that run at once; more wait their turn, so a burst
    /// of sign-ins cannot exceed the pod's memory.
    #[arg(long, env = "STRATA_API_MAX_CONCURRENT_PASSWORD_CHECKS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_concurrent_password_checks: u32,

    /// Failed sign-ins an account name, or a client address, may have before each further
    /// attempt waits (1 s, doubling with every failure up to `--sign-in-max-backoff-secs`; 429
    /// with Retry-After until then). A successful sign-in clears the account's count.
    #[arg(long, env = "STRATA_API_SIGN_IN_FREE_FAILURES", default_value_t = 5)]
    pub sign_in_free_failures: u32,

    /// Longest sign-in back-off, in seconds; failures older than this are forgotten.
    #[arg(long, env = "STRATA_API_SIGN_IN_MAX_BACKOFF_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub sign_in_max_backoff_secs: u64,

    /// Origins allowed to call the API from browsers (comma-separated, e.g.
    /// `https://app.example.com`); empty sends no CORS headers (same-origin only).
    #[arg(long, env = "STRATA_API_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Key that signs the caller tokens the ML service verifies with its `--caller-keys`
    /// (`kid:secret`, a secret of at least 32 bytes): every call carries the principal it is made
    /// for and its role. Without it, calls carry no caller token.
    #[arg(long, env = "STRATA_ML_CALLER_KEY", hide_env_values = true)]
    pub ml_caller_key: Option<String>,

    /// Development mode: without STRATA_JWT_KEYS, sign tokens with a random per-process key.
    /// Never use in production; without it the server refuses to start with no keys.
    #[arg(long, env = "STRATA_DEV")]
    pub dev: bool,

    /// JWT keys as `kid:secret[,kid:secret...]` (secrets >= 32 bytes). New tokens are signed with
    /// the first; every listed key verifies, which is how keys rotate.
    #[arg(long, env = "STRATA_JWT_KEYS", hide_env_values = true)]
    pub jwt_keys: Option<String>,

    /// `iss` claim of issued tokens, required on presented ones.
    #[arg(long, env = "STRATA_JWT_ISSUER", default_value = "strata")]
    pub jwt_issuer: String,

    /// `aud` claim of issued tokens, required on presented ones.
    #[arg(long, env = "STRATA_JWT_AUDIENCE", default_value = "strata-api")]
    pub jwt_audience: String,

    /// Lifetime of issued tokens, in seconds.
    #[arg(long, env = "STRATA_TOKEN_TTL_SECONDS", default_value_t = 3600)]
    pub token_ttl_seconds: u64,

    /// Metadata database holding users and API keys: `sqlite:PATH` (created if missing) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB`, shared by every API replica (and, in a scaled-out
    /// deployment, the same database as the ML service's). A bootstrap admin is created in an
    /// empty one.
    #[arg(
        long,
        env = "STRATA_METADATA_URL",
        default_value = "sqlite:.strata/api/meta.db",
        hide_env_values = true
    )]
    pub metadata_url: String,

    /// Password of the bootstrap admin created on first start; generated and printed if unset.
    #[arg(long, env = "STRATA_BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true)]
    pub bootstrap_admin_password: Option<String>,

    /// File the generated bootstrap admin password is written to (mode 0600), instead of the
    /// console, where log collectors would keep it; the console says where it is. Used only when
    /// the first start creates the admin without STRATA_BOOTSTRAP_ADMIN_PASSWORD.
    #[arg(long, env = "STRATA_BOOTSTRAP_ADMIN_PASSWORD_FILE")]
    pub bootstrap_admin_password_file: Option<PathBuf>,

    /// Seed demo content on start: the sample datasets, a text encoder (with
    /// --demo-text-encoder) and models trained and promoted from them, through this API's own
    /// endpoints. Idempotent. On in the dev stack and the dev overlay; leave off in production.
    #[arg(long, env = "STRATA_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,

    /// With --demo: a Hugging Face text-encoder directory on the ML service's filesystem to
    /// import as `minilm` (tools/setup unpacks all-MiniLM-L6-v2 to .cache/assets); without it the
    /// demo leaves out the encoder and the text classifier that fine-tunes it.
    #[arg(long, env = "STRATA_DEMO_TEXT_ENCODER")]
    pub demo_text_encoder: Option<PathBuf>,

    /// Log output format.
    #[arg(long, env = "STRATA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Print the OpenAPI document to stdout and exit (used by codegen and the drift check).
    #[arg(long)]
    pub print_openapi: bool,
}

impl Config {
    pub fn ml_timeout(&self) -> Duration {
        Duration::from_millis(self.ml_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

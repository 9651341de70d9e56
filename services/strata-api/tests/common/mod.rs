//! Test harness shared by the integration tests: the real ML service and the real API, each
//! started in-process on a loopback port, stopped gracefully at the end of a test.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The bootstrap admin's password in tests.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub struct Server {
    pub addr: SocketAddr,
    /// The separate `/metrics` address (both services serve metrics off their public port).
    pub metrics_addr: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server drains within 10 s")
            .expect("server task does not panic");
    }
}

pub async fn start_ml(data_dir: &std::path::Path) -> Server {
    start_ml_with(data_dir, &[]).await
}

/// Starts the ML service with extra command-line flags (e.g. `--device auto`).
pub async fn start_ml_with(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind ml");
    let addr = listener.local_addr().expect("ml addr");
    let metrics_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind ml metrics");
    let metrics_addr = metrics_listener.local_addr().expect("ml metrics addr");
    let imports = strata_testkit::assets_dir();
    let mut args = vec![
        "strata-ml",
        "--data-dir",
        data_dir.to_str().expect("utf-8 temp dir"),
        // MiniLM is imported from where tools/setup put it.
        "--import-dir",
        imports.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let config = strata_ml::Config::parse_from(args);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        strata_ml::serve(&config, listener, metrics_listener, async {
            let _ = rx.await;
        })
        .await
        .expect("ml service runs");
    });
    Server {
        addr,
        metrics_addr: Some(metrics_addr),
        stop: Some(tx),
        task,
    }
}

/// Starts the API in `--dev` mode (random JWT key) with its users in an SQLite file in `state_dir`.
pub async fn start_api(ml_addr: SocketAddr, state_dir: &std::path::Path) -> Server {
    start_api_with(ml_addr, state_dir, &["--dev"]).await
}

/// Starts the API with extra command-line flags.
pub async fn start_api_with(
    ml_addr: SocketAddr,
    state_dir: &std::path::Path,
    extra: &[&str],
) -> Server {
    start_api_at(&format!("http://{ml_addr}"), state_dir, extra).await
}

/// Starts the API in front of the ML service at `ml_url`, with extra command-line flags.
pub async fn start_api_at(ml_url: &str, state_dir: &std::path::Path, extra: &[&str]) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind api");
    let ml_url = ml_url.to_owned();
    let mut args = vec![
        "strata-api".to_owned(),
        "--ml-url".to_owned(),
        ml_url,
        "--ml-timeout-ms".to_owned(),
        "2000".to_owned(),
        "--bootstrap-admin-password".to_owned(),
        ADMIN_PASSWORD.to_owned(),
    ];
    if !extra.contains(&"--metadata-url") {
        let db: PathBuf = state_dir.join("meta.db");
        args.push("--metadata-url".to_owned());
        args.push(format!("sqlite:{}", db.to_str().expect("utf-8 temp dir")));
    }
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    start_api_exactly(listener, args).await
}

/// Starts the API on `listener` with exactly these arguments (`args[0]` is the program name).
pub async fn start_api_exactly(listener: TcpListener, args: Vec<String>) -> Server {
    let addr = listener.local_addr().expect("api addr");
    let metrics_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind api metrics");
    let metrics_addr = metrics_listener.local_addr().expect("api metrics addr");
    let config = strata_api::Config::parse_from(args);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        strata_api::serve_with_metrics(&config, listener, metrics_listener, async {
            let _ = rx.await;
        })
        .await
        .expect("api runs");
    });
    Server {
        addr,
        metrics_addr: Some(metrics_addr),
        stop: Some(tx),
        task,
    }
}

/// An address nothing listens on (bound, then released).
pub async fn dead_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr")
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create temp dir")
}

/// A fresh CA and server certificate in `dir` (see strata-testkit).
pub fn test_pki(dir: &std::path::Path) -> strata_testkit::TestPki {
    strata_testkit::TestPki::create(dir)
}

/// An HTTP client for the API under test.
pub fn http() -> reqwest::Client {
    // strata-data turns on reqwest's rustls without a crypto provider (object_store's TLS uses
    // ring, not reqwest's default aws-lc), and Cargo unifies that feature into every reqwest of
    // the build: a Client then needs a process-wide provider, even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Signs in as `admin` at `base` (`http://host:port`) and returns the bearer token.
pub async fn sign_in(http: &reqwest::Client, base: &str, password: &str) -> String {
    access_token(
        http,
        base,
        serde_json::json!({"username": "admin", "password": password}),
    )
    .await
}

/// The access token `POST /v1/auth/token` issues for `body` (a user's password or an API key).
pub async fn access_token(http: &reqwest::Client, base: &str, body: serde_json::Value) -> String {
    let token: serde_json::Value = http
        .post(format!("{base}/v1/auth/token"))
        .json(&body)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    token["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// Imports SmolLM2-135M-Instruct (from `tools/assets/fetch.sh`) into the ML service at `ml` as
/// the text-generator `name`.
pub async fn import_smollm2(ml: SocketAddr, name: &str) {
    use strata_proto::strata::ml::v1 as pb;
    let dir = strata_testkit::assets_dir().join("smollm2");
    assert!(
        dir.join("SmolLM2-135M-Instruct.Q4_1.gguf").is_file(),
        "SmolLM2 missing at {} (run tools/assets/fetch.sh)",
        dir.display()
    );
    let mut models = pb::model_service_client::ModelServiceClient::connect(format!("http://{ml}"))
        .await
        .expect("connect");
    models
        .import_model(pb::ImportModelRequest {
            name: name.into(),
            kind: "text-generator".into(),
            path: dir.to_string_lossy().into_owned(),
        })
        .await
        .expect("import SmolLM2");
}

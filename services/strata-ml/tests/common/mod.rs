//! Shared helpers of the integration tests: the real server on loopback (in-process through
//! `strata_ml::serve`, or the real binary), tonic clients, the digits sample.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use strata_data::{DatasetSchema, ParquetDataset};
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::dataset_service_client::DatasetServiceClient;
use strata_proto::strata::ml::v1::inference_service_client::InferenceServiceClient;
use strata_proto::strata::ml::v1::model_service_client::ModelServiceClient;
use strata_proto::strata::ml::v1::system_service_client::SystemServiceClient;
use strata_proto::strata::ml::v1::training_service_client::TrainingServiceClient;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// The repository (the runfiles tree under Bazel; see strata_testkit::repo_path).
pub fn workspace_root() -> PathBuf {
    strata_testkit::repo_path("")
}

pub fn digits_path() -> PathBuf {
    strata_testkit::repo_path("libs/strata-data/samples/digits.parquet")
}

/// 240 labelled support requests (`text`, `topic`) for text-classifier fine-tuning.
pub fn support_requests_path() -> PathBuf {
    strata_testkit::repo_path("libs/strata-data/samples/support_requests.parquet")
}

pub use strata_testkit::assets_dir;

/// The all-MiniLM-L6-v2 directory (tools/setup fetches it), or None with a skip message.
pub fn minilm_dir() -> Option<PathBuf> {
    let dir = strata_testkit::minilm_path();
    if dir.join("model.safetensors").is_file() && dir.join("tokenizer.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: all-MiniLM-L6-v2 not found at {} (run tools/setup or set STRATA_MINILM_DIR); the embedding checks did not run",
            dir.display()
        );
        None
    }
}

/// Feature rows and labels of the digits sample.
pub fn digits_rows() -> (Vec<Vec<f32>>, Vec<u32>) {
    let path = digits_path();
    let info = ParquetDataset::info(&path).expect("digits sample");
    let schema = DatasetSchema {
        features: info.numeric_columns_except(&["label"]),
        label: Some("label".into()),
        ..Default::default()
    };
    let all = ParquetDataset::open(&path, &schema)
        .expect("digits opens")
        .read_all()
        .expect("digits reads");
    (
        all.features
            .chunks(all.feature_dim)
            .map(<[f32]>::to_vec)
            .collect(),
        all.labels,
    )
}

pub struct Server {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Sends the shutdown signal without waiting for the drain.
    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn stop(mut self) {
        self.begin_stop();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("server drains within 30 s")
            .expect("server task does not panic");
    }

    pub async fn clients(&self) -> Clients {
        Clients::connect(self.addr).await
    }
}

/// Starts the service in-process on loopback with `extra` flags.
pub async fn start(data_dir: &Path, extra: &[&str]) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let metrics_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind metrics");
    let metrics_addr = metrics_listener.local_addr().expect("metrics addr");
    let mut args: Vec<String> = vec![
        "strata-ml".into(),
        "--data-dir".into(),
        data_dir.to_str().expect("utf-8 temp dir").into(),
    ];
    // MiniLM is imported from where tools/setup put it: that directory is the import directory
    // unless a test names its own.
    if !extra.contains(&"--import-dir") {
        args.push("--import-dir".into());
        args.push(assets_dir().to_str().expect("utf-8 path").into());
    }
    args.extend(extra.iter().map(|a| (*a).to_owned()));
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
        metrics_addr,
        stop: Some(tx),
        task,
    }
}

#[derive(Clone)]
pub struct Clients {
    pub system: SystemServiceClient<Channel>,
    pub datasets: DatasetServiceClient<Channel>,
    pub training: TrainingServiceClient<Channel>,
    pub models: ModelServiceClient<Channel>,
    pub inference: InferenceServiceClient<Channel>,
}

impl Clients {
    /// Connects, retrying while the server starts.
    pub async fn connect(addr: SocketAddr) -> Clients {
        let url = format!("http://{addr}");
        let mut last = None;
        for _ in 0..200 {
            match Channel::from_shared(url.clone())
                .expect("url")
                .connect()
                .await
            {
                Ok(channel) => {
                    return Clients {
                        system: SystemServiceClient::new(channel.clone()),
                        datasets: DatasetServiceClient::new(channel.clone()),
                        training: TrainingServiceClient::new(channel.clone()),
                        models: ModelServiceClient::new(channel.clone()),
                        inference: InferenceServiceClient::new(channel),
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("cannot connect to {url}: {last:?}");
    }
}

/// A fresh CA and server certificate in `dir` (see strata-testkit).
pub fn test_pki(dir: &std::path::Path) -> strata_testkit::TestPki {
    strata_testkit::TestPki::create(dir)
}

pub async fn upload(
    clients: &mut Clients,
    name: &str,
    schema: pb::DatasetSchema,
    bytes: Vec<u8>,
) -> Result<pb::Dataset, tonic::Status> {
    let mut messages = vec![pb::UploadDatasetRequest {
        part: Some(pb::upload_dataset_request::Part::Metadata(
            pb::DatasetUploadMetadata {
                name: name.into(),
                schema: Some(schema),
                description: "test upload".into(),
            },
        )),
    }];
    for chunk in bytes.chunks(64 * 1024) {
        messages.push(pb::UploadDatasetRequest {
            part: Some(pb::upload_dataset_request::Part::Chunk(chunk.to_vec())),
        });
    }
    clients
        .datasets
        .upload_dataset(tokio_stream::iter(messages))
        .await
        .map(|r| r.into_inner())
}

/// Uploads the digits sample; features default to every numeric column but the label.
pub async fn upload_digits(clients: &mut Clients) -> pb::Dataset {
    let bytes = std::fs::read(digits_path()).expect("digits sample");
    let schema = pb::DatasetSchema {
        label_column: "label".into(),
        ..Default::default()
    };
    upload(clients, "digits", schema, bytes)
        .await
        .expect("digits upload")
}

pub fn mlp_job(model: &str, dataset: &str, epochs: u32) -> pb::CreateTrainingJobRequest {
    pb::CreateTrainingJobRequest {
        model_name: model.into(),
        kind: "mlp-classifier".into(),
        dataset_id: dataset.into(),
        hyperparameters: Some(pb::Hyperparameters {
            epochs: Some(epochs),
            learning_rate: Some(0.005),
            seed: Some(7),
            // Every epoch runs, so tests can count steps.
            early_stopping_patience: Some(0),
            ..Default::default()
        }),
        parameters: strata_runtime::structs::to_struct(&serde_json::json!({ "hidden": [64] })),
        base_model: String::new(),
    }
}

pub fn final_state(e: &pb::TrainingEvent) -> Option<pb::JobState> {
    match e.event {
        Some(pb::training_event::Event::StateChanged(s)) => {
            let s = pb::JobState::try_from(s).ok()?;
            matches!(
                s,
                pb::JobState::Succeeded | pb::JobState::Failed | pb::JobState::Cancelled
            )
            .then_some(s)
        }
        _ => None,
    }
}

/// Watches a job until its stream ends; returns every event.
pub async fn watch_to_end(clients: &mut Clients, id: &str, after: u64) -> Vec<pb::TrainingEvent> {
    let mut stream = clients
        .training
        .watch_training_job(pb::WatchTrainingJobRequest {
            id: id.into(),
            after_sequence: after,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while let Some(e) = tokio::time::timeout_at(deadline, stream.message())
        .await
        .expect("job ends in time")
        .expect("stream")
    {
        events.push(e);
    }
    events
}

pub async fn get_metric(metrics_addr: SocketAddr, name: &str) -> f64 {
    // strata-data turns on reqwest's rustls without a crypto provider (object_store's TLS uses
    // ring, not reqwest's default aws-lc), and Cargo unifies that feature into every reqwest of
    // the build: a Client then needs a process-wide provider, even for plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let body = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .expect("metrics endpoint")
        .text()
        .await
        .expect("metrics body");
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A free loopback port, for the real binary to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// A child process, killed (SIGKILL) and reaped when dropped.
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real `strata-ml` binary (Cargo's, or the one Bazel names in the same variable) serving
/// `data_dir` on `port`, for the caller to add to and spawn.
pub fn binary_command(data_dir: &Path, port: u16) -> std::process::Command {
    // Only the test targets that start the binary are built with it (Bazel sets the variable for
    // those alone), so the others must still compile.
    let Some(bin) = option_env!("CARGO_BIN_EXE_strata-ml") else {
        panic!("this test target is built without the strata-ml binary (CARGO_BIN_EXE_strata-ml)")
    };
    let mut command = std::process::Command::new(bin);
    command
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    command
}

pub fn spawn_binary(data_dir: &Path, port: u16) -> Process {
    Process(
        binary_command(data_dir, port)
            .spawn()
            .expect("start strata-ml"),
    )
}

/// Creates a training job and returns it as created.
pub async fn create_job(c: &mut Clients, req: pb::CreateTrainingJobRequest) -> pb::TrainingJob {
    c.training
        .create_training_job(req)
        .await
        .expect("create training job")
        .into_inner()
}

/// `req` with a checkpoint every `steps` steps.
pub fn checkpointing(
    mut req: pb::CreateTrainingJobRequest,
    steps: u64,
) -> pb::CreateTrainingJobRequest {
    req.hyperparameters
        .get_or_insert_with(Default::default)
        .checkpoint_every_steps = Some(steps);
    req
}

/// Job `id`'s events from the first.
pub async fn watch_job(c: &mut Clients, id: &str) -> tonic::Streaming<pb::TrainingEvent> {
    c.training
        .watch_training_job(pb::WatchTrainingJobRequest {
            id: id.into(),
            after_sequence: 0,
        })
        .await
        .expect("watch training job")
        .into_inner()
}

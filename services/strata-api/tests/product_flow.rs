//! The whole product flow over HTTP against the real API and the real ML service on loopback:
//! token → upload → train → SSE progress to completion → promote → predict → embeddings.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use common::{ADMIN_PASSWORD, sign_in, start_api, start_ml, temp_dir};
use serde_json::{Value, json};

/// A file of the repository (a runfile under Bazel; see strata_testkit::repo_path).
fn repo_file(path: &str) -> PathBuf {
    strata_testkit::repo_path(path)
}

/// The first rows of the digits sample, read with the parquet crate: the API layer's tests stay
/// off the data layer, as the API itself does.
fn digits_rows(n: usize) -> (Vec<Vec<f32>>, Vec<i64>) {
    use arrow::array::{Array, Float32Array, Int64Array};
    let file = std::fs::File::open(repo_file("libs/strata-data/samples/digits.parquet"))
        .expect("digits sample");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .with_batch_size(n)
        .build()
        .expect("reader");
    let batch = reader
        .into_iter()
        .next()
        .expect("a batch")
        .expect("batch reads");
    let schema = batch.schema();
    let mut rows = vec![Vec::new(); n.min(batch.num_rows())];
    let mut labels = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let column = batch.column(i);
        if field.name() == "label" {
            let values = column
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("int64 labels");
            labels = (0..rows.len()).map(|r| values.value(r)).collect();
        } else if let Some(values) = column.as_any().downcast_ref::<Float32Array>() {
            for (r, row) in rows.iter_mut().enumerate() {
                row.push(values.value(r));
            }
        }
    }
    (rows, labels)
}

/// Parses an SSE body into (id, event, data) triples.
fn sse_events(body: &str) -> Vec<(u64, String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut id = None;
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            Some((id?, event, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

/// all-MiniLM-L6-v2 (`STRATA_MINILM_DIR`, else where tools/setup unpacks it). Without it `test`
/// skips, except under CI, where it fails: CI never passes by skipping.
fn minilm_dir(test: &str) -> Option<PathBuf> {
    let minilm = strata_testkit::minilm_path();
    if minilm.join("model.safetensors").is_file() {
        return Some(minilm);
    }
    let message = format!(
        "all-MiniLM-L6-v2 not found at {} (run tools/setup)",
        minilm.display()
    );
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false"),
        "{message}; CI must not skip {test}"
    );
    eprintln!("SKIP: {message}; {test} did not run");
    None
}

/// The digits sample as the upload form: metadata first, then the file.
fn digits_upload_form() -> reqwest::multipart::Form {
    let bytes =
        std::fs::read(repo_file("libs/strata-data/samples/digits.parquet")).expect("digits");
    reqwest::multipart::Form::new()
        .text(
            "metadata",
            json!({"name": "digits", "schema": {"label_column": "label"}}).to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("digits.parquet"),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_upload_train_watch_promote_predict_embed() {
    let (ml_dir, api_dir) = (temp_dir(), temp_dir());
    let ml = start_ml(ml_dir.path()).await;
    let api = start_api(ml.addr, api_dir.path()).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();

    let token = sign_in(&http, &base, ADMIN_PASSWORD).await;

    // Upload the digits sample as multipart: metadata first, then the file.
    let form = digits_upload_form();
    let uploaded = http
        .post(format!("{base}/v1/datasets"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(uploaded.status(), 201);
    let dataset: Value = uploaded.json().await.expect("dataset JSON");
    assert_eq!(dataset["num_rows"], 1797);
    assert_eq!(dataset["classes"].as_array().map(Vec::len), Some(10));
    // The stats the web app shows: rows per class, and each pixel's range (0..16 in the sample).
    let counts: Vec<u64> = dataset["class_counts"]
        .as_array()
        .expect("class_counts")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(counts.len(), 10);
    assert_eq!(counts.iter().sum::<u64>(), 1797);
    let pixel = dataset["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == "pixel_4_4")
        .expect("a pixel column");
    let (min, max) = (
        pixel["stats"]["min"].as_f64(),
        pixel["stats"]["max"].as_f64(),
    );
    assert!(
        min.is_some_and(|m| m >= 0.0) && max.is_some_and(|m| m <= 16.0 && m > 0.0),
        "{pixel}"
    );

    // A bad upload is a clear 400, and nothing is stored.
    let bad = reqwest::multipart::Form::new()
        .text(
            "metadata",
            json!({"name": "broken", "schema": {"label_column": "label"}}).to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"not parquet".to_vec()),
        );
    let refused = http
        .post(format!("{base}/v1/datasets"))
        .bearer_auth(&token)
        .multipart(bad)
        .send()
        .await
        .expect("upload");
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let listed: Value = http
        .get(format!("{base}/v1/datasets"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed["datasets"].as_array().map(Vec::len), Some(1));

    // The spec does not order form parts, so `file` first works too (spooled, then streamed).
    let bytes =
        std::fs::read(repo_file("libs/strata-data/samples/digits.parquet")).expect("digits");
    let file_first = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("digits.parquet"),
        )
        .text(
            "metadata",
            json!({"name": "digits-again", "schema": {"label_column": "label"}}).to_string(),
        );
    let again = http
        .post(format!("{base}/v1/datasets"))
        .bearer_auth(&token)
        .multipart(file_first)
        .send()
        .await
        .expect("upload, file first");
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.expect("dataset JSON");
    assert_eq!(again["sha256"], dataset["sha256"], "the same bytes arrived");

    // Train, following the job's events live until the stream ends.
    let created = http
        .post(format!("{base}/v1/training-jobs"))
        .bearer_auth(&token)
        .json(&json!({
            "model_name": "digits",
            "kind": "mlp-classifier",
            "dataset_id": dataset["id"],
            "hyperparameters": {"epochs": 6, "learning_rate": 0.005, "seed": 7},
            "parameters": {"hidden": [64]}
        }))
        .send()
        .await
        .expect("create job");
    assert_eq!(created.status(), 201);
    let job: Value = created.json().await.expect("job JSON");
    let job_id = job["id"].as_str().expect("job id").to_owned();
    let events_url = format!("{base}/v1/training-jobs/{job_id}/events");
    let sse = http
        .get(&events_url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("events");
    assert_eq!(sse.status(), 200);
    assert!(
        sse.headers()["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("text/event-stream"))
    );
    let body = tokio::time::timeout(Duration::from_secs(300), sse.text())
        .await
        .expect("job ends in time")
        .expect("body");
    let events = sse_events(&body);
    assert!(
        events.iter().any(|(_, kind, _)| kind == "progress"),
        "progress events arrive"
    );
    let (last_id, _, last) = events.last().expect("events").clone();
    assert_eq!(last["job"]["state"], "succeeded", "{last}");
    let version = last["job"]["model_version"]
        .as_str()
        .expect("model version")
        .to_owned();
    assert!(
        last["job"]["test_metrics"]["accuracy"]
            .as_f64()
            .is_some_and(|a| a > 0.85),
        "{last}"
    );

    // Reconnecting with Last-Event-ID replays only what came after it.
    let replay = http
        .get(&events_url)
        .bearer_auth(&token)
        .header("last-event-id", "2")
        .send()
        .await
        .expect("replay");
    let replay = sse_events(&replay.text().await.expect("replay body"));
    assert_eq!(replay.first().map(|e| e.0), Some(3));
    assert_eq!(replay.last().map(|e| e.0), Some(last_id));

    // Promote and predict through the alias.
    let promoted = http
        .put(format!("{base}/v1/models/digits/aliases/production"))
        .bearer_auth(&token)
        .json(&json!({"version": version}))
        .send()
        .await
        .expect("alias");
    assert_eq!(promoted.status(), 200);
    let model: Value = promoted.json().await.expect("model JSON");
    assert_eq!(model["aliases"]["production"], version.as_str());
    let confusion = &model["versions"][0]["test_metrics"]["confusion_matrix"];
    assert_eq!(
        confusion.as_array().map(Vec::len),
        Some(10),
        "a 10x10 confusion matrix"
    );

    let (rows, labels) = digits_rows(32);
    let predicted = http
        .post(format!("{base}/v1/models/digits@production:predict"))
        .bearer_auth(&token)
        .json(&json!({"features": rows}))
        .send()
        .await
        .expect("predict");
    let status = predicted.status();
    let predicted: Value = predicted.json().await.expect("predictions");
    assert_eq!(status, 200, "{predicted}");
    assert_eq!(predicted["model"], format!("digits@{version}"));
    let right = predicted["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p["class_index"].as_i64() == Some(**l))
        .count();
    assert!(right >= 27, "{right}/32 right");

    let wrong_shape = http
        .post(format!("{base}/v1/models/digits:predict"))
        .bearer_auth(&token)
        .json(&json!({"features": [[1.0, 2.0]]}))
        .send()
        .await
        .expect("predict");
    assert_eq!(
        wrong_shape.status(),
        400,
        "inputs that do not fit the schema"
    );

    // Embeddings need a text encoder: import MiniLM through the ML service when it is present.
    let minilm = strata_testkit::minilm_path();
    if minilm.join("model.safetensors").is_file() {
        use strata_proto::strata::ml::v1 as pb;
        let mut models =
            pb::model_service_client::ModelServiceClient::connect(format!("http://{}", ml.addr))
                .await
                .expect("connect");
        models
            .import_model(pb::ImportModelRequest {
                name: "minilm".into(),
                kind: "text-encoder".into(),
                path: minilm.to_string_lossy().into_owned(),
            })
            .await
            .expect("import MiniLM");
        for (input, format) in [
            (json!("The cat sat on the mat."), "float"),
            (json!(["first text", "second text"]), "base64"),
        ] {
            let response = http
                .post(format!("{base}/v1/embeddings"))
                .bearer_auth(&token)
                .json(&json!({"model": "minilm", "input": input, "encoding_format": format}))
                .send()
                .await
                .expect("embeddings");
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.expect("embeddings JSON");
            assert_eq!(body["object"], "list");
            let data = body["data"].as_array().expect("data");
            assert_eq!(data.len(), if input.is_string() { 1 } else { 2 });
            assert!(
                body["usage"]["prompt_tokens"]
                    .as_u64()
                    .is_some_and(|t| t > 0)
            );
            let first = &data[0]["embedding"];
            let dim = if format == "float" {
                first.as_array().map(Vec::len)
            } else {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(first.as_str().expect("base64"))
                    .expect("decodes");
                Some(bytes.len() / 4)
            };
            assert_eq!(dim, Some(384), "MiniLM vectors have 384 dimensions");
        }
    } else {
        eprintln!(
            "SKIP: all-MiniLM-L6-v2 not found at {} (run tools/setup); /v1/embeddings was not exercised",
            minilm.display()
        );
    }

    api.stop().await;
    ml.stop().await;
}

/// Polls `GET path` with `token` until `ready` holds for the JSON body, or fails after `secs`.
async fn poll_until(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    secs: u64,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut last = Value::Null;
    while tokio::time::Instant::now() < deadline {
        let response = http.get(url).bearer_auth(token).send().await.expect("GET");
        if response.status() == 200 {
            last = response.json().await.expect("JSON");
            if ready(&last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{url} not ready within {secs} s; last answer: {last}");
}

/// `--demo` on a first start: the two samples uploaded, MiniLM imported, the digits and
/// support-topics models trained by ordinary jobs and promoted, all through the public API, with
/// the generated admin password in a 0600 file. A second start seeds again and creates nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_content_arrives_once_through_the_public_api() {
    use std::os::unix::fs::PermissionsExt;
    let Some(minilm) = minilm_dir("the demo test") else {
        return;
    };
    let dir = temp_dir();
    let ml = start_ml(&dir.path().join("ml")).await;
    let password_file = dir.path().join("state/admin-password");
    let ml_url = format!("http://{}", ml.addr);
    let keys = format!("k1:{}", "demo-test-secret-".repeat(3));
    let meta = format!("sqlite:{}", dir.path().join("api/meta.db").display());
    let args: Vec<String> = [
        "strata-api",
        "--ml-url",
        &ml_url,
        "--jwt-keys",
        &keys,
        "--metadata-url",
        &meta,
        "--bootstrap-admin-password-file",
        password_file.to_str().expect("utf-8"),
        "--demo",
        "--demo-text-encoder",
        minilm.to_str().expect("utf-8"),
    ]
    .map(String::from)
    .to_vec();
    let config = strata_api::Config::parse_from(args.clone());
    let bind = || async {
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind")
    };
    let api = common::start_api_exactly(bind().await, args.clone()).await;
    let base = format!("http://{}", api.addr);

    // The server task writes it while starting up.
    for _ in 0..100 {
        if password_file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mode = std::fs::metadata(&password_file)
        .expect("the admin password file exists once the API starts")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "admin password file mode");
    let password = std::fs::read_to_string(&password_file).expect("read password");
    let http = common::http();
    let token = sign_in(&http, &base, password.trim()).await;

    let promoted = |m: &Value| m["aliases"]["production"].is_string();
    for model in ["minilm", "digits", "support-topics"] {
        poll_until(
            &http,
            &format!("{base}/v1/models/{model}"),
            &token,
            600,
            promoted,
        )
        .await;
    }
    let datasets = poll_until(&http, &format!("{base}/v1/datasets"), &token, 5, |_| true).await;
    let mut names: Vec<&str> = datasets["datasets"]
        .as_array()
        .expect("datasets")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["digits", "support-requests"]);
    let jobs = poll_until(
        &http,
        &format!("{base}/v1/training-jobs"),
        &token,
        5,
        |_| true,
    )
    .await;
    let mut trained: Vec<(&str, &str)> = jobs["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["model_name"].as_str().unwrap_or_default(),
                j["state"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    trained.sort();
    assert_eq!(
        trained,
        [("digits", "succeeded"), ("support-topics", "succeeded")]
    );
    // The promoted models answer.
    let (rows, labels) = digits_rows(1);
    let predicted: Value = http
        .post(format!("{base}/v1/models/digits@production:predict"))
        .bearer_auth(&token)
        .json(&json!({"features": rows}))
        .send()
        .await
        .expect("predict")
        .json()
        .await
        .expect("predict JSON");
    assert_eq!(
        predicted["predictions"][0]["label"],
        json!(labels[0].to_string())
    );
    let topic: Value = http
        .post(format!(
            "{base}/v1/models/support-topics@production:predict"
        ))
        .bearer_auth(&token)
        .json(&json!({"texts": ["I was charged twice for my subscription this month."]}))
        .send()
        .await
        .expect("predict text")
        .json()
        .await
        .expect("predict text JSON");
    assert_eq!(topic["predictions"][0]["label"], "billing", "{topic}");

    // A restart: same store, same data. The new process's seeding finds everything; so does a
    // seeding run here against it, which reports what it found.
    api.stop().await;
    let api = common::start_api_exactly(bind().await, args).await;
    let base = format!("http://{}", api.addr);
    let again = std::fs::read_to_string(&password_file).expect("read password again");
    assert_eq!(
        again, password,
        "a restart keeps the admin and its password file"
    );
    let demo = strata_api::demo::DemoConfig {
        api_url: base.clone(),
        text_encoder_dir: Some(minilm.clone()),
    };
    let auth = strata_api::authenticator(&config)
        .await
        .expect("authenticator");
    let ml_client =
        strata_api::state::MlClient::connect_lazy(&ml_url, Duration::from_secs(10), None, None)
            .expect("ML client");
    let steps = strata_api::demo::seed(&demo, &auth, &ml_client)
        .await
        .expect("seed again");
    let created: Vec<_> = steps
        .iter()
        .filter(|s| matches!(s, strata_api::demo::Step::Created(_)))
        .collect();
    assert!(created.is_empty(), "a second start created {created:?}");
    assert_eq!(steps.len(), 8, "{steps:?}");
    let jobs = poll_until(
        &http,
        &format!("{base}/v1/training-jobs"),
        &token,
        5,
        |_| true,
    )
    .await;
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(2));
    api.stop().await;
    ml.stop().await;
}

/// Issue 22's acceptance test: one request through the API yields one trace whose spans cover
/// every hop. The test plays the browser: it sends its own W3C `traceparent`, so the trace it
/// looks for is the one it started, and the API's server span must name the browser's span as
/// its parent. Spans go over OTLP/gRPC to strata-testkit's in-process receiver.
///
/// Both services run in this one process, so they share one tracer provider (and one
/// `service.name`); the hop from the API to the ML service is still real: the ML service's
/// server span finds its parent only in the `traceparent` metadata of the gRPC call, as the
/// server's tasks have no span of the API's to inherit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_from_the_browser_through_both_services() {
    use strata_testkit::{CollectedSpan, OtlpReceiver, span_tree};

    let Some(minilm) = minilm_dir("the trace test") else {
        return;
    };

    let receiver = OtlpReceiver::start();
    strata_runtime::init_tracing(
        strata_runtime::LogFormat::Json,
        &strata_runtime::telemetry::TraceExport {
            endpoint: Some(receiver.endpoint()),
            service_name: "strata-test".into(),
            // Export within a tenth of a second instead of the default five.
            batch_delay: Some(Duration::from_millis(100)),
        },
    );

    let (ml_dir, api_dir) = (temp_dir(), temp_dir());
    let ml = start_ml(ml_dir.path()).await;
    let api = start_api(ml.addr, api_dir.path()).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();
    let token = sign_in(&http, &base, ADMIN_PASSWORD).await;

    // The browser's span ids; the trace ids differ per request, as a browser's would.
    let browser_span = "00f067aa0ba902b7";
    let traceparent = |trace_id: &str| format!("00-{trace_id}-{browser_span}-01");
    let (upload_trace, train_trace, embed_trace) = (
        "4bf92f3577b34da6a3ce929d0e0e4701",
        "4bf92f3577b34da6a3ce929d0e0e4702",
        "4bf92f3577b34da6a3ce929d0e0e4703",
    );

    let form = digits_upload_form();
    let uploaded = http
        .post(format!("{base}/v1/datasets"))
        .header("traceparent", traceparent(upload_trace))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(uploaded.status(), 201);
    let dataset: Value = uploaded.json().await.expect("dataset JSON");

    let created = http
        .post(format!("{base}/v1/training-jobs"))
        .header("traceparent", traceparent(train_trace))
        .bearer_auth(&token)
        .json(&json!({
            "model_name": "digits",
            "kind": "mlp-classifier",
            "dataset_id": dataset["id"],
            "hyperparameters": {"epochs": 2, "seed": 7},
            "parameters": {"hidden": [32]}
        }))
        .send()
        .await
        .expect("create job");
    assert_eq!(created.status(), 201);
    let job: Value = created.json().await.expect("job JSON");
    let job_url = format!(
        "{base}/v1/training-jobs/{}",
        job["id"].as_str().expect("id")
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let state: Value = http
            .get(&job_url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("get job")
            .json()
            .await
            .expect("job JSON");
        if state["state"] == "succeeded" {
            break;
        }
        assert!(
            !matches!(state["state"].as_str(), Some("failed" | "cancelled")),
            "{state}"
        );
        assert!(std::time::Instant::now() < deadline, "the job ends in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    use strata_proto::strata::ml::v1 as pb;
    let mut models =
        pb::model_service_client::ModelServiceClient::connect(format!("http://{}", ml.addr))
            .await
            .expect("connect");
    models
        .import_model(pb::ImportModelRequest {
            name: "minilm".into(),
            kind: "text-encoder".into(),
            path: minilm.to_string_lossy().into_owned(),
        })
        .await
        .expect("import MiniLM");
    let response = http
        .post(format!("{base}/v1/embeddings"))
        .header("traceparent", traceparent(embed_trace))
        .bearer_auth(&token)
        .json(&json!({"model": "minilm", "input": ["The cat sat on the mat.", "A dog."]}))
        .send()
        .await
        .expect("embeddings");
    assert_eq!(response.status(), 200);

    // The parent chain: each step names the span its parent must be, by name and kind.
    fn child<'a>(
        spans: &'a [CollectedSpan],
        parent: &CollectedSpan,
        name: &str,
        kind: &str,
    ) -> &'a CollectedSpan {
        spans
            .iter()
            .find(|s| {
                s.parent_span_id.as_deref() == Some(parent.span_id.as_str())
                    && s.name == name
                    && s.kind == kind
            })
            .unwrap_or_else(|| {
                panic!(
                    "no {kind} span {name:?} under {:?}:\n{}",
                    parent.name,
                    span_tree(spans)
                )
            })
    }
    fn has(spans: &[CollectedSpan], names: &[&str]) -> bool {
        names.iter().all(|n| spans.iter().any(|s| s.name == *n))
    }
    let wait = Duration::from_secs(20);

    let embed = receiver
        .wait_for_trace(embed_trace, wait, |s| {
            has(
                s,
                &[
                    "POST /v1/embeddings",
                    "inference.forward",
                    "strata.ml.v1.InferenceService/Embed",
                ],
            ) && s
                .iter()
                .filter(|s| s.name == "strata.ml.v1.InferenceService/Embed")
                .count()
                == 2
        })
        .await;
    println!(
        "span tree of one REST embeddings request:\n{}",
        span_tree(&embed)
    );
    let root = embed
        .iter()
        .find(|s| s.name == "POST /v1/embeddings")
        .unwrap_or_else(|| panic!("no API server span:\n{}", span_tree(&embed)));
    assert_eq!(root.kind, "server");
    assert_eq!(
        root.parent_span_id.as_deref(),
        Some(browser_span),
        "the API continues the browser's trace"
    );
    assert_eq!(root.attribute("http.route"), Some("/v1/embeddings"));
    assert_eq!(root.attribute("http.response.status_code"), Some("200"));
    child(&embed, root, "auth", "internal");
    let client = child(
        &embed,
        root,
        "strata.ml.v1.InferenceService/Embed",
        "client",
    );
    let server = child(
        &embed,
        client,
        "strata.ml.v1.InferenceService/Embed",
        "server",
    );
    assert_eq!(server.attribute("rpc.grpc.status_code"), Some("0"));
    child(&embed, server, "model.load", "internal");
    child(&embed, server, "inference.queue_wait", "internal");
    child(&embed, server, "inference.batch_formation", "internal");
    let forward = child(&embed, server, "inference.forward", "internal");
    assert_eq!(forward.attribute("batch_size"), Some("2"));
    assert!(
        embed.iter().all(|s| s.trace_id == embed_trace),
        "one trace id"
    );

    let train = receiver
        .wait_for_trace(train_trace, wait, |s| {
            has(s, &["training.job", "training.epoch"])
        })
        .await;
    println!(
        "span tree of creating a training job:\n{}",
        span_tree(&train)
    );
    let root = train
        .iter()
        .find(|s| s.name == "POST /v1/training-jobs")
        .unwrap_or_else(|| panic!("no API server span:\n{}", span_tree(&train)));
    assert_eq!(root.parent_span_id.as_deref(), Some(browser_span));
    let client = child(
        &train,
        root,
        "strata.ml.v1.TrainingService/CreateTrainingJob",
        "client",
    );
    let server = child(
        &train,
        client,
        "strata.ml.v1.TrainingService/CreateTrainingJob",
        "server",
    );
    let job_span = child(&train, server, "training.job", "internal");
    assert_eq!(job_span.attribute("outcome"), Some("succeeded"));
    let epochs = train
        .iter()
        .filter(|s| {
            s.name == "training.epoch"
                && s.parent_span_id.as_deref() == Some(job_span.span_id.as_str())
        })
        .count();
    assert_eq!(epochs, 2, "one span per epoch:\n{}", span_tree(&train));

    let upload = receiver
        .wait_for_trace(upload_trace, wait, |s| has(s, &["dataset.validate"]))
        .await;
    let server = upload
        .iter()
        .find(|s| s.name == "strata.ml.v1.DatasetService/UploadDataset" && s.kind == "server")
        .unwrap_or_else(|| panic!("no upload server span:\n{}", span_tree(&upload)));
    child(&upload, server, "dataset.validate", "internal");

    // A chat completion, so the generation series exist too.
    common::import_smollm2(ml.addr, "smollm2").await;
    let chat = http
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(&token)
        .json(&json!({
            "model": "smollm2",
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 2
        }))
        .send()
        .await
        .expect("chat");
    assert_eq!(chat.status(), 200, "{:?}", chat.text().await);

    // Every kind of request has run once, so every labelled series exists: the dashboard and the
    // alerts may name only what the two metrics ports now expose (issue 22: CI fails otherwise).
    let mut exposition = String::new();
    for server in [&api, &ml] {
        let addr = server.metrics_addr.expect("metrics address");
        let text = http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("exposition");
        exposition.push_str(&text);
    }
    check_monitoring_names(&exposition);

    api.stop().await;
    ml.stop().await;
}

/// Metrics the dashboard and alerts read from other exporters: Prometheus itself (`up`),
/// kube-state-metrics and NVIDIA's dcgm-exporter (GPU utilisation and memory).
const EXTERNAL_METRICS: &[&str] = &[
    "up",
    "kube_deployment_status_replicas_available",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
];

/// Fails when a dashboard panel or alert rule names a metric that is neither in `exposition`,
/// nor recorded by the rules themselves, nor one of [`EXTERNAL_METRICS`].
fn check_monitoring_names(exposition: &str) {
    use std::collections::BTreeSet;
    let exported = exported_metrics(exposition);
    let missing: Vec<&str> = strata_runtime::metrics::ALL
        .iter()
        .copied()
        .filter(|n| !exported.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "strata-runtime names metrics the services did not export after the whole flow: {missing:?}"
    );

    let monitoring = repo_file("infra/k8s/components/monitoring");
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(monitoring.join("dashboards/strata.json")).expect("dashboard"),
    )
    .expect("dashboard JSON");
    let mut exprs = Vec::new();
    json_exprs(&dashboard, &mut exprs);
    let panel_exprs = exprs.len();
    let (rules, recorded) =
        rule_exprs(&std::fs::read_to_string(monitoring.join("alerts.yaml")).expect("alerts"));
    assert!(
        panel_exprs >= 10 && rules.len() >= 8,
        "the parsers found the queries"
    );
    exprs.extend(rules);
    let mut unknown = BTreeSet::new();
    for expr in &exprs {
        for name in promql_metrics(expr) {
            if !exported.contains(&name)
                && !recorded.contains(&name)
                && !EXTERNAL_METRICS.contains(&name.as_str())
            {
                unknown.insert(format!("{name} (in `{}`)", expr.trim()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "the dashboard or alerts name metrics the services do not export:\n{}",
        unknown.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The series names of a Prometheus text exposition: each `# TYPE` name, and for histograms and
/// summaries their `_bucket`, `_sum` and `_count` series.
fn exported_metrics(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (words.next(), words.next(), words.next(), words.next())
        {
            names.insert(name.to_owned());
            if kind == "histogram" || kind == "summary" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
        }
    }
    names
}

/// Every `expr` string in a Grafana dashboard.
fn json_exprs(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(expr)) = map.get("expr") {
                out.push(expr.clone());
            }
            map.values().for_each(|v| json_exprs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| json_exprs(v, out)),
        _ => {}
    }
}

/// The `expr:` values (one line, or a `|` block) and the `record:` names of a rule file.
fn rule_exprs(yaml: &str) -> (Vec<String>, std::collections::BTreeSet<String>) {
    let lines: Vec<&str> = yaml.lines().collect();
    let (mut exprs, mut recorded) = (Vec::new(), std::collections::BTreeSet::new());
    for (i, line) in lines.iter().enumerate() {
        let body = line.trim_start().trim_start_matches("- ");
        let indent = line.len() - body.len();
        if let Some(name) = body.strip_prefix("record:") {
            recorded.insert(name.trim().to_owned());
        } else if let Some(value) = body.strip_prefix("expr:") {
            let value = value.trim();
            if value.starts_with('|') || value.starts_with('>') {
                let block: Vec<&str> = lines[i + 1..]
                    .iter()
                    .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                    .copied()
                    .collect();
                exprs.push(block.join("\n"));
            } else {
                exprs.push(value.trim_matches(|c| c == '\'' || c == '"').to_owned());
            }
        }
    }
    (exprs, recorded)
}

/// The metric names a PromQL expression reads: identifiers outside label matchers, ranges and
/// strings that are not functions, keywords, or label lists of `by (...)` and the like.
fn promql_metrics(expr: &str) -> std::collections::BTreeSet<String> {
    // Aggregations may be followed by `by (...)` instead of their argument, so they are named.
    const KEYWORDS: &[&str] = &[
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "inf",
        "nan",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ];
    const LABEL_LISTS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    // Strings, label matchers and ranges out first: they hold label values and durations.
    let mut plain = String::new();
    let mut closing = None;
    for c in expr.chars() {
        match (closing, c) {
            (Some(end), c) if c == end => closing = None,
            (Some(_), _) => {}
            (None, '"') => closing = Some('"'),
            (None, '\'') => closing = Some('\''),
            (None, '{') => closing = Some('}'),
            (None, '[') => closing = Some(']'),
            (None, c) => plain.push(c),
        }
    }
    let chars: Vec<char> = plain.chars().collect();
    let mut names = std::collections::BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '$' {
            // A number or duration (1e3, 0.05, 5m), or a Grafana variable.
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "._".contains(chars[i])) {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let call = chars.get(next) == Some(&'(');
            if call && LABEL_LISTS.contains(&word.as_str()) {
                // Skip the label list itself.
                i = next;
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
            } else if !call
                && !KEYWORDS.contains(&word.to_lowercase().as_str())
                && !LABEL_LISTS.contains(&word.as_str())
            {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn the_monitoring_name_checks_find_what_they_look_for() {
    // Otherwise the check above would pass on any dashboard by finding no names at all.
    let names = promql_metrics(
        r#"histogram_quantile(0.95, sum by (le, kind) (rate(strata_bogus_seconds_bucket{le="1", x=~"a|b"}[$__rate_interval]))) / on (pod) group_left up > 2 * 1e3 and strata:ratio:rate5m offset 5m"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["strata:ratio:rate5m", "strata_bogus_seconds_bucket", "up"]
    );
    let exported = exported_metrics(
        "# HELP strata_x_seconds x\n# TYPE strata_x_seconds histogram\nstrata_x_seconds_bucket{le=\"1\"} 0\n# TYPE strata_y gauge\nstrata_y 1\n",
    );
    assert_eq!(
        exported.into_iter().collect::<Vec<_>>(),
        [
            "strata_x_seconds",
            "strata_x_seconds_bucket",
            "strata_x_seconds_count",
            "strata_x_seconds_sum",
            "strata_y"
        ]
    );
    let (exprs, recorded) = rule_exprs(
        "  - record: a:b\n    expr: |\n      sum(\n        x)\n  - alert: A\n    expr: y > 1\n    for: 5m\n",
    );
    assert_eq!(exprs, ["      sum(\n        x)", "y > 1"]);
    assert_eq!(recorded.into_iter().collect::<Vec<_>>(), ["a:b"]);
}

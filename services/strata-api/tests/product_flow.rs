//! The whole product flow over HTTP against the real API and the real ML service on loopback:
//! token → upload → train → SSE progress to completion → promote → predict → embeddings.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{ADMIN_PASSWORD, start_api, start_ml, temp_dir};
use serde_json::{Value, json};

/// A file of the repository, found from Cargo's manifest dir or from Bazel's runfiles root.
fn repo_file(path: &str) -> PathBuf {
    let cargo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    if cargo.exists() {
        cargo
    } else {
        PathBuf::from(path)
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_upload_train_watch_promote_predict_embed() {
    let (ml_dir, api_dir) = (temp_dir(), temp_dir());
    let ml = start_ml(ml_dir.path()).await;
    let api = start_api(ml.addr, api_dir.path()).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();

    let token: Value = http
        .post(format!("{base}/v1/auth/token"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    let token = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();

    // Upload the digits sample as multipart: metadata first, then the file.
    let bytes =
        std::fs::read(repo_file("libs/strata-data/samples/digits.parquet")).expect("digits");
    let form = reqwest::multipart::Form::new()
        .text(
            "metadata",
            json!({"name": "digits", "schema": {"label_column": "label"}}).to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("digits.parquet"),
        );
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
            "hyperparameters": {"epochs": 6, "hidden_layers": [64], "learning_rate": 0.005, "seed": 7}
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
    let minilm = std::env::var_os("STRATA_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_file(".cache/assets/all-MiniLM-L6-v2"));
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

//! Chat and text completions through the real stack: the ML service with SmolLM2 (Q4_1 GGUF)
//! imported as a text-generator, the web API in front, an HTTP client as OpenAI's would call it.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};

const FRANCE: &str = "What is the capital of France? Answer in one sentence.";

fn chat(model: &str, question: &str, extra: Value) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "temperature": 0,
        "max_tokens": 24,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

/// The `data:` payloads of an SSE body, in order.
fn sse_data(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.trim_start().to_owned())
        .collect()
}

/// Joins a chat stream's content deltas; returns the text and the finish reason.
fn streamed_text(body: &str) -> (String, String) {
    let data = sse_data(body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{body}");
    let mut text = String::new();
    let mut finish = String::new();
    for d in &data[..data.len() - 1] {
        let chunk: Value = serde_json::from_str(d).expect("chunk JSON");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if let Some(choice) = chunk["choices"].get(0) {
            text.push_str(choice["delta"]["content"].as_str().unwrap_or(""));
            if let Some(f) = choice["finish_reason"].as_str() {
                finish = f.to_owned();
            }
        }
    }
    (text, finish)
}

async fn metric(http: &reqwest::Client, addr: std::net::SocketAddr, name: &str) -> f64 {
    let text = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chat_models_answer_over_rest_alone_streamed_and_sixteen_at_once() {
    let dir = temp_dir();
    let ml = start_ml(&dir.path().join("ml")).await;
    let api = start_api(ml.addr, dir.path()).await;
    let http = http();
    let base = format!("http://{}", api.addr);
    let token = sign_in(&http, &base, ADMIN_PASSWORD).await;

    import_smollm2(ml.addr, "smollm2").await;

    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    // One JSON answer.
    let r = post("/v1/chat/completions", chat("smollm2", FRANCE, json!({})))
        .await
        .expect("chat");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "smollm2@v1");
    let answer = body["choices"][0]["message"]["content"]
        .as_str()
        .expect("content")
        .to_owned();
    assert_eq!(answer.trim(), "The capital of France is Paris.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let usage = &body["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().expect("prompt")
                + usage["completion_tokens"].as_u64().expect("completion")
        )
    );

    // The same answer streamed, with usage at the end.
    let r = post(
        "/v1/chat/completions",
        chat(
            "smollm2",
            FRANCE,
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ),
    )
    .await
    .expect("stream");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
    let body = r.text().await.expect("SSE body");
    let (text, finish) = streamed_text(&body);
    assert_eq!(text, answer);
    assert_eq!(finish, "stop");
    let data = sse_data(&body);
    let usage_chunk: Value = serde_json::from_str(&data[data.len() - 2]).expect("usage chunk");
    assert_eq!(usage_chunk["usage"], *usage);

    // A raw prompt, cut by max_tokens; a stop string ends before it.
    let r = post(
        "/v1/completions",
        json!({"model": "smollm2", "prompt": "Once upon a time", "max_tokens": 5, "temperature": 0}),
    )
    .await
    .expect("completion");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 5);
    let r = post(
        "/v1/chat/completions",
        chat("smollm2", FRANCE, json!({"stop": " Paris"})),
    )
    .await
    .expect("stop");
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .map(str::trim),
        Some("The capital of France is")
    );

    // Bad requests are problem+json 4xx, never a stream that fails.
    for (body, status) in [
        (chat("no-such-model", FRANCE, json!({})), 404),
        (chat("smollm2", FRANCE, json!({"max_tokens": 9000})), 400),
        (chat("smollm2", FRANCE, json!({"temperature": 3})), 400),
        (chat("smollm2", FRANCE, json!({"n": 2})), 400),
        (
            chat(
                "smollm2",
                FRANCE,
                json!({"stop": ["a", "b", "c", "d", "e"]}),
            ),
            400,
        ),
        (json!({"model": "smollm2", "messages": []}), 400),
    ] {
        let r = post("/v1/chat/completions", body.clone())
            .await
            .expect("bad");
        assert_eq!(r.status(), status, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    let r = http
        .post(format!("{base}/v1/chat/completions"))
        .json(&chat("smollm2", FRANCE, json!({})))
        .send()
        .await
        .expect("anonymous");
    assert_eq!(r.status(), 401);

    // Sixteen streams at once: each answer equals its own greedy answer alone.
    let questions: Vec<String> = (0..16)
        .map(|i| {
            format!(
                "What is {} plus {}? Answer with the number.",
                i + 2,
                2 * i + 1
            )
        })
        .collect();
    let mut alone = Vec::new();
    for q in &questions {
        let body: Value = post("/v1/chat/completions", chat("smollm2", q, json!({})))
            .await
            .expect("alone")
            .json()
            .await
            .expect("JSON");
        alone.push(
            body["choices"][0]["message"]["content"]
                .as_str()
                .expect("content")
                .to_owned(),
        );
    }
    let together = futures_util::future::join_all(questions.iter().map(|q| async {
        let r = post(
            "/v1/chat/completions",
            chat("smollm2", q, json!({"stream": true})),
        )
        .await
        .expect("stream");
        assert_eq!(r.status(), 200);
        streamed_text(&r.text().await.expect("body")).0
    }))
    .await;
    assert_eq!(
        together, alone,
        "batched streams decode as they would alone"
    );

    // A client that goes away mid-stream frees its slot at the next step.
    let ml_metrics = ml.metrics_addr.expect("ml metrics");
    let r = post(
        "/v1/chat/completions",
        chat(
            "smollm2",
            "Write a very long story about a dragon.",
            json!({"stream": true, "max_tokens": 2000}),
        ),
    )
    .await
    .expect("long stream");
    let mut body = r.bytes_stream();
    let mut seen = 0;
    while seen < 3 {
        body.next().await.expect("a chunk").expect("bytes");
        seen += 1;
    }
    assert_eq!(
        metric(
            &http,
            ml_metrics,
            "strata_generation_sequences{model=\"smollm2\",state=\"active\"}"
        )
        .await,
        1.0
    );
    drop(body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let active = metric(
            &http,
            ml_metrics,
            "strata_generation_sequences{model=\"smollm2\",state=\"active\"}",
        )
        .await;
        if active == 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot is still taken"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    api.stop().await;
    ml.stop().await;
}

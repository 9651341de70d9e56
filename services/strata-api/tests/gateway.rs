//! The thin slice end to end: a real HTTP client calls the real API, which calls the real ML
//! service over gRPC on loopback, and the answer comes back as JSON.

mod common;

use common::{dead_addr, start_api, start_api_at, start_ml, start_ml_with, temp_dir, test_pki};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn system_info_travels_http_to_grpc_and_back() {
    let (ml_dir, api_dir) = (temp_dir(), temp_dir());
    let ml = start_ml(ml_dir.path()).await;
    let api = start_api(ml.addr, api_dir.path()).await;
    let http = common::http();

    let response = http
        .get(format!("http://{}/v1/system", api.addr))
        .send()
        .await
        .expect("GET /v1/system");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["api_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        body["ml"]["service"], "strata-ml",
        "the answer comes from the ML service"
    );
    assert_eq!(body["ml"]["device"], "cpu");
    assert_eq!(body["ml"]["cuda_compiled"], false);
    assert_eq!(body["ml"]["device_note"], "", "cpu was asked for and used");
    assert!(body["ml"]["uptime_seconds"].is_u64());

    let ready = http
        .get(format!("http://{}/readyz", api.addr))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.expect("text"), "ready\ndevice: cpu\n");

    // Both services count what just happened, labelled by route / RPC, on their internal
    // metrics port only: the public port (the one the Ingress routes) answers 404 problem+json.
    let public = http
        .get(format!("http://{}/metrics", api.addr))
        .send()
        .await
        .expect("GET api public /metrics");
    assert_eq!(public.status(), 404, "no metrics on the public port");
    let public = public.text().await.expect("404 body");
    assert!(!public.contains("strata_http_requests_total"), "{public}");
    let api_metrics_addr = api.metrics_addr.expect("api metrics address");
    let api_metrics = http
        .get(format!("http://{api_metrics_addr}/metrics"))
        .send()
        .await
        .expect("GET api /metrics");
    assert_eq!(api_metrics.status(), 200);
    let api_metrics = api_metrics.text().await.expect("metrics text");
    assert!(
        api_metrics.contains(
            r#"strata_http_requests_total{method="GET",route="/v1/system",status="200"}"#
        ),
        "{api_metrics}"
    );
    let ml_metrics_addr = ml.metrics_addr.expect("ml metrics address");
    let ml_metrics = http
        .get(format!("http://{ml_metrics_addr}/metrics"))
        .send()
        .await
        .expect("GET ml /metrics");
    let ml_metrics = ml_metrics.text().await.expect("metrics text");
    assert!(
        ml_metrics.contains(r#"strata_grpc_requests_total{service="strata.ml.v1.SystemService",method="GetSystemInfo",code="Ok"}"#),
        "{ml_metrics}"
    );

    api.stop().await;
    ml.stop().await;
}

/// `--device auto` on a machine (or build) without CUDA serves on the CPU, and both the system
/// info and every readiness probe say why, so the fallback is never silent.
#[tokio::test]
async fn auto_device_fallback_shows_in_system_info_and_readiness() {
    let (ml_dir, api_dir) = (temp_dir(), temp_dir());
    let ml = start_ml_with(ml_dir.path(), &["--device", "auto"]).await;
    let api = start_api(ml.addr, api_dir.path()).await;
    let http = common::http();

    let body: Value = http
        .get(format!("http://{}/v1/system", api.addr))
        .send()
        .await
        .expect("GET /v1/system")
        .json()
        .await
        .expect("JSON body");
    assert_eq!(body["ml"]["device"], "cpu");
    let note = body["ml"]["device_note"].as_str().expect("device_note");
    assert!(
        note.starts_with("auto: ") && note.ends_with("; using cpu"),
        "{note}"
    );

    let ready = http
        .get(format!("http://{}/readyz", api.addr))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.text().await.expect("text"),
        format!("ready\ndevice: cpu\ndevice_note: {note}\n")
    );

    api.stop().await;
    ml.stop().await;
}

#[tokio::test]
async fn ml_service_down_is_503_problem_with_retry_after() {
    let api_dir = temp_dir();
    let api = start_api(dead_addr().await, api_dir.path()).await;
    let http = common::http();

    for path in ["/v1/system", "/readyz"] {
        let response = http
            .get(format!("http://{}{path}", api.addr))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 503, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert!(response.headers().contains_key("retry-after"), "{path}");
        let problem: Value = response.json().await.expect("problem body");
        assert_eq!(
            problem["type"], "https://strata.dev/problems/ml-unavailable",
            "{path}"
        );
        assert_eq!(problem["status"], 503, "{path}");
    }

    let live = http
        .get(format!("http://{}/healthz", api.addr))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(
        live.status(),
        200,
        "liveness never depends on the ML service"
    );
    api.stop().await;
}

#[tokio::test]
async fn reaches_an_ml_service_serving_tls_through_its_ca_only() {
    let (ml_dir, api_dir, pki_dir) = (temp_dir(), temp_dir(), temp_dir());
    let pki = test_pki(&pki_dir.path().join("ml"));
    let other = test_pki(&pki_dir.path().join("other"));
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 temp dir").to_owned();
    let ml = start_ml_with(
        ml_dir.path(),
        &["--tls-cert", &path(&pki.cert), "--tls-key", &path(&pki.key)],
    )
    .await;
    let https = format!("https://127.0.0.1:{}", ml.addr.port());
    let http = common::http();
    let ready = |api: std::net::SocketAddr| {
        let http = http.clone();
        async move {
            http.get(format!("http://{api}/readyz"))
                .send()
                .await
                .expect("GET /readyz")
                .status()
        }
    };

    let api = start_api_at(
        &https,
        api_dir.path(),
        &["--dev", "--ml-ca", &path(&pki.ca)],
    )
    .await;
    assert_eq!(ready(api.addr).await, 200, "TLS with the ML service's CA");
    let system: Value = http
        .get(format!("http://{}/v1/system", api.addr))
        .send()
        .await
        .expect("GET /v1/system")
        .json()
        .await
        .expect("JSON body");
    assert_eq!(system["ml"]["service"], "strata-ml");
    api.stop().await;

    // Trusting another CA, or speaking plaintext to the TLS port, is never ready.
    let wrong_ca = start_api_at(
        &https,
        api_dir.path(),
        &["--dev", "--ml-ca", &path(&other.ca)],
    )
    .await;
    assert_eq!(
        ready(wrong_ca.addr).await,
        503,
        "a certificate from another CA"
    );
    wrong_ca.stop().await;
    let plaintext = start_api_at(&format!("http://{}", ml.addr), api_dir.path(), &["--dev"]).await;
    assert_eq!(ready(plaintext.addr).await, 503, "plaintext to a TLS port");
    plaintext.stop().await;

    // A CA for a plaintext URL is a configuration mistake, refused at start.
    let refused = strata_api::MlClient::connect_lazy(
        &format!("http://{}", ml.addr),
        std::time::Duration::from_secs(1),
        Some(&pki.ca),
        None,
    );
    assert!(matches!(
        refused,
        Err(strata_api::MlClientError::CaWithoutHttps(_))
    ));
    ml.stop().await;

    // Mutual TLS: an ML service that asks for client certificates serves only an API that
    // presents one its client CA signed.
    let mtls_dir = temp_dir();
    let ml = start_ml_with(
        mtls_dir.path(),
        &[
            "--tls-cert",
            &path(&pki.cert),
            "--tls-key",
            &path(&pki.key),
            "--tls-client-ca",
            &path(&pki.ca),
        ],
    )
    .await;
    let https = format!("https://127.0.0.1:{}", ml.addr.port());
    let anonymous = start_api_at(
        &https,
        api_dir.path(),
        &["--dev", "--ml-ca", &path(&pki.ca)],
    )
    .await;
    assert_eq!(ready(anonymous.addr).await, 503, "no client certificate");
    anonymous.stop().await;
    // The API trusting the ML service's CA and presenting `pair`'s client certificate.
    let with_client_cert = |pair: &strata_testkit::TestPki| {
        let args = [
            "--dev".to_owned(),
            "--ml-ca".to_owned(),
            path(&pki.ca),
            "--ml-client-cert".to_owned(),
            path(&pair.client_cert),
            "--ml-client-key".to_owned(),
            path(&pair.client_key),
        ];
        let (https, dir) = (https.clone(), api_dir.path().to_owned());
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            start_api_at(&https, &dir, &args).await
        }
    };
    let foreign = with_client_cert(&other).await;
    assert_eq!(
        ready(foreign.addr).await,
        503,
        "a client certificate of another CA"
    );
    foreign.stop().await;
    let api = with_client_cert(&pki).await;
    assert_eq!(ready(api.addr).await, 200, "mutual TLS");
    api.stop().await;
    ml.stop().await;
}

#[tokio::test]
async fn unknown_route_is_404_problem_and_docs_are_served() {
    let api_dir = temp_dir();
    let api = start_api(dead_addr().await, api_dir.path()).await;
    let http = common::http();

    let missing = http
        .get(format!("http://{}/v1/nope", api.addr))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    let spec: Value = http
        .get(format!("http://{}/openapi.json", api.addr))
        .send()
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("spec is JSON");
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1: {}",
        spec["openapi"]
    );
    assert!(spec["paths"]["/v1/system"]["get"].is_object());

    let docs = http
        .get(format!("http://{}/docs/", api.addr))
        .send()
        .await
        .expect("GET /docs/");
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.expect("docs html").contains("swagger"),
        "docs page is Swagger UI"
    );
    api.stop().await;
}

#[tokio::test]
async fn callers_over_their_rate_limit_get_429_with_retry_after() {
    let api_dir = temp_dir();
    let api = common::start_api_with(
        dead_addr().await,
        api_dir.path(),
        &[
            "--dev",
            "--rate-limit-per-second",
            "1",
            "--rate-limit-burst",
            "4",
        ],
    )
    .await;
    let http = common::http();
    // Signing in is an anonymous request: it takes one of the address's four.
    let token = common::sign_in(
        &http,
        &format!("http://{}", api.addr),
        common::ADMIN_PASSWORD,
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = http
            .get(format!("http://{}/healthz", api.addr))
            .send()
            .await
            .expect("GET /healthz");
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        &statuses[..3],
        &[200, 200, 200],
        "the burst passes: {statuses:?}"
    );
    assert!(
        statuses[3..].contains(&429),
        "then the limit bites: {statuses:?}"
    );

    // A signed-in principal has its own budget; an invented token does not buy one.
    let other = http
        .get(format!("http://{}/healthz", api.addr))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(other.status(), 200);
    let junk = http
        .get(format!("http://{}/healthz", api.addr))
        .bearer_auth("someone-else")
        .send()
        .await
        .expect("request");
    assert_eq!(junk.status(), 429);
    api.stop().await;
}

#[tokio::test]
async fn cors_only_for_configured_origins_and_responses_are_compressed() {
    let api_dir = temp_dir();
    let api = common::start_api_with(
        dead_addr().await,
        api_dir.path(),
        &["--dev", "--cors-origins", "https://app.example.com"],
    )
    .await;
    let http = common::http();
    let preflight = |origin: &'static str| {
        http.request(
            reqwest::Method::OPTIONS,
            format!("http://{}/v1/system", api.addr),
        )
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .send()
    };
    let allowed = preflight("https://app.example.com")
        .await
        .expect("preflight");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example.com")
        .await
        .expect("preflight");
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    // A browser client resuming an event stream (the mobile app's web build) may send
    // Last-Event-ID from another origin.
    let resume = http
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/v1/training-jobs/j/events", api.addr),
        )
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,last-event-id",
        )
        .send()
        .await
        .expect("preflight with Last-Event-ID");
    let allowed_headers = resume.headers()["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(
        allowed_headers.contains("last-event-id"),
        "{allowed_headers}"
    );

    let spec = http
        .get(format!("http://{}/openapi.json", api.addr))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(spec.headers()["content-encoding"], "gzip");
    api.stop().await;
}

#[tokio::test]
async fn rules_the_spec_states_are_enforced_with_problems_before_the_ml_service() {
    let api_dir = temp_dir();
    // Nothing listens behind it: every answer below comes from the API itself.
    let api = start_api(dead_addr().await, api_dir.path()).await;
    let base = format!("http://{}", api.addr);
    let http = common::http();
    let token = common::sign_in(&http, &base, common::ADMIN_PASSWORD).await;
    let token = token.as_str();
    let send = |method: &str, path: &str| {
        http.request(method.parse().expect("method"), format!("{base}{path}"))
            .bearer_auth(token)
    };
    let problem = |response: &reqwest::Response, status: u16| {
        assert_eq!(response.status(), status, "{}", response.url());
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{}",
            response.url()
        );
    };
    let allow = |response: &reqwest::Response| {
        response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };

    // `{id}:action` paths share a route with `{id}`; each still has only its own methods.
    for (method, path, allowed) in [
        ("POST", "/v1/models/digits", "GET,HEAD"),
        ("GET", "/v1/models/digits:predict", "POST"),
        ("POST", "/v1/training-jobs/job-1", "GET,HEAD"),
        ("GET", "/v1/training-jobs/job-1:cancel", "POST"),
    ] {
        let response = send(method, path).send().await.expect("request");
        problem(&response, 405);
        assert_eq!(allow(&response), allowed, "{method} {path}");
    }
    let options = send("OPTIONS", "/v1/models/digits:predict")
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(allow(&options), "POST,OPTIONS");
    // The framework's own 405 is a problem too.
    let patch = send("PATCH", "/v1/datasets").send().await.expect("PATCH");
    problem(&patch, 405);
    assert!(allow(&patch).contains("GET"), "{}", allow(&patch));

    for path in [
        "/v1/datasets?page_size=0",
        "/v1/models?page_size=501",
        "/v1/training-jobs?page_size=100000",
    ] {
        problem(&send("GET", path).send().await.expect("list"), 400);
    }
    let bad_resume = send("GET", "/v1/training-jobs/job-1/events")
        .header("last-event-id", "-1")
        .send()
        .await
        .expect("events");
    problem(&bad_resume, 400);
    // Kind parameters nested deeper than a gRPC Struct carries would fail inside the ML service.
    let mut deep = serde_json::json!(1);
    for _ in 0..40 {
        deep = serde_json::json!({ "a": deep });
    }
    for (hyperparameters, parameters) in [
        (serde_json::json!({"epochs": 0}), serde_json::json!({})),
        (serde_json::json!({"batch_size": 0}), serde_json::json!({})),
        (
            serde_json::json!({"learning_rate": 0.0}),
            serde_json::json!({}),
        ),
        (
            serde_json::json!({"checkpoint_every_steps": 0}),
            serde_json::json!({}),
        ),
        (
            serde_json::json!({"weight_decay": -1.0}),
            serde_json::json!({}),
        ),
        (
            serde_json::json!({"test_fraction": 1.0}),
            serde_json::json!({}),
        ),
        (serde_json::json!({}), deep),
    ] {
        let body = serde_json::json!({
            "model_name": "digits", "kind": "mlp-classifier", "dataset_id": "ds-1",
            "hyperparameters": hyperparameters, "parameters": parameters,
        });
        let response = send("POST", "/v1/training-jobs")
            .json(&body)
            .send()
            .await
            .expect("create");
        problem(&response, 400);
    }
    api.stop().await;
}

/// Upload limits answer 413 wherever they bite: the API's body limit, the `metadata` part's own
/// limit, and the ML service's limit (its RESOURCE_EXHAUSTED is a too-large body here, not a
/// rate limit); a `file` part sent first is spooled in the configured directory, not /tmp.
#[tokio::test]
async fn upload_limits_are_413_wherever_they_bite() {
    let (ml_dir, api_dir, small_dir, spool) = (temp_dir(), temp_dir(), temp_dir(), temp_dir());
    let ml = start_ml_with(ml_dir.path(), &["--max-upload-bytes", "50000"]).await;
    let spool_dir = spool.path().to_str().expect("utf-8").to_owned();
    let api = common::start_api_with(
        ml.addr,
        api_dir.path(),
        &["--dev", "--upload-spool-dir", &spool_dir],
    )
    .await;
    let small_api = common::start_api_with(
        ml.addr,
        small_dir.path(),
        &["--dev", "--max-upload-bytes", "60000"],
    )
    .await;
    let http = common::http();
    let digits = std::fs::read(strata_testkit::repo_path(
        "libs/strata-data/samples/digits.parquet",
    ))
    .expect("digits sample");
    let metadata = serde_json::json!({"name": "digits", "schema": {"label_column": "label"}});
    let upload = |addr: std::net::SocketAddr, form: reqwest::multipart::Form| {
        let http = http.clone();
        async move {
            let token =
                common::sign_in(&http, &format!("http://{addr}"), common::ADMIN_PASSWORD).await;
            let response = http
                .post(format!("http://{addr}/v1/datasets"))
                .bearer_auth(&token)
                .multipart(form)
                .send()
                .await
                .expect("upload");
            let status = response.status().as_u16();
            let problem: Value = response.json().await.unwrap_or(Value::Null);
            (status, problem)
        }
    };
    let form = |metadata: String, first_file: bool| {
        let file = reqwest::multipart::Part::bytes(digits.clone()).file_name("digits.parquet");
        let form = reqwest::multipart::Form::new();
        if first_file {
            form.part("file", file).text("metadata", metadata)
        } else {
            form.text("metadata", metadata).part("file", file)
        }
    };
    // Over the ML service's limit, metadata first and file first (spooled).
    for first_file in [false, true] {
        let (status, problem) = upload(api.addr, form(metadata.to_string(), first_file)).await;
        assert_eq!(status, 413, "file first: {first_file}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap_or("").contains("50000"),
            "{problem}"
        );
    }
    assert_eq!(
        std::fs::read_dir(spool.path()).expect("spool dir").count(),
        0,
        "the spooled file is gone with its request"
    );
    // Over the API's own limit.
    let (status, problem) = upload(small_api.addr, form(metadata.to_string(), false)).await;
    assert_eq!(status, 413, "{problem}");
    // A metadata part beyond its limit, however small the file.
    let padded = serde_json::json!({
        "name": "digits",
        "description": "x".repeat(100 * 1024),
        "schema": {"label_column": "label"}
    });
    let (status, problem) = upload(api.addr, form(padded.to_string(), false)).await;
    assert_eq!(status, 413, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("metadata"),
        "{problem}"
    );
    api.stop().await;
    small_api.stop().await;
    ml.stop().await;
}

/// An ML service that verifies callers answers the API that signs for it — for the principal of
/// the request, or for the API itself on anonymous routes — and not an API without the key,
/// whose clients then get a gateway error rather than a 401 about their own token.
#[tokio::test]
async fn the_api_signs_caller_tokens_the_ml_service_verifies() {
    const KEY: &str = "c1:caller-key-shared-by-api-and-ml-0123456789";
    let (ml_dir, api_dir, bare_dir) = (temp_dir(), temp_dir(), temp_dir());
    let ml = start_ml_with(ml_dir.path(), &["--caller-keys", KEY]).await;
    let api =
        common::start_api_with(ml.addr, api_dir.path(), &["--dev", "--ml-caller-key", KEY]).await;
    let bare = common::start_api_with(ml.addr, bare_dir.path(), &["--dev"]).await;
    let http = common::http();
    for (server, expected) in [(&api, 200), (&bare, 502)] {
        let token = common::sign_in(
            &http,
            &format!("http://{}", server.addr),
            common::ADMIN_PASSWORD,
        )
        .await;
        let listed = http
            .get(format!("http://{}/v1/datasets", server.addr))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list datasets");
        assert_eq!(listed.status(), expected);
        let system = http
            .get(format!("http://{}/v1/system", server.addr))
            .send()
            .await
            .expect("system");
        assert_eq!(system.status(), expected, "anonymous: the API's own token");
    }
    api.stop().await;
    bare.stop().await;
    ml.stop().await;
}

/// The API's accepted connections run without Nagle's algorithm (read back with getsockopt).
#[tokio::test]
async fn accepted_connections_have_tcp_nodelay() {
    use axum::serve::Listener;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut listener = strata_api::nodelay(listener);
    let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (accepted, _) = listener.accept().await;
    assert!(accepted.nodelay().expect("getsockopt TCP_NODELAY"));
}

/// Reads an event stream until it ends (or `limit` passes) and returns its `event:` names with
/// their data.
async fn read_events(response: reqwest::Response, limit: Duration) -> Vec<(String, String)> {
    let body = tokio::time::timeout(limit, response.text())
        .await
        .expect("the stream ends in time")
        .expect("stream body");
    let mut events = Vec::new();
    for block in body.split("\n\n") {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("event: ").or(l.strip_prefix("event:")));
        let data = block
            .lines()
            .find_map(|l| l.strip_prefix("data: ").or(l.strip_prefix("data:")));
        if let (Some(name), Some(data)) = (name, data) {
            events.push((name.trim().to_owned(), data.to_owned()));
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped_per_caller_and_end_when_their_credentials_are_revoked() {
    let (ml_dir, api_dir) = (common::temp_dir(), common::temp_dir());
    let ml = common::start_ml(ml_dir.path()).await;
    let api = common::start_api_with(
        ml.addr,
        api_dir.path(),
        &[
            "--dev",
            "--max-event-streams-per-caller",
            "2",
            "--event-stream-recheck-secs",
            "1",
        ],
    )
    .await;
    let http = common::http();
    let base = format!("http://{}", api.addr);
    let admin = common::sign_in(&http, &base, common::ADMIN_PASSWORD).await;
    let digits = std::fs::read(strata_testkit::repo_path(
        "libs/strata-data/samples/digits.parquet",
    ))
    .expect("digits sample");
    let form = reqwest::multipart::Form::new()
        .text(
            "metadata",
            r#"{"name": "digits", "schema": {"label_column": "label"}}"#,
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(digits).file_name("digits.parquet"),
        );
    let dataset: Value = http
        .post(format!("{base}/v1/datasets"))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("dataset");
    // A job that runs for the whole test: its event stream stays open until something ends it.
    let job: Value = http
        .post(format!("{base}/v1/training-jobs"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({
            "model_name": "long",
            "kind": "mlp-classifier",
            "dataset_id": dataset["id"],
            "hyperparameters": {"epochs": 100000, "early_stopping_patience": 0},
        }))
        .send()
        .await
        .expect("create job")
        .json()
        .await
        .expect("job");
    let events_url = format!(
        "{base}/v1/training-jobs/{}/events",
        job["id"].as_str().expect("id")
    );

    let key: Value = http
        .post(format!("{base}/v1/auth/api-keys"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"name": "watcher", "role": "viewer"}))
        .send()
        .await
        .expect("create key")
        .json()
        .await
        .expect("key");
    let watcher =
        common::access_token(&http, &base, serde_json::json!({"api_key": key["api_key"]})).await;
    let open = |token: &str| http.get(&events_url).bearer_auth(token).send();

    // Two streams per caller; the third is 429 problem+json naming the flag, another caller's
    // is fine, and a closed stream gives its place back.
    let first = open(&watcher).await.expect("first stream");
    let second = open(&watcher).await.expect("second stream");
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open(&watcher).await.expect("third stream");
    assert_eq!(third.status(), 429);
    assert_eq!(third.headers()["content-type"], "application/problem+json");
    let problem: Value = third.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("--max-event-streams-per-caller"),
        "{problem}"
    );
    let admins = open(&admin).await.expect("another caller's stream");
    assert_eq!(admins.status(), 200);
    drop(second);
    let mut again = None;
    for _ in 0..50 {
        let response = open(&watcher).await.expect("stream");
        if response.status() == 200 {
            again = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = again.expect("the dropped stream's place comes back");

    // Removing the key ends both of its streams within a re-check: a 401 `error` event, then the
    // end of the stream. The admin's stream goes on.
    let removed = http
        .delete(format!("{base}/v1/auth/api-keys/watcher"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("delete key");
    assert_eq!(removed.status(), 204);
    for stream in [first, again] {
        let events = read_events(stream, Duration::from_secs(10)).await;
        let (name, data) = events.last().expect("events").clone();
        assert_eq!(name, "error", "{events:?}");
        let problem: Value = serde_json::from_str(&data).expect("problem JSON");
        assert_eq!(problem["status"], 401, "{problem}");
    }
    let mut admins = admins;
    let chunk = tokio::time::timeout(Duration::from_secs(5), admins.chunk())
        .await
        .expect("the admin's stream still delivers")
        .expect("chunk");
    assert!(chunk.is_some());

    http.post(format!("{}:cancel", events_url.trim_end_matches("/events")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("cancel");
    api.stop().await;
    ml.stop().await;
}

/// A JSON body over `--max-body-bytes` is 413 however it is framed: with a Content-Length the
/// limit layer answers, and chunked (no length known up front) it fails while it is buffered.
#[tokio::test]
async fn an_oversize_json_body_is_413_also_when_sent_chunked() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = temp_dir();
    let api = common::start_api_with(
        dead_addr().await,
        dir.path(),
        &["--dev", "--max-body-bytes", "1000"],
    )
    .await;
    let http = common::http();
    let base = format!("http://{}", api.addr);
    let token = common::sign_in(&http, &base, common::ADMIN_PASSWORD).await;
    let body = format!(
        r#"{{"name": "{}", "password": "x", "role": "viewer"}}"#,
        "n".repeat(5000)
    );
    let sized = http
        .post(format!("{base}/v1/auth/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("sized request");
    assert_eq!(sized.status(), 413);
    let mut socket = tokio::net::TcpStream::connect(api.addr)
        .await
        .expect("connect");
    let mut request = format!(
        "POST /v1/auth/users HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        api.addr
    );
    for piece in body.as_bytes().chunks(700) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            piece.len(),
            std::str::from_utf8(piece).expect("ascii")
        ));
    }
    request.push_str("0\r\n\r\n");
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    let _ = socket.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
    api.stop().await;
}

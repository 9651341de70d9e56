//! The `otlp-receiver` binary: it says where it listens, prints a span exported to it over
//! OTLP/gRPC as one JSON line, and exits when its standard input closes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

#[test]
fn prints_received_spans_as_json_lines_and_stops_with_its_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otlp-receiver"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start otlp-receiver");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a first line").expect("read");
    let endpoint = first
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("first line names the endpoint: {first}"))
        .to_owned();

    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", "strata-web")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![0x4b; 16],
                    span_id: vec![0x01; 8],
                    parent_span_id: vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7],
                    name: "proxy POST".into(),
                    kind: 3,
                    start_time_unix_nano: 1_000_000,
                    end_time_unix_nano: 3_500_000,
                    attributes: vec![string("url.path", "/v1/embeddings")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let mut client = TraceServiceClient::connect(endpoint)
                .await
                .expect("connect");
            client.export(request).await.expect("export");
        });

    let line = lines.next().expect("a span line").expect("read");
    let span: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(
        span,
        serde_json::json!({
            "service": "strata-web",
            "name": "proxy POST",
            "trace_id": "4b".repeat(16),
            "span_id": "01".repeat(8),
            "parent_span_id": "00f067aa0ba902b7",
            "kind": "client",
            "start_unix_nanos": 1_000_000,
            "end_unix_nanos": 3_500_000,
            "attributes": { "url.path": "/v1/embeddings" },
            "error": false,
        })
    );

    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "otlp-receiver outlived its stdin"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().expect("status").success());
}

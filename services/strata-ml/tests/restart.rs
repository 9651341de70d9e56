//! Crash safety: SIGKILL the real `strata-ml` binary while it trains, start it again on the same
//! data directory, and the job resumes from its last checkpoint and finishes; the dataset and
//! the model finished before the crash are intact (the store verifies every hash on read).

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::training_event::Event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_training_resumes_after_restart_and_nothing_is_corrupted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut server = spawn_binary(dir.path(), port);
    let mut c = Clients::connect(addr).await;

    let ds = upload_digits(&mut c).await;
    let done = create_job(&mut c, mlp_job("finished", &ds.id, 2)).await;
    let events = watch_to_end(&mut c, &done.id, 0).await;
    assert_eq!(
        events.last().and_then(final_state),
        Some(pb::JobState::Succeeded)
    );
    let before = c
        .models
        .get_model(pb::GetModelRequest {
            name: "finished".into(),
        })
        .await
        .expect("model")
        .into_inner();

    let req = checkpointing(mlp_job("resumed", &ds.id, 40), 15);
    let job = create_job(&mut c, req).await;
    let mut watch = watch_job(&mut c, &job.id).await;
    let mut checkpoint = 0;
    let mut last_seq = 0;
    while checkpoint == 0 {
        let e = watch
            .message()
            .await
            .expect("stream")
            .expect("job still running");
        last_seq = e.sequence;
        if let Some(Event::CheckpointStep(step)) = e.event {
            checkpoint = step;
        }
    }
    server.0.kill().expect("SIGKILL");
    server.0.wait().expect("reaped");
    drop(watch);

    let _server = spawn_binary(dir.path(), port);
    let mut c = Clients::connect(addr).await;
    let rest = watch_to_end(&mut c, &job.id, last_seq).await;
    assert_eq!(
        rest.last().and_then(final_state),
        Some(pb::JobState::Succeeded),
        "{:?}",
        rest.last()
    );
    let states: Vec<i32> = rest
        .iter()
        .filter_map(|e| {
            if let Some(Event::StateChanged(s)) = e.event {
                Some(s)
            } else {
                None
            }
        })
        .collect();
    assert!(
        states.contains(&(pb::JobState::Queued as i32))
            && states.contains(&(pb::JobState::Running as i32)),
        "{states:?}"
    );
    // The first progress after the restart starts at a checkpoint, not at step 0.
    let resumed_at = rest
        .iter()
        .find_map(|e| {
            if let Some(Event::Progress(p)) = &e.event {
                Some(p.step)
            } else {
                None
            }
        })
        .expect("progress after restart");
    assert!(
        resumed_at >= checkpoint,
        "resumed at step {resumed_at}, checkpoint was {checkpoint}"
    );
    let finished = c
        .training
        .get_training_job(pb::GetTrainingJobRequest { id: job.id.clone() })
        .await
        .expect("job")
        .into_inner();
    assert!(
        finished
            .test_metrics
            .map(|m| m.accuracy)
            .unwrap_or_default()
            > 0.85
    );

    // Nothing lost or corrupted: reads verify sha256 of every file.
    let ds_after = c
        .datasets
        .get_dataset(pb::GetDatasetRequest { id: ds.id.clone() })
        .await
        .expect("dataset")
        .into_inner();
    assert_eq!(ds_after.sha256, ds.sha256);
    let after = c
        .models
        .get_model(pb::GetModelRequest {
            name: "finished".into(),
        })
        .await
        .expect("model")
        .into_inner();
    assert_eq!(after, before);
    let (rows, _) = digits_rows();
    for model in ["finished@v1", "resumed@v1"] {
        let req = pb::PredictRequest {
            model: model.into(),
            features: vec![pb::FeatureVector {
                values: rows[0].clone(),
            }],
            texts: vec![],
        };
        let out = c
            .inference
            .predict(req)
            .await
            .expect("verified model loads")
            .into_inner();
        assert_eq!(out.predictions.len(), 1);
    }
    // A second job trains from the dataset again: its bytes still match their hash.
    let again = create_job(&mut c, mlp_job("again", &ds.id, 1)).await;
    let events = watch_to_end(&mut c, &again.id, 0).await;
    assert_eq!(
        events.last().and_then(final_state),
        Some(pb::JobState::Succeeded)
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The real binary, configured only by the standard `OTEL_*` variables, exports its spans over
/// OTLP as `strata-ml`, continuing the caller's `traceparent`; with a batch delay far longer than
/// the test, the span arrives only because SIGTERM's shutdown flushes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exports_its_spans_over_otlp_and_flushes_them_when_stopped() {
    let receiver = strata_testkit::OtlpReceiver::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().expect("addr");
    let child = binary_command(dir.path(), port)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_EXPORTER")
        .spawn()
        .expect("start strata-ml");
    let mut server = Process(child);
    let mut c = Clients::connect(addr).await;

    let (trace_id, caller) = ("4bf92f3577b34da6a3ce929d0e0e47aa", "00f067aa0ba902b7");
    let mut request = tonic::Request::new(pb::GetSystemInfoRequest {});
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{caller}-01")
            .parse()
            .expect("metadata value"),
    );
    c.system
        .get_system_info(request)
        .await
        .expect("system info");
    drop(c);
    assert!(
        receiver.spans().is_empty(),
        "nothing is exported before the batch delay or the shutdown"
    );

    let stopped = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(stopped.success());
    let status = tokio::task::spawn_blocking(move || server.0.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(
        status.success(),
        "strata-ml stops cleanly on SIGTERM: {status}"
    );

    let spans = receiver
        .wait_for_trace(trace_id, Duration::from_secs(5), |s| !s.is_empty())
        .await;
    let server_span = spans
        .iter()
        .find(|s| s.name == "strata.ml.v1.SystemService/GetSystemInfo")
        .unwrap_or_else(|| panic!("no server span: {spans:?}"));
    assert_eq!(server_span.service, "strata-ml", "named after the binary");
    assert_eq!(server_span.kind, "server");
    assert_eq!(server_span.parent_span_id.as_deref(), Some(caller));
    assert_eq!(server_span.attribute("rpc.grpc.status_code"), Some("0"));
}

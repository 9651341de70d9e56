//! The transport around the services on loopback: TLS with a certificate made at test time, and
//! `grpc.health.v1` reporting every service NOT_SERVING when shutdown begins, before the drain.

mod common;

use std::time::Duration;

use clap::Parser;
use common::*;
use strata_proto::strata::ml::v1 as pb;
use strata_proto::strata::ml::v1::system_service_client::SystemServiceClient;
use tokio_stream::StreamExt;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The names probes use: the whole server (`""`) and every service of the contract.
const SERVICES: [&str; 6] = [
    "",
    "strata.ml.v1.SystemService",
    "strata.ml.v1.DatasetService",
    "strata.ml.v1.TrainingService",
    "strata.ml.v1.ModelService",
    "strata.ml.v1.InferenceService",
];

async fn system_info(channel: Channel) -> Result<pb::GetSystemInfoResponse, tonic::Status> {
    SystemServiceClient::new(channel)
        .get_system_info(pb::GetSystemInfoRequest {})
        .await
        .map(tonic::Response::into_inner)
}

async fn tls_channel(port: u16, ca_pem: &str) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .expect("url")
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem)))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_grpc_over_tls_to_clients_that_trust_its_ca_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_pki(&dir.path().join("pki"));
    let other = test_pki(&dir.path().join("other-pki"));
    let server = start(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            pki.cert.to_str().expect("utf-8"),
            "--tls-key",
            pki.key.to_str().expect("utf-8"),
        ],
    )
    .await;
    let port = server.addr.port();

    let mut trusted = None;
    for _ in 0..100 {
        match tls_channel(port, &pki.ca_pem).await {
            Ok(channel) => {
                trusted = Some(channel);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let trusted = trusted.expect("a client trusting the CA connects over TLS");
    let info = system_info(trusted).await.expect("a call over TLS");
    assert_eq!(info.service, "strata-ml");

    // A certificate from another CA fails the handshake; plaintext h2c gets no gRPC answer.
    assert!(
        tls_channel(port, &other.ca_pem).await.is_err(),
        "a client trusting another CA must not connect"
    );
    let plaintext = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("url")
        .timeout(Duration::from_secs(5))
        .connect_lazy();
    let refused = system_info(plaintext).await;
    assert!(refused.is_err(), "plaintext call answered: {refused:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_or_mismatched_tls_files_stop_start_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_pki(&dir.path().join("pki"));
    let other = test_pki(&dir.path().join("other-pki"));
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    let missing = dir.path().join("missing.pem");
    for (cert, key) in [
        (&missing, &pki.key),
        (&garbage, &pki.key),
        (&pki.cert, &other.key),
    ] {
        let config = strata_ml::Config::parse_from([
            "strata-ml",
            "--data-dir",
            dir.path().join("data").to_str().expect("utf-8"),
            "--tls-cert",
            cert.to_str().expect("utf-8"),
            "--tls-key",
            key.to_str().expect("utf-8"),
        ]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let served = tokio::time::timeout(
            Duration::from_secs(10),
            strata_ml::serve(&config, listener, metrics, std::future::pending()),
        )
        .await
        .expect("start-up fails instead of serving");
        let err = served.expect_err("bad TLS files are refused");
        assert!(err.to_string().contains("TLS"), "{err}");
    }
    // clap refuses a certificate without its key.
    assert!(strata_ml::Config::try_parse_from(["strata-ml", "--tls-cert", "c.pem"]).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reports_every_service_not_serving_before_draining() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = start(dir.path(), &[]).await;
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel.clone());
    let mut watches = Vec::new();
    for service in SERVICES {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let status = health
            .check(request.clone())
            .await
            .expect("check")
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
        let mut watch = health.watch(request).await.expect("watch").into_inner();
        let first = watch.next().await.expect("first status").expect("status");
        assert_eq!(first.status(), ServingStatus::Serving, "{service:?}");
        watches.push((service, watch));
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "strata.ml.v1.NoSuchService".to_owned(),
        })
        .await;
    assert_eq!(
        unknown.expect_err("unknown service").code(),
        tonic::Code::NotFound
    );

    // The open watch streams are in-flight calls, so the drain cannot finish before they end:
    // whatever they receive was sent while the server was still serving them.
    server.begin_stop();
    for (service, watch) in &mut watches {
        let next = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .unwrap_or_else(|_| panic!("{service:?}: no status change after the shutdown signal"))
            .expect("a status before the stream ends")
            .expect("status");
        assert_eq!(next.status(), ServingStatus::NotServing, "{service:?}");
    }
    drop(watches);
    drop(health);
    drop(channel);
    server.stop().await;
}

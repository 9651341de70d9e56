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

/// With TLS on the main port, `--health-listen` answers the kubelet's plaintext gRPC probe on a
/// port of its own, with the same statuses, and serves nothing but health there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plaintext_health_port_answers_probes_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = test_pki(&dir.path().join("pki"));
    let health_port = free_port();
    let health_addr = format!("127.0.0.1:{health_port}");
    let server = start(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            pki.cert.to_str().expect("utf-8"),
            "--tls-key",
            pki.key.to_str().expect("utf-8"),
            "--health-listen",
            &health_addr,
        ],
    )
    .await;
    let plain = Channel::from_shared(format!("http://{health_addr}"))
        .expect("url")
        .timeout(Duration::from_secs(5))
        .connect_lazy();
    let mut health = HealthClient::new(plain.clone());
    let mut answered = None;
    for _ in 0..100 {
        let request = tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        };
        match health.check(request).await {
            Ok(r) => {
                answered = Some(r.into_inner().status);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    assert_eq!(
        answered,
        Some(serving),
        "the health port answers in plaintext"
    );
    for service in SERVICES {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: (*service).into(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(status, serving, "{service}");
    }
    // Only health is served there: the product's RPCs are not.
    let refused = system_info(plain)
        .await
        .expect_err("no SystemService on the health port");
    assert_eq!(refused.code(), tonic::Code::Unimplemented, "{refused:?}");
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

/// gRPC reflection describes every RPC to whoever connects: UNIMPLEMENTED unless the operator
/// asks for it with `--grpc-reflection`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_is_off_unless_asked_for() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, server_reflection_response};

    async fn list_services(addr: std::net::SocketAddr) -> Result<Vec<String>, tonic::Status> {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect()
            .await
            .expect("connect");
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut answers = ServerReflectionClient::new(channel)
            .server_reflection_info(tokio_stream::iter([request]))
            .await?
            .into_inner();
        let mut names = Vec::new();
        while let Some(answer) = answers.next().await {
            if let Some(server_reflection_response::MessageResponse::ListServicesResponse(list)) =
                answer?.message_response
            {
                names.extend(list.service.into_iter().map(|s| s.name));
            }
        }
        Ok(names)
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let _ = server.clients().await;
    let refused = list_services(server.addr)
        .await
        .expect_err("no reflection by default");
    assert_eq!(refused.code(), tonic::Code::Unimplemented);
    server.stop().await;

    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &["--grpc-reflection"]).await;
    let _ = server.clients().await;
    let names = list_services(server.addr)
        .await
        .expect("reflection when asked");
    assert!(
        names.iter().any(|n| n == "strata.ml.v1.InferenceService"),
        "{names:?}"
    );
    server.stop().await;
}

/// With `--caller-keys`, the ML service answers only callers with a caller token signed for it,
/// and only RPCs their role allows; health checks stay open for probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_need_a_token_for_this_service_and_a_role_for_the_rpc() {
    use strata_runtime::caller::{CallerKeys, CallerRole};
    const KEYS: &str = "c1:caller-key-for-the-transport-test-0123456789";
    let keys = CallerKeys::parse(KEYS).expect("keys");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &["--caller-keys", KEYS]).await;
    let c = server.clients().await;
    fn with<T>(token: Option<String>, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = token {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("header value"),
            );
        }
        request
    }
    let list = || pb::ListDatasetsRequest::default();

    // No token, a token from other keys, an access token of the web API: UNAUTHENTICATED.
    let other = CallerKeys::parse("c1:some-other-deployment-caller-key-0123456789")
        .expect("keys")
        .sign("ada", CallerRole::Admin)
        .expect("sign");
    for token in [
        None,
        Some(other),
        Some("eyJhbGciOiJIUzI1NiJ9.e30.x".to_owned()),
    ] {
        let status = c
            .datasets
            .clone()
            .list_datasets(with(token.clone(), list()))
            .await
            .expect_err("refused");
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{token:?}");
    }
    // Probes need no token.
    let health = HealthClient::new(
        Channel::from_shared(format!("http://{}", server.addr))
            .expect("url")
            .connect()
            .await
            .expect("connect"),
    )
    .check(HealthCheckRequest {
        service: String::new(),
    })
    .await
    .expect("health without a token");
    assert_eq!(health.into_inner().status, ServingStatus::Serving as i32);

    // A viewer reads, but may not train or import.
    let viewer = keys.sign("vera", CallerRole::Viewer).expect("sign");
    c.datasets
        .clone()
        .list_datasets(with(Some(viewer.clone()), list()))
        .await
        .expect("a viewer lists");
    let status = c
        .training
        .clone()
        .create_training_job(with(Some(viewer.clone()), mlp_job("m", "ds-x", 1)))
        .await
        .expect_err("a viewer may not train");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    let trainer = keys.sign("tom", CallerRole::Trainer).expect("sign");
    let status = c
        .models
        .clone()
        .import_model(with(
            Some(trainer.clone()),
            pb::ImportModelRequest {
                name: "enc".into(),
                kind: "text-encoder".into(),
                path: "all-MiniLM-L6-v2".into(),
            },
        ))
        .await
        .expect_err("a trainer may not import");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    // A trainer's job request passes authorisation (and fails on its unknown dataset).
    let status = c
        .training
        .clone()
        .create_training_job(with(Some(trainer), mlp_job("m", "ds-x", 1)))
        .await
        .expect_err("unknown dataset");
    assert_eq!(status.code(), tonic::Code::NotFound);
    server.stop().await;
}

/// Adds one principal's caller token to every call of a client.
#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// Jobs, model names and aliases belong to the principal that made them: another trainer may not
/// cancel the job, train under the name or move the aliases; protected aliases are admins' only;
/// admins may do all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_jobs_models_and_aliases_belong_to_their_owner() {
    use strata_proto::strata::ml::v1::dataset_service_client::DatasetServiceClient;
    use strata_proto::strata::ml::v1::model_service_client::ModelServiceClient;
    use strata_proto::strata::ml::v1::training_service_client::TrainingServiceClient;
    use strata_runtime::caller::{CallerKeys, CallerRole};
    const KEYS: &str = "c1:caller-key-for-the-ownership-test-0123456789";
    let keys = CallerKeys::parse(KEYS).expect("keys");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &["--caller-keys", KEYS]).await;
    let _ = server.clients().await;
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let bearer = |sub: &str, role| {
        let token = keys.sign(sub, role).expect("sign");
        Bearer(format!("Bearer {token}").parse().expect("header value"))
    };
    let (tom, ann, root) = (
        bearer("tom", CallerRole::Trainer),
        bearer("ann", CallerRole::Trainer),
        bearer("root", CallerRole::Admin),
    );
    let training = |b: &Bearer| TrainingServiceClient::with_interceptor(channel.clone(), b.clone());
    let models = |b: &Bearer| ModelServiceClient::with_interceptor(channel.clone(), b.clone());

    let bytes = std::fs::read(digits_path()).expect("digits");
    let mut messages = vec![pb::UploadDatasetRequest {
        part: Some(pb::upload_dataset_request::Part::Metadata(
            pb::DatasetUploadMetadata {
                name: "digits".into(),
                schema: Some(pb::DatasetSchema {
                    label_column: "label".into(),
                    ..Default::default()
                }),
                description: String::new(),
            },
        )),
    }];
    messages.extend(bytes.chunks(64 * 1024).map(|c| pb::UploadDatasetRequest {
        part: Some(pb::upload_dataset_request::Part::Chunk(c.to_vec())),
    }));
    let dataset = DatasetServiceClient::with_interceptor(channel.clone(), tom.clone())
        .upload_dataset(tokio_stream::iter(messages))
        .await
        .expect("tom uploads")
        .into_inner();
    assert_eq!(dataset.owner, "tom", "the uploader owns the dataset");
    let listed = DatasetServiceClient::with_interceptor(channel.clone(), ann.clone())
        .get_dataset(pb::GetDatasetRequest {
            id: dataset.id.clone(),
        })
        .await
        .expect("ann reads it")
        .into_inner();
    assert_eq!(listed.owner, "tom");

    // Tom's first job makes the model `toms`; a second one stays queued behind it.
    let first = training(&tom)
        .create_training_job(mlp_job("toms", &dataset.id, 1))
        .await
        .expect("tom trains")
        .into_inner();
    assert_eq!(first.owner, "tom");
    let second = training(&tom)
        .create_training_job(mlp_job("toms", &dataset.id, 50))
        .await
        .expect("tom queues another")
        .into_inner();
    let denied = training(&ann)
        .cancel_training_job(pb::CancelTrainingJobRequest {
            id: second.id.clone(),
        })
        .await
        .expect_err("ann may not cancel tom's job");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    training(&root)
        .cancel_training_job(pb::CancelTrainingJobRequest {
            id: second.id.clone(),
        })
        .await
        .expect("an admin may");

    // Once the first version exists, the name is tom's.
    for _ in 0..600 {
        let model = models(&tom)
            .get_model(pb::GetModelRequest {
                name: "toms".into(),
            })
            .await;
        if model.is_ok_and(|m| !m.into_inner().versions.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let model = models(&tom)
        .get_model(pb::GetModelRequest {
            name: "toms".into(),
        })
        .await
        .expect("tom's model")
        .into_inner();
    assert_eq!(model.versions[0].owner, "tom");
    let denied = training(&ann)
        .create_training_job(mlp_job("toms", &dataset.id, 1))
        .await
        .expect_err("ann may not train under tom's name");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let alias = |alias: &str| pb::SetAliasRequest {
        name: "toms".into(),
        alias: alias.into(),
        version: "v1".into(),
    };
    let denied = models(&ann)
        .set_alias(alias("staging"))
        .await
        .expect_err("ann may not move tom's aliases");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    models(&tom)
        .set_alias(alias("staging"))
        .await
        .expect("tom moves his own");
    let denied = models(&tom)
        .set_alias(alias("production"))
        .await
        .expect_err("production is protected");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    models(&root)
        .set_alias(alias("production"))
        .await
        .expect("an admin promotes");
    server.stop().await;
}

/// Accepted gRPC connections run without Nagle's algorithm (read back with getsockopt), so a
/// small response does not wait for the client's delayed ACK.
#[tokio::test]
async fn accepted_connections_have_tcp_nodelay() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut incoming = Box::pin(strata_ml::incoming(listener));
    let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let accepted = incoming
        .next()
        .await
        .expect("a connection")
        .expect("accepted");
    assert!(accepted.nodelay().expect("getsockopt TCP_NODELAY"));
}

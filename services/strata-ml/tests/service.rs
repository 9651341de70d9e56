//! The ML service end to end over gRPC on loopback: upload the digits sample, train, watch,
//! promote, predict through the alias, cancel jobs, import MiniLM and embed, and every error
//! status the contract promises.

mod common;

use std::time::Duration;

use common::*;
use strata_proto::strata::ml::v1 as pb;
use tonic::Code;

fn code<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> Code {
    match r {
        Ok(v) => panic!("expected an error status, got {v:?}"),
        Err(s) => s.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_train_watch_promote_predict_and_every_error_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let digits_bytes = std::fs::read(digits_path()).expect("digits");
    let limit = (digits_bytes.len() + 1024).to_string();
    let server = start(
        dir.path(),
        &[
            "--max-batch-size",
            "64",
            "--max-request-inputs",
            "100",
            "--max-upload-bytes",
            &limit,
            "--job-queue-depth",
            "1",
            "--max-concurrent-jobs",
            "1",
        ],
    )
    .await;
    let mut c = server.clients().await;

    let info = c
        .system
        .get_system_info(pb::GetSystemInfoRequest {})
        .await
        .expect("system info")
        .into_inner();
    assert_eq!(info.device, "cpu");
    for kind in ["mlp-classifier", "text-encoder", "text-classifier"] {
        assert!(
            info.model_kinds.iter().any(|k| k == kind),
            "{kind} in {:?}",
            info.model_kinds
        );
    }

    // Datasets: upload, stats, listing with pages.
    let ds = upload_digits(&mut c).await;
    assert_eq!(ds.num_rows, 1797);
    assert_eq!(ds.classes.len(), 10);
    assert_eq!(ds.class_counts.iter().sum::<u64>(), 1797);
    assert_eq!(
        ds.schema.as_ref().map(|s| s.feature_columns.len()),
        Some(64)
    );
    let stats = ds
        .columns
        .iter()
        .filter_map(|c| c.stats)
        .collect::<Vec<_>>();
    assert_eq!(stats.len(), 64);
    assert!(
        stats
            .iter()
            .all(|s| s.min >= 0.0 && s.max <= 16.0 && s.min <= s.mean && s.mean <= s.max)
    );
    use sha2::Digest;
    assert_eq!(ds.sha256, hex::encode(sha2::Sha256::digest(&digits_bytes)));
    let second = upload_digits(&mut c).await;
    let page1 = c
        .datasets
        .list_datasets(pb::ListDatasetsRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page1.datasets.len(), 1);
    assert_eq!(page1.datasets[0].id, second.id, "newest first");
    let page2 = c
        .datasets
        .list_datasets(pb::ListDatasetsRequest {
            page_size: 1,
            page_token: page1.next_page_token.clone(),
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(page2.datasets[0].id, ds.id);
    assert!(page2.next_page_token.is_empty());
    let got = c
        .datasets
        .get_dataset(pb::GetDatasetRequest { id: ds.id.clone() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, ds);

    // Train and watch to the end; events are numbered 1, 2, 3, ... and end with SUCCEEDED.
    let job = c
        .training
        .create_training_job(mlp_job("digits", &ds.id, 8))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(job.state, pb::JobState::Queued as i32);
    let events = watch_to_end(&mut c, &job.id, 0).await;
    let seqs: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        events.last().and_then(final_state),
        Some(pb::JobState::Succeeded),
        "{:?}",
        events.last()
    );
    let validations = events
        .iter()
        .filter_map(|e| match &e.event {
            Some(pb::training_event::Event::Progress(p)) => p.validation.clone(),
            _ => None,
        })
        .count();
    assert!(
        validations >= 8,
        "a validation event per epoch, got {validations}"
    );
    let replay = watch_to_end(&mut c, &job.id, 2).await;
    assert_eq!(replay.first().map(|e| e.sequence), Some(3));
    assert_eq!(replay.len(), events.len() - 2);
    let done = c
        .training
        .get_training_job(pb::GetTrainingJobRequest { id: job.id.clone() })
        .await
        .expect("get job")
        .into_inner();
    assert_eq!(done.model_version, "v1");
    let acc = done
        .test_metrics
        .as_ref()
        .map(|m| m.accuracy)
        .unwrap_or_default();
    assert!(acc > 0.85, "test accuracy {acc}");

    // Registry: promote, predict through the alias, refuse to delete the aliased version.
    let model = c
        .models
        .get_model(pb::GetModelRequest {
            name: "digits".into(),
        })
        .await
        .expect("model")
        .into_inner();
    assert_eq!(model.versions.len(), 1);
    let v1 = &model.versions[0];
    assert_eq!(
        (v1.kind.as_str(), v1.training_job_id.as_str()),
        ("mlp-classifier", job.id.as_str())
    );
    assert_eq!(v1.dataset_sha256, ds.sha256);
    assert!(
        v1.io_schema_json.contains("\"features\""),
        "{}",
        v1.io_schema_json
    );
    let promoted = c
        .models
        .set_alias(pb::SetAliasRequest {
            name: "digits".into(),
            alias: "production".into(),
            version: "v1".into(),
        })
        .await
        .expect("alias")
        .into_inner();
    assert_eq!(
        promoted.aliases.get("production").map(String::as_str),
        Some("v1")
    );
    let (rows, labels) = digits_rows();
    let features: Vec<pb::FeatureVector> = rows[..64]
        .iter()
        .map(|r| pb::FeatureVector { values: r.clone() })
        .collect();
    let predicted = c
        .inference
        .predict(pb::PredictRequest {
            model: "digits@production".into(),
            features: features.clone(),
            texts: vec![],
        })
        .await
        .expect("predict")
        .into_inner();
    assert_eq!(predicted.model_version, "v1");
    let right = predicted
        .predictions
        .iter()
        .zip(&labels[..64])
        .filter(|(p, l)| p.class_index == **l)
        .count();
    assert!(right >= 58, "{right}/64 right");
    assert!(
        predicted
            .predictions
            .iter()
            .all(|p| p.label == p.class_index.to_string() && p.probabilities.len() == 10)
    );
    let listed = c
        .models
        .list_models(pb::ListModelsRequest::default())
        .await
        .expect("models")
        .into_inner();
    assert_eq!(listed.models.len(), 1);

    // Cancelling: a queued job at once, a running one at its next step; a full queue refuses.
    let long = c
        .training
        .create_training_job(mlp_job("long", &ds.id, 500))
        .await
        .expect("long")
        .into_inner();
    let mut watch = c
        .training
        .watch_training_job(pb::WatchTrainingJobRequest {
            id: long.id.clone(),
            after_sequence: 0,
        })
        .await
        .expect("watch long")
        .into_inner();
    loop {
        let e = watch.message().await.expect("stream").expect("event");
        if matches!(e.event, Some(pb::training_event::Event::Progress(ref p)) if p.step > 0) {
            break;
        }
    }
    let queued = c
        .training
        .create_training_job(mlp_job("queued", &ds.id, 1))
        .await
        .expect("queued")
        .into_inner();
    assert_eq!(
        code(
            c.training
                .create_training_job(mlp_job("over", &ds.id, 1))
                .await
        ),
        Code::ResourceExhausted
    );
    let cancelled = c
        .training
        .cancel_training_job(pb::CancelTrainingJobRequest {
            id: queued.id.clone(),
        })
        .await
        .expect("cancel queued")
        .into_inner();
    assert_eq!(cancelled.state, pb::JobState::Cancelled as i32);
    c.training
        .cancel_training_job(pb::CancelTrainingJobRequest {
            id: long.id.clone(),
        })
        .await
        .expect("cancel running");
    let rest = watch_to_end(&mut c, &long.id, 0).await;
    assert_eq!(
        rest.last().and_then(final_state),
        Some(pb::JobState::Cancelled)
    );
    let cancelled_jobs = c
        .training
        .list_training_jobs(pb::ListTrainingJobsRequest {
            state: pb::JobState::Cancelled as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(cancelled_jobs.jobs.len(), 2);
    let by_model = c
        .training
        .list_training_jobs(pb::ListTrainingJobsRequest {
            model_name: "digits".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        by_model
            .jobs
            .iter()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        [job.id.as_str()]
    );

    // Every error status.
    let missing = pb::GetDatasetRequest {
        id: "ds-missing".into(),
    };
    assert_eq!(code(c.datasets.get_dataset(missing).await), Code::NotFound);
    assert_eq!(
        code(
            c.datasets
                .get_dataset(pb::GetDatasetRequest {
                    id: "../etc".into()
                })
                .await
        ),
        Code::InvalidArgument
    );
    let no_meta = vec![pb::UploadDatasetRequest {
        part: Some(pb::upload_dataset_request::Part::Chunk(vec![1, 2, 3])),
    }];
    assert_eq!(
        code(c.datasets.upload_dataset(tokio_stream::iter(no_meta)).await),
        Code::InvalidArgument
    );
    let label = pb::DatasetSchema {
        label_column: "label".into(),
        ..Default::default()
    };
    let junk = upload(
        &mut c,
        "junk",
        label.clone(),
        b"not parquet at all".to_vec(),
    )
    .await
    .expect_err("not Parquet");
    assert_eq!(junk.code(), Code::InvalidArgument);
    // The caller learns what is wrong with its file, not where the server spooled it.
    assert!(
        junk.message()
            .starts_with("the uploaded file is not a readable Parquet file")
            && !junk.message().contains(dir.path().to_str().expect("utf-8")),
        "{}",
        junk.message()
    );
    let wrong = pb::DatasetSchema {
        label_column: "no_such_column".into(),
        ..Default::default()
    };
    assert_eq!(
        code(upload(&mut c, "wrong", wrong, digits_bytes.clone()).await),
        Code::InvalidArgument
    );
    let mut big = digits_bytes.clone();
    big.extend(vec![0u8; 4096]);
    assert_eq!(
        code(upload(&mut c, "big", label, big).await),
        Code::ResourceExhausted
    );
    let mut bad_kind = mlp_job("x", &ds.id, 1);
    bad_kind.kind = "gradient-boosting".into();
    assert_eq!(
        code(c.training.create_training_job(bad_kind).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            c.training
                .create_training_job(mlp_job("x", "ds-missing", 1))
                .await
        ),
        Code::NotFound
    );
    let mut bad_lr = mlp_job("x", &ds.id, 1);
    bad_lr.hyperparameters.as_mut().expect("hp").learning_rate = Some(-1.0);
    assert_eq!(
        code(c.training.create_training_job(bad_lr).await),
        Code::InvalidArgument
    );
    // A kind that trains from scratch refuses a base model rather than ignoring it.
    let mut with_base = mlp_job("x", &ds.id, 1);
    with_base.base_model = "nobody@production".into();
    let status = c
        .training
        .create_training_job(with_base)
        .await
        .expect_err("a base model for an MLP");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("from scratch"),
        "{}",
        status.message()
    );
    // The kind checks its own parameters: a typo is an error, not a silently ignored setting.
    let mut typo = mlp_job("x", &ds.id, 1);
    typo.parameters = strata_runtime::structs::to_struct(&serde_json::json!({ "hiden": [8] }));
    let status = c
        .training
        .create_training_job(typo)
        .await
        .expect_err("an unknown parameter");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("hiden"), "{}", status.message());
    assert_eq!(
        code(
            c.training
                .get_training_job(pb::GetTrainingJobRequest { id: "job-x".into() })
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.training
                .cancel_training_job(pb::CancelTrainingJobRequest { id: job.id.clone() })
                .await
        ),
        Code::FailedPrecondition
    );
    let bad_token = pb::ListTrainingJobsRequest {
        page_token: "!!".into(),
        ..Default::default()
    };
    assert_eq!(
        code(c.training.list_training_jobs(bad_token).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            c.models
                .get_model(pb::GetModelRequest {
                    name: "nobody".into()
                })
                .await
        ),
        Code::NotFound
    );
    let delete = pb::DeleteModelVersionRequest {
        name: "digits".into(),
        version: "v1".into(),
    };
    assert_eq!(
        code(c.models.delete_model_version(delete).await),
        Code::FailedPrecondition
    );
    let alias = |a: &str, v: &str| pb::SetAliasRequest {
        name: "digits".into(),
        alias: a.into(),
        version: v.into(),
    };
    assert_eq!(
        code(c.models.set_alias(alias("latest", "v1")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(c.models.set_alias(alias("staging", "v9")).await),
        Code::NotFound
    );
    let predict = |model: &str, features: Vec<pb::FeatureVector>| pb::PredictRequest {
        model: model.into(),
        features,
        texts: vec![],
    };
    assert_eq!(
        code(
            c.inference
                .predict(predict("nobody", features[..1].to_vec()))
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.inference
                .predict(predict("digits@staging", features[..1].to_vec()))
                .await
        ),
        Code::NotFound
    );
    let short = vec![pb::FeatureVector {
        values: vec![1.0; 3],
    }];
    assert_eq!(
        code(c.inference.predict(predict("digits", short)).await),
        Code::InvalidArgument
    );
    // Above the batch size a request runs as several batches, in order; above the request
    // limit it is refused.
    let rows_of = |n: usize| -> Vec<pb::FeatureVector> {
        rows.iter()
            .take(n)
            .map(|r| pb::FeatureVector { values: r.clone() })
            .collect()
    };
    let split = c
        .inference
        .predict(predict("digits", rows_of(100)))
        .await
        .expect("a request of two batches")
        .into_inner();
    assert_eq!(split.predictions.len(), 100);
    assert_eq!(split.predictions[..64], predicted.predictions[..]);
    assert_eq!(
        code(c.inference.predict(predict("digits", rows_of(101))).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(c.inference.predict(predict("digits", vec![])).await),
        Code::InvalidArgument
    );
    let embed_mlp = pb::EmbedRequest {
        model: "digits".into(),
        texts: vec!["hi".into()],
    };
    assert_eq!(
        code(c.inference.embed(embed_mlp).await),
        Code::InvalidArgument
    );
    let mut rushed = tonic::Request::new(predict("digits", features.clone()));
    rushed.set_timeout(Duration::from_micros(50));
    // The server answers DEADLINE_EXCEEDED (see the batcher's tests), but tonic's client runs
    // the same timer and reports its own expiry first, as CANCELLED.
    let rushed = code(c.inference.predict(rushed).await);
    assert!(
        matches!(rushed, Code::DeadlineExceeded | Code::Cancelled),
        "{rushed:?}"
    );
    let import = |path: &str| pb::ImportModelRequest {
        name: "enc".into(),
        kind: "text-encoder".into(),
        path: path.into(),
    };
    assert_eq!(
        code(c.models.import_model(import("no-such-model-dir")).await),
        Code::NotFound
    );
    // Nothing outside the import directory, however it is named, and the same answer whether
    // the outside path exists or not (no probing the server's file system).
    let outside = tempfile::tempdir().expect("temp dir");
    let link = assets_dir().join(format!("escape-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(outside.path(), &link).expect("symlink in the import dir");
    for path in [
        "/etc",
        "/nonexistent/dir",
        "../../../../etc",
        "../../../../../../../../../../etc",
        "../no-such-sibling",
        "sub/../../x",
        outside.path().to_str().expect("utf-8"),
        link.to_str().expect("utf-8"),
        "",
        ".",
    ] {
        let status = c
            .models
            .import_model(import(path))
            .await
            .expect_err("outside the import directory");
        assert_eq!(status.code(), Code::InvalidArgument, "{path}: {status:?}");
    }
    std::fs::remove_file(&link).expect("remove link");
    // A model directory inside it whose file links outside is refused as well, naming the file.
    let secret = outside.path().join("secret");
    std::fs::write(&secret, b"not a model").expect("outside file");
    let model_dir = assets_dir().join(format!("linked-file-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&model_dir);
    std::fs::create_dir(&model_dir).expect("model dir in the import dir");
    std::os::unix::fs::symlink(&secret, model_dir.join("model.safetensors")).expect("symlink");
    let status = c
        .models
        .import_model(import(model_dir.to_str().expect("utf-8")))
        .await
        .expect_err("a file linked from outside");
    std::fs::remove_dir_all(&model_dir).expect("remove model dir");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("model.safetensors"), "{status:?}");
    // A dataset whose manifest was damaged on disk is DATA_LOSS, not a crash or a 500.
    let manifest = dir
        .path()
        .join("artifacts/datasets")
        .join(&second.id)
        .join("v1/manifest.json");
    let mut text = std::fs::read_to_string(&manifest).expect("manifest");
    text = text.replace("test upload", "tampered!!!");
    std::fs::write(&manifest, text).expect("tamper");
    let damaged = c
        .datasets
        .get_dataset(pb::GetDatasetRequest {
            id: second.id.clone(),
        })
        .await
        .expect_err("a damaged manifest");
    assert_eq!(damaged.code(), Code::DataLoss);
    // What the server knows about its own storage stays in its log.
    assert_eq!(damaged.message(), strata_ml::error::INTERNAL_MESSAGE);
    assert!(
        !damaged
            .message()
            .contains(dir.path().to_str().expect("utf-8"))
    );

    // Deleting: a dataset, then an unaliased model version.
    c.datasets
        .delete_dataset(pb::DeleteDatasetRequest { id: ds.id.clone() })
        .await
        .expect("delete dataset");
    assert_eq!(
        code(
            c.datasets
                .get_dataset(pb::GetDatasetRequest { id: ds.id.clone() })
                .await
        ),
        Code::NotFound
    );
    c.models
        .set_alias(alias("production", "v1"))
        .await
        .expect("still v1");
    server.stop().await;
}

/// Crafted Parquet files, each small on disk: every one is INVALID_ARGUMENT naming the flag of
/// the limit it breaks, the process survives them all, and listing still works afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_parquet_uploads_are_refused_naming_their_limit_and_the_service_survives() {
    use strata_testkit::hostile;
    let dir = tempfile::tempdir().expect("temp dir");
    let files = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let mut c = server.clients().await;
    let features = pb::DatasetSchema {
        feature_columns: vec!["x".into()],
        label_column: "y".into(),
        ..Default::default()
    };
    let text = pb::DatasetSchema {
        text_column: "text".into(),
        label_column: "label".into(),
        ..Default::default()
    };
    let cases = [
        (
            "huge-label",
            features.clone(),
            hostile::huge_label(&files.path().join("l.parquet"), i64::MAX),
            "--max-dataset-classes",
        ),
        (
            "rle-rows",
            features.clone(),
            hostile::many_rows(&files.path().join("r.parquet"), 5_000_000),
            "--max-dataset-rows",
        ),
        (
            "deep-nesting",
            pb::DatasetSchema {
                feature_columns: vec!["leaf".into()],
                ..Default::default()
            },
            hostile::deep_nesting(&files.path().join("n.parquet"), 300_000),
            "--max-dataset-nesting-depth",
        ),
        (
            "long-strings",
            text,
            hostile::long_strings(&files.path().join("t.parquet"), 2_000, 1024 * 1024),
            "--max-dataset-string-bytes",
        ),
    ];
    for (name, schema, path, flag) in cases {
        let bytes = std::fs::read(&path).expect("hostile file");
        let status = upload(&mut c, name, schema, bytes)
            .await
            .expect_err("a hostile file is refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
        assert!(
            status.message().contains(flag),
            "{name}: {}",
            status.message()
        );
        assert!(
            !status
                .message()
                .contains(files.path().to_str().expect("utf-8")),
            "{name}: no server path in {}",
            status.message()
        );
    }
    let digits = upload_digits(&mut c).await;
    // Jobs within the hyperparameters' own bounds can still ask for too much: refused by budget.
    let mut wide = mlp_job("wide", &digits.id, 1);
    wide.parameters =
        strata_runtime::structs::to_struct(&serde_json::json!({ "hidden": vec![65_536; 16] }));
    let mut long = mlp_job("long", &digits.id, u32::MAX);
    long.parameters = strata_runtime::structs::to_struct(&serde_json::json!({ "hidden": [] }));
    for (job, flag) in [
        (wide, "--max-train-parameters"),
        (long, "--max-train-steps"),
    ] {
        let status = c
            .training
            .create_training_job(job)
            .await
            .expect_err("over the training budget");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(flag), "{}", status.message());
    }
    let listed = c
        .datasets
        .list_datasets(pb::ListDatasetsRequest::default())
        .await
        .expect("listing after hostile uploads")
        .into_inner();
    assert_eq!(listed.datasets.len(), 1, "only the valid upload is stored");
    server.stop().await;

    // The limits are configuration: a row limit below digits' 1,797 rows refuses it by name.
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &["--max-dataset-rows", "1000"]).await;
    let mut c = server.clients().await;
    let bytes = std::fs::read(digits_path()).expect("digits");
    let status = upload(
        &mut c,
        "digits",
        pb::DatasetSchema {
            label_column: "label".into(),
            ..Default::default()
        },
        bytes,
    )
    .await
    .expect_err("over the configured row limit");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("1797 > 1000") && status.message().contains("--max-dataset-rows"),
        "{}",
        status.message()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_text_encoder_embeds_through_the_batcher() {
    let Some(minilm) = minilm_dir() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let mut c = server.clients().await;
    let version = c
        .models
        .import_model(pb::ImportModelRequest {
            name: "minilm".into(),
            kind: "text-encoder".into(),
            path: minilm.to_str().expect("utf-8 path").into(),
        })
        .await
        .expect("import")
        .into_inner();
    assert_eq!(
        (version.version.as_str(), version.kind.as_str()),
        ("v1", "text-encoder")
    );
    assert!(version.size_bytes > 10_000_000);
    let texts = [
        "How do I reset my password?",
        "I forgot my password and cannot log in",
        "The invoice total is wrong",
    ];
    let calls: Vec<_> = texts
        .iter()
        .map(|t| {
            let mut c = c.clone();
            let req = pb::EmbedRequest {
                model: "minilm@latest".into(),
                texts: vec![(*t).into()],
            };
            tokio::spawn(async move { c.inference.embed(req).await })
        })
        .collect();
    let mut vectors = Vec::new();
    for call in calls {
        let out = call.await.expect("task").expect("embed").into_inner();
        assert_eq!(out.model_version, "v1");
        assert!(out.prompt_tokens >= 5, "{}", out.prompt_tokens);
        vectors.push(out.embeddings[0].values.clone());
    }
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for v in &vectors {
        assert_eq!(v.len(), 384);
        assert!((dot(v, v) - 1.0).abs() < 1e-3, "L2-normalised");
    }
    assert!(
        dot(&vectors[0], &vectors[1]) > dot(&vectors[0], &vectors[2]) + 0.2,
        "similar texts are closer"
    );
    let predict = pb::PredictRequest {
        model: "minilm".into(),
        features: vec![],
        texts: vec!["x".into()],
    };
    assert_eq!(
        code(c.inference.predict(predict).await),
        Code::InvalidArgument
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fine_tunes_a_text_classifier_from_an_imported_encoder_and_predicts_with_it() {
    let Some(minilm) = minilm_dir() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), &[]).await;
    let mut c = server.clients().await;
    c.models
        .import_model(pb::ImportModelRequest {
            name: "minilm".into(),
            kind: "text-encoder".into(),
            path: minilm.to_str().expect("utf-8 path").into(),
        })
        .await
        .expect("import MiniLM");
    let bytes = std::fs::read(support_requests_path()).expect("support requests sample");
    let schema = pb::DatasetSchema {
        text_column: "text".into(),
        label_column: "topic".into(),
        ..Default::default()
    };
    let ds = upload(&mut c, "support", schema, bytes)
        .await
        .expect("upload support requests");
    assert_eq!(
        (ds.num_rows, ds.classes.as_slice()),
        (
            240,
            ["account", "billing", "shipping", "technical"]
                .map(String::from)
                .as_slice()
        )
    );

    // Head-only: MiniLM embeds the 240 texts once, then only the linear head trains (fast).
    let job = c
        .training
        .create_training_job(pb::CreateTrainingJobRequest {
            model_name: "topics".into(),
            kind: "text-classifier".into(),
            dataset_id: ds.id.clone(),
            hyperparameters: Some(pb::Hyperparameters {
                epochs: Some(60),
                batch_size: Some(16),
                learning_rate: Some(0.05),
                early_stopping_patience: Some(10),
                seed: Some(7),
                ..Default::default()
            }),
            parameters: None,
            base_model: "minilm@latest".into(),
        })
        .await
        .expect("create fine-tuning job")
        .into_inner();
    let events = watch_to_end(&mut c, &job.id, 0).await;
    let done = c
        .training
        .get_training_job(pb::GetTrainingJobRequest { id: job.id.clone() })
        .await
        .expect("get job")
        .into_inner();
    assert_eq!(
        events.last().and_then(final_state),
        Some(pb::JobState::Succeeded),
        "{}",
        done.error
    );
    let accuracy = done.test_metrics.map(|m| m.accuracy).unwrap_or_default();
    assert!(
        accuracy >= 0.8,
        "test accuracy {accuracy} (4 balanced classes)"
    );

    let model = c
        .models
        .get_model(pb::GetModelRequest {
            name: "topics".into(),
        })
        .await
        .expect("model")
        .into_inner();
    let version = &model.versions[0];
    assert_eq!(
        (version.kind.as_str(), version.base_model.as_str()),
        ("text-classifier", "minilm@v1")
    );
    assert!(
        version.io_schema_json.contains("\"text\""),
        "{}",
        version.io_schema_json
    );

    let predicted = c
        .inference
        .predict(pb::PredictRequest {
            model: "topics".into(),
            features: vec![],
            texts: vec![
                "I was billed twice, please refund one of the charges".into(),
                "my parcel never showed up".into(),
            ],
        })
        .await
        .expect("predict")
        .into_inner();
    let labels: Vec<&str> = predicted
        .predictions
        .iter()
        .map(|p| p.label.as_str())
        .collect();
    assert_eq!(labels, ["billing", "shipping"]);
    // A text model refuses feature vectors.
    let features = pb::PredictRequest {
        model: "topics".into(),
        features: vec![pb::FeatureVector {
            values: vec![0.0; 4],
        }],
        texts: vec![],
    };
    assert_eq!(
        code(c.inference.predict(features).await),
        Code::InvalidArgument
    );
    server.stop().await;
}

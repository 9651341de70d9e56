//! mlp-classifier on the shipped digits sample: accuracy, repeatability, resume, corruption.

mod common;

use std::sync::Mutex;

use common::*;
use serde_json::json;
use strata_core::{CancelToken, CoreError, Inputs, Outputs, Registry, TrainConfig, TrainEvent};
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FsArtifactStore, StoreError};

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 12,
        batch_size: 32,
        learning_rate: 3e-3,
        checkpoint_every: 0,
        ..Default::default()
    }
}

#[test]
fn digits_reaches_096_and_same_seed_gives_same_metrics() {
    let ds = digits();
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let kind = Registry::builtin();
    let kind = kind.get("mlp-classifier").unwrap();
    let events = Mutex::new(Vec::new());
    let record = |e: &TrainEvent| events.lock().unwrap().push(e.clone());
    let a = kind
        .train(request(
            &ds,
            config(),
            json!(null),
            &store,
            "a",
            CancelToken::new(),
            &record,
        ))
        .unwrap();
    let b = kind
        .train(request(
            &ds,
            config(),
            json!(null),
            &store,
            "b",
            CancelToken::new(),
            &quiet,
        ))
        .unwrap();
    assert!(a.test.accuracy >= 0.96, "test accuracy {}", a.test.accuracy);
    assert_eq!(a.test, b.test, "same seed, same metrics");
    assert_eq!(a.fit.history, b.fit.history);
    assert_eq!(a.test.examples, 180);

    let events = events.into_inner().unwrap();
    assert!(matches!(
        events[0],
        TrainEvent::Started {
            resumed_from_step: None,
            ..
        }
    ));
    assert!(events.iter().any(|e| matches!(e, TrainEvent::Epoch { .. })));
    assert!(matches!(events.last(), Some(TrainEvent::Finished { .. })));
    let TrainEvent::Step {
        examples_per_sec,
        eta_secs,
        ..
    } = events[1]
    else {
        panic!("no step event")
    };
    assert!(examples_per_sec > 0.0 && eta_secs >= 0.0);

    let c = kind
        .train(request(
            &ds,
            TrainConfig {
                seed: 7,
                ..config()
            },
            json!(null),
            &store,
            "c",
            CancelToken::new(),
            &quiet,
        ))
        .unwrap();
    assert_ne!(
        a.fit.history, c.fit.history,
        "another seed trains another model"
    );

    // Stored and loaded, the model predicts through its schema.
    let key = ArtifactKey::new(ArtifactClass::Model, "digits", "v1");
    store.put(&key, a.model.files, a.model.info).unwrap();
    let model = Registry::builtin()
        .load(store.get(&key).unwrap(), &strata_core::Device::Cpu)
        .unwrap();
    let all = ds.read_all().unwrap();
    let rows: Vec<Vec<f32>> = all
        .features
        .chunks(64)
        .take(20)
        .map(<[f32]>::to_vec)
        .collect();
    let Outputs::Classes(preds) = model.predict(&Inputs::Features(rows)).unwrap() else {
        panic!()
    };
    let correct = preds
        .iter()
        .zip(&all.labels)
        .filter(|(p, l)| p.class as u32 == **l)
        .count();
    assert!(correct >= 18, "{correct}/20");
    assert!((preds[0].probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    assert!(matches!(
        model.predict(&Inputs::Features(vec![vec![0.0; 3]])),
        Err(CoreError::Schema(_))
    ));
    assert!(matches!(
        model.predict(&Inputs::Texts(vec!["hi".into()])),
        Err(CoreError::Schema(_))
    ));
    assert!(matches!(
        model.predict(&Inputs::Features(vec![vec![f32::NAN; 64]])),
        Err(CoreError::Schema(_))
    ));
}

#[test]
fn cancelled_run_resumes_from_checkpoint_and_matches_uninterrupted_run() {
    let ds = digits();
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let registry = Registry::builtin();
    let kind = registry.get("mlp-classifier").unwrap();
    let cfg = TrainConfig {
        epochs: 4,
        checkpoint_every: 25,
        ..config()
    };

    let cancel = CancelToken::new();
    let stopper = cancel.clone();
    let stop_at_60 = move |e: &TrainEvent| {
        if let TrainEvent::Step { step: 60, .. } = e {
            stopper.cancel();
        }
    };
    let err = kind
        .train(request(
            &ds,
            cfg.clone(),
            json!(null),
            &store,
            "job",
            cancel,
            &stop_at_60,
        ))
        .err()
        .unwrap();
    assert!(matches!(err, CoreError::Cancelled { step: 60 }), "{err}");
    // Periodic checkpoints at 25 and 50 plus one on cancellation; only the last two are kept.
    assert_eq!(
        store.versions(ArtifactClass::Checkpoint, "job").unwrap(),
        ["step-000000050", "step-000000060"]
    );

    let resumed_from = Mutex::new(None);
    let watch = |e: &TrainEvent| {
        if let TrainEvent::Started {
            resumed_from_step, ..
        } = e
        {
            *resumed_from.lock().unwrap() = *resumed_from_step;
        }
    };
    let resumed = kind
        .train(request(
            &ds,
            cfg.clone(),
            json!(null),
            &store,
            "job",
            CancelToken::new(),
            &watch,
        ))
        .unwrap();
    assert_eq!(*resumed_from.lock().unwrap(), Some(60));
    assert_eq!(resumed.fit.resumed_from_step, Some(60));
    let straight = kind
        .train(request(
            &ds,
            cfg.clone(),
            json!(null),
            &store,
            "fresh",
            CancelToken::new(),
            &quiet,
        ))
        .unwrap();
    assert_eq!(
        resumed.test, straight.test,
        "resume continues the very same run"
    );
    assert_eq!(resumed.fit.history, straight.fit.history);
    assert!(resumed.test.accuracy > 0.9);

    // A different configuration may not reuse the job's checkpoints.
    let other = TrainConfig {
        learning_rate: 1e-2,
        ..cfg
    };
    let err = kind
        .train(request(
            &ds,
            other,
            json!(null),
            &store,
            "job",
            CancelToken::new(),
            &quiet,
        ))
        .err()
        .unwrap();
    assert!(
        matches!(err, CoreError::Config(ref m) if m.contains("other settings")),
        "{err}"
    );
}

#[test]
fn corrupted_checkpoint_and_model_are_refused() {
    let ds = digits();
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let registry = Registry::builtin();
    let kind = registry.get("mlp-classifier").unwrap();
    let cfg = TrainConfig {
        epochs: 1,
        checkpoint_every: 10,
        ..config()
    };
    let cancel = CancelToken::new();
    let stopper = cancel.clone();
    let stop = move |e: &TrainEvent| {
        if let TrainEvent::Step { step: 10, .. } = e {
            stopper.cancel();
        }
    };
    assert!(
        kind.train(request(
            &ds,
            cfg.clone(),
            json!(null),
            &store,
            "job",
            cancel,
            &stop
        ))
        .is_err()
    );
    let weights = dir
        .path()
        .join("checkpoints/job/step-000000010/params.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&weights, bytes).unwrap();
    let err = kind
        .train(request(
            &ds,
            cfg.clone(),
            json!(null),
            &store,
            "job",
            CancelToken::new(),
            &quiet,
        ))
        .err()
        .unwrap();
    assert!(
        matches!(err, CoreError::Store(StoreError::CorruptFile { .. })),
        "{err}"
    );

    let trained = kind
        .train(request(
            &ds,
            cfg,
            json!(null),
            &store,
            "ok",
            CancelToken::new(),
            &quiet,
        ))
        .unwrap();
    let key = ArtifactKey::new(ArtifactClass::Model, "digits", "v1");
    store
        .put(&key, trained.model.files, trained.model.info)
        .unwrap();
    let manifest = dir.path().join("models/digits/v1/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"mlp-classifier\"", "\"text-encoder\""),
    )
    .unwrap();
    let err = store.get(&key).unwrap_err();
    assert!(matches!(err, StoreError::CorruptManifest { .. }), "{err}");
}

#[test]
fn bad_hyperparameters_and_datasets_are_config_errors() {
    let ds = digits();
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let registry = Registry::builtin();
    let kind = registry.get("mlp-classifier").unwrap();
    let bad_params = json!({"hidden": [0]});
    let err = kind
        .train(request(
            &ds,
            config(),
            bad_params,
            &store,
            "x",
            CancelToken::new(),
            &quiet,
        ))
        .err()
        .unwrap();
    assert!(matches!(err, CoreError::Config(_)), "{err}");
    let typo = json!({"hiden": [10]});
    let err = kind
        .train(request(
            &ds,
            config(),
            typo,
            &store,
            "x",
            CancelToken::new(),
            &quiet,
        ))
        .err()
        .unwrap();
    assert!(err.to_string().contains("hiden"), "{err}");
    let cfg = TrainConfig {
        learning_rate: -1.0,
        ..config()
    };
    let err = kind
        .train(request(
            &ds,
            cfg,
            json!(null),
            &store,
            "x",
            CancelToken::new(),
            &quiet,
        ))
        .err()
        .unwrap();
    assert!(matches!(err, CoreError::Config(_)), "{err}");
    let text = support_requests();
    let err = kind
        .train(request(
            &text,
            config(),
            json!(null),
            &store,
            "x",
            CancelToken::new(),
            &quiet,
        ))
        .err()
        .unwrap();
    assert!(matches!(err, CoreError::Config(_)), "{err}");
    assert!(matches!(
        registry.get("gpt"),
        Err(CoreError::UnknownKind(..))
    ));
}

//! text-ngram-classifier on the shipped support-requests sample: it learns the topics, repeats
//! with the same seed, survives the artifact store, and refuses what it cannot train or serve.

mod common;

use common::*;
use serde_json::json;
use strata_core::{CancelToken, CoreError, Inputs, Outputs, Registry, TrainConfig};
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FsArtifactStore};

const KIND: &str = "text-ngram-classifier";

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 40,
        learning_rate: 0.05,
        checkpoint_every: 0,
        // A fifth held out, so the accuracy bar below is measured on 48 rows.
        split: strata_data::SplitSpec {
            test_fraction: 0.2,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn learns_the_support_topics_and_predicts_after_a_store_round_trip() {
    let ds = support_requests();
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let registry = Registry::builtin();
    let kind = registry.get(KIND).unwrap();
    let train = |job: &str, seed: u64| {
        kind.train(request(
            &ds,
            TrainConfig { seed, ..config() },
            json!(null),
            &store,
            job,
            CancelToken::new(),
            &quiet,
        ))
        .unwrap()
    };
    let a = train("a", 42);
    let b = train("b", 42);
    // 240 rows, a fifth held out for test; four balanced topics, so chance is 0.25.
    assert_eq!(a.test.examples, 48);
    // 0.83 today; bag-of-n-grams on 192 training rows, where the MiniLM head does better.
    assert!(a.test.accuracy >= 0.75, "test accuracy {}", a.test.accuracy);
    assert_eq!(a.test, b.test, "same seed, same metrics");
    assert_eq!(a.fit.history, b.fit.history);

    let key = ArtifactKey::new(ArtifactClass::Model, "topics", "v1");
    store.put(&key, a.model.files, a.model.info).unwrap();
    let model = registry
        .load(store.get(&key).unwrap(), &strata_core::Device::Cpu)
        .unwrap();
    assert_eq!(model.kind(), KIND);
    let texts = [
        "I was charged twice for the same invoice this month",
        "my package still has not arrived and the tracking number shows nothing",
    ];
    let Outputs::Classes(preds) = model
        .predict(&Inputs::Texts(texts.map(String::from).to_vec()))
        .unwrap()
    else {
        panic!("a classifier returns classes")
    };
    let labels: Vec<&str> = preds.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["billing", "shipping"]);
    assert!((preds[0].probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);

    // The declared schema rejects feature vectors before any tensor is built.
    let err = model
        .predict(&Inputs::Features(vec![vec![1.0, 2.0]]))
        .unwrap_err();
    assert!(matches!(err, CoreError::Schema(_)), "{err}");
}

#[test]
fn refuses_bad_hyperparameters_and_datasets_without_text() {
    let registry = Registry::builtin();
    let kind = registry.get(KIND).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(dir.path()).unwrap();
    let text = support_requests();
    for (params, expected) in [
        (json!({ "buckets": 0 }), "buckets"),
        (json!({ "ngrams": 9 }), "ngrams"),
        (json!({ "char_ngrams": 9 }), "char_ngrams"),
        (json!({ "bucket": 64 }), "unknown field"),
    ] {
        let err = kind
            .train(request(
                &text,
                config(),
                params,
                &store,
                "bad",
                CancelToken::new(),
                &quiet,
            ))
            .err()
            .expect("refused");
        assert!(
            matches!(&err, CoreError::Config(m) if m.contains(expected)),
            "{err}"
        );
    }
    let features = digits();
    let err = kind
        .train(request(
            &features,
            config(),
            json!(null),
            &store,
            "digits",
            CancelToken::new(),
            &quiet,
        ))
        .err()
        .expect("refused");
    assert!(
        matches!(&err, CoreError::Config(m) if m.contains("text column")),
        "{err}"
    );
}

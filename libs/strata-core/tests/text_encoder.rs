//! all-MiniLM-L6-v2 imported from the PyPI wheel matches sentence-transformers' embeddings.

mod common;

use common::*;
use strata_core::{CoreError, Inputs, Outputs, Registry, cosine};
use strata_data::{ArtifactClass, ArtifactKey, ArtifactStore, FsArtifactStore};

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

#[test]
fn minilm_matches_sentence_transformers_reference() {
    let Some(dir) = minilm_dir() else { return };
    let reference: Reference = serde_json::from_str(include_str!("fixtures/minilm_reference.json"))
        .expect("fixture parses");
    assert!(reference.sentences.len() >= 50);

    let registry = Registry::builtin();
    let files = registry.get("text-encoder").unwrap().import(&dir).unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    let store = FsArtifactStore::open(store_dir.path()).unwrap();
    let key = ArtifactKey::new(ArtifactClass::Model, "minilm", "v1");
    store.put(&key, files.files, files.info).unwrap();
    let model = registry
        .load(store.get(&key).unwrap(), &strata_core::Device::Cpu)
        .unwrap();

    // The whole set at once (sorted, chunked, padded per chunk) and one by one must both agree.
    let Outputs::Embeddings(batched) = model
        .predict(&Inputs::Texts(reference.sentences.clone()))
        .unwrap()
    else {
        panic!("text-encoder returned no embeddings")
    };
    for (i, (got, want)) in batched.iter().zip(&reference.embeddings).enumerate() {
        assert_eq!(got.len(), 384);
        let c = cosine(got, want);
        assert!(
            c >= 0.999,
            "sentence {i} {:?}: cosine {c}",
            reference.sentences[i]
        );
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not normalised: {norm}");
    }
    for i in [0, 30, 55] {
        let Outputs::Embeddings(one) = model
            .predict(&Inputs::Texts(vec![reference.sentences[i].clone()]))
            .unwrap()
        else {
            panic!()
        };
        assert!(
            cosine(&one[0], &reference.embeddings[i]) >= 0.999,
            "single sentence {i}"
        );
    }
    assert!(matches!(
        model.predict(&Inputs::Features(vec![vec![1.0]])),
        Err(CoreError::Schema(_))
    ));
    let Outputs::Embeddings(none) = model.predict(&Inputs::Texts(vec![])).unwrap() else {
        panic!()
    };
    assert!(none.is_empty());
}

#[test]
fn import_refuses_a_directory_that_is_not_a_bert_model() {
    let dir = tempfile::tempdir().unwrap();
    let kind = Registry::builtin();
    let kind = kind.get("text-encoder").unwrap();
    assert!(matches!(kind.import(dir.path()), Err(CoreError::Config(_))));
    std::fs::write(dir.path().join("config.json"), br#"{"hidden_size": 10}"#).unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), b"{}").unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"nope").unwrap();
    let err = kind.import(dir.path()).err().unwrap();
    assert!(err.to_string().contains("config.json"), "{err}");
}

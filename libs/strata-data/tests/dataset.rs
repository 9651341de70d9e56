//! Datasets against real Parquet files: the shipped samples and small files written per case.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use strata_data::{
    DataError, DatasetLimits, DatasetSchema, Limit, ParquetDataset, SplitSpec, split,
};
use strata_testkit::hostile;

/// A committed sample (a runfile under Bazel; see strata_testkit::repo_path).
fn sample(name: &str) -> PathBuf {
    strata_testkit::repo_path(&format!("libs/strata-data/samples/{name}"))
}

fn write(dir: &Path, name: &str, cols: Vec<(&str, ArrayRef)>) -> PathBuf {
    let path = dir.join(name);
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}

fn f32s(v: &[f32]) -> ArrayRef {
    Arc::new(Float32Array::from(v.to_vec()))
}

fn i64s(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn schema(features: &[&str], label: Option<&str>, classes: &[&str]) -> DatasetSchema {
    DatasetSchema {
        features: features.iter().map(|s| s.to_string()).collect(),
        text: None,
        label: label.map(Into::into),
        classes: classes.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn digits_sample_opens_and_streams_in_batches() {
    let path = sample("digits.parquet");
    let info = ParquetDataset::info(&path).unwrap();
    assert_eq!(info.rows, 1797);
    let features = info.numeric_columns_except(&["label"]);
    assert_eq!(features.len(), 64);
    let schema = DatasetSchema {
        features,
        label: Some("label".into()),
        ..Default::default()
    };
    let ds = ParquetDataset::open(&path, &schema).unwrap();
    assert_eq!(
        ds.classes(),
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
    );

    let mut rows = 0;
    let mut batches = 0;
    for batch in ds.batches(100).unwrap() {
        let batch = batch.unwrap();
        assert!(batch.rows <= 100);
        assert_eq!(batch.features.len(), batch.rows * 64);
        assert!(batch.features.iter().all(|v| (0.0..=16.0).contains(v)));
        rows += batch.rows;
        batches += 1;
    }
    assert_eq!((rows, batches), (1797, 18));
    let all = ds.read_all().unwrap();
    assert_eq!((all.rows, all.labels.len()), (1797, 1797));
    assert_eq!(ds.sha256().unwrap().len(), 64);
}

#[test]
fn support_requests_sample_has_four_string_topics() {
    let schema = DatasetSchema {
        text: Some("text".into()),
        label: Some("topic".into()),
        ..Default::default()
    };
    let ds = ParquetDataset::open(&sample("support_requests.parquet"), &schema).unwrap();
    assert_eq!(
        ds.classes(),
        ["account", "billing", "shipping", "technical"]
    );
    let all = ds.read_all().unwrap();
    assert_eq!(all.texts.len(), 240);
    for c in 0..4 {
        assert_eq!(all.labels.iter().filter(|&&l| l == c).count(), 60);
    }
    let s = split(all.rows, &SplitSpec::default()).unwrap();
    let test = all.select(&s.test);
    assert_eq!(test.texts.len(), s.test.len());
    assert_eq!(test.texts[0], all.texts[s.test[0]]);
}

#[test]
fn missing_column_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.parquet",
        vec![("x", f32s(&[1.0])), ("y", i64s(&[0]))],
    );
    let err = ParquetDataset::open(&p, &schema(&["x", "z"], Some("y"), &[])).unwrap_err();
    assert!(
        matches!(&err, DataError::MissingColumn { column, .. } if column == "z"),
        "{err}"
    );
    assert!(err.to_string().contains("x, y"), "{err}");
}

#[test]
fn wrong_types_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let words: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
    let p = write(
        dir.path(),
        "a.parquet",
        vec![("x", f32s(&[1.0])), ("w", words), ("y", i64s(&[0]))],
    );
    let err = ParquetDataset::open(&p, &schema(&["w"], Some("y"), &[])).unwrap_err();
    assert!(
        matches!(&err, DataError::WrongType { column, .. } if column == "w"),
        "{err}"
    );
    let err = ParquetDataset::open(&p, &schema(&["y"], Some("x"), &[])).unwrap_err();
    assert!(
        matches!(&err, DataError::WrongType { column, .. } if column == "x"),
        "{err}"
    );
    let text_schema = DatasetSchema {
        text: Some("x".into()),
        ..Default::default()
    };
    let err = ParquetDataset::open(&p, &text_schema).unwrap_err();
    assert!(
        matches!(&err, DataError::WrongType { column, .. } if column == "x"),
        "{err}"
    );
}

#[test]
fn nan_and_infinity_are_typed_errors_with_the_row() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bad) in [
        ("nan", f64::NAN),
        ("inf", f64::INFINITY),
        ("overflow", 1e300),
    ] {
        let x: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, bad]));
        let p = write(
            dir.path(),
            &format!("{name}.parquet"),
            vec![("x", x), ("y", i64s(&[0, 1, 0]))],
        );
        let ds = ParquetDataset::open(&p, &schema(&["x"], Some("y"), &[])).unwrap();
        let err = ds.read_all().unwrap_err();
        assert!(
            matches!(&err, DataError::NonFinite { column, row: 2, .. } if column == "x"),
            "{name}: {err}"
        );
    }
}

#[test]
fn nulls_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let x: ArrayRef = Arc::new(Float32Array::from(vec![Some(1.0), None]));
    let p = write(
        dir.path(),
        "a.parquet",
        vec![("x", x), ("y", i64s(&[0, 1]))],
    );
    let ds = ParquetDataset::open(&p, &schema(&["x"], Some("y"), &[])).unwrap();
    assert!(matches!(ds.read_all(), Err(DataError::Null { row: 1, .. })));
}

#[test]
fn empty_table_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.parquet",
        vec![("x", f32s(&[])), ("y", i64s(&[]))],
    );
    let err = ParquetDataset::open(&p, &schema(&["x"], Some("y"), &[])).unwrap_err();
    assert!(matches!(err, DataError::EmptyTable { .. }), "{err}");
}

#[test]
fn labels_out_of_range_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.parquet",
        vec![("x", f32s(&[1.0, 2.0, 3.0])), ("y", i64s(&[0, 1, 5]))],
    );
    let ds = ParquetDataset::open(&p, &schema(&["x"], Some("y"), &["a", "b", "c"])).unwrap();
    let err = ds.read_all().unwrap_err();
    assert!(
        matches!(&err, DataError::LabelOutOfRange { row: 2, classes: 3, label } if label == "5"),
        "{err}"
    );

    let p = write(
        dir.path(),
        "neg.parquet",
        vec![("x", f32s(&[1.0])), ("y", i64s(&[-1]))],
    );
    let err = ParquetDataset::open(&p, &schema(&["x"], Some("y"), &[])).unwrap_err();
    assert!(
        matches!(err, DataError::LabelOutOfRange { row: 0, .. }),
        "{err}"
    );

    let names: ArrayRef = Arc::new(StringArray::from(vec!["cat", "dog", "eel"]));
    let p = write(
        dir.path(),
        "s.parquet",
        vec![("x", f32s(&[1.0, 2.0, 3.0])), ("y", names)],
    );
    let ds = ParquetDataset::open(&p, &schema(&["x"], Some("y"), &["cat", "dog"])).unwrap();
    let err = ds.read_all().unwrap_err();
    assert!(
        matches!(&err, DataError::LabelOutOfRange { row: 2, label, .. } if label == "eel"),
        "{err}"
    );
}

#[test]
fn unreadable_files_and_bad_schemas_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_parquet = dir.path().join("x.parquet");
    std::fs::write(&not_parquet, b"this is not parquet").unwrap();
    let s = schema(&["x"], None, &[]);
    assert!(matches!(
        ParquetDataset::open(&not_parquet, &s),
        Err(DataError::Parquet { .. })
    ));
    assert!(matches!(
        ParquetDataset::open(&dir.path().join("nope"), &s),
        Err(DataError::Io { .. })
    ));
    let p = write(dir.path(), "a.parquet", vec![("x", f32s(&[1.0]))]);
    assert!(matches!(
        ParquetDataset::open(&p, &schema(&[], None, &[])),
        Err(DataError::InvalidSchema(_))
    ));
    assert!(matches!(
        ParquetDataset::open(&p, &schema(&["x"], Some("x"), &[])),
        Err(DataError::InvalidSchema(_))
    ));
}

fn limit_of(err: &DataError) -> Option<Limit> {
    match err {
        DataError::LimitExceeded { limit, .. } => Some(*limit),
        _ => None,
    }
}

#[test]
fn a_huge_integer_label_is_refused_before_any_class_name_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile::huge_label(&dir.path().join("l.parquet"), 4_000_000_000_000);
    let started = std::time::Instant::now();
    let err = ParquetDataset::open(&p, &schema(&["x"], Some("y"), &[])).unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::Classes), "{err}");
    assert!(err.to_string().contains("4000000000001 > 10000"), "{err}");
    assert!(
        started.elapsed().as_secs() < 5,
        "refused without building names"
    );
}

#[test]
fn millions_of_run_length_encoded_rows_are_refused_from_the_footer() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile::many_rows(&dir.path().join("r.parquet"), 5_000_000);
    assert!(
        std::fs::metadata(&p).unwrap().len() < 64 * 1024,
        "a tiny file"
    );
    let s = schema(&["x"], Some("y"), &[]);
    let err = ParquetDataset::open(&p, &s).unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::Rows), "{err}");
    let err = ParquetDataset::info(&p).unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::Rows), "{err}");
    // Within the row limit, the decoded-size limit still holds before decoding.
    let limits = DatasetLimits {
        max_rows: 10_000_000,
        max_decoded_bytes: 8 * 1024 * 1024,
        ..Default::default()
    };
    let err = ParquetDataset::open_limited(&p, &s, &limits).unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::DecodedBytes), "{err}");
    assert!(
        err.to_string().contains("rows of the declared columns"),
        "{err}"
    );
}

#[test]
fn a_schema_nested_beyond_the_limit_is_refused_without_recursing() {
    let dir = tempfile::tempdir().unwrap();
    // Deep enough to overflow the parquet crate's recursive schema builder on any thread stack.
    let p = hostile::deep_nesting(&dir.path().join("n.parquet"), 500_000);
    let err = ParquetDataset::info(&p).unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::NestingDepth), "{err}");
    let err = ParquetDataset::open(&p, &schema(&["leaf"], None, &[])).unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::NestingDepth), "{err}");
    // A shallow file of the same hand-written form is read by the parquet crate itself.
    let shallow = hostile::deep_nesting(&dir.path().join("s.parquet"), 2);
    let info = ParquetDataset::info(&shallow).expect("a shallow nested file reads");
    assert_eq!(info.rows, 0);
}

#[test]
fn one_long_dictionary_string_repeated_is_refused_while_decoding_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // 4,000 rows of one 1 MiB string: a copying reader would take 4 GB for one batch of them.
    let p = hostile::long_strings(&dir.path().join("t.parquet"), 4_000, 1024 * 1024);
    assert!(std::fs::metadata(&p).unwrap().len() < 2 * 1024 * 1024);
    let s = DatasetSchema {
        text: Some("text".into()),
        label: Some("label".into()),
        ..Default::default()
    };
    let ds = ParquetDataset::open(&p, &s).expect("the footer is within limits");
    let err = ds.read_all().unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::StringBytes), "{err}");
    assert!(err.to_string().contains("row 0 of `text`"), "{err}");
    // A long string used as a class name is refused when classes are inferred.
    let labels = DatasetSchema {
        features: vec![],
        text: Some("label".into()),
        label: Some("text".into()),
        classes: vec![],
    };
    let err = ParquetDataset::open(&p, &labels).unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::StringBytes), "{err}");
}

#[test]
fn decoded_values_are_counted_against_the_limit_while_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile::long_strings(&dir.path().join("t.parquet"), 1_000, 1_000);
    let s = DatasetSchema {
        text: Some("text".into()),
        label: Some("label".into()),
        ..Default::default()
    };
    let limits = DatasetLimits {
        max_decoded_bytes: 500_000,
        ..Default::default()
    };
    let ds = ParquetDataset::open_limited(&p, &s, &limits).expect("pages are small");
    let err = ds.read_all().unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::DecodedBytes), "{err}");
    let err = ParquetDataset::open_limited(
        &p,
        &schema(&[], None, &[]),
        &DatasetLimits {
            max_columns: 1,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, DataError::InvalidSchema(_)), "{err}");
    let err = ParquetDataset::info_limited(
        &p,
        &DatasetLimits {
            max_columns: 1,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(limit_of(&err), Some(Limit::Columns), "{err}");
}

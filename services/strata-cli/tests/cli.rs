//! The `strata` binary end to end on the shipped digits sample, in a temporary artifact store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shipped sample (a runfile under Bazel; see strata_testkit::repo_path).
fn digits() -> PathBuf {
    strata_testkit::repo_path("libs/strata-data/samples/digits.parquet")
}

fn strata(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("strata runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn test_accuracy(out: &str) -> f64 {
    out.lines()
        .find(|l| l.contains("accuracy") && !l.contains("val"))
        .and_then(|l| {
            l.split(['│', '┆'])
                .map(str::trim)
                .find_map(|c| c.parse::<f64>().ok())
        })
        .unwrap_or_else(|| panic!("no accuracy row in:\n{out}"))
}

#[test]
fn train_interrupt_resume_eval_predict() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    let data = digits();
    let data = data.to_str().unwrap();
    let train = [
        "train",
        "--kind",
        "mlp-classifier",
        "--dataset",
        data,
        "--name",
        "digits",
        "--label",
        "label",
        "--epochs",
        "12",
        "--lr",
        "0.003",
        "--checkpoint-every",
        "50",
        "--seed",
        "42",
    ];

    // Interrupted as Ctrl-C would: a checkpoint is written and the command fails with advice.
    let mut interrupted = train.to_vec();
    interrupted.extend(["--cancel-after-steps", "120"]);
    let o = strata(store, &interrupted);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("run the same command again to resume"),
        "{}",
        text(&o)
    );

    // The same command again resumes and finishes with a valid model.
    let o = strata(store, &train);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("resumed from step"), "{out}");
    assert!(out.contains("stored models/digits/v1"), "{out}");
    let resumed_acc = test_accuracy(&out);
    assert!(resumed_acc >= 0.96, "{out}");

    // A straight run with the same seed reaches the very same metrics.
    let o = strata(store, &train);
    assert!(o.status.success());
    assert_eq!(test_accuracy(&text(&o)), resumed_acc);

    let o = strata(store, &["eval", "--model", "digits@v1", "--dataset", data]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(test_accuracy(&text(&o)), resumed_acc);

    let o = strata(
        store,
        &[
            "predict",
            "--model",
            "digits",
            "--dataset",
            data,
            "--limit",
            "5",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["classes"].as_array().unwrap().len(), 5);

    let o = strata(
        store,
        &["predict", "--model", "digits", "--features", "1,2,3"],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("expects 64"), "{}", text(&o));

    let o = strata(store, &["models"]);
    assert!(text(&o).contains("mlp-classifier"), "{}", text(&o));
}

#[test]
fn datasets_inspect_reports_columns_and_bad_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let data = digits();
    let data = data.to_str().unwrap();
    let o = strata(
        dir.path(),
        &["datasets", "inspect", data, "--label", "label"],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("1797 rows")
            && out.contains("pixel_7_7")
            && out.contains("64 feature columns"),
        "{out}"
    );

    let o = strata(
        dir.path(),
        &["datasets", "inspect", data, "--label", "nope"],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("column `nope` not found"), "{}", text(&o));

    let o = strata(
        dir.path(),
        &[
            "train",
            "--kind",
            "gpt",
            "--dataset",
            data,
            "--name",
            "x",
            "--label",
            "label",
        ],
    );
    assert!(
        text(&o).contains("unknown model kind `gpt`"),
        "{}",
        text(&o)
    );

    let o = strata(
        dir.path(),
        &[
            "--device",
            "cuda",
            "train",
            "--kind",
            "mlp-classifier",
            "--dataset",
            data,
            "--name",
            "x",
            "--label",
            "label",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("cuda"), "{}", text(&o));
}

/// The way the Kubernetes training Job runs it (infra/k8s/jobs/training): what to train and where
/// to store it come from the environment, logs are JSON lines on stderr.
#[test]
fn train_takes_its_settings_from_the_environment_like_the_training_job() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("artifacts");
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["train", "--label", "label", "--epochs", "1"])
        .env("STRATA_STORE", &store)
        .env("STRATA_TRAIN_DATASET", digits())
        .env("STRATA_TRAIN_KIND", "mlp-classifier")
        .env("STRATA_TRAIN_NAME", "from-env")
        .env("STRATA_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .output()
        .expect("strata runs");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("stored models/from-env/v1"), "{out}");
    assert!(store.join("models/from-env/v1").is_dir());
    let log_lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    // Without a terminal the progress bar is hidden; epochs are reported as log records instead.
    assert!(
        log_lines.iter().any(|l| l["level"] == "INFO"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("epoch   1"))),
        "no JSON epoch record in:\n{out}"
    );
}

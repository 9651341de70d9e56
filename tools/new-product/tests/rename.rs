//! The rename on a small repository shaped like this one (a Cargo workspace with path crates and a
//! lock file, a proto package directory, the mobile app's Expo config, docs, a binary file, ignored
//! local files), product `widget`: what moves, what is rewritten, what is regenerated, and what is
//! refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn binary() -> PathBuf {
    // Cargo sets CARGO_BIN_EXE_<name> to an absolute path; BUILD.bazel sets it to the binary's
    // runfile, relative to the test's working directory. The commands below run it from another
    // `current_dir`, where a relative path names nothing (ENOENT), so it is made absolute first.
    std::path::absolute(env!("CARGO_BIN_EXE_new-product")).expect("new-product's path")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(args)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn write(root: &Path, path: &str, contents: impl AsRef<[u8]>) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, contents).expect("write");
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const BINARY: &[u8] = b"PAR1\0\x01widget\0\xff\xfe";

/// The identity fields of `clients/mobile/app.json` as the repository has them.
const MOBILE_APP_JSON: &str = r#"{
  "expo": {
    "name": "Widget",
    "slug": "widget-mobile",
    "scheme": "widget",
    "ios": { "bundleIdentifier": "dev.widget.mobile" },
    "android": { "package": "dev.widget.mobile" }
  }
}
"#;

/// A committed repository for product `widget`, with a Cargo.lock made by cargo.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"libs/*\", \"services/*\"]\n\n\
         [workspace.metadata.product]\nname = \"widget\"\n\n\
         [workspace.dependencies]\nwidget-core = { path = \"libs/widget-core\" }\n",
    );
    write(
        root,
        "libs/widget-core/Cargo.toml",
        "[package]\nname = \"widget-core\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    );
    write(
        root,
        "libs/widget-core/src/lib.rs",
        "//! widget-core: the core of Widget.\n\npub fn data_dir_var() -> &'static str {\n    \"WIDGET_DATA_DIR\"\n}\n",
    );
    write(
        root,
        "services/widget-cli/Cargo.toml",
        "[package]\nname = \"widget-cli\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [[bin]]\nname = \"widget\"\npath = \"src/main.rs\"\n\n\
         [dependencies]\nwidget-core = { workspace = true }\n",
    );
    write(
        root,
        "services/widget-cli/src/main.rs",
        "fn main() {\n    println!(\"{}\", widget_core::data_dir_var());\n}\n",
    );
    write(
        root,
        "proto/widget/ml/v1/models.proto",
        "syntax = \"proto3\";\npackage widget.ml.v1;\n",
    );
    write(
        root,
        "README.md",
        "# Widget\n\nRun `widget --help`; images are ghcr.io/example/widget-api.\n\
         Started from the widget starter. <!-- new-product: keep -->\n\
         A WiDgEt spelled oddly.\n",
    );
    write(root, "clients/mobile/app.json", MOBILE_APP_JSON);
    write(root, "samples/widget.bin", BINARY);
    write(root, ".gitignore", "/target/\n*.log\n");
    write(
        root,
        "libs/widget-core/local.log",
        "ignored, and moved with its directory\n",
    );
    let lock = Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(root)
        .output()
        .expect("run cargo");
    assert!(lock.status.success(), "cargo generate-lockfile: {lock:?}");
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "widget"]);
    dir
}

fn rename(root: &Path, args: &[&str]) -> (Output, String) {
    let out = Command::new(binary())
        .args(args)
        .current_dir(root)
        .env_remove("BUILD_WORKSPACE_DIRECTORY")
        .output()
        .expect("run new-product");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[test]
fn renames_paths_and_text_regenerates_the_lock_and_is_idempotent() {
    let dir = fixture();
    let root = dir.path();
    let (out, text) = rename(root, &["gizmo"]);
    assert!(out.status.success(), "{text}");

    // Paths: directories move whole (with ignored files), file names change, old paths are gone.
    for moved in [
        "libs/gizmo-core/src/lib.rs",
        "libs/gizmo-core/local.log",
        "services/gizmo-cli/src/main.rs",
        "proto/gizmo/ml/v1/models.proto",
        "samples/gizmo.bin",
    ] {
        assert!(root.join(moved).exists(), "{moved} missing\n{text}");
    }
    for gone in ["libs/widget-core", "services/widget-cli", "proto/widget"] {
        assert!(!root.join(gone).exists(), "{gone} still there");
    }

    // Text: all three spellings, in code, manifests and docs.
    assert!(read(root, "Cargo.toml").contains("name = \"gizmo\""));
    assert!(read(root, "libs/gizmo-core/src/lib.rs").contains("GIZMO_DATA_DIR"));
    assert!(read(root, "libs/gizmo-core/src/lib.rs").contains("the core of Gizmo"));
    assert!(read(root, "services/gizmo-cli/src/main.rs").contains("gizmo_core::"));
    assert!(read(root, "proto/gizmo/ml/v1/models.proto").contains("package gizmo.ml.v1;"));
    let readme = read(root, "README.md");
    assert!(
        readme.starts_with("# Gizmo\n\nRun `gizmo --help`; images are ghcr.io/example/gizmo-api.")
    );
    // The mobile app: display name, slug, URL scheme, iOS bundle id and Android package.
    let app: serde_json::Value =
        serde_json::from_str(&read(root, "clients/mobile/app.json")).expect("app.json is JSON");
    let expo = &app["expo"];
    assert_eq!(expo["name"], "Gizmo");
    assert_eq!(expo["slug"], "gizmo-mobile");
    assert_eq!(expo["scheme"], "gizmo");
    assert_eq!(expo["ios"]["bundleIdentifier"], "dev.gizmo.mobile");
    assert_eq!(expo["android"]["package"], "dev.gizmo.mobile");
    // The marked line and other spellings stay, and are reported.
    assert!(readme.contains("Started from the widget starter."));
    assert!(readme.contains("A WiDgEt spelled oddly."));
    assert!(text.contains("README.md:4"), "{text}");
    assert!(
        text.contains("README.md:5: A WiDgEt spelled oddly."),
        "{text}"
    );
    // Binary files move but are never edited.
    assert_eq!(
        std::fs::read(root.join("samples/gizmo.bin")).expect("bin"),
        BINARY
    );
    assert!(text.contains("samples/gizmo.bin (1)"), "{text}");

    // The lock file was regenerated by cargo: renamed entries, sorted, and accepted as is.
    let lock = read(root, "Cargo.lock");
    let core = lock
        .find("name = \"gizmo-core\"")
        .expect("gizmo-core in lock");
    let cli = lock
        .find("name = \"gizmo-cli\"")
        .expect("gizmo-cli in lock");
    assert!(cli < core, "lock entries not sorted:\n{lock}");
    assert!(!lock.contains("widget"));
    let meta = Command::new("cargo")
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .current_dir(root)
        .output()
        .expect("cargo metadata");
    assert!(meta.status.success(), "{meta:?}");

    // What it did, with counts.
    assert!(
        text.contains("libs/widget-core/ -> libs/gizmo-core/  (2 files)"),
        "{text}"
    );
    assert!(text.contains("edited 9 files"), "{text}");
    assert!(text.contains("ok      Cargo.lock"), "{text}");

    // Idempotent: the same name again changes nothing, even before the rename is committed.
    let status = git(root, &["status", "--porcelain"]);
    let (again, again_text) = rename(root, &["gizmo"]);
    assert!(again.status.success(), "{again_text}");
    assert!(
        again_text.contains("already named `gizmo`; nothing to do"),
        "{again_text}"
    );
    assert_eq!(git(root, &["status", "--porcelain"]), status);

    // And a renamed repository renames again.
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "gizmo"]);
    let (next, next_text) = rename(root, &["zenith", "--no-regen"]);
    assert!(next.status.success(), "{next_text}");
    assert!(read(root, "libs/zenith-core/src/lib.rs").contains("ZENITH_DATA_DIR"));
}

#[test]
fn refuses_a_dirty_tree_and_changes_nothing() {
    let dir = fixture();
    let root = dir.path();
    write(root, "README.md", "# Widget, edited\n");
    let (out, text) = rename(root, &["gizmo"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("uncommitted changes"), "{text}");
    assert!(text.contains("M README.md"), "{text}");
    assert!(root.join("libs/widget-core").exists());

    git(root, &["checkout", "README.md"]);
    write(root, "notes.txt", "untracked\n");
    let (out, text) = rename(root, &["gizmo"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("?? notes.txt"), "{text}");
    assert!(read(root, "Cargo.toml").contains("name = \"widget\""));
}

#[test]
fn refuses_invalid_names_with_the_reason() {
    let dir = fixture();
    let root = dir.path();
    for (name, reason) in [
        ("Gizmo", "use `gizmo`"),
        ("gizmo-ai", "contains `-`"),
        ("gizmo_ai", "contains `_`"),
        ("1gizmo", "start with a letter"),
        ("impl", "Rust keyword"),
        ("public", "Android package"),
    ] {
        let (out, text) = rename(root, &[name]);
        assert_eq!(out.status.code(), Some(2), "{name}: {text}");
        assert!(text.contains(reason), "{name}: {text}");
    }
    assert_eq!(git(root, &["status", "--porcelain"]), "");
}

#[test]
fn refuses_a_rename_onto_existing_paths() {
    let dir = fixture();
    let root = dir.path();
    write(root, "proto/gizmo/README.md", "someone else's\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "clash"]);
    let (out, text) = rename(root, &["gizmo"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("would overwrite existing paths: proto/gizmo"),
        "{text}"
    );
    assert_eq!(git(root, &["status", "--porcelain"]), "");
    assert!(read(root, "Cargo.toml").contains("name = \"widget\""));
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let dir = fixture();
    let root = dir.path();
    let (out, text) = rename(root, &["gizmo", "--dry-run"]);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("proto/widget/ -> proto/gizmo/  (1 files)"),
        "{text}"
    );
    assert!(text.contains("dry run: nothing was changed."), "{text}");
    assert_eq!(git(root, &["status", "--porcelain"]), "");
}

//! Mutation test: plants realistic mistakes in a copy of the fixture repository, one at a time,
//! and asserts `bazel-check check` reports each with a message naming the file it is in.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether this test runs under Bazel (it has a runfiles tree) rather than Cargo.
fn under_bazel() -> bool {
    ["RUNFILES_DIR", "RUNFILES_MANIFEST_FILE", "TEST_SRCDIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// This crate's directory: Cargo runs integration tests in it; `bazel test` runs them in the
/// runfiles tree's `_main`, where the fixtures and schema arrive as the target's `data`.
fn crate_dir() -> PathBuf {
    let cwd = std::env::current_dir().expect("current dir");
    if under_bazel() {
        cwd.join("tools/bazel-check")
    } else {
        cwd
    }
}

/// Copies the fixture tree, dropping the `.fixture` suffix that keeps its Bazel and Cargo
/// files from being seen as part of the real repository, and commits the crate_universe lockfile
/// cargo-bazel renders for it (as `tools/bazel-check/update-lockfiles.sh` does for the repo).
fn copy_fixture(dst: &Path) {
    copy_tree(dst);
    std::fs::copy(
        hubs().join("crates/cargo-bazel-lock.json"),
        dst.join("cargo-bazel-lock.json"),
    )
    .expect("commit the rendered lockfile");
}

/// The fixture's crate_universe hubs, rendered once by cargo-bazel (render-hubs.sh), so
/// `@crates//:defs.bzl` is the generated file itself. cargo-bazel comes from $CARGO_BAZEL, the
/// repository's `.cache/cargo-bazel` (tools/setup installs it there) or PATH.
fn hubs() -> &'static Path {
    static HUBS: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    &HUBS
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = dir.path().join("repo");
            let out = dir.path().join("hubs");
            std::fs::create_dir_all(&root).expect("mkdir");
            copy_tree(&root);
            // Under Bazel .cache is no runfile: $CARGO_BAZEL (env_inherit) or PATH.
            let installed = (!under_bazel())
                .then(|| crate_dir().join("../../.cache/cargo-bazel/bin/cargo-bazel"))
                .filter(|p| p.is_file());
            let cargo_bazel = std::env::var_os("CARGO_BAZEL")
                .map(PathBuf::from)
                .or(installed)
                .unwrap_or_else(|| PathBuf::from("cargo-bazel"));
            let render = Command::new(crate_dir().join("render-hubs.sh"))
                .arg(&root)
                .arg(&out)
                .arg(&cargo_bazel)
                .output()
                .unwrap_or_else(|e| panic!("render-hubs.sh: {e}"));
            assert!(
                render.status.success(),
                "cargo-bazel could not render the fixture's hubs (tools/setup installs cargo-bazel 0.18.0 into .cache/cargo-bazel): {}{}",
                String::from_utf8_lossy(&render.stdout),
                String::from_utf8_lossy(&render.stderr)
            );
            (dir, out)
        })
        .1
}

fn copy_tree(dst: &Path) {
    let src = crate_dir().join("tests/fixtures/repo");
    for e in walkdir::WalkDir::new(&src) {
        let e = e.expect("walk fixture");
        let rel = e.path().strip_prefix(&src).expect("under fixture");
        let rel = rel.to_string_lossy();
        let rel = rel.strip_suffix(".fixture").unwrap_or(&rel);
        let to = dst.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
}

/// The binary under test: Cargo's, or under Bazel the `:cli` runfile.
fn binary() -> PathBuf {
    if let Ok(b) = std::env::var("BAZEL_CHECK_BIN") {
        // A runfile path relative to the test's working directory.
        return std::path::absolute(b).expect("bazel-check's path");
    }
    let bin = option_env!("CARGO_BIN_EXE_bazel-check").unwrap_or_default();
    assert!(
        !bin.is_empty(),
        "run under cargo test, or set BAZEL_CHECK_BIN"
    );
    PathBuf::from(bin)
}

fn run_check(root: &Path) -> (bool, String) {
    let out = Command::new(binary())
        .args(["check", "--root"])
        .arg(root)
        .arg("--hubs")
        .arg(hubs())
        .arg("--schema")
        .arg(crate_dir().join("schema"))
        .output()
        .expect("run bazel-check");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "bazel-check failed to run: {err}"
    );
    (out.status.success(), format!("{text}{err}"))
}

struct Mutation {
    what: &'static str,
    file: &'static str,
    /// Text to replace (must occur) and its replacement; `None` creates the file with `to`.
    from: Option<&'static str>,
    to: &'static str,
    /// Fragment the finding for `file` must contain.
    expect: &'static str,
}

const MUTATIONS: &[Mutation] = &[
    Mutation {
        what: "misspelled attribute",
        file: "libs/strata-core/BUILD.bazel",
        from: Some("    crate_name = \"strata_core\","),
        to: "    crate_nme = \"strata_core\",",
        expect: "no attribute `crate_nme`",
    },
    Mutation {
        what: "wrong attribute type",
        file: "services/strata-api/BUILD.bazel",
        from: Some("    srcs = [\"src/main.rs\"],"),
        to: "    srcs = \"src/main.rs\",",
        expect: "attribute `srcs` is string but must be a list of strings",
    },
    Mutation {
        what: "missing mandatory attribute",
        file: "libs/strata-data/BUILD.bazel",
        from: Some("strata_rust_library("),
        to: "alias(\n    name = \"data\",\n)\n\nstrata_rust_library(",
        expect: "mandatory attribute `actual` is missing",
    },
    Mutation {
        what: "load of a symbol the pinned version lacks",
        file: "services/strata-api/BUILD.bazel",
        from: Some("\"rust_binary\", \"rust_test\")"),
        to: "\"rust_binary\", \"rust_bindgen_library\", \"rust_test\")",
        expect: "`rust_bindgen_library` is not exported by rust/defs.bzl in rules_rust@0.70.0",
    },
    Mutation {
        what: "label to a missing target",
        file: "clients/web/BUILD.bazel",
        from: Some("    data = [\"//services/strata-api\"],"),
        to: "    data = [\"//services/strata-api:server\"],",
        expect: "no target or file `server` in //services/strata-api",
    },
    Mutation {
        what: "@crates label for a crate Cargo does not have",
        file: "libs/strata-core/BUILD.bazel",
        from: Some("[\"//libs/strata-data\"]"),
        to: "[\n        \"//libs/strata-data\",\n        \"@crates//:tokio\",\n    ]",
        expect: "the hub @crates that cargo-bazel renders has no target `tokio`",
    },
    Mutation {
        what: "Rust test without a Bazel target",
        file: "services/strata-api/tests/metrics.rs",
        from: None,
        to: "#[test]\nfn metrics() {\n    assert_eq!(strata_core::total(), 3);\n}\n",
        expect: "",
    },
    Mutation {
        what: "Cargo dependency missing from deps",
        file: "libs/strata-core/BUILD.bazel",
        from: Some("hub_crates(all_crate_deps(normal = True)) + [\"//libs/strata-data\"]"),
        to: "hub_crates(all_crate_deps(normal = True))",
        expect: "strata-core depends on strata-data but the library target `strata-core` does not",
    },
    Mutation {
        what: "upward layer dependency",
        file: "libs/strata-data/BUILD.bazel",
        from: Some("    deps = all_crate_deps(normal = True),"),
        to: "    deps = all_crate_deps(normal = True) + [\"//services/strata-api\"],",
        expect: "(data layer) depends on //services/strata-api:strata-api (api layer)",
    },
    Mutation {
        what: "visibility wider than the layer allows",
        file: "libs/strata-data/BUILD.bazel",
        from: Some("        \"//services:__subpackages__\","),
        to: "        \"//clients:__subpackages__\",\n        \"//services:__subpackages__\",",
        expect: "is visible to //clients",
    },
    Mutation {
        what: "duplicate target name",
        file: "services/strata-api/BUILD.bazel",
        from: Some("    name = \"health_test\","),
        to: "    name = \"strata-api\",",
        expect: "duplicate target name `strata-api`",
    },
    Mutation {
        what: "empty glob",
        file: "libs/strata-core/BUILD.bazel",
        from: Some("glob([\"src/**/*.rs\"])"),
        to: "glob([\"source/**/*.rs\"])",
        expect: "matches no files",
    },
    Mutation {
        what: "unformatted file",
        file: "clients/web/BUILD.bazel",
        from: Some("    size = \"small\",\n    srcs"),
        to: "    size = \"small\",\n\n\n    srcs",
        expect: "[buildifier] not formatted",
    },
    Mutation {
        what: "misspelled module extension tag",
        file: "tools/bazel/rust.MODULE.bazel",
        from: Some("crate.from_cargo("),
        to: "crate.from_cargos(",
        expect: "has no tag class `from_cargos`",
    },
    Mutation {
        what: "load from an undeclared module",
        file: "clients/web/BUILD.bazel",
        from: Some("load(\"@rules_shell//shell:sh_test.bzl\", \"sh_test\")"),
        to: "load(\"@aspect_rules_js//js:defs.bzl\", \"js_test\")\nload(\"@rules_shell//shell:sh_test.bzl\", \"sh_test\")",
        expect: "repository @aspect_rules_js is not declared in MODULE.bazel",
    },
    Mutation {
        what: "all_crate_deps() entries read as strings (they are Labels named <crate>-<version>)",
        file: "tools/bazel/crates.bzl",
        from: Some("dep.name if type(dep) == \"Label\" else str(dep).rsplit(\":\", 1)[-1]"),
        to: "dep.rsplit(\":\", 1)[-1]",
        expect: "rsplit",
    },
    Mutation {
        what: "prost toolchain compiling the well-known types (Timestamp mismatch)",
        file: "tools/prost_toolchain/BUILD.bazel",
        from: Some("    compile_well_known_types = False,\n"),
        to: "",
        expect: "compile_well_known_types defaults to True",
    },
    Mutation {
        what: "test finding a file through Cargo's manifest dir at run time",
        file: "services/strata-api/tests/health.rs",
        from: Some("fn health() {"),
        // Spelt in two halves, so this file does not trip the check it tests.
        to: concat!(
            "fn health() {\n    let _ = std::path::Path::new(env!(\"CARGO_",
            "MANIFEST_DIR\")).join(\"data\");"
        ),
        expect: concat!("reads CARGO_", "MANIFEST_DIR"),
    },
    Mutation {
        what: "web API linking the ML core",
        file: "services/strata-api/BUILD.bazel",
        from: Some("    deps = all_crate_deps(normal = True),"),
        to: "    deps = all_crate_deps(normal = True) + [\"//libs/strata-core\"],",
        expect: "the web API may link only",
    },
    Mutation {
        what: "crate_universe lockfile drifting from Cargo.lock",
        file: "cargo-bazel-lock.json",
        from: Some("\"checksum\": \""),
        to: "\"checksum\": \"0",
        expect: "out of date",
    },
    Mutation {
        what: "malformed visibility label",
        file: "libs/strata-data/BUILD.bazel",
        from: Some("\"//libs:__subpackages__\""),
        to: "\"//libs:__subpackage__\"",
        expect: "did you mean __pkg__ or __subpackages__",
    },
];

#[test]
fn clean_fixture_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_fixture(dir.path());
    let (ok, out) = run_check(dir.path());
    assert!(ok, "the unmutated fixture must pass:\n{out}");
}

#[test]
fn every_planted_mistake_is_caught() {
    let mut missed = Vec::new();
    for m in MUTATIONS {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_fixture(dir.path());
        let path = dir.path().join(m.file);
        match m.from {
            Some(from) => {
                let text = std::fs::read_to_string(&path).expect("read file to mutate");
                assert!(
                    text.contains(from),
                    "{}: fixture text {from:?} not found in {}",
                    m.what,
                    m.file
                );
                std::fs::write(&path, text.replacen(from, m.to, 1)).expect("write mutation");
            }
            None => std::fs::write(&path, m.to).expect("create file"),
        }
        let (ok, out) = run_check(dir.path());
        let caught = !ok
            && out.lines().any(|l| {
                (l.starts_with(&format!("{}:", m.file)) || l.contains(m.file))
                    && l.contains(m.expect)
            });
        if !caught {
            missed.push(format!(
                "{} in {} (want {:?}):\n{out}",
                m.what, m.file, m.expect
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "mutations not caught:\n{}",
        missed.join("\n---\n")
    );
}

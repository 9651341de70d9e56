//! Regenerates what the rename made stale, by rules on what the repository holds rather than a
//! list of today's files:
//!
//! 1. every `Cargo.lock` the rename edited: `cargo update --workspace` next to it (entries are
//!    sorted by name, so renamed crates move);
//!    then, when the repository has `tools/bazel-check/update-lockfiles.sh`, the crate_universe
//!    lockfiles (`cargo-bazel-lock.json`) it renders from them with cargo-bazel;
//! 2. edited Rust files: `cargo fmt --all` (line widths change with the name's length);
//! 3. every `tests/<stem>_drift.rs`: `UPDATE_<STEM>=1 cargo test --workspace --test <stem>_drift`,
//!    the repository's convention for committed generated fixtures (`openapi_drift` writes the
//!    OpenAPI spec);
//! 4. an edited `pnpm-lock.yaml` or `package.json`: `pnpm install` (lockfile importers and
//!    workspace links follow the renamed packages);
//! 5. a root `package.json` with a `gen` script: `pnpm run gen` (the TypeScript client);
//! 6. edited Bazel files: `buildifier --mode=fix --lint=fix` (sorted lists and loads follow the
//!    new names).
//!
//! Offline first (everything is in the local caches after `tools/setup`), then online. Proto
//! stubs are not committed: `proto/build.rs` and `rust_prost_library` generate them at build time
//! from `proto/NAME/`, which the rename moved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::plan::Plan;

/// How one step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Skipped(String),
    /// The error and the command that reproduces it.
    Failed {
        error: String,
        command: String,
    },
}

#[derive(Debug, Clone)]
pub struct StepReport {
    pub what: String,
    pub outcome: Outcome,
}

struct Cmd {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: PathBuf,
}

impl Cmd {
    fn new(program: impl Into<PathBuf>, args: &[&str], dir: &Path) -> Self {
        Cmd {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            dir: dir.to_path_buf(),
        }
    }

    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    fn shown(&self, root: &Path) -> String {
        let mut s = String::new();
        if let Ok(rel) = self.dir.strip_prefix(root)
            && !rel.as_os_str().is_empty()
        {
            s.push_str(&format!("(cd {} && ", rel.display()));
        }
        for (k, v) in &self.env {
            s.push_str(&format!("{k}={v} "));
        }
        let program = self.program.strip_prefix(root).unwrap_or(&self.program);
        s.push_str(&program.display().to_string());
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        if s.starts_with("(cd ") {
            s.push(')');
        }
        s
    }

    /// Runs it; on failure returns the last lines of its output.
    fn run(&self) -> Result<(), String> {
        let out = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("could not start {}: {e}", self.program.display()))?;
        if out.status.success() {
            return Ok(());
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        Err(format!("{}\n{tail}", out.status))
    }
}

/// Runs `primary`; if it fails and there is a `fallback` (the online twin), runs that.
fn attempt(root: &Path, primary: Cmd, fallback: Option<Cmd>) -> Outcome {
    match primary.run() {
        Ok(()) => Outcome::Done,
        Err(first) => match fallback {
            Some(online) => match online.run() {
                Ok(()) => Outcome::Done,
                Err(error) => Outcome::Failed {
                    error,
                    command: online.shown(root),
                },
            },
            None => Outcome::Failed {
                error: first,
                command: primary.shown(root),
            },
        },
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A tool installed into the repository (by `tools/setup` or pnpm), else from PATH.
fn find_tool(root: &Path, local: &[&str], program: &str) -> Option<PathBuf> {
    local
        .iter()
        .map(|l| root.join(l))
        .find(|p| p.is_file())
        .or_else(|| on_path(program))
}

/// Buildifier's `--type` for a Bazel file, or None for other files. Test fixtures keep their
/// Bazel files as `BUILD.bazel.fixture` so Bazel does not load them; they are formatted too.
fn bazel_type(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let name = name.strip_suffix(".fixture").unwrap_or(name);
    match name {
        "BUILD" | "BUILD.bazel" => Some("build"),
        "MODULE.bazel" => Some("module"),
        n if n.ends_with(".MODULE.bazel") => Some("module"),
        n if n.ends_with(".bzl") => Some("bzl"),
        "REPO.bazel" | "WORKSPACE" | "WORKSPACE.bazel" => Some("default"),
        _ => None,
    }
}

/// Runs every step the plan calls for, in `root` (after [`Plan::apply`]); `files` are the
/// tracked paths after the rename. `log` hears each step before it runs.
pub fn regenerate(
    root: &Path,
    plan: &Plan,
    files: &[String],
    log: &mut dyn FnMut(&str),
) -> Vec<StepReport> {
    let edited: Vec<&str> = plan.edits.iter().map(|e| e.new_path.as_str()).collect();
    let cargo = on_path("cargo");
    let mut reports = Vec::new();
    let mut step = |what: String, outcome: Outcome| {
        reports.push(StepReport { what, outcome });
    };
    let no_cargo = || Outcome::Skipped("cargo is not on PATH".into());

    // 1. Lock files of Cargo workspaces.
    for lock in edited.iter().filter(|p| p.ends_with("Cargo.lock")) {
        let dir = Path::new(lock).parent().unwrap_or(Path::new(""));
        let manifest = root.join(dir).join("Cargo.toml");
        let what = format!("{lock} (cargo update --workspace)");
        if !manifest.is_file() {
            step(what, Outcome::Skipped("no Cargo.toml beside it".into()));
            continue;
        }
        let Some(cargo) = &cargo else {
            step(what, no_cargo());
            continue;
        };
        log(&what);
        let dir = root.join(dir);
        let offline = Cmd::new(cargo, &["update", "--workspace", "--offline"], &dir);
        let online = Cmd::new(cargo, &["update", "--workspace"], &dir);
        step(what, attempt(root, offline, Some(online)));
    }

    // 1b. crate_universe lockfiles, rendered from the Cargo workspace the rename changed.
    let script = root.join("tools/bazel-check/update-lockfiles.sh");
    if script.is_file() && edited.iter().any(|p| p.ends_with("Cargo.lock")) {
        let what = "crate_universe lockfiles (tools/bazel-check/update-lockfiles.sh)".to_owned();
        log(&what);
        step(what, attempt(root, Cmd::new(&script, &[], root), None));
    }

    // 2. Rust formatting.
    if edited.iter().any(|p| p.ends_with(".rs")) && root.join("Cargo.toml").is_file() {
        let what = "Rust formatting (cargo fmt --all)".to_owned();
        match &cargo {
            Some(cargo) => {
                log(&what);
                step(
                    what,
                    attempt(root, Cmd::new(cargo, &["fmt", "--all"], root), None),
                );
            }
            None => step(what, no_cargo()),
        }
    }

    // 3. Committed fixtures written by `*_drift` tests.
    for test in files.iter().filter(|p| p.ends_with("_drift.rs")) {
        let Some(stem) = Path::new(test)
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|_| test.contains("tests/"))
        else {
            continue;
        };
        let var = format!("UPDATE_{}", stem.trim_end_matches("_drift").to_uppercase());
        let what = format!("fixture of {test} ({var}=1 cargo test; compiles the crate)");
        let Some(cargo) = &cargo else {
            step(what, no_cargo());
            continue;
        };
        log(&what);
        let cmd = Cmd::new(
            cargo,
            &["test", "--workspace", "--locked", "--test", stem],
            root,
        )
        .env(&var, "1");
        step(what, attempt(root, cmd, None));
    }

    // 4 and 5. The pnpm workspace and JS code generated from committed specs.
    let js_edited = edited
        .iter()
        .any(|p| p.ends_with("pnpm-lock.yaml") || p.ends_with("package.json"));
    let pnpm = find_tool(root, &[".cache/tools/node_modules/.bin/pnpm"], "pnpm");
    if js_edited && root.join("pnpm-lock.yaml").is_file() {
        let installed = root.join("node_modules").is_dir();
        let what = if installed {
            "pnpm-lock.yaml and node_modules (pnpm install)"
        } else {
            "pnpm-lock.yaml (pnpm install --lockfile-only)"
        }
        .to_owned();
        match &pnpm {
            Some(pnpm) => {
                log(&what);
                // CI=true makes pnpm default to a frozen lockfile; this step exists to change it.
                let mut args = vec!["install", "--no-frozen-lockfile"];
                if !installed {
                    args.push("--lockfile-only");
                }
                let online = Cmd::new(pnpm, &args, root);
                args.push("--offline");
                let offline = Cmd::new(pnpm, &args, root);
                step(what, attempt(root, offline, Some(online)));
            }
            None => step(
                what,
                Outcome::Skipped("pnpm not found (run tools/setup)".into()),
            ),
        }
    }
    let has_gen = std::fs::read(root.join("package.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|p| p["scripts"]["gen"].is_string());
    if has_gen {
        let what = "generated JS code (pnpm run gen)".to_owned();
        match &pnpm {
            Some(_) if !root.join("node_modules").is_dir() => step(
                what,
                Outcome::Skipped("no node_modules (run tools/setup, then pnpm run gen)".into()),
            ),
            Some(pnpm) => {
                log(&what);
                step(
                    what,
                    attempt(root, Cmd::new(pnpm, &["run", "gen"], root), None),
                );
            }
            None => step(
                what,
                Outcome::Skipped("pnpm not found (run tools/setup)".into()),
            ),
        }
    }

    // 6. Bazel formatting, per file type.
    let mut by_type: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &edited {
        if let Some(t) = bazel_type(p) {
            by_type.entry(t).or_default().push(p);
        }
    }
    if !by_type.is_empty() {
        let what = "Bazel formatting (buildifier --mode=fix --lint=fix)".to_owned();
        match find_tool(root, &["node_modules/.bin/buildifier"], "buildifier") {
            Some(buildifier) => {
                log(&what);
                let mut outcome = Outcome::Done;
                for (kind, paths) in by_type {
                    let mut args = vec!["--mode=fix", "--lint=fix"];
                    let type_arg = format!("--type={kind}");
                    args.push(&type_arg);
                    args.extend(paths);
                    let result = attempt(root, Cmd::new(&buildifier, &args, root), None);
                    if result != Outcome::Done {
                        outcome = result;
                        break;
                    }
                }
                step(what, outcome);
            }
            None => step(
                what,
                Outcome::Skipped("buildifier not found (run tools/setup)".into()),
            ),
        }
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::bazel_type;

    #[test]
    fn knows_bazel_files_and_their_fixtures() {
        assert_eq!(bazel_type("libs/x/BUILD.bazel"), Some("build"));
        assert_eq!(bazel_type("t/fixtures/BUILD.bazel.fixture"), Some("build"));
        assert_eq!(bazel_type("tools/bazel/rust.MODULE.bazel"), Some("module"));
        assert_eq!(bazel_type("tools/bazel/cuda/defs.bzl"), Some("bzl"));
        assert_eq!(bazel_type("README.md"), None);
    }
}

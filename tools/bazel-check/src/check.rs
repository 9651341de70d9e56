//! One run of the checker: evaluate everything, then run every check.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::checks::{self, Edge};
use crate::eval::{CheckHost, eval_module_file, host_of_box};
use crate::model::{Finding, Graph};
use crate::schema::SchemaSet;
use crate::values::HostBox;

pub struct Options {
    pub root: PathBuf,
    pub schema_dir: PathBuf,
    pub buildifier: bool,
    pub cargo: bool,
    /// crate_universe hubs rendered by `render-hubs.sh`; `None` answers `@crates//:defs.bzl`
    /// from `cargo metadata` instead (a model).
    pub hubs: Option<PathBuf>,
}

pub struct Outcome {
    pub graph: Graph,
    pub edges: Vec<Edge>,
    pub findings: Vec<Finding>,
}

/// Bazel files of the tree: tracked and untracked-but-not-ignored files in a git checkout,
/// otherwise a walk that skips what Bazel ignores.
pub fn bazel_files(root: &Path, host: &CheckHost) -> Vec<String> {
    let is_bazel = |p: &str| {
        let name = p.rsplit('/').next().unwrap_or(p);
        name == "BUILD" || name.ends_with(".bazel") || name.ends_with(".bzl")
    };
    let git = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .output();
    let in_git = Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|top| top.canonicalize().ok() == root.canonicalize().ok());
    let mut files: Vec<String> = match git {
        Ok(o) if in_git && o.status.success() => String::from_utf8_lossy(&o.stdout)
            .split('\0')
            .filter(|p| !p.is_empty() && is_bazel(p) && root.join(p).is_file())
            .map(str::to_owned)
            .collect(),
        _ => walkdir::WalkDir::new(root)
            .into_iter()
            .filter_entry(|e| {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                rel.is_empty()
                    || !(host.ignored.iter().any(|i| rel.split('/').any(|c| c == i))
                        || rel.starts_with("bazel-")
                        || rel.split('/').any(|c| c == "target" || c == "node_modules"))
            })
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                e.path()
                    .strip_prefix(root)
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned())
            })
            .filter(|p| is_bazel(p))
            .collect(),
    };
    files.retain(|f| !f.split('/').any(|c| c == "fixtures" || c == "node_modules"));
    files.sort();
    files
}

pub fn run(opts: &Options) -> anyhow::Result<Outcome> {
    let schemas = SchemaSet::load_dir(&opts.schema_dir)?;
    let cargo = if opts.cargo && opts.root.join("Cargo.toml").is_file() {
        Some(crate::cargo::load(&opts.root).context("reading the Cargo workspace")?)
    } else {
        None
    };
    let hb = HostBox(Box::new(CheckHost::new(
        &opts.root,
        schemas,
        cargo,
        opts.hubs.clone(),
    )));
    let host = host_of_box(&hb);
    let files = bazel_files(&opts.root, host);
    if opts.root.join("MODULE.bazel").is_file() {
        eval_module_file(host, &hb, "MODULE.bazel");
        host.state.borrow_mut().module_file.clear();
    } else {
        host.state.borrow_mut().graph.findings.push(Finding {
            file: "MODULE.bazel".into(),
            line: 1,
            check: "module",
            msg: "missing; the repository root needs a MODULE.bazel".into(),
        });
    }
    for f in &files {
        let name = f.rsplit('/').next().unwrap_or(f);
        if name == "BUILD.bazel" || name == "BUILD" {
            let pkg = f.rsplit_once('/').map(|x| x.0).unwrap_or("").to_owned();
            host.eval_build(&hb, &pkg, f);
        }
    }
    // `.bzl` files no BUILD file loads still have to evaluate.
    for f in files.iter().filter(|f| f.ends_with(".bzl")) {
        let seen = host.state.borrow().graph.bzl_files.contains(f);
        if !seen {
            host.eval_bzl_public(&hb, f);
        }
    }
    let graph = std::mem::take(&mut host.state.borrow_mut().graph);
    let mut findings = graph.findings.clone();
    let (label_findings, edges) = checks::check_labels(host, &graph);
    findings.extend(label_findings);
    findings.extend(checks::check_layers(&graph, &edges));
    findings.extend(checks::check_visibility(&graph));
    findings.extend(checks::check_visibility_labels(&graph));
    findings.extend(checks::check_lockfiles(host, &graph));
    findings.extend(checks::check_prost_toolchains(&graph));
    if let Some(cargo) = &host.cargo {
        findings.extend(checks::check_cargo(host, &graph, cargo));
        findings.extend(checks::check_test_paths(host, cargo));
    }
    if opts.buildifier {
        findings.extend(crate::buildifier::check(&opts.root, &files)?);
    }
    findings.sort();
    findings.dedup();
    Ok(Outcome {
        graph,
        edges,
        findings,
    })
}

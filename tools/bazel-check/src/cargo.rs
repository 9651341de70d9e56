//! The Cargo side of the Cargo ↔ Bazel agreement, read once per run from `cargo metadata`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value as J;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

#[derive(Debug, Clone)]
pub struct Dep {
    /// Package name (what `@crates//:name` uses).
    pub name: String,
    pub kind: DepKind,
    /// Directory of a workspace path dependency, relative to the workspace root.
    pub path: Option<String>,
    pub optional: bool,
    /// Only for some targets (`[target.'cfg(..)'.dependencies]`).
    pub platform_specific: bool,
}

#[derive(Debug, Clone)]
pub struct CargoTarget {
    pub name: String,
    pub kinds: Vec<String>,
    /// Source path relative to the member directory.
    pub src: String,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// Directory relative to the workspace root (the Bazel package).
    pub dir: String,
    pub targets: Vec<CargoTarget>,
    pub deps: Vec<Dep>,
}

impl Member {
    pub fn lib(&self) -> Option<&CargoTarget> {
        self.targets.iter().find(|t| {
            t.kinds
                .iter()
                .any(|k| k == "lib" || k == "rlib" || k == "proc-macro")
        })
    }
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a CargoTarget> + 'a {
        self.targets
            .iter()
            .filter(move |t| t.kinds.iter().any(|k| k == kind))
    }
}

#[derive(Debug, Clone, Default)]
pub struct CargoInfo {
    pub members: Vec<Member>,
    /// Every dependency name any manifest of the workspace declares (what `@crates//:` may name).
    pub dep_names: BTreeSet<String>,
    /// Third-party crates known to be proc-macros (empty when only `--no-deps` metadata worked).
    pub proc_macros: BTreeSet<String>,
}

impl CargoInfo {
    pub fn member_by_dir(&self, dir: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.dir == dir)
    }
}

fn run_metadata(root: &Path, extra: &[&str]) -> anyhow::Result<J> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1"])
        .args(extra)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Runs `cargo metadata` once. The full graph (offline, locked) tells which crates are
/// proc-macros; without a usable lock file it falls back to the manifests alone.
pub fn load(root: &Path) -> anyhow::Result<CargoInfo> {
    let meta = match run_metadata(root, &["--offline", "--locked"]) {
        Ok(m) => m,
        Err(_) => run_metadata(root, &["--no-deps", "--offline"])?,
    };
    let ws_root = meta["workspace_root"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    let rel = |p: &str| -> String {
        p.strip_prefix(&ws_root)
            .unwrap_or(p)
            .trim_start_matches('/')
            .to_owned()
    };
    let mut info = CargoInfo::default();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let id = p["id"].as_str().unwrap_or_default();
        if !members.contains(id) {
            let is_pm = p["targets"].as_array().into_iter().flatten().any(|t| {
                t["kind"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k == "proc-macro")
            });
            if is_pm {
                info.proc_macros
                    .insert(p["name"].as_str().unwrap_or_default().to_owned());
            }
            continue;
        }
        let manifest = p["manifest_path"].as_str().unwrap_or_default();
        let dir_abs = manifest
            .trim_end_matches("Cargo.toml")
            .trim_end_matches('/');
        let dir = rel(dir_abs);
        let targets = p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| CargoTarget {
                name: t["name"].as_str().unwrap_or_default().to_owned(),
                kinds: t["kind"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect(),
                src: t["src_path"]
                    .as_str()
                    .unwrap_or_default()
                    .strip_prefix(dir_abs)
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_owned(),
            })
            .collect();
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| Dep {
                name: d["name"].as_str().unwrap_or_default().to_owned(),
                kind: match d["kind"].as_str() {
                    Some("dev") => DepKind::Dev,
                    Some("build") => DepKind::Build,
                    _ => DepKind::Normal,
                },
                path: d["path"].as_str().map(rel),
                optional: d["optional"].as_bool().unwrap_or(false),
                platform_specific: !d["target"].is_null(),
            })
            .collect::<Vec<_>>();
        for d in &deps {
            info.dep_names.insert(d.name.clone());
        }
        info.members.push(Member {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            dir,
            targets,
            deps,
        });
    }
    // `[workspace.dependencies]` entries are valid hub names too, used or not.
    if let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) {
        let mut in_ws_deps = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with('[') {
                in_ws_deps = t == "[workspace.dependencies]";
                continue;
            }
            if in_ws_deps && let Some((k, _)) = t.split_once('=') {
                let k = k.trim();
                if !k.is_empty() && !k.starts_with('#') {
                    info.dep_names.insert(k.trim_matches('"').to_owned());
                }
            }
        }
    }
    info.members.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(info)
}

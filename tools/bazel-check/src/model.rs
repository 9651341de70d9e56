//! What evaluation produces: targets per package, module facts, and findings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as J;

/// One problem, reported as `file:line: [check] message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub check: &'static str,
    pub msg: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: [{}] {}",
            self.file, self.line, self.check, self.msg
        )
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub package: String,
    pub name: String,
    /// Rule or macro name as called (`rust_library`, `filegroup`, `npm:npm_link_all_packages`).
    pub kind: String,
    /// `module` of the loaded symbol (`rules_rust`), `bazel` for native, `local` for repo macros.
    pub origin: String,
    pub file: String,
    pub line: usize,
    /// Attributes as JSON; labels are strings as written.
    pub attrs: BTreeMap<String, J>,
    /// Attributes whose values are labels (from the schema), so edges can be drawn.
    pub label_attrs: BTreeSet<String>,
    /// Created by an external macro whose expansion we cannot see: labels `:name<suffix>` are
    /// assumed to exist.
    pub opaque_expansion: bool,
    pub test: bool,
}

impl Target {
    pub fn label(&self) -> String {
        format!("//{}:{}", self.package, self.name)
    }

    pub fn str_attr(&self, n: &str) -> Option<&str> {
        self.attrs.get(n).and_then(|v| v.as_str())
    }

    /// All strings of a list attribute, including every `select()` branch.
    pub fn strings(&self, n: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(v) = self.attrs.get(n) {
            collect_strings(v, &mut out);
        }
        out
    }
}

pub fn collect_strings(v: &J, out: &mut Vec<String>) {
    match v {
        J::String(s) => out.push(s.clone()),
        J::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        J::Object(m) => {
            if let Some(parts) = m.get("$select") {
                match parts {
                    J::Array(ps) => ps.iter().for_each(|p| collect_strings(p, out)),
                    J::Object(branches) => branches.values().for_each(|b| collect_strings(b, out)),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Label keys of dict-typed attributes (`label_keyed_string_dict`).
pub fn collect_keys(v: &J, out: &mut Vec<String>) {
    if let J::Object(m) = v {
        if m.contains_key("$select") {
            if let Some(J::Array(ps)) = m.get("$select") {
                ps.iter().for_each(|p| collect_keys(p, out));
            }
            if let Some(J::Object(br)) = m.get("$select") {
                br.values().for_each(|b| collect_keys(b, out));
            }
        } else {
            out.extend(m.keys().cloned());
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Package {
    pub path: String,
    pub build_file: String,
    pub targets: BTreeMap<String, Target>,
    pub default_visibility: Option<Vec<String>>,
    pub exported_files: BTreeSet<String>,
    /// Outputs declared by rules (`genrule` outs), resolvable as labels.
    pub outputs: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct BazelDep {
    pub name: String,
    pub version: String,
    pub repo_name: String,
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct ExtensionUse {
    pub bzl_file: String,
    pub name: String,
    pub file: String,
    pub line: usize,
    /// Names in `use_repo`.
    pub repos: Vec<String>,
    /// Hub names created by tags (`crate.from_cargo(name = ...)`, `npm.npm_translate_lock(name = ...)`).
    pub created: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ModuleFacts {
    pub name: Option<String>,
    pub deps: Vec<BazelDep>,
    pub extensions: Vec<ExtensionUse>,
    /// (label, file, line) of `register_toolchains`.
    pub toolchains: Vec<(String, String, usize)>,
    /// Files evaluated as MODULE.bazel or an `include()`d segment.
    pub files: Vec<String>,
    /// `crate.from_cargo` hubs: name → (manifest labels).
    pub crate_hubs: BTreeMap<String, Vec<String>>,
    /// `crate.spec(package = ...)` per hub (`from_specs` hubs), keyed by repository name;
    /// the key "" holds specs without `repositories`.
    pub crate_specs: BTreeMap<String, BTreeSet<String>>,
    /// `lockfile =` of `crate.from_cargo` / `from_specs` hubs: hub → (label, file, line).
    pub crate_lockfiles: BTreeMap<String, (String, String, usize)>,
    /// Hubs made by `crate.from_specs` rather than from the Cargo workspace.
    pub spec_hubs: BTreeSet<String>,
    /// `npm.npm_translate_lock` hubs.
    pub npm_hubs: BTreeSet<String>,
    /// (label, file, line) seen in MODULE files, resolved later.
    pub labels: Vec<(String, String, usize)>,
}

impl ModuleFacts {
    /// Apparent repository names visible to the main module.
    pub fn visible_repos(&self) -> BTreeSet<String> {
        let mut s: BTreeSet<String> = self.deps.iter().map(|d| d.repo_name.clone()).collect();
        for e in &self.extensions {
            s.extend(e.repos.iter().cloned());
        }
        s.insert("bazel_tools".into());
        s.insert("local_config_platform".into());
        if let Some(n) = &self.name {
            s.insert(n.clone());
        }
        s
    }

    pub fn dep_by_repo(&self, repo: &str) -> Option<&BazelDep> {
        self.deps.iter().find(|d| d.repo_name == repo)
    }
}

/// Everything the evaluation learnt.
#[derive(Debug, Default)]
pub struct Graph {
    pub module: ModuleFacts,
    pub packages: BTreeMap<String, Package>,
    pub findings: Vec<Finding>,
    /// (package, glob patterns, file, line) of globs that matched nothing.
    pub bzl_files: Vec<String>,
}

impl Graph {
    pub fn target(&self, package: &str, name: &str) -> Option<&Target> {
        self.packages.get(package).and_then(|p| p.targets.get(name))
    }

    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.packages.values().flat_map(|p| p.targets.values())
    }
}

//! Checks on the evaluated graph: labels, Cargo ↔ Bazel agreement, layers and visibility.

use std::collections::{BTreeMap, BTreeSet};

use crate::cargo::{CargoInfo, DepKind, Member};
use crate::eval::{CheckHost, closest};
use crate::label::Label;
use crate::model::{Finding, Graph, Target, collect_keys, collect_strings};

/// A resolved dependency edge between two targets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub attr: String,
}

fn f(file: &str, line: usize, check: &'static str, msg: String) -> Finding {
    Finding {
        file: file.to_owned(),
        line,
        check,
        msg,
    }
}

pub enum Resolved {
    /// A target of this repository: (package, name).
    Target(String, String),
    /// A source file, output or external label that exists.
    Ok,
}

/// Resolves a label written in `from_pkg`.
pub fn resolve(
    host: &CheckHost,
    g: &Graph,
    text: &str,
    from_pkg: &str,
) -> Result<Resolved, String> {
    let Some(l) = Label::parse(text, from_pkg) else {
        return Err(format!("`{text}` is not a label"));
    };
    if let Some(repo) = &l.repo
        && g.module.name.as_deref() != Some(repo.as_str())
    {
        return resolve_external(host, g, &l, repo);
    }
    let Some(pkg) = g.packages.get(&l.package) else {
        let hint = if l.package.is_empty() {
            "the repository root has no BUILD.bazel; add one, e.g. with exports_files([\"Cargo.toml\", \"Cargo.lock\"])"
        } else if host.root.join(&l.package).is_dir() {
            "the directory has no BUILD.bazel"
        } else {
            "the directory does not exist"
        };
        return Err(format!("`{text}`: no package //{} ({hint})", l.package));
    };
    if pkg.targets.contains_key(&l.name) {
        return Ok(Resolved::Target(l.package.clone(), l.name.clone()));
    }
    if pkg.outputs.contains(&l.name) || pkg.exported_files.contains(&l.name) {
        return Ok(Resolved::Ok);
    }
    // Targets an external macro may have created (`ts_project` → `name_types`, npm links).
    for t in pkg.targets.values().filter(|t| t.opaque_expansion) {
        if let Some(rest) = l.name.strip_prefix(&t.name)
            && rest.starts_with(['/', '_', '.', '-'])
        {
            return Ok(Resolved::Target(l.package.clone(), t.name.clone()));
        }
    }
    let path = host.root.join(&l.package).join(&l.name);
    if path.exists() {
        // A file below a subpackage belongs to that subpackage.
        let mut dir = l.package.clone();
        let comps: Vec<&str> = l.name.split('/').collect();
        for c in &comps[..comps.len().saturating_sub(1)] {
            dir = if dir.is_empty() {
                (*c).to_owned()
            } else {
                format!("{dir}/{c}")
            };
            if host.is_package_dir(&dir) {
                return Err(format!(
                    "`{text}` crosses into package //{dir}; write //{dir}:{}",
                    l.name.trim_start_matches(&format!(
                        "{}/",
                        dir.trim_start_matches(&format!("{}/", l.package))
                    ))
                ));
            }
        }
        return Ok(Resolved::Ok);
    }
    let hint = closest(&l.name, pkg.targets.keys())
        .map(|c| format!("; did you mean :{c}?"))
        .unwrap_or_default();
    Err(format!(
        "`{text}`: no target or file `{}` in //{}{hint}",
        l.name, l.package
    ))
}

/// The crate a hub target names: the generated hub's aliases are `<crate>-<version>`
/// (`candle-core-0.11.1`, what `all_crate_deps()` returns) and `<crate>`.
pub fn hub_crate_name(target: &str, crates: &BTreeSet<String>) -> String {
    if crates.contains(target) {
        return target.to_owned();
    }
    let mut at = target.len();
    while let Some(i) = target[..at].rfind('-') {
        let (name, version) = (&target[..i], &target[i + 1..]);
        if version.starts_with(|c: char| c.is_ascii_digit()) && crates.contains(name) {
            return name.to_owned();
        }
        at = i;
    }
    target.to_owned()
}

/// Each lockfile MODULE.bazel wires into a hub (`lockfile =`) must be the one cargo-bazel writes
/// for today's Cargo.toml and Cargo.lock (`--hubs`): Bazel renders from the committed file and
/// only repins when its digest (over the manifests and config, not Cargo.lock) changes, so a
/// stale one would silently build yesterday's crates.
pub fn check_lockfiles(host: &CheckHost, g: &Graph) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(hubs) = &host.hubs else {
        return out;
    };
    for (hub, (label, file, line)) in &g.module.crate_lockfiles {
        let Some(l) = Label::parse(label, "") else {
            continue;
        };
        let path = if l.package.is_empty() {
            l.name.clone()
        } else {
            format!("{}/{}", l.package, l.name)
        };
        let rendered = hubs.join(hub).join("cargo-bazel-lock.json");
        let Ok(want) = std::fs::read(&rendered) else {
            out.push(f(file, *line, "lockfile", format!(
                "hub `{hub}` wires in {path}, but cargo-bazel rendered no lockfile for it ({}); run tools/bazel-check/render-hubs.sh", rendered.display())));
            continue;
        };
        match std::fs::read(host.root.join(&path)) {
            Ok(have) if have == want => {}
            Ok(_) => out.push(f(&path, 1, "lockfile", format!(
                "out of date: cargo-bazel 0.18.0 renders a different lockfile for hub `{hub}` from today's Cargo.toml/Cargo.lock; run `tools/bazel-check/update-lockfiles.sh` and commit {path} (MODULE: {file}:{line})"))),
            Err(e) => out.push(f(file, *line, "lockfile", format!(
                "hub `{hub}`: lockfile {path} cannot be read ({e}); run `tools/bazel-check/update-lockfiles.sh`"))),
        }
    }
    out
}

fn resolve_external(
    host: &CheckHost,
    g: &Graph,
    l: &Label,
    repo: &str,
) -> Result<Resolved, String> {
    // A hub cargo-bazel rendered: its BUILD.bazel says which targets exist, as it does for Bazel.
    if let Some(names) = host.hub_targets(repo) {
        let target = if l.package.is_empty() {
            l.name.clone()
        } else {
            format!("{}/{}", l.package, l.name)
        };
        if names.contains(&target) {
            return Ok(Resolved::Ok);
        }
        let near = closest(&target, names.iter())
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "`{l}`: the hub @{repo} that cargo-bazel renders has no target `{target}`{near}"
        ));
    }
    if g.module.spec_hubs.contains(repo) {
        let base = l.name.split("__").next().unwrap_or(&l.name);
        let specs: BTreeSet<&String> = g
            .module
            .crate_specs
            .get(repo)
            .into_iter()
            .chain(g.module.crate_specs.get(""))
            .flatten()
            .collect();
        if !l.name.ends_with(".bzl") && !specs.contains(&base.to_owned()) {
            return Err(format!(
                "`{l}`: the from_specs hub @{repo} has no crate.spec(package = \"{base}\")"
            ));
        }
        return Ok(Resolved::Ok);
    }
    if g.module.crate_hubs.contains_key(repo) {
        if let Some(cargo) = &host.cargo {
            let base = l.name.split("__").next().unwrap_or(&l.name);
            let is_file = l.name.ends_with(".bzl") || l.name == "defs.bzl";
            if !is_file && !cargo.dep_names.contains(base) {
                let near = closest(base, cargo.dep_names.iter())
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "`{l}`: no Cargo manifest of the workspace depends on `{base}`{near}; add it to [workspace.dependencies] and the crate's Cargo.toml, or drop the label"
                ));
            }
        }
        return Ok(Resolved::Ok);
    }
    if g.module.visible_repos().contains(repo) {
        return Ok(Resolved::Ok);
    }
    Err(format!(
        "`{l}`: repository @{repo} is not visible; add bazel_dep(name = \"{repo}\", ...) or use_repo(<extension>, \"{repo}\") to MODULE.bazel"
    ))
}

/// Labels each target points at, with their attribute.
fn target_labels(t: &Target) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in &t.label_attrs {
        if let Some(v) = t.attrs.get(a) {
            let mut ss = Vec::new();
            collect_strings(v, &mut ss);
            if ss.is_empty() {
                collect_keys(v, &mut ss);
            } else if v.is_object() && !v.as_object().is_some_and(|m| m.contains_key("$select")) {
                // label_keyed_string_dict: keys are the labels.
                ss.clear();
                collect_keys(v, &mut ss);
            }
            out.extend(ss.into_iter().map(|s| (a.clone(), s)));
        }
    }
    out
}

pub fn check_labels(host: &CheckHost, g: &Graph) -> (Vec<Finding>, Vec<Edge>) {
    let mut out = Vec::new();
    let mut edges = Vec::new();
    for t in g.targets() {
        for (attr, text) in target_labels(t) {
            match resolve(host, g, &text, &t.package) {
                Ok(Resolved::Target(p, n)) => edges.push(Edge {
                    from: t.label(),
                    to: format!("//{p}:{n}"),
                    attr,
                }),
                Ok(Resolved::Ok) => {
                    if let Some(l) = Label::parse(&text, &t.package)
                        && !l.is_main()
                    {
                        edges.push(Edge {
                            from: t.label(),
                            to: l.to_string(),
                            attr,
                        });
                    }
                }
                Err(msg) => out.push(f(
                    &t.file,
                    t.line,
                    "labels",
                    format!("{} `{}` attribute `{attr}`: {msg}", t.kind, t.name),
                )),
            }
        }
    }
    for (text, file, line) in g.module.toolchains.iter().chain(g.module.labels.iter()) {
        let text = text.trim_end_matches(":all").trim_end_matches("/...");
        let l = Label::parse(text, "");
        let pkg_only = l
            .as_ref()
            .is_some_and(|l| l.is_main() && !g.packages.contains_key(&l.package));
        if pkg_only {
            let p = l.map(|l| l.package).unwrap_or_default();
            let hint = if p.is_empty() {
                " (the repository root has no BUILD.bazel; add one, e.g. with exports_files([\"Cargo.toml\", \"Cargo.lock\"]))"
            } else {
                ""
            };
            out.push(f(
                file,
                *line,
                "labels",
                format!("`{text}`: no package //{p}{hint}"),
            ));
            continue;
        }
        if let Err(msg) = resolve(host, g, text, "") {
            out.push(f(file, *line, "labels", msg));
        }
    }
    edges.sort();
    edges.dedup();
    (out, edges)
}

// ---- layers -------------------------------------------------------------------------------

/// Layer of a package: (name, rank). Ranks order the layers bottom-up; `contracts` (proto/) is
/// usable by the services and clients only. `None`: tools/, infra/ and the root are unlayered.
pub fn layer(pkg: &str) -> Option<(&'static str, u8)> {
    let first = pkg.split('/').next().unwrap_or("");
    let second = pkg.split('/').nth(1).unwrap_or("");
    match (first, second) {
        ("proto", _) => Some(("contracts", 2)),
        ("libs", "strata-data" | "strata-meta") => Some(("data", 0)),
        ("libs", _) => Some(("core", 1)),
        ("services", "strata-ml") => Some(("ml service", 2)),
        ("services", "strata-api") => Some(("api", 3)),
        ("services", _) => Some(("service", 3)),
        ("clients", _) => Some(("clients", 4)),
        _ => None,
    }
}

/// May code in `from` depend on code in `to`?
pub fn may_depend(from: &str, to: &str) -> bool {
    let (Some(a), Some(b)) = (layer(from), layer(to)) else {
        return true;
    };
    if a.0 == b.0 {
        return true;
    }
    if b.0 == "contracts" {
        return a.1 >= 2;
    }
    if a.0 == "contracts" {
        return false;
    }
    // Clients reach the system through the API only, never the layers beneath it.
    if a.0 == "clients" {
        return matches!(b.0, "api" | "service");
    }
    b.1 <= a.1
}

const ORDER: &str = "clients → api → ml service → core → data; clients use only the API, proto/ contracts serve services and clients";

/// What the web API's product code may link (ARCHITECTURE.md): the contracts, the runtime
/// (config, telemetry, serving) and the metadata store. Never the ML service, the core or the
/// data layer: it reaches them over gRPC only. Its tests may start the ML service in-process.
pub const API_MAY_LINK: &[&str] = &["proto", "libs/strata-runtime", "libs/strata-meta"];

/// Code edges (what a crate links), as opposed to data and compile_data files.
const CODE_ATTRS: &[&str] = &["deps", "proc_macro_deps", "crate", "aliases"];

/// May a non-test target of the web API package link `to`?
pub fn api_may_link(to: &str) -> bool {
    layer(to).is_none_or(|l| l.0 == "api")
        || API_MAY_LINK
            .iter()
            .any(|p| to == *p || to.starts_with(&format!("{p}/")))
}

pub fn check_layers(g: &Graph, edges: &[Edge]) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in edges {
        let (Some(from), Some(to)) = (Label::parse(&e.from, ""), Label::parse(&e.to, "")) else {
            continue;
        };
        if !to.is_main() {
            continue;
        }
        let Some(t) = g.target(&from.package, &from.name) else {
            continue;
        };
        if to.is_main() && may_depend(&from.package, &to.package) {
            let api_product = layer(&from.package).is_some_and(|l| l.0 == "api")
                && !(t.test
                    || t.kind.ends_with("_test")
                    || t.attrs.get("testonly") == Some(&serde_json::Value::Bool(true)));
            if api_product && CODE_ATTRS.contains(&e.attr.as_str()) && !api_may_link(&to.package) {
                out.push(f(&t.file, t.line, "layers", format!(
                    "{} `{}` (api layer) links {} via `{}`: the web API may link only {} and reaches the ML service, core and data over gRPC",
                    t.kind, t.name, e.to, e.attr, API_MAY_LINK.join(", "))));
            }
            continue;
        }
        let (la, lb) = (
            layer(&from.package).map(|x| x.0).unwrap_or("-"),
            layer(&to.package).map(|x| x.0).unwrap_or("-"),
        );
        out.push(f(&t.file, t.line, "layers", format!(
            "{} `{}` ({la} layer) depends on {} ({lb} layer) via `{}`: dependencies must point down ({ORDER}); move the shared code down a layer",
            t.kind, t.name, e.to, e.attr)));
    }
    out
}

/// Packages granted by one visibility entry.
fn granted(g: &Graph, spec: &str, pkg: &str, seen: &mut BTreeSet<String>) -> Option<Vec<String>> {
    if spec == "//visibility:public" {
        return None;
    }
    if spec == "//visibility:private" {
        return Some(vec![]);
    }
    let l = Label::parse(spec, pkg)?;
    let under = |prefix: &str| -> Vec<String> {
        let mut v: Vec<String> = g
            .packages
            .keys()
            .filter(|p| prefix.is_empty() || *p == prefix || p.starts_with(&format!("{prefix}/")))
            .cloned()
            .collect();
        v.push(prefix.to_owned());
        v
    };
    match l.name.as_str() {
        "__pkg__" => Some(vec![l.package]),
        "__subpackages__" => Some(under(&l.package)),
        _ => {
            // A package_group.
            let t = g.target(&l.package, &l.name)?;
            if !seen.insert(t.label()) {
                return Some(vec![]);
            }
            let mut out = Vec::new();
            for p in t.strings("packages") {
                if p == "public" || p == "//..." {
                    return None;
                }
                if let Some(prefix) = p.strip_prefix("//").and_then(|x| x.strip_suffix("/...")) {
                    out.extend(under(prefix));
                } else if let Some(x) = p.strip_prefix("//") {
                    out.push(x.to_owned());
                }
            }
            for inc in t.strings("includes") {
                out.extend(granted(g, &inc, &t.package, seen)?);
            }
            Some(out)
        }
    }
}

/// Why Bazel would reject one `visibility` entry written in package `pkg`, if it would: an entry
/// is `//visibility:public` or `//visibility:private`, `//p:__pkg__`, `//p:__subpackages__`, or
/// the label of a `package_group` (anything else is read as one and fails when it is not).
pub fn visibility_error(g: &Graph, spec: &str, pkg: &str) -> Option<String> {
    let Some(l) = Label::parse(spec, pkg) else {
        return Some(format!("`{spec}` is not a label"));
    };
    if l.package == "visibility" && l.repo.is_none() {
        return match l.name.as_str() {
            "public" | "private" => None,
            n => Some(format!(
                "`{spec}`: //visibility has only :public and :private, not :{n}"
            )),
        };
    }
    if matches!(l.name.as_str(), "__pkg__" | "__subpackages__") || !l.is_main() {
        return None;
    }
    let near = if l.name.starts_with("__") {
        " (did you mean __pkg__ or __subpackages__?)"
    } else {
        ""
    };
    match g.target(&l.package, &l.name) {
        Some(t) if t.kind == "package_group" => None,
        Some(t) => Some(format!(
            "`{spec}` names a {} target, but a visibility entry must be //visibility:public|private, //pkg:__pkg__, //pkg:__subpackages__ or a package_group{near}",
            t.kind
        )),
        None => Some(format!(
            "`{spec}`: no package_group //{}:{}; a visibility entry must be //visibility:public|private, //pkg:__pkg__, //pkg:__subpackages__ or a package_group{near}",
            l.package, l.name
        )),
    }
}

/// Every visibility entry of every target (and every `package(default_visibility)`) is one
/// Bazel accepts.
pub fn check_visibility_labels(g: &Graph) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in g.packages.values() {
        for spec in p.default_visibility.iter().flatten() {
            if let Some(msg) = visibility_error(g, spec, &p.path) {
                out.push(f(&p.build_file, 1, "visibility", msg));
            }
        }
        for t in p.targets.values() {
            let mut specs = Vec::new();
            if let Some(v) = t.attrs.get("visibility") {
                collect_strings(v, &mut specs);
            }
            for spec in specs {
                if let Some(msg) = visibility_error(g, &spec, &p.path) {
                    out.push(f(
                        &t.file,
                        t.line,
                        "visibility",
                        format!("{} `{}`: {msg}", t.kind, t.name),
                    ));
                }
            }
        }
    }
    out
}

pub fn check_visibility(g: &Graph) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in g.packages.values() {
        let Some((lname, _)) = layer(&p.path) else {
            continue;
        };
        for t in p.targets.values() {
            if t.test
                || t.kind.ends_with("_test")
                || t.kind == "test_suite"
                || t.kind == "package_group"
            {
                continue;
            }
            let vis = match t.attrs.get("visibility") {
                Some(v) => {
                    let mut s = Vec::new();
                    collect_strings(v, &mut s);
                    s
                }
                None => p.default_visibility.clone().unwrap_or_default(),
            };
            for spec in vis {
                match granted(g, &spec, &p.path, &mut BTreeSet::new()) {
                    None => {
                        if lname != "clients" {
                            out.push(f(&t.file, t.line, "visibility", format!(
                                "{} `{}` ({lname} layer) is visible to everything via `{spec}`; narrow visibility to the layers allowed to depend on it ({ORDER})",
                                t.kind, t.name)));
                        }
                    }
                    Some(pkgs) => {
                        let bad: BTreeSet<String> = pkgs
                            .into_iter()
                            .filter(|q| !may_depend(q, &p.path))
                            .collect();
                        if let Some(q) = bad.iter().next() {
                            out.push(f(&t.file, t.line, "visibility", format!(
                                "{} `{}` ({lname} layer) is visible to //{q} ({} layer) via `{spec}`, which may not depend on it; narrow it ({ORDER})",
                                t.kind, t.name, layer(q).map(|x| x.0).unwrap_or("-"))));
                        }
                    }
                }
            }
        }
    }
    out
}

// ---- Cargo ↔ Bazel --------------------------------------------------------------------------

fn norm(text: &str, pkg: &str) -> Option<(String, String)> {
    let l = Label::parse(text, pkg)?;
    if l.repo.is_some() {
        return None;
    }
    Some((l.package, l.name))
}

fn last(dir: &str) -> &str {
    dir.rsplit('/').next().unwrap_or(dir)
}

fn rust_kinds(t: &Target) -> bool {
    t.kind.starts_with("rust_") || t.kind == "cargo_build_script"
}

/// Files a target compiles: `srcs` and `crate_root`, relative to its package.
fn sources(t: &Target) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = t
        .strings("srcs")
        .into_iter()
        .map(|x| x.trim_start_matches(':').to_owned())
        .collect();
    if let Some(r) = t.str_attr("crate_root") {
        s.insert(r.trim_start_matches(':').to_owned());
    }
    s
}

fn has_inline_tests(host: &CheckHost, dir: &str, lib_src: &str) -> bool {
    let src_dir = host
        .root
        .join(dir)
        .join(lib_src)
        .parent()
        .map(|p| p.to_owned());
    let Some(src_dir) = src_dir else { return false };
    walkdir::WalkDir::new(src_dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .any(|e| {
            std::fs::read_to_string(e.path())
                .is_ok_and(|s| s.contains("#[cfg(test)]") || s.contains("#[test]"))
        })
}

/// Crate name a Rust target builds.
fn crate_name_of(g: &Graph, t: &Target) -> String {
    if t.kind == "rust_prost_library" {
        // rules_rust_prost names the crate after its proto_library.
        if let Some((p, n)) = t.str_attr("proto").and_then(|x| norm(x, &t.package)) {
            return g
                .target(&p, &n)
                .map(|x| x.name.clone())
                .unwrap_or(n)
                .replace(['-', '/'], "_");
        }
    }
    t.str_attr("crate_name")
        .map(str::to_owned)
        .unwrap_or_else(|| t.name.replace('-', "_"))
}

const LIB_KINDS: &[&str] = &[
    "rust_library",
    "rust_proc_macro",
    "rust_prost_library",
    "rust_shared_library",
    "rust_static_library",
];

/// The Bazel target that builds a workspace member's library: named for the package, or
/// failing that any library target building the same crate name.
fn lib_target_of<'a>(g: &'a Graph, m: &Member) -> Option<&'a Target> {
    let lib = m.lib()?;
    let pkg = g.packages.get(&m.dir)?;
    if let Some(t) = pkg.targets.get(last(&m.dir)) {
        return Some(t);
    }
    let want = lib.name.replace('-', "_");
    pkg.targets
        .values()
        .find(|t| LIB_KINDS.contains(&t.kind.as_str()) && crate_name_of(g, t) == want)
}

pub fn check_cargo(host: &CheckHost, g: &Graph, cargo: &CargoInfo) -> Vec<Finding> {
    let mut out = Vec::new();
    let lib_label: BTreeMap<&str, (String, String)> = cargo
        .members
        .iter()
        .filter_map(|m| {
            lib_target_of(g, m).map(|t| (m.dir.as_str(), (t.package.clone(), t.name.clone())))
        })
        .collect();
    let hubs: Vec<&String> = g.module.crate_hubs.keys().collect();
    let member_of_pkg: BTreeMap<&str, &Member> =
        cargo.members.iter().map(|m| (m.dir.as_str(), m)).collect();
    for m in &cargo.members {
        let manifest = format!("{}/Cargo.toml", m.dir);
        let Some(pkg) = g.packages.get(&m.dir) else {
            out.push(f(&manifest, 1, "cargo", format!(
                "crate {} has no BUILD.bazel in {}; add one with its rust_library/rust_binary/rust_test targets", m.name, m.dir)));
            continue;
        };
        let build = pkg.build_file.clone();
        let rust: Vec<&Target> = pkg.targets.values().filter(|t| rust_kinds(t)).collect();
        let find = |pred: &dyn Fn(&Target) -> bool| {
            rust.iter().copied().filter(|t| pred(t)).collect::<Vec<_>>()
        };

        // Library.
        let mut lib_target: Option<&Target> = None;
        if let Some(lib) = m.lib() {
            let pm = lib.kinds.iter().any(|k| k == "proc-macro");
            let want_kind = if pm {
                "rust_proc_macro"
            } else {
                "rust_library"
            };
            let want_name = last(&m.dir);
            match lib_target_of(g, m) {
                None => out.push(f(&build, 1, "cargo", format!(
                    "crate {}: library target missing; add {want_kind}(name = \"{want_name}\", crate_name = \"{}\", ...)", m.name, lib.name.replace('-', "_")))),
                Some(t) => {
                    lib_target = Some(t);
                    let prost = t.kind == "rust_prost_library";
                    if t.kind != want_kind && !prost {
                        out.push(f(&t.file, t.line, "cargo", format!("crate {} is a {} in Cargo.toml: `{}` must be {want_kind}, not {}", m.name, if pm { "proc-macro" } else { "library" }, t.name, t.kind)));
                    }
                    let crate_name = crate_name_of(g, t);
                    if crate_name != lib.name.replace('-', "_") {
                        out.push(f(&t.file, t.line, "cargo", format!("`{}` builds crate `{crate_name}` but Cargo's library is `{}`; set crate_name = \"{}\"", t.name, lib.name, lib.name.replace('-', "_"))));
                    }
                    if !prost && !sources(t).contains(&lib.src) {
                        out.push(f(&t.file, t.line, "cargo", format!("`{}` does not compile {} (Cargo's lib root); add it to srcs/crate_root", t.name, lib.src)));
                    }
                    if has_inline_tests(host, &m.dir, &lib.src) {
                        let covered = find(&|x: &Target| x.kind == "rust_test" && x.str_attr("crate").and_then(|c| norm(c, &m.dir)).is_some_and(|(p, n)| p == m.dir && n == t.name));
                        if covered.is_empty() {
                            out.push(f(&build, 1, "cargo", format!(
                                "crate {} has #[cfg(test)] unit tests in {} but no rust_test(crate = \":{}\"); add one so `bazel test` runs them", m.name, lib.src, t.name)));
                        }
                    }
                }
            }
        }

        // Binaries, integration tests, benches.
        let checks: [(&str, &[&str], &str); 3] = [
            ("bin", &["rust_binary"], "rust_binary"),
            (
                "test",
                &["rust_test", "rust_test_suite"],
                "rust_test (or rust_test_suite)",
            ),
            (
                "bench",
                &[
                    "rust_test",
                    "rust_binary",
                    "rust_test_suite",
                    "rust_benchmark",
                ],
                "rust_test or rust_binary",
            ),
        ];
        for (kind, kinds, what) in checks {
            for ct in m.of_kind(kind) {
                let hits = find(&|t: &Target| {
                    kinds.contains(&t.kind.as_str())
                        && (t.str_attr("crate_root") == Some(ct.src.as_str())
                            || (sources(t).contains(&ct.src)
                                && (t.kind != "rust_binary"
                                    || t.str_attr("crate_root").is_none()
                                        && (t.name == ct.name
                                            || ct.src.ends_with("main.rs")
                                            || ct.src.ends_with(&format!("{}.rs", t.name))))))
                });
                if hits.is_empty() {
                    out.push(f(&build, 1, "cargo", format!(
                        "crate {}: {kind} `{}` ({}/{}) has no Bazel target; add a {what} with crate_root = \"{}\"", m.name, ct.name, m.dir, ct.src, ct.src)));
                }
            }
        }

        // Build script / proto compilation.
        let build_deps: Vec<&str> = m
            .deps
            .iter()
            .filter(|d| d.kind == DepKind::Build)
            .map(|d| d.name.as_str())
            .collect();
        let protoc_build = build_deps
            .iter()
            .any(|d| d.contains("prost-build") || *d == "tonic-build");
        for ct in m.of_kind("custom-build") {
            let scripts =
                find(&|t: &Target| t.kind == "cargo_build_script" && sources(t).contains(&ct.src));
            let prost = pkg.targets.values().any(|t| t.kind == "rust_prost_library");
            if scripts.is_empty() && !(protoc_build && prost) {
                out.push(f(&build, 1, "cargo", format!(
                    "crate {} has a build script ({}) but no cargo_build_script{}; add cargo_build_script(name = \"build_script\", srcs = [\"{}\"]) and list it in the library's deps",
                    m.name, ct.src, if protoc_build { " or rust_prost_library" } else { "" }, ct.src)));
            }
            if let (Some(s), Some(lib)) = (scripts.first(), lib_target) {
                let deps: Vec<(String, String)> = lib
                    .strings("deps")
                    .iter()
                    .filter_map(|d| norm(d, &m.dir))
                    .collect();
                if !deps.contains(&(s.package.clone(), s.name.clone())) {
                    out.push(f(&lib.file, lib.line, "cargo", format!("`{}` must list its build script \":{}\" in deps (Cargo runs build.rs before the crate)", lib.name, s.name)));
                }
            }
        }
        let protos: Vec<String> = walkdir::WalkDir::new(host.root.join(&m.dir))
            .into_iter()
            .filter_entry(|e| e.file_name() != "target")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "proto"))
            .filter_map(|e| {
                e.path()
                    .strip_prefix(host.root.join(&m.dir))
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned())
            })
            .collect();
        for p in protos {
            if p.contains('/')
                && host.is_package_dir(&format!(
                    "{}/{}",
                    m.dir,
                    p.rsplit_once('/').map(|x| x.0).unwrap_or("")
                ))
            {
                continue;
            }
            let covered = pkg
                .targets
                .values()
                .any(|t| t.kind == "proto_library" && sources(t).contains(&p));
            if !covered {
                out.push(f(
                    &build,
                    1,
                    "cargo",
                    format!(
                        "{}/{p} is compiled by Cargo but no proto_library in //{} lists it in srcs",
                        m.dir, m.dir
                    ),
                ));
            }
        }

        // Dependencies.
        let lib_or_bins: Vec<&Target> = match lib_target {
            Some(t) => vec![t],
            None => find(&|t: &Target| t.kind == "rust_binary"),
        };
        let dep_set = |ts: &[&Target]| -> (BTreeSet<(String, String)>, BTreeSet<String>) {
            let mut local = BTreeSet::new();
            let mut ext = BTreeSet::new();
            for t in ts {
                for a in ["deps", "proc_macro_deps"] {
                    for d in t.strings(a) {
                        if let Some(x) = norm(&d, &t.package) {
                            local.insert(x);
                        } else if let Some(l) = Label::parse(&d, &t.package)
                            && l.repo.as_ref().is_some_and(|r| hubs.contains(&r))
                        {
                            ext.insert(hub_crate_name(&l.name, &cargo.dep_names));
                        }
                    }
                }
            }
            (local, ext)
        };
        let tests: Vec<&Target> =
            find(&|t: &Target| t.kind == "rust_test" || t.kind == "rust_test_suite");
        let scripts: Vec<&Target> = find(&|t: &Target| t.kind == "cargo_build_script");
        let groups: [(DepKind, &[&Target], &str); 3] = [
            (DepKind::Normal, &lib_or_bins, "library"),
            (DepKind::Dev, &tests, "tests"),
            (DepKind::Build, &scripts, "build script"),
        ];
        for (kind, targets, what) in groups {
            let Some(anchor) = targets.first() else {
                continue;
            };
            // rust_prost_library gets its runtime crates from the prost toolchain.
            if anchor.kind == "rust_prost_library" {
                continue;
            }
            let (local, ext) = dep_set(targets);
            for d in m
                .deps
                .iter()
                .filter(|d| d.kind == kind && !d.optional && !d.platform_specific)
            {
                match &d.path {
                    Some(p) => {
                        let Some(dm) = member_of_pkg.get(p.as_str()) else {
                            continue;
                        };
                        if dm.lib().is_none() {
                            continue;
                        }
                        let Some(want) = lib_label.get(p.as_str()).cloned() else {
                            continue;
                        };
                        if !local.contains(&want) {
                            out.push(f(&anchor.file, anchor.line, "cargo", format!(
                                "{}/Cargo.toml: {} depends on {} but the {what} target `{}` does not; add \"//{}:{}\" to {}",
                                m.dir, m.name, d.name, anchor.name, want.0, want.1, if dm.lib().is_some_and(|l| l.kinds.iter().any(|k| k == "proc-macro")) { "proc_macro_deps" } else { "deps" })));
                        }
                    }
                    None => {
                        if hubs.is_empty() || ext.contains(&d.name) {
                            continue;
                        }
                        let which = match (kind.clone(), cargo.proc_macros.contains(&d.name)) {
                            (DepKind::Normal, false) => "deps = all_crate_deps(normal = True)",
                            (DepKind::Normal, true) => {
                                "proc_macro_deps = all_crate_deps(proc_macro = True)"
                            }
                            (DepKind::Dev, false) => "deps = all_crate_deps(normal_dev = True)",
                            (DepKind::Dev, true) => {
                                "proc_macro_deps = all_crate_deps(proc_macro_dev = True)"
                            }
                            (DepKind::Build, _) => "deps = all_crate_deps(build = True)",
                        };
                        out.push(f(&anchor.file, anchor.line, "cargo", format!(
                            "{}/Cargo.toml: dependency `{}` of {} is missing from the {what} target `{}`; use {which} or add \"@{}//:{}\"",
                            m.dir, d.name, m.name, anchor.name, hubs[0], d.name)));
                    }
                }
            }
            // Bazel deps on workspace crates that Cargo does not have.
            if kind == DepKind::Normal {
                for (p, n) in &local {
                    if p == &m.dir {
                        continue;
                    }
                    let Some(dm) = member_of_pkg.get(p.as_str()) else {
                        continue;
                    };
                    if lib_label.get(p.as_str()) != Some(&(p.clone(), n.clone())) {
                        continue;
                    }
                    let declared = m.deps.iter().any(|d| {
                        d.path.as_deref() == Some(p.as_str()) && d.kind == DepKind::Normal
                    });
                    if !declared {
                        out.push(f(&anchor.file, anchor.line, "cargo", format!(
                            "`{}` depends on //{p} but {}/Cargo.toml does not depend on {}; add it to Cargo.toml or drop the Bazel dep",
                            anchor.name, m.dir, dm.name)));
                    }
                }
            }
        }
    }
    out
}

/// Integration tests must not find files through `CARGO_MANIFEST_DIR`: rules_rust sets it to the
/// compile action's directory in the sandbox, which is gone when the test runs (`bazel test`
/// runs it from its runfiles tree). They use runfiles instead (strata_testkit::repo_path).
pub fn check_test_paths(host: &CheckHost, cargo: &CargoInfo) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in &cargo.members {
        let dir = host.root.join(&m.dir).join("tests");
        for e in walkdir::WalkDir::new(&dir)
            .into_iter()
            .filter_entry(|e| e.file_name() != "fixtures")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        {
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            let rel = e
                .path()
                .strip_prefix(&host.root)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            for (i, line) in text.lines().enumerate() {
                if line.contains("CARGO_MANIFEST_DIR") {
                    out.push(f(&rel, i + 1, "runfiles", "reads CARGO_MANIFEST_DIR: under Bazel it names the compile action's sandbox, gone when the test runs; find files with strata_testkit::repo_path (runfiles) and list them in the target's data".to_owned()));
                }
            }
        }
    }
    out
}

/// rules_rust_prost's `rust_prost_toolchain` compiles the well-known types itself unless told not
/// to (`compile_well_known_types` defaults to True, extensions/prost/private/prost.bzl), so
/// `google.protobuf.Timestamp` becomes a type of the generated crate. The Cargo build
/// (tonic-prost-build) maps it to `prost_types::Timestamp`, which the services convert with
/// prost-types' own impls: the two builds would disagree on the type, and Bazel's would not compile.
pub fn check_prost_toolchains(g: &Graph) -> Vec<Finding> {
    g.targets()
        .filter(|t| t.kind == "rust_prost_toolchain")
        .filter(|t| t.attrs.get("compile_well_known_types") != Some(&serde_json::Value::Bool(false)))
        .map(|t| f(&t.file, t.line, "prost", format!(
            "rust_prost_toolchain `{}` compiles the well-known types (compile_well_known_types defaults to True): google.protobuf.Timestamp would be a generated type, not the prost_types::Timestamp that Cargo's tonic-prost-build uses; set compile_well_known_types = False",
            t.name)))
        .collect()
}

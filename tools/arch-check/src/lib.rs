//! The architecture invariants of ARCHITECTURE.md as checks over this workspace.
//!
//! Two kinds of fact are checked: which crates a crate ships with (from `cargo metadata`, so a
//! `Cargo.toml` edit that breaks a layer fails here) and what the sources say (imports and calls
//! that a layer must not make). Each check returns findings, one line each, so a test names what
//! broke; `tests/invariants.rs` holds one test per invariant and ARCHITECTURE.md names them.
//!
//! Crate names are built from the product name in `[workspace.metadata.product]`, so a renamed
//! fork (`new-product`) checks the same rules. Hand-written because the rules are this
//! repository's; the facts come from Cargo and the files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How a crate uses a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    /// Shipped with the crate.
    Normal,
    /// Tests and benchmarks only.
    Dev,
    /// Build scripts.
    Build,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub name: String,
    pub kind: DepKind,
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    pub name: String,
    /// Directory relative to the workspace root, e.g. `libs/strata-core`.
    pub dir: String,
    pub deps: Vec<Dep>,
    /// The crate's `default` feature list.
    pub default_features: Vec<String>,
}

impl Crate {
    /// Names of the dependencies it ships with (normal and build), optional ones included.
    pub fn shipped(&self) -> impl Iterator<Item = &Dep> {
        self.deps.iter().filter(|d| d.kind != DepKind::Dev)
    }
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    /// `[workspace.metadata.product] name`, the prefix of every first-party crate.
    pub product: String,
    pub crates: Vec<Crate>,
}

impl Workspace {
    /// Reads the workspace at `root` with `cargo metadata` (offline, members only).
    pub fn load(root: &Path) -> Result<Self, String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(&cargo)
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--offline",
            ])
            .current_dir(root)
            .output()
            .map_err(|e| format!("running {cargo} metadata: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("cargo metadata output: {e}"))?;
        Self::from_metadata(root, &json)
    }

    /// The workspace as `cargo metadata --format-version 1` describes it.
    pub fn from_metadata(root: &Path, json: &serde_json::Value) -> Result<Self, String> {
        let product = json["metadata"]["product"]["name"]
            .as_str()
            .ok_or("no [workspace.metadata.product] name in Cargo.toml")?
            .to_owned();
        let base = json["workspace_root"].as_str().map(PathBuf::from);
        let mut crates = Vec::new();
        for p in json["packages"].as_array().ok_or("no packages")? {
            let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
            let dir = manifest.parent().unwrap_or(Path::new(""));
            let dir = base
                .as_deref()
                .and_then(|b| dir.strip_prefix(b).ok())
                .unwrap_or(dir);
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
                    optional: d["optional"].as_bool().unwrap_or(false),
                })
                .collect();
            let default_features = p["features"]["default"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect();
            crates.push(Crate {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                dir: dir.to_string_lossy().into_owned(),
                deps,
                default_features,
            });
        }
        Ok(Workspace {
            root: root.to_path_buf(),
            product,
            crates,
        })
    }

    /// The first-party crate called `<product>-<suffix>`.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.product)
    }

    pub fn get(&self, name: &str) -> Option<&Crate> {
        self.crates.iter().find(|c| c.name == name)
    }

    /// Crates of the product (not under `tools/`).
    pub fn product_crates(&self) -> impl Iterator<Item = &Crate> {
        self.crates.iter().filter(|c| !c.dir.starts_with("tools"))
    }

    fn is_member(&self, name: &str) -> bool {
        self.crates.iter().any(|c| c.name == name)
    }

    /// Workspace crates `krate` ships with that are not in `allowed` (suffixes after the product
    /// name), as findings.
    pub fn only_these_workspace_deps(&self, krate: &str, allowed: &[&str]) -> Vec<String> {
        let allowed: BTreeSet<String> = allowed.iter().map(|s| self.name(s)).collect();
        let Some(c) = self.get(krate) else {
            return vec![format!("{krate}: no such crate in the workspace")];
        };
        c.shipped()
            .filter(|d| self.is_member(&d.name) && !allowed.contains(&d.name))
            .map(|d| {
                format!(
                    "{krate} depends on {} (it may use only: {})",
                    d.name,
                    allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect()
    }

    /// Dependencies of `krate` it ships with whose names match one of `forbidden` (an exact name,
    /// or a prefix ending in `*`), as findings naming `why`.
    pub fn none_of(&self, krate: &str, forbidden: &[&str], why: &str) -> Vec<String> {
        let Some(c) = self.get(krate) else {
            return vec![format!("{krate}: no such crate in the workspace")];
        };
        c.shipped()
            .filter(|d| forbidden.iter().any(|f| matches(f, &d.name)))
            .map(|d| format!("{krate} depends on {}: {why}", d.name))
            .collect()
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// Lines of files below `dir` (relative to `root`) with one of `extensions` that contain one of
/// `needles`; comment lines are skipped. An entry of `except` is a relative path (the whole file
/// is allowed) or `path:text` (only its lines containing `text` are). A directory that is
/// missing or holds no such file is itself a finding, so a moved directory cannot pass unseen.
pub fn lines_containing(
    root: &Path,
    dir: &str,
    extensions: &[&str],
    needles: &[&str],
    except: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut scanned = 0;
    let walk = walkdir::WalkDir::new(root.join(dir))
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            name != "node_modules" && name != "generated" && !name.starts_with('.')
        });
    for entry in walk.filter_map(Result::ok) {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        let ext_ok = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e));
        if !entry.file_type().is_file() || !ext_ok || except.contains(&rel.as_str()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        scanned += 1;
        let allowed: Vec<&str> = except
            .iter()
            .filter_map(|e| e.strip_prefix(rel.as_str())?.strip_prefix(':'))
            .collect();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") {
                continue;
            }
            if allowed.iter().any(|a| line.contains(a)) {
                continue;
            }
            if let Some(n) = needles.iter().find(|n| line.contains(*n)) {
                out.push(format!("{rel}:{}: `{n}` in: {}", i + 1, line.trim()));
            }
        }
    }
    if scanned == 0 {
        out.push(format!(
            "{dir}: no {} files to check (moved?)",
            extensions.join("/")
        ));
    }
    out
}

/// The model kind names the core declares (`pub const NAME: &str = "...";` in its kinds).
pub fn kind_names(root: &Path, kinds_dir: &str) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join(kinds_dir)) else {
        return names;
    };
    for entry in entries.filter_map(Result::ok) {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("pub const NAME: &str = \"")
                && let Some(name) = rest.strip_suffix("\";")
            {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    names
}

/// The repository root: Cargo's checkout two levels above this crate, or, under Bazel (a
/// `local` test), the directory of the runfile `Cargo.toml` resolved through its symlink.
pub fn repo_root() -> PathBuf {
    if let Ok(runfile) = std::env::var("STRATA_ARCH_CARGO_TOML")
        && let Ok(real) = std::fs::canonicalize(&runfile)
        && let Some(dir) = real.parent()
    {
        return dir.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn workspace() -> Workspace {
        let meta = json!({
            "workspace_root": "/w",
            "metadata": { "product": { "name": "acme" } },
            "packages": [
                { "name": "acme-core", "manifest_path": "/w/libs/acme-core/Cargo.toml",
                  "features": { "default": [] },
                  "dependencies": [
                    { "name": "acme-data", "kind": null, "optional": false },
                    { "name": "tonic", "kind": null, "optional": false },
                    { "name": "acme-testkit", "kind": "dev", "optional": false },
                  ] },
                { "name": "acme-data", "manifest_path": "/w/libs/acme-data/Cargo.toml",
                  "dependencies": [] },
                { "name": "acme-testkit", "manifest_path": "/w/tools/testkit/Cargo.toml",
                  "dependencies": [] },
            ]
        });
        Workspace::from_metadata(Path::new("/w"), &meta).expect("metadata")
    }

    #[test]
    fn reads_crates_their_dirs_and_kinds_of_dependency() {
        let ws = workspace();
        assert_eq!(ws.product, "acme");
        let core = ws.get("acme-core").expect("core");
        assert_eq!(core.dir, "libs/acme-core");
        assert_eq!(core.shipped().count(), 2);
        assert_eq!(ws.product_crates().count(), 2);
    }

    #[test]
    fn a_planted_layer_breach_is_a_finding_and_dev_dependencies_are_not() {
        let ws = workspace();
        assert!(
            ws.only_these_workspace_deps("acme-core", &["data"])
                .is_empty()
        );
        let found = ws.only_these_workspace_deps("acme-core", &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("acme-data"));
        assert_eq!(ws.none_of("acme-core", &["ton*"], "no rpc").len(), 1);
        assert!(
            ws.none_of("acme-core", &["acme-testkit"], "dev only")
                .is_empty()
        );
        assert!(!ws.only_these_workspace_deps("acme-missing", &[]).is_empty());
    }

    #[test]
    fn source_scans_find_code_and_skip_comments_and_allowed_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("generated")).expect("mkdir");
        std::fs::write(
            src.join("a.ts"),
            "// fetch( in a comment\nconst r = fetch(url);\n",
        )
        .expect("write");
        std::fs::write(src.join("b.ts"), "fetch(x)\n").expect("write");
        std::fs::write(src.join("generated/c.ts"), "fetch(x)\n").expect("write");
        let found = lines_containing(dir.path(), "src", &["ts"], &["fetch("], &["src/b.ts"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("src/a.ts:2:"), "{found:?}");
        // A line allowance covers its lines only.
        let found = lines_containing(dir.path(), "src", &["ts"], &["fetch("], &["src/a.ts:url"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("src/b.ts:1:"), "{found:?}");
        // A directory that is gone, or holds nothing to check, is a finding itself.
        assert_eq!(
            lines_containing(dir.path(), "gone", &["ts"], &["x"], &[]).len(),
            1
        );
        assert_eq!(
            lines_containing(dir.path(), "src", &["rs"], &["x"], &[]).len(),
            1
        );
    }

    #[test]
    fn kind_names_come_from_the_kinds_own_constants() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("a.rs"),
            "pub const NAME: &str = \"a-kind\";\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("b.rs"), "const OTHER: &str = \"x\";\n").expect("write");
        assert_eq!(kind_names(dir.path(), "."), ["a-kind"]);
    }
}

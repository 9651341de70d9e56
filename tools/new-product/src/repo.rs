//! The repository as git sees it: where it is, what it tracks, whether it is clean, and the
//! product's current name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::ProductName;

/// The section and key of the root `Cargo.toml` that hold the product's name.
pub const NAME_SECTION: &str = "[workspace.metadata.product]";

/// The repository root: `explicit`, else the directory `bazel run` was called from, else the git
/// toplevel of the current directory.
pub fn find_root(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(root) = explicit {
        return Ok(root);
    }
    if let Some(dir) = std::env::var_os("BUILD_WORKSPACE_DIRECTORY") {
        return Ok(PathBuf::from(dir));
    }
    let top = git(Path::new("."), &["rev-parse", "--show-toplevel"])
        .context("run new-product inside the repository (or pass --root)")?;
    Ok(PathBuf::from(top.trim_end()))
}

/// Runs git in `root` and returns its stdout; a failure carries git's stderr.
pub fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "core.quotepath=off"])
        .args(args)
        .output()
        .context("running git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).context("git printed non-UTF-8 output")
}

/// Every path git tracks, relative to `root`, sorted.
pub fn tracked_files(root: &Path) -> anyhow::Result<Vec<String>> {
    let out = git(root, &["ls-files", "-z"])?;
    let mut files: Vec<String> = out
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    files.sort();
    Ok(files)
}

/// `git status --porcelain` lines: modified, staged and untracked (not ignored) paths.
pub fn dirty_entries(root: &Path) -> anyhow::Result<Vec<String>> {
    let out = git(root, &["status", "--porcelain", "--untracked-files=normal"])?;
    Ok(out.lines().map(str::to_owned).collect())
}

/// Reads `name = "..."` from the [`NAME_SECTION`] of `root/Cargo.toml`.
pub fn current_name(root: &Path) -> anyhow::Result<ProductName> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is this the repository root?)", path.display()))?;
    let raw = name_in_manifest(&text).with_context(|| {
        format!(
            "{} has no `name = \"...\"` under {NAME_SECTION}; add the product's current name there",
            path.display()
        )
    })?;
    ProductName::parse(&raw)
        .with_context(|| format!("the current name in {} is not valid", path.display()))
}

/// The tracked paths as they are after `plan` moved them.
pub fn tracked_after(files: &[String], plan: &crate::Plan) -> Vec<String> {
    let mut out: Vec<String> = files
        .iter()
        .map(|f| crate::name::replace(f, &plan.from, &plan.to).0)
        .collect();
    out.sort();
    out
}

/// Contents of `files` (missing files as None), to see later what a command changed.
pub fn snapshot(root: &Path, files: &[String]) -> BTreeMap<String, Option<Vec<u8>>> {
    files
        .iter()
        .map(|f| (f.clone(), std::fs::read(root.join(f)).ok()))
        .collect()
}

/// Files of `before` whose contents differ now.
pub fn changed_since(root: &Path, before: &BTreeMap<String, Option<Vec<u8>>>) -> Vec<String> {
    before
        .iter()
        .filter(|(f, old)| std::fs::read(root.join(f)).ok() != **old)
        .map(|(f, _)| f.clone())
        .collect()
}

fn name_in_manifest(text: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == NAME_SECTION;
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "name" {
            let value = value.split('#').next().unwrap_or("").trim();
            return value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::name_in_manifest;

    #[test]
    fn reads_the_name_from_its_section_only() {
        let text = "[package]\nname = \"tool\"\n\n[workspace.metadata.product]\n# why\nname = \"widget\" # the product\n\n[workspace.dependencies]\nname = \"x\"\n";
        assert_eq!(name_in_manifest(text).as_deref(), Some("widget"));
        assert_eq!(name_in_manifest("[package]\nname = \"tool\"\n"), None);
    }
}

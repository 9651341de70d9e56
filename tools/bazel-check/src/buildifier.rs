//! Runs buildifier `--mode=check --lint=warn` on every Bazel file, the CI truth for formatting.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::model::Finding;

/// The npm package pinned as CI truth (bazel-reference §7).
pub const NPM_PACKAGE: &str = "@bazel/buildifier@8.2.1";

/// Picks the buildifier to run: `$BUILDIFIER`, the repo's pnpm devDependency, then npx.
fn command(root: &Path) -> Command {
    if let Ok(b) = std::env::var("BUILDIFIER") {
        return Command::new(b);
    }
    let local = root.join("node_modules/.bin/buildifier");
    if local.is_file() {
        return Command::new(local);
    }
    let mut c = Command::new("npx");
    c.args(["--yes", NPM_PACKAGE]);
    c
}

pub fn check(root: &Path, files: &[String]) -> anyhow::Result<Vec<Finding>> {
    if files.is_empty() {
        return Ok(vec![]);
    }
    let out = command(root)
        .current_dir(root)
        .args(["--mode=check", "--lint=warn"])
        .args(files)
        .output()
        .context("running buildifier (set BUILDIFIER or install node/npx)")?;
    let code = out.status.code().unwrap_or(-1);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if code != 0 && code != 4 && code != 1 {
        bail!("buildifier exited with {code}: {}", text.trim());
    }
    let mut findings = Vec::new();
    for line in text.lines() {
        if let Some(file) = line.strip_suffix(" # reformat") {
            findings.push(Finding {
                file: file.to_owned(),
                line: 1,
                check: "buildifier",
                msg: format!("not formatted; run `npx {NPM_PACKAGE} {file}`"),
            });
            continue;
        }
        // `path:line: warning-name: message (url)` or `path:line:col: syntax error`.
        let mut parts = line.splitn(3, ':');
        let (Some(file), Some(num), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Ok(n) = num.trim().parse::<usize>() else {
            continue;
        };
        if !files.iter().any(|f| f == file) {
            continue;
        }
        findings.push(Finding {
            file: file.to_owned(),
            line: n,
            check: "buildifier",
            msg: rest.trim().to_owned(),
        });
    }
    if code != 0 && findings.is_empty() {
        bail!("buildifier exited with {code}: {}", text.trim());
    }
    Ok(findings)
}

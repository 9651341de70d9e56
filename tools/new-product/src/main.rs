//! `new-product NAME`: renames the product of this repository in one step (see the crate docs in
//! lib.rs for the rules). Run it from the repository: `cargo run -p new-product -- NAME`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use new_product::regen::{self, Outcome};
use new_product::{Plan, ProductName, repo};

/// Renames the product everywhere: crates, binaries, Bazel targets and module, proto package,
/// npm packages, images, Kubernetes names, environment variables, metrics, docs; then
/// regenerates lock files, the OpenAPI spec, the TypeScript client and formatting.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The new name: 2-30 characters of a-z and 0-9, starting with a letter (e.g. `acme`).
    name: String,
    /// Print what would change, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rename only; skip regeneration (lock files, OpenAPI spec, TS client, formatting).
    #[arg(long)]
    no_regen: bool,
    /// Repository root (default: the git toplevel of the current directory, or the directory
    /// `bazel run` was started from).
    #[arg(long)]
    root: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("new-product: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let to = match ProductName::parse(&cli.name) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("new-product: invalid name: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let root = repo::find_root(cli.root)?;
    let from = repo::current_name(&root)?;
    if from == to {
        println!("new-product: the product is already named `{to}`; nothing to do.");
        return Ok(ExitCode::SUCCESS);
    }
    let dirty = repo::dirty_entries(&root)?;
    if !dirty.is_empty() {
        let shown: Vec<&str> = dirty.iter().take(10).map(String::as_str).collect();
        bail!(
            "refusing to rename: the git tree has uncommitted changes, so the rename would not be one \
             reviewable change that `git checkout . && git clean -fd` undoes. Commit or stash them first:\n  {}{}",
            shown.join("\n  "),
            if dirty.len() > shown.len() {
                format!("\n  ... and {} more", dirty.len() - shown.len())
            } else {
                String::new()
            }
        );
    }

    let files = repo::tracked_files(&root)?;
    let plan = Plan::build(&root, &from, &to, &files)?;
    println!(
        "new-product: {} -> {to} ({} -> {}, {} -> {}) in {}",
        from,
        from.capitalized(),
        to.capitalized(),
        from.upper(),
        to.upper(),
        root.display()
    );
    if !plan.preexisting.is_empty() {
        let total: usize = plan.preexisting.iter().map(|(_, n)| n).sum();
        let shown: Vec<String> = plan
            .preexisting
            .iter()
            .take(5)
            .map(|(p, n)| format!("{p} ({n})"))
            .collect();
        println!(
            "note: `{to}` already appears {total} times (any case), e.g. {}; a later rename away from `{to}` would change those too",
            shown.join(", ")
        );
    }
    print!("{}", plan.describe(&files));
    if cli.dry_run {
        print!("{}", plan.describe_leftovers());
        println!("dry run: nothing was changed.");
        return Ok(ExitCode::SUCCESS);
    }
    plan.apply(&root).context("applying the rename")?;

    let mut failed = false;
    if cli.no_regen {
        println!("regeneration skipped (--no-regen)");
    } else {
        let renamed = repo::tracked_after(&files, &plan);
        let before = repo::snapshot(&root, &renamed);
        println!("regenerating:");
        let reports = regen::regenerate(&root, &plan, &renamed, &mut |what| {
            println!("  ... {what}");
        });
        for r in &reports {
            match &r.outcome {
                Outcome::Done => println!("  ok      {}", r.what),
                Outcome::Skipped(why) => println!("  skipped {} ({why})", r.what),
                Outcome::Failed { error, command } => {
                    failed = true;
                    println!("  FAILED  {}\n    re-run: {command}\n{error}", r.what)
                }
            }
        }
        let changed = repo::changed_since(&root, &before);
        if !changed.is_empty() {
            println!(
                "regeneration changed {} files: {}",
                changed.len(),
                changed.join(", ")
            );
        }
    }
    print!("{}", plan.describe_leftovers());
    println!(
        "done: {} paths renamed, {} files edited ({} replacements). Review with `git status`, then \
         `git add -A && git commit -m \"Rename {from} to {to}\"`.",
        plan.dir_moves.len() + plan.file_moves.len(),
        plan.edits.len(),
        plan.replacements()
    );
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

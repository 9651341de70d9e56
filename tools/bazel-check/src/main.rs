//! `bazel-check`: verifies the Bazel graph of this repository without a Bazel binary.
//!
//! Invariant: it never runs Bazel or fetches anything at check time; every fact about external
//! rules comes from the committed schema under `tools/bazel-check/schema/`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args)]
struct Common {
    /// Repository root (default: the git toplevel or the current directory).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Schema directory (default: <root>/tools/bazel-check/schema).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Skip `cargo metadata` and the Cargo ↔ Bazel checks.
    #[arg(long)]
    no_cargo: bool,
    /// crate_universe hubs rendered by cargo-bazel (`tools/bazel-check/render-hubs.sh ROOT DIR`):
    /// their real `defs.bzl` and `BUILD.bazel` answer `@<hub>//...`, and their lockfiles are
    /// compared with the ones MODULE.bazel wires in. Without it, a model answers from `cargo
    /// metadata`.
    #[arg(long)]
    hubs: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Dot,
}

#[derive(Subcommand)]
enum Cmd {
    /// Evaluate every Bazel file and run all checks; exit 1 on findings.
    Check {
        #[command(flatten)]
        common: Common,
        /// Skip buildifier (it needs node/npx or $BUILDIFIER).
        #[arg(long)]
        no_buildifier: bool,
    },
    /// Print the target graph.
    Graph {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Include edges to external repositories (@crates, @npm, ...).
        #[arg(long)]
        external: bool,
    },
    /// Regenerate the rule schema from git mirrors of the rule sets (see schema/gen/).
    GenSchema {
        /// `schema/gen/modules.json`.
        #[arg(long)]
        config: PathBuf,
        /// Directory holding `<owner>+<name>/repo` git mirrors.
        #[arg(long)]
        mirrors: PathBuf,
        /// Output directory for `<module>@<version>.json`.
        #[arg(long)]
        out: PathBuf,
    },
}

fn options(c: &Common, buildifier: bool) -> anyhow::Result<bazel_check::check::Options> {
    let root = match &c.root {
        Some(r) => r.clone(),
        None => {
            let top = std::process::Command::new("git")
                .args(["rev-parse", "--show-toplevel"])
                .output();
            match top {
                Ok(o) if o.status.success() => {
                    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
                }
                _ => std::env::current_dir()?,
            }
        }
    };
    let schema_dir = c
        .schema
        .clone()
        .unwrap_or_else(|| root.join("tools/bazel-check/schema"));
    Ok(bazel_check::check::Options {
        root,
        schema_dir,
        buildifier,
        cargo: !c.no_cargo,
        hubs: c.hubs.clone(),
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bazel-check: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check {
            common,
            no_buildifier,
        } => {
            let opts = options(&common, !no_buildifier)?;
            let start = std::time::Instant::now();
            let out = bazel_check::check::run(&opts)?;
            for f in &out.findings {
                println!("{f}");
            }
            let n_targets: usize = out.graph.packages.values().map(|p| p.targets.len()).sum();
            eprintln!(
                "bazel-check: {} packages, {} targets, {} edges, {} findings in {:.2}s",
                out.graph.packages.len(),
                n_targets,
                out.edges.len(),
                out.findings.len(),
                start.elapsed().as_secs_f64()
            );
            Ok(if out.findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Graph {
            common,
            format,
            external,
        } => {
            let opts = options(&common, false)?;
            let out = bazel_check::check::run(&opts)?;
            let text = match format {
                Format::Text => bazel_check::graph::text(&out.graph, &out.edges, external),
                Format::Dot => bazel_check::graph::dot(&out.graph, &out.edges, external),
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::GenSchema {
            config,
            mirrors,
            out,
        } => {
            let cfg = bazel_check::schemagen::load_config(&config, &mirrors)?;
            let mut schemas = bazel_check::schemagen::generate(&cfg)?;
            schemas.push(bazel_check::builtins::bazel_schema());
            std::fs::create_dir_all(&out)?;
            for s in schemas {
                let path = out.join(format!("{}@{}.json", s.module, s.version));
                let text = serde_json::to_string_pretty(&s)? + "\n";
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                let n: usize = s.files.values().map(|f| f.symbols.len()).sum();
                eprintln!(
                    "{}: {} files, {} symbols, {} files failed",
                    path.display(),
                    s.files.len(),
                    n,
                    s.errors.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

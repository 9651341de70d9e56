//! One test per "Architecture invariant" of ARCHITECTURE.md, against this checkout.
//! The rules are planted-mistake tested in `src/lib.rs`; here they meet the real workspace.

use std::sync::OnceLock;

use strata_arch_check::{Workspace, kind_names, lines_containing, repo_root};

fn ws() -> &'static Workspace {
    static WS: OnceLock<Workspace> = OnceLock::new();
    WS.get_or_init(|| Workspace::load(&repo_root()).expect("cargo metadata of the workspace"))
}

fn none(findings: Vec<String>) {
    assert!(
        findings.is_empty(),
        "architecture invariant broken (ARCHITECTURE.md):\n{}",
        findings.join("\n")
    );
}

/// Crates of the ML stack and of storage: what a layer that knows neither must not ship with.
const ML_AND_STORAGE: &[&str] = &[
    "candle-*",
    "tokenizers",
    "safetensors",
    "parquet",
    "arrow",
    "arrow-*",
    "object_store",
    "sqlx",
];

#[test]
fn dependencies_point_down_the_layers() {
    let ws = ws();
    let rules: &[(&str, &[&str])] = &[
        ("proto", &[]),
        ("runtime", &[]),
        ("data", &[]),
        ("meta", &[]),
        ("core", &["data"]),
        ("ml", &["proto", "runtime", "data", "meta", "core"]),
        ("api", &["proto", "runtime", "meta"]),
        ("cli", &["core", "data", "runtime"]),
    ];
    let mut findings = Vec::new();
    for (krate, allowed) in rules {
        findings.extend(ws.only_these_workspace_deps(&ws.name(krate), allowed));
    }
    // Every product crate has a rule, so a new one must take its place in the layers.
    for c in ws.product_crates() {
        if !rules.iter().any(|(k, _)| ws.name(k) == c.name) {
            findings.push(format!(
                "{} has no layer rule in tests/invariants.rs",
                c.name
            ));
        }
    }
    none(findings);
}

#[test]
fn no_product_code_depends_on_tools() {
    let ws = ws();
    let tools: Vec<String> = ws
        .crates
        .iter()
        .filter(|c| c.dir.starts_with("tools"))
        .map(|c| c.name.clone())
        .collect();
    let tools: Vec<&str> = tools.iter().map(String::as_str).collect();
    let mut findings = Vec::new();
    for c in ws.product_crates() {
        findings.extend(ws.none_of(&c.name, &tools, "tools are for tests and builds only"));
    }
    none(findings);
}

#[test]
fn proto_holds_generated_code_only() {
    let ws = ws();
    let mut findings = ws.none_of(
        &ws.name("proto"),
        &[&format!("{}-*", ws.product)],
        "the contract crate is generated from proto/ and nothing else",
    );
    // Only the module tree and `include_proto!`: nothing written by hand to diverge from Bazel.
    findings.extend(lines_containing(
        &ws.root,
        "proto/src",
        &["rs"],
        &[
            "fn ", "struct ", "enum ", "impl ", "trait ", "use ", "const ", "static ",
        ],
        &[],
    ));
    none(findings);
}

#[test]
fn runtime_knows_processes_not_models() {
    let ws = ws();
    let mut forbidden = ML_AND_STORAGE.to_vec();
    forbidden.extend(["tonic", "tonic-*", "prost", "reqwest"]);
    none(ws.none_of(
        &ws.name("runtime"),
        &forbidden,
        "strata-runtime is process plumbing, no models, storage or RPC clients",
    ));
}

#[test]
fn meta_knows_rows_not_contracts_files_or_grpc() {
    let ws = ws();
    let mut forbidden = vec![
        "tonic",
        "tonic-*",
        "prost",
        "prost-*",
        "axum",
        "object_store",
    ];
    forbidden.extend(["parquet", "arrow", "candle-*"]);
    none(ws.none_of(
        &ws.name("meta"),
        &forbidden,
        "the metadata store knows rows, leases and SQL only",
    ));
}

#[test]
fn only_the_data_layer_reads_datasets_and_stores() {
    let ws = ws();
    let data = ws.name("data");
    let mut findings = Vec::new();
    for c in ws.product_crates().filter(|c| c.name != data) {
        findings.extend(ws.none_of(
            &c.name,
            &["parquet", "arrow", "arrow-*", "object_store"],
            "datasets and artifacts are read and written through strata-data only",
        ));
    }
    none(findings);
}

#[test]
fn the_core_speaks_no_io_protocol_and_builds_without_nvcc() {
    let ws = ws();
    let core = ws.name("core");
    let mut findings = ws.none_of(
        &core,
        &[
            "tonic", "tonic-*", "prost", "prost-*", "axum", "hyper", "reqwest", "sqlx",
        ],
        "the core is called with tensors, datasets and paths",
    );
    if let Some(c) = ws.get(&core) {
        for d in c.shipped().filter(|d| d.name == "cudarc" && !d.optional) {
            findings.push(format!("{core}: {} is not optional", d.name));
        }
        if c.default_features.iter().any(|f| f.contains("cuda")) {
            findings.push(format!("{core}: CUDA is a default feature"));
        }
    }
    none(findings);
}

#[test]
fn the_services_pass_kind_parameters_through_and_name_no_kind() {
    let ws = ws();
    // The kinds the core declares; anything above it finds them through the registry.
    let names = kind_names(&ws.root, &format!("libs/{}/src/kinds", ws.name("core")));
    assert!(names.len() >= 4, "kind names found: {names:?}");
    let quoted: Vec<String> = names
        .iter()
        .flat_map(|n| [format!("\"{n}\""), format!("'{n}'"), format!("`{n}`")])
        .collect();
    let mut needles: Vec<&str> = quoted.iter().map(String::as_str).collect();
    needles.push("kinds::");
    // The demo seeds named samples as a user's script would; the REST docs give an example;
    // the CLI's import command defaults to the one importable kind, and its unit test names one.
    let except = [
        format!("services/{}/src/demo.rs", ws.name("api")),
        format!("services/{}/src/routes/jobs.rs:example =", ws.name("api")),
        format!("services/{}/src/args.rs:default_value", ws.name("cli")),
        format!(
            "services/{}/src/args.rs:\"mlp-classifier\",",
            ws.name("cli")
        ),
    ];
    let except: Vec<&str> = except.iter().map(String::as_str).collect();
    let mut findings = Vec::new();
    for c in ws
        .product_crates()
        .filter(|c| c.dir.starts_with("services"))
    {
        let src = format!("{}/src", c.dir);
        findings.extend(lines_containing(&ws.root, &src, &["rs"], &needles, &except));
    }
    for dir in ["clients/web/src", "clients/mobile/src", "clients/ts/src"] {
        findings.extend(lines_containing(
            &ws.root,
            dir,
            &["ts", "tsx"],
            &needles,
            &[],
        ));
    }
    none(findings);
}

#[test]
fn the_typescript_client_knows_http_not_a_ui() {
    let ws = ws();
    none(lines_containing(
        &ws.root,
        "clients/ts/src",
        &["ts"],
        &["from \"react", "from \"next", "document.", "window."],
        &[],
    ));
}

#[test]
fn the_web_app_speaks_rest_only() {
    let ws = ws();
    // (Its OpenTelemetry exporter speaks OTLP over gRPC to a collector; that is not the contract.)
    none(lines_containing(
        &ws.root,
        "clients/web/src",
        &["ts", "tsx"],
        &["@grpc/", ".proto\"", "strata.ml.v1"],
        &[],
    ));
}

#[test]
fn the_mobile_app_calls_the_api_only_through_the_client() {
    let ws = ws();
    none(lines_containing(
        &ws.root,
        "clients/mobile/src",
        &["ts", "tsx"],
        &["fetch(", "XMLHttpRequest", "@grpc/", "AsyncStorage"],
        &[],
    ));
}

#!/usr/bin/env bash
# Renders the crate_universe hubs of MODULE.bazel with crate_universe's own generator,
# cargo-bazel 0.18.0 (the generator of rules_rust 0.70.0, the pinned release), the way the
# module extension runs it: `splice`, then `generate`, with the config.json and
# splicing_manifest.json the extension writes (crate_universe/extensions.bzl,
# `_generate_hub_and_spokes`; crates_vendor.bzl, `generate_config_file`). No Bazel is needed.
#
#   tools/bazel-check/render-hubs.sh ROOT OUT [CARGO_BAZEL]
#
# OUT/<hub>/ then holds what Bazel would put in the hub repository (`<hub>/BUILD.bazel`,
# `defs.bzl`, `alias_rules.bzl`, the spokes' `BUILD.<crate>-<version>.bazel`) and the
# `cargo-bazel-lock.json` a repin writes. `bazel-check check --hubs OUT` evaluates those files
# instead of a model of them and compares each lockfile with the one MODULE.bazel wires in.
# The hubs:
#   crates                the root Cargo workspace (crate.from_cargo, tools/bazel/rust.MODULE.bazel)
#   crates_cuda           tools/bazel/cuda's workspace (crate.from_cargo, tools/bazel/cuda.MODULE.bazel);
#                         its annotations only add build-script env and data to two spokes, so the
#                         hub's labels are rendered without them
#   crates_proto_plugins  protoc-gen-prost and protoc-gen-tonic (crate.from_specs, rust.MODULE.bazel)
set -euo pipefail
ROOT=$(cd "$1" && pwd)
OUT=$2
CARGO_BAZEL=${3:-cargo-bazel}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUSTC=$(cd "$ROOT" && rustup which rustc)
CARGO=$(cd "$ROOT" && rustup which cargo)
export CARGO RUSTC
# isolated = True (the extension's default) gives cargo a CARGO_HOME of its own; one shared by
# the hubs here keeps the sparse index downloaded once.
export CARGO_HOME=$OUT/.cargo_home

# config.json: generate_config_file(mode = "remote", output_pkg = workspace_name = <hub>, ...)
# over render_config()'s defaults; regen_command names the root module (`strata`).
config() { # hub, triples (JSON list), annotations (JSON object)
    local module
    module=$(sed -n 's/^    name = "\(.*\)",$/\1/p' "$ROOT/MODULE.bazel" | head -1)
    cat <<JSON
{
    "generate_binaries": false,
    "generate_build_scripts": true,
    "annotations": $3,
    "cargo_config": null,
    "rendering": {
        "build_file_template": "@$1//$1:BUILD.{name}-{version}.bazel",
        "crate_alias_template": "@{repository}//:{name}-{version}",
        "crate_label_template": "@{repository}__{name}-{version}//:{target}",
        "crate_repository_template": "{repository}__{name}-{version}",
        "crates_module_template": "@$1//$1:{file}",
        "default_alias_rule": "alias",
        "default_package_name": null,
        "generate_cargo_toml_env_vars": true,
        "generate_rules_license_metadata": false,
        "generate_target_compatible_with": true,
        "platforms_template": "@rules_rust//rust/platform:{triple}",
        "regen_command": "bazel mod show_repo '$module'",
        "vendor_mode": "remote",
        "repository_name": "$1"
    },
    "supported_platform_triples": $2
}
JSON
}

# One hub: splice then generate, as the extension does when it repins. The lockfile starts empty
# (the extension's fallback), so `generate --repin` writes a fresh one with its digest.
render() { # hub, cargo lockfile or "", workspace dir (for --nonhermetic-root-bazel-workspace-dir)
    local hub=$1 lock=$2 d=$OUT/$1
    local lock_args=()
    [ -z "$lock" ] || lock_args=(--cargo-lockfile "$lock")
    "$CARGO_BAZEL" splice \
        --output-dir "$d/splicing-output" --splicing-manifest "$d/splicing_manifest.json" \
        --config "$d/config.json" --repository-name "$hub" \
        --nonhermetic-root-bazel-workspace-dir "$ROOT" \
        "${lock_args[@]}" --skip-cargo-lockfile-overwrite \
        --cargo "$CARGO" --rustc "$RUSTC"
    [ -n "$lock" ] || lock=$d/splicing-output/Cargo.lock
    # Behind a registry mirror, splice takes the download URLs from the mirror's config.json
    # (`dl`). The lockfile must hold crates.io's own, what a Bazel run on the public network
    # renders (`https://static.crates.io/crates/<name>/<version>/download`), so a mirror's plain
    # `dl` prefix is put back before generate reads them.
    local cfg dl
    for cfg in "$CARGO_HOME"/registry/index/*/config.json; do
        [ -f "$cfg" ] || continue
        dl=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("dl", ""))' "$cfg")
        if [ -n "$dl" ] && [ "$dl" != "https://static.crates.io/crates" ] && [[ "$dl" != *"{"* ]]; then
            sed -i "s#\"url\":\"$dl/#\"url\":\"https://static.crates.io/crates/#g" \
                "$d/splicing-output/metadata.json"
        fi
    done
    : >"$d/cargo-bazel-lock.json"
    "$CARGO_BAZEL" generate \
        --cargo-lockfile "$lock" --config "$d/config.json" \
        --splicing-manifest "$d/splicing_manifest.json" --repository-dir "$d" \
        --nonhermetic-root-bazel-workspace-dir "$ROOT" \
        --paths-to-track "$d/paths_to_track.json" --warnings-output-path "$d/warnings_output.json" \
        --lockfile "$d/cargo-bazel-lock.json" --skip-cargo-lockfile-overwrite \
        --repin --metadata "$d/splicing-output/metadata.json" \
        --cargo "$CARGO" --rustc "$RUSTC"
}

fresh() { rm -rf "${OUT:?}/$1" && mkdir -p "$OUT/$1"; }

# crates: the root workspace. The manifest's label is str(Label("//:Cargo.toml")) in the root module.
fresh crates
config crates '["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "aarch64-apple-darwin"]' '{}' \
    >"$OUT/crates/config.json"
cat >"$OUT/crates/splicing_manifest.json" <<JSON
{"resolver_version": "2", "cargo_config": null, "direct_packages": {},
 "manifests": {"$ROOT/Cargo.toml": "@@//:Cargo.toml"}}
JSON
render crates "$ROOT/Cargo.lock"

# The MODULE.bazel segments, to see which hubs exist.
modules=("$ROOT/MODULE.bazel")
for m in "$ROOT"/tools/bazel/*.MODULE.bazel; do [ -f "$m" ] && modules+=("$m"); done

if grep -q '"crates_cuda"' "${modules[@]}" && [ -f "$ROOT/tools/bazel/cuda/Cargo.toml" ]; then
    fresh crates_cuda
    config crates_cuda '["x86_64-unknown-linux-gnu"]' '{}' >"$OUT/crates_cuda/config.json"
    cat >"$OUT/crates_cuda/splicing_manifest.json" <<JSON
{"resolver_version": "2", "cargo_config": null, "direct_packages": {},
 "manifests": {"$ROOT/tools/bazel/cuda/Cargo.toml": "@@//tools/bazel/cuda:Cargo.toml"}}
JSON
    render crates_cuda "$ROOT/tools/bazel/cuda/Cargo.lock"
fi

# crates_proto_plugins: crate.from_specs, so cargo resolves the specs' own workspace; the
# `gen_binaries` annotations give the protoc plugins their rust_binary targets. The specs'
# versions are read from the crate.spec(...) tags, so the render follows MODULE.bazel.
grep -q '"crates_proto_plugins"' "${modules[@]}" || exit 0
specs=$(python3 - "${modules[@]}" <<'PY'
import json, re, sys
specs = {}
for path in sys.argv[1:]:
    for block in re.findall(r"crate\.spec\((.*?)\n\)", open(path).read(), re.S):
        if "crates_proto_plugins" not in block:
            continue
        pkg = re.search(r'package = "([^"]+)"', block).group(1)
        specs[pkg] = {"version": re.search(r'version = "([^"]+)"', block).group(1)}
print(json.dumps(specs))
PY
)
fresh crates_proto_plugins
config crates_proto_plugins '["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "aarch64-apple-darwin"]' \
    '{"protoc-gen-prost *": {"gen_binaries": ["protoc-gen-prost"], "disable_pipelining": false}, "protoc-gen-tonic *": {"gen_binaries": ["protoc-gen-tonic"], "disable_pipelining": false}}' \
    >"$OUT/crates_proto_plugins/config.json"
cat >"$OUT/crates_proto_plugins/splicing_manifest.json" <<JSON
{"resolver_version": "2", "cargo_config": null, "manifests": {}, "direct_packages": $specs}
JSON
render crates_proto_plugins ""

#!/usr/bin/env bash
# Regenerates tools/bazel-check/schema/*.json from the rule sets' real sources.
# MIRRORS must point at a directory of bare git mirrors named <owner>+<name>/repo
# (the layout the research `fetch` tool produces). The sources are read with `git show <ref>:path`
# and never copied into this repository; only the extracted facts are written.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${MIRRORS:?set MIRRORS to the directory holding <owner>+<name>/repo git mirrors}"
cd "$here/../../../.."
cargo run -q -p bazel-check -- gen-schema \
  --config "$here/modules.json" --mirrors "$MIRRORS" --out "$here/.."
# Bazel's own builtins (native rules, MODULE.bazel functions) come from a curated table in
# src/builtins.rs, written by the same command.

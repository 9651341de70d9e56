#!/usr/bin/env bash
# Rewrites the crate_universe lockfiles MODULE.bazel wires in (`lockfile =`) from cargo-bazel's
# own render of today's Cargo.toml and Cargo.lock: run it after changing either, and commit the
# result. `tools/test bazel` fails while they differ (bazel-check's `lockfile` check).
#   tools/bazel-check/update-lockfiles.sh      # CARGO_BAZEL overrides the binary tools/setup installs
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$root/target/bazel-hubs
"$root/tools/bazel-check/render-hubs.sh" "$root" "$out" \
    "${CARGO_BAZEL:-$root/.cache/cargo-bazel/bin/cargo-bazel}"
# Only the root workspace's hub is pinned (tools/bazel/rust.MODULE.bazel explains why).
cp "$out/crates/cargo-bazel-lock.json" "$root/cargo-bazel-lock.json"
echo "updated cargo-bazel-lock.json"

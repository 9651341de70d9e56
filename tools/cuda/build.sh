#!/usr/bin/env bash
# The one CUDA build of the repo, shared by the CI check (check.sh) and the GPU bundle
# (gpu-check.sh pack), so both reuse the same compiled crates: a release build, with candle's
# CUDA kernels, of
#   strata-core (lib), strata-ml (`strata-ml`), strata-cli (`strata`)   features `cuda`
#   strata-core's GPU test (`gpu`) and throughput bench                 feature `gpu`
# into its own target dir (target/cuda, or $STRATA_CUDA_TARGET_DIR), so it never replaces the
# CPU binaries. One cargo invocation, so features unify once and nothing builds twice.
#
#   tools/cuda/build.sh [extra cargo args, e.g. --message-format=json]
#   tools/cuda/build.sh --check     kernels compiled, the rest only `cargo check`ed (no link)
#
# STRATA_CUDA_PROFILE=dev builds the debug profile instead (what CI's `cuda` stage does): the
# kernels are the same nvcc output, and Cargo's build dir is shared with the CPU build in
# target/, so every dependency whose features do not change with `cuda` is reused from
# `cargo test --workspace` instead of compiled again (about half the stage's time). Only the
# final binaries go to target/cuda/debug, so they never replace the CPU ones.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

"$here/fetch.sh" >/dev/null
# shellcheck source=tools/cuda/env.sh
source "$here/env.sh"
# nvcc jobs in parallel; cudaforge's default is half the cores.
export CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-$(nproc)}
export CARGO_TARGET_DIR=${STRATA_CUDA_TARGET_DIR:-$repo/target/cuda}
profile=${STRATA_CUDA_PROFILE:-release}
case "$profile" in
    release) ;;
    dev) export CARGO_BUILD_BUILD_DIR=${CARGO_BUILD_BUILD_DIR:-$repo/target} ;;
    *) echo "tools/cuda/build.sh: STRATA_CUDA_PROFILE is release or dev, not '$profile'" >&2; exit 2 ;;
esac

args=(--profile "$profile" --locked
    -p strata-core -p strata-ml -p strata-cli
    --features strata-core/gpu,strata-ml/cuda,strata-cli/cuda
    --lib --bins --test gpu --bench device_throughput)

if [ "${1:-}" = "--check" ]; then
    shift
    # candle-kernels' build script (where nvcc compiles every kernel) runs under `cargo check`
    # too; only the Rust code generation and the links are skipped.
    cargo check "${args[@]}" "$@"
else
    cargo build "${args[@]}" "$@"
fi

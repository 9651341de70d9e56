#!/usr/bin/env bash
# CI check of the CUDA build (the `cuda` stage of tools/test): fetch the hermetic CUDA root from
# PyPI, build the CUDA variant of the ML core, the ML service, the CLI and the GPU test and bench
# with no GPU and no system CUDA (tools/cuda/build.sh), then prove the fallback on this GPU-less
# machine (tools/cuda/smoke.sh): `--device cuda` fails with one line, `--device auto` serves on
# the CPU and says so in the log, in `/readyz` and in `/v1/system`.
#
#   tools/cuda/check.sh            full release build + smoke test (default)
#   tools/cuda/check.sh --quick    compile the CUDA kernels and `cargo check` the rest (no link,
#                                  no smoke test)
#   STRATA_API_BIN=path            a web API binary (any build) for the /readyz and /v1/system
#                                  part of the smoke test; skipped without it
#   STRATA_CUDA_PROFILE=dev        debug build sharing compiled dependencies with the CPU build
#                                  (see build.sh); what tools/test's `cuda` stage uses
#
# The build has its own target dir (target/cuda), so it never replaces the CPU binaries; CI
# keeps it between runs like target/ itself. CUDAFORGE_THREADS (default: all cores) bounds the
# parallel nvcc jobs; CUDA_COMPUTE_CAP (default 80) picks the GPU generation.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
start=$SECONDS

if [ "${1:-}" = "--quick" ]; then
    "$here/build.sh" --check
    echo "--- cuda: kernels compiled, Rust checked in $((SECONDS - start)) s (no binaries linked)"
    exit 0
fi

"$here/build.sh"
profile=${STRATA_CUDA_PROFILE:-release}
echo "--- cuda: $profile build in $((SECONDS - start)) s"
dir=release
[ "$profile" = release ] || dir=debug
bin=${STRATA_CUDA_TARGET_DIR:-$repo/target/cuda}/$dir
# The binaries need libcuda.so.1: with no driver here, tools/cuda/run lends them the stub.
"$here/smoke.sh" "$bin" "${STRATA_API_BIN:-}"

#!/usr/bin/env bash
# CI check of the CUDA build (the `cuda` stage of tools/test): fetch the hermetic CUDA root from
# PyPI, build the CUDA variant of the ML service and the CLI with no GPU and no system CUDA, then
# prove the fallback: `--device auto` serves on CPU and `--device cuda` fails with one line.
#
#   tools/cuda/check.sh            full release build (default)
#   tools/cuda/check.sh --quick    compile the CUDA kernels and `cargo check` the rest (no link)
#
# The CUDA build has its own target dir (target/cuda) so it never overwrites the CPU binaries;
# CI keeps it between runs like target/ itself. CUDAFORGE_THREADS (default: all cores) bounds the
# parallel nvcc jobs; CUDA_COMPUTE_CAP (default 80) picks the GPU generation.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
mode=${1:-full}

"$here/fetch.sh" >/dev/null
# shellcheck source=tools/cuda/env.sh
source "$here/env.sh"
export CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-$(nproc)}
export CARGO_TARGET_DIR=${STRATA_CUDA_TARGET_DIR:-$repo/target/cuda}
packages=(-p strata-ml -p strata-cli)
start=$SECONDS

if [ "$mode" = "--quick" ]; then
    cargo build --release --locked -p candle-kernels
    cargo check --release --locked --features cuda "${packages[@]}"
    echo "--- cuda: kernels compiled, Rust checked in $((SECONDS - start)) s (no binaries linked)"
    exit 0
fi

cargo build --release --locked --features cuda "${packages[@]}"
echo "--- cuda: release build in $((SECONDS - start)) s"
bin=$CARGO_TARGET_DIR/release

# The binaries need libcuda.so.1: with no driver here, tools/cuda/run lends them the stub.
"$here/smoke.sh" "$bin"

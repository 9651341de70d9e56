# Source this (after tools/cuda/fetch.sh) to build the CUDA variant with Cargo:
#   source tools/cuda/env.sh && cargo build --release --features cuda -p strata-ml -p strata-cli
# It points candle-kernels (cudaforge) and cudarc at the wheel-built CUDA root. It does NOT put
# the root's libraries on LD_LIBRARY_PATH: run CUDA binaries through tools/cuda/run, which also
# decides whether the stub driver may be used.
# The cudarc API version is pinned in Cargo (feature `cuda-13040` of the `cudarc` dependency of
# strata-core), because cudarc 0.19 cannot parse nvcc 13.5's version; so no CUDARC_CUDA_VERSION.

_strata_cuda_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CUDA_ROOT="${STRATA_CUDA_CACHE:-$_strata_cuda_repo/.cache/cuda}/root"
export CUDA_PATH="$CUDA_ROOT" CUDA_HOME="$CUDA_ROOT"
# cudaforge takes NVCC first; cudarc's version probe would use nvcc from PATH.
export NVCC="$CUDA_ROOT/bin/nvcc"
case ":$PATH:" in *":$CUDA_ROOT/bin:"*) ;; *) export PATH="$CUDA_ROOT/bin:$PATH" ;; esac
# No nvidia-smi on a build machine: the kernels' target must be explicit. 80 = A100 (and its SASS
# for the quantized kernels); the PTX kernels JIT forward to newer GPUs. Caps >= 90 become sm_90a.
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-80}"
if [ ! -x "$NVCC" ]; then
    echo "tools/cuda/env.sh: $NVCC missing; run tools/cuda/fetch.sh first" >&2
fi
unset _strata_cuda_repo

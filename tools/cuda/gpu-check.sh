#!/usr/bin/env bash
# GPU checks, in two halves, because the build machine has no GPU and the GPU machine has no
# network (and should not need the 1.2 GB CUDA root):
#
#   tools/cuda/gpu-check.sh pack   (here)  builds the GPU test and bench binaries with CUDA
#                                          (tools/cuda/build.sh, the CI build), and packs them with
#                                          all-MiniLM-L6-v2 and the digits sample into
#                                          .cache/gpu-check (<= 64 MiB: binaries stripped and
#                                          xz-compressed, weights as f16)
#   tools/cuda/gpu-check.sh run    (there) runs, from that bundle:
#       1. the `gpu` tests of strata-core: MiniLM embeddings on CUDA vs CPU (cosine >= 0.999),
#          the digits MLP trained on CUDA reaching the CPU accuracy band;
#       2. the throughput bench on cuda and on cpu, and PyTorch's twin (torch_bench.py) when
#          `python3 -c "import torch"` works there; prints one table.
#
# The GPU machine must have an NVIDIA driver for CUDA 13.5 (R580+; the PTX is ISA 9.5) and the
# CUDA 13 runtime libraries (libcudart.so.13, libcublas(Lt).so.13, libcurand.so.10), found in
# $STRATA_CUDA_LIB, a pip-installed nvidia/cu13/lib (e.g. PyTorch's), /usr/local/cuda*/lib64
# or the loader cache. With the device tool:
#   run(command="tools/cuda/gpu-check.sh run", carry=[".cache/gpu-check"])
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bundle=${STRATA_GPU_BUNDLE:-$repo/.cache/gpu-check}
limit=$((64 * 1024 * 1024))

pack() {
    local minilm=${STRATA_MINILM_DIR:-$repo/.cache/assets/all-MiniLM-L6-v2}
    [ -f "$minilm/model.safetensors" ] || { echo "gpu-check: no MiniLM at $minilm (tools/assets/fetch.sh)" >&2; exit 1; }

    rm -rf "$bundle" && mkdir -p "$bundle/bin" "$bundle/minilm" "$bundle/samples"
    # The same build as CI's cuda stage (so it is reused); the test and bench executables by
    # name, from cargo's JSON messages.
    local exes
    exes=$("$here/build.sh" --message-format=json-render-diagnostics \
        | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("gpu", "device_throughput"):
        print(m["target"]["name"], m["executable"])')
    while read -r name exe; do
        [ -n "$name" ] || continue
        strip -o "$bundle/bin/$name" "$exe"
        xz -T0 -6 "$bundle/bin/$name"
    done <<<"$exes"
    [ -f "$bundle/bin/gpu.xz" ] && [ -f "$bundle/bin/device_throughput.xz" ] || { echo "gpu-check: build gave: $exes" >&2; exit 1; }

    # f32 -> f16 halves the weights so the bundle fits; CPU and CUDA load the same rounded
    # weights there, so the CUDA-vs-CPU comparison is unaffected.
    cp "$minilm"/{config.json,tokenizer.json,tokenizer_config.json,special_tokens_map.json,vocab.txt,modules.json,sentence_bert_config.json} "$bundle/minilm/" 2>/dev/null || true
    cp -r "$minilm/1_Pooling" "$bundle/minilm/" 2>/dev/null || true
    python3 "$here/safetensors_f16.py" "$minilm/model.safetensors" "$bundle/minilm/model.safetensors"
    cp "$repo"/libs/strata-data/samples/digits.parquet "$bundle/samples/"

    local size
    size=$(du -sb "$bundle" | cut -f1)
    echo "gpu-check: bundle $bundle is $((size / 1024 / 1024)) MiB"
    [ "$size" -le "$limit" ] || { echo "gpu-check: bundle exceeds 64 MiB" >&2; exit 1; }
}

find_cuda_libs() {
    local d
    for d in ${STRATA_CUDA_LIB:-} \
        $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, "cu13", "lib") for p in nvidia.__path__))' 2>/dev/null) \
        /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu; do
        [ -e "$d/libcudart.so.13" ] && [ -e "$d/libcublas.so.13" ] && [ -e "$d/libcurand.so.10" ] && { echo "$d"; return 0; }
    done
    return 1
}

run() {
    [ -f "$bundle/bin/gpu.xz" ] || { echo "gpu-check: no bundle at $bundle (pack it on the build machine and carry .cache/gpu-check)" >&2; exit 1; }
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    local lib
    lib=$(find_cuda_libs) || { echo "gpu-check: CUDA 13 runtime libraries not found (set STRATA_CUDA_LIB)" >&2; exit 1; }
    echo "gpu-check: CUDA runtime from $lib"
    export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    local work
    work=$(mktemp -d)
    for f in "$bundle"/bin/*.xz; do
        xz -dc "$f" > "$work/$(basename "$f" .xz)"
        chmod +x "$work/$(basename "$f" .xz)"
    done
    export STRATA_MINILM_DIR=$bundle/minilm STRATA_DIGITS=$bundle/samples/digits.parquet
    local rc=0
    echo "=== gpu tests"
    "$work/gpu" --test-threads=1 || rc=1
    echo "=== throughput (strata on cuda, strata on cpu, pytorch on cuda)"
    {
        "$work/device_throughput" --device cuda --minilm "$STRATA_MINILM_DIR" || rc=1
        "$work/device_throughput" --device cpu --minilm "$STRATA_MINILM_DIR" || rc=1
        if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
            python3 "$here/torch_bench.py" --device cuda --minilm "$STRATA_MINILM_DIR" || rc=1
        else
            echo '{"impl": "pytorch", "skipped": "no PyTorch with CUDA on this machine"}'
        fi
    } | tee "$work/bench.jsonl"
    python3 - "$work/bench.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(f"{'impl':<10} {'device':<28} {'bench':<14} {'batch':>5} {'items/s':>12}")
for r in rows:
    if "items_per_sec" in r:
        print(f"{r['impl']:<10} {r['device'][:28]:<28} {r['bench']:<14} {r['batch']:>5} {r['items_per_sec']:>12.1f}")
    else:
        print(f"{r.get('impl', '?'):<10} skipped: {r.get('skipped')}")
EOF
    rm -rf "$work"
    return $rc
}

case "${1:-}" in
    pack) pack ;;
    run) run ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac

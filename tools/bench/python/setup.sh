#!/usr/bin/env bash
# Python side of the benchmarks: PyTorch + sentence-transformers from PyPI in .cache/venv-ml,
# plus the all-MiniLM-L6-v2 model directory. Idempotent.
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../assets" && pwd)/fetch.sh" --python

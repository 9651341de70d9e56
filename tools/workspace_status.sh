#!/usr/bin/env bash
# Stamping values for `--stamp` builds (image labels, version output). Bazel runs this at the
# workspace root; keys starting with STABLE_ invalidate stamped actions when they change.
set -euo pipefail
echo "STABLE_GIT_COMMIT $(git rev-parse HEAD 2>/dev/null || echo unknown)"
if git diff --quiet HEAD 2>/dev/null; then
    echo "STABLE_GIT_TREE clean"
else
    echo "STABLE_GIT_TREE dirty"
fi

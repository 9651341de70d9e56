#!/usr/bin/env bash
# Runs the CUDA build's binaries (in $1) on a machine without a GPU and checks the contract of
# `--device`: `cuda` fails with one line and no panic, `auto` falls back to the CPU, says so in
# the log, and works (the CLI trains the digits sample; the ML service starts serving). With a
# web API binary ($2, any build: it has no CUDA code), also that the fallback shows in `/readyz`
# and in `GET /v1/system`'s `ml.device_note`.
#
#   tools/cuda/smoke.sh target/cuda/release [target/debug/strata-api]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:?usage: smoke.sh <dir with strata and strata-ml> [strata-api binary]}
api_bin=${2:-}
run="$here/run"
work=$(mktemp -d)
server=""
api=""
cleanup() {
    [ -n "$api" ] && kill "$api" 2>/dev/null
    [ -n "$server" ] && kill "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "cuda smoke: FAILED: $*" >&2; exit 1; }
digits=$repo/libs/strata-data/samples/digits.parquet
train=(train --kind mlp-classifier --dataset "$digits" --label label --name digits --epochs 1)

# 1. CLI, --device cuda: refused with exactly one line, no panic.
if "$run" "$bin/strata" --store "$work/store" --device cuda "${train[@]}" >"$work/out" 2>"$work/err"; then
    fail "strata --device cuda succeeded without a GPU"
fi
grep -q 'panicked' "$work/err" && fail "strata --device cuda panicked: $(cat "$work/err")"
grep -v '^\s*$' "$work/err" | grep -v ' INFO \| WARN ' >"$work/lines" || true
[ "$(wc -l <"$work/lines")" -eq 1 ] || fail "expected one error line, got: $(cat "$work/err")"
grep -q 'cuda:0 unavailable' "$work/lines" || fail "unexpected error: $(cat "$work/lines")"
echo "ok: strata --device cuda -> $(cat "$work/lines")"

# 2. CLI, --device auto: falls back to CPU, says so, and trains.
"$run" "$bin/strata" --store "$work/store" --device auto "${train[@]}" >"$work/out" 2>"$work/err" \
    || fail "strata --device auto failed: $(cat "$work/err")"
grep -q 'using cpu' "$work/err" || fail "no fallback line in the log: $(cat "$work/err")"
echo "ok: strata --device auto -> $(grep -m1 'using cpu' "$work/err" | sed 's/.*device auto/device auto/')"

# 3. ML service, --device cuda: exits non-zero with one line.
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
read -r grpc metrics http <<<"$ports"
svc=(--listen "127.0.0.1:$grpc" --metrics-listen "127.0.0.1:$metrics" --data-dir "$work/data")
if "$run" "$bin/strata-ml" "${svc[@]}" --device cuda >"$work/out" 2>"$work/err"; then
    fail "strata-ml --device cuda started without a GPU"
fi
grep -q 'panicked' "$work/err" && fail "strata-ml --device cuda panicked"
[ "$(grep -c . "$work/err")" -eq 1 ] || fail "expected one error line, got: $(cat "$work/err")"
grep -q '^strata-ml: device: cuda:0 unavailable: ' "$work/err" || fail "unexpected error: $(cat "$work/err")"
echo "ok: strata-ml --device cuda -> $(cat "$work/err")"

# 4. ML service, --device auto: serves on CPU and logs why.
"$run" "$bin/strata-ml" "${svc[@]}" --device auto >"$work/log" 2>&1 &
server=$!
for _ in $(seq 100); do
    grep -q 'serving gRPC' "$work/log" && break
    kill -0 "$server" 2>/dev/null || fail "strata-ml --device auto exited: $(cat "$work/log")"
    sleep 0.1
done
grep -q 'serving gRPC' "$work/log" || fail "strata-ml did not start: $(cat "$work/log")"
grep -q 'using cpu' "$work/log" || fail "no fallback line in the service log: $(cat "$work/log")"
echo "ok: strata-ml --device auto serves on cpu"

# 5. The web API in front of it: readiness and system info carry the reason for the fallback.
[ -n "$api_bin" ] || exit 0
[ -x "$api_bin" ] || fail "no web API binary at $api_bin"
"$api_bin" --listen "127.0.0.1:$http" --metrics-listen 127.0.0.1:0 --ml-url "http://127.0.0.1:$grpc" --dev \
    --metadata-url "sqlite:$work/api/meta.db" --bootstrap-admin-password "smoke-test-password" >"$work/api.log" 2>&1 &
api=$!
ready=""
for _ in $(seq 100); do
    ready=$(curl -fsS "http://127.0.0.1:$http/readyz" 2>/dev/null) && break
    kill -0 "$api" 2>/dev/null || fail "strata-api exited: $(cat "$work/api.log")"
    sleep 0.1
done
[ -n "$ready" ] || fail "/readyz never answered 200: $(cat "$work/api.log")"
grep -qx 'device: cpu' <<<"$ready" || fail "/readyz does not name the device: $ready"
grep -q '^device_note: auto: cuda:0 unavailable: no NVIDIA driver found' <<<"$ready" \
    || fail "/readyz does not explain the fallback: $ready"
note=$(curl -fsS "http://127.0.0.1:$http/v1/system" | python3 -c 'import json, sys; print(json.load(sys.stdin)["ml"]["device_note"])') \
    || fail "GET /v1/system failed"
[ "device_note: $note" = "$(grep '^device_note: ' <<<"$ready")" ] || fail "/v1/system device_note differs: $note"
echo "ok: /readyz and /v1/system -> $note"

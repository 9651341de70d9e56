# Helpers shared by the tools/ scripts. Source it; it defines functions only.

# Prints a visible section header.
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# Puts the repo-local pnpm (installed by tools/setup into .cache/tools) on PATH.
ensure_pnpm() {
    local root
    root=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
    export PATH="$root/.cache/tools/node_modules/.bin:$PATH"
    if ! command -v pnpm >/dev/null; then
        echo "pnpm not found: run tools/setup first" >&2
        return 1
    fi
}

# wait_for_http URL SECONDS: polls until URL answers 2xx, or fails after SECONDS.
wait_for_http() {
    local url=$1 deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "timed out waiting for $url" >&2
            return 1
        fi
        sleep 0.5
    done
}

# cargo-bazel, crate_universe's generator: 0.18.0 is the one rules_rust 0.70.0 (MODULE.bazel's
# pin) runs. tools/setup installs it here; the bazel stage renders the crate hubs with it.
CARGO_BAZEL_VERSION=0.18.0
cargo_bazel() {
    local root
    root=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
    echo "$root/.cache/cargo-bazel/bin/cargo-bazel"
}

# Builds every crate's binaries and tests the way `cargo test --workspace` does. tools/test and
# tools/dev/run share it: the same command unifies features the same way, so whichever runs
# second compiles nothing (`cargo build -p ...` would unify them differently and rebuild half the
# tree).
build_workspace() {
    cargo test --workspace --locked --no-run -q
}

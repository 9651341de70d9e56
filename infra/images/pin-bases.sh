#!/usr/bin/env bash
# Pins every base image of tools/bazel/oci.MODULE.bazel by digest: run it once on a machine that
# can reach the registries (they could not be resolved where these files were written), review
# the diff, commit. Each `oci.pull(tag = ..., reproducible = False)` becomes
# `oci.pull(digest = "sha256:...")` of the multi-platform index that tag names today, and
# tools/bazel/oci_bases.bzl's BASES_PINNED turns True, which lets `--config=release` push.
#   infra/images/pin-bases.sh          # needs crane (go-containerregistry) or skopeo on PATH
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
module=$root/tools/bazel/oci.MODULE.bazel
digest_of() {
    if command -v crane >/dev/null; then
        crane digest "$1"
    elif command -v skopeo >/dev/null; then
        skopeo inspect --raw "docker://$1" | sha256sum | sed 's/^\([0-9a-f]*\).*/sha256:\1/'
    else
        echo "pin-bases.sh: install crane or skopeo" >&2
        return 1
    fi
}
# image and tag of every oci.pull that still has a tag, one pair per line.
pulls=$(python3 - "$module" <<'PY'
import re, sys
for block in re.findall(r"oci\.pull\((.*?)\n\)", open(sys.argv[1]).read(), re.S):
    tag = re.search(r'tag = "([^"]+)"', block)
    if tag:
        print(re.search(r'image = "([^"]+)"', block).group(1), tag.group(1))
PY
)
[ -n "$pulls" ] || { echo "every base is pinned already"; exit 0; }
while read -r image tag; do
    digest=$(digest_of "$image:$tag")
    echo "$image:$tag -> $digest"
    python3 - "$module" "$image" "$tag" "$digest" <<'PY'
import re, sys
path, image, tag, digest = sys.argv[1:]
text = open(path).read()
def pin(m):
    block = m.group(0)
    if f'image = "{image}"' not in block or f'tag = "{tag}"' not in block:
        return block
    block = block.replace(f'    tag = "{tag}",\n', f'    digest = "{digest}",\n')
    return block.replace("    reproducible = False,\n", "")
open(path, "w").write(re.sub(r"oci\.pull\(.*?\n\)", pin, text, flags=re.S))
PY
done <<<"$pulls"
sed -i 's/^BASES_PINNED = False$/BASES_PINNED = True/' "$root/tools/bazel/oci_bases.bzl"
# `digest` sorts before `image`: buildifier puts it there (tools/setup installs it with pnpm).
buildifier=$root/node_modules/.bin/buildifier
[ -x "$buildifier" ] || buildifier=buildifier
"$buildifier" --mode=fix "$module"
echo "pinned; review with git diff, then commit tools/bazel/oci.MODULE.bazel and tools/bazel/oci_bases.bzl"

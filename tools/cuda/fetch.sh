#!/usr/bin/env bash
# Builds the hermetic CUDA root that `cargo build --features cuda` uses, from NVIDIA's PyPI wheels
# only (tools/cuda/requirements.txt pins versions and sha256; pip verifies them):
#   .cache/cuda/wheels/   the downloaded wheels (removed once the root is assembled)
#   .cache/cuda/root/     bin/nvcc, nvvm/, include/, lib/ (+ dev .so links), lib64 -> lib,
#                         lib/stubs/libcuda.so: a stub driver generated from cudarc's bindings
# No system CUDA, no GPU and no network other than PyPI and crates.io are needed. Linux x86_64.
# Idempotent: a stamp records the inputs, and a second run returns at once.
#
#   tools/cuda/fetch.sh           fetch and assemble (prints the root on the last line)
#   STRATA_CUDA_CACHE=dir ...     put wheels and root under dir instead of .cache/cuda
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${STRATA_CUDA_CACHE:-$repo/.cache/cuda}
wheels=$cache/wheels
root=$cache/root

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "tools/cuda/fetch.sh: the pinned wheels are for Linux x86_64, not $(uname -s)-$(uname -m)" >&2
    exit 1
fi

# cudarc declares the driver entry points the stub must provide; follow the version in Cargo.lock
# once the cuda feature has put it there, else the pin below (crates.io sha256).
lock_field() { # lock_field <field>: that field of the cudarc entry in Cargo.lock
    awk -v f="$1" '/^\[\[package\]\]/ { c = 0 } /^name = "cudarc"$/ { c = 1 }
        c && $1 == f { gsub(/"/, "", $3); print $3; exit }' "$repo/Cargo.lock" 2>/dev/null || true
}
cudarc_version=$(lock_field version)
cudarc_sha256=$(lock_field checksum)
if [ -z "$cudarc_version" ]; then
    cudarc_version=0.19.10
    cudarc_sha256=7359bf1de037ddada72729c3acec9b040f3468400c6e9e740b01ba0cd2e89562
fi

stamp_inputs() {
    cat "$here/requirements.txt" "$here/gen_stub.sh" "${BASH_SOURCE[0]}"
    echo "cudarc $cudarc_version"
}
stamp=$(stamp_inputs | sha256sum | cut -c1-16)
if [ -f "$root/.stamp" ] && [ "$(cat "$root/.stamp")" = "$stamp" ] && [ -x "$root/bin/nvcc" ]; then
    echo "$root"
    exit 0
fi

echo "tools/cuda/fetch.sh: downloading the pinned CUDA wheels from PyPI into $wheels" >&2
mkdir -p "$wheels"
# PyPI only: an explicit index and no extra find-links from the environment.
# No pip cache: it would keep a second copy of the 640 MB of wheels.
PIP_FIND_LINKS= PIP_EXTRA_INDEX_URL= python3 -m pip download --quiet --disable-pip-version-check \
    --no-cache-dir --index-url https://pypi.org/simple --no-deps --only-binary=:all: --require-hashes \
    -r "$here/requirements.txt" -d "$wheels"

echo "tools/cuda/fetch.sh: assembling the CUDA root in $root" >&2
tmp="$root.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
# Every wheel keeps its tree under nvidia/cu13/; merging those gives the usual toolkit layout,
# which nvcc.profile expects ($(_HERE_)/.. is the root).
python3 - "$here/requirements.txt" "$wheels" "$tmp" <<'EOF'
import os, pathlib, stat, sys, zipfile
reqs, wheels, dest = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
for line in open(reqs):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, version = line.split()[0].split("==")
    prefix = name.replace("-", "_") + "-" + version + "-"
    found = [w for w in wheels.glob("*.whl") if w.name.startswith(prefix)]
    if len(found) != 1:
        sys.exit(f"fetch.sh: expected one wheel {prefix}*.whl in {wheels}, found {len(found)}")
    with zipfile.ZipFile(found[0]) as z:
        for info in z.infolist():
            parts = info.filename.split("/")
            if parts[:2] != ["nvidia", "cu13"] or info.is_dir() or len(parts) < 3:
                continue
            out = dest.joinpath(*parts[2:])
            out.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(out, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            mode = info.external_attr >> 16
            if mode & stat.S_IXUSR or out.parent.name == "bin":
                os.chmod(out, 0o755)
EOF

# The wheels ship sonames only; the linker wants the unversioned names.
(
    cd "$tmp/lib"
    for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13 libcurand.so.10; do
        [ -e "$so" ] || { echo "fetch.sh: $so missing from the wheels" >&2; exit 1; }
        ln -sf "$so" "${so%.so.*}.so"
    done
)
# cudaforge looks in lib64.
ln -sfn lib "$tmp/lib64"

# The stub driver, from the cudarc sources cargo has (or the pinned crate from crates.io).
cudarc_src=""
for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-"$cudarc_version"; do
    [ -f "$d/src/driver/sys/mod.rs" ] && cudarc_src=$d && break
done
if [ -z "$cudarc_src" ]; then
    curl -fsSL --retry 3 -o "$tmp/cudarc.crate" "https://static.crates.io/crates/cudarc/cudarc-$cudarc_version.crate"
    echo "$cudarc_sha256  $tmp/cudarc.crate" | sha256sum -c --quiet - \
        || { echo "fetch.sh: cudarc $cudarc_version crate checksum mismatch" >&2; exit 1; }
    tar -xzf "$tmp/cudarc.crate" -C "$tmp" "cudarc-$cudarc_version/src/driver/sys/mod.rs"
    cudarc_src=$tmp/cudarc-$cudarc_version
fi
mkdir -p "$tmp/lib/stubs"
"$here/gen_stub.sh" "$cudarc_src/src/driver/sys/mod.rs" > "$tmp/lib/stubs/cuda_stub.c"
"${CC:-cc}" -O2 -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$tmp/lib/stubs/libcuda.so" "$tmp/lib/stubs/cuda_stub.c"
# Only tools/cuda/run puts this directory on LD_LIBRARY_PATH, and only when no driver exists.
ln -sf libcuda.so "$tmp/lib/stubs/libcuda.so.1"
rm -rf "$tmp/cudarc.crate" "$tmp/cudarc-$cudarc_version"

"$tmp/bin/nvcc" --version >/dev/null
echo "$stamp" > "$tmp/.stamp"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
# The root is all that is used from here on; the wheels would only double the 1.8 GB.
rm -rf "$wheels"
echo "$root"

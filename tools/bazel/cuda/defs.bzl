"""Picks the CPU or the CUDA build of candle for a Rust target, on `--config=cuda`."""

# The crates whose build differs under CUDA, plus safetensors: candle's tensors implement
# safetensors' traits, so a target that uses both must take them from the same hub, or it would
# see two distinct safetensors crates. Everything else comes from the `crates` hub as usual.
CUDA_HUB_CRATES = ["candle-core", "candle-nn", "candle-transformers", "safetensors"]

def _crate_of(dep):
    """The crate a dependency names, or None when it is not one of CUDA_HUB_CRATES.

    `all_crate_deps()` returns `Label` values named `<crate>-<version>`
    (`Label("@crates//:candle-core-0.11.1")`), so the name is read with `.name` and the version
    suffix is recognised by its leading digit; plain strings (`"@crates//:candle-core"`) work too.
    """
    name = dep.name if type(dep) == "Label" else str(dep).rsplit(":", 1)[-1]
    for crate in CUDA_HUB_CRATES:
        if name == crate:
            return crate
        rest = name[len(crate) + 1:] if name.startswith(crate + "-") else ""
        if rest and rest[0].isdigit():
            return crate
    return None

def with_cuda_candle(deps):
    """Swaps the candle crates of an `all_crate_deps()` result for their CUDA builds under --config=cuda.

    The CUDA builds live in the separate `crates_cuda` hub, so the default graph never needs nvcc.
    Every target that names candle must go through this macro: a binary that mixed the two hubs'
    candle would hold two distinct crates.

    Args:
        deps: the (unconditional) result of `all_crate_deps(normal = True)`.

    Returns:
        the same deps, with candle-* and safetensors selected on //tools/bazel/config:cuda_enabled.
    """
    if type(deps) != "list":
        fail("with_cuda_candle needs the plain list of all_crate_deps(), not a select()")
    others = [d for d in deps if not _crate_of(d)]
    cpu = [d for d in deps if _crate_of(d)]

    # The CUDA hub's root aliases (`@crates_cuda//:candle-core`) exist for every direct dependency
    # of tools/bazel/cuda/Cargo.toml, whatever version it pins.
    cuda = ["@crates_cuda//:" + _crate_of(d) for d in cpu]
    return others + select({
        "//tools/bazel/config:cuda_enabled": cuda,
        "//conditions:default": cpu,
    })

def cuda_crate_features():
    """The crate feature `cuda` under --config=cuda, so `cfg!(feature = "cuda")` matches Cargo."""
    return select({
        "//tools/bazel/config:cuda_enabled": ["cuda"],
        "//conditions:default": [],
    })

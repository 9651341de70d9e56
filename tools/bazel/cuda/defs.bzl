"""Picks the CPU or the CUDA build of candle for a Rust target, on `--config=cuda`."""

# The crates whose build differs under CUDA; everything else comes from the `crates` hub as usual.
CANDLE_CRATES = ["candle-core", "candle-nn", "candle-transformers"]

def _is_candle(label):
    return label.rsplit(":", 1)[-1] in CANDLE_CRATES

def with_cuda_candle(deps):
    """Swaps the candle crates of an `all_crate_deps()` result for their CUDA builds under --config=cuda.

    The CUDA builds live in the separate `crates_cuda` hub, so the default graph never needs nvcc.
    Every target that names candle must go through this macro: a binary that mixed the two hubs'
    candle would hold two distinct crates.

    Args:
        deps: the (unconditional) result of `all_crate_deps(normal = True)`.

    Returns:
        the same deps, with candle-* selected on //tools/bazel/config:cuda_enabled.
    """
    if type(deps) not in ("list", "dict"):
        fail("with_cuda_candle needs the plain list of all_crate_deps(), not a select()")
    others = [d for d in deps if not _is_candle(d)]
    used = [d.rsplit(":", 1)[-1] for d in deps if _is_candle(d)]
    return others + select({
        "//tools/bazel/config:cuda_enabled": ["@crates_cuda//:" + c for c in used],
        "//conditions:default": ["@crates//:" + c for c in used],
    })

def cuda_crate_features():
    """The crate feature `cuda` under --config=cuda, so `cfg!(feature = "cuda")` matches Cargo."""
    return select({
        "//tools/bazel/config:cuda_enabled": ["cuda"],
        "//conditions:default": [],
    })

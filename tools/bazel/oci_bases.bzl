"""Whether the base images of tools/bazel/oci.MODULE.bazel are pinned by digest.

infra/images/pin-bases.sh resolves every `oci.pull` tag to its digest on a machine that can reach
the registries, rewrites oci.MODULE.bazel and sets this to True; until then `--config=release`
refuses to push images built on a tag (infra/images/BUILD.bazel, PUSHABLE).
"""

BASES_PINNED = False

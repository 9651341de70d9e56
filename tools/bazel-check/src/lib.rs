//! Static checks of the Bazel graph: evaluates MODULE.bazel, BUILD.bazel and the repo's `.bzl`
//! files with the `starlark` interpreter against a committed rule schema.
//!
//! Invariant: no check depends on a Bazel binary or on network access; external rule facts come
//! only from `schema/*.json`, which `gen-schema` derives from the rules' real sources.

pub mod ast_util;
pub mod buildifier;
pub mod builtins;
pub mod cargo;
pub mod check;
pub mod checks;
pub mod eval;
pub mod graph;
pub mod label;
pub mod model;
pub mod schema;
pub mod schemagen;
pub mod values;

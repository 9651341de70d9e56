//! new-product: renames the product of a repository forked from this starter, in one step.
//!
//! The product's name is written once, in the root `Cargo.toml` under
//! `[workspace.metadata.product]`, and used as a prefix everywhere else: crates (`NAME-core`,
//! `NAME_core`), binaries, Bazel targets and the module name, the proto package (`NAME.ml.v1`
//! under `proto/NAME/`), the npm scope (`@NAME/client`), images, Kubernetes names and labels,
//! environment variables (`NAME_DATA_DIR`), metric names, docs. The rename is three rules applied
//! to every file git tracks, its path and its text: `name` → `new`, `Name` → `New`,
//! `NAME` → `NEW`. Rules rather than a list of files, so files added after this tool was written
//! rename too. Lines carrying the marker [`KEEP_MARKER`] are left as they are (credit to the
//! upstream project, say). Then the generated files are regenerated ([`regen`]).
//!
//! **Invariant:** the tool edits only files git tracks, and only in a clean tree, so the whole
//! rename is one reviewable diff that `git checkout . && git clean -fd` undoes; it decides
//! everything before it writes anything, and refuses a plan whose paths would collide.

pub mod name;
pub mod plan;
pub mod regen;
pub mod repo;

pub use name::{NameError, ProductName};
pub use plan::{Leftover, Plan};

/// Lines containing this text are never rewritten (see the crate docs).
pub const KEEP_MARKER: &str = "new-product: keep";

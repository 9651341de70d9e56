//! gRPC contracts of the strata ML service (`proto/strata/ml/v1/*.proto`), as Rust types, clients
//! and servers.
//!
//! The module path mirrors the proto package (`strata.ml.v1` → `strata::ml::v1`) because that is
//! what Bazel's `rust_prost_library` generates; Cargo and Bazel builds expose the same API.
//!
//! Architecture invariant: generated code only. Nothing hand-written lives here, so the Bazel
//! target (which has no `src/`) and the Cargo crate never diverge.

pub mod strata {
    pub mod ml {
        pub mod v1 {
            tonic::include_proto!("strata.ml.v1");
        }
    }
}

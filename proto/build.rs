//! Cargo-only code generation. Under Bazel, `rust_prost_library` in proto/BUILD.bazel generates the
//! same modules from the same files, so this script must not add anything the Bazel path lacks.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A vendored protoc keeps the Cargo path free of any system install.
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("PROTOC", protoc) };

    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut protos = Vec::new();
    for entry in std::fs::read_dir(root.join("strata/ml/v1"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "proto") {
            protos.push(path);
        }
    }
    protos.sort();
    println!("cargo:rerun-if-changed=strata");
    // The descriptor set (with imports) feeds gRPC reflection in strata-ml; `links` in
    // Cargo.toml hands its path to dependents as DEP_STRATA_PROTO_DESCRIPTOR_SET.
    let descriptor = PathBuf::from(std::env::var("OUT_DIR")?).join("strata_descriptor.bin");
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor)
        .compile_protos(&protos, &[root])?;
    println!("cargo:descriptor_set={}", descriptor.display());
    Ok(())
}

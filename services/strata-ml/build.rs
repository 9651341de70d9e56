//! Points `STRATA_PROTO_DESCRIPTOR_SET` (read by `include_bytes!` for gRPC reflection) at the
//! descriptor set that strata-proto's build script wrote. Under Bazel the library target sets
//! the variable itself, to the proto_library's descriptor set, and this script emits nothing.

fn main() {
    if let Ok(path) = std::env::var("DEP_STRATA_PROTO_DESCRIPTOR_SET") {
        println!("cargo:rustc-env=STRATA_PROTO_DESCRIPTOR_SET={path}");
    }
}

//! Empty on purpose: this package only names the crates of the `crates_cuda` Bazel hub.

//! The committed `openapi.json` is what the TypeScript client is generated from, so it must be
//! exactly what the code serves. Regenerate with `UPDATE_OPENAPI=1 cargo test -p strata-api`.

#[test]
fn committed_openapi_matches_the_code() {
    // Compiled in (Bazel: `compile_data`), so the test reads the same file under Cargo and Bazel.
    let committed = include_str!("../openapi.json");
    let generated = strata_api::openapi()
        .to_pretty_json()
        .expect("spec serializes")
        + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        // The checkout's file (under Bazel a runfile, read-only: regenerate with Cargo).
        let path = strata_testkit::repo_path("services/strata-api/openapi.json");
        std::fs::write(&path, &generated).expect("write openapi.json");
        return;
    }
    assert!(
        committed == generated,
        "services/strata-api/openapi.json is stale; run `UPDATE_OPENAPI=1 cargo test -p strata-api --test openapi_drift` and commit it"
    );
}

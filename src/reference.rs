//! Where the official reference files live (Vipps OpenAPI files, HMAC vectors,
//! cash-register schemas and code lists). They are not part of the repository:
//! `KASSE_REFERENCE_DIR` names the folder, else `../shared/` beside the checkout.
//!
//! Tests that read them call [`for_test`]: when a file is missing, the test is
//! skipped with one printed line, except under CI (`CI` set), where a missing
//! file is a failure naming the path.

use std::path::PathBuf;

/// Environment variable naming the reference folder.
pub const ENV: &str = "KASSE_REFERENCE_DIR";

/// The reference folder: `$KASSE_REFERENCE_DIR`, else `../shared` beside the checkout.
pub fn dir() -> PathBuf {
    match std::env::var_os(ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")),
    }
}

/// True when running under CI, where a missing reference file is an error.
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The path of a reference file (relative to [`dir`]) for the test `test`, or `None` when
/// it is absent and the test should skip. Panics when absent under CI.
pub fn for_test(relative: &str, test: &str) -> Option<PathBuf> {
    let path = dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    if in_ci() {
        panic!(
            "{test}: reference file {} is missing (CI requires it; set {ENV} to the folder \
             holding vipps-openapi/ and cash-register-rules/)",
            path.display()
        );
    }
    // Straight to the stream, past the test harness's capture, so the skip is seen.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: reference file {} not found (set {ENV} to run it)",
        path.display()
    );
    None
}

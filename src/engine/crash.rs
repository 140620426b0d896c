//! Test-only crash points: `KASSE_CRASH_AT=<step>` makes the process abort right after `<step>`
//! has been committed to the database, so tests can prove recovery from a crash anywhere.
//!
//! Compiled in only with the cargo feature `crash-points`. `Cargo.toml` enables it for tests
//! through a dev-dependency of the package on itself, so plain `cargo test` builds the library
//! and the `kasse` binary (which `tests/it/engine_crash.rs` runs as `CARGO_BIN_EXE_kasse`)
//! with the crash points, while `cargo build` and `cargo build --release` (which never look at
//! dev-dependencies) build them without: there [`point`] is an empty function, the variable is
//! never read and the step names are not in the binary. (`cfg(debug_assertions)` was not
//! chosen: it would put the points into every debug build and take them out of
//! `cargo test --release`.)

/// Environment variable naming the step to abort after.
pub const CRASH_ENV: &str = "KASSE_CRASH_AT";

/// Whether this build has crash points (the `crash-points` feature).
pub fn enabled() -> bool {
    cfg!(feature = "crash-points")
}

/// Every step a crash can be requested after, in flow order.
#[cfg(feature = "crash-points")]
pub const STEPS: &[&str] = &[
    "sale_frozen",
    "tender_taken",
    "paid_without_vipps",
    "checkin_stored",
    "create_intent",
    "create_result",
    "authorized_stored",
    "capture_intent",
    "capture_result",
    "capture_verified",
    "completed",
    "cancel_intent",
    "cancel_result",
    "refund_intent",
    "refund_result",
    "payment_event_stored",
    "enrolment_started",
    "enrolment_pending",
    "enrolment_token",
    "enrolment_approved",
];

#[cfg(feature = "crash-points")]
fn configured() -> Option<&'static str> {
    use std::sync::OnceLock;
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var(CRASH_ENV).ok().filter(|s| !s.is_empty()))
        .as_deref()
}

/// Aborts the process (no unwinding, no destructors: like `kill -9`) if `step` was requested.
#[cfg(feature = "crash-points")]
pub fn point(step: &str) {
    if configured() == Some(step) {
        eprintln!("{CRASH_ENV}={step}: aborting");
        std::process::abort();
    }
}

/// Without the `crash-points` feature: nothing.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn point(_step: &str) {}

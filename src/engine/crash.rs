//! Test-only crash points: `KASSE_CRASH_AT=<step>` makes the process abort right after `<step>`
//! has been committed to the database, so tests can prove recovery from a crash anywhere.
//! Unset in normal use; the check is one string comparison.

use std::sync::OnceLock;

/// Environment variable naming the step to abort after.
pub const CRASH_ENV: &str = "KASSE_CRASH_AT";

/// Every step a crash can be requested after, in flow order.
pub const STEPS: &[&str] = &[
    "sale_frozen",
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
];

fn configured() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var(CRASH_ENV).ok().filter(|s| !s.is_empty()))
        .as_deref()
}

/// Aborts the process (no unwinding, no destructors: like `kill -9`) if `step` was requested.
pub fn point(step: &str) {
    if configured() == Some(step) {
        eprintln!("{CRASH_ENV}={step}: aborting");
        std::process::abort();
    }
}

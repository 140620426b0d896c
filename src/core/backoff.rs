//! The one retry schedule: exponential from a first wait, doubling, capped. The engine's
//! Vipps retries, the simulator's webhook redelivery and the relay client's reconnects all
//! take their waits from here (the relay client adds jitter on top).

use std::time::Duration;

/// The wait after failed attempt number `attempt` (1-based): `initial × 2^(attempt−1)`, at most
/// `max` (and never less than `initial`, whatever `max` says).
pub fn exponential(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
    initial.saturating_mul(factor).min(max.max(initial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_first_wait_and_stops_at_the_cap() {
        let s = Duration::from_secs;
        let waits: Vec<_> = (1..=6).map(|n| exponential(s(2), s(20), n)).collect();
        assert_eq!(waits, [s(2), s(4), s(8), s(16), s(20), s(20)]);
        // Attempt 0 is treated as the first; a cap below the first wait is the first wait.
        assert_eq!(exponential(s(2), s(20), 0), s(2));
        assert_eq!(exponential(s(5), s(1), 3), s(5));
        // Huge attempt numbers do not overflow.
        assert_eq!(exponential(s(1), s(3600), u32::MAX), s(3600));
    }
}

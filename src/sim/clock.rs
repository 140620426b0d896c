//! The simulator's clock: a base [`Clock`] (real time by default) plus an adjustable offset.
//!
//! Everything that can expire (access tokens, customer tokens, payments) and
//! the rate-limit windows read this clock, so a test (or `POST
//! /sim/v1/clock/advance`) can jump forward instead of waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::macros::format_description;

use crate::clock::Clock;

/// A shareable clock: its base clock plus an offset that only grows.
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    base: Clock,
    offset_nanos: Arc<AtomicU64>,
}

impl SimClock {
    /// A clock that starts at real time.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock that starts at `base` (e.g. a test's [`crate::clock::ManualClock`]).
    pub fn on(base: Clock) -> Self {
        Self {
            base,
            offset_nanos: Arc::default(),
        }
    }

    /// Now, as the simulator sees it.
    pub fn now(&self) -> SystemTime {
        self.base.now() + self.offset()
    }

    /// This clock as the crate's [`Clock`], for a client or engine that must keep the
    /// simulator's time (it follows every later `advance`).
    pub fn clock(&self) -> Clock {
        let sim = self.clone();
        Clock::new(move || sim.now())
    }

    /// The base clock, without the offset: the wall clock of the call and delivery logs.
    pub fn base(&self) -> &Clock {
        &self.base
    }

    /// How far the clock has been moved ahead of real time.
    pub fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }

    /// Move the clock forward (never backwards: expiry must stay monotonic).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

/// Unix seconds of a time (0 before the epoch).
pub fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Unix nanoseconds of a time (0 before the epoch).
pub fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `2026-01-19T16:26:32.099Z`, the shape of ePayment event timestamps.
pub fn iso_millis(at: SystemTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from(at).format(&fmt).unwrap_or_default()
}

/// `2023-10-06T10:45:40.3061965Z`, the shape of `initiatedAt` in check-ins.
pub fn iso_7_digits(at: SystemTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");
    OffsetDateTime::from(at).format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let clock = SimClock::new();
        let before = clock.now();
        clock.advance(Duration::from_secs(600));
        assert!(clock.now().duration_since(before).unwrap() >= Duration::from_secs(600));
    }

    #[test]
    fn advancing_moves_the_shared_clock_too() {
        let base = crate::clock::ManualClock::at_ms(1_000);
        let sim = SimClock::on(base.clock());
        let shared = sim.clock();
        sim.advance(Duration::from_secs(1));
        assert_eq!(shared.now_ms(), 2_000);
        base.advance(Duration::from_secs(1));
        assert_eq!(shared.now_ms(), 3_000);
    }

    #[test]
    fn timestamps_have_the_vipps_shapes() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(iso_millis(at), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_7_digits(at), "2023-11-14T22:13:20.1230000Z");
    }
}

//! The one wall clock. Everything that reads the time of day takes a [`Clock`], so tests can
//! set it: [`Clock::system`] in production, a [`ManualClock`] (settable) in tests, and the
//! simulator's controllable clock (`sim::SimClock`) wraps one with an offset.
//!
//! Monotonic deadlines (`tokio::time::Instant`, `std::time::Instant`) are not wall-clock reads
//! and stay where they are: they time waits, never stamp a record.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A cheap, cloneable wall clock.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl Clock {
    /// The computer's clock.
    pub fn system() -> Self {
        Self(Arc::new(SystemTime::now))
    }

    /// A clock that reads `f` (e.g. another clock shifted, or a test's own time source).
    pub fn new(f: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Now.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }

    /// Milliseconds since the Unix epoch (0 before it).
    pub fn now_ms(&self) -> i64 {
        unix_ms(self.now())
    }

    /// Now, as a `time` date-time in UTC.
    pub fn now_utc(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from(self.now())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// Milliseconds since the Unix epoch of `at` (0 before it, saturating far ahead).
pub fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time `ms` milliseconds after the Unix epoch (the epoch for a negative `ms`).
pub fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A clock that stands still until it is set or advanced (tests, benches that write synthetic days). Clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// Nanoseconds since the Unix epoch.
    nanos: Arc<AtomicI64>,
}

impl ManualClock {
    /// Stopped at `at`.
    pub fn at(at: SystemTime) -> Self {
        let clock = Self {
            nanos: Arc::new(AtomicI64::new(0)),
        };
        clock.set(at);
        clock
    }

    /// Stopped at `ms` milliseconds after the Unix epoch.
    pub fn at_ms(ms: i64) -> Self {
        Self::at(from_unix_ms(ms))
    }

    /// The time it shows.
    pub fn now(&self) -> SystemTime {
        let nanos = u64::try_from(self.nanos.load(Ordering::SeqCst)).unwrap_or(0);
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }

    /// The time it shows, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        unix_ms(self.now())
    }

    /// Show `at` from now on.
    pub fn set(&self, at: SystemTime) {
        let nanos = at
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.nanos.store(nanos, Ordering::SeqCst);
    }

    /// Show `ms` Unix milliseconds from now on.
    pub fn set_ms(&self, ms: i64) {
        self.set(from_unix_ms(ms));
    }

    /// Move forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
    }

    /// A [`Clock`] that reads this one (and follows every later `set`/`advance`).
    pub fn clock(&self) -> Clock {
        Clock::from(self.clone())
    }
}

impl From<ManualClock> for Clock {
    fn from(manual: ManualClock) -> Self {
        Clock::new(move || manual.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let manual = ManualClock::at_ms(1_700_000_000_123);
        let clock = manual.clock();
        assert_eq!(clock.now_ms(), 1_700_000_000_123);
        assert_eq!(clock.now_ms(), 1_700_000_000_123);
        manual.advance(Duration::from_secs(2));
        assert_eq!(clock.now_ms(), 1_700_000_002_123);
        manual.set_ms(5);
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_millis(5));
        assert_eq!(
            clock.now_utc(),
            time::OffsetDateTime::from_unix_timestamp_nanos(5_000_000).unwrap()
        );
    }

    #[test]
    fn milliseconds_round_trip_and_clamp() {
        assert_eq!(unix_ms(from_unix_ms(42)), 42);
        assert_eq!(from_unix_ms(-7), UNIX_EPOCH);
        assert_eq!(unix_ms(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }

    #[test]
    fn the_system_clock_is_after_2020() {
        assert!(Clock::system().now_ms() > 1_577_836_800_000);
    }
}

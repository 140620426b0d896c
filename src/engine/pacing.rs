//! Retry back-off and Vipps' per-reference rate limits.
//!
//! Vipps limits each API separately: create, capture, cancel and refund each 5 calls per minute
//! per reference, GET payment 120 per minute. The engine counts its own calls in a sliding
//! window and never sends a call that would exceed a limit; retries wait for the window
//! instead. Money calls are also stored as they are sent, and a new process seeds the window
//! from them ([`RateLimiter::seed`]), so a restart does not forget the calls a stopped process
//! made.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use crate::core::payment::OpKind;

/// Vipps' window for rate limits.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Calls of one modifying API (create, capture, cancel or refund) per reference and window.
pub const MODIFY_PER_WINDOW: usize = 5;
/// GET payment / GET events per reference and window.
pub const READ_PER_WINDOW: usize = 120;

/// Which limit a call counts against: one per API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallClass {
    /// A create, capture, cancel or refund.
    Modify(OpKind),
    Read,
}

/// Sliding-window call counter per (reference, class).
#[derive(Debug, Default)]
pub struct RateLimiter {
    calls: HashMap<(String, CallClass), VecDeque<Instant>>,
    /// References whose stored calls have been loaded into the window.
    seeded: HashSet<String>,
}

impl RateLimiter {
    fn limit(class: CallClass) -> usize {
        match class {
            CallClass::Modify(_) => MODIFY_PER_WINDOW,
            CallClass::Read => READ_PER_WINDOW,
        }
    }

    /// True once [`RateLimiter::seed`] ran for `reference` in this process.
    pub fn is_seeded(&self, reference: &str) -> bool {
        self.seeded.contains(reference)
    }

    /// Loads calls made earlier (by this or a stopped process): `ago` is how long before `now`
    /// each was sent.
    pub fn seed(
        &mut self,
        reference: &str,
        calls: impl IntoIterator<Item = (OpKind, Duration)>,
        now: Instant,
    ) {
        let mut past: Vec<_> = calls
            .into_iter()
            .filter(|(_, ago)| *ago < WINDOW)
            .filter_map(|(kind, ago)| now.checked_sub(ago).map(|t| (kind, t)))
            .collect();
        past.sort_by_key(|(_, t)| *t);
        for (kind, at) in past {
            self.record(reference, CallClass::Modify(kind), at);
        }
        self.seeded.insert(reference.to_string());
    }

    /// How far apart to send retries of one API that Vipps refuses for a while (a cancel while
    /// the customer is approving, 6250): one fewer than the limit per window, so the final call
    /// (the cancel that ends it) always still fits.
    pub fn retry_spacing() -> Duration {
        WINDOW / (MODIFY_PER_WINDOW as u32 - 1)
    }

    /// The earliest instant at which one more call is allowed.
    pub fn next_allowed(&mut self, reference: &str, class: CallClass, now: Instant) -> Instant {
        let Some(q) = self.calls.get_mut(&(reference.to_string(), class)) else {
            return now;
        };
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() < Self::limit(class) {
            now
        } else {
            // The oldest call in the window must leave it first.
            q.front().map_or(now, |t| *t + WINDOW)
        }
    }

    /// Records a call sent now.
    pub fn record(&mut self, reference: &str, class: CallClass, now: Instant) {
        let q = self
            .calls
            .entry((reference.to_string(), class))
            .or_default();
        q.push_back(now);
        // The window never needs more than the limit's worth of entries.
        while q.len() > Self::limit(class) {
            q.pop_front();
        }
    }

    /// Forgets a finished reference.
    pub fn forget(&mut self, reference: &str) {
        self.calls.retain(|(r, _), _| r != reference);
        self.seeded.remove(reference);
    }
}

/// Exponential back-off ([`crate::core::backoff`]) without jitter (deterministic; the limiter
/// spreads calls), counting its own attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            attempt: 0,
        }
    }

    /// The delay before the next retry; doubles each time up to the maximum. A server's
    /// `Retry-After` wins when it is longer.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        let d = crate::core::backoff::exponential(self.initial, self.max, self.attempt);
        match retry_after {
            Some(ra) if ra > d => ra.min(WINDOW),
            _ => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modify_calls_wait_for_the_window() {
        const MODIFY: CallClass = CallClass::Modify(OpKind::Capture);
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..MODIFY_PER_WINDOW {
            let now = t0 + Duration::from_millis(i as u64);
            assert_eq!(rl.next_allowed("r", MODIFY, now), now);
            rl.record("r", MODIFY, now);
        }
        let now = t0 + Duration::from_secs(1);
        assert_eq!(rl.next_allowed("r", MODIFY, now), t0 + WINDOW);
        // Other references, APIs and classes are independent.
        assert_eq!(rl.next_allowed("s", MODIFY, now), now);
        let cancel = CallClass::Modify(OpKind::Cancel);
        assert_eq!(rl.next_allowed("r", cancel, now), now);
        assert_eq!(rl.next_allowed("r", CallClass::Read, now), now);
        let later = t0 + WINDOW + Duration::from_millis(1);
        assert_eq!(rl.next_allowed("r", MODIFY, later), later);
    }

    #[test]
    fn seeded_calls_of_a_stopped_process_count() {
        let mut rl = RateLimiter::default();
        let now = Instant::now() + Duration::from_secs(120);
        assert!(!rl.is_seeded("r"));
        // Five cancels 10..50 s ago, one create two minutes ago (outside the window).
        let calls = (1..=5)
            .map(|i| (OpKind::Cancel, Duration::from_secs(10 * i)))
            .chain([(OpKind::Create, Duration::from_secs(120))]);
        rl.seed("r", calls, now);
        assert!(rl.is_seeded("r"));
        let cancel = CallClass::Modify(OpKind::Cancel);
        // The oldest (50 s ago) leaves the window in 10 s.
        assert_eq!(
            rl.next_allowed("r", cancel, now),
            now + Duration::from_secs(10)
        );
        let create = CallClass::Modify(OpKind::Create);
        assert_eq!(rl.next_allowed("r", create, now), now);
    }

    #[test]
    fn backoff_doubles_and_caps_and_respects_retry_after() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        assert_eq!(b.next_delay(None), Duration::from_millis(100));
        assert_eq!(b.next_delay(None), Duration::from_millis(200));
        assert_eq!(b.next_delay(None), Duration::from_millis(350));
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }
}

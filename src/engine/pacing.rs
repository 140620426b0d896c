//! Retry back-off and Vipps' per-reference rate limits.
//!
//! Vipps allows 5 create/capture/cancel/refund calls per minute per reference and 120 GETs per
//! minute per reference. The engine counts its own calls in a sliding window and never sends a
//! call that would exceed either limit; retries wait for the window instead.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

/// Vipps' window for rate limits.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Modifying calls (create, capture, cancel, refund) per reference and window.
pub const MODIFY_PER_WINDOW: usize = 5;
/// GET payment / GET events per reference and window.
pub const READ_PER_WINDOW: usize = 120;

/// Which limit a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallClass {
    Modify,
    Read,
}

/// Sliding-window call counter per (reference, class).
#[derive(Debug, Default)]
pub struct RateLimiter {
    calls: HashMap<(String, CallClass), VecDeque<Instant>>,
}

impl RateLimiter {
    fn limit(class: CallClass) -> usize {
        match class {
            CallClass::Modify => MODIFY_PER_WINDOW,
            CallClass::Read => READ_PER_WINDOW,
        }
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
    }
}

/// Exponential back-off with full jitter removed (deterministic; the limiter spreads calls).
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            next: initial,
            max: max.max(initial),
        }
    }

    /// The delay before the next retry; doubles each time up to the maximum. A server's
    /// `Retry-After` wins when it is longer.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
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
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..MODIFY_PER_WINDOW {
            let now = t0 + Duration::from_millis(i as u64);
            assert_eq!(rl.next_allowed("r", CallClass::Modify, now), now);
            rl.record("r", CallClass::Modify, now);
        }
        let now = t0 + Duration::from_secs(1);
        assert_eq!(rl.next_allowed("r", CallClass::Modify, now), t0 + WINDOW);
        // Other references and classes are independent.
        assert_eq!(rl.next_allowed("s", CallClass::Modify, now), now);
        assert_eq!(rl.next_allowed("r", CallClass::Read, now), now);
        let later = t0 + WINDOW + Duration::from_millis(1);
        assert_eq!(rl.next_allowed("r", CallClass::Modify, later), later);
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

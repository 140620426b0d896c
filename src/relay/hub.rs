//! Which tills are connected, and waking their connections when new events
//! for them are committed.

use crate::relay::store::{FreshDelivery, TillKey, Wake};
use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;
use tokio::sync::watch;

struct Slot {
    /// Bumped after each commit with new events for the till (and on takeover).
    version: watch::Sender<u64>,
    /// Open connections (WebSocket streams and pending long-polls).
    connections: usize,
    /// The newest WebSocket connection; older ones close when it appears.
    current_stream: u64,
    last_disconnect: Option<Instant>,
    /// Recently committed deliveries, for the stream to send without a read.
    fresh: VecDeque<FreshDelivery>,
}

/// Fresh deliveries kept per till; older ones are dropped (the stream then
/// reads from storage, which is always correct).
const FRESH_CAP: usize = 128;

/// Presence and wake-ups for every till.
pub struct Hub {
    slots: Mutex<HashMap<TillKey, Slot>>,
    started: Instant,
    next_conn: std::sync::atomic::AtomicU64,
}

/// Held while a till is connected; dropping it records the disconnect.
pub struct Presence<'a> {
    hub: &'a Hub,
    till: TillKey,
    conn: u64,
    /// Changes whenever something new may be waiting for this till.
    pub wake: watch::Receiver<u64>,
}

impl Presence<'_> {
    /// False once a newer WebSocket connection of the same till took over.
    pub fn is_current_stream(&self) -> bool {
        self.hub
            .slots
            .lock()
            .ok()
            .and_then(|s| {
                s.get(&self.till)
                    .map(|slot| slot.current_stream == self.conn)
            })
            .unwrap_or(false)
    }
}

impl Drop for Presence<'_> {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.hub.slots.lock()
            && let Some(slot) = slots.get_mut(&self.till)
        {
            slot.connections = slot.connections.saturating_sub(1);
            slot.last_disconnect = Some(Instant::now());
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            slots: Mutex::new(HashMap::new()),
            started: Instant::now(),
            next_conn: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// Register a connection. A WebSocket stream (`stream = true`) becomes the
    /// till's current stream and wakes older ones so they close.
    pub fn connect(&self, till: TillKey, stream: bool) -> Presence<'_> {
        let conn = self
            .next_conn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = slots.entry(till).or_insert_with(|| Slot {
            version: watch::channel(0).0,
            connections: 0,
            current_stream: 0,
            last_disconnect: None,
            fresh: VecDeque::new(),
        });
        slot.connections += 1;
        if stream {
            slot.current_stream = conn;
            slot.version.send_modify(|v| *v = v.wrapping_add(1));
        }
        Presence {
            hub: self,
            till,
            conn,
            wake: slot.version.subscribe(),
        }
    }

    /// Hand newly committed deliveries to their tills' connections and wake
    /// them. Tills without a connection since start are skipped (they read
    /// from storage when they come).
    pub fn deliver(&self, fresh: Vec<FreshDelivery>) {
        if let Ok(mut slots) = self.slots.lock() {
            let mut woken = Vec::new();
            for f in fresh {
                let till = f.till;
                if let Some(slot) = slots.get_mut(&till) {
                    if slot.fresh.len() >= FRESH_CAP {
                        slot.fresh.pop_front();
                    }
                    slot.fresh.push_back(f);
                    woken.push(till);
                }
            }
            woken.dedup();
            for till in woken {
                if let Some(slot) = slots.get(&till) {
                    slot.version.send_modify(|v| *v = v.wrapping_add(1));
                }
            }
        }
    }

    /// Take the fresh deliveries waiting for a till.
    pub fn take_fresh(&self, till: TillKey) -> Vec<FreshDelivery> {
        self.slots
            .lock()
            .ok()
            .and_then(|mut s| s.get_mut(&till).map(|slot| slot.fresh.drain(..).collect()))
            .unwrap_or_default()
    }

    /// Whether a till can act on a check-in now: it is connected, or it went
    /// away (or the relay started) no longer than `grace` ago.
    pub fn reachable(&self, till: TillKey, grace: Duration) -> bool {
        self.reachable_at(till, grace, Instant::now())
    }

    /// [`Hub::reachable`] as of `now`.
    pub fn reachable_at(&self, till: TillKey, grace: Duration, now: Instant) -> bool {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let (connections, last) = slots
            .get(&till)
            .map_or((0, None), |s| (s.connections, s.last_disconnect));
        if connections > 0 {
            return true;
        }
        let since = last.map_or(self.started, |t| t.max(self.started));
        now.saturating_duration_since(since) <= grace
    }

    /// Wake a till's connections (or every till's) without a fresh delivery: they
    /// read from storage. Another instance filed something for them.
    pub fn wake(&self, wake: Wake) {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let bump = |slot: &Slot| slot.version.send_modify(|v| *v = v.wrapping_add(1));
        match wake {
            Wake::Till(till) => {
                if let Some(slot) = slots.get(&till) {
                    bump(slot);
                }
            }
            Wake::All => slots.values().for_each(bump),
        }
    }

    /// Whether the till has an open connection to this instance now.
    pub fn connected(&self, till: TillKey) -> bool {
        self.slots
            .lock()
            .map(|s| s.get(&till).is_some_and(|slot| slot.connections > 0))
            .unwrap_or(false)
    }

    /// The tills with at least one open connection.
    pub fn connected_keys(&self) -> Vec<TillKey> {
        self.slots
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|(_, slot)| slot.connections > 0)
                    .map(|(k, _)| *k)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Tills with at least one open connection.
    pub fn connected_tills(&self) -> usize {
        self.slots
            .lock()
            .map(|s| s.values().filter(|slot| slot.connections > 0).count())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub_fresh_example() -> FreshDelivery {
        FreshDelivery {
            till: 0,
            prev_seq: 0,
            actionable_until_ms: None,
            event: crate::relay::wire::WireEvent {
                seq: 1,
                kind: crate::relay::wire::EventKind::Payment,
                received_at_ms: 1,
                payload: "{}".into(),
            },
        }
    }

    #[test]
    fn a_till_stays_reachable_for_the_grace_after_leaving() {
        let hub = Hub::new();
        let grace = Duration::from_secs(10);
        let at = |secs: u64| Instant::now() + Duration::from_secs(secs);
        // Right after start every till gets the grace to (re)connect.
        assert!(hub.reachable(1, grace));
        assert!(!hub.reachable_at(1, grace, at(11)));
        {
            let _p = hub.connect(1, true);
            assert_eq!(hub.connected_tills(), 1);
            assert!(hub.reachable_at(1, grace, at(60)));
        }
        assert_eq!(hub.connected_tills(), 0);
        assert!(hub.reachable_at(1, grace, at(9)));
        assert!(!hub.reachable_at(1, grace, at(11)));
        // Another till is unaffected by this one's connection.
        assert!(!hub.reachable_at(2, grace, at(11)));
    }

    #[tokio::test]
    async fn a_newer_stream_takes_over_and_notify_wakes() {
        let hub = Hub::new();
        let mut old = hub.connect(7, true);
        assert!(old.is_current_stream());
        old.wake.borrow_and_update();
        let new = hub.connect(7, true);
        assert!(old.wake.has_changed().unwrap());
        assert!(!old.is_current_stream());
        assert!(new.is_current_stream());
        let mut w = new.wake.clone();
        w.borrow_and_update();
        let fresh = FreshDelivery {
            till: 7,
            prev_seq: 3,
            actionable_until_ms: None,
            event: crate::relay::wire::WireEvent {
                seq: 9,
                kind: crate::relay::wire::EventKind::Payment,
                received_at_ms: 1,
                payload: "{}".into(),
            },
        };
        hub.deliver(vec![fresh.clone()]);
        assert!(w.has_changed().unwrap());
        assert_eq!(hub.take_fresh(7), vec![fresh]);
        assert!(hub.take_fresh(7).is_empty());
        // A till nobody connected keeps nothing in memory.
        hub.deliver(vec![FreshDelivery {
            till: 8,
            ..hub_fresh_example()
        }]);
        assert!(hub.take_fresh(8).is_empty());
    }
}

//! Counters and the delivery-lag histogram, rendered as Prometheus text, and
//! the rate limit on the log lines about unrouted events.

use crate::relay::store::StorageCounts;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Upper bounds of the delivery-lag buckets, in milliseconds.
const LAG_BUCKETS_MS: [u64; 14] = [
    1, 2, 5, 10, 20, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 60_000,
];

/// Why a webhook was turned away before it was filed.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    UnknownStore,
    MissingHeader,
    BadSignature,
    TooLarge,
    StorageError,
}

/// Why an event was kept unrouted (a metric label; never an id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnroutedReason {
    /// A check-in naming a `merchantQrId` no active till has.
    UnknownMerchantQr,
    /// A payment event whose reference names a till that is not active.
    UnknownTill,
    /// A payment event whose reference has no `<till_id>-` prefix.
    NoTillPrefix,
    /// JSON of no shape the relay routes.
    NotRoutable,
    /// A partner webhook for a sales unit that is not one of the partner's stores here.
    UnknownMsn,
    /// A store's webhook whose body names another sales unit.
    MsnMismatch,
    /// A login ping whose login no till has registered (yet).
    UnknownLogin,
}

impl UnroutedReason {
    const ALL: [UnroutedReason; 7] = [
        UnroutedReason::UnknownMerchantQr,
        UnroutedReason::UnknownTill,
        UnroutedReason::NoTillPrefix,
        UnroutedReason::NotRoutable,
        UnroutedReason::UnknownMsn,
        UnroutedReason::MsnMismatch,
        UnroutedReason::UnknownLogin,
    ];

    pub fn label(self) -> &'static str {
        match self {
            UnroutedReason::UnknownMerchantQr => "unknown_merchant_qr",
            UnroutedReason::UnknownTill => "unknown_till",
            UnroutedReason::NoTillPrefix => "no_till_prefix",
            UnroutedReason::NotRoutable => "not_routable",
            UnroutedReason::UnknownMsn => "unknown_msn",
            UnroutedReason::MsnMismatch => "msn_mismatch",
            UnroutedReason::UnknownLogin => "unknown_login",
        }
    }

    fn index(self) -> usize {
        match self {
            UnroutedReason::UnknownMerchantQr => 0,
            UnroutedReason::UnknownTill => 1,
            UnroutedReason::NoTillPrefix => 2,
            UnroutedReason::NotRoutable => 3,
            UnroutedReason::UnknownMsn => 4,
            UnroutedReason::MsnMismatch => 5,
            UnroutedReason::UnknownLogin => 6,
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    // Filed webhooks by outcome.
    routed: AtomicU64,
    unrouted: AtomicU64,
    refused: AtomicU64,
    expired: AtomicU64,
    rejected: AtomicU64,
    duplicate: AtomicU64,
    unrouted_by_reason: [AtomicU64; UnroutedReason::ALL.len()],
    unrouted_not_logged: AtomicU64,
    // Turned away.
    unknown_store: AtomicU64,
    missing_header: AtomicU64,
    bad_signature: AtomicU64,
    too_large: AtomicU64,
    storage_error: AtomicU64,
    // Delivery.
    sent: AtomicU64,
    delivered: AtomicU64,
    dead_links: AtomicU64,
    lag_buckets: [AtomicU64; LAG_BUCKETS_MS.len()],
    lag_count: AtomicU64,
    lag_sum_ms: AtomicU64,
}

impl Metrics {
    pub fn filed(&self, status: &str, duplicate: bool) {
        let c = if duplicate {
            &self.duplicate
        } else {
            match status {
                "routed" => &self.routed,
                "unrouted" => &self.unrouted,
                "refused" => &self.refused,
                "expired" => &self.expired,
                _ => &self.rejected,
            }
        };
        c.fetch_add(1, Relaxed);
    }

    /// An event was kept unrouted; `logged`: it got its own log line.
    pub fn unrouted(&self, why: UnroutedReason, logged: bool) {
        self.unrouted_by_reason[why.index()].fetch_add(1, Relaxed);
        if !logged {
            self.unrouted_not_logged.fetch_add(1, Relaxed);
        }
    }

    pub fn refused_before_filing(&self, why: Refusal) {
        let c = match why {
            Refusal::UnknownStore => &self.unknown_store,
            Refusal::MissingHeader => &self.missing_header,
            Refusal::BadSignature => &self.bad_signature,
            Refusal::TooLarge => &self.too_large,
            Refusal::StorageError => &self.storage_error,
        };
        c.fetch_add(1, Relaxed);
    }

    /// An event went out to a till `lag_ms` after the relay received it.
    pub fn sent(&self, lag_ms: u64) {
        self.sent.fetch_add(1, Relaxed);
        self.lag_count.fetch_add(1, Relaxed);
        self.lag_sum_ms.fetch_add(lag_ms, Relaxed);
        for (i, bound) in LAG_BUCKETS_MS.iter().enumerate() {
            if lag_ms <= *bound {
                self.lag_buckets[i].fetch_add(1, Relaxed);
            }
        }
    }

    pub fn delivered(&self, n: u64) {
        self.delivered.fetch_add(n, Relaxed);
    }

    pub fn dead_link(&self) {
        self.dead_links.fetch_add(1, Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(
        &self,
        connected_tills: usize,
        counts: Option<StorageCounts>,
        now_ms: i64,
    ) -> String {
        let mut out = String::with_capacity(4096);
        let g = |c: &AtomicU64| c.load(Relaxed);
        out.push_str(
            "# HELP kasse_relay_webhooks_total Authenticated webhooks filed, by outcome.\n",
        );
        out.push_str("# TYPE kasse_relay_webhooks_total counter\n");
        for (outcome, c) in [
            ("routed", &self.routed),
            ("unrouted", &self.unrouted),
            ("refused", &self.refused),
            ("expired", &self.expired),
            ("rejected", &self.rejected),
            ("duplicate", &self.duplicate),
        ] {
            let _ = writeln!(
                out,
                "kasse_relay_webhooks_total{{outcome=\"{outcome}\"}} {}",
                g(c)
            );
        }
        out.push_str(
            "# HELP kasse_relay_unrouted_webhooks_total Webhooks kept unrouted (new ones, not duplicates), by reason.\n",
        );
        out.push_str("# TYPE kasse_relay_unrouted_webhooks_total counter\n");
        for why in UnroutedReason::ALL {
            let _ = writeln!(
                out,
                "kasse_relay_unrouted_webhooks_total{{reason=\"{}\"}} {}",
                why.label(),
                g(&self.unrouted_by_reason[why.index()])
            );
        }
        let _ = writeln!(
            out,
            "# HELP kasse_relay_unrouted_log_suppressed_total Unrouted webhooks counted in a periodic summary line instead of a line each.\n\
             # TYPE kasse_relay_unrouted_log_suppressed_total counter\n\
             kasse_relay_unrouted_log_suppressed_total {}",
            g(&self.unrouted_not_logged)
        );
        out.push_str("# HELP kasse_relay_webhooks_refused_total Webhooks turned away before filing, by reason.\n");
        out.push_str("# TYPE kasse_relay_webhooks_refused_total counter\n");
        for (reason, c) in [
            ("unknown_store", &self.unknown_store),
            ("missing_header", &self.missing_header),
            ("bad_signature", &self.bad_signature),
            ("too_large", &self.too_large),
            ("storage_error", &self.storage_error),
        ] {
            let _ = writeln!(
                out,
                "kasse_relay_webhooks_refused_total{{reason=\"{reason}\"}} {}",
                g(c)
            );
        }
        let _ = writeln!(
            out,
            "# HELP kasse_relay_events_sent_total Events sent to tills (re-sends included).\n\
             # TYPE kasse_relay_events_sent_total counter\n\
             kasse_relay_events_sent_total {}",
            g(&self.sent)
        );
        let _ = writeln!(
            out,
            "# HELP kasse_relay_events_delivered_total Events acknowledged by their till.\n\
             # TYPE kasse_relay_events_delivered_total counter\n\
             kasse_relay_events_delivered_total {}",
            g(&self.delivered)
        );
        let _ = writeln!(
            out,
            "# HELP kasse_relay_dead_links_total Till connections dropped for missing heartbeats.\n\
             # TYPE kasse_relay_dead_links_total counter\n\
             kasse_relay_dead_links_total {}",
            g(&self.dead_links)
        );
        let _ = writeln!(
            out,
            "# HELP kasse_relay_connected_tills Tills with an open connection.\n\
             # TYPE kasse_relay_connected_tills gauge\n\
             kasse_relay_connected_tills {connected_tills}"
        );
        out.push_str(
            "# HELP kasse_relay_delivery_lag_seconds Time from webhook receipt to sending it to the till.\n\
             # TYPE kasse_relay_delivery_lag_seconds histogram\n",
        );
        for (i, bound) in LAG_BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(
                out,
                "kasse_relay_delivery_lag_seconds_bucket{{le=\"{}\"}} {}",
                *bound as f64 / 1000.0,
                g(&self.lag_buckets[i])
            );
        }
        let _ = writeln!(
            out,
            "kasse_relay_delivery_lag_seconds_bucket{{le=\"+Inf\"}} {c}\n\
             kasse_relay_delivery_lag_seconds_sum {}\n\
             kasse_relay_delivery_lag_seconds_count {c}",
            g(&self.lag_sum_ms) as f64 / 1000.0,
            c = g(&self.lag_count)
        );
        if let Some(counts) = counts {
            let _ = writeln!(
                out,
                "# HELP kasse_relay_unrouted_events Stored events no till was found for.\n\
                 # TYPE kasse_relay_unrouted_events gauge\n\
                 kasse_relay_unrouted_events {}\n\
                 # HELP kasse_relay_pending_events Routed events not yet acknowledged.\n\
                 # TYPE kasse_relay_pending_events gauge\n\
                 kasse_relay_pending_events {}\n\
                 # HELP kasse_relay_oldest_pending_seconds Age of the oldest unacknowledged event.\n\
                 # TYPE kasse_relay_oldest_pending_seconds gauge\n\
                 kasse_relay_oldest_pending_seconds {}",
                counts.unrouted,
                counts.pending,
                counts
                    .oldest_pending_ms
                    .map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0)
            );
        }
        out
    }
}

/// What an unrouted event is grouped by in the log: the store, the reason and
/// the `merchantQrId` or till id it named (none for the reasons without one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnroutedKey {
    pub msn: String,
    pub reason: UnroutedReason,
    pub route: Option<String>,
}

impl std::fmt::Display for UnroutedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store {} {}", self.msn, self.reason.label())?;
        if let Some(route) = &self.route {
            write!(f, " {route}")?;
        }
        Ok(())
    }
}

/// Rate limit on the WARN lines about unrouted events, so a misconfigured
/// till or store cannot flood the log: within one period the first event of
/// each [`UnroutedKey`] gets a line; the others are only counted, and
/// [`UnroutedLog::take_summary`] (called once per period) turns them into one
/// summary line. At most `max_keys` keys are tracked per period; events of
/// further keys are counted in the summary without a line of their own.
pub struct UnroutedLog {
    max_keys: usize,
    period: Mutex<UnroutedPeriod>,
}

#[derive(Default)]
struct UnroutedPeriod {
    /// Events per key this period, the logged first one included.
    counts: HashMap<UnroutedKey, u64>,
    /// Events of keys beyond `max_keys`.
    overflow: u64,
}

/// The events of one period that did not get a line of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnroutedSummary {
    pub not_logged: u64,
    /// Keys tracked this period.
    pub keys: usize,
    /// The keys with the most events not logged, most first (at most three).
    pub top: Vec<(UnroutedKey, u64)>,
    /// Events of keys beyond the tracked ones.
    pub untracked: u64,
}

impl std::fmt::Display for UnroutedSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sep = "";
        for (key, n) in &self.top {
            write!(f, "{sep}{key}: {n}")?;
            sep = ", ";
        }
        if self.untracked > 0 {
            write!(f, "{sep}other keys: {}", self.untracked)?;
        }
        Ok(())
    }
}

impl Default for UnroutedLog {
    fn default() -> UnroutedLog {
        UnroutedLog::new(256)
    }
}

impl UnroutedLog {
    pub fn new(max_keys: usize) -> UnroutedLog {
        UnroutedLog {
            max_keys,
            period: Mutex::default(),
        }
    }

    /// Count an unrouted event; true when it is the first of its key this
    /// period and should be logged.
    pub fn record(&self, key: UnroutedKey) -> bool {
        let Ok(mut p) = self.period.lock() else {
            return true;
        };
        if let Some(n) = p.counts.get_mut(&key) {
            *n += 1;
            return false;
        }
        if p.counts.len() >= self.max_keys {
            p.overflow += 1;
            return false;
        }
        p.counts.insert(key, 1);
        true
    }

    /// End the period: what was not logged in it (`None` when everything was),
    /// and start a new one in which each key gets a line again.
    pub fn take_summary(&self) -> Option<UnroutedSummary> {
        let p = std::mem::take(&mut *self.period.lock().ok()?);
        let keys = p.counts.len();
        let mut top: Vec<(UnroutedKey, u64)> = p
            .counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, n)| (k, n - 1))
            .collect();
        let not_logged = top.iter().map(|(_, n)| n).sum::<u64>() + p.overflow;
        if not_logged == 0 {
            return None;
        }
        top.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.to_string().cmp(&b.0.to_string()))
        });
        top.truncate(3);
        Some(UnroutedSummary {
            not_logged,
            keys,
            top,
            untracked: p.overflow,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(reason: UnroutedReason, route: Option<&str>) -> UnroutedKey {
        UnroutedKey {
            msn: "123456".into(),
            reason,
            route: route.map(str::to_string),
        }
    }

    #[test]
    fn the_first_event_of_each_key_is_logged_and_the_rest_summarised_once_per_period() {
        let log = UnroutedLog::new(16);
        let zz = key(UnroutedReason::UnknownTill, Some("zz"));
        let qr = key(UnroutedReason::UnknownMerchantQr, Some("qr-x"));
        let bare = key(UnroutedReason::NoTillPrefix, None);
        let logged: Vec<bool> = (0..5).map(|_| log.record(zz.clone())).collect();
        assert_eq!(logged, [true, false, false, false, false]);
        assert!(log.record(qr.clone()));
        assert!(!log.record(qr.clone()));
        assert!(log.record(bare.clone()));

        let s = log.take_summary().expect("some were not logged");
        assert_eq!(s.not_logged, 5);
        assert_eq!(s.keys, 3);
        assert_eq!(s.top, vec![(zz.clone(), 4), (qr.clone(), 1)]);
        assert_eq!(
            s.to_string(),
            "store 123456 unknown_till zz: 4, store 123456 unknown_merchant_qr qr-x: 1"
        );

        // A new period: every key gets one line again; nothing to summarise.
        assert!(log.take_summary().is_none());
        assert!(log.record(zz.clone()));
        assert!(log.take_summary().is_none());
    }

    #[test]
    fn keys_beyond_the_limit_are_only_counted() {
        let log = UnroutedLog::new(2);
        assert!(log.record(key(UnroutedReason::UnknownTill, Some("a"))));
        assert!(log.record(key(UnroutedReason::UnknownTill, Some("b"))));
        for id in ["c", "d", "e"] {
            assert!(!log.record(key(UnroutedReason::UnknownTill, Some(id))));
        }
        let s = log.take_summary().expect("summary");
        assert_eq!((s.not_logged, s.untracked, s.keys), (3, 3, 2));
        assert!(s.top.is_empty());
        assert_eq!(s.to_string(), "other keys: 3");
    }

    #[test]
    fn unrouted_counts_by_reason_are_exported() {
        let m = Metrics::default();
        m.unrouted(UnroutedReason::UnknownTill, true);
        m.unrouted(UnroutedReason::UnknownTill, false);
        m.unrouted(UnroutedReason::NoTillPrefix, true);
        let text = m.render(0, None, 0);
        assert!(text.contains("kasse_relay_unrouted_webhooks_total{reason=\"unknown_till\"} 2\n"));
        assert!(
            text.contains("kasse_relay_unrouted_webhooks_total{reason=\"no_till_prefix\"} 1\n")
        );
        assert!(
            text.contains(
                "kasse_relay_unrouted_webhooks_total{reason=\"unknown_merchant_qr\"} 0\n"
            )
        );
        assert!(text.contains("kasse_relay_unrouted_log_suppressed_total 1\n"));
    }
}

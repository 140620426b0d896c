//! Counters and the delivery-lag histogram, rendered as Prometheus text.

use crate::relay::store::StorageCounts;
use std::fmt::Write as _;
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

#[derive(Default)]
pub struct Metrics {
    // Filed webhooks by outcome.
    routed: AtomicU64,
    unrouted: AtomicU64,
    refused: AtomicU64,
    expired: AtomicU64,
    rejected: AtomicU64,
    duplicate: AtomicU64,
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

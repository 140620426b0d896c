//! Shared simulator state handed to every handler, and the helpers they share:
//! time, ids, rate limits, idempotency and event emission.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use rand::{Rng, RngCore};
use serde_json::{Value, json};

use super::clock::{SimClock, iso_millis};
use super::config::{AutoCustomer, SimConfig};
use super::delivery::{Deliverer, Job};
use super::faults::FaultState;
use super::problem::{ApiError, Reply};
use super::state::{PaymentNotice, RateApi, RateKey, State};
use super::sync::lock;

/// One received Vipps API call (`GET /sim/v1/log`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub method: String,
    pub path: String,
    pub reference: Option<String>,
    pub idempotency_key: Option<String>,
    pub status: u16,
    /// Receive time, unix nanoseconds (wall clock, not the simulator clock).
    pub received_at_unix_nanos: u64,
    /// When processing ended and the answer was ready, unix nanoseconds (wall clock).
    #[serde(default)]
    pub completed_at_unix_nanos: u64,
    /// How long the call was held before processing (the `hold` fault), milliseconds.
    #[serde(default)]
    pub held_ms: u64,
    /// True when the client had gone (timed out, hung up) before the answer
    /// was ready: the call was processed anyway and the answer was lost.
    #[serde(default)]
    pub client_gone: bool,
    /// True when the answer was an injected fault.
    pub injected_fault: bool,
}

pub struct Inner {
    pub config: SimConfig,
    pub base_url: url::Url,
    pub state: Mutex<State>,
    pub faults: Arc<Mutex<FaultState>>,
    pub calls: Mutex<Vec<CallRecord>>,
    pub auto_customer: Mutex<Option<AutoCustomer>>,
    pub deliverer: Deliverer,
    /// Becomes true when the simulator stops (held calls are then dropped).
    pub stopped: tokio::sync::watch::Receiver<bool>,
}

/// Cheap-to-clone handle on the simulator.
#[derive(Clone)]
pub struct App(pub Arc<Inner>);

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A random UUID v4 string.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// The first sixteen of `b` (it has at least that many) in the 8-4-4-4-12
/// hex layout of a UUID.
pub(super) fn uuid_text(b: &[u8]) -> String {
    let h = hex::encode(&b[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Standard base64 of `n` random bytes.
pub fn random_base64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// URL-safe random id of `n` random bytes.
pub fn random_slug(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A header value as text, if present and valid UTF-8.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The JSON of an amount.
pub fn amount_json(currency: &str, value: i64) -> Value {
    json!({"currency": currency, "value": value})
}

impl App {
    pub fn now(&self) -> SystemTime {
        self.config.clock.now()
    }

    pub fn clock(&self) -> &SimClock {
        &self.config.clock
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// A fresh pspReference.
    pub fn psp(&self) -> String {
        let n: u64 = rand::rng().random_range(1_000_000_000..10_000_000_000);
        n.to_string()
    }

    /// Expire what is due and send the events. Call with the state locked.
    pub fn settle(&self, state: &mut State) {
        let mut outbox = Vec::new();
        let now = self.now();
        state.expire_due(now, || self.psp(), &mut outbox);
        self.emit(state, outbox);
    }

    /// Queue webhook deliveries for payment events. Call with the state locked,
    /// so events of one payment are queued in the order they happened.
    pub fn emit(&self, state: &State, outbox: Vec<PaymentNotice>) {
        for notice in outbox {
            let event = notice.event.name.webhook_event();
            let subscribers = state.subscribers(&notice.msn, event);
            if subscribers.is_empty() {
                continue;
            }
            let payload = json!({
                "msn": notice.msn,
                "reference": notice.reference,
                "pspReference": notice.event.psp_reference,
                "name": notice.event.name.as_str(),
                "amount": amount_json(notice.currency.code(), notice.event.amount),
                "timestamp": iso_millis(notice.event.timestamp),
                "idempotencyKey": notice.event.idempotency_key,
                "success": notice.event.success,
            });
            let body = Arc::new(serde_json::to_vec(&payload).unwrap_or_default());
            for registration in subscribers {
                let fate = lock(&self.faults).webhook_fate();
                self.deliverer.enqueue(Job {
                    registration,
                    event: event.to_string(),
                    reference: Some(notice.reference.clone()),
                    body: body.clone(),
                    fate,
                });
            }
        }
    }

    /// Count a call against its API's rate limit for `reference` (429 when
    /// over). `msn` is the caller's sales unit: modifying calls are limited
    /// per reference + MSN, reads per reference + subscription key.
    pub fn rate_limit(
        &self,
        state: &mut State,
        api: RateApi,
        msn: &str,
        reference: &str,
    ) -> Result<(), ApiError> {
        let Some(limits) = self.config.rate_limits else {
            return Ok(());
        };
        let (limit, caller) = if api.is_read() {
            (limits.get_per_minute, self.config.subscription_key.clone())
        } else {
            (limits.modify_per_minute, msn.to_string())
        };
        let key = RateKey {
            api,
            caller,
            reference: reference.to_string(),
        };
        let now = self.now();
        state.rate_check(key, limit, now).map_err(|wait| {
            let secs = wait.as_secs().max(1);
            let mut e = ApiError::gateway(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Rate limit is exceeded. Try again in {secs} seconds."),
            );
            e.retry_after_secs = Some(secs);
            e
        })
    }
}

/// The outcome of looking up an idempotency key.
pub enum Idem {
    /// New key: go ahead.
    Fresh,
    /// Same key and same body: answer this.
    Replay(Reply),
    /// Same key, different body.
    Conflict,
}

/// Look up `key` for `endpoint` (method + path) and compare the request.
pub fn idempotency_lookup(state: &State, endpoint: &str, key: &str, request: &Value) -> Idem {
    match state
        .idempotency
        .get(&(endpoint.to_string(), key.to_string()))
    {
        None => Idem::Fresh,
        Some(stored) if stored.request == *request => Idem::Replay(stored.reply.clone()),
        Some(_) => Idem::Conflict,
    }
}

/// Remember the answer to a keyed request (successes and 4xx alike).
pub fn idempotency_store(
    state: &mut State,
    endpoint: &str,
    key: &str,
    request: Value,
    reply: &Reply,
) {
    if reply.status.is_server_error() {
        return;
    }
    state.idempotency.insert(
        (endpoint.to_string(), key.to_string()),
        super::state::IdempotentResult {
            request,
            reply: reply.clone(),
        },
    );
}

//! Faults on demand: 5xx answers, latency, held requests, and dropped,
//! duplicated or delayed webhooks. Rates draw from a seeded RNG and `*Next` counters are exact, so
//! tests stay deterministic.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Groups of endpoints a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EndpointClass {
    /// Every class below.
    All,
    /// `POST /accesstoken/get`.
    Token,
    /// QR merchant-callback endpoints.
    Qr,
    /// `POST /epayment/v1/payments`.
    Create,
    /// `GET` payment and `GET` events.
    Get,
    Capture,
    Refund,
    Cancel,
    /// `POST /epayment/v1/test/payments/{reference}/approve`.
    ForceApprove,
    /// Webhooks API (register, list, delete).
    Webhooks,
    /// Login API: discovery, user-exists, backchannel authentication, token, userinfo.
    Login,
}

impl EndpointClass {
    /// Classify a Vipps API request; `None` for control and image endpoints.
    pub fn of(method: &axum::http::Method, path: &str) -> Option<Self> {
        use axum::http::Method;
        if path == "/accesstoken/get" {
            return Some(Self::Token);
        }
        if path.starts_with("/qr/v1/") {
            return Some(Self::Qr);
        }
        if path.starts_with("/webhooks/v1/") {
            return Some(Self::Webhooks);
        }
        if path.starts_with("/access-management-1.0/")
            || path.starts_with("/vipps-login-ciba/")
            || path.starts_with("/vipps-userinfo-api/")
        {
            return Some(Self::Login);
        }
        if path.starts_with("/epayment/v1/test/payments/") {
            return Some(Self::ForceApprove);
        }
        if path == "/epayment/v1/payments" || path == "/epayment/v1/payments/" {
            return Some(Self::Create);
        }
        if let Some(rest) = path.strip_prefix("/epayment/v1/payments/") {
            if *method == Method::GET {
                return Some(Self::Get);
            }
            if rest.ends_with("/capture") {
                return Some(Self::Capture);
            }
            if rest.ends_with("/refund") {
                return Some(Self::Refund);
            }
            if rest.ends_with("/cancel") {
                return Some(Self::Cancel);
            }
        }
        None
    }
}

/// The fault set. Every field is optional in JSON (`POST /sim/v1/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// RNG seed for the rates below.
    pub seed: u64,
    /// Probability (0..=1) that a call of the class gets a 5xx.
    pub error_rate: BTreeMap<EndpointClass, f64>,
    /// The next N calls of the class get a 5xx (checked before the rate).
    pub fail_next: BTreeMap<EndpointClass, u32>,
    /// Status of injected errors: 500 (default), another 5xx, 423 (locked) or 429.
    pub error_status: Option<u16>,
    /// When true the call takes effect first and only the answer is lost
    /// (a retry with the same idempotency key then gets the original result).
    pub fail_after_effect: bool,
    /// Extra latency per class, in milliseconds (before the call is processed).
    pub latency_ms: BTreeMap<EndpointClass, u64>,
    /// Hold received calls of the class before processing them (the next N,
    /// or every call while set). A held call is still processed when its
    /// client has gone away.
    pub hold: BTreeMap<EndpointClass, Hold>,
    /// Probability that a webhook delivery is dropped for good.
    pub webhook_drop_rate: f64,
    /// Drop the next N webhook deliveries.
    pub webhook_drop_next: u32,
    /// Probability that a webhook is delivered twice.
    pub webhook_duplicate_rate: f64,
    /// Deliver the next N webhooks twice.
    pub webhook_duplicate_next: u32,
    /// Hold every webhook back this long before its first attempt.
    pub webhook_delay_ms: u64,
    /// Spoil every `id_token` the Login API's token endpoint hands out while set.
    pub id_token: Option<IdTokenFault>,
}

/// How the simulator spoils an `id_token` ([`Faults::id_token`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdTokenFault {
    /// Signed with a key the JWKS does not list (under the JWKS key's `kid`).
    WrongKey,
    /// Correctly signed, then a claim changed (the `sub`): the signature no longer fits.
    Tampered,
    /// Signed, for another client id.
    WrongAudience,
    /// `alg: none`, no signature.
    Unsigned,
}

/// Hold calls before the simulator processes them: the call has been
/// received (it will be processed even if the client times out or hangs up),
/// but until the hold ends it has no effect (a GET of the payment says 404).
///
/// JSON: `{"ms": 2000, "count": 1}` (the next call) or `{"ms": 2000}` (every call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    /// How long each held call waits, in milliseconds.
    pub ms: u64,
    /// Hold only the next `count` calls (counts down; at 0 nothing more is
    /// held). `None`: hold every call until the faults are replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl Hold {
    /// Hold the next `count` calls `ms` milliseconds each.
    pub fn next(count: u32, ms: u64) -> Self {
        Self {
            ms,
            count: Some(count),
        }
    }

    /// Hold every call `ms` milliseconds.
    pub fn every(ms: u64) -> Self {
        Self { ms, count: None }
    }
}

impl Faults {
    /// These faults plus a hold on `class` (replacing any hold it had).
    pub fn with_hold(mut self, class: EndpointClass, hold: Hold) -> Self {
        self.hold.insert(class, hold);
        self
    }
}

/// Whether `status` can be injected (5xx, 423 Locked, 429 Too Many Requests).
pub fn injectable_status(status: u16) -> bool {
    (500..=599).contains(&status) || status == 423 || status == 429
}

/// What happens to one webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookFate {
    pub drop: bool,
    pub duplicate: bool,
    pub delay: Duration,
}

/// The active faults and their RNG.
#[derive(Debug)]
pub struct FaultState {
    faults: Faults,
    rng: StdRng,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        let rng = StdRng::seed_from_u64(faults.seed);
        Self { faults, rng }
    }

    /// Replace the fault set (and reseed).
    pub fn set(&mut self, faults: Faults) {
        *self = Self::new(faults);
    }

    pub fn current(&self) -> &Faults {
        &self.faults
    }

    fn take_next(map: &mut BTreeMap<EndpointClass, u32>, class: EndpointClass) -> bool {
        for key in [class, EndpointClass::All] {
            if let Some(n) = map.get_mut(&key)
                && *n > 0
            {
                *n -= 1;
                return true;
            }
        }
        false
    }

    fn rate(&self, map: &BTreeMap<EndpointClass, f64>, class: EndpointClass) -> f64 {
        map.get(&class)
            .or_else(|| map.get(&EndpointClass::All))
            .copied()
            .unwrap_or(0.0)
    }

    fn roll(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rng.random::<f64>() < rate
    }

    /// Whether this call gets an injected error, and which status.
    pub fn injected_error(&mut self, class: EndpointClass) -> Option<u16> {
        let status = self.faults.error_status.unwrap_or(500);
        if Self::take_next(&mut self.faults.fail_next, class) {
            return Some(status);
        }
        let rate = self.rate(&self.faults.error_rate, class);
        self.roll(rate).then_some(status)
    }

    pub fn fail_after_effect(&self) -> bool {
        self.faults.fail_after_effect
    }

    /// Extra latency for a call.
    pub fn latency(&self, class: EndpointClass) -> Duration {
        let ms = self
            .faults
            .latency_ms
            .get(&class)
            .or_else(|| self.faults.latency_ms.get(&EndpointClass::All))
            .copied()
            .unwrap_or(0);
        Duration::from_millis(ms)
    }

    /// How long to hold a call before processing it (counts down `count`).
    /// The class's own entry wins over `all` while it holds anything.
    pub fn hold(&mut self, class: EndpointClass) -> Duration {
        for key in [class, EndpointClass::All] {
            let Some(hold) = self.faults.hold.get_mut(&key) else {
                continue;
            };
            match &mut hold.count {
                None => return Duration::from_millis(hold.ms),
                Some(n) if *n > 0 => {
                    *n -= 1;
                    return Duration::from_millis(hold.ms);
                }
                Some(_) => {}
            }
        }
        Duration::ZERO
    }

    /// Decide the fate of one webhook.
    pub fn webhook_fate(&mut self) -> WebhookFate {
        let drop = if self.faults.webhook_drop_next > 0 {
            self.faults.webhook_drop_next -= 1;
            true
        } else {
            let rate = self.faults.webhook_drop_rate;
            self.roll(rate)
        };
        let duplicate = !drop
            && if self.faults.webhook_duplicate_next > 0 {
                self.faults.webhook_duplicate_next -= 1;
                true
            } else {
                let rate = self.faults.webhook_duplicate_rate;
                self.roll(rate)
            };
        WebhookFate {
            drop,
            duplicate,
            delay: Duration::from_millis(self.faults.webhook_delay_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn classifies_paths() {
        let c = |m: Method, p: &str| EndpointClass::of(&m, p);
        assert_eq!(
            c(Method::POST, "/accesstoken/get"),
            Some(EndpointClass::Token)
        );
        assert_eq!(
            c(Method::POST, "/epayment/v1/payments"),
            Some(EndpointClass::Create)
        );
        assert_eq!(
            c(Method::GET, "/epayment/v1/payments/abcdefgh"),
            Some(EndpointClass::Get)
        );
        assert_eq!(
            c(Method::GET, "/epayment/v1/payments/abcdefgh/events"),
            Some(EndpointClass::Get)
        );
        assert_eq!(
            c(Method::POST, "/epayment/v1/payments/abcdefgh/capture"),
            Some(EndpointClass::Capture)
        );
        assert_eq!(
            c(Method::POST, "/epayment/v1/test/payments/abcdefgh/approve"),
            Some(EndpointClass::ForceApprove)
        );
        assert_eq!(c(Method::POST, "/sim/v1/faults"), None);
    }

    #[test]
    fn next_counters_are_exact_and_rates_are_seeded() {
        let mut faults = Faults::default();
        faults.fail_next.insert(EndpointClass::Capture, 2);
        let mut state = FaultState::new(faults);
        assert_eq!(state.injected_error(EndpointClass::Capture), Some(500));
        assert_eq!(state.injected_error(EndpointClass::Get), None);
        assert_eq!(state.injected_error(EndpointClass::Capture), Some(500));
        assert_eq!(state.injected_error(EndpointClass::Capture), None);

        let mut faults = Faults {
            seed: 7,
            ..Faults::default()
        };
        faults.error_rate.insert(EndpointClass::All, 0.5);
        let run = |f: &Faults| {
            let mut s = FaultState::new(f.clone());
            (0..64)
                .map(|_| s.injected_error(EndpointClass::Get).is_some())
                .collect::<Vec<_>>()
        };
        let first = run(&faults);
        assert_eq!(first, run(&faults));
        assert!(first.iter().any(|x| *x) && first.iter().any(|x| !*x));
    }

    #[test]
    fn holds_count_down_or_last() {
        let faults = Faults::default()
            .with_hold(EndpointClass::Create, Hold::next(1, 500))
            .with_hold(EndpointClass::All, Hold::every(20));
        let mut state = FaultState::new(faults);
        assert_eq!(
            state.hold(EndpointClass::Create),
            Duration::from_millis(500)
        );
        assert_eq!(state.hold(EndpointClass::Create), Duration::from_millis(20));
        assert_eq!(state.hold(EndpointClass::Get), Duration::from_millis(20));
        assert_eq!(state.current().hold[&EndpointClass::Create].count, Some(0));

        let mut none = FaultState::new(Faults::default());
        assert_eq!(none.hold(EndpointClass::Capture), Duration::ZERO);

        let json: Faults = serde_json::from_str(
            r#"{"hold": {"create": {"ms": 2000, "count": 1}, "get": {"ms": 5}}}"#,
        )
        .unwrap();
        assert_eq!(json.hold[&EndpointClass::Create], Hold::next(1, 2000));
        assert_eq!(json.hold[&EndpointClass::Get], Hold::every(5));
    }
}

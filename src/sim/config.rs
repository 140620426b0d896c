//! Simulator configuration: credentials, market, timings, limits and faults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::SimClock;
use super::faults::Faults;

/// Fixed credentials of [`SimConfig::for_tests`] (and the binary's defaults).
pub const TEST_CLIENT_ID: &str = "fb492b5e-7907-4d83-ba20-c7fb60ca35de";
/// Fixed test client secret.
pub const TEST_CLIENT_SECRET: &str = "sim-client-secret";
/// Fixed test subscription key (`Ocp-Apim-Subscription-Key`).
pub const TEST_SUBSCRIPTION_KEY: &str = "sim0subscription0key0000000000ab";
/// Fixed test merchant serial number.
pub const TEST_MSN: &str = "123456";
/// The phone number a scan or approval uses when none is given.
pub const DEFAULT_CUSTOMER_PHONE: &str = "4712345678";

/// The sales unit's market currency. A payment in another currency gets 5040.
pub use crate::core::money::Currency;

/// Per-minute call limits per payment reference, applied to each API on its
/// own (BRIEF §5.5): create, capture, cancel and refund each get
/// `modify_per_minute` calls per reference + MSN, and GET payment and GET
/// events each get `get_per_minute` calls per reference + subscription key.
/// So 5 creates and 5 captures on one reference in the same minute all pass;
/// a 6th capture gets 429. Windows slide over the simulator clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimits {
    /// Calls per minute of each of create, capture, cancel and refund, per reference + MSN.
    pub modify_per_minute: u32,
    /// Calls per minute of each of GET payment and GET events, per reference + subscription key.
    pub get_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            modify_per_minute: 5,
            get_per_minute: 120,
        }
    }
}

/// How the sales unit authenticates on the Login API (§10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginClientAuth {
    /// `Authorization: Basic base64(client_id:client_secret)` (Vipps' default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form.
    ClientSecretPost,
}

/// One marketing consent the sales unit asks for (`delegatedConsents`, §10.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentSpec {
    pub id: String,
    pub required: bool,
    pub text_displayed_to_user: String,
}

/// The sales unit's consent configuration (set in the business portal at Vipps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentConfig {
    pub heading: String,
    pub text: String,
    pub consents: Vec<ConsentSpec>,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        Self {
            heading: "Join the customer club".into(),
            text: "Share your name and phone number with the store to become a member.".into(),
            consents: vec![
                ConsentSpec {
                    id: "email".into(),
                    required: false,
                    text_displayed_to_user: "Offers by e-mail".into(),
                },
                ConsentSpec {
                    id: "sms".into(),
                    required: false,
                    text_displayed_to_user: "Offers by SMS".into(),
                },
            ],
        }
    }
}

/// Login API settings of the simulated sales unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginConfig {
    pub client_auth: LoginClientAuth,
    /// `interval` returned by backchannel authentication (Vipps: 5 s).
    pub interval: Duration,
    /// How much a `slow_down` adds to a login's interval (CIBA: 5 s).
    pub slow_down_step: Duration,
    /// `expires_in` when the request names no `requested_expiry` (Vipps: 600 s).
    pub default_expiry: Duration,
    /// Life of the access token from the token endpoint (CIBA example: 300 s).
    pub access_token_ttl: Duration,
    /// Numbers whose app is too old (`old_app`).
    pub old_app_numbers: Vec<String>,
    pub consents: ConsentConfig,
    /// Userinfo returns `delegatedConsents` only the first time a user consents.
    pub consents_first_time_only: bool,
    /// Userinfo answers 401 when a subscription key is sent (toolkit, 2026).
    pub userinfo_rejects_subscription_key: bool,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            client_auth: LoginClientAuth::default(),
            interval: Duration::from_secs(5),
            slow_down_step: Duration::from_secs(5),
            default_expiry: Duration::from_secs(600),
            access_token_ttl: Duration::from_secs(300),
            old_app_numbers: Vec::new(),
            consents: ConsentConfig::default(),
            consents_first_time_only: true,
            userinfo_rejects_subscription_key: true,
        }
    }
}

/// Partner keys (BRIEF §2, partner-keys.md): a client id and secret of a POS vendor that act
/// for several sales units. API calls name the sales unit in `Merchant-Serial-Number`
/// (mandatory); a webhook registered without it covers all of them.
#[derive(Debug, Clone)]
pub struct PartnerKeys {
    pub client_id: String,
    pub client_secret: String,
    pub msns: Vec<String>,
}

/// Webhook retry schedule: exponential from `initial`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Wait before the first retry.
    pub initial: Duration,
    /// Longest wait between two attempts.
    pub max: Duration,
    /// Attempts in total (the first delivery included) before the event is dropped.
    pub max_attempts: u32,
}

impl Backoff {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        crate::core::backoff::exponential(self.initial, self.max, attempt)
    }
}

impl Default for Backoff {
    /// Roughly Vipps' shape: 2 s, doubling, at most an hour between attempts.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(3600),
            max_attempts: 30,
        }
    }
}

/// What the simulated customer does with a pushed payment on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoCustomer {
    /// Approve (true) or decline (false).
    pub approve: bool,
    /// How long after creation, in milliseconds.
    pub after_ms: u64,
}

/// Everything the simulator needs to start. Build with [`SimConfig::for_tests`]
/// or [`SimConfig::new`] and adjust the public fields.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    pub subscription_key: String,
    pub msn: String,
    /// Partner keys that may also act for this and other sales units (none by default).
    pub partner: Option<PartnerKeys>,
    /// The sales unit's market.
    pub currency: Currency,
    /// Access token lifetime (Vipps test: 1 hour).
    pub access_token_ttl: Duration,
    /// How long a payment waits for the customer before it EXPIRES (Vipps: 10 min).
    pub payment_expiry: Duration,
    /// Customer token lifetime after a scan (Vipps: 15 min).
    pub customer_token_ttl: Duration,
    /// How long a tokenized (2.0) personal QR stays valid after the app generated it
    /// (undocumented at Vipps; create answers 4060 and the exchange 400 after it).
    pub personal_qr_ttl: Duration,
    /// MobilePay beacon ids already mapped to another merchant (`PUT .../mobilepay/{id}`
    /// answers 409).
    pub foreign_beacons: Vec<String>,
    /// `None` disables rate limiting.
    pub rate_limits: Option<RateLimits>,
    /// Whether this MSN may use `userFlow: PUSH_MESSAGE` (else 5080).
    pub push_message_allowed: bool,
    /// Whether this MSN may set `expiresAt` (else 5050).
    pub long_living_allowed: bool,
    /// Whether partial capture is refused (6140).
    pub full_capture_required: bool,
    /// Phone numbers that are not Vipps users (create gives 7010).
    pub unknown_phone_numbers: Vec<String>,
    /// The customer's number when a scan or approval names none.
    pub default_customer_phone: String,
    /// Vipps only calls HTTPS webhooks; off by default so loopback works.
    pub require_https_webhooks: bool,
    /// A webhook answer slower than this counts as a failure (Vipps: 10 s).
    pub webhook_timeout: Duration,
    /// Retry schedule for failed webhook deliveries.
    pub webhook_backoff: Backoff,
    /// How often expired payments are swept (and their EXPIRED events sent).
    pub sweep_interval: Duration,
    /// Optional automatic customer for pushed payments.
    pub auto_customer: Option<AutoCustomer>,
    /// Faults active from the start (change at runtime with `POST /sim/v1/faults`).
    pub faults: Faults,
    /// The clock; share it with the test to move time forward.
    pub clock: SimClock,
    /// Base URL to advertise (in `qrImageUrl`) when the simulator sits behind a proxy.
    pub public_base_url: Option<url::Url>,
    /// The Login API (merchant-initiated login) of this sales unit.
    pub login: LoginConfig,
}

impl SimConfig {
    /// A configuration with the given credentials and Vipps' own defaults.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        subscription_key: impl Into<String>,
        msn: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            subscription_key: subscription_key.into(),
            msn: msn.into(),
            partner: None,
            currency: Currency::Nok,
            access_token_ttl: Duration::from_secs(3600),
            payment_expiry: Duration::from_secs(600),
            customer_token_ttl: Duration::from_secs(900),
            personal_qr_ttl: Duration::from_secs(600),
            foreign_beacons: Vec::new(),
            rate_limits: Some(RateLimits::default()),
            push_message_allowed: true,
            long_living_allowed: false,
            full_capture_required: false,
            unknown_phone_numbers: Vec::new(),
            default_customer_phone: DEFAULT_CUSTOMER_PHONE.to_string(),
            require_https_webhooks: false,
            webhook_timeout: Duration::from_secs(10),
            webhook_backoff: Backoff::default(),
            sweep_interval: Duration::from_millis(250),
            auto_customer: None,
            faults: Faults::default(),
            clock: SimClock::new(),
            public_base_url: None,
            login: LoginConfig::default(),
        }
    }

    /// Fixed test credentials ([`TEST_CLIENT_ID`], ...), Vipps' limits and
    /// expiries, but fast webhook retries (20 ms doubling to 200 ms) and a
    /// 2 s webhook timeout so failing receivers do not slow tests down.
    pub fn for_tests() -> Self {
        let mut config = Self::new(
            TEST_CLIENT_ID,
            TEST_CLIENT_SECRET,
            TEST_SUBSCRIPTION_KEY,
            TEST_MSN,
        );
        config.webhook_timeout = Duration::from_secs(2);
        config.webhook_backoff = Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            max_attempts: 20,
        };
        config.sweep_interval = Duration::from_millis(50);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            max_attempts: 5,
        };
        assert_eq!(b.delay_after(1), Duration::from_millis(10));
        assert_eq!(b.delay_after(2), Duration::from_millis(20));
        assert_eq!(b.delay_after(3), Duration::from_millis(40));
        assert_eq!(b.delay_after(4), Duration::from_millis(50));
        assert_eq!(b.delay_after(60), Duration::from_millis(50));
    }
}

//! `kasse-sim`: a local Vipps MobilePay simulator.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use kasse::sim::{self, AutoCustomer, Backoff, Currency, EndpointClass, Faults, Hold, RateLimits};

const ABOUT: &str = "A faithful local Vipps MobilePay: access token, QR merchant callback, ePayment, \
Webhooks API with signed retried delivery, a simulated customer and fault injection.";

const LONG_ABOUT: &str = "\
A faithful local Vipps MobilePay: access token, QR merchant callback, ePayment, Webhooks API
with signed, retried, per-payment ordered delivery, a simulated customer and fault injection.
State is in memory.

Serves the Vipps paths at its root, so a client's base URL is http://LISTEN:
  POST /accesstoken/get
  PUT|GET|DELETE /qr/v1/merchant-callback/{merchantQrId}, GET /qr/v1/merchant-callback
  PUT /qr/v1/merchant-callback/mobilepay/{beaconId} (409 when mapped elsewhere)
  POST /qr/v1/exchange, POST /qr/v1/exchange/customer (personal QR or customer token → MSISDN)
  POST /epayment/v1/payments, GET /epayment/v1/payments/{reference}[/events],
  POST /epayment/v1/payments/{reference}/capture|refund|cancel,
  POST /epayment/v1/test/payments/{reference}/approve
  POST|GET /webhooks/v1/webhooks, DELETE /webhooks/v1/webhooks/{id}
  GET /qr-images/{id}.png|svg (the qrImageUrl images, no auth)

Control API (no auth; the simulated customer, inspection, faults):
  POST /sim/v1/merchant-callback/{merchantQrId}/scan  [{\"phoneNumber\":\"4712345678\"}]
       the customer scans a till QR: a signed user.checked-in.v1 goes to the registered
       webhook now; answers {customerToken, delivered, status, appMessage?}
  POST /sim/v1/scan {\"qrContent\": \"https://qr.vipps.no/...\"}   scan by QR content
  POST /sim/v1/payment-qr/scan {\"qrContent\": ...}   the customer scans a one-time
       payment QR (userFlow QR): only then can they approve it
  POST /sim/v1/customers/{phoneNumber}/personal-qr [{\"version\":\"2.0\"}]   the personal
       QR the customer's app shows (2.0 tokenized, valid --personal-qr-ttl-secs; 1.0 clear text)
  POST /sim/v1/payments/{reference}/approve | /decline  [{\"phoneNumber\": ...}]
  POST /sim/v1/payments/{reference}/open    the customer is authorizing (cancel: 6250)
  GET  /sim/v1/payments[?state=CREATED&phoneNumber=...]  the ledger (state, aggregate,
       counts of captures/refunds/cancels, event log); GET /sim/v1/payments/{reference}
  GET  /sim/v1/log[?reference=...&since=<unix ns>]  received API calls (method, path,
       reference, idempotencyKey, status, receivedAtUnixNanos, completedAtUnixNanos,
       heldMs, clientGone: the client had gone before the answer was ready)
  GET  /sim/v1/webhook-deliveries                  every delivery attempt and outcome
  GET|POST /sim/v1/faults  e.g. {\"seed\":1,\"failNext\":{\"capture\":2},\"errorRate\":{\"get\":0.1},
       \"failAfterEffect\":true,\"latencyMs\":{\"all\":200},\"webhookDropNext\":1,
       \"webhookDuplicateRate\":0.5,\"webhookDelayMs\":1000}   ({} clears)
       Held calls: {\"hold\":{\"create\":{\"ms\":5000,\"count\":1}}} holds the next create
       5 s before it is processed (without count: every create). A received call is
       always processed to the end, even when its client times out or hangs up.
  GET  /sim/v1/clock, POST /sim/v1/clock/advance {\"seconds\": 600}   move time forward
  GET|POST /sim/v1/auto-customer {\"approve\": true, \"afterMs\": 1500} or null

Endpoint classes for faults: all, token, qr, create, get, capture, refund, cancel,
forceApprove, webhooks.

Rate limits are per API, as Vipps documents them: create, capture, cancel and refund
each allow --rate-limit-modify calls per minute per reference + MSN; GET payment and
GET events each --rate-limit-get per reference + subscription key. Over the limit: 429
with Retry-After. See docs/simulator.md.";

/// Command line of `kasse-sim` (help texts in `ABOUT` and `LONG_ABOUT`).
#[derive(Debug, Parser)]
#[command(name = "kasse-sim", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "KASSE_SIM_LISTEN", default_value = "127.0.0.1:8075")]
    listen: SocketAddr,
    /// client_id the token endpoint accepts.
    #[arg(long, env = "KASSE_SIM_CLIENT_ID", default_value = sim::TEST_CLIENT_ID)]
    client_id: String,
    /// client_secret the token endpoint accepts.
    #[arg(long, env = "KASSE_SIM_CLIENT_SECRET", default_value = sim::TEST_CLIENT_SECRET, hide_default_value = true)]
    client_secret: String,
    /// Ocp-Apim-Subscription-Key every call must carry.
    #[arg(long, env = "KASSE_SIM_SUBSCRIPTION_KEY", default_value = sim::TEST_SUBSCRIPTION_KEY, hide_default_value = true)]
    subscription_key: String,
    /// The sales unit's Merchant-Serial-Number.
    #[arg(long, env = "KASSE_SIM_MSN", default_value = sim::TEST_MSN)]
    msn: String,
    /// Partner keys: a client id that acts for the --partner-msn sales units (API calls name
    /// one in Merchant-Serial-Number; webhooks registered without it cover them all).
    #[arg(
        long,
        env = "KASSE_SIM_PARTNER_CLIENT_ID",
        requires = "partner_client_secret"
    )]
    partner_client_id: Option<String>,
    #[arg(long, env = "KASSE_SIM_PARTNER_CLIENT_SECRET", hide_env_values = true)]
    partner_client_secret: Option<String>,
    /// A sales unit the partner keys act for (repeatable; default: --msn).
    #[arg(long = "partner-msn")]
    partner_msns: Vec<String>,
    /// The sales unit's market currency (NOK, DKK, EUR).
    #[arg(long, env = "KASSE_SIM_CURRENCY", default_value = "NOK")]
    currency: Currency,
    /// Base URL to advertise in qrImageUrl (when behind a proxy).
    #[arg(long, env = "KASSE_SIM_PUBLIC_URL")]
    public_url: Option<url::Url>,
    /// Access token lifetime, seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_secs: u64,
    /// Seconds a payment waits for the customer before it EXPIRES.
    #[arg(long, default_value_t = 600)]
    payment_expiry_secs: u64,
    /// Customer token lifetime after a scan, seconds.
    #[arg(long, default_value_t = 900)]
    customer_token_ttl_secs: u64,
    /// How long a tokenized personal QR stays valid after the app generated it, seconds.
    #[arg(long, default_value_t = 600)]
    personal_qr_ttl_secs: u64,
    /// A MobilePay beacon id already mapped to another merchant (its mapping answers 409).
    /// Repeatable.
    #[arg(long = "foreign-beacon", value_name = "BEACON_ID")]
    foreign_beacons: Vec<String>,
    /// Calls per reference per minute of each modifying API (create, capture, cancel, refund each).
    #[arg(long, default_value_t = 5)]
    rate_limit_modify: u32,
    /// Calls per reference per minute of each read API (GET payment, GET events each).
    #[arg(long, default_value_t = 120)]
    rate_limit_get: u32,
    /// Turn rate limiting off.
    #[arg(long)]
    no_rate_limit: bool,
    /// This MSN is not approved for PUSH_MESSAGE (create answers 5080).
    #[arg(long)]
    push_not_allowed: bool,
    /// This MSN may use expiresAt (long-living payments).
    #[arg(long)]
    allow_expires_at: bool,
    /// Refuse partial capture (6140).
    #[arg(long)]
    full_capture_required: bool,
    /// Phone numbers that are not Vipps users (create answers 7010). Repeatable.
    #[arg(long = "unknown-phone")]
    unknown_phones: Vec<String>,
    /// The customer's phone number when a scan or approval names none.
    #[arg(long, default_value = sim::DEFAULT_CUSTOMER_PHONE)]
    default_phone: String,
    /// Only accept https:// webhook URLs (as Vipps does).
    #[arg(long)]
    require_https_webhooks: bool,
    /// A webhook answer slower than this is a failure, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    webhook_timeout_ms: u64,
    /// First webhook retry delay, milliseconds (doubles per attempt).
    #[arg(long, default_value_t = 2_000)]
    webhook_retry_initial_ms: u64,
    /// Longest delay between webhook attempts, milliseconds.
    #[arg(long, default_value_t = 3_600_000)]
    webhook_retry_max_ms: u64,
    /// Attempts per webhook event before it is dropped.
    #[arg(long, default_value_t = 30)]
    webhook_max_attempts: u32,
    /// The simulated customer approves every pushed payment after this many ms.
    #[arg(long, conflicts_with = "auto_decline_after_ms")]
    auto_approve_after_ms: Option<u64>,
    /// The simulated customer declines every pushed payment after this many ms.
    #[arg(long)]
    auto_decline_after_ms: Option<u64>,
    /// Seed of the fault RNG.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// 5xx rate per endpoint class, CLASS=RATE (e.g. capture=0.2). Repeatable.
    #[arg(long = "fault-5xx-rate", value_parser = parse_rate)]
    fault_rates: Vec<(EndpointClass, f64)>,
    /// Status of injected errors: 500 (default), another 5xx, 423 (locked) or 429.
    #[arg(long, default_value_t = 500)]
    fault_status: u16,
    /// Injected errors happen after the call took effect (the answer is lost).
    #[arg(long)]
    fault_after_effect: bool,
    /// Added latency on every Vipps API call, milliseconds.
    #[arg(long, default_value_t = 0)]
    fault_latency_ms: u64,
    /// Hold calls of a class before processing them, CLASS=MS (every call) or
    /// CLASS=MS:COUNT (the next COUNT calls), e.g. create=5000:1. Repeatable.
    #[arg(long = "fault-hold", value_parser = parse_hold)]
    fault_holds: Vec<(EndpointClass, Hold)>,
    /// Probability that a webhook is dropped.
    #[arg(long, default_value_t = 0.0)]
    webhook_drop_rate: f64,
    /// Probability that a webhook is delivered twice.
    #[arg(long, default_value_t = 0.0)]
    webhook_duplicate_rate: f64,
    /// Hold every webhook back this many milliseconds.
    #[arg(long, default_value_t = 0)]
    webhook_delay_ms: u64,
}

fn parse_class(class: &str) -> Result<EndpointClass, String> {
    serde_json::from_value(serde_json::Value::String(class.into()))
        .map_err(|_| format!("unknown endpoint class {class:?}"))
}

fn parse_hold(s: &str) -> Result<(EndpointClass, Hold), String> {
    let (class, hold) = s
        .split_once('=')
        .ok_or("expected CLASS=MS or CLASS=MS:COUNT")?;
    let class = parse_class(class)?;
    let (ms, count) = match hold.split_once(':') {
        Some((ms, count)) => (ms, Some(count)),
        None => (hold, None),
    };
    let ms: u64 = ms.parse().map_err(|_| format!("bad milliseconds {ms:?}"))?;
    let hold = match count {
        Some(n) => Hold::next(n.parse().map_err(|_| format!("bad count {n:?}"))?, ms),
        None => Hold::every(ms),
    };
    Ok((class, hold))
}

fn parse_rate(s: &str) -> Result<(EndpointClass, f64), String> {
    let (class, rate) = s.split_once('=').ok_or("expected CLASS=RATE")?;
    let class = parse_class(class)?;
    let rate: f64 = rate.parse().map_err(|_| format!("bad rate {rate:?}"))?;
    if !(0.0..=1.0).contains(&rate) {
        return Err("rate must be between 0 and 1".into());
    }
    Ok((class, rate))
}

fn config(args: Args) -> sim::SimConfig {
    let mut c = sim::SimConfig::new(
        args.client_id,
        args.client_secret,
        args.subscription_key,
        args.msn,
    );
    if let (Some(client_id), Some(client_secret)) =
        (args.partner_client_id, args.partner_client_secret)
    {
        let msns = if args.partner_msns.is_empty() {
            vec![c.msn.clone()]
        } else {
            args.partner_msns
        };
        c.partner = Some(sim::PartnerKeys {
            client_id,
            client_secret,
            msns,
        });
    }
    c.currency = args.currency;
    c.public_base_url = args.public_url;
    c.access_token_ttl = Duration::from_secs(args.token_ttl_secs);
    c.payment_expiry = Duration::from_secs(args.payment_expiry_secs);
    c.customer_token_ttl = Duration::from_secs(args.customer_token_ttl_secs);
    c.personal_qr_ttl = Duration::from_secs(args.personal_qr_ttl_secs);
    c.foreign_beacons = args.foreign_beacons;
    c.rate_limits = (!args.no_rate_limit).then_some(RateLimits {
        modify_per_minute: args.rate_limit_modify,
        get_per_minute: args.rate_limit_get,
    });
    c.push_message_allowed = !args.push_not_allowed;
    c.long_living_allowed = args.allow_expires_at;
    c.full_capture_required = args.full_capture_required;
    c.unknown_phone_numbers = args.unknown_phones;
    c.default_customer_phone = args.default_phone;
    c.require_https_webhooks = args.require_https_webhooks;
    c.webhook_timeout = Duration::from_millis(args.webhook_timeout_ms);
    c.webhook_backoff = Backoff {
        initial: Duration::from_millis(args.webhook_retry_initial_ms),
        max: Duration::from_millis(args.webhook_retry_max_ms),
        max_attempts: args.webhook_max_attempts.max(1),
    };
    c.auto_customer = match (args.auto_approve_after_ms, args.auto_decline_after_ms) {
        (Some(ms), _) => Some(AutoCustomer {
            approve: true,
            after_ms: ms,
        }),
        (None, Some(ms)) => Some(AutoCustomer {
            approve: false,
            after_ms: ms,
        }),
        (None, None) => None,
    };
    let mut faults = Faults {
        seed: args.fault_seed,
        error_status: Some(args.fault_status),
        fail_after_effect: args.fault_after_effect,
        webhook_drop_rate: args.webhook_drop_rate,
        webhook_duplicate_rate: args.webhook_duplicate_rate,
        webhook_delay_ms: args.webhook_delay_ms,
        ..Faults::default()
    };
    faults.error_rate.extend(args.fault_rates);
    faults.hold.extend(args.fault_holds);
    if args.fault_latency_ms > 0 {
        faults
            .latency_ms
            .insert(EndpointClass::All, args.fault_latency_ms);
    }
    c.faults = faults;
    c
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "kasse=info".into()),
        )
        .init();
    let args = Args::parse();
    if !sim::faults::injectable_status(args.fault_status) {
        anyhow::bail!("--fault-status must be a 5xx status, 423 or 429");
    }
    let listen = args.listen;
    let config = config(args);
    let (client_id, msn) = (config.client_id.clone(), config.msn.clone());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let handle = sim::spawn(config, listener);
    // A closed stdout (a parent that stopped reading) must not stop the simulator.
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "kasse-sim: Vipps MobilePay simulator at {}",
        handle.base_url
    );
    let _ = writeln!(
        out,
        "  client_id {client_id}, MSN {msn}; control API under /sim/v1/ (see --help)"
    );
    let _ = out.flush();

    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    handle.shutdown();
    Ok(())
}

//! In-memory state of the simulated Vipps: payments and their event logs,
//! tokens, QR codes, webhook registrations, idempotency records and
//! rate-limit windows. Pure data and rules; no I/O.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::config::Currency;
use super::problem::{ApiError, Reply};

/// `state` of a payment (ePayment `State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    Created,
    Aborted,
    Expired,
    Authorized,
    Terminated,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Created => "CREATED",
            PaymentState::Aborted => "ABORTED",
            PaymentState::Expired => "EXPIRED",
            PaymentState::Authorized => "AUTHORIZED",
            PaymentState::Terminated => "TERMINATED",
        }
    }
}

/// `name` of an event in the log and in webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventName {
    Created,
    Aborted,
    Expired,
    Cancelled,
    Captured,
    Refunded,
    Authorized,
    Terminated,
}

impl EventName {
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::Created => "CREATED",
            EventName::Aborted => "ABORTED",
            EventName::Expired => "EXPIRED",
            EventName::Cancelled => "CANCELLED",
            EventName::Captured => "CAPTURED",
            EventName::Refunded => "REFUNDED",
            EventName::Authorized => "AUTHORIZED",
            EventName::Terminated => "TERMINATED",
        }
    }

    /// The Webhooks API event type this event is delivered as.
    pub fn webhook_event(self) -> &'static str {
        match self {
            EventName::Created => "epayments.payment.created.v1",
            EventName::Aborted => "epayments.payment.aborted.v1",
            EventName::Expired => "epayments.payment.expired.v1",
            EventName::Cancelled => "epayments.payment.cancelled.v1",
            EventName::Captured => "epayments.payment.captured.v1",
            EventName::Refunded => "epayments.payment.refunded.v1",
            EventName::Authorized => "epayments.payment.authorized.v1",
            EventName::Terminated => "epayments.payment.terminated.v1",
        }
    }
}

/// The QR check-in event type.
pub const CHECKED_IN_EVENT: &str = "user.checked-in.v1";

/// Every event type the Webhooks API accepts.
pub const SUPPORTED_EVENTS: &[&str] = &[
    "epayments.payment.created.v1",
    "epayments.payment.aborted.v1",
    "epayments.payment.expired.v1",
    "epayments.payment.cancelled.v1",
    "epayments.payment.captured.v1",
    "epayments.payment.refunded.v1",
    "epayments.payment.authorized.v1",
    "epayments.payment.terminated.v1",
    CHECKED_IN_EVENT,
    super::logins::LOGIN_PING_EVENT,
    "recurring.agreement-activated.v1",
    "recurring.agreement-rejected.v1",
    "recurring.agreement-stopped.v1",
    "recurring.agreement-expired.v1",
    "recurring.charge-reserved.v1",
    "recurring.charge-captured.v1",
    "recurring.charge-canceled.v1",
    "recurring.charge-failed.v1",
    "recurring.charge-creation-failed.v1",
    "recurring.charge-refunded.v1",
    "login.merchant-initiated.ping.v1",
];

/// One entry of a payment's event log.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentEvent {
    pub name: EventName,
    pub psp_reference: String,
    /// The amount of this operation, in minor units.
    pub amount: i64,
    pub timestamp: SystemTime,
    pub idempotency_key: Option<String>,
    pub success: bool,
}

/// Who the payment was pushed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    PhoneNumber(String),
    PersonalQr(String),
    CustomerToken(String),
}

impl CustomerRef {
    pub fn kind(&self) -> &'static str {
        match self {
            CustomerRef::PhoneNumber(_) => "phoneNumber",
            CustomerRef::PersonalQr(_) => "personalQr",
            CustomerRef::CustomerToken(_) => "customerToken",
        }
    }
}

/// Successful operations per kind (for the ledger).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    pub captures: u32,
    pub refunds: u32,
    pub cancels: u32,
}

/// A payment as Vipps keeps it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub reference: String,
    pub msn: String,
    pub currency: Currency,
    pub amount: i64,
    pub state: PaymentState,
    pub authorized: i64,
    pub captured: i64,
    pub cancelled: i64,
    pub refunded: i64,
    /// Equals the CREATED event's pspReference.
    pub psp_reference: String,
    pub payment_method: String,
    pub user_flow: String,
    pub customer: Option<CustomerRef>,
    /// The phone of the customer the payment goes to, when known.
    pub customer_phone: Option<String>,
    /// The QR the customer scanned, for payments pushed to a customer token.
    pub scanned_qr: Option<String>,
    /// The customer has opened the request and is authorizing it (cancel: 6250).
    pub customer_authorizing: bool,
    /// Who approved it (phone), once authorized.
    pub approved_by: Option<String>,
    pub redirect_url: Option<String>,
    /// The token hidden in `redirectUrl`, accepted by force approve.
    pub landing_token: String,
    pub metadata: Option<Value>,
    pub receipt: Option<Value>,
    pub description: Option<String>,
    pub profile_scope: Option<String>,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub events: Vec<PaymentEvent>,
    pub counts: OpCounts,
}

/// What the state machine emits for webhook delivery.
#[derive(Debug, Clone)]
pub struct PaymentNotice {
    pub msn: String,
    pub reference: String,
    pub currency: Currency,
    pub event: PaymentEvent,
}

impl Payment {
    /// Amount still reserved: authorized − captured − cancelled.
    pub fn remaining(&self) -> i64 {
        self.authorized - self.captured - self.cancelled
    }

    fn push_event(
        &mut self,
        name: EventName,
        amount: i64,
        key: Option<&str>,
        now: SystemTime,
        psp: String,
        outbox: &mut Vec<PaymentNotice>,
    ) -> PaymentEvent {
        let event = PaymentEvent {
            name,
            psp_reference: psp,
            amount,
            timestamp: now,
            idempotency_key: key.map(str::to_string),
            success: true,
        };
        self.events.push(event.clone());
        outbox.push(PaymentNotice {
            msn: self.msn.clone(),
            reference: self.reference.clone(),
            currency: self.currency,
            event: event.clone(),
        });
        event
    }

    /// The CREATED event, written when the payment is created.
    pub fn record_created(&mut self, key: &str, now: SystemTime, outbox: &mut Vec<PaymentNotice>) {
        let psp = self.psp_reference.clone();
        self.push_event(EventName::Created, self.amount, Some(key), now, psp, outbox);
    }

    /// Expire a CREATED payment whose time is up.
    pub fn expire_if_due(
        &mut self,
        now: SystemTime,
        psp: impl FnOnce() -> String,
        outbox: &mut Vec<PaymentNotice>,
    ) {
        if self.state == PaymentState::Created && now >= self.expires_at {
            self.state = PaymentState::Expired;
            let at = self.expires_at;
            self.push_event(EventName::Expired, self.amount, None, at, psp(), outbox);
        }
    }

    /// The customer approves (app or force approve).
    pub fn authorize(
        &mut self,
        approver: Option<String>,
        now: SystemTime,
        psp: String,
        outbox: &mut Vec<PaymentNotice>,
    ) -> Result<(), PaymentState> {
        if self.state != PaymentState::Created {
            return Err(self.state);
        }
        self.state = PaymentState::Authorized;
        self.customer_authorizing = false;
        self.authorized = self.amount;
        self.approved_by = approver;
        self.push_event(EventName::Authorized, self.amount, None, now, psp, outbox);
        Ok(())
    }

    /// The customer declines in the app.
    pub fn abort(
        &mut self,
        now: SystemTime,
        psp: String,
        outbox: &mut Vec<PaymentNotice>,
    ) -> Result<(), PaymentState> {
        if self.state != PaymentState::Created {
            return Err(self.state);
        }
        self.state = PaymentState::Aborted;
        self.customer_authorizing = false;
        self.push_event(EventName::Aborted, self.amount, None, now, psp, outbox);
        Ok(())
    }

    /// Capture `value` (BRIEF §5.3).
    pub fn capture(
        &mut self,
        value: i64,
        full_capture_required: bool,
        key: &str,
        now: SystemTime,
        psp: String,
        outbox: &mut Vec<PaymentNotice>,
    ) -> Result<PaymentEvent, ApiError> {
        match self.state {
            PaymentState::Created => {
                return Err(ApiError::coded(
                    400,
                    6080,
                    "Cannot capture before reservation",
                    "The amount you tried to capture is not reserved. The user must accept the payment before capture can be done.",
                ));
            }
            PaymentState::Terminated => {
                return Err(ApiError::coded(
                    400,
                    6070,
                    "Cannot capture a cancelled payment",
                    "The payment has been cancelled.",
                ));
            }
            PaymentState::Aborted | PaymentState::Expired => {
                return Err(ApiError::coded(
                    400,
                    6200,
                    "Payment cannot be captured",
                    format!(
                        "The payment is {} and was never reserved.",
                        self.state.as_str()
                    ),
                ));
            }
            PaymentState::Authorized => {}
        }
        if value <= 0 {
            return Err(ApiError::coded(
                400,
                4040,
                "Invalid amount",
                "The capture amount must be a positive integer in minor units.",
            ));
        }
        let remaining = self.remaining();
        if remaining == 0 && self.cancelled > 0 {
            return Err(ApiError::coded(
                400,
                6070,
                "Cannot capture a cancelled payment",
                "The remaining reservation has been cancelled.",
            ));
        }
        if remaining == 0 {
            return Err(ApiError::coded(
                400,
                6170,
                "Payment already captured",
                "The whole authorized amount has already been captured.",
            ));
        }
        if value > remaining {
            return Err(ApiError::coded(
                400,
                6090,
                "Capture amount too high",
                format!(
                    "Tried to capture {value}, but only {remaining} is reserved and not captured or cancelled."
                ),
            ));
        }
        if full_capture_required && value != remaining {
            return Err(ApiError::coded(
                400,
                6140,
                "Must capture full amount",
                "This sales unit does not allow partial capture.",
            ));
        }
        self.captured += value;
        self.counts.captures += 1;
        Ok(self.push_event(EventName::Captured, value, Some(key), now, psp, outbox))
    }

    /// Refund `value` of what was captured.
    pub fn refund(
        &mut self,
        value: i64,
        key: &str,
        now: SystemTime,
        psp: String,
        outbox: &mut Vec<PaymentNotice>,
    ) -> Result<PaymentEvent, ApiError> {
        match self.state {
            PaymentState::Created => {
                return Err(ApiError::coded(
                    400,
                    6020,
                    "Attempted refund before reservation",
                    "The payment has not been reserved, so nothing can be refunded.",
                ));
            }
            PaymentState::Aborted | PaymentState::Expired | PaymentState::Terminated => {
                return Err(ApiError::coded(
                    400,
                    6210,
                    "Payment cannot be refunded",
                    format!("The payment is {}.", self.state.as_str()),
                ));
            }
            PaymentState::Authorized => {}
        }
        if value <= 0 {
            return Err(ApiError::coded(
                400,
                4040,
                "Invalid amount",
                "The refund amount must be a positive integer in minor units.",
            ));
        }
        let refundable = self.captured - self.refunded;
        if value > refundable {
            return Err(ApiError::coded(
                400,
                6150,
                "Not enough refundable",
                format!(
                    "Tried to refund {value}, but only {refundable} is captured and not refunded."
                ),
            ));
        }
        self.refunded += value;
        self.counts.refunds += 1;
        Ok(self.push_event(EventName::Refunded, value, Some(key), now, psp, outbox))
    }

    /// Cancel: before authorization the payment is TERMINATED; after it the
    /// whole uncaptured remainder is cancelled and the state stays AUTHORIZED.
    pub fn cancel(
        &mut self,
        transaction_only: bool,
        key: &str,
        now: SystemTime,
        psp: String,
        outbox: &mut Vec<PaymentNotice>,
    ) -> Result<PaymentEvent, ApiError> {
        match self.state {
            PaymentState::Created if self.customer_authorizing => Err(ApiError::coded(
                400,
                6250,
                "Cannot cancel processing payment",
                "The customer is authorizing the payment right now. Retry the cancel later.",
            )),
            PaymentState::Created => {
                self.state = PaymentState::Terminated;
                self.cancelled = self.amount;
                self.counts.cancels += 1;
                Ok(self.push_event(
                    EventName::Terminated,
                    self.amount,
                    Some(key),
                    now,
                    psp,
                    outbox,
                ))
            }
            PaymentState::Authorized => {
                if transaction_only {
                    return Err(ApiError::coded(
                        400,
                        6060,
                        "Cannot cancel authorized payment",
                        "cancelTransactionOnly was set and the customer has already authorized the payment.",
                    ));
                }
                let remaining = self.remaining();
                if remaining == 0 && self.cancelled == 0 {
                    return Err(ApiError::coded(
                        400,
                        6040,
                        "Cannot cancel a captured payment",
                        "The whole amount has been captured. Refund instead.",
                    ));
                }
                if remaining == 0 {
                    return Err(ApiError::coded(
                        400,
                        6190,
                        "Payment cannot be cancelled",
                        "The remaining reservation has already been cancelled.",
                    ));
                }
                self.cancelled += remaining;
                self.counts.cancels += 1;
                Ok(self.push_event(EventName::Cancelled, remaining, Some(key), now, psp, outbox))
            }
            PaymentState::Terminated => Err(ApiError::coded(
                400,
                6190,
                "Payment cannot be cancelled",
                "The payment has already been cancelled.",
            )),
            PaymentState::Aborted | PaymentState::Expired => Err(ApiError::coded(
                400,
                6050,
                "Cannot cancel a non-reserved payment",
                format!("The payment is {}.", self.state.as_str()),
            )),
        }
    }
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub expires_at: SystemTime,
    /// Issued for partner keys (acts for the partner's sales units), not one sales unit's.
    pub partner: bool,
}

/// A customer token minted by a scan.
#[derive(Debug, Clone)]
pub struct CustomerToken {
    pub phone: String,
    pub merchant_qr_id: String,
    /// When the customer scanned (`timestamp` of `POST /qr/v1/exchange/customer`).
    pub scanned_at: SystemTime,
    pub expires_at: SystemTime,
}

/// What kind of code a merchant callback QR is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrKind {
    /// Made by `PUT /qr/v1/merchant-callback/{merchantQrId}`.
    Vipps,
    /// A printed MobilePay PoS sticker mapped by `PUT .../mobilepay/{beaconId}`.
    MobilePayBeacon,
}

/// A merchant callback QR.
#[derive(Debug, Clone)]
pub struct MerchantQr {
    pub merchant_qr_id: String,
    pub location_description: String,
    pub category: Option<String>,
    /// Opaque id inside `qrContent` and the image URL; fixed for the QR's life.
    pub slug: String,
    pub kind: QrKind,
}

impl MerchantQr {
    pub fn qr_content(&self) -> String {
        match self.kind {
            QrKind::Vipps => format!("https://qr.vipps.no/28/2/05/031/{}", self.slug),
            // What the printed sticker encodes (invented: the real content is not documented).
            QrKind::MobilePayBeacon => {
                format!("https://mobilepay.dk/box?beaconId={}", self.merchant_qr_id)
            }
        }
    }
}

/// A tokenized (version 2.0) personal QR a simulated customer's app shows.
#[derive(Debug, Clone)]
pub struct PersonalQrCode {
    pub phone: String,
    pub issued_at: SystemTime,
}

/// The customer behind personal QR content, as Vipps resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalQrOwner {
    pub phone: String,
    /// `1.0` (clear text) or `2.0` (tokenized).
    pub version: &'static str,
    /// When a 2.0 code was generated.
    pub issued_at: Option<SystemTime>,
}

/// Prefix of tokenized (2.0) personal QR content.
pub const PERSONAL_QR_V2_PREFIX: &str = "https://qr.vipps.no/p/";

/// A webhook registration.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: String,
    /// The sales unit (empty for a partner registration).
    pub msn: String,
    pub url: url::Url,
    pub events: Vec<String>,
    pub secret: String,
    /// A partner registration (made with partner keys, without MSN): the sales units it
    /// covers. `None` for a sales unit's registration.
    pub partner_msns: Option<Vec<String>>,
}

impl Registration {
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }

    /// Whether events of `msn` go to this registration.
    pub fn covers(&self, msn: &str) -> bool {
        match &self.partner_msns {
            Some(msns) => msns.iter().any(|m| m == msn),
            None => self.msn == msn,
        }
    }
}

/// A stored idempotent result.
#[derive(Debug, Clone)]
pub struct IdempotentResult {
    pub request: Value,
    pub reply: Reply,
}

/// The rate-limited ePayment APIs. Vipps gives each its own budget per
/// payment reference (BRIEF §5.5): the four modifying calls per reference +
/// MSN, the two reads per reference + subscription key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateApi {
    Create,
    Capture,
    Cancel,
    Refund,
    GetPayment,
    GetEvents,
}

impl RateApi {
    /// Whether the call reads (GET payment, GET events) rather than modifies.
    pub fn is_read(self) -> bool {
        matches!(self, RateApi::GetPayment | RateApi::GetEvents)
    }
}

/// One rate-limit window: the API, who calls (MSN for modifying calls,
/// subscription key for reads) and the payment reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateKey {
    pub api: RateApi,
    pub caller: String,
    pub reference: String,
}

/// The whole simulated Vipps.
#[derive(Debug, Default)]
pub struct State {
    pub access_tokens: HashMap<String, AccessToken>,
    pub customer_tokens: HashMap<String, CustomerToken>,
    /// Tokenized personal QRs by their token (the part after [`PERSONAL_QR_V2_PREFIX`]).
    pub personal_qrs: HashMap<String, PersonalQrCode>,
    pub qrs: BTreeMap<String, MerchantQr>,
    /// Contents of every QR image the simulator serves, by slug.
    pub qr_images: HashMap<String, String>,
    pub webhooks: Vec<Registration>,
    pub payments: HashMap<String, Payment>,
    /// References in creation order (for the ledger).
    pub payment_order: Vec<String>,
    /// (endpoint, idempotency key) → stored result.
    pub idempotency: HashMap<(String, String), IdempotentResult>,
    /// Merchant-initiated logins and their access tokens.
    pub login: super::logins::LoginStore,
    rate_windows: HashMap<RateKey, VecDeque<SystemTime>>,
}

impl State {
    /// Count a call against its window's per-minute limit; `Err(retry_after)`
    /// when over (the refused call is not counted).
    pub fn rate_check(
        &mut self,
        key: RateKey,
        limit: u32,
        now: SystemTime,
    ) -> Result<(), Duration> {
        let window = Duration::from_secs(60);
        let calls = self.rate_windows.entry(key).or_default();
        while let Some(first) = calls.front() {
            if now.duration_since(*first).unwrap_or_default() >= window {
                calls.pop_front();
            } else {
                break;
            }
        }
        if calls.len() >= limit as usize {
            let oldest = calls.front().copied().unwrap_or(now);
            let wait = window.saturating_sub(now.duration_since(oldest).unwrap_or_default());
            return Err(wait.max(Duration::from_secs(1)));
        }
        calls.push_back(now);
        Ok(())
    }

    /// Expire every CREATED payment whose time is up.
    pub fn expire_due(
        &mut self,
        now: SystemTime,
        mut psp: impl FnMut() -> String,
        outbox: &mut Vec<PaymentNotice>,
    ) {
        for reference in &self.payment_order {
            if let Some(p) = self.payments.get_mut(reference) {
                p.expire_if_due(now, &mut psp, outbox);
            }
        }
    }

    /// Who shows `content` as their personal QR: clear-text 1.0 codes carry the phone number,
    /// 2.0 codes are tokens this simulator issued and that are younger than `ttl`.
    pub fn personal_qr_owner(
        &self,
        content: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Option<PersonalQrOwner> {
        if !(5..=255).contains(&content.chars().count()) {
            return None;
        }
        if let Some(token) = content.strip_prefix(PERSONAL_QR_V2_PREFIX) {
            let code = self.personal_qrs.get(token)?;
            let fresh = now.duration_since(code.issued_at).unwrap_or_default() < ttl;
            return fresh.then(|| PersonalQrOwner {
                phone: code.phone.clone(),
                version: "2.0",
                issued_at: Some(code.issued_at),
            });
        }
        let rest = content.strip_prefix("https://qr.vipps.no/")?;
        let path = rest.split('?').next()?;
        let last = path.rsplit('/').next()?;
        let msisdn = (10..=15).contains(&last.len()) && last.bytes().all(|b| b.is_ascii_digit());
        msisdn.then(|| PersonalQrOwner {
            phone: last.to_string(),
            version: "1.0",
            issued_at: None,
        })
    }

    /// Registrations covering `msn` (its own and its partner's) subscribed to `event`. For
    /// `user.checked-in.v1` the sales unit's own registration wins when both exist (BRIEF §4).
    pub fn subscribers(&self, msn: &str, event: &str) -> Vec<Registration> {
        let matching = || {
            self.webhooks
                .iter()
                .filter(|r| r.covers(msn) && r.wants(event))
        };
        let own_check_in =
            event == CHECKED_IN_EVENT && matching().any(|r| r.partner_msns.is_none());
        matching()
            .filter(|r| !own_check_in || r.partner_msns.is_none())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed moment: these rules take `now` as an argument.
    fn at_start() -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)
    }

    fn payment(amount: i64) -> Payment {
        let now = at_start();
        Payment {
            reference: "ref-12345678".into(),
            msn: "123456".into(),
            currency: Currency::Nok,
            amount,
            state: PaymentState::Created,
            authorized: 0,
            captured: 0,
            cancelled: 0,
            refunded: 0,
            psp_reference: "psp-0".into(),
            payment_method: "WALLET".into(),
            user_flow: "PUSH_MESSAGE".into(),
            customer: None,
            customer_phone: None,
            scanned_qr: None,
            customer_authorizing: false,
            approved_by: None,
            redirect_url: None,
            landing_token: "t".into(),
            metadata: None,
            receipt: None,
            description: None,
            profile_scope: None,
            created_at: now,
            expires_at: now + Duration::from_secs(600),
            events: Vec::new(),
            counts: OpCounts::default(),
        }
    }

    fn code(e: ApiError) -> u32 {
        e.code.unwrap()
    }

    #[test]
    fn personal_qrs_resolve_by_version_and_age() {
        let now = at_start();
        let ttl = Duration::from_secs(600);
        let mut state = State::default();
        let v1 = state
            .personal_qr_owner("https://qr.vipps.no/28/2/01/031/4791234567?v=1", now, ttl)
            .unwrap();
        assert_eq!((v1.phone.as_str(), v1.version), ("4791234567", "1.0"));
        assert_eq!(
            state.personal_qr_owner("https://example.com/4791234567", now, ttl),
            None
        );
        let v2 = format!("{PERSONAL_QR_V2_PREFIX}tok1");
        assert_eq!(state.personal_qr_owner(&v2, now, ttl), None, "not issued");
        state.personal_qrs.insert(
            "tok1".into(),
            PersonalQrCode {
                phone: "4712345678".into(),
                issued_at: now,
            },
        );
        let owner = state.personal_qr_owner(&v2, now, ttl).unwrap();
        assert_eq!((owner.phone.as_str(), owner.version), ("4712345678", "2.0"));
        assert_eq!(
            state.personal_qr_owner(&v2, now + ttl, ttl),
            None,
            "expired"
        );
    }

    #[test]
    fn capture_refund_cancel_follow_the_aggregate_rules() {
        let now = at_start();
        let mut out = Vec::new();
        let mut p = payment(1000);
        assert_eq!(
            code(
                p.capture(100, false, "k", now, "x".into(), &mut out)
                    .unwrap_err()
            ),
            6080
        );
        p.authorize(None, now, "a".into(), &mut out).unwrap();
        assert_eq!(p.authorized, 1000);
        assert_eq!(
            code(p.refund(1, "k", now, "x".into(), &mut out).unwrap_err()),
            6150
        );
        p.capture(250, false, "c1", now, "c1".into(), &mut out)
            .unwrap();
        assert_eq!(
            code(
                p.capture(751, false, "k", now, "x".into(), &mut out)
                    .unwrap_err()
            ),
            6090
        );
        assert_eq!(
            code(p.cancel(true, "k", now, "x".into(), &mut out).unwrap_err()),
            6060
        );
        let ev = p.cancel(false, "k2", now, "x2".into(), &mut out).unwrap();
        assert_eq!((ev.name, ev.amount), (EventName::Cancelled, 750));
        assert_eq!(
            (p.state, p.captured, p.cancelled),
            (PaymentState::Authorized, 250, 750)
        );
        assert_eq!(
            code(
                p.capture(1, false, "k", now, "x".into(), &mut out)
                    .unwrap_err()
            ),
            6070
        );
        p.refund(200, "r1", now, "r1".into(), &mut out).unwrap();
        assert_eq!(
            code(p.refund(51, "k", now, "x".into(), &mut out).unwrap_err()),
            6150
        );
        assert_eq!(
            p.counts,
            OpCounts {
                captures: 1,
                refunds: 1,
                cancels: 1
            }
        );
        // AUTHORIZED, CAPTURED, CANCELLED, REFUNDED
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn cancel_before_authorization_terminates() {
        let now = at_start();
        let mut out = Vec::new();
        let mut p = payment(500);
        p.cancel(false, "k", now, "x".into(), &mut out).unwrap();
        assert_eq!((p.state, p.cancelled), (PaymentState::Terminated, 500));
        assert_eq!(
            code(p.cancel(false, "k", now, "x".into(), &mut out).unwrap_err()),
            6190
        );
    }

    #[test]
    fn cancel_while_the_customer_authorizes_is_6250() {
        let now = at_start();
        let mut out = Vec::new();
        let mut p = payment(500);
        p.customer_authorizing = true;
        let e = p.cancel(false, "k", now, "x".into(), &mut out).unwrap_err();
        assert_eq!(code(e), 6250);
        assert_eq!(p.state, PaymentState::Created);
        p.authorize(None, now, "a".into(), &mut out).unwrap();
        assert!(!p.customer_authorizing);
    }

    #[test]
    fn full_capture_blocks_cancel_with_6040() {
        let now = at_start();
        let mut out = Vec::new();
        let mut p = payment(500);
        p.authorize(None, now, "a".into(), &mut out).unwrap();
        p.capture(500, true, "c", now, "c".into(), &mut out)
            .unwrap();
        assert_eq!(
            code(p.cancel(false, "k", now, "x".into(), &mut out).unwrap_err()),
            6040
        );
        assert_eq!(
            code(
                p.capture(1, false, "k", now, "x".into(), &mut out)
                    .unwrap_err()
            ),
            6170
        );
    }

    fn key(api: RateApi, reference: &str) -> RateKey {
        RateKey {
            api,
            caller: "123456".into(),
            reference: reference.into(),
        }
    }

    #[test]
    fn rate_window_slides() {
        let mut s = State::default();
        let t0 = at_start();
        for _ in 0..5 {
            s.rate_check(key(RateApi::Capture, "r"), 5, t0).unwrap();
        }
        let wait = s.rate_check(key(RateApi::Capture, "r"), 5, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60));
        assert!(s.rate_check(key(RateApi::Capture, "other"), 5, t0).is_ok());
        assert!(
            s.rate_check(key(RateApi::Capture, "r"), 5, t0 + Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn every_api_has_its_own_window() {
        let mut s = State::default();
        let t0 = at_start();
        for api in [
            RateApi::Create,
            RateApi::Capture,
            RateApi::Cancel,
            RateApi::Refund,
        ] {
            for _ in 0..5 {
                s.rate_check(key(api, "r"), 5, t0).unwrap();
            }
            assert!(s.rate_check(key(api, "r"), 5, t0).is_err());
        }
        let other_caller = RateKey {
            caller: "654321".into(),
            ..key(RateApi::Capture, "r")
        };
        assert!(s.rate_check(other_caller, 5, t0).is_ok());
        assert!(s.rate_check(key(RateApi::GetPayment, "r"), 1, t0).is_ok());
        assert!(s.rate_check(key(RateApi::GetEvents, "r"), 1, t0).is_ok());
        assert!(s.rate_check(key(RateApi::GetPayment, "r"), 1, t0).is_err());
    }
}

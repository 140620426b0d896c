//! Serde types for the Vipps MobilePay APIs Kasse uses, in Vipps' camelCase.
//!
//! Reading is tolerant: unknown fields are ignored, newer optional fields are
//! optional, and where the sources disagree both forms are accepted (check-in
//! `msn` or `merchantSerialNumber`; references up to 64 characters; an order
//! line with `taxRate` or `taxPercentage`). Writing follows the saved specs.
//! Tokens and phone numbers sit in masking wrappers (see [`super::mask`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

pub use super::mask::{PhoneNumber, Secret};

// ---------------------------------------------------------------------------
// Money

/// The currencies Vipps MobilePay takes (the till's own type; serialises as
/// `"NOK"`/`"DKK"`/`"EUR"`). Must match the sales unit's market.
pub use crate::core::money::Currency;

/// Largest amount ePayment accepts, in minor units.
pub const MAX_AMOUNT_MINOR: i64 = 65_000_000;

/// An amount in minor units (øre, cents): `{"currency":"NOK","value":49900}` is 499.00 kr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Amount {
    pub currency: Currency,
    pub value: i64,
}

impl Amount {
    pub fn new(currency: Currency, value: i64) -> Self {
        Self { currency, value }
    }

    pub fn nok(value: i64) -> Self {
        Self::new(Currency::Nok, value)
    }

    /// The till's money as a Vipps amount.
    pub fn from_money(money: crate::core::money::Money) -> Self {
        Self::new(money.currency, money.minor)
    }

    /// Within `0..=65 000 000` as the spec requires.
    pub fn validate(&self) -> Result<(), String> {
        if (0..=MAX_AMOUNT_MINOR).contains(&self.value) {
            Ok(())
        } else {
            Err(format!(
                "amount {} is outside 0..={MAX_AMOUNT_MINOR} minor units",
                self.value
            ))
        }
    }
}

// ---------------------------------------------------------------------------
// Customers and tokens

/// The opaque `customerToken` from a `user.checked-in.v1` webhook (valid 15 minutes).
/// `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerToken(String);

impl CustomerToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CustomerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerToken(***, {} chars)", self.0.chars().count())
    }
}

/// Who pays, when known. Exactly one variant goes on the wire
/// (`{"phoneNumber": ..}`, `{"personalQr": ..}` or `{"customerToken": ..}`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Customer {
    /// MSISDN, e.g. `4791234567`.
    PhoneNumber(PhoneNumber),
    /// The full scanned content of the customer's personal QR (5..255 chars).
    PersonalQr(String),
    /// The token from the check-in webhook: what the merchant callback QR flow uses.
    CustomerToken(CustomerToken),
}

impl fmt::Debug for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Customer::PhoneNumber(p) => write!(f, "PhoneNumber({})", p.masked()),
            // A personal QR may embed the phone number.
            Customer::PersonalQr(q) => write!(f, "PersonalQr(***, {} chars)", q.chars().count()),
            Customer::CustomerToken(t) => write!(f, "{t:?}"),
        }
    }
}

impl Customer {
    fn validate(&self) -> Result<(), String> {
        match self {
            Customer::PhoneNumber(p) => PhoneNumber::parse(p.expose())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Customer::PersonalQr(q) => {
                let n = q.chars().count();
                if (5..=255).contains(&n) {
                    Ok(())
                } else {
                    Err(format!("personalQr must be 5 to 255 characters, got {n}"))
                }
            }
            Customer::CustomerToken(t) if t.expose().is_empty() => {
                Err("customerToken is empty".into())
            }
            Customer::CustomerToken(_) => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// ePayment: create

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethodType {
    Wallet,
    Card,
    /// Any newer method (e.g. `CARD_PASSTHROUGH`), kept readable.
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    #[serde(rename = "type")]
    pub kind: PaymentMethodType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserFlow {
    PushMessage,
    NativeRedirect,
    WebRedirect,
    Qr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomerInteraction {
    CustomerPresent,
    CustomerNotPresent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QrFormatKind {
    #[serde(rename = "TEXT/TARGETURL")]
    TextTargetUrl,
    #[serde(rename = "IMAGE/SVG+XML")]
    ImageSvg,
    #[serde(rename = "IMAGE/PNG")]
    ImagePng,
}

/// Only for `userFlow: QR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrFormat {
    pub format: QrFormatKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRequest {
    /// Space-separated, e.g. `"name phoneNumber"`.
    pub scope: String,
}

/// Shortest and longest `reference` accepted when reading (newer docs allow 64).
pub const REFERENCE_MIN: usize = 8;
pub const REFERENCE_MAX: usize = 64;
/// The saved ePayment spec's maximum; Kasse's own references stay within it.
pub const REFERENCE_SPEC_MAX: usize = 50;

/// `^[a-zA-Z0-9-]{8,64}$`.
pub fn validate_reference(reference: &str) -> Result<(), String> {
    let n = reference.len();
    if !(REFERENCE_MIN..=REFERENCE_MAX).contains(&n) {
        return Err(format!(
            "reference must be {REFERENCE_MIN} to {REFERENCE_MAX} characters, got {n}"
        ));
    }
    if !reference
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err("reference may contain only a-z, A-Z, 0-9 and '-'".into());
    }
    Ok(())
}

/// `POST /epayment/v1/payments` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentRequest {
    pub amount: Amount,
    pub payment_method: PaymentMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_interaction: Option<CustomerInteraction>,
    pub reference: String,
    pub user_flow: UserFlow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// 3..100 characters, shown in the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_description: Option<String>,
    /// RFC 3339; needs `receipt`; only with PUSH_MESSAGE or QR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_format: Option<QrFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// Up to 5 pairs, key ≤ 100 and value ≤ 500 characters; echoed back on GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileRequest>,
}

impl CreatePaymentRequest {
    /// The till's request: a push to the customer's app, wallet, customer present.
    pub fn push_to_customer(
        reference: impl Into<String>,
        amount: Amount,
        customer: Customer,
    ) -> Self {
        Self {
            customer: Some(customer),
            ..Self::customer_present(reference, amount)
        }
    }

    /// A payment-specific QR shown on the till's screen: no customer is known; the customer
    /// scans the target URL with the phone camera or the app (`userFlow: QR`,
    /// `qrFormat: TEXT/TARGETURL`, customer present).
    pub fn one_time_qr(reference: impl Into<String>, amount: Amount) -> Self {
        Self {
            customer: None,
            user_flow: UserFlow::Qr,
            qr_format: Some(QrFormat {
                format: QrFormatKind::TextTargetUrl,
                size: None,
            }),
            ..Self::customer_present(reference, amount)
        }
    }

    /// A wallet payment with the customer at the till; user flow and customer to be set.
    fn customer_present(reference: impl Into<String>, amount: Amount) -> Self {
        Self {
            amount,
            payment_method: PaymentMethod {
                kind: PaymentMethodType::Wallet,
            },
            customer: None,
            customer_interaction: Some(CustomerInteraction::CustomerPresent),
            reference: reference.into(),
            user_flow: UserFlow::PushMessage,
            return_url: None,
            payment_description: None,
            expires_at: None,
            qr_format: None,
            receipt: None,
            metadata: None,
            receipt_url: None,
            profile: None,
        }
    }

    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.payment_description = Some(description.into());
        self
    }

    pub fn with_receipt(mut self, receipt: Receipt) -> Self {
        self.receipt = Some(receipt);
        self
    }

    /// The rules Vipps enforces that can be checked locally, so bad input
    /// fails before anything is sent.
    pub fn validate(&self) -> Result<(), String> {
        self.amount.validate()?;
        validate_reference(&self.reference)?;
        if let Some(customer) = &self.customer {
            customer.validate()?;
        }
        match self.user_flow {
            UserFlow::PushMessage if self.customer.is_none() => {
                return Err("PUSH_MESSAGE needs a customer".into());
            }
            UserFlow::WebRedirect if self.return_url.is_none() => {
                return Err("WEB_REDIRECT needs a returnUrl".into());
            }
            _ => {}
        }
        if let Some(d) = &self.payment_description {
            let n = d.chars().count();
            if !(3..=100).contains(&n) {
                return Err(format!(
                    "paymentDescription must be 3 to 100 characters, got {n}"
                ));
            }
        }
        if self.expires_at.is_some() && self.receipt.is_none() {
            return Err("expiresAt needs a receipt".into());
        }
        if let Some(meta) = &self.metadata {
            if meta.len() > 5 {
                return Err("metadata holds at most 5 pairs".into());
            }
            for (k, v) in meta {
                if k.chars().count() > 100 || v.chars().count() > 500 {
                    return Err("metadata keys are at most 100 and values 500 characters".into());
                }
            }
        }
        if let Some(receipt) = &self.receipt {
            receipt.validate()?;
            if receipt.bottom_line.currency != self.amount.currency {
                return Err("receipt currency differs from the payment currency".into());
            }
        }
        Ok(())
    }
}

/// 201 answer to create. No `redirectUrl` for PUSH_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentResponse {
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

// ---------------------------------------------------------------------------
// ePayment: read

/// `state` of a payment. There is no CAPTURED state: read [`Aggregate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentState {
    /// Sent; the user has not acted yet.
    Created,
    /// The user declined (final).
    Aborted,
    /// Timed out (final).
    Expired,
    /// Approved (final; stays AUTHORIZED after capture, refund and cancel).
    Authorized,
    /// Cancelled by the merchant before authorization (final).
    Terminated,
    /// A state this client does not know yet. Treat as "not final, re-read".
    #[serde(other)]
    Unknown,
}

impl PaymentState {
    /// ABORTED, EXPIRED, AUTHORIZED and TERMINATED never change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PaymentState::Aborted
                | PaymentState::Expired
                | PaymentState::Authorized
                | PaymentState::Terminated
        )
    }
}

/// Running totals of a payment; each is an Amount, value 0 when nothing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Aggregate {
    pub authorized_amount: Amount,
    pub cancelled_amount: Amount,
    pub captured_amount: Amount,
    pub refunded_amount: Amount,
}

impl Aggregate {
    /// Authorized, not yet captured nor cancelled: what a capture may still take.
    pub fn capturable(&self) -> i64 {
        self.authorized_amount.value - self.captured_amount.value - self.cancelled_amount.value
    }

    /// Captured, not yet refunded.
    pub fn refundable(&self) -> i64 {
        self.captured_amount.value - self.refunded_amount.value
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethodResponse {
    #[serde(rename = "type")]
    pub kind: PaymentMethodType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_bin: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// `GET /epayment/v1/payments/{reference}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub aggregate: Aggregate,
    pub amount: Amount,
    pub state: PaymentState,
    pub payment_method: PaymentMethodResponse,
    #[serde(default)]
    pub profile: ProfileResponse,
    pub psp_reference: String,
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Newer docs: when the capture guarantee ends (ISO date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_guaranteed_until: Option<String>,
}

/// `name` of an event in the event log and in ePayment webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentEventName {
    Created,
    Aborted,
    Expired,
    Cancelled,
    Captured,
    Refunded,
    Authorized,
    Terminated,
    /// A newer event this client does not know.
    #[serde(other)]
    Unknown,
}

/// One entry of `GET .../events`: the authoritative history of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentEvent {
    pub reference: String,
    /// This event's own PSP reference (CREATED's equals the payment's).
    pub psp_reference: String,
    pub name: PaymentEventName,
    /// The amount of this operation.
    pub amount: Amount,
    /// ISO 8601 date-time as Vipps sent it (see [`parse_timestamp`]).
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub success: bool,
}

// ---------------------------------------------------------------------------
// ePayment: modify

/// Body of capture and refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationRequest {
    pub modification_amount: Amount,
}

/// Body of cancel when only a not-yet-authorized payment may be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    pub cancel_transaction_only: bool,
}

/// 200 answer to capture, refund and cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationResponse {
    pub amount: Amount,
    pub state: PaymentState,
    pub aggregate: Aggregate,
    pub psp_reference: String,
    pub reference: String,
}

/// Body of the test-only force approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForceApproveRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

// ---------------------------------------------------------------------------
// Receipt (order-management schema referenced by ePayment)

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QuantityUnit {
    Pcs,
    Kg,
    Km,
    Minute,
    Litre,
    Kwh,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitInfo {
    /// Price per unit including tax, before discount (minor units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
    /// `^\d+([\.]\d{1,8})?$`, at most 10 characters: `"2"`, `"0.350"`.
    pub quantity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_unit: Option<QuantityUnit>,
}

/// One receipt line. Amounts in minor units, discount already applied.
///
/// Tax is sent as `taxRate` (basis points, newest spec: 2500 = 25 %) and, only
/// when the rate is a whole percent, also as the older `taxPercentage`
/// (integer 0..100, required by the 2.3.24 schema ePayment references).
/// Finland's 25.5 % (2550) cannot be written as an integer percent, so such a
/// line carries `taxRate` alone. Reading accepts either field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub name: String,
    pub id: String,
    pub total_amount: i64,
    pub total_amount_excluding_tax: i64,
    pub total_tax_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_percentage: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_info: Option<UnitInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_return: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_shipping: Option<bool>,
}

impl OrderLine {
    /// A line with the tax rate in basis points; sets `taxPercentage` too when
    /// the rate is a whole percent.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        total_amount: i64,
        total_amount_excluding_tax: i64,
        total_tax_amount: i64,
        tax_rate_basis_points: u32,
    ) -> Self {
        Self {
            name: name.into(),
            id: id.into(),
            total_amount,
            total_amount_excluding_tax,
            total_tax_amount,
            tax_rate: Some(tax_rate_basis_points),
            tax_percentage: whole_percent(tax_rate_basis_points),
            unit_info: None,
            discount: None,
            product_url: None,
            is_return: None,
            is_shipping: None,
        }
    }

    pub fn with_unit_info(mut self, unit_info: UnitInfo) -> Self {
        self.unit_info = Some(unit_info);
        self
    }

    pub fn with_discount(mut self, discount: i64) -> Self {
        self.discount = Some(discount);
        self
    }

    /// The rate in basis points, from whichever field was given.
    pub fn tax_rate_basis_points(&self) -> Option<u32> {
        self.tax_rate.or(self.tax_percentage.map(|p| p * 100))
    }

    fn validate(&self) -> Result<(), String> {
        if self.tax_rate.is_none() && self.tax_percentage.is_none() {
            return Err(format!(
                "order line {:?} has neither taxRate nor taxPercentage",
                self.id
            ));
        }
        if self.tax_rate.is_some_and(|r| r > 10_000) || self.tax_percentage.is_some_and(|p| p > 100)
        {
            return Err(format!(
                "order line {:?} has a tax rate above 100 %",
                self.id
            ));
        }
        if self.total_amount_excluding_tax + self.total_tax_amount != self.total_amount {
            return Err(format!(
                "order line {:?}: excluding tax + tax != total",
                self.id
            ));
        }
        if self.discount.is_some_and(|d| d < 0) {
            return Err(format!("order line {:?} has a negative discount", self.id));
        }
        if let Some(unit) = &self.unit_info
            && !valid_quantity(&unit.quantity)
        {
            return Err(format!(
                "order line {:?}: quantity {:?} is not like \"2\" or \"0.350\" (≤ 10 characters)",
                self.id, unit.quantity
            ));
        }
        Ok(())
    }
}

/// `Some(25)` for 2500 basis points, `None` for 2550 (25.5 %).
pub fn whole_percent(basis_points: u32) -> Option<u32> {
    basis_points
        .is_multiple_of(100)
        .then_some(basis_points / 100)
}

/// `^\d+([\.]\d{1,8})?$` and at most 10 characters.
fn valid_quantity(q: &str) -> bool {
    if q.is_empty() || q.len() > 10 {
        return false;
    }
    let (int, frac) = match q.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (q, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(|f| digits(f) && f.len() <= 8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BarcodeFormat {
    #[serde(rename = "EAN-13")]
    Ean13,
    #[serde(rename = "CODE 39")]
    Code39,
    #[serde(rename = "CODE 128")]
    Code128,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barcode {
    pub format: BarcodeFormat,
    pub data: String,
}

/// Receipt summary. Totals are computed by Vipps from the lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BottomLine {
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_amount: Option<i64>,
    /// The till (POS) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_sources: Option<PaymentSources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<Barcode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_number: Option<String>,
}

impl BottomLine {
    pub fn new(currency: Currency) -> Self {
        Self {
            currency,
            tip_amount: None,
            pos_id: None,
            payment_sources: None,
            barcode: None,
            receipt_number: None,
        }
    }
}

/// `receipt` of a create request: at least one line plus the bottom line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub order_lines: Vec<OrderLine>,
    pub bottom_line: BottomLine,
}

impl Receipt {
    /// The Vipps receipt for a till receipt: one order line per receipt line,
    /// tax as `taxRate` (+ `taxPercentage` when whole), quantity and unit
    /// price in `unitInfo`, the discount when there is one, and the till's
    /// id as `posId`.
    pub fn from_core(receipt: &crate::core::receipt::Receipt, pos_id: Option<&str>) -> Self {
        use crate::core::catalog::Unit;
        let order_lines = receipt
            .lines
            .iter()
            .map(|line| {
                let mut order_line = OrderLine::new(
                    line.id.clone(),
                    line.name.clone(),
                    line.total,
                    line.excluding_tax,
                    line.tax,
                    line.vat.basis_points(),
                )
                .with_unit_info(UnitInfo {
                    unit_price: Some(line.unit_price),
                    quantity: line.quantity.clone(),
                    quantity_unit: Some(match line.unit {
                        Unit::Pcs => QuantityUnit::Pcs,
                        Unit::Kg => QuantityUnit::Kg,
                    }),
                });
                if line.discount > 0 {
                    order_line = order_line.with_discount(line.discount);
                }
                order_line
            })
            .collect();
        Receipt {
            order_lines,
            bottom_line: BottomLine {
                pos_id: pos_id.map(str::to_string),
                ..BottomLine::new(receipt.currency)
            },
        }
    }

    /// Sum of the lines' totals (returns count negative).
    pub fn total(&self) -> i64 {
        self.order_lines
            .iter()
            .map(|l| {
                if l.is_return == Some(true) {
                    -l.total_amount
                } else {
                    l.total_amount
                }
            })
            .sum()
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.order_lines.is_empty() {
            return Err("a receipt needs at least one order line".into());
        }
        self.order_lines.iter().try_for_each(OrderLine::validate)
    }
}

// ---------------------------------------------------------------------------
// QR: merchant callback

/// Longest `locationDescription` Vipps accepts.
pub const LOCATION_DESCRIPTION_MAX: usize = 36;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QrCategory {
    InStore,
    Vending,
}

/// `PUT /qr/v1/merchant-callback/{merchantQrId}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantCallbackPutRequest {
    /// Shown in the app after scanning, at most 36 characters.
    pub location_description: String,
    /// Newer docs (May 2024); omitted unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<QrCategory>,
}

/// A till's static QR as Vipps stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantCallbackQr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_serial_number: Option<String>,
    pub merchant_qr_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_description: Option<String>,
    /// Needs no auth; may change over time, so re-fetch rather than cache forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_image_url: Option<String>,
    /// The text encoded in the QR (an opaque `https://qr.vipps.no/...` URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_content: Option<String>,
}

/// What an exchange asks for (`requestedData`; `MSISDN` is the only value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestedData {
    Msisdn,
}

/// `POST /qr/v1/exchange` body: the complete content of a scanned personal QR.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrExchangeRequest {
    pub qr_code: String,
    pub requested_data: Vec<RequestedData>,
}

impl fmt::Debug for QrExchangeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "QrExchangeRequest(***, {} chars)",
            self.qr_code.chars().count()
        )
    }
}

/// `POST /qr/v1/exchange` answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrExchangeResponse {
    pub msisdn: String,
    /// `1.0` (clear text) or `2.0` (tokenized).
    pub version: String,
    /// When a 2.0 code was generated (UTC epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

/// `POST /qr/v1/exchange/customer` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerExchangeRequest {
    pub customer: CustomerTokenRef,
    pub requested_data: Vec<RequestedData>,
}

/// `{"customerToken": ...}` inside [`CustomerExchangeRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerTokenRef {
    pub customer_token: CustomerToken,
}

/// `POST /qr/v1/exchange/customer` answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerExchangeResponse {
    pub msisdn: String,
    /// When the customer scanned (UTC epoch seconds); informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

impl fmt::Debug for QrExchangeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "QrExchangeResponse(msisdn: ***, version: {})",
            self.version
        )
    }
}

impl fmt::Debug for CustomerExchangeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerExchangeResponse(msisdn: ***)")
    }
}

/// Image format asked for on `GET` merchant-callback QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QrImageFormat {
    #[default]
    Svg,
    /// PNG, optionally with an edge length in pixels (100..=2000).
    Png { size: Option<u32> },
}

/// `^[A-Za-z0-9_-]{1,64}$`: Vipps documents no rule, so Kasse keeps to the safe set.
pub fn validate_merchant_qr_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!(
            "merchantQrId must be 1 to 64 characters, got {}",
            id.len()
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("merchantQrId may contain only A-Z, a-z, 0-9, '-' and '_'".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Webhooks API

/// Event names Kasse registers for.
pub mod events {
    pub const USER_CHECKED_IN: &str = "user.checked-in.v1";
    pub const PAYMENT_CREATED: &str = "epayments.payment.created.v1";
    pub const PAYMENT_ABORTED: &str = "epayments.payment.aborted.v1";
    pub const PAYMENT_EXPIRED: &str = "epayments.payment.expired.v1";
    pub const PAYMENT_CANCELLED: &str = "epayments.payment.cancelled.v1";
    pub const PAYMENT_CAPTURED: &str = "epayments.payment.captured.v1";
    pub const PAYMENT_REFUNDED: &str = "epayments.payment.refunded.v1";
    pub const PAYMENT_AUTHORIZED: &str = "epayments.payment.authorized.v1";
    pub const PAYMENT_TERMINATED: &str = "epayments.payment.terminated.v1";
    /// The user acted on a merchant-initiated login (BRIEF §10.6); registered through the
    /// Webhooks API like the others.
    pub const LOGIN_PING: &str = "login.merchant-initiated.ping.v1";

    /// Every ePayment event.
    pub const ALL_PAYMENT: [&str; 8] = [
        PAYMENT_CREATED,
        PAYMENT_ABORTED,
        PAYMENT_EXPIRED,
        PAYMENT_CANCELLED,
        PAYMENT_CAPTURED,
        PAYMENT_REFUNDED,
        PAYMENT_AUTHORIZED,
        PAYMENT_TERMINATED,
    ];
}

/// `POST /webhooks/v1/webhooks` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterWebhookRequest {
    pub url: String,
    pub events: Vec<String>,
}

/// 201 answer to register. The secret is shown once: store it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredWebhook {
    pub id: String,
    pub secret: Secret,
}

/// One registration as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
}

/// `GET /webhooks/v1/webhooks` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

// ---------------------------------------------------------------------------
// Incoming webhooks

/// `user.checked-in.v1`: a customer scanned a till's QR.
///
/// Reads `msn` (current docs) or `merchantSerialNumber` (Dec 2023 docs), as
/// a string or a number; writes `msn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedInEvent {
    pub customer_token: CustomerToken,
    pub merchant_qr_id: String,
    pub msn: String,
    /// ISO 8601 UTC, often with 7 fractional digits (see [`parse_timestamp`]).
    pub initiated_at: String,
}

impl CheckedInEvent {
    pub fn initiated_at_parsed(&self) -> Option<time::OffsetDateTime> {
        parse_timestamp(&self.initiated_at)
    }
}

impl<'de> Deserialize<'de> for CheckedInEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            customer_token: CustomerToken,
            merchant_qr_id: String,
            #[serde(default)]
            msn: Option<StringOrNumber>,
            #[serde(default)]
            merchant_serial_number: Option<StringOrNumber>,
            initiated_at: String,
        }
        let raw = Raw::deserialize(deserializer)?;
        let msn = raw
            .msn
            .or(raw.merchant_serial_number)
            .ok_or_else(|| serde::de::Error::missing_field("msn"))?;
        Ok(CheckedInEvent {
            customer_token: raw.customer_token,
            merchant_qr_id: raw.merchant_qr_id,
            msn: msn.0,
            initiated_at: raw.initiated_at,
        })
    }
}

/// A JSON string or number, kept as its text.
struct StringOrNumber(String);

impl<'de> Deserialize<'de> for StringOrNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => Ok(Self(s)),
            serde_json::Value::Number(n) => Ok(Self(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a string or number, got {other}"
            ))),
        }
    }
}

/// ePayment webhook payload (same shape for every event; `name` says which).
/// Check `success`: a delivered event can describe a failed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpaymentWebhookEvent {
    pub msn: String,
    pub reference: String,
    /// This event's PSP reference (differs from the payment's).
    pub psp_reference: String,
    pub name: PaymentEventName,
    /// The operation's amount.
    pub amount: Amount,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub success: bool,
    /// Newer docs: sent with AUTHORIZED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_guaranteed_until: Option<String>,
}

impl EpaymentWebhookEvent {
    /// What makes a delivery unique (duplicates happen).
    pub fn dedup_key(&self) -> (String, PaymentEventName, String) {
        (
            self.reference.clone(),
            self.name,
            self.psp_reference.clone(),
        )
    }
}

/// An incoming webhook body, told apart by shape (the check-in carries no event name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookPayload {
    CheckedIn(CheckedInEvent),
    Payment(EpaymentWebhookEvent),
}

/// Why a webhook body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("webhook body is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("webhook body is neither a check-in nor an ePayment event")]
    UnknownShape,
    #[error("webhook body is malformed: {0}")]
    Malformed(serde_json::Error),
}

impl WebhookPayload {
    /// `customerToken` present → check-in; `reference` + `name` → ePayment event.
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(PayloadError::NotJson)?;
        if value.get("customerToken").is_some() {
            serde_json::from_value(value)
                .map(WebhookPayload::CheckedIn)
                .map_err(PayloadError::Malformed)
        } else if value.get("reference").is_some() && value.get("name").is_some() {
            serde_json::from_value(value)
                .map(WebhookPayload::Payment)
                .map_err(PayloadError::Malformed)
        } else {
            Err(PayloadError::UnknownShape)
        }
    }
}

/// Parse a Vipps timestamp: RFC 3339, any number of fractional digits; a
/// missing offset is read as UTC.
pub fn parse_timestamp(text: &str) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    // More than 9 fractional digits, or no offset: normalise and retry.
    let (main, offset) = split_offset(text);
    let (secs, frac) = match main.split_once('.') {
        Some((s, f)) => (s, f),
        None => (main, ""),
    };
    let frac: String = frac.chars().take(9).collect();
    let offset = if offset.is_empty() { "Z" } else { offset };
    let rebuilt = if frac.is_empty() {
        format!("{secs}{offset}")
    } else {
        format!("{secs}.{frac}{offset}")
    };
    time::OffsetDateTime::parse(&rebuilt, &Rfc3339).ok()
}

fn split_offset(text: &str) -> (&str, &str) {
    if let Some(stripped) = text.strip_suffix(['Z', 'z']) {
        return (stripped, "Z");
    }
    // An offset like +01:00 is the last 6 characters after the time part.
    if text.len() > 6 {
        let (head, tail) = text.split_at(text.len() - 6);
        if (tail.starts_with('+') || tail.starts_with('-')) && tail.as_bytes()[3] == b':' {
            return (head, tail);
        }
    }
    (text, "")
}

// ---------------------------------------------------------------------------
// Access token

/// `POST /accesstoken/get` answer. Every value is a JSON string (numbers too);
/// numbers are tolerated as well.
#[derive(Clone, Deserialize, Serialize)]
pub struct AccessTokenResponse {
    pub token_type: String,
    #[serde(deserialize_with = "de_string_i64")]
    pub expires_in: i64,
    #[serde(default, deserialize_with = "de_opt_string_i64")]
    pub ext_expires_in: Option<i64>,
    #[serde(default, deserialize_with = "de_opt_string_i64")]
    pub expires_on: Option<i64>,
    #[serde(default, deserialize_with = "de_opt_string_i64")]
    pub not_before: Option<i64>,
    #[serde(default)]
    pub resource: Option<String>,
    pub access_token: Secret,
}

impl fmt::Debug for AccessTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("expires_on", &self.expires_on)
            .field("access_token", &self.access_token)
            .finish_non_exhaustive()
    }
}

fn de_string_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let text = StringOrNumber::deserialize(deserializer)?.0;
    text.trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {text:?}")))
}

fn de_opt_string_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<StringOrNumber>::deserialize(deserializer)? {
        None => Ok(None),
        Some(StringOrNumber(text)) if text.trim().is_empty() => Ok(None),
        Some(StringOrNumber(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {text:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn customer_serialises_as_one_variant() {
        let token = Customer::CustomerToken(CustomerToken::new("abc+/="));
        assert_eq!(
            serde_json::to_value(&token).unwrap(),
            json!({"customerToken": "abc+/="})
        );
        let phone = Customer::PhoneNumber(PhoneNumber::parse("4791234567").unwrap());
        assert_eq!(
            serde_json::to_value(&phone).unwrap(),
            json!({"phoneNumber": "4791234567"})
        );
        let back: Customer =
            serde_json::from_value(json!({"personalQr": "https://qr.vipps.no/x"})).unwrap();
        assert_eq!(back, Customer::PersonalQr("https://qr.vipps.no/x".into()));
        assert!(
            serde_json::from_value::<Customer>(json!({"phoneNumber": "1", "customerToken": "x"}))
                .is_err()
        );
        assert_eq!(format!("{phone:?}"), "PhoneNumber(47******67)");
        assert!(!format!("{token:?}").contains("abc"));
    }

    #[test]
    fn till_create_request_has_the_flow_fields() {
        let receipt = Receipt {
            order_lines: vec![OrderLine::new("sku-1", "socks", 10000, 8000, 2000, 2500)],
            bottom_line: BottomLine {
                pos_id: Some("till1".into()),
                ..BottomLine::new(Currency::Nok)
            },
        };
        let req = CreatePaymentRequest::push_to_customer(
            "till1-20240301-0042",
            Amount::nok(10000),
            Customer::CustomerToken(CustomerToken::new("tok")),
        )
        .with_description("Kasse 1")
        .with_receipt(receipt);
        req.validate().unwrap();
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({
                "amount": {"currency": "NOK", "value": 10000},
                "paymentMethod": {"type": "WALLET"},
                "customer": {"customerToken": "tok"},
                "customerInteraction": "CUSTOMER_PRESENT",
                "reference": "till1-20240301-0042",
                "userFlow": "PUSH_MESSAGE",
                "paymentDescription": "Kasse 1",
                "receipt": {
                    "orderLines": [{"name": "socks", "id": "sku-1", "totalAmount": 10000,
                        "totalAmountExcludingTax": 8000, "totalTaxAmount": 2000,
                        "taxRate": 2500, "taxPercentage": 25}],
                    "bottomLine": {"currency": "NOK", "posId": "till1"}
                }
            })
        );
    }

    #[test]
    fn finnish_rate_sends_tax_rate_only() {
        let line = OrderLine::new("1", "kahvi", 1255, 1000, 255, 2550);
        let v = serde_json::to_value(&line).unwrap();
        assert_eq!(v["taxRate"], 2550);
        assert!(v.get("taxPercentage").is_none());
        let old: OrderLine = serde_json::from_value(json!({"name":"a","id":"1","totalAmount":125,
            "totalAmountExcludingTax":100,"totalTaxAmount":25,"taxPercentage":25}))
        .unwrap();
        assert_eq!(old.tax_rate_basis_points(), Some(2500));
        assert_eq!(whole_percent(1500), Some(15));
        assert_eq!(whole_percent(1550), None);
    }

    #[test]
    fn create_request_validation() {
        let ok = CreatePaymentRequest::push_to_customer(
            "abcdefgh",
            Amount::nok(100),
            Customer::CustomerToken(CustomerToken::new("t")),
        );
        ok.validate().unwrap();
        let mut r = ok.clone();
        r.reference = "short".into();
        assert!(r.validate().is_err());
        r.reference = "a".repeat(64);
        r.validate().unwrap();
        r.reference = "a".repeat(65);
        assert!(r.validate().is_err());
        r.reference = "has space1".into();
        assert!(r.validate().is_err());
        let mut r = ok.clone();
        r.customer = None;
        assert!(r.validate().is_err());
        let mut r = ok.clone();
        r.amount.value = -1;
        assert!(r.validate().is_err());
        r.amount.value = MAX_AMOUNT_MINOR + 1;
        assert!(r.validate().is_err());
        let mut r = ok.clone();
        r.payment_description = Some("ab".into());
        assert!(r.validate().is_err());
        let mut r = ok.clone();
        r.receipt = Some(Receipt {
            order_lines: vec![],
            bottom_line: BottomLine::new(Currency::Nok),
        });
        assert!(r.validate().is_err());
        let mut r = ok;
        let mut line = OrderLine::new("1", "x", 100, 80, 20, 2500);
        line.unit_info = Some(UnitInfo {
            unit_price: Some(100),
            quantity: "0.123456789".into(),
            quantity_unit: Some(QuantityUnit::Kg),
        });
        r.receipt = Some(Receipt {
            order_lines: vec![line],
            bottom_line: BottomLine::new(Currency::Nok),
        });
        assert!(r.validate().is_err());
    }

    #[test]
    fn receipt_from_a_till_basket() {
        use crate::core::basket::{Basket, Discount};
        use crate::core::catalog::{Item, Unit};
        use crate::core::receipt::Receipt as TillReceipt;
        use crate::core::vat::VatRate;
        let socks = Item::new("sku-1", "Socks", 10_000, VatRate::NO_STANDARD);
        let apples = Item::new("sku-2", "Apples", 4_000, VatRate::NO_FOOD).with_unit(Unit::Kg);
        let mut basket = Basket::new(Currency::Nok);
        let line = basket.add_item(&socks).unwrap();
        basket.set_quantity(line, 2).unwrap();
        basket
            .set_line_discount(line, Discount::Amount(1_000))
            .unwrap();
        basket.add_weighed(&apples, 350).unwrap();
        let till = TillReceipt::from_basket(&basket);
        let vipps = Receipt::from_core(&till, Some("till1"));
        vipps.validate().unwrap();
        assert_eq!(vipps.total(), till.total);
        assert_eq!(vipps.bottom_line.currency, Currency::Nok);
        assert_eq!(vipps.bottom_line.pos_id.as_deref(), Some("till1"));
        let socks = &vipps.order_lines[0];
        assert_eq!((socks.total_amount, socks.discount), (19_000, Some(1_000)));
        assert_eq!(
            (socks.tax_rate, socks.tax_percentage),
            (Some(2500), Some(25))
        );
        let unit = socks.unit_info.as_ref().unwrap();
        assert_eq!(
            (unit.unit_price, unit.quantity.as_str(), unit.quantity_unit),
            (Some(10_000), "2", Some(QuantityUnit::Pcs))
        );
        let apples = &vipps.order_lines[1];
        assert_eq!(apples.total_amount, 1_400);
        assert_eq!(apples.discount, None);
        let unit = apples.unit_info.as_ref().unwrap();
        assert_eq!(
            (unit.quantity.as_str(), unit.quantity_unit),
            ("0.350", Some(QuantityUnit::Kg))
        );
        assert_eq!(
            apples.total_amount_excluding_tax + apples.total_tax_amount,
            1_400
        );
        let money = crate::core::money::Money {
            minor: till.total,
            currency: Currency::Nok,
        };
        assert_eq!(Amount::from_money(money), Amount::nok(20_400));
    }

    #[test]
    fn quantities() {
        for q in ["1", "2", "0.350", "12.5", "1.12345678"] {
            assert!(valid_quantity(q), "{q}");
        }
        for q in ["", ".5", "1.", "1,5", "-1", "1.123456789", "12345678901"] {
            assert!(!valid_quantity(q), "{q}");
        }
    }

    #[test]
    fn payment_reads_with_unknown_and_newer_fields() {
        let body = json!({
            "aggregate": {
                "authorizedAmount": {"currency": "NOK", "value": 1000},
                "cancelledAmount": {"currency": "NOK", "value": 0},
                "capturedAmount": {"currency": "NOK", "value": 250},
                "refundedAmount": {"currency": "NOK", "value": 0}
            },
            "amount": {"currency": "NOK", "value": 1000},
            "state": "AUTHORIZED",
            "paymentMethod": {"type": "WALLET"},
            "profile": {},
            "pspReference": "psp-1",
            "reference": "till1-0000001",
            "captureGuaranteedUntil": "2026-01-01T00:00:00Z",
            "userDetails": {"name": "x"},
            "somethingNew": 1
        });
        let p: Payment = serde_json::from_value(body).unwrap();
        assert_eq!(p.state, PaymentState::Authorized);
        assert!(p.state.is_final());
        assert_eq!(p.aggregate.capturable(), 750);
        assert_eq!(p.aggregate.refundable(), 250);
        let s: PaymentState = serde_json::from_value(json!("PENDING_SOMETHING")).unwrap();
        assert_eq!(s, PaymentState::Unknown);
        assert!(!s.is_final());
    }

    #[test]
    fn check_in_accepts_both_msn_spellings() {
        let current: CheckedInEvent = serde_json::from_value(json!({
            "customerToken": "tok", "merchantQrId": "till1", "msn": "12345",
            "initiatedAt": "2023-10-06T10:45:40.3061965Z"
        }))
        .unwrap();
        assert_eq!(current.msn, "12345");
        let old: CheckedInEvent = serde_json::from_value(json!({
            "customerToken": "tok", "merchantQrId": "till1", "merchantSerialNumber": 12345,
            "initiatedAt": "2023-10-06T10:45:40.3061965Z"
        }))
        .unwrap();
        assert_eq!(old.msn, "12345");
        let both: CheckedInEvent = serde_json::from_value(json!({
            "customerToken": "tok", "merchantQrId": "till1", "msn": "1", "merchantSerialNumber": "2",
            "initiatedAt": "2023-10-06T10:45:40Z"
        })).unwrap();
        assert_eq!(both.msn, "1");
        let t = current.initiated_at_parsed().unwrap();
        assert_eq!(t.unix_timestamp(), 1_696_589_140);
        assert_eq!(t.nanosecond(), 306_196_500);
        assert_eq!(serde_json::to_value(&current).unwrap()["msn"], "12345");
        assert!(
            serde_json::from_value::<CheckedInEvent>(json!({
            "customerToken": "tok", "merchantQrId": "till1", "initiatedAt": "x"}))
            .is_err()
        );
    }

    #[test]
    fn timestamps() {
        assert!(parse_timestamp("2026-01-19T16:26:32.099Z").is_some());
        assert!(parse_timestamp("2023-10-06T10:45:40.306196512345Z").is_some());
        assert_eq!(
            parse_timestamp("2023-10-06T10:45:40").map(|t| t.unix_timestamp()),
            Some(1_696_589_140)
        );
        assert_eq!(
            parse_timestamp("2023-10-06T12:45:40.5+02:00").map(|t| t.unix_timestamp()),
            Some(1_696_589_140)
        );
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn webhook_payloads_are_told_apart() {
        let payment = br#"{"msn":"123456","reference":"till1-00000001","pspReference":"p","name":"AUTHORIZED",
            "amount":{"currency":"NOK","value":49900},"timestamp":"2026-01-19T16:26:32.099Z",
            "idempotencyKey":null,"success":true}"#;
        match WebhookPayload::parse(payment).unwrap() {
            WebhookPayload::Payment(e) => {
                assert_eq!(e.name, PaymentEventName::Authorized);
                assert_eq!(e.amount, Amount::nok(49900));
                assert_eq!(e.idempotency_key, None);
            }
            other => panic!("unexpected {other:?}"),
        }
        let check_in = br#"{"customerToken":"t","merchantQrId":"q","msn":"123456","initiatedAt":"2023-10-06T10:45:40Z"}"#;
        assert!(matches!(
            WebhookPayload::parse(check_in).unwrap(),
            WebhookPayload::CheckedIn(_)
        ));
        assert!(matches!(
            WebhookPayload::parse(b"{}"),
            Err(PayloadError::UnknownShape)
        ));
        assert!(matches!(
            WebhookPayload::parse(b"nope"),
            Err(PayloadError::NotJson(_))
        ));
    }

    #[test]
    fn access_token_values_are_strings() {
        let body = json!({"token_type":"Bearer","expires_in":"86398","ext_expires_in":"0","expires_on":"1495271273",
            "not_before":"1495184574","resource":"00000002-0000-0000-c000-000000000000","access_token":"eyJ0eXAi"});
        let t: AccessTokenResponse = serde_json::from_value(body).unwrap();
        assert_eq!(t.expires_in, 86398);
        assert_eq!(t.expires_on, Some(1_495_271_273));
        assert!(!format!("{t:?}").contains("eyJ0eXAi"));
        let numbers: AccessTokenResponse = serde_json::from_value(
            json!({"token_type":"Bearer","expires_in":3600,"access_token":"x"}),
        )
        .unwrap();
        assert_eq!(numbers.expires_in, 3600);
        assert_eq!(numbers.expires_on, None);
        assert!(
            serde_json::from_value::<AccessTokenResponse>(
                json!({"token_type":"Bearer","expires_in":"soon","access_token":"x"})
            )
            .is_err()
        );
    }

    #[test]
    fn merchant_qr_ids() {
        validate_merchant_qr_id("till-1_A").unwrap();
        validate_merchant_qr_id("27072f82-c4b6-49cd-9838-10f21d87496e").unwrap();
        assert!(validate_merchant_qr_id("").is_err());
        assert!(validate_merchant_qr_id("a/b").is_err());
        assert!(validate_merchant_qr_id(&"a".repeat(65)).is_err());
    }
}

//! What drivers (the window, the headless `kasse pay`) send to the engine and receive from it.
//!
//! Both directions are serde types: the headless driver prints every [`EngineEvent`] as one JSON
//! line with a `"type"` tag (snake_case variant name). Messages carry ids ([`MessageId`]) that a
//! UI translates, never English prose.

use serde::{Deserialize, Serialize};

use crate::core::basket::Basket;
use crate::core::receipt::Receipt;
use crate::core::tender::TenderKind;
use crate::store::returns::ReturnLine;

/// What a driver asks the engine to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Freeze the basket as a sale and take payment for its total.
    Pay { basket: Basket },
    /// Fallback when the customer cannot scan: push the payment request to this phone number
    /// (digits, country code first, e.g. `4791234567`).
    SendToPhone { phone_number: String },
    /// The cashier scanned the customer's personal QR (from their Vipps or MobilePay app):
    /// push the payment request to that customer. Needs no relay: followed by polling.
    SendToPersonalQr { content: PersonalQr },
    /// With the cashier's confirmation: push the payment request to the number of the customer
    /// whose scan the loyalty exchange identified (after their token expired, `TokenExpired`
    /// names them masked). The window never holds the full number.
    SendToScannedCustomer,
    /// Before Pay: the customer who scanned is not the one at the till (they walked away).
    /// Their waiting scan is discarded, so the next Pay never sends them a request, and whoever
    /// the till identified is forgotten.
    DiscardWaitingScan,
    /// Show a payment-specific QR instead of the till's own (when the relay is down, or the
    /// cashier chooses it): the customer scans it with the phone camera or the app. Needs no
    /// relay: followed by polling.
    ShowOneTimeQr,
    /// A part of the sale's payment taken at the till, not through Vipps (cash handed over, a
    /// card approved on a terminal that is not integrated, a gift card or credit note). Sent
    /// after [`Command::Pay`] while the sale waits for the customer; whatever is left is paid
    /// by Vipps, and a sale the parts cover completes at once. Cash may exceed what is left
    /// (it gives change); the others may not.
    Tender {
        tender: TenderKind,
        amount: i64,
        #[serde(default)]
        reference: Option<String>,
    },
    /// Who works the till from now on (after a log-in), or nobody (log-out, idle lock). Every
    /// sale, tender and drawer opening records it.
    SetCashier { cashier_id: Option<i64> },
    /// Cashier cancels the payment in progress. The basket unlocks only once Vipps reports a
    /// final state.
    Cancel,
    /// Try the same sale again with a new payment attempt (after declined, expired, ...).
    Retry,
    /// Give up this sale's payment and return to editing the basket.
    BackToBasket,
    /// Done with the current sale (after completion or failure): ready for the next one.
    NewSale,
    /// Refund `amount` minor units of a completed sale.
    Refund { sale_id: i64, amount: i64 },
    /// Return lines of a completed sale: priced from the sale, paid back to `to` (default: the
    /// tender that paid most of it). Vipps pays back by a refund; cash, card, gift card and
    /// credit note at the till. Its own signed transaction.
    Return {
        sale_id: i64,
        lines: Vec<ReturnLine>,
        #[serde(default)]
        to: Option<TenderKind>,
    },
    /// Re-read the configuration file and redo the set-up (QR, relay) when idle.
    ReloadConfig,
    /// Ask for the most recent sales (answered by [`EngineEvent::History`]).
    ListSales { limit: u32 },
    /// Loyalty: invite a customer to the programme (a Vipps login pushed to their app). No
    /// number: the customer who scanned last. Runs beside the sale.
    InviteMember {
        #[serde(default)]
        phone_number: Option<String>,
    },
    /// Loyalty: the cashier typed the customer's number (with or without the country code; a
    /// national number takes the till's). A member is told by [`EngineEvent::MemberRecognised`]
    /// and their member prices apply to the next Pay (within 15 minutes); during a sale, that
    /// sale is theirs (its prices are frozen). Not a member: [`EngineEvent::NotAMember`], and
    /// [`Command::InviteMember`] without a number invites this one.
    IdentifyCustomer { phone_number: String },
    /// Loyalty: the basket was cleared for the next customer; whoever was identified (scan,
    /// typed number, just joined) no longer counts for the next Pay.
    ForgetCustomer,
    /// Stop the engine task (after finishing nothing: unfinished payments are recovered on start).
    Shutdown,
}

/// The text of a customer's personal QR (a URL that identifies them, phone number included):
/// never printed in full.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonalQr(pub String);

impl PersonalQr {
    /// True for text a barcode scanner typed from a Vipps or MobilePay personal QR (Vipps'
    /// QR host, a path). Anything else is not sent to Vipps.
    pub fn looks_valid(&self) -> bool {
        let n = self.0.chars().count();
        (5..=255).contains(&n)
            && url::Url::parse(&self.0).is_ok_and(|u| {
                u.scheme() == "https" && u.host_str().is_some() && u.path().len() > 1
            })
    }
}

impl std::fmt::Debug for PersonalQr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonalQr(***, {} chars)", self.0.chars().count())
    }
}

/// Progress reported by the engine. Every driver sees the same events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EngineEvent {
    /// Set-up done: the till's QR exists at Vipps and this is its content.
    Ready {
        qr_content: String,
        till_name: String,
        environment: String,
    },
    /// The relay connection changed.
    RelayStatus { status: RelayStatus },
    /// Whether Vipps answers.
    VippsStatus { status: VippsStatus },
    /// A customer scanned the QR before the cashier pressed Pay: the token is held.
    CustomerWaiting { expires_at_ms: i64 },
    /// Answer to [`Command::DiscardWaitingScan`]: `count` waiting scans were discarded.
    WaitingScanDiscarded { count: usize },
    /// The sale is frozen and waits for the customer to scan the QR.
    AwaitingCheckIn {
        sale_id: i64,
        amount: i64,
        qr_content: Option<String>,
    },
    /// A check-in arrived for this sale: the payment request is being sent.
    CheckedIn { sale_id: i64 },
    /// The payment request is at Vipps; the customer's app shows it.
    PaymentRequested {
        sale_id: i64,
        reference: String,
        amount: i64,
    },
    /// The customer approved (confirmed by reading the payment).
    Authorized { sale_id: i64, reference: String },
    /// The money is captured.
    Captured {
        sale_id: i64,
        reference: String,
        amount: i64,
    },
    /// Sale complete: captured equals the total.
    Completed {
        sale_id: i64,
        reference: String,
        receipt: Receipt,
    },
    /// A part of the payment was taken at the till; `remaining` is left (for Vipps, or more
    /// parts). `change` goes back to the customer (cash).
    TenderTaken {
        sale_id: i64,
        tender: TenderKind,
        amount: i64,
        change: i64,
        rounding: i64,
        remaining: i64,
    },
    /// Sale complete without Vipps: the parts taken at the till cover it.
    Paid {
        sale_id: i64,
        receipt: Receipt,
        change: i64,
        rounding: i64,
    },
    /// The parts taken for a cancelled sale were given back (cash out of the drawer).
    GivenBack {
        sale_id: i64,
        parts: Vec<(TenderKind, i64)>,
    },
    /// A payment-specific QR to show instead of the till's own: the customer scans
    /// `qr_content` (a URL) with the phone camera or the app.
    OneTimeQr {
        sale_id: i64,
        reference: String,
        qr_content: String,
        /// When the request expires if nobody approves it (unix ms, the till's clock).
        expires_at_ms: i64,
        /// Shown because the relay is unreachable (not chosen by the cashier or the admin).
        relay_down: bool,
    },
    /// The customer declined in the app.
    Declined { sale_id: i64, reference: String },
    /// The customer did not answer before the payment request expired.
    Expired { sale_id: i64, reference: String },
    /// The payment was cancelled. `money_released` is true when the customer had approved
    /// and the cancel released the reserved amount.
    Cancelled {
        sale_id: i64,
        reference: Option<String>,
        money_released: bool,
    },
    /// The customer's check-in is no longer valid: ask them to scan again.
    TokenExpired {
        sale_id: i64,
        /// The customer who scanned, masked but for the last two digits, when the loyalty
        /// exchange identified them: the cashier may push the request to them instead
        /// ([`Command::SendToScannedCustomer`]).
        customer: Option<String>,
    },
    /// Vipps refuses push payments for this sales unit (error 5080): the admin must ask Vipps
    /// MobilePay to enable it. Meanwhile another way to pay is needed.
    PushNotAllowed { sale_id: i64 },
    /// Something needs attention. `retrying` says whether the engine keeps trying by itself.
    Problem {
        message_id: MessageId,
        detail: Option<String>,
        retrying: bool,
    },
    /// The sale is over (completed, abandoned or failed): the till takes a new sale.
    Idle,
    /// A refund went through.
    RefundDone {
        sale_id: i64,
        reference: String,
        amount: i64,
        refunded_total: i64,
    },
    /// A refund did not go through (nothing was refunded, or the result is unknown and will be
    /// reconciled: see `message_id`).
    RefundFailed {
        sale_id: i64,
        amount: i64,
        message_id: MessageId,
        detail: Option<String>,
    },
    /// A return of lines was paid back.
    ReturnDone {
        return_id: i64,
        sale_id: i64,
        amount: i64,
        tender: TenderKind,
    },
    /// A return was refused or its money could not be paid back (yet: `RefundPending`).
    ReturnFailed {
        sale_id: i64,
        message_id: MessageId,
        detail: Option<String>,
    },
    /// Answer to [`Command::ListSales`].
    History { sales: Vec<SaleSummary> },
    /// Loyalty: the customer who scanned is a member (first name, number masked but for the
    /// last two digits).
    MemberRecognised {
        first_name: Option<String>,
        masked_number: String,
        /// Points from the member's earlier sales (see `Store::member_points`).
        points: i64,
    },
    /// Loyalty: the customer who scanned is not a member yet (they may be invited).
    NotAMember {
        masked_number: String,
        /// The programme's name ("Invite to <programme>").
        programme: String,
    },
    /// Loyalty: the invitation is in the customer's app; show the binding code large.
    InvitePending {
        enrolment_id: i64,
        binding_message: String,
        expires_at_ms: i64,
    },
    /// Loyalty: the customer approved and is a member now.
    MemberEnrolled {
        enrolment_id: i64,
        first_name: Option<String>,
        masked_number: String,
    },
    /// Loyalty: the invitation ended without a membership (the sale goes on).
    InviteEnded {
        enrolment_id: i64,
        reason: crate::core::loyalty::EnrolmentFailure,
    },
    /// Loyalty: member prices were applied to the sale before it was frozen.
    MemberPrices { sale_id: i64, saving: i64 },
    /// Start-up reconciliation finished; `unresolved` attempts could not be settled yet
    /// (their references in `unresolved_references`).
    Recovered {
        settled: u32,
        unresolved: u32,
        unresolved_references: Vec<String>,
    },
}

impl EngineEvent {
    /// The snake_case tag the headless driver prints as `"type"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ready { .. } => "ready",
            Self::RelayStatus { .. } => "relay_status",
            Self::VippsStatus { .. } => "vipps_status",
            Self::CustomerWaiting { .. } => "customer_waiting",
            Self::WaitingScanDiscarded { .. } => "waiting_scan_discarded",
            Self::AwaitingCheckIn { .. } => "awaiting_check_in",
            Self::CheckedIn { .. } => "checked_in",
            Self::PaymentRequested { .. } => "payment_requested",
            Self::Authorized { .. } => "authorized",
            Self::Captured { .. } => "captured",
            Self::Completed { .. } => "completed",
            Self::TenderTaken { .. } => "tender_taken",
            Self::Paid { .. } => "paid",
            Self::GivenBack { .. } => "given_back",
            Self::ReturnDone { .. } => "return_done",
            Self::ReturnFailed { .. } => "return_failed",
            Self::OneTimeQr { .. } => "one_time_qr",
            Self::Declined { .. } => "declined",
            Self::Expired { .. } => "expired",
            Self::Cancelled { .. } => "cancelled",
            Self::TokenExpired { .. } => "token_expired",
            Self::PushNotAllowed { .. } => "push_not_allowed",
            Self::Problem { .. } => "problem",
            Self::Idle => "idle",
            Self::RefundDone { .. } => "refund_done",
            Self::RefundFailed { .. } => "refund_failed",
            Self::History { .. } => "history",
            Self::MemberRecognised { .. } => "member_recognised",
            Self::NotAMember { .. } => "not_a_member",
            Self::MemberPrices { .. } => "member_prices",
            Self::InvitePending { .. } => "invite_pending",
            Self::MemberEnrolled { .. } => "member_enrolled",
            Self::InviteEnded { .. } => "invite_ended",
            Self::Recovered { .. } => "recovered",
        }
    }
}

/// Relay connection state as shown to the cashier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RelayStatus {
    Connected,
    Reconnecting {
        attempt: u32,
        last_error: Option<String>,
    },
    /// No relay configured: check-ins cannot arrive, phone-number payments still work.
    NotConfigured,
    /// This run does not connect to the relay (`kasse recover`, `kasse refund`): it asks
    /// Vipps directly and needs no events.
    NotUsed,
}

/// Vipps reachability as shown to the cashier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VippsStatus {
    Reachable,
    Unreachable { detail: String },
}

/// Translatable message ids (the UI's translation key is `engine-<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageId {
    /// Vipps does not answer (network, 5xx, 429); the engine retries within limits.
    VippsUnreachable,
    /// Vipps refused our credentials (401/403): the admin must check the configuration.
    VippsCredentials,
    /// The configuration is incomplete or invalid.
    ConfigInvalid,
    /// The till's QR could not be set up at Vipps.
    QrSetupFailed,
    /// The MobilePay sticker's beacon id is mapped to another merchant or sales unit, or is
    /// one of this sales unit's own Vipps QR ids (Vipps 409): the admin must check the id.
    BeaconConflict,
    /// The local database failed; nothing was sent to Vipps after the failure.
    StorageFailed,
    /// A sale is in progress; finish or cancel it first.
    Busy,
    /// Nothing to do for this command right now.
    NotNow,
    /// The basket is empty or its total is outside what Vipps accepts.
    InvalidAmount,
    /// A part of the payment was refused (more than is left, not positive, ...): nothing was
    /// recorded; the detail says why.
    TenderRefused,
    /// The till is in training mode with production Vipps settings: no Vipps payment is
    /// started for a training sale (it must move no real money); take cash or card instead.
    TrainingNoVipps,
    /// A return was refused (more than was sold, not completed, not allowed for this
    /// cashier, ...): nothing was recorded; the detail says why.
    ReturnRefused,
    /// The phone number is not 10 to 15 digits, or Vipps does not know it.
    InvalidPhone,
    /// No scanned customer's number is known to push to (loyalty off, or the exchange failed).
    NoScannedCustomer,
    /// Vipps rejected the payment request (see detail for the code).
    PaymentRejected,
    /// The capture was refused or did not capture the whole total: the admin must look at it.
    CaptureMismatch,
    /// The capture is stored as intended but Vipps has not confirmed it yet; it is retried
    /// in the background with the same idempotency key.
    CapturePending,
    /// The cancel is stored as intended but not yet confirmed; retried in the background.
    CancelPending,
    /// The payment's state could not be read; it is reconciled in the background.
    OutcomeUnknown,
    /// The capture cannot be cancelled any more (the customer has approved and the till is
    /// capturing).
    TooLateToCancel,
    /// No such sale, or it is not completed.
    SaleNotFound,
    /// The refund amount is more than what is left to refund.
    RefundTooLarge,
    /// Vipps refused the refund (see detail).
    RefundRejected,
    /// The refund is stored as intended and will be retried with the same key.
    RefundPending,
    /// An amount in Vipps' answer does not match the sale: the admin must look at it.
    AmountMismatch,
    /// The relay has been unreachable too long for the till's own QR to work (check-ins
    /// cannot arrive): a one-time QR is shown instead.
    RelayDownOneTimeQr,
    /// The scanned personal QR is not a valid or current one (Vipps 4060): ask the customer
    /// to show it again, or scan the till's QR.
    InvalidPersonalQr,
    /// Vipps is rate-limiting this payment (429, or the per-minute limit is used up); the
    /// engine retries when the window allows (the detail says when).
    RateLimited,
    /// Loyalty is off (Admin turns it on).
    LoyaltyOff,
    /// Nobody to invite: no number given and no customer recognised at a scan.
    NoCustomerToInvite,
    /// An invitation for this number is already open (or could not be recorded).
    InviteOpen,
}

/// One line of the sales history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleSummary {
    pub sale_id: i64,
    pub state: String,
    pub total: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub captured: i64,
    pub refunded: i64,
    pub created_at_ms: i64,
}

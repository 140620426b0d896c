//! The one table from Kasse's own journal kinds to the codes of the Norwegian SAF-T Cash
//! Register code lists: events (`PredefinedBasicID-13`), transactions (`-11`) and payment
//! means (`-12`).
//!
//! Every journal row carries the codes of its kind (stored beside it, and covered by the
//! row's hash from journal format 2 on). A kind that is not in [`TABLE`] cannot be journalled:
//! adding a kind means adding its row here.
//!
//! How the codes are chosen:
//! - Till and master-data events take their event code (start 13001, catalogue changes 13021
//!   "price change", an abandoned sale 13028 "void receipt", a journal export 13020, ...).
//! - The step that concludes a transaction carries its transaction code and payment code: a
//!   completed Vipps sale is 11001 "cash sale" (paid at once, as opposed to a credit sale) with
//!   12011 "mobile phone apps"; a completed refund is 11006 "return payment" with 12011. The
//!   signature of each (`sale_signed`, `return_signed`) carries the same codes.
//! - Every other step of a Vipps payment (requested, authorized, declined, a webhook, ...) is
//!   13999 "other" with payment code 12011, so an export can tell payment events apart.
//! - Basket edits and sale bookkeeping with no code of their own are 13999 "other".
//!
//! A kind's codes must never change once released: rows journalled before format 2 are checked
//! against this table by the journal verifier. Give a new meaning a new kind.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An event code (`PredefinedBasicID-13`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventCode(pub u16);

/// A transaction code (`PredefinedBasicID-11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransactionCode(pub u16);

/// A payment code (`PredefinedBasicID-12`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentCode(pub u16);

impl EventCode {
    pub const APPLICATION_START: EventCode = EventCode(13001);
    pub const APPLICATION_SHUT_DOWN: EventCode = EventCode(13002);
    pub const EMPLOYEE_LOG_IN: EventCode = EventCode(13003);
    pub const EMPLOYEE_LOG_OUT: EventCode = EventCode(13004);
    pub const OPEN_CASH_DRAWER: EventCode = EventCode(13005);
    pub const CLOSE_CASH_DRAWER: EventCode = EventCode(13006);
    pub const SOFTWARE_UPDATE: EventCode = EventCode(13007);
    pub const X_REPORT: EventCode = EventCode(13008);
    pub const Z_REPORT: EventCode = EventCode(13009);
    pub const SUSPEND_TRANSACTION: EventCode = EventCode(13010);
    pub const RESUME_TRANSACTION: EventCode = EventCode(13011);
    pub const SALES_RECEIPT_PRINTED: EventCode = EventCode(13012);
    pub const RETURN_RECEIPT: EventCode = EventCode(13013);
    pub const COPY_RECEIPT: EventCode = EventCode(13014);
    pub const PROVISIONAL_RECEIPT: EventCode = EventCode(13015);
    pub const DELIVERY_RECEIPT: EventCode = EventCode(13016);
    pub const TRAINING_RECEIPT: EventCode = EventCode(13017);
    pub const OTHER_REPORT_OR_RECEIPT: EventCode = EventCode(13018);
    pub const CASH_WITHDRAWAL: EventCode = EventCode(13019);
    pub const JOURNAL_EXPORT: EventCode = EventCode(13020);
    pub const PRICE_CHANGE: EventCode = EventCode(13021);
    pub const PRICE_LOOK_UP: EventCode = EventCode(13022);
    pub const TRAINING_MODE_ON: EventCode = EventCode(13023);
    pub const TRAINING_MODE_OFF: EventCode = EventCode(13024);
    pub const MEMORY_FULL: EventCode = EventCode(13025);
    pub const EMERGENCY_MODE_ON: EventCode = EventCode(13026);
    pub const EMERGENCY_MODE_OFF: EventCode = EventCode(13027);
    pub const VOID_RECEIPT: EventCode = EventCode(13028);
    pub const STEB_RECEIPT: EventCode = EventCode(13029);
    pub const SALE_WITHOUT_RECEIPT_PRINTED: EventCode = EventCode(13030);
    pub const OTHER: EventCode = EventCode(13999);
}

impl TransactionCode {
    pub const CASH_SALE: TransactionCode = TransactionCode(11001);
    pub const CREDIT_SALE: TransactionCode = TransactionCode(11002);
    pub const RETURN_PAYMENT: TransactionCode = TransactionCode(11006);
    pub const CASH_DECLARATION: TransactionCode = TransactionCode(11007);
    pub const CASH_DIFFERENCE: TransactionCode = TransactionCode(11008);
    pub const CORRECTION: TransactionCode = TransactionCode(11009);
    pub const OUT_PAYMENT: TransactionCode = TransactionCode(11010);
    pub const IN_PAYMENT: TransactionCode = TransactionCode(11011);
    pub const CASH_SALE_AND_RETURN: TransactionCode = TransactionCode(11016);
    pub const OTHER: TransactionCode = TransactionCode(11999);
}

impl PaymentCode {
    pub const CASH: PaymentCode = PaymentCode(12001);
    pub const DEBIT_CARD: PaymentCode = PaymentCode(12002);
    pub const CREDIT_CARD: PaymentCode = PaymentCode(12003);
    pub const GIFT_TOKEN: PaymentCode = PaymentCode(12005);
    pub const CREDIT_NOTE: PaymentCode = PaymentCode(12010);
    /// Vipps MobilePay.
    pub const MOBILE_APP: PaymentCode = PaymentCode(12011);
    pub const OTHER: PaymentCode = PaymentCode(12999);
}

macro_rules! display_code {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}
display_code!(EventCode, TransactionCode, PaymentCode);

/// The codes one journal row carries. At least one is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JournalCodes {
    pub event: Option<EventCode>,
    pub transaction: Option<TransactionCode>,
    pub payment: Option<PaymentCode>,
}

impl JournalCodes {
    /// An event with no payment.
    pub const fn event(code: EventCode) -> Self {
        Self {
            event: Some(code),
            transaction: None,
            payment: None,
        }
    }

    /// A step of a Vipps payment that concludes nothing: "other" event, paid by mobile app.
    pub const fn payment_step() -> Self {
        Self {
            event: Some(EventCode::OTHER),
            transaction: None,
            payment: Some(PaymentCode::MOBILE_APP),
        }
    }

    /// A concluded transaction paid by mobile app.
    pub const fn transaction(code: TransactionCode) -> Self {
        Self::paid(code, PaymentCode::MOBILE_APP)
    }

    /// A concluded transaction paid by `payment` (the table's default; rows written with
    /// `append_journal_paid` carry their own).
    pub const fn paid(code: TransactionCode, payment: PaymentCode) -> Self {
        Self {
            event: None,
            transaction: Some(code),
            payment: Some(payment),
        }
    }

    /// An event about money of the given means (a tender taken or given back).
    pub const fn event_paid(code: EventCode, payment: PaymentCode) -> Self {
        Self {
            event: Some(code),
            transaction: None,
            payment: Some(payment),
        }
    }
}

/// Kasse's journal kinds and their codes. The kind strings are the values of
/// `store::kind::*` and `engine::db::jk::*` (a test checks that every constant there is listed).
pub const TABLE: &[(&str, JournalCodes)] = &[
    // Till.
    (
        "engine_started",
        JournalCodes::event(EventCode::APPLICATION_START),
    ),
    (
        "engine_stopped",
        JournalCodes::event(EventCode::APPLICATION_SHUT_DOWN),
    ),
    ("till_qr_ready", JournalCodes::event(EventCode::OTHER)),
    (
        "journal_exported",
        JournalCodes::event(EventCode::JOURNAL_EXPORT),
    ),
    // Receipts issued (printed or as a PDF).
    (
        "sales_receipt_issued",
        JournalCodes::event(EventCode::SALES_RECEIPT_PRINTED),
    ),
    (
        "return_receipt_issued",
        JournalCodes::event(EventCode::RETURN_RECEIPT),
    ),
    (
        "copy_receipt_issued",
        JournalCodes::event(EventCode::COPY_RECEIPT),
    ),
    (
        "provisional_receipt_issued",
        JournalCodes::event(EventCode::PROVISIONAL_RECEIPT),
    ),
    (
        "training_receipt_issued",
        JournalCodes::event(EventCode::TRAINING_RECEIPT),
    ),
    // Training mode.
    (
        "training_mode_on",
        JournalCodes::event(EventCode::TRAINING_MODE_ON),
    ),
    (
        "training_mode_off",
        JournalCodes::event(EventCode::TRAINING_MODE_OFF),
    ),
    (
        "training_sale_concluded",
        JournalCodes::event(EventCode::OTHER),
    ),
    // Basket and sale bookkeeping.
    ("item_added", JournalCodes::event(EventCode::OTHER)),
    ("item_removed", JournalCodes::event(EventCode::OTHER)),
    ("quantity_changed", JournalCodes::event(EventCode::OTHER)),
    ("discount_set", JournalCodes::event(EventCode::OTHER)),
    (
        "basket_cleared",
        JournalCodes::event(EventCode::VOID_RECEIPT),
    ),
    ("sale_frozen", JournalCodes::event(EventCode::OTHER)),
    ("sale_reopened", JournalCodes::event(EventCode::OTHER)),
    ("sale_state", JournalCodes::event(EventCode::OTHER)),
    (
        "sale_abandoned",
        JournalCodes::event(EventCode::VOID_RECEIPT),
    ),
    // Master data.
    (
        "catalog_replaced",
        JournalCodes::event(EventCode::PRICE_CHANGE),
    ),
    (
        "catalog_item_saved",
        JournalCodes::event(EventCode::PRICE_CHANGE),
    ),
    (
        "catalog_item_deleted",
        JournalCodes::event(EventCode::PRICE_CHANGE),
    ),
    // Steps of a Vipps payment.
    ("checkin_received", JournalCodes::payment_step()),
    ("checkin_ignored", JournalCodes::payment_step()),
    ("vipps_event", JournalCodes::payment_step()),
    ("payment_requested", JournalCodes::payment_step()),
    ("payment_created", JournalCodes::payment_step()),
    ("payment_create_unknown", JournalCodes::payment_step()),
    ("payment_not_created", JournalCodes::payment_step()),
    ("payment_reopened", JournalCodes::payment_step()),
    ("payment_authorized", JournalCodes::payment_step()),
    ("payment_declined", JournalCodes::payment_step()),
    ("payment_expired", JournalCodes::payment_step()),
    ("payment_failed", JournalCodes::payment_step()),
    ("payment_state", JournalCodes::payment_step()),
    ("payment_amounts", JournalCodes::payment_step()),
    ("capture_requested", JournalCodes::payment_step()),
    ("capture_result", JournalCodes::payment_step()),
    ("capture_verified", JournalCodes::payment_step()),
    ("cancel_requested", JournalCodes::payment_step()),
    ("cancel_result", JournalCodes::payment_step()),
    ("payment_cancelled", JournalCodes::payment_step()),
    ("refund_requested", JournalCodes::payment_step()),
    ("refund_result", JournalCodes::payment_step()),
    ("refund_failed", JournalCodes::payment_step()),
    ("admin_flagged", JournalCodes::payment_step()),
    // Cashiers.
    ("cashier_saved", JournalCodes::event(EventCode::OTHER)),
    (
        "cashier_logged_in",
        JournalCodes::event(EventCode::EMPLOYEE_LOG_IN),
    ),
    (
        "cashier_logged_out",
        JournalCodes::event(EventCode::EMPLOYEE_LOG_OUT),
    ),
    (
        "cashier_login_refused",
        JournalCodes::event(EventCode::OTHER),
    ),
    // Tenders other than Vipps, the drawer and cash that is not a sale.
    (
        "tender_taken",
        JournalCodes::event_paid(EventCode::OTHER, PaymentCode::OTHER),
    ),
    (
        "tender_given_back",
        JournalCodes::event_paid(EventCode::OTHER, PaymentCode::OTHER),
    ),
    (
        "drawer_opened",
        JournalCodes::event(EventCode::OPEN_CASH_DRAWER),
    ),
    (
        "cash_float",
        JournalCodes::paid(TransactionCode::CASH_DECLARATION, PaymentCode::CASH),
    ),
    (
        "cash_pay_in",
        JournalCodes::paid(TransactionCode::IN_PAYMENT, PaymentCode::CASH),
    ),
    (
        "cash_pay_out",
        JournalCodes::paid(TransactionCode::OUT_PAYMENT, PaymentCode::CASH),
    ),
    (
        "cash_counted",
        JournalCodes::paid(TransactionCode::CASH_DIFFERENCE, PaymentCode::CASH),
    ),
    ("line_voided", JournalCodes::event(EventCode::OTHER)),
    ("sale_voided", JournalCodes::event(EventCode::VOID_RECEIPT)),
    // Reports.
    ("x_report", JournalCodes::event(EventCode::X_REPORT)),
    ("z_report", JournalCodes::event(EventCode::Z_REPORT)),
    // Concluded transactions and their signatures.
    (
        "sale_completed",
        JournalCodes::paid(TransactionCode::CASH_SALE, PaymentCode::OTHER),
    ),
    (
        "return_recorded",
        JournalCodes::paid(TransactionCode::RETURN_PAYMENT, PaymentCode::OTHER),
    ),
    (
        "payment_captured",
        JournalCodes::transaction(TransactionCode::CASH_SALE),
    ),
    (
        "refund_done",
        JournalCodes::transaction(TransactionCode::RETURN_PAYMENT),
    ),
    (
        "sale_signed",
        JournalCodes::transaction(TransactionCode::CASH_SALE),
    ),
    (
        "return_signed",
        JournalCodes::transaction(TransactionCode::RETURN_PAYMENT),
    ),
];

/// The codes of a journal kind, `None` for a kind Kasse does not know.
pub fn codes_of(kind: &str) -> Option<JournalCodes> {
    TABLE.iter().find(|(k, _)| *k == kind).map(|(_, c)| *c)
}

/// The official code lists' descriptions (English), for exports and documentation.
pub fn description(code: u16) -> Option<&'static str> {
    Some(match code {
        13001 => "POS application start",
        13002 => "POS application shut down",
        13003 => "Employee log in",
        13004 => "Employee log out",
        13005 => "Open cash drawer",
        13006 => "Close cash drawer",
        13007 => "Update of POS application",
        13008 => "X report",
        13009 => "Z report",
        13010 => "Suspend transaction",
        13011 => "Resume transaction",
        13012 => "Sales receipt printed",
        13013 => "Return receipt",
        13014 => "Copy receipt",
        13015 => "Provisional receipt",
        13016 => "Delivery receipt",
        13017 => "Training receipt",
        13018 => "Other reports or receipts",
        13019 => "Cash withdrawal",
        13020 => "Export of journal to external storage",
        13021 => "Price change",
        13022 => "Price look-up",
        13023 => "Training mode on",
        13024 => "Training mode off",
        13025 => "Memory full",
        13026 => "Emergency mode on",
        13027 => "Emergency mode off",
        13028 => "Void receipt",
        13029 => "STEB receipt",
        13030 => "Concluded sale without receipt printed",
        13999 => "Other",
        11001 => "Cash sale",
        11002 => "Credit sale",
        11006 => "Return payment",
        11007 => "Cash declaration",
        11008 => "Cash difference",
        11009 => "Correction",
        11010 => "Out Payment",
        11011 => "In Payment",
        11016 => "Cash sale and return",
        11999 => "Other",
        12001 => "Cash",
        12002 => "Debit card",
        12003 => "Credit card",
        12005 => "Gift token",
        12010 => "Credit note",
        12011 => "Mobile phone apps",
        12999 => "Other",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_kind_is_listed_once_with_a_code() {
        let mut seen = HashSet::new();
        for (kind, codes) in TABLE {
            assert!(seen.insert(*kind), "{kind} is listed twice");
            assert!(
                codes.event.is_some() || codes.transaction.is_some(),
                "{kind} has neither an event nor a transaction code"
            );
            if codes.transaction.is_some() {
                assert!(
                    codes.payment.is_some(),
                    "{kind}: a transaction needs its payment code"
                );
            }
        }
    }

    #[test]
    fn codes_belong_to_their_lists() {
        for (kind, codes) in TABLE {
            if let Some(EventCode(c)) = codes.event {
                assert!((13001..=13030).contains(&c) || c == 13999, "{kind}: {c}");
            }
            if let Some(TransactionCode(c)) = codes.transaction {
                assert!((11001..=11017).contains(&c) || c == 11999, "{kind}: {c}");
            }
            if let Some(PaymentCode(c)) = codes.payment {
                assert!((12001..=12011).contains(&c) || c == 12999, "{kind}: {c}");
            }
            for c in [
                codes.event.map(|c| c.0),
                codes.transaction.map(|c| c.0),
                codes.payment.map(|c| c.0),
            ]
            .into_iter()
            .flatten()
            {
                assert!(description(c).is_some(), "{kind}: {c} has no description");
            }
        }
    }

    #[test]
    fn vipps_sales_and_returns() {
        let sale = codes_of("payment_captured").unwrap();
        assert_eq!(sale.transaction, Some(TransactionCode(11001)));
        assert_eq!(sale.payment, Some(PaymentCode(12011)));
        let ret = codes_of("refund_done").unwrap();
        assert_eq!(ret.transaction, Some(TransactionCode(11006)));
        assert_eq!(ret.payment, Some(PaymentCode(12011)));
        assert_eq!(
            codes_of("engine_started").unwrap().event,
            Some(EventCode(13001))
        );
        assert_eq!(codes_of("no such kind"), None);
    }
}

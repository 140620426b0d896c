//! The one path that writes a step of a payment attempt: its status, its decision, the sale's
//! state and the journal entry, together in the caller's transaction.

use rusqlite::Connection;

use super::actor::Till;
use super::db::{self, DbError};
use crate::core::payment::{AttemptStatus, Decision};
use crate::core::sale::SaleEvent;
use crate::store::Store;
use crate::store::attempts::{self as es, AttemptRow};

/// What one step changes. Fields left `None` stay as they are.
#[derive(Debug, Default)]
pub(super) struct Transition {
    pub status: Option<AttemptStatus>,
    pub decision: Option<Decision>,
    /// Moves the sale along the core state machine.
    pub sale: Option<SaleEvent>,
    /// The last error to show for the attempt.
    pub error: Option<String>,
}

/// Writes `t` and its journal entry inside the caller's transaction. A settled status also
/// closes the attempt's open intents (nothing stays `intended` after its payment ends) and
/// forgets its stored create body (it holds the customer's token or phone number).
pub(super) fn record(
    c: &Store<&Connection>,
    attempt: &AttemptRow,
    t: Transition,
    journal_kind: &str,
    payload: serde_json::Value,
    now_ms: i64,
) -> Result<(), DbError> {
    if let Some(decision) = t.decision {
        es::set_decision(c, attempt.id, decision, now_ms)?;
    }
    if let Some(error) = &t.error {
        es::set_last_error(c, attempt.id, error, now_ms)?;
    }
    if let Some(status) = t.status {
        es::set_attempt_status(c, attempt.id, status, now_ms)?;
        if status.is_settled() {
            let closed = es::abandon_open_operations(c, attempt.id, now_ms)?;
            if closed > 0 {
                tracing::info!(reference = %attempt.reference, closed, "open intents closed with the payment");
            }
            es::clear_request_bodies(c, attempt.id)?;
        }
    }
    if let Some(event) = t.sale {
        Till::advance_sale(c, attempt.sale_id, event)?;
    }
    db::journal(c, journal_kind, payload)
}

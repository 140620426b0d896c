//! Payment attempts and refunds: the intent is stored (with its idempotency
//! key) before the engine calls Vipps, so a crash-retry reuses the same key.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::json;

use super::journal::kind;
use std::borrow::Borrow;

use rusqlite::Connection;

use super::{Store, StoreError};
use crate::core::money::Currency;
use crate::core::sale::SaleState;

/// What the engine knows before calling create payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt<'a> {
    pub sale_id: i64,
    /// Vipps `reference` (unique per MSN; starts with `<till_id>-`).
    pub reference: &'a str,
    /// `"customer_token"` (QR check-in) or `"phone"`.
    pub flow: &'a str,
    /// Idempotency key of the create call.
    pub create_key: &'a str,
}

/// Vipps' `aggregate` for the payment, as last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PaymentAmounts {
    pub authorized: i64,
    pub captured: i64,
    pub cancelled: i64,
    pub refunded: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRecord {
    pub id: i64,
    pub sale_id: i64,
    /// 1 for the first attempt of a sale, 2 for its first retry, ...
    pub attempt: i64,
    pub reference: String,
    pub state: SaleState,
    pub amount: i64,
    pub currency: Currency,
    pub flow: String,
    pub create_key: String,
    pub capture_key: Option<String>,
    pub capture_amount: Option<i64>,
    pub cancel_key: Option<String>,
    pub amounts: PaymentAmounts,
    pub psp_reference: Option<String>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Requested,
    Done,
    Failed,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Requested => "requested",
            RefundState::Done => "done",
            RefundState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "requested" => Ok(RefundState::Requested),
            "done" => Ok(RefundState::Done),
            "failed" => Ok(RefundState::Failed),
            other => Err(StoreError::Invalid(format!("refund state {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRecord {
    pub id: i64,
    pub attempt_id: i64,
    /// 1, 2, ... per payment attempt.
    pub seq: i64,
    pub amount: i64,
    pub idempotency_key: String,
    pub state: RefundState,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// The journal kind recording that an attempt reached `state`.
pub fn journal_kind_for(state: SaleState) -> &'static str {
    match state {
        SaleState::PaymentRequested => kind::PAYMENT_REQUESTED,
        SaleState::Authorized => kind::PAYMENT_AUTHORIZED,
        SaleState::Capturing => kind::CAPTURE_REQUESTED,
        SaleState::Completed => kind::PAYMENT_CAPTURED,
        SaleState::Declined => kind::PAYMENT_DECLINED,
        SaleState::Expired => kind::PAYMENT_EXPIRED,
        SaleState::Cancelling => kind::CANCEL_REQUESTED,
        SaleState::Cancelled => kind::PAYMENT_CANCELLED,
        SaleState::Failed => kind::PAYMENT_FAILED,
        SaleState::Open | SaleState::AwaitingCheckIn => kind::PAYMENT_STATE,
    }
}

const ATTEMPT_COLUMNS: &str = "id, sale_id, attempt, reference, state, amount, currency, flow,
    create_key, capture_key, capture_amount, cancel_key, authorized_amount, captured_amount,
    cancelled_amount, refunded_amount, psp_reference, last_error, created_ms, updated_ms";

type RawAttempt = (AttemptRecord, String, String);

fn attempt_row(r: &Row<'_>) -> rusqlite::Result<RawAttempt> {
    Ok((
        AttemptRecord {
            id: r.get(0)?,
            sale_id: r.get(1)?,
            attempt: r.get(2)?,
            reference: r.get(3)?,
            state: SaleState::Open,
            amount: r.get(5)?,
            currency: Currency::Nok,
            flow: r.get(7)?,
            create_key: r.get(8)?,
            capture_key: r.get(9)?,
            capture_amount: r.get(10)?,
            cancel_key: r.get(11)?,
            amounts: PaymentAmounts {
                authorized: r.get(12)?,
                captured: r.get(13)?,
                cancelled: r.get(14)?,
                refunded: r.get(15)?,
            },
            psp_reference: r.get(16)?,
            last_error: r.get(17)?,
            created_ms: r.get(18)?,
            updated_ms: r.get(19)?,
        },
        r.get(4)?,
        r.get(6)?,
    ))
}

fn finish_attempt(raw: RawAttempt) -> Result<AttemptRecord, StoreError> {
    let (record, state, currency) = raw;
    Ok(AttemptRecord {
        state: state
            .parse()
            .map_err(|e: crate::core::sale::UnknownSaleState| StoreError::Invalid(e.to_string()))?,
        currency: currency
            .parse()
            .map_err(|e: crate::core::money::MoneyError| StoreError::Invalid(e.to_string()))?,
        ..record
    })
}

const REFUND_COLUMNS: &str =
    "id, attempt_id, seq, amount, idempotency_key, state, last_error, created_ms, updated_ms";

fn refund_row(r: &Row<'_>) -> rusqlite::Result<(RefundRecord, String)> {
    Ok((
        RefundRecord {
            id: r.get(0)?,
            attempt_id: r.get(1)?,
            seq: r.get(2)?,
            amount: r.get(3)?,
            idempotency_key: r.get(4)?,
            state: RefundState::Requested,
            last_error: r.get(6)?,
            created_ms: r.get(7)?,
            updated_ms: r.get(8)?,
        },
        r.get(5)?,
    ))
}

impl<C: Borrow<Connection>> Store<C> {
    /// Store a new payment attempt for a frozen sale, for the sale's total, in
    /// state `PaymentRequested` — before the create call. The sale moves to
    /// `PaymentRequested` too and its attempt counter goes up.
    pub fn create_attempt(&self, new: &NewAttempt<'_>) -> Result<AttemptRecord, StoreError> {
        self.atomic(|| {
            let (total, currency, attempts, state): (i64, String, i64, String) = self
                .conn()
                .query_row(
                    "SELECT total, currency, attempts, state FROM sale WHERE id = ?1",
                    [new.sale_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("sale {}", new.sale_id)))?;
            if state != SaleState::AwaitingCheckIn.as_str() {
                return Err(StoreError::Conflict(format!(
                    "sale {} is {state}: a payment can only be requested while awaiting check-in",
                    new.sale_id
                )));
            }
            let in_flight: i64 = self.conn().query_row(
                "SELECT count(*) FROM payment_attempt WHERE sale_id = ?1
                 AND state IN ('payment_requested', 'authorized', 'capturing', 'cancelling')",
                [new.sale_id],
                |r| r.get(0),
            )?;
            if in_flight > 0 {
                return Err(StoreError::Conflict(format!(
                    "sale {} still has a payment in flight",
                    new.sale_id
                )));
            }
            let attempt = attempts + 1;
            let now = self.now_ms();
            self.conn()
                .execute(
                    "INSERT INTO payment_attempt (sale_id, attempt, reference, state, amount,
                        currency, flow, create_key, created_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                    params![
                        new.sale_id,
                        attempt,
                        new.reference,
                        SaleState::PaymentRequested.as_str(),
                        total,
                        currency,
                        new.flow,
                        new.create_key,
                        now
                    ],
                )
                .map_err(|e| {
                    StoreError::from_constraint(e, || {
                        format!("reference {:?} or its key is already used", new.reference)
                    })
                })?;
            let id = self.conn().last_insert_rowid();
            self.conn().execute(
                "UPDATE sale SET attempts = ?2, state = ?3, updated_ms = ?4 WHERE id = ?1",
                params![
                    new.sale_id,
                    attempt,
                    SaleState::PaymentRequested.as_str(),
                    now
                ],
            )?;
            self.append_journal(
                kind::PAYMENT_REQUESTED,
                &json!({
                    "sale_id": new.sale_id,
                    "attempt": attempt,
                    "reference": new.reference,
                    "amount": total,
                    "currency": currency,
                    "flow": new.flow,
                    "idempotency_key": new.create_key,
                }),
            )?;
            self.get_attempt(id)?
                .ok_or_else(|| StoreError::NotFound(format!("attempt {id}")))
        })
    }

    pub fn get_attempt(&self, id: i64) -> Result<Option<AttemptRecord>, StoreError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM payment_attempt WHERE id = ?1");
        self.conn()
            .query_row(&sql, [id], attempt_row)
            .optional()?
            .map(finish_attempt)
            .transpose()
    }

    pub fn attempt_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM payment_attempt WHERE reference = ?1");
        self.conn()
            .query_row(&sql, [reference], attempt_row)
            .optional()?
            .map(finish_attempt)
            .transpose()
    }

    /// A sale's attempts, first first.
    pub fn attempts_for_sale(&self, sale_id: i64) -> Result<Vec<AttemptRecord>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_attempt WHERE sale_id = ?1 ORDER BY attempt"
        );
        self.query_attempts(&sql, [sale_id])
    }

    /// Attempts whose payment may still reserve or move money
    /// (`SaleState::payment_in_flight`): reconcile these on start-up.
    pub fn unfinished_attempts(&self) -> Result<Vec<AttemptRecord>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_attempt
             WHERE state IN ('payment_requested', 'authorized', 'capturing', 'cancelling')
             ORDER BY id"
        );
        self.query_attempts(&sql, [])
    }

    fn query_attempts<P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        let mut stmt = self.conn().prepare(sql)?;
        let rows = stmt.query_map(params, attempt_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(finish_attempt(row?)?);
        }
        Ok(out)
    }

    fn attempt_or_not_found(&self, id: i64) -> Result<AttemptRecord, StoreError> {
        self.get_attempt(id)?
            .ok_or_else(|| StoreError::NotFound(format!("payment attempt {id}")))
    }

    /// Store the capture intent (key and amount) before calling capture; the
    /// attempt and its sale move to `Capturing`. Storing the same intent again
    /// is a no-op; a different one is a `Conflict`.
    pub fn record_capture_intent(
        &self,
        attempt_id: i64,
        key: &str,
        amount: i64,
    ) -> Result<AttemptRecord, StoreError> {
        self.atomic(|| {
            let a = self.attempt_or_not_found(attempt_id)?;
            match (&a.capture_key, a.capture_amount) {
                (Some(k), Some(m)) if k == key && m == amount => return Ok(a),
                (Some(k), _) => {
                    return Err(StoreError::Conflict(format!(
                        "attempt {attempt_id} already has capture intent {k:?}"
                    )));
                }
                _ => {}
            }
            if amount <= 0 || amount > a.amount {
                return Err(StoreError::Conflict(format!(
                    "capture of {amount} for a payment of {}",
                    a.amount
                )));
            }
            self.conn()
                .execute(
                    "UPDATE payment_attempt SET capture_key = ?2, capture_amount = ?3 WHERE id = ?1",
                    params![attempt_id, key, amount],
                )
                .map_err(|e| StoreError::from_constraint(e, || format!("capture key {key:?}")))?;
            self.move_attempt(&a, SaleState::Capturing, None, json!({ "idempotency_key": key, "amount": amount }))?;
            self.attempt_or_not_found(attempt_id)
        })
    }

    /// Store the cancel intent (key) before calling cancel; the attempt and its
    /// sale move to `Cancelling`. Same key again is a no-op.
    pub fn record_cancel_intent(
        &self,
        attempt_id: i64,
        key: &str,
    ) -> Result<AttemptRecord, StoreError> {
        self.atomic(|| {
            let a = self.attempt_or_not_found(attempt_id)?;
            match &a.cancel_key {
                Some(k) if k == key => return Ok(a),
                Some(k) => {
                    return Err(StoreError::Conflict(format!(
                        "attempt {attempt_id} already has cancel intent {k:?}"
                    )));
                }
                None => {}
            }
            self.conn()
                .execute(
                    "UPDATE payment_attempt SET cancel_key = ?2 WHERE id = ?1",
                    params![attempt_id, key],
                )
                .map_err(|e| StoreError::from_constraint(e, || format!("cancel key {key:?}")))?;
            self.move_attempt(
                &a,
                SaleState::Cancelling,
                None,
                json!({ "idempotency_key": key }),
            )?;
            self.attempt_or_not_found(attempt_id)
        })
    }

    /// Record the attempt's new state (and the sale's: they move together),
    /// with the last error if any, and journal it.
    pub fn set_attempt_state(
        &self,
        attempt_id: i64,
        state: SaleState,
        last_error: Option<&str>,
    ) -> Result<AttemptRecord, StoreError> {
        self.atomic(|| {
            let a = self.attempt_or_not_found(attempt_id)?;
            self.move_attempt(&a, state, last_error, json!({}))?;
            self.attempt_or_not_found(attempt_id)
        })
    }

    fn move_attempt(
        &self,
        a: &AttemptRecord,
        state: SaleState,
        last_error: Option<&str>,
        extra: serde_json::Value,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        self.conn().execute(
            "UPDATE payment_attempt SET state = ?2, last_error = coalesce(?3, last_error),
                updated_ms = ?4 WHERE id = ?1",
            params![a.id, state.as_str(), last_error, now],
        )?;
        self.conn().execute(
            "UPDATE sale SET state = ?2, updated_ms = ?3,
                completed_ms = CASE WHEN ?2 = 'completed' THEN ?3 ELSE completed_ms END
             WHERE id = ?1",
            params![a.sale_id, state.as_str(), now],
        )?;
        let mut payload = json!({
            "sale_id": a.sale_id,
            "reference": a.reference,
            "from": a.state,
            "to": state,
        });
        if let Some(error) = last_error {
            payload["error"] = json!(error);
        }
        if let (Some(map), serde_json::Value::Object(extra)) = (payload.as_object_mut(), extra) {
            map.extend(extra);
        }
        self.append_journal(journal_kind_for(state), &payload)?;
        Ok(())
    }

    /// Record Vipps' aggregate (and PSP reference) as last read; journalled
    /// when it changed.
    pub fn set_attempt_amounts(
        &self,
        attempt_id: i64,
        amounts: PaymentAmounts,
        psp_reference: Option<&str>,
    ) -> Result<AttemptRecord, StoreError> {
        self.atomic(|| {
            let a = self.attempt_or_not_found(attempt_id)?;
            if a.amounts == amounts
                && (psp_reference.is_none() || psp_reference == a.psp_reference.as_deref())
            {
                return Ok(a);
            }
            self.conn().execute(
                "UPDATE payment_attempt SET authorized_amount = ?2, captured_amount = ?3,
                    cancelled_amount = ?4, refunded_amount = ?5,
                    psp_reference = coalesce(?6, psp_reference), updated_ms = ?7
                 WHERE id = ?1",
                params![
                    attempt_id,
                    amounts.authorized,
                    amounts.captured,
                    amounts.cancelled,
                    amounts.refunded,
                    psp_reference,
                    self.now_ms()
                ],
            )?;
            self.append_journal(
                kind::PAYMENT_AMOUNTS,
                &json!({ "sale_id": a.sale_id, "reference": a.reference, "amounts": amounts }),
            )?;
            self.attempt_or_not_found(attempt_id)
        })
    }

    /// Store a refund intent (before calling refund). The amount must fit in
    /// what was captured minus refunds not failed.
    pub fn create_refund(
        &self,
        attempt_id: i64,
        amount: i64,
        key: &str,
    ) -> Result<RefundRecord, StoreError> {
        self.atomic(|| {
            let a = self.attempt_or_not_found(attempt_id)?;
            let (pending, seq): (i64, i64) = self.conn().query_row(
                "SELECT coalesce(sum(CASE WHEN state != 'failed' THEN amount END), 0),
                        coalesce(max(seq), 0) + 1
                 FROM refund WHERE attempt_id = ?1",
                [attempt_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let available = a.amounts.captured - pending;
            if amount <= 0 || amount > available {
                return Err(StoreError::RefundTooLarge {
                    amount,
                    available: available.max(0),
                });
            }
            let now = self.now_ms();
            self.conn()
                .execute(
                    "INSERT INTO refund (attempt_id, seq, amount, idempotency_key, state,
                        created_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, 'requested', ?5, ?5)",
                    params![attempt_id, seq, amount, key, now],
                )
                .map_err(|e| StoreError::from_constraint(e, || format!("refund key {key:?}")))?;
            let id = self.conn().last_insert_rowid();
            self.append_journal(
                kind::REFUND_REQUESTED,
                &json!({
                    "sale_id": a.sale_id,
                    "reference": a.reference,
                    "seq": seq,
                    "amount": amount,
                    "idempotency_key": key,
                }),
            )?;
            self.get_refund(id)?
                .ok_or_else(|| StoreError::NotFound(format!("refund {id}")))
        })
    }

    pub fn set_refund_state(
        &self,
        refund_id: i64,
        state: RefundState,
        last_error: Option<&str>,
    ) -> Result<RefundRecord, StoreError> {
        self.atomic(|| {
            let refund = self
                .get_refund(refund_id)?
                .ok_or_else(|| StoreError::NotFound(format!("refund {refund_id}")))?;
            if refund.state == state {
                return Ok(refund);
            }
            if refund.state != RefundState::Requested {
                return Err(StoreError::Conflict(format!(
                    "refund {refund_id} is already {}",
                    refund.state.as_str()
                )));
            }
            self.conn().execute(
                "UPDATE refund SET state = ?2, last_error = coalesce(?3, last_error),
                    updated_ms = ?4 WHERE id = ?1",
                params![refund_id, state.as_str(), last_error, self.now_ms()],
            )?;
            let a = self.attempt_or_not_found(refund.attempt_id)?;
            let kind = match state {
                RefundState::Done => kind::REFUND_DONE,
                RefundState::Failed => kind::REFUND_FAILED,
                RefundState::Requested => kind::REFUND_REQUESTED,
            };
            let mut payload = json!({
                "sale_id": a.sale_id,
                "reference": a.reference,
                "seq": refund.seq,
                "amount": refund.amount,
            });
            if let Some(error) = last_error {
                payload["error"] = json!(error);
            }
            self.append_journal(kind, &payload)?;
            self.get_refund(refund_id)?
                .ok_or_else(|| StoreError::NotFound(format!("refund {refund_id}")))
        })
    }

    pub fn get_refund(&self, id: i64) -> Result<Option<RefundRecord>, StoreError> {
        let sql = format!("SELECT {REFUND_COLUMNS} FROM refund WHERE id = ?1");
        let row = self.conn().query_row(&sql, [id], refund_row).optional()?;
        row.map(|(record, state)| {
            Ok(RefundRecord {
                state: RefundState::parse(&state)?,
                ..record
            })
        })
        .transpose()
    }

    /// Refunds of every attempt of a sale, oldest first.
    pub fn refunds_for_sale(&self, sale_id: i64) -> Result<Vec<RefundRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM refund f JOIN payment_attempt a ON a.id = f.attempt_id
             WHERE a.sale_id = ?1 ORDER BY f.id",
            REFUND_COLUMNS
                .split(", ")
                .map(|c| format!("f.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map([sale_id], refund_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (record, state) = row?;
            out.push(RefundRecord {
                state: RefundState::parse(&state)?,
                ..record
            });
        }
        Ok(out)
    }
}

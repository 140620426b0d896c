//! The append-only, hash-chained journal of business events.
//!
//! Row `n` stores `hash_n = SHA-256(tag ‖ hash_{n-1} ‖ seq ‖ at_ms ‖ kind ‖ payload [‖ codes])`
//! (each field length-prefixed; `hash_0` is 32 zero bytes). Two formats, named by the row's
//! `hash_version`: 1 (`kasse-journal-v1`, rows written before journal codes existed) covers
//! seq, time, kind and payload; 2 (`kasse-journal-v2`, every row since) also covers the row's
//! event, transaction and payment codes ([`crate::core::journal_code`]). The codes of format-1
//! rows were filled in from their kind by migration 5 and are checked against the code table.
//!
//! `journal_head` holds the newest `(seq, hash)`; a trigger moves it with every insert, in
//! the same transaction. [`Store::verify_journal`] walks the chain and reports the first
//! edited, deleted, reordered or missing row, including rows cut off the end (the head then
//! points past the last row).
//!
//! Limits: the chain is not keyed. Someone who can write the file and
//! recomputes every hash after an edit, and the head with it, is not detected
//! by the file alone; compare [`JournalReport::head_hash`] with a copy kept
//! elsewhere (a printed Z report, a backup) via [`Store::verify_journal_anchor`].

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::journal_code::{self, EventCode, JournalCodes, PaymentCode, TransactionCode};

use std::borrow::Borrow;

use rusqlite::Connection;

use super::{Store, StoreError};

/// Journal `kind`s written by the store and expected from the engine.
pub mod kind {
    pub const ITEM_ADDED: &str = "item_added";
    pub const ITEM_REMOVED: &str = "item_removed";
    pub const QUANTITY_CHANGED: &str = "quantity_changed";
    pub const DISCOUNT_SET: &str = "discount_set";
    pub const BASKET_CLEARED: &str = "basket_cleared";
    pub const CATALOG_REPLACED: &str = "catalog_replaced";
    pub const CATALOG_ITEM_SAVED: &str = "catalog_item_saved";
    pub const CATALOG_ITEM_DELETED: &str = "catalog_item_deleted";
    pub const SALE_FROZEN: &str = "sale_frozen";
    pub const SALE_REOPENED: &str = "sale_reopened";
    pub const SALE_STATE: &str = "sale_state";
    pub const PAYMENT_REQUESTED: &str = "payment_requested";
    pub const PAYMENT_AUTHORIZED: &str = "payment_authorized";
    pub const PAYMENT_DECLINED: &str = "payment_declined";
    pub const PAYMENT_EXPIRED: &str = "payment_expired";
    pub const PAYMENT_FAILED: &str = "payment_failed";
    pub const CAPTURE_REQUESTED: &str = "capture_requested";
    pub const PAYMENT_CAPTURED: &str = "payment_captured";
    pub const CANCEL_REQUESTED: &str = "cancel_requested";
    pub const PAYMENT_CANCELLED: &str = "payment_cancelled";
    pub const PAYMENT_STATE: &str = "payment_state";
    pub const PAYMENT_AMOUNTS: &str = "payment_amounts";
    pub const REFUND_REQUESTED: &str = "refund_requested";
    pub const REFUND_DONE: &str = "refund_done";
    pub const REFUND_FAILED: &str = "refund_failed";
    /// A completed sale signed (its signature, key version and receipt number).
    pub const SALE_SIGNED: &str = "sale_signed";
    /// A completed refund signed as a return.
    pub const RETURN_SIGNED: &str = "return_signed";
    /// The journal was exported (`kasse journal export`).
    pub const JOURNAL_EXPORTED: &str = "journal_exported";
    /// A cashier was added, changed or disabled.
    pub const CASHIER_SAVED: &str = "cashier_saved";
    pub const CASHIER_LOGGED_IN: &str = "cashier_logged_in";
    pub const CASHIER_LOGGED_OUT: &str = "cashier_logged_out";
    /// A wrong PIN or a locked cashier.
    pub const CASHIER_LOGIN_REFUSED: &str = "cashier_login_refused";
    /// A non-Vipps part of a payment was taken (payment code per row).
    pub const TENDER_TAKEN: &str = "tender_taken";
    /// Money of a cancelled, partly paid sale was given back (payment code per row).
    pub const TENDER_GIVEN_BACK: &str = "tender_given_back";
    /// A sale paid in full without Vipps concluded (payment code per row).
    pub const SALE_COMPLETED: &str = "sale_completed";
    pub const DRAWER_OPENED: &str = "drawer_opened";
    pub const CASH_FLOAT: &str = "cash_float";
    pub const CASH_PAY_IN: &str = "cash_pay_in";
    pub const CASH_PAY_OUT: &str = "cash_pay_out";
    pub const CASH_COUNTED: &str = "cash_counted";
    /// A line removed from a basket, or a whole basket voided, before payment.
    pub const LINE_VOIDED: &str = "line_voided";
    pub const SALE_VOIDED: &str = "sale_voided";
    /// A return of lines concluded to a non-Vipps tender (payment code per row).
    pub const RETURN_RECORDED: &str = "return_recorded";
    pub const X_REPORT: &str = "x_report";
    pub const Z_REPORT: &str = "z_report";
    /// A sales receipt came out of the printer or was issued as a PDF (13012).
    pub const SALES_RECEIPT_ISSUED: &str = "sales_receipt_issued";
    /// A return receipt was issued (13013).
    pub const RETURN_RECEIPT_ISSUED: &str = "return_receipt_issued";
    /// The one copy of a receipt was issued (13014).
    pub const COPY_RECEIPT_ISSUED: &str = "copy_receipt_issued";
    /// A provisional receipt was issued (13015).
    pub const PROVISIONAL_RECEIPT_ISSUED: &str = "provisional_receipt_issued";
    /// A training receipt was issued (13017).
    pub const TRAINING_RECEIPT_ISSUED: &str = "training_receipt_issued";
    /// Training mode switched on (13023) / off (13024).
    pub const TRAINING_MODE_ON: &str = "training_mode_on";
    pub const TRAINING_MODE_OFF: &str = "training_mode_off";
    /// A training sale concluded with its number of the training series.
    pub const TRAINING_SALE_CONCLUDED: &str = "training_sale_concluded";
}

/// Hash format of rows written before journal codes existed.
pub const HASH_V1: i64 = 1;
/// Hash format of every row written now (covers the codes).
pub const HASH_V2: i64 = 2;

const GENESIS: [u8; 32] = [0; 32];

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub payload: Value,
    /// The row's SAF-T codes (`None` only for a format-1 row of a kind without codes).
    pub codes: Option<JournalCodes>,
    /// Hex SHA-256 of this row (chained).
    pub hash: String,
}

/// Result of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalReport {
    /// Rows checked.
    pub rows: i64,
    /// Sequence number of the newest row (0 when empty).
    pub head_seq: i64,
    /// Hash of the newest row: keep a copy elsewhere to detect a rewritten chain.
    pub head_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "journal row {seq} was edited: its contents hash to {expected} but the row records {found}"
    )]
    Edited {
        seq: i64,
        expected: String,
        found: String,
    },
    #[error("journal row {seq} carries codes {found} but its kind {kind} has codes {expected}")]
    CodeMismatch {
        seq: i64,
        kind: String,
        expected: String,
        found: String,
    },
    #[error(
        "journal row {seq} is in hash format {found} after rows in format {previous}: it was inserted outside Kasse"
    )]
    FormatDowngrade { seq: i64, previous: i64, found: i64 },
    #[error("journal row {expected} is missing (next row found is {found}): rows were deleted")]
    Gap { expected: i64, found: i64 },
    #[error(
        "journal row {seq} does not follow row {previous}: rows were deleted, inserted or reordered"
    )]
    BrokenLink { seq: i64, previous: i64 },
    #[error(
        "journal ends at row {last} but its head records row {head}: rows were deleted from the end"
    )]
    Truncated { last: i64, head: i64 },
    #[error(
        "journal head records row {head} but the journal goes on to row {last}: rows were added outside Kasse"
    )]
    BeyondHead { last: i64, head: i64 },
    #[error("journal head hash does not match row {seq}")]
    HeadMismatch { seq: i64 },
    #[error("the journal head row is missing")]
    HeadMissing,
    #[error("journal row {seq} does not carry the anchored hash: the chain was rewritten")]
    AnchorMismatch { seq: i64 },
    #[error("journal row {seq} is not valid: {detail}")]
    Malformed { seq: i64, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        JournalError::Store(StoreError::Sqlite(e))
    }
}

/// The stored codes of a row as text (`13999/-/12011`), for messages.
fn codes_text(codes: Option<JournalCodes>) -> String {
    let part = |c: Option<u16>| c.map_or_else(|| "-".to_string(), |c| c.to_string());
    match codes {
        None => "none".into(),
        Some(c) => format!(
            "{}/{}/{}",
            part(c.event.map(|c| c.0)),
            part(c.transaction.map(|c| c.0)),
            part(c.payment.map(|c| c.0))
        ),
    }
}

/// The chained hash of one row in format `version` (codes are covered from format 2 on).
fn row_hash(
    version: i64,
    prev: &[u8],
    seq: i64,
    at_ms: i64,
    kind: &str,
    payload: &str,
    codes: Option<JournalCodes>,
) -> [u8; 32] {
    let code = |c: Option<u16>| c.map(|c| c.to_string()).unwrap_or_default();
    let (event, transaction, payment) = match codes {
        Some(c) => (
            code(c.event.map(|c| c.0)),
            code(c.transaction.map(|c| c.0)),
            code(c.payment.map(|c| c.0)),
        ),
        None => Default::default(),
    };
    let seq_bytes = seq.to_be_bytes();
    let at_bytes = at_ms.to_be_bytes();
    let mut fields = vec![
        &seq_bytes[..],
        &at_bytes[..],
        kind.as_bytes(),
        payload.as_bytes(),
    ];
    let mut h = Sha256::new();
    if version >= HASH_V2 {
        h.update(b"kasse-journal-v2");
        fields.extend([event.as_bytes(), transaction.as_bytes(), payment.as_bytes()]);
    } else {
        h.update(b"kasse-journal-v1");
    }
    h.update(prev);
    for field in fields {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    h.finalize().into()
}

/// Codes as stored in the three columns.
fn codes_from_columns(
    event: Option<i64>,
    transaction: Option<i64>,
    payment: Option<i64>,
) -> Option<JournalCodes> {
    let narrow = |c: Option<i64>| c.and_then(|c| u16::try_from(c).ok());
    let codes = JournalCodes {
        event: narrow(event).map(EventCode),
        transaction: narrow(transaction).map(TransactionCode),
        payment: narrow(payment).map(PaymentCode),
    };
    (codes.event.is_some() || codes.transaction.is_some() || codes.payment.is_some())
        .then_some(codes)
}

fn decode_hash(seq: i64, text: &str) -> Result<[u8; 32], JournalError> {
    let bytes = hex::decode(text).map_err(|e| JournalError::Malformed {
        seq,
        detail: format!("hash {text:?}: {e}"),
    })?;
    bytes.try_into().map_err(|_| JournalError::Malformed {
        seq,
        detail: "hash is not 32 bytes".into(),
    })
}

impl<C: Borrow<Connection>> Store<C> {
    /// Append a business event with the codes of its kind. Atomic with the caller's
    /// transaction when called inside [`Store::transaction`]. A kind without codes in
    /// [`journal_code::TABLE`] is refused.
    pub fn append_journal(&self, kind: &str, payload: &Value) -> Result<JournalEntry, StoreError> {
        let codes = journal_code::codes_of(kind)
            .ok_or_else(|| StoreError::UnknownJournalKind(kind.to_string()))?;
        self.append_journal_coded(kind, codes, payload)
    }

    /// Append a business event whose payment code depends on the row (a sale concluded by
    /// cash or card, a cash movement): the kind must be known, and the event and transaction
    /// codes must be its own; only the payment code may differ from the table's.
    pub fn append_journal_paid(
        &self,
        kind: &str,
        payment: journal_code::PaymentCode,
        payload: &Value,
    ) -> Result<JournalEntry, StoreError> {
        let mut codes = journal_code::codes_of(kind)
            .ok_or_else(|| StoreError::UnknownJournalKind(kind.to_string()))?;
        codes.payment = Some(payment);
        self.append_journal_coded(kind, codes, payload)
    }

    fn append_journal_coded(
        &self,
        kind: &str,
        codes: journal_code::JournalCodes,
        payload: &Value,
    ) -> Result<JournalEntry, StoreError> {
        let payload_text = serde_json::to_string(payload)?;
        self.atomic(|| {
            let (head_seq, head_hash): (i64, String) = self.conn().query_row(
                "SELECT seq, hash FROM journal_head WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let prev = hex::decode(&head_hash)
                .map_err(|e| StoreError::Invalid(format!("journal head hash: {e}")))?;
            let seq = head_seq + 1;
            let at_ms = self.now_ms();
            let hash = hex::encode(row_hash(
                HASH_V2,
                &prev,
                seq,
                at_ms,
                kind,
                &payload_text,
                Some(codes),
            ));
            // The head follows by trigger (journal_move_head).
            self.conn().execute(
                "INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash, event_code,
                                      trans_code, payment_code, hash_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                rusqlite::params![
                    seq,
                    at_ms,
                    kind,
                    payload_text,
                    head_hash,
                    hash,
                    codes.event.map(|c| c.0),
                    codes.transaction.map(|c| c.0),
                    codes.payment.map(|c| c.0),
                    HASH_V2
                ],
            )?;
            Ok(JournalEntry {
                seq,
                at_ms,
                kind: kind.to_string(),
                payload: payload.clone(),
                codes: Some(codes),
                hash,
            })
        })
    }

    /// Journal rows with `seq > after`, oldest first, at most `limit`.
    pub fn journal_since(&self, after: i64, limit: usize) -> Result<Vec<JournalEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut entries = Vec::new();
        self.for_each_journal_row(
            "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            rusqlite::params![after, limit],
            |entry| -> Result<(), StoreError> {
                entries.push(entry);
                Ok(())
            },
        )?;
        Ok(entries)
    }

    /// Calls `f` with every journal row whose time is in `[from_ms, to_ms)`, oldest first, one
    /// row at a time (constant memory whatever the range). Stops at the first error.
    pub fn journal_between<E: From<StoreError>>(
        &self,
        from_ms: i64,
        to_ms: i64,
        f: impl FnMut(JournalEntry) -> Result<(), E>,
    ) -> Result<(), E> {
        self.for_each_journal_row(
            "WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY seq",
            rusqlite::params![from_ms, to_ms],
            f,
        )
    }

    fn for_each_journal_row<E: From<StoreError>>(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
        mut f: impl FnMut(JournalEntry) -> Result<(), E>,
    ) -> Result<(), E> {
        let sql = format!(
            "SELECT seq, at_ms, kind, payload, hash, event_code, trans_code, payment_code
             FROM journal {filter}"
        );
        let mut stmt = self
            .conn()
            .prepare_cached(&sql)
            .map_err(|e| E::from(e.into()))?;
        let mut rows = stmt.query(params).map_err(|e| E::from(e.into()))?;
        while let Some(r) = rows.next().map_err(|e| E::from(e.into()))? {
            let read = || -> Result<JournalEntry, StoreError> {
                let payload: String = r.get(3)?;
                Ok(JournalEntry {
                    seq: r.get(0)?,
                    at_ms: r.get(1)?,
                    kind: r.get(2)?,
                    payload: serde_json::from_str(&payload)?,
                    hash: r.get(4)?,
                    codes: codes_from_columns(r.get(5)?, r.get(6)?, r.get(7)?),
                })
            };
            f(read().map_err(E::from)?)?;
        }
        Ok(())
    }

    /// Walk the whole chain and check every row and the head.
    pub fn verify_journal(&self) -> Result<JournalReport, JournalError> {
        self.verify_chain(None)
    }

    /// [`Store::verify_journal`], and also check that row `seq` still has the
    /// hash recorded earlier (an anchor kept outside this file).
    pub fn verify_journal_anchor(
        &self,
        seq: i64,
        hash: &str,
    ) -> Result<JournalReport, JournalError> {
        self.verify_chain(Some((seq, hash)))
    }

    /// Reads the rows and the head in ONE snapshot: with the engine writing
    /// on another connection, two separate reads could see a head newer than
    /// the rows and report a truncation that never happened.
    fn verify_chain(&self, anchor: Option<(i64, &str)>) -> Result<JournalReport, JournalError> {
        let conn = self.conn();
        let own_snapshot = conn.is_autocommit();
        if own_snapshot {
            conn.execute_batch("BEGIN DEFERRED")?;
        }
        let result = self.verify_chain_in_snapshot(anchor);
        if own_snapshot {
            // Read-only: ending the transaction only releases the snapshot.
            conn.execute_batch("COMMIT")?;
        }
        result
    }

    fn verify_chain_in_snapshot(
        &self,
        anchor: Option<(i64, &str)>,
    ) -> Result<JournalReport, JournalError> {
        let mut stmt = self.conn().prepare(
            "SELECT seq, at_ms, kind, payload, prev_hash, hash, event_code, trans_code,
                    payment_code, hash_version
             FROM journal ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut previous_hash = GENESIS;
        let mut previous_seq = 0i64;
        let mut previous_version = HASH_V1;
        let mut anchor_seen = anchor.is_none_or(|(seq, _)| seq == 0);
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let at_ms: i64 = row.get(1)?;
            let kind: String = row.get(2)?;
            let payload: String = row.get(3)?;
            let prev_text: String = row.get(4)?;
            let hash_text: String = row.get(5)?;
            let codes = codes_from_columns(row.get(6)?, row.get(7)?, row.get(8)?);
            let version: i64 = row.get(9)?;
            if seq != previous_seq + 1 {
                return Err(JournalError::Gap {
                    expected: previous_seq + 1,
                    found: seq,
                });
            }
            if decode_hash(seq, &prev_text)? != previous_hash {
                return Err(JournalError::BrokenLink {
                    seq,
                    previous: previous_seq,
                });
            }
            if version < previous_version {
                return Err(JournalError::FormatDowngrade {
                    seq,
                    previous: previous_version,
                    found: version,
                });
            }
            let computed = row_hash(version, &previous_hash, seq, at_ms, &kind, &payload, codes);
            if decode_hash(seq, &hash_text)? != computed {
                return Err(JournalError::Edited {
                    seq,
                    expected: hex::encode(computed),
                    found: hash_text,
                });
            }
            // Format 1 hashes do not cover the codes migration 5 filled in: they must be the
            // codes of the row's kind (none for a kind without codes).
            if version == HASH_V1 && codes != journal_code::codes_of(&kind) {
                return Err(JournalError::CodeMismatch {
                    seq,
                    expected: codes_text(journal_code::codes_of(&kind)),
                    found: codes_text(codes),
                    kind,
                });
            }
            if version >= HASH_V2 && codes.is_none() {
                return Err(JournalError::Malformed {
                    seq,
                    detail: "a format 2 row without codes".into(),
                });
            }
            previous_version = version;
            if let Some((anchor_seq, anchor_hash)) = anchor
                && anchor_seq == seq
            {
                if !hash_text.eq_ignore_ascii_case(anchor_hash) {
                    return Err(JournalError::AnchorMismatch { seq });
                }
                anchor_seen = true;
            }
            previous_hash = computed;
            previous_seq = seq;
        }
        let head: Option<(i64, String)> = {
            use rusqlite::OptionalExtension;
            self.conn()
                .query_row("SELECT seq, hash FROM journal_head WHERE id = 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?
        };
        let (head_seq, head_hash) = head.ok_or(JournalError::HeadMissing)?;
        if head_seq > previous_seq {
            return Err(JournalError::Truncated {
                last: previous_seq,
                head: head_seq,
            });
        }
        if head_seq < previous_seq {
            return Err(JournalError::BeyondHead {
                last: previous_seq,
                head: head_seq,
            });
        }
        if decode_hash(head_seq, &head_hash)? != previous_hash {
            return Err(JournalError::HeadMismatch { seq: head_seq });
        }
        if let Some((seq, _)) = anchor
            && !anchor_seen
        {
            // The anchored row no longer exists.
            return Err(JournalError::Truncated {
                last: previous_seq,
                head: seq,
            });
        }
        Ok(JournalReport {
            rows: previous_seq,
            head_seq,
            head_hash: hex::encode(previous_hash),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn appends_chain_and_verify() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.verify_journal().unwrap().rows, 0);
        let a = store
            .append_journal(kind::ITEM_ADDED, &json!({"id": "kaffe"}))
            .unwrap();
        let b = store
            .append_journal(kind::ITEM_REMOVED, &json!({"id": "kaffe"}))
            .unwrap();
        assert_eq!((a.seq, b.seq), (1, 2));
        assert_ne!(a.hash, b.hash);
        let report = store.verify_journal().unwrap();
        assert_eq!((report.rows, report.head_seq), (2, 2));
        assert_eq!(report.head_hash, b.hash);
        store.verify_journal_anchor(1, &a.hash).unwrap();
        assert!(matches!(
            store.verify_journal_anchor(1, &b.hash),
            Err(JournalError::AnchorMismatch { seq: 1 })
        ));
        let since = store.journal_since(1, 10).unwrap();
        assert_eq!(since.len(), 1);
        assert_eq!(since[0].payload, json!({"id": "kaffe"}));
    }

    #[test]
    fn triggers_refuse_edits_and_out_of_order_rows() {
        let store = Store::open_in_memory().unwrap();
        store.append_journal(kind::ITEM_ADDED, &json!(1)).unwrap();
        let c = store.conn();
        for sql in [
            "UPDATE journal SET payload = '2'",
            "UPDATE journal SET event_code = 13001",
            "DELETE FROM journal",
            "DELETE FROM journal_head",
            "UPDATE journal_head SET seq = 0",
            "INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash, event_code,
                                  hash_version)
             VALUES (5, 0, 'x', '1', 'aa', 'bb', 13999, 2)",
            // A row in the old format, or without a code, is refused even in order.
            "INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash, event_code)
             SELECT 2, 0, 'x', '1', hash, 'bb', 13999 FROM journal_head",
            "INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash, hash_version)
             SELECT 2, 0, 'x', '1', hash, 'bb', 2 FROM journal_head",
        ] {
            let err = c.execute(sql, []).unwrap_err();
            assert_eq!(
                err.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ConstraintViolation),
                "{sql}"
            );
        }
        store.verify_journal().unwrap();
    }
}

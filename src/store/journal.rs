//! The append-only, hash-chained journal of business events.
//!
//! Row `n` stores `hash_n = SHA-256(hash_{n-1} ‖ seq ‖ at_ms ‖ kind ‖ payload)`
//! (each field length-prefixed; `hash_0` is 32 zero bytes). `journal_head`
//! holds the newest `(seq, hash)` and is updated in the same transaction as
//! every insert. [`Store::verify_journal`] walks the chain and reports the
//! first edited, deleted, reordered or missing row, including rows cut off
//! the end (the head then points past the last row).
//!
//! Limits: the chain is not keyed. Someone who can write the file and
//! recomputes every hash after an edit, and the head with it, is not detected
//! by the file alone; compare [`JournalReport::head_hash`] with a copy kept
//! elsewhere (a printed Z report, a backup) via [`Store::verify_journal_anchor`].

use serde_json::Value;
use sha2::{Digest, Sha256};

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
}

const GENESIS: [u8; 32] = [0; 32];

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub payload: Value,
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
    #[error("journal row {seq} was edited: its hash does not match its contents")]
    Edited { seq: i64 },
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

/// The chained hash of one row.
fn row_hash(prev: &[u8], seq: i64, at_ms: i64, kind: &str, payload: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"kasse-journal-v1");
    h.update(prev);
    for field in [
        &seq.to_be_bytes()[..],
        &at_ms.to_be_bytes()[..],
        kind.as_bytes(),
        payload.as_bytes(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    h.finalize().into()
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
    /// Append a business event. Atomic with the caller's transaction when
    /// called inside [`Store::transaction`].
    pub fn append_journal(&self, kind: &str, payload: &Value) -> Result<JournalEntry, StoreError> {
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
            let hash = hex::encode(row_hash(&prev, seq, at_ms, kind, &payload_text));
            self.conn().execute(
                "INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![seq, at_ms, kind, payload_text, head_hash, hash],
            )?;
            self.conn().execute(
                "UPDATE journal_head SET seq = ?1, hash = ?2 WHERE id = 1",
                rusqlite::params![seq, hash],
            )?;
            Ok(JournalEntry {
                seq,
                at_ms,
                kind: kind.to_string(),
                payload: payload.clone(),
                hash,
            })
        })
    }

    /// Journal rows with `seq > after`, oldest first, at most `limit`.
    pub fn journal_since(&self, after: i64, limit: usize) -> Result<Vec<JournalEntry>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, at_ms, kind, payload, hash FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(rusqlite::params![after, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (seq, at_ms, kind, payload, hash) = row?;
            entries.push(JournalEntry {
                seq,
                at_ms,
                kind,
                payload: serde_json::from_str(&payload)?,
                hash,
            });
        }
        Ok(entries)
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
            "SELECT seq, at_ms, kind, payload, prev_hash, hash FROM journal ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut previous_hash = GENESIS;
        let mut previous_seq = 0i64;
        let mut anchor_seen = anchor.is_none_or(|(seq, _)| seq == 0);
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let at_ms: i64 = row.get(1)?;
            let kind: String = row.get(2)?;
            let payload: String = row.get(3)?;
            let prev_text: String = row.get(4)?;
            let hash_text: String = row.get(5)?;
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
            let computed = row_hash(&previous_hash, seq, at_ms, &kind, &payload);
            if decode_hash(seq, &hash_text)? != computed {
                return Err(JournalError::Edited { seq });
            }
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
        store.append_journal("x", &json!(1)).unwrap();
        let c = store.conn();
        for sql in [
            "UPDATE journal SET payload = '2'",
            "DELETE FROM journal",
            "DELETE FROM journal_head",
            "UPDATE journal_head SET seq = 0",
            "INSERT INTO journal VALUES (5, 0, 'x', '1', 'aa', 'bb')",
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

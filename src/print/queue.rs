//! The print queue and the copy rule, on the till's database (`receipt_print`, migration 6).
//!
//! Issuing a document is two steps around the (slow, fallible) printer:
//! [`plan`] decides what to issue and records it as being printed; [`finish`] records the outcome,
//! and on success journals the issue (13012 sales, 13013 return, 13014 copy, 13015
//! provisional, 13017 training) in the same transaction. The rules:
//! - a sale's (or a refund's) receipt is issued once as the original;
//! - once the original came out, the next issue is the one copy, marked KOPI;
//! - a second copy is refused ([`PrintError::CopyAlreadyIssued`]);
//! - a failed print stays queued: issuing again re-sends the same document (an original that
//!   never came out is reprinted as the original, not as a copy);
//! - a document being sent by another caller is not sent again until it finished, or until
//!   [`IN_FLIGHT_MS`] passed (a crash while printing).

use std::borrow::Borrow;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::PrintError;
use crate::core::receipt_doc::DocKind;
use crate::core::sale::SaleState;
use crate::store::{Store, StoreError, kind};

/// How long a document stays "being printed" before a crash is assumed and it may be sent
/// again.
pub const IN_FLIGHT_MS: i64 = 60_000;

/// Where a document goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Printer,
    Pdf,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Printer => "printer",
            Target::Pdf => "pdf",
        }
    }
}

/// What the cashier asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The receipt of a completed sale: the original, or the copy once the original is out.
    Receipt,
    /// The receipt of a completed refund (operation id): original, then one copy.
    Return { refund_op_id: i64 },
    /// A provisional receipt (any number).
    Provisional,
    /// A training receipt (any number).
    Training,
}

/// A queued document: issue it, then call [`finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    /// The `receipt_print` row.
    pub id: i64,
    pub sale_id: i64,
    pub refund_op_id: Option<i64>,
    pub kind: DocKind,
    pub target: Target,
    /// Earlier attempts of this same document that failed.
    pub attempts: i64,
}

/// One row of the queue as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintRecord {
    pub job: PrintJob,
    pub printed: bool,
    /// Being sent since `updated_ms` (not printed, not failed yet).
    pub in_flight_since: Option<i64>,
    pub last_error: Option<String>,
    pub journal_seq: Option<i64>,
}

/// Decides which document `request` issues for `sale_id` and queues it.
pub fn plan<C: Borrow<Connection>>(
    store: &Store<C>,
    sale_id: i64,
    request: Request,
    target: Target,
) -> Result<PrintJob, PrintError> {
    store
        .atomic(|| {
            let state: Option<String> = store
                .conn()
                .query_row("SELECT state FROM sale WHERE id = ?1", [sale_id], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(state) = state else {
                return Ok(Err(PrintError::NoSale(sale_id)));
            };
            let completed = state == SaleState::Completed.as_str();
            let (original, refund_op_id) = match request {
                Request::Provisional => {
                    return insert(store, sale_id, None, DocKind::Provisional, target).map(Ok);
                }
                Request::Training => {
                    return insert(store, sale_id, None, DocKind::Training, target).map(Ok);
                }
                Request::Receipt => {
                    if !completed {
                        return Ok(Err(PrintError::NotCompleted { sale_id, state }));
                    }
                    // A training sale only ever gets training receipts (any number of them).
                    if crate::store::training::is_training_sale(store.conn(), sale_id)? {
                        return insert(store, sale_id, None, DocKind::Training, target).map(Ok);
                    }
                    (DocKind::Sales, None)
                }
                Request::Return { refund_op_id } => {
                    let refunded: Option<String> = store
                        .conn()
                        .query_row(
                            "SELECT o.status FROM payment_operation o
                             JOIN payment_attempt a ON a.id = o.attempt_id
                             WHERE o.id = ?1 AND a.sale_id = ?2 AND o.kind = 'refund'",
                            params![refund_op_id, sale_id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if refunded.as_deref() != Some("succeeded") {
                        return Ok(Err(PrintError::NoRefund {
                            sale_id,
                            refund_op_id,
                        }));
                    }
                    (DocKind::Return, Some(refund_op_id))
                }
            };
            let now = store.now_ms();
            let busy = |r: &PrintRecord| r.in_flight_since.is_some_and(|t| now - t < IN_FLIGHT_MS);
            match find(store, sale_id, refund_op_id, &[original])? {
                None => insert(store, sale_id, refund_op_id, original, target).map(Ok),
                Some(r) if busy(&r) => Ok(Err(PrintError::InProgress { sale_id })),
                Some(r) if !r.printed => requeue(store, r.job, target).map(Ok),
                Some(_) => match find(store, sale_id, refund_op_id, &[DocKind::Copy])? {
                    None => insert(store, sale_id, refund_op_id, DocKind::Copy, target).map(Ok),
                    Some(r) if busy(&r) => Ok(Err(PrintError::InProgress { sale_id })),
                    Some(r) if !r.printed => requeue(store, r.job, target).map(Ok),
                    Some(_) => Ok(Err(PrintError::CopyAlreadyIssued {
                        sale_id,
                        refund_op_id,
                    })),
                },
            }
        })
        .map_err(PrintError::from)?
}

/// Records the outcome of issuing `job` (the receipt numbered `receipt_nr`, if it has one). On
/// success the document is marked printed and the issue is journalled with its event code; on
/// failure it stays queued with the error.
pub fn finish<C: Borrow<Connection>>(
    store: &Store<C>,
    job: &PrintJob,
    receipt_nr: Option<i64>,
    outcome: Result<(), &dyn std::fmt::Display>,
) -> Result<(), PrintError> {
    let now = store.now_ms();
    store
        .atomic(|| {
            match outcome {
                Ok(()) => {
                    let kind = journal_kind(job.kind);
                    let entry = store.append_journal(
                        kind,
                        &json!({
                            "sale_id": job.sale_id,
                            "refund_op_id": job.refund_op_id,
                            "receipt_print_id": job.id,
                            "receipt_nr": receipt_nr,
                            "document": job.kind.as_str(),
                            "target": job.target.as_str(),
                        }),
                    )?;
                    store.conn().execute(
                        "UPDATE receipt_print SET status = 'printed', attempts = attempts + 1,
                            journal_seq = ?2, printed_ms = ?3, updated_ms = ?3, last_error = NULL
                         WHERE id = ?1",
                        params![job.id, entry.seq, now],
                    )?;
                }
                Err(e) => {
                    store.conn().execute(
                        "UPDATE receipt_print SET status = 'failed', attempts = attempts + 1,
                            last_error = ?2, updated_ms = ?3
                         WHERE id = ?1",
                        params![job.id, e.to_string(), now],
                    )?;
                }
            }
            Ok(())
        })
        .map_err(PrintError::from)
}

/// The documents issued or queued for `sale_id`, oldest first.
pub fn records<C: Borrow<Connection>>(
    store: &Store<C>,
    sale_id: i64,
) -> Result<Vec<PrintRecord>, PrintError> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT id, sale_id, refund_op_id, kind, target, attempts, status, last_error,
                journal_seq, updated_ms
         FROM receipt_print WHERE sale_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([sale_id], row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

/// Every document that has not come out yet (failed, or being sent), oldest first.
pub fn pending<C: Borrow<Connection>>(store: &Store<C>) -> Result<Vec<PrintRecord>, PrintError> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT id, sale_id, refund_op_id, kind, target, attempts, status, last_error,
                journal_seq, updated_ms
         FROM receipt_print WHERE status <> 'printed' ORDER BY id",
    )?;
    let rows = stmt.query_map([], row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

fn journal_kind(doc: DocKind) -> &'static str {
    match doc {
        DocKind::Sales => kind::SALES_RECEIPT_ISSUED,
        DocKind::Return => kind::RETURN_RECEIPT_ISSUED,
        DocKind::Copy => kind::COPY_RECEIPT_ISSUED,
        DocKind::Provisional => kind::PROVISIONAL_RECEIPT_ISSUED,
        DocKind::Training => kind::TRAINING_RECEIPT_ISSUED,
    }
}

type RowResult = Result<PrintRecord, PrintError>;

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RowResult> {
    let kind_text: String = r.get(3)?;
    let target_text: String = r.get(4)?;
    let status: String = r.get(6)?;
    let Some(kind) = DocKind::parse(&kind_text) else {
        return Ok(Err(PrintError::from(StoreError::Invalid(format!(
            "receipt_print kind {kind_text:?}"
        )))));
    };
    let target = if target_text == "pdf" {
        Target::Pdf
    } else {
        Target::Printer
    };
    Ok(Ok(PrintRecord {
        job: PrintJob {
            id: r.get(0)?,
            sale_id: r.get(1)?,
            refund_op_id: r.get(2)?,
            kind,
            target,
            attempts: r.get(5)?,
        },
        printed: status == "printed",
        in_flight_since: if status == "printing" {
            Some(r.get(9)?)
        } else {
            None
        },
        last_error: r.get(7)?,
        journal_seq: r.get(8)?,
    }))
}

fn find<C: Borrow<Connection>>(
    store: &Store<C>,
    sale_id: i64,
    refund_op_id: Option<i64>,
    kinds: &[DocKind],
) -> Result<Option<PrintRecord>, StoreError> {
    for doc in kinds {
        let found = store
            .conn()
            .query_row(
                "SELECT id, sale_id, refund_op_id, kind, target, attempts, status, last_error,
                        journal_seq, updated_ms
                 FROM receipt_print
                 WHERE sale_id = ?1 AND refund_op_id IS ?2 AND kind = ?3",
                params![sale_id, refund_op_id, doc.as_str()],
                row,
            )
            .optional()?;
        if let Some(found) = found {
            return found
                .map(Some)
                .map_err(|e| StoreError::Invalid(e.to_string()));
        }
    }
    Ok(None)
}

fn insert<C: Borrow<Connection>>(
    store: &Store<C>,
    sale_id: i64,
    refund_op_id: Option<i64>,
    kind: DocKind,
    target: Target,
) -> Result<PrintJob, StoreError> {
    let now = store.now_ms();
    store.conn().execute(
        "INSERT INTO receipt_print (sale_id, refund_op_id, kind, target, status, created_ms,
                                    updated_ms)
         VALUES (?1, ?2, ?3, ?4, 'printing', ?5, ?5)",
        params![sale_id, refund_op_id, kind.as_str(), target.as_str(), now],
    )?;
    Ok(PrintJob {
        id: store.conn().last_insert_rowid(),
        sale_id,
        refund_op_id,
        kind,
        target,
        attempts: 0,
    })
}

fn requeue<C: Borrow<Connection>>(
    store: &Store<C>,
    mut job: PrintJob,
    target: Target,
) -> Result<PrintJob, StoreError> {
    store.conn().execute(
        "UPDATE receipt_print SET target = ?2, status = 'printing', updated_ms = ?3
         WHERE id = ?1",
        params![job.id, target.as_str(), store.now_ms()],
    )?;
    job.target = target;
    Ok(job)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::core::basket::Basket;
    use crate::core::catalog::Item;
    use crate::core::money::Currency;
    use crate::core::vat::VatRate;

    #[test]
    fn one_original_one_copy_and_a_document_in_flight_is_not_sent_twice() {
        let now = crate::clock::ManualClock::at_ms(1_000_000);
        let store = Store::open_in_memory().unwrap().with_clock(now.clock());
        let mut basket = Basket::new(Currency::Nok);
        basket
            .add_item(&Item::new("a", "A", 1_000, VatRate::NO_STANDARD))
            .unwrap();
        let sale = store.freeze_sale(&basket).unwrap();
        let refused = plan(&store, sale, Request::Receipt, Target::Printer).unwrap_err();
        assert!(
            matches!(refused, PrintError::NotCompleted { .. }),
            "{refused}"
        );
        store.set_sale_state(sale, SaleState::Completed).unwrap();

        let first = plan(&store, sale, Request::Receipt, Target::Printer).unwrap();
        assert_eq!(first.kind, DocKind::Sales);
        let busy = plan(&store, sale, Request::Receipt, Target::Pdf).unwrap_err();
        assert!(matches!(busy, PrintError::InProgress { .. }), "{busy}");
        // A crash while printing: after a minute the same original may go again.
        now.set_ms(now.now_ms() + IN_FLIGHT_MS);
        let again = plan(&store, sale, Request::Receipt, Target::Pdf).unwrap();
        assert_eq!(
            (again.id, again.kind, again.target),
            (first.id, DocKind::Sales, Target::Pdf)
        );
        finish(&store, &again, None, Err(&"paper out")).unwrap();
        let pending = pending(&store).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].last_error.as_deref(), Some("paper out"));
        assert_eq!(pending[0].job.attempts, 1);

        let again = plan(&store, sale, Request::Receipt, Target::Printer).unwrap();
        assert_eq!(again.id, first.id);
        finish(&store, &again, Some(1), Ok(())).unwrap();
        let copy = plan(&store, sale, Request::Receipt, Target::Printer).unwrap();
        assert_eq!(copy.kind, DocKind::Copy);
        finish(&store, &copy, Some(1), Ok(())).unwrap();
        let refused = plan(&store, sale, Request::Receipt, Target::Printer).unwrap_err();
        assert!(matches!(refused, PrintError::CopyAlreadyIssued { .. }));
        // Provisional documents are not limited.
        for _ in 0..2 {
            let p = plan(&store, sale, Request::Provisional, Target::Pdf).unwrap();
            finish(&store, &p, None, Ok(())).unwrap();
        }
        let kinds: Vec<_> = records(&store, sale)
            .unwrap()
            .into_iter()
            .map(|r| (r.job.kind, r.printed, r.journal_seq.is_some()))
            .collect();
        assert_eq!(
            kinds,
            [
                (DocKind::Sales, true, true),
                (DocKind::Copy, true, true),
                (DocKind::Provisional, true, true),
                (DocKind::Provisional, true, true),
            ]
        );
        // A printed document cannot be changed afterwards.
        let err = store
            .conn()
            .execute(
                "UPDATE receipt_print SET status = 'failed' WHERE id = ?1",
                [first.id],
            )
            .unwrap_err();
        assert!(err.to_string().contains("cannot change"), "{err}");
        store.verify_journal().unwrap();
    }
}

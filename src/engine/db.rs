//! The engine's access to the store: one transaction per step, the journal written in the same
//! transaction as the state it describes.

use rusqlite::{Connection, OptionalExtension, params};

use super::api::SaleSummary;
use crate::core::basket::Basket;
use crate::core::receipt::Receipt;
use crate::core::sale::SaleState;
use crate::store::Store;
use crate::store::engine_state::{self as es, Amounts};
use crate::vipps::models::{ModificationResponse, Payment, PaymentState};

/// Storage failures. Nothing is sent to Vipps after one.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored data is invalid: {0}")]
    Invalid(String),
}

/// The store, as the engine uses it.
pub struct Db {
    store: Store,
}

impl Db {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Runs `f` in a transaction and commits it.
    pub fn tx<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        let conn = self.store.conn_mut();
        let tx = conn.transaction()?;
        let v = f(&tx)?;
        tx.commit()?;
        Ok(v)
    }

    /// Runs a read.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        f(self.store.conn())
    }
}

/// Appends a business event to the journal (inside the caller's transaction).
pub fn journal(c: &Connection, kind: &str, payload: serde_json::Value) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO journal (kind, payload) VALUES (?1, ?2)",
        params![kind, payload.to_string()],
    )?;
    Ok(())
}

/// A frozen sale as the engine needs it.
#[derive(Debug, Clone)]
pub struct SaleRec {
    pub id: i64,
    pub total: i64,
    pub currency: String,
    pub receipt: Receipt,
}

/// Stores the frozen basket as a new sale awaiting check-in.
pub fn insert_sale(c: &Connection, basket: &Basket, receipt: &Receipt, now_ms: i64) -> Result<SaleRec, DbError> {
    let receipt_json = serde_json::to_string(receipt).map_err(|e| DbError::Invalid(e.to_string()))?;
    let basket_json = serde_json::to_string(basket).map_err(|e| DbError::Invalid(e.to_string()))?;
    c.execute(
        "INSERT INTO sales (state, currency, total, receipt, basket, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            SaleState::AwaitingCheckIn.as_str(),
            receipt.currency.code(),
            receipt.total,
            receipt_json,
            basket_json,
            now_ms
        ],
    )?;
    Ok(SaleRec {
        id: c.last_insert_rowid(),
        total: receipt.total,
        currency: receipt.currency.code().to_string(),
        receipt: receipt.clone(),
    })
}

pub fn sale_state(c: &Connection, sale_id: i64) -> Result<SaleState, DbError> {
    let s: String = c.query_row("SELECT state FROM sales WHERE id = ?1", params![sale_id], |r| r.get(0))?;
    parse_state(&s)
}

fn parse_state(s: &str) -> Result<SaleState, DbError> {
    SaleState::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| DbError::Invalid(format!("unknown sale state {s:?}")))
}

pub fn set_sale_state(c: &Connection, sale_id: i64, state: SaleState) -> Result<(), DbError> {
    c.execute(
        "UPDATE sales SET state = ?2 WHERE id = ?1",
        params![sale_id, state.as_str()],
    )?;
    Ok(())
}

/// The stored sale.
pub fn sale(c: &Connection, sale_id: i64) -> Result<Option<SaleRec>, DbError> {
    let row: Option<(i64, String, String)> = c
        .query_row(
            "SELECT total, currency, receipt FROM sales WHERE id = ?1",
            params![sale_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(total, currency, receipt)| {
        Ok(SaleRec {
            id: sale_id,
            total,
            currency,
            receipt: serde_json::from_str(&receipt).map_err(|e| DbError::Invalid(e.to_string()))?,
        })
    })
    .transpose()
}

/// The most recent sales with their payment summary.
pub fn list_sales(c: &Connection, limit: u32) -> Result<Vec<SaleSummary>, DbError> {
    let mut stmt = c.prepare(
        "SELECT s.id, s.state, s.total, s.currency, s.created_at_ms,
                (SELECT a.reference FROM engine_attempts a WHERE a.sale_id = s.id ORDER BY a.id DESC LIMIT 1),
                COALESCE((SELECT SUM(a.captured_amount) FROM engine_attempts a WHERE a.sale_id = s.id), 0),
                COALESCE((SELECT SUM(a.refunded_amount) FROM engine_attempts a WHERE a.sale_id = s.id), 0)
         FROM sales s ORDER BY s.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        Ok(SaleSummary {
            sale_id: r.get(0)?,
            state: r.get(1)?,
            total: r.get(2)?,
            currency: r.get(3)?,
            created_at_ms: r.get(4)?,
            reference: r.get(5)?,
            captured: r.get(6)?,
            refunded: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn state_text(s: PaymentState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "UNKNOWN".into())
}

/// Stores what a GET payment said.
pub fn record_view(c: &Connection, attempt_id: i64, p: &Payment, now_ms: i64) -> Result<(), DbError> {
    let a = p.aggregate;
    es::record_vipps_view(
        c,
        attempt_id,
        &state_text(p.state),
        Amounts {
            authorized: a.authorized_amount.value,
            captured: a.captured_amount.value,
            cancelled: a.cancelled_amount.value,
            refunded: a.refunded_amount.value,
        },
        now_ms,
    )?;
    Ok(())
}

/// Stores what a capture, cancel or refund answer said.
pub fn record_view_mod(c: &Connection, attempt_id: i64, r: &ModificationResponse, now_ms: i64) -> Result<(), DbError> {
    let a = r.aggregate;
    es::record_vipps_view(
        c,
        attempt_id,
        &state_text(r.state),
        Amounts {
            authorized: a.authorized_amount.value,
            captured: a.captured_amount.value,
            cancelled: a.cancelled_amount.value,
            refunded: a.refunded_amount.value,
        },
        now_ms,
    )?;
    Ok(())
}

//! The engine's access to the store: one transaction per step, the journal written in the same
//! transaction as the state it describes.

use rusqlite::{Connection, params};

use super::api::SaleSummary;
use crate::core::basket::Basket;
use crate::core::receipt::Receipt;
use crate::core::sale::SaleState;
use crate::store::attempts::{self as es, Amounts};
use crate::store::{Store, StoreError};
use crate::vipps::models::{ModificationResponse, Payment, PaymentState};

/// Journal kinds written by the engine (the store's own kinds where one fits).
pub mod jk {
    pub use crate::store::kind::{
        CANCEL_REQUESTED, CAPTURE_REQUESTED, PAYMENT_AUTHORIZED, PAYMENT_CANCELLED,
        PAYMENT_CAPTURED, PAYMENT_DECLINED, PAYMENT_EXPIRED, PAYMENT_FAILED, PAYMENT_REQUESTED,
        REFUND_DONE, REFUND_FAILED, REFUND_REQUESTED,
    };
    pub const ENGINE_STARTED: &str = "engine_started";
    pub const ENGINE_STOPPED: &str = "engine_stopped";
    pub const QR_READY: &str = "till_qr_ready";
    pub const CHECKIN_RECEIVED: &str = "checkin_received";
    pub const CHECKIN_IGNORED: &str = "checkin_ignored";
    pub const VIPPS_EVENT: &str = "vipps_event";
    pub const PAYMENT_CREATED: &str = "payment_created";
    pub const PAYMENT_CREATE_UNKNOWN: &str = "payment_create_unknown";
    pub const PAYMENT_NOT_CREATED: &str = "payment_not_created";
    /// A payment closed as never created turned out to exist at Vipps.
    pub const PAYMENT_REOPENED: &str = "payment_reopened";
    pub const CAPTURE_RESULT: &str = "capture_result";
    pub const CAPTURE_VERIFIED: &str = "capture_verified";
    pub const CANCEL_RESULT: &str = "cancel_result";
    pub const REFUND_RESULT: &str = "refund_result";
    pub const ADMIN_FLAGGED: &str = "admin_flagged";
    pub const SALE_ABANDONED: &str = "sale_abandoned";
}

/// Storage failures. Nothing is sent to Vipps after one.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored data is invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing the concluded transaction failed (the transaction concluding it rolls back).
    #[error(transparent)]
    Compliance(#[from] crate::compliance::ComplianceError),
    /// Another engine (the window, `kasse pay`, `recover` or `refund`) has this database open.
    #[error(
        "another Kasse engine is using {0} (the window, or kasse pay/recover/refund); close it first"
    )]
    InUse(String),
}

/// The store, as the engine uses it.
///
/// Money decisions commit with `synchronous=FULL` (fsync before the commit returns). Relay
/// deliveries the flow acts on at once are committed with `NORMAL` ([`Db::tx_relaxed`]):
/// durable against a process crash at once, and against power loss with the next FULL commit,
/// which follows within milliseconds (the engine acknowledges such a delivery to the relay
/// only after that, see [`Db::is_durable`]).
pub struct Db {
    store: Store,
    /// Every commit so far has been fsynced.
    durable: bool,
    /// The connection's current `synchronous` setting is FULL.
    full: bool,
    /// The engine lock on the database ([`Db::lock_engine`]), held while this `Db` lives.
    engine_lock: Option<Connection>,
}

impl Db {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            durable: true,
            full: true,
            engine_lock: None,
        }
    }

    /// Takes the exclusive engine lock of this database file: an open `BEGIN EXCLUSIVE` on a
    /// small SQLite file beside it (`<database>.engine-lock`), which SQLite's own file locking
    /// guards between connections and processes and the OS releases if the process dies. One
    /// engine per database: a second one would "recover" (cancel) the payment the first is
    /// waiting on. An in-memory database needs no lock.
    pub fn lock_engine(&mut self) -> Result<(), DbError> {
        if self.engine_lock.is_some() {
            return Ok(());
        }
        let Some(db_path) = self.store.conn().path().filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let lock_path = format!("{db_path}.engine-lock");
        let lock = Connection::open(&lock_path)?;
        lock.busy_timeout(std::time::Duration::ZERO)?;
        match lock.execute_batch("BEGIN EXCLUSIVE") {
            Ok(()) => {
                self.engine_lock = Some(lock);
                Ok(())
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                Err(DbError::InUse(db_path.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn set_full(&mut self, full: bool) -> Result<(), DbError> {
        if self.full != full {
            let mode = if full { "FULL" } else { "NORMAL" };
            self.store.conn().pragma_update(None, "synchronous", mode)?;
            self.full = full;
        }
        Ok(())
    }

    /// Runs `f` in a transaction and commits it durably (rolled back on `Err`).
    pub fn tx<T>(
        &mut self,
        f: impl FnOnce(&Store<&Connection>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.set_full(true)?;
        let v = Self::run(&mut self.store, f)?;
        // In WAL mode a synced commit also makes every earlier commit durable.
        self.durable = true;
        Ok(v)
    }

    /// Runs `f` in a transaction committed without waiting for the disk (see the type's doc).
    pub fn tx_relaxed<T>(
        &mut self,
        f: impl FnOnce(&Store<&Connection>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.set_full(false)?;
        let v = Self::run(&mut self.store, f)?;
        self.durable = false;
        Ok(v)
    }

    fn run<T>(
        store: &mut Store,
        f: impl FnOnce(&Store<&Connection>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let clock = store.clock();
        // IMMEDIATE: take the write lock up front so another connection to the same file
        // (the window's catalogue edits) makes this wait, never fail on a stale read.
        let tx = store
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let v = f(&Store::on(&tx, clock))?;
        tx.commit()?;
        Ok(v)
    }

    /// True when every commit so far is on disk.
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    /// The database file (`None` in memory).
    pub fn database_path(&self) -> Option<std::path::PathBuf> {
        self.store
            .conn()
            .path()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
    }

    /// The store's install id (part of every payment reference).
    pub fn install_id(&self) -> Result<String, DbError> {
        Ok(self.store.install_id()?)
    }

    /// Runs a read.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Store<&Connection>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        f(&Store::on(self.store.conn(), self.store.clock()))
    }
}

/// Appends a business event to the hash-chained journal (inside the caller's transaction).
pub fn journal(
    c: &Store<&Connection>,
    kind: &str,
    payload: serde_json::Value,
) -> Result<(), DbError> {
    c.append_journal(kind, &payload)?;
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

/// Stores the frozen basket as a new sale awaiting check-in (journalled by the store).
pub fn insert_sale(c: &Store<&Connection>, basket: &Basket) -> Result<SaleRec, DbError> {
    let id = c.freeze_sale(basket)?;
    let receipt = Receipt::from_basket(basket);
    Ok(SaleRec {
        id,
        total: receipt.total,
        currency: receipt.currency.code().to_string(),
        receipt,
    })
}

pub fn sale_state(c: &Connection, sale_id: i64) -> Result<SaleState, DbError> {
    let s: String = c.query_row(
        "SELECT state FROM sale WHERE id = ?1",
        params![sale_id],
        |r| r.get(0),
    )?;
    s.parse()
        .map_err(|e: crate::core::sale::UnknownSaleState| DbError::Invalid(e.to_string()))
}

/// Records the sale's new state (journalled by the store).
pub fn set_sale_state(
    c: &Store<&Connection>,
    sale_id: i64,
    state: SaleState,
) -> Result<(), DbError> {
    c.set_sale_state(sale_id, state)?;
    Ok(())
}

/// The stored sale.
pub fn sale(c: &Store<&Connection>, sale_id: i64) -> Result<Option<SaleRec>, DbError> {
    Ok(c.get_sale(sale_id)?.map(|s| SaleRec {
        id: s.id,
        total: s.total,
        currency: s.currency.code().to_string(),
        receipt: s.receipt,
    }))
}

/// The most recent sales with their payment summary.
pub fn list_sales(c: &Connection, limit: u32) -> Result<Vec<SaleSummary>, DbError> {
    let mut stmt = c.prepare(
        "SELECT s.id, s.state, s.total, s.currency, s.created_ms,
                (SELECT a.reference FROM payment_attempt a WHERE a.sale_id = s.id ORDER BY a.id DESC LIMIT 1),
                COALESCE((SELECT SUM(a.captured_amount) FROM payment_attempt a WHERE a.sale_id = s.id), 0),
                COALESCE((SELECT SUM(a.refunded_amount) FROM payment_attempt a WHERE a.sale_id = s.id), 0)
         FROM sale s ORDER BY s.id DESC LIMIT ?1",
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
pub fn record_view(
    c: &Connection,
    attempt_id: i64,
    p: &Payment,
    now_ms: i64,
) -> Result<(), DbError> {
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
pub fn record_view_mod(
    c: &Connection,
    attempt_id: i64,
    r: &ModificationResponse,
    now_ms: i64,
) -> Result<(), DbError> {
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

//! SQLite storage for the till: open (WAL, foreign keys), migrations,
//! repositories and the append-only journal.
//!
//! The API is synchronous. Every write method is atomic on its own (it runs in
//! a savepoint), and [`Store::transaction`] groups several into one
//! transaction: `store.transaction(|s| { s.freeze_sale(..)?; s.append_journal(..) })`.
//! Writes that are business events (a sale frozen, a payment requested, ...)
//! append their journal row in the same savepoint.
//!
//! Code that opened its own `rusqlite::Transaction` (it derefs to a
//! `Connection`) uses the same methods through [`Store::on`]:
//! `Store::on(&tx, clock).append_journal(..)` joins that transaction.

pub mod attempts;
mod catalog;
pub mod day;
mod journal;
pub mod loyalty;
mod migrations;
pub mod report;
pub mod returns;
mod sales;
mod signatures;
pub mod training;
mod window;

use std::path::{Path, PathBuf};

use std::borrow::Borrow;

use rusqlite::{Connection, ErrorCode, OpenFlags};

pub use catalog::CsvImportError;
pub use journal::{HASH_V1, HASH_V2, JournalEntry, JournalError, JournalReport, kind};
pub use migrations::{MIGRATIONS, SCHEMA_VERSION};
pub use sales::{SaleRecord, SaleSummary};
pub use signatures::{SignedTransaction, SigningKeyRecord};
pub use window::{WindowStore, WindowStoreError};

/// `PRAGMA application_id` of a Kasse till database ("KAST").
pub const APPLICATION_ID: i32 = 0x4B41_5354;

use crate::clock::Clock;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the folder {} for the till database: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the till database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{} is not a Kasse till database or it is damaged ({detail}). Nothing was changed. \
         Restore the file from a backup, or move it aside so Kasse starts a new, empty database.",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{} belongs to another program (SQLite application id {found:#x}), it is not a Kasse \
         till database. Nothing was changed. Point Kasse at its own database file.",
        path.display()
    )]
    NotKasse { path: PathBuf, found: i64 },
    #[error(
        "{} was written by a newer Kasse (schema version {found}; this Kasse knows up to \
         {supported}). Nothing was changed. Update Kasse, or point it at another database file.",
        path.display()
    )]
    NewerVersion {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("migrating {} failed, nothing was changed: {detail}", path.display())]
    Migration { path: PathBuf, detail: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored data is invalid: {0}")]
    Invalid(String),
    #[error("journal kind {0:?} has no SAF-T code (add it to core::journal_code::TABLE)")]
    UnknownJournalKind(String),
    #[error("refund of {amount} exceeds what is left to refund ({available})")]
    RefundTooLarge { amount: i64, available: i64 },
    #[error(transparent)]
    Catalog(#[from] crate::core::catalog::CatalogError),
    #[error(transparent)]
    Basket(#[from] crate::core::basket::BasketError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A business rule refused the request; nothing was recorded.
    #[error("{0}")]
    Refused(String),
}

impl StoreError {
    /// A uniqueness or check constraint refused the write.
    fn from_constraint(err: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
        if err.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
            StoreError::Conflict(format!("{}: {err}", what()))
        } else {
            StoreError::Sqlite(err)
        }
    }
}

/// The till's database. `Store` (the default) owns its connection;
/// `Store<&Connection>` ([`Store::on`]) borrows one, e.g. a transaction the
/// caller opened, and offers the same repository methods.
pub struct Store<C = Connection> {
    conn: C,
    path: PathBuf,
    clock: Clock,
}

impl<C> std::fmt::Debug for Store<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl<'c> Store<&'c Connection> {
    /// Repository access over a connection the caller manages (typically a
    /// `rusqlite::Transaction`, which derefs to `&Connection`): writes join
    /// the caller's transaction. The connection must hold a migrated till
    /// database (one opened with [`Store::open`]).
    pub fn on(conn: &'c Connection, clock: Clock) -> Store<&'c Connection> {
        Store {
            conn,
            path: PathBuf::from("(borrowed connection)"),
            clock,
        }
    }
}

/// A borrowed store reads like the connection it wraps, so code that runs inside a caller's
/// transaction can hand it on to plain SQL helpers (`&Connection`) and to repository methods
/// (which need its clock) alike.
impl std::ops::Deref for Store<&Connection> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Store {
    /// Open (or create) the database at `path`: check it is a Kasse database
    /// of a version this build knows, switch on WAL and foreign keys, and
    /// apply pending migrations in one transaction. A damaged, foreign or newer
    /// file gives an error naming it and is left untouched.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Store::init(conn, path.to_path_buf(), true)
    }

    /// [`Self::open`], creating the file's folder first if it is missing.
    pub fn open_creating(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        Store::open(path)
    }

    /// A fresh in-memory database (tests, demo mode).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        Store::init(conn, PathBuf::from(":memory:"), false)
    }

    fn init(mut conn: Connection, path: PathBuf, on_disk: bool) -> Result<Store, StoreError> {
        let corrupt = |err: rusqlite::Error| match err.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                path: path.clone(),
                detail: err.to_string(),
            },
            _ => StoreError::Open {
                path: path.clone(),
                source: err,
            },
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(corrupt)?;
        // Reading the header is the first thing that fails on a garbage file.
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(corrupt)?;
        let application_id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(corrupt)?;
        let has_tables: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_schema)", [], |r| {
                r.get(0)
            })
            .map_err(corrupt)?;
        let ours = i64::from(APPLICATION_ID);
        if application_id != ours && (application_id != 0 || has_tables) {
            return Err(StoreError::NotKasse {
                path,
                found: application_id,
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerVersion {
                path,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if has_tables {
            let check: String = conn
                .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
                .map_err(corrupt)?;
            if check != "ok" {
                return Err(StoreError::Corrupt {
                    path,
                    detail: check,
                });
            }
        }
        if on_disk {
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(corrupt)?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode, "SQLite refused WAL journal mode");
            }
        }
        // FULL: a committed payment intent survives a power cut.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrations::migrations()
            .to_latest(&mut conn)
            .map_err(|e| StoreError::Migration {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        Ok(Store {
            conn,
            path,
            clock: Clock::system(),
        })
    }

    /// Use `clock` for every timestamp written from now on.
    pub fn with_clock(mut self, clock: Clock) -> Store {
        self.clock = clock;
        self
    }

    /// Mutable access for callers that manage their own `rusqlite` transactions.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl<C: Borrow<Connection>> Store<C> {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw connection, for repository code added elsewhere in `store`.
    pub fn conn(&self) -> &Connection {
        self.conn.borrow()
    }

    /// The clock this store writes timestamps with.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// Now, from the injected clock (unix epoch ms).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Random id minted when this database was created (hex, 12 chars).
    pub fn install_id(&self) -> Result<String, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
                r.get(0)
            })?)
    }

    /// Run `f` atomically: everything it writes is committed together, or
    /// nothing is (on `Err` or panic). Nests: inside another transaction it is
    /// a savepoint.
    pub fn transaction<T, E>(&self, f: impl FnOnce(&Self) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let guard = Savepoint::begin(self.conn()).map_err(E::from)?;
        let result = f(self);
        match result {
            Ok(value) => {
                guard.commit().map_err(E::from)?;
                Ok(value)
            }
            Err(e) => {
                drop(guard);
                Err(e)
            }
        }
    }

    /// [`Store::transaction`] for code that returns `StoreError`.
    pub fn atomic<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.transaction(|_| f())
    }

    /// Run SQLite's full integrity check; `Ok` when the file is sound.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let mut problems = Vec::new();
        self.conn().pragma_query(None, "integrity_check", |r| {
            problems.push(r.get::<_, String>(0)?);
            Ok(())
        })?;
        if problems == ["ok"] {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: problems.join("; "),
            })
        }
    }
}

/// A savepoint that rolls back unless committed.
/// The outermost level is `BEGIN IMMEDIATE`: it takes the write lock up front,
/// so a second connection (the window's catalogue edits beside the engine)
/// waits for it through the busy timeout instead of failing with
/// `SQLITE_BUSY` when a deferred transaction tries to upgrade a stale read.
/// Nested levels are savepoints.
struct Savepoint<'a> {
    conn: &'a Connection,
    outermost: bool,
    done: bool,
}

impl<'a> Savepoint<'a> {
    fn begin(conn: &'a Connection) -> Result<Self, StoreError> {
        let outermost = conn.is_autocommit();
        conn.execute_batch(if outermost {
            "BEGIN IMMEDIATE"
        } else {
            "SAVEPOINT kasse"
        })?;
        Ok(Savepoint {
            conn,
            outermost,
            done: false,
        })
    }

    fn commit(mut self) -> Result<(), StoreError> {
        // If the commit fails (say it hits SQLITE_BUSY), `done` stays
        // false and the drop below rolls back.
        self.conn.execute_batch(if self.outermost {
            "COMMIT"
        } else {
            "RELEASE kasse"
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        let rollback = if self.outermost {
            "ROLLBACK"
        } else {
            "ROLLBACK TO kasse; RELEASE kasse"
        };
        if !self.done
            && let Err(e) = self.conn.execute_batch(rollback)
        {
            tracing::error!(error = %e, "rolling back a savepoint failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_store_is_migrated_with_foreign_keys() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let fk: i64 = store
            .conn()
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(store.install_id().unwrap().len(), 12);
        store.integrity_check().unwrap();
    }

    #[test]
    fn transaction_rolls_back_on_error_and_nests() {
        let store = Store::open_in_memory().unwrap();
        let count = |s: &Store| -> i64 {
            s.conn()
                .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
                .unwrap()
        };
        let result: Result<(), StoreError> = store.transaction(|s| {
            s.append_journal(kind::ITEM_ADDED, &serde_json::json!({"n": 1}))?;
            s.transaction(|s| s.append_journal(kind::ITEM_ADDED, &serde_json::json!({"n": 2})))?;
            Err(StoreError::Invalid("boom".into()))
        });
        assert!(result.is_err());
        assert_eq!(count(&store), 0);
        store
            .transaction(|s| -> Result<(), StoreError> {
                s.append_journal(kind::ITEM_ADDED, &serde_json::json!({"n": 1}))?;
                // An inner failure rolls back only the inner part.
                let inner: Result<(), StoreError> = s.transaction(|s| {
                    s.append_journal(kind::ITEM_ADDED, &serde_json::json!({"n": 2}))?;
                    Err(StoreError::Invalid("inner".into()))
                });
                assert!(inner.is_err());
                Ok(())
            })
            .unwrap();
        assert_eq!(count(&store), 1);
        store.verify_journal().unwrap();
    }

    #[test]
    fn borrowed_store_joins_the_callers_transaction() {
        let mut store = Store::open_in_memory().unwrap();
        let clock = store.clock();
        let rows = |s: &Store| -> i64 {
            s.conn()
                .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
                .unwrap()
        };
        {
            let tx = store.conn_mut().transaction().unwrap();
            Store::on(&tx, clock.clone())
                .append_journal(kind::ITEM_ADDED, &serde_json::json!(1))
                .unwrap();
            // Dropped without commit: rolled back with the caller's transaction.
        }
        assert_eq!(rows(&store), 0);
        {
            let tx = store.conn_mut().transaction().unwrap();
            let s = Store::on(&tx, clock.clone());
            s.append_journal(kind::ITEM_ADDED, &serde_json::json!(1))
                .unwrap();
            s.append_journal(kind::ITEM_ADDED, &serde_json::json!(2))
                .unwrap();
            tx.commit().unwrap();
        }
        assert_eq!(rows(&store), 2);
        assert_eq!(store.verify_journal().unwrap().rows, 2);
    }

    #[test]
    fn store_can_move_into_a_task() {
        fn assert_send<T: Send>() {}
        assert_send::<Store>();
        assert_send::<StoreError>();
    }
}

//! SQLite behind [`RelayStorage`].
//!
//! One writer thread owns the write connection and commits in groups: it takes
//! every job waiting in its queue, runs them in one transaction (each in its
//! own savepoint, so one failing job cannot undo the others), commits once and
//! only then answers each job. A webhook is therefore answered 2xx only after
//! its row is committed, while one fsync covers many webhooks under load.
//!
//! Readers use a small pool of read-only connections on blocking threads (WAL
//! lets them run while the writer commits).

use super::{
    CheckInGate, CommitListener, Disposition, FreshDelivery, IngestOutcome, NewEvent, RelayStorage,
    RelayStoreError, RetentionPolicy, StorageCounts, TillIdentity, TillKey, WebhookSecret,
};
use crate::migrations::{self, MigrationList};
use crate::relay::classify::{RouteKey, StoredKind};
use crate::relay::wire::{EventKind, WireEvent};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use tokio::sync::oneshot;

/// The relay schema: `migrations/relay/`, loaded the way every database's migrations are (see
/// `crate::migrations`). A database created when the first file was `01-init/up.sql` is at
/// version 1 with the same schema and opens unchanged.
pub const MIGRATIONS: MigrationList = &[(
    "0001_init.sql",
    include_str!("../../../migrations/relay/0001_init.sql"),
)];

/// SQLite `synchronous` for the relay database (WAL mode).
///
/// `Full` (default): each commit fsyncs the WAL, so an acknowledged webhook
/// survives a power cut as well as a crash. `Normal`: commits reach the OS but
/// are fsynced only at checkpoints: an acknowledged webhook survives `kill -9`
/// of the relay but may be lost if the machine itself loses power. Group commit
/// makes `Full` cheap enough that it is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    Normal,
    #[default]
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

impl std::str::FromStr for Synchronous {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Ok(Synchronous::Normal),
            "full" => Ok(Synchronous::Full),
            other => Err(format!("expected full or normal, got {other:?}")),
        }
    }
}

fn open_err(path: &Path) -> impl FnOnce(rusqlite::Error) -> RelayStoreError + '_ {
    move |source| RelayStoreError::Open {
        path: path.to_path_buf(),
        source,
    }
}

/// Open the database read-write, set WAL and the pragmas, migrate to the latest schema.
pub(super) fn open_connection(
    path: &Path,
    synchronous: Synchronous,
) -> Result<Connection, RelayStoreError> {
    let mut conn = Connection::open(path).map_err(open_err(path))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err(path))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(open_err(path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(RelayStoreError::Open {
            path: path.to_path_buf(),
            source: rusqlite::Error::InvalidParameterName(format!(
                "journal_mode stayed {mode}, WAL required"
            )),
        });
    }
    conn.pragma_update(None, "synchronous", synchronous.pragma())
        .map_err(open_err(path))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_err(path))?;
    migrations::migrations(MIGRATIONS)
        .to_latest(&mut conn)
        .map_err(|source| RelayStoreError::Migration {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection, RelayStoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err(path))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err(path))?;
    Ok(conn)
}

type Reply<T> = oneshot::Sender<Result<T, RelayStoreError>>;

enum Job {
    Ingest {
        event: Box<NewEvent>,
        gate: CheckInGate,
        reply: Reply<IngestOutcome>,
    },
    Ack {
        till: TillKey,
        seqs: Vec<u64>,
        through: Option<u64>,
        now_ms: i64,
        reply: Reply<u64>,
    },
    Prune {
        policy: RetentionPolicy,
        now_ms: i64,
        reply: Reply<u64>,
    },
}

/// SQLite storage with a group-committing writer thread.
pub struct SqliteStorage {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Connection>>>,
    listener: Arc<RwLock<Option<CommitListener>>>,
    /// Dropping it stops the checkpoint thread.
    _checkpoints: mpsc::Sender<()>,
}

/// Most jobs one transaction takes.
const MAX_BATCH: usize = 2048;
/// Read connections kept for reuse.
const MAX_IDLE_READERS: usize = 8;

impl SqliteStorage {
    /// Open (create, migrate) the database and start the writer thread.
    pub fn open(path: &Path, synchronous: Synchronous) -> Result<SqliteStorage, RelayStoreError> {
        let conn = open_connection(path, synchronous)?;
        // Checkpoints run on their own thread (PASSIVE: they never block the
        // writer), so a commit never waits for one: steadier latency.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        let checkpoint_conn = Connection::open(path).map_err(open_err(path))?;
        checkpoint_conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err(path))?;
        let (stop_checkpoints, checkpoint_rx) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("relay-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoint_conn, checkpoint_rx))
            .map_err(|e| RelayStoreError::Task(format!("cannot start checkpoint thread: {e}")))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let listener: Arc<RwLock<Option<CommitListener>>> = Arc::new(RwLock::new(None));
        let writer_listener = listener.clone();
        std::thread::Builder::new()
            .name("relay-writer".into())
            .spawn(move || writer_loop(conn, rx, writer_listener))
            .map_err(|e| RelayStoreError::Task(format!("cannot start writer thread: {e}")))?;
        Ok(SqliteStorage {
            path: path.to_path_buf(),
            jobs: tx,
            readers: Arc::new(Mutex::new(Vec::new())),
            listener,
            _checkpoints: stop_checkpoints,
        })
    }

    fn submit<T: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> Job,
    ) -> BoxFuture<'static, Result<T, RelayStoreError>> {
        let (reply, rx) = oneshot::channel();
        let sent = self.jobs.send(make(reply)).is_ok();
        async move {
            if !sent {
                return Err(RelayStoreError::WriterGone);
            }
            rx.await.map_err(|_| RelayStoreError::WriterGone)?
        }
        .boxed()
    }

    /// Run a read on a pooled read-only connection on a blocking thread.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, RelayStoreError>> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let pooled = readers.lock().ok().and_then(|mut r| r.pop());
                let conn = match pooled {
                    Some(c) => c,
                    None => open_reader(&path)?,
                };
                let result = f(&conn).map_err(RelayStoreError::from);
                if let Ok(mut r) = readers.lock()
                    && r.len() < MAX_IDLE_READERS
                {
                    r.push(conn);
                }
                result
            })
            .await
            .map_err(|e| RelayStoreError::Task(e.to_string()))?
        }
        .boxed()
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl RelayStorage for SqliteStorage {
    fn store_secrets(
        &self,
        msn: String,
    ) -> BoxFuture<'static, Result<Option<Vec<WebhookSecret>>, RelayStoreError>> {
        self.read(move |conn| {
            let exists: Option<i64> = conn
                .prepare_cached("SELECT 1 FROM stores WHERE msn = ?1")?
                .query_row([&msn], |r| r.get(0))
                .optional()?;
            if exists.is_none() {
                return Ok(None);
            }
            let mut stmt = conn.prepare_cached(
                "SELECT webhook_id, secret FROM store_secrets WHERE msn = ?1
                 ORDER BY created_at_ms DESC",
            )?;
            let rows = stmt.query_map([&msn], |r| {
                Ok(WebhookSecret {
                    webhook_id: r.get(0)?,
                    secret: r.get(1)?,
                })
            })?;
            Ok(Some(rows.collect::<Result<Vec<_>, _>>()?))
        })
    }

    fn till_by_token_hash(
        &self,
        hash: [u8; 32],
    ) -> BoxFuture<'static, Result<Option<TillIdentity>, RelayStoreError>> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT pk, msn, till_id, merchant_qr_id FROM tills
                 WHERE token_hash = ?1 AND revoked_at_ms IS NULL",
            )?
            .query_row([&hash[..]], |r| {
                Ok(TillIdentity {
                    key: r.get(0)?,
                    msn: r.get(1)?,
                    till_id: r.get(2)?,
                    merchant_qr_id: r.get(3)?,
                })
            })
            .optional()
        })
    }

    fn ingest(
        &self,
        event: NewEvent,
        gate: CheckInGate,
    ) -> BoxFuture<'static, Result<IngestOutcome, RelayStoreError>> {
        self.submit(|reply| Job::Ingest {
            event: Box::new(event),
            gate,
            reply,
        })
    }

    fn deliveries_after(
        &self,
        till: TillKey,
        after: u64,
        now_ms: i64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<WireEvent>, RelayStoreError>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, kind, received_at_ms, body FROM events
                 WHERE till_pk = ?1 AND id > ?2 AND status = 'routed'
                   AND (actionable_until_ms IS NULL OR actionable_until_ms > ?3)
                 ORDER BY id LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![till, to_i64(after), now_ms, to_i64(limit as u64)],
                |r| {
                    let kind: String = r.get(1)?;
                    let body: Vec<u8> = r.get(3)?;
                    Ok(WireEvent {
                        seq: r.get::<_, i64>(0)?.unsigned_abs(),
                        kind: if kind == "checked_in" {
                            EventKind::CheckedIn
                        } else {
                            EventKind::Payment
                        },
                        received_at_ms: r.get(2)?,
                        payload: String::from_utf8_lossy(&body).into_owned(),
                    })
                },
            )?;
            rows.collect()
        })
    }

    fn ack(
        &self,
        till: TillKey,
        seqs: Vec<u64>,
        through: Option<u64>,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>> {
        self.submit(|reply| Job::Ack {
            till,
            seqs,
            through,
            now_ms,
            reply,
        })
    }

    fn prune(
        &self,
        policy: RetentionPolicy,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>> {
        // In chunks, so other writes interleave with a large prune.
        let jobs = self.jobs.clone();
        async move {
            let mut total = 0;
            loop {
                let (reply, rx) = oneshot::channel();
                jobs.send(Job::Prune {
                    policy,
                    now_ms,
                    reply,
                })
                .map_err(|_| RelayStoreError::WriterGone)?;
                let n = rx.await.map_err(|_| RelayStoreError::WriterGone)??;
                total += n;
                if n < PRUNE_CHUNK.unsigned_abs() {
                    return Ok(total);
                }
            }
        }
        .boxed()
    }

    fn counts(&self, now_ms: i64) -> BoxFuture<'static, Result<StorageCounts, RelayStoreError>> {
        self.read(move |conn| {
            let unrouted: i64 = conn
                .prepare_cached("SELECT count(*) FROM events WHERE status = 'unrouted'")?
                .query_row([], |r| r.get(0))?;
            let (pending, oldest): (i64, Option<i64>) = conn
                .prepare_cached(
                    "SELECT count(*), min(received_at_ms) FROM events
                     WHERE status = 'routed' AND acked_at_ms IS NULL
                       AND (actionable_until_ms IS NULL OR actionable_until_ms > ?1)",
                )?
                .query_row([now_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(StorageCounts {
                unrouted: unrouted.unsigned_abs(),
                pending: pending.unsigned_abs(),
                oldest_pending_ms: oldest,
            })
        })
    }

    fn set_commit_listener(&self, listener: CommitListener) {
        if let Ok(mut l) = self.listener.write() {
            *l = Some(listener);
        }
    }
}

/// How often the WAL is checkpointed into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        let result: Result<(i64, i64, i64), _> =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            });
        if let Err(e) = result {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// A job's result, held until the batch commits.
enum Done {
    Ingest(Reply<IngestOutcome>, Result<IngestOutcome, RelayStoreError>),
    Count(Reply<u64>, Result<u64, RelayStoreError>),
}

fn writer_loop(
    mut conn: Connection,
    rx: mpsc::Receiver<Job>,
    listener: Arc<RwLock<Option<CommitListener>>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut routed: Vec<FreshDelivery> = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        routed.clear();
        let done = run_batch(&mut conn, batch.drain(..), &mut routed);
        // Answer only now: everything in `done` is committed (or failed).
        for d in done {
            match d {
                Done::Ingest(reply, r) => {
                    let _ = reply.send(r);
                }
                Done::Count(reply, r) => {
                    let _ = reply.send(r);
                }
            }
        }
        if !routed.is_empty() {
            let fresh = std::mem::take(&mut routed);
            if let Ok(l) = listener.read()
                && let Some(l) = l.as_ref()
            {
                l(fresh);
            }
        }
    }
}

/// Run a batch of jobs in one transaction. Returns each job's result; when the
/// commit fails every result becomes that error.
fn run_batch(
    conn: &mut Connection,
    jobs: impl Iterator<Item = Job>,
    routed: &mut Vec<FreshDelivery>,
) -> Vec<Done> {
    let jobs: Vec<Job> = jobs.collect();
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(jobs, &e),
    };
    let mut done = Vec::with_capacity(jobs.len());
    let mut new_routed = Vec::new();
    let mut tx = tx;
    for job in jobs {
        match job {
            Job::Ingest { event, gate, reply } => {
                let r = in_savepoint(&mut tx, |c| ingest_one(c, &event, &gate));
                let r = r.map(|(outcome, fresh)| {
                    new_routed.extend(fresh);
                    outcome
                });
                done.push(Done::Ingest(reply, r));
            }
            Job::Ack {
                till,
                seqs,
                through,
                now_ms,
                reply,
            } => {
                let r = in_savepoint(&mut tx, |c| ack_in(c, till, &seqs, through, now_ms));
                done.push(Done::Count(reply, r));
            }
            Job::Prune {
                policy,
                now_ms,
                reply,
            } => {
                let r = in_savepoint(&mut tx, |c| prune_in(c, policy, now_ms));
                done.push(Done::Count(reply, r));
            }
        }
    }
    if let Err(e) = tx.commit() {
        tracing::error!(error = %e, "relay database commit failed");
        return done
            .into_iter()
            .map(|d| match d {
                Done::Ingest(reply, _) => Done::Ingest(reply, Err(copy_err(&e))),
                Done::Count(reply, _) => Done::Count(reply, Err(copy_err(&e))),
            })
            .collect();
    }
    routed.extend(new_routed);
    done
}

fn copy_err(e: &rusqlite::Error) -> RelayStoreError {
    RelayStoreError::Task(format!("commit failed: {e}"))
}

fn fail_all(jobs: Vec<Job>, e: &rusqlite::Error) -> Vec<Done> {
    tracing::error!(error = %e, "relay database: cannot begin a transaction");
    jobs.into_iter()
        .map(|j| match j {
            Job::Ingest { reply, .. } => Done::Ingest(reply, Err(copy_err(e))),
            Job::Ack { reply, .. } | Job::Prune { reply, .. } => {
                Done::Count(reply, Err(copy_err(e)))
            }
        })
        .collect()
}

fn in_savepoint<T>(
    tx: &mut rusqlite::Transaction<'_>,
    f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
) -> Result<T, RelayStoreError> {
    let sp = tx.savepoint()?;
    match f(&sp) {
        Ok(v) => {
            sp.commit()?;
            Ok(v)
        }
        // Dropping the savepoint rolls it back.
        Err(e) => Err(e.into()),
    }
}

fn ingest_one(
    conn: &Connection,
    event: &NewEvent,
    gate: &CheckInGate,
) -> Result<(IngestOutcome, Option<FreshDelivery>), rusqlite::Error> {
    let c = &event.classified;
    if c.kind != StoredKind::Malformed
        && let Some(outcome) = find_accepted(conn, &event.msn, &c.dedupe_key)?
    {
        return Ok((outcome, None));
    }

    // Decide where it goes and whether the sender gets a 2xx (`accepted`).
    let (disposition_base, till): (Disposition, Option<(TillKey, String)>) =
        match (&c.kind, &c.route) {
            (StoredKind::Malformed, _) => (Disposition::Rejected, None),
            (StoredKind::CheckedIn, RouteKey::MerchantQr(qr)) => {
                let expired = c
                    .actionable_until_ms
                    .is_some_and(|until| until <= event.received_at_ms);
                match active_till(conn, &event.msn, "merchant_qr_id", qr)? {
                    _ if expired => (Disposition::Expired, None),
                    None => (Disposition::Unrouted, None),
                    Some((key, till_id)) if gate(key) => (
                        Disposition::Routed {
                            till: key,
                            till_id: till_id.clone(),
                            seq: 0,
                        },
                        Some((key, till_id)),
                    ),
                    Some((_, till_id)) => (Disposition::Refused { till_id }, None),
                }
            }
            (
                StoredKind::Payment,
                RouteKey::Reference {
                    till_id: Some(id), ..
                },
            ) => match active_till(conn, &event.msn, "till_id", id)? {
                Some((key, till_id)) => (
                    Disposition::Routed {
                        till: key,
                        till_id: till_id.clone(),
                        seq: 0,
                    },
                    Some((key, till_id)),
                ),
                None => (Disposition::Unrouted, None),
            },
            _ => (Disposition::Unrouted, None),
        };
    // A check-in nobody can take and a malformed body are answered non-2xx, so
    // they do not count as accepted (a retry is filed again).
    let accepted = !matches!(
        (&disposition_base, c.kind),
        (Disposition::Rejected | Disposition::Refused { .. }, _)
            | (Disposition::Unrouted, StoredKind::CheckedIn)
    );
    let reason = match &disposition_base {
        Disposition::Rejected => c.reason.clone(),
        Disposition::Refused { .. } => Some("till offline".to_string()),
        Disposition::Expired => Some("customer token expired before delivery".to_string()),
        Disposition::Unrouted => Some(match &c.route {
            RouteKey::MerchantQr(_) => "no till has this merchantQrId".to_string(),
            RouteKey::Reference { till_id: None, .. } => {
                "reference has no <till_id>- prefix".to_string()
            }
            RouteKey::Reference { .. } => "no active till for this reference".to_string(),
            RouteKey::None => "event type not routed".to_string(),
        }),
        Disposition::Routed { .. } => None,
    };
    // The till's latest sequence number before this one (one writer, so
    // nothing can slip in between).
    let prev_seq: Option<i64> = match &till {
        Some((key, _)) => Some(
            conn.prepare_cached("SELECT coalesce(max(id), 0) FROM events WHERE till_pk = ?1")?
                .query_row([key], |r| r.get(0))?,
        ),
        None => None,
    };
    conn.prepare_cached(
        "INSERT INTO events (msn, webhook_id, received_at_ms, kind, status, accepted,
                             dedupe_key, route_key, reason, body, till_pk, actionable_until_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        event.msn,
        event.webhook_id,
        event.received_at_ms,
        c.kind.as_str(),
        disposition_base.status(),
        accepted,
        c.dedupe_key,
        c.route.as_text(),
        reason,
        &event.body[..],
        till.as_ref().map(|t| t.0),
        c.actionable_until_ms,
    ])?;
    let id = conn.last_insert_rowid();
    let fresh = match (&till, prev_seq) {
        (Some((key, _)), Some(prev)) => Some(FreshDelivery {
            till: *key,
            prev_seq: prev.unsigned_abs(),
            actionable_until_ms: c.actionable_until_ms,
            event: WireEvent {
                seq: id.unsigned_abs(),
                kind: if c.kind == StoredKind::CheckedIn {
                    EventKind::CheckedIn
                } else {
                    EventKind::Payment
                },
                received_at_ms: event.received_at_ms,
                payload: String::from_utf8_lossy(&event.body).into_owned(),
            },
        }),
        _ => None,
    };
    let disposition = match disposition_base {
        Disposition::Routed { till, till_id, .. } => Disposition::Routed {
            till,
            till_id,
            seq: id.unsigned_abs(),
        },
        other => other,
    };
    Ok((
        IngestOutcome {
            event_id: id,
            disposition,
            duplicate: false,
        },
        fresh,
    ))
}

fn active_till(
    conn: &Connection,
    msn: &str,
    column: &'static str,
    value: &str,
) -> Result<Option<(TillKey, String)>, rusqlite::Error> {
    let sql = match column {
        "merchant_qr_id" => {
            "SELECT pk, till_id FROM tills
             WHERE msn = ?1 AND merchant_qr_id = ?2 AND revoked_at_ms IS NULL"
        }
        _ => {
            "SELECT pk, till_id FROM tills
             WHERE msn = ?1 AND till_id = ?2 AND revoked_at_ms IS NULL"
        }
    };
    conn.prepare_cached(sql)?
        .query_row(params![msn, value], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

fn find_accepted(
    conn: &Connection,
    msn: &str,
    dedupe_key: &str,
) -> Result<Option<IngestOutcome>, rusqlite::Error> {
    conn.prepare_cached(
        "SELECT e.id, e.status, e.till_pk, t.till_id FROM events e
         LEFT JOIN tills t ON t.pk = e.till_pk
         WHERE e.msn = ?1 AND e.dedupe_key = ?2 AND e.accepted = 1",
    )?
    .query_row(params![msn, dedupe_key], |r| {
        let id: i64 = r.get(0)?;
        let status: String = r.get(1)?;
        let till: Option<TillKey> = r.get(2)?;
        let till_id: Option<String> = r.get(3)?;
        let disposition = match (status.as_str(), till, till_id) {
            ("routed", Some(till), Some(till_id)) => Disposition::Routed {
                till,
                till_id,
                seq: id.unsigned_abs(),
            },
            ("expired", _, _) => Disposition::Expired,
            _ => Disposition::Unrouted,
        };
        Ok(IngestOutcome {
            event_id: id,
            disposition,
            duplicate: true,
        })
    })
    .optional()
}

fn ack_in(
    conn: &Connection,
    till: TillKey,
    seqs: &[u64],
    through: Option<u64>,
    now_ms: i64,
) -> Result<u64, rusqlite::Error> {
    let mut n = 0u64;
    if let Some(through) = through {
        n += conn
            .prepare_cached(
                "UPDATE events SET acked_at_ms = ?3
                 WHERE till_pk = ?1 AND id <= ?2 AND acked_at_ms IS NULL AND status = 'routed'",
            )?
            .execute(params![till, to_i64(through), now_ms])? as u64;
    }
    let mut stmt = conn.prepare_cached(
        "UPDATE events SET acked_at_ms = ?3
         WHERE till_pk = ?1 AND id = ?2 AND acked_at_ms IS NULL AND status = 'routed'",
    )?;
    for &seq in seqs {
        n += stmt.execute(params![till, to_i64(seq), now_ms])? as u64;
    }
    Ok(n)
}

/// Rows removed per statement, so one prune never holds the writer long.
const PRUNE_CHUNK: i64 = 5_000;

fn prune_in(
    conn: &Connection,
    policy: RetentionPolicy,
    now_ms: i64,
) -> Result<u64, rusqlite::Error> {
    let done_before = now_ms.saturating_sub(policy.delivered_ms);
    let undelivered_before = now_ms.saturating_sub(policy.undelivered_ms);
    let n = conn
        .prepare_cached(
            "DELETE FROM events WHERE id IN (
               SELECT id FROM events
               WHERE received_at_ms < ?2
                  OR (received_at_ms < ?1 AND (
                        status <> 'routed'
                        OR acked_at_ms < ?1
                        OR actionable_until_ms < ?1))
               LIMIT ?3)",
        )?
        .execute(params![done_before, undelivered_before, PRUNE_CHUNK])?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::classify::classify;
    use crate::relay::store::RelayDb;
    use std::time::Duration;

    const TTL: Duration = Duration::from_secs(900);

    fn event(body: &str, at: i64) -> NewEvent {
        NewEvent {
            msn: "123456".into(),
            webhook_id: Some("wh".into()),
            received_at_ms: at,
            body: body.as_bytes().to_vec().into(),
            classified: classify(body.as_bytes(), at, TTL),
        }
    }

    fn payment(reference: &str) -> String {
        format!(
            r#"{{"reference":"{reference}","name":"AUTHORIZED","pspReference":"p-{reference}"}}"#
        )
    }

    #[test]
    fn every_relay_sql_file_is_registered_in_order() {
        crate::migrations::check_registered(
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/relay"),
            MIGRATIONS,
        );
    }

    #[test]
    fn a_database_from_the_former_migration_layout_opens_with_its_rows() {
        // Before the one layout, the schema came from `migrations/relay/01-init/up.sql` (the
        // same text, now `0001_init.sql`) through `Migrations::from_slice`.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            rusqlite_migration::Migrations::from_slice(&[rusqlite_migration::M::up(include_str!(
                "../../../migrations/relay/0001_init.sql"
            ))])
            .to_latest(&mut conn)
            .unwrap();
            conn.execute(
                "INSERT INTO stores (msn, name, created_at_ms) VALUES ('654321', 'Old shop', 1)",
                [],
            )
            .unwrap();
        }
        let db = RelayDb::open(&path).unwrap();
        let stores = db.list_stores().unwrap();
        assert_eq!(stores.len(), 1);
        assert_eq!(stores[0].msn, "654321");
        db.add_till("654321", "t1", "qr-1").unwrap();
        drop(db);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, crate::migrations::version(MIGRATIONS));
    }

    async fn open() -> (tempfile::TempDir, SqliteStorage, TillKey) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let db = RelayDb::open(&path).unwrap();
        db.add_store("123456", "Shop").unwrap();
        let t = db.add_till("123456", "t1", "qr-1").unwrap();
        let storage = SqliteStorage::open(&path, Synchronous::Normal).unwrap();
        let key = storage
            .till_by_token_hash(crate::relay::store::token_hash(&t.token))
            .await
            .unwrap()
            .unwrap()
            .key;
        (dir, storage, key)
    }

    fn open_gate() -> CheckInGate {
        Arc::new(|_| true)
    }

    #[tokio::test]
    async fn pruning_keeps_what_is_still_owed_to_a_till() {
        let (_dir, storage, till) = open().await;
        let ingest = |body: String, at: i64| storage.ingest(event(&body, at), open_gate());
        let old_acked = ingest(payment("t1-a"), 1_000).await.unwrap();
        let old_pending = ingest(payment("t1-b"), 1_000).await.unwrap();
        let old_unrouted = ingest(payment("zz-c"), 1_000).await.unwrap();
        let recent_acked = ingest(payment("t1-d"), 45_000).await.unwrap();
        assert_eq!(old_unrouted.disposition, Disposition::Unrouted);
        let seq = |o: &IngestOutcome| o.event_id.unsigned_abs();
        let acked = storage
            .ack(till, vec![seq(&old_acked), seq(&recent_acked)], None, 2_000)
            .await
            .unwrap();
        assert_eq!(acked, 2);
        let counts = storage.counts(50_000).await.unwrap();
        assert_eq!((counts.pending, counts.unrouted), (1, 1));
        assert_eq!(counts.oldest_pending_ms, Some(1_000));

        let policy = RetentionPolicy {
            delivered_ms: 10_000,
            undelivered_ms: 100_000,
        };
        assert_eq!(storage.prune(policy, 50_000).await.unwrap(), 2);
        let left = storage.deliveries_after(till, 0, 50_000, 10).await.unwrap();
        assert_eq!(
            left.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![seq(&old_pending), seq(&recent_acked)]
        );
        // Past the undelivered retention even the unacknowledged one goes.
        assert_eq!(storage.prune(policy, 200_000).await.unwrap(), 2);
        assert!(
            storage
                .deliveries_after(till, 0, 200_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn cursor_acks_everything_up_to_it_and_duplicates_are_filed_once() {
        let (_dir, storage, till) = open().await;
        let mut seqs = Vec::new();
        for r in ["t1-1", "t1-2", "t1-3"] {
            let o = storage
                .ingest(event(&payment(r), 5), open_gate())
                .await
                .unwrap();
            assert!(!o.duplicate);
            seqs.push(o.event_id.unsigned_abs());
        }
        let again = storage
            .ingest(event(&payment("t1-2"), 6), open_gate())
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(again.event_id.unsigned_abs(), seqs[1]);
        assert_eq!(
            storage.ack(till, vec![], Some(seqs[1]), 7).await.unwrap(),
            2
        );
        assert_eq!(
            storage
                .ack(till, vec![seqs[1], seqs[2]], None, 7)
                .await
                .unwrap(),
            1
        );
        assert_eq!(storage.counts(10).await.unwrap().pending, 0);
        // Acks are per till: another till's key changes nothing.
        assert_eq!(
            storage
                .ack(till + 1, vec![], Some(u64::MAX / 2), 7)
                .await
                .unwrap(),
            0
        );
    }

    #[tokio::test]
    async fn a_check_in_past_its_token_life_is_not_delivered() {
        let (_dir, storage, till) = open().await;
        let body =
            r#"{"customerToken":"tok","merchantQrId":"qr-1","initiatedAt":"1970-01-01T00:00:01Z"}"#;
        // Received 10 s after the scan: actionable until 901 s.
        let o = storage
            .ingest(event(body, 11_000), open_gate())
            .await
            .unwrap();
        assert!(matches!(o.disposition, Disposition::Routed { .. }));
        assert_eq!(
            storage
                .deliveries_after(till, 0, 900_000, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            storage
                .deliveries_after(till, 0, 901_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Refused by the gate: stored, not routed, and a retry is filed again.
        let closed: CheckInGate = Arc::new(|_| false);
        let body2 = r#"{"customerToken":"tok2","merchantQrId":"qr-1","initiatedAt":"1970-01-01T00:00:01Z"}"#;
        let r1 = storage
            .ingest(event(body2, 12_000), closed.clone())
            .await
            .unwrap();
        let r2 = storage.ingest(event(body2, 13_000), closed).await.unwrap();
        assert!(matches!(r1.disposition, Disposition::Refused { .. }));
        assert!(!r2.duplicate);
        assert_ne!(r1.event_id, r2.event_id);
        let r3 = storage
            .ingest(event(body2, 14_000), open_gate())
            .await
            .unwrap();
        assert!(matches!(r3.disposition, Disposition::Routed { .. }));
    }
}

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
//!
//! The write-ahead log is kept bounded by [`WalPolicy`]: a background thread
//! copies it into the database (PASSIVE checkpoints, never in the writer's
//! way), and the writer, between two transactions, restarts it once it has
//! grown past a size and truncates it once writes stop.

use super::{
    CheckInGate, CommitListener, Disposition, FreshDelivery, IngestOutcome, NewEvent, PartnerKeys,
    RelayStorage, RelayStoreError, RetentionPolicy, StorageCounts, TillIdentity, TillKey,
    WebhookSecret,
};
use crate::migrations::{self, MigrationList};
use crate::relay::classify::{RouteKey, StoredKind};
use crate::relay::wire::{EventKind, WireEvent};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The relay schema: `migrations/relay/`, loaded the way every database's migrations are (see
/// `crate::migrations`). A database created when the first file was `01-init/up.sql` is at
/// version 1 with the same schema and opens unchanged.
pub const MIGRATIONS: MigrationList = &[
    (
        "0001_init.sql",
        include_str!("../../../migrations/relay/0001_init.sql"),
    ),
    (
        "0002_replay.sql",
        include_str!("../../../migrations/relay/0002_replay.sql"),
    ),
    (
        "0003_partners.sql",
        include_str!("../../../migrations/relay/0003_partners.sql"),
    ),
    (
        "0004_login_routes.sql",
        include_str!("../../../migrations/relay/0004_login_routes.sql"),
    ),
];

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

/// How the write-ahead log (`<db>-wal`) is kept small.
///
/// SQLite writes from the start of the log again only when every frame in it
/// has been copied into the database and no reader still looks at any of them.
/// A PASSIVE checkpoint beside a busy writer never gets there (by the time it
/// has copied what was there, the writer has appended more), so under
/// sustained load the log grows for as long as the load lasts, every read
/// searches a longer log, and the file keeps its size afterwards. So the
/// writer, between two of its transactions, finishes the job itself:
///
/// * once the log file has grown past `restart_bytes`: a RESTART checkpoint
///   (copy what is left, wait for readers still on old frames), so the next
///   commit writes from the start of the file again, and `journal_size_limit`
///   trims the file back to `restart_bytes` at that commit;
/// * after `idle_after` without a write: a TRUNCATE checkpoint, which also
///   cuts the file to zero bytes.
///
/// Either waits at most `checkpoint_wait` for readers (reads are single short
/// statements); if they are still busy it gives up and tries again later. A
/// checkpoint never blocks a reader. Meanwhile a background thread copies the
/// log into the database with PASSIVE checkpoints every `passive_every`, so
/// the writer's checkpoint finds little left to copy.
///
/// The log file therefore stays below `restart_bytes` plus what one group
/// commit writes (at most 2048 events and their index pages), as long as
/// readers finish within `checkpoint_wait`; a reader holding an old snapshot
/// longer lets it grow until the next try after it has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalPolicy {
    pub restart_bytes: u64,
    pub idle_after: Duration,
    pub checkpoint_wait: Duration,
    pub passive_every: Duration,
}

impl Default for WalPolicy {
    fn default() -> WalPolicy {
        WalPolicy {
            restart_bytes: 64 * 1024 * 1024,
            idle_after: Duration::from_secs(1),
            checkpoint_wait: Duration::from_millis(200),
            passive_every: Duration::from_millis(500),
        }
    }
}

/// The write-ahead log's file beside the database at `db`.
pub fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// How long a connection waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err(path))?;
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
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err(path))?;
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
    RegisterLogin {
        till: TillKey,
        msn: String,
        key: String,
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
    /// Open (create, migrate) the database and start the writer thread, with
    /// the default [`WalPolicy`].
    pub fn open(path: &Path, synchronous: Synchronous) -> Result<SqliteStorage, RelayStoreError> {
        SqliteStorage::open_with(path, synchronous, WalPolicy::default())
    }

    /// [`SqliteStorage::open`] with an explicit [`WalPolicy`].
    pub fn open_with(
        path: &Path,
        synchronous: Synchronous,
        wal: WalPolicy,
    ) -> Result<SqliteStorage, RelayStoreError> {
        let conn = open_connection(path, synchronous)?;
        // No checkpoint inside a commit (SQLite's automatic one would run in
        // the writer right after committing): see `WalPolicy`.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let limit = i64::try_from(wal.restart_bytes).unwrap_or(i64::MAX);
        conn.pragma_update(None, "journal_size_limit", limit)?;
        let checkpoint_conn = Connection::open(path).map_err(open_err(path))?;
        checkpoint_conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(open_err(path))?;
        // One checkpoint at a time in this process: the writer's RESTART or
        // TRUNCATE would otherwise fail at once while a PASSIVE one runs.
        let checkpointing = Arc::new(Mutex::new(()));
        let (stop_checkpoints, checkpoint_rx) = mpsc::channel::<()>();
        let passive_lock = checkpointing.clone();
        std::thread::Builder::new()
            .name("relay-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoint_conn, checkpoint_rx, wal, passive_lock))
            .map_err(|e| RelayStoreError::Task(format!("cannot start checkpoint thread: {e}")))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let listener: Arc<RwLock<Option<CommitListener>>> = Arc::new(RwLock::new(None));
        let writer_listener = listener.clone();
        let keeper = WalKeeper::new(wal_path(path), wal, checkpointing);
        std::thread::Builder::new()
            .name("relay-writer".into())
            .spawn(move || writer_loop(conn, rx, writer_listener, keeper))
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

    fn partner(
        &self,
        partner_id: String,
    ) -> BoxFuture<'static, Result<Option<PartnerKeys>, RelayStoreError>> {
        self.read(move |conn| {
            let exists: Option<i64> = conn
                .prepare_cached("SELECT 1 FROM partners WHERE partner_id = ?1")?
                .query_row([&partner_id], |r| r.get(0))
                .optional()?;
            if exists.is_none() {
                return Ok(None);
            }
            let secrets = conn
                .prepare_cached(
                    "SELECT webhook_id, secret FROM partner_secrets WHERE partner_id = ?1
                     ORDER BY created_at_ms DESC",
                )?
                .query_map([&partner_id], |r| {
                    Ok(WebhookSecret {
                        webhook_id: r.get(0)?,
                        secret: r.get(1)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let msns = conn
                .prepare_cached("SELECT msn FROM stores WHERE partner_id = ?1 ORDER BY msn")?
                .query_map([&partner_id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(Some(PartnerKeys { secrets, msns }))
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
                        kind: EventKind::of_stored(&kind).unwrap_or(EventKind::Payment),
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
                .prepare_cached(
                    "SELECT count(*) FROM events WHERE status = 'unrouted' AND replayed_as IS NULL",
                )?
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

    fn register_login(
        &self,
        till: TillKey,
        msn: String,
        key: String,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>> {
        self.submit(|reply| Job::RegisterLogin {
            till,
            msn,
            key,
            now_ms,
            reply,
        })
    }

    fn set_commit_listener(&self, listener: CommitListener) {
        if let Ok(mut l) = self.listener.write() {
            *l = Some(listener);
        }
    }
}

/// Copy the log into the database in the background (PASSIVE: never waits
/// for the writer or a reader, never blocks them).
fn checkpoint_loop(
    conn: Connection,
    stop: mpsc::Receiver<()>,
    policy: WalPolicy,
    checkpointing: Arc<Mutex<()>>,
) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(policy.passive_every) {
        let _one_at_a_time = checkpointing.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = checkpoint(&conn, CheckpointMode::Passive) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckpointMode {
    Passive,
    Restart,
    Truncate,
}

/// What `PRAGMA wal_checkpoint` reports.
#[derive(Debug, Clone, Copy)]
struct CheckpointResult {
    /// It could not finish (a reader or another connection was in the way).
    busy: bool,
    /// Frames in the log, and how many of them are in the database now.
    log_frames: i64,
    checkpointed_frames: i64,
}

fn checkpoint(
    conn: &Connection,
    mode: CheckpointMode,
) -> Result<CheckpointResult, rusqlite::Error> {
    let sql = match mode {
        CheckpointMode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        CheckpointMode::Restart => "PRAGMA wal_checkpoint(RESTART)",
        CheckpointMode::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    conn.query_row(sql, [], |r| {
        Ok(CheckpointResult {
            busy: r.get::<_, i64>(0)? != 0,
            log_frames: r.get(1)?,
            checkpointed_frames: r.get(2)?,
        })
    })
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The writer's half of [`WalPolicy`]: checkpoints that let the log start over.
struct WalKeeper {
    wal: PathBuf,
    policy: WalPolicy,
    checkpointing: Arc<Mutex<()>>,
    /// The log file was not empty after the last commit.
    dirty: bool,
    /// A checkpoint could not finish; the next try is not before this.
    retry_at: Option<Instant>,
    /// The log passed [`RUNAWAY_FACTOR`] times `restart_bytes` and that was logged.
    warned: bool,
}

/// A log this many times `restart_bytes` is logged at WARN: checkpoints keep
/// failing (a reader holding an old snapshot, a full disk).
const RUNAWAY_FACTOR: u64 = 4;

impl WalKeeper {
    fn new(wal: PathBuf, policy: WalPolicy, checkpointing: Arc<Mutex<()>>) -> WalKeeper {
        WalKeeper {
            wal,
            policy,
            checkpointing,
            // A log left by an earlier run is truncated at the first idle moment.
            dirty: true,
            retry_at: None,
            warned: false,
        }
    }

    /// How long the writer waits for a job before it counts as idle (`None`:
    /// nothing to do when idle, wait as long as it takes).
    fn idle_wait(&self) -> Option<Duration> {
        self.dirty.then_some(self.policy.idle_after)
    }

    /// After a commit: restart the log once it has grown past the limit.
    fn committed(&mut self, conn: &Connection) {
        let len = file_len(&self.wal);
        // A commit that changed nothing (an ack of nothing new) leaves an
        // empty log empty: nothing to truncate later.
        self.dirty = len > 0;
        if len > self.policy.restart_bytes.saturating_mul(RUNAWAY_FACTOR) && !self.warned {
            self.warned = true;
            tracing::warn!(
                wal_bytes = len,
                limit = self.policy.restart_bytes,
                "the write-ahead log keeps growing: checkpoints cannot finish"
            );
        }
        let waiting = self.retry_at.is_some_and(|at| Instant::now() < at);
        if len > self.policy.restart_bytes && !waiting {
            self.run(conn, CheckpointMode::Restart);
        }
    }

    /// Nothing written for `idle_after`: empty the log and cut the file.
    fn idle(&mut self, conn: &Connection) {
        if self.dirty && self.run(conn, CheckpointMode::Truncate) {
            self.dirty = false;
        }
    }

    /// Run a RESTART or TRUNCATE checkpoint on the writer's connection, waiting
    /// at most `checkpoint_wait` for readers. True when it finished.
    fn run(&mut self, conn: &Connection, mode: CheckpointMode) -> bool {
        let started = Instant::now();
        let result = {
            let _one_at_a_time = self.checkpointing.lock().unwrap_or_else(|p| p.into_inner());
            let waited = conn
                .busy_timeout(self.policy.checkpoint_wait)
                .and_then(|()| checkpoint(conn, mode));
            // The writer's own statements keep the long timeout.
            if let Err(e) = conn.busy_timeout(BUSY_TIMEOUT) {
                tracing::warn!(error = %e, "cannot reset the busy timeout");
            }
            waited
        };
        match result {
            Ok(r) if !r.busy => {
                self.retry_at = None;
                self.warned = false;
                tracing::debug!(
                    ?mode,
                    frames = r.log_frames,
                    checkpointed = r.checkpointed_frames,
                    took_ms = started.elapsed().as_millis(),
                    "WAL checkpointed; it starts over"
                );
                true
            }
            Ok(r) => {
                self.retry_at = Some(Instant::now() + self.policy.checkpoint_wait);
                tracing::debug!(
                    ?mode,
                    frames = r.log_frames,
                    checkpointed = r.checkpointed_frames,
                    "WAL checkpoint could not finish: readers busy; trying again later"
                );
                false
            }
            Err(e) => {
                self.retry_at = Some(Instant::now() + self.policy.checkpoint_wait);
                tracing::warn!(error = %e, ?mode, "WAL checkpoint failed");
                false
            }
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
    mut wal: WalKeeper,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut routed: Vec<FreshDelivery> = Vec::new();
    loop {
        let first = match wal.idle_wait() {
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Some(wait) => match rx.recv_timeout(wait) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    wal.idle(&conn);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        };
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
        // Between transactions, after everyone committed has been answered.
        wal.committed(&conn);
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
            Job::RegisterLogin {
                till,
                msn,
                key,
                now_ms,
                reply,
            } => {
                let r = in_savepoint(&mut tx, |c| register_login_in(c, till, &msn, &key, now_ms));
                let r = r.map(|(n, fresh)| {
                    new_routed.extend(fresh);
                    n
                });
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
            Job::Ack { reply, .. }
            | Job::Prune { reply, .. }
            | Job::RegisterLogin { reply, .. } => Done::Count(reply, Err(copy_err(e))),
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

pub(super) fn ingest_one(
    conn: &Connection,
    event: &NewEvent,
    gate: &CheckInGate,
) -> Result<(IngestOutcome, Option<FreshDelivery>), rusqlite::Error> {
    let c = &event.classified;
    // A malformed body too: it was answered 2xx, so the same bytes again are a re-delivery.
    if let Some(outcome) = find_accepted(conn, &event.msn, &c.dedupe_key)? {
        return Ok((outcome, None));
    }

    // Decide where it goes and whether the sender gets a 2xx (`accepted`).
    let (disposition_base, till): (Disposition, Option<(TillKey, String)>) =
        match (&c.kind, &c.route) {
            (StoredKind::Malformed, _) => (Disposition::Rejected, None),
            _ if event.hold.is_some() => (Disposition::Unrouted, None),
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
            (StoredKind::LoginPing, RouteKey::Login(key)) => {
                match login_till(conn, &event.msn, key)? {
                    Some((key, till_id)) => (
                        Disposition::Routed {
                            till: key,
                            till_id: till_id.clone(),
                            seq: 0,
                        },
                        Some((key, till_id)),
                    ),
                    None => (Disposition::Unrouted, None),
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
    // A check-in nobody can take is answered non-2xx, so it does not count as
    // accepted (a retry is filed again). A malformed body is answered 2xx (kept
    // for operators) and takes part in de-duplication like any other.
    let accepted = !matches!(
        (&disposition_base, c.kind),
        (Disposition::Refused { .. }, _) | (Disposition::Unrouted, StoredKind::CheckedIn)
    );
    let reason = match &disposition_base {
        Disposition::Rejected => c.reason.clone(),
        Disposition::Refused { .. } => Some("till offline".to_string()),
        Disposition::Expired => Some("customer token expired before delivery".to_string()),
        Disposition::Unrouted if event.hold.is_some() => event.hold.map(|h| h.reason().to_string()),
        Disposition::Unrouted => Some(super::unrouted_reason(&c.route).to_string()),
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
        (Some((key, _)), Some(prev)) => Some(FreshDelivery::new(*key, prev, id, c, event)),
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

/// The active till that registered the login with this key, in store `msn`, or in any store
/// of the partner when `msn` is `partner:<id>` (a ping on a partner URL names no store).
fn login_till(
    conn: &Connection,
    msn: &str,
    key: &str,
) -> Result<Option<(TillKey, String)>, rusqlite::Error> {
    conn.prepare_cached(
        "SELECT t.pk, t.till_id FROM login_routes l
         JOIN tills t ON t.pk = l.till_pk JOIN stores s ON s.msn = l.msn
         WHERE l.login_key = ?2 AND t.revoked_at_ms IS NULL
           AND (l.msn = ?1 OR 'partner:' || s.partner_id = ?1)",
    )?
    .query_row(params![msn, key], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

/// Register a login for a till, and file again for it the pings of that login kept unrouted,
/// on the store's URL or its partner's (each as a new event, so the till's cursor sees it;
/// the kept row points at it).
fn register_login_in(
    conn: &Connection,
    till: TillKey,
    msn: &str,
    key: &str,
    now_ms: i64,
) -> Result<(u64, Vec<FreshDelivery>), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT INTO login_routes (msn, login_key, till_pk, created_at_ms)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (msn, login_key)
         DO UPDATE SET till_pk = excluded.till_pk, created_at_ms = excluded.created_at_ms",
    )?
    .execute(params![msn, key, till, now_ms])?;
    type Kept = (i64, Option<String>, i64, Vec<u8>);
    let kept: Vec<Kept> = conn
        .prepare_cached(
            "SELECT id, webhook_id, received_at_ms, body FROM events
             WHERE msn IN (?1, (SELECT 'partner:' || partner_id FROM stores WHERE msn = ?1))
               AND route_key = ?2 AND kind = 'login_ping' AND status = 'unrouted'
               AND accepted = 1 AND replayed_as IS NULL
             ORDER BY id",
        )?
        .query_map(params![msn, key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let gate: CheckInGate = Arc::new(|_| true);
    let mut fresh = Vec::new();
    let mut refiled = 0;
    for (id, webhook_id, received_at_ms, body) in kept {
        // The kept row gives its place in de-duplication to the new one.
        conn.prepare_cached("UPDATE events SET accepted = 0 WHERE id = ?1")?
            .execute([id])?;
        let classified =
            crate::relay::classify::classify(&body, received_at_ms, Duration::from_secs(900));
        let event = NewEvent {
            hold: None,
            msn: msn.to_string(),
            webhook_id,
            received_at_ms,
            body: body.into(),
            classified,
        };
        let (outcome, delivery) = ingest_one(conn, &event, &gate)?;
        conn.prepare_cached("UPDATE events SET replayed_as = ?2 WHERE id = ?1")?
            .execute(params![id, outcome.event_id])?;
        fresh.extend(delivery);
        refiled += 1;
    }
    Ok((refiled, fresh))
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
            ("rejected", _, _) => Disposition::Rejected,
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
            // The newest event always stays: SQLite gives a new row the largest id + 1, so
            // removing it would hand its id (a till's cursor may be there) to the next event,
            // which that till would then skip.
            "DELETE FROM events WHERE id IN (
               SELECT id FROM events
               WHERE (received_at_ms < ?2
                      OR (received_at_ms < ?1 AND (
                            status <> 'routed'
                            OR acked_at_ms < ?1
                            OR actionable_until_ms < ?1)))
                 AND id < (SELECT max(id) FROM events)
               LIMIT ?3)",
        )?
        .execute(params![done_before, undelivered_before, PRUNE_CHUNK])?;
    conn.prepare_cached("DELETE FROM login_routes WHERE created_at_ms < ?1")?
        .execute([now_ms.saturating_sub(super::LOGIN_ROUTE_RETENTION_MS)])?;
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
            hold: None,
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

    /// A small log limit, so a short burst passes it many times. Readers get
    /// a long grace: on a loaded machine a reader thread can be descheduled
    /// mid-read for a few hundred milliseconds, and the bound below holds only
    /// while readers finish within `checkpoint_wait`.
    fn wal_policy_for_tests() -> WalPolicy {
        WalPolicy {
            restart_bytes: 256 * 1024,
            idle_after: Duration::from_millis(300),
            checkpoint_wait: Duration::from_secs(5),
            passive_every: Duration::from_millis(100),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_a_sustained_burst_and_is_emptied_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let db = RelayDb::open(&path).unwrap();
        db.add_store("123456", "Shop").unwrap();
        let t = db.add_till("123456", "t1", "qr-1").unwrap();
        drop(db);
        let policy = wal_policy_for_tests();
        let storage =
            Arc::new(SqliteStorage::open_with(&path, Synchronous::Normal, policy).unwrap());
        let till = storage
            .till_by_token_hash(crate::relay::store::token_hash(&t.token))
            .await
            .unwrap()
            .unwrap()
            .key;
        let wal = wal_path(&path);
        let db_before = file_len(&path);

        // Sixteen senders keep the writer busy without a pause, while a till
        // keeps reading and acknowledging (so checkpoints meet readers and
        // acks, as in the server).
        const SENDERS: usize = 16;
        const EACH: usize = 500;
        let largest_wal = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut senders = Vec::new();
        for s in 0..SENDERS {
            let (storage, wal, largest_wal) = (storage.clone(), wal.clone(), largest_wal.clone());
            senders.push(tokio::spawn(async move {
                for i in 0..EACH {
                    let body = payment(&format!("t1-{s:02}-{i:05}"));
                    let o = storage
                        .ingest(event(&body, 1_000), open_gate())
                        .await
                        .unwrap();
                    assert!(matches!(o.disposition, Disposition::Routed { .. }));
                    // Committed before it resolved: the log is at its fullest now.
                    largest_wal.fetch_max(file_len(&wal), std::sync::atomic::Ordering::Relaxed);
                }
            }));
        }
        let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let reader = {
            let (storage, reading) = (storage.clone(), reading.clone());
            tokio::spawn(async move {
                let (mut cursor, mut acked) = (0, 0);
                while reading.load(std::sync::atomic::Ordering::Relaxed) {
                    let batch = storage
                        .deliveries_after(till, cursor, 2_000, 256)
                        .await
                        .unwrap();
                    if let Some(last) = batch.last() {
                        assert!(batch.windows(2).all(|w| w[0].seq < w[1].seq));
                        assert!(batch[0].seq > cursor);
                        cursor = last.seq;
                        acked += storage
                            .ack(till, vec![], Some(cursor), 2_000)
                            .await
                            .unwrap();
                    }
                }
                acked
            })
        };
        for s in senders {
            s.await.unwrap();
        }
        reading.store(false, std::sync::atomic::Ordering::Relaxed);
        let acked_during_burst = reader.await.unwrap();
        assert!(acked_during_burst > 0);

        // The bound: the restart threshold plus what one group commit appends
        // before the writer looks at the file again. A commit here holds at
        // most 16 events and one ack. Each event dirties a handful of pages
        // (the table's last leaf, one leaf of each of the four indexes, the odd
        // split): 8 pages of 4 KiB is generous. An ack of up to 256 events
        // rewrites the leaves holding them and their index entries: 64 pages.
        let bound = policy.restart_bytes + (16 * 8 + 64) * 4096;
        let largest = largest_wal.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            largest <= bound,
            "WAL reached {largest} bytes; bound {bound}"
        );

        // Idle: the writer empties the log and cuts the file to zero bytes.
        let deadline = Instant::now() + Duration::from_secs(30);
        while file_len(&wal) > 0 {
            assert!(
                Instant::now() < deadline,
                "WAL still {} bytes",
                file_len(&wal)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Every page the burst changed went through the log at least once, so
        // without restarts the log would have ended larger than the bound.
        let grown = file_len(&path) - db_before;
        assert!(
            grown > bound,
            "the burst wrote only {grown} bytes to the database"
        );

        // Nothing lost, in order, once each, after all the restarts.
        let mut seqs = Vec::new();
        let mut after = 0;
        loop {
            let batch = storage
                .deliveries_after(till, after, 2_000, 1_000)
                .await
                .unwrap();
            let Some(last) = batch.last() else { break };
            after = last.seq;
            seqs.extend(batch.iter().map(|e| e.seq));
        }
        assert_eq!(seqs.len(), SENDERS * EACH);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        // Acks during the burst were kept; acks after a truncation land too.
        assert_eq!(
            acked_during_burst + storage.ack(till, vec![], Some(after), 3_000).await.unwrap(),
            (SENDERS * EACH) as u64
        );
        assert_eq!(storage.counts(3_000).await.unwrap().pending, 0);
    }

    #[tokio::test]
    async fn a_log_left_by_an_earlier_run_is_truncated_once_idle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let db = RelayDb::open(&path).unwrap();
        db.add_store("123456", "Shop").unwrap();
        // Another connection keeps the log from being removed at close.
        let keep = Connection::open(&path).unwrap();
        let _: i64 = keep
            .query_row("SELECT count(*) FROM stores", [], |r| r.get(0))
            .unwrap();
        for i in 0..50 {
            db.add_till("123456", &format!("t{i}"), &format!("qr-{i}"))
                .unwrap();
        }
        drop(db);
        let wal = wal_path(&path);
        assert!(file_len(&wal) > 0);
        let _storage =
            SqliteStorage::open_with(&path, Synchronous::Normal, wal_policy_for_tests()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while file_len(&wal) > 0 {
            assert!(
                Instant::now() < deadline,
                "WAL still {} bytes",
                file_len(&wal)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(keep);
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
        // Past the undelivered retention even the unacknowledged one goes; the newest event
        // stays, so the next one never gets an id a cursor has passed.
        assert_eq!(storage.prune(policy, 200_000).await.unwrap(), 1);
        let left = storage
            .deliveries_after(till, 0, 200_000, 10)
            .await
            .unwrap();
        assert_eq!(
            left.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![seq(&recent_acked)]
        );
        let next = ingest(payment("t1-e"), 200_000).await.unwrap();
        assert!(seq(&next) > seq(&recent_acked), "ids never go back");
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

//! The relay's storage: the [`RelayStorage`] interface the server runs on, its
//! SQLite implementation, and provisioning ([`RelayDb`]: stores, webhook
//! secrets, tills) used by the CLI and by demo mode.
//!
//! The interface is small on purpose so a shared database can back several
//! relay instances. Whatever backs it must keep one promise: the sequence
//! numbers of one till's events become visible in increasing order (a cursor
//! must never skip a later-committed lower number). SQLite keeps it with a
//! single writer; PostgreSQL ([`PgStorage`]) by locking the till's row while
//! an event for it is filed.

mod admin;
mod postgres;
mod provisioning;
mod sqlite;

pub use admin::RelayAdmin;
pub use postgres::{PgOptions, PgStorage};
pub use provisioning::{
    EventFilter, EventSummary, NewTill, RelayDb, StoreInfo, TillInfo, generate_till_token,
    token_hash,
};
pub use sqlite::{SqliteStorage, Synchronous};

use crate::relay::classify::Classified;
use crate::relay::wire::WireEvent;
use axum::body::Bytes;
use futures_util::future::BoxFuture;
use std::path::PathBuf;
use std::sync::Arc;

/// A till's primary key in storage.
pub type TillKey = i64;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum RelayStoreError {
    #[error("relay database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("relay database {path}: schema migration failed: {source}")]
    Migration {
        path: PathBuf,
        #[source]
        source: rusqlite_migration::Error,
    },
    #[error("relay database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("unknown store (MSN {0})")]
    UnknownStore(String),
    #[error("unknown partner {0}")]
    UnknownPartner(String),
    #[error("partner {0} already exists")]
    PartnerExists(String),
    #[error("invalid partner id {0:?}: expected 1 to 64 ASCII letters, digits, '-' or '_'")]
    InvalidPartnerId(String),
    #[error("store with MSN {0} already exists")]
    StoreExists(String),
    #[error("invalid MSN {0:?}: expected 1 to 32 ASCII letters or digits")]
    InvalidMsn(String),
    #[error("invalid till id {0:?}: expected ^[a-z0-9]{{1,16}}$")]
    InvalidTillId(String),
    #[error("invalid merchantQrId {0:?}: expected 1 to 128 printable characters")]
    InvalidMerchantQrId(String),
    #[error("invalid {0}: must not be empty")]
    Empty(&'static str),
    #[error("till {till_id} already exists in store {msn}")]
    TillExists { msn: String, till_id: String },
    #[error("merchantQrId {merchant_qr_id} is already used by till {till_id} in store {msn}")]
    QrInUse {
        msn: String,
        merchant_qr_id: String,
        till_id: String,
    },
    #[error("no active till {till_id} in store {msn}")]
    UnknownTill { msn: String, till_id: String },
    #[error("relay database (PostgreSQL): {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("relay database (PostgreSQL): no connection: {0}")]
    PostgresPool(#[from] deadpool_postgres::PoolError),
    #[error("relay database (PostgreSQL): invalid URL: {0}")]
    PostgresUrl(String),
    #[error("no event {0}")]
    UnknownEvent(i64),
    #[error("event {id} is {status}: only rejected, unrouted or refused events can be replayed")]
    NotReplayable { id: i64, status: String },
    #[error("event {id} was already replayed as event {new_id}")]
    AlreadyReplayed { id: i64, new_id: i64 },
    #[error("relay storage writer has stopped")]
    WriterGone,
    #[error("relay storage task failed: {0}")]
    Task(String),
}

/// One webhook registration's secret. `Debug` never prints the secret.
#[derive(Clone)]
pub struct WebhookSecret {
    pub webhook_id: String,
    pub secret: String,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecret")
            .field("webhook_id", &self.webhook_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// An authenticated till.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillIdentity {
    pub key: TillKey,
    pub msn: String,
    pub till_id: String,
    pub merchant_qr_id: String,
}

/// An authenticated webhook to file.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub msn: String,
    /// The registration whose secret verified the signature.
    pub webhook_id: Option<String>,
    pub received_at_ms: i64,
    pub body: Bytes,
    pub classified: Classified,
    /// Keep it unrouted instead of routing it, for this reason.
    pub hold: Option<Hold>,
}

/// Why an authenticated event is kept rather than routed, whatever its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// A partner webhook naming a sales unit that is not one of the partner's stores here.
    UnknownMsn,
    /// A store's webhook whose body names another sales unit.
    MsnMismatch,
}

impl Hold {
    pub fn reason(self) -> &'static str {
        match self {
            Hold::UnknownMsn => "msn is not a store of this partner",
            Hold::MsnMismatch => "msn in the body is not the store of the URL",
        }
    }

    /// The hold for a body received on a store's URL: the body's `msn`, when it names one,
    /// must be the store's.
    pub fn for_store(store_msn: &str, classified: &Classified) -> Option<Hold> {
        match &classified.msn {
            Some(m) if m != store_msn => Some(Hold::MsnMismatch),
            _ => None,
        }
    }
}

/// A partner: one webhook registration without MSN feeds all its stores.
#[derive(Debug, Clone)]
pub struct PartnerKeys {
    pub secrets: Vec<WebhookSecret>,
    /// The MSNs of the partner's stores here.
    pub msns: Vec<String>,
}

/// Decides, at the moment a check-in is filed, whether its till can act on it
/// (true) or the customer should rather be told at once (false).
pub type CheckInGate = Arc<dyn Fn(TillKey) -> bool + Send + Sync>;

/// A delivery just committed, handed to the server so a connected till can
/// get it without a read back from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshDelivery {
    pub till: TillKey,
    /// The till's previous sequence number at commit time (0: none). A stream
    /// whose last sent number is exactly this can send `event` next without
    /// missing anything; otherwise it reads from storage.
    pub prev_seq: u64,
    pub actionable_until_ms: Option<i64>,
    pub event: WireEvent,
}

impl FreshDelivery {
    /// Event `id` just filed for `till` from `event` as classified by `cl`.
    pub(super) fn new(
        till: TillKey,
        prev_seq: i64,
        id: i64,
        cl: &crate::relay::classify::Classified,
        event: &NewEvent,
    ) -> FreshDelivery {
        FreshDelivery {
            till,
            prev_seq: prev_seq.unsigned_abs(),
            actionable_until_ms: cl.actionable_until_ms,
            event: WireEvent {
                seq: id.unsigned_abs(),
                kind: crate::relay::wire::EventKind::of_stored(cl.kind.as_str())
                    .unwrap_or(crate::relay::wire::EventKind::Payment),
                received_at_ms: event.received_at_ms,
                payload: String::from_utf8_lossy(&event.body).into_owned(),
            },
        }
    }
}

/// Told, after each commit, about the new deliveries.
pub type CommitListener = Arc<dyn Fn(Vec<FreshDelivery>) + Send + Sync>;

/// What became of a filed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Queued for a till; `seq` is its delivery sequence number.
    Routed {
        till: TillKey,
        till_id: String,
        seq: u64,
    },
    /// Kept for operators: nobody to deliver it to.
    Unrouted,
    /// A check-in whose till has been offline too long; not delivered.
    Refused { till_id: String },
    /// A check-in whose customer token had already expired; not delivered.
    Expired,
    /// A malformed body (valid signature); kept for operators.
    Rejected,
}

impl Disposition {
    pub fn status(&self) -> &'static str {
        match self {
            Disposition::Routed { .. } => "routed",
            Disposition::Unrouted => "unrouted",
            Disposition::Refused { .. } => "refused",
            Disposition::Expired => "expired",
            Disposition::Rejected => "rejected",
        }
    }
}

/// The result of [`RelayStorage::ingest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    pub event_id: i64,
    pub disposition: Disposition,
    /// The same event had been accepted before; nothing new was stored.
    pub duplicate: bool,
}

/// Retention of filed events.
#[derive(Debug, Clone, Copy)]
pub struct RetentionPolicy {
    /// Delivered (acked) events, expired check-ins and unrouted/refused/rejected
    /// events older than this are removed.
    pub delivered_ms: i64,
    /// Events never acknowledged by their till are removed after this.
    pub undelivered_ms: i64,
}

/// How long a login's registration is kept: a login lives at most 15 minutes
/// (`requested_expiry` ≤ 900 s), a day leaves room for a late ping.
pub const LOGIN_ROUTE_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// Why a kept event is unrouted, as stored for operators.
pub(super) fn unrouted_reason(route: &crate::relay::classify::RouteKey) -> &'static str {
    use crate::relay::classify::RouteKey;
    match route {
        RouteKey::MerchantQr(_) => "no till has this merchantQrId",
        RouteKey::Reference { till_id: None, .. } => "reference has no <till_id>- prefix",
        RouteKey::Reference { .. } => "no active till for this reference",
        RouteKey::Login(_) => "no till has registered this login (yet)",
        RouteKey::None => "event type not routed",
    }
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageCounts {
    /// Kept unrouted and not filed again since (by a replay or a login's registration).
    pub unrouted: u64,
    /// Routed, still actionable, not yet acknowledged.
    pub pending: u64,
    /// Receive time of the oldest pending event.
    pub oldest_pending_ms: Option<i64>,
}

/// Where the relay keeps its data, from `--db`: a `postgres://` (or `postgresql://`) URL
/// selects PostgreSQL, anything else is a SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum RelayDatabase {
    Sqlite(PathBuf),
    Postgres(String),
}

impl RelayDatabase {
    /// A PostgreSQL URL with its password hidden, for logs and errors.
    pub fn redacted_url(url: &str) -> String {
        postgres::redacted(url)
    }

    pub fn from_arg(arg: &std::path::Path) -> RelayDatabase {
        match arg.to_str() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                RelayDatabase::Postgres(url.to_string())
            }
            _ => RelayDatabase::Sqlite(arg.to_path_buf()),
        }
    }
}

/// Never prints a PostgreSQL password.
impl std::fmt::Debug for RelayDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelayDatabase::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            RelayDatabase::Postgres(url) => f
                .debug_tuple("Postgres")
                .field(&postgres::redacted(url))
                .finish(),
        }
    }
}

/// A wake-up from another relay instance (through the database): new events may be waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    Till(TillKey),
    /// Wake-ups may have been missed (the listening connection was lost): every till.
    All,
}

/// Told about wake-ups from other instances.
pub type WakeListener = Arc<dyn Fn(Wake) + Send + Sync>;

/// What `kasse-relay events replay` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// Filed again as a new event (a new id, so the till's cursor sees it).
    Filed(IngestOutcome),
    /// Still not understood; nothing new was filed.
    StillRejected { reason: Option<String> },
    /// An accepted event with the same identity exists (Vipps delivered it again meanwhile).
    Duplicate { event_id: i64 },
}

/// Whether an event with `status` may be replayed (routed and expired ones never are).
pub(crate) fn check_replayable(
    id: i64,
    status: &str,
    replayed_as: Option<i64>,
) -> Result<(), RelayStoreError> {
    if let Some(new_id) = replayed_as {
        return Err(RelayStoreError::AlreadyReplayed { id, new_id });
    }
    match status {
        "rejected" | "unrouted" | "refused" => Ok(()),
        other => Err(RelayStoreError::NotReplayable {
            id,
            status: other.to_string(),
        }),
    }
}

/// The storage interface the server runs on.
pub trait RelayStorage: Send + Sync + 'static {
    /// The secrets of a store's webhook registrations; `None` for an unknown MSN.
    fn store_secrets(
        &self,
        msn: String,
    ) -> BoxFuture<'static, Result<Option<Vec<WebhookSecret>>, RelayStoreError>>;

    /// A partner's webhook secrets and stores; `None` for an unknown partner.
    fn partner(
        &self,
        partner_id: String,
    ) -> BoxFuture<'static, Result<Option<PartnerKeys>, RelayStoreError>>;

    /// The active till holding a token with this SHA-256.
    fn till_by_token_hash(
        &self,
        hash: [u8; 32],
    ) -> BoxFuture<'static, Result<Option<TillIdentity>, RelayStoreError>>;

    /// File an authenticated webhook durably, routing it. Resolves only once
    /// the event is committed.
    fn ingest(
        &self,
        event: NewEvent,
        gate: CheckInGate,
    ) -> BoxFuture<'static, Result<IngestOutcome, RelayStoreError>>;

    /// A till's deliveries after `after`, in order, skipping check-ins that are
    /// no longer actionable at `now_ms`.
    fn deliveries_after(
        &self,
        till: TillKey,
        after: u64,
        now_ms: i64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<WireEvent>, RelayStoreError>>;

    /// Record acknowledgements: the listed sequence numbers, plus everything up
    /// to `through` when given. Resolves to the number newly acknowledged.
    fn ack(
        &self,
        till: TillKey,
        seqs: Vec<u64>,
        through: Option<u64>,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>>;

    /// Remove old events per the policy; resolves to the number removed.
    fn prune(
        &self,
        policy: RetentionPolicy,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>>;

    fn counts(&self, now_ms: i64) -> BoxFuture<'static, Result<StorageCounts, RelayStoreError>>;

    /// Record that `till` (of store `msn`) started the login whose [`login_key`] is `key`, so
    /// its ping is routed there. Pings for it already kept unrouted (they came first) are
    /// filed again for the till as new events. Resolves to how many were.
    ///
    /// [`login_key`]: crate::relay::classify::login_key
    fn register_login(
        &self,
        till: TillKey,
        msn: String,
        key: String,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>>;

    /// Called after each commit with the new deliveries, in sequence order.
    fn set_commit_listener(&self, listener: CommitListener);

    /// Whether several relay instances may share this storage. Then a till
    /// counts as reachable for a check-in only through the presence every
    /// instance records ([`RelayStorage::touch_tills`]), not through a grace
    /// period after this instance started.
    fn shared(&self) -> bool {
        false
    }

    /// Called on wake-ups committed by other processes. Storage that only this
    /// process writes has none (the default); a till's stream then sees what an
    /// operator's command filed at its next heartbeat read.
    fn set_wake_listener(&self, _listener: WakeListener) {}

    /// Record that these tills are connected to this instance now, so other
    /// instances sharing the storage let their check-ins through. A no-op for
    /// storage only one instance uses (the default).
    fn touch_tills(
        &self,
        _tills: Vec<TillKey>,
        _now_ms: i64,
    ) -> BoxFuture<'static, Result<(), RelayStoreError>> {
        Box::pin(async { Ok(()) })
    }
}

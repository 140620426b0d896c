//! PostgreSQL behind [`RelayStorage`], for several relay instances on one database.
//!
//! * Committed before 2xx: each webhook is filed in its own transaction
//!   (`synchronous_commit` as the server has it, `on` by default) and answered
//!   only after `COMMIT` returned.
//! * Per-till order: filing an event for a till first locks the till's row
//!   (`SELECT ... FOR UPDATE`), so one till's events take their ids from the
//!   sequence one after another, in commit order; a cursor never skips one.
//! * De-duplication: the partial unique index on `(msn, dedupe_key)` of
//!   accepted events; a concurrent duplicate filed by another instance waits
//!   for the first and is then answered as a duplicate.
//! * Wake-ups: the transaction that routes an event also runs
//!   `pg_notify('kasse_relay', '<instance> <till>')`, delivered at commit to
//!   every instance's listening connection; each wakes its connected till. A
//!   lost listening connection is re-opened and then wakes every till (what
//!   was sent meanwhile is gone).
//! * Presence: instances record in `till_presence` when they last had a
//!   connection from a till, so a check-in filed by instance A for a till
//!   connected to instance B is routed, not refused.

use super::{
    CheckInGate, CommitListener, Disposition, FreshDelivery, Hold, IngestOutcome, NewEvent,
    PartnerKeys, RelayStorage, RelayStoreError, ReplayOutcome, RetentionPolicy, StorageCounts,
    TillIdentity, TillKey, Wake, WakeListener, WebhookSecret, check_replayable,
};
use crate::relay::classify::{RouteKey, StoredKind, classify};
use crate::relay::wire::{EventKind, WireEvent};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_postgres::NoTls;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The relay schema on PostgreSQL: `migrations/relay-postgres/`, applied in order and recorded
/// in `kasse_relay_migrations`. Never edit a released file; add the next one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init.sql",
        include_str!("../../../migrations/relay-postgres/0001_init.sql"),
    ),
    (
        "0002_partners.sql",
        include_str!("../../../migrations/relay-postgres/0002_partners.sql"),
    ),
    (
        "0003_login_routes.sql",
        include_str!("../../../migrations/relay-postgres/0003_login_routes.sql"),
    ),
];

/// The NOTIFY channel for wake-ups.
const CHANNEL: &str = "kasse_relay";
/// Serialises migrations of instances starting at once.
const MIGRATION_LOCK: i64 = 0x6b61_7373_6572_656c; // "kasserel"

/// Settings beside the URL.
#[derive(Debug, Clone, Copy)]
pub struct PgOptions {
    /// Connections in the pool.
    pub max_connections: usize,
    /// Longest wait for a connection (then the webhook is answered 503).
    pub connect_timeout: Duration,
    /// A till seen by any instance no longer ago than this can take a check-in.
    pub checkin_offline_grace: Duration,
}

impl Default for PgOptions {
    fn default() -> PgOptions {
        PgOptions {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            checkin_offline_grace: Duration::from_secs(30),
        }
    }
}

/// `url` with its password replaced, for logs and errors.
pub(super) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<invalid URL>".to_string(),
    }
}

fn parse_config(url: &str, opts: &PgOptions) -> Result<tokio_postgres::Config, RelayStoreError> {
    let mut cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| RelayStoreError::PostgresUrl(e.to_string()))?;
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(opts.connect_timeout);
    }
    if cfg.get_application_name().is_none() {
        cfg.application_name("kasse-relay");
    }
    Ok(cfg)
}

/// TLS to PostgreSQL when the URL says `sslmode=require`: the server's certificate is
/// verified against the PEM file named by `PGSSLROOTCERT` (as libpq does), else the system's
/// roots. Any other `sslmode` (`prefer`, the default, or `disable`) connects over plain TCP.
fn tls_for(cfg: &tokio_postgres::Config) -> Result<Option<MakeRustlsConnect>, RelayStoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    if cfg.get_ssl_mode() != tokio_postgres::config::SslMode::Require {
        return Ok(None);
    }
    let tls_err = |e: String| RelayStoreError::PostgresUrl(format!("TLS: {e}"));
    let mut roots = rustls::RootCertStore::empty();
    match std::env::var_os("PGSSLROOTCERT") {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(&path)
                .map_err(|e| tls_err(format!("PGSSLROOTCERT {}: {e}", path.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| tls_err(format!("PGSSLROOTCERT: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| tls_err(format!("PGSSLROOTCERT: {e}")))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped, as everywhere.
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(tls_err(
            "no root certificates to verify the server with".into(),
        ));
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// Connect a pool and bring the schema up to date.
pub(super) async fn connect_pool(url: &str, opts: &PgOptions) -> Result<Pool, RelayStoreError> {
    let cfg = parse_config(url, opts)?;
    let recycling = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match tls_for(&cfg)? {
        Some(tls) => Manager::from_config(cfg, tls, recycling),
        None => Manager::from_config(cfg, NoTls, recycling),
    };
    let pool = Pool::builder(manager)
        .max_size(opts.max_connections.max(2))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(opts.connect_timeout))
        .create_timeout(Some(opts.connect_timeout))
        .recycle_timeout(Some(opts.connect_timeout))
        .build()
        .map_err(|e| RelayStoreError::Task(format!("PostgreSQL pool: {e}")))?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Apply the migrations not yet recorded, all in one transaction under an advisory lock.
async fn migrate(pool: &Pool) -> Result<(), RelayStoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS kasse_relay_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let applied: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM kasse_relay_migrations",
            &[],
        )
        .await?
        .get(0);
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        if version <= applied {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO kasse_relay_migrations (version, name) VALUES ($1, $2)",
            &[&version, name],
        )
        .await?;
        tracing::info!(migration = name, "relay database (PostgreSQL) migrated");
    }
    tx.commit().await?;
    Ok(())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// PostgreSQL storage: a connection pool and a listening connection for wake-ups.
pub struct PgStorage {
    pool: Pool,
    /// Tells this instance's own notifications from the others'.
    instance: String,
    opts: PgOptions,
    listener: Arc<RwLock<Option<CommitListener>>>,
    wake: Arc<RwLock<Option<WakeListener>>>,
    /// Dropping it stops the listening task.
    _stop: tokio::sync::watch::Sender<()>,
}

impl PgStorage {
    /// Connect, migrate, and start listening for other instances' wake-ups.
    pub async fn connect(url: &str, opts: PgOptions) -> Result<PgStorage, RelayStoreError> {
        let pool = connect_pool(url, &opts).await?;
        let mut nonce = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
        let instance = hex::encode(nonce);
        let wake: Arc<RwLock<Option<WakeListener>>> = Arc::new(RwLock::new(None));
        let (stop, stopped) = tokio::sync::watch::channel(());
        let cfg = parse_config(url, &opts)?;
        let tls = tls_for(&cfg)?;
        tokio::spawn(listen_loop(
            cfg,
            tls,
            instance.clone(),
            wake.clone(),
            stopped,
        ));
        Ok(PgStorage {
            pool,
            instance,
            opts,
            listener: Arc::new(RwLock::new(None)),
            wake,
            _stop: stop,
        })
    }

    /// Re-classify a kept event and file it again (see [`ReplayOutcome`]).
    pub async fn replay(
        &self,
        id: i64,
        now_ms: i64,
        checkin_ttl: Duration,
    ) -> Result<ReplayOutcome, RelayStoreError> {
        replay_on(&self.pool, &self.instance, id, now_ms, checkin_ttl).await
    }
}

/// Re-classify a kept event and file it again as a new event (a new id, so the till's cursor
/// sees it, and a NOTIFY that wakes it on any instance); the old row points at the new one.
pub(super) async fn replay_on(
    pool: &Pool,
    instance: &str,
    id: i64,
    now_ms: i64,
    checkin_ttl: Duration,
) -> Result<ReplayOutcome, RelayStoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT msn, webhook_id, received_at_ms, status, body, replayed_as
             FROM events WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
    else {
        return Err(RelayStoreError::UnknownEvent(id));
    };
    let status: String = row.get(3);
    check_replayable(id, &status, row.get(5))?;
    let received_at_ms: i64 = row.get(2);
    let body: Vec<u8> = row.get(4);
    let classified = classify(&body, received_at_ms, checkin_ttl);
    if classified.kind == StoredKind::Malformed {
        return Ok(ReplayOutcome::StillRejected {
            reason: classified.reason,
        });
    }
    // The kept row gives its place in de-duplication to the new one.
    tx.execute("UPDATE events SET accepted = false WHERE id = $1", &[&id])
        .await?;
    let msn: String = row.get(0);
    let event = NewEvent {
        hold: Hold::for_store(&msn, &classified),
        msn,
        webhook_id: row.get(1),
        // A check-in is judged by whether its token still lives now.
        received_at_ms: if classified.kind == StoredKind::CheckedIn {
            now_ms
        } else {
            received_at_ms
        },
        body: body.into(),
        classified,
    };
    let gate: CheckInGate = Arc::new(|_| true);
    match file_in(&tx, &event, &gate, instance, 0, now_ms).await? {
        // Dropping the transaction rolls it back: the kept row stays as it was.
        Filed::Duplicate(dup) => Ok(ReplayOutcome::Duplicate {
            event_id: dup.event_id,
        }),
        Filed::New(outcome, _) => {
            tx.execute(
                "UPDATE events SET replayed_as = $2 WHERE id = $1",
                &[&id, &outcome.event_id],
            )
            .await?;
            tx.commit().await?;
            Ok(ReplayOutcome::Filed(outcome))
        }
    }
}

/// The result of filing inside a transaction.
enum Filed {
    New(IngestOutcome, Option<FreshDelivery>),
    Duplicate(IngestOutcome),
}

/// The accepted event with this identity, if any.
async fn find_accepted(
    c: &impl GenericClient,
    msn: &str,
    dedupe_key: &str,
) -> Result<Option<IngestOutcome>, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached(
            "SELECT e.id, e.status, e.till_pk, t.till_id FROM events e
             LEFT JOIN tills t ON t.pk = e.till_pk
             WHERE e.msn = $1 AND e.dedupe_key = $2 AND e.accepted",
        )
        .await?;
    let Some(row) = c.query_opt(&stmt, &[&msn, &dedupe_key]).await? else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    let status: String = row.get(1);
    let till: Option<TillKey> = row.get(2);
    let till_id: Option<String> = row.get(3);
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
    Ok(Some(IngestOutcome {
        event_id: id,
        disposition,
        duplicate: true,
    }))
}

/// The active till with this `merchantQrId` or till id, its row locked until commit.
async fn lock_till(
    c: &impl GenericClient,
    msn: &str,
    route: &RouteKey,
) -> Result<Option<(TillKey, String)>, tokio_postgres::Error> {
    let (sql, key) = match route {
        RouteKey::MerchantQr(qr) => (
            "SELECT pk, till_id FROM tills
             WHERE msn = $1 AND merchant_qr_id = $2 AND revoked_at_ms IS NULL FOR UPDATE",
            qr.as_str(),
        ),
        RouteKey::Reference {
            till_id: Some(id), ..
        } => (
            "SELECT pk, till_id FROM tills
             WHERE msn = $1 AND till_id = $2 AND revoked_at_ms IS NULL FOR UPDATE",
            id.as_str(),
        ),
        RouteKey::Login(key) => {
            // Filing a ping and registering its login are serialised (see `lock_login`).
            lock_login(c, key).await?;
            (
                "SELECT t.pk, t.till_id FROM login_routes l
                 JOIN tills t ON t.pk = l.till_pk JOIN stores s ON s.msn = l.msn
                 WHERE l.login_key = $2 AND t.revoked_at_ms IS NULL
                   AND (l.msn = $1 OR 'partner:' || s.partner_id = $1)
                 FOR UPDATE OF t",
                key.as_str(),
            )
        }
        _ => return Ok(None),
    };
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&stmt, &[&msn, &key])
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// Serialise, until commit, everything done with one login (keyed on the login alone, so a
/// ping on a partner URL and a store's registration meet too): a ping filed on one instance
/// and the login's registration on another must not both miss each other (the ping finding
/// no registration, the registration no kept ping).
async fn lock_login(c: &impl GenericClient, key: &str) -> Result<(), tokio_postgres::Error> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    let lock = i64::from_be_bytes(b);
    let stmt = c.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    c.execute(&stmt, &[&lock]).await?;
    Ok(())
}

/// File one event in the caller's transaction: the same decisions as the
/// SQLite writer (see `sqlite::ingest_one`), plus the presence of tills
/// connected to other instances and the NOTIFY for them.
async fn file_in(
    c: &impl GenericClient,
    event: &NewEvent,
    gate: &CheckInGate,
    instance: &str,
    grace_ms: i64,
    now_ms: i64,
) -> Result<Filed, tokio_postgres::Error> {
    let cl = &event.classified;
    if let Some(outcome) = find_accepted(c, &event.msn, &cl.dedupe_key).await? {
        return Ok(Filed::Duplicate(outcome));
    }
    let routable = matches!(
        (&cl.kind, &cl.route),
        (StoredKind::CheckedIn, RouteKey::MerchantQr(_))
            | (StoredKind::LoginPing, RouteKey::Login(_))
            | (
                StoredKind::Payment,
                RouteKey::Reference {
                    till_id: Some(_),
                    ..
                }
            )
    );
    let found = if routable && event.hold.is_none() {
        lock_till(c, &event.msn, &cl.route).await?
    } else {
        None
    };
    let disposition_base = match (&cl.kind, found) {
        (StoredKind::Malformed, _) => Disposition::Rejected,
        (StoredKind::CheckedIn, _)
            if cl
                .actionable_until_ms
                .is_some_and(|until| until <= event.received_at_ms) =>
        {
            Disposition::Expired
        }
        (StoredKind::CheckedIn, Some((key, till_id))) => {
            if gate(key) || seen_recently(c, key, now_ms - grace_ms).await? {
                Disposition::Routed {
                    till: key,
                    till_id,
                    seq: 0,
                }
            } else {
                Disposition::Refused { till_id }
            }
        }
        (StoredKind::Payment | StoredKind::LoginPing, Some((key, till_id))) => {
            Disposition::Routed {
                till: key,
                till_id,
                seq: 0,
            }
        }
        _ => Disposition::Unrouted,
    };
    // A refused check-in and one for an unknown QR are answered non-2xx: not accepted (a
    // retry is filed again). Everything else, a rejected body included, is answered 2xx.
    let accepted = !matches!(
        (&disposition_base, cl.kind),
        (Disposition::Refused { .. }, _) | (Disposition::Unrouted, StoredKind::CheckedIn)
    );
    let reason = match &disposition_base {
        Disposition::Rejected => cl.reason.clone(),
        Disposition::Refused { .. } => Some("till offline".to_string()),
        Disposition::Expired => Some("customer token expired before delivery".to_string()),
        Disposition::Unrouted if event.hold.is_some() => event.hold.map(|h| h.reason().to_string()),
        Disposition::Unrouted => Some(super::unrouted_reason(&cl.route).to_string()),
        Disposition::Routed { .. } => None,
    };
    let till = match &disposition_base {
        Disposition::Routed { till, .. } => Some(*till),
        _ => None,
    };
    // The till's row is locked: nothing of it can commit in between.
    let prev_seq: i64 = match till {
        Some(key) => {
            let stmt = c
                .prepare_cached("SELECT coalesce(max(id), 0) FROM events WHERE till_pk = $1")
                .await?;
            c.query_one(&stmt, &[&key]).await?.get(0)
        }
        None => 0,
    };
    let insert = c
        .prepare_cached(
            "INSERT INTO events (msn, webhook_id, received_at_ms, kind, status, accepted,
                                 dedupe_key, route_key, reason, body, till_pk, actionable_until_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (msn, dedupe_key) WHERE accepted DO NOTHING
             RETURNING id",
        )
        .await?;
    let inserted = c
        .query_opt(
            &insert,
            &[
                &event.msn,
                &event.webhook_id,
                &event.received_at_ms,
                &cl.kind.as_str(),
                &disposition_base.status(),
                &accepted,
                &cl.dedupe_key,
                &cl.route.as_text(),
                &reason,
                &&event.body[..],
                &till,
                &cl.actionable_until_ms,
            ],
        )
        .await?;
    let Some(row) = inserted else {
        // Another instance filed the same event in the meantime (its commit let us go on).
        return match find_accepted(c, &event.msn, &cl.dedupe_key).await? {
            Some(outcome) => Ok(Filed::Duplicate(outcome)),
            None => Ok(Filed::Duplicate(IngestOutcome {
                event_id: 0,
                disposition: Disposition::Unrouted,
                duplicate: true,
            })),
        };
    };
    let id: i64 = row.get(0);
    let fresh = till.map(|key| FreshDelivery::new(key, prev_seq, id, cl, event));
    if let Some(key) = till {
        let stmt = c.prepare_cached("SELECT pg_notify($1, $2)").await?;
        c.execute(&stmt, &[&CHANNEL, &format!("{instance} {key}")])
            .await?;
    }
    let disposition = match disposition_base {
        Disposition::Routed { till, till_id, .. } => Disposition::Routed {
            till,
            till_id,
            seq: id.unsigned_abs(),
        },
        other => other,
    };
    Ok(Filed::New(
        IngestOutcome {
            event_id: id,
            disposition,
            duplicate: false,
        },
        fresh,
    ))
}

/// Some instance had a connection from the till at or after `since_ms`.
async fn seen_recently(
    c: &impl GenericClient,
    till: TillKey,
    since_ms: i64,
) -> Result<bool, tokio_postgres::Error> {
    let stmt = c
        .prepare_cached("SELECT 1 FROM till_presence WHERE till_pk = $1 AND last_seen_ms >= $2")
        .await?;
    Ok(c.query_opt(&stmt, &[&till, &since_ms]).await?.is_some())
}

impl RelayStorage for PgStorage {
    fn store_secrets(
        &self,
        msn: String,
    ) -> BoxFuture<'static, Result<Option<Vec<WebhookSecret>>, RelayStoreError>> {
        let pool = self.pool.clone();
        async move {
            let client = pool.get().await?;
            let exists = client
                .query_opt("SELECT 1 FROM stores WHERE msn = $1", &[&msn])
                .await?;
            if exists.is_none() {
                return Ok(None);
            }
            let stmt = client
                .prepare_cached(
                    "SELECT webhook_id, secret FROM store_secrets WHERE msn = $1
                     ORDER BY created_at_ms DESC",
                )
                .await?;
            let rows = client.query(&stmt, &[&msn]).await?;
            Ok(Some(
                rows.iter()
                    .map(|r| WebhookSecret {
                        webhook_id: r.get(0),
                        secret: r.get(1),
                    })
                    .collect(),
            ))
        }
        .boxed()
    }

    fn partner(
        &self,
        partner_id: String,
    ) -> BoxFuture<'static, Result<Option<PartnerKeys>, RelayStoreError>> {
        let pool = self.pool.clone();
        async move {
            let client = pool.get().await?;
            let exists = client
                .query_opt(
                    "SELECT 1 FROM partners WHERE partner_id = $1",
                    &[&partner_id],
                )
                .await?;
            if exists.is_none() {
                return Ok(None);
            }
            let secrets = client
                .query(
                    "SELECT webhook_id, secret FROM partner_secrets WHERE partner_id = $1
                     ORDER BY created_at_ms DESC",
                    &[&partner_id],
                )
                .await?
                .iter()
                .map(|r| WebhookSecret {
                    webhook_id: r.get(0),
                    secret: r.get(1),
                })
                .collect();
            let msns = client
                .query(
                    "SELECT msn FROM stores WHERE partner_id = $1 ORDER BY msn",
                    &[&partner_id],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            Ok(Some(PartnerKeys { secrets, msns }))
        }
        .boxed()
    }

    fn till_by_token_hash(
        &self,
        hash: [u8; 32],
    ) -> BoxFuture<'static, Result<Option<TillIdentity>, RelayStoreError>> {
        let pool = self.pool.clone();
        async move {
            let client = pool.get().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT pk, msn, till_id, merchant_qr_id FROM tills
                     WHERE token_hash = $1 AND revoked_at_ms IS NULL",
                )
                .await?;
            Ok(client
                .query_opt(&stmt, &[&&hash[..]])
                .await?
                .map(|r| TillIdentity {
                    key: r.get(0),
                    msn: r.get(1),
                    till_id: r.get(2),
                    merchant_qr_id: r.get(3),
                }))
        }
        .boxed()
    }

    fn ingest(
        &self,
        event: NewEvent,
        gate: CheckInGate,
    ) -> BoxFuture<'static, Result<IngestOutcome, RelayStoreError>> {
        let pool = self.pool.clone();
        let instance = self.instance.clone();
        let listener = self.listener.clone();
        let grace_ms = ms(self.opts.checkin_offline_grace);
        async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let now_ms = event.received_at_ms;
            match file_in(&tx, &event, &gate, &instance, grace_ms, now_ms).await? {
                Filed::Duplicate(outcome) => Ok(outcome),
                Filed::New(outcome, fresh) => {
                    // Answered only once this returned: the row is committed.
                    tx.commit().await?;
                    if let Some(fresh) = fresh
                        && let Ok(l) = listener.read()
                        && let Some(l) = l.as_ref()
                    {
                        l(vec![fresh]);
                    }
                    Ok(outcome)
                }
            }
        }
        .boxed()
    }

    fn deliveries_after(
        &self,
        till: TillKey,
        after: u64,
        now_ms: i64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<WireEvent>, RelayStoreError>> {
        let pool = self.pool.clone();
        async move {
            let client = pool.get().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT id, kind, received_at_ms, body FROM events
                     WHERE till_pk = $1 AND id > $2 AND status = 'routed'
                       AND (actionable_until_ms IS NULL OR actionable_until_ms > $3)
                     ORDER BY id LIMIT $4",
                )
                .await?;
            let rows = client
                .query(
                    &stmt,
                    &[&till, &to_i64(after), &now_ms, &to_i64(limit as u64)],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| {
                    let kind: &str = r.get(1);
                    let body: &[u8] = r.get(3);
                    WireEvent {
                        seq: r.get::<_, i64>(0).unsigned_abs(),
                        kind: EventKind::of_stored(kind).unwrap_or(EventKind::Payment),
                        received_at_ms: r.get(2),
                        payload: String::from_utf8_lossy(body).into_owned(),
                    }
                })
                .collect())
        }
        .boxed()
    }

    fn ack(
        &self,
        till: TillKey,
        seqs: Vec<u64>,
        through: Option<u64>,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>> {
        let pool = self.pool.clone();
        async move {
            let client = pool.get().await?;
            let mut n = 0;
            if let Some(through) = through {
                let stmt = client
                    .prepare_cached(
                        "UPDATE events SET acked_at_ms = $3
                         WHERE till_pk = $1 AND id <= $2 AND acked_at_ms IS NULL
                           AND status = 'routed'",
                    )
                    .await?;
                n += client
                    .execute(&stmt, &[&till, &to_i64(through), &now_ms])
                    .await?;
            }
            if !seqs.is_empty() {
                let ids: Vec<i64> = seqs.into_iter().map(to_i64).collect();
                let stmt = client
                    .prepare_cached(
                        "UPDATE events SET acked_at_ms = $3
                         WHERE till_pk = $1 AND id = ANY($2) AND acked_at_ms IS NULL
                           AND status = 'routed'",
                    )
                    .await?;
                n += client.execute(&stmt, &[&till, &ids, &now_ms]).await?;
            }
            Ok(n)
        }
        .boxed()
    }

    fn register_login(
        &self,
        till: TillKey,
        msn: String,
        key: String,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>> {
        let pool = self.pool.clone();
        let instance = self.instance.clone();
        let listener = self.listener.clone();
        async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            lock_login(&tx, &key).await?;
            tx.execute(
                "INSERT INTO login_routes (msn, login_key, till_pk, created_at_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (msn, login_key)
                 DO UPDATE SET till_pk = excluded.till_pk, created_at_ms = excluded.created_at_ms",
                &[&msn, &key, &till, &now_ms],
            )
            .await?;
            // Pings that came first: filed again for the till as new events (new ids, so its
            // cursor sees them; a NOTIFY wakes it on any instance); the kept row points at it.
            let kept = tx
                .query(
                    "SELECT id, webhook_id, received_at_ms, body FROM events
                     WHERE (msn = $1
                            OR msn = (SELECT 'partner:' || partner_id FROM stores WHERE msn = $1))
                       AND route_key = $2 AND kind = 'login_ping'
                       AND status = 'unrouted' AND accepted AND replayed_as IS NULL
                     ORDER BY id FOR UPDATE",
                    &[&msn, &key],
                )
                .await?;
            let gate: CheckInGate = Arc::new(|_| true);
            let mut fresh = Vec::new();
            let mut refiled = 0;
            for row in kept {
                let id: i64 = row.get(0);
                tx.execute("UPDATE events SET accepted = false WHERE id = $1", &[&id])
                    .await?;
                let received_at_ms: i64 = row.get(2);
                let body: Vec<u8> = row.get(3);
                let event = NewEvent {
                    hold: None,
                    msn: msn.clone(),
                    webhook_id: row.get(1),
                    received_at_ms,
                    classified: classify(&body, received_at_ms, Duration::from_secs(900)),
                    body: body.into(),
                };
                let new_id = match file_in(&tx, &event, &gate, &instance, 0, now_ms).await? {
                    Filed::New(outcome, delivery) => {
                        fresh.extend(delivery);
                        outcome.event_id
                    }
                    Filed::Duplicate(outcome) => outcome.event_id,
                };
                tx.execute(
                    "UPDATE events SET replayed_as = $2 WHERE id = $1",
                    &[&id, &new_id],
                )
                .await?;
                refiled += 1;
            }
            tx.commit().await?;
            if !fresh.is_empty()
                && let Ok(l) = listener.read()
                && let Some(l) = l.as_ref()
            {
                l(fresh);
            }
            Ok(refiled)
        }
        .boxed()
    }

    fn prune(
        &self,
        policy: RetentionPolicy,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<u64, RelayStoreError>> {
        let pool = self.pool.clone();
        async move {
            let client = pool.get().await?;
            client
                .execute(
                    "DELETE FROM login_routes WHERE created_at_ms < $1",
                    &[&now_ms.saturating_sub(super::LOGIN_ROUTE_RETENTION_MS)],
                )
                .await?;
            let done_before = now_ms.saturating_sub(policy.delivered_ms);
            let undelivered_before = now_ms.saturating_sub(policy.undelivered_ms);
            // In chunks, so a large prune never holds many row locks at once. (Ids come from a
            // sequence and are never reused, so removing the newest event is harmless here.)
            let stmt = client
                .prepare_cached(
                    "DELETE FROM events WHERE id IN (
                       SELECT id FROM events
                       WHERE received_at_ms < $2
                          OR (received_at_ms < $1 AND (
                                status <> 'routed'
                                OR acked_at_ms < $1
                                OR actionable_until_ms < $1))
                       LIMIT 5000)",
                )
                .await?;
            let mut total = 0;
            loop {
                let n = client
                    .execute(&stmt, &[&done_before, &undelivered_before])
                    .await?;
                total += n;
                if n < 5000 {
                    return Ok(total);
                }
            }
        }
        .boxed()
    }

    fn counts(&self, now_ms: i64) -> BoxFuture<'static, Result<StorageCounts, RelayStoreError>> {
        let pool = self.pool.clone();
        async move {
            let client = pool.get().await?;
            let unrouted: i64 = client
                .query_one(
                    "SELECT count(*) FROM events WHERE status = 'unrouted' AND replayed_as IS NULL",
                    &[],
                )
                .await?
                .get(0);
            let row = client
                .query_one(
                    "SELECT count(*), min(received_at_ms) FROM events
                     WHERE status = 'routed' AND acked_at_ms IS NULL
                       AND (actionable_until_ms IS NULL OR actionable_until_ms > $1)",
                    &[&now_ms],
                )
                .await?;
            let pending: i64 = row.get(0);
            Ok(StorageCounts {
                unrouted: unrouted.unsigned_abs(),
                pending: pending.unsigned_abs(),
                oldest_pending_ms: row.get(1),
            })
        }
        .boxed()
    }

    fn set_commit_listener(&self, listener: CommitListener) {
        if let Ok(mut l) = self.listener.write() {
            *l = Some(listener);
        }
    }

    fn shared(&self) -> bool {
        true
    }

    fn set_wake_listener(&self, listener: WakeListener) {
        if let Ok(mut l) = self.wake.write() {
            *l = Some(listener);
        }
    }

    fn touch_tills(
        &self,
        tills: Vec<TillKey>,
        now_ms: i64,
    ) -> BoxFuture<'static, Result<(), RelayStoreError>> {
        let pool = self.pool.clone();
        async move {
            if tills.is_empty() {
                return Ok(());
            }
            let client = pool.get().await?;
            let stmt = client
                .prepare_cached(
                    "INSERT INTO till_presence (till_pk, last_seen_ms)
                     SELECT t, $2 FROM unnest($1::bigint[]) AS t
                     ON CONFLICT (till_pk) DO UPDATE
                       SET last_seen_ms = greatest(till_presence.last_seen_ms, excluded.last_seen_ms)",
                )
                .await?;
            client.execute(&stmt, &[&tills, &now_ms]).await?;
            Ok(())
        }
        .boxed()
    }
}

/// Keep a connection that LISTENs for wake-ups; re-open it when lost.
/// Run a listening connection, passing each notification's payload on.
fn drive<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
) -> tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = futures_util::StreamExt::next(&mut messages).await {
            match m {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
}

async fn listen_loop(
    cfg: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
    instance: String,
    wake: Arc<RwLock<Option<WakeListener>>>,
    mut stop: tokio::sync::watch::Receiver<()>,
) {
    let notify = |w: Wake| {
        if let Ok(l) = wake.read()
            && let Some(l) = l.as_ref()
        {
            l(w);
        }
    };
    let mut backoff = Duration::from_millis(100);
    let mut lost = false;
    loop {
        let session = async {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let (client, driver) = match &tls {
                Some(tls) => {
                    let (client, connection) = cfg.connect(tls.clone()).await?;
                    (client, drive(connection, tx))
                }
                None => {
                    let (client, connection) = cfg.connect(NoTls).await?;
                    (client, drive(connection, tx))
                }
            };
            client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
            Ok::<_, tokio_postgres::Error>((client, driver, rx))
        };
        let (client, driver, mut rx) = match session.await {
            Ok(s) => s,
            Err(e) => {
                if !lost {
                    tracing::warn!(error = %e, "PostgreSQL wake-ups: cannot listen; retrying");
                }
                lost = true;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if lost {
            tracing::info!("PostgreSQL wake-ups: listening again");
            // What was notified meanwhile is gone: every till reads from storage.
            notify(Wake::All);
        }
        backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                payload = rx.recv() => match payload {
                    Some(p) => {
                        let mut parts = p.split(' ');
                        let (Some(from), Some(till)) = (parts.next(), parts.next()) else { continue };
                        if from == instance {
                            continue;
                        }
                        if let Ok(till) = till.parse::<TillKey>() {
                            notify(Wake::Till(till));
                        }
                    }
                    None => break,
                },
                _ = stop.changed() => {
                    driver.abort();
                    return;
                }
            }
        }
        drop(client);
        // Wake-ups sent from now until listening again are missed.
        lost = true;
        match driver.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "PostgreSQL wake-ups: connection lost"),
            _ => tracing::warn!("PostgreSQL wake-ups: connection closed"),
        }
    }
}

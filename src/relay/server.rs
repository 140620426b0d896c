//! The relay server: Vipps webhook ingest, till delivery (WebSocket and
//! long-poll), health and metrics.
//!
//! Ingest order is fixed: bound the body, find the store, verify the HMAC over
//! the raw bytes, classify, commit, and only then answer 2xx.

use crate::clock::Clock;
use crate::relay::classify::{RouteKey, StoredKind, classify};
use crate::relay::hub::Hub;
use crate::relay::metrics::{Metrics, Refusal, UnroutedKey, UnroutedLog, UnroutedReason};
use crate::relay::store::{
    CheckInGate, Disposition, Hold, NewEvent, PgOptions, PgStorage, RelayStorage, RelayStoreError,
    RetentionPolicy, SqliteStorage, Synchronous, TillIdentity, WebhookSecret, token_hash,
};
use crate::relay::watchdog::{self, Registrations, WatchdogConfig};
use crate::relay::wire::{
    self, AckRequest, ClientMessage, LoginRegistered, LoginRegistration, PollResponse,
    ServerMessage, WireEvent,
};
use crate::vipps::webhook::{self, VerifyError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Relay settings. [`RelayConfig::new`] gives the production defaults.
#[derive(Clone)]
pub struct RelayConfig {
    /// SQLite file; created and migrated on first start.
    pub db_path: PathBuf,
    /// A `postgres://` URL: PostgreSQL instead of `db_path`, shareable by several instances.
    pub postgres_url: Option<String>,
    /// The public base URL Vipps calls (behind a reverse proxy). When set, the
    /// signed host and path prefix come from it instead of the `Host` header.
    pub public_url: Option<url::Url>,
    pub synchronous: Synchronous,
    /// How often each side pings.
    pub heartbeat_interval: Duration,
    /// A link with nothing received for this long is dead.
    pub heartbeat_timeout: Duration,
    /// Longest a long-poll request is held open.
    pub long_poll_max_wait: Duration,
    /// A check-in for a till that has been offline longer than this is answered
    /// 503 so the customer's app says "Can't connect to store" at once.
    pub checkin_offline_grace: Duration,
    /// Customer tokens live this long after the scan (15 min at Vipps).
    pub checkin_ttl: Duration,
    /// Delivered (and unrouted/refused/rejected) events are kept this long.
    pub retention: Duration,
    /// Events never acknowledged are kept this long.
    pub undelivered_retention: Duration,
    pub prune_interval: Duration,
    /// Larger webhook bodies are answered 413.
    pub max_body_bytes: usize,
    /// Events sent to one till and not yet acknowledged, at most.
    pub send_window: usize,
    /// Unrouted events: the first per store and `merchantQrId` or till id in
    /// each period is logged at WARN, the rest in one summary line per period.
    pub unrouted_log_every: Duration,
    pub clock: Clock,
    /// Watch the stores' webhook registrations at Vipps (needs their credentials).
    pub watchdog: Option<WatchdogConfig>,
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("db_path", &self.db_path)
            .field(
                "postgres",
                &self
                    .postgres_url
                    .as_deref()
                    .map(crate::relay::store::RelayDatabase::redacted_url),
            )
            .field(
                "public_url",
                &self.public_url.as_ref().map(url::Url::as_str),
            )
            .field("synchronous", &self.synchronous)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("heartbeat_timeout", &self.heartbeat_timeout)
            .field("checkin_offline_grace", &self.checkin_offline_grace)
            .finish_non_exhaustive()
    }
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl RelayConfig {
    pub fn new(db_path: impl Into<PathBuf>) -> RelayConfig {
        RelayConfig {
            db_path: db_path.into(),
            postgres_url: None,
            public_url: None,
            synchronous: Synchronous::Full,
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(15),
            long_poll_max_wait: Duration::from_secs(10),
            checkin_offline_grace: Duration::from_secs(30),
            checkin_ttl: Duration::from_secs(15 * 60),
            // Longer than Vipps' 7 days of retries, so a late retry is still
            // recognised as a duplicate.
            retention: 14 * DAY,
            undelivered_retention: 30 * DAY,
            prune_interval: Duration::from_secs(600),
            max_body_bytes: 64 * 1024,
            send_window: 256,
            unrouted_log_every: Duration::from_secs(60),
            clock: Clock::system(),
            watchdog: None,
        }
    }
}

/// Server start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] RelayStoreError),
    #[error("relay server: {0}")]
    Io(#[from] std::io::Error),
}

/// A running relay (in-process).
pub struct RelayHandle {
    pub local_addr: SocketAddr,
    /// `http://<local_addr>`.
    pub base_url: url::Url,
    public_url: Option<url::Url>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RelayHandle {
    /// The URL to register at Vipps for a store: below the public URL when
    /// one is configured, else below the local address.
    pub fn webhook_url(&self, msn: &str) -> url::Url {
        let base = self.public_url.as_ref().unwrap_or(&self.base_url);
        wire::webhook_url(base, msn).unwrap_or_else(|_| base.clone())
    }

    /// Stop accepting, close till connections, wait for the server to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Start a relay on `listener` with PostgreSQL at `config.postgres_url` when set, else
/// SQLite at `config.db_path`.
pub async fn spawn(
    config: RelayConfig,
    listener: tokio::net::TcpListener,
) -> Result<RelayHandle, RelayError> {
    if let Some(url) = &config.postgres_url {
        // Presence is refreshed every heartbeat: a till connected to another instance must
        // not look offline between two refreshes.
        let opts = PgOptions {
            checkin_offline_grace: config
                .checkin_offline_grace
                .max(config.heartbeat_interval * 3),
            ..PgOptions::default()
        };
        let storage = PgStorage::connect(url, opts).await?;
        return spawn_with_storage(config, Arc::new(storage), listener);
    }
    let path = config.db_path.clone();
    let sync = config.synchronous;
    let storage = tokio::task::spawn_blocking(move || SqliteStorage::open(&path, sync))
        .await
        .map_err(|e| RelayStoreError::Task(e.to_string()))??;
    spawn_with_storage(config, Arc::new(storage), listener)
}

/// Start a relay on any storage.
pub fn spawn_with_storage(
    config: RelayConfig,
    storage: Arc<dyn RelayStorage>,
    listener: tokio::net::TcpListener,
) -> Result<RelayHandle, RelayError> {
    let local_addr = listener.local_addr()?;
    let base_url = url::Url::parse(&format!("http://{local_addr}"))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let public_url = config.public_url.clone();
    let watchdog_config = config.watchdog.clone();
    let target = watchdog::Target {
        db: config
            .postgres_url
            .clone()
            .map_or_else(|| config.db_path.clone(), PathBuf::from),
        public_base: public_url.clone().unwrap_or_else(|| base_url.clone()),
    };
    let app = App::new(config, storage, shutdown_rx.clone());
    if let Some(w) = watchdog_config {
        tokio::spawn(watchdog::run(
            w,
            target,
            app.storage.clone(),
            app.registrations.clone(),
            shutdown_rx.clone(),
        ));
    }
    let router = router(app.clone());
    tokio::spawn(prune_loop(app.clone()));
    tokio::spawn(presence_loop(app.clone()));
    tokio::spawn(unrouted_summary_loop(app.clone()));
    let mut signal = shutdown_rx;
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = signal.wait_for(|stop| *stop).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "relay server stopped");
        }
        // What the last period did not log one by one.
        app.log_unrouted_summary();
    });
    Ok(RelayHandle {
        local_addr,
        base_url,
        public_url,
        shutdown,
        task,
    })
}

struct App {
    config: RelayConfig,
    storage: Arc<dyn RelayStorage>,
    hub: Arc<Hub>,
    metrics: Metrics,
    unrouted_log: UnroutedLog,
    secrets: SecretCache,
    registrations: Arc<Registrations>,
    gate: CheckInGate,
    shutdown: watch::Receiver<bool>,
}

impl App {
    fn new(
        config: RelayConfig,
        storage: Arc<dyn RelayStorage>,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<App> {
        let hub = Arc::new(Hub::new());
        let listener_hub = hub.clone();
        storage.set_commit_listener(Arc::new(move |fresh| listener_hub.deliver(fresh)));
        let wake_hub = hub.clone();
        storage.set_wake_listener(Arc::new(move |wake| wake_hub.wake(wake)));
        let gate_hub = hub.clone();
        let grace = config.checkin_offline_grace;
        let gate: CheckInGate = if storage.shared() {
            // Connected here now; the storage adds tills seen by any instance.
            Arc::new(move |till| gate_hub.connected(till))
        } else {
            Arc::new(move |till| gate_hub.reachable(till, grace))
        };
        Arc::new(App {
            config,
            storage,
            hub,
            metrics: Metrics::default(),
            unrouted_log: UnroutedLog::default(),
            secrets: SecretCache::default(),
            registrations: Arc::default(),
            gate,
            shutdown,
        })
    }

    fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    /// The till presenting `Authorization: Bearer <token>`.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<TillIdentity, Response> {
        let Some(token) = bearer(headers) else {
            return Err(problem(
                StatusCode::UNAUTHORIZED,
                "missing bearer till token",
            ));
        };
        match self.storage.till_by_token_hash(token_hash(token)).await {
            Ok(Some(till)) => Ok(till),
            Ok(None) => Err(problem(
                StatusCode::UNAUTHORIZED,
                "unknown or revoked till token",
            )),
            Err(e) => {
                tracing::error!(error = %e, "till authentication failed");
                Err(problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable",
                ))
            }
        }
    }

    /// Count an event kept unrouted, and log it if it is the first of its kind
    /// (store, reason, `merchantQrId` or till id) in this period.
    fn unrouted(&self, msn: &str, route: &RouteKey, hold: Option<Hold>, event_id: i64) {
        let (reason, id) = match (hold, route) {
            (Some(Hold::UnknownMsn), _) => (UnroutedReason::UnknownMsn, None),
            (Some(Hold::MsnMismatch), _) => (UnroutedReason::MsnMismatch, None),
            (None, route) => match route {
                RouteKey::MerchantQr(qr) => (UnroutedReason::UnknownMerchantQr, Some(qr.as_str())),
                RouteKey::Reference {
                    till_id: Some(till),
                    ..
                } => (UnroutedReason::UnknownTill, Some(till.as_str())),
                RouteKey::Reference { till_id: None, .. } => (UnroutedReason::NoTillPrefix, None),
                // Keyed per store only: the login key is no use to an operator's log.
                RouteKey::Login(_) => (UnroutedReason::UnknownLogin, None),
                RouteKey::None => (UnroutedReason::NotRoutable, None),
            },
        };
        let logged = self.unrouted_log.record(UnroutedKey {
            msn: msn.to_string(),
            reason,
            route: id.map(str::to_string),
        });
        self.metrics.unrouted(reason, logged);
        if !logged {
            return;
        }
        let every = self.config.unrouted_log_every.as_secs();
        match reason {
            UnroutedReason::UnknownMerchantQr => tracing::warn!(
                msn,
                event_id,
                merchant_qr_id = id,
                "check-in for an unknown merchantQrId (more like it are summarised every {every} s)"
            ),
            UnroutedReason::UnknownTill => tracing::warn!(
                msn,
                event_id,
                till_id = id,
                "event kept unrouted: no active till with this id (more like it are summarised every {every} s)"
            ),
            UnroutedReason::NoTillPrefix => tracing::warn!(
                msn,
                event_id,
                "event kept unrouted: reference has no <till_id>- prefix (more like it are summarised every {every} s)"
            ),
            UnroutedReason::UnknownMsn => tracing::warn!(
                msn,
                event_id,
                "partner event kept unrouted: its msn is not one of the partner's stores (more like it are summarised every {every} s)"
            ),
            UnroutedReason::MsnMismatch => tracing::warn!(
                msn,
                event_id,
                "event kept unrouted: the msn in its body is not the store of its URL (more like it are summarised every {every} s)"
            ),
            UnroutedReason::UnknownLogin => tracing::warn!(
                msn,
                event_id,
                "login ping kept unrouted: no till has registered its login yet; it goes to the till that does (more like it are summarised every {every} s)"
            ),
            UnroutedReason::NotRoutable => tracing::warn!(
                msn,
                event_id,
                "event kept unrouted: not an event the relay routes (more like it are summarised every {every} s)"
            ),
        }
    }

    /// Log the unrouted events of the period that ends now that had no line of
    /// their own, and start a new period.
    fn log_unrouted_summary(&self) {
        if let Some(s) = self.unrouted_log.take_summary() {
            tracing::warn!(
                not_logged = s.not_logged,
                keys = s.keys,
                "unrouted events not logged one by one since the last summary: {s}"
            );
        }
    }

    /// Record in shared storage, in the background, that the till is connected here.
    fn touch(&self, till: i64) {
        let fut = self.storage.touch_tills(vec![till], self.now_ms());
        tokio::spawn(async move {
            if let Err(e) = fut.await {
                tracing::debug!(error = %e, "recording till presence failed");
            }
        });
    }

    /// Record acknowledgements in the background (the writer batches them).
    fn ack(self: &Arc<Self>, till: i64, seqs: Vec<u64>, through: Option<u64>) {
        let fut = self.storage.ack(till, seqs, through, self.now_ms());
        let app = self.clone();
        tokio::spawn(async move {
            match fut.await {
                Ok(n) => app.metrics.delivered(n),
                Err(e) => tracing::warn!(error = %e, "recording acknowledgements failed"),
            }
        });
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn router(app: Arc<App>) -> axum::Router {
    let limit = app.config.max_body_bytes;
    axum::Router::new()
        .route(
            &format!("{}{{msn}}", wire::WEBHOOK_PATH_PREFIX),
            post(ingest).layer(DefaultBodyLimit::max(limit)),
        )
        .route(
            &format!("{}partner/{{partner}}", wire::WEBHOOK_PATH_PREFIX),
            post(ingest_partner).layer(DefaultBodyLimit::max(limit)),
        )
        .route(wire::STREAM_PATH, get(stream))
        .route(wire::POLL_PATH, get(poll))
        .route(wire::ACK_PATH, post(ack))
        .route(wire::LOGIN_PATH, post(register_login))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(app)
}

/// Resolves once shutdown was requested (or the handle is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

fn problem(status: StatusCode, detail: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "status": status.as_u16(), "detail": detail })),
    )
        .into_response()
}

// ---------------------------------------------------------------- ingest

/// Webhook secrets per store, cached briefly; a failed verification re-reads
/// them once (so a secret added by the CLI works at once).
#[derive(Default)]
struct SecretCache {
    entries: Mutex<HashMap<String, CachedSecrets>>,
}

/// When the secrets were read, and what they were.
type CachedSecrets = (Instant, Arc<Vec<WebhookSecret>>);

const SECRETS_FRESH: Duration = Duration::from_secs(5);
const SECRETS_RECHECK: Duration = Duration::from_millis(500);

impl SecretCache {
    fn cached(&self, msn: &str, max_age: Duration) -> Option<Arc<Vec<WebhookSecret>>> {
        let entries = self.entries.lock().ok()?;
        let (at, secrets) = entries.get(msn)?;
        (at.elapsed() <= max_age).then(|| secrets.clone())
    }

    async fn load(
        &self,
        storage: &dyn RelayStorage,
        msn: &str,
    ) -> Result<Option<Arc<Vec<WebhookSecret>>>, RelayStoreError> {
        let loaded = storage.store_secrets(msn.to_string()).await?;
        let Some(secrets) = loaded else {
            if let Ok(mut e) = self.entries.lock() {
                e.remove(msn);
            }
            return Ok(None);
        };
        let secrets = Arc::new(secrets);
        if let Ok(mut e) = self.entries.lock() {
            e.insert(msn.to_string(), (Instant::now(), secrets.clone()));
        }
        Ok(Some(secrets))
    }
}

/// Verify against every secret of the store; the registration named by the
/// `Webhook-Id` header (when present) is tried first.
fn verify_any(
    secrets: &[WebhookSecret],
    headers: &HeaderMap,
    path_and_query: &str,
    host: &str,
    body: &[u8],
) -> Result<String, VerifyError> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let hinted = h("webhook-id");
    let mut ordered: Vec<&WebhookSecret> = secrets.iter().collect();
    ordered.sort_by_key(|s| Some(s.webhook_id.as_str()) != hinted);
    let mut last = VerifyError::SignatureMismatch;
    for s in ordered {
        match webhook::verify(
            &s.secret,
            path_and_query,
            host,
            h("x-ms-date"),
            h("x-ms-content-sha256"),
            h("authorization"),
            body,
        ) {
            Ok(()) => return Ok(s.webhook_id.clone()),
            Err(VerifyError::SignatureMismatch) => last = VerifyError::SignatureMismatch,
            // Header and body problems do not depend on the secret.
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// What Vipps signed: the registered URL's authority and path. Behind a
/// reverse proxy they come from the public URL, not from the request.
fn signed_target(app: &App, uri: &Uri, headers: &HeaderMap) -> (String, String) {
    let (host, prefix) = match &app.config.public_url {
        Some(public) => (
            webhook::authority(public),
            public.path().trim_end_matches('/').to_string(),
        ),
        None => (
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| uri.authority().map(|a| a.to_string()))
                .unwrap_or_default()
                .to_ascii_lowercase(),
            String::new(),
        ),
    };
    let path_and_query = format!(
        "{prefix}{}",
        uri.path_and_query().map_or(uri.path(), |pq| pq.as_str())
    );
    (host, path_and_query)
}

/// Whose webhook URL was called, for the log.
#[derive(Debug, Clone, Copy)]
enum Sender<'a> {
    Store(&'a str),
    Partner(&'a str),
}

/// The webhook's body, or the answer when it could not be read (one over the size limit is
/// counted and logged).
fn webhook_body(
    app: &App,
    sender: Sender<'_>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, Box<Response>> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            app.metrics.refused_before_filing(Refusal::TooLarge);
            match sender {
                Sender::Store(msn) => tracing::warn!(msn, "webhook body over the size limit"),
                Sender::Partner(partner) => {
                    tracing::warn!(partner, "partner webhook body over the size limit")
                }
            }
        }
        Box::new(rejection.into_response())
    })
}

/// The registration whose secret verified the webhook, or the 401 to answer (counted and
/// logged with the reason).
fn authenticated(
    app: &App,
    sender: Sender<'_>,
    verified: Result<String, VerifyError>,
) -> Result<String, Box<Response>> {
    verified.map_err(|e| {
        let why = match e {
            VerifyError::MissingHeader(_) => Refusal::MissingHeader,
            _ => Refusal::BadSignature,
        };
        app.metrics.refused_before_filing(why);
        match sender {
            Sender::Store(msn) => tracing::warn!(msn, reason = %e, "webhook failed authentication"),
            Sender::Partner(partner) => {
                tracing::warn!(partner, reason = %e, "partner webhook failed authentication")
            }
        }
        Box::new(problem(StatusCode::UNAUTHORIZED, &e.to_string()))
    })
}

/// `POST /v1/webhooks/vipps/partner/{id}`: a partner's registration (made with partner keys,
/// without MSN) delivers events of all its merchants here. Verified with the partner's
/// secrets, then routed by the body's `msn` to one of the partner's stores and on as a
/// store's event; an `msn` that is none of them is kept unrouted.
async fn ingest_partner(
    State(app): State<Arc<App>>,
    Path(partner): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let received_at_ms = app.now_ms();
    let sender = Sender::Partner(&partner);
    let body = match webhook_body(&app, sender, body) {
        Ok(b) => b,
        Err(answer) => return *answer,
    };
    let keys = match app.storage.partner(partner.clone()).await {
        Ok(Some(keys)) => keys,
        Ok(None) => {
            app.metrics.refused_before_filing(Refusal::UnknownStore);
            return problem(StatusCode::NOT_FOUND, "unknown partner");
        }
        Err(e) => {
            tracing::error!(error = %e, "loading partner secrets failed");
            app.metrics.refused_before_filing(Refusal::StorageError);
            return problem(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable");
        }
    };
    let (host, path_and_query) = signed_target(&app, &uri, &headers);
    let verified = verify_any(&keys.secrets, &headers, &path_and_query, &host, &body);
    let webhook_id = match authenticated(&app, sender, verified) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };
    let scope = Scope::Partner {
        id: &partner,
        msns: &keys.msns,
    };
    file(&app, scope, webhook_id, received_at_ms, body).await
}

async fn ingest(
    State(app): State<Arc<App>>,
    Path(msn): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let received_at_ms = app.now_ms();
    let body = match webhook_body(&app, Sender::Store(&msn), body) {
        Ok(b) => b,
        Err(answer) => return *answer,
    };

    let mut secrets = match app.secrets.cached(&msn, SECRETS_FRESH) {
        Some(s) => Some(s),
        None => match app.secrets.load(app.storage.as_ref(), &msn).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "loading webhook secrets failed");
                app.metrics.refused_before_filing(Refusal::StorageError);
                return problem(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable");
            }
        },
    };
    let Some(mut current) = secrets.take() else {
        app.metrics.refused_before_filing(Refusal::UnknownStore);
        return problem(StatusCode::NOT_FOUND, "unknown store");
    };

    let (host, path_and_query) = signed_target(&app, &uri, &headers);

    let mut verified = verify_any(&current, &headers, &path_and_query, &host, &body);
    if matches!(verified, Err(VerifyError::SignatureMismatch))
        && app.secrets.cached(&msn, SECRETS_RECHECK).is_none()
    {
        // Maybe a secret was just added: re-read once.
        if let Ok(Some(fresh)) = app.secrets.load(app.storage.as_ref(), &msn).await {
            current = fresh;
            verified = verify_any(&current, &headers, &path_and_query, &host, &body);
        }
    }
    let webhook_id = match authenticated(&app, Sender::Store(&msn), verified) {
        Ok(id) => id,
        Err(answer) => return *answer,
    };

    file(&app, Scope::Store(&msn), webhook_id, received_at_ms, body).await
}

/// Whose webhook URL a delivery came in on.
enum Scope<'a> {
    /// `/v1/webhooks/vipps/{msn}`: one store's registration.
    Store(&'a str),
    /// `/v1/webhooks/vipps/partner/{id}`: a partner's registration, for all its stores.
    Partner { id: &'a str, msns: &'a [String] },
}

/// Classify an authenticated delivery, file it, and answer.
async fn file(
    app: &Arc<App>,
    scope: Scope<'_>,
    webhook_id: String,
    received_at_ms: i64,
    body: Bytes,
) -> Response {
    let classified = classify(&body, received_at_ms, app.config.checkin_ttl);
    let kind = classified.kind;
    let route = classified.route.clone();
    let (msn, hold) = match scope {
        Scope::Store(msn) => (msn.to_string(), Hold::for_store(msn, &classified)),
        Scope::Partner { id, msns } => match &classified.msn {
            Some(m) if msns.contains(m) => (m.clone(), None),
            // A login ping names no sales unit (BRIEF §10.6): filed under the partner, it goes
            // to whichever of the partner's tills registered the login (storage decides).
            None if kind == StoredKind::LoginPing => (format!("partner:{id}"), None),
            // Kept under the partner, not under the msn it names: the same event may also come
            // on that store's own registration and must not count as a duplicate there.
            _ => (format!("partner:{id}"), Some(Hold::UnknownMsn)),
        },
    };
    let event = NewEvent {
        msn: msn.clone(),
        webhook_id: Some(webhook_id),
        received_at_ms,
        body,
        classified,
        hold,
    };
    let outcome = match app.storage.ingest(event, app.gate.clone()).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, msn, "filing a webhook failed");
            app.metrics.refused_before_filing(Refusal::StorageError);
            return problem(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable");
        }
    };
    app.metrics
        .filed(outcome.disposition.status(), outcome.duplicate);
    let body = |status: StatusCode, detail: Option<&str>| {
        (
            status,
            Json(serde_json::json!({
                "status": outcome.disposition.status(),
                "eventId": outcome.event_id,
                "duplicate": outcome.duplicate,
                "detail": detail,
            })),
        )
            .into_response()
    };
    match (&outcome.disposition, kind) {
        // Correctly signed but not understood: the bytes are kept (an operator can see and
        // replay them) and the answer is 2xx. A non-2xx would make Vipps retry it for 7 days
        // and hold back every later event of that payment meanwhile.
        (Disposition::Rejected, _) if outcome.duplicate => {
            body(StatusCode::OK, Some("not understood; kept already"))
        }
        (Disposition::Rejected, _) => {
            tracing::warn!(
                msn,
                event_id = outcome.event_id,
                "signed webhook body not understood: kept as rejected, answered 200"
            );
            body(StatusCode::OK, Some("not understood; kept"))
        }
        (Disposition::Refused { till_id }, _) => {
            tracing::info!(msn, till_id, "check-in refused: till offline");
            body(StatusCode::SERVICE_UNAVAILABLE, Some("till offline"))
        }
        (Disposition::Unrouted, StoredKind::CheckedIn) => {
            if !outcome.duplicate {
                app.unrouted(&msn, &route, hold, outcome.event_id);
            }
            body(StatusCode::NOT_FOUND, Some("no till has this merchantQrId"))
        }
        (Disposition::Unrouted, _) => {
            if !outcome.duplicate {
                app.unrouted(&msn, &route, hold, outcome.event_id);
            }
            body(StatusCode::OK, None)
        }
        _ => body(StatusCode::OK, None),
    }
}

// ---------------------------------------------------------------- tills

#[derive(serde::Deserialize)]
struct CursorQuery {
    #[serde(default)]
    after: u64,
    wait_ms: Option<u64>,
}

async fn stream(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<CursorQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let till = match app.authenticate(&headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let hash = bearer(&headers).map(token_hash).unwrap_or_default();
    ws.on_upgrade(move |socket| run_stream(app, till, hash, q.after, socket))
}

enum StreamEnd {
    Closed,
    Dead,
    TakenOver,
    Revoked,
    Shutdown,
}

async fn run_stream(
    app: Arc<App>,
    till: TillIdentity,
    token_hash: [u8; 32],
    after: u64,
    mut socket: WebSocket,
) {
    tracing::debug!(
        msn = till.msn,
        till_id = till.till_id,
        after,
        "till connected (WebSocket)"
    );
    let end = stream_loop(&app, &till, token_hash, after, &mut socket).await;
    let reason = match end {
        StreamEnd::Closed => "closed",
        StreamEnd::Dead => {
            app.metrics.dead_link();
            "no heartbeat"
        }
        StreamEnd::TakenOver => "replaced by a newer connection",
        StreamEnd::Revoked => "token revoked",
        StreamEnd::Shutdown => "relay shutting down",
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(None))).await;
    tracing::debug!(
        msn = till.msn,
        till_id = till.till_id,
        reason,
        "till disconnected"
    );
}

/// Send one event frame; false when the link is dead.
async fn send_event(
    app: &App,
    socket: &mut WebSocket,
    event: WireEvent,
    now_ms: i64,
    timeout: Duration,
) -> bool {
    app.metrics
        .sent((now_ms - event.received_at_ms).max(0).unsigned_abs());
    match serde_json::to_string(&ServerMessage::Event(event)) {
        Ok(text) => send_within(socket, Message::Text(text.into()), timeout).await,
        Err(_) => true,
    }
}

async fn send_within(socket: &mut WebSocket, msg: Message, limit: Duration) -> bool {
    matches!(
        tokio::time::timeout(limit, socket.send(msg)).await,
        Ok(Ok(()))
    )
}

async fn stream_loop(
    app: &Arc<App>,
    till: &TillIdentity,
    token_hash: [u8; 32],
    after: u64,
    socket: &mut WebSocket,
) -> StreamEnd {
    let presence = app.hub.connect(till.key, true);
    app.touch(till.key);
    let mut wake = presence.wake.clone();
    let mut shutdown = app.shutdown.clone();
    let timeout = app.config.heartbeat_timeout;
    let window = app.config.send_window.max(1);
    if after > 0 {
        // The cursor is what the till has persisted: it acknowledges all up to it.
        app.ack(till.key, Vec::new(), Some(after));
    }
    let hello = ServerMessage::Hello {
        till_id: till.till_id.clone(),
        msn: till.msn.clone(),
        heartbeat_ms: u64::try_from(app.config.heartbeat_interval.as_millis()).unwrap_or(u64::MAX),
    };
    let Ok(hello) = serde_json::to_string(&hello) else {
        return StreamEnd::Closed;
    };
    if !send_within(socket, Message::Text(hello.into()), timeout).await {
        return StreamEnd::Dead;
    }

    let mut last_sent = after;
    let mut in_flight = BTreeSet::new();
    // `more`: storage may hold events after `last_sent` (read it).
    // `fresh_ready`: woken; the hub may hold fresh deliveries.
    let mut more = true;
    let mut fresh_ready = false;
    let mut last_heard = Instant::now();
    // A token revoked while the till is connected ends the link this soon.
    let reauth_every = timeout * 4;
    let mut last_auth = Instant::now();
    let mut ticker = tokio::time::interval(app.config.heartbeat_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        if fresh_ready && !more && in_flight.len() < window {
            // Fast path: the writer handed over what it just committed.
            fresh_ready = false;
            let fresh = app.hub.take_fresh(till.key);
            if fresh.is_empty() {
                more = true;
            }
            let now = app.now_ms();
            for f in fresh {
                if f.event.seq <= last_sent {
                    continue;
                }
                let actionable = f.actionable_until_ms.is_none_or(|until| until > now);
                if more || f.prev_seq != last_sent || in_flight.len() >= window || !actionable {
                    // A gap, a full window or a stale check-in: storage decides.
                    more = true;
                    continue;
                }
                let seq = f.event.seq;
                if !send_event(app, socket, f.event, now, timeout).await {
                    return StreamEnd::Dead;
                }
                last_sent = seq;
                in_flight.insert(seq);
            }
        }
        if more && in_flight.len() < window {
            wake.borrow_and_update();
            fresh_ready = false;
            let room = window - in_flight.len();
            let now = app.now_ms();
            match app
                .storage
                .deliveries_after(till.key, last_sent, now, room)
                .await
            {
                Ok(batch) => {
                    more = batch.len() == room;
                    for ev in batch {
                        let seq = ev.seq;
                        if !send_event(app, socket, ev, now, timeout).await {
                            return StreamEnd::Dead;
                        }
                        last_sent = seq;
                        in_flight.insert(seq);
                    }
                }
                Err(e) => {
                    // Try again at the next heartbeat.
                    tracing::warn!(error = %e, "reading deliveries failed");
                    more = false;
                }
            }
            if more && in_flight.len() < window {
                continue;
            }
        }
        tokio::select! {
            _ = stopped(&mut shutdown) => return StreamEnd::Shutdown,
            changed = wake.changed() => {
                if changed.is_err() {
                    return StreamEnd::Shutdown;
                }
                if !presence.is_current_stream() {
                    return StreamEnd::TakenOver;
                }
                fresh_ready = true;
            }
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { return StreamEnd::Closed };
                last_heard = Instant::now();
                match msg {
                    Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                        Ok(ClientMessage::Ack { seq }) => {
                            in_flight.remove(&seq);
                            app.ack(till.key, vec![seq], None);
                        }
                        Err(e) => tracing::debug!(error = %e, "ignoring an unknown till message"),
                    },
                    Message::Close(_) => return StreamEnd::Closed,
                    Message::Binary(_) | Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            _ = ticker.tick() => {
                if last_heard.elapsed() > timeout {
                    tracing::warn!(msn = till.msn, till_id = till.till_id, "till link dead: no heartbeat");
                    return StreamEnd::Dead;
                }
                if !send_within(socket, Message::Ping(Bytes::from_static(b"kasse")), timeout).await {
                    return StreamEnd::Dead;
                }
                // Also retries a failed read.
                more = true;
                if last_auth.elapsed() >= reauth_every {
                    last_auth = Instant::now();
                    if let Ok(None) = app.storage.till_by_token_hash(token_hash).await {
                        return StreamEnd::Revoked;
                    }
                }
            }
        }
    }
}

/// Most events one long-poll answer carries.
const POLL_LIMIT: usize = 256;

async fn poll(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<CursorQuery>,
) -> Response {
    let till = match app.authenticate(&headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if q.after > 0 {
        app.ack(till.key, Vec::new(), Some(q.after));
    }
    let wait = q
        .wait_ms
        .map_or(app.config.long_poll_max_wait, Duration::from_millis)
        .min(app.config.long_poll_max_wait);
    let deadline = Instant::now() + wait;
    let presence = app.hub.connect(till.key, false);
    app.touch(till.key);
    let mut wake = presence.wake.clone();
    let mut shutdown = app.shutdown.clone();
    loop {
        wake.borrow_and_update();
        let now = app.now_ms();
        let events = match app
            .storage
            .deliveries_after(till.key, q.after, now, POLL_LIMIT)
            .await
        {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "reading deliveries failed");
                return problem(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable");
            }
        };
        if !events.is_empty() {
            for ev in &events {
                app.metrics
                    .sent((now - ev.received_at_ms).max(0).unsigned_abs());
            }
            return Json(PollResponse { events }).into_response();
        }
        tokio::select! {
            changed = wake.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep_until(deadline) => break,
            _ = stopped(&mut shutdown) => break,
        }
    }
    Json(PollResponse { events: Vec::new() }).into_response()
}

async fn ack(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<AckRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let till = match app.authenticate(&headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Ok(Json(req)) = body else {
        return problem(StatusCode::BAD_REQUEST, "expected {\"seqs\": [..]}");
    };
    match app
        .storage
        .ack(till.key, req.seqs, None, app.now_ms())
        .await
    {
        Ok(n) => {
            app.metrics.delivered(n);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "recording acknowledgements failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
        }
    }
}

/// `POST /v1/till/login`: the till started a merchant-initiated login; its ping goes to it.
async fn register_login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<LoginRegistration>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let till = match app.authenticate(&headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Ok(Json(req)) = body else {
        return problem(StatusCode::BAD_REQUEST, "expected {\"authReqId\": \"..\"}");
    };
    if req.auth_req_id.is_empty() || req.auth_req_id.len() > 512 {
        return problem(
            StatusCode::BAD_REQUEST,
            "authReqId must be 1 to 512 characters",
        );
    }
    let key = crate::relay::classify::login_key(&req.auth_req_id);
    match app
        .storage
        .register_login(till.key, till.msn.clone(), key, app.now_ms())
        .await
    {
        Ok(refiled) => {
            if refiled > 0 {
                tracing::info!(
                    msn = till.msn,
                    till_id = till.till_id,
                    refiled,
                    "login registered after its ping: the kept ping is delivered now"
                );
            }
            Json(LoginRegistered { refiled }).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "registering a login failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
        }
    }
}

// ---------------------------------------------------------------- ops

async fn healthz(State(app): State<Arc<App>>) -> Response {
    match app.storage.counts(app.now_ms()).await {
        Ok(c) => {
            let registrations: serde_json::Map<String, serde_json::Value> = app
                .registrations
                .snapshot()
                .into_iter()
                .map(|(msn, state)| (msn, state.as_str().into()))
                .collect();
            // 200 as long as this instance works: a missing registration is not the
            // instance's fault, and taking it out of a balancer would not help.
            Json(serde_json::json!({
                "status": "ok",
                "connectedTills": app.hub.connected_tills(),
                "pendingEvents": c.pending,
                "unroutedEvents": c.unrouted,
                "registrations": registrations,
            }))
            .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: storage unavailable");
            problem(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let now = app.now_ms();
    let counts = app.storage.counts(now).await.ok();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(app.hub.connected_tills(), counts, now) + &app.registrations.render(),
    )
        .into_response()
}

async fn unrouted_summary_loop(app: Arc<App>) {
    let mut shutdown = app.shutdown.clone();
    let every = app.config.unrouted_log_every.max(Duration::from_millis(1));
    let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => app.log_unrouted_summary(),
            // The server task logs the last summary once it has stopped.
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// Refresh, every heartbeat, the presence of the tills connected here (shared storage only),
/// so another instance filing a check-in for one of them routes it instead of refusing it.
async fn presence_loop(app: Arc<App>) {
    let mut shutdown = app.shutdown.clone();
    let mut ticker = tokio::time::interval(app.config.heartbeat_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped(&mut shutdown) => return,
        }
        let tills = app.hub.connected_keys();
        if tills.is_empty() {
            continue;
        }
        if let Err(e) = app.storage.touch_tills(tills, app.now_ms()).await {
            tracing::warn!(error = %e, "recording till presence failed");
        }
    }
}

async fn prune_loop(app: Arc<App>) {
    let mut shutdown = app.shutdown.clone();
    let mut ticker = tokio::time::interval(app.config.prune_interval);
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let policy = RetentionPolicy {
        delivered_ms: ms(app.config.retention),
        undelivered_ms: ms(app.config.undelivered_retention),
    };
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped(&mut shutdown) => return,
        }
        match app.storage.prune(policy, app.now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "pruned old events"),
            Err(e) => tracing::warn!(error = %e, "pruning failed"),
        }
    }
}

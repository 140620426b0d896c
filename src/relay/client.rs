//! The till side of the relay: connects out (WebSocket, or HTTP long-poll
//! where WebSocket is blocked), resumes from the cursor the engine supplies,
//! hands each event to the engine once, and acknowledges an event only when
//! the engine calls [`RelayClient::ack`] after persisting it.
//!
//! ```no_run
//! # async fn demo(engine_cursor: u64) {
//! use kasse::relay::client::{RelayClient, RelayClientConfig};
//! let url = url::Url::parse("https://relay.example.com").unwrap();
//! let mut relay = RelayClient::connect(RelayClientConfig::new(url, "kasse_till_...".into(), engine_cursor));
//! while let Some(delivery) = relay.next().await {
//!     // persist delivery.event together with delivery.seq as the new cursor, then:
//!     relay.ack(delivery.seq);
//! }
//! # }
//! ```
//!
//! Guarantees: events arrive in sequence order; within one `RelayClient`
//! each sequence number is yielded at most once (re-sends after a reconnect are
//! dropped here); across restarts the engine's cursor decides what comes again,
//! so the engine should also ignore `seq <= its stored cursor`.

use crate::relay::wire::{
    self, AckRequest, ClientMessage, EventKind, PollResponse, ServerMessage, WireEvent,
};
use crate::vipps::models::{CheckedInEvent, EpaymentWebhookEvent};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How the client reaches the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// WebSocket; falls back to long-poll when the upgrade is refused by
    /// something on the way (and tries WebSocket again later).
    #[default]
    Auto,
    WebSocket,
    LongPoll,
}

/// Client settings; [`RelayClientConfig::new`] gives the defaults.
#[derive(Clone)]
pub struct RelayClientConfig {
    /// The relay's base URL (`https://relay.example.com`, any path is a prefix).
    pub url: url::Url,
    /// This till's bearer token (from `kasse-relay till add`).
    pub till_token: String,
    /// The highest sequence number the engine has persisted (0: none yet).
    pub cursor: u64,
    pub transport: Transport,
    /// How often the client pings.
    pub heartbeat_interval: Duration,
    /// A link with nothing received for this long is dead.
    pub heartbeat_timeout: Duration,
    /// First reconnect delay; doubles per failed attempt up to `reconnect_max`
    /// (with jitter: each wait is drawn from half to all of the current delay).
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// How long one long-poll request waits for events.
    pub long_poll_wait: Duration,
}

impl std::fmt::Debug for RelayClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClientConfig")
            .field("url", &self.url.as_str())
            .field("till_token", &"<redacted>")
            .field("cursor", &self.cursor)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl RelayClientConfig {
    pub fn new(url: url::Url, till_token: String, cursor: u64) -> RelayClientConfig {
        RelayClientConfig {
            url,
            till_token,
            cursor,
            transport: Transport::Auto,
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(15),
            reconnect_min: Duration::from_millis(250),
            reconnect_max: Duration::from_secs(30),
            long_poll_wait: Duration::from_secs(10),
        }
    }
}

/// The link to the relay, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionStatus {
    Connected,
    /// Not connected; `attempt` counts failed attempts since the last success.
    Reconnecting {
        attempt: u32,
        last_error: String,
    },
}

/// One event for this till.
#[derive(Debug, Clone, PartialEq)]
pub enum RelayEvent {
    CheckedIn(CheckedInEvent),
    Payment(EpaymentWebhookEvent),
    /// The customer acted on a login this till registered ([`LoginRegistrar`]).
    LoginPing(LoginPing),
}

/// `login.merchant-initiated.ping.v1` (BRIEF §10.6): the user has acted on the login with
/// this `auth_req_id`; call the token endpoint once. `Debug` never prints the id.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub struct LoginPing {
    pub auth_req_id: String,
}

impl std::fmt::Debug for LoginPing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginPing")
            .field("auth_req_id", &"<redacted>")
            .finish()
    }
}

/// Why a login could not be registered with the relay.
#[derive(Debug, thiserror::Error)]
pub enum RegisterLoginError {
    #[error("relay unreachable: {0}")]
    Unreachable(String),
    #[error("relay answered {0}")]
    Status(u16),
}

impl RegisterLoginError {
    /// Whether trying again may help (the relay unreachable, or answering 5xx or 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            RegisterLoginError::Unreachable(_) => true,
            RegisterLoginError::Status(s) => *s >= 500 || *s == 429,
        }
    }
}

/// Registers merchant-initiated logins with the relay (`POST /v1/till/login`), so each
/// login's ping is routed to this till. Cheap to clone; usable from any task.
#[derive(Clone)]
pub struct LoginRegistrar {
    url: url::Url,
    bearer: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for LoginRegistrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRegistrar")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl LoginRegistrar {
    /// For the relay at `config.url` with the till's token.
    pub fn new(config: &RelayClientConfig) -> Result<LoginRegistrar, RegisterLoginError> {
        let url = endpoint_of(&config.url, wire::LOGIN_PATH);
        let http = reqwest::Client::builder()
            .connect_timeout(config.heartbeat_timeout)
            .timeout(config.heartbeat_timeout)
            .build()
            .map_err(|e| RegisterLoginError::Unreachable(e.to_string()))?;
        Ok(LoginRegistrar {
            url,
            bearer: format!("Bearer {}", config.till_token),
            http,
        })
    }

    /// Tell the relay that this till started the login `auth_req_id`. Resolves to how many
    /// pings for it had come before and are delivered now.
    pub async fn register(&self, auth_req_id: &str) -> Result<u64, RegisterLoginError> {
        let response = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::AUTHORIZATION, &self.bearer)
            .json(&wire::LoginRegistration {
                auth_req_id: auth_req_id.to_string(),
            })
            .send()
            .await
            .map_err(|e| RegisterLoginError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(RegisterLoginError::Status(status.as_u16()));
        }
        Ok(response
            .json::<wire::LoginRegistered>()
            .await
            .map(|r| r.refiled)
            .unwrap_or(0))
    }
}

/// `path` below the relay's base URL (any path of it is a prefix).
fn endpoint_of(base: &url::Url, path: &str) -> url::Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(None);
    url
}

/// An event with its sequence number (the engine's cursor once persisted).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub seq: u64,
    pub event: RelayEvent,
    /// When the relay received the webhook.
    pub received_at: time::OffsetDateTime,
}

/// Handle to the background connection task. Dropping it stops the task.
pub struct RelayClient {
    deliveries: mpsc::Receiver<Delivery>,
    acks: mpsc::UnboundedSender<u64>,
    status: watch::Receiver<ConnectionStatus>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RelayClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RelayClient {
    /// Start connecting in the background (call inside a tokio runtime).
    /// Problems show up in [`RelayClient::status`]; it keeps retrying.
    pub fn connect(config: RelayClientConfig) -> RelayClient {
        let (deliveries_tx, deliveries) = mpsc::channel(64);
        let (acks, acks_rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(ConnectionStatus::Reconnecting {
            attempt: 0,
            last_error: "connecting".into(),
        });
        let worker = Worker {
            cursor: Cursor::new(config.cursor),
            config,
            deliveries: deliveries_tx,
            buffer: VecDeque::new(),
            acks: acks_rx,
            status: status_tx,
            http: None,
        };
        let task = tokio::spawn(worker.run());
        RelayClient {
            deliveries,
            acks,
            status,
            task,
        }
    }

    /// The next event (cancel-safe). `None` only after the task stopped.
    pub async fn next(&mut self) -> Option<Delivery> {
        self.deliveries.recv().await
    }

    /// The engine has persisted the event `seq`: acknowledge it to the relay.
    pub fn ack(&self, seq: u64) {
        let _ = self.acks.send(seq);
    }

    /// The connection status, updated as it changes.
    pub fn status(&self) -> watch::Receiver<ConnectionStatus> {
        self.status.clone()
    }
}

/// Which sequence numbers are where, to resume without loss or repeats.
#[derive(Debug)]
struct Cursor {
    /// Highest sequence number received from the relay (or the start cursor).
    received: u64,
    /// Highest acknowledged by the engine (or the start cursor).
    acked: u64,
    /// Received, not yet acknowledged.
    outstanding: BTreeSet<u64>,
}

impl Cursor {
    fn new(start: u64) -> Cursor {
        Cursor {
            received: start,
            acked: start,
            outstanding: BTreeSet::new(),
        }
    }

    /// Where a new WebSocket session resumes: everything up to here is
    /// persisted by the engine (so the relay may count it delivered).
    fn resume(&self) -> u64 {
        match self.outstanding.first() {
            // Outstanding numbers are above the start cursor, so at least 1.
            Some(first) => first.saturating_sub(1),
            None => self.acked,
        }
    }

    /// True when the event is new (not yet seen by this client).
    fn take(&mut self, seq: u64) -> bool {
        if seq <= self.received {
            return false;
        }
        self.received = seq;
        self.outstanding.insert(seq);
        true
    }

    fn ack(&mut self, seq: u64) {
        self.outstanding.remove(&seq);
        self.acked = self.acked.max(seq);
    }
}

enum SessionEnd {
    /// The RelayClient was dropped.
    Stop,
    /// The link failed; reconnect. `connected` says whether it ever worked.
    Failed { error: String, connected: bool },
    /// The WebSocket upgrade was refused by something on the way.
    UpgradeRefused(String),
}

struct Worker {
    config: RelayClientConfig,
    cursor: Cursor,
    deliveries: mpsc::Sender<Delivery>,
    /// Received, not yet taken by the engine.
    buffer: VecDeque<Delivery>,
    acks: mpsc::UnboundedReceiver<u64>,
    status: watch::Sender<ConnectionStatus>,
    http: Option<reqwest::Client>,
}

/// Long-poll stays in use this long before WebSocket is tried again (Auto).
const WEBSOCKET_RETRY_AFTER: Duration = Duration::from_secs(300);

impl Worker {
    async fn run(mut self) {
        let mut attempt: u32 = 0;
        let mut long_poll_since: Option<Instant> = match self.config.transport {
            Transport::LongPoll => Some(Instant::now()),
            _ => None,
        };
        loop {
            let use_long_poll = match self.config.transport {
                Transport::LongPoll => true,
                Transport::WebSocket => false,
                Transport::Auto => long_poll_since.is_some(),
            };
            let end = if use_long_poll {
                self.long_poll_session(long_poll_since).await
            } else {
                self.websocket_session().await
            };
            let error = match end {
                SessionEnd::Stop => return,
                SessionEnd::UpgradeRefused(e) if self.config.transport == Transport::Auto => {
                    tracing::warn!(error = %e, "WebSocket refused on the way; using long-poll");
                    long_poll_since = Some(Instant::now());
                    // Switch at once, no back-off.
                    continue;
                }
                SessionEnd::UpgradeRefused(e) => e,
                SessionEnd::Failed { error, connected } => {
                    if connected {
                        attempt = 0;
                    }
                    if self.config.transport == Transport::Auto
                        && long_poll_since.is_some_and(|t| t.elapsed() >= WEBSOCKET_RETRY_AFTER)
                    {
                        long_poll_since = None;
                    }
                    error
                }
            };
            attempt = attempt.saturating_add(1);
            tracing::info!(attempt, error = %error, "relay link down; reconnecting");
            self.set_status(ConnectionStatus::Reconnecting {
                attempt,
                last_error: error,
            });
            let delay = backoff(&self.config, attempt);
            if self.wait_serving_engine(delay).await.is_err() {
                return;
            }
        }
    }

    fn set_status(&self, status: ConnectionStatus) {
        self.status.send_if_modified(|s| {
            if *s == status {
                false
            } else {
                *s = status;
                true
            }
        });
    }

    /// While disconnected: keep handing buffered events to the engine and
    /// recording its acks, for `delay`. Err when the client was dropped.
    async fn wait_serving_engine(&mut self, delay: Duration) -> Result<(), ()> {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return Ok(()),
                ack = self.acks.recv() => match ack {
                    Some(seq) => self.cursor.ack(seq),
                    None => return Err(()),
                },
                permit = self.deliveries.reserve(), if !self.buffer.is_empty() => match permit {
                    Ok(p) => { if let Some(d) = self.buffer.pop_front() { p.send(d) } }
                    Err(_) => return Err(()),
                },
            }
        }
    }

    fn endpoint(&self, path: &str, websocket: bool) -> Result<url::Url, String> {
        let mut url = endpoint_of(&self.config.url, path);
        if websocket {
            let scheme = match url.scheme() {
                "https" | "wss" => "wss",
                _ => "ws",
            };
            url.set_scheme(scheme)
                .map_err(|()| format!("cannot use {} for WebSocket", self.config.url))?;
        }
        Ok(url)
    }

    async fn websocket_session(&mut self) -> SessionEnd {
        let timeout = self.config.heartbeat_timeout;
        let mut url = match self.endpoint(wire::STREAM_PATH, true) {
            Ok(u) => u,
            Err(e) => return failed(e, false),
        };
        let resume = self.cursor.resume();
        url.query_pairs_mut()
            .append_pair("after", &resume.to_string());
        let mut request = match url.as_str().into_client_request() {
            Ok(r) => r,
            Err(e) => return failed(format!("bad relay URL: {e}"), false),
        };
        match format!("Bearer {}", self.config.till_token).parse() {
            Ok(v) => {
                request
                    .headers_mut()
                    .insert(tungstenite::http::header::AUTHORIZATION, v);
            }
            Err(_) => return failed("till token is not a valid header value".into(), false),
        }
        let connecting = tokio_tungstenite::connect_async_with_config(request, None, true);
        let mut ws = match tokio::time::timeout(timeout, connecting).await {
            Err(_) => return failed("connect timed out".into(), false),
            Ok(Err(tungstenite::Error::Http(response))) => {
                let status = response.status();
                // The relay answers 401 to a bad token; anything else comes from
                // something on the way that does not pass WebSockets.
                return match status.as_u16() {
                    401 => failed(format!("till token rejected ({status})"), false),
                    _ => {
                        SessionEnd::UpgradeRefused(format!("WebSocket upgrade refused ({status})"))
                    }
                };
            }
            Ok(Err(e)) => return failed(format!("connect failed: {e}"), false),
            Ok(Ok((ws, _))) => ws,
        };

        // The hello proves the relay accepted us.
        match tokio::time::timeout(timeout, ws.next()).await {
            Ok(Some(Ok(tungstenite::Message::Text(t)))) => {
                match serde_json::from_str::<ServerMessage>(&t) {
                    Ok(ServerMessage::Hello { till_id, .. }) => {
                        tracing::info!(
                            till_id,
                            after = resume,
                            "connected to the relay (WebSocket)"
                        );
                    }
                    _ => return failed("relay did not greet".into(), false),
                }
            }
            Ok(_) => return failed("relay closed before greeting".into(), false),
            Err(_) => return failed("relay did not greet in time".into(), false),
        }
        self.set_status(ConnectionStatus::Connected);

        // Acks recorded while disconnected are covered by `after`; re-send
        // any acked above it explicitly.
        let mut last_heard = Instant::now();
        let mut ticker = tokio::time::interval(self.config.heartbeat_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                ack = self.acks.recv() => {
                    let Some(seq) = ack else { let _ = ws.close(None).await; return SessionEnd::Stop };
                    self.cursor.ack(seq);
                    if let Err(e) = send_ack(&mut ws, seq, timeout).await {
                        return failed(e, true);
                    }
                }
                permit = self.deliveries.reserve(), if !self.buffer.is_empty() => match permit {
                    Ok(p) => { if let Some(d) = self.buffer.pop_front() { p.send(d) } }
                    Err(_) => return SessionEnd::Stop,
                },
                msg = ws.next() => {
                    last_heard = Instant::now();
                    match msg {
                        Some(Ok(tungstenite::Message::Text(t))) => {
                            match serde_json::from_str::<ServerMessage>(&t) {
                                Ok(ServerMessage::Event(ev)) => {
                                    if let Some(seq) = accept(&mut self.cursor, &mut self.buffer, ev)
                                        && let Err(e) = send_ack(&mut ws, seq, timeout).await
                                    {
                                        return failed(e, true);
                                    }
                                }
                                Ok(ServerMessage::Hello { .. }) => {}
                                Err(e) => tracing::debug!(error = %e, "ignoring an unknown relay message"),
                            }
                        }
                        Some(Ok(tungstenite::Message::Close(_))) | None => {
                            return failed("relay closed the connection".into(), true);
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return failed(format!("connection error: {e}"), true),
                    }
                }
                _ = ticker.tick() => {
                    if last_heard.elapsed() > timeout {
                        return failed("no heartbeat from the relay".into(), true);
                    }
                    let ping = tungstenite::Message::Ping(tungstenite::Bytes::from_static(b"kasse"));
                    match tokio::time::timeout(timeout, ws.send(ping)).await {
                        Ok(Ok(())) => {}
                        _ => return failed("cannot send heartbeat".into(), true),
                    }
                }
            }
        }
    }

    async fn long_poll_session(&mut self, since: Option<Instant>) -> SessionEnd {
        let timeout = self.config.heartbeat_timeout;
        let wait = self.config.long_poll_wait;
        let http = match &self.http {
            Some(c) => c.clone(),
            None => match reqwest::Client::builder()
                .connect_timeout(timeout)
                .timeout(wait + timeout)
                .build()
            {
                Ok(c) => {
                    self.http = Some(c.clone());
                    c
                }
                Err(e) => return failed(format!("HTTP client: {e}"), false),
            },
        };
        let (poll_url, ack_url) = match (
            self.endpoint(wire::POLL_PATH, false),
            self.endpoint(wire::ACK_PATH, false),
        ) {
            (Ok(p), Ok(a)) => (p, a),
            (Err(e), _) | (_, Err(e)) => return failed(e, false),
        };
        let bearer = format!("Bearer {}", self.config.till_token);
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let mut connected = false;
        loop {
            if self.config.transport == Transport::Auto
                && since.is_some_and(|t| t.elapsed() >= WEBSOCKET_RETRY_AFTER)
            {
                return failed("trying WebSocket again".into(), connected);
            }
            let mut url = poll_url.clone();
            url.query_pairs_mut()
                .append_pair("after", &self.cursor.received.to_string())
                .append_pair("wait_ms", &wait_ms.to_string());
            let request = http
                .get(url)
                .header(reqwest::header::AUTHORIZATION, &bearer)
                .send();
            tokio::pin!(request);
            let response = loop {
                tokio::select! {
                    r = &mut request => break r,
                    ack = self.acks.recv() => {
                        let Some(seq) = ack else { return SessionEnd::Stop };
                        self.cursor.ack(seq);
                        let mut seqs = vec![seq];
                        while let Ok(more) = self.acks.try_recv() {
                            self.cursor.ack(more);
                            seqs.push(more);
                        }
                        if let Err(e) = post_acks(&http, &ack_url, &bearer, seqs).await {
                            return failed(e, connected);
                        }
                    }
                    permit = self.deliveries.reserve(), if !self.buffer.is_empty() => match permit {
                        Ok(p) => { if let Some(d) = self.buffer.pop_front() { p.send(d) } }
                        Err(_) => return SessionEnd::Stop,
                    },
                }
            };
            let response = match response {
                Ok(r) => r,
                Err(e) => return failed(format!("long-poll failed: {e}"), connected),
            };
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                return failed(format!("till token rejected ({status})"), connected);
            }
            if !status.is_success() {
                return failed(format!("long-poll answered {status}"), connected);
            }
            let body: PollResponse = match response.json().await {
                Ok(b) => b,
                Err(e) => return failed(format!("long-poll answer unreadable: {e}"), connected),
            };
            if !connected {
                connected = true;
                tracing::info!("connected to the relay (long-poll)");
                self.set_status(ConnectionStatus::Connected);
            }
            let mut undecodable = Vec::new();
            for ev in body.events {
                if let Some(seq) = accept(&mut self.cursor, &mut self.buffer, ev) {
                    undecodable.push(seq);
                }
            }
            if !undecodable.is_empty()
                && let Err(e) = post_acks(&http, &ack_url, &bearer, undecodable).await
            {
                return failed(e, connected);
            }
            // Hold further polls while the engine has plenty still to take.
            while self.buffer.len() >= 256 {
                tokio::select! {
                    ack = self.acks.recv() => {
                        let Some(seq) = ack else { return SessionEnd::Stop };
                        self.cursor.ack(seq);
                        if let Err(e) = post_acks(&http, &ack_url, &bearer, vec![seq]).await {
                            return failed(e, connected);
                        }
                    }
                    permit = self.deliveries.reserve() => match permit {
                        Ok(p) => { if let Some(d) = self.buffer.pop_front() { p.send(d) } }
                        Err(_) => return SessionEnd::Stop,
                    },
                }
            }
        }
    }
}

/// Decode and buffer an event unless it was seen before. An event the till
/// cannot decode is logged and acknowledged (it stays at the relay for
/// operators) so it does not block the stream; its seq is returned for the ack.
fn accept(cursor: &mut Cursor, buffer: &mut VecDeque<Delivery>, ev: WireEvent) -> Option<u64> {
    if !cursor.take(ev.seq) {
        return None;
    }
    let event = match ev.kind {
        EventKind::CheckedIn => serde_json::from_str(&ev.payload).map(RelayEvent::CheckedIn),
        EventKind::Payment => serde_json::from_str(&ev.payload).map(RelayEvent::Payment),
        EventKind::LoginPing => serde_json::from_str(&ev.payload).map(RelayEvent::LoginPing),
    };
    match event {
        Ok(event) => {
            let received_at = time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(ev.received_at_ms) * 1_000_000,
            )
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            buffer.push_back(Delivery {
                seq: ev.seq,
                event,
                received_at,
            });
            None
        }
        Err(e) => {
            tracing::error!(seq = ev.seq, kind = ev.kind.as_str(), error = %e,
                "relay event not understood; acknowledging it so it stays with the relay's operators");
            cursor.ack(ev.seq);
            Some(ev.seq)
        }
    }
}

fn failed(error: String, connected: bool) -> SessionEnd {
    SessionEnd::Failed { error, connected }
}

async fn send_ack<S>(ws: &mut S, seq: u64, timeout: Duration) -> Result<(), String>
where
    S: futures_util::Sink<tungstenite::Message, Error = tungstenite::Error> + Unpin,
{
    let text = serde_json::to_string(&ClientMessage::Ack { seq })
        .map_err(|e| format!("encoding an ack: {e}"))?;
    match tokio::time::timeout(timeout, ws.send(tungstenite::Message::text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("sending an ack: {e}")),
        Err(_) => Err("sending an ack timed out".into()),
    }
}

async fn post_acks(
    http: &reqwest::Client,
    url: &url::Url,
    bearer: &str,
    seqs: Vec<u64>,
) -> Result<(), String> {
    let response = http
        .post(url.clone())
        .header(reqwest::header::AUTHORIZATION, bearer)
        .json(&AckRequest { seqs })
        .send()
        .await
        .map_err(|e| format!("sending acks: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("acks answered {}", response.status()))
    }
}

/// Delay before reconnect attempt `attempt` (1-based): exponential from
/// `reconnect_min`, capped at `reconnect_max`, drawn from half to all of it.
fn backoff(config: &RelayClientConfig, attempt: u32) -> Duration {
    let cap =
        crate::core::backoff::exponential(config.reconnect_min, config.reconnect_max, attempt);
    let half = cap / 2;
    half + rand::rng().random_range(Duration::ZERO..=cap - half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let mut c = RelayClientConfig::new(
            url::Url::parse("http://127.0.0.1:1").unwrap(),
            "t".into(),
            0,
        );
        c.reconnect_min = Duration::from_millis(100);
        c.reconnect_max = Duration::from_secs(2);
        for _ in 0..50 {
            let d1 = backoff(&c, 1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d4 = backoff(&c, 4);
            assert!(d4 >= Duration::from_millis(400) && d4 <= Duration::from_millis(800));
            let d30 = backoff(&c, 30);
            assert!(d30 >= Duration::from_secs(1) && d30 <= Duration::from_secs(2));
        }
    }

    #[test]
    fn cursor_resumes_below_the_first_unacknowledged_event() {
        let mut c = Cursor::new(10);
        assert_eq!(c.resume(), 10);
        assert!(c.take(12));
        assert!(c.take(15));
        assert!(!c.take(15));
        assert!(!c.take(9));
        assert_eq!(c.resume(), 11);
        c.ack(12);
        assert_eq!(c.resume(), 14);
        c.ack(15);
        assert_eq!(c.resume(), 15);
        assert_eq!(c.received, 15);
    }
}

/// Why the relay did not answer its health check. `Clone` (sources shared) so a result can
/// travel in a UI message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HealthError {
    #[error("no relay URL is configured")]
    NotConfigured,
    #[error("relay URL {url:?}: {source}")]
    BadUrl {
        url: String,
        source: url::ParseError,
    },
    #[error("relay unreachable: {0}")]
    Unreachable(std::sync::Arc<reqwest::Error>),
    #[error("the relay answered HTTP {0}")]
    Status(u16),
}

/// `GET <base>/healthz`: whether the relay at `base` is up, within `timeout`.
pub async fn health(base: &str, timeout: Duration) -> Result<(), HealthError> {
    if base.trim().is_empty() {
        return Err(HealthError::NotConfigured);
    }
    let bad = |source| HealthError::BadUrl {
        url: base.to_string(),
        source,
    };
    let mut url = url::Url::parse(base.trim()).map_err(bad)?;
    // The base may carry a path prefix: keep it.
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    let url = url.join("healthz").map_err(bad)?;
    let unreachable = |e| HealthError::Unreachable(std::sync::Arc::new(e));
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(unreachable)?;
    let response = client.get(url).send().await.map_err(unreachable)?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(HealthError::Status(response.status().as_u16()))
    }
}

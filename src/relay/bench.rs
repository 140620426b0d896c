//! `kasse-relay bench`: load figures on loopback against a real relay process.
//!
//! 1. Ingest: signed webhooks POSTed over many keep-alive connections as fast
//!    as they are answered; each 2xx means committed to SQLite.
//! 2. Delivery: many tills connected over WebSocket with [`RelayClient`], a
//!    steady webhook rate spread over them; latency from the start of the
//!    webhook POST to the till receiving the event.
//!
//! 3. Sustained ingest (`run_sustained`): webhooks POSTed as fast as they are
//!    answered for a fixed time, with throughput and the sizes of the database
//!    and its write-ahead log reported per window, then how the log shrinks
//!    once the load stops. A falling curve or a growing log shows here.
//!
//! With a PostgreSQL server (`--postgres URL`) phases 1 and 2 run a second
//! time on a fresh database there, with the relay as several instances
//! (`--instances`, default 2): webhooks and tills spread over them, so most
//! deliveries cross from one instance to another through LISTEN/NOTIFY.
//!
//! Figures are printed, never asserted.

// The relay under test is another process on the system clock: webhooks are dated by it.
use crate::clock::Clock;
use crate::relay::client::{RelayClient, RelayClientConfig, RelayEvent, Transport};
use crate::relay::store::{RelayAdmin, RelayDatabase, RelayDb, RelayStoreError, Synchronous};
use crate::relay::wire;
use crate::vipps::webhook;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The `kasse-relay` executable to start (`serve`).
    pub relay_exe: PathBuf,
    pub synchronous: Synchronous,
    /// Ingest phase: webhooks in total and concurrent connections.
    pub webhooks: usize,
    pub connections: usize,
    /// Delivery phase: connected tills, webhooks per second, seconds.
    pub tills: usize,
    pub rate: u32,
    pub seconds: u32,
    /// A PostgreSQL server to run the phases on as well (a database is created and dropped).
    pub postgres_url: Option<String>,
    /// Relay instances on PostgreSQL.
    pub instances: usize,
}

impl BenchOptions {
    pub fn new(relay_exe: PathBuf) -> BenchOptions {
        BenchOptions {
            relay_exe,
            synchronous: Synchronous::Full,
            webhooks: 20_000,
            connections: 64,
            tills: 1_000,
            rate: 500,
            seconds: 10,
            postgres_url: None,
            instances: 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] RelayStoreError),
    #[error("bench: {0}")]
    Io(#[from] std::io::Error),
    #[error("bench: {0}")]
    Failed(String),
    #[error("bench: PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i].as_secs_f64() * 1000.0
        };
        Percentiles {
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50, self.p99, self.max
        )
    }
}

#[derive(Debug, Clone)]
pub struct IngestReport {
    pub webhooks: usize,
    pub connections: usize,
    pub failures: usize,
    pub elapsed: Duration,
    pub per_second: f64,
    pub post_latency: Percentiles,
}

#[derive(Debug, Clone)]
pub struct DeliveryReport {
    pub tills: usize,
    pub rate: u32,
    pub sent: usize,
    pub delivered: usize,
    pub latency: Percentiles,
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    /// "SQLite" or "PostgreSQL ×N".
    pub backend: String,
    pub synchronous: Synchronous,
    pub ingest: IngestReport,
    pub delivery: DeliveryReport,
}

const MSN: &str = "100001";
const SECRET: &str = "bench-secret-bench-secret-bench-secret";

struct RelayProcess {
    child: tokio::process::Child,
    base_url: url::Url,
}

async fn start_relay(
    opts: &BenchOptions,
    db: &std::path::Path,
) -> Result<RelayProcess, BenchError> {
    let sync = match opts.synchronous {
        Synchronous::Full => "full",
        Synchronous::Normal => "normal",
    };
    let mut child = tokio::process::Command::new(&opts.relay_exe)
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0", "--synchronous", sync])
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| BenchError::Failed("relay stdout not captured".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .map_err(|_| BenchError::Failed("relay did not start".into()))??
        .ok_or_else(|| BenchError::Failed("relay exited".into()))?;
    let url = line
        .strip_prefix("listening on ")
        .ok_or_else(|| BenchError::Failed(format!("unexpected relay output {line:?}")))?;
    let base_url = url::Url::parse(url).map_err(|e| BenchError::Failed(e.to_string()))?;
    // Keep reading so the relay never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(RelayProcess { child, base_url })
}

/// A pre-signed delivery (signing is Vipps' work, not the relay's).
struct Signed {
    body: Vec<u8>,
    headers: webhook::SignedHeaders,
}

fn signed_payment(url: &url::Url, reference: &str, date: &str) -> Signed {
    let body = format!(
        r#"{{"msn":"{MSN}","reference":"{reference}","pspReference":"psp-{reference}","name":"AUTHORIZED","amount":{{"currency":"NOK","value":49900}},"timestamp":"2026-01-19T16:26:32.099Z","idempotencyKey":"{reference}-create","success":true}}"#
    )
    .into_bytes();
    let headers = webhook::sign(SECRET, url, date, &body);
    Signed { body, headers }
}

async fn post(http: &reqwest::Client, url: &url::Url, s: Signed) -> bool {
    http.post(url.clone())
        .header("x-ms-date", s.headers.date)
        .header("x-ms-content-sha256", s.headers.content_sha256)
        .header("authorization", s.headers.authorization)
        .header("content-type", "application/json")
        .body(s.body)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// A temporary database with the bench store and `tills` tills; removed on drop.
struct BenchDb {
    dir: PathBuf,
    path: PathBuf,
    tokens: Vec<String>,
}

impl BenchDb {
    fn create(tills: usize, tag: &str) -> Result<BenchDb, BenchError> {
        let dir =
            std::env::temp_dir().join(format!("kasse-relay-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("relay.db");
        let db = RelayDb::open(&path)?;
        db.add_store(MSN, "Bench shop")?;
        db.add_secret(MSN, "bench-webhook", SECRET)?;
        let mut tokens = Vec::with_capacity(tills);
        for i in 0..tills.max(1) {
            tokens.push(
                db.add_till(MSN, &format!("b{i}"), &format!("qr-{i}"))?
                    .token,
            );
        }
        Ok(BenchDb { dir, path, tokens })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run both phases on SQLite.
pub async fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let db = BenchDb::create(opts.tills, "phases")?;
    let relay = start_relay(opts, &db.path).await?;
    let result = phases(opts, "SQLite".into(), &[&relay], &db.tokens).await;
    drop(relay.child);
    result
}

/// Run both phases on a fresh database of the PostgreSQL server at `url`, with
/// `opts.instances` relay processes sharing it; the database is dropped afterwards.
pub async fn run_postgres(opts: &BenchOptions, url: &str) -> Result<BenchReport, BenchError> {
    let name = format!("kasse_relay_bench_{}", std::process::id());
    let (admin, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let conn = tokio::spawn(conn);
    // One statement each: neither may run inside a transaction block.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let mut bench_url = url::Url::parse(url).map_err(|e| BenchError::Failed(e.to_string()))?;
    bench_url.set_path(&format!("/{name}"));
    let result = async {
        let db = RelayDatabase::Postgres(bench_url.to_string());
        let tills = opts.tills.max(1);
        let tokens = tokio::task::spawn_blocking(move || {
            let admin = RelayAdmin::open(&db)?;
            admin.add_store(MSN, "Bench shop")?;
            admin.add_secret(MSN, "bench-webhook", SECRET)?;
            (0..tills)
                .map(|i| {
                    admin
                        .add_till(MSN, &format!("b{i}"), &format!("qr-{i}"))
                        .map(|t| t.token)
                })
                .collect::<Result<Vec<_>, RelayStoreError>>()
        })
        .await
        .map_err(|e| BenchError::Failed(e.to_string()))??;
        let mut relays = Vec::new();
        for _ in 0..opts.instances.max(1) {
            relays.push(start_relay(opts, Path::new(bench_url.as_str())).await?);
        }
        let refs: Vec<&RelayProcess> = relays.iter().collect();
        let backend = format!("PostgreSQL x{}", relays.len());
        phases(opts, backend, &refs, &tokens).await
    }
    .await;
    // The relays hold connections to the database: end them first.
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    drop(admin);
    let _ = conn.await;
    result
}

/// Ingest, then delivery, with webhooks and tills spread over `relays`.
async fn phases(
    opts: &BenchOptions,
    backend: String,
    relays: &[&RelayProcess],
    tokens: &[String],
) -> Result<BenchReport, BenchError> {
    let bases: Vec<url::Url> = relays.iter().map(|r| r.base_url.clone()).collect();
    let urls = bases
        .iter()
        .map(|b| wire::webhook_url(b, MSN).map_err(|e| BenchError::Failed(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let ingest = ingest_phase(opts, &urls).await?;
    let delivery = delivery_phase(opts, &bases, &urls, tokens).await?;
    Ok(BenchReport {
        backend,
        synchronous: opts.synchronous,
        ingest,
        delivery,
    })
}

async fn ingest_phase(opts: &BenchOptions, urls: &[url::Url]) -> Result<IngestReport, BenchError> {
    let connections = opts.connections.max(1);
    let date = webhook::http_date(Clock::system().now());
    // Routed to tills that are not connected: the full ingest path, no delivery.
    let mut queues: Vec<Vec<Signed>> = (0..connections).map(|_| Vec::new()).collect();
    for i in 0..opts.webhooks {
        let reference = format!("b{}-ingest-{i:08}", i % opts.tills.max(1));
        let url = &urls[(i % connections) % urls.len()];
        queues[i % connections].push(signed_payment(url, &reference, &date));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, queue) in queues.into_iter().enumerate() {
        // Each connection talks to one instance.
        let url = urls[c % urls.len()].clone();
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per task.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .map_err(|e| e.to_string())?;
            let mut latencies = Vec::with_capacity(queue.len());
            let mut failures = 0usize;
            for s in queue {
                let t = Instant::now();
                if post(&http, &url, s).await {
                    latencies.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            Ok::<_, String>((latencies, failures))
        }));
    }
    let mut latencies = Vec::with_capacity(opts.webhooks);
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))?
            .map_err(BenchError::Failed)?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    Ok(IngestReport {
        webhooks: opts.webhooks,
        connections,
        failures,
        elapsed,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        post_latency: Percentiles::of(latencies),
    })
}

async fn delivery_phase(
    opts: &BenchOptions,
    bases: &[url::Url],
    urls: &[url::Url],
    tokens: &[String],
) -> Result<DeliveryReport, BenchError> {
    let base = &bases[0];
    // Start the tills from the current end of their streams (the ingest
    // phase left events for them).
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut clients = Vec::with_capacity(tokens.len());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(tokens.len().max(1));
    for (i, token) in tokens.iter().enumerate() {
        // Till i on instance i mod N.
        let mut config = RelayClientConfig::new(bases[i % bases.len()].clone(), token.clone(), 0);
        config.transport = Transport::WebSocket;
        let mut client = RelayClient::connect(config);
        let (sent_at, latencies, ready) = (sent_at.clone(), latencies.clone(), ready_tx.clone());
        clients.push(tokio::spawn(async move {
            let mut status = client.status();
            let _ = status
                .wait_for(|s| *s == crate::relay::client::ConnectionStatus::Connected)
                .await;
            let _ = ready.send(()).await;
            while let Some(d) = client.next().await {
                let now = Instant::now();
                client.ack(d.seq);
                if let RelayEvent::Payment(p) = &d.event
                    && let Some(t) = sent_at
                        .lock()
                        .ok()
                        .and_then(|m| m.get(&p.reference).copied())
                    && let Ok(mut l) = latencies.lock()
                {
                    l.push(now.duration_since(t));
                }
            }
        }));
    }
    drop(ready_tx);
    for _ in 0..tokens.len() {
        if tokio::time::timeout(Duration::from_secs(60), ready_rx.recv())
            .await
            .ok()
            .flatten()
            .is_none()
        {
            return Err(BenchError::Failed("tills did not all connect".into()));
        }
    }
    // Let the tills drain what the ingest phase left for them.
    let backlog_deadline = Instant::now() + Duration::from_secs(120);
    let http = reqwest::Client::new();
    loop {
        let text = http
            .get(
                base.join("/metrics")
                    .map_err(|e| BenchError::Failed(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))?
            .text()
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))?;
        let pending = text
            .lines()
            .find_map(|l| l.strip_prefix("kasse_relay_pending_events "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if pending == 0.0 || Instant::now() > backlog_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let total = (opts.rate as usize) * (opts.seconds as usize);
    let interval = Duration::from_secs_f64(1.0 / f64::from(opts.rate.max(1)));
    let date = webhook::http_date(Clock::system().now());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| BenchError::Failed(e.to_string()))?;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = Vec::with_capacity(total);
    for i in 0..total {
        ticker.tick().await;
        let reference = format!("b{}-live-{i:08}", i % tokens.len());
        // The webhook goes to the instance after the till's: it crosses instances.
        let url = &urls[(i % tokens.len() + 1) % urls.len()];
        let s = signed_payment(url, &reference, &date);
        let (http, url, sent_at) = (http.clone(), url.clone(), sent_at.clone());
        posts.push(tokio::spawn(async move {
            if let Ok(mut m) = sent_at.lock() {
                m.insert(reference, Instant::now());
            }
            post(&http, &url, s).await
        }));
    }
    let mut sent = 0;
    for p in posts {
        if p.await.unwrap_or(false) {
            sent += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while latencies.lock().map(|l| l.len()).unwrap_or(0) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for c in clients {
        c.abort();
    }
    let samples = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    Ok(DeliveryReport {
        tills: tokens.len(),
        rate: opts.rate,
        sent,
        delivered: samples.len(),
        latency: Percentiles::of(samples),
    })
}

/// How long to load the relay in sustained mode, and how to report it.
#[derive(Debug, Clone, Copy)]
pub struct SustainedOptions {
    /// Webhooks are POSTed as fast as answered for this long.
    pub duration: Duration,
    /// One line of figures per window.
    pub window: Duration,
    /// After the load, watch the write-ahead log this long (or until it is empty).
    pub idle: Duration,
}

impl Default for SustainedOptions {
    fn default() -> SustainedOptions {
        SustainedOptions {
            duration: Duration::from_secs(60),
            window: Duration::from_secs(10),
            idle: Duration::from_secs(10),
        }
    }
}

/// Figures for one window of the sustained run.
#[derive(Debug, Clone)]
pub struct SustainedWindow {
    /// Time from the start of the load to the end of this window.
    pub end: Duration,
    pub accepted: u64,
    pub failed: u64,
    pub per_second: f64,
    pub post_latency: Percentiles,
    /// Sizes of `relay.db` and `relay.db-wal` at the end of the window.
    pub db_bytes: u64,
    pub wal_bytes: u64,
}

/// The write-ahead log after the load stopped.
#[derive(Debug, Clone)]
pub struct IdleFigures {
    /// How long after the load the sizes were taken.
    pub after: Duration,
    pub db_bytes: u64,
    pub wal_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct SustainedReport {
    pub synchronous: Synchronous,
    pub connections: usize,
    pub windows: Vec<SustainedWindow>,
    pub accepted: u64,
    pub failed: u64,
    pub elapsed: Duration,
    /// The largest write-ahead log seen (sampled every 100 ms).
    pub max_wal_bytes: u64,
    /// The last sample of the idle watch.
    pub idle: IdleFigures,
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// What the senders have done so far.
#[derive(Default)]
struct Tally {
    accepted: AtomicU64,
    failed: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

/// Sustained ingest: POST signed webhooks over `opts.connections` keep-alive
/// connections for `sustained.duration`, calling `on_window` with the figures
/// of each window as it ends.
pub async fn run_sustained(
    opts: &BenchOptions,
    sustained: SustainedOptions,
    mut on_window: impl FnMut(&SustainedWindow),
) -> Result<SustainedReport, BenchError> {
    let db = BenchDb::create(opts.tills, "sustained")?;
    let relay = start_relay(opts, &db.path).await?;
    let url =
        wire::webhook_url(&relay.base_url, MSN).map_err(|e| BenchError::Failed(e.to_string()))?;
    let wal = wal_path(&db.path);
    let connections = opts.connections.max(1);
    let tills = opts.tills.max(1);
    let window = sustained.window.max(Duration::from_millis(100));
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let date = webhook::http_date(Clock::system().now());

    let started = Instant::now();
    let mut senders = Vec::with_capacity(connections);
    for c in 0..connections {
        let (url, tally, stop, date) = (url.clone(), tally.clone(), stop.clone(), date.clone());
        senders.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .map_err(|e| BenchError::Failed(e.to_string()))?;
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                // Routed to tills that are not connected: the full ingest path.
                let reference = format!("b{}-sustained-{c:04}-{n:08}", (c + n) % tills);
                n += 1;
                let s = signed_payment(&url, &reference, &date);
                let t = Instant::now();
                if post(&http, &url, s).await {
                    let took = t.elapsed();
                    tally.accepted.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut l) = tally.latencies.lock() {
                        l.push(took);
                    }
                } else {
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<_, BenchError>(())
        }));
    }

    let mut windows = Vec::new();
    let mut max_wal = 0u64;
    let (mut seen_accepted, mut seen_failed) = (0u64, 0u64);
    let mut window_start = started;
    let end = started + sustained.duration;
    let mut sample = tokio::time::interval(Duration::from_millis(100));
    sample.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        sample.tick().await;
        max_wal = max_wal.max(file_len(&wal));
        let now = Instant::now();
        let finished = now >= end;
        if now.duration_since(window_start) < window && !finished {
            continue;
        }
        let accepted = tally.accepted.load(Ordering::Relaxed);
        let failed = tally.failed.load(Ordering::Relaxed);
        let latencies = tally
            .latencies
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        let w = SustainedWindow {
            end: now.duration_since(started),
            accepted: accepted - seen_accepted,
            failed: failed - seen_failed,
            per_second: (accepted - seen_accepted) as f64
                / now.duration_since(window_start).as_secs_f64(),
            post_latency: Percentiles::of(latencies),
            db_bytes: file_len(&db.path),
            wal_bytes: file_len(&wal),
        };
        on_window(&w);
        windows.push(w);
        (seen_accepted, seen_failed, window_start) = (accepted, failed, now);
        if finished {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.await.map_err(|e| BenchError::Failed(e.to_string()))??;
    }
    let elapsed = started.elapsed();
    let accepted = tally.accepted.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);

    // Idle: does the log shrink once nothing is written?
    let idle_started = Instant::now();
    let idle = loop {
        sample.tick().await;
        let wal_bytes = file_len(&wal);
        let after = idle_started.elapsed();
        if wal_bytes == 0 || after >= sustained.idle {
            break IdleFigures {
                after,
                db_bytes: file_len(&db.path),
                wal_bytes,
            };
        }
    };
    drop(relay.child);
    Ok(SustainedReport {
        synchronous: opts.synchronous,
        connections,
        windows,
        accepted,
        failed,
        elapsed,
        max_wal_bytes: max_wal,
        idle,
    })
}

/// Parse a duration such as `60s`, `500ms`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 60s or 500ms, got {text:?}"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown duration unit {other:?} in {text:?}")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// Bytes for people: `15.6 MB`.
pub fn human_bytes(n: u64) -> String {
    const MB: f64 = 1_000_000.0;
    if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / MB)
    } else if n >= 1_000 {
        format!("{:.1} kB", n as f64 / 1000.0)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_or_without_a_unit() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("ten seconds").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }

    #[test]
    fn sizes_print_in_decimal_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(15_600_000), "15.6 MB");
        assert_eq!(human_bytes(420_000_000), "420.0 MB");
    }
}

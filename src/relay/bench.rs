//! `kasse-relay bench`: load figures on loopback against a real relay process.
//!
//! 1. Ingest: signed webhooks POSTed over many keep-alive connections as fast
//!    as they are answered; each 2xx means committed to SQLite.
//! 2. Delivery: many tills connected over WebSocket with [`RelayClient`], a
//!    steady webhook rate spread over them; latency from the start of the
//!    webhook POST to the till receiving the event.
//!
//! Figures are printed, never asserted.

use crate::relay::client::{RelayClient, RelayClientConfig, RelayEvent, Transport};
use crate::relay::store::{RelayDb, RelayStoreError, Synchronous};
use crate::relay::wire;
use crate::vipps::webhook;
use std::collections::HashMap;
use std::path::PathBuf;
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

/// Run both phases.
pub async fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let dir = std::env::temp_dir().join(format!("kasse-relay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db_path = dir.join("relay.db");
    let _ = std::fs::remove_file(&db_path);
    let tills = opts.tills.max(1);
    let tokens = {
        let db = RelayDb::open(&db_path)?;
        db.add_store(MSN, "Bench shop")?;
        db.add_secret(MSN, "bench-webhook", SECRET)?;
        let mut tokens = Vec::with_capacity(tills);
        for i in 0..tills {
            tokens.push(
                db.add_till(MSN, &format!("b{i}"), &format!("qr-{i}"))?
                    .token,
            );
        }
        tokens
    };
    let relay = start_relay(opts, &db_path).await?;
    let url =
        wire::webhook_url(&relay.base_url, MSN).map_err(|e| BenchError::Failed(e.to_string()))?;
    let result = async {
        let ingest = ingest_phase(opts, &url).await?;
        let delivery = delivery_phase(opts, &relay.base_url, &url, &tokens).await?;
        Ok(BenchReport {
            synchronous: opts.synchronous,
            ingest,
            delivery,
        })
    }
    .await;
    drop(relay.child);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn ingest_phase(opts: &BenchOptions, url: &url::Url) -> Result<IngestReport, BenchError> {
    let connections = opts.connections.max(1);
    let date = webhook::http_date(std::time::SystemTime::now());
    // Routed to tills that are not connected: the full ingest path, no delivery.
    let mut queues: Vec<Vec<Signed>> = (0..connections).map(|_| Vec::new()).collect();
    for i in 0..opts.webhooks {
        let reference = format!("b{}-ingest-{i:08}", i % opts.tills.max(1));
        queues[i % connections].push(signed_payment(url, &reference, &date));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for queue in queues {
        let url = url.clone();
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
    base: &url::Url,
    url: &url::Url,
    tokens: &[String],
) -> Result<DeliveryReport, BenchError> {
    // Start the tills from the current end of their streams (the ingest
    // phase left events for them).
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut clients = Vec::with_capacity(tokens.len());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(tokens.len().max(1));
    for token in tokens {
        let mut config = RelayClientConfig::new(base.clone(), token.clone(), 0);
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
    let date = webhook::http_date(std::time::SystemTime::now());
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

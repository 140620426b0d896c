//! Shared helpers for the relay integration tests: run the real `kasse-relay`
//! binary on loopback, provision it through its CLI, sign webhooks like Vipps.
#![allow(dead_code)]

pub mod pg;

use kasse::vipps::webhook;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

pub const BIN: &str = env!("CARGO_BIN_EXE_kasse-relay");

/// Run the CLI on `db` and return its stdout (panics with stderr on failure).
pub fn cli(db: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run kasse-relay");
    assert!(
        out.status.success(),
        "kasse-relay {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Run the CLI expecting failure; returns stderr.
pub fn cli_fails(db: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run kasse-relay");
    assert!(!out.status.success(), "kasse-relay {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A store with one webhook secret and the given tills; returns the till tokens.
pub fn provision(db: &Path, msn: &str, secret: &str, tills: &[(&str, &str)]) -> Vec<String> {
    cli(
        db,
        &[
            "store",
            "add",
            "--msn",
            msn,
            "--name",
            &format!("Shop {msn}"),
        ],
    );
    cli(
        db,
        &[
            "store",
            "secret",
            "--msn",
            msn,
            "--webhook-id",
            &format!("wh-{msn}"),
            "--secret",
            secret,
        ],
    );
    tills
        .iter()
        .map(|(till, qr)| add_till(db, msn, till, qr))
        .collect()
}

/// `till add` through the CLI; returns the till's new token.
pub fn add_till(db: &Path, msn: &str, till: &str, merchant_qr_id: &str) -> String {
    let args = [
        "till",
        "add",
        "--msn",
        msn,
        "--till",
        till,
        "--merchant-qr-id",
        merchant_qr_id,
    ];
    let out = cli(db, &args);
    let token = out.trim().to_string();
    assert!(token.starts_with("kasse_till_"), "token line: {out:?}");
    token
}

/// A running `kasse-relay serve`.
pub struct Relay {
    pub child: tokio::process::Child,
    pub base_url: url::Url,
    pub addr: String,
    _stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Relay {
    /// Start `serve` on `listen` (e.g. "127.0.0.1:0") with fast heartbeats.
    pub async fn start(db: &Path, listen: &str, extra: &[&str]) -> Relay {
        Relay::spawn(db, listen, extra, Stdio::inherit()).await.0
    }

    /// Like [`Relay::start`], collecting the relay's log (stderr, `RUST_LOG=warn`).
    pub async fn start_logged(db: &Path, listen: &str, extra: &[&str]) -> (Relay, Logs) {
        let (relay, stderr) = Relay::spawn(db, listen, extra, Stdio::piped()).await;
        let stderr = stderr.expect("piped stderr");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let collected = lines.clone();
        let reader = tokio::spawn(async move {
            let mut stderr = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = stderr.next_line().await {
                collected.lock().unwrap().push(strip_ansi(&line));
            }
        });
        (relay, Logs { lines, reader })
    }

    /// Like [`Relay::start`], with more environment variables.
    pub async fn start_with_env(
        db: &Path,
        listen: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Relay {
        Relay::spawn_env(db, listen, extra, env, Stdio::inherit())
            .await
            .0
    }

    async fn spawn(
        db: &Path,
        listen: &str,
        extra: &[&str],
        stderr: Stdio,
    ) -> (Relay, Option<tokio::process::ChildStderr>) {
        Relay::spawn_env(db, listen, extra, &[], stderr).await
    }

    async fn spawn_env(
        db: &Path,
        listen: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> (Relay, Option<tokio::process::ChildStderr>) {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.envs(env.iter().copied());
        cmd.arg("--db")
            .arg(db)
            .args(["serve", "--listen", listen])
            .args([
                "--heartbeat-interval-ms",
                "200",
                "--heartbeat-timeout-ms",
                "2000",
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn kasse-relay serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("relay prints its address in time")
            .expect("read relay stdout")
            .expect("relay printed a line");
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let base_url = url::Url::parse(url).expect("relay URL");
        let addr = format!(
            "{}:{}",
            base_url.host_str().expect("host"),
            base_url.port().expect("port")
        );
        let relay = Relay {
            child,
            base_url,
            addr,
            _stdout: lines,
        };
        (relay, stderr)
    }

    /// SIGTERM (what systemd sends), and wait until it has shut down.
    #[cfg(unix)]
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("relay still running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("relay stops after SIGTERM")
            .expect("wait for relay")
    }

    /// SIGKILL, and wait until it is gone.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }

    pub fn webhook_url(&self, msn: &str) -> url::Url {
        self.base_url
            .join(&format!("/v1/webhooks/vipps/{msn}"))
            .expect("webhook URL")
    }
}

/// The log lines of a relay started with [`Relay::start_logged`].
pub struct Logs {
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Logs {
    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Every line, once the relay has exited (its stderr is closed).
    pub async fn all(self) -> Vec<String> {
        tokio::time::timeout(Duration::from_secs(30), self.reader)
            .await
            .expect("relay log closed in time")
            .expect("log reader");
        self.lines.lock().unwrap().clone()
    }
}

/// `line` without terminal colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The size of the write-ahead log beside `db` (0 when there is none).
pub fn wal_len(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len())
}

/// The three headers Vipps signs `body` with for `signed_for`, dated now.
pub fn signature_headers(
    signed_for: &url::Url,
    secret: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let date = webhook::http_date(std::time::SystemTime::now());
    let signed = webhook::sign(secret, signed_for, &date, body);
    vec![
        ("x-ms-date", signed.date),
        ("x-ms-content-sha256", signed.content_sha256),
        ("authorization", signed.authorization),
    ]
}

/// A POST of `body` to `url` with exactly `headers`.
pub fn post_with(
    http: &reqwest::Client,
    url: url::Url,
    headers: Vec<(&'static str, String)>,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    headers
        .into_iter()
        .fold(http.post(url).body(body), |req, (k, v)| req.header(k, v))
}

/// POST `body` to `url` signed with `secret` the way Vipps signs it.
pub async fn post_signed(
    http: &reqwest::Client,
    url: &url::Url,
    secret: &str,
    body: &[u8],
) -> reqwest::Response {
    post_with(
        http,
        url.clone(),
        signature_headers(url, secret, body),
        body.to_vec(),
    )
    .header("content-type", "application/json")
    .send()
    .await
    .expect("POST webhook")
}

pub fn checkin_body(qr: &str, token: &str) -> String {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format now");
    format!(
        r#"{{"customerToken":"{token}","merchantQrId":"{qr}","msn":"123456","initiatedAt":"{now}"}}"#
    )
}

pub fn payment_body(reference: &str, name: &str, psp: &str) -> String {
    format!(
        r#"{{"msn":"123456","reference":"{reference}","pspReference":"{psp}","name":"{name}","amount":{{"currency":"NOK","value":49900}},"timestamp":"2026-01-19T16:26:32.099Z","idempotencyKey":"{reference}-create","success":true}}"#
    )
}

/// Wait (polling) until `f` returns Some, or panic after `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Read one metric value from `/metrics`.
pub async fn metric(http: &reqwest::Client, base: &url::Url, name: &str) -> Option<f64> {
    let text = http
        .get(base.join("/metrics").ok()?)
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Long-poll once as a till: (seq, payload) pairs after `after`.
pub async fn poll(
    http: &reqwest::Client,
    base: &url::Url,
    token: &str,
    after: u64,
    wait_ms: u64,
) -> reqwest::Result<(reqwest::StatusCode, Vec<(u64, String)>)> {
    let url = base
        .join(&format!("/v1/till/poll?after={after}&wait_ms={wait_ms}"))
        .expect("poll URL");
    let r = http.get(url).bearer_auth(token).send().await?;
    let status = r.status();
    if !status.is_success() {
        return Ok((status, Vec::new()));
    }
    let v: serde_json::Value = r.json().await?;
    let events = v["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["seq"].as_u64().expect("seq"),
                        e["payload"].as_str().expect("payload").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((status, events))
}

pub fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("relay.db");
    (dir, db)
}

use kasse::relay::client::{
    ConnectionStatus, Delivery, RelayClient, RelayClientConfig, RelayEvent, Transport,
};

/// Client settings with heartbeats and back-off scaled down for tests.
pub fn client_config(
    base: &url::Url,
    token: &str,
    cursor: u64,
    transport: Transport,
) -> RelayClientConfig {
    let mut c = RelayClientConfig::new(base.clone(), token.to_string(), cursor);
    c.transport = transport;
    c.heartbeat_interval = Duration::from_millis(200);
    c.heartbeat_timeout = Duration::from_millis(2000);
    c.reconnect_min = Duration::from_millis(50);
    c.reconnect_max = Duration::from_millis(400);
    c.long_poll_wait = Duration::from_millis(800);
    c
}

/// A payment event's reference, or a check-in's customer token.
pub fn key_of(d: &Delivery) -> String {
    match &d.event {
        RelayEvent::Payment(p) => p.reference.clone(),
        RelayEvent::CheckedIn(c) => c.merchant_qr_id.clone(),
        RelayEvent::LoginPing(_) => "login-ping".to_string(),
    }
}

/// Receive one delivery within `limit`.
pub async fn recv(client: &mut RelayClient, limit: Duration) -> Delivery {
    tokio::time::timeout(limit, client.next())
        .await
        .expect("a delivery in time")
        .expect("client still running")
}

/// Wait until the client's status satisfies `f`.
pub async fn wait_status(
    client: &RelayClient,
    limit: Duration,
    what: &str,
    f: impl Fn(&ConnectionStatus) -> bool,
) {
    let mut rx = client.status();
    tokio::time::timeout(limit, rx.wait_for(|s| f(s)))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for status: {what}"))
        .expect("status channel open");
}

/// A TCP proxy whose current connections can be frozen: from then on they
/// swallow everything in both directions (a silently dead link). New
/// connections are forwarded normally.
pub struct FreezingProxy {
    pub addr: std::net::SocketAddr,
    freeze: tokio::sync::watch::Sender<u64>,
}

impl FreezingProxy {
    pub async fn start(target: String) -> FreezingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (freeze, freeze_rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                let mut frozen = freeze_rx.clone();
                let generation = *frozen.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    let pump =
                        |mut r: tokio::net::tcp::OwnedReadHalf,
                         mut w: tokio::net::tcp::OwnedWriteHalf,
                         mut frozen: tokio::sync::watch::Receiver<u64>| async move {
                            use tokio::io::{AsyncReadExt, AsyncWriteExt};
                            let mut buf = vec![0u8; 16 * 1024];
                            loop {
                                let n = match r.read(&mut buf).await {
                                    Ok(0) | Err(_) => {
                                        if *frozen.borrow_and_update() != generation {
                                            // A dead link does not report closes either.
                                            std::future::pending::<()>().await;
                                        }
                                        return;
                                    }
                                    Ok(n) => n,
                                };
                                if *frozen.borrow_and_update() != generation {
                                    // Swallow: keep reading, forward nothing, never close.
                                    continue;
                                }
                                if w.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        };
                    let a = tokio::spawn(pump(ri, wo, frozen.clone()));
                    let b = tokio::spawn(pump(ro, wi, frozen.clone()));
                    let _ = tokio::join!(a, b);
                });
            }
        });
        FreezingProxy { addr, freeze }
    }

    /// Freeze every connection open now.
    pub fn freeze(&self) {
        self.freeze.send_modify(|g| *g += 1);
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr)).expect("proxy URL")
    }
}

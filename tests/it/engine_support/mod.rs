//! Shared harness for the engine tests: simulator + relay in-process on loopback, a till
//! configuration with short timings, and helpers to wait for events with a deadline.
#![allow(dead_code)]

use std::time::Duration;

use kasse::cli::demo::{DemoEnvironment, DemoOptions};
use kasse::config::Config;
use kasse::core::basket::Basket;
use kasse::core::catalog::Item;
use kasse::core::money::Currency;
use kasse::core::tender::TenderKind;
use kasse::core::vat::VatRate;
use kasse::engine::{Command, Engine, EngineEvent, EngineHandle, EngineOptions};
use kasse::sim::{SimConfig, client::LedgerPayment, client::LoggedCall};
use kasse::store::Store;
use tokio::sync::broadcast;

pub mod loyalty;
pub mod scenario;
pub use scenario::TestTill;

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Env {
    pub demo: DemoEnvironment,
    pub config: Config,
    _dir: tempfile::TempDir,
}

/// Test timings: polls start quickly, retries are short.
pub fn fast(config: &mut Config) {
    config.engine.poll_start_ms = 300;
    config.engine.poll_interval_ms = 200;
    config.engine.poll_max_interval_ms = 1_000;
    config.engine.retry_initial_ms = 50;
    config.engine.retry_max_ms = 400;
    config.engine.create_retry_budget_secs = 10;
    config.engine.modify_retry_budget_secs = 10;
    config.engine.reconcile_interval_secs = 1;
    config.engine.http_timeout_ms = 2_000;
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(SimConfig::for_tests(), Duration::from_secs(120)).await
    }

    pub async fn start_with(sim: SimConfig, payment_expiry: Duration) -> Env {
        Self::start_with_options(DemoOptions {
            payment_expiry,
            sim: Some(sim),
            ..DemoOptions::default()
        })
        .await
    }

    /// An environment from demo options (`dir` is always a fresh temporary one).
    pub async fn start_with_options(mut options: DemoOptions) -> Env {
        let dir = tempfile::tempdir().unwrap();
        options.dir = Some(dir.path().to_path_buf());
        let demo = kasse::cli::demo::start_with(options).await.unwrap();
        let mut config = demo.config.clone();
        fast(&mut config);
        Env {
            demo,
            config,
            _dir: dir,
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.config.database_path().unwrap()).unwrap()
    }

    /// Starts an engine on this environment's database.
    pub fn engine(&self) -> (EngineHandle, broadcast::Receiver<EngineEvent>) {
        Engine::start(self.config.clone(), self.store())
    }

    pub fn engine_with(
        &self,
        options: EngineOptions,
    ) -> (EngineHandle, broadcast::Receiver<EngineEvent>) {
        Engine::start_with(self.config.clone(), self.store(), options)
    }

    pub async fn ledger(&self, reference: &str) -> LedgerPayment {
        self.demo.phone.control().payment(reference).await.unwrap()
    }

    pub async fn ledger_all(&self) -> Vec<LedgerPayment> {
        self.demo.phone.control().payments().await.unwrap()
    }

    pub async fn log(&self) -> Vec<LoggedCall> {
        self.demo.phone.control().log().await.unwrap()
    }
}

/// A two-line basket worth 12 900 øre.
pub fn basket() -> Basket {
    let mut b = Basket::new(Currency::Nok);
    let shirt = Item::new("sku-shirt", "T-shirt", 9_900, VatRate::NO_STANDARD);
    let bread = Item::new("sku-bread", "Bread", 1_500, VatRate::NO_FOOD);
    b.add_item(&shirt).unwrap();
    let l = b.add_item(&bread).unwrap();
    b.set_quantity(l, 2).unwrap();
    assert_eq!(b.check_payable().unwrap(), 12_900);
    b
}

/// Waits for the first event matching `pred` (skipping others) or panics after `WAIT`.
pub async fn wait_for(
    rx: &mut broadcast::Receiver<EngineEvent>,
    what: &str,
    pred: impl Fn(&EngineEvent) -> bool,
) -> EngineEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) => {
                if pred(&e) {
                    return e;
                }
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => panic!("engine events ended while waiting for {what}: {e}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

/// Waits for `PaymentRequested` and returns its reference.
pub async fn requested(rx: &mut broadcast::Receiver<EngineEvent>) -> String {
    match wait_for(rx, "payment_requested", |e| {
        matches!(e, EngineEvent::PaymentRequested { .. })
    })
    .await
    {
        EngineEvent::PaymentRequested { reference, .. } => reference,
        _ => unreachable!(),
    }
}

/// Waits until `cond` holds, polling, or panics after `WAIT`.
pub async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn is_ready(e: &EngineEvent) -> bool {
    matches!(e, EngineEvent::Ready { .. })
}

// ---------------------------------------------------------------------------------------------
// The till as a separate process (`kasse pay` / `kasse recover` / `kasse refund`).

/// What the simulated customer does when the till process asks for payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Customer {
    Approve,
    Decline,
    Ignore,
}

/// How a till process ended and what it printed.
#[derive(Debug)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub lines: Vec<serde_json::Value>,
}

impl Run {
    pub fn aborted(&self) -> bool {
        use std::os::unix::process::ExitStatusExt;
        self.status.signal() == Some(6)
    }

    pub fn has(&self, kind: &str) -> bool {
        self.lines.iter().any(|l| l["type"] == kind)
    }

    pub fn reference(&self) -> Option<String> {
        self.lines
            .iter()
            .find(|l| l["type"] == "payment_requested")
            .and_then(|l| l["reference"].as_str().map(str::to_string))
    }

    pub fn sale_id(&self) -> Option<i64> {
        self.lines
            .iter()
            .find(|l| l["type"] == "awaiting_check_in")
            .and_then(|l| l["sale_id"].as_i64())
    }
}

impl Env {
    /// Writes this environment's till configuration to a file (secrets beside it, 0600).
    pub fn write_config(&self) -> std::path::PathBuf {
        let path = self._dir.path().join("till").join("kasse.toml");
        self.config.save(&path).unwrap();
        path
    }

    /// Runs the `kasse` binary with `args` against this environment, playing the customer.
    pub async fn run_till(&self, args: &[&str], crash_at: Option<&str>, customer: Customer) -> Run {
        use tokio::io::AsyncBufReadExt;
        let config = self.write_config();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kasse"));
        cmd.args(args)
            .arg("--config")
            .arg(&config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        // Nothing from the test's own environment leaks into the till.
        for (k, _) in std::env::vars() {
            if k.starts_with("KASSE_") {
                cmd.env_remove(k);
            }
        }
        if let Some(step) = crash_at {
            cmd.env("KASSE_CRASH_AT", step);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut reader = tokio::io::BufReader::new(stdout).lines();
        // Pushed to a known customer: nobody scans the till's QR.
        let phone_mode = ["--phone", "--personal-qr", "--one-time-qr"]
            .iter()
            .any(|flag| args.contains(flag));
        let mut lines = Vec::new();
        let (mut relay_up, mut awaiting, mut scanned) = (false, false, false);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let line = match tokio::time::timeout_at(deadline, reader.next_line()).await {
                Ok(Ok(Some(l))) => l,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => panic!("reading the till's output: {e}"),
                Err(_) => panic!("the till process did not finish: {lines:#?}"),
            };
            let v: serde_json::Value = match serde_json::from_str(&line) {
                Ok(v) => v,
                Err(_) => panic!("not a JSON line on stdout: {line}"),
            };
            match v["type"].as_str() {
                Some("relay_status") => relay_up = v["status"]["state"] == "connected",
                // The till is ready for the customer once it prints the QR line (after any parts
                // paid at the till).
                Some("qr") => awaiting = true,
                // A payment-specific QR reaches the app when the customer scans it.
                Some("one_time_qr") if customer != Customer::Ignore => {
                    let content = v["qr_content"].as_str().unwrap();
                    self.demo.phone.scan_payment_qr(content).await.unwrap();
                }
                Some("payment_requested") => {
                    let r = v["reference"].as_str().unwrap().to_string();
                    match customer {
                        Customer::Approve => self.demo.phone.approve(&r).await.unwrap(),
                        Customer::Decline => self.demo.phone.decline(&r).await.unwrap(),
                        Customer::Ignore => {}
                    }
                }
                _ => {}
            }
            lines.push(v);
            if awaiting && relay_up && !scanned && !phone_mode {
                scanned = true;
                assert!(self.demo.phone.scan().await.unwrap(), "check-in delivered");
            }
        }
        let status = tokio::time::timeout_at(deadline, child.wait())
            .await
            .expect("the till process exits")
            .unwrap();
        Run { status, lines }
    }
}

/// Every payment at the simulator is settled: nothing waits for the customer, nothing is
/// reserved without being captured or released, nothing is captured twice or partly.
pub fn assert_ledger_settled(ledger: &[LedgerPayment]) {
    for p in ledger {
        assert_ne!(
            p.state, "CREATED",
            "{} is still waiting: {p:#?}",
            p.reference
        );
        assert!(
            p.counts.captures <= 1,
            "{} captured twice: {p:#?}",
            p.reference
        );
        let a = p.aggregate;
        if p.state == "AUTHORIZED" {
            assert_eq!(
                a.authorized_amount.value - a.captured_amount.value - a.cancelled_amount.value,
                0,
                "{} has reserved money left: {p:#?}",
                p.reference
            );
            assert!(
                a.captured_amount.value == 0 || a.captured_amount.value == p.amount.value,
                "{} partly captured: {p:#?}",
                p.reference
            );
        } else {
            assert_eq!(a.captured_amount.value, 0, "{p:#?}");
        }
    }
}

/// No reference got more than 5 calls of one modifying API (create, capture, cancel, refund,
/// each counted on its own as Vipps does) or 120 GETs in any 60-second window.
pub fn assert_rate_limits(log: &[LoggedCall]) {
    use std::collections::HashMap;
    let mut by: HashMap<(String, &str), Vec<u64>> = HashMap::new();
    for c in log {
        let Some(r) = &c.reference else { continue };
        if !c.path.starts_with("/epayment/") {
            continue;
        }
        let api = if c.method == "GET" {
            "GET"
        } else {
            ["capture", "cancel", "refund"]
                .into_iter()
                .find(|api| c.path.ends_with(&format!("/{api}")))
                .unwrap_or("create")
        };
        by.entry((r.clone(), api))
            .or_default()
            .push(c.received_at_unix_nanos);
    }
    for ((reference, api), mut times) in by {
        times.sort_unstable();
        let limit = if api == "GET" { 120 } else { 5 };
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u - *t < 60_000_000_000)
                .count();
            assert!(
                in_window <= limit,
                "{reference}: {in_window} {api} calls within a minute"
            );
        }
    }
}

/// Idempotency keys of the logged POSTs to `suffix` (`/capture`, ...) for `reference`.
pub fn keys_of(log: &[LoggedCall], reference: &str, suffix: &str) -> Vec<String> {
    log.iter()
        .filter(|c| c.method == "POST" && c.reference.as_deref() == Some(reference))
        .filter(|c| c.path.ends_with(suffix))
        .map(|c| c.idempotency_key.clone().unwrap_or_default())
        .collect()
}

/// Pay, wait until the till waits for a scan, then push the request to the test phone number.
pub async fn send_to_phone(engine: &EngineHandle, rx: &mut broadcast::Receiver<EngineEvent>) {
    engine
        .send(kasse::engine::Command::Pay { basket: basket() })
        .unwrap();
    wait_for(rx, "awaiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    engine
        .send(kasse::engine::Command::SendToPhone {
            phone_number: "4791234567".into(),
        })
        .unwrap();
}

/// [`send_to_phone`], then wait for the payment request and return its reference.
pub async fn pay_by_phone(
    engine: &EngineHandle,
    rx: &mut broadcast::Receiver<EngineEvent>,
) -> String {
    send_to_phone(engine, rx).await;
    requested(rx).await
}

/// A one-line basket of `price` øre (standard VAT).
pub fn one_item(price: i64) -> Basket {
    let mut b = Basket::new(Currency::Nok);
    b.add_item(&Item::new("sku-x", "Thing", price, VatRate::NO_STANDARD))
        .unwrap();
    b
}

/// A part of the payment taken at the till.
pub fn tender(kind: TenderKind, amount: i64) -> Command {
    Command::Tender {
        tender: kind,
        amount,
        reference: None,
    }
}

/// Presses Pay on `basket` and returns the sale id once it awaits the customer.
pub async fn start_sale(
    engine: &EngineHandle,
    rx: &mut broadcast::Receiver<EngineEvent>,
    basket: Basket,
) -> i64 {
    engine.send(Command::Pay { basket }).unwrap();
    match wait_for(rx, "awaiting check-in", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await
    {
        EngineEvent::AwaitingCheckIn { sale_id, .. } => sale_id,
        _ => unreachable!(),
    }
}

/// The simulated customer scans the till's QR and approves the request; returns its reference
/// once the engine says the sale completed.
pub async fn customer_scans_and_approves(
    env: &Env,
    rx: &mut broadcast::Receiver<EngineEvent>,
) -> String {
    assert!(env.demo.phone.scan().await.unwrap());
    let reference = requested(rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
    reference
}

/// Runs the `kasse` program with `args` (no `KASSE_` variable from outside) until it exits
/// or `deadline` passes; its exit status and its stdout as JSON lines.
pub async fn run_kasse(
    args: &[&str],
    deadline: Duration,
) -> (std::process::ExitStatus, Vec<serde_json::Value>) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kasse"));
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("KASSE_") {
            cmd.env_remove(k);
        }
    }
    let out = tokio::time::timeout(deadline, cmd.output())
        .await
        .expect("kasse finishes")
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (out.status, lines)
}

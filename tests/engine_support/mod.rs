//! Shared harness for the engine tests: simulator + relay in-process on loopback, a till
//! configuration with short timings, and helpers to wait for events with a deadline.
#![allow(dead_code)]

use std::time::Duration;

use kasse::config::Config;
use kasse::core::basket::Basket;
use kasse::core::catalog::Item;
use kasse::core::money::Currency;
use kasse::core::vat::VatRate;
use kasse::demo::{DemoEnvironment, DemoOptions};
use kasse::engine::{Engine, EngineEvent, EngineHandle, EngineOptions};
use kasse::sim::{SimConfig, client::LedgerPayment, client::LoggedCall};
use kasse::store::Store;
use tokio::sync::broadcast;

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
        let dir = tempfile::tempdir().unwrap();
        let demo = kasse::demo::start_with(DemoOptions {
            payment_expiry,
            dir: Some(dir.path().to_path_buf()),
            sim: Some(sim),
        })
        .await
        .unwrap();
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

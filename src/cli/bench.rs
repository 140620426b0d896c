//! `kasse bench`: sales through the in-process simulator + relay + engine on loopback, timing
//! the two hops the engine is responsible for:
//!
//! - check-in: the relay receives `user.checked-in.v1` → the simulator receives create payment;
//! - capture: the relay receives `AUTHORIZED` → the simulator receives capture.
//!
//! Relay receive times come from the deliveries (stored by the engine), simulator receive times
//! from `/sim/v1/log`. Both are wall-clock times on the same machine.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use tokio::sync::broadcast;

use super::demo::{DemoOptions, start_with};
use super::print_line;
use crate::core::basket::Basket;
use crate::core::catalog::Item;
use crate::core::money::Currency;
use crate::core::vat::VatRate;
use crate::engine::{Command, Engine, EngineEvent, EngineOptions, RelayStatus};
use crate::store::Store;

const STEP_TIMEOUT: Duration = Duration::from_secs(30);

async fn next_matching(
    rx: &mut broadcast::Receiver<EngineEvent>,
    what: &str,
    pred: impl Fn(&EngineEvent) -> bool,
) -> anyhow::Result<EngineEvent> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if pred(&e) => return Ok(e),
            Ok(Ok(EngineEvent::Problem {
                message_id,
                detail,
                retrying: false,
            })) => bail!("{what}: engine problem {message_id:?} {detail:?}"),
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => bail!("{what}: {e}"),
            Err(_) => bail!("timed out waiting for {what}"),
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(name: &str, mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    json!({
        "type": "latency",
        "hop": name,
        "samples": ms.len(),
        "p50_ms": percentile(&ms, 50.0),
        "p99_ms": percentile(&ms, 99.0),
        "max_ms": ms.last().copied().unwrap_or(f64::NAN),
    })
}

/// `kasse bench`
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Number of sales.
    #[arg(long, default_value_t = 200)]
    pub sales: u32,
    /// Another benchmark than the payment latencies.
    #[command(subcommand)]
    pub what: Option<BenchWhat>,
}

/// The other benchmarks.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchWhat {
    /// X and Z reports on a year of trading (`--sales` sales over `--days` days).
    Reports(super::bench_reports::ReportBenchArgs),
}

/// Runs `--sales` sales and prints the latency figures as JSON lines. Exit code 0 when every
/// sale completed.
pub async fn run(args: BenchArgs) -> anyhow::Result<i32> {
    let sales = args.sales;
    let demo = start_with(DemoOptions::default())
        .await
        .context("starting simulator and relay")?;
    let config = demo.config.clone();
    let db_path = config.database_path().context("database path")?;
    let store = Store::open(&db_path)?;
    let (engine, mut rx) = Engine::start_with(config, store, EngineOptions::default());
    next_matching(&mut rx, "ready", |e| matches!(e, EngineEvent::Ready { .. })).await?;
    next_matching(&mut rx, "relay connected", |e| {
        matches!(
            e,
            EngineEvent::RelayStatus {
                status: RelayStatus::Connected
            }
        )
    })
    .await?;

    let started = Instant::now();
    let mut references = Vec::with_capacity(sales as usize);
    for i in 0..sales {
        let mut basket = Basket::new(Currency::Nok);
        let item = Item::new(
            "bench",
            "Bench item",
            1_000 + i64::from(i),
            VatRate::NO_STANDARD,
        );
        basket.add_item(&item)?;
        engine.send(Command::Pay { basket })?;
        next_matching(&mut rx, "awaiting check-in", |e| {
            matches!(e, EngineEvent::AwaitingCheckIn { .. })
        })
        .await?;
        if !demo.phone.scan().await? {
            bail!("sale {i}: the check-in did not reach the till");
        }
        let reference = match next_matching(&mut rx, "payment requested", |e| {
            matches!(e, EngineEvent::PaymentRequested { .. })
        })
        .await?
        {
            EngineEvent::PaymentRequested { reference, .. } => reference,
            _ => unreachable!("matched above"),
        };
        demo.phone.approve(&reference).await?;
        next_matching(&mut rx, "completed", |e| {
            matches!(e, EngineEvent::Completed { .. })
        })
        .await?;
        next_matching(&mut rx, "idle", |e| matches!(e, EngineEvent::Idle)).await?;
        references.push(reference);
    }
    let elapsed = started.elapsed();
    let _ = engine.send(Command::Shutdown);
    let _ = tokio::time::timeout(Duration::from_secs(5), engine.closed()).await;

    // Simulator receive times.
    let log = demo.phone.control().log().await?;
    let mut create_at: HashMap<String, u64> = HashMap::new();
    let mut capture_at: HashMap<String, u64> = HashMap::new();
    for call in &log {
        let Some(r) = &call.reference else { continue };
        if call.method != "POST" {
            continue;
        }
        let map = if call.path == "/epayment/v1/payments" {
            &mut create_at
        } else if call.path.ends_with("/capture") {
            &mut capture_at
        } else {
            continue;
        };
        map.entry(r.clone()).or_insert(call.received_at_unix_nanos);
    }

    // Relay receive times, as delivered to (and stored by) the engine.
    let store = Store::open(&db_path)?;
    let mut checkin_ms = Vec::new();
    let mut capture_ms = Vec::new();
    for reference in &references {
        let relay_checkin: Option<i64> = store.conn().query_row(
            "SELECT c.relay_received_at_ns FROM payment_attempt a
             JOIN checkin c ON c.id = a.checkin_id WHERE a.reference = ?1",
            [reference],
            |r| r.get(0),
        )?;
        let relay_authorized =
            crate::store::attempts::event_relay_received_ns(store.conn(), reference, "AUTHORIZED")?;
        if let (Some(relay), Some(sim)) = (relay_checkin, create_at.get(reference)) {
            checkin_ms.push((*sim as f64 - relay as f64) / 1e6);
        }
        if let (Some(relay), Some(sim)) = (relay_authorized, capture_at.get(reference)) {
            capture_ms.push((*sim as f64 - relay as f64) / 1e6);
        }
    }
    let out = [
        json!({
            "type": "bench",
            "sales": sales,
            "completed": references.len(),
            "seconds": elapsed.as_secs_f64(),
            "sales_per_second": references.len() as f64 / elapsed.as_secs_f64(),
        }),
        summary("relay_checkin_to_sim_create", checkin_ms),
        summary("relay_authorized_to_sim_capture", capture_ms),
    ];
    for line in out {
        print_line(&line);
    }
    drop(store);
    demo.shutdown().await;
    Ok(if references.len() == sales as usize {
        0
    } else {
        1
    })
}

//! `kasse bench`: sales through the in-process simulator + relay + engine on loopback, timing
//! the two hops the engine is responsible for:
//!
//! - check-in: the relay receives `user.checked-in.v1` → the simulator receives create payment;
//! - capture: the relay receives `AUTHORIZED` → the simulator receives capture.
//!
//! With `--loyalty`, as many sales again with loyalty on and the customer a member: the same
//! two hops (the exchange runs beside the payment and must not slow it), check-in → the
//! simulator receives the exchange, check-in → the engine tells the member; then a few
//! invitations: invite → login in the app, approve → member stored.
//!
//! Relay receive times come from the deliveries (stored by the engine), simulator receive times
//! from `/sim/v1/log`. Both are wall-clock times on the same machine.
//!
//! `kasse bench saft --sales N` fills a temporary store with N signed sales (store layer, test
//! key) and times the SAF-T Cash Register export of them: seconds, bytes, peak memory.

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
    /// Also time loyalty: as many sales again with the customer a member (recognised beside
    /// each payment), and a few invitations.
    #[arg(long)]
    pub loyalty: bool,
    /// Another benchmark than the payment latencies.
    #[command(subcommand)]
    pub what: Option<BenchWhat>,
}

/// The other benchmarks.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchWhat {
    /// X and Z reports on a year of trading (`--sales` sales over `--days` days).
    Reports(super::bench_reports::ReportBenchArgs),
    /// Generate signed sales and time their SAF-T Cash Register export.
    Saft(SaftBenchArgs),
}

/// `kasse bench saft`
#[derive(Debug, Clone, clap::Args)]
pub struct SaftBenchArgs {
    /// Signed sales to generate (every 50th is also partly refunded).
    #[arg(long, default_value_t = 300_000)]
    pub sales: u64,
    /// Keep the database and the file in this folder (a database already there with signed
    /// sales is exported again without generating). Default: a temporary folder, removed.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<std::path::PathBuf>,
    /// Whose schema to export.
    #[arg(long, value_enum, default_value = "no")]
    pub country: crate::compliance::saft::Dialect,
}

/// Peak resident memory of this process (kB) since the last [`reset_peak_rss`], Linux only.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `kasse bench saft`: prints one JSON line for the generation and one for the export.
pub fn saft(args: SaftBenchArgs) -> anyhow::Result<i32> {
    use crate::compliance::saft::{self, Address, Company, SaftOptions, generate};
    use crate::compliance::signing::Signer;

    let (dir, temporary) = match &args.keep {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("kasse-bench-saft-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = dir.join("kasse.db");
    let mut config = crate::config::Config::default();
    config.till.id = "bench1".into();
    config.signing.company_ident = "999999999".into();
    if args.country == saft::Dialect::Denmark {
        config.signing.country = "DK".into();
        config.signing.company_ident = "12345678".into();
        config.till.currency = Currency::Dkk;
    }
    let signer = Signer::for_till(&config, Some(&db))?;
    // 2026-01-05 08:00 in Oslo.
    let start_ms = 1_767_596_400_000;
    let existing: i64 =
        Store::open(&db)?
            .conn()
            .query_row("SELECT count(*) FROM signed_transaction", [], |r| r.get(0))?;
    let mut last_ms = start_ms + args.sales as i64 * 10_000;
    if existing == 0 {
        let step = (args.sales / 10).max(1);
        let filled = generate::fill(&db, &signer, args.sales, start_ms, |n| {
            if n % step == 0 || n == args.sales {
                eprintln!("kasse: generated {n} of {} sales", args.sales);
            }
        })?;
        last_ms = filled.last_ms;
        let secs = filled.elapsed.as_secs_f64();
        print_line(&json!({
            "type": "saft_generate",
            "sales": filled.sales,
            "returns": filled.returns,
            "seconds": secs,
            "sales_per_second": filled.sales as f64 / secs,
            "signing_seconds": filled.signing.as_secs_f64(),
            "signatures_per_second":
                (filled.sales + filled.returns) as f64 / filled.signing.as_secs_f64(),
            "database_bytes": std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0),
        }));
    }
    let day = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp(ms / 1000 + 3600)
            .map(|t| t.date())
            .unwrap_or(time::Date::MIN)
    };
    let store = Store::open(&db)?;
    let file = dir.join(saft::file_name(
        &config.signing.company_ident,
        store.now_ms(),
    ));
    let options = SaftOptions {
        dialect: args.country,
        from: day(start_ms),
        to: day(last_ms),
        company: Company {
            ident: config.signing.company_ident.clone(),
            name: "Bench AS".into(),
            address: Some(Address {
                street: "Storgata".into(),
                number: "1".into(),
                postal_code: "0155".into(),
                city: "Oslo".into(),
            }),
        },
        currency: config.till.currency,
        register_id: config.till.id.clone(),
        register_desc: "Bench till".into(),
        now_ms: store.now_ms(),
        destination: file.display().to_string(),
    };
    reset_peak_rss();
    let rss_before = peak_rss_kb();
    let started = Instant::now();
    let f = std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?;
    let (summary, w) = saft::export(
        &store,
        &options,
        std::io::BufWriter::with_capacity(1 << 16, f),
    )?;
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())?;
    let secs = started.elapsed().as_secs_f64();
    print_line(&json!({
        "type": "saft_export",
        "country": args.country.country(),
        "transactions": summary.transactions,
        "events": summary.events,
        "seconds": secs,
        "transactions_per_second": summary.transactions as f64 / secs,
        "bytes": summary.bytes,
        "bytes_per_transaction": summary.bytes / summary.transactions.max(1),
        "peak_rss_kb_before": rss_before,
        "peak_rss_kb": peak_rss_kb(),
        "file": file.display().to_string(),
    }));
    drop(store);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(0)
}

/// Runs `--sales` sales and prints the latency figures as JSON lines. Exit code 0 when every
/// sale completed.
pub async fn run(args: BenchArgs) -> anyhow::Result<i32> {
    let (lines, all_completed) = measure(args.sales, args.loyalty).await?;
    for line in &lines {
        print_line(line);
    }
    Ok(if all_completed { 0 } else { 1 })
}

/// The figures of `kasse bench` (one JSON object per line), and whether every sale completed.
/// With `loyalty`, a second round of `sales` sales follows with loyalty on and the customer a
/// member (recognised beside each payment), and then a few invitations.
pub async fn measure(sales: u32, loyalty: bool) -> anyhow::Result<(Vec<serde_json::Value>, bool)> {
    let demo = start_with(DemoOptions::default())
        .await
        .context("starting simulator and relay")?;
    let config = demo.config.clone();
    let db_path = config.database_path().context("database path")?;
    let store = Store::open(&db_path)?;
    let (engine, mut rx) = Engine::start_with(config.clone(), store, EngineOptions::default());
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
    let plain = sell(&engine, &mut rx, &demo, sales, false).await?;
    let elapsed = started.elapsed();
    let mut out = vec![json!({
        "type": "bench",
        "sales": sales,
        "completed": plain.references.len(),
        "seconds": elapsed.as_secs_f64(),
        "sales_per_second": plain.references.len() as f64 / elapsed.as_secs_f64(),
    })];
    let mut completed = plain.references.len() == sales as usize;
    let mut rounds = vec![("", plain)];
    let mut enrolments = Vec::new();
    if loyalty {
        {
            let store = Store::open(&db_path)?;
            let mut basket = Basket::new(Currency::Nok);
            basket.add_item(&bench_item(0))?;
            super::loyalty_demo::prepare(
                &store,
                &basket,
                super::loyalty_demo::DemoLoyalty::Member,
                &config.vipps.msn,
            )?;
        }
        let member = sell(&engine, &mut rx, &demo, sales, true).await?;
        completed &= member.references.len() == sales as usize;
        rounds.push(("loyalty_", member));
        enrolments = enrol(&engine, &mut rx, &demo, &db_path, INVITES).await?;
    }
    let _ = engine.send(Command::Shutdown);
    let _ = tokio::time::timeout(Duration::from_secs(5), engine.closed()).await;

    // Simulator receive times.
    let log = demo.phone.control().log().await?;
    let mut create_at: HashMap<String, u64> = HashMap::new();
    let mut capture_at: HashMap<String, u64> = HashMap::new();
    let mut exchanges: Vec<u64> = Vec::new();
    for call in &log {
        if call.method == "POST" && call.path == "/qr/v1/exchange/customer" {
            exchanges.push(call.received_at_unix_nanos);
            continue;
        }
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
    exchanges.sort_unstable();

    // Relay receive times, as delivered to (and stored by) the engine.
    let store = Store::open(&db_path)?;
    for (prefix, round) in &rounds {
        let mut checkin_ms = Vec::new();
        let mut capture_ms = Vec::new();
        let mut exchange_ms = Vec::new();
        let mut recognised_ms = Vec::new();
        for (i, reference) in round.references.iter().enumerate() {
            let relay_checkin: Option<i64> = store.conn().query_row(
                "SELECT c.relay_received_at_ns FROM payment_attempt a
                 JOIN checkin c ON c.id = a.checkin_id WHERE a.reference = ?1",
                [reference],
                |r| r.get(0),
            )?;
            let relay_authorized = crate::store::attempts::event_relay_received_ns(
                store.conn(),
                reference,
                "AUTHORIZED",
            )?;
            if let (Some(relay), Some(sim)) = (relay_checkin, create_at.get(reference)) {
                checkin_ms.push((*sim as f64 - relay as f64) / 1e6);
            }
            if let (Some(relay), Some(sim)) = (relay_authorized, capture_at.get(reference)) {
                capture_ms.push((*sim as f64 - relay as f64) / 1e6);
            }
            let Some(relay) = relay_checkin else { continue };
            // The first exchange the simulator received after this check-in reached the relay.
            let relay = u64::try_from(relay).unwrap_or(0);
            if round.recognised_at_ns.is_some()
                && let Some(sim) = exchanges.iter().find(|at| **at >= relay)
            {
                exchange_ms.push((*sim - relay) as f64 / 1e6);
            }
            if let Some(Some(at)) = round.recognised_at_ns.as_ref().map(|v| v[i]) {
                recognised_ms.push((at as f64 - relay as f64) / 1e6);
            }
        }
        out.push(summary(
            &format!("{prefix}relay_checkin_to_sim_create"),
            checkin_ms,
        ));
        out.push(summary(
            &format!("{prefix}relay_authorized_to_sim_capture"),
            capture_ms,
        ));
        if round.recognised_at_ns.is_some() {
            out.push(summary(
                "loyalty_relay_checkin_to_sim_exchange",
                exchange_ms,
            ));
            out.push(summary(
                "loyalty_relay_checkin_to_member_recognised",
                recognised_ms,
            ));
        }
    }
    if loyalty {
        let (started, enrolled): (Vec<f64>, Vec<f64>) = enrolments.into_iter().unzip();
        completed &= started.len() == INVITES as usize;
        out.push(summary("loyalty_invite_to_login_in_app", started));
        out.push(summary("loyalty_approve_to_member_enrolled", enrolled));
    }
    drop(store);
    demo.shutdown().await;
    Ok((out, completed))
}

/// Invitations timed by `kasse bench --loyalty`.
const INVITES: u32 = 3;

/// The bench's item for sale `i` (each sale a little dearer).
fn bench_item(i: u32) -> Item {
    Item::new(
        "bench",
        "Bench item",
        1_000 + i64::from(i),
        VatRate::NO_STANDARD,
    )
}

/// What one round of sales left to measure.
struct Round {
    /// The Vipps reference of each completed sale.
    references: Vec<String>,
    /// With loyalty: when (wall clock, ns) the engine told that each sale's customer is a
    /// member (`None` when it did not before the sale completed).
    recognised_at_ns: Option<Vec<Option<u64>>>,
}

fn wall_clock_ns() -> u64 {
    crate::clock::Clock::system()
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// `sales` sales: Pay, the customer scans, approves; the sale completes.
async fn sell(
    engine: &crate::engine::EngineHandle,
    rx: &mut broadcast::Receiver<EngineEvent>,
    demo: &super::demo::DemoEnvironment,
    sales: u32,
    loyalty: bool,
) -> anyhow::Result<Round> {
    let mut references = Vec::with_capacity(sales as usize);
    let mut recognised = Vec::with_capacity(sales as usize);
    for i in 0..sales {
        let mut basket = Basket::new(Currency::Nok);
        basket.add_item(&bench_item(i))?;
        engine.send(Command::Pay { basket })?;
        next_matching(rx, "awaiting check-in", |e| {
            matches!(e, EngineEvent::AwaitingCheckIn { .. })
        })
        .await?;
        if !demo.phone.scan().await? {
            bail!("sale {i}: the check-in did not reach the till");
        }
        let mut recognised_at = None;
        let mut reference = None;
        // The payment request and (with loyalty) the recognition arrive in either order.
        while reference.is_none() || (loyalty && recognised_at.is_none()) {
            match next_matching(rx, "payment requested", |e| {
                matches!(
                    e,
                    EngineEvent::PaymentRequested { .. } | EngineEvent::MemberRecognised { .. }
                )
            })
            .await?
            {
                EngineEvent::PaymentRequested { reference: r, .. } => reference = Some(r),
                _ => recognised_at = Some(wall_clock_ns()),
            }
        }
        let reference = reference.unwrap_or_default();
        demo.phone.approve(&reference).await?;
        next_matching(rx, "completed", |e| {
            matches!(e, EngineEvent::Completed { .. })
        })
        .await?;
        next_matching(rx, "idle", |e| matches!(e, EngineEvent::Idle)).await?;
        references.push(reference);
        recognised.push(recognised_at);
    }
    Ok(Round {
        references,
        recognised_at_ns: loyalty.then_some(recognised),
    })
}

/// `invites` invitations of the demo customer (erased as a member before each): milliseconds
/// from the invitation to the login in the app, and from the approval to the member stored.
async fn enrol(
    engine: &crate::engine::EngineHandle,
    rx: &mut broadcast::Receiver<EngineEvent>,
    demo: &super::demo::DemoEnvironment,
    db_path: &std::path::Path,
    invites: u32,
) -> anyhow::Result<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    for i in 0..invites {
        {
            let store = Store::open(db_path)?;
            for member in store.members(None)? {
                store.erase_member(member.id)?;
            }
        }
        let asked = Instant::now();
        engine.send(Command::InviteMember {
            phone_number: Some(crate::sim::DEFAULT_CUSTOMER_PHONE.to_string()),
        })?;
        next_matching(rx, "invitation pending", |e| {
            matches!(e, EngineEvent::InvitePending { .. })
        })
        .await?;
        let started = asked.elapsed();
        let approved = Instant::now();
        super::loyalty_demo::answer_login(
            demo.phone.control(),
            super::loyalty_demo::DemoLoyalty::Invite,
        )
        .await
        .with_context(|| format!("invitation {i}"))?;
        next_matching(rx, "member enrolled", |e| {
            matches!(e, EngineEvent::MemberEnrolled { .. })
        })
        .await?;
        out.push((
            started.as_secs_f64() * 1e3,
            approved.elapsed().as_secs_f64() * 1e3,
        ));
    }
    Ok(out)
}

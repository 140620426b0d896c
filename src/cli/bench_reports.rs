//! `kasse bench reports`: fills a temporary till database with a year of trading (sales with
//! lines, tenders and a Z report closing each day) and times the X and Z reports of the last
//! day. They must read the open period by index, so their time does not grow with history.

use std::time::Instant;

use anyhow::Context;
use rusqlite::params;
use serde_json::json;

use super::print_line;
use crate::clock::ManualClock;
use crate::core::money::Currency;
use crate::store::{Store, kind};

/// `kasse bench reports`
#[derive(Debug, Clone, clap::Args)]
pub struct ReportBenchArgs {
    /// Sales to generate in all.
    #[arg(long, default_value_t = 300_000)]
    pub sales: u32,
    /// Days they are spread over (each closed by a Z report, except the last).
    #[arg(long, default_value_t = 365)]
    pub days: u32,
}

const DAY_MS: i64 = 86_400_000;
/// 2026-01-01 08:00 UTC: the first generated day opens here.
const START_MS: i64 = 1_767_254_400_000;

pub fn run(args: ReportBenchArgs) -> anyhow::Result<i32> {
    anyhow::ensure!(
        args.days > 0 && args.sales >= args.days,
        "--sales must be at least --days"
    );
    let dir = std::env::temp_dir().join(format!("kasse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("temporary folder")?;
    let result = fill_and_time(&args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn fill_and_time(args: &ReportBenchArgs, dir: &std::path::Path) -> anyhow::Result<i32> {
    let now = ManualClock::at_ms(START_MS);
    let mut store = Store::open_creating(&dir.join("bench.db"))?.with_clock(now.clock());
    let per_day = i64::from(args.sales / args.days);
    let generated = Instant::now();
    let mut sale_id = 0i64;
    for day in 0..i64::from(args.days) {
        let day_start = START_MS + day * DAY_MS;
        now.set_ms(day_start);
        let last_day = day + 1 == i64::from(args.days);
        let count = if last_day {
            i64::from(args.sales) - per_day * (i64::from(args.days) - 1)
        } else {
            per_day
        };
        let tx = store.conn_mut().transaction()?;
        {
            let s = Store::on(&tx, now.clock());
            fill_day(&s, day + 1, day_start, &mut sale_id, count)?;
        }
        tx.commit()?;
        if !last_day {
            now.set_ms(day_start + 12 * 3_600_000);
            store.take_z_report("bench", Currency::Nok, None)?;
        }
    }
    let fill_secs = generated.elapsed().as_secs_f64();
    now.set_ms(START_MS + (i64::from(args.days) - 1) * DAY_MS + 13 * 3_600_000);
    let size = std::fs::metadata(dir.join("bench.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    let t = Instant::now();
    let x = store.take_x_report("bench", Currency::Nok, None)?;
    let x_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let z = store.take_z_report("bench", Currency::Nok, None)?;
    let z_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(x.sales == z.sales, "X and Z of the same period disagree");
    print_line(&json!({
        "type": "bench_reports",
        "sales": args.sales,
        "days": args.days,
        "fill_secs": (fill_secs * 10.0).round() / 10.0,
        "database_bytes": size,
        "last_day_sales": z.sales.count,
        "z_nr": z.z_nr,
        "grand_total_sales": z.grand_total_sales,
        "x_report_ms": (x_ms * 100.0).round() / 100.0,
        "z_report_ms": (z_ms * 100.0).round() / 100.0,
    }));
    Ok(super::exit::COMPLETED)
}

/// One day of sales: two lines each (25 % and 15 % VAT, two article groups), paid by cash,
/// Vipps or card in turn, each concluded in `period` and journalled.
fn fill_day(
    s: &Store<&rusqlite::Connection>,
    period: i64,
    day_start: i64,
    sale_id: &mut i64,
    count: i64,
) -> anyhow::Result<()> {
    let c = s.conn();
    let mut sale = c.prepare_cached(
        "INSERT INTO sale (id, currency, state, total, excluding_tax, tax, discount, basket_json,
                           receipt_json, created_ms, updated_ms, completed_ms, period)
         VALUES (?1, 'NOK', 'completed', 12900, 10529, 2371, 0, '{}', '{}', ?2, ?2, ?2, ?3)",
    )?;
    let mut line = c.prepare_cached(
        "INSERT INTO sale_line (sale_id, position, item_id, name, quantity, unit, unit_price,
                                vat_bp, discount, total, excluding_tax, tax, article_group)
         VALUES (?1, ?2, ?3, ?4, ?5, 'PCS', ?6, ?7, 0, ?8, ?9, ?10, ?11)",
    )?;
    let mut tender = c.prepare_cached(
        "INSERT INTO sale_tender (sale_id, kind, amount, tendered, reference, period, at_ms)
         VALUES (?1, ?2, 12900, 12900, NULL, ?3, ?4)",
    )?;
    for n in 0..count {
        *sale_id += 1;
        let at = day_start + n * 40_000;
        sale.execute(params![*sale_id, at, period])?;
        line.execute(params![
            *sale_id,
            0,
            "sku-shirt",
            "T-shirt",
            1,
            9_900,
            2500,
            9_900,
            7_920,
            1_980,
            "04003"
        ])?;
        line.execute(params![
            *sale_id,
            1,
            "sku-bread",
            "Bread",
            2,
            1_500,
            1500,
            3_000,
            2_609,
            391,
            "04006"
        ])?;
        let kind = ["cash", "vipps", "card"][usize::try_from(n % 3).unwrap_or(0)];
        tender.execute(params![*sale_id, kind, period, at])?;
        s.append_journal(
            kind::SALE_COMPLETED,
            &json!({ "sale_id": *sale_id, "tenders": [{ "tender": kind, "amount": 12_900 }] }),
        )?;
    }
    Ok(())
}

//! The headless commands of `kasse` (`pay`, `recover`, `refund`, `bench`, `config`, `catalog`,
//! `journal`, `signing`, `receipt`, `qr-sticker`, `compliance`, `saft`, `cashier`, `drawer`,
//! `report`, `return`) and the demo set-up: argument parsing, printing and exit codes. They drive the same engine
//! as the window; the engine knows nothing of them.
//!
//! Every command prints JSON lines to stdout (the machine-readable channel); logs and
//! human-readable errors go to stderr.

pub mod bench;
pub mod bench_reports;
pub mod cashier;
pub mod catalog;
pub mod compliance;
pub mod config;
pub mod day;
pub mod demo;
pub mod invite;
pub mod loyalty_demo;
mod one_shot;
pub mod pay;
pub mod receipt;
pub mod recover;
pub mod refund;
pub mod returns;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::engine::EngineHandle;
use crate::store::Store;

/// Kasse: a till for Vipps MobilePay's merchant callback QR flow.
#[derive(Debug, Parser)]
#[command(name = "kasse", version, about)]
pub struct Cli {
    /// Configuration file (default: kasse.toml in the platform config directory).
    #[arg(long, global = true, env = "KASSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Open the window in demo mode (simulated Vipps and customer) even when configured.
    #[arg(long)]
    pub demo: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The headless commands (no subcommand opens the window).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one sale without a window; prints one JSON object per progress event.
    Pay(pay::PayArgs),
    /// Reconcile every unfinished payment with Vipps and finish it by its stored intent.
    Recover(recover::RecoverArgs),
    /// Refund part or all of a completed sale.
    Refund(refund::RefundArgs),
    /// Invite a customer to the loyalty programme (a Vipps login pushed to their app).
    Invite(invite::InviteArgs),
    /// Return lines of an earlier sale (by id or receipt number) to its tender.
    Return(returns::ReturnArgs),
    /// Run sales through an in-process simulator and relay and report latencies.
    Bench(bench::BenchArgs),
    /// Show where the configuration is read from and whether it is complete.
    Config,
    /// Import or export the catalogue as CSV.
    Catalog(catalog::CatalogArgs),
    /// Verify or export the electronic journal.
    Journal(compliance::JournalArgs),
    /// The key that signs concluded transactions.
    Signing(compliance::SigningArgs),
    /// Add, list or disable cashiers.
    Cashier(cashier::CashierArgs),
    /// The cash drawer: open without a sale, float, pay-in, pay-out, count.
    Drawer(day::DrawerArgs),
    /// X report (the day so far) or Z report (close the day).
    Report(day::ReportArgs),
    /// Training mode: practise without moving real money (a manager switches it).
    Training(day::TrainingArgs),
    /// Print a sale's receipt or write it as a PDF (the original once, then one copy).
    Receipt(receipt::ReceiptArgs),
    /// Write the till's QR as a sticker PDF for the counter.
    QrSticker(receipt::StickerArgs),
    /// Cash-register compliance: the SAF-T Cash Register export.
    Compliance(compliance::ComplianceArgs),
    /// The SAF-T Cash Register export (same as `kasse compliance saft`).
    Saft(compliance::SaftArgs),
}

/// Exit codes of the headless commands.
pub mod exit {
    pub const COMPLETED: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const DECLINED: i32 = 3;
    pub const EXPIRED: i32 = 4;
    pub const CANCELLED: i32 = 5;
    pub const TOKEN_EXPIRED: i32 = 6;
    pub const PUSH_NOT_ALLOWED: i32 = 7;
}

/// Runs one headless command to its end and returns the process exit code.
pub fn run(config_path: Option<PathBuf>, command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Pay(args) => runtime()?.block_on(pay::run(config_path, args)),
        Command::Recover(args) => runtime()?.block_on(recover::run(config_path, args)),
        Command::Refund(args) => runtime()?.block_on(refund::run(config_path, args)),
        Command::Invite(args) => runtime()?.block_on(invite::run(config_path, args)),
        Command::Return(args) => runtime()?.block_on(returns::run(config_path, args)),
        Command::Bench(bench::BenchArgs {
            what: Some(bench::BenchWhat::Reports(args)),
            ..
        }) => bench_reports::run(args),
        Command::Bench(bench::BenchArgs {
            what: Some(bench::BenchWhat::Saft(args)),
            ..
        }) => bench::saft(args),
        Command::Bench(args) => runtime()?.block_on(bench::run(args)),
        Command::Config => config::run(config_path),
        Command::Catalog(args) => catalog::run(config_path, args),
        Command::Journal(args) => compliance::journal(config_path, args),
        Command::Signing(args) => compliance::signing(config_path, args),
        Command::Cashier(args) => cashier::run(config_path, args),
        Command::Drawer(args) => day::drawer(config_path, args),
        Command::Report(args) => day::report(config_path, args),
        Command::Training(args) => day::training(config_path, args),
        Command::Receipt(args) => runtime()?.block_on(receipt::run(config_path, args)),
        Command::QrSticker(args) => runtime()?.block_on(receipt::sticker(config_path, args)),
        Command::Compliance(args) => compliance::compliance(config_path, args),
        Command::Saft(args) => compliance::saft(config_path, args),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Prints one JSON line (stdout is the machine-readable channel).
pub(crate) fn print_line(value: &serde_json::Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

/// The configuration at `path` (or the default), checked. On a problem it is printed to stderr
/// and the exit code to return is the error.
pub(crate) fn load_config(path: Option<&Path>) -> Result<Config, i32> {
    let config = Config::load(path).map_err(|e| {
        eprintln!("kasse: {e}");
        exit::USAGE
    })?;
    config.validate().map_err(|e| {
        eprintln!("kasse: {e}");
        exit::USAGE
    })?;
    Ok(config)
}

/// Opens (creating its directory) the till's database.
pub(crate) fn open_store(config: &Config) -> anyhow::Result<Store> {
    let path = config
        .database_path()
        .context("no database path: set store.database")?;
    Ok(Store::open_creating(&path)?)
}

/// Waits (bounded) for the engine task to end after `Shutdown`.
pub(crate) async fn wait_closed(handle: &EngineHandle) {
    let _ = tokio::time::timeout(Duration::from_secs(5), handle.closed()).await;
}

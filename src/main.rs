//! `kasse`: the till. Opens the window by default; `kasse pay ...` runs a sale headless.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use kasse::compliance::cli as compliance;
use kasse::engine::headless;

/// Kasse: a till for Vipps MobilePay's merchant callback QR flow.
#[derive(Debug, Parser)]
#[command(name = "kasse", version, about)]
struct Cli {
    /// Configuration file (default: kasse.toml in the platform config directory).
    #[arg(long, global = true, env = "KASSE_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// Open the window in demo mode (simulated Vipps and customer) even when configured.
    #[arg(long)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one sale without a window; prints one JSON object per progress event.
    Pay(headless::PayArgs),
    /// Reconcile every unfinished payment with Vipps and finish it by its stored intent.
    Recover(headless::RecoverArgs),
    /// Refund part or all of a completed sale.
    Refund(headless::RefundArgs),
    /// Run sales through an in-process simulator and relay and report latencies.
    Bench(headless::BenchArgs),
    /// Show where the configuration is read from and whether it is complete.
    Config,
    /// Verify or export the electronic journal.
    Journal(compliance::JournalArgs),
    /// The key that signs concluded transactions.
    Signing(compliance::SigningArgs),
}

fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let code = match cli.command {
        None => run_window(cli.config, cli.demo)?,
        Some(Command::Pay(args)) => runtime()?.block_on(headless::run(cli.config, args))?,
        Some(Command::Recover(args)) => runtime()?.block_on(headless::recover(cli.config, args))?,
        Some(Command::Refund(args)) => runtime()?.block_on(headless::refund(cli.config, args))?,
        Some(Command::Bench(args)) => runtime()?.block_on(headless::bench(args))?,
        Some(Command::Config) => headless::show_config(cli.config)?,
        Some(Command::Journal(args)) => compliance::journal(cli.config, args)?,
        Some(Command::Signing(args)) => compliance::signing(cli.config, args)?,
    };
    std::process::exit(code);
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Logs go to stderr (stdout carries the headless JSON lines). `RUST_LOG` filters.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(feature = "gui")]
fn run_window(config_path: Option<PathBuf>, demo: bool) -> anyhow::Result<i32> {
    kasse::ui::run(kasse::ui::RunOptions {
        config_path,
        demo,
        ..Default::default()
    })?;
    Ok(0)
}

#[cfg(not(feature = "gui"))]
fn run_window(config: Option<PathBuf>, demo: bool) -> anyhow::Result<i32> {
    let _ = (config, demo);
    eprintln!(
        "This kasse was built without the window (feature `gui`). Run a sale headless instead:\n  \
         kasse pay --demo --amount 12900"
    );
    Ok(2)
}

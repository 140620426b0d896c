//! `kasse`: the till. Opens the window by default; `kasse pay ...` and the other subcommands
//! run headless (see [`kasse::cli`]).

use std::path::PathBuf;

use clap::Parser;

use kasse::cli::Cli;

fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let code = match cli.command {
        None => run_window(cli.config, cli.demo)?,
        Some(command) => kasse::cli::run(cli.config, command)?,
    };
    std::process::exit(code);
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

//! The day's cash, reports and training mode, headless: `kasse drawer
//! open|float|pay-in|pay-out|count`, `kasse report x|z` and `kasse training on|off|status`. They work on the till's database directly (beside a running window:
//! SQLite serialises the writes), as the cashier given with `--cashier` (PIN from
//! `KASSE_CASHIER_PIN`), or as the shop's administrator when none is given.

use std::path::PathBuf;

use serde_json::json;

use super::{exit, load_config, open_store, print_line};
use crate::store::day::{CashMovementKind, DrawerReason};

#[derive(Debug, clap::Args)]
pub struct DrawerArgs {
    #[command(subcommand)]
    pub command: DrawerCommand,
    /// Act as this cashier (a manager); PIN from KASSE_CASHIER_PIN.
    #[arg(long, global = true, value_name = "ID")]
    pub cashier: Option<i64>,
}

#[derive(Debug, clap::Subcommand)]
pub enum DrawerCommand {
    /// Open the drawer without a sale (recorded and counted in the reports).
    Open,
    /// The opening change float, minor units.
    Float { amount: i64 },
    /// Cash added to the drawer, minor units.
    PayIn {
        amount: i64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Cash taken from the drawer, minor units, with its reason.
    PayOut {
        amount: i64,
        #[arg(long)]
        reason: String,
    },
    /// The cash counted at the end of the day, minor units: prints the difference to what
    /// the till expected.
    Count { counted: i64 },
    /// The cash the drawer should hold now.
    Expected,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub kind: ReportCommand,
    /// Act as this cashier (a manager for Z); PIN from KASSE_CASHIER_PIN.
    #[arg(long, global = true, value_name = "ID")]
    pub cashier: Option<i64>,
    /// Print the report as one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Also print it on the receipt printer.
    #[arg(long, global = true)]
    pub print: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// The period so far (closes nothing).
    X,
    /// Close the day: once per till per day, refused while a payment is in flight.
    Z,
    /// Show a stored Z report again.
    Show { nr: i64 },
}

#[derive(Debug, clap::Args)]
pub struct TrainingArgs {
    #[command(subcommand)]
    pub command: TrainingCommand,
    /// Act as this cashier (a manager); PIN from KASSE_CASHIER_PIN.
    #[arg(long, global = true, value_name = "ID")]
    pub cashier: Option<i64>,
}

#[derive(Debug, clap::Subcommand)]
pub enum TrainingCommand {
    /// Switch training mode on: sales from now on move no real money, are not signed, print
    /// "Treningskvittering" and are counted apart in X and Z.
    On,
    /// Switch training mode off.
    Off,
    /// Whether training mode is on, and since when.
    Status,
}

pub fn training(config_path: Option<PathBuf>, args: TrainingArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store(&config)?;
    let result = (|| -> anyhow::Result<serde_json::Value> {
        let changed = match args.command {
            TrainingCommand::Status => false,
            TrainingCommand::On | TrainingCommand::Off => {
                let by = super::cashier::log_in_from_env(&store, args.cashier)?;
                store.set_training_mode(matches!(args.command, TrainingCommand::On), by)?
            }
        };
        let mode = store.training_mode()?;
        Ok(
            json!({ "training": mode.is_some(), "since_ms": mode.map(|m| m.since_ms),
                   "changed": changed }),
        )
    })();
    Ok(answer(result))
}

pub fn drawer(config_path: Option<PathBuf>, args: DrawerArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store(&config)?;
    let result = (|| -> anyhow::Result<serde_json::Value> {
        let by = super::cashier::log_in_from_env(&store, args.cashier)?;
        Ok(match args.command {
            DrawerCommand::Open => {
                store.record_drawer_opening(DrawerReason::NoSale, None, by)?;
                // Recorded first; then the pulse through the receipt printer, if there is one.
                let kicked =
                    super::runtime()?.block_on(crate::print::open_drawer(&config.print_settings()));
                json!({ "drawer": "opened", "reason": "no_sale", "kicked": kicked.is_ok(),
                        "printer": kicked.err().map(|e| e.to_string()) })
            }
            DrawerCommand::Float { amount } => {
                store.record_cash_movement(CashMovementKind::Float, amount, None, by)?;
                json!({ "float": amount, "expected_cash": store.expected_cash()? })
            }
            DrawerCommand::PayIn { amount, reason } => {
                store.record_cash_movement(
                    CashMovementKind::PayIn,
                    amount,
                    reason.as_deref(),
                    by,
                )?;
                json!({ "pay_in": amount, "expected_cash": store.expected_cash()? })
            }
            DrawerCommand::PayOut { amount, reason } => {
                store.record_cash_movement(CashMovementKind::PayOut, amount, Some(&reason), by)?;
                json!({ "pay_out": amount, "expected_cash": store.expected_cash()? })
            }
            DrawerCommand::Count { counted } => json!(store.record_cash_count(counted, by)?),
            DrawerCommand::Expected => json!({ "expected_cash": store.expected_cash()? }),
        })
    })();
    Ok(answer(result))
}

pub fn report(config_path: Option<PathBuf>, args: ReportArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store(&config)?;
    let till = config.till.id.clone();
    let currency = config.till.currency;
    let result = (|| -> anyhow::Result<Option<crate::core::report::Report>> {
        let by = super::cashier::log_in_from_env(&store, args.cashier)?;
        Ok(match args.kind {
            ReportCommand::X => Some(store.take_x_report(&till, currency, by)?),
            ReportCommand::Z => Some(store.take_z_report(&till, currency, by)?),
            ReportCommand::Show { nr } => store.z_report(nr)?,
        })
    })();
    match result {
        Ok(Some(report)) => {
            if args.print {
                let printed = super::runtime()?.block_on(crate::print::print_report(
                    &config.print_settings(),
                    &report,
                ));
                if let Err(e) = printed {
                    eprintln!("kasse: the report was taken but did not print: {e}");
                }
            }
            if args.json {
                print_line(&json!(report));
            } else {
                print!("{}", report.text(config.till.language, 48));
            }
            Ok(exit::COMPLETED)
        }
        Ok(None) => {
            eprintln!("kasse: no such Z report");
            Ok(exit::FAILED)
        }
        Err(e) => {
            eprintln!("kasse: {e:#}");
            Ok(exit::FAILED)
        }
    }
}

/// Prints a command's JSON answer (exit 0) or its error (exit 1).
fn answer(result: anyhow::Result<serde_json::Value>) -> i32 {
    match result {
        Ok(v) => {
            print_line(&v);
            exit::COMPLETED
        }
        Err(e) => {
            eprintln!("kasse: {e:#}");
            exit::FAILED
        }
    }
}

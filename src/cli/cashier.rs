//! `kasse cashier add|list|disable`: the people who work the till, managed headless. PINs come
//! from the environment (`KASSE_CASHIER_PIN`) or stdin, never from the command line (where
//! other users of the machine could see them).

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use super::{exit, load_config, open_store, print_line};
use crate::core::cashier::Role;
use crate::store::Store;

/// The environment variable a headless command reads a cashier's PIN from.
pub const PIN_ENV: &str = "KASSE_CASHIER_PIN";

#[derive(Debug, clap::Args)]
pub struct CashierArgs {
    #[command(subcommand)]
    pub command: CashierCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum CashierCommand {
    /// Add a cashier. The PIN (4 to 12 digits) is read from KASSE_CASHIER_PIN, else from the
    /// first line of stdin. Prints the new cashier as JSON.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "cashier")]
        role: RoleArg,
    },
    /// List the cashiers as JSON lines (never their PINs).
    List,
    /// Disable a cashier: they can no longer log in; their past work keeps their name.
    Disable { id: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Cashier,
    Manager,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Cashier => Role::Cashier,
            RoleArg::Manager => Role::Manager,
        }
    }
}

pub fn run(config_path: Option<PathBuf>, args: CashierArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store(&config)?;
    let result = match args.command {
        CashierCommand::Add { name, role } => read_pin()
            .and_then(|pin| Ok(store.add_cashier(&name, role.into(), &pin, None)?))
            .map(|c| print_line(&json!(c))),
        CashierCommand::List => store.cashiers().map_err(Into::into).map(|all| {
            for c in all {
                print_line(&json!(c));
            }
        }),
        CashierCommand::Disable { id } => store
            .disable_cashier(id, None)
            .map_err(Into::into)
            .map(|()| print_line(&json!({ "disabled": id }))),
    };
    match result {
        Ok(()) => Ok(exit::COMPLETED),
        Err(e) => {
            eprintln!("kasse: {e:#}");
            Ok(exit::USAGE)
        }
    }
}

/// The PIN from [`PIN_ENV`], else the first line of stdin.
fn read_pin() -> anyhow::Result<String> {
    if let Ok(pin) = std::env::var(PIN_ENV) {
        return Ok(pin);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the PIN from stdin")?;
    Ok(line.trim().to_string())
}

/// Logs `cashier` in with the PIN from [`PIN_ENV`] (for headless commands acting as a
/// cashier). `None` in, `None` out.
pub fn log_in_from_env(store: &Store, cashier: Option<i64>) -> anyhow::Result<Option<i64>> {
    let Some(id) = cashier else { return Ok(None) };
    let pin = std::env::var(PIN_ENV)
        .with_context(|| format!("--cashier {id} needs the cashier's PIN in {PIN_ENV}"))?;
    let c = store.log_in(id, &pin)?;
    Ok(Some(c.id))
}

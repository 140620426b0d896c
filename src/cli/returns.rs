//! `kasse return`: return lines of an earlier sale, found by its id or by the receipt number
//! printed (and barcoded) on its receipt. Exit 0 when the money was paid back.

use std::path::PathBuf;

use anyhow::Context;

use super::one_shot::OneShot;
use super::{exit, load_config, open_store};
use crate::core::tender::TenderKind;
use crate::engine::{Command, EngineEvent};
use crate::store::returns::ReturnLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ToArg {
    Vipps,
    Cash,
    Card,
    GiftCard,
    CreditNote,
}

impl From<ToArg> for TenderKind {
    fn from(t: ToArg) -> TenderKind {
        match t {
            ToArg::Vipps => TenderKind::Vipps,
            ToArg::Cash => TenderKind::Cash,
            ToArg::Card => TenderKind::Card,
            ToArg::GiftCard => TenderKind::GiftCard,
            ToArg::CreditNote => TenderKind::CreditNote,
        }
    }
}

/// `kasse return`
#[derive(Debug, Clone, clap::Args)]
pub struct ReturnArgs {
    /// The sale (its id from `kasse pay` or the history).
    #[arg(long, required_unless_present = "receipt", conflicts_with = "receipt")]
    pub sale_id: Option<i64>,
    /// The receipt number printed on the sale's receipt (what its barcode holds).
    #[arg(long)]
    pub receipt: Option<i64>,
    /// A line to return: "POSITION:QUANTITY" (positions from 0, as in the sale's lines).
    /// Repeatable.
    #[arg(long = "line", value_name = "POS:QTY", required = true)]
    pub lines: Vec<String>,
    /// Pay back to this tender (default: the one that paid most of the sale).
    #[arg(long, value_enum)]
    pub to: Option<ToArg>,
    /// The cashier returning (PIN from KASSE_CASHIER_PIN).
    #[arg(long, value_name = "ID")]
    pub cashier: Option<i64>,
}

fn parse_line(text: &str) -> anyhow::Result<ReturnLine> {
    let (pos, qty) = text
        .split_once(':')
        .with_context(|| format!("--line {text:?}: expected POS:QTY"))?;
    Ok(ReturnLine {
        position: pos
            .trim()
            .parse()
            .with_context(|| format!("--line {text:?}: POS"))?,
        quantity: qty
            .trim()
            .parse()
            .with_context(|| format!("--line {text:?}: QTY"))?,
    })
}

pub async fn run(config_path: Option<PathBuf>, args: ReturnArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store(&config)?;
    let prepared = (|| -> anyhow::Result<(i64, Vec<ReturnLine>, Option<i64>)> {
        let lines = args
            .lines
            .iter()
            .map(|l| parse_line(l))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let sale_id = match (args.sale_id, args.receipt) {
            (Some(id), _) => id,
            (None, Some(nr)) => store
                .sale_of_receipt(nr)?
                .with_context(|| format!("no sale has receipt number {nr}"))?,
            (None, None) => anyhow::bail!("give --sale-id or --receipt"),
        };
        let cashier = super::cashier::log_in_from_env(&store, args.cashier)?;
        Ok((sale_id, lines, cashier))
    })();
    let (sale_id, lines, cashier) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("kasse: {e:#}");
            return Ok(exit::USAGE);
        }
    };
    let engine = OneShot::start(config, store);
    if cashier.is_some() {
        engine.send(Command::SetCashier {
            cashier_id: cashier,
        })?;
    }
    engine.send(Command::Return {
        sale_id,
        lines,
        to: args.to.map(Into::into),
    })?;
    let code = engine
        .finish(None, |event| match event {
            EngineEvent::ReturnDone { sale_id: s, .. } if *s == sale_id => Some(0),
            EngineEvent::ReturnFailed { sale_id: s, .. } if *s == sale_id => Some(exit::FAILED),
            _ => None,
        })
        .await;
    Ok(code)
}

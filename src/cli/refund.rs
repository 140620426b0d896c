//! `kasse refund`: refund part or all of a completed sale. Exit 0 when Vipps confirmed it.

use std::path::PathBuf;

use super::one_shot::OneShot;
use super::{exit, load_config};
use crate::engine::{Command, EngineEvent};

/// `kasse refund`
#[derive(Debug, Clone, clap::Args)]
pub struct RefundArgs {
    /// The completed sale to refund (its id from `kasse pay` output or the history).
    #[arg(long)]
    pub sale_id: i64,
    /// Amount to refund in minor units.
    #[arg(long)]
    pub amount: i64,
}

/// `kasse refund`: refund part or all of a completed sale. Exit 0 when Vipps confirmed it.
pub async fn run(config_path: Option<PathBuf>, args: RefundArgs) -> anyhow::Result<i32> {
    let config = match load_config(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let engine = OneShot::open(config)?;
    engine.send(Command::Refund {
        sale_id: args.sale_id,
        amount: args.amount,
    })?;
    let code = engine
        .finish(None, |event| match event {
            EngineEvent::RefundDone {
                sale_id, amount, ..
            } if *sale_id == args.sale_id && *amount == args.amount => Some(0),
            EngineEvent::RefundFailed { sale_id, .. } if *sale_id == args.sale_id => {
                Some(exit::FAILED)
            }
            _ => None,
        })
        .await;
    Ok(code)
}

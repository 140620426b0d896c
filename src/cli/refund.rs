//! `kasse refund`: refund part or all of a completed sale. Exit 0 when Vipps confirmed it.

use std::path::PathBuf;

use tokio::sync::broadcast::error::RecvError;

use super::{exit, load_config, open_store, print_line, wait_closed};
use crate::engine::{Command, Engine, EngineEvent, EngineOptions};

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
    let store = open_store(&config)?;
    let options = EngineOptions {
        without_relay: true,
        ..EngineOptions::default()
    };
    let (handle, mut events) = Engine::start_with(config, store, options);
    handle.send(Command::Refund {
        sale_id: args.sale_id,
        amount: args.amount,
    })?;
    let code = loop {
        match events.recv().await {
            Ok(event) => {
                print_line(&serde_json::to_value(&event).unwrap_or_default());
                match event {
                    EngineEvent::RefundDone {
                        sale_id, amount, ..
                    } if sale_id == args.sale_id && amount == args.amount => {
                        break 0;
                    }
                    EngineEvent::RefundFailed { sale_id, .. } if sale_id == args.sale_id => {
                        break exit::FAILED;
                    }
                    _ => {}
                }
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => break exit::FAILED,
        }
    };
    let _ = handle.send(Command::Shutdown);
    wait_closed(&handle).await;
    Ok(code)
}

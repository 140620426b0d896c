//! `kasse recover`: reconcile every unfinished payment with Vipps and finish it by its stored
//! intent. Prints the engine's events as JSON lines; exit 0 when nothing is left unresolved.

use std::path::PathBuf;

use tokio::sync::broadcast::error::RecvError;

use super::{exit, load_config, open_store, print_line, wait_closed};
use crate::engine::{Command, Engine, EngineEvent, EngineOptions};

/// `kasse recover`
#[derive(Debug, Clone, clap::Args)]
pub struct RecoverArgs {}

/// `kasse recover`: reconcile every unfinished payment, print the result. Exit 0 when nothing
/// is left unresolved.
pub async fn run(config_path: Option<PathBuf>, _args: RecoverArgs) -> anyhow::Result<i32> {
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
    let code = loop {
        match events.recv().await {
            Ok(event) => {
                print_line(&serde_json::to_value(&event).unwrap_or_default());
                if let EngineEvent::Recovered { unresolved, .. } = event {
                    break if unresolved == 0 { 0 } else { exit::FAILED };
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

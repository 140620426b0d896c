//! `kasse recover`: reconcile every unfinished payment with Vipps and finish it by its stored
//! intent. Prints the engine's events as JSON lines; exit 0 when nothing is left unresolved.

use std::path::PathBuf;

use super::one_shot::OneShot;
use super::{exit, load_config};
use crate::engine::EngineEvent;

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
    let engine = OneShot::open(config)?;
    let code = engine
        .finish(None, |event| match event {
            EngineEvent::Recovered { unresolved, .. } => {
                Some(if *unresolved == 0 { 0 } else { exit::FAILED })
            }
            _ => None,
        })
        .await;
    Ok(code)
}

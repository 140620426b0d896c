//! The engine as the one-shot commands (`recover`, `refund`, `return`, `invite`) run it: over
//! the till's store, without the relay (each command follows its own Vipps calls), every event
//! printed as a JSON line until the command's outcome is known, then shut down.

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::{exit, open_store, print_line, wait_closed};
use crate::config::Config;
use crate::engine::{Command, Engine, EngineEvent, EngineHandle, EngineOptions};
use crate::store::Store;

/// A running engine for one command.
pub(crate) struct OneShot {
    handle: EngineHandle,
    events: broadcast::Receiver<EngineEvent>,
}

impl OneShot {
    /// Opens the till's store and starts the engine over it.
    pub(crate) fn open(config: Config) -> anyhow::Result<Self> {
        let store = open_store(&config)?;
        Ok(Self::start(config, store))
    }

    /// Starts the engine over `store`, without the relay.
    pub(crate) fn start(config: Config, store: Store) -> Self {
        let options = EngineOptions {
            without_relay: true,
            ..EngineOptions::default()
        };
        let (handle, events) = Engine::start_with(config, store, options);
        Self { handle, events }
    }

    /// Sends `command` to the engine.
    pub(crate) fn send(&self, command: Command) -> anyhow::Result<()> {
        Ok(self.handle.send(command)?)
    }

    /// Prints every event until `outcome` names the exit code (or the engine stops, or
    /// `deadline` passes: [`exit::FAILED`]), then shuts the engine down.
    pub(crate) async fn finish(
        mut self,
        deadline: Option<Instant>,
        mut outcome: impl FnMut(&EngineEvent) -> Option<i32>,
    ) -> i32 {
        let code = loop {
            let next = match deadline {
                Some(at) => match tokio::time::timeout_at(at, self.events.recv()).await {
                    Ok(next) => next,
                    Err(_) => break exit::FAILED,
                },
                None => self.events.recv().await,
            };
            let event = match next {
                Ok(event) => event,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break exit::FAILED,
            };
            print_line(&serde_json::to_value(&event).unwrap_or_default());
            if let Some(code) = outcome(&event) {
                break code;
            }
        };
        let _ = self.handle.send(Command::Shutdown);
        wait_closed(&self.handle).await;
        code
    }
}

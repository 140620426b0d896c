//! The till's payment engine: owns the sale in progress, persists intent before
//! every Vipps call, reacts to relay events and poll results.
//!
//! One tokio task (the actor in [`actor`]) owns the store, the Vipps client and the relay link.
//! Drivers talk to it with [`Command`]s through an [`EngineHandle`] and follow its progress as
//! [`EngineEvent`]s on a broadcast channel. The window and the headless commands (`kasse pay`, ...)
//! use the same engine and see the same events; the engine does not know which one drives it.
//!
//! Money safety rules the engine keeps (see `docs/headless.md` for the operator's view):
//! - before every create, capture, cancel and refund call, the intent (operation, reference,
//!   idempotency key, amount) is committed; after it, the result;
//! - references and keys derive from stored ids ([`keys`]); a retry of one call reuses its key,
//!   a new attempt gets a new reference;
//! - the payment is re-read before capture and after it; the sale completes only when the
//!   captured amount equals its total;
//! - on start every unfinished attempt is reconciled and finished by its stored decision; an
//!   attempt with no stored capture decision is cancelled, never captured.

pub mod actor;
pub mod api;
mod calls;
pub mod connection;
pub mod crash;
pub mod db;
mod flow;
mod identify;
mod invite;
pub mod keys;
pub mod link;
pub mod loyalty;
pub mod pacing;
mod receipt;
mod record;
mod recovery;
mod refund;
mod returns;
pub mod sales_unit;
mod signing;
mod tender;

use tokio::sync::{broadcast, mpsc};

pub use api::{Command, EngineEvent, MessageId, PersonalQr, RelayStatus, SaleSummary, VippsStatus};

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{Store, StoreError};

/// How many events a slow subscriber may fall behind before it misses some.
const EVENT_CAPACITY: usize = 1024;

/// Optional knobs for [`Engine::start_with`].
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub clock: Clock,
    /// Skip connecting to the relay even when one is configured (tests of "relay down").
    pub without_relay: bool,
}

/// The engine is gone (its task ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the payment engine has stopped")]
pub struct EngineClosed;

/// Cheap, cloneable way to drive the engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<EngineEvent>,
}

impl EngineHandle {
    /// Queues a command (never blocks).
    pub fn send(&self, command: Command) -> Result<(), EngineClosed> {
        self.commands.send(command).map_err(|_| EngineClosed)
    }

    /// A new receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// True once the engine task has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Resolves when the engine task has ended.
    pub async fn closed(&self) {
        self.commands.closed().await
    }
}

/// The engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no database path: set store.database (no platform data directory was found)")]
    NoDatabasePath,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Entry point: starts the engine task on the current tokio runtime.
pub struct Engine;

impl Engine {
    /// Opens the database `config` names (creating it and its folder if needed) and starts the
    /// engine on it. Must be called inside a tokio runtime.
    pub fn open(
        config: Config,
        options: EngineOptions,
    ) -> Result<(EngineHandle, broadcast::Receiver<EngineEvent>), StartError> {
        let path = config.database_path().ok_or(StartError::NoDatabasePath)?;
        let store = Store::open_creating(&path)?;
        Ok(Self::start_with(config, store, options))
    }

    /// Starts the engine for `config` with `store`. Must be called inside a tokio runtime.
    /// The returned receiver sees every event from the start (set-up, recovery, ...).
    pub fn start(config: Config, store: Store) -> (EngineHandle, broadcast::Receiver<EngineEvent>) {
        Self::start_with(config, store, EngineOptions::default())
    }

    /// [`Self::start`] with options.
    pub fn start_with(
        config: Config,
        store: Store,
        options: EngineOptions,
    ) -> (EngineHandle, broadcast::Receiver<EngineEvent>) {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = broadcast::channel(EVENT_CAPACITY);
        let handle = EngineHandle {
            commands: cmd_tx,
            events: ev_tx.clone(),
        };
        let till = actor::Till::new(config, store, ev_tx, cmd_rx, options);
        tokio::spawn(till.run());
        (handle, ev_rx)
    }
}

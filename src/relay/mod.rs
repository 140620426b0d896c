//! `kasse-relay`: webhook ingest, durable storage, delivery to tills, and the
//! till-side client.
//!
//! Vipps delivers webhooks only to a public HTTPS URL, and a store (MSN) has
//! exactly one `user.checked-in.v1` registration, so one relay endpoint feeds
//! every till of a store. Tills sit behind NAT and connect out to the relay.
//! See `docs/relay.md` for the protocol, the durability choices and operation.

pub mod bench;
pub mod classify;
pub mod client;
pub mod hub;
pub mod metrics;
pub mod provision;
pub mod server;
pub mod store;
pub mod watchdog;
pub mod wire;

pub use server::{RelayConfig, RelayHandle, spawn};

//! Kasse: a till for Vipps MobilePay's merchant callback QR flow.
//!
//! Layers (dependencies point one way):
//! `ui, cli -> engine -> {core, store, vipps, relay::client}`; `ui, cli -> print -> {core, store}`;
//! `relay server -> {vipps::webhook, its own store}`; `sim -> vipps models`.
//! `core` depends on nothing of ours. `tests/it/layers.rs` checks this by scanning the source.

pub mod cli;
pub mod clock;
pub mod compliance;
pub mod config;
pub mod core;
pub mod engine;
pub mod migrations;
pub mod print;
pub mod reference;
pub mod relay;
pub mod sim;
pub mod store;
#[cfg(feature = "gui")]
pub mod ui;
pub mod vipps;

//! Kasse: a till for Vipps MobilePay's merchant callback QR flow.
//!
//! Layers (dependencies point one way):
//! `ui -> engine -> {core, store, vipps, relay::client}`;
//! `relay server -> {vipps::webhook, its own store}`; `sim -> vipps models`.
//! `core` depends on nothing of ours.

pub mod compliance;
pub mod config;
pub mod core;
pub mod demo;
pub mod engine;
pub mod reference;
pub mod relay;
pub mod sim;
pub mod store;
#[cfg(feature = "gui")]
pub mod ui;
pub mod vipps;

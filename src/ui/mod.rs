//! The till window (iced 0.14, CPU renderer tiny-skia).
//!
//! Structure (after halloy/icebreaker): the root alone holds shared state
//! (catalogue, basket, engine handle, status) and starts I/O. Each screen in
//! [`screen`] owns its local state and `Message` enum and returns an `Action`
//! that the root carries out; screens never talk to the engine, Vipps or the
//! database themselves.
//!
//! The root, the Pay, History and Admin screens and `run` land with the
//! engine API they drive.

pub mod catalog_csv;
pub mod i18n;
pub mod pin;
pub mod screen;
pub mod theme;
pub mod widget;

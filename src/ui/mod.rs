//! The till window (iced).

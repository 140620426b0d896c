//! Demo mode: an in-process simulator and relay on loopback.

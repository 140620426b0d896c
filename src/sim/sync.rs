//! Locking that survives a panic elsewhere (shared by every simulator module).

use std::sync::{Mutex, MutexGuard};

/// Lock a mutex, recovering from poisoning (state stays usable after a panic in a test).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

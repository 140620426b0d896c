//! Why something the window started did not happen: the store, the printer or the
//! configuration said no. `Clone` (each source shares its own) so a result travels inside a
//! [`Message`](super::Message); the window shows its `Display` text, as the source gives it.

use crate::config::ConfigError;
use crate::print::PrintError;
use crate::store::WindowStoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The window's store refused or failed (a wrong PIN, a missing privilege, SQLite).
    #[error(transparent)]
    Store(#[from] WindowStoreError),
    /// A document or the drawer pulse did not go out.
    #[error(transparent)]
    Print(#[from] PrintError),
    /// The settings on screen do not make a configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_shows_the_sources_own_text_and_a_clone_says_the_same() {
        let error = Error::from(WindowStoreError::from(crate::store::StoreError::Invalid(
            "x".into(),
        )));
        let shown = WindowStoreError::from(crate::store::StoreError::Invalid("x".into()));
        assert_eq!(error.to_string(), shown.to_string());
        assert_eq!(error.clone().to_string(), error.to_string());
        assert_eq!(
            Error::from(WindowStoreError::Task).to_string(),
            "the store task stopped before it finished"
        );
    }
}

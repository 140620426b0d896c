//! The engine's signing key: loaded at start-up and on a configuration reload. A key that
//! cannot be used (missing, readable by others, the test key with production Vipps settings)
//! stops the engine at start-up and refuses the reload: no sale can conclude unsigned.

use std::sync::Arc;

use super::actor::Till;
use super::api::MessageId;
use crate::compliance::Signer;
use crate::config::Config;

impl Till {
    /// Loads the signer for the running configuration. False (and the reason reported) when
    /// the till must not start.
    pub(super) fn load_signer(&mut self) -> bool {
        let config = self.config.clone();
        self.signer_for(&config)
    }

    /// Loads the signer `config` asks for and keeps it. False (and the reason reported) when
    /// it cannot sign, in which case the current signer stays.
    pub(super) fn signer_for(&mut self, config: &Config) -> bool {
        let database = self.db.database_path();
        match Signer::for_till(config, database.as_deref()) {
            Ok(signer) => {
                if signer.is_test_key() {
                    tracing::warn!(
                        key_version = signer.key_version(),
                        "signing with Kasse's TEST key (demo and test Vipps only)"
                    );
                }
                self.signer = Some(Arc::new(signer));
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "no usable signing key");
                self.problem(MessageId::ConfigInvalid, Some(e.to_string()), false);
                false
            }
        }
    }
}

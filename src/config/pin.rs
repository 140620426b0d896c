//! The admin PIN: set on first use, asked before admin settings and refunds.
//!
//! Stored as an Argon2id PHC string (`$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>`) in a
//! file only the user can read (`admin-pin` beside the configuration file); in demo mode it
//! lives in memory only. A 4–8 digit PIN cannot resist an offline attack on the file whatever
//! the hash; it keeps the shop floor out of admin settings, and the slow, salted hash only
//! avoids storing the PIN itself.
//!
//! Files written by earlier versions hold `sha256-iter:<iterations>:<salt hex>:<hash hex>`.
//! Such a file is still accepted: the first correct PIN is checked in that format once and the
//! file is rewritten as Argon2id.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::write_private;

/// Shortest PIN accepted.
pub const MIN_LEN: usize = 4;
/// Longest PIN accepted.
pub const MAX_LEN: usize = 8;

/// Why a PIN was not accepted or not stored. `Clone` (sources shared) so a result can travel in
/// a UI message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PinError {
    #[error("the PIN must be {MIN_LEN} to {MAX_LEN} digits")]
    Format,
    #[error("the two PINs differ")]
    Mismatch,
    #[error("could not write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("{} is not a PIN file written by Kasse", path.display())]
    Corrupt { path: PathBuf },
    #[error("could not read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("the PIN could not be hashed: {0}")]
    Hash(String),
    #[error("the PIN check stopped before it finished")]
    Task,
}

/// Checks the PIN's shape: only digits, [`MIN_LEN`]..=[`MAX_LEN`] of them.
pub fn validate(pin: &str) -> Result<(), PinError> {
    if (MIN_LEN..=MAX_LEN).contains(&pin.len()) && pin.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PinError::Format)
    }
}

/// A stored PIN hash.
#[derive(Clone, PartialEq, Eq)]
pub enum PinHash {
    /// An Argon2id PHC string (checked to parse).
    Argon2(String),
    /// The salted, iterated SHA-256 of earlier versions (verified once, then rehashed).
    Legacy(LegacyHash),
}

impl std::fmt::Debug for PinHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinHash::Argon2(_) => f.write_str("PinHash::Argon2(..)"),
            PinHash::Legacy(_) => f.write_str("PinHash::Legacy(..)"),
        }
    }
}

impl PinHash {
    /// Hashes a new PIN with Argon2id (default parameters) and a fresh random salt.
    pub fn new(pin: &str) -> Result<PinHash, PinError> {
        validate(pin)?;
        let salt: [u8; 16] = rand::random();
        let hash = Argon2::default()
            .hash_password_with_salt(pin.as_bytes(), &salt)
            .map_err(|e| PinError::Hash(e.to_string()))?;
        Ok(PinHash::Argon2(hash.to_string()))
    }

    /// Whether `pin` is the PIN (the hash comparison is constant-time).
    pub fn verify(&self, pin: &str) -> bool {
        match self {
            PinHash::Argon2(phc) => Argon2::default()
                .verify_password(pin.as_bytes(), phc.as_str())
                .is_ok(),
            PinHash::Legacy(legacy) => legacy.verify(pin),
        }
    }

    /// Whether this hash is in the old format (and should be replaced).
    pub fn is_legacy(&self) -> bool {
        matches!(self, PinHash::Legacy(_))
    }

    /// The file's text.
    pub fn encode(&self) -> String {
        match self {
            PinHash::Argon2(phc) => format!("{phc}\n"),
            PinHash::Legacy(legacy) => legacy.encode(),
        }
    }

    /// Reads a PIN file's text; `None` when it is neither format.
    pub fn decode(text: &str) -> Option<PinHash> {
        let text = text.trim();
        if text.starts_with("$argon2") {
            argon2::password_hash::phc::PasswordHash::new(text).ok()?;
            Some(PinHash::Argon2(text.to_owned()))
        } else {
            LegacyHash::decode(text).map(PinHash::Legacy)
        }
    }
}

/// The old format: `sha256-iter:<iterations>:<salt hex>:<hash hex>`.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyHash {
    iterations: u32,
    salt: [u8; 16],
    hash: [u8; 32],
}

impl LegacyHash {
    /// Hashes `pin` the old way (for tests that need an old file).
    pub fn new(pin: &str, salt: [u8; 16], iterations: u32) -> LegacyHash {
        LegacyHash {
            iterations,
            salt,
            hash: legacy_derive(pin, &salt, iterations),
        }
    }

    fn verify(&self, pin: &str) -> bool {
        legacy_derive(pin, &self.salt, self.iterations)
            .ct_eq(&self.hash)
            .into()
    }

    /// The file's text in the old format.
    pub fn encode(&self) -> String {
        format!(
            "sha256-iter:{}:{}:{}\n",
            self.iterations,
            hex::encode(self.salt),
            hex::encode(self.hash)
        )
    }

    fn decode(text: &str) -> Option<LegacyHash> {
        let mut parts = text.trim().split(':');
        if parts.next()? != "sha256-iter" {
            return None;
        }
        let iterations: u32 = parts.next()?.parse().ok().filter(|n| *n > 0)?;
        let salt: [u8; 16] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
        let hash: [u8; 32] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
        parts.next().is_none().then_some(LegacyHash {
            iterations,
            salt,
            hash,
        })
    }
}

fn legacy_derive(pin: &str, salt: &[u8; 16], iterations: u32) -> [u8; 32] {
    let mut digest: [u8; 32] = Sha256::new()
        .chain_update(salt)
        .chain_update(pin.as_bytes())
        .finalize()
        .into();
    for _ in 1..iterations {
        digest = Sha256::new()
            .chain_update(digest)
            .chain_update(salt)
            .finalize()
            .into();
    }
    digest
}

/// Where the PIN lives: a file, or memory only (demo mode, tests).
#[derive(Debug, Clone)]
pub struct PinStore {
    path: Option<PathBuf>,
    current: Option<PinHash>,
}

impl PinStore {
    /// A PIN kept in memory only.
    pub fn in_memory() -> PinStore {
        PinStore {
            path: None,
            current: None,
        }
    }

    /// Loads the PIN file at `path` (a missing file means "no PIN set yet").
    pub fn open(path: &Path) -> Result<PinStore, PinError> {
        let current = match std::fs::read_to_string(path) {
            Ok(text) => Some(PinHash::decode(&text).ok_or_else(|| PinError::Corrupt {
                path: path.to_owned(),
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(PinError::Read {
                    path: path.to_owned(),
                    source: Arc::new(source),
                });
            }
        };
        Ok(PinStore {
            path: Some(path.to_owned()),
            current,
        })
    }

    /// The PIN file beside a configuration file.
    pub fn path_beside(config_path: &Path) -> PathBuf {
        config_path.with_file_name("admin-pin")
    }

    /// Whether a PIN has been set.
    pub fn is_set(&self) -> bool {
        self.current.is_some()
    }

    /// The stored hash, if any.
    pub fn hash(&self) -> Option<&PinHash> {
        self.current.as_ref()
    }

    /// Whether `pin` is the admin PIN. Always false while no PIN is set. A correct PIN checked
    /// against an old-format hash replaces it with an Argon2id hash (in the file too); if that
    /// write fails the PIN is still accepted and the old file kept.
    pub fn verify(&mut self, pin: &str) -> bool {
        let Some(current) = &self.current else {
            return false;
        };
        if !current.verify(pin) {
            return false;
        }
        if current.is_legacy() {
            match PinHash::new(pin).and_then(|hash| self.store(hash)) {
                Ok(()) => tracing::info!("admin PIN rehashed with Argon2id"),
                Err(error) => tracing::warn!(%error, "admin PIN kept in the old format"),
            }
        }
        true
    }

    /// Sets (or replaces) the PIN and writes it to the file, if any.
    pub fn set(&mut self, pin: &str, repeated: &str) -> Result<(), PinError> {
        validate(pin)?;
        if pin != repeated {
            return Err(PinError::Mismatch);
        }
        let hash = PinHash::new(pin)?;
        self.store(hash)
    }

    fn store(&mut self, hash: PinHash) -> Result<(), PinError> {
        if let Some(path) = &self.path {
            write_private(path, hash.encode().as_bytes()).map_err(|source| PinError::Write {
                path: path.clone(),
                source: Arc::new(source),
            })?;
        }
        self.current = Some(hash);
        Ok(())
    }
}

/// A [`PinStore`] shared by the window, whose checks run off the UI thread: hashing is slow by
/// design and a check may rewrite the file.
#[derive(Debug, Clone)]
pub struct AdminPin(Arc<Mutex<PinStore>>);

impl AdminPin {
    pub fn new(store: PinStore) -> AdminPin {
        AdminPin(Arc::new(Mutex::new(store)))
    }

    /// Whether a PIN has been set.
    pub fn is_set(&self) -> bool {
        self.0.lock().map(|s| s.is_set()).unwrap_or(false)
    }

    /// [`PinStore::verify`] on a blocking thread.
    pub async fn verify(self, pin: String) -> Result<bool, PinError> {
        tokio::task::spawn_blocking(move || {
            let mut store = self.0.lock().map_err(|_| PinError::Task)?;
            Ok(store.verify(&pin))
        })
        .await
        .map_err(|_| PinError::Task)?
    }

    /// [`PinStore::set`] on a blocking thread.
    pub async fn set(self, pin: String, repeated: String) -> Result<(), PinError> {
        tokio::task::spawn_blocking(move || {
            let mut store = self.0.lock().map_err(|_| PinError::Task)?;
            store.set(&pin, &repeated)
        })
        .await
        .map_err(|_| PinError::Task)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_right_pin_and_stores_a_phc_string() {
        let hash = PinHash::new("2468").unwrap();
        assert!(hash.verify("2468"));
        assert!(!hash.verify("2469"));
        assert!(!hash.verify(""));
        let text = hash.encode();
        assert!(text.starts_with("$argon2id$v=19$"), "{text}");
        assert_eq!(PinHash::decode(&text), Some(hash));
    }

    #[test]
    fn rejects_badly_shaped_pins() {
        assert!(matches!(PinHash::new("123"), Err(PinError::Format)));
        assert!(matches!(PinHash::new("12a4"), Err(PinError::Format)));
        assert!(matches!(PinHash::new("123456789"), Err(PinError::Format)));
    }

    #[test]
    fn file_round_trip_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-pin");
        let mut store = PinStore::open(&path).unwrap();
        assert!(!store.is_set());
        assert!(!store.verify("0000"));
        assert!(matches!(store.set("1357", "1358"), Err(PinError::Mismatch)));
        assert!(!store.is_set());
        store.set("1357", "1357").unwrap();
        let mut again = PinStore::open(&path).unwrap();
        assert!(again.verify("1357"));
        assert!(!again.verify("7531"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("1357"));
        assert!(text.starts_with("$argon2id$"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_old_pin_file_is_verified_once_in_its_format_then_rehashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-pin");
        let old = LegacyHash::new("4711", [7; 16], 20_000).encode();
        std::fs::write(&path, &old).unwrap();

        let mut store = PinStore::open(&path).unwrap();
        assert!(store.is_set());
        assert!(store.hash().unwrap().is_legacy());
        // A wrong PIN changes nothing.
        assert!(!store.verify("4712"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), old);
        // The right one is accepted and the file now holds Argon2id.
        assert!(store.verify("4711"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("$argon2id$"), "{text}");
        assert!(!store.hash().unwrap().is_legacy());

        let mut reopened = PinStore::open(&path).unwrap();
        assert!(!reopened.hash().unwrap().is_legacy());
        assert!(reopened.verify("4711"));
        assert!(!reopened.verify("4712"));
    }

    #[cfg(unix)]
    #[test]
    fn an_old_pin_still_opens_when_the_rehash_cannot_be_written() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-pin");
        let old = LegacyHash::new("4711", [9; 16], 10).encode();
        std::fs::write(&path, &old).unwrap();
        let mut store = PinStore::open(&path).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
        // Root ignores directory permissions: then the rewrite succeeds, which is fine too.
        let writable = std::fs::File::create(dir.path().join("probe")).is_ok();
        assert!(store.verify("4711"));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        if !writable {
            assert_eq!(std::fs::read_to_string(&path).unwrap(), old);
            assert!(store.hash().unwrap().is_legacy());
        }
    }

    #[test]
    fn corrupt_file_is_an_error_not_an_open_door() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-pin");
        for garbage in ["garbage", "$argon2id$nonsense", "sha256-iter:0:00:00"] {
            std::fs::write(&path, garbage).unwrap();
            assert!(
                matches!(PinStore::open(&path), Err(PinError::Corrupt { .. })),
                "{garbage}"
            );
        }
    }

    #[tokio::test]
    async fn the_shared_pin_checks_off_the_calling_thread() {
        let pin = AdminPin::new(PinStore::in_memory());
        assert!(!pin.is_set());
        assert!(matches!(
            pin.clone().set("1234".into(), "4321".into()).await,
            Err(PinError::Mismatch)
        ));
        pin.clone().set("1234".into(), "1234".into()).await.unwrap();
        assert!(pin.is_set());
        assert!(pin.clone().verify("1234".into()).await.unwrap());
        assert!(!pin.clone().verify("0000".into()).await.unwrap());
    }
}

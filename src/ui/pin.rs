//! The admin PIN: set on first use, asked before admin settings and refunds.
//!
//! Stored as `sha256-iter:<iterations>:<salt hex>:<hash hex>` in a file only
//! the user can read (`admin-pin` beside the configuration file); in demo mode
//! it lives in memory only. A 4–8 digit PIN cannot resist an offline attack on
//! the file whatever the hash; it keeps the shop floor out of admin settings,
//! and the iterated, salted hash only avoids storing the PIN itself.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest PIN accepted.
pub const MIN_LEN: usize = 4;
/// Longest PIN accepted.
pub const MAX_LEN: usize = 8;
const ITERATIONS: u32 = 20_000;

/// Why a PIN was not accepted or not stored.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("the PIN must be {MIN_LEN} to {MAX_LEN} digits")]
    Format,
    #[error("the two PINs differ")]
    Mismatch,
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a PIN file written by Kasse")]
    Corrupt { path: PathBuf },
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A salted, iterated hash of the PIN.
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash {
    iterations: u32,
    salt: [u8; 16],
    hash: [u8; 32],
}

impl std::fmt::Debug for PinHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinHash(..)")
    }
}

fn derive(pin: &str, salt: &[u8; 16], iterations: u32) -> [u8; 32] {
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

/// Checks the PIN's shape: only digits, [`MIN_LEN`]..=[`MAX_LEN`] of them.
pub fn validate(pin: &str) -> Result<(), PinError> {
    if (MIN_LEN..=MAX_LEN).contains(&pin.len()) && pin.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PinError::Format)
    }
}

impl PinHash {
    /// Hashes a new PIN with a fresh random salt.
    pub fn new(pin: &str) -> Result<PinHash, PinError> {
        validate(pin)?;
        let salt: [u8; 16] = rand::random();
        Ok(PinHash {
            iterations: ITERATIONS,
            salt,
            hash: derive(pin, &salt, ITERATIONS),
        })
    }

    /// Whether `pin` is the PIN (constant-time comparison).
    pub fn verify(&self, pin: &str) -> bool {
        derive(pin, &self.salt, self.iterations)
            .ct_eq(&self.hash)
            .into()
    }

    fn encode(&self) -> String {
        format!(
            "sha256-iter:{}:{}:{}\n",
            self.iterations,
            hex::encode(self.salt),
            hex::encode(self.hash)
        )
    }

    fn decode(text: &str) -> Option<PinHash> {
        let mut parts = text.trim().split(':');
        if parts.next()? != "sha256-iter" {
            return None;
        }
        let iterations: u32 = parts.next()?.parse().ok().filter(|n| *n > 0)?;
        let salt: [u8; 16] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
        let hash: [u8; 32] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
        parts.next().is_none().then_some(PinHash {
            iterations,
            salt,
            hash,
        })
    }
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
                    source,
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

    /// Whether `pin` is the admin PIN. Always false while no PIN is set.
    pub fn verify(&self, pin: &str) -> bool {
        self.current.as_ref().is_some_and(|h| h.verify(pin))
    }

    /// Sets (or replaces) the PIN and writes it to the file, if any.
    pub fn set(&mut self, pin: &str, repeated: &str) -> Result<(), PinError> {
        validate(pin)?;
        if pin != repeated {
            return Err(PinError::Mismatch);
        }
        let hash = PinHash::new(pin)?;
        if let Some(path) = &self.path {
            write_private(path, &hash.encode()).map_err(|source| PinError::Write {
                path: path.clone(),
                source,
            })?;
        }
        self.current = Some(hash);
        Ok(())
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_right_pin() {
        let hash = PinHash::new("2468").unwrap();
        assert!(hash.verify("2468"));
        assert!(!hash.verify("2469"));
        assert!(!hash.verify(""));
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
        let again = PinStore::open(&path).unwrap();
        assert!(again.verify("1357"));
        assert!(!again.verify("7531"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("1357"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn corrupt_file_is_an_error_not_an_open_door() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-pin");
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(
            PinStore::open(&path),
            Err(PinError::Corrupt { .. })
        ));
    }
}

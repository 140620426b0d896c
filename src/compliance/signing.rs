//! The signing key: loaded from the configured PEM file (mode 0600), or Kasse's marked test
//! key for demo and test set-ups, and the RSA PKCS#1 v1.5 signatures made with it
//! (RSA-SHA1 in Norway, RSA-SHA512 in Denmark) through the `rsa`, `sha1` and `sha2` crates.
//!
//! The private key never leaves this module: it is not logged, not printed, not stored in the
//! database (only its public half is), and `Signer`'s `Debug` shows the key version alone.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use sha2::Digest as _;

use crate::config::{Config, Currency, VippsEnvironment};
use crate::core::signature_text::Scheme;

/// First line of every test key file Kasse writes: the mark that makes a key a test key.
pub const TEST_KEY_MARK: &str = "# Kasse TEST signing key";

/// Key versions starting with this are reserved for the test key.
pub const TEST_KEY_VERSION_PREFIX: &str = "TEST-";

/// File name of the test key, beside the till database.
pub const TEST_KEY_FILE: &str = "kasse-test-signing-key.pem";

/// Size of the generated test key. Skatteetaten's guide and its validator use 1024-bit keys.
const TEST_KEY_BITS: usize = 1024;

/// Smallest key accepted.
const MIN_KEY_BITS: usize = 1024;

/// `keyVersion` is a `String50` in the SAF-T schemas.
const MAX_KEY_VERSION_LEN: usize = 50;

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("cannot read the signing key {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error(
        "the signing key {path} can be read by others (mode {mode:o}); it must be readable by its \
         owner only: chmod 600 {path}"
    )]
    KeyFileMode { path: PathBuf, mode: u32 },
    #[error(
        "{path} is not an RSA private key in PEM (PKCS#1 `BEGIN RSA PRIVATE KEY` or PKCS#8 \
         `BEGIN PRIVATE KEY`): {detail}"
    )]
    NotAKey { path: PathBuf, detail: String },
    #[error("the signing key {path} has {bits} bits; at least {MIN_KEY_BITS} are required")]
    TooSmall { path: PathBuf, bits: usize },
    #[error(
        "signing.key_version must be set when signing.key_file is (it is printed with every signature)"
    )]
    KeyVersionMissing,
    #[error(
        "signing.key_version {0:?} is not valid: 1 to 50 characters, no ';', and not starting with \
         \"TEST-\" (reserved for the test key)"
    )]
    KeyVersionInvalid(String),
    #[error(
        "Kasse's TEST signing key cannot sign for production Vipps settings: set signing.key_file \
         and signing.key_version to the supplier's declared key (see docs/compliance.md)"
    )]
    TestKeyInProduction,
    #[error("signing.country {0:?} is not supported (NO or DK)")]
    Country(String),
    #[error(
        "Denmark signs the business's CVR number with every transaction: set signing.company_ident \
         to its 8 digits"
    )]
    CompanyIdentMissing,
    #[error("signing.company_ident {0:?} is not valid (no ';', no surrounding spaces)")]
    CompanyIdentInvalid(String),
    #[error("signing.till id is empty: set till.id")]
    RegisterMissing,
    #[error("cannot read the certificate {path}: {detail}")]
    Certificate { path: PathBuf, detail: String },
    #[error("cannot write the test key {path}: {detail}")]
    WriteTestKey { path: PathBuf, detail: String },
    #[error("generating the test key failed: {0}")]
    Generate(String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("not a public key in PEM (`BEGIN PUBLIC KEY`): {0}")]
    PublicKey(String),
}

/// The private key and what is recorded with each signature. Cheap to share (`Arc`).
pub struct Signer {
    key: PrivateKey,
    public_pem: String,
    fingerprint: String,
    scheme: Scheme,
    key_version: String,
    test_key: bool,
    certificate_pem: Option<String>,
    register_id: String,
    company_ident: String,
    bits: usize,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme)
            .field("key_version", &self.key_version)
            .field("test_key", &self.test_key)
            .field("register_id", &self.register_id)
            .finish_non_exhaustive()
    }
}

/// The country whose rules `config` signs by.
pub fn scheme_of(config: &Config) -> Result<Scheme, SigningError> {
    match config.signing.country.trim().to_ascii_uppercase().as_str() {
        "" if config.till.currency == Currency::Dkk => Ok(Scheme::DkRsaSha512),
        "" | "NO" => Ok(Scheme::NoRsaSha1),
        "DK" => Ok(Scheme::DkRsaSha512),
        other => Err(SigningError::Country(other.to_string())),
    }
}

/// Where the test key of a till with database `database` lives.
pub fn test_key_path(database: &Path) -> PathBuf {
    database
        .parent()
        .map(|d| d.join(TEST_KEY_FILE))
        .unwrap_or_else(|| PathBuf::from(TEST_KEY_FILE))
}

impl Signer {
    /// The signer for `config`: the configured key file, or (when `signing.key_file` is empty)
    /// the test key beside `database`, generated there once (`None`: an in-memory database,
    /// whose test key lives as long as the process). Refuses the test key for production
    /// Vipps settings.
    pub fn for_till(config: &Config, database: Option<&Path>) -> Result<Signer, SigningError> {
        let scheme = scheme_of(config)?;
        let register_id = config.till.id.clone();
        if register_id.is_empty() {
            return Err(SigningError::RegisterMissing);
        }
        let company_ident = config.signing.company_ident.trim().to_string();
        if company_ident.contains(';') {
            return Err(SigningError::CompanyIdentInvalid(company_ident));
        }
        if scheme == Scheme::DkRsaSha512 && company_ident.is_empty() {
            return Err(SigningError::CompanyIdentMissing);
        }
        let (key, test_key, path) = if config.signing.key_file.trim().is_empty() {
            let (key, path) = match database {
                Some(db) => {
                    let path = test_key_path(db);
                    (load_or_create_test_key(&path)?, path)
                }
                None => (process_test_key()?, PathBuf::from("(generated in memory)")),
            };
            (key, true, path)
        } else {
            let path = PathBuf::from(config.signing.key_file.trim());
            let (key, marked) = load_key_file(&path)?;
            (key, marked, path)
        };
        let bits = key.size() * 8;
        if bits < MIN_KEY_BITS {
            return Err(SigningError::TooSmall { path, bits });
        }
        let public = key.to_public_key();
        let public_pem = public_pem(&public)?;
        let fingerprint = fingerprint(&public)?;
        let key_version = if test_key {
            format!("{TEST_KEY_VERSION_PREFIX}{}", &fingerprint[..12])
        } else {
            let v = config.signing.key_version.trim().to_string();
            if v.is_empty() {
                return Err(SigningError::KeyVersionMissing);
            }
            if v.len() > MAX_KEY_VERSION_LEN
                || v.contains(';')
                || v.to_ascii_uppercase().starts_with(TEST_KEY_VERSION_PREFIX)
            {
                return Err(SigningError::KeyVersionInvalid(v));
            }
            v
        };
        if test_key && config.vipps.environment == VippsEnvironment::Production {
            return Err(SigningError::TestKeyInProduction);
        }
        let certificate_pem = match config.signing.certificate_file.trim() {
            "" => None,
            file => Some(read_certificate(Path::new(file))?),
        };
        if scheme == Scheme::NoRsaSha1 && bits != 1024 {
            tracing::warn!(
                bits,
                "Skatteetaten's signature guide and validator expect a 1024-bit RSA key"
            );
        }
        if public.e_bytes().as_ref() != [1, 0, 1] {
            tracing::warn!("the signing key's public exponent is not 65537 as recommended");
        }
        Ok(Signer {
            key,
            public_pem,
            fingerprint,
            scheme,
            key_version,
            test_key,
            certificate_pem,
            register_id,
            company_ident,
            bits,
        })
    }

    /// Signs `text` (UTF-8) with the scheme's hash, PKCS#1 v1.5; the signature in base64.
    pub fn sign(&self, text: &str) -> Result<String, SigningError> {
        let sig = match self.scheme {
            Scheme::NoRsaSha1 => self.key.pkcs1v15_sign::<sha1::Sha1>(text.as_bytes()),
            Scheme::DkRsaSha512 => self.key.pkcs1v15_sign::<sha2::Sha512>(text.as_bytes()),
        }
        .map_err(|e| SigningError::Sign(e.to_string()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(sig))
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn key_version(&self) -> &str {
        &self.key_version
    }

    /// Kasse's test key: never valid for a declared till.
    pub fn is_test_key(&self) -> bool {
        self.test_key
    }

    /// The public key, SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), as the product
    /// declaration takes it.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// SHA-256 of the public key (DER), hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The register (till id) whose chain this signer extends.
    pub fn register_id(&self) -> &str {
        &self.register_id
    }

    pub fn company_ident(&self) -> &str {
        &self.company_ident
    }

    pub fn bits(&self) -> usize {
        self.bits
    }
}

/// Checks a base64 signature of `text` with `public_key_pem` under `scheme`.
pub fn verify(
    scheme: Scheme,
    public_key: &PublicKey,
    text: &str,
    signature_b64: &str,
) -> Result<(), String> {
    let sig = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|e| format!("signature is not base64: {e}"))?;
    match scheme {
        Scheme::NoRsaSha1 => public_key.pkcs1v15_verify::<sha1::Sha1>(text.as_bytes(), &sig),
        Scheme::DkRsaSha512 => public_key.pkcs1v15_verify::<sha2::Sha512>(text.as_bytes(), &sig),
    }
    .map_err(|_| "the signature does not verify".to_string())
}

/// Parses a public key PEM (`BEGIN PUBLIC KEY`, or PKCS#1 `BEGIN RSA PUBLIC KEY`).
pub fn parse_public_key(pem: &str) -> Result<PublicKey, SigningError> {
    PublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| {
            use rsa::pkcs1::DecodeRsaPublicKey;
            PublicKey::from_pkcs1_pem(pem.trim())
        })
        .map_err(|e| SigningError::PublicKey(e.to_string()))
}

/// SHA-256 of a public key's DER, hex.
pub fn fingerprint(public: &PublicKey) -> Result<String, SigningError> {
    let der = public
        .to_public_key_der()
        .map_err(|e| SigningError::PublicKey(e.to_string()))?;
    Ok(hex::encode(sha2::Sha256::digest(der.as_bytes())))
}

fn public_pem(public: &PublicKey) -> Result<String, SigningError> {
    public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| SigningError::PublicKey(e.to_string()))
}

/// Reads a key file: refuses a mode readable by others, strips `#` comment lines, parses PKCS#1
/// or PKCS#8. Returns the key and whether the file carries the test-key mark.
fn load_key_file(path: &Path) -> Result<(PrivateKey, bool), SigningError> {
    check_private_mode(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| SigningError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let marked = text
        .lines()
        .any(|l| l.trim_start().starts_with(TEST_KEY_MARK));
    let pem: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let key = PrivateKey::from_pkcs1_pem(pem.trim())
        .or_else(|_| PrivateKey::from_pkcs8_pem(pem.trim()))
        .map_err(|e| SigningError::NotAKey {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    Ok((key, marked))
}

#[cfg(unix)]
fn check_private_mode(path: &Path) -> Result<(), SigningError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| SigningError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SigningError::KeyFileMode {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path) -> Result<(), SigningError> {
    Ok(())
}

fn read_certificate(path: &Path) -> Result<String, SigningError> {
    let text = std::fs::read_to_string(path).map_err(|e| SigningError::Certificate {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(SigningError::Certificate {
            path: path.to_path_buf(),
            detail: "no `-----BEGIN CERTIFICATE-----` block".into(),
        });
    }
    Ok(text.trim().to_string())
}

/// One test key per process, generated on first use: tests and in-memory tills share it, and
/// a test key file written for a new database is a copy of it (no generation per database).
fn process_test_key() -> Result<PrivateKey, SigningError> {
    static KEY: OnceLock<Result<PrivateKey, SigningError>> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = getrandom::SysRng;
        PrivateKey::new(&mut rng, TEST_KEY_BITS).map_err(|e| SigningError::Generate(e.to_string()))
    })
    .clone()
}

/// The test key file's full text: the mark, what it is for, and the key (PKCS#1 PEM, the form
/// Skatteetaten's validator reads).
pub fn test_key_file_text(key: &PrivateKey) -> Result<String, SigningError> {
    let pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| SigningError::Generate(e.to_string()))?;
    Ok(format!(
        "{TEST_KEY_MARK}: for demo, training and tests only.\n\
         # It is not secret and not declared to any tax authority; a till with production\n\
         # Vipps settings refuses it. Signatures made with it carry keyVersion TEST-...\n{}",
        pem.as_str()
    ))
}

/// Loads the test key at `path`, or writes one there (mode 0600) when there is none.
fn load_or_create_test_key(path: &Path) -> Result<PrivateKey, SigningError> {
    if path.exists() {
        let (key, marked) = load_key_file(path)?;
        if !marked {
            return Err(SigningError::NotAKey {
                path: path.to_path_buf(),
                detail: format!("a file named {TEST_KEY_FILE} must be a marked Kasse test key"),
            });
        }
        return Ok(key);
    }
    let key = process_test_key()?;
    let text = test_key_file_text(&key)?;
    crate::config::create_private(path, text.as_bytes()).map_err(|e| {
        SigningError::WriteTestKey {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    })?;
    tracing::info!(path = %path.display(), "wrote Kasse's test signing key (demo and test use only)");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::signature_text::NorwegianText;

    /// Skatteetaten's worked example (signature guide 2017, section 2.2.5): the data to sign
    /// and the SHA-1 of it.
    const GUIDE_PREVIOUS: &str = "signature_from_previous_receipt";
    const GUIDE_DATE: &str = "2014-01-24";
    const GUIDE_TIME: &str = "23:59:59";
    const GUIDE_NR: &str = "123456789";
    const GUIDE_AMOUNT_IN_ORE: i64 = 125_000;
    const GUIDE_AMOUNT_EX_ORE: i64 = 100_000;
    const GUIDE_TEXT: &str =
        "signature_from_previous_receipt;2014-01-24;23:59:59;123456789;1250.00;1000.00";
    const GUIDE_SHA1: &str = "55abb153c38026540a601dd7bd4302e41481cd37";

    #[test]
    fn skatteetaten_check_value() {
        let text = NorwegianText {
            previous_signature: GUIDE_PREVIOUS,
            trans_date: GUIDE_DATE,
            trans_time: GUIDE_TIME,
            nr: GUIDE_NR,
            amount_in: GUIDE_AMOUNT_IN_ORE,
            amount_ex: GUIDE_AMOUNT_EX_ORE,
        }
        .text()
        .unwrap();
        assert_eq!(text, GUIDE_TEXT);
        assert_eq!(hex::encode(sha1::Sha1::digest(text.as_bytes())), GUIDE_SHA1);
        // The signature is RSA over exactly that digest: recovering the signed block with the
        // public key yields the PKCS#1 v1.5 DigestInfo for SHA-1 ending in the guide's hash.
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        let signer = Signer::for_till(&c, None).unwrap();
        let sig = signer.sign(&text).unwrap();
        let public = parse_public_key(signer.public_key_pem()).unwrap();
        verify(Scheme::NoRsaSha1, &public, GUIDE_TEXT, &sig).unwrap();
        let prehash = hex::decode(GUIDE_SHA1).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&sig)
            .unwrap();
        public
            .pkcs1v15_verify_prehash::<sha1::Sha1>(&prehash, &raw)
            .unwrap();
    }

    fn config(dir: &Path) -> Config {
        let mut c = Config::default();
        c.till.id = "kasse1".into();
        c.store.database = dir.join("kasse.db").to_string_lossy().into_owned();
        c
    }

    #[test]
    fn test_key_is_generated_once_marked_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        let db = dir.path().join("kasse.db");
        let a = Signer::for_till(&c, Some(&db)).unwrap();
        assert!(a.is_test_key());
        assert!(a.key_version().starts_with("TEST-"), "{}", a.key_version());
        let path = dir.path().join(TEST_KEY_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(TEST_KEY_MARK), "{text}");
        assert!(text.contains("BEGIN RSA PRIVATE KEY"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let b = Signer::for_till(&c, Some(&db)).unwrap();
        assert_eq!(a.public_key_pem(), b.public_key_pem());
        assert_eq!(a.key_version(), b.key_version());
        assert_eq!(a.bits(), 1024);
        assert!(a.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
        // Debug never shows the key.
        let shown = format!("{a:?}");
        assert!(
            !shown.contains("PRIVATE") && shown.contains("TEST-"),
            "{shown}"
        );
    }

    #[test]
    fn production_refuses_the_test_key_even_named_as_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        c.vipps.environment = VippsEnvironment::Production;
        let db = dir.path().join("kasse.db");
        assert_eq!(
            Signer::for_till(&c, Some(&db)).unwrap_err(),
            SigningError::TestKeyInProduction
        );
        // Configured explicitly, the marked file is still the test key.
        let path = dir.path().join("copied.pem");
        let key = process_test_key().unwrap();
        crate::config::create_private(&path, test_key_file_text(&key).unwrap().as_bytes()).unwrap();
        c.signing.key_file = path.to_string_lossy().into_owned();
        c.signing.key_version = "2026-1".into();
        assert_eq!(
            Signer::for_till(&c, Some(&db)).unwrap_err(),
            SigningError::TestKeyInProduction
        );
    }

    #[test]
    fn configured_key_needs_mode_0600_and_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        c.vipps.environment = VippsEnvironment::Production;
        let key = process_test_key().unwrap();
        let pem = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        let path = dir.path().join("supplier.pem");
        std::fs::write(&path, pem.as_bytes()).unwrap();
        c.signing.key_file = path.to_string_lossy().into_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = Signer::for_till(&c, None).unwrap_err();
            assert!(
                matches!(err, SigningError::KeyFileMode { mode: 0o644, .. }),
                "{err}"
            );
            assert!(err.to_string().contains("chmod 600"), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(
            Signer::for_till(&c, None).unwrap_err(),
            SigningError::KeyVersionMissing
        );
        c.signing.key_version = "TEST-mine".into();
        assert!(matches!(
            Signer::for_till(&c, None).unwrap_err(),
            SigningError::KeyVersionInvalid(_)
        ));
        c.signing.key_version = "kasse-2026-1".into();
        let s = Signer::for_till(&c, None).unwrap();
        assert!(!s.is_test_key());
        assert_eq!(s.key_version(), "kasse-2026-1");
        assert_eq!(s.scheme(), Scheme::NoRsaSha1);
    }

    #[test]
    fn not_a_key_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        let path = dir.path().join("junk.pem");
        crate::config::create_private(&path, b"-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
        c.signing.key_file = path.to_string_lossy().into_owned();
        c.signing.key_version = "1".into();
        assert!(matches!(
            Signer::for_till(&c, None).unwrap_err(),
            SigningError::NotAKey { .. }
        ));
    }

    #[test]
    fn denmark_needs_the_cvr_and_signs_with_sha512() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        c.till.currency = Currency::Dkk;
        assert_eq!(
            Signer::for_till(&c, None).unwrap_err(),
            SigningError::CompanyIdentMissing
        );
        c.signing.company_ident = "12345678".into();
        let s = Signer::for_till(&c, None).unwrap();
        assert_eq!(s.scheme(), Scheme::DkRsaSha512);
        let sig = s
            .sign("0;1;1;11001;2024-01-01;10:00:00;0;1.00;0.80;kasse1;12345678")
            .unwrap();
        let public = parse_public_key(s.public_key_pem()).unwrap();
        verify(
            Scheme::DkRsaSha512,
            &public,
            "0;1;1;11001;2024-01-01;10:00:00;0;1.00;0.80;kasse1;12345678",
            &sig,
        )
        .unwrap();
        // The same signature is not an RSA-SHA1 signature of the text.
        assert!(
            verify(
                Scheme::NoRsaSha1,
                &public,
                "0;1;1;11001;2024-01-01;10:00:00;0;1.00;0.80;kasse1;12345678",
                &sig
            )
            .is_err()
        );
        c.signing.country = "SE".into();
        assert!(matches!(
            Signer::for_till(&c, None).unwrap_err(),
            SigningError::Country(_)
        ));
    }

    #[test]
    fn signatures_are_deterministic_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        let s = Signer::for_till(&c, None).unwrap();
        let text = "0;2024-01-01;10:00:00;1;125.00;100.00";
        let a = s.sign(text).unwrap();
        assert_eq!(a, s.sign(text).unwrap(), "PKCS#1 v1.5 is deterministic");
        // 1024-bit signature: 128 bytes, 172 base64 characters.
        assert_eq!(a.len(), 172);
        let public = parse_public_key(s.public_key_pem()).unwrap();
        verify(Scheme::NoRsaSha1, &public, text, &a).unwrap();
        assert!(
            verify(
                Scheme::NoRsaSha1,
                &public,
                "0;2024-01-01;10:00:00;1;125.00;100.01",
                &a
            )
            .is_err()
        );
    }
}

//! Till configuration (TOML, every key overridable by a `KASSE_...` variable).
//!
//! Loading order, later wins:
//! 1. built-in defaults (every field has one, so a partial file is fine);
//! 2. the configuration file (`kasse.toml` in the platform config directory, or `--config PATH`);
//! 3. the secrets file (`secrets.toml` beside it unless `secrets_file` says otherwise), which must be
//!    readable by its owner only (mode 0600; a looser mode is reported as a warning);
//! 4. environment variables `KASSE_<SECTION>_<KEY>` (e.g. `KASSE_VIPPS_CLIENT_SECRET`,
//!    `KASSE_ENGINE_POLL_INTERVAL_MS`).
//!
//! Unknown keys are reported as warnings (see [`Config::warnings`]) and otherwise ignored.

pub mod pin;
mod private;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

pub use crate::core::money::{Currency, Locale};
pub use crate::print::PrinterConnection;
pub use crate::vipps::{Environment as VippsEnvironment, Secret};
pub use private::{create_private, write_private};

/// The `[vipps]` section: environment, sales unit and credentials (typed, secrets wrapped).
pub type VippsSection = crate::vipps::Settings;

/// Environment variable prefix for overrides.
pub const ENV_PREFIX: &str = "KASSE_";

/// Keys whose values are secrets: never printed, expected in the secrets file.
pub const SECRET_KEYS: &[&str] = &[
    "vipps.client_secret",
    "vipps.subscription_key",
    "relay.till_token",
];

/// Errors from loading, validating or writing a configuration. `Clone` (sources shared) so a
/// result can travel in a UI message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("configuration file {} is not valid TOML: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("configuration key {key} has the wrong type: {message}")]
    Type { key: String, message: String },
    #[error("environment variable {var} is not a valid value for {key}: {message}")]
    Env {
        var: String,
        key: String,
        message: String,
    },
    #[error("invalid configuration value {key}: {message}")]
    Invalid { key: &'static str, message: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("the task writing {} stopped", path.display())]
    Task { path: PathBuf },
    #[error("no platform configuration directory could be determined")]
    NoConfigDir,
}

/// `[till]`: who this till is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TillSection {
    /// `^[a-z0-9]{1,16}$`; every payment reference starts with `<id>-` (relay routing).
    pub id: String,
    /// Shown in the customer's app after scanning (`locationDescription`, at most 36 characters).
    pub name: String,
    /// The merchant callback QR's id; empty means `kasse-<till id>`.
    pub merchant_qr_id: String,
    /// A printed MobilePay PoS sticker (Denmark, Finland) this till answers to, by its beacon
    /// id: the till maps it at Vipps and it replaces the till's own QR (check-ins name the
    /// beacon id). Empty: the till's own QR.
    pub mobilepay_beacon_id: String,
    /// What Pay shows: the till's own QR (`static`: check-ins come through the relay) or a QR
    /// made for each payment (`one_time`: followed by polling, needs no relay).
    pub pay_qr: PayQr,
    /// `NOK`, `DKK` or `EUR` (any case); must match the sales unit's market.
    #[serde(deserialize_with = "from_text")]
    pub currency: Currency,
    /// `nb`, `da`, `fi` or `en` (also `no`, `nb-NO`, `en_GB.UTF-8`, ...).
    #[serde(deserialize_with = "from_text")]
    pub language: Locale,
    /// The window locks (back to the log-in) after this many seconds without input while a
    /// cashier is logged in; 0 never locks.
    pub lock_after_secs: u64,
}

/// Which QR the Pay screen shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayQr {
    /// The till's own QR (or its MobilePay sticker); a one-time QR only when the relay is
    /// down longer than `engine.one_time_qr_after_secs`, or on request.
    #[default]
    Static,
    /// A QR for each payment.
    OneTime,
}

/// A value read from its text form with its one parser ([`std::str::FromStr`]).
fn from_text<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

impl Default for TillSection {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: "Kasse 1".into(),
            merchant_qr_id: String::new(),
            mobilepay_beacon_id: String::new(),
            pay_qr: PayQr::Static,
            currency: Currency::Nok,
            language: Locale::Nb,
            lock_after_secs: 300,
        }
    }
}

/// `[relay]`: where this till receives its webhooks. `Debug` leaves the token out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RelaySection {
    /// Base URL of the relay (`https://relay.example.com`).
    pub url: String,
    /// This till's token, issued once by `kasse-relay till add`.
    pub till_token: Secret,
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut config = Config::default();
        config.vipps.client_secret = "s3cret-value".into();
        config.vipps.subscription_key = "sub-key-value".into();
        config.relay = RelaySection {
            url: "https://relay.example.com".into(),
            till_token: "kasse_till_tokenvalue".into(),
        };
        let shown = format!("{config:?} {}", config.relay.till_token);
        for secret in ["s3cret-value", "sub-key-value", "kasse_till_tokenvalue"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("***") && shown.contains("relay.example.com"));
    }
}

/// `[store]`: local storage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreSection {
    /// SQLite file; empty means `kasse.db` in the platform data directory.
    pub database: String,
}

/// `[signing]`: the signature of every concluded transaction (see `docs/compliance.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SigningSection {
    /// `NO` or `DK`: whose rules the signatures follow. Empty: `DK` when `till.currency` is
    /// DKK, else `NO`.
    pub country: String,
    /// The business's organisation number (Norway) or CVR number (Denmark, part of every
    /// signed text there).
    pub company_ident: String,
    /// The supplier's private key, PEM, readable by its owner only (mode 0600). Empty: Kasse's
    /// marked test key beside the database (demo and test Vipps only; production refuses it).
    pub key_file: String,
    /// The version label of that key, recorded with every signature (required with `key_file`).
    pub key_version: String,
    /// Denmark: the key's OCES certificate (PEM), kept with the key for the export.
    pub certificate_file: String,
}

/// `[shop]`: the business as printed on receipts and the QR sticker (kassasystemforskrifta
/// § 2-8: name, organisation number, address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopSection {
    /// The business name; empty: the till's name.
    pub name: String,
    /// Organisation number (nine digits in Norway); empty: not printed.
    pub org_nr: String,
    /// Registered for VAT: "MVA" follows the organisation number.
    pub vat_registered: bool,
    /// Address, one line per line of text.
    pub address: String,
    /// Footer printed under every receipt, one line per line of text.
    pub footer: String,
    /// A PNG file printed at the top of receipts (scaled to the paper, in black and white);
    /// empty: no logo.
    pub logo: String,
    /// Language of receipts and the sticker (`nb`, `da` or `en`; `fi` prints English),
    /// independent of the window's language.
    #[serde(deserialize_with = "from_text")]
    pub language: Locale,
}

impl Default for ShopSection {
    fn default() -> Self {
        Self {
            name: String::new(),
            org_nr: String::new(),
            vat_registered: true,
            address: String::new(),
            footer: String::new(),
            logo: String::new(),
            language: Locale::Nb,
        }
    }
}

/// `[customer_display]`: the optional second window that faces the customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerDisplaySection {
    /// Open it when the till starts (it can also be opened and closed from Admin, and from
    /// the demo banner).
    pub open: bool,
    /// Fill the screen it opens on.
    pub fullscreen: bool,
    /// Where it opens, in desktop coordinates (its top-left corner): this picks the monitor
    /// that faces the customer, e.g. `x = 1920` for a second screen right of a 1920-px one.
    pub x: Option<i32>,
    pub y: Option<i32>,
}

/// `[printer]`: the receipt printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrinterSection {
    /// `none`, `tcp://HOST[:PORT]` (port 9100 by default), `device:/dev/usb/lp0` or
    /// `file:/path/receipts.escpos` (appended to).
    pub connection: PrinterConnection,
    /// Characters per line: 32 (58 mm paper), 42 or 48 (80 mm); 16 to 80.
    pub columns: u16,
    /// Cut the paper after each receipt.
    pub cut: bool,
    /// Open the cash drawer (pulse on pin 2) after a receipt with a cash tender.
    pub drawer_kick: bool,
    /// Width of receipt-sized PDFs, in millimetres.
    pub paper_width_mm: u16,
}

impl Default for PrinterSection {
    fn default() -> Self {
        Self {
            connection: PrinterConnection::None,
            columns: 48,
            cut: true,
            drawer_kick: true,
            paper_width_mm: 80,
        }
    }
}

/// `[engine]`: timings of the payment flow. Defaults follow Vipps' guidance; tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineSection {
    /// First status poll after create payment.
    pub poll_start_ms: u64,
    /// Interval between status polls.
    pub poll_interval_ms: u64,
    /// Upper bound of the poll interval while backing off after 429.
    pub poll_max_interval_ms: u64,
    /// How long a payment request stays open at Vipps (their default: 10 minutes).
    pub payment_expiry_secs: u64,
    /// Extra time after expiry before the engine stops waiting and settles the payment itself.
    pub expiry_grace_secs: u64,
    /// Validity of a customer token from a check-in (Vipps: 15 minutes).
    pub checkin_validity_secs: u64,
    /// First delay before retrying a failed Vipps call (5xx, 429, timeout, unreachable).
    pub retry_initial_ms: u64,
    /// Largest delay between retries.
    pub retry_max_ms: u64,
    /// How long create payment is retried before the attempt is given up (and reconciled later).
    pub create_retry_budget_secs: u64,
    /// How long a capture, cancel or refund is retried in the foreground before it is left to
    /// the background reconciliation (its intent stays stored and is finished later).
    pub modify_retry_budget_secs: u64,
    /// How often unfinished payments are reconciled while the till is idle.
    pub reconcile_interval_secs: u64,
    /// Per-request timeout towards Vipps.
    pub http_timeout_ms: u64,
    /// When the relay has been unreachable this long while a sale waits for the customer,
    /// the till shows a one-time QR instead of its own (check-ins cannot arrive). 0: never.
    pub one_time_qr_after_secs: u64,
}

impl Default for EngineSection {
    fn default() -> Self {
        Self {
            poll_start_ms: 5_000,
            poll_interval_ms: 2_000,
            poll_max_interval_ms: 30_000,
            payment_expiry_secs: 600,
            expiry_grace_secs: 30,
            checkin_validity_secs: 900,
            retry_initial_ms: 500,
            retry_max_ms: 10_000,
            create_retry_budget_secs: 60,
            modify_retry_budget_secs: 120,
            reconcile_interval_secs: 30,
            http_timeout_ms: 10_000,
            one_time_qr_after_secs: 20,
        }
    }
}

impl EngineSection {
    /// How long the relay may be down before a waiting sale switches to a one-time QR.
    pub fn one_time_qr_after(&self) -> Option<Duration> {
        (self.one_time_qr_after_secs > 0).then(|| Duration::from_secs(self.one_time_qr_after_secs))
    }
    pub fn poll_start(&self) -> Duration {
        Duration::from_millis(self.poll_start_ms)
    }
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(1))
    }
    pub fn poll_max_interval(&self) -> Duration {
        Duration::from_millis(self.poll_max_interval_ms.max(self.poll_interval_ms).max(1))
    }
    pub fn payment_expiry(&self) -> Duration {
        Duration::from_secs(self.payment_expiry_secs)
    }
    pub fn expiry_grace(&self) -> Duration {
        Duration::from_secs(self.expiry_grace_secs)
    }
    pub fn checkin_validity(&self) -> Duration {
        Duration::from_secs(self.checkin_validity_secs)
    }
    pub fn retry_initial(&self) -> Duration {
        Duration::from_millis(self.retry_initial_ms.max(1))
    }
    pub fn retry_max(&self) -> Duration {
        Duration::from_millis(self.retry_max_ms.max(self.retry_initial_ms).max(1))
    }
    pub fn create_retry_budget(&self) -> Duration {
        Duration::from_secs(self.create_retry_budget_secs)
    }
    pub fn modify_retry_budget(&self) -> Duration {
        Duration::from_secs(self.modify_retry_budget_secs)
    }
    pub fn reconcile_interval(&self) -> Duration {
        Duration::from_secs(self.reconcile_interval_secs.max(1))
    }
    pub fn http_timeout(&self) -> Duration {
        Duration::from_millis(self.http_timeout_ms.max(1))
    }
}

/// The whole till configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Path of the secrets file; empty means `secrets.toml` beside the configuration file.
    pub secrets_file: String,
    pub vipps: VippsSection,
    pub till: TillSection,
    pub relay: RelaySection,
    pub store: StoreSection,
    pub engine: EngineSection,
    pub signing: SigningSection,
    pub shop: ShopSection,
    pub printer: PrinterSection,
    pub customer_display: CustomerDisplaySection,
    /// Problems that did not stop loading (unknown keys, loose secrets file mode).
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// The file this configuration was loaded from (for reloading).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl Config {
    /// The platform's configuration file path (`~/.config/kasse/kasse.toml` on Linux).
    pub fn default_path() -> Option<PathBuf> {
        project_dirs().map(|d| d.config_dir().join("kasse.toml"))
    }

    /// The platform's data directory default for the database (`~/.local/share/kasse/kasse.db`).
    pub fn default_database_path() -> Option<PathBuf> {
        project_dirs().map(|d| d.data_dir().join("kasse.db"))
    }

    /// Loads the configuration from `path` (or the default path), the secrets file and the
    /// environment. A missing file is not an error: defaults apply (then [`Self::is_configured`]
    /// is false).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Self::default_path(),
        };
        Self::load_with_env(path.as_deref(), &env)
    }

    /// [`Self::load`] with explicit environment variables (tests).
    pub fn load_with_env(
        path: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let defaults = default_table();
        let mut merged = defaults.clone();

        if let Some(path) = path
            && path.exists()
        {
            let table = read_table(path)?;
            warn_secrets_mode(path, &table, false, &mut warnings);
            merge_known(&mut merged, &defaults, &table, "", path, &mut warnings);
        }

        // The secrets file: from the merged file so far, or the environment, or beside the file.
        let secrets_path = env_value(env, "secrets_file")
            .map(PathBuf::from)
            .or_else(|| {
                merged
                    .get("secrets_file")
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| {
                path.and_then(|p| p.parent())
                    .map(|d| d.join("secrets.toml"))
            });
        if let Some(secrets_path) = secrets_path
            && secrets_path.exists()
        {
            let table = read_table(&secrets_path)?;
            warn_secrets_mode(&secrets_path, &table, true, &mut warnings);
            merge_known(
                &mut merged,
                &defaults,
                &table,
                "",
                &secrets_path,
                &mut warnings,
            );
        }

        apply_env(&mut merged, &defaults, env)?;

        let mut config: Config =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Type {
                    key: "configuration".into(),
                    message: e.to_string(),
                })?;
        for w in &warnings {
            tracing::warn!("{w}");
        }
        config.warnings = warnings;
        config.source = path.map(Path::to_path_buf);
        Ok(config)
    }

    /// Parses a configuration from TOML text (no secrets file, no environment).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: PathBuf::from("<text>"),
                message: e.to_string(),
            })?;
        let defaults = default_table();
        let mut merged = defaults.clone();
        let mut warnings = Vec::new();
        merge_known(
            &mut merged,
            &defaults,
            &table,
            "",
            Path::new("<text>"),
            &mut warnings,
        );
        let mut config: Config =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Type {
                    key: "configuration".into(),
                    message: e.to_string(),
                })?;
        config.warnings = warnings;
        Ok(config)
    }

    /// The configuration as TOML, secrets left out (for writing the main file).
    pub fn to_toml_without_secrets(&self) -> String {
        let mut table = match toml::Value::try_from(self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return String::new(),
        };
        for key in SECRET_KEYS {
            if let Some((section, name)) = key.split_once('.')
                && let Some(toml::Value::Table(t)) = table.get_mut(section)
            {
                t.remove(name);
            }
        }
        toml::to_string(&table).unwrap_or_default()
    }

    /// The secrets as TOML (for writing the secrets file).
    pub fn secrets_toml(&self) -> String {
        let mut vipps = toml::Table::new();
        vipps.insert(
            "client_secret".into(),
            self.vipps.client_secret.expose().into(),
        );
        vipps.insert(
            "subscription_key".into(),
            self.vipps.subscription_key.expose().into(),
        );
        let mut relay = toml::Table::new();
        relay.insert("till_token".into(), self.relay.till_token.expose().into());
        let mut root = toml::Table::new();
        root.insert("vipps".into(), toml::Value::Table(vipps));
        root.insert("relay".into(), toml::Value::Table(relay));
        toml::to_string(&root).unwrap_or_default()
    }

    /// Writes the configuration to `path` and its secrets to the secrets file, each replaced
    /// whole (a crash leaves the old file or the new one) and readable by the owner only.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write = |path: &Path, text: String| {
            write_private(path, text.as_bytes()).map_err(|source| ConfigError::Write {
                path: path.to_path_buf(),
                source: Arc::new(source),
            })
        };
        write(path, self.to_toml_without_secrets())?;
        if let Some(secrets) = self.secrets_path(Some(path)) {
            write(&secrets, self.secrets_toml())?;
        }
        Ok(())
    }

    /// [`Self::save`] on a blocking thread, for async callers (the window).
    pub async fn save_to(self, path: PathBuf) -> Result<(), ConfigError> {
        let task_path = path.clone();
        tokio::task::spawn_blocking(move || self.save(&task_path))
            .await
            .map_err(|_| ConfigError::Task { path })?
    }

    /// Where the secrets file is, given the configuration file path.
    pub fn secrets_path(&self, config_path: Option<&Path>) -> Option<PathBuf> {
        if !self.secrets_file.is_empty() {
            return Some(PathBuf::from(&self.secrets_file));
        }
        config_path
            .and_then(|p| p.parent())
            .map(|d| d.join("secrets.toml"))
    }

    /// True when everything needed to take real payments is present (otherwise the GUI starts
    /// in demo mode).
    pub fn is_configured(&self) -> bool {
        !self.vipps.client_id.is_empty()
            && !self.vipps.client_secret.is_empty()
            && !self.vipps.subscription_key.is_empty()
            && !self.vipps.msn.is_empty()
            && !self.till.id.is_empty()
            && !self.relay.url.is_empty()
            && !self.relay.till_token.is_empty()
    }

    /// Checks every value the engine relies on; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let msn = &self.vipps.msn;
        if !msn.is_empty()
            && (!(4..=6).contains(&msn.len()) || !msn.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid("vipps.msn", "4 to 6 digits"));
        }
        if !is_valid_till_id(&self.till.id) {
            return Err(invalid(
                "till.id",
                "1 to 16 characters a-z and 0-9 (no dash)",
            ));
        }
        let name_len = self.till.name.chars().count();
        if name_len == 0 || name_len > 36 {
            return Err(invalid("till.name", "1 to 36 characters"));
        }
        let qr = self.merchant_qr_id();
        if qr.is_empty()
            || qr.len() > 64
            || !qr
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            let key = if self.till.mobilepay_beacon_id.is_empty() {
                "till.merchant_qr_id"
            } else {
                "till.mobilepay_beacon_id"
            };
            return Err(invalid(key, "1 to 64 characters A-Z, a-z, 0-9, '-' or '_'"));
        }
        if !self.relay.url.is_empty() {
            Url::parse(&self.relay.url).map_err(|e| invalid("relay.url", &e.to_string()))?;
        }
        Ok(())
    }

    /// The merchant callback QR id of this till: its MobilePay sticker's beacon id when it has
    /// one, else `till.merchant_qr_id` (default `kasse-<till id>`). Check-ins name it.
    pub fn merchant_qr_id(&self) -> String {
        if !self.till.mobilepay_beacon_id.is_empty() {
            self.till.mobilepay_beacon_id.clone()
        } else if self.till.merchant_qr_id.is_empty() {
            format!("kasse-{}", self.till.id)
        } else {
            self.till.merchant_qr_id.clone()
        }
    }

    /// How this till prints: shop, language, printer and paper (printer settings out of
    /// range are clamped: a printing setting never stops the till from taking payments).
    pub fn print_settings(&self) -> crate::print::PrintSettings {
        let lines = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let name = if self.shop.name.is_empty() {
            self.till.name.clone()
        } else {
            self.shop.name.clone()
        };
        crate::print::PrintSettings {
            origin: crate::print::Origin {
                till_id: self.till.id.clone(),
                shop: crate::core::receipt_doc::ShopInfo {
                    name,
                    org_nr: self.shop.org_nr.clone(),
                    vat_registered: self.shop.vat_registered,
                    address: lines(&self.shop.address),
                    footer: lines(&self.shop.footer),
                    logo: None,
                },
            },
            // Read by each print job, not here: this runs in the window's update.
            logo: Some(self.shop.logo.trim())
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            language: self.shop.language,
            connection: self.printer.connection.clone(),
            escpos: crate::print::escpos::Options {
                columns: usize::from(self.printer.columns.clamp(16, 80)),
                cut: self.printer.cut,
                drawer_kick: self.printer.drawer_kick,
            },
            timeouts: crate::print::Timeouts::default(),
        }
    }

    /// The database file (`store.database`, default in the platform data directory).
    pub fn database_path(&self) -> Option<PathBuf> {
        if self.store.database.is_empty() {
            Self::default_database_path()
        } else {
            Some(PathBuf::from(&self.store.database))
        }
    }
}

/// Till ids: `^[a-z0-9]{1,16}$`.
pub fn is_valid_till_id(id: &str) -> bool {
    (1..=16).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn invalid(key: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.to_string(),
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("no", "Kasse", "kasse")
}

fn default_table() -> toml::Table {
    match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(t)) => t,
        // The defaults are plain strings and integers: serialisation cannot fail.
        _ => toml::Table::new(),
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source: Arc::new(source),
    })?;
    text.parse::<toml::Table>()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Copies the keys of `from` that exist in `defaults` into `into`; warns about the others.
fn merge_known(
    into: &mut toml::Table,
    defaults: &toml::Table,
    from: &toml::Table,
    prefix: &str,
    path: &Path,
    warnings: &mut Vec<String>,
) {
    for (key, value) in from {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (defaults.get(key), value) {
            (Some(toml::Value::Table(def)), toml::Value::Table(sub)) => {
                if let Some(toml::Value::Table(target)) = into.get_mut(key) {
                    merge_known(target, def, sub, &full, path, warnings);
                }
            }
            (Some(toml::Value::Table(_)), _) => warnings.push(format!(
                "{}: `{full}` should be a section; ignored",
                path.display()
            )),
            (Some(_), _) => {
                into.insert(key.clone(), value.clone());
            }
            (None, _) => warnings.push(format!(
                "{}: unknown configuration key `{full}` ignored",
                path.display()
            )),
        }
    }
}

/// `KASSE_<SECTION>_<KEY>` for `section.key` (and `KASSE_<KEY>` for top-level keys).
pub fn env_var_name(key_path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key_path.replace('.', "_").to_ascii_uppercase()
    )
}

fn env_value(env: &[(String, String)], key_path: &str) -> Option<String> {
    let name = env_var_name(key_path);
    env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
}

fn apply_env(
    merged: &mut toml::Table,
    defaults: &toml::Table,
    env: &[(String, String)],
) -> Result<(), ConfigError> {
    for (section, def) in defaults {
        match def {
            toml::Value::Table(def_table) => {
                for (key, def_value) in def_table {
                    let path = format!("{section}.{key}");
                    if let Some(raw) = env_value(env, &path) {
                        let value = env_to_value(&raw, def_value, &path)?;
                        if let Some(toml::Value::Table(t)) = merged.get_mut(section) {
                            t.insert(key.clone(), value);
                        }
                    }
                }
            }
            other => {
                if let Some(raw) = env_value(env, section) {
                    let value = env_to_value(&raw, other, section)?;
                    merged.insert(section.clone(), value);
                }
            }
        }
    }
    Ok(())
}

fn env_to_value(raw: &str, like: &toml::Value, path: &str) -> Result<toml::Value, ConfigError> {
    let err = |message: &str| ConfigError::Env {
        var: env_var_name(path),
        key: path.to_string(),
        message: message.to_string(),
    };
    Ok(match like {
        toml::Value::Integer(_) => toml::Value::Integer(
            raw.trim()
                .parse::<i64>()
                .map_err(|_| err("expected an integer"))?,
        ),
        toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            _ => return Err(err("expected true or false")),
        }),
        _ => toml::Value::String(raw.to_string()),
    })
}

fn table_has_secret(table: &toml::Table) -> bool {
    SECRET_KEYS.iter().any(|key| {
        key.split_once('.').is_some_and(|(section, name)| {
            table
                .get(section)
                .and_then(|s| s.as_table())
                .and_then(|t| t.get(name))
                .and_then(|v| v.as_str())
                .is_some_and(|s| !s.is_empty())
        })
    })
}

#[cfg(unix)]
fn warn_secrets_mode(path: &Path, table: &toml::Table, is_secrets_file: bool, w: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    if !is_secrets_file && !table_has_secret(table) {
        return;
    }
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            w.push(format!(
                "{} holds secrets but is readable by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
}

#[cfg(not(unix))]
fn warn_secrets_mode(_: &Path, _: &toml::Table, _: bool, _: &mut Vec<String>) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn missing_fields_take_defaults_and_unknown_keys_warn() {
        let c = Config::from_toml(
            "[till]\nid = \"till1\"\ncolour = \"red\"\n[nonsense]\nx = 1\n[engine]\npoll_interval_ms = 50\n",
        )
        .unwrap();
        assert_eq!(c.till.id, "till1");
        assert_eq!(c.till.name, "Kasse 1");
        assert_eq!(c.till.currency, Currency::Nok);
        assert_eq!(c.till.language, Locale::Nb);
        assert_eq!(c.vipps.environment, VippsEnvironment::Test);
        assert_eq!(c.engine.poll_interval_ms, 50);
        assert_eq!(c.engine.poll_start_ms, 5_000);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings.iter().any(|w| w.contains("till.colour")));
        assert!(c.warnings.iter().any(|w| w.contains("`nonsense`")));
    }

    #[test]
    fn wrong_type_is_a_clear_error() {
        let err = Config::from_toml("[engine]\npoll_interval_ms = \"fast\"\n").unwrap_err();
        assert!(err.to_string().contains("poll_interval_ms"), "{err}");
    }

    #[test]
    fn typed_values_are_read_once_with_one_parser_and_written_back_plain() {
        let c = Config::from_toml(
            "[vipps]\nenvironment = \"prod\"\n[till]\ncurrency = \"dkk\"\nlanguage = \"da_DK.UTF-8\"\n",
        )
        .unwrap();
        assert_eq!(c.vipps.environment, VippsEnvironment::Production);
        assert_eq!(c.till.currency, Currency::Dkk);
        assert_eq!(c.till.language, Locale::Da);
        let text = c.to_toml_without_secrets();
        assert!(text.contains("environment = \"production\""), "{text}");
        assert!(text.contains("currency = \"DKK\""), "{text}");
        assert!(text.contains("language = \"da\""), "{text}");
        assert_eq!(Config::from_toml(&text).unwrap(), c);

        let sim = Config::from_toml("[vipps]\nenvironment = \"http://127.0.0.1:1234\"\n").unwrap();
        assert_eq!(sim.vipps.environment.label(), "127.0.0.1");

        for (text, key) in [
            ("[vipps]\nenvironment = \"not a url\"\n", "environment"),
            ("[till]\ncurrency = \"SEK\"\n", "currency"),
            ("[till]\nlanguage = \"de\"\n", "language"),
        ] {
            let err = Config::from_toml(text).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        let env = Config::load_with_env(None, &env(&[("KASSE_VIPPS_ENVIRONMENT", "ftp://x")]));
        assert!(env.unwrap_err().to_string().contains("environment"));
    }

    #[test]
    fn env_overrides_every_key_and_secrets_file_merges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kasse.toml");
        std::fs::write(
            &path,
            "[vipps]\nclient_id = \"id-from-file\"\nmsn = \"123456\"\n[till]\nid = \"till1\"\n",
        )
        .unwrap();
        write_private(
            &dir.path().join("secrets.toml"),
            b"[vipps]\nclient_secret = \"s3cret\"\nsubscription_key = \"sub\"\n",
        )
        .unwrap();
        let c = Config::load_with_env(
            Some(&path),
            &env(&[
                ("KASSE_VIPPS_CLIENT_ID", "id-from-env"),
                ("KASSE_ENGINE_POLL_START_MS", "7"),
                ("KASSE_RELAY_URL", "http://127.0.0.1:9"),
                ("KASSE_RELAY_TILL_TOKEN", "tok"),
                ("KASSE_STORE_DATABASE", "/tmp/x.db"),
            ]),
        )
        .unwrap();
        assert_eq!(c.vipps.client_id, "id-from-env");
        assert_eq!(c.vipps.client_secret.expose(), "s3cret");
        assert_eq!(c.engine.poll_start_ms, 7);
        assert_eq!(c.database_path().unwrap(), PathBuf::from("/tmp/x.db"));
        assert!(c.is_configured());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        c.validate().unwrap();

        let bad =
            Config::load_with_env(Some(&path), &env(&[("KASSE_ENGINE_POLL_START_MS", "soon")]))
                .unwrap_err();
        assert!(
            bad.to_string().contains("KASSE_ENGINE_POLL_START_MS"),
            "{bad}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn loose_secrets_file_warns_and_save_writes_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kasse.toml");
        std::fs::write(&path, "").unwrap();
        let secrets = dir.path().join("secrets.toml");
        std::fs::write(&secrets, "[relay]\ntill_token = \"t\"\n").unwrap();
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
        let c = Config::load_with_env(Some(&path), &[]).unwrap();
        assert_eq!(c.relay.till_token.expose(), "t");
        assert!(c.warnings.iter().any(|w| w.contains("chmod 600")));

        let mut c = Config::default();
        c.till.id = "abc".into();
        c.vipps.client_secret = "very-secret".into();
        let out = dir.path().join("sub").join("kasse.toml");
        c.save(&out).unwrap();
        let main = std::fs::read_to_string(&out).unwrap();
        assert!(!main.contains("very-secret"));
        let sec = dir.path().join("sub").join("secrets.toml");
        let mode = std::fs::metadata(&sec).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = Config::load_with_env(Some(&out), &[]).unwrap();
        assert_eq!(back.vipps.client_secret.expose(), "very-secret");
        assert_eq!(back.till.id, "abc");
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    }

    #[test]
    fn shop_and_printer_sections_are_typed() {
        let c = Config::from_toml(
            "[shop]\nname = \"Bakeriet\"\norg_nr = \"999999999\"\naddress = \"Storgata 1\\n0155 Oslo\"\nlanguage = \"en\"\n\
             [printer]\nconnection = \"tcp://192.0.2.7\"\ncolumns = 42\n",
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(
            c.printer.connection,
            PrinterConnection::Tcp {
                host: "192.0.2.7".into(),
                port: 9100
            }
        );
        let s = c.print_settings();
        assert_eq!(s.origin.shop.address, ["Storgata 1", "0155 Oslo"]);
        assert_eq!(s.language, Locale::En);
        assert_eq!(s.escpos.columns, 42);
        assert!(c.shop.vat_registered);
        let text = c.to_toml_without_secrets();
        assert!(
            text.contains("connection = \"tcp://192.0.2.7:9100\""),
            "{text}"
        );
        assert_eq!(Config::from_toml(&text).unwrap(), c);
        let err = Config::from_toml("[printer]\nconnection = \"lpt1\"\n").unwrap_err();
        assert!(err.to_string().contains("lpt1"), "{err}");
        let env = Config::load_with_env(
            None,
            &env(&[("KASSE_PRINTER_CONNECTION", "file:/tmp/r.escpos")]),
        )
        .unwrap();
        assert_eq!(
            env.printer.connection,
            PrinterConnection::File("/tmp/r.escpos".into())
        );
        let mut odd = Config::default();
        odd.till.id = "t1".into();
        odd.printer.columns = 8;
        odd.validate().unwrap();
        assert_eq!(odd.print_settings().escpos.columns, 16);
    }

    #[test]
    fn validation_names_the_key() {
        let mut c = Config::default();
        c.till.id = "Till-1".into();
        assert!(c.validate().unwrap_err().to_string().contains("till.id"));
        c.till.id = "till1".into();
        c.till.name = "x".repeat(37);
        assert!(c.validate().unwrap_err().to_string().contains("till.name"));
        c.till.name = "Kasse 1".into();
        c.validate().unwrap();
        assert_eq!(c.merchant_qr_id(), "kasse-till1");
        c.vipps.msn = "12a4".into();
        assert!(c.validate().unwrap_err().to_string().contains("vipps.msn"));
        c.vipps.msn = "123456".into();
        c.relay.url = "not a url".into();
        assert!(c.validate().unwrap_err().to_string().contains("relay.url"));
    }
}

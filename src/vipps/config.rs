//! What the client needs to talk to Vipps MobilePay, validated once at construction.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::VippsError;
use super::mask::Secret;

/// Where the APIs live. Test and production have fully separate keys, MSNs and webhooks.
///
/// Written as `test`, `production` (or `prod`) or a base URL; [`FromStr`] is the one parser of
/// that text (configuration file, environment variable, admin screen) and serde uses it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Environment {
    /// `https://apitest.vipps.no` (the "MT" test environment).
    #[default]
    Test,
    /// `https://api.vipps.no`.
    Production,
    /// Anything else, e.g. the simulator on loopback.
    Custom(Url),
}

/// Base URL of the test environment.
pub const TEST_BASE_URL: &str = "https://apitest.vipps.no";
/// Base URL of production.
pub const PRODUCTION_BASE_URL: &str = "https://api.vipps.no";

impl Environment {
    pub fn base_url(&self) -> Url {
        match self {
            // Both constants are valid URLs; parsing cannot fail.
            Environment::Test => Url::parse(TEST_BASE_URL).expect("valid constant URL"),
            Environment::Production => Url::parse(PRODUCTION_BASE_URL).expect("valid constant URL"),
            Environment::Custom(url) => url.clone(),
        }
    }

    /// Production is the only environment where the test force-approve call is refused.
    pub fn is_production(&self) -> bool {
        matches!(self, Environment::Production)
    }

    /// Short name for display: `test`, `production` or the custom host.
    pub fn label(&self) -> String {
        match self {
            Environment::Test => "test".into(),
            Environment::Production => "production".into(),
            Environment::Custom(url) => url.host_str().unwrap_or("custom").to_string(),
        }
    }
}

/// Text that names no environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not `test`, `production` or a base URL ({reason})")]
pub struct InvalidEnvironment {
    pub input: String,
    pub reason: String,
}

impl FromStr for Environment {
    type Err = InvalidEnvironment;

    /// `test` (or nothing), `production` or `prod` (any case), otherwise an `http(s)` base URL.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        match text.to_ascii_lowercase().as_str() {
            "" | "test" => return Ok(Environment::Test),
            "production" | "prod" => return Ok(Environment::Production),
            _ => {}
        }
        let invalid = |reason: String| InvalidEnvironment {
            input: s.to_string(),
            reason,
        };
        let url = Url::parse(text).map_err(|e| invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid("an http or https URL with a host".into()));
        }
        Ok(Environment::Custom(url))
    }
}

impl fmt::Display for Environment {
    /// The text [`FromStr`] reads back: `test`, `production` or the URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Environment::Test => f.write_str("test"),
            Environment::Production => f.write_str("production"),
            Environment::Custom(url) => f.write_str(url.as_str()),
        }
    }
}

impl Serialize for Environment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Environment {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A till's Vipps settings (the `[vipps]` section of `kasse.toml`): the environment and the
/// sales unit with its credentials. `Debug` shows whether a secret is set, never its value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `test`, `production`, or a base URL (a simulator, e.g. `http://127.0.0.1:8080`).
    pub environment: Environment,
    pub client_id: String,
    pub client_secret: Secret,
    pub subscription_key: Secret,
    /// Merchant serial number (sales unit), 4 to 6 digits.
    pub msn: String,
}

/// The four `Vipps-System-*` headers (each at most 30 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    pub name: String,
    pub version: String,
    pub plugin_name: String,
    pub plugin_version: String,
}

/// Vipps' limit on each `Vipps-System-*` header.
pub const SYSTEM_HEADER_MAX_CHARS: usize = 30;

impl SystemInfo {
    /// Kasse itself, with this crate's version, as both system and plugin.
    pub fn kasse() -> Self {
        let version = env!("CARGO_PKG_VERSION").to_string();
        Self {
            name: "kasse".into(),
            version: version.clone(),
            plugin_name: "kasse-till".into(),
            plugin_version: version,
        }
    }

    /// Each value non-empty, at most 30 characters, printable ASCII (a header value).
    pub fn validate(&self) -> Result<(), VippsError> {
        for (header, value) in self.headers() {
            if value.is_empty() || value.chars().count() > SYSTEM_HEADER_MAX_CHARS {
                return Err(VippsError::Config(format!(
                    "{header} must be 1 to {SYSTEM_HEADER_MAX_CHARS} characters, got {}",
                    value.chars().count()
                )));
            }
            if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return Err(VippsError::Config(format!(
                    "{header} must be printable ASCII"
                )));
            }
        }
        Ok(())
    }

    /// Header name and value pairs, in a fixed order.
    pub fn headers(&self) -> [(&'static str, &str); 4] {
        [
            ("Vipps-System-Name", &self.name),
            ("Vipps-System-Version", &self.version),
            ("Vipps-System-Plugin-Name", &self.plugin_name),
            ("Vipps-System-Plugin-Version", &self.plugin_version),
        ]
    }
}

/// Network time limits. Both are always set explicitly on the HTTP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// Whole request, from send to the last body byte.
    pub request: Duration,
}

impl Default for Timeouts {
    /// 5 s to connect, 20 s per request: Vipps answers in well under a second
    /// normally; a slow answer is better classified as a retryable timeout
    /// (the engine re-reads the payment) than waited on forever.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(20),
        }
    }
}

/// Everything the client needs. Secrets are wrapped so `Debug` never shows them.
#[derive(Debug, Clone)]
pub struct VippsConfig {
    /// `https://apitest.vipps.no`, `https://api.vipps.no` or a simulator URL.
    pub base_url: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub subscription_key: Secret,
    /// Merchant serial number of the sales unit (digits).
    pub msn: String,
    pub system: SystemInfo,
    pub timeouts: Timeouts,
}

impl VippsConfig {
    /// The configuration for a till's `settings`: Kasse's system headers, `request_timeout` per
    /// request and at most 5 s of it to connect.
    pub fn from_settings(settings: &Settings, request_timeout: Duration) -> Self {
        VippsConfig::new(
            settings.environment.clone(),
            settings.client_id.clone(),
            settings.client_secret.clone(),
            settings.subscription_key.clone(),
            settings.msn.clone(),
        )
        .with_timeouts(Timeouts {
            connect: request_timeout.min(Duration::from_secs(5)),
            request: request_timeout,
        })
    }

    /// A configuration with Kasse's system headers and default timeouts.
    pub fn new(
        environment: Environment,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        subscription_key: impl Into<Secret>,
        msn: impl Into<String>,
    ) -> Self {
        Self {
            base_url: environment.base_url(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            subscription_key: subscription_key.into(),
            msn: msn.into(),
            system: SystemInfo::kasse(),
            timeouts: Timeouts::default(),
        }
    }

    pub fn with_system(mut self, system: SystemInfo) -> Self {
        self.system = system;
        self
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Checks every value that ends up in a header or URL.
    pub fn validate(&self) -> Result<(), VippsError> {
        match self.base_url.scheme() {
            "https" | "http" => {}
            other => {
                return Err(VippsError::Config(format!(
                    "base URL must be http(s), got scheme {other:?}"
                )));
            }
        }
        if self.base_url.cannot_be_a_base() || self.base_url.host_str().is_none() {
            return Err(VippsError::Config("base URL has no host".into()));
        }
        check_header_value("client_id", &self.client_id)?;
        check_header_value("client_secret", self.client_secret.expose())?;
        check_header_value("Ocp-Apim-Subscription-Key", self.subscription_key.expose())?;
        // The specs say ^[0-9]{4,6}$; accept a few more digits in case longer MSNs appear.
        if !(4..=10).contains(&self.msn.len()) || !self.msn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VippsError::Config(format!(
                "merchant serial number must be 4 to 10 digits, got {:?}",
                self.msn
            )));
        }
        if self.timeouts.connect.is_zero() || self.timeouts.request.is_zero() {
            return Err(VippsError::Config("timeouts must be above zero".into()));
        }
        self.system.validate()
    }
}

/// Non-empty printable ASCII without surrounding spaces. Never echoes the value.
fn check_header_value(what: &str, value: &str) -> Result<(), VippsError> {
    if value.is_empty() {
        return Err(VippsError::Config(format!("{what} is empty")));
    }
    if value.trim() != value || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(VippsError::Config(format!(
            "{what} contains spaces at the ends or characters not allowed in a header"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> VippsConfig {
        VippsConfig::new(Environment::Test, "client", "secret", "subkey", "123456")
    }

    #[test]
    fn environments_map_to_base_urls() {
        assert_eq!(
            Environment::Test.base_url().as_str(),
            "https://apitest.vipps.no/"
        );
        assert_eq!(
            Environment::Production.base_url().as_str(),
            "https://api.vipps.no/"
        );
        let sim = Url::parse("http://127.0.0.1:4567").unwrap();
        assert_eq!(Environment::Custom(sim.clone()).base_url(), sim);
    }

    #[test]
    fn one_parser_reads_every_spelling_and_writes_it_back() {
        for (text, expected) in [
            ("", Environment::Test),
            ("test", Environment::Test),
            (" TEST ", Environment::Test),
            ("production", Environment::Production),
            ("prod", Environment::Production),
            ("Prod", Environment::Production),
        ] {
            assert_eq!(text.parse::<Environment>().unwrap(), expected, "{text:?}");
        }
        let sim: Environment = "http://127.0.0.1:4567".parse().unwrap();
        assert_eq!(sim.label(), "127.0.0.1");
        assert_eq!(sim.to_string().parse::<Environment>().unwrap(), sim);
        for env in [Environment::Test, Environment::Production] {
            assert_eq!(env.to_string().parse::<Environment>().unwrap(), env);
        }
        for bad in ["not a url", "ftp://example.com", "mailto:x@example.com"] {
            assert!(bad.parse::<Environment>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn settings_never_show_secrets() {
        let settings = Settings {
            client_secret: "s3cret-value".into(),
            subscription_key: "sub-key-value".into(),
            ..Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cret-value") && !shown.contains("sub-key-value"));
        let config = VippsConfig::from_settings(&settings, Duration::from_secs(2));
        assert_eq!(config.timeouts.request, Duration::from_secs(2));
        assert_eq!(config.timeouts.connect, Duration::from_secs(2));
        let config = VippsConfig::from_settings(&settings, Duration::from_secs(60));
        assert_eq!(config.timeouts.connect, Duration::from_secs(5));
    }

    #[test]
    fn valid_config_passes() {
        config().validate().unwrap();
        SystemInfo::kasse().validate().unwrap();
    }

    #[test]
    fn system_headers_are_limited_to_30_chars() {
        let mut c = config();
        c.system.plugin_name = "x".repeat(30);
        c.validate().unwrap();
        c.system.plugin_name = "x".repeat(31);
        let err = c.validate().unwrap_err();
        assert!(matches!(&err, VippsError::Config(m) if m.contains("Vipps-System-Plugin-Name")));
        c.system.plugin_name = String::new();
        assert!(c.validate().is_err());
        c.system.plugin_name = "kasse\n".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn bad_credentials_and_msn_are_rejected_without_echo() {
        let mut c = config();
        c.client_secret = Secret::new("bad\nsecret");
        let err = c.validate().unwrap_err();
        assert!(!err.to_string().contains("bad"));
        let mut c = config();
        c.msn = "12a45".into();
        assert!(c.validate().is_err());
        let mut c = config();
        c.base_url = Url::parse("ftp://example.com").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_hides_secrets() {
        let c = VippsConfig::new(
            Environment::Test,
            "client",
            "my-client-secret",
            "my-subscription-key",
            "123456",
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("my-client-secret"));
        assert!(!shown.contains("my-subscription-key"));
    }
}

//! What the client needs to talk to Vipps MobilePay, validated once at construction.

use std::time::Duration;

use url::Url;

use super::error::VippsError;
use super::mask::Secret;

/// Where the APIs live. Test and production have fully separate keys, MSNs and webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    /// `https://apitest.vipps.no` (the "MT" test environment).
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

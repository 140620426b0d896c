//! The settings form (Admin → Connection): Vipps, the till, the relay, the shop, the printer
//! and the customer display as text the admin edits, read from and written to the typed
//! configuration with its own parsers.

use super::*;

/// Which Vipps the till talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Test,
    Production,
    /// A simulator (or any base URL).
    Simulator,
}

impl Environment {
    pub(super) const ALL: [Environment; 3] = [
        Environment::Test,
        Environment::Production,
        Environment::Simulator,
    ];
}

/// The settings form, as text the admin edits. `Debug` leaves the secrets out.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub environment: Environment,
    pub simulator_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_key: String,
    pub msn: String,
    pub till_id: String,
    pub till_name: String,
    pub merchant_qr_id: String,
    /// A printed MobilePay sticker's beacon id (empty: the till's own QR).
    pub mobilepay_beacon_id: String,
    /// Pay shows a QR for every payment (`till.pay_qr = one_time`).
    pub one_time_qr_always: bool,
    pub currency: String,
    pub relay_url: String,
    pub relay_token: String,
    /// `[shop]` as printed on receipts, and the receipt printer (`tcp://HOST:9100`,
    /// `device:/dev/usb/lp0`, `file:PATH` or `none`).
    pub shop_name: String,
    pub shop_org_nr: String,
    pub shop_address: String,
    /// A PNG file printed at the top of receipts; empty: none.
    pub shop_logo: String,
    /// `[customer_display]`: open at start, where (`x,y`, empty: where the desktop puts it),
    /// full screen.
    pub customer_display_open: bool,
    pub customer_display_at: String,
    pub customer_display_fullscreen: bool,
    pub printer: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("simulator_url", &self.simulator_url)
            .field("client_id", &self.client_id)
            .field("msn", &self.msn)
            .field("till_id", &self.till_id)
            .field("till_name", &self.till_name)
            .field("merchant_qr_id", &self.merchant_qr_id)
            .field("mobilepay_beacon_id", &self.mobilepay_beacon_id)
            .field("one_time_qr_always", &self.one_time_qr_always)
            .field("currency", &self.currency)
            .field("relay_url", &self.relay_url)
            .finish_non_exhaustive()
    }
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        let (environment, simulator_url) = match &config.vipps.environment {
            VippsEnvironment::Test => (Environment::Test, String::new()),
            VippsEnvironment::Production => (Environment::Production, String::new()),
            VippsEnvironment::Custom(url) => (Environment::Simulator, url.to_string()),
        };
        Settings {
            environment,
            simulator_url,
            client_id: config.vipps.client_id.clone(),
            client_secret: config.vipps.client_secret.expose().to_owned(),
            subscription_key: config.vipps.subscription_key.expose().to_owned(),
            msn: config.vipps.msn.clone(),
            till_id: config.till.id.clone(),
            till_name: config.till.name.clone(),
            merchant_qr_id: config.till.merchant_qr_id.clone(),
            mobilepay_beacon_id: config.till.mobilepay_beacon_id.clone(),
            one_time_qr_always: config.till.pay_qr == crate::config::PayQr::OneTime,
            currency: config.till.currency.code().to_owned(),
            relay_url: config.relay.url.clone(),
            relay_token: config.relay.till_token.expose().to_owned(),
            shop_name: config.shop.name.clone(),
            shop_org_nr: config.shop.org_nr.clone(),
            // One line per address line in the file; ", " between them here.
            shop_address: config
                .shop
                .address
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
            shop_logo: config.shop.logo.clone(),
            customer_display_open: config.customer_display.open,
            customer_display_at: match (config.customer_display.x, config.customer_display.y) {
                (Some(x), Some(y)) => format!("{x},{y}"),
                _ => String::new(),
            },
            customer_display_fullscreen: config.customer_display.fullscreen,
            printer: config.printer.connection.to_string(),
        }
    }

    /// The configuration with these settings applied (other keys kept), read with the same
    /// parsers as the configuration file; the error names the key.
    pub fn apply(&self, config: &Config) -> Result<Config, ConfigError> {
        let mut config = config.clone();
        config.vipps.environment = match self.environment {
            Environment::Test => VippsEnvironment::Test,
            Environment::Production => VippsEnvironment::Production,
            Environment::Simulator => {
                self.simulator_url
                    .parse()
                    .map_err(|e: InvalidEnvironment| ConfigError::Invalid {
                        key: "vipps.environment",
                        message: e.to_string(),
                    })?
            }
        };
        config.vipps.client_id = self.client_id.trim().to_owned();
        config.vipps.client_secret = self.client_secret.trim().into();
        config.vipps.subscription_key = self.subscription_key.trim().into();
        config.vipps.msn = self.msn.trim().to_owned();
        config.till.id = self.till_id.trim().to_owned();
        config.till.name = self.till_name.trim().to_owned();
        config.till.merchant_qr_id = self.merchant_qr_id.trim().to_owned();
        config.till.mobilepay_beacon_id = self.mobilepay_beacon_id.trim().to_owned();
        config.till.pay_qr = if self.one_time_qr_always {
            crate::config::PayQr::OneTime
        } else {
            crate::config::PayQr::Static
        };
        config.till.currency =
            self.currency
                .parse()
                .map_err(|e: MoneyError| ConfigError::Invalid {
                    key: "till.currency",
                    message: e.to_string(),
                })?;
        config.relay.url = self.relay_url.trim().to_owned();
        config.relay.till_token = self.relay_token.trim().into();
        config.shop.name = self.shop_name.trim().to_owned();
        config.shop.org_nr = self.shop_org_nr.trim().to_owned();
        config.shop.address = self
            .shop_address
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        config.shop.logo = self.shop_logo.trim().to_owned();
        config.customer_display.open = self.customer_display_open;
        config.customer_display.fullscreen = self.customer_display_fullscreen;
        (config.customer_display.x, config.customer_display.y) =
            parse_position(&self.customer_display_at).ok_or_else(|| ConfigError::Invalid {
                key: "customer_display.x",
                message: format!(
                    "{:?} is not a position: write x,y (e.g. 1920,0) or leave it empty",
                    self.customer_display_at.trim()
                ),
            })?;
        config.printer.connection = self.printer.trim().parse().map_err(
            |e: crate::print::connection::ConnectionParseError| ConfigError::Invalid {
                key: "printer.connection",
                message: e.to_string(),
            },
        )?;
        Ok(config)
    }
}

/// The translation key of a "Test connection" line.
pub(super) fn check_label(check: Check) -> &'static str {
    match check {
        Check::Token => "admin-check-token",
        Check::Qr => "admin-check-qr",
        Check::Relay => "admin-check-relay",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    SimulatorUrl,
    ClientId,
    ClientSecret,
    SubscriptionKey,
    Msn,
    TillId,
    TillName,
    MerchantQrId,
    MobilePayBeaconId,
    Currency,
    RelayUrl,
    RelayToken,
    ShopName,
    ShopOrgNr,
    ShopAddress,
    ShopLogo,
    CustomerDisplayAt,
    Printer,
}

/// `x,y` as typed (spaces allowed); empty: no position. `None` when it is neither.
pub(super) fn parse_position(text: &str) -> Option<(Option<i32>, Option<i32>)> {
    let text = text.trim();
    if text.is_empty() {
        return Some((None, None));
    }
    let (x, y) = text.split_once(',')?;
    Some((Some(x.trim().parse().ok()?), Some(y.trim().parse().ok()?)))
}

/// Widget id of a settings field (`admin-field-relay-url`, ...).
pub fn field_id(field: Field) -> String {
    let name = match field {
        Field::SimulatorUrl => "simulator-url",
        Field::ClientId => "client-id",
        Field::ClientSecret => "client-secret",
        Field::SubscriptionKey => "subscription-key",
        Field::Msn => "msn",
        Field::TillId => "till-id",
        Field::TillName => "till-name",
        Field::MerchantQrId => "merchant-qr-id",
        Field::MobilePayBeaconId => "mobilepay-beacon-id",
        Field::Currency => "currency",
        Field::RelayUrl => "relay-url",
        Field::RelayToken => "relay-token",
        Field::ShopName => "shop-name",
        Field::ShopOrgNr => "shop-org-nr",
        Field::ShopAddress => "shop-address",
        Field::ShopLogo => "shop-logo",
        Field::CustomerDisplayAt => "customer-display-at",
        Field::Printer => "printer",
    };
    format!("admin-field-{name}")
}

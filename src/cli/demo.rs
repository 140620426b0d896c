//! Demo mode: an in-process simulator and relay on loopback.
//!
//! [`start`] brings up a simulated Vipps MobilePay and a relay on 127.0.0.1, provisions the
//! relay (store, till, webhook secret), registers the webhook at the simulator, and returns a
//! ready [`Config`] plus a [`DemoPhone`] that plays the customer. The window's demo mode and
//! `kasse pay --demo` use it; nothing leaves the machine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, Currency, PrinterConnection, VippsEnvironment};
use crate::relay::provision::{DEFAULT_EVENTS, ProvisionError, register_webhooks};
use crate::relay::server::RelayError;
use crate::relay::store::{RelayDb, RelayStoreError};
use crate::relay::{RelayConfig, RelayHandle};
use crate::sim::{self, ControlClient, ControlError, SimConfig, SimHandle};
use crate::vipps::{Client, VippsError};

/// Till id of the demo till.
pub const DEMO_TILL_ID: &str = "demo1";
/// The file the demo till's receipts are printed to (ESC/POS bytes), in the demo folder.
pub const DEMO_RECEIPTS_FILE: &str = "receipts.escpos";
/// Name shown in the (simulated) app after scanning.
pub const DEMO_TILL_NAME: &str = "Kasse demo";

/// Demo failures. `Clone` (sources shared) so a result can travel in a UI message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DemoError {
    #[error("demo: cannot bind a loopback port: {0}")]
    Bind(Arc<std::io::Error>),
    #[error("demo: temporary directory: {0}")]
    Dir(Arc<std::io::Error>),
    #[error("demo: relay database: {0}")]
    RelayStore(Arc<RelayStoreError>),
    #[error("demo: relay: {0}")]
    Relay(Arc<RelayError>),
    #[error("demo: webhook registration: {0}")]
    Webhooks(Arc<ProvisionError>),
    #[error("demo: Vipps client: {0}")]
    Client(VippsError),
    #[error("demo: simulator: {0}")]
    Sim(Arc<ControlError>),
    #[error("the app could not reach the shop")]
    NotDelivered,
    #[error("demo: a set-up task stopped: {0}")]
    Task(String),
}

impl From<ControlError> for DemoError {
    fn from(e: ControlError) -> Self {
        DemoError::Sim(Arc::new(e))
    }
}

/// Knobs for [`start_with`].
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// How long a payment request waits for the simulated customer.
    pub payment_expiry: Duration,
    /// Where to keep the till and relay databases; a fresh temporary directory when `None`
    /// (removed on [`DemoEnvironment::shutdown`]).
    pub dir: Option<PathBuf>,
    /// Simulator settings to start from (credentials are always the test ones).
    pub sim: Option<SimConfig>,
    /// The till answers to this printed MobilePay sticker (its beacon id) instead of its own
    /// QR; the relay routes the sticker's check-ins to it.
    pub mobilepay_beacon_id: Option<String>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            payment_expiry: Duration::from_secs(120),
            dir: None,
            sim: None,
            mobilepay_beacon_id: None,
        }
    }
}

/// A running demo: simulator, relay and the till configuration that uses them.
pub struct DemoEnvironment {
    /// A complete till configuration pointing at the simulator and the relay.
    pub config: Config,
    /// The simulated customer.
    pub phone: DemoPhone,
    pub sim: SimHandle,
    pub relay: Option<RelayHandle>,
    /// Directory of the till and relay databases.
    pub dir: PathBuf,
    remove_dir: bool,
}

impl DemoEnvironment {
    /// Stops the relay and the simulator and removes a temporary directory.
    pub async fn shutdown(mut self) {
        if let Some(relay) = self.relay.take() {
            relay.shutdown().await;
        }
        self.sim.shutdown();
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The simulated customer's phone.
#[derive(Debug, Clone)]
pub struct DemoPhone {
    control: ControlClient,
    merchant_qr_id: String,
}

impl DemoPhone {
    pub fn new(control: ControlClient, merchant_qr_id: impl Into<String>) -> Self {
        Self {
            control,
            merchant_qr_id: merchant_qr_id.into(),
        }
    }

    /// Scans the till's QR. `Ok(false)` when the app says it cannot reach the store.
    pub async fn scan(&self) -> Result<bool, DemoError> {
        self.control
            .scan(&self.merchant_qr_id, None)
            .await
            .map(|o| o.delivered)
            .map_err(DemoError::from)
    }

    /// Scans a payment-specific QR the till shows (`userFlow: QR`): the request opens in the
    /// app, ready to approve or decline.
    pub async fn scan_payment_qr(&self, qr_content: &str) -> Result<(), DemoError> {
        self.control
            .scan_payment_qr(qr_content, None)
            .await
            .map(|_| ())
            .map_err(DemoError::from)
    }

    /// The personal QR the customer's app shows now (a fresh tokenized code, as a scanner
    /// would read it).
    pub async fn personal_qr(&self) -> Result<String, DemoError> {
        self.control
            .personal_qr(crate::sim::DEFAULT_CUSTOMER_PHONE, false)
            .await
            .map_err(DemoError::from)
    }

    /// Approves the payment request `reference` in the app.
    pub async fn approve(&self, reference: &str) -> Result<(), DemoError> {
        self.control
            .approve(reference)
            .await
            .map(|_| ())
            .map_err(DemoError::from)
    }

    /// Declines the payment request `reference` in the app.
    pub async fn decline(&self, reference: &str) -> Result<(), DemoError> {
        self.control
            .decline(reference)
            .await
            .map(|_| ())
            .map_err(DemoError::from)
    }

    /// The simulator's control API (ledger, log, faults).
    pub fn control(&self) -> &ControlClient {
        &self.control
    }
}

/// The demo's relay as a switch: the window's demo controls stop and start it, to show what the
/// till does while the relay is down (one-time QRs, personal QRs) and that it recovers.
#[derive(Clone)]
pub struct RelaySwitch {
    slot: Arc<tokio::sync::Mutex<Option<RelayHandle>>>,
    addr: std::net::SocketAddr,
    db: PathBuf,
}

impl std::fmt::Debug for RelaySwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelaySwitch")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RelaySwitch {
    /// Takes the running relay out of `demo` (none when it has none).
    pub fn take_from(demo: &mut DemoEnvironment) -> Option<RelaySwitch> {
        let relay = demo.relay.take()?;
        Some(RelaySwitch {
            addr: relay.local_addr,
            db: demo.dir.join("relay.db"),
            slot: Arc::new(tokio::sync::Mutex::new(Some(relay))),
        })
    }

    /// Stops the relay (`false`) or starts it again on its address with its database (`true`).
    pub async fn set_running(&self, running: bool) -> Result<(), DemoError> {
        let mut slot = self.slot.lock().await;
        match (running, slot.take()) {
            (false, Some(relay)) => relay.shutdown().await,
            (true, None) => {
                let listener = tokio::net::TcpListener::bind(self.addr)
                    .await
                    .map_err(|e| DemoError::Bind(Arc::new(e)))?;
                let relay = crate::relay::spawn(RelayConfig::new(&self.db), listener)
                    .await
                    .map_err(|e| DemoError::Relay(Arc::new(e)))?;
                *slot = Some(relay);
            }
            (_, current) => *slot = current,
        }
        Ok(())
    }

    /// Stops the relay if it runs (the demo is ending).
    pub async fn shutdown(&self) {
        if let Some(relay) = self.slot.lock().await.take() {
            relay.shutdown().await;
        }
    }
}

/// Starts the demo with default options.
pub async fn start() -> Result<DemoEnvironment, DemoError> {
    start_with(DemoOptions::default()).await
}

/// Starts simulator and relay on loopback, provisions them and returns the till config.
pub async fn start_with(options: DemoOptions) -> Result<DemoEnvironment, DemoError> {
    let (dir, remove_dir) = match options.dir.clone() {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!(
                "kasse-demo-{}-{:016x}",
                std::process::id(),
                rand::random::<u64>()
            )),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|e| DemoError::Dir(Arc::new(e)))?;

    let mut sim_config = options.sim.clone().unwrap_or_else(SimConfig::for_tests);
    sim_config.client_id = sim::TEST_CLIENT_ID.into();
    sim_config.client_secret = sim::TEST_CLIENT_SECRET.into();
    sim_config.subscription_key = sim::TEST_SUBSCRIPTION_KEY.into();
    sim_config.msn = sim::TEST_MSN.into();
    sim_config.payment_expiry = options.payment_expiry;
    let sim_listener = bind().await?;
    let sim = sim::spawn(sim_config, sim_listener);

    let mut config = Config::default();
    config.vipps.environment = VippsEnvironment::Custom(sim.base_url.clone());
    config.vipps.client_id = sim::TEST_CLIENT_ID.into();
    config.vipps.client_secret = sim::TEST_CLIENT_SECRET.into();
    config.vipps.subscription_key = sim::TEST_SUBSCRIPTION_KEY.into();
    config.vipps.msn = sim::TEST_MSN.into();
    config.till.id = DEMO_TILL_ID.into();
    config.till.name = DEMO_TILL_NAME.into();
    config.till.currency = Currency::Nok;
    config.store.database = dir.join("kasse.db").to_string_lossy().into_owned();
    // Receipts "print" to a file in the demo folder, so nothing is needed to try them.
    config.printer.connection = PrinterConnection::File(dir.join(DEMO_RECEIPTS_FILE));
    config.shop.name = "Kasse demo shop".into();
    config.shop.org_nr = "999999999".into();
    config.shop.address = "Demogata 1\n0150 Oslo".into();
    config.shop.footer = "Takk for handelen!".into();
    config.engine.payment_expiry_secs = options.payment_expiry.as_secs().max(1);
    config.engine.expiry_grace_secs = 5;
    // Loopback answers in microseconds: poll sooner than Vipps' 5 s guidance suggests.
    config.engine.poll_start_ms = 1_000;
    config.engine.poll_interval_ms = 1_000;
    // Stop the demo's relay and Pay shows a one-time QR within seconds.
    config.engine.one_time_qr_after_secs = 5;
    if let Some(beacon) = &options.mobilepay_beacon_id {
        config.till.mobilepay_beacon_id = beacon.clone();
    }
    let merchant_qr_id = config.merchant_qr_id();

    let relay_db = dir.join("relay.db");
    let (relay, token) = start_relay(&relay_db, &merchant_qr_id, &config).await?;
    config.relay.url = relay.base_url.to_string();
    config.relay.till_token = token.into();

    let phone = DemoPhone::new(sim.control(), merchant_qr_id);
    Ok(DemoEnvironment {
        config,
        phone,
        sim,
        relay: Some(relay),
        dir,
        remove_dir,
    })
}

/// Provisions and starts a relay for the configured till; registers the webhooks at the
/// configured Vipps (the simulator) the way `kasse-relay webhooks register` does, which stores
/// the secret at the relay.
pub async fn start_relay(
    db_path: &std::path::Path,
    merchant_qr_id: &str,
    config: &Config,
) -> Result<(RelayHandle, String), DemoError> {
    let msn = config.vipps.msn.clone();
    let till_id = config.till.id.clone();
    let path = db_path.to_path_buf();
    let qr = merchant_qr_id.to_string();
    let token = tokio::task::spawn_blocking(move || -> Result<String, RelayStoreError> {
        let db = RelayDb::open(&path)?;
        match db.add_store(&msn, "Kasse demo shop") {
            Ok(()) | Err(RelayStoreError::StoreExists(_)) => {}
            Err(e) => return Err(e),
        }
        db.add_till(&msn, &till_id, &qr).map(|t| t.token)
    })
    .await
    .map_err(|e| DemoError::Task(e.to_string()))?
    .map_err(|e| DemoError::RelayStore(Arc::new(e)))?;

    let listener = bind().await?;
    let relay = crate::relay::spawn(RelayConfig::new(db_path), listener)
        .await
        .map_err(|e| DemoError::Relay(Arc::new(e)))?;

    let client = Client::from_settings(&config.vipps, config.engine.http_timeout())
        .map_err(DemoError::Client)?;
    register_webhooks(
        db_path,
        &client,
        &relay.base_url,
        &config.vipps.msn,
        &DEFAULT_EVENTS,
        false,
    )
    .await
    .map_err(|e| DemoError::Webhooks(Arc::new(e)))?;
    Ok((relay, token))
}

async fn bind() -> Result<tokio::net::TcpListener, DemoError> {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| DemoError::Bind(Arc::new(e)))
}

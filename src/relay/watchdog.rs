//! Registration watchdog. Vipps deletes a webhook registration whose endpoint has failed for
//! two weeks (BRIEF §6.4); after that no event of the store reaches the relay and nothing
//! fails loudly. When the relay has a store's Vipps credentials it lists the store's
//! registrations periodically, exposes their state in `/metrics` and `/healthz`, logs at ERROR
//! when the one pointing at this relay is gone (or its secret is not stored), and with
//! `reregister` registers again and stores the new secret.
//!
//! Store credentials only: the Vipps client always names the MSN, so a partner's
//! registration (made without MSN) is not watched here.

use crate::relay::provision::{DEFAULT_EVENTS, register_webhooks};
use crate::relay::store::RelayStorage;
use crate::relay::wire;
use crate::vipps::{Client, Environment, VippsConfig};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// One store's Vipps API credentials. `Debug` never prints the secrets.
#[derive(Clone)]
pub struct StoreCredentials {
    pub msn: String,
    /// `https://apitest.vipps.no`, `https://api.vipps.no`, or a `kasse-sim` URL.
    pub vipps_base_url: url::Url,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_key: String,
}

impl std::fmt::Debug for StoreCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCredentials")
            .field("msn", &self.msn)
            .field("vipps_base_url", &self.vipps_base_url.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The credentials file (TOML): `[[store]]` tables with the fields of [`StoreCredentials`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    #[serde(default)]
    store: Vec<StoreEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreEntry {
    msn: String,
    vipps_base_url: String,
    client_id: String,
    client_secret: String,
    subscription_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("Vipps credentials file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Vipps credentials file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("Vipps credentials file {0}: readable by others; chmod 600 it")]
    Permissions(PathBuf),
    #[error("Vipps credentials file {path}: store {msn}: vipps_base_url: {source}")]
    BadUrl {
        path: PathBuf,
        msn: String,
        #[source]
        source: url::ParseError,
    },
}

/// Read the credentials file; it must not be readable by group or others.
pub fn load_credentials(path: &Path) -> Result<Vec<StoreCredentials>, CredentialsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(path).map_err(|source| CredentialsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(CredentialsError::Permissions(path.to_path_buf()));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: CredentialsFile =
        toml::from_str(&text).map_err(|source| CredentialsError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    file.store
        .into_iter()
        .map(|e| {
            let vipps_base_url =
                url::Url::parse(&e.vipps_base_url).map_err(|source| CredentialsError::BadUrl {
                    path: path.to_path_buf(),
                    msn: e.msn.clone(),
                    source,
                })?;
            Ok(StoreCredentials {
                msn: e.msn,
                vipps_base_url,
                client_id: e.client_id,
                client_secret: e.client_secret,
                subscription_key: e.subscription_key,
            })
        })
        .collect()
}

/// What the last check found for a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not checked yet.
    Unchecked,
    /// A registration for this relay's URL whose secret is stored.
    Ok,
    /// No registration for this relay's URL: Vipps sends the store's events nowhere here.
    Missing,
    /// Registered for this URL, but with a secret the relay does not have: every delivery
    /// fails authentication.
    SecretUnknown,
    /// The Vipps API could not be asked.
    CheckFailed,
}

impl RegistrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationState::Unchecked => "unchecked",
            RegistrationState::Ok => "ok",
            RegistrationState::Missing => "missing",
            RegistrationState::SecretUnknown => "secret_unknown",
            RegistrationState::CheckFailed => "check_failed",
        }
    }
}

/// The watchdog's findings, shared with `/metrics` and `/healthz`.
#[derive(Default)]
pub struct Registrations {
    states: Mutex<BTreeMap<String, RegistrationState>>,
    reregistered: AtomicU64,
}

impl Registrations {
    fn set(&self, msn: &str, state: RegistrationState) {
        if let Ok(mut s) = self.states.lock() {
            s.insert(msn.to_string(), state);
        }
    }

    /// The state per MSN.
    pub fn snapshot(&self) -> BTreeMap<String, RegistrationState> {
        self.states.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Prometheus lines (nothing when no store is watched).
    pub fn render(&self) -> String {
        let states = self.snapshot();
        let mut out = String::new();
        if states.is_empty() {
            return out;
        }
        out.push_str("# HELP kasse_relay_registration_ok 1 when the store's webhook registration at Vipps points at this relay and its secret is stored.\n");
        out.push_str("# TYPE kasse_relay_registration_ok gauge\n");
        for (msn, state) in &states {
            let _ = writeln!(
                out,
                "kasse_relay_registration_ok{{msn=\"{msn}\",state=\"{}\"}} {}",
                state.as_str(),
                u8::from(*state == RegistrationState::Ok)
            );
        }
        let _ = writeln!(
            out,
            "# HELP kasse_relay_reregistrations_total Registrations made again by the watchdog.\n\
             # TYPE kasse_relay_reregistrations_total counter\n\
             kasse_relay_reregistrations_total {}",
            self.reregistered.load(Relaxed)
        );
        out
    }
}

/// What the watchdog watches and may do.
#[derive(Debug, Clone)]
pub struct WatchdogConfig {
    pub stores: Vec<StoreCredentials>,
    pub interval: Duration,
    /// Register again when the registration is missing (and store the new secret).
    pub reregister: bool,
}

/// Where the watchdog runs: the database (`--db` as given) and the URL base Vipps calls.
pub(crate) struct Target {
    pub db: PathBuf,
    pub public_base: url::Url,
}

/// Check every store now and then every `interval`, until shutdown.
pub(crate) async fn run(
    config: WatchdogConfig,
    target: Target,
    storage: Arc<dyn RelayStorage>,
    registrations: Arc<Registrations>,
    mut shutdown: watch::Receiver<bool>,
) {
    for store in &config.stores {
        registrations.set(&store.msn, RegistrationState::Unchecked);
    }
    let mut ticker = tokio::time::interval(config.interval.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        for store in &config.stores {
            let state = check(store, &config, &target, storage.as_ref(), &registrations).await;
            registrations.set(&store.msn, state);
        }
    }
}

async fn check(
    store: &StoreCredentials,
    config: &WatchdogConfig,
    target: &Target,
    storage: &dyn RelayStorage,
    registrations: &Registrations,
) -> RegistrationState {
    let msn = store.msn.as_str();
    let client = match Client::new(VippsConfig::new(
        Environment::Custom(store.vipps_base_url.clone()),
        store.client_id.clone(),
        store.client_secret.clone(),
        store.subscription_key.clone(),
        msn,
    )) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(msn, error = %e, "registration watchdog: unusable Vipps credentials");
            return RegistrationState::CheckFailed;
        }
    };
    let Ok(expected) = wire::webhook_url(&target.public_base, msn) else {
        return RegistrationState::CheckFailed;
    };
    let listed = match client.list_webhooks().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(msn, error = %e, "registration watchdog: listing registrations at Vipps failed");
            return RegistrationState::CheckFailed;
        }
    };
    let ours: Vec<_> = listed
        .iter()
        .filter(|w| w.url == expected.as_str())
        .collect();
    let stored: Vec<String> = match storage.store_secrets(msn.to_string()).await {
        Ok(s) => s
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.webhook_id)
            .collect(),
        Err(e) => {
            tracing::warn!(msn, error = %e, "registration watchdog: reading stored secrets failed");
            return RegistrationState::CheckFailed;
        }
    };
    if ours.iter().any(|w| stored.contains(&w.id)) {
        return RegistrationState::Ok;
    }
    let state = if ours.is_empty() {
        tracing::error!(
            msn,
            url = %expected,
            "WEBHOOK REGISTRATION MISSING at Vipps: no events of this store reach the relay \
             (Vipps deletes a registration whose endpoint failed for two weeks)"
        );
        RegistrationState::Missing
    } else {
        tracing::error!(
            msn,
            url = %expected,
            "webhook registration at Vipps has a secret the relay does not store: every delivery fails authentication"
        );
        RegistrationState::SecretUnknown
    };
    if !config.reregister {
        return state;
    }
    // Only user.checked-in.v1 is limited to one registration: replace ours when it is there.
    let replace = state == RegistrationState::SecretUnknown;
    match register_webhooks(
        &target.db,
        &client,
        &target.public_base,
        msn,
        &DEFAULT_EVENTS,
        replace,
    )
    .await
    {
        Ok(r) => {
            registrations.reregistered.fetch_add(1, Relaxed);
            tracing::warn!(
                msn,
                webhook_id = r.webhook_id,
                "registration watchdog: registered again; new secret stored"
            );
            RegistrationState::Ok
        }
        Err(e) => {
            tracing::error!(msn, error = %e, "registration watchdog: registering again failed");
            state
        }
    }
}

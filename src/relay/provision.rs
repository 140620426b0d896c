//! Webhook registration at Vipps for a store, storing the returned secret in
//! the relay database (the secret is shown by Vipps only once).

use crate::relay::store::{RelayAdmin, RelayDatabase, RelayStoreError};
use crate::relay::wire;
use crate::vipps::models::events;
use crate::vipps::{Client, VippsError};
use std::path::Path;

/// What Kasse registers by default: the check-in, every ePayment event a
/// till reacts to, and the login ping of loyalty enrolments (BRIEF §10.6: registered
/// through the Webhooks API; a till whose login's ping does not come polls anyway).
pub const DEFAULT_EVENTS: [&str; 9] = [
    events::USER_CHECKED_IN,
    events::PAYMENT_AUTHORIZED,
    events::PAYMENT_ABORTED,
    events::PAYMENT_EXPIRED,
    events::PAYMENT_TERMINATED,
    events::PAYMENT_CAPTURED,
    events::PAYMENT_CANCELLED,
    events::PAYMENT_REFUNDED,
    events::LOGIN_PING,
];

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Store(#[from] RelayStoreError),
    #[error(transparent)]
    Vipps(#[from] VippsError),
    #[error("public URL {0} cannot carry a webhook path")]
    BadPublicUrl(String),
    #[error("storage task failed: {0}")]
    Task(String),
}

/// The outcome of [`register_webhooks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub webhook_id: String,
    pub url: url::Url,
    pub events: Vec<String>,
    /// Registrations for the same URL deleted first (`replace`).
    pub replaced: Vec<String>,
}

async fn with_db<T: Send + 'static>(
    db_path: &Path,
    f: impl FnOnce(&RelayAdmin) -> Result<T, RelayStoreError> + Send + 'static,
) -> Result<T, ProvisionError> {
    // A SQLite file, or a `postgres://` URL.
    let db = RelayDatabase::from_arg(db_path);
    tokio::task::spawn_blocking(move || f(&RelayAdmin::open(&db)?))
        .await
        .map_err(|e| ProvisionError::Task(e.to_string()))?
        .map_err(ProvisionError::from)
}

/// Register `<public_url>/v1/webhooks/vipps/<msn>` at Vipps (with `client`,
/// whose MSN must be the store's) and store the registration's id and secret.
///
/// `user.checked-in.v1` allows one registration per sales unit, so a second
/// registration of it fails at Vipps; with `replace`, registrations pointing at
/// the same URL are deleted first (their secrets are forgotten afterwards).
/// Deliveries signed with any stored secret are accepted, so an overlap during
/// a rotation of the other events loses nothing.
pub async fn register_webhooks(
    db_path: &Path,
    client: &Client,
    public_url: &url::Url,
    msn: &str,
    events: &[&str],
    replace: bool,
) -> Result<Registration, ProvisionError> {
    let url = wire::webhook_url(public_url, msn)
        .map_err(|_| ProvisionError::BadPublicUrl(public_url.to_string()))?;
    // Fail before calling Vipps if the store is unknown.
    let store = msn.to_string();
    with_db(db_path, move |db| {
        db.list_stores()?
            .into_iter()
            .any(|s| s.msn == store)
            .then_some(())
            .ok_or(RelayStoreError::UnknownStore(store))
    })
    .await?;

    let mut replaced = Vec::new();
    if replace {
        for existing in client.list_webhooks().await? {
            if existing.url == url.as_str() {
                client.delete_webhook(&existing.id).await?;
                replaced.push(existing.id);
            }
        }
    }
    let registered = client.register_webhook(url.as_str(), events).await?;
    let (store, id, secret) = (
        msn.to_string(),
        registered.id.clone(),
        registered.secret.expose().to_string(),
    );
    let old = replaced.clone();
    with_db(db_path, move |db| {
        db.add_secret(&store, &id, &secret)?;
        for old in &old {
            db.remove_secret(&store, old)?;
        }
        Ok(())
    })
    .await?;
    tracing::info!(msn, webhook_id = registered.id, url = %url, "webhook registered");
    Ok(Registration {
        webhook_id: registered.id,
        url,
        events: events.iter().map(|e| e.to_string()).collect(),
        replaced,
    })
}

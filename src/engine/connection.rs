//! "Test connection": whether a configuration reaches Vipps (an access token, the QR API) and
//! its relay. Nothing is changed at Vipps. The admin screen runs it before saving.

use std::time::Duration;

use crate::config::Config;
use crate::relay::client::{self, HealthError};
use crate::vipps::{Client, VippsError};

/// How long the relay may take to answer its health check.
const RELAY_TIMEOUT: Duration = Duration::from_secs(5);

/// One line of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// An access token from the configured credentials.
    Token,
    /// The QR API with that token (the till's QR lives there).
    Qr,
    /// The relay's health endpoint.
    Relay,
}

impl Check {
    pub const ALL: [Check; 3] = [Check::Token, Check::Qr, Check::Relay];
}

/// Why a check failed. `Clone`, so the report can travel in a UI message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Vipps(#[from] VippsError),
    #[error(transparent)]
    Relay(#[from] HealthError),
}

/// Each check with a tick or its error, in [`Check::ALL`] order.
pub type Report = Vec<(Check, Result<(), CheckError>)>;

/// Runs every check for `config`. The QR check needs a token; when there is none it repeats the
/// token's error.
pub async fn test_connection(config: Config) -> Report {
    let client = Client::from_settings(&config.vipps, config.engine.http_timeout());
    let token = match &client {
        Ok(client) => client.access_token().await.map(|_| ()),
        Err(e) => Err(e.clone()),
    };
    let qr = match (&client, &token) {
        (Ok(client), Ok(())) => client.qr_list().await.map(|_| ()),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    };
    let relay = client::health(&config.relay.url, RELAY_TIMEOUT).await;
    vec![
        (Check::Token, token.map_err(CheckError::from)),
        (Check::Qr, qr.map_err(CheckError::from)),
        (Check::Relay, relay.map_err(CheckError::from)),
    ]
}

//! The engine's side of the relay connection: deliveries and status changes as one stream.

use crate::relay::client::{
    ConnectionStatus, Delivery, LoginRegistrar, RelayClient, RelayClientConfig, RelayEvent,
};
use crate::vipps::models::{CheckedInEvent, EpaymentWebhookEvent};

use super::api::RelayStatus;

/// An event from the relay.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    CheckedIn(CheckedInEvent),
    Payment(EpaymentWebhookEvent),
    /// The customer acted on the login with this `auth_req_id` (never logged).
    LoginPing(crate::relay::client::LoginPing),
}

/// What the link yields.
#[derive(Debug)]
pub enum LinkMsg {
    Delivery {
        seq: u64,
        event: LinkEvent,
        /// When the relay received the webhook (unix nanoseconds).
        relay_received_at_ns: Option<i64>,
    },
    Status(RelayStatus),
}

/// A connected (or connecting) relay client.
pub struct RelayLink {
    client: RelayClient,
    status: tokio::sync::watch::Receiver<ConnectionStatus>,
    registrar: Option<LoginRegistrar>,
}

impl RelayLink {
    /// Starts connecting to `url` with the till token, resuming after `cursor`.
    pub fn connect(url: &str, till_token: &str, cursor: u64) -> Result<RelayLink, String> {
        let url = url::Url::parse(url).map_err(|e| format!("relay URL: {e}"))?;
        let config = RelayClientConfig::new(url, till_token.to_string(), cursor);
        let registrar = match LoginRegistrar::new(&config) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "login pings through the relay unavailable; polling only");
                None
            }
        };
        let client = RelayClient::connect(config);
        let status = client.status();
        Ok(RelayLink {
            client,
            status,
            registrar,
        })
    }

    /// Registers logins with the relay so their pings come to this till.
    pub fn registrar(&self) -> Option<LoginRegistrar> {
        self.registrar.clone()
    }

    /// The next delivery or status change; `None` when the client task ended.
    pub async fn recv(&mut self) -> Option<LinkMsg> {
        tokio::select! {
            biased;
            d = self.client.next() => d.map(delivery),
            changed = self.status.changed() => match changed {
                Ok(()) => {
                    let s = self.status.borrow_and_update().clone();
                    Some(LinkMsg::Status(match s {
                        ConnectionStatus::Connected => RelayStatus::Connected,
                        ConnectionStatus::Reconnecting { attempt, last_error } => {
                            RelayStatus::Reconnecting { attempt, last_error: Some(last_error) }
                        }
                    }))
                }
                Err(_) => None,
            },
        }
    }

    /// Acknowledges `seq` (call only after it is stored).
    pub fn ack(&self, seq: u64) {
        self.client.ack(seq);
    }
}

fn delivery(d: Delivery) -> LinkMsg {
    LinkMsg::Delivery {
        seq: d.seq,
        event: match d.event {
            RelayEvent::CheckedIn(e) => LinkEvent::CheckedIn(e),
            RelayEvent::Payment(e) => LinkEvent::Payment(e),
            RelayEvent::LoginPing(p) => LinkEvent::LoginPing(p),
        },
        relay_received_at_ns: i64::try_from(d.received_at.unix_timestamp_nanos()).ok(),
    }
}

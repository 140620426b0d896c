//! The relay's wire protocol, shared by the server and the till-side client.
//!
//! WebSocket (`GET /v1/till/stream?after=<seq>`, `Authorization: Bearer <till token>`):
//! the server sends JSON text frames ([`ServerMessage`]): one `hello`, then one
//! `event` per delivery in sequence order; the till answers each with an `ack`
//! ([`ClientMessage`]) once it has persisted the event. Both sides send
//! WebSocket pings every heartbeat interval and drop the link when nothing at
//! all arrived within the heartbeat timeout.
//!
//! Long-poll (`GET /v1/till/poll?after=<seq>&wait_ms=<ms>`): answers
//! [`PollResponse`] as soon as at least one event after the cursor exists, or
//! empty when `wait_ms` ran out. Acks: `POST /v1/till/ack` with [`AckRequest`].
//!
//! On the WebSocket `after` is the till's cursor: the highest sequence number
//! below which it has persisted everything; it also acknowledges all events up
//! to and including it. On long-poll `after` is only the read position (events
//! are acknowledged explicitly), so a till can poll on while it persists.
//!
//! Logins: `POST /v1/till/login` with [`LoginRegistration`] (same bearer) tells the relay
//! that this till started the merchant-initiated login with that `auth_req_id`; its
//! `login.merchant-initiated.ping.v1` is then routed to this till as a `login_ping` event.

use serde::{Deserialize, Serialize};

/// Path of the Vipps ingest endpoint, without the MSN.
pub const WEBHOOK_PATH_PREFIX: &str = "/v1/webhooks/vipps/";
/// WebSocket stream for tills.
pub const STREAM_PATH: &str = "/v1/till/stream";
/// Long-poll for tills.
pub const POLL_PATH: &str = "/v1/till/poll";
/// Acknowledgements for long-poll tills.
pub const ACK_PATH: &str = "/v1/till/ack";
/// A till registers a merchant-initiated login it started ([`LoginRegistration`]), so the
/// login ping for it is routed to that till.
pub const LOGIN_PATH: &str = "/v1/till/login";

/// What kind of Vipps event a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `user.checked-in.v1`: a customer scanned a till's merchant callback QR.
    CheckedIn,
    /// An `epayments.payment.*.v1` event.
    Payment,
    /// `login.merchant-initiated.ping.v1` for a login this till registered
    /// ([`LOGIN_PATH`]).
    LoginPing,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CheckedIn => "checked_in",
            EventKind::Payment => "payment",
            EventKind::LoginPing => "login_ping",
        }
    }

    /// The kind a till gets for an event filed as `stored` (stored as text in the relay's
    /// database); `None` for kinds that are never delivered.
    pub fn of_stored(stored: &str) -> Option<EventKind> {
        match stored {
            "checked_in" => Some(EventKind::CheckedIn),
            "payment" => Some(EventKind::Payment),
            "login_ping" => Some(EventKind::LoginPing),
            _ => None,
        }
    }
}

/// One event as it travels to a till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    /// Delivery sequence number: strictly increasing per till, never reused.
    pub seq: u64,
    pub kind: EventKind,
    /// When the relay accepted the webhook (unix milliseconds).
    pub received_at_ms: i64,
    /// The webhook body exactly as Vipps sent it (UTF-8 JSON text).
    pub payload: String,
}

/// Server → till frames on the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame after the upgrade.
    Hello {
        #[serde(rename = "tillId")]
        till_id: String,
        msn: String,
        /// How often the server pings; the till should ping at the same pace.
        #[serde(rename = "heartbeatMs")]
        heartbeat_ms: u64,
    },
    Event(WireEvent),
}

/// Till → server frames on the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The till has persisted the event with this sequence number.
    Ack { seq: u64 },
}

/// Answer of the long-poll endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollResponse {
    pub events: Vec<WireEvent>,
}

/// Body of `POST /v1/till/ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequest {
    pub seqs: Vec<u64>,
}

/// Body of `POST /v1/till/login`: the `auth_req_id` Vipps answered the login's start with.
/// `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRegistration {
    pub auth_req_id: String,
}

impl std::fmt::Debug for LoginRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRegistration")
            .field("auth_req_id", &"<redacted>")
            .finish()
    }
}

/// Answer of `POST /v1/till/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRegistered {
    /// Pings for this login that had arrived before the registration and were filed again
    /// for this till now.
    pub refiled: u64,
}

/// Till ids are `^[a-z0-9]{1,16}$`, so `<till_id>-` prefixes of payment
/// references never overlap.
pub fn is_valid_till_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 16
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The till a payment reference belongs to: the part before the first `-`,
/// when that is a valid till id.
pub fn till_of_reference(reference: &str) -> Option<&str> {
    let (prefix, _) = reference.split_once('-')?;
    is_valid_till_id(prefix).then_some(prefix)
}

/// The webhook URL to register with Vipps for a store, below the relay's
/// public URL (any path of the public URL is kept as a prefix).
pub fn webhook_url(public_url: &url::Url, msn: &str) -> Result<url::Url, url::ParseError> {
    let base = public_url.path().trim_end_matches('/');
    let mut url = public_url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.set_path(&format!("{base}{WEBHOOK_PATH_PREFIX}{msn}"));
    // Round-trip so the path is normalised exactly as a sender would see it.
    url::Url::parse(url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn till_ids_follow_the_contract() {
        assert!(is_valid_till_id("t1"));
        assert!(is_valid_till_id("abcdefghij012345"));
        assert!(!is_valid_till_id(""));
        assert!(!is_valid_till_id("abcdefghij0123456"));
        assert!(!is_valid_till_id("T1"));
        assert!(!is_valid_till_id("t-1"));
        assert!(!is_valid_till_id("t_1"));
    }

    #[test]
    fn references_route_by_prefix() {
        assert_eq!(till_of_reference("till1-20240301-0042"), Some("till1"));
        assert_eq!(till_of_reference("t2-x"), Some("t2"));
        assert_eq!(till_of_reference("Till1-x"), None);
        assert_eq!(till_of_reference("nodash"), None);
        assert_eq!(till_of_reference("-x"), None);
    }

    #[test]
    fn webhook_url_keeps_a_path_prefix() {
        let u = url::Url::parse("https://relay.example.com").unwrap();
        assert_eq!(
            webhook_url(&u, "123456").unwrap().as_str(),
            "https://relay.example.com/v1/webhooks/vipps/123456"
        );
        let u = url::Url::parse("https://example.com/kasse/?x=1").unwrap();
        assert_eq!(
            webhook_url(&u, "123456").unwrap().as_str(),
            "https://example.com/kasse/v1/webhooks/vipps/123456"
        );
    }

    #[test]
    fn messages_round_trip() {
        let m = ServerMessage::Event(WireEvent {
            seq: 7,
            kind: EventKind::CheckedIn,
            received_at_ms: 1,
            payload: "{\"a\":1}".into(),
        });
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains("\"type\":\"event\""), "{text}");
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), m);
        let a: ClientMessage = serde_json::from_str(r#"{"type":"ack","seq":9}"#).unwrap();
        assert_eq!(a, ClientMessage::Ack { seq: 9 });
    }
}

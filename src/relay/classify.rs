//! What an authenticated webhook body is, before anything is stored: its kind,
//! where it should go, how to recognise a re-delivery of it, and (for a
//! check-in) until when a till can still act on it.

use sha2::{Digest, Sha256};
use std::time::Duration;

/// How an event is filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredKind {
    CheckedIn,
    Payment,
    /// `login.merchant-initiated.ping.v1`: `{"auth_req_id": ...}` (BRIEF §10.6).
    LoginPing,
    /// Valid JSON of a shape the relay does not route (e.g. another product's event).
    Other,
    /// Not JSON, or a known shape with a field of the wrong type.
    Malformed,
}

impl StoredKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoredKind::CheckedIn => "checked_in",
            StoredKind::Payment => "payment",
            StoredKind::LoginPing => "login_ping",
            StoredKind::Other => "other",
            StoredKind::Malformed => "malformed",
        }
    }

    pub fn parse(s: &str) -> Option<StoredKind> {
        Some(match s {
            "checked_in" => StoredKind::CheckedIn,
            "payment" => StoredKind::Payment,
            "login_ping" => StoredKind::LoginPing,
            "other" => StoredKind::Other,
            "malformed" => StoredKind::Malformed,
            _ => return None,
        })
    }
}

/// Where an event should be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKey {
    /// A check-in goes to the till registered with this `merchantQrId`.
    MerchantQr(String),
    /// A payment event goes to the till whose id prefixes the reference
    /// (`None` when the reference has no valid `<till_id>-` prefix).
    Reference {
        reference: String,
        till_id: Option<String>,
    },
    /// A login ping goes to the till that registered the login: the key is
    /// [`login_key`] of its `auth_req_id` (the id itself is never kept outside the body).
    Login(String),
    None,
}

impl RouteKey {
    /// The text kept for operators (`merchantQrId` or `reference`).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            RouteKey::MerchantQr(q) => Some(q),
            RouteKey::Reference { reference, .. } => Some(reference),
            RouteKey::Login(key) => Some(key),
            RouteKey::None => None,
        }
    }
}

/// The classification of one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub kind: StoredKind,
    /// Same key ⇒ same event delivered again. Payment events use
    /// `reference` + `name` + `pspReference` (what Vipps recommends); anything
    /// else the SHA-256 of the raw body.
    pub dedupe_key: String,
    pub route: RouteKey,
    /// Check-ins only: the customer token is valid 15 minutes from the scan.
    pub actionable_until_ms: Option<i64>,
    /// Why a body is malformed.
    pub reason: Option<String>,
    /// The sales unit the body names (`msn`, or `merchantSerialNumber` in older check-in docs).
    pub msn: Option<String>,
}

/// The key a login is routed and registered under: `login:` and the hex SHA-256 of its
/// `auth_req_id`, so the id (which lets its holder take the member's tokens) is kept only in
/// the event body.
pub fn login_key(auth_req_id: &str) -> String {
    format!(
        "login:{}",
        hex::encode(Sha256::digest(auth_req_id.as_bytes()))
    )
}

fn body_key(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

fn malformed(body: &[u8], reason: String) -> Classified {
    Classified {
        kind: StoredKind::Malformed,
        dedupe_key: body_key(body),
        route: RouteKey::None,
        actionable_until_ms: None,
        reason: Some(reason),
        msn: None,
    }
}

/// Parse an RFC 3339 timestamp to unix milliseconds.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Classify a webhook body received at `received_at_ms`.
///
/// Shapes (a check-in carries no event name, BRIEF §4): an object with
/// `customerToken` is a check-in; one with `reference` and `name` is an
/// ePayment event; one with `auth_req_id` is a login ping (BRIEF §10.6: its only
/// field); any other JSON is `Other`.
pub fn classify(body: &[u8], received_at_ms: i64, checkin_ttl: Duration) -> Classified {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return malformed(body, format!("invalid JSON: {e}")),
    };
    let Some(obj) = value.as_object() else {
        return malformed(body, "JSON body is not an object".into());
    };
    let text = |field: &str| obj.get(field).and_then(|v| v.as_str());
    let msn = text("msn")
        .or_else(|| text("merchantSerialNumber"))
        .map(str::to_string);

    if obj.contains_key("customerToken") {
        if text("customerToken").is_none_or(str::is_empty) {
            return malformed(body, "customerToken is not a non-empty string".into());
        }
        let Some(qr) = text("merchantQrId").filter(|q| !q.is_empty()) else {
            return malformed(body, "check-in without a merchantQrId string".into());
        };
        // The token lives 15 minutes from the scan. A scan time in the future
        // (clock skew) counts from receipt instead.
        let scanned = text("initiatedAt")
            .and_then(parse_rfc3339_ms)
            .map_or(received_at_ms, |t| t.min(received_at_ms));
        let ttl_ms = i64::try_from(checkin_ttl.as_millis()).unwrap_or(i64::MAX);
        return Classified {
            kind: StoredKind::CheckedIn,
            dedupe_key: body_key(body),
            route: RouteKey::MerchantQr(qr.to_string()),
            actionable_until_ms: Some(scanned.saturating_add(ttl_ms)),
            reason: None,
            msn,
        };
    }

    if obj.contains_key("reference") && obj.contains_key("name") {
        let (Some(reference), Some(name)) = (text("reference"), text("name")) else {
            return malformed(body, "reference and name must be strings".into());
        };
        let dedupe_key = match text("pspReference") {
            Some(psp) => format!("payment:{reference}:{name}:{psp}"),
            None => body_key(body),
        };
        return Classified {
            kind: StoredKind::Payment,
            dedupe_key,
            route: RouteKey::Reference {
                reference: reference.to_string(),
                till_id: crate::relay::wire::till_of_reference(reference).map(str::to_string),
            },
            actionable_until_ms: None,
            reason: None,
            msn,
        };
    }

    if obj.contains_key("auth_req_id") {
        let Some(id) = text("auth_req_id").filter(|id| !id.is_empty()) else {
            return malformed(body, "auth_req_id is not a non-empty string".into());
        };
        return Classified {
            kind: StoredKind::LoginPing,
            dedupe_key: body_key(body),
            route: RouteKey::Login(login_key(id)),
            actionable_until_ms: None,
            reason: None,
            msn,
        };
    }

    Classified {
        kind: StoredKind::Other,
        dedupe_key: body_key(body),
        route: RouteKey::None,
        actionable_until_ms: None,
        reason: None,
        msn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(15 * 60);

    #[test]
    fn check_in_routes_by_qr_and_expires_fifteen_minutes_after_the_scan() {
        let body = br#"{"customerToken":"abc=","merchantQrId":"qr-1","msn":"123456","initiatedAt":"2023-10-06T10:45:40.3061965Z"}"#;
        let scanned = parse_rfc3339_ms("2023-10-06T10:45:40.306Z").unwrap();
        let c = classify(body, scanned + 5_000, TTL);
        assert_eq!(c.kind, StoredKind::CheckedIn);
        assert_eq!(c.route, RouteKey::MerchantQr("qr-1".into()));
        assert_eq!(c.actionable_until_ms, Some(scanned + 900_000));
        assert!(c.dedupe_key.starts_with("sha256:"));
    }

    #[test]
    fn check_in_from_the_future_counts_from_receipt() {
        let body = br#"{"customerToken":"abc=","merchantQrId":"qr-1","initiatedAt":"2999-01-01T00:00:00Z"}"#;
        let c = classify(body, 1_000, TTL);
        assert_eq!(c.actionable_until_ms, Some(901_000));
    }

    #[test]
    fn payment_dedupes_on_reference_name_and_psp_reference() {
        let a = br#"{"msn":"1","reference":"t1-42","pspReference":"p1","name":"AUTHORIZED","amount":{"currency":"NOK","value":1},"timestamp":"x","success":true}"#;
        let b = br#"{"reference":"t1-42","name":"AUTHORIZED","pspReference":"p1","msn":"1"}"#;
        let ca = classify(a, 0, TTL);
        let cb = classify(b, 0, TTL);
        assert_eq!(ca.kind, StoredKind::Payment);
        assert_eq!(ca.dedupe_key, cb.dedupe_key);
        assert_eq!(
            ca.route,
            RouteKey::Reference {
                reference: "t1-42".into(),
                till_id: Some("t1".into())
            }
        );
        let other_name = classify(
            br#"{"reference":"t1-42","name":"CAPTURED","pspReference":"p1"}"#,
            0,
            TTL,
        );
        assert_ne!(other_name.dedupe_key, ca.dedupe_key);
    }

    #[test]
    fn login_ping_routes_by_a_hash_of_its_auth_req_id() {
        let c = classify(br#"{"auth_req_id":"VYGaaAMRkI6SyAm"}"#, 0, TTL);
        assert_eq!(c.kind, StoredKind::LoginPing);
        assert_eq!(c.route, RouteKey::Login(login_key("VYGaaAMRkI6SyAm")));
        assert!(!c.route.as_text().unwrap().contains("VYGaaAMRkI6SyAm"));
        assert!(c.dedupe_key.starts_with("sha256:"));
        for bad in [&br#"{"auth_req_id":""}"#[..], br#"{"auth_req_id":7}"#] {
            assert_eq!(classify(bad, 0, TTL).kind, StoredKind::Malformed);
        }
    }

    #[test]
    fn bad_bodies_are_malformed_not_panics() {
        for body in [
            &b"not json"[..],
            b"[1,2]",
            b"",
            b"\xff\xfe",
            br#"{"customerToken":5,"merchantQrId":"q"}"#,
            br#"{"customerToken":"t"}"#,
            br#"{"reference":1,"name":"AUTHORIZED"}"#,
        ] {
            let c = classify(body, 0, TTL);
            assert_eq!(c.kind, StoredKind::Malformed, "{body:?}");
            assert!(c.reason.is_some());
        }
        assert_eq!(classify(br#"{"x":1}"#, 0, TTL).kind, StoredKind::Other);
    }
}

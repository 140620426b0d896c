//! Access tokens (`POST /accesstoken/get`) and the checks every API call passes:
//! subscription key and bearer token (gateway, 401), `Vipps-System-*` lengths
//! (400) and the Merchant-Serial-Number (400 when malformed or missing where
//! required, 403 when it is not this sales unit's).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::app::{App, header, random_slug};
use super::clock::unix_seconds;
use super::problem::{ApiError, Reply};
use super::state::AccessToken;

const SYSTEM_HEADERS: [&str; 4] = [
    "Vipps-System-Name",
    "Vipps-System-Version",
    "Vipps-System-Plugin-Name",
    "Vipps-System-Plugin-Version",
];

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whom a Webhooks API call acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookScope {
    SalesUnit(String),
    /// Partner keys without `Merchant-Serial-Number`: the partner's registrations.
    Partner(Vec<String>),
}

/// Whether the Merchant-Serial-Number header must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msn {
    Required,
    Optional,
}

fn check_subscription_key(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    match header(headers, "Ocp-Apim-Subscription-Key") {
        None => Err(ApiError::gateway(
            StatusCode::UNAUTHORIZED,
            "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
        )),
        Some(key) if same(key, &app.config.subscription_key) => Ok(()),
        Some(_) => Err(ApiError::gateway(
            StatusCode::UNAUTHORIZED,
            "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
        )),
    }
}

fn check_system_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    for name in SYSTEM_HEADERS {
        for value in headers.get_all(name) {
            let len = value
                .to_str()
                .map(|v| v.chars().count())
                .unwrap_or(usize::MAX);
            if len > 30 {
                return Err(ApiError::invalid(
                    name,
                    format!("The field {name} must be a string with a maximum length of 30."),
                ));
            }
        }
    }
    Ok(())
}

fn check_msn(app: &App, headers: &HeaderMap, rule: Msn) -> Result<String, ApiError> {
    match header(headers, "Merchant-Serial-Number") {
        None if rule == Msn::Required => Err(ApiError::invalid(
            "Merchant-Serial-Number",
            "The Merchant-Serial-Number header is required.",
        )),
        None => Ok(app.config.msn.clone()),
        Some(msn) => {
            let well_formed =
                (4..=6).contains(&msn.len()) && msn.bytes().all(|b| b.is_ascii_digit());
            if !well_formed {
                return Err(ApiError::invalid(
                    "Merchant-Serial-Number",
                    "The Merchant-Serial-Number must match ^[0-9]{4,6}$.",
                ));
            }
            if msn != app.config.msn {
                return Err(ApiError::status(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "The subscription key does not give access to this Merchant-Serial-Number.",
                ));
            }
            Ok(msn.to_string())
        }
    }
}

/// A partner token's `Merchant-Serial-Number`: required, and one of the partner's.
fn check_partner_msn(app: &App, headers: &HeaderMap) -> Result<String, ApiError> {
    let msn = header(headers, "Merchant-Serial-Number").ok_or_else(|| {
        ApiError::invalid(
            "Merchant-Serial-Number",
            "The Merchant-Serial-Number header is required with partner keys.",
        )
    })?;
    let covered = app
        .config
        .partner
        .as_ref()
        .is_some_and(|p| p.msns.iter().any(|m| m == msn));
    if !covered {
        return Err(ApiError::status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The partner keys do not give access to this Merchant-Serial-Number.",
        ));
    }
    Ok(msn.to_string())
}

/// Check a Vipps API call. Returns the MSN the call acts for.
pub fn authorize(app: &App, headers: &HeaderMap, rule: Msn) -> Result<String, ApiError> {
    if authorize_token(app, headers)? {
        return check_partner_msn(app, headers);
    }
    check_msn(app, headers, rule)
}

/// Check a Webhooks API call: a sales unit's, or a partner's for all its sales units when
/// partner keys name no `Merchant-Serial-Number`.
pub fn authorize_webhooks(app: &App, headers: &HeaderMap) -> Result<WebhookScope, ApiError> {
    if !authorize_token(app, headers)? {
        return check_msn(app, headers, Msn::Optional).map(WebhookScope::SalesUnit);
    }
    if header(headers, "Merchant-Serial-Number").is_some() {
        return check_partner_msn(app, headers).map(WebhookScope::SalesUnit);
    }
    let msns = app
        .config
        .partner
        .as_ref()
        .map(|p| p.msns.clone())
        .unwrap_or_default();
    Ok(WebhookScope::Partner(msns))
}

/// Subscription key, bearer token and system headers. True for a partner token.
fn authorize_token(app: &App, headers: &HeaderMap) -> Result<bool, ApiError> {
    check_subscription_key(app, headers)?;
    let unauthorized = || {
        ApiError::gateway(
            StatusCode::UNAUTHORIZED,
            "Unauthorized. Access token is missing or invalid.",
        )
    };
    // `Bearer` is required and case-sensitive.
    let token = header(headers, "Authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let now = app.now();
    let partner = {
        let state = app.state();
        match state.access_tokens.get(token) {
            Some(t) if t.expires_at > now => t.partner,
            _ => return Err(unauthorized()),
        }
    };
    check_system_headers(headers)?;
    Ok(partner)
}

/// A JWT-shaped access token longer than 1000 characters, like Vipps'.
fn mint_jwt(app: &App, issued: u64, expires: u64) -> String {
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let head =
        json!({"typ": "JWT", "alg": "RS256", "x5t": random_slug(20), "kid": random_slug(20)});
    let claims = json!({
        "aud": "00000002-0000-0000-c000-000000000000",
        "iss": "https://sts.windows.net/kasse-sim/",
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "appid": app.config.client_id,
        "msn": app.config.msn,
        "sim": "kasse-sim access token; only this simulator accepts it",
        "jti": random_slug(16),
    });
    format!("{}.{}.{}", b64(&head), b64(&claims), random_slug(512))
}

/// `POST /accesstoken/get`.
pub async fn token(State(app): State<App>, headers: HeaderMap) -> Reply {
    let instance = "/accesstoken/get";
    if let Err(e) = check_subscription_key(&app, &headers) {
        return e.reply(instance);
    }
    let matches = |id: &str, secret: &str| {
        header(&headers, "client_id").is_some_and(|v| same(v, id))
            && header(&headers, "client_secret").is_some_and(|v| same(v, secret))
    };
    let sales_unit = matches(&app.config.client_id, &app.config.client_secret);
    let partner = app
        .config
        .partner
        .as_ref()
        .filter(|p| !sales_unit && matches(&p.client_id, &p.client_secret));
    if !sales_unit && partner.is_none() {
        return Reply::json(
            StatusCode::UNAUTHORIZED,
            &json!({
                "error": "unauthorized_client",
                "error_description": "The client_id or client_secret is missing or invalid."
            }),
        );
    }
    if let Some(msn) = header(&headers, "Merchant-Serial-Number")
        && match partner {
            Some(p) => !p.msns.iter().any(|m| m == msn),
            None => msn != app.config.msn,
        }
    {
        return Reply::json(
            StatusCode::UNAUTHORIZED,
            &json!({
                "error": "unauthorized_client",
                "error_description": "The Merchant-Serial-Number does not belong to these credentials."
            }),
        );
    }
    if let Err(e) = check_system_headers(&headers) {
        return e.reply(instance);
    }
    let now = app.now();
    let ttl = app.config.access_token_ttl;
    let issued = unix_seconds(now);
    let expires = unix_seconds(now + ttl);
    let token = mint_jwt(&app, issued, expires);
    let mut state = app.state();
    state.access_tokens.retain(|_, t| t.expires_at > now);
    state.access_tokens.insert(
        token.clone(),
        AccessToken {
            expires_at: now + ttl,
            partner: partner.is_some(),
        },
    );
    drop(state);
    let mut reply = Reply::json(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": ttl.as_secs().to_string(),
            "ext_expires_in": "0",
            "expires_on": expires.to_string(),
            "not_before": issued.to_string(),
            "resource": "00000002-0000-0000-c000-000000000000",
            "access_token": token,
        }),
    );
    reply.content_type = Some("application/json;charset=UTF-8");
    reply
}

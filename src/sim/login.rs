//! The Login API for merchant-initiated login (CIBA, BRIEF §10.2-§10.8, §10.11): discovery,
//! user-exists, backchannel authentication, the CIBA token grant and userinfo.
//!
//! Each login is a small state machine ([`LoginState`]): PENDING → APPROVED | DENIED |
//! EXPIRED, and APPROVED → EXCHANGED after its one token exchange. The simulated customer
//! approves or denies through the control API (`/sim/v1/logins/...`). Errors take the OAuth
//! shape `{error, error_description}`; Vipps' own codes (`invalid_user`, `old_app`) go in
//! `error_code` beside `error` (where Vipps puts them is unconfirmed, §10.4).
//!
//! The `id_token` is signed RS256 with the simulator's key (`src/sim/keys/`), whose public half
//! is the one key at `jwks_uri` (`kid` [`SIGNING_KID`]). The `idToken` fault spoils it.

use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::app::{App, header, random_slug, uuid_text};
use super::clock::{iso_millis, unix_seconds};
use super::config::{ConsentConfig, LoginClientAuth};
use super::delivery::Job;
use super::faults::IdTokenFault;
use super::logins::{Grant, LOGIN_PING_EVENT, Login, LoginAccess, LoginState};
use super::problem::Reply;
use super::sync::lock;

/// Path of the discovery document.
pub const DISCOVERY_PATH: &str = "/access-management-1.0/access/.well-known/openid-configuration";
/// Path of the key set.
pub const JWKS_PATH: &str = "/access-management-1.0/access/.well-known/jwks.json";
/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/access-management-1.0/access/oauth2/token";
/// Path of the backchannel authentication endpoint.
pub const BACKCHANNEL_PATH: &str = "/vipps-login-ciba/api/backchannel/authentication";
/// Path of user-exists.
pub const USER_EXISTS_PATH: &str = "/vipps-login-ciba/api/v1/user-exists";
/// Path of userinfo.
pub const USERINFO_PATH: &str = "/vipps-userinfo-api/userinfo";

/// The CIBA grant type.
const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";

/// The stable `sub` of a user at a sales unit (a UUID derived from both).
pub fn sub_of(msn: &str, msisdn: &str) -> String {
    let digest = Sha256::digest(format!("kasse-sim sub {msn} {msisdn}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// An OAuth-shaped error answer.
fn oauth(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn invalid_request(description: &str) -> Reply {
    oauth(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_client() -> Reply {
    oauth(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed.",
    )
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A form body as pairs; a repeated field is refused.
fn form(body: &Bytes) -> Result<Vec<(String, String)>, Reply> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(seen, _)| seen == k) {
            return Err(invalid_request(&format!("The field {k} is repeated.")));
        }
    }
    Ok(pairs)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Client authentication per the sales unit's method, or partner Bearer + MSN (§10.2).
/// Returns the MSN the call acts for.
fn client_auth(
    app: &App,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<String, Reply> {
    let config = &app.config;
    let authorization = header(headers, "Authorization");
    if let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) {
        let known = app
            .state()
            .access_tokens
            .get(token)
            .is_some_and(|t| t.expires_at > app.now());
        let msn = header(headers, "Merchant-Serial-Number");
        return match msn {
            Some(msn) if known && same(msn, &config.msn) => Ok(msn.to_string()),
            _ => Err(invalid_client()),
        };
    }
    let ok = match config.login.client_auth {
        LoginClientAuth::ClientSecretBasic => authorization
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|pair| {
                pair.split_once(':').is_some_and(|(id, secret)| {
                    same(id, &config.client_id) & same(secret, &config.client_secret)
                })
            }),
        LoginClientAuth::ClientSecretPost => {
            authorization.is_none()
                && field(pairs, "client_id").is_some_and(|v| same(v, &config.client_id))
                && field(pairs, "client_secret").is_some_and(|v| same(v, &config.client_secret))
        }
    };
    if ok {
        Ok(config.msn.clone())
    } else {
        Err(invalid_client())
    }
}

/// The msisdn of `urn:msisdn:<digits>` (country code, no `+`).
fn msisdn_hint(hint: &str) -> Option<&str> {
    let digits = hint.strip_prefix("urn:msisdn:")?;
    ((8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// The msisdn a login hint names: `urn:msisdn:` or (unconfirmed, §10.4) a live customer token.
fn resolve_hint(app: &App, hint: &str) -> Option<String> {
    if let Some(msisdn) = msisdn_hint(hint) {
        return Some(msisdn.to_string());
    }
    let token = hint.strip_prefix("urn:customer-token:")?;
    let now = app.now();
    app.state()
        .customer_tokens
        .get(token)
        .filter(|t| t.expires_at > now)
        .map(|t| t.phone.clone())
}

fn is_user(app: &App, msisdn: &str) -> bool {
    !app.config.unknown_phone_numbers.iter().any(|n| n == msisdn)
}

/// `GET .../.well-known/openid-configuration`: absolute simulator URLs.
pub async fn discovery(State(app): State<App>) -> Reply {
    let base = app.base_url.as_str().trim_end_matches('/');
    let mut reply = Reply::json(
        StatusCode::OK,
        &json!({
            "issuer": format!("{base}/access-management-1.0/access/"),
            "authorization_endpoint": format!("{base}/access-management-1.0/access/oauth2/auth"),
            "token_endpoint": format!("{base}{TOKEN_PATH}"),
            "jwks_uri": format!("{base}{JWKS_PATH}"),
            "userinfo_endpoint": format!("{base}{USERINFO_PATH}"),
            "backchannel_authentication_endpoint": format!("{base}{BACKCHANNEL_PATH}"),
            "backchannel_token_delivery_modes_supported": ["poll"],
            "grant_types_supported": ["authorization_code", CIBA_GRANT],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "name", "phoneNumber", "email", "address", "birthDate", "delegatedConsents"],
        }),
    );
    reply.content_type = Some("application/json; charset=utf-8");
    reply
}

/// The `kid` of the simulator's id_token signing key.
pub const SIGNING_KID: &str = "kasse-sim-login-1";

fn load_key(pem: &str) -> rsa::PrivateKey {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    rsa::PrivateKey::from_pkcs1_pem(pem).expect("the simulator's bundled key parses")
}

/// The key the simulator signs id_tokens with (bundled: a simulator key proves nothing).
fn signing_key() -> &'static rsa::PrivateKey {
    static KEY: std::sync::OnceLock<rsa::PrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| load_key(include_str!("keys/login-signing.pem")))
}

/// A key the JWKS does not list (the `wrongKey` fault).
fn foreign_key() -> &'static rsa::PrivateKey {
    static KEY: std::sync::OnceLock<rsa::PrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| load_key(include_str!("keys/login-foreign.pem")))
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `GET .../.well-known/jwks.json`: the public half of the signing key (RFC 7517).
pub async fn jwks() -> Reply {
    use rsa::traits::PublicKeyParts;
    let key = signing_key();
    let mut reply = Reply::json(
        StatusCode::OK,
        &json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": SIGNING_KID,
            "n": b64url(&key.n_bytes()),
            "e": b64url(&key.e_bytes()),
        }]}),
    );
    reply.content_type = Some("application/json; charset=utf-8");
    reply
}

/// `POST /vipps-login-ciba/api/v1/user-exists` (form `login_hint`) → `{exists}`.
pub async fn user_exists(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Reply {
    let pairs = match form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(r) = client_auth(&app, &headers, &pairs) {
        return r;
    }
    let Some(msisdn) = field(&pairs, "login_hint").and_then(msisdn_hint) else {
        return invalid_request("login_hint must be urn:msisdn:<digits with country code>.");
    };
    Reply::json(StatusCode::OK, &json!({"exists": is_user(&app, msisdn)}))
}

/// `^[A-Z0-9\-]{5,8}$`.
fn valid_binding_message(m: &str) -> bool {
    (5..=8).contains(&m.len())
        && m.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// `POST /vipps-login-ciba/api/backchannel/authentication`.
pub async fn backchannel(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Reply {
    backchannel_inner(&app, &headers, &body).unwrap_or_else(|r| r)
}

fn backchannel_inner(app: &App, headers: &HeaderMap, body: &Bytes) -> Result<Reply, Reply> {
    let pairs = form(body)?;
    let msn = client_auth(app, headers, &pairs)?;
    let hint =
        field(&pairs, "login_hint").ok_or_else(|| invalid_request("login_hint is required."))?;
    let scope: Vec<String> = field(&pairs, "scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if !scope.iter().any(|s| s == "openid") {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must contain openid.",
        ));
    }
    let binding_message = field(&pairs, "binding_message").map(str::to_string);
    if let Some(m) = &binding_message
        && !valid_binding_message(m)
    {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_binding_message",
            "binding_message must match ^[A-Z0-9\\-]{5,8}$.",
        ));
    }
    let expiry = match field(&pairs, "requested_expiry") {
        None => app.config.login.default_expiry,
        Some(v) => match v.parse::<u64>() {
            Ok(secs) if (60..=900).contains(&secs) => Duration::from_secs(secs),
            _ => {
                return Err(invalid_request(
                    "requested_expiry must be a whole number of seconds from 60 to 900.",
                ));
            }
        },
    };
    let msisdn = resolve_hint(app, hint).ok_or_else(|| {
        invalid_request("login_hint must be urn:msisdn:<digits with country code>.")
    })?;
    if !is_user(app, &msisdn) {
        return Err(vipps_coded(
            "unknown_user_id",
            "invalid_user",
            "The user has no active Vipps MobilePay account or is not eligible.",
        ));
    }
    if app.config.login.old_app_numbers.contains(&msisdn) {
        return Err(vipps_coded(
            "invalid_request",
            "old_app",
            "The user's app is too old for this login.",
        ));
    }
    let now = app.now();
    let mut state = app.state();
    let store = &mut state.login;
    for login in store.logins.values_mut() {
        login.settle(now);
    }
    if let Some(pending) = store
        .logins
        .values()
        .find(|l| l.msisdn == msisdn && l.msn == msn && l.state == LoginState::Pending)
    {
        let wait = pending
            .expires_at
            .duration_since(now)
            .unwrap_or_default()
            .as_secs()
            .max(1);
        let mut reply = oauth(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "A login for this user is already in progress.",
        );
        reply.retry_after_secs = Some(wait);
        return Err(reply);
    }
    let auth_req_id = random_slug(20);
    let interval = app.config.login.interval;
    store.logins.insert(
        auth_req_id.clone(),
        Login {
            auth_req_id: auth_req_id.clone(),
            msn,
            msisdn,
            scope,
            binding_message,
            state: LoginState::Pending,
            created_at: now,
            expires_at: now + expiry,
            interval,
            last_poll: None,
            grant: None,
            pinged: false,
        },
    );
    Ok(Reply::json(
        StatusCode::OK,
        &json!({
            "auth_req_id": auth_req_id,
            "expires_in": expiry.as_secs(),
            "interval": interval.as_secs().max(1),
        }),
    ))
}

fn vipps_coded(error: &str, code: &str, description: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_code": code, "error_description": description}),
    )
}

/// `POST .../oauth2/token` with the CIBA grant.
pub async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Reply {
    token_inner(&app, &headers, &body).unwrap_or_else(|r| r)
}

fn token_inner(app: &App, headers: &HeaderMap, body: &Bytes) -> Result<Reply, Reply> {
    let pairs = form(body)?;
    let msn = client_auth(app, headers, &pairs)?;
    if field(&pairs, "grant_type") != Some(CIBA_GRANT) {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only the CIBA grant is simulated.",
        ));
    }
    let id =
        field(&pairs, "auth_req_id").ok_or_else(|| invalid_request("auth_req_id is required."))?;
    let now = app.now();
    let step = app.config.login.slow_down_step;
    let mut state = app.state();
    let unknown = || {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The auth_req_id is unknown or already used.",
        )
    };
    let login = state.login.logins.get_mut(id).ok_or_else(unknown)?;
    if login.msn != msn {
        return Err(unknown());
    }
    login.settle(now);
    let answers_ping = login.pinged && login.state == LoginState::Approved;
    let too_soon = !answers_ping
        && login
            .last_poll
            .is_some_and(|last| now.duration_since(last).unwrap_or_default() < login.interval);
    login.last_poll = Some(now);
    match login.state {
        LoginState::Pending | LoginState::Approved if too_soon => {
            login.interval += step;
            Err(oauth(
                StatusCode::BAD_REQUEST,
                "slow_down",
                "Polling too fast; wait longer between requests.",
            ))
        }
        LoginState::Pending => Err(oauth(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            "The authorization request is still pending",
        )),
        LoginState::Denied => Err(oauth(
            StatusCode::BAD_REQUEST,
            "access_denied",
            "The user declined the login.",
        )),
        LoginState::Expired => Err(oauth(
            StatusCode::BAD_REQUEST,
            "expired_token",
            "The auth_req_id has expired.",
        )),
        LoginState::Exchanged => Err(unknown()),
        LoginState::Approved => {
            login.state = LoginState::Exchanged;
            let login = login.clone();
            let grant = login.grant.clone().unwrap_or(Grant {
                given_name: String::new(),
                family_name: String::new(),
                accepted: Vec::new(),
            });
            let key = (login.msn.clone(), login.msisdn.clone());
            let first_consent = state.login.consented.insert(key);
            let ttl = app.config.login.access_token_ttl;
            let access_token = format!("ciba.{}", random_slug(32));
            state.login.access.retain(|_, a| a.expires_at > now);
            state.login.access.insert(
                access_token.clone(),
                LoginAccess {
                    msn: login.msn.clone(),
                    msisdn: login.msisdn.clone(),
                    scope: login.scope.clone(),
                    grant,
                    expires_at: now + ttl,
                    first_consent,
                },
            );
            let fault = lock(&app.faults).current().id_token;
            let id_token = id_token(app, &login, now, fault);
            Ok(Reply::json(
                StatusCode::OK,
                &json!({
                    "access_token": access_token,
                    "token_type": "Bearer",
                    "expires_in": ttl.as_secs(),
                    "id_token": id_token,
                    "scope": login.scope.join(" "),
                }),
            ))
        }
    }
}

/// An RS256 id_token with the claims Vipps sends (§10.5), spoilt as `fault` says.
fn id_token(app: &App, login: &Login, now: SystemTime, fault: Option<IdTokenFault>) -> String {
    let b64 = |v: &Value| b64url(v.to_string().as_bytes());
    let base = app.base_url.as_str().trim_end_matches('/');
    let iat = unix_seconds(now);
    let audience = match fault {
        Some(IdTokenFault::WrongAudience) => format!("{}-other", app.config.client_id),
        _ => app.config.client_id.clone(),
    };
    let mut claims = json!({
        "iss": format!("{base}/access-management-1.0/access/"),
        "aud": audience,
        "sub": sub_of(&login.msn, &login.msisdn),
        "msn": login.msn,
        "auth_req_id": login.auth_req_id,
        "iat": iat,
        "exp": iat + 3600,
    });
    if fault == Some(IdTokenFault::Unsigned) {
        return format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&claims)
        );
    }
    let header = b64(&json!({"alg": "RS256", "typ": "JWT", "kid": SIGNING_KID}));
    let signing_input = format!("{header}.{}", b64(&claims));
    let key = match fault {
        Some(IdTokenFault::WrongKey) => foreign_key(),
        _ => signing_key(),
    };
    let signature = key
        .pkcs1v15_sign::<Sha256>(signing_input.as_bytes())
        .expect("RS256 signing with a 2048-bit key");
    if fault == Some(IdTokenFault::Tampered) {
        claims["sub"] = json!(sub_of(&login.msn, "4700000000"));
        return format!("{header}.{}.{}", b64(&claims), b64url(&signature));
    }
    format!("{signing_input}.{}", b64url(&signature))
}

/// `GET /vipps-userinfo-api/userinfo`: the consented claims of an access token.
pub async fn userinfo(State(app): State<App>, headers: HeaderMap) -> Reply {
    let unauthorized = || {
        Reply::json(
            StatusCode::UNAUTHORIZED,
            &json!({
                "type": "https://httpstatuses.io/401",
                "title": "Unauthorized",
                "status": 401,
                "detail": "The access token is missing, unknown or expired.",
                "instance": USERINFO_PATH,
            }),
        )
    };
    if app.config.login.userinfo_rejects_subscription_key
        && header(&headers, "Ocp-Apim-Subscription-Key").is_some()
    {
        return unauthorized();
    }
    let Some(token) = header(&headers, "Authorization").and_then(|v| v.strip_prefix("Bearer "))
    else {
        return unauthorized();
    };
    let now = app.now();
    let state = app.state();
    let Some(access) = state.login.access.get(token).filter(|a| a.expires_at > now) else {
        return unauthorized();
    };
    let has = |s: &str| access.scope.iter().any(|x| x == s);
    let mut claims = json!({"sub": sub_of(&access.msn, &access.msisdn), "sid": random_slug(12)});
    if has("name") {
        let g = &access.grant;
        claims["name"] = json!(
            format!("{} {}", g.given_name, g.family_name)
                .trim()
                .to_string()
        );
        claims["given_name"] = json!(g.given_name);
        claims["family_name"] = json!(g.family_name);
    }
    if has("phoneNumber") {
        claims["phone_number"] = json!(access.msisdn);
        claims["phone_number_verified"] = json!(true);
    }
    let show_consents = has("delegatedConsents")
        && (access.first_consent || !app.config.login.consents_first_time_only);
    if show_consents {
        claims["delegatedConsents"] = delegated_consents(&app.config.login.consents, access, now);
    }
    Reply::json(StatusCode::OK, &claims)
}

fn delegated_consents(config: &ConsentConfig, access: &LoginAccess, now: SystemTime) -> Value {
    let consents: Vec<Value> = config
        .consents
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "accepted": c.required || access.grant.accepted.contains(&c.id),
                "required": c.required,
                "textDisplayedToUser": c.text_displayed_to_user,
            })
        })
        .collect();
    json!({
        "language": "EN",
        "heading": config.heading,
        "text": config.text,
        "termsDescription": "",
        "confirmConsentButtonText": "Confirm",
        "links": {
            "termsLinkText": "Terms",
            "termsLinkUrl": "https://example.invalid/terms",
            "privacyStatementLinkText": "Privacy",
            "privacyStatementLinkUrl": "https://example.invalid/privacy",
        },
        "timeOfConsent": iso_millis(now),
        "consents": consents,
    })
}

/// A login as the control API and the demo phone see it.
pub fn login_json(app: &App, login: &Login) -> Value {
    json!({
        "authReqId": login.auth_req_id,
        "msisdn": login.msisdn,
        "scope": login.scope.join(" "),
        "bindingMessage": login.binding_message,
        "state": login.state,
        "expiresAt": iso_millis(login.expires_at),
        "intervalSecs": login.interval.as_secs(),
        "consentHeading": app.config.login.consents.heading,
        "consentText": app.config.login.consents.text,
        "consents": app.config.login.consents.consents,
    })
}

/// Every login, oldest first, settled to now.
pub fn list(app: &App) -> Vec<Value> {
    let now = app.now();
    let mut state = app.state();
    let mut logins: Vec<Login> = state
        .login
        .logins
        .values_mut()
        .map(|l| {
            l.settle(now);
            l.clone()
        })
        .collect();
    drop(state);
    logins.sort_by_key(|l| l.created_at);
    logins.iter().map(|l| login_json(app, l)).collect()
}

/// Why a customer action on a login was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActError {
    NotFound,
    NotPending(LoginState),
    /// A required consent was not accepted.
    RequiredConsent(String),
}

/// The customer approves (with names and accepted consents) or denies a pending login.
/// On approval the ping goes to every `login.merchant-initiated.ping.v1` registration.
pub fn act(app: &App, auth_req_id: &str, grant: Option<Grant>) -> Result<Value, ActError> {
    let now = app.now();
    let mut state = app.state();
    let login = state
        .login
        .logins
        .get_mut(auth_req_id)
        .ok_or(ActError::NotFound)?;
    login.settle(now);
    if login.state != LoginState::Pending {
        return Err(ActError::NotPending(login.state));
    }
    match grant {
        Some(grant) => {
            if let Some(missing) = app
                .config
                .login
                .consents
                .consents
                .iter()
                .find(|c| c.required && !grant.accepted.contains(&c.id))
            {
                return Err(ActError::RequiredConsent(missing.id.clone()));
            }
            login.state = LoginState::Approved;
            login.grant = Some(grant);
        }
        None => login.state = LoginState::Denied,
    }
    let approved = login.state == LoginState::Approved;
    let msn = login.msn.clone();
    let subscribers = if approved {
        state.subscribers(&msn, LOGIN_PING_EVENT)
    } else {
        Vec::new()
    };
    let login = state
        .login
        .logins
        .get_mut(auth_req_id)
        .ok_or(ActError::NotFound)?;
    login.pinged = !subscribers.is_empty();
    let login = login.clone();
    if approved {
        let body = std::sync::Arc::new(
            serde_json::to_vec(&json!({"auth_req_id": login.auth_req_id})).unwrap_or_default(),
        );
        for registration in subscribers {
            let fate = lock(&app.faults).webhook_fate();
            app.deliverer.enqueue(Job {
                registration,
                event: LOGIN_PING_EVENT.to_string(),
                reference: None,
                body: body.clone(),
                fate,
            });
        }
    }
    drop(state);
    Ok(login_json(app, &login))
}

/// Body of `POST /sim/v1/logins/{auth_req_id}/approve`; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ApproveBody {
    given_name: Option<String>,
    family_name: Option<String>,
    /// Ids of the consents the customer ticks (required ones must be among them).
    accepted: Option<Vec<String>>,
}

fn control_reply(result: Result<Value, ActError>) -> Reply {
    match result {
        Ok(v) => Reply::json(StatusCode::OK, &v),
        Err(ActError::NotFound) => {
            Reply::json(StatusCode::NOT_FOUND, &json!({"error": "no such login"}))
        }
        Err(ActError::NotPending(state)) => Reply::json(
            StatusCode::CONFLICT,
            &json!({"error": format!("the login is {}", serde_json::to_value(state).unwrap_or_default().as_str().unwrap_or("done"))}),
        ),
        Err(ActError::RequiredConsent(id)) => Reply::json(
            StatusCode::BAD_REQUEST,
            &json!({"error": format!("the required consent {id} must be accepted")}),
        ),
    }
}

/// `GET /sim/v1/logins`: every login, oldest first.
pub async fn control_list(State(app): State<App>) -> Reply {
    Reply::json(StatusCode::OK, &json!({"logins": list(&app)}))
}

/// `POST /sim/v1/logins/{auth_req_id}/approve` `{givenName?, familyName?, accepted?}`.
/// Without `accepted`, the customer ticks every consent.
pub async fn control_approve(
    State(app): State<App>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> Reply {
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return Reply::json(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": format!("invalid JSON body: {e}")}),
                );
            }
        }
    };
    let accepted = body.accepted.unwrap_or_else(|| {
        app.config
            .login
            .consents
            .consents
            .iter()
            .map(|c| c.id.clone())
            .collect()
    });
    let grant = Grant {
        given_name: body.given_name.unwrap_or_else(|| "Kari".into()),
        family_name: body.family_name.unwrap_or_else(|| "Nordmann".into()),
        accepted,
    };
    control_reply(act(&app, &id, Some(grant)))
}

/// `POST /sim/v1/logins/{auth_req_id}/deny`.
pub async fn control_deny(
    State(app): State<App>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Reply {
    control_reply(act(&app, &id, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_messages_follow_the_pattern() {
        assert!(valid_binding_message("4MZ-CQ3"));
        assert!(valid_binding_message("ABCDE"));
        assert!(!valid_binding_message("abcde"));
        assert!(!valid_binding_message("ABCD"));
        assert!(!valid_binding_message("ABCDEFGHI"));
        assert!(!valid_binding_message("AB CD"));
    }

    #[test]
    fn msisdn_hints_need_the_urn_and_digits() {
        assert_eq!(msisdn_hint("urn:msisdn:4712345678"), Some("4712345678"));
        assert_eq!(msisdn_hint("urn:msisdn:+4712345678"), None);
        assert_eq!(msisdn_hint("urn:mobilenumber:12345678"), None);
        assert_eq!(msisdn_hint("urn:msisdn:47"), None);
    }

    #[test]
    fn sub_is_stable_per_sales_unit_and_user() {
        assert_eq!(
            sub_of("123456", "4712345678"),
            sub_of("123456", "4712345678")
        );
        assert_ne!(
            sub_of("123456", "4712345678"),
            sub_of("654321", "4712345678")
        );
        assert_ne!(
            sub_of("123456", "4712345678"),
            sub_of("123456", "4712345679")
        );
        assert_eq!(sub_of("1", "2").len(), 36);
    }
}

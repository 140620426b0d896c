//! The Login API for merchant-initiated login (CIBA, BRIEF §10.2-§10.7): discovery,
//! user-exists, backchannel authentication, the CIBA token grant and userinfo.
//!
//! Login calls authenticate with the sales unit's `client_id`/`client_secret`
//! (`client_secret_basic` by default, `client_secret_post` when the unit is switched to it) and
//! send **no** subscription key; userinfo sends only the login's bearer token. Outcomes the
//! caller must act on (pending, slow down, declined, expired, no such user, old app, too many
//! logins) are variants of [`LoginError`], never strings. Nothing here logs a token, a phone
//! number or a name.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

use super::client::{Answer, Client, sensitive};
use super::error::VippsError;
use super::id_token::{self, IdClaims, IdTokenError, Jwks};
use super::mask::{PhoneNumber, Secret};

/// Path of the discovery document under the Vipps host.
const DISCOVERY: [&str; 4] = [
    "access-management-1.0",
    "access",
    ".well-known",
    "openid-configuration",
];
/// Path of user-exists (not in the discovery document).
const USER_EXISTS: [&str; 4] = ["vipps-login-ciba", "api", "v1", "user-exists"];
/// The CIBA grant type.
const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";
/// Discovery is cached this long (Vipps sends `max-age=3600`).
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// How the sales unit authenticates on the Login API (a per-unit portal setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginAuth {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// What a Login API call can end in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// The customer has not acted yet: poll again after the interval.
    #[error("the login is still pending")]
    AuthorizationPending,
    /// Polling too fast: add at least 5 s to the interval.
    #[error("polling too fast")]
    SlowDown,
    /// The customer declined.
    #[error("the customer declined the login")]
    AccessDenied,
    /// The login timed out; start a new one.
    #[error("the login expired")]
    ExpiredToken,
    /// Unknown or already exchanged `auth_req_id`.
    #[error("the login is unknown or already used")]
    InvalidGrant,
    /// No (active) Vipps MobilePay user, or not eligible (e.g. under 15). Do not retry.
    #[error("no eligible Vipps MobilePay user for this number")]
    InvalidUser,
    /// The customer's app is too old for merchant-initiated login.
    #[error("the customer's app is too old")]
    OldApp,
    /// A login for this customer is already in progress.
    #[error("a login for this customer is already in progress")]
    TooManyLogins { retry_after: Option<Duration> },
    /// The credentials (or the authentication method) were refused.
    #[error("Vipps refused the client credentials")]
    InvalidClient,
    /// Userinfo refused the access token (expired or unknown): log in again.
    #[error("the login's access token was refused")]
    Unauthorized,
    /// Another OAuth error (`invalid_request`, `invalid_scope`, `invalid_binding_message`, ...).
    #[error("Vipps rejected the login request: {error}")]
    Rejected {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// The approved login's `id_token` did not validate (signature, issuer, audience,
    /// expiry, or its `sub` is not userinfo's): the login's answer cannot be trusted.
    #[error("the login's id_token was refused: {0}")]
    IdToken(#[from] IdTokenError),
    /// Transport, timeout, 5xx, an unreadable answer or bad input.
    #[error(transparent)]
    Vipps(#[from] VippsError),
}

impl LoginError {
    /// Whether the same call may succeed later (transport, timeout, 5xx, 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            LoginError::Vipps(e) => e.is_retryable(),
            LoginError::TooManyLogins { .. } => true,
            _ => false,
        }
    }
}

/// The parts of the discovery document Kasse uses. Every endpoint is on the configured host
/// (a document naming another origin is refused: the credentials would go there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub token_endpoint: Url,
    pub userinfo_endpoint: Url,
    pub jwks_uri: Option<Url>,
    pub backchannel_authentication_endpoint: Url,
}

#[derive(Deserialize)]
struct RawDiscovery {
    issuer: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    #[serde(default)]
    jwks_uri: Option<String>,
    backchannel_authentication_endpoint: String,
}

impl Discovery {
    fn from_raw(raw: RawDiscovery, origin: &Url) -> Result<Self, VippsError> {
        let same_origin = |name: &str, text: &str| -> Result<Url, VippsError> {
            let url = Url::parse(text).map_err(|e| VippsError::Decode {
                status: 200,
                message: format!("discovery {name}: {e}"),
            })?;
            if url.origin() != origin.origin() {
                return Err(VippsError::Decode {
                    status: 200,
                    message: format!("discovery {name} is not on the configured host"),
                });
            }
            Ok(url)
        };
        Ok(Self {
            token_endpoint: same_origin("token_endpoint", &raw.token_endpoint)?,
            userinfo_endpoint: same_origin("userinfo_endpoint", &raw.userinfo_endpoint)?,
            jwks_uri: raw
                .jwks_uri
                .as_deref()
                .map(|u| same_origin("jwks_uri", u))
                .transpose()?,
            backchannel_authentication_endpoint: same_origin(
                "backchannel_authentication_endpoint",
                &raw.backchannel_authentication_endpoint,
            )?,
            issuer: raw.issuer,
        })
    }
}

/// A `binding_message`: `^[A-Z0-9\-]{5,8}$`, shown on the till and in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BindingMessage(String);

impl BindingMessage {
    pub fn parse(text: &str) -> Result<Self, VippsError> {
        let ok = (5..=8).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(VippsError::InvalidInput(
                "a binding message is 5 to 8 of A-Z, 0-9 and -".into(),
            ))
        }
    }

    /// A fresh random code like `4MZ-CQ3` (no 0/O or 1/I, which read alike).
    pub fn random() -> Self {
        use rand::Rng;
        const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
        let mut rng = rand::rng();
        let mut code = String::with_capacity(7);
        for i in 0..7 {
            if i == 3 {
                code.push('-');
            } else {
                code.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
            }
        }
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BindingMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The scope Kasse asks for when enrolling a member.
pub const ENROL_SCOPE: &str = "openid name phoneNumber delegatedConsents";

/// A login to start.
#[derive(Debug, Clone)]
pub struct StartLogin {
    pub msisdn: PhoneNumber,
    /// Space-separated; must contain `openid`.
    pub scope: String,
    pub binding_message: Option<BindingMessage>,
    /// 60..=900 s; None: Vipps' default (600 s).
    pub requested_expiry: Option<Duration>,
}

/// `auth_req_id` plus its life and the poll interval.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct LoginStarted {
    pub auth_req_id: String,
    /// Seconds the `auth_req_id` lives.
    pub expires_in: u64,
    /// Minimum seconds between polls.
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    5
}

impl fmt::Debug for LoginStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginStarted")
            .field("auth_req_id", &"***")
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

/// The token answer of an approved login.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct LoginTokens {
    pub access_token: Secret,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub id_token: Option<Secret>,
}

impl fmt::Debug for LoginTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginTokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// One consent in `delegatedConsents.consents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub id: String,
    pub accepted: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub text_displayed_to_user: String,
}

/// `delegatedConsents` (§10.8): present only the first time a user consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelegatedConsents {
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub heading: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// ISO-8601 UTC.
    pub time_of_consent: String,
    #[serde(default)]
    pub consents: Vec<Consent>,
}

/// The consented claims of userinfo Kasse keeps. `Debug` hides personal data.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default, rename = "delegatedConsents")]
    pub delegated_consents: Option<DelegatedConsents>,
}

impl fmt::Debug for UserInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserInfo")
            .field("has_name", &self.name.is_some())
            .field("has_phone_number", &self.phone_number.is_some())
            .field("has_consents", &self.delegated_consents.is_some())
            .finish_non_exhaustive()
    }
}

/// The Login API on top of a [`Client`] (same host, credentials, timeouts and system headers).
/// Cheap to clone; clones share the cached discovery document.
#[derive(Clone)]
pub struct LoginApi {
    client: Client,
    auth: LoginAuth,
    discovery: Arc<Mutex<Option<(Discovery, Instant)>>>,
    /// The key set at `jwks_uri`, cached like discovery (read again for an unknown `kid`).
    jwks: Arc<Mutex<Option<(Jwks, Instant)>>>,
}

impl fmt::Debug for LoginApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginApi")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl LoginApi {
    pub fn new(client: Client, auth: LoginAuth) -> Self {
        Self {
            client,
            auth,
            discovery: Arc::new(Mutex::new(None)),
            jwks: Arc::new(Mutex::new(None)),
        }
    }

    /// The discovery document, cached for an hour.
    pub async fn discovery(&self) -> Result<Discovery, LoginError> {
        let mut cached = self.discovery.lock().await;
        if let Some((doc, at)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(doc.clone());
        }
        let url = self.client.url_of(&DISCOVERY)?;
        let request = self
            .client
            .http()
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        let answer = self.client.send_request("login.discovery", request).await?;
        if !answer.status.is_success() {
            return Err(self.api_error(&answer));
        }
        let raw: RawDiscovery = answer.decode()?;
        let doc = Discovery::from_raw(raw, &self.client.config().base_url)?;
        *cached = Some((doc.clone(), Instant::now()));
        Ok(doc)
    }

    /// Whether the number belongs to a Vipps MobilePay user (use only to avoid a pointless push).
    pub async fn user_exists(&self, msisdn: &PhoneNumber) -> Result<bool, LoginError> {
        #[derive(Deserialize)]
        struct Exists {
            exists: bool,
        }
        let url = self.client.url_of(&USER_EXISTS)?;
        let hint = format!("urn:msisdn:{}", msisdn.expose());
        let answer: Exists = self
            .form_call("login.user_exists", url, vec![("login_hint", hint)])
            .await?;
        Ok(answer.exists)
    }

    /// Start a merchant-initiated login (the customer gets a push in the app).
    pub async fn start(&self, login: &StartLogin) -> Result<LoginStarted, LoginError> {
        if !login.scope.split(' ').any(|s| s == "openid") {
            return Err(VippsError::InvalidInput("the scope must contain openid".into()).into());
        }
        let mut fields = vec![
            (
                "login_hint",
                format!("urn:msisdn:{}", login.msisdn.expose()),
            ),
            ("scope", login.scope.clone()),
        ];
        if let Some(m) = &login.binding_message {
            fields.push(("binding_message", m.as_str().to_string()));
        }
        if let Some(expiry) = login.requested_expiry {
            let secs = expiry.as_secs();
            if !(60..=900).contains(&secs) {
                return Err(VippsError::InvalidInput(format!(
                    "requested_expiry must be 60 to 900 s, got {secs}"
                ))
                .into());
            }
            fields.push(("requested_expiry", secs.to_string()));
        }
        let url = self.discovery().await?.backchannel_authentication_endpoint;
        self.form_call("login.backchannel", url, fields).await
    }

    /// One poll of the token endpoint for `auth_req_id` (the CIBA grant).
    pub async fn token(&self, auth_req_id: &str) -> Result<LoginTokens, LoginError> {
        if auth_req_id.is_empty() {
            return Err(VippsError::InvalidInput("auth_req_id is empty".into()).into());
        }
        let url = self.discovery().await?.token_endpoint;
        self.form_call(
            "login.token",
            url,
            vec![
                ("grant_type", CIBA_GRANT.to_string()),
                ("auth_req_id", auth_req_id.to_string()),
            ],
        )
        .await
    }

    /// The consented claims for an approved login's access token. Only the bearer is sent.
    pub async fn userinfo(&self, tokens: &LoginTokens) -> Result<UserInfo, LoginError> {
        let url = self.discovery().await?.userinfo_endpoint;
        let request = self
            .client
            .http()
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                AUTHORIZATION,
                sensitive(&format!("Bearer {}", tokens.access_token.expose()))?,
            );
        let request = self.client.with_system_headers(request)?;
        let answer = self.client.send_request("login.userinfo", request).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(LoginError::Unauthorized);
        }
        if !answer.status.is_success() {
            return Err(self.api_error(&answer));
        }
        Ok(answer.decode()?)
    }

    /// The key set at the discovery document's `jwks_uri`: cached for an hour, read again
    /// when `refresh` (a token names a key the cached set lacks: the keys may have rotated).
    async fn jwks(&self, refresh: bool) -> Result<Jwks, LoginError> {
        let mut cached = self.jwks.lock().await;
        if !refresh
            && let Some((keys, at)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(keys.clone());
        }
        let url = self
            .discovery()
            .await?
            .jwks_uri
            .ok_or(IdTokenError::NoJwksUri)?;
        let request = self
            .client
            .http()
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        let answer = self.client.send_request("login.jwks", request).await?;
        if !answer.status.is_success() {
            return Err(self.api_error(&answer));
        }
        let keys: Jwks = answer.decode()?;
        *cached = Some((keys.clone(), Instant::now()));
        Ok(keys)
    }

    /// Validate an approved login's `id_token` (RS256 against `jwks_uri`, `iss`, `aud`,
    /// `exp`) and that it is about the same user as userinfo (`sub`).
    pub async fn validate_id_token(
        &self,
        tokens: &LoginTokens,
        userinfo_sub: &str,
    ) -> Result<IdClaims, LoginError> {
        let token = tokens.id_token.as_ref().ok_or(IdTokenError::Missing)?;
        let token = token.expose();
        let kid = id_token::kid_of(token)?;
        let mut keys = self.jwks(false).await?;
        if !keys.has(kid.as_deref()) {
            keys = self.jwks(true).await?;
        }
        let issuer = self.discovery().await?.issuer;
        let now_s = self
            .client
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let claims = id_token::validate(
            token,
            &keys,
            &issuer,
            &self.client.config().client_id,
            now_s,
        )?;
        if claims.sub != userinfo_sub {
            return Err(IdTokenError::Subject.into());
        }
        Ok(claims)
    }

    /// POST a form with client authentication and read a JSON answer or a login error.
    async fn form_call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: Url,
        mut fields: Vec<(&'static str, String)>,
    ) -> Result<T, LoginError> {
        let config = self.client.config();
        let mut request = self
            .client
            .http()
            .post(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
        match self.auth {
            LoginAuth::ClientSecretBasic => {
                let pair = format!("{}:{}", config.client_id, config.client_secret.expose());
                let value = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                );
                request = request.header(AUTHORIZATION, sensitive(&value)?);
            }
            LoginAuth::ClientSecretPost => {
                fields.push(("client_id", config.client_id.clone()));
                fields.push(("client_secret", config.client_secret.expose().to_string()));
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let request = self.client.with_system_headers(request.body(body))?;
        let answer = self.client.send_request(operation, request).await?;
        if answer.status.is_success() {
            return Ok(answer.decode()?);
        }
        Err(self.api_error(&answer))
    }

    /// Classify a non-success answer.
    fn api_error(&self, answer: &Answer) -> LoginError {
        let status = answer.status;
        let generic = || answer.error(self.client.now());
        if status == StatusCode::TOO_MANY_REQUESTS {
            return LoginError::TooManyLogins {
                retry_after: generic().retry_after(),
            };
        }
        if status.is_server_error() {
            return LoginError::Vipps(generic());
        }
        let json: Value = serde_json::from_slice(&answer.bytes).unwrap_or(Value::Null);
        let text = |k: &str| json.get(k).and_then(Value::as_str).map(str::to_string);
        match text("error_code").as_deref() {
            Some("invalid_user") => return LoginError::InvalidUser,
            Some("old_app") => return LoginError::OldApp,
            _ => {}
        }
        let Some(error) = text("error") else {
            return LoginError::Vipps(generic());
        };
        match error.as_str() {
            "authorization_pending" => LoginError::AuthorizationPending,
            "slow_down" => LoginError::SlowDown,
            "access_denied" => LoginError::AccessDenied,
            "expired_token" => LoginError::ExpiredToken,
            "invalid_grant" => LoginError::InvalidGrant,
            "invalid_client" | "unauthorized_client" => LoginError::InvalidClient,
            "invalid_user" | "unknown_user_id" => LoginError::InvalidUser,
            "old_app" => LoginError::OldApp,
            _ => LoginError::Rejected {
                status: status.as_u16(),
                error,
                description: text("error_description"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_messages_are_checked_and_random_ones_are_valid() {
        assert!(BindingMessage::parse("4MZ-CQ3").is_ok());
        assert!(BindingMessage::parse("4mz-cq3").is_err());
        assert!(BindingMessage::parse("ABCD").is_err());
        for _ in 0..50 {
            let code = BindingMessage::random();
            assert!(BindingMessage::parse(code.as_str()).is_ok(), "{code}");
            assert!(!code.as_str().contains(['0', 'O', '1', 'I']));
        }
    }

    #[test]
    fn debug_hides_personal_data_and_tokens() {
        let info: UserInfo = serde_json::from_str(
            r#"{"sub":"s","name":"Kari Nordmann","phone_number":"4712345678"}"#,
        )
        .unwrap();
        let shown = format!("{info:?}");
        assert!(
            !shown.contains("Kari") && !shown.contains("4712345678"),
            "{shown}"
        );
        let tokens: LoginTokens =
            serde_json::from_str(r#"{"access_token":"ciba.secret","id_token":"eyJ"}"#).unwrap();
        assert!(!format!("{tokens:?}").contains("ciba.secret"));
    }
}

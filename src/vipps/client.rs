//! The HTTP client for the Access token, QR merchant-callback, ePayment and
//! Webhooks APIs.
//!
//! Every call sends `Authorization: Bearer`, `Ocp-Apim-Subscription-Key`,
//! `Merchant-Serial-Number` and the four `Vipps-System-*` headers; create,
//! capture, refund and cancel also send the caller's `Idempotency-Key`
//! (never invented here). The client does not retry money-moving calls: the
//! engine persists its intent first and decides. The single automatic repeat
//! is one re-send after a 401 with a freshly fetched token (the gateway
//! rejected the first attempt before it reached the API; the same
//! idempotency key is sent). [`retry_read`] retries idempotent reads.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue,
    RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::config::{Settings, VippsConfig};
use super::error::VippsError;
use super::models::{
    AccessTokenResponse, Amount, CancelRequest, CreatePaymentRequest, CreatePaymentResponse,
    Customer, CustomerExchangeRequest, CustomerExchangeResponse, CustomerToken, CustomerTokenRef,
    ForceApproveRequest, LOCATION_DESCRIPTION_MAX, MerchantCallbackPutRequest, MerchantCallbackQr,
    ModificationRequest, ModificationResponse, Payment, PaymentEvent, QrExchangeRequest,
    QrExchangeResponse, QrImageFormat, RegisterWebhookRequest, RegisteredWebhook, RequestedData,
    Webhook, WebhookList, validate_merchant_qr_id, validate_reference,
};
use super::token::{AccessToken, TokenCache};
use crate::clock::Clock;

/// Vipps' limit on `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_MAX: usize = 50;

/// Host names where the test-only force-approve call is refused locally.
const PRODUCTION_HOSTS: [&str; 1] = ["api.vipps.no"];

/// A Vipps MobilePay API client. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: VippsConfig,
    clock: Clock,
    tokens: TokenCache,
    /// Subscription key, MSN, system headers, Accept: sent on every call.
    common_headers: HeaderMap,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.config.base_url.as_str())
            .field("msn", &self.inner.config.msn)
            .finish_non_exhaustive()
    }
}

/// One outgoing API call.
struct Call<'a> {
    /// For logs: `"epayment.capture"`.
    operation: &'static str,
    method: Method,
    segments: Vec<&'a str>,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    idempotency_key: Option<&'a str>,
}

impl<'a> Call<'a> {
    fn new(operation: &'static str, method: Method, segments: Vec<&'a str>) -> Self {
        Self {
            operation,
            method,
            segments,
            query: Vec::new(),
            body: None,
            idempotency_key: None,
        }
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self, VippsError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| VippsError::InvalidInput(format!("body does not serialise: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    fn idempotent(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

impl Client {
    /// The client a till uses for its `settings` (the `[vipps]` section): Kasse's system
    /// headers, `request_timeout` per request (at most 5 s of it to connect).
    pub fn from_settings(
        settings: &Settings,
        request_timeout: std::time::Duration,
    ) -> Result<Client, VippsError> {
        Self::new(VippsConfig::from_settings(settings, request_timeout))
    }

    /// Validate the configuration and build the HTTP client with explicit timeouts.
    pub fn new(config: VippsConfig) -> Result<Client, VippsError> {
        Self::with_clock(config, Clock::system())
    }

    /// As [`Client::new`], with an injected clock (token refresh, `Retry-After` dates).
    pub fn with_clock(config: VippsConfig, clock: Clock) -> Result<Client, VippsError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .timeout(config.timeouts.request)
            // Never follow a redirect with our credentials attached.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kasse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| VippsError::Config(format!("HTTP client: {e}")))?;
        let mut common_headers = HeaderMap::new();
        common_headers.insert(
            "Ocp-Apim-Subscription-Key",
            sensitive(config.subscription_key.expose())?,
        );
        common_headers.insert("Merchant-Serial-Number", plain(&config.msn)?);
        for (name, value) in config.system.headers() {
            common_headers.insert(HeaderName::from_static(lower(name)), plain(value)?);
        }
        common_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                clock,
                tokens: TokenCache::default(),
                common_headers,
            }),
        })
    }

    pub fn config(&self) -> &VippsConfig {
        &self.inner.config
    }

    /// The HTTP client (timeouts, no redirects) for sibling API modules.
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Now, by the injected clock.
    pub(super) fn now(&self) -> std::time::SystemTime {
        self.inner.clock.now()
    }

    /// `base_url` + these path segments.
    pub(super) fn url_of(&self, segments: &[&str]) -> Result<Url, VippsError> {
        self.url(segments, &[])
    }

    /// Add the four `Vipps-System-*` headers (and nothing else) to a request.
    pub(super) fn with_system_headers(
        &self,
        mut request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, VippsError> {
        for (name, value) in self.inner.config.system.headers() {
            request = request.header(HeaderName::from_static(lower(name)), plain(value)?);
        }
        Ok(request)
    }

    // -----------------------------------------------------------------------
    // Access token

    /// The cached token, fetched or refreshed when needed. Concurrent callers
    /// share one refresh.
    pub async fn access_token(&self) -> Result<AccessToken, VippsError> {
        let clock = self.inner.clock.clone();
        self.inner
            .tokens
            .get_or_refresh(move || clock.now(), || self.fetch_token())
            .await
    }

    /// `POST /accesstoken/get` with an empty body and the credential headers.
    async fn fetch_token(&self) -> Result<AccessToken, VippsError> {
        let config = &self.inner.config;
        let url = self.url(&["accesstoken", "get"], &[])?;
        let request = self
            .inner
            .http
            .post(url)
            .headers(self.inner.common_headers.clone())
            .header("client_id", sensitive(&config.client_id)?)
            .header("client_secret", sensitive(config.client_secret.expose())?)
            .header(CONTENT_LENGTH, HeaderValue::from_static("0"))
            .body(Vec::new());
        // Counted from before the request: the token never outlives what Vipps granted.
        let fetched_at = self.inner.clock.now();
        let answer = self.send_request("accesstoken.get", request).await?;
        if !answer.status.is_success() {
            return Err(answer.error(self.now()));
        }
        let parsed: AccessTokenResponse = answer.decode()?;
        AccessToken::from_response(&parsed, fetched_at)
    }

    // -----------------------------------------------------------------------
    // QR: merchant callback

    /// Create or update a till's static QR (`PUT`, 200 with an empty body).
    pub async fn qr_put(
        &self,
        merchant_qr_id: &str,
        location_description: &str,
    ) -> Result<(), VippsError> {
        let request = MerchantCallbackPutRequest {
            location_description: location_description.to_string(),
            category: None,
        };
        self.qr_put_with(merchant_qr_id, &request).await
    }

    /// As [`Client::qr_put`] with the whole body (e.g. a `category`).
    pub async fn qr_put_with(
        &self,
        merchant_qr_id: &str,
        request: &MerchantCallbackPutRequest,
    ) -> Result<(), VippsError> {
        validate_merchant_qr_id(merchant_qr_id).map_err(VippsError::InvalidInput)?;
        let n = request.location_description.chars().count();
        if n == 0 || n > LOCATION_DESCRIPTION_MAX {
            return Err(VippsError::InvalidInput(format!(
                "locationDescription must be 1 to {LOCATION_DESCRIPTION_MAX} characters, got {n}"
            )));
        }
        let call = Call::new(
            "qr.put",
            Method::PUT,
            vec!["qr", "v1", "merchant-callback", merchant_qr_id],
        )
        .json(request)?;
        self.execute(call).await.map(|_| ())
    }

    /// Map a printed MobilePay PoS sticker (DK/FI) to this sales unit
    /// (`PUT /qr/v1/merchant-callback/mobilepay/{beaconId}`, 200). Its check-ins then carry
    /// the beacon id as `merchantQrId`. A 409 means the beacon is mapped elsewhere
    /// ([`VippsError::status`] `Some(409)`).
    pub async fn qr_put_mobilepay_beacon(
        &self,
        beacon_id: &str,
        location_description: &str,
    ) -> Result<(), VippsError> {
        validate_merchant_qr_id(beacon_id).map_err(VippsError::InvalidInput)?;
        let n = location_description.chars().count();
        if n == 0 || n > LOCATION_DESCRIPTION_MAX {
            return Err(VippsError::InvalidInput(format!(
                "locationDescription must be 1 to {LOCATION_DESCRIPTION_MAX} characters, got {n}"
            )));
        }
        let request = MerchantCallbackPutRequest {
            location_description: location_description.to_string(),
            category: None,
        };
        let call = Call::new(
            "qr.put_mobilepay",
            Method::PUT,
            vec!["qr", "v1", "merchant-callback", "mobilepay", beacon_id],
        )
        .json(&request)?;
        self.execute(call).await.map(|_| ())
    }

    /// The customer's MSISDN from a scanned personal QR (`POST /qr/v1/exchange`); the content
    /// goes unchanged, never parsed.
    pub async fn exchange_personal_qr(
        &self,
        qr_code: &str,
    ) -> Result<QrExchangeResponse, VippsError> {
        let n = qr_code.chars().count();
        if !(5..=255).contains(&n) {
            return Err(VippsError::InvalidInput(format!(
                "a personal QR is 5 to 255 characters, got {n}"
            )));
        }
        let request = QrExchangeRequest {
            qr_code: qr_code.to_string(),
            requested_data: vec![RequestedData::Msisdn],
        };
        let call =
            Call::new("qr.exchange", Method::POST, vec!["qr", "v1", "exchange"]).json(&request)?;
        self.execute_json(call).await
    }

    /// The customer's MSISDN from a check-in's token, while it is valid
    /// (`POST /qr/v1/exchange/customer`).
    pub async fn exchange_customer_token(
        &self,
        token: &CustomerToken,
    ) -> Result<CustomerExchangeResponse, VippsError> {
        let request = CustomerExchangeRequest {
            customer: CustomerTokenRef {
                customer_token: token.clone(),
            },
            requested_data: vec![RequestedData::Msisdn],
        };
        let call = Call::new(
            "qr.exchange_customer",
            Method::POST,
            vec!["qr", "v1", "exchange", "customer"],
        )
        .json(&request)?;
        self.execute_json(call).await
    }

    /// One QR with its `qrContent` and image URL.
    pub async fn qr_get(
        &self,
        merchant_qr_id: &str,
        format: QrImageFormat,
    ) -> Result<MerchantCallbackQr, VippsError> {
        validate_merchant_qr_id(merchant_qr_id).map_err(VippsError::InvalidInput)?;
        let mut call = Call::new(
            "qr.get",
            Method::GET,
            vec!["qr", "v1", "merchant-callback", merchant_qr_id],
        );
        call.query = image_query(format)?;
        self.execute_json(call).await
    }

    /// Every merchant-callback QR of this MSN.
    pub async fn qr_list(&self) -> Result<Vec<MerchantCallbackQr>, VippsError> {
        let call = Call::new(
            "qr.list",
            Method::GET,
            vec!["qr", "v1", "merchant-callback"],
        );
        self.execute_json(call).await
    }

    /// Delete a QR for good (a printed code then shows "not found").
    pub async fn qr_delete(&self, merchant_qr_id: &str) -> Result<(), VippsError> {
        validate_merchant_qr_id(merchant_qr_id).map_err(VippsError::InvalidInput)?;
        let call = Call::new(
            "qr.delete",
            Method::DELETE,
            vec!["qr", "v1", "merchant-callback", merchant_qr_id],
        );
        self.execute(call).await.map(|_| ())
    }

    // -----------------------------------------------------------------------
    // ePayment

    /// `POST /epayment/v1/payments` (201). `idempotency_key` comes from the
    /// caller's stored ids, so a retry after a crash reuses it.
    pub async fn create_payment(
        &self,
        request: &CreatePaymentRequest,
        idempotency_key: &str,
    ) -> Result<CreatePaymentResponse, VippsError> {
        validate_idempotency_key(idempotency_key)?;
        request.validate().map_err(VippsError::InvalidInput)?;
        let call = Call::new(
            "epayment.create",
            Method::POST,
            vec!["epayment", "v1", "payments"],
        )
        .json(request)?
        .idempotent(idempotency_key);
        self.execute_json(call).await
    }

    /// The payment as Vipps sees it now: the truth to act on.
    pub async fn get_payment(&self, reference: &str) -> Result<Payment, VippsError> {
        validate_reference(reference).map_err(VippsError::InvalidInput)?;
        let call = Call::new(
            "epayment.get",
            Method::GET,
            vec!["epayment", "v1", "payments", reference],
        );
        self.execute_json(call).await
    }

    /// The payment's event log (authoritative history).
    pub async fn payment_events(&self, reference: &str) -> Result<Vec<PaymentEvent>, VippsError> {
        validate_reference(reference).map_err(VippsError::InvalidInput)?;
        let call = Call::new(
            "epayment.events",
            Method::GET,
            vec!["epayment", "v1", "payments", reference, "events"],
        );
        self.execute_json(call).await
    }

    /// Capture `amount` of an authorized payment.
    pub async fn capture(
        &self,
        reference: &str,
        amount: Amount,
        idempotency_key: &str,
    ) -> Result<ModificationResponse, VippsError> {
        self.modify(
            "epayment.capture",
            "capture",
            reference,
            amount,
            idempotency_key,
        )
        .await
    }

    /// Refund `amount` of what was captured.
    pub async fn refund(
        &self,
        reference: &str,
        amount: Amount,
        idempotency_key: &str,
    ) -> Result<ModificationResponse, VippsError> {
        self.modify(
            "epayment.refund",
            "refund",
            reference,
            amount,
            idempotency_key,
        )
        .await
    }

    async fn modify(
        &self,
        operation: &'static str,
        action: &'static str,
        reference: &str,
        amount: Amount,
        idempotency_key: &str,
    ) -> Result<ModificationResponse, VippsError> {
        validate_reference(reference).map_err(VippsError::InvalidInput)?;
        validate_idempotency_key(idempotency_key)?;
        amount.validate().map_err(VippsError::InvalidInput)?;
        let call = Call::new(
            operation,
            Method::POST,
            vec!["epayment", "v1", "payments", reference, action],
        )
        .json(&ModificationRequest {
            modification_amount: amount,
        })?
        .idempotent(idempotency_key);
        self.execute_json(call).await
    }

    /// Cancel: before authorization the payment becomes TERMINATED; after it,
    /// the uncaptured remainder is released. With `cancel_transaction_only`
    /// Vipps cancels only a not-yet-authorized payment (error 6060 otherwise);
    /// without it no body is sent.
    pub async fn cancel(
        &self,
        reference: &str,
        cancel_transaction_only: bool,
        idempotency_key: &str,
    ) -> Result<ModificationResponse, VippsError> {
        validate_reference(reference).map_err(VippsError::InvalidInput)?;
        validate_idempotency_key(idempotency_key)?;
        let mut call = Call::new(
            "epayment.cancel",
            Method::POST,
            vec!["epayment", "v1", "payments", reference, "cancel"],
        )
        .idempotent(idempotency_key);
        if cancel_transaction_only {
            call = call.json(&CancelRequest {
                cancel_transaction_only: true,
            })?;
        }
        self.execute_json(call).await
    }

    /// Test environment only: approve a payment as `customer` would.
    /// Refused locally against production.
    pub async fn force_approve(
        &self,
        reference: &str,
        customer: Customer,
    ) -> Result<(), VippsError> {
        validate_reference(reference).map_err(VippsError::InvalidInput)?;
        let host = self.inner.config.base_url.host_str().unwrap_or_default();
        if PRODUCTION_HOSTS.contains(&host) {
            return Err(VippsError::InvalidInput(
                "force approve exists only in the test environment".into(),
            ));
        }
        let call = Call::new(
            "epayment.force_approve",
            Method::POST,
            vec!["epayment", "v1", "test", "payments", reference, "approve"],
        )
        .json(&ForceApproveRequest {
            customer: Some(customer),
            token: None,
        })?;
        self.execute(call).await.map(|_| ())
    }

    // -----------------------------------------------------------------------
    // Webhooks API

    /// Register `url` for `events` (201). The secret is returned only here: store it.
    pub async fn register_webhook(
        &self,
        url: &str,
        events: &[&str],
    ) -> Result<RegisteredWebhook, VippsError> {
        Url::parse(url)
            .map_err(|e| VippsError::InvalidInput(format!("webhook URL is not a URL: {e}")))?;
        if events.is_empty() || events.iter().any(|e| e.trim().is_empty()) {
            return Err(VippsError::InvalidInput(
                "a webhook needs at least one non-empty event name".into(),
            ));
        }
        let request = RegisterWebhookRequest {
            url: url.to_string(),
            events: events.iter().map(|e| e.to_string()).collect(),
        };
        let call = Call::new(
            "webhooks.register",
            Method::POST,
            vec!["webhooks", "v1", "webhooks"],
        )
        .json(&request)?;
        self.execute_json(call).await
    }

    /// Registrations of this MSN (no secrets).
    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, VippsError> {
        let call = Call::new(
            "webhooks.list",
            Method::GET,
            vec!["webhooks", "v1", "webhooks"],
        );
        self.execute_json::<WebhookList>(call)
            .await
            .map(|l| l.webhooks)
    }

    /// Delete a registration (204).
    pub async fn delete_webhook(&self, id: &str) -> Result<(), VippsError> {
        if id.is_empty() {
            return Err(VippsError::InvalidInput("webhook id is empty".into()));
        }
        let call = Call::new(
            "webhooks.delete",
            Method::DELETE,
            vec!["webhooks", "v1", "webhooks", id],
        );
        self.execute(call).await.map(|_| ())
    }

    // -----------------------------------------------------------------------
    // Plumbing

    /// `base_url` + percent-encoded path segments + query.
    fn url(&self, segments: &[&str], query: &[(&'static str, String)]) -> Result<Url, VippsError> {
        let mut url = self.inner.config.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| VippsError::Config("base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Send with a bearer token; on 401 refresh the token and send once more.
    /// Any non-2xx answer becomes [`VippsError::Api`].
    async fn execute(&self, call: Call<'_>) -> Result<(StatusCode, Vec<u8>), VippsError> {
        let url = self.url(&call.segments, &call.query)?;
        let mut token = self.access_token().await?;
        let mut refreshed = false;
        loop {
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), url.clone())
                .headers(self.inner.common_headers.clone())
                .header(AUTHORIZATION, sensitive(&token.bearer())?);
            if let Some(key) = call.idempotency_key {
                request = request.header("Idempotency-Key", plain(key)?);
            }
            request = match &call.body {
                Some(body) => request
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(body.clone()),
                None if call.method == Method::POST || call.method == Method::PUT => request
                    .header(CONTENT_LENGTH, HeaderValue::from_static("0"))
                    .body(Vec::new()),
                None => request,
            };
            let result = self
                .send_request(call.operation, request)
                .await
                .and_then(|answer| {
                    if answer.status.is_success() {
                        Ok((answer.status, answer.bytes))
                    } else {
                        Err(answer.error(self.now()))
                    }
                });
            match result {
                Err(VippsError::Api { status: 401, .. }) if !refreshed => {
                    self.inner.tokens.invalidate(&token).await;
                    token = self.access_token().await?;
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    /// [`Client::execute`], then decode the success body.
    async fn execute_json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, VippsError> {
        let (status, bytes) = self.execute(call).await?;
        decode(status, &bytes)
    }

    /// Send a request and read the whole answer, whatever its status: every call of this
    /// client and of the Login API (which authenticates on its own terms) goes through here,
    /// so transport failures become the same [`VippsError`]s and every call is logged alike
    /// (operation, path, status, time; never a header or a body).
    pub(super) async fn send_request(
        &self,
        operation: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, VippsError> {
        let started = Instant::now();
        let (http, request) = request.build_split();
        let path = request
            .as_ref()
            .map(|r| r.url().path().to_string())
            .unwrap_or_default();
        let result = match request {
            Ok(request) => match http.execute(request).await {
                Ok(response) => Answer::read(response).await,
                Err(e) => Err(VippsError::from_reqwest(&e)),
            },
            Err(e) => Err(VippsError::from_reqwest(&e)),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(answer) => tracing::debug!(
                operation,
                path,
                status = answer.status.as_u16(),
                elapsed_ms,
                "vipps call"
            ),
            Err(error) => {
                tracing::debug!(operation, path, %error, elapsed_ms, "vipps call failed")
            }
        }
        result
    }
}

/// A whole answer: its status, `Retry-After` and body.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub bytes: Vec<u8>,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Result<Answer, VippsError> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| VippsError::from_reqwest(&e))?;
        Ok(Answer {
            status,
            retry_after,
            bytes: bytes.to_vec(),
        })
    }

    /// The error a non-2xx answer is (an `Api` error with the problem's details).
    pub fn error(&self, now: std::time::SystemTime) -> VippsError {
        VippsError::from_response(
            self.status.as_u16(),
            self.retry_after.as_deref(),
            &self.bytes,
            now,
        )
    }

    /// Decode a success body.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, VippsError> {
        decode(self.status, &self.bytes)
    }
}

/// Decode a success body; a mismatch is a `Decode` error naming the status.
fn decode<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T, VippsError> {
    serde_json::from_slice(bytes).map_err(|e| VippsError::Decode {
        status: status.as_u16(),
        message: e.to_string(),
    })
}

fn image_query(format: QrImageFormat) -> Result<Vec<(&'static str, String)>, VippsError> {
    Ok(match format {
        QrImageFormat::Svg => vec![("qrImageFormat", "SVG".into())],
        QrImageFormat::Png { size: None } => vec![("qrImageFormat", "PNG".into())],
        QrImageFormat::Png { size: Some(size) } => {
            if !(100..=2000).contains(&size) {
                return Err(VippsError::InvalidInput(format!(
                    "qrImageSize must be 100 to 2000, got {size}"
                )));
            }
            vec![
                ("qrImageFormat", "PNG".into()),
                ("qrImageSize", size.to_string()),
            ]
        }
    })
}

/// 1 to 50 printable ASCII characters without spaces.
pub fn validate_idempotency_key(key: &str) -> Result<(), VippsError> {
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX {
        return Err(VippsError::InvalidInput(format!(
            "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters, got {}",
            key.len()
        )));
    }
    if !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(VippsError::InvalidInput(
            "Idempotency-Key must be printable ASCII without spaces".into(),
        ));
    }
    Ok(())
}

/// Retry an idempotent read (GET payment, GET events, QR or webhook list)
/// while the error is retryable, waiting [`VippsError::suggested_delay`]
/// (which honours `Retry-After`). Never use it for create, capture, refund or
/// cancel: those are retried by the engine after it has persisted its intent.
pub async fn retry_read<T, F, Fut>(max_attempts: u32, read: F) -> Result<T, VippsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, VippsError>>,
{
    retry_read_with(max_attempts, tokio::time::sleep, read).await
}

/// [`retry_read`] with the waiting injected (tests record the delays).
pub async fn retry_read_with<T, F, Fut, S, SFut>(
    max_attempts: u32,
    mut sleep: S,
    mut read: F,
) -> Result<T, VippsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, VippsError>>,
    S: FnMut(std::time::Duration) -> SFut,
    SFut: Future<Output = ()>,
{
    let mut attempt = 1;
    loop {
        match read().await {
            Ok(value) => return Ok(value),
            Err(error) if attempt < max_attempts => match error.suggested_delay(attempt) {
                Some(delay) => {
                    tracing::debug!(%error, attempt, delay_ms = delay.as_millis() as u64, "retrying read");
                    sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(error),
            },
            Err(error) => return Err(error),
        }
    }
}

fn plain(value: &str) -> Result<HeaderValue, VippsError> {
    HeaderValue::from_str(value)
        .map_err(|_| VippsError::InvalidInput("value not allowed in an HTTP header".into()))
}

/// A header value marked sensitive (hyper never logs or HPACK-indexes it).
pub(super) fn sensitive(value: &str) -> Result<HeaderValue, VippsError> {
    let mut v = plain(value)?;
    v.set_sensitive(true);
    Ok(v)
}

/// The static lower-case form of the `Vipps-System-*` header names.
fn lower(name: &'static str) -> &'static str {
    match name {
        "Vipps-System-Name" => "vipps-system-name",
        "Vipps-System-Version" => "vipps-system-version",
        "Vipps-System-Plugin-Name" => "vipps-system-plugin-name",
        _ => "vipps-system-plugin-version",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vipps::config::Environment;

    fn client(base: &str) -> Client {
        Client::new(VippsConfig::new(
            Environment::Custom(Url::parse(base).unwrap()),
            "client-id",
            "client-secret",
            "sub-key",
            "123456",
        ))
        .unwrap()
    }

    #[test]
    fn urls_encode_segments_and_keep_a_base_path() {
        let c = client("http://127.0.0.1:9/prefix/");
        let u = c
            .url(&["qr", "v1", "merchant-callback", "a b/c"], &[])
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/prefix/qr/v1/merchant-callback/a%20b%2Fc"
        );
        let c = client("https://apitest.vipps.no");
        let u = c
            .url(
                &["qr", "v1", "merchant-callback", "till1"],
                &image_query(QrImageFormat::Png { size: Some(400) }).unwrap(),
            )
            .unwrap();
        assert_eq!(
            u.as_str(),
            "https://apitest.vipps.no/qr/v1/merchant-callback/till1?qrImageFormat=PNG&qrImageSize=400"
        );
        assert!(image_query(QrImageFormat::Png { size: Some(99) }).is_err());
    }

    #[test]
    fn idempotency_keys_are_checked_not_invented() {
        validate_idempotency_key("till1-20240301-0042-capture-1").unwrap();
        validate_idempotency_key(&"k".repeat(50)).unwrap();
        assert!(validate_idempotency_key(&"k".repeat(51)).is_err());
        assert!(validate_idempotency_key("").is_err());
        assert!(validate_idempotency_key("has space").is_err());
        assert!(validate_idempotency_key("æøå").is_err());
    }

    #[test]
    fn construction_validates_config() {
        let bad = VippsConfig::new(Environment::Test, "id", "secret", "key", "12");
        assert!(matches!(Client::new(bad), Err(VippsError::Config(_))));
        let c = client("http://127.0.0.1:9");
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[tokio::test]
    async fn bad_input_fails_before_any_network_call() {
        // Port 9 on loopback: nothing listens, so reaching the network would be a Transport error.
        let c = client("http://127.0.0.1:9");
        let amount = Amount::nok(100);
        assert!(matches!(
            c.capture("short", amount, "k").await,
            Err(VippsError::InvalidInput(_))
        ));
        assert!(matches!(
            c.capture("till1-00000001", amount, &"k".repeat(51)).await,
            Err(VippsError::InvalidInput(_))
        ));
        assert!(matches!(
            c.qr_put("till1", &"x".repeat(37)).await,
            Err(VippsError::InvalidInput(_))
        ));
        assert!(matches!(
            c.register_webhook("not a url", &["user.checked-in.v1"])
                .await,
            Err(VippsError::InvalidInput(_))
        ));
        let prod = Client::new(VippsConfig::new(
            Environment::Production,
            "id",
            "s",
            "k",
            "123456",
        ))
        .unwrap();
        let customer =
            Customer::PhoneNumber(crate::vipps::mask::PhoneNumber::parse("4791234567").unwrap());
        assert!(matches!(
            prod.force_approve("till1-00000001", customer).await,
            Err(VippsError::InvalidInput(_))
        ));
    }

    #[tokio::test]
    async fn connection_refused_is_a_retryable_transport_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let c = client(&format!("http://127.0.0.1:{port}"));
        let err = c.access_token().await.unwrap_err();
        assert!(
            matches!(err, VippsError::Transport { connect: true, .. }),
            "{err:?}"
        );
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn retry_read_retries_only_retryable_errors() {
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::time::Duration;
        let slept = Mutex::new(Vec::new());
        let sleep = |d: Duration| {
            slept.lock().unwrap().push(d);
            std::future::ready(())
        };
        let calls = AtomicU32::new(0);
        let result = retry_read_with(4, sleep, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(VippsError::Timeout),
                1 => Err(VippsError::from_response(
                    429,
                    Some("3"),
                    b"{}",
                    std::time::UNIX_EPOCH,
                )),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Backoff for the timeout, then the server's Retry-After.
        assert_eq!(
            *slept.lock().unwrap(),
            vec![Duration::from_millis(500), Duration::from_secs(3)]
        );

        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry_read_with(
            4,
            |_| std::future::ready(()),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(VippsError::from_response(
                    404,
                    None,
                    b"{}",
                    std::time::UNIX_EPOCH,
                ))
            },
        )
        .await;
        assert_eq!(result.unwrap_err().status(), Some(404));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry_read_with(
            3,
            |_| std::future::ready(()),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(VippsError::Timeout)
            },
        )
        .await;
        assert!(matches!(result, Err(VippsError::Timeout)));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}

//! A small typed client for the simulator's control API, for the demo phone,
//! other components' tests and scripts. Everything goes over HTTP, so it works
//! against an in-process simulator and a separate `kasse-sim` alike.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::config::AutoCustomer;
use super::faults::Faults;

/// A control call failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("simulator unreachable: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("simulator answered {status}: {message}")]
    Rejected { status: u16, message: String },
}

/// The outcome of a simulated scan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanOutcome {
    pub customer_token: String,
    pub merchant_qr_id: String,
    /// Whether the store's webhook endpoint answered 2xx.
    pub delivered: bool,
    /// The store's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What the app shows when not delivered ([`super::CANT_CONNECT`]).
    pub app_message: Option<String>,
    /// Why delivery failed.
    pub reason: Option<String>,
}

/// An amount in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct LedgerAmount {
    pub value: i64,
}

/// `aggregate` in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerAggregate {
    pub authorized_amount: LedgerAmount,
    pub cancelled_amount: LedgerAmount,
    pub captured_amount: LedgerAmount,
    pub refunded_amount: LedgerAmount,
}

/// Successful operations on a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct LedgerCounts {
    pub captures: u32,
    pub refunds: u32,
    pub cancels: u32,
}

/// One payment of `GET /sim/v1/payments`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerPayment {
    pub reference: String,
    /// CREATED, AUTHORIZED, ABORTED, EXPIRED or TERMINATED.
    pub state: String,
    pub amount: LedgerAmount,
    pub aggregate: LedgerAggregate,
    pub psp_reference: String,
    pub user_flow: String,
    pub customer_phone: Option<String>,
    pub approved_by: Option<String>,
    pub payment_description: Option<String>,
    pub receipt: Option<Value>,
    pub counts: LedgerCounts,
    /// The event log, as `GET .../events` returns it.
    pub events: Vec<Value>,
}

/// One received Vipps API call of `GET /sim/v1/log`.
pub use super::app::CallRecord as LoggedCall;

/// A merchant-initiated login as the customer's app sees it (`GET /sim/v1/logins`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimLogin {
    pub auth_req_id: String,
    pub msisdn: String,
    pub scope: String,
    pub binding_message: Option<String>,
    /// PENDING, APPROVED, DENIED, EXPIRED or EXCHANGED.
    pub state: String,
    pub interval_secs: u64,
    pub consent_heading: String,
    pub consent_text: String,
}

/// Client for `/sim/v1/...`.
#[derive(Debug, Clone)]
pub struct ControlClient {
    base: url::Url,
    http: reqwest::Client,
}

impl ControlClient {
    /// `base` is the simulator's base URL (`http://127.0.0.1:PORT/`).
    pub fn new(base: url::Url) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self { base, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ControlError> {
        let response = request.send().await?;
        let status = response.status();
        if !status.is_success() {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let message = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no detail")
                .to_string();
            return Err(ControlError::Rejected {
                status: status.as_u16(),
                message,
            });
        }
        Ok(response.json().await?)
    }

    /// The customer scans the till's QR (`phone`: the customer; default number when None).
    pub async fn scan(
        &self,
        merchant_qr_id: &str,
        phone: Option<&str>,
    ) -> Result<ScanOutcome, ControlError> {
        let path = format!("/sim/v1/merchant-callback/{merchant_qr_id}/scan");
        let body = phone.map_or(json!({}), |p| json!({"phoneNumber": p}));
        self.send(self.http.post(self.url(&path)).json(&body)).await
    }

    /// The customer scans QR content (what the till displays).
    pub async fn scan_content(
        &self,
        qr_content: &str,
        phone: Option<&str>,
    ) -> Result<ScanOutcome, ControlError> {
        let mut body = json!({"qrContent": qr_content});
        if let Some(p) = phone {
            body["phoneNumber"] = json!(p);
        }
        self.send(self.http.post(self.url("/sim/v1/scan")).json(&body))
            .await
    }

    /// The customer scans a payment-specific QR (`userFlow: QR`): the request opens in their
    /// app (`phone`: the customer; default number when None).
    pub async fn scan_payment_qr(
        &self,
        qr_content: &str,
        phone: Option<&str>,
    ) -> Result<LedgerPayment, ControlError> {
        let mut body = json!({"qrContent": qr_content});
        if let Some(p) = phone {
            body["phoneNumber"] = json!(p);
        }
        self.send(
            self.http
                .post(self.url("/sim/v1/payment-qr/scan"))
                .json(&body),
        )
        .await
    }

    /// The personal QR the customer's app shows now: a fresh tokenized (2.0) code, or with
    /// `clear_text` the 1.0 code that carries the number.
    pub async fn personal_qr(&self, phone: &str, clear_text: bool) -> Result<String, ControlError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            personal_qr: String,
        }
        let version = if clear_text { "1.0" } else { "2.0" };
        let path = format!("/sim/v1/customers/{phone}/personal-qr");
        let answer: Answer = self
            .send(
                self.http
                    .post(self.url(&path))
                    .json(&json!({"version": version})),
            )
            .await?;
        Ok(answer.personal_qr)
    }

    /// Every merchant-initiated login, oldest first.
    pub async fn logins(&self) -> Result<Vec<SimLogin>, ControlError> {
        #[derive(Deserialize)]
        struct Answer {
            logins: Vec<SimLogin>,
        }
        let answer: Answer = self.send(self.http.get(self.url("/sim/v1/logins"))).await?;
        Ok(answer.logins)
    }

    /// The customer approves a login, ticking `accepted` consents (None: every one).
    pub async fn approve_login(
        &self,
        auth_req_id: &str,
        given_name: &str,
        accepted: Option<&[&str]>,
    ) -> Result<SimLogin, ControlError> {
        let path = format!("/sim/v1/logins/{auth_req_id}/approve");
        let mut body = json!({"givenName": given_name, "familyName": "Nordmann"});
        if let Some(ids) = accepted {
            body["accepted"] = json!(ids);
        }
        self.send(self.http.post(self.url(&path)).json(&body)).await
    }

    /// The customer denies a login.
    pub async fn deny_login(&self, auth_req_id: &str) -> Result<SimLogin, ControlError> {
        let path = format!("/sim/v1/logins/{auth_req_id}/deny");
        self.send(self.http.post(self.url(&path))).await
    }

    /// The customer approves the payment in the app.
    pub async fn approve(&self, reference: &str) -> Result<LedgerPayment, ControlError> {
        let path = format!("/sim/v1/payments/{reference}/approve");
        self.send(self.http.post(self.url(&path))).await
    }

    /// The customer opens the request and is authorizing it (a cancel now gets 6250).
    pub async fn open(&self, reference: &str) -> Result<LedgerPayment, ControlError> {
        let path = format!("/sim/v1/payments/{reference}/open");
        self.send(self.http.post(self.url(&path))).await
    }

    /// The customer declines the payment in the app.
    pub async fn decline(&self, reference: &str) -> Result<LedgerPayment, ControlError> {
        let path = format!("/sim/v1/payments/{reference}/decline");
        self.send(self.http.post(self.url(&path))).await
    }

    /// The ledger.
    pub async fn payments(&self) -> Result<Vec<LedgerPayment>, ControlError> {
        #[derive(Deserialize)]
        struct Ledger {
            payments: Vec<LedgerPayment>,
        }
        let ledger: Ledger = self
            .send(self.http.get(self.url("/sim/v1/payments")))
            .await?;
        Ok(ledger.payments)
    }

    /// One payment of the ledger.
    pub async fn payment(&self, reference: &str) -> Result<LedgerPayment, ControlError> {
        let path = format!("/sim/v1/payments/{reference}");
        self.send(self.http.get(self.url(&path))).await
    }

    /// Every received Vipps API call.
    pub async fn log(&self) -> Result<Vec<LoggedCall>, ControlError> {
        #[derive(Deserialize)]
        struct Log {
            calls: Vec<LoggedCall>,
        }
        let log: Log = self.send(self.http.get(self.url("/sim/v1/log"))).await?;
        Ok(log.calls)
    }

    /// Replace the active faults (`Faults::default()` clears them).
    pub async fn set_faults(&self, faults: &Faults) -> Result<Faults, ControlError> {
        self.send(self.http.post(self.url("/sim/v1/faults")).json(faults))
            .await
    }

    /// The active faults (a `count` shows how many calls are still to be failed or held).
    pub async fn faults(&self) -> Result<Faults, ControlError> {
        self.send(self.http.get(self.url("/sim/v1/faults"))).await
    }

    /// Move the simulator's clock forward.
    pub async fn advance_clock(&self, by: Duration) -> Result<(), ControlError> {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _: Value = self
            .send(
                self.http
                    .post(self.url("/sim/v1/clock/advance"))
                    .json(&json!({"millis": millis})),
            )
            .await?;
        Ok(())
    }

    /// Set (or with `None` clear) the automatic customer.
    pub async fn set_auto_customer(
        &self,
        setting: Option<AutoCustomer>,
    ) -> Result<(), ControlError> {
        let _: Value = self
            .send(
                self.http
                    .post(self.url("/sim/v1/auto-customer"))
                    .json(&setting),
            )
            .await?;
        Ok(())
    }

    /// Every webhook delivery attempt so far (raw JSON records).
    pub async fn webhook_deliveries(&self) -> Result<Vec<Value>, ControlError> {
        #[derive(Deserialize)]
        struct Deliveries {
            deliveries: Vec<Value>,
        }
        let d: Deliveries = self
            .send(self.http.get(self.url("/sim/v1/webhook-deliveries")))
            .await?;
        Ok(d.deliveries)
    }
}

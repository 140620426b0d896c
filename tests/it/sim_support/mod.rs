//! Shared helpers for the simulator tests: start a simulator on loopback, call
//! it with plain reqwest, and run a webhook receiver that records deliveries.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use kasse::sim::{self, SimConfig, SimHandle};
use reqwest::Method;
use serde_json::{Value, json};

pub const KEY: &str = sim::TEST_SUBSCRIPTION_KEY;
pub const MSN: &str = sim::TEST_MSN;

/// A started simulator plus an authenticated raw client.
pub struct Sim {
    pub handle: SimHandle,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn start(config: SimConfig) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = sim::spawn(config, listener);
    let http = reqwest::Client::new();
    let token = fetch_token(&http, &handle).await;
    Sim {
        handle,
        http,
        token,
    }
}

pub async fn fetch_token(http: &reqwest::Client, handle: &SimHandle) -> String {
    let response = http
        .post(format!("{}accesstoken/get", handle.base_url))
        .header("client_id", sim::TEST_CLIENT_ID)
        .header("client_secret", sim::TEST_CLIENT_SECRET)
        .header("Ocp-Apim-Subscription-Key", KEY)
        .header("Merchant-Serial-Number", MSN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// A raw answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Answer {
    /// The Vipps error code in `extraDetails`, if any.
    pub fn code(&self) -> Option<String> {
        self.body["extraDetails"]
            .as_array()?
            .iter()
            .find(|d| d["name"] == "ErrorCode")
            .and_then(|d| d["reason"].as_str())
            .map(str::to_string)
    }

    pub fn content_type(&self) -> String {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

impl Sim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.handle.base_url, path.trim_start_matches('/'))
    }

    /// An authenticated Vipps API call with the standard headers.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Ocp-Apim-Subscription-Key", KEY)
            .header("Merchant-Serial-Number", MSN)
            .header("Vipps-System-Name", "kasse")
            .header("Vipps-System-Version", "0.1.0")
            .header("Vipps-System-Plugin-Name", "kasse-tests")
            .header("Vipps-System-Plugin-Version", "0.1.0")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.request(method, path);
        if let Some(k) = key {
            request = request.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        send(request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, None).await
    }

    pub async fn put_qr(&self, id: &str, location: &str) -> Answer {
        self.call(
            Method::PUT,
            &format!("/qr/v1/merchant-callback/{id}"),
            None,
            Some(json!({"locationDescription": location})),
        )
        .await
    }

    pub async fn register(&self, url: &str, events: &[&str]) -> Answer {
        self.call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"url": url, "events": events})),
        )
        .await
    }

    pub async fn create(&self, key: &str, body: Value) -> Answer {
        self.call(Method::POST, "/epayment/v1/payments", Some(key), Some(body))
            .await
    }

    pub async fn payment(&self, reference: &str) -> Answer {
        self.get(&format!("/epayment/v1/payments/{reference}"))
            .await
    }

    pub async fn modify(
        &self,
        reference: &str,
        op: &str,
        key: &str,
        body: Option<Value>,
    ) -> Answer {
        self.call(
            Method::POST,
            &format!("/epayment/v1/payments/{reference}/{op}"),
            Some(key),
            body,
        )
        .await
    }

    pub async fn capture(&self, reference: &str, key: &str, value: i64) -> Answer {
        self.modify(reference, "capture", key, Some(amount_body(value)))
            .await
    }

    pub async fn refund(&self, reference: &str, key: &str, value: i64) -> Answer {
        self.modify(reference, "refund", key, Some(amount_body(value)))
            .await
    }

    /// A control API call.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(b) = body {
            request = request.json(&b);
        }
        send(request).await
    }

    /// Replace the injected faults (`POST /sim/v1/faults`).
    pub async fn set_faults(&self, faults: Value) -> Answer {
        self.control(Method::POST, "/sim/v1/faults", Some(faults))
            .await
    }

    pub async fn approve(&self, reference: &str) -> Answer {
        self.control(
            Method::POST,
            &format!("/sim/v1/payments/{reference}/approve"),
            None,
        )
        .await
    }

    /// Scan a QR and return the customer token.
    pub async fn scan(&self, qr: &str) -> Answer {
        self.control(
            Method::POST,
            &format!("/sim/v1/merchant-callback/{qr}/scan"),
            None,
        )
        .await
    }

    /// Put a QR and scan it without any registration: a valid customer token.
    pub async fn customer_token(&self) -> String {
        assert_eq!(self.put_qr("till-token", "Kasse T").await.status, 200);
        let scan = self.scan("till-token").await;
        scan.body["customerToken"].as_str().unwrap().to_string()
    }

    /// Create a PUSH_MESSAGE payment to a phone number and approve it.
    pub async fn authorized(&self, reference: &str, value: i64) -> Answer {
        let created = self
            .create(
                &format!("{reference}-create"),
                push_payment(reference, value, phone()),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let approved = self.approve(reference).await;
        assert_eq!(approved.status, 200, "{:?}", approved.body);
        self.payment(reference).await
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let raw = response.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

/// `request` with those of `headers` that have a value.
pub fn some_headers(
    request: reqwest::RequestBuilder,
    headers: &[(&str, Option<&str>)],
) -> reqwest::RequestBuilder {
    headers
        .iter()
        .fold(request, |r, (name, value)| match value {
            Some(v) => r.header(*name, *v),
            None => r,
        })
}

pub fn amount_body(value: i64) -> Value {
    json!({"modificationAmount": {"currency": "NOK", "value": value}})
}

/// The default customer (`DEFAULT_CUSTOMER_PHONE`) as a `customer` object.
pub fn phone() -> Value {
    json!({"phoneNumber": "4712345678"})
}

/// A till's create-payment body for the merchant callback flow.
pub fn push_payment(reference: &str, value: i64, customer: Value) -> Value {
    json!({
        "amount": {"currency": "NOK", "value": value},
        "paymentMethod": {"type": "WALLET"},
        "customer": customer,
        "customerInteraction": "CUSTOMER_PRESENT",
        "reference": reference,
        "userFlow": "PUSH_MESSAGE",
        "paymentDescription": "Kasse 1",
        "receipt": {
            "orderLines": [{
                "name": "socks", "id": "sku-1", "totalAmount": value,
                "totalAmountExcludingTax": value * 4 / 5, "totalTaxAmount": value / 5,
                "taxPercentage": 25,
                "unitInfo": {"unitPrice": value, "quantity": "1", "quantityUnit": "PCS"}
            }],
            "bottomLine": {"currency": "NOK", "posId": "till1"}
        }
    })
}

/// Wait for a condition with a deadline (never a fixed sleep).
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One webhook as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Statuses to answer, in order; 200 when empty.
    script: VecDeque<u16>,
    /// Answer this for deliveries whose body contains every marker, until cleared.
    fail_marker: Option<(Vec<String>, u16)>,
    /// Answer the next N deliveries only after this delay.
    slow: Option<(u32, Duration)>,
}

/// A webhook endpoint on loopback that records every delivery.
#[derive(Clone)]
pub struct Receiver {
    state: Arc<Mutex<ReceiverState>>,
    pub url: String,
}

impl Receiver {
    pub async fn start(path: &str) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = axum::Router::new()
            .route(path, post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            state,
            url: format!("http://{addr}{path}"),
        }
    }

    /// Answer these statuses to the next deliveries.
    pub fn script(&self, statuses: &[u16]) {
        self.state.lock().unwrap().script.extend(statuses);
    }

    /// Answer `status` to every delivery whose body contains all `markers`.
    pub fn fail_matching(&self, markers: &[&str], status: u16) {
        let markers = markers.iter().map(|m| m.to_string()).collect();
        self.state.lock().unwrap().fail_marker = Some((markers, status));
    }

    pub fn stop_failing(&self) {
        self.state.lock().unwrap().fail_marker = None;
    }

    /// Answer the next `n` deliveries only after `delay`.
    pub fn slow(&self, n: u32, delay: Duration) {
        self.state.lock().unwrap().slow = Some((n, delay));
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Bodies of deliveries answered 2xx.
    pub fn accepted(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .map(|r| r.json())
            .collect()
    }

    pub async fn wait_for(
        &self,
        what: &str,
        n: usize,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        wait_until(what, || async {
            self.accepted().iter().filter(|v| pred(v)).count() >= n
        })
        .await;
        self.accepted().into_iter().filter(|v| pred(v)).collect()
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    // Record on arrival: a sender that gives up drops this handler mid-sleep.
    let (answered, delay) = {
        let mut s = state.lock().unwrap();
        let delay = match &mut s.slow {
            Some((n, d)) if *n > 0 => {
                *n -= 1;
                Some(*d)
            }
            _ => None,
        };
        let text = String::from_utf8_lossy(&body).to_string();
        let marked = s
            .fail_marker
            .as_ref()
            .filter(|(m, _)| m.iter().all(|m| text.contains(m.as_str())))
            .map(|(_, status)| *status);
        let answered = marked.or_else(|| s.script.pop_front()).unwrap_or(200);
        s.received.push(Received {
            path_and_query: uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            headers,
            body,
            answered,
        });
        (answered, delay)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    StatusCode::from_u16(answered).unwrap()
}

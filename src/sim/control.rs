//! The control API (`/sim/v1/...`): the simulated customer (scan, approve,
//! decline), the ledger and call log, faults, the clock and the automatic
//! customer. Used by the demo phone panel, tests and scripts; no auth.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::app::{App, random_base64, random_slug};
use super::clock::{iso_7_digits, iso_millis, unix_nanos};
use super::config::AutoCustomer;
use super::delivery::{Attempt, Job};
use super::faults::Faults;
use super::render::{landing_url, ledger_json};
use super::state::{
    CHECKED_IN_EVENT, CustomerToken, PERSONAL_QR_V2_PREFIX, PaymentState, PersonalQrCode,
};
use super::sync::lock;
use super::validate::valid_msisdn;

/// What the customer's app shows when the store does not take the check-in.
pub const CANT_CONNECT: &str = "Can't connect to store. Try scanning again or pay in another way";

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// A rejected control request (small, unlike a `Response`).
struct Rejected(StatusCode, String);

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

/// Optional JSON body; empty means default.
fn optional_body<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> Result<T, Rejected> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| Rejected(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerBody {
    phone_number: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScanContentBody {
    qr_content: String,
    phone_number: Option<String>,
}

fn customer_phone(app: &App, given: Option<String>) -> Result<String, Rejected> {
    let phone = given.unwrap_or_else(|| app.config.default_customer_phone.clone());
    if valid_msisdn(&phone) {
        Ok(phone)
    } else {
        Err(Rejected(
            StatusCode::BAD_REQUEST,
            "phoneNumber must be an MSISDN (10 to 15 digits)".to_string(),
        ))
    }
}

/// `POST /sim/v1/merchant-callback/{merchantQrId}/scan`.
pub async fn scan(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let body: CustomerBody = match optional_body(&body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    match customer_phone(&app, body.phone_number) {
        Ok(phone) => do_scan(&app, &id, phone).await,
        Err(r) => r.into_response(),
    }
}

/// `POST /sim/v1/scan` with `{"qrContent": ..., "phoneNumber"?: ...}`.
pub async fn scan_content(State(app): State<App>, body: Bytes) -> Response {
    let body: ScanContentBody = match optional_body(&body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let phone = match customer_phone(&app, body.phone_number) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let id = app
        .state()
        .qrs
        .values()
        .find(|qr| qr.qr_content() == body.qr_content)
        .map(|qr| qr.merchant_qr_id.clone());
    match id {
        Some(id) => do_scan(&app, &id, phone).await,
        None => error(StatusCode::NOT_FOUND, "QR code not found"),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonalQrBody {
    /// `1.0` (clear text, the phone number inside) or `2.0` (tokenized, the default).
    version: Option<String>,
}

/// `POST /sim/v1/customers/{phoneNumber}/personal-qr` with optional `{"version": "2.0"}`: the
/// personal QR the customer's app shows now (`{"personalQr", "version"}`). A 2.0 code is a
/// fresh token valid for `personal_qr_ttl`; a 1.0 code carries the number in clear text.
pub async fn personal_qr(
    State(app): State<App>,
    Path(phone): Path<String>,
    body: Bytes,
) -> Response {
    let body: PersonalQrBody = match optional_body(&body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    if !valid_msisdn(&phone) {
        return error(StatusCode::BAD_REQUEST, "phoneNumber must be an MSISDN");
    }
    let content = match body.version.as_deref() {
        Some("1.0") => format!("https://qr.vipps.no/28/2/01/031/{phone}?v=1"),
        None | Some("2.0") => {
            let token = random_slug(24);
            let mut state = app.state();
            let now = app.now();
            let ttl = app.config.personal_qr_ttl;
            state
                .personal_qrs
                .retain(|_, c| now.duration_since(c.issued_at).unwrap_or_default() < ttl);
            state.personal_qrs.insert(
                token.clone(),
                PersonalQrCode {
                    phone: phone.clone(),
                    issued_at: now,
                },
            );
            format!("{PERSONAL_QR_V2_PREFIX}{token}")
        }
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("version {other:?} is not 1.0 or 2.0"),
            );
        }
    };
    let version = if content.starts_with(PERSONAL_QR_V2_PREFIX) {
        "2.0"
    } else {
        "1.0"
    };
    Json(json!({"personalQr": content, "version": version})).into_response()
}

/// `POST /sim/v1/payment-qr/scan` with `{"qrContent": ..., "phoneNumber"?: ...}`: the customer
/// scans a payment-specific QR (`userFlow: QR`, its target URL); the request opens in their
/// app, ready to approve or decline. Answers the payment as the ledger shows it.
pub async fn scan_payment_qr(State(app): State<App>, body: Bytes) -> Response {
    let body: ScanContentBody = match optional_body(&body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let phone = match customer_phone(&app, body.phone_number) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let mut state = app.state();
    app.settle(&mut state);
    let Some(payment) = state.payments.values_mut().find(|p| {
        p.user_flow == "QR"
            && (p.redirect_url.as_deref() == Some(body.qr_content.as_str())
                || body.qr_content == landing_url(&p.landing_token))
    }) else {
        return error(StatusCode::NOT_FOUND, "no payment has this QR");
    };
    if payment.state != PaymentState::Created {
        return error(
            StatusCode::CONFLICT,
            format!("the payment is {}, not CREATED", payment.state.as_str()),
        );
    }
    match &payment.customer_phone {
        Some(other) if *other != phone => {
            return error(
                StatusCode::FORBIDDEN,
                "another customer has already scanned this QR",
            );
        }
        _ => payment.customer_phone = Some(phone),
    }
    tracing::info!(reference = %payment.reference, "customer scanned a payment QR");
    Json(ledger_json(payment)).into_response()
}

async fn do_scan(app: &App, merchant_qr_id: &str, phone: String) -> Response {
    let now = app.now();
    let msn = app.config.msn.clone();
    let (token, subscribers) = {
        let mut state = app.state();
        if !state.qrs.contains_key(merchant_qr_id) {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "QR code not found", "appMessage": "QR code not found"})),
            )
                .into_response();
        }
        // 45 random bytes → 60 base64 characters, like Vipps' tokens.
        let token = random_base64(45);
        state.customer_tokens.retain(|_, t| t.expires_at > now);
        state.customer_tokens.insert(
            token.clone(),
            CustomerToken {
                phone,
                merchant_qr_id: merchant_qr_id.to_string(),
                scanned_at: now,
                expires_at: now + app.config.customer_token_ttl,
            },
        );
        (token, state.subscribers(&msn, CHECKED_IN_EVENT))
    };
    let payload = json!({
        "customerToken": token,
        "merchantQrId": merchant_qr_id,
        "msn": msn,
        "initiatedAt": iso_7_digits(now),
    });
    let body = Arc::new(serde_json::to_vec(&payload).unwrap_or_default());
    let mut delivered = false;
    let mut status = None;
    let mut failure = None;
    if subscribers.is_empty() {
        failure = Some("no webhook is registered for user.checked-in.v1".to_string());
    }
    for registration in subscribers {
        let fate = lock(&app.faults).webhook_fate();
        let job = Job {
            registration,
            event: CHECKED_IN_EVENT.to_string(),
            reference: None,
            body: body.clone(),
            fate,
        };
        match app.deliverer.deliver_once(&job).await {
            Attempt::Delivered(s) => {
                delivered = true;
                status = Some(s);
            }
            Attempt::Rejected(s) => {
                status = Some(s);
                failure = Some(format!("the store answered {s}"));
            }
            Attempt::NoAnswer(e) => failure = Some(e),
        }
    }
    tracing::info!(merchant_qr_id, delivered, "customer scanned");
    let mut answer = json!({
        "customerToken": token,
        "merchantQrId": merchant_qr_id,
        "delivered": delivered,
        "status": status,
    });
    if !delivered {
        answer["appMessage"] = json!(CANT_CONNECT);
        answer["reason"] = json!(failure);
    }
    Json(answer).into_response()
}

/// What the customer does with a payment request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Approve,
    Decline,
}

/// Apply the customer's choice. `phone` is who acts (None: the payment's customer).
pub fn customer_choice(
    app: &App,
    reference: &str,
    phone: Option<String>,
    choice: Choice,
) -> Result<Value, (StatusCode, String)> {
    let mut state = app.state();
    app.settle(&mut state);
    let now = app.now();
    let psp = app.psp();
    let default_phone = app.config.default_customer_phone.clone();
    let payment = state
        .payments
        .get_mut(reference)
        .ok_or((StatusCode::NOT_FOUND, format!("no payment {reference}")))?;
    if let (Some(actor), Some(target)) = (&phone, &payment.customer_phone)
        && actor != target
    {
        return Err((
            StatusCode::FORBIDDEN,
            "this payment request was sent to another customer".to_string(),
        ));
    }
    // A payment-specific QR reaches the customer's app only when they scan it.
    if payment.user_flow == "QR" && payment.customer_phone.is_none() {
        return Err((
            StatusCode::CONFLICT,
            "nobody has scanned this payment's QR yet".to_string(),
        ));
    }
    let mut outbox = Vec::new();
    let result = match choice {
        Choice::Approve => {
            let approver = phone
                .or_else(|| payment.customer_phone.clone())
                .unwrap_or(default_phone);
            payment.authorize(Some(approver), now, psp, &mut outbox)
        }
        Choice::Decline => payment.abort(now, psp, &mut outbox),
    };
    if let Err(s) = result {
        return Err((
            StatusCode::CONFLICT,
            format!("the payment is {}, not CREATED", s.as_str()),
        ));
    }
    let answer = ledger_json(payment);
    app.emit(&state, outbox);
    Ok(answer)
}

async fn choose(app: App, reference: String, body: Bytes, choice: Choice) -> Response {
    let body: CustomerBody = match optional_body(&body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    if let Some(p) = &body.phone_number
        && !valid_msisdn(p)
    {
        return error(StatusCode::BAD_REQUEST, "phoneNumber must be an MSISDN");
    }
    match customer_choice(&app, &reference, body.phone_number, choice) {
        Ok(v) => Json(v).into_response(),
        Err((status, message)) => error(status, message),
    }
}

/// `POST /sim/v1/payments/{reference}/approve`.
pub async fn approve(
    State(app): State<App>,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    choose(app, reference, body, Choice::Approve).await
}

/// `POST /sim/v1/payments/{reference}/decline`.
pub async fn decline(
    State(app): State<App>,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    choose(app, reference, body, Choice::Decline).await
}

/// `POST /sim/v1/payments/{reference}/open`: the customer opens the request and
/// starts authorizing; until they approve or decline, cancel answers 6250.
pub async fn open(State(app): State<App>, Path(reference): Path<String>) -> Response {
    let mut state = app.state();
    app.settle(&mut state);
    match state.payments.get_mut(&reference) {
        None => error(StatusCode::NOT_FOUND, format!("no payment {reference}")),
        Some(p) if p.state != PaymentState::Created => error(
            StatusCode::CONFLICT,
            format!("the payment is {}, not CREATED", p.state.as_str()),
        ),
        Some(p) => {
            p.customer_authorizing = true;
            Json(ledger_json(p)).into_response()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerQuery {
    state: Option<String>,
    phone_number: Option<String>,
}

/// `GET /sim/v1/payments[?state=CREATED&phoneNumber=47...]`.
pub async fn payments(State(app): State<App>, Query(q): Query<LedgerQuery>) -> Response {
    let mut state = app.state();
    app.settle(&mut state);
    let list: Vec<Value> = state
        .payment_order
        .iter()
        .filter_map(|r| state.payments.get(r))
        .filter(|p| q.state.as_deref().is_none_or(|s| p.state.as_str() == s))
        .filter(|p| {
            q.phone_number
                .as_deref()
                .is_none_or(|n| p.customer_phone.as_deref() == Some(n))
        })
        .map(ledger_json)
        .collect();
    Json(json!({"payments": list})).into_response()
}

/// `GET /sim/v1/payments/{reference}`.
pub async fn payment(State(app): State<App>, Path(reference): Path<String>) -> Response {
    let mut state = app.state();
    app.settle(&mut state);
    match state.payments.get(&reference) {
        Some(p) => Json(ledger_json(p)).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no payment {reference}")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogQuery {
    reference: Option<String>,
    /// Only calls received after this time (unix nanoseconds).
    since: Option<u64>,
}

/// `GET /sim/v1/log[?reference=...&since=<unix nanos>]`.
pub async fn log(State(app): State<App>, Query(q): Query<LogQuery>) -> Response {
    let calls: Vec<_> = lock(&app.calls)
        .iter()
        .filter(|c| {
            q.reference
                .as_deref()
                .is_none_or(|r| c.reference.as_deref() == Some(r))
        })
        .filter(|c| q.since.is_none_or(|s| c.received_at_unix_nanos > s))
        .cloned()
        .collect();
    Json(json!({"calls": calls})).into_response()
}

/// `GET /sim/v1/webhook-deliveries`.
pub async fn deliveries(State(app): State<App>) -> Response {
    Json(json!({"deliveries": app.deliverer.log()})).into_response()
}

/// `GET /sim/v1/faults`.
pub async fn get_faults(State(app): State<App>) -> Response {
    Json(lock(&app.faults).current().clone()).into_response()
}

/// `POST /sim/v1/faults`: replace the fault set (`{}` clears it).
pub async fn set_faults(State(app): State<App>, body: Bytes) -> Response {
    let faults: Faults = match optional_body(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    if let Some(s) = faults.error_status
        && !super::faults::injectable_status(s)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "errorStatus must be a 5xx status, 423 or 429",
        );
    }
    lock(&app.faults).set(faults.clone());
    tracing::info!(?faults, "faults changed");
    Json(faults).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdvanceBody {
    seconds: Option<u64>,
    millis: Option<u64>,
}

/// `POST /sim/v1/clock/advance` with `{"seconds": N}` or `{"millis": N}`.
pub async fn advance_clock(State(app): State<App>, body: Bytes) -> Response {
    let body: AdvanceBody = match optional_body(&body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let by = Duration::from_secs(body.seconds.unwrap_or(0))
        + Duration::from_millis(body.millis.unwrap_or(0));
    app.clock().advance(by);
    let mut state = app.state();
    app.settle(&mut state);
    clock_json(&app)
}

/// `GET /sim/v1/clock`.
pub async fn clock(State(app): State<App>) -> Response {
    clock_json(&app)
}

fn clock_json(app: &App) -> Response {
    Json(json!({
        "now": iso_millis(app.now()),
        "nowUnixNanos": unix_nanos(app.now()),
        "offsetMillis": app.clock().offset().as_millis(),
    }))
    .into_response()
}

/// `GET /sim/v1/auto-customer`.
pub async fn get_auto_customer(State(app): State<App>) -> Response {
    Json(*lock(&app.auto_customer)).into_response()
}

/// `POST /sim/v1/auto-customer` with `{"approve": true, "afterMs": 500}` or `null`.
pub async fn set_auto_customer(State(app): State<App>, body: Bytes) -> Response {
    let setting: Option<AutoCustomer> = match optional_body(&body) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    *lock(&app.auto_customer) = setting;
    Json(setting).into_response()
}

/// After a PUSH_MESSAGE payment is created: let the automatic customer act.
pub fn schedule_auto_customer(app: &App, reference: String) {
    let Some(setting) = *lock(&app.auto_customer) else {
        return;
    };
    let app = app.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(setting.after_ms)).await;
        let choice = if setting.approve {
            Choice::Approve
        } else {
            Choice::Decline
        };
        let still_open = app
            .state()
            .payments
            .get(&reference)
            .is_some_and(|p| p.state == PaymentState::Created);
        if still_open && let Err((_, e)) = customer_choice(&app, &reference, None, choice) {
            tracing::debug!(reference, error = %e, "automatic customer did not act");
        }
    });
}

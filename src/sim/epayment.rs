//! ePayment API: create, get, events, capture, refund, cancel and the test
//! force-approve endpoint (BRIEF §5).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};

use super::app::{App, Idem, header, idempotency_lookup, idempotency_store, random_slug};
use super::auth::{Msn, authorize};
use super::problem::{ApiError, Reply, reference_not_found};
use super::render::{events_json, landing_url, payment_json};
use super::state::{OpCounts, Payment, PaymentState, RateApi, State as Sim};
use super::validate::{self, valid_reference};

/// The `Idempotency-Key` header: required, at most 50 characters.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    match header(headers, "Idempotency-Key") {
        None | Some("") => Err(ApiError::invalid(
            "Idempotency-Key",
            "The Idempotency-Key header is required.",
        )),
        Some(k) if k.chars().count() > 50 => Err(ApiError::invalid(
            "Idempotency-Key",
            "The Idempotency-Key header must be at most 50 characters.",
        )),
        Some(k) => Ok(k.to_string()),
    }
}

/// Parse a JSON body; an empty body is `empty`.
fn parse_body(body: &Bytes, empty: Value) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(empty);
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("body", format!("The request body is not valid JSON: {e}")))
}

fn check_path_reference(reference: &str) -> Result<(), ApiError> {
    if valid_reference(reference) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "reference",
            "The reference must match ^[a-zA-Z0-9-]{8,64}$.",
        ))
    }
}

fn modification_json(p: &Payment, psp_reference: &str) -> Value {
    let full = payment_json(p);
    json!({
        "amount": full["amount"],
        "state": full["state"],
        "aggregate": full["aggregate"],
        "pspReference": psp_reference,
        "reference": p.reference,
    })
}

/// `POST /epayment/v1/payments`.
pub async fn create(State(app): State<App>, uri: Uri, headers: HeaderMap, body: Bytes) -> Reply {
    let path = uri.path();
    let (reply, created) = match create_keyed(&app, &headers, &body, path) {
        Ok(r) => r,
        Err(e) => (e.reply(path), None),
    };
    if let Some(reference) = created {
        super::control::schedule_auto_customer(&app, reference);
    }
    reply
}

/// Returns the reply and, when a PUSH_MESSAGE payment was created, its reference.
fn create_keyed(
    app: &App,
    headers: &HeaderMap,
    body: &Bytes,
    path: &str,
) -> Result<(Reply, Option<String>), ApiError> {
    let msn = authorize(app, headers, Msn::Required)?;
    let key = idempotency_key(headers)?;
    let request = parse_body(body, Value::Null)?;
    let limit_reference = request
        .get("reference")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut state = app.state();
    app.rate_limit(&mut state, RateApi::Create, &msn, &limit_reference)?;
    app.settle(&mut state);
    let endpoint = format!("{msn} POST {path}");
    match idempotency_lookup(&state, &endpoint, &key, &request) {
        Idem::Replay(reply) => return Ok((reply, None)),
        Idem::Conflict => {
            return Err(ApiError::coded(
                409,
                4020,
                "Idempotency error",
                format!("Idempotency-Key {key} already exists with a different request."),
            ));
        }
        Idem::Fresh => {}
    }
    let (reply, pushed) = match create_payment(app, &mut state, &msn, &key, &request) {
        Ok((reply, pushed)) => (reply, pushed),
        Err(e) => (e.reply(path), None),
    };
    idempotency_store(&mut state, &endpoint, &key, request, &reply);
    Ok((reply, pushed))
}

fn create_payment(
    app: &App,
    state: &mut Sim,
    msn: &str,
    key: &str,
    request: &Value,
) -> Result<(Reply, Option<String>), ApiError> {
    let now = app.now();
    let req = validate::create_request(request, &app.config, state, now)?;
    if state.payments.contains_key(&req.reference) {
        return Err(ApiError::coded(
            409,
            4150,
            "Reference exists",
            format!("A payment with reference {} already exists.", req.reference),
        ));
    }
    let landing_token = random_slug(24);
    let landing = landing_url(&landing_token);
    let redirect_url = match req.user_flow.as_str() {
        "PUSH_MESSAGE" => None,
        "QR" => match req.qr_format.as_deref() {
            Some("TEXT/TARGETURL") => Some(landing),
            format => {
                let slug = random_slug(12);
                state.qr_images.insert(slug.clone(), landing);
                let ext = if format == Some("IMAGE/PNG") {
                    "png"
                } else {
                    "svg"
                };
                Some(format!("{}qr-images/{slug}.{ext}", app.base_url))
            }
        },
        _ => Some(landing),
    };
    let mut payment = Payment {
        reference: req.reference.clone(),
        msn: msn.to_string(),
        currency: req.currency,
        amount: req.value,
        state: PaymentState::Created,
        authorized: 0,
        captured: 0,
        cancelled: 0,
        refunded: 0,
        psp_reference: app.psp(),
        payment_method: req.payment_method,
        user_flow: req.user_flow.clone(),
        customer: req.customer,
        customer_phone: req.customer_phone,
        scanned_qr: req.scanned_qr,
        customer_authorizing: false,
        approved_by: None,
        redirect_url: redirect_url.clone(),
        landing_token,
        metadata: req.metadata,
        receipt: req.receipt,
        description: req.description,
        profile_scope: req.profile_scope,
        created_at: now,
        expires_at: req.expires_at.unwrap_or(now + app.config.payment_expiry),
        events: Vec::new(),
        counts: OpCounts::default(),
    };
    let mut outbox = Vec::new();
    payment.record_created(key, now, &mut outbox);
    state.payment_order.push(req.reference.clone());
    state.payments.insert(req.reference.clone(), payment);
    app.emit(state, outbox);
    tracing::info!(reference = %req.reference, amount = req.value, flow = %req.user_flow, "payment created");
    let mut body = json!({"reference": req.reference});
    if let Some(url) = redirect_url {
        body["redirectUrl"] = json!(url);
    }
    let pushed = (req.user_flow == "PUSH_MESSAGE").then(|| req.reference.clone());
    Ok((Reply::json(StatusCode::CREATED, &body), pushed))
}

fn read(
    app: &App,
    headers: &HeaderMap,
    reference: &str,
    api: RateApi,
    render: fn(&Payment) -> Value,
) -> Result<Reply, ApiError> {
    let msn = authorize(app, headers, Msn::Required)?;
    check_path_reference(reference)?;
    let mut state = app.state();
    app.rate_limit(&mut state, api, &msn, reference)?;
    app.settle(&mut state);
    let payment = state
        .payments
        .get(reference)
        .ok_or_else(|| reference_not_found(reference))?;
    Ok(Reply::json(StatusCode::OK, &render(payment)))
}

/// `GET /epayment/v1/payments/{reference}`.
pub async fn get(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Reply {
    read(
        &app,
        &headers,
        &reference,
        RateApi::GetPayment,
        payment_json,
    )
    .unwrap_or_else(|e| e.reply(uri.path()))
}

/// `GET /epayment/v1/payments/{reference}/events`.
pub async fn events(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Reply {
    read(&app, &headers, &reference, RateApi::GetEvents, events_json)
        .unwrap_or_else(|e| e.reply(uri.path()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Capture,
    Refund,
    Cancel,
}

impl Kind {
    fn rate_api(self) -> RateApi {
        match self {
            Kind::Capture => RateApi::Capture,
            Kind::Refund => RateApi::Refund,
            Kind::Cancel => RateApi::Cancel,
        }
    }
}

fn conflict(kind: Kind, key: &str) -> ApiError {
    match kind {
        Kind::Capture => ApiError::coded(
            400,
            4010,
            "Capture idempotency conflict",
            "The capture request in an idempotent retry must be identical to the previous request(s).",
        ),
        Kind::Refund => ApiError::coded(
            400,
            4150,
            "Refund idempotency conflict",
            "The refund request in an idempotent retry must be identical to the previous request(s).",
        ),
        Kind::Cancel => ApiError::coded(
            409,
            4020,
            "Idempotency error",
            format!("Idempotency-Key {key} already exists with a different request."),
        ),
    }
}

fn modify(
    app: &App,
    headers: &HeaderMap,
    path: &str,
    reference: &str,
    body: &Bytes,
    kind: Kind,
) -> Result<Reply, ApiError> {
    let msn = authorize(app, headers, Msn::Required)?;
    let key = idempotency_key(headers)?;
    check_path_reference(reference)?;
    let empty = if kind == Kind::Cancel {
        json!({})
    } else {
        Value::Null
    };
    let request = parse_body(body, empty)?;
    let mut state = app.state();
    app.rate_limit(&mut state, kind.rate_api(), &msn, reference)?;
    app.settle(&mut state);
    let endpoint = format!("{msn} POST {path}");
    match idempotency_lookup(&state, &endpoint, &key, &request) {
        Idem::Replay(reply) => return Ok(reply),
        Idem::Conflict => return Err(conflict(kind, &key)),
        Idem::Fresh => {}
    }
    let mut outbox = Vec::new();
    let result = apply(
        app,
        &mut state,
        reference,
        &request,
        &key,
        kind,
        &mut outbox,
    );
    app.emit(&state, outbox);
    let reply = result.unwrap_or_else(|e| e.reply(path));
    idempotency_store(&mut state, &endpoint, &key, request, &reply);
    Ok(reply)
}

fn apply(
    app: &App,
    state: &mut Sim,
    reference: &str,
    request: &Value,
    key: &str,
    kind: Kind,
    outbox: &mut Vec<super::state::PaymentNotice>,
) -> Result<Reply, ApiError> {
    let now = app.now();
    let psp = app.psp();
    let amount = match kind {
        Kind::Capture | Kind::Refund => {
            if !request.is_object() {
                return Err(ApiError::invalid(
                    "modificationAmount",
                    "The modificationAmount field is required.",
                ));
            }
            Some(validate::amount(
                request.get("modificationAmount"),
                "modificationAmount",
            )?)
        }
        Kind::Cancel => None,
    };
    let transaction_only = match request.get("cancelTransactionOnly") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::invalid(
                "cancelTransactionOnly",
                "cancelTransactionOnly must be a boolean.",
            ));
        }
    };
    let payment = state
        .payments
        .get_mut(reference)
        .ok_or_else(|| reference_not_found(reference))?;
    if let Some((currency, _)) = amount
        && currency != payment.currency
    {
        return Err(ApiError::coded(
            400,
            5040,
            "Invalid currency for merchant",
            format!("The payment is in {}.", payment.currency.code()),
        ));
    }
    let value = amount.map(|(_, v)| v).unwrap_or_default();
    let event = match kind {
        Kind::Capture => payment.capture(
            value,
            app.config.full_capture_required,
            key,
            now,
            psp,
            outbox,
        )?,
        Kind::Refund => payment.refund(value, key, now, psp, outbox)?,
        Kind::Cancel => payment.cancel(transaction_only, key, now, psp, outbox)?,
    };
    tracing::info!(reference, operation = ?kind, amount = event.amount, "payment modified");
    Ok(Reply::json(
        StatusCode::OK,
        &modification_json(payment, &event.psp_reference),
    ))
}

/// `POST /epayment/v1/payments/{reference}/capture`.
pub async fn capture(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: Bytes,
) -> Reply {
    modify(&app, &headers, uri.path(), &reference, &body, Kind::Capture)
        .unwrap_or_else(|e| e.reply(uri.path()))
}

/// `POST /epayment/v1/payments/{reference}/refund`.
pub async fn refund(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: Bytes,
) -> Reply {
    modify(&app, &headers, uri.path(), &reference, &body, Kind::Refund)
        .unwrap_or_else(|e| e.reply(uri.path()))
}

/// `POST /epayment/v1/payments/{reference}/cancel`.
pub async fn cancel(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: Bytes,
) -> Reply {
    modify(&app, &headers, uri.path(), &reference, &body, Kind::Cancel)
        .unwrap_or_else(|e| e.reply(uri.path()))
}

/// `POST /epayment/v1/test/payments/{reference}/approve` (test environment only).
pub async fn force_approve(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: Bytes,
) -> Reply {
    force_approve_inner(&app, &headers, &reference, &body).unwrap_or_else(|e| e.reply(uri.path()))
}

fn force_approve_inner(
    app: &App,
    headers: &HeaderMap,
    reference: &str,
    body: &Bytes,
) -> Result<Reply, ApiError> {
    authorize(app, headers, Msn::Required)?;
    check_path_reference(reference)?;
    let request = parse_body(body, json!({}))?;
    let obj = request
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "The request body must be a JSON object."))?;
    let mut state = app.state();
    app.settle(&mut state);
    let now = app.now();
    let approver = match (
        obj.get("customer"),
        obj.get("token").and_then(Value::as_str),
    ) {
        (Some(Value::Object(c)), _) => {
            let (_, phone) = validate::customer(c, "customer", &app.config, &state, now)?;
            Some(phone)
        }
        (_, Some(_)) => None,
        _ => {
            return Err(ApiError::coded(
                400,
                4140,
                "Missing required parameter",
                "Send either customer or token.",
            ));
        }
    };
    let payment = state
        .payments
        .get_mut(reference)
        .ok_or_else(|| reference_not_found(reference))?;
    if let Some(token) = obj.get("token").and_then(Value::as_str)
        && approver.is_none()
        && token != payment.landing_token
    {
        return Err(ApiError::coded(
            400,
            10010,
            "Approve failed",
            "The token does not belong to this payment.",
        ));
    }
    if let (Some(phone), Some(expected)) = (&approver, &payment.customer_phone)
        && phone != expected
    {
        return Err(ApiError::coded(
            400,
            10010,
            "Approve failed",
            "The payment was sent to another customer.",
        ));
    }
    let approved_by = approver.or_else(|| payment.customer_phone.clone());
    let mut outbox = Vec::new();
    let psp = app.psp();
    let result = payment.authorize(approved_by, now, psp, &mut outbox);
    app.emit(&state, outbox);
    match result {
        Ok(()) => Ok(Reply::empty(StatusCode::OK)),
        Err(PaymentState::Authorized) => Err(ApiError::coded(
            400,
            6230,
            "Payment is already reserved",
            "The payment has already been authorized.",
        )),
        Err(other) => Err(ApiError::coded(
            400,
            10020,
            "Approve not allowed",
            format!("The payment is {}.", other.as_str()),
        )),
    }
}

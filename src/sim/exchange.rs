//! QR API exchanges (BRIEF §3.1, §10.1): a scanned personal QR (`POST /qr/v1/exchange`) or a
//! check-in's customer token (`POST /qr/v1/exchange/customer`) for the customer's MSISDN.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::{Msn, authorize};
use super::problem::{ApiError, Reply};

fn bad_request(name: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::status(StatusCode::BAD_REQUEST, "Bad request", reason.clone())
        .with_field(name, reason)
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn body_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(bad_request(
            "body",
            "The request body must be a JSON object.",
        )),
    }
}

/// `requestedData`: an array of `MSISDN` (the only value); `required` when the endpoint
/// has no default.
fn requested_data(obj: &Map<String, Value>, required: bool) -> Result<(), ApiError> {
    match obj.get("requestedData") {
        None | Some(Value::Null) if required => Err(bad_request(
            "requestedData",
            "The requestedData field is required.",
        )),
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items))
            if !items.is_empty() && items.iter().all(|i| i.as_str() == Some("MSISDN")) =>
        {
            Ok(())
        }
        Some(_) => Err(bad_request(
            "requestedData",
            "requestedData must be a non-empty array of MSISDN.",
        )),
    }
}

/// `POST /qr/v1/exchange`: the complete content of a personal QR → `{msisdn, version,
/// timestamp?}` (`timestamp`, the generation time, only for 2.0 codes).
pub async fn personal_qr(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    personal_qr_inner(&app, &headers, &body).unwrap_or_else(|e| e.reply(uri.path()))
}

fn personal_qr_inner(app: &App, headers: &HeaderMap, body: &Bytes) -> Result<Reply, ApiError> {
    authorize(app, headers, Msn::Optional)?;
    let obj = body_object(body)?;
    let Some(content) = obj.get("qrCode").and_then(Value::as_str) else {
        return Err(bad_request(
            "qrCode",
            "The complete data contained in the QR code is required.",
        ));
    };
    requested_data(&obj, false)?;
    let owner = app
        .state()
        .personal_qr_owner(content, app.now(), app.config.personal_qr_ttl)
        .ok_or_else(|| {
            bad_request(
                "qrCode",
                "The QR code is not a valid or current personal QR code.",
            )
        })?;
    let mut answer = json!({"msisdn": owner.phone, "version": owner.version});
    if let Some(at) = owner.issued_at {
        answer["timestamp"] = json!(epoch_secs(at));
    }
    Ok(Reply::json(StatusCode::OK, &answer))
}

/// `POST /qr/v1/exchange/customer`: a check-in's `customerToken` (under 15 minutes old) →
/// `{msisdn, timestamp}` (`timestamp`: when the customer scanned).
pub async fn customer(State(app): State<App>, uri: Uri, headers: HeaderMap, body: Bytes) -> Reply {
    customer_inner(&app, &headers, &body).unwrap_or_else(|e| e.reply(uri.path()))
}

fn customer_inner(app: &App, headers: &HeaderMap, body: &Bytes) -> Result<Reply, ApiError> {
    authorize(app, headers, Msn::Optional)?;
    let obj = body_object(body)?;
    let Some(customer) = obj.get("customer").and_then(Value::as_object) else {
        return Err(bad_request("customer", "Customer object is required."));
    };
    requested_data(&obj, true)?;
    let Some(token) = customer.get("customerToken").and_then(Value::as_str) else {
        return Err(bad_request(
            "customer",
            "customer.customerToken is required.",
        ));
    };
    let now = app.now();
    let state = app.state();
    let found = state
        .customer_tokens
        .get(token)
        .filter(|t| t.expires_at > now)
        .ok_or_else(|| bad_request("customer", "The customer token is invalid or has expired."))?;
    Ok(Reply::json(
        StatusCode::OK,
        &json!({"msisdn": found.phone, "timestamp": epoch_secs(found.scanned_at)}),
    ))
}

//! Around every Vipps API call: the call log, added latency and injected 5xx.

use std::time::SystemTime;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::app::{App, CallRecord, header};
use super::clock::unix_nanos;
use super::faults::EndpointClass;
use super::problem::ApiError;
use super::sync::lock;

/// The call log keeps at most this many calls (the oldest half goes first).
pub const MAX_LOGGED_CALLS: usize = 200_000;

/// Largest request body the simulator reads.
pub const MAX_BODY: usize = 1024 * 1024;

fn reference_in_path(path: &str) -> Option<String> {
    let rest = path
        .strip_prefix("/epayment/v1/test/payments/")
        .or_else(|| path.strip_prefix("/epayment/v1/payments/"))?;
    let reference = rest.split('/').next()?;
    (!reference.is_empty()).then(|| reference.to_string())
}

fn injected(status: u16, path: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let error = if status == StatusCode::INTERNAL_SERVER_ERROR {
        ApiError::coded(
            500,
            3010,
            "Internal error",
            "Internal error. This may be caused by an incorrect API request. (Injected by kasse-sim.)",
        )
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        let mut e = ApiError::gateway(status, "Rate limit is exceeded. Try again in 1 seconds.");
        e.retry_after_secs = Some(1);
        e
    } else {
        ApiError::status(
            status,
            status.canonical_reason().unwrap_or("Server error"),
            "Injected by kasse-sim.",
        )
    };
    error.reply(path).into_response()
}

/// Log, delay and possibly fail Vipps API calls; pass everything else through.
pub async fn vipps_api(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let Some(class) = EndpointClass::of(&method, &path) else {
        return next.run(request).await;
    };
    let received = SystemTime::now();
    let key = header(request.headers(), "Idempotency-Key").map(str::to_string);
    let (request, reference) = if class == EndpointClass::Create {
        let (parts, body) = request.into_parts();
        let bytes = match to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return ApiError::invalid("body", "The request body is too large.")
                    .reply(&path)
                    .into_response();
            }
        };
        let reference = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
            v.get("reference")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        (Request::from_parts(parts, Body::from(bytes)), reference)
    } else {
        (request, reference_in_path(&path))
    };

    let latency = lock(&app.faults).latency(class);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (fault, after_effect) = {
        let mut faults = lock(&app.faults);
        (faults.injected_error(class), faults.fail_after_effect())
    };
    let response = match fault {
        Some(status) if after_effect => {
            let _ = next.run(request).await;
            injected(status, &path)
        }
        Some(status) => injected(status, &path),
        None => next.run(request).await,
    };
    let mut calls = lock(&app.calls);
    if calls.len() >= MAX_LOGGED_CALLS {
        calls.drain(..MAX_LOGGED_CALLS / 2);
    }
    calls.push(CallRecord {
        method: method.to_string(),
        path,
        reference,
        idempotency_key: key,
        status: response.status().as_u16(),
        received_at_unix_nanos: unix_nanos(received),
        injected_fault: fault.is_some(),
    });
    response
}

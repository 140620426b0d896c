//! Around every Vipps API call: the call log, added latency, held requests,
//! injected 5xx, and processing to the end when the client goes away.

use std::time::{Duration, SystemTime};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

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

/// Log, delay, hold and possibly fail Vipps API calls; pass everything else
/// through.
///
/// Once a Vipps API request has been received in full it is processed to the
/// end, like real Vipps does, whatever the client does meanwhile: the rest
/// runs in its own task, and a client that times out or hangs up only loses
/// the answer. The call log records it either way (`clientGone`). Only
/// stopping the simulator ends a held or delayed call unprocessed, like a
/// killed process.
pub async fn vipps_api(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let Some(class) = EndpointClass::of(&method, &path) else {
        return next.run(request).await;
    };
    let received = app.clock().base().now();
    let key = header(request.headers(), "Idempotency-Key").map(str::to_string);
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let response = ApiError::invalid("body", "The request body is too large.")
                .reply(&path)
                .into_response();
            let call = Call {
                method: method.to_string(),
                path,
                reference: None,
                key,
                received,
                held: Duration::ZERO,
                injected_fault: false,
            };
            record(&app, call, response.status().as_u16(), false);
            return response;
        }
    };
    let reference = if class == EndpointClass::Create {
        serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
            v.get("reference")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    } else {
        reference_in_path(&path)
    };
    let request = Request::from_parts(parts, Body::from(bytes));

    // Faults are drawn when the call arrives ("the next create" is the next received).
    let (latency, held, fault, after_effect) = {
        let mut faults = lock(&app.faults);
        (
            faults.latency(class),
            faults.hold(class),
            faults.injected_error(class),
            faults.fail_after_effect(),
        )
    };
    let call = Call {
        method: method.to_string(),
        path,
        reference,
        key,
        received,
        held,
        injected_fault: fault.is_some(),
    };
    let instance = call.path.clone();
    let (answer, client) = oneshot::channel::<Response>();
    let mut stopped = app.stopped.clone();
    tokio::spawn(async move {
        let wait = latency + held;
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopped.wait_for(|stop| *stop) => return,
            }
        }
        let response = match fault {
            Some(status) if after_effect => {
                let _ = next.run(request).await;
                injected(status, &call.path)
            }
            Some(status) => injected(status, &call.path),
            None => next.run(request).await,
        };
        // Log before answering, so a client that reads the log after its answer sees the call.
        let gone = answer.is_closed();
        record(&app, call, response.status().as_u16(), gone);
        let _ = answer.send(response);
    });
    match client.await {
        Ok(response) => response,
        // The task ended without an answer: the simulator is stopping.
        Err(_) => ApiError::status(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "The simulator is shutting down.",
        )
        .reply(&instance)
        .into_response(),
    }
}

/// What the log needs to know about a received call.
struct Call {
    method: String,
    path: String,
    reference: Option<String>,
    key: Option<String>,
    received: SystemTime,
    held: Duration,
    injected_fault: bool,
}

fn record(app: &App, call: Call, status: u16, client_gone: bool) {
    let mut calls = lock(&app.calls);
    if calls.len() >= MAX_LOGGED_CALLS {
        calls.drain(..MAX_LOGGED_CALLS / 2);
    }
    calls.push(CallRecord {
        method: call.method,
        path: call.path,
        reference: call.reference,
        idempotency_key: call.key,
        status,
        received_at_unix_nanos: unix_nanos(call.received),
        completed_at_unix_nanos: unix_nanos(app.clock().base().now()),
        held_ms: u64::try_from(call.held.as_millis()).unwrap_or(u64::MAX),
        client_gone,
        injected_fault: call.injected_fault,
    });
}

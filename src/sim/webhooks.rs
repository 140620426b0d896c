//! Webhooks API: register, list, delete (BRIEF §6.1).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};

use super::app::{App, random_base64, uuid};
use super::auth::{WebhookScope, authorize_webhooks};
use super::problem::{ApiError, Reply};
use super::state::{CHECKED_IN_EVENT, Registration, SUPPORTED_EVENTS};

/// Registrations allowed per event type (2026 docs; `user.checked-in.v1`: 1).
pub const MAX_PER_EVENT: usize = 25;

fn bad(name: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    let mut e = ApiError::invalid(name, reason.clone());
    e.title = "Bad Request".to_string();
    e
}

/// Whether a registration belongs to the caller: a sales unit's own, or the partner's
/// (the two kinds are separate, also for the limits).
fn in_scope(r: &Registration, scope: &WebhookScope) -> bool {
    match scope {
        WebhookScope::SalesUnit(msn) => r.partner_msns.is_none() && r.msn == *msn,
        WebhookScope::Partner(_) => r.partner_msns.is_some(),
    }
}

/// `POST /webhooks/v1/webhooks` → 201 `{id, secret}`.
pub async fn register(State(app): State<App>, uri: Uri, headers: HeaderMap, body: Bytes) -> Reply {
    register_inner(&app, &headers, &body).unwrap_or_else(|e| e.reply(uri.path()))
}

fn register_inner(app: &App, headers: &HeaderMap, body: &Bytes) -> Result<Reply, ApiError> {
    let scope = authorize_webhooks(app, headers)?;
    let request: Value =
        serde_json::from_slice(body).map_err(|_| bad("body", "The request body must be JSON."))?;
    let url_text = match request.get("url") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        _ => {
            return Err(bad(
                "url",
                "The property is required and cannot be null or empty.",
            ));
        }
    };
    let url = url::Url::parse(url_text)
        .map_err(|_| bad("url", format!("{url_text:?} is not an absolute URL.")))?;
    let https_only = app.config.require_https_webhooks;
    if url.scheme() != "https" && (https_only || url.scheme() != "http") {
        return Err(bad("url", "The URL must use HTTPS."));
    }
    let events: Vec<String> = match request.get("events") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|e| e.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("events", "Events must be strings."))?,
        _ => {
            return Err(bad(
                "events",
                "The property is required and cannot be null or empty.",
            ));
        }
    };
    let unsupported: Vec<&str> = events
        .iter()
        .map(String::as_str)
        .filter(|e| !SUPPORTED_EVENTS.contains(e))
        .collect();
    if !unsupported.is_empty() {
        return Err(bad(
            "events",
            format!("Unsupported values: {}", unsupported.join(", ")),
        ));
    }
    let mut state = app.state();
    for event in &events {
        let existing = state
            .webhooks
            .iter()
            .filter(|r| in_scope(r, &scope) && r.wants(event))
            .count();
        let limit = if event == CHECKED_IN_EVENT {
            1
        } else {
            MAX_PER_EVENT
        };
        if existing >= limit {
            return Err(bad(
                "events",
                format!(
                    "At most {limit} webhook(s) can be registered for {event} per {}.",
                    match scope {
                        WebhookScope::SalesUnit(_) => "sales unit",
                        WebhookScope::Partner(_) => "partner",
                    }
                ),
            ));
        }
    }
    let (msn, partner_msns) = match scope {
        WebhookScope::SalesUnit(msn) => (msn, None),
        WebhookScope::Partner(msns) => (String::new(), Some(msns)),
    };
    let registration = Registration {
        id: uuid(),
        msn,
        partner_msns,
        url,
        events,
        // 64 random bytes → an 88-character base64 string, like Vipps' secrets.
        secret: random_base64(64),
    };
    let reply = Reply::json(
        StatusCode::CREATED,
        &json!({"id": registration.id, "secret": registration.secret}),
    );
    tracing::info!(id = %registration.id, url = %registration.url, "webhook registered");
    state.webhooks.push(registration);
    Ok(reply)
}

/// `GET /webhooks/v1/webhooks` → `{webhooks: [{id, url, events}]}` (no secrets).
pub async fn list(State(app): State<App>, uri: Uri, headers: HeaderMap) -> Reply {
    let result = authorize_webhooks(&app, &headers).map(|scope| {
        let state = app.state();
        let hooks: Vec<Value> = state
            .webhooks
            .iter()
            .filter(|r| in_scope(r, &scope))
            .map(|r| json!({"id": r.id, "url": r.url.as_str(), "events": r.events}))
            .collect();
        Reply::json(StatusCode::OK, &json!({"webhooks": hooks}))
    });
    result.unwrap_or_else(|e| e.reply(uri.path()))
}

/// `DELETE /webhooks/v1/webhooks/{id}` → 204.
pub async fn delete(
    State(app): State<App>,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let result = authorize_webhooks(&app, &headers).and_then(|scope| {
        let mut state = app.state();
        let before = state.webhooks.len();
        state
            .webhooks
            .retain(|r| !(r.id == id && in_scope(r, &scope)));
        if state.webhooks.len() == before {
            return Err(ApiError::status(
                StatusCode::NOT_FOUND,
                "Not Found",
                format!("No webhook with id {id}."),
            ));
        }
        app.deliverer.forget(&id);
        Ok(Reply::empty(StatusCode::NO_CONTENT))
    });
    result.unwrap_or_else(|e| e.reply(uri.path()))
}

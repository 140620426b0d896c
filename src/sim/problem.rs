//! Error answers in the shapes Vipps uses, and a storable reply type.
//!
//! * ePayment and Webhooks API: RFC 7807 `application/problem+json` with
//!   `type`, `title`, `detail`, `instance`, `status`, `traceId` and
//!   `extraDetails` (`{"name":"ErrorCode","reason":"6010"}` for coded errors,
//!   the field name for validation errors).
//! * QR API: the older `QrErrorResponse` with `invalidParams`.
//! * The gateway (Azure APIM) answers 401 and 429 itself with
//!   `{"statusCode": .., "message": ..}`, not RFC 7807.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::{Value, json};

/// A complete answer that can be stored under an idempotency key and replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    pub retry_after_secs: Option<u64>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: StatusCode, value: &Value) -> Self {
        Self {
            status,
            content_type: Some("application/json; charset=utf-8"),
            body: serde_json::to_vec(value).unwrap_or_default(),
            retry_after_secs: None,
        }
    }

    /// An answer with no body.
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            content_type: None,
            body: Vec::new(),
            retry_after_secs: None,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        match self.content_type {
            Some(ct) => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            None => {
                headers.remove(header::CONTENT_TYPE);
            }
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Which wire shape an error takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// RFC 7807 with `extraDetails` (ePayment, Webhooks API).
    Problem,
    /// `QrErrorResponse` with `invalidParams` (QR API).
    Qr,
    /// Azure APIM's own `{statusCode, message}` (401, 429 from the gateway).
    Gateway,
}

/// An error answer before it is bound to a request path.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub shape: Shape,
    pub title: String,
    pub detail: String,
    /// The Vipps error code, sent as `{"name":"ErrorCode","reason":"<code>"}`.
    pub code: Option<u32>,
    /// Field-level details (`extraDetails` or `invalidParams`).
    pub fields: Vec<(String, String)>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// A coded ePayment error, e.g. `ApiError::coded(400, 6010, "Amount too small", "...")`.
    pub fn coded(status: u16, code: u32, title: &str, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            shape: Shape::Problem,
            title: title.to_string(),
            detail: detail.into(),
            code: Some(code),
            fields: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// A 400 validation error naming a field, with no code.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            shape: Shape::Problem,
            title: "One or more validation errors occurred.".to_string(),
            detail: reason.clone(),
            code: None,
            fields: vec![(field.to_string(), reason)],
            retry_after_secs: None,
        }
    }

    /// A problem with a status and no code (404, 403, ...).
    pub fn status(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            shape: Shape::Problem,
            title: title.to_string(),
            detail: detail.into(),
            code: None,
            fields: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// A QR API error (`QrErrorResponse`).
    pub fn qr(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            shape: Shape::Qr,
            title: title.to_string(),
            detail: detail.into(),
            code: None,
            fields: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// A gateway (APIM) answer.
    pub fn gateway(status: StatusCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            shape: Shape::Gateway,
            title: message.clone(),
            detail: message,
            code: None,
            fields: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// Add a field detail.
    pub fn with_field(mut self, name: &str, reason: impl Into<String>) -> Self {
        self.fields.push((name.to_string(), reason.into()));
        self
    }

    /// Render for a request to `instance` (the request path).
    pub fn reply(&self, instance: &str) -> Reply {
        match self.shape {
            Shape::Problem => {
                let mut extra: Vec<Value> = Vec::new();
                if let Some(code) = self.code {
                    extra.push(json!({"name": "ErrorCode", "reason": code.to_string()}));
                }
                for (name, reason) in &self.fields {
                    extra.push(json!({"name": name, "reason": reason}));
                }
                let body = json!({
                    "type": format!("https://httpstatuses.io/{}", self.status.as_u16()),
                    "title": self.title,
                    "detail": self.detail,
                    "instance": instance,
                    "status": self.status.as_u16(),
                    "traceId": trace_id(),
                    "extraDetails": extra,
                });
                Reply {
                    status: self.status,
                    content_type: Some("application/problem+json"),
                    body: serde_json::to_vec(&body).unwrap_or_default(),
                    retry_after_secs: self.retry_after_secs,
                }
            }
            Shape::Qr => {
                let mut body = json!({
                    "type": format!("https://httpstatuses.io/{}", self.status.as_u16()),
                    "title": self.title,
                    "detail": self.detail,
                    "instance": instance,
                });
                if !self.fields.is_empty() {
                    body["invalidParams"] = self
                        .fields
                        .iter()
                        .map(|(name, reason)| json!({"name": name, "reason": reason}))
                        .collect();
                }
                let mut reply = Reply::json(self.status, &body);
                reply.retry_after_secs = self.retry_after_secs;
                reply
            }
            Shape::Gateway => {
                let body = json!({"statusCode": self.status.as_u16(), "message": self.detail});
                let mut reply = Reply::json(self.status, &body);
                reply.retry_after_secs = self.retry_after_secs;
                reply
            }
        }
    }
}

/// A W3C trace id like Vipps sends: `00-<32 hex>-<16 hex>-01`.
pub fn trace_id() -> String {
    let mut rng = rand::rng();
    let a: u128 = rng.random();
    let b: u64 = rng.random();
    format!("00-{a:032x}-{b:016x}-01")
}

/// Shorthand for the common "reference not found" (5090, 404).
pub fn reference_not_found(reference: &str) -> ApiError {
    ApiError::coded(
        404,
        5090,
        "Reference not found",
        format!("No payment with reference {reference} exists for this merchant."),
    )
}

//! Typed errors: HTTP status plus the Vipps error code, classified as
//! retryable or final.
//!
//! Vipps answers errors in several shapes, and [`VippsError::from_response`]
//! reads them all:
//! - RFC 7807 `application/problem+json` with
//!   `extraDetails: [{"name": "ErrorCode", "reason": "6080"}]` (ePayment, Webhooks),
//! - the older variant with `invalidParams: [{name, reason}]` (QR API),
//! - the API gateway's own bodies for 401/403/429 (`{"statusCode": 401, "message": ...}`
//!   or plain text), and an eCom-style array `[{"errorCode": .., "errorMessage": ..}]`.

use std::time::{Duration, SystemTime};

use serde_json::Value;

/// How much of a non-JSON error body is kept in `detail`.
const MAX_DETAIL_CHARS: usize = 500;

/// One `{name, reason}` pair from `extraDetails` or `invalidParams`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemParam {
    pub name: String,
    pub reason: String,
}

/// Everything that can go wrong talking to Vipps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VippsError {
    /// Vipps (or its gateway) answered with a non-success status.
    #[error("Vipps answered {status}{}: {title}{}", code.map(|c| format!(" (code {c})")).unwrap_or_default(), detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Api {
        status: u16,
        /// The Vipps error code (`extraDetails` `ErrorCode`), e.g. 6080.
        code: Option<u32>,
        title: String,
        detail: Option<String>,
        /// From the `Retry-After` header, when present (429, 503).
        retry_after: Option<Duration>,
        /// Field-level details (`extraDetails` other than `ErrorCode`, or `invalidParams`).
        params: Vec<ProblemParam>,
        /// `traceId` for Vipps support, when given.
        trace_id: Option<String>,
    },
    /// The request could not be sent or the answer not received (no timeout).
    #[error("network error talking to Vipps{}: {message}", if *connect { " (connect)" } else { "" })]
    Transport { message: String, connect: bool },
    /// Connect or request timeout. Whether Vipps acted on the request is unknown.
    #[error("Vipps did not answer in time")]
    Timeout,
    /// A success answer whose body did not match the expected shape.
    #[error("could not read Vipps' answer (HTTP {status}): {message}")]
    Decode { status: u16, message: String },
    /// The client configuration is unusable (caught at construction).
    #[error("Vipps client configuration: {0}")]
    Config(String),
    /// A request argument Vipps would reject (caught before sending).
    #[error("invalid request to Vipps: {0}")]
    InvalidInput(String),
}

impl VippsError {
    /// Worth trying again (same idempotency key for money-moving calls):
    /// timeouts, connection errors, 429, 423, 5xx and Vipps code 6160
    /// ("order processing"). Everything else is final: a 4xx result sticks to
    /// its idempotency key.
    pub fn is_retryable(&self) -> bool {
        match self {
            VippsError::Timeout | VippsError::Transport { .. } => true,
            VippsError::Api { status, code, .. } => {
                *status == 429 || *status == 423 || *status >= 500 || *code == Some(6160)
            }
            VippsError::Decode { .. } | VippsError::Config(_) | VippsError::InvalidInput(_) => {
                false
            }
        }
    }

    /// The server's `Retry-After`, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            VippsError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// How long to wait before attempt number `attempt` (1 = first retry), or
    /// `None` when the error is final. Honours `Retry-After`; otherwise
    /// exponential from 500 ms, doubled per attempt, capped at 30 s
    /// (a 429 without `Retry-After` starts at 2 s).
    pub fn suggested_delay(&self, attempt: u32) -> Option<Duration> {
        if !self.is_retryable() {
            return None;
        }
        if let Some(after) = self.retry_after() {
            return Some(after);
        }
        let base_ms: u64 = if self.status() == Some(429) {
            2_000
        } else {
            500
        };
        let factor = 1u64 << attempt.saturating_sub(1).min(10);
        Some(Duration::from_millis(base_ms.saturating_mul(factor)).min(Duration::from_secs(30)))
    }

    /// HTTP status for `Api` errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            VippsError::Api { status, .. } => Some(*status),
            VippsError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Vipps error code for `Api` errors.
    pub fn code(&self) -> Option<u32> {
        match self {
            VippsError::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// Build the error for a non-success answer. Tolerates every body shape
    /// Vipps and its gateway are known to send; never fails.
    pub fn from_response(
        status: u16,
        retry_after_header: Option<&str>,
        body: &[u8],
        now: SystemTime,
    ) -> VippsError {
        let retry_after = retry_after_header.and_then(|h| parse_retry_after(h, now));
        let mut problem = Problem::default();
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => problem.read_object(&map),
            Ok(Value::Array(items)) => {
                if let Some(Value::Object(first)) = items.first() {
                    problem.read_object(first);
                }
            }
            _ => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                if !text.is_empty() {
                    problem.detail = Some(truncate(text));
                }
            }
        }
        let title = problem
            .title
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| reason_phrase(status).to_string());
        VippsError::Api {
            status,
            code: problem.code,
            title,
            detail: problem.detail,
            retry_after,
            params: problem.params,
            trace_id: problem.trace_id,
        }
    }

    /// Map a reqwest failure: timeouts and connection failures are told apart.
    pub(crate) fn from_reqwest(err: &reqwest::Error) -> VippsError {
        if err.is_timeout() {
            return VippsError::Timeout;
        }
        // reqwest's messages name the URL, never headers, so no secret leaks here.
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        VippsError::Transport {
            message,
            connect: err.is_connect(),
        }
    }
}

#[derive(Default)]
struct Problem {
    title: Option<String>,
    detail: Option<String>,
    code: Option<u32>,
    params: Vec<ProblemParam>,
    trace_id: Option<String>,
}

impl Problem {
    fn read_object(&mut self, map: &serde_json::Map<String, Value>) {
        let text = |key: &str| map.get(key).and_then(as_text);
        self.title = text("title")
            .or_else(|| text("message"))
            .or_else(|| text("errorMessage"))
            .or_else(|| text("error"));
        self.detail = text("detail")
            .or_else(|| text("error_description"))
            .map(|d| truncate(&d));
        self.trace_id = text("traceId").or_else(|| text("traceid"));
        for key in ["extraDetails", "invalidParams"] {
            if let Some(Value::Array(items)) = map.get(key) {
                for item in items {
                    let (Some(name), Some(reason)) = (
                        item.get("name").and_then(as_text),
                        item.get("reason").and_then(as_text),
                    ) else {
                        continue;
                    };
                    if name.eq_ignore_ascii_case("ErrorCode") && self.code.is_none() {
                        self.code = reason.trim().parse().ok();
                        if self.code.is_some() {
                            continue;
                        }
                    }
                    self.params.push(ProblemParam { name, reason });
                }
            }
        }
        if self.code.is_none() {
            self.code = ["code", "errorCode"]
                .iter()
                .filter_map(|k| map.get(*k))
                .find_map(|v| match v {
                    Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                });
        }
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_DETAIL_CHARS {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(MAX_DETAIL_CHARS).collect();
        t.push('…');
        t
    }
}

/// `Retry-After` is either delta-seconds or an HTTP-date.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unexpected status")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn api(status: u16, body: &str) -> VippsError {
        VippsError::from_response(status, None, body.as_bytes(), now())
    }

    #[test]
    fn reads_rfc7807_with_error_code() {
        let body = r#"{"type":"https://httpstatuses.io/400","title":"Cannot capture before reservation",
            "detail":"The amount you tried to capture is not reserved","instance":"/v1/payments/x/capture",
            "status":400,"traceId":"00-813b-01","extraDetails":[{"name":"ErrorCode","reason":"6080"}]}"#;
        let err = api(400, body);
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.code(), Some(6080));
        assert!(!err.is_retryable());
        match &err {
            VippsError::Api {
                title,
                detail,
                trace_id,
                params,
                ..
            } => {
                assert_eq!(title, "Cannot capture before reservation");
                assert_eq!(
                    detail.as_deref(),
                    Some("The amount you tried to capture is not reserved")
                );
                assert_eq!(trace_id.as_deref(), Some("00-813b-01"));
                assert!(params.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("code 6080"));
    }

    #[test]
    fn reads_qr_invalid_params_variant() {
        let body = r#"{"type":"https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1",
            "title":"One or more validation errors occurred.","detail":"BadRequest","instance":"00-61",
            "invalidParams":[{"name":"LocationDescription","reason":"too long"}]}"#;
        let err = api(400, body);
        assert_eq!(err.code(), None);
        match err {
            VippsError::Api { params, title, .. } => {
                assert_eq!(title, "One or more validation errors occurred.");
                assert_eq!(
                    params,
                    vec![ProblemParam {
                        name: "LocationDescription".into(),
                        reason: "too long".into()
                    }]
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn tolerates_gateway_and_odd_bodies() {
        let err = api(
            401,
            r#"{ "statusCode": 401, "message": "Access denied due to invalid subscription key." }"#,
        );
        assert!(
            matches!(&err, VippsError::Api { status: 401, code: None, title, .. } if title.starts_with("Access denied"))
        );
        assert!(!err.is_retryable());

        let err = api(502, "<html>Bad gateway</html>");
        assert!(
            matches!(&err, VippsError::Api { status: 502, title, detail: Some(d), .. } if title == "Bad Gateway" && d.contains("Bad gateway"))
        );
        assert!(err.is_retryable());

        let err = api(500, "");
        assert!(
            matches!(&err, VippsError::Api { title, detail: None, .. } if title == "Internal Server Error")
        );

        let err = api(
            400,
            r#"[{"errorGroup":"Payment","errorMessage":"Refused","errorCode":"42"}]"#,
        );
        assert_eq!(err.code(), Some(42));

        let long = "x".repeat(2000);
        match api(503, &long) {
            VippsError::Api {
                detail: Some(d), ..
            } => assert!(d.chars().count() <= MAX_DETAIL_CHARS + 1),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn classification() {
        assert!(api(429, "{}").is_retryable());
        assert!(api(423, "{}").is_retryable());
        assert!(api(500, "{}").is_retryable());
        assert!(api(503, "{}").is_retryable());
        assert!(!api(404, "{}").is_retryable());
        assert!(!api(409, "{}").is_retryable());
        let processing = api(
            400,
            r#"{"title":"Order processing","extraDetails":[{"name":"ErrorCode","reason":"6160"}]}"#,
        );
        assert!(processing.is_retryable());
        assert!(VippsError::Timeout.is_retryable());
        assert!(
            VippsError::Transport {
                message: "refused".into(),
                connect: true
            }
            .is_retryable()
        );
        assert!(
            !VippsError::Decode {
                status: 200,
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(!VippsError::InvalidInput("x".into()).is_retryable());
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let err = VippsError::from_response(429, Some("7"), b"{}", now());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(err.suggested_delay(3), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now() + Duration::from_secs(30));
        let err = VippsError::from_response(503, Some(&date), b"{}", now());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
        let err = VippsError::from_response(429, Some("soon"), b"{}", now());
        assert_eq!(err.retry_after(), None);
        assert_eq!(err.suggested_delay(1), Some(Duration::from_secs(2)));
        assert_eq!(err.suggested_delay(2), Some(Duration::from_secs(4)));
        assert_eq!(err.suggested_delay(20), Some(Duration::from_secs(30)));
        assert_eq!(api(400, "{}").suggested_delay(1), None);
        assert_eq!(
            VippsError::Timeout.suggested_delay(1),
            Some(Duration::from_millis(500))
        );
    }
}

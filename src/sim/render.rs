//! JSON views of a payment, shared by the ePayment API (what Vipps answers)
//! and the control API (the ledger).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::app::{amount_json, uuid_text};
use super::clock::iso_millis;
use super::state::{Payment, PaymentState};

/// The landing page (and one-time QR target) of a payment.
pub fn landing_url(token: &str) -> String {
    format!("https://landing.vipps.no?token={token}")
}

/// A stable `profile.sub` for a customer.
fn profile_sub(phone: &str) -> String {
    uuid_text(&Sha256::digest(phone.as_bytes()))
}

/// `GetPaymentResponse`.
pub fn payment_json(p: &Payment) -> Value {
    let c = p.currency.code();
    let mut profile = json!({});
    if p.profile_scope.is_some()
        && p.state == PaymentState::Authorized
        && let Some(phone) = &p.approved_by
    {
        profile["sub"] = json!(profile_sub(phone));
    }
    let mut body = json!({
        "aggregate": {
            "authorizedAmount": amount_json(c, p.authorized),
            "cancelledAmount": amount_json(c, p.cancelled),
            "capturedAmount": amount_json(c, p.captured),
            "refundedAmount": amount_json(c, p.refunded),
        },
        "amount": amount_json(c, p.amount),
        "state": p.state.as_str(),
        "paymentMethod": {"type": p.payment_method},
        "profile": profile,
        "pspReference": p.psp_reference,
        "reference": p.reference,
    });
    if let Some(url) = &p.redirect_url {
        body["redirectUrl"] = json!(url);
    }
    if let Some(m) = &p.metadata {
        body["metadata"] = m.clone();
    }
    body
}

/// The event log of a payment.
pub fn events_json(p: &Payment) -> Value {
    let c = p.currency.code();
    p.events
        .iter()
        .map(|e| {
            json!({
                "reference": p.reference,
                "pspReference": e.psp_reference,
                "name": e.name.as_str(),
                "amount": amount_json(c, e.amount),
                "timestamp": iso_millis(e.timestamp),
                "idempotencyKey": e.idempotency_key,
                "success": e.success,
            })
        })
        .collect()
}

/// One payment in the ledger.
pub fn ledger_json(p: &Payment) -> Value {
    let c = p.currency.code();
    json!({
        "reference": p.reference,
        "msn": p.msn,
        "state": p.state.as_str(),
        "amount": amount_json(c, p.amount),
        "aggregate": {
            "authorizedAmount": amount_json(c, p.authorized),
            "cancelledAmount": amount_json(c, p.cancelled),
            "capturedAmount": amount_json(c, p.captured),
            "refundedAmount": amount_json(c, p.refunded),
        },
        "pspReference": p.psp_reference,
        "userFlow": p.user_flow,
        "paymentMethod": p.payment_method,
        "customerKind": p.customer.as_ref().map(|c| c.kind()),
        "customerPhone": p.customer_phone,
        "approvedBy": p.approved_by,
        "scannedMerchantQrId": p.scanned_qr,
        "customerAuthorizing": p.customer_authorizing,
        "paymentDescription": p.description,
        "receipt": p.receipt,
        "createdAt": iso_millis(p.created_at),
        "expiresAt": iso_millis(p.expires_at),
        "counts": {
            "captures": p.counts.captures,
            "refunds": p.counts.refunds,
            "cancels": p.counts.cancels,
        },
        "events": events_json(p),
    })
}

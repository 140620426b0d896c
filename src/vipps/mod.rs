//! Vipps MobilePay client: token cache, QR, ePayment, Webhooks API, models,
//! typed errors and webhook HMAC signing/verification.
pub mod webhook;

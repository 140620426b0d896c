//! Vipps MobilePay client: token cache, QR, ePayment, Webhooks API, models,
//! typed errors and webhook HMAC signing/verification.
//!
//! See `docs/vipps-client.md` for what is sent and why.

pub mod client;
pub mod config;
pub mod error;
pub mod id_token;
pub mod login;
pub mod mask;
pub mod models;
pub mod token;
pub mod webhook;

pub use client::{
    Client, IDEMPOTENCY_KEY_MAX, retry_read, retry_read_with, validate_idempotency_key,
};
pub use config::{Environment, InvalidEnvironment, Settings, SystemInfo, Timeouts, VippsConfig};
pub use error::{ProblemParam, VippsError};
pub use id_token::{IdClaims, IdTokenError};
pub use login::{
    BindingMessage, Consent, DelegatedConsents, Discovery, ENROL_SCOPE, LoginApi, LoginAuth,
    LoginError, LoginStarted, LoginTokens, StartLogin, UserInfo,
};
pub use mask::{PhoneNumber, Secret, mask_phone};
pub use models::{
    Aggregate, Amount, CheckedInEvent, CreatePaymentRequest, CreatePaymentResponse, Currency,
    Customer, CustomerToken, EpaymentWebhookEvent, MerchantCallbackQr, ModificationResponse,
    OrderLine, Payment, PaymentEvent, PaymentEventName, PaymentState, QrImageFormat, Receipt,
    RegisteredWebhook, Webhook, WebhookPayload,
};
pub use token::AccessToken;

//! Validation of `POST /epayment/v1/payments` bodies against the ePayment
//! v1 spec, the order-management receipt schema and the documented business
//! rules, with the documented error codes.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::config::{Currency, SimConfig};
use super::problem::ApiError;
use super::state::{CustomerRef, State};

/// A create request that passed validation.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub reference: String,
    pub currency: Currency,
    pub value: i64,
    pub payment_method: String,
    pub user_flow: String,
    pub customer: Option<CustomerRef>,
    pub customer_phone: Option<String>,
    /// The QR scanned to mint the customer token, if one was used.
    pub scanned_qr: Option<String>,
    pub description: Option<String>,
    pub expires_at: Option<SystemTime>,
    pub receipt: Option<Value>,
    pub metadata: Option<Value>,
    pub profile_scope: Option<String>,
    pub qr_format: Option<String>,
}

/// `^[a-zA-Z0-9-]{8,64}$` (the spec says 50; newer docs 64, and we accept 64).
pub fn valid_reference(reference: &str) -> bool {
    (8..=64).contains(&reference.len())
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `^\d{10,15}$`.
pub fn valid_msisdn(phone: &str) -> bool {
    (10..=15).contains(&phone.len()) && phone.bytes().all(|b| b.is_ascii_digit())
}

fn missing(name: &str) -> ApiError {
    ApiError::invalid(name, format!("The {name} field is required."))
}

fn coded_field(status: u16, code: u32, title: &str, field: &str, detail: String) -> ApiError {
    ApiError::coded(status, code, title, detail.clone()).with_field(field, detail)
}

fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'a str>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(path, format!("{path} must be a string."))),
    }
}

fn opt_object<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(ApiError::invalid(
            path,
            format!("{path} must be an object."),
        )),
    }
}

/// An integer JSON value; `None` for non-integers (e.g. `100.5`).
fn integer(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// 4140: `userFlow` `flow` needs `field`.
fn required_for_flow(flow: &str, field: &str) -> ApiError {
    ApiError::coded(
        400,
        4140,
        "Missing required parameter",
        format!("userFlow {flow} requires {field}."),
    )
    .with_field(field, format!("The {field} field is required for {flow}."))
}

/// Validate an `Amount` object. Currency must be a known code; value an
/// integer in 0..=65 000 000 (else 4040).
pub fn amount(v: Option<&Value>, path: &str) -> Result<(Currency, i64), ApiError> {
    let obj = match v {
        None | Some(Value::Null) => return Err(missing(path)),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(ApiError::invalid(
                path,
                format!("{path} must be an object."),
            ));
        }
    };
    let currency = match obj.get("currency") {
        None | Some(Value::Null) => return Err(missing(&format!("{path}.currency"))),
        Some(Value::String(c)) => Currency::from_code(c).ok_or_else(|| {
            ApiError::invalid(
                &format!("{path}.currency"),
                format!("{c:?} is not a valid currency (NOK, DKK, EUR)."),
            )
        })?,
        Some(_) => {
            return Err(ApiError::invalid(
                &format!("{path}.currency"),
                "currency must be a string.",
            ));
        }
    };
    let value = match obj.get("value") {
        None | Some(Value::Null) => return Err(missing(&format!("{path}.value"))),
        Some(v) => integer(v)
            .filter(|n| (0..=65_000_000).contains(n))
            .ok_or_else(|| {
                coded_field(
                    400,
                    4040,
                    "Invalid amount",
                    &format!("{path}.value"),
                    "The amount is invalid. Amounts must be integers in minor units, 0 to 65000000.".into(),
                )
            })?,
    };
    Ok((currency, value))
}

/// Validate a `Customer` (oneOf phoneNumber | personalQr | customerToken) and
/// resolve it to the customer's phone number.
pub fn customer(
    obj: &Map<String, Value>,
    path: &str,
    config: &SimConfig,
    state: &State,
    now: SystemTime,
) -> Result<(CustomerRef, String), ApiError> {
    let variants: Vec<&str> = ["phoneNumber", "personalQr", "customerToken"]
        .into_iter()
        .filter(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    let [variant] = variants[..] else {
        return Err(ApiError::invalid(
            path,
            "Specify exactly one of phoneNumber, personalQr or customerToken.",
        ));
    };
    let field = format!("{path}.{variant}");
    let text = opt_str(obj, variant, &field)?.unwrap_or_default();
    let (customer, phone) = match variant {
        "phoneNumber" => {
            if !valid_msisdn(text) {
                return Err(coded_field(
                    400,
                    4070,
                    "Invalid phone number",
                    &field,
                    "The phone number must be an MSISDN: country code and number, digits only (^\\d{10,15}$).".into(),
                ));
            }
            (CustomerRef::PhoneNumber(text.to_string()), text.to_string())
        }
        "personalQr" => {
            let phone = state
                .personal_qr_owner(text, now, config.personal_qr_ttl)
                .map(|owner| owner.phone)
                .ok_or_else(|| {
                    coded_field(
                        400,
                        4060,
                        "Invalid PersonalQr",
                        &field,
                        "The parameter PersonalQr is invalid.".into(),
                    )
                })?;
            (CustomerRef::PersonalQr(text.to_string()), phone)
        }
        _ => {
            let token = state
                .customer_tokens
                .get(text)
                .filter(|t| t.expires_at > now)
                .ok_or_else(|| {
                    coded_field(
                        400,
                        4050,
                        "Invalid CustomerToken",
                        &field,
                        "The parameter CustomerToken is invalid.".into(),
                    )
                })?;
            (
                CustomerRef::CustomerToken(text.to_string()),
                token.phone.clone(),
            )
        }
    };
    if config.unknown_phone_numbers.contains(&phone) {
        return Err(ApiError::coded(
            400,
            7010,
            "Customer not found",
            "The customer could not be found or cannot pay this merchant.",
        ));
    }
    Ok((customer, phone))
}

fn check_return_url(url: &str) -> Result<(), ApiError> {
    let ok = match url.split_once("://") {
        Some(("https", rest)) => !rest.is_empty(),
        Some(("http", _)) => false,
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(coded_field(
            400,
            4090,
            "Invalid URL",
            "returnUrl",
            "returnUrl must use https:// or a custom URL scheme.".into(),
        ))
    }
}

fn check_metadata(v: &Value) -> Result<(), ApiError> {
    let Some(map) = v.as_object() else {
        return Err(ApiError::invalid(
            "metadata",
            "metadata must be an object of strings.",
        ));
    };
    if map.len() > 5 {
        return Err(ApiError::coded(
            400,
            4100,
            "Metadata capacity exceeded",
            "At most 5 metadata pairs.",
        ));
    }
    for (k, v) in map {
        if k.chars().count() > 100 {
            return Err(ApiError::coded(
                400,
                4120,
                "Metadata key length exceeded",
                "Metadata keys are at most 100 characters.",
            ));
        }
        let Some(s) = v.as_str() else {
            return Err(ApiError::invalid(
                &format!("metadata.{k}"),
                "Metadata values must be strings.",
            ));
        };
        if s.chars().count() > 500 {
            return Err(ApiError::coded(
                400,
                4130,
                "Metadata value length exceeded",
                "Metadata values are at most 500 characters.",
            ));
        }
    }
    Ok(())
}

fn check_scope(scope: &str) -> Result<(), ApiError> {
    const KNOWN: [&str; 6] = [
        "name",
        "address",
        "email",
        "phoneNumber",
        "birthDate",
        "nin",
    ];
    if scope.split(' ').all(|s| KNOWN.contains(&s)) {
        Ok(())
    } else {
        Err(coded_field(
            400,
            4080,
            "Invalid scope",
            "profile.scope",
            format!("Unknown scope in {scope:?}."),
        ))
    }
}

fn req_int(obj: &Map<String, Value>, name: &str, path: &str) -> Result<i64, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(missing(&format!("{path}.{name}"))),
        Some(v) => integer(v).ok_or_else(|| {
            ApiError::invalid(
                &format!("{path}.{name}"),
                format!("{path}.{name} must be an integer."),
            )
        }),
    }
}

fn opt_nonneg_int(obj: &Map<String, Value>, name: &str, path: &str) -> Result<(), ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match integer(v) {
            Some(n) if n >= 0 => Ok(()),
            _ => Err(ApiError::invalid(
                &format!("{path}.{name}"),
                format!("{path}.{name} must be a non-negative integer."),
            )),
        },
    }
}

fn req_string(obj: &Map<String, Value>, name: &str, path: &str) -> Result<(), ApiError> {
    match opt_str(obj, name, &format!("{path}.{name}"))? {
        Some(_) => Ok(()),
        None => Err(missing(&format!("{path}.{name}"))),
    }
}

fn opt_bool(obj: &Map<String, Value>, name: &str, path: &str) -> Result<(), ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
        Some(_) => Err(ApiError::invalid(
            &format!("{path}.{name}"),
            "must be a boolean.",
        )),
    }
}

/// The order-management `Receipt` schema (2.3.24, plus `taxRate` from the latest).
pub fn receipt(v: &Value, payment_currency: Currency) -> Result<(), ApiError> {
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::invalid("receipt", "receipt must be an object."))?;
    let lines = match obj.get("orderLines") {
        None | Some(Value::Null) => return Err(missing("receipt.orderLines")),
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(_) => {
            return Err(ApiError::invalid(
                "receipt.orderLines",
                "orderLines must be an array with at least one line.",
            ));
        }
    };
    for (i, line) in lines.iter().enumerate() {
        let path = format!("receipt.orderLines[{i}]");
        let line = line
            .as_object()
            .ok_or_else(|| ApiError::invalid(&path, "An order line must be an object."))?;
        req_string(line, "name", &path)?;
        req_string(line, "id", &path)?;
        req_int(line, "totalAmount", &path)?;
        req_int(line, "totalAmountExcludingTax", &path)?;
        req_int(line, "totalTaxAmount", &path)?;
        let pct = line.get("taxPercentage").filter(|v| !v.is_null());
        let rate = line.get("taxRate").filter(|v| !v.is_null());
        match (pct, rate) {
            (None, None) => return Err(missing(&format!("{path}.taxPercentage"))),
            (Some(p), _) if !integer(p).is_some_and(|n| (0..=100).contains(&n)) => {
                return Err(ApiError::invalid(
                    &format!("{path}.taxPercentage"),
                    "taxPercentage must be an integer between 0 and 100.",
                ));
            }
            (_, Some(r)) if !integer(r).is_some_and(|n| (0..=10_000).contains(&n)) => {
                return Err(ApiError::invalid(
                    &format!("{path}.taxRate"),
                    "taxRate must be an integer between 0 and 10000.",
                ));
            }
            _ => {}
        }
        opt_nonneg_int(line, "discount", &path)?;
        opt_str(line, "productUrl", &format!("{path}.productUrl"))?;
        opt_bool(line, "isReturn", &path)?;
        opt_bool(line, "isShipping", &path)?;
        if let Some(unit) = opt_object(line, "unitInfo", &format!("{path}.unitInfo"))? {
            let upath = format!("{path}.unitInfo");
            match unit.get("unitPrice") {
                None | Some(Value::Null) => return Err(missing(&format!("{upath}.unitPrice"))),
                Some(v) if integer(v).is_none_or(|n| n < 0) => {
                    return Err(ApiError::invalid(
                        &format!("{upath}.unitPrice"),
                        "unitPrice must be a non-negative integer.",
                    ));
                }
                _ => {}
            }
            let quantity = opt_str(unit, "quantity", &format!("{upath}.quantity"))?
                .ok_or_else(|| missing(&format!("{upath}.quantity")))?;
            if !valid_quantity(quantity) {
                return Err(ApiError::invalid(
                    &format!("{upath}.quantity"),
                    "quantity must match ^\\d+([\\.]\\d{1,8})?$ and be at most 10 characters.",
                ));
            }
            if let Some(u) = opt_str(unit, "quantityUnit", &format!("{upath}.quantityUnit"))?
                && !["PCS", "KG", "KM", "MINUTE", "LITRE", "KWH"].contains(&u)
            {
                return Err(ApiError::invalid(
                    &format!("{upath}.quantityUnit"),
                    format!("{u:?} is not a quantity unit (PCS, KG, KM, MINUTE, LITRE, KWH)."),
                ));
            }
        }
    }
    let bottom = match obj.get("bottomLine") {
        None | Some(Value::Null) => return Err(missing("receipt.bottomLine")),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(ApiError::invalid(
                "receipt.bottomLine",
                "bottomLine must be an object.",
            ));
        }
    };
    let currency = opt_str(bottom, "currency", "receipt.bottomLine.currency")?
        .ok_or_else(|| missing("receipt.bottomLine.currency"))?;
    match Currency::from_code(currency) {
        None => {
            return Err(ApiError::invalid(
                "receipt.bottomLine.currency",
                format!("{currency:?} is not a valid currency."),
            ));
        }
        Some(c) if c != payment_currency => {
            return Err(ApiError::invalid(
                "receipt.bottomLine.currency",
                "The receipt currency must equal the payment currency.",
            ));
        }
        Some(_) => {}
    }
    opt_nonneg_int(bottom, "tipAmount", "receipt.bottomLine")?;
    opt_str(bottom, "posId", "receipt.bottomLine.posId")?;
    opt_str(bottom, "receiptNumber", "receipt.bottomLine.receiptNumber")?;
    if let Some(barcode) = opt_object(bottom, "barcode", "receipt.bottomLine.barcode")? {
        let format = opt_str(barcode, "format", "receipt.bottomLine.barcode.format")?
            .ok_or_else(|| missing("receipt.bottomLine.barcode.format"))?;
        if !["EAN-13", "CODE 39", "CODE 128"].contains(&format) {
            return Err(ApiError::invalid(
                "receipt.bottomLine.barcode.format",
                "format must be EAN-13, CODE 39 or CODE 128.",
            ));
        }
        req_string(barcode, "data", "receipt.bottomLine.barcode")?;
    }
    Ok(())
}

/// `^\d+([\.]\d{1,8})?$`, at most 10 characters.
pub fn valid_quantity(q: &str) -> bool {
    if q.is_empty() || q.len() > 10 {
        return false;
    }
    let (int, frac) = match q.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (q, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| (1..=8).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Validate a create-payment body.
pub fn create_request(
    body: &Value,
    config: &SimConfig,
    state: &State,
    now: SystemTime,
) -> Result<CreateRequest, ApiError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "The request body must be a JSON object."))?;

    let (currency, value) = amount(obj.get("amount"), "amount")?;

    let payment_method = match opt_object(obj, "paymentMethod", "paymentMethod")? {
        None => return Err(missing("paymentMethod")),
        Some(pm) => match opt_str(pm, "type", "paymentMethod.type")? {
            None => return Err(missing("paymentMethod.type")),
            Some(t @ ("WALLET" | "CARD")) => t.to_string(),
            Some(t) => {
                return Err(ApiError::invalid(
                    "paymentMethod.type",
                    format!("{t:?} is not a payment method type (WALLET, CARD)."),
                ));
            }
        },
    };

    let reference = opt_str(obj, "reference", "reference")?.ok_or_else(|| missing("reference"))?;
    if !valid_reference(reference) {
        return Err(ApiError::invalid(
            "reference",
            "The reference must match ^[a-zA-Z0-9-]{8,64}$.",
        ));
    }

    let user_flow = match opt_str(obj, "userFlow", "userFlow")? {
        None => return Err(missing("userFlow")),
        Some(f @ ("PUSH_MESSAGE" | "NATIVE_REDIRECT" | "WEB_REDIRECT" | "QR")) => f.to_string(),
        Some(f) => {
            return Err(ApiError::invalid(
                "userFlow",
                format!(
                    "{f:?} is not a user flow (PUSH_MESSAGE, NATIVE_REDIRECT, WEB_REDIRECT, QR)."
                ),
            ));
        }
    };

    if let Some(ci) = opt_str(obj, "customerInteraction", "customerInteraction")?
        && !["CUSTOMER_PRESENT", "CUSTOMER_NOT_PRESENT"].contains(&ci)
    {
        return Err(ApiError::invalid(
            "customerInteraction",
            format!("{ci:?} is not CUSTOMER_PRESENT or CUSTOMER_NOT_PRESENT."),
        ));
    }

    let return_url = opt_str(obj, "returnUrl", "returnUrl")?.map(str::to_string);
    if let Some(url) = &return_url {
        check_return_url(url)?;
    }

    let description = opt_str(obj, "paymentDescription", "paymentDescription")?.map(str::to_string);
    if let Some(d) = &description
        && !(3..=100).contains(&d.chars().count())
    {
        return Err(ApiError::invalid(
            "paymentDescription",
            "paymentDescription must be 3 to 100 characters.",
        ));
    }

    let mut qr_format = None;
    if let Some(qf) = opt_object(obj, "qrFormat", "qrFormat")? {
        let format =
            opt_str(qf, "format", "qrFormat.format")?.ok_or_else(|| missing("qrFormat.format"))?;
        if !["TEXT/TARGETURL", "IMAGE/SVG+XML", "IMAGE/PNG"].contains(&format) {
            return Err(ApiError::invalid(
                "qrFormat.format",
                "format must be TEXT/TARGETURL, IMAGE/SVG+XML or IMAGE/PNG.",
            ));
        }
        if let Some(size) = qf.get("size").filter(|v| !v.is_null())
            && !integer(size).is_some_and(|n| (100..=2000).contains(&n))
        {
            return Err(ApiError::invalid(
                "qrFormat.size",
                "size must be 100 to 2000.",
            ));
        }
        qr_format = Some(format.to_string());
    }

    let (customer, customer_phone) = match opt_object(obj, "customer", "customer")? {
        Some(c) => {
            let (c, phone) = customer(c, "customer", config, state, now)?;
            (Some(c), Some(phone))
        }
        None => (None, None),
    };
    let scanned_qr = match &customer {
        Some(CustomerRef::CustomerToken(t)) => state
            .customer_tokens
            .get(t)
            .map(|t| t.merchant_qr_id.clone()),
        _ => None,
    };

    let profile_scope = match opt_object(obj, "profile", "profile")? {
        Some(p) => opt_str(p, "scope", "profile.scope")?.map(str::to_string),
        None => None,
    };
    if let Some(scope) = &profile_scope {
        check_scope(scope)?;
    }

    let metadata = obj.get("metadata").filter(|v| !v.is_null()).cloned();
    if let Some(m) = &metadata {
        check_metadata(m)?;
    }

    let receipt_value = obj.get("receipt").filter(|v| !v.is_null()).cloned();
    if let Some(r) = &receipt_value {
        receipt(r, currency)?;
    }

    let expires_at_text = opt_str(obj, "expiresAt", "expiresAt")?;

    // Business rules, after the schema.
    if currency != config.currency {
        return Err(ApiError::coded(
            400,
            5040,
            "Invalid currency for merchant",
            format!(
                "This sales unit takes {}, not {}.",
                config.currency.code(),
                currency.code()
            ),
        ));
    }
    if value < currency.minimum_payment() {
        return Err(ApiError::coded(
            400,
            6010,
            "Amount too small",
            format!(
                "The minimum amount is {} in minor units of {}.",
                currency.minimum_payment(),
                currency.code()
            ),
        ));
    }
    if payment_method == "CARD" && user_flow != "WEB_REDIRECT" {
        return Err(ApiError::invalid(
            "paymentMethod.type",
            "CARD can only be combined with userFlow WEB_REDIRECT.",
        ));
    }
    if user_flow == "PUSH_MESSAGE" && customer.is_none() {
        return Err(required_for_flow("PUSH_MESSAGE", "customer"));
    }
    if user_flow == "WEB_REDIRECT" && return_url.is_none() {
        return Err(required_for_flow("WEB_REDIRECT", "returnUrl"));
    }
    if user_flow == "PUSH_MESSAGE" && !config.push_message_allowed {
        return Err(ApiError::coded(
            403,
            5080,
            "PUSH_MESSAGE not allowed",
            "This sales unit is not approved for userFlow PUSH_MESSAGE.",
        ));
    }

    let expires_at = match expires_at_text {
        None => None,
        Some(text) => {
            let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                ApiError::invalid("expiresAt", "expiresAt must be an RFC 3339 date-time.")
            })?;
            if user_flow != "PUSH_MESSAGE" && user_flow != "QR" {
                return Err(ApiError::invalid(
                    "expiresAt",
                    "expiresAt can only be combined with userFlow PUSH_MESSAGE or QR.",
                ));
            }
            if receipt_value.is_none() {
                return Err(ApiError::coded(
                    400,
                    6130,
                    "Long living payments require a receipt",
                    "Send receipt together with expiresAt.",
                ));
            }
            if !config.long_living_allowed {
                return Err(ApiError::coded(
                    403,
                    5050,
                    "Long-living payment not allowed",
                    "This sales unit is not approved for expiresAt.",
                ));
            }
            let at = SystemTime::from(at);
            if at < now + Duration::from_secs(10 * 60) {
                return Err(ApiError::coded(
                    400,
                    6120,
                    "Expiration date is too soon",
                    "expiresAt must be more than 10 minutes ahead.",
                ));
            }
            if at > now + Duration::from_secs(60 * 24 * 3600) {
                return Err(ApiError::coded(
                    400,
                    6110,
                    "Expiration date is too late",
                    "expiresAt must be less than 60 days ahead.",
                ));
            }
            Some(at)
        }
    };

    Ok(CreateRequest {
        reference: reference.to_string(),
        currency,
        value,
        payment_method,
        user_flow,
        customer,
        customer_phone,
        scanned_qr,
        description,
        expires_at,
        receipt: receipt_value,
        metadata,
        profile_scope,
        qr_format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_quantities() {
        assert!(valid_reference("abcd-123"));
        assert!(valid_reference(&"a".repeat(64)));
        assert!(!valid_reference(&"a".repeat(65)));
        assert!(!valid_reference("short"));
        assert!(!valid_reference("has_underscore"));
        assert!(valid_quantity("2"));
        assert!(valid_quantity("0.822"));
        assert!(!valid_quantity("1."));
        assert!(!valid_quantity("1.123456789"));
        assert!(!valid_quantity("12345678901"));
    }
}

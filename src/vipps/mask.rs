//! Values that must never reach a log: secrets, tokens and phone numbers.
//!
//! Each wrapper serialises as the plain string (Vipps needs the real value on
//! the wire) but its `Debug` and `Display` show only a masked form, so a stray
//! `{:?}` or `tracing::debug!(?request)` cannot leak it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A credential or token: `Debug`/`Display` print `***` and the length only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(***, {} chars)", self.0.chars().count())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An MSISDN (`4791234567`): digits only, country code first, no `+`.
/// `Debug`/`Display` keep the first two and last two digits: `47******67`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts what Vipps accepts (`^\d{10,15}$`). Spaces and a leading `+`
    /// or `00` are removed first, so `+47 912 34 567` becomes `4791234567`.
    pub fn parse(input: &str) -> Result<Self, InvalidPhoneNumber> {
        let mut digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if let Some(rest) = digits.strip_prefix('+') {
            digits = rest.to_string();
        } else if let Some(rest) = digits.strip_prefix("00") {
            digits = rest.to_string();
        }
        let len = digits.len();
        if (10..=15).contains(&len) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(InvalidPhoneNumber {
                masked: mask_phone(input),
            })
        }
    }

    /// A number as a cashier types it: with its country code (`+47 912 34 567`,
    /// `0047…`, `4791234567`) as [`Self::parse`] takes it, or national (`912 34 567`,
    /// `040 123 4567`), which gets `calling_code` (the till's country, e.g. `47`) in front and
    /// loses its trunk `0`. A national number is one that starts with `0` or has fewer than
    /// ten digits.
    pub fn parse_at(input: &str, calling_code: &str) -> Result<Self, InvalidPhoneNumber> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let international = digits.starts_with('+') || digits.starts_with("00");
        if international || (digits.len() >= 10 && !digits.starts_with('0')) {
            return Self::parse(&digits);
        }
        let national = digits.trim_start_matches('0');
        if national.is_empty() {
            return Self::parse(input);
        }
        Self::parse(&format!("{calling_code}{national}")).map_err(|_| InvalidPhoneNumber {
            masked: mask_phone(input),
        })
    }

    /// The full MSISDN, for the request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `47******67`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// A phone number that Vipps would reject. Carries only the masked input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a phone number in MSISDN form (10 to 15 digits with country code): {masked}")]
pub struct InvalidPhoneNumber {
    pub masked: String,
}

/// Mask a phone number (or anything that might contain one) for logs:
/// keep two characters at each end, star the rest (`47******78`).
/// Strings of four characters or fewer become all stars.
pub fn mask_phone(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let mut out = String::with_capacity(chars.len());
    out.extend(&chars[..2]);
    out.extend(std::iter::repeat_n('*', chars.len() - 4));
    out.extend(&chars[chars.len() - 2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("super-secret-value");
        assert_eq!(format!("{s:?}"), "Secret(***, 18 chars)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "super-secret-value");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"super-secret-value\"");
    }

    #[test]
    fn phone_numbers_are_masked() {
        assert_eq!(mask_phone("4712345678"), "47******78");
        assert_eq!(mask_phone("123"), "***");
        let p = PhoneNumber::parse("+47 912 34 567").unwrap();
        assert_eq!(p.expose(), "4791234567");
        assert_eq!(format!("{p:?}"), "PhoneNumber(47******67)");
        assert_eq!(format!("{p}"), "47******67");
        assert_eq!(
            PhoneNumber::parse("004791234567").unwrap().expose(),
            "4791234567"
        );
    }

    #[test]
    fn typed_numbers_take_the_tills_country_code_when_they_have_none() {
        let at = |s: &str, cc: &str| PhoneNumber::parse_at(s, cc).map(|p| p.expose().to_owned());
        assert_eq!(at("912 34 567", "47").unwrap(), "4791234567");
        assert_eq!(at("91234567", "47").unwrap(), "4791234567");
        assert_eq!(at("4791234567", "47").unwrap(), "4791234567");
        assert_eq!(at("+47 912 34 567", "45").unwrap(), "4791234567");
        assert_eq!(at("0047 91234567", "45").unwrap(), "4791234567");
        assert_eq!(at("12 34 56 78", "45").unwrap(), "4512345678");
        assert_eq!(at("+45 12345678", "47").unwrap(), "4512345678");
        assert_eq!(at("040 123 4567", "358").unwrap(), "358401234567");
        let err = PhoneNumber::parse_at("9123", "47").unwrap_err();
        assert_eq!(err.masked, "****");
        assert!(PhoneNumber::parse_at("9123456a", "47").is_err());
        assert!(PhoneNumber::parse_at("", "47").is_err());
        assert!(PhoneNumber::parse_at("000", "47").is_err());
    }

    #[test]
    fn bad_phone_numbers_are_rejected_without_leaking() {
        let err = PhoneNumber::parse("91234567").unwrap_err();
        assert_eq!(err.masked, "91****67");
        assert!(PhoneNumber::parse("47912345ab").is_err());
        assert!(PhoneNumber::parse("4791234567890123").is_err());
        assert!(!err.to_string().contains("912345"));
    }
}

//! Money as integer minor units (øre, cents) plus a currency, with checked
//! arithmetic and locale formatting.
//!
//! Formatting rules (see `docs/domain.md`):
//! - `nb`, `da`: `kr 1 234,50` (symbol first), `fi`: `1 234,50 €` (symbol last),
//!   `en`: `NOK 1,234.50` (ISO code first).
//! - nb/da/fi group thousands with a no-break space (U+00A0) and use one between
//!   the symbol and the number too, so an amount never wraps across lines.
//! - A negative amount puts `-` directly before the digits: `kr -12,00`, `-12,00 €`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// No-break space, used as thousands separator and after/before the symbol.
pub const NBSP: char = '\u{00A0}';

/// The currencies Vipps MobilePay takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "NOK")]
    Nok,
    #[serde(rename = "DKK")]
    Dkk,
    #[serde(rename = "EUR")]
    Eur,
}

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Nok, Currency::Dkk, Currency::Eur];

    /// ISO 4217 code, as Vipps wants it (`"NOK"`).
    pub fn code(self) -> &'static str {
        match self {
            Currency::Nok => "NOK",
            Currency::Dkk => "DKK",
            Currency::Eur => "EUR",
        }
    }

    /// Parse an ISO code exactly as Vipps accepts it (upper case, no spaces).
    pub fn from_code(code: &str) -> Option<Self> {
        Currency::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Local symbol: `kr` for NOK and DKK, `€` for EUR.
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Nok | Currency::Dkk => "kr",
            Currency::Eur => "€",
        }
    }

    /// Minor units per major unit (all three have two decimals).
    pub const fn minor_per_major(self) -> i64 {
        100
    }

    /// Smallest amount Vipps accepts for a payment in this currency
    /// (NOK 1.00 — error 6010 below that; DKK and EUR 0.01).
    pub fn minimum_payment(self) -> i64 {
        match self {
            Currency::Nok => 100,
            Currency::Dkk | Currency::Eur => 1,
        }
    }

    /// Largest amount Vipps accepts for one payment (65 000 000 minor units).
    pub const fn maximum_payment(self) -> i64 {
        65_000_000
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(&s.trim().to_ascii_uppercase())
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_string()))
    }
}

/// Display locales the till supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Nb,
    Da,
    Fi,
    En,
}

impl Locale {
    pub const ALL: [Locale; 4] = [Locale::Nb, Locale::Da, Locale::Fi, Locale::En];

    /// BCP 47 language tag (`"nb"`).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Nb => "nb",
            Locale::Da => "da",
            Locale::Fi => "fi",
            Locale::En => "en",
        }
    }
}

impl FromStr for Locale {
    type Err = MoneyError;

    /// Accepts `nb`, `no`, `nn`, `da`, `fi`, `en`, optionally with a region
    /// (`nb-NO`, `en_GB`) or encoding (`nb_NO.UTF-8`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lang = s
            .split(['-', '_', '.'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match lang.as_str() {
            "nb" | "no" | "nn" => Ok(Locale::Nb),
            "da" => Ok(Locale::Da),
            "fi" => Ok(Locale::Fi),
            "en" => Ok(Locale::En),
            _ => Err(MoneyError::UnknownLocale(s.to_string())),
        }
    }
}

/// Errors from money arithmetic and parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflow")]
    Overflow,
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("unknown currency {0:?} (expected NOK, DKK or EUR)")]
    UnknownCurrency(String),
    #[error("unknown locale {0:?} (expected nb, da, fi or en)")]
    UnknownLocale(String),
    #[error("not an amount: {0:?}")]
    InvalidAmount(String),
}

/// An amount in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Multiply by a whole number (a quantity of pieces).
    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Sum amounts of one currency; `currency` is the result's currency for an
    /// empty iterator and must match every element.
    pub fn checked_sum(
        currency: Currency,
        amounts: impl IntoIterator<Item = Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// Format for display in `locale` (see the module docs for the rules).
    pub fn format(&self, locale: Locale) -> String {
        format_minor(self.minor, self.currency, locale)
    }

    /// Parse cashier or file input in major units (`"12"`, `"12,5"`, `"1 234,50"`,
    /// `"1234.50"`, `"-3,00"`) into minor units. At most two decimals; a
    /// currency symbol or code is not accepted.
    pub fn parse(input: &str, currency: Currency) -> Result<Money, MoneyError> {
        parse_minor(input).map(|minor| Money::new(minor, currency))
    }
}

impl fmt::Display for Money {
    /// Locale-neutral form for logs: `NOK 1234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        write!(
            f,
            "{} {sign}{}.{:02}",
            self.currency.code(),
            abs / 100,
            abs % 100
        )
    }
}

/// Format minor units of `currency` for display in `locale`.
pub fn format_minor(minor: i64, currency: Currency, locale: Locale) -> String {
    let (group, decimal) = match locale {
        Locale::Nb | Locale::Da | Locale::Fi => (NBSP, ','),
        Locale::En => (',', '.'),
    };
    let per_major = currency.minor_per_major().unsigned_abs();
    let abs = minor.unsigned_abs();
    let sign = if minor < 0 { "-" } else { "" };
    let number = format!(
        "{sign}{}{decimal}{:02}",
        group_thousands(abs / per_major, group),
        abs % per_major
    );
    match locale {
        Locale::Nb | Locale::Da => format!("{}{NBSP}{number}", currency.symbol()),
        Locale::Fi => format!("{number}{NBSP}{}", currency.symbol()),
        Locale::En => format!("{} {number}", currency.code()),
    }
}

fn group_thousands(mut value: u64, separator: char) -> String {
    let mut groups = Vec::new();
    loop {
        let group = value % 1000;
        value /= 1000;
        if value == 0 {
            groups.push(group.to_string());
            break;
        }
        groups.push(format!("{group:03}"));
    }
    groups.reverse();
    groups.join(&separator.to_string())
}

/// Parse an amount in major units into minor units (two decimals).
/// Accepts `,` or `.` as the decimal mark and spaces, no-break spaces or
/// narrow no-break spaces as grouping. Rejects anything ambiguous.
pub fn parse_minor(input: &str) -> Result<i64, MoneyError> {
    let invalid = || MoneyError::InvalidAmount(input.to_string());
    let cleaned: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(*c, ' ' | NBSP | '\u{202F}'))
        .collect();
    let (negative, body) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    if body.is_empty() {
        return Err(invalid());
    }
    let (whole, fraction) = match body.find([',', '.']) {
        Some(pos) if pos + 1 == body.len() => return Err(invalid()),
        Some(pos) => (&body[..pos], &body[pos + 1..]),
        None => (body, ""),
    };
    let digits_only = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || fraction.len() > 2 {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().map_err(|_| invalid())? * 10,
        _ => fraction.parse().map_err(|_| invalid())?,
    };
    let minor = whole
        .checked_mul(100)
        .and_then(|v| v.checked_add(fraction))
        .ok_or(MoneyError::Overflow)?;
    Ok(if negative { -minor } else { minor })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nok(minor: i64) -> Money {
        Money::new(minor, Currency::Nok)
    }

    #[test]
    fn formats_per_locale_with_no_break_spaces() {
        let m = nok(123_450);
        assert_eq!(m.format(Locale::Nb), "kr\u{a0}1\u{a0}234,50");
        assert_eq!(
            Money::new(123_450, Currency::Dkk).format(Locale::Da),
            "kr\u{a0}1\u{a0}234,50"
        );
        assert_eq!(
            Money::new(123_450, Currency::Eur).format(Locale::Fi),
            "1\u{a0}234,50\u{a0}€"
        );
        assert_eq!(m.format(Locale::En), "NOK 1,234.50");
    }

    #[test]
    fn formats_small_large_and_negative_amounts() {
        assert_eq!(nok(0).format(Locale::Nb), "kr\u{a0}0,00");
        assert_eq!(nok(5).format(Locale::Nb), "kr\u{a0}0,05");
        assert_eq!(nok(100_000).format(Locale::Nb), "kr\u{a0}1\u{a0}000,00");
        assert_eq!(nok(99_999).format(Locale::En), "NOK 999.99");
        assert_eq!(
            nok(123_456_789_012).format(Locale::En),
            "NOK 1,234,567,890.12"
        );
        assert_eq!(nok(-1250).format(Locale::Nb), "kr\u{a0}-12,50");
        assert_eq!(
            Money::new(-1250, Currency::Eur).format(Locale::Fi),
            "-12,50\u{a0}€"
        );
        assert_eq!(nok(-1250).format(Locale::En), "NOK -12.50");
        // i64::MIN has no positive counterpart; formatting must not panic.
        assert!(nok(i64::MIN).format(Locale::Nb).contains("-92"));
        assert_eq!(nok(1234).to_string(), "NOK 12.34");
    }

    #[test]
    fn checked_arithmetic_reports_overflow_and_mismatch() {
        assert_eq!(nok(1).checked_add(nok(2)), Ok(nok(3)));
        assert_eq!(nok(1).checked_sub(nok(2)), Ok(nok(-1)));
        assert_eq!(nok(i64::MAX).checked_add(nok(1)), Err(MoneyError::Overflow));
        assert_eq!(nok(i64::MIN).checked_sub(nok(1)), Err(MoneyError::Overflow));
        assert_eq!(
            nok(i64::MAX / 2 + 1).checked_mul(2),
            Err(MoneyError::Overflow)
        );
        assert_eq!(nok(i64::MIN).checked_neg(), Err(MoneyError::Overflow));
        assert_eq!(
            nok(1).checked_add(Money::new(1, Currency::Eur)),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::Nok,
                right: Currency::Eur
            })
        );
        assert_eq!(
            Money::checked_sum(Currency::Nok, [nok(1), nok(2), nok(3)]),
            Ok(nok(6))
        );
        assert_eq!(
            Money::checked_sum(Currency::Nok, [nok(i64::MAX), nok(1)]),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn parses_cashier_input() {
        assert_eq!(parse_minor("12"), Ok(1200));
        assert_eq!(parse_minor("12,5"), Ok(1250));
        assert_eq!(parse_minor("12.05"), Ok(1205));
        assert_eq!(parse_minor(" 1 234,50 "), Ok(123_450));
        assert_eq!(parse_minor("1\u{a0}234,50"), Ok(123_450));
        assert_eq!(parse_minor("-3,00"), Ok(-300));
        for bad in [
            "", "-", "abc", "1,234.50", "1,234", "12,", ",5", "1e3", "kr 12", "1.2.3",
        ] {
            assert!(parse_minor(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            parse_minor("99999999999999999999"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(parse_minor("92233720368547759"), Err(MoneyError::Overflow));
    }

    #[test]
    fn currency_and_locale_codes() {
        assert_eq!(serde_json::to_string(&Currency::Nok).unwrap(), "\"NOK\"");
        assert_eq!(
            serde_json::from_str::<Currency>("\"EUR\"").unwrap(),
            Currency::Eur
        );
        assert_eq!("dkk".parse::<Currency>(), Ok(Currency::Dkk));
        assert!("SEK".parse::<Currency>().is_err());
        assert_eq!(Currency::from_code("EUR"), Some(Currency::Eur));
        assert_eq!(Currency::from_code("eur"), None);
        assert_eq!(Currency::from_code(" EUR"), None);
        assert_eq!("nb_NO.UTF-8".parse::<Locale>(), Ok(Locale::Nb));
        assert_eq!("en-GB".parse::<Locale>(), Ok(Locale::En));
        assert_eq!("fi".parse::<Locale>(), Ok(Locale::Fi));
        assert!("sv".parse::<Locale>().is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn nordic_format_parses_back(minor in -10_000_000_000_000i64..10_000_000_000_000) {
            let nb = nok(minor).format(Locale::Nb);
            let number = nb.trim_start_matches("kr").trim_start_matches(NBSP);
            proptest::prop_assert_eq!(parse_minor(number), Ok(minor));
            let fi = Money::new(minor, Currency::Eur).format(Locale::Fi);
            let number = fi.trim_end_matches('€').trim_end_matches(NBSP);
            proptest::prop_assert_eq!(parse_minor(number), Ok(minor));
            proptest::prop_assert!(!nb.contains(' '), "only no-break spaces: {:?}", nb);
        }

        #[test]
        fn checked_ops_agree_with_i128(a in proptest::num::i64::ANY, b in proptest::num::i64::ANY) {
            let wide = i128::from(a) + i128::from(b);
            match nok(a).checked_add(nok(b)) {
                Ok(sum) => proptest::prop_assert_eq!(i128::from(sum.minor), wide),
                Err(e) => {
                    proptest::prop_assert_eq!(e, MoneyError::Overflow);
                    proptest::prop_assert!(i64::try_from(wide).is_err());
                }
            }
        }
    }
}

//! The exact text a till signs for each concluded transaction, and the formats of its fields.
//!
//! Norway (Skatteetaten, "Requirements and guidelines for implementing digital signatures in
//! Cash Register Systems", 2017, § 2.2.4), UTF-8, `;` between fields, none at the end:
//! `previousSignature;transDate;transTime;nr;transAmntIn;transAmntEx`.
//!
//! Denmark (UFST's check script):
//! `prevSig;nr;transID;transType;transDate;transTime;empID;transAmntIn;transAmntEx;registerID;companyIdent`.
//!
//! - `previousSignature` is the base64 signature of the register's previous transaction, `0`
//!   for the first.
//! - `transDate` is `YYYY-MM-DD` and `transTime` `hh:mm:ss`, local time of the country (Norway
//!   and Denmark both keep Central European Time with EU summer time), no zone.
//! - Amounts have two decimals, `.` as separator, no thousands separator, a leading `-` when
//!   negative, zero as `0.00`.
//!
//! Pure: no I/O, no clock. The caller passes the instant.

use std::fmt;

use time::{Date, Month, OffsetDateTime};

/// Signature of the first transaction of a register (no previous one).
pub const FIRST_PREVIOUS_SIGNATURE: &str = "0";

/// A field that cannot go into the signed text as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("signed field {field} is empty")]
    Empty { field: &'static str },
    #[error("signed field {field} contains ';' or surrounding spaces: {value:?}")]
    Separator { field: &'static str, value: String },
    #[error("instant {0} ms is outside the supported range")]
    Instant(i64),
}

/// An amount in minor units (øre, øre/cents) in the signed format: `1250.00`, `-0.05`, `0.00`.
pub fn amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Date and time of an instant in local time, formatted for the signed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStamp {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `hh:mm:ss`.
    pub time: String,
}

/// Offset of Central European Time at `utc`: +1 h, or +2 h in EU summer time (from the last
/// Sunday of March, 01:00 UTC, to the last Sunday of October, 01:00 UTC). Norway and Denmark
/// both follow it.
pub fn cet_offset_seconds(utc: OffsetDateTime) -> i64 {
    let year = utc.year();
    let start = last_sunday(year, Month::March).with_hms(1, 0, 0);
    let end = last_sunday(year, Month::October).with_hms(1, 0, 0);
    match (start, end) {
        (Ok(start), Ok(end)) => {
            let at = utc.to_offset(time::UtcOffset::UTC);
            let naive = time::PrimitiveDateTime::new(at.date(), at.time());
            if naive >= start && naive < end {
                7200
            } else {
                3600
            }
        }
        _ => 3600,
    }
}

fn last_sunday(year: i32, month: Month) -> Date {
    let days = month.length(year);
    // Every month with 31 days exists in every year `time` supports.
    let last = Date::from_calendar_date(year, month, days).unwrap_or(Date::MIN);
    let back = last.weekday().number_days_from_sunday();
    last.saturating_sub(time::Duration::days(i64::from(back)))
}

/// The local (Norwegian/Danish) date and time of `utc_ms` (Unix epoch milliseconds), seconds
/// truncated.
pub fn local_stamp(utc_ms: i64) -> Result<LocalStamp, TextError> {
    let secs = utc_ms.div_euclid(1000);
    let utc = OffsetDateTime::from_unix_timestamp(secs).map_err(|_| TextError::Instant(utc_ms))?;
    let local = OffsetDateTime::from_unix_timestamp(secs + cet_offset_seconds(utc))
        .map_err(|_| TextError::Instant(utc_ms))?;
    Ok(LocalStamp {
        date: format!(
            "{:04}-{:02}-{:02}",
            local.year(),
            u8::from(local.month()),
            local.day()
        ),
        time: format!(
            "{:02}:{:02}:{:02}",
            local.hour(),
            local.minute(),
            local.second()
        ),
    })
}

/// The Unix epoch milliseconds of local midnight starting `date` (`YYYY-MM-DD`) in Norway and
/// Denmark.
pub fn local_midnight_ms(date: Date) -> i64 {
    let naive = date.midnight().assume_utc();
    // The offset at local midnight equals the offset one hour earlier in UTC terms except on
    // the two change days, where the change happens at 01:00 UTC, after local midnight.
    let offset = cet_offset_seconds(naive - time::Duration::hours(2));
    (naive.unix_timestamp() - offset) * 1000
}

/// The parts of the Norwegian signed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NorwegianText<'a> {
    pub previous_signature: &'a str,
    pub trans_date: &'a str,
    pub trans_time: &'a str,
    pub nr: &'a str,
    /// Minor units, VAT included.
    pub amount_in: i64,
    /// Minor units, VAT excluded.
    pub amount_ex: i64,
}

impl NorwegianText<'_> {
    /// `previousSignature;transDate;transTime;nr;transAmntIn;transAmntEx`.
    pub fn text(&self) -> Result<String, TextError> {
        check("previousSignature", self.previous_signature)?;
        check("transDate", self.trans_date)?;
        check("transTime", self.trans_time)?;
        check("nr", self.nr)?;
        Ok(format!(
            "{};{};{};{};{};{}",
            self.previous_signature,
            self.trans_date,
            self.trans_time,
            self.nr,
            amount(self.amount_in),
            amount(self.amount_ex)
        ))
    }
}

/// The parts of the Danish signed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanishText<'a> {
    pub previous_signature: &'a str,
    pub nr: &'a str,
    pub trans_id: &'a str,
    pub trans_type: &'a str,
    pub trans_date: &'a str,
    pub trans_time: &'a str,
    pub emp_id: &'a str,
    pub amount_in: i64,
    pub amount_ex: i64,
    pub register_id: &'a str,
    pub company_ident: &'a str,
}

impl DanishText<'_> {
    /// `prevSig;nr;transID;transType;transDate;transTime;empID;transAmntIn;transAmntEx;registerID;companyIdent`.
    pub fn text(&self) -> Result<String, TextError> {
        for (field, value) in [
            ("prevSig", self.previous_signature),
            ("nr", self.nr),
            ("transID", self.trans_id),
            ("transType", self.trans_type),
            ("transDate", self.trans_date),
            ("transTime", self.trans_time),
            ("empID", self.emp_id),
            ("registerID", self.register_id),
            ("companyIdent", self.company_ident),
        ] {
            check(field, value)?;
        }
        Ok(format!(
            "{};{};{};{};{};{};{};{};{};{};{}",
            self.previous_signature,
            self.nr,
            self.trans_id,
            self.trans_type,
            self.trans_date,
            self.trans_time,
            self.emp_id,
            amount(self.amount_in),
            amount(self.amount_ex),
            self.register_id,
            self.company_ident
        ))
    }
}

fn check(field: &'static str, value: &str) -> Result<(), TextError> {
    if value.is_empty() {
        return Err(TextError::Empty { field });
    }
    if value.contains(';') || value.trim() != value {
        return Err(TextError::Separator {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// The part of `amount` (minor units, VAT included) of a sale of `total` that excludes VAT,
/// in proportion to the sale's own split (`excluding` of `total`), rounded half away from zero.
/// A refund of the whole sale gives exactly the sale's `excluding`.
pub fn proportional_excluding(amount: i64, total: i64, excluding: i64) -> i64 {
    if total == 0 {
        return amount;
    }
    let num = i128::from(amount) * i128::from(excluding);
    let den = i128::from(total);
    let q = num / den;
    let r = num % den;
    let rounded = if 2 * r.abs() >= den.abs() {
        q + if (num < 0) == (den < 0) { 1 } else { -1 }
    } else {
        q
    };
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

/// The signature scheme of a country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Norway: the six-field text, RSA-SHA1 PKCS#1 v1.5.
    NoRsaSha1,
    /// Denmark: the eleven-field text, RSA-SHA512 PKCS#1 v1.5.
    DkRsaSha512,
}

impl Scheme {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::NoRsaSha1 => "NO-RSA-SHA1",
            Scheme::DkRsaSha512 => "DK-RSA-SHA512",
        }
    }

    pub fn parse(s: &str) -> Option<Scheme> {
        match s {
            "NO-RSA-SHA1" => Some(Scheme::NoRsaSha1),
            "DK-RSA-SHA512" => Some(Scheme::DkRsaSha512),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn ms(dt: OffsetDateTime) -> i64 {
        (dt.unix_timestamp_nanos() / 1_000_000) as i64
    }

    #[test]
    fn amounts_as_the_guide_shows_them() {
        assert_eq!(amount(125_000), "1250.00");
        assert_eq!(amount(100_000), "1000.00");
        assert_eq!(amount(-125_000), "-1250.00");
        assert_eq!(amount(0), "0.00");
        assert_eq!(amount(5), "0.05");
        assert_eq!(amount(-5), "-0.05");
        assert_eq!(amount(12_345_678_901), "123456789.01");
        assert_eq!(amount(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn norwegian_text_matches_the_guide_example() {
        let text = NorwegianText {
            previous_signature: "signature_from_previous_receipt",
            trans_date: "2014-01-24",
            trans_time: "23:59:59",
            nr: "123456789",
            amount_in: 125_000,
            amount_ex: 100_000,
        }
        .text()
        .unwrap();
        assert_eq!(
            text,
            "signature_from_previous_receipt;2014-01-24;23:59:59;123456789;1250.00;1000.00"
        );
    }

    #[test]
    fn danish_text_has_eleven_fields_in_order() {
        let text = DanishText {
            previous_signature: "0",
            nr: "1",
            trans_id: "1",
            trans_type: "11001",
            trans_date: "2024-03-01",
            trans_time: "12:00:00",
            emp_id: "7",
            amount_in: 12_500,
            amount_ex: 10_000,
            register_id: "kasse1",
            company_ident: "12345678",
        }
        .text()
        .unwrap();
        assert_eq!(
            text,
            "0;1;1;11001;2024-03-01;12:00:00;7;125.00;100.00;kasse1;12345678"
        );
    }

    #[test]
    fn separators_and_empty_fields_are_refused() {
        let base = NorwegianText {
            previous_signature: "0",
            trans_date: "2024-01-01",
            trans_time: "00:00:00",
            nr: "1",
            amount_in: 0,
            amount_ex: 0,
        };
        assert!(matches!(
            NorwegianText {
                nr: "1;2",
                ..base.clone()
            }
            .text(),
            Err(TextError::Separator { field: "nr", .. })
        ));
        assert!(matches!(
            NorwegianText {
                nr: " 1",
                ..base.clone()
            }
            .text(),
            Err(TextError::Separator { field: "nr", .. })
        ));
        assert!(matches!(
            NorwegianText {
                previous_signature: "",
                ..base.clone()
            }
            .text(),
            Err(TextError::Empty {
                field: "previousSignature"
            })
        ));
        assert_eq!(base.text().unwrap(), "0;2024-01-01;00:00:00;1;0.00;0.00");
    }

    #[test]
    fn local_time_follows_eu_summer_time() {
        // Winter: UTC+1.
        let s = local_stamp(ms(datetime!(2014-01-24 22:59:59 UTC))).unwrap();
        assert_eq!(
            (s.date.as_str(), s.time.as_str()),
            ("2014-01-24", "23:59:59")
        );
        // Summer: UTC+2, crossing midnight.
        let s = local_stamp(ms(datetime!(2025-06-30 22:30:00 UTC))).unwrap();
        assert_eq!(
            (s.date.as_str(), s.time.as_str()),
            ("2025-07-01", "00:30:00")
        );
        // 2025: summer time from 30 March 01:00 UTC to 26 October 01:00 UTC.
        let s = local_stamp(ms(datetime!(2025-03-30 00:59:59 UTC))).unwrap();
        assert_eq!(s.time, "01:59:59");
        let s = local_stamp(ms(datetime!(2025-03-30 01:00:00 UTC))).unwrap();
        assert_eq!(s.time, "03:00:00");
        let s = local_stamp(ms(datetime!(2025-10-26 00:59:59 UTC))).unwrap();
        assert_eq!(s.time, "02:59:59");
        let s = local_stamp(ms(datetime!(2025-10-26 01:00:00 UTC))).unwrap();
        assert_eq!(s.time, "02:00:00");
        // Milliseconds are truncated, not rounded.
        let s = local_stamp(ms(datetime!(2024-02-29 11:00:00.999 UTC))).unwrap();
        assert_eq!(
            (s.date.as_str(), s.time.as_str()),
            ("2024-02-29", "12:00:00")
        );
    }

    #[test]
    fn local_midnight() {
        let d = Date::from_calendar_date(2025, Month::January, 1).unwrap();
        assert_eq!(local_midnight_ms(d), ms(datetime!(2024-12-31 23:00 UTC)));
        let d = Date::from_calendar_date(2025, Month::July, 1).unwrap();
        assert_eq!(local_midnight_ms(d), ms(datetime!(2025-06-30 22:00 UTC)));
        // The change days: midnight is before the 01:00 UTC change.
        let d = Date::from_calendar_date(2025, Month::March, 30).unwrap();
        assert_eq!(local_midnight_ms(d), ms(datetime!(2025-03-29 23:00 UTC)));
        let d = Date::from_calendar_date(2025, Month::October, 26).unwrap();
        assert_eq!(local_midnight_ms(d), ms(datetime!(2025-10-25 22:00 UTC)));
    }

    #[test]
    fn proportional_split() {
        // A whole refund gives the sale's own split.
        assert_eq!(proportional_excluding(12_500, 12_500, 10_000), 10_000);
        assert_eq!(proportional_excluding(-12_500, 12_500, 10_000), -10_000);
        // Half of 125.00 at 25 %: 62.50 of which 50.00 ex VAT.
        assert_eq!(proportional_excluding(6_250, 12_500, 10_000), 5_000);
        // 0.01 of a 25 % sale: 0.008 rounds to 0.01.
        assert_eq!(proportional_excluding(1, 12_500, 10_000), 1);
        assert_eq!(proportional_excluding(-1, 12_500, 10_000), -1);
        assert_eq!(proportional_excluding(0, 0, 0), 0);
    }

    proptest! {
        #[test]
        fn amount_round_trips(minor in -1_000_000_000_000i64..1_000_000_000_000) {
            let text = amount(minor);
            let (whole, frac) = text.split_once('.').unwrap();
            prop_assert_eq!(frac.len(), 2);
            prop_assert!(!whole.contains(',') && !whole.contains(' '));
            let back: i64 = whole.trim_start_matches('-').parse::<i64>().unwrap() * 100
                + frac.parse::<i64>().unwrap();
            prop_assert_eq!(if minor < 0 { -back } else { back }, minor);
        }

        #[test]
        fn proportional_is_bounded_and_odd(
            total in 1i64..10_000_000,
            vat_bp in 0i64..3000,
            share in 0.0f64..=1.0,
        ) {
            let excluding = total * 10_000 / (10_000 + vat_bp);
            let amount = ((total as f64) * share) as i64;
            let ex = proportional_excluding(amount, total, excluding);
            prop_assert!(ex <= amount && ex >= 0);
            prop_assert_eq!(proportional_excluding(-amount, total, excluding), -ex);
        }

        #[test]
        fn local_time_is_utc_plus_one_or_two(secs in 946_684_800i64..4_102_444_800) {
            let utc = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let offset = cet_offset_seconds(utc);
            prop_assert!(offset == 3600 || offset == 7200);
            let month = u8::from(utc.month());
            if (5..=9).contains(&month) { prop_assert_eq!(offset, 7200); }
            if month <= 2 || month >= 11 { prop_assert_eq!(offset, 3600); }
            let stamp = local_stamp(secs * 1000).unwrap();
            prop_assert_eq!(stamp.date.len(), 10);
            prop_assert_eq!(stamp.time.len(), 8);
        }
    }
}

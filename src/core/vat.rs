//! VAT rates in basis points and the one rounding rule that splits a line
//! total into its tax and the part excluding tax.
//!
//! **Rule.** Prices include VAT. For a line total `T` (minor units, after
//! discounts) at rate `r` basis points:
//! `tax = round_half_away_from_zero(T * r / (10000 + r))`, `excluding_tax = T - tax`.
//! So `excluding_tax + tax == total` always holds exactly, and the split of `-T`
//! is the negation of the split of `T`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::money::Currency;

/// Countries (markets) Vipps MobilePay serves, each with its VAT rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Country {
    #[serde(rename = "NO")]
    No,
    #[serde(rename = "DK")]
    Dk,
    #[serde(rename = "FI")]
    Fi,
}

impl Country {
    pub const ALL: [Country; 3] = [Country::No, Country::Dk, Country::Fi];

    /// ISO 3166-1 alpha-2 code (`"NO"`).
    pub fn code(self) -> &'static str {
        match self {
            Country::No => "NO",
            Country::Dk => "DK",
            Country::Fi => "FI",
        }
    }

    pub fn currency(self) -> Currency {
        match self {
            Country::No => Currency::Nok,
            Country::Dk => Currency::Dkk,
            Country::Fi => Currency::Eur,
        }
    }

    /// The international calling code (`"47"`), without `+`.
    pub fn calling_code(self) -> &'static str {
        match self {
            Country::No => "47",
            Country::Dk => "45",
            Country::Fi => "358",
        }
    }

    /// The country whose VAT rates a till taking `currency` uses (EUR: Finland, the one euro
    /// market of Vipps MobilePay).
    pub fn of_currency(currency: Currency) -> Country {
        match currency {
            Currency::Nok => Country::No,
            Currency::Dkk => Country::Dk,
            Currency::Eur => Country::Fi,
        }
    }

    /// The VAT rates a till in this country may use, highest first.
    pub fn vat_rates(self) -> &'static [VatRate] {
        match self {
            Country::No => &[
                VatRate::NO_STANDARD,
                VatRate::NO_FOOD,
                VatRate::NO_REDUCED,
                VatRate::ZERO,
            ],
            Country::Dk => &[VatRate::DK_STANDARD, VatRate::ZERO],
            Country::Fi => &[
                VatRate::FI_STANDARD,
                VatRate::FI_FOOD,
                VatRate::FI_REDUCED,
                VatRate::ZERO,
            ],
        }
    }
}

impl std::str::FromStr for Country {
    type Err = VatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "NO" => Ok(Country::No),
            "DK" => Ok(Country::Dk),
            "FI" => Ok(Country::Fi),
            _ => Err(VatError::UnknownCountry(s.to_string())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VatError {
    #[error(
        "unknown VAT rate {basis_points} basis points (known: 0, 1000, 1200, 1400, 1500, 2500, 2550)"
    )]
    UnknownRate { basis_points: u32 },
    #[error("VAT rate {rate} is not used in {country}", country = country.code())]
    NotInCountry { rate: VatRate, country: Country },
    #[error("unknown country {0:?} (expected NO, DK or FI)")]
    UnknownCountry(String),
}

/// A VAT rate in basis points (2500 = 25 %). Only rates used in Norway,
/// Denmark or Finland can be constructed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct VatRate(u32);

impl VatRate {
    pub const ZERO: VatRate = VatRate(0);
    /// Norway: standard 25 %.
    pub const NO_STANDARD: VatRate = VatRate(2500);
    /// Norway: food 15 %.
    pub const NO_FOOD: VatRate = VatRate(1500);
    /// Norway: transport, cinema, hotels 12 %.
    pub const NO_REDUCED: VatRate = VatRate(1200);
    /// Denmark: 25 %.
    pub const DK_STANDARD: VatRate = VatRate(2500);
    /// Finland: standard 25.5 %.
    pub const FI_STANDARD: VatRate = VatRate(2550);
    /// Finland: food, restaurants 14 %.
    pub const FI_FOOD: VatRate = VatRate(1400);
    /// Finland: books, medicine, transport 10 %.
    pub const FI_REDUCED: VatRate = VatRate(1000);

    const KNOWN: [u32; 7] = [0, 1000, 1200, 1400, 1500, 2500, 2550];

    /// A rate used in at least one supported country.
    pub fn new(basis_points: u32) -> Result<VatRate, VatError> {
        if Self::KNOWN.contains(&basis_points) {
            Ok(VatRate(basis_points))
        } else {
            Err(VatError::UnknownRate { basis_points })
        }
    }

    /// A rate valid in `country`.
    pub fn for_country(country: Country, basis_points: u32) -> Result<VatRate, VatError> {
        let rate = VatRate::new(basis_points)?;
        if country.vat_rates().contains(&rate) {
            Ok(rate)
        } else {
            Err(VatError::NotInCountry { rate, country })
        }
    }

    pub const fn basis_points(self) -> u32 {
        self.0
    }

    /// Whole percent for Vipps' deprecated `taxPercentage` (0..100), or `None`
    /// when the rate has a fraction (Finland's 25.5 %): send `taxRate` then.
    pub fn whole_percent(self) -> Option<u32> {
        self.0.is_multiple_of(100).then_some(self.0 / 100)
    }
}

impl TryFrom<u32> for VatRate {
    type Error = VatError;

    fn try_from(basis_points: u32) -> Result<Self, Self::Error> {
        VatRate::new(basis_points)
    }
}

impl From<VatRate> for u32 {
    fn from(rate: VatRate) -> u32 {
        rate.0
    }
}

impl fmt::Display for VatRate {
    /// `25 %`, `25.5 %`, `0 %`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let fraction = self.0 % 100;
        if fraction == 0 {
            write!(f, "{whole} %")
        } else if fraction.is_multiple_of(10) {
            write!(f, "{whole}.{} %", fraction / 10)
        } else {
            write!(f, "{whole}.{fraction:02} %")
        }
    }
}

/// A line's amounts as Vipps receipt `orderLines` need them (minor units):
/// `totalAmount`, `totalAmountExcludingTax`, `totalTaxAmount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineAmounts {
    pub total: i64,
    pub excluding_tax: i64,
    pub tax: i64,
}

/// Split a VAT-inclusive total into tax and the part excluding tax with the
/// module's rounding rule. Never overflows: the tax is at most `|total|`.
pub fn split(total_incl: i64, rate: VatRate) -> LineAmounts {
    let rate = i128::from(rate.0);
    let numerator = i128::from(total_incl) * rate;
    let denominator = 10_000 + rate;
    let tax = div_round_half_away(numerator, denominator);
    // |tax| <= |total_incl| because rate < 10000 + rate, so both fit in i64.
    let tax = i64::try_from(tax).unwrap_or(0);
    LineAmounts {
        total: total_incl,
        excluding_tax: total_incl - tax,
        tax,
    }
}

/// `numerator / denominator` rounded half away from zero (`denominator > 0`).
pub(crate) fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = (numerator % denominator).abs();
    if remainder * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_known_examples() {
        // Vipps' own receipt example: 10000 incl. 25 % = 8000 + 2000.
        assert_eq!(
            split(10_000, VatRate::NO_STANDARD),
            LineAmounts {
                total: 10_000,
                excluding_tax: 8_000,
                tax: 2_000
            }
        );
        // 99.90 at 15 %: 9990 * 1500 / 11500 = 1303.04… -> 1303.
        assert_eq!(split(9_990, VatRate::NO_FOOD).tax, 1_303);
        // 1.00 at 25 %: 20 exactly.
        assert_eq!(split(100, VatRate::NO_STANDARD).tax, 20);
        // 0.01 at 25 %: 0.2 -> 0; 0.03 at 25 %: 0.6 -> 1.
        assert_eq!(split(1, VatRate::NO_STANDARD).tax, 0);
        assert_eq!(split(3, VatRate::NO_STANDARD).tax, 1);
        // 10.50 at 10 %: 1050 * 1000 / 11000 = 95.45 -> 95.
        assert_eq!(split(1_050, VatRate::FI_REDUCED).tax, 95);
        // Finland 25.5 % on 10.00 EUR: 1000 * 2550 / 12550 = 203.18 -> 203.
        assert_eq!(split(1_000, VatRate::FI_STANDARD).tax, 203);
        assert_eq!(split(1_000, VatRate::ZERO).tax, 0);
        assert_eq!(split(0, VatRate::NO_STANDARD), LineAmounts::default());
    }

    #[test]
    fn rounds_exact_halves_away_from_zero() {
        assert_eq!(div_round_half_away(5, 2), 3);
        assert_eq!(div_round_half_away(-5, 2), -3);
        assert_eq!(div_round_half_away(4, 3), 1);
        assert_eq!(div_round_half_away(5, 3), 2);
        assert_eq!(div_round_half_away(-4, 3), -1);
        // Of our rates only 12 % produces exact halves: 14 * 1200 / 11200 = 1.5.
        assert_eq!(split(14, VatRate::NO_REDUCED).tax, 2);
        assert_eq!(split(-14, VatRate::NO_REDUCED).tax, -2);
        assert_eq!(split(8, VatRate::NO_STANDARD).tax, 2); // 1.6
    }

    #[test]
    fn extreme_totals_do_not_overflow() {
        for total in [i64::MAX, i64::MIN, i64::MIN + 1] {
            let a = split(total, VatRate::FI_STANDARD);
            assert_eq!(a.excluding_tax.checked_add(a.tax), Some(total));
        }
    }

    #[test]
    fn rates_are_validated_per_country() {
        assert_eq!(VatRate::new(2500), Ok(VatRate::NO_STANDARD));
        assert_eq!(
            VatRate::new(2400),
            Err(VatError::UnknownRate { basis_points: 2400 })
        );
        assert!(VatRate::for_country(Country::No, 1500).is_ok());
        assert!(VatRate::for_country(Country::Fi, 2550).is_ok());
        assert_eq!(
            VatRate::for_country(Country::Dk, 1500),
            Err(VatError::NotInCountry {
                rate: VatRate::NO_FOOD,
                country: Country::Dk
            })
        );
        assert!(VatRate::for_country(Country::No, 2550).is_err());
        assert!(VatRate::for_country(Country::Dk, 0).is_ok());
        assert_eq!(
            serde_json::to_string(&VatRate::FI_STANDARD).unwrap(),
            "2550"
        );
        assert!(serde_json::from_str::<VatRate>("2400").is_err());
        assert_eq!(VatRate::FI_STANDARD.to_string(), "25.5 %");
        assert_eq!(VatRate::NO_FOOD.to_string(), "15 %");
        assert_eq!(VatRate::FI_STANDARD.whole_percent(), None);
        assert_eq!(VatRate::NO_STANDARD.whole_percent(), Some(25));
        assert_eq!("dk".parse::<Country>(), Ok(Country::Dk));
        assert_eq!(Country::Fi.currency(), Currency::Eur);
    }

    fn any_rate() -> impl Strategy<Value = VatRate> {
        prop::sample::select(VatRate::KNOWN.to_vec()).prop_map(VatRate)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn split_is_exact_and_symmetric(total in -1_000_000_000_000i64..1_000_000_000_000, rate in any_rate()) {
            let a = split(total, rate);
            prop_assert_eq!(a.total, total);
            prop_assert_eq!(a.excluding_tax + a.tax, total);
            prop_assert!(a.tax.abs() <= total.abs());
            prop_assert_eq!(split(-total, rate).tax, -a.tax);
            // The tax is the closest integer to the exact value.
            let exact = total as f64 * f64::from(rate.0) / (10_000.0 + f64::from(rate.0));
            prop_assert!((a.tax as f64 - exact).abs() <= 0.5 + 1e-6 * exact.abs().max(1.0));
            if total >= 0 {
                prop_assert!(a.tax >= 0 && a.excluding_tax >= 0);
            }
        }
    }
}

//! Tenders and split payment: how a sale's total is covered.
//!
//! A sale is paid by one or more parts (Vipps, cash, an external card terminal, a gift card or
//! credit note) until the total is covered. Only cash may exceed what is left (it gives change),
//! and only cash is rounded: when cash settles the rest of a Norwegian sale, the amount due is
//! rounded to whole kroner, in Denmark to 50 øre, in Finland to 5 cents; the rounding is its
//! own recorded amount, never hidden in a price. Amounts are minor units.

use std::fmt;

use super::vat::Country;

/// A means of payment, with its SAF-T payment code (PredefinedBasicID-12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenderKind {
    /// Vipps MobilePay through the engine (12011 "mobile phone apps").
    Vipps,
    /// Notes and coins (12001).
    Cash,
    /// A card paid on a terminal that is not integrated: the cashier confirms it (12002).
    Card,
    /// A gift card (12005).
    GiftCard,
    /// A credit note from an earlier return (12010).
    CreditNote,
}

impl TenderKind {
    pub const ALL: [TenderKind; 5] = [
        Self::Vipps,
        Self::Cash,
        Self::Card,
        Self::GiftCard,
        Self::CreditNote,
    ];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vipps => "vipps",
            Self::Cash => "cash",
            Self::Card => "card",
            Self::GiftCard => "gift_card",
            Self::CreditNote => "credit_note",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The journal's payment code (PredefinedBasicID-12).
    pub fn payment_code(self) -> super::journal_code::PaymentCode {
        use super::journal_code::PaymentCode;
        match self {
            Self::Vipps => PaymentCode::MOBILE_APP,
            Self::Cash => PaymentCode::CASH,
            Self::Card => PaymentCode::DEBIT_CARD,
            Self::GiftCard => PaymentCode::GIFT_TOKEN,
            Self::CreditNote => PaymentCode::CREDIT_NOTE,
        }
    }

    /// SAF-T payment code (PredefinedBasicID-12).
    pub fn saft_code(self) -> &'static str {
        match self {
            Self::Vipps => "12011",
            Self::Cash => "12001",
            Self::Card => "12002",
            Self::GiftCard => "12005",
            Self::CreditNote => "12010",
        }
    }
}

impl fmt::Display for TenderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The smallest cash step in a country, in minor units.
pub fn cash_step(country: Country) -> i64 {
    match country {
        Country::No => 100,
        Country::Dk => 50,
        Country::Fi => 5,
    }
}

/// `amount` rounded to the country's cash step, halves away from zero (NOK 12.50 → 13,
/// DKK 12.25 → 12.50, DKK 12.24 → 12.00).
pub fn round_cash(country: Country, amount: i64) -> i64 {
    let step = cash_step(country);
    let rest = amount.rem_euclid(step);
    if rest * 2 >= step {
        amount - rest + step
    } else {
        amount - rest
    }
}

/// One recorded part of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub kind: TenderKind,
    /// What this part pays towards the sale (after cash rounding; change excluded).
    pub amount: i64,
    /// Cash only: what the customer handed over.
    pub tendered: i64,
    /// Cash only: what goes back to the customer.
    pub change: i64,
    /// Cash only: the rounding this part settled with (positive: the customer pays more).
    pub rounding: i64,
    /// The terminal's, gift card's or Vipps reference, if any.
    pub reference: Option<String>,
}

/// Why a tender is refused. Nothing is recorded when one is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenderError {
    #[error("an amount must be more than zero (got {0})")]
    NotPositive(i64),
    #[error("{kind} of {amount} is more than the {remaining} left to pay")]
    OverRemaining {
        kind: TenderKind,
        amount: i64,
        remaining: i64,
    },
    #[error("the sale is already paid")]
    AlreadyPaid,
    #[error("amounts this large cannot be right ({0})")]
    Absurd(i64),
    /// A rest smaller than half a cash step rounds to nothing in cash, and a part of zero
    /// cannot be recorded: it must be taken another way.
    #[error("the {remaining} left rounds to nothing in cash: take it by card or Vipps")]
    RestRoundsToNothing { remaining: i64 },
}

/// Amounts above this (100 million in minor units: 1 MNOK) are refused as typing errors.
pub const MAX_AMOUNT: i64 = 100_000_000;

/// A sale's total and the parts that cover it so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    country: Country,
    total: i64,
    parts: Vec<Part>,
}

impl Split {
    pub fn new(country: Country, total: i64) -> Self {
        Self {
            country,
            total,
            parts: Vec::new(),
        }
    }

    /// A split with parts already recorded (as stored).
    pub fn with_parts(country: Country, total: i64, parts: Vec<Part>) -> Self {
        Self {
            country,
            total,
            parts,
        }
    }

    pub fn total(&self) -> i64 {
        self.total
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The rounding recorded so far (cash that settled the rest).
    pub fn rounding(&self) -> i64 {
        self.parts.iter().map(|p| p.rounding).sum()
    }

    /// What is still to pay (before any cash rounding).
    pub fn remaining(&self) -> i64 {
        self.total + self.rounding() - self.paid()
    }

    /// What the parts pay towards the sale.
    pub fn paid(&self) -> i64 {
        self.parts.iter().map(|p| p.amount).sum()
    }

    /// True once the total (with its rounding) is covered.
    pub fn is_covered(&self) -> bool {
        self.remaining() <= 0
    }

    /// What cash must cover if it settles the rest now (rounded to the cash step).
    pub fn cash_due(&self) -> i64 {
        round_cash(self.country, self.remaining().max(0))
    }

    /// Records a non-cash part (Vipps, card, gift card, credit note) of exactly `amount`.
    pub fn add(
        &mut self,
        kind: TenderKind,
        amount: i64,
        reference: Option<String>,
    ) -> Result<&Part, TenderError> {
        check_amount(amount)?;
        let remaining = self.remaining();
        if remaining <= 0 {
            return Err(TenderError::AlreadyPaid);
        }
        if kind == TenderKind::Cash {
            return self.add_cash(amount);
        }
        if amount > remaining {
            return Err(TenderError::OverRemaining {
                kind,
                amount,
                remaining,
            });
        }
        self.parts.push(Part {
            kind,
            amount,
            tendered: amount,
            change: 0,
            rounding: 0,
            reference,
        });
        Ok(self.parts.last().expect("just pushed"))
    }

    /// Records cash handed over. If it covers the rest rounded to the cash step, the sale is
    /// settled with that rounding and any excess is change; if it covers only the exact rest,
    /// it settles without rounding; otherwise it is a part payment (no rounding, no change).
    pub fn add_cash(&mut self, tendered: i64) -> Result<&Part, TenderError> {
        check_amount(tendered)?;
        let remaining = self.remaining();
        if remaining <= 0 {
            return Err(TenderError::AlreadyPaid);
        }
        let due = round_cash(self.country, remaining);
        if due == 0 {
            return Err(TenderError::RestRoundsToNothing { remaining });
        }
        let part = if tendered >= due {
            Part {
                kind: TenderKind::Cash,
                amount: due,
                tendered,
                change: tendered - due,
                rounding: due - remaining,
                reference: None,
            }
        } else if tendered >= remaining {
            // Covers the exact rest but not its rounded-up amount: settled without rounding.
            Part {
                kind: TenderKind::Cash,
                amount: remaining,
                tendered,
                change: tendered - remaining,
                rounding: 0,
                reference: None,
            }
        } else {
            Part {
                kind: TenderKind::Cash,
                amount: tendered,
                tendered,
                change: 0,
                rounding: 0,
                reference: None,
            }
        };
        self.parts.push(part);
        Ok(self.parts.last().expect("just pushed"))
    }
}

fn check_amount(amount: i64) -> Result<(), TenderError> {
    if amount <= 0 {
        return Err(TenderError::NotPositive(amount));
    }
    if amount > MAX_AMOUNT {
        return Err(TenderError::Absurd(amount));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cash_rounds_to_the_country_step() {
        assert_eq!(round_cash(Country::No, 12_949), 12_900);
        assert_eq!(round_cash(Country::No, 12_950), 13_000);
        assert_eq!(round_cash(Country::No, 12_900), 12_900);
        assert_eq!(round_cash(Country::Dk, 12_924), 12_900);
        assert_eq!(round_cash(Country::Dk, 12_925), 12_950);
        assert_eq!(round_cash(Country::Dk, 12_974), 12_950);
        assert_eq!(round_cash(Country::Dk, 12_975), 13_000);
        assert_eq!(round_cash(Country::Fi, 1_002), 1_000);
        assert_eq!(round_cash(Country::Fi, 1_003), 1_005);
    }

    #[test]
    fn a_rest_that_rounds_to_nothing_is_not_taken_in_cash() {
        // Found by `parts_always_add_up`: 5 495,65 paid 2 185,46 in cash and 3 309,95 by card
        // leaves 0,24, which rounds to 0 in cash; a cash part of 0 cannot be stored.
        let mut s = Split::new(Country::No, 549_565);
        s.add(TenderKind::Cash, 218_546, None).unwrap();
        s.add(TenderKind::Card, 330_995, None).unwrap();
        let before = s.clone();
        assert_eq!(
            s.add(TenderKind::Cash, 1, None),
            Err(TenderError::RestRoundsToNothing { remaining: 24 })
        );
        assert_eq!(s, before, "nothing recorded");
        s.add(TenderKind::Card, 24, None).unwrap();
        assert_eq!(s.remaining(), 0);
    }

    #[test]
    fn a_cash_sale_with_change_records_the_rounding() {
        let mut s = Split::new(Country::No, 12_940);
        let p = s.add_cash(20_000).unwrap().clone();
        assert_eq!(
            (p.amount, p.tendered, p.change, p.rounding),
            (12_900, 20_000, 7_100, -40)
        );
        assert!(s.is_covered());
        assert_eq!(s.rounding(), -40);
        assert_eq!(s.paid() - s.rounding(), 12_940, "the sale total is kept");
        assert_eq!(s.add_cash(100), Err(TenderError::AlreadyPaid));
    }

    #[test]
    fn split_cash_then_vipps_covers_the_rest_exactly() {
        let mut s = Split::new(Country::No, 12_940);
        let p = s.add_cash(10_000).unwrap().clone();
        assert_eq!((p.amount, p.change, p.rounding), (10_000, 0, 0));
        assert_eq!(s.remaining(), 2_940);
        // Vipps pays the exact rest, no rounding.
        assert!(matches!(
            s.add(TenderKind::Vipps, 3_000, None),
            Err(TenderError::OverRemaining {
                remaining: 2_940,
                ..
            })
        ));
        s.add(TenderKind::Vipps, 2_940, Some("t1-abc-7".into()))
            .unwrap();
        assert!(s.is_covered());
        assert_eq!(s.rounding(), 0);
    }

    #[test]
    fn bad_amounts_are_refused_and_nothing_is_recorded() {
        let mut s = Split::new(Country::Dk, 5_000);
        assert_eq!(
            s.add(TenderKind::Card, 0, None),
            Err(TenderError::NotPositive(0))
        );
        assert_eq!(s.add_cash(-5), Err(TenderError::NotPositive(-5)));
        assert_eq!(
            s.add_cash(MAX_AMOUNT + 1),
            Err(TenderError::Absurd(MAX_AMOUNT + 1))
        );
        assert!(s.parts().is_empty());
    }

    #[test]
    fn codes_and_texts() {
        for k in TenderKind::ALL {
            assert_eq!(TenderKind::parse(k.as_str()), Some(k));
            assert!(k.saft_code().starts_with("120"));
        }
        assert_eq!(TenderKind::Vipps.saft_code(), "12011");
    }

    proptest! {
        /// Whatever mix of tenders covers a sale, the parts pay exactly the total plus the
        /// recorded rounding, the rounding is less than half a cash step, and change only ever
        /// comes from cash.
        #[test]
        fn parts_always_add_up(
            total in 1i64..1_000_000,
            steps in proptest::collection::vec((0u8..4, 1i64..400_000), 1..8),
            country in prop_oneof![Just(Country::No), Just(Country::Dk), Just(Country::Fi)],
        ) {
            let mut s = Split::new(country, total);
            for (kind, amount) in steps {
                let kind = [TenderKind::Cash, TenderKind::Vipps, TenderKind::Card, TenderKind::GiftCard][kind as usize];
                let before = s.clone();
                if s.add(kind, amount, None).is_err() {
                    prop_assert_eq!(&s, &before, "a refused tender records nothing");
                }
            }
            prop_assert_eq!(s.paid(), s.total() + s.rounding() - s.remaining().max(0));
            prop_assert!(s.rounding().abs() * 2 <= cash_step(country));
            for p in s.parts() {
                prop_assert!(p.amount > 0);
                if p.kind != TenderKind::Cash {
                    prop_assert_eq!(p.change, 0);
                    prop_assert_eq!(p.rounding, 0);
                }
                prop_assert_eq!(p.tendered - p.change, p.amount);
            }
            prop_assert!(s.remaining() >= 0);
        }
    }
}

//! Loyalty, the pure parts: the enrolment state machine, member prices on a basket, and how a
//! member's number is shown (only the last two digits).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::basket::{Basket, Discount, LineId};
use super::catalog::Unit;

/// Where an invitation to join stands.
///
/// `Started` is written before the login is started at Vipps; `Pending` once Vipps gave the
/// `auth_req_id`; the other four are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnrolmentState {
    Started,
    Pending,
    Approved,
    Declined,
    Expired,
    Failed,
}

impl EnrolmentState {
    pub const ALL: [EnrolmentState; 6] = [
        EnrolmentState::Started,
        EnrolmentState::Pending,
        EnrolmentState::Approved,
        EnrolmentState::Declined,
        EnrolmentState::Expired,
        EnrolmentState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EnrolmentState::Started => "STARTED",
            EnrolmentState::Pending => "PENDING",
            EnrolmentState::Approved => "APPROVED",
            EnrolmentState::Declined => "DECLINED",
            EnrolmentState::Expired => "EXPIRED",
            EnrolmentState::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether nothing more happens to it.
    pub fn is_final(self) -> bool {
        !matches!(self, EnrolmentState::Started | EnrolmentState::Pending)
    }

    /// The allowed moves: STARTED → PENDING | FAILED (the start was refused or interrupted);
    /// PENDING → APPROVED | DECLINED | EXPIRED | FAILED.
    pub fn can_move_to(self, next: EnrolmentState) -> bool {
        use EnrolmentState::*;
        matches!(
            (self, next),
            (Started, Pending | Failed) | (Pending, Approved | Declined | Expired | Failed)
        )
    }
}

/// Why an enrolment did not make a member (stored with DECLINED, EXPIRED and FAILED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentFailure {
    /// The customer said no in the app.
    Declined,
    /// The login ran out of time.
    Expired,
    /// No (eligible) Vipps MobilePay user for this number (e.g. under 15).
    InvalidUser,
    /// The customer's app is too old.
    OldApp,
    /// A login for this customer was already in progress at Vipps.
    AlreadyInProgress,
    /// Vipps refused the request or could not be reached.
    Vipps,
    /// The till stopped while starting the login or after the approval was used: invite again.
    Interrupted,
    /// The approved login's `id_token` did not validate (signature, issuer, audience, expiry,
    /// or another user than userinfo's): nothing from it was stored.
    Unverified,
}

impl EnrolmentFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            EnrolmentFailure::Declined => "declined",
            EnrolmentFailure::Expired => "expired",
            EnrolmentFailure::InvalidUser => "invalid_user",
            EnrolmentFailure::OldApp => "old_app",
            EnrolmentFailure::AlreadyInProgress => "already_in_progress",
            EnrolmentFailure::Vipps => "vipps",
            EnrolmentFailure::Interrupted => "interrupted",
            EnrolmentFailure::Unverified => "unverified",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        use EnrolmentFailure::*;
        [
            Declined,
            Expired,
            InvalidUser,
            OldApp,
            AlreadyInProgress,
            Vipps,
            Interrupted,
            Unverified,
        ]
        .into_iter()
        .find(|f| f.as_str() == text)
    }

    /// The final state this failure leads to.
    pub fn state(self) -> EnrolmentState {
        match self {
            EnrolmentFailure::Declined => EnrolmentState::Declined,
            EnrolmentFailure::Expired => EnrolmentState::Expired,
            _ => EnrolmentState::Failed,
        }
    }
}

/// Member prices: per item (a unit price, minor units) and per category (basis points off).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPrices {
    pub items: BTreeMap<String, i64>,
    pub categories: BTreeMap<String, u32>,
}

impl MemberPrices {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.categories.is_empty()
    }
}

/// The member discount of each line that has one: an item's member price (as an amount off
/// its gross, never below zero), else its category's percentage. A line the cashier already
/// discounted keeps the larger of the two discounts; lines without a member price are left
/// alone. Apply with [`apply_member_prices`].
pub fn member_discounts(basket: &Basket, prices: &MemberPrices) -> Vec<(LineId, Discount)> {
    let mut out = Vec::new();
    for line in basket.lines() {
        let member = if let Some(&member_price) = prices.items.get(&line.item.id) {
            let per_unit = (line.item.unit_price - member_price).max(0);
            let off = match line.item.unit {
                Unit::Pcs => per_unit.saturating_mul(line.quantity),
                // Quantity in grams: round half away from zero, like the basket.
                Unit::Kg => (per_unit.saturating_mul(line.quantity) + 500) / 1000,
            };
            Discount::Amount(off.min(line.gross))
        } else if let Some(&bp) = line
            .item
            .category
            .as_ref()
            .and_then(|c| prices.categories.get(c))
        {
            Discount::Percent(bp.min(10_000))
        } else {
            continue;
        };
        let member_off = discount_on(member, line.gross);
        if member_off > 0 && member_off > line.line_discount {
            out.push((line.id, member));
        }
    }
    out
}

fn discount_on(d: Discount, gross: i64) -> i64 {
    match d {
        Discount::Amount(a) => a.min(gross),
        Discount::Percent(p) => {
            let n = i128::from(gross) * i128::from(p);
            let q = (n + 5_000) / 10_000;
            i64::try_from(q).unwrap_or(gross).min(gross)
        }
    }
}

/// Apply [`member_discounts`] to the basket; returns what the member saves (minor units, ≥ 0).
pub fn apply_member_prices(
    basket: &mut Basket,
    prices: &MemberPrices,
) -> Result<i64, super::basket::BasketError> {
    let before = basket.total().minor;
    for (line, discount) in member_discounts(basket, prices) {
        basket.set_line_discount(line, discount)?;
    }
    Ok((before - basket.total().minor).max(0))
}

/// A member's number as a screen or log may show it: every digit but the last two hidden
/// (`•••••••• 67`).
pub fn masked_number(msisdn: &str) -> String {
    let digits: Vec<char> = msisdn.chars().filter(char::is_ascii_digit).collect();
    let shown = digits.len().min(2);
    let hidden = digits.len() - shown;
    let tail: String = digits[hidden..].iter().collect();
    format!("{} {tail}", "•".repeat(hidden.max(2)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catalog::Item;
    use crate::core::money::Currency;

    fn item(id: &str, price: i64, category: Option<&str>) -> Item {
        let mut item = Item::new(id, id, price, crate::core::VatRate::NO_STANDARD);
        item.category = category.map(str::to_string);
        item
    }

    #[test]
    fn state_moves_are_the_documented_ones() {
        use EnrolmentState::*;
        assert!(Started.can_move_to(Pending));
        assert!(Started.can_move_to(Failed));
        assert!(!Started.can_move_to(Approved));
        assert!(Pending.can_move_to(Approved));
        assert!(!Approved.can_move_to(Declined));
        assert!(!Declined.can_move_to(Approved));
        for s in EnrolmentState::ALL {
            assert_eq!(EnrolmentState::parse(s.as_str()), Some(s));
            assert_eq!(s.is_final(), !matches!(s, Started | Pending));
        }
    }

    #[test]
    fn member_prices_apply_per_item_then_per_category() {
        let mut basket = Basket::new(Currency::Nok);
        let coffee = basket
            .add_item(&item("coffee", 4500, Some("drinks")))
            .unwrap();
        basket.set_quantity(coffee, 2).unwrap();
        basket.add_item(&item("tea", 3000, Some("drinks"))).unwrap();
        basket.add_item(&item("bun", 2500, Some("bakery"))).unwrap();
        let prices = MemberPrices {
            items: [("coffee".to_string(), 3900)].into(),
            categories: [("drinks".to_string(), 1000)].into(),
        };
        let saved = apply_member_prices(&mut basket, &prices).unwrap();
        // coffee 2 × (45.00 − 39.00) = 12.00; tea 10 % of 30.00 = 3.00; bun nothing.
        assert_eq!(saved, 1200 + 300);
        assert_eq!(basket.total().minor, 9000 + 3000 + 2500 - 1500);
    }

    #[test]
    fn a_larger_cashier_discount_is_kept() {
        let mut basket = Basket::new(Currency::Nok);
        let line = basket.add_item(&item("bun", 2500, Some("bakery"))).unwrap();
        basket
            .set_line_discount(line, Discount::Amount(1000))
            .unwrap();
        let prices = MemberPrices {
            items: [("bun".to_string(), 2000)].into(),
            categories: BTreeMap::new(),
        };
        assert!(member_discounts(&basket, &prices).is_empty());
        assert_eq!(apply_member_prices(&mut basket, &prices).unwrap(), 0);
        assert_eq!(basket.total().minor, 1500);
    }

    #[test]
    fn numbers_show_only_the_last_two_digits() {
        assert_eq!(masked_number("4798765432"), "•••••••• 32");
        assert!(!masked_number("4798765432").contains("4798"));
        assert_eq!(masked_number("7"), "•• 7");
    }
}

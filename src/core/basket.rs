//! The basket: lines with quantities and discounts, and their VAT-correct
//! amounts.
//!
//! Amounts are recomputed after every change, in this order per line:
//! 1. `gross = unit_price × quantity` (for `Kg`: quantity in grams / 1000,
//!    rounded half away from zero);
//! 2. the line's own discount (amount, or percent of `gross` rounded half away
//!    from zero), never more than `gross`;
//! 3. the line's share of the basket discount, spread over the lines in
//!    proportion to what is left of each by largest remainder, so the shares add
//!    up to the basket discount exactly and no line goes below zero;
//! 4. `vat::split` of what remains.
//!
//! A change that fails (unknown line, bad quantity, overflow) leaves the basket
//! as it was.

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, CatalogError, Item, Unit};
use super::money::{Currency, Money, MoneyError};
use super::vat::{self, LineAmounts, VatRate, div_round_half_away};

/// Largest quantity on one line: pieces, or grams for `Kg` items (1 000 kg).
pub const MAX_QUANTITY: i64 = 1_000_000;

/// Stable identity of a line within its basket (indexes shift on removal; ids don't).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LineId(pub u64);

/// A discount on a line or on the whole basket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discount {
    /// Minor units off.
    Amount(i64),
    /// Basis points off (1000 = 10 %), 0..=10000.
    Percent(u32),
}

impl Discount {
    fn validate(self) -> Result<(), BasketError> {
        match self {
            Discount::Amount(a) if a < 0 => Err(BasketError::NegativeDiscount(a)),
            Discount::Percent(p) if p > 10_000 => Err(BasketError::PercentOutOfRange(p)),
            _ => Ok(()),
        }
    }

    /// The discount on `base` (≥ 0), capped at `base`.
    fn on(self, base: i64) -> i64 {
        match self {
            Discount::Amount(a) => a.min(base),
            Discount::Percent(p) => {
                let d = div_round_half_away(i128::from(base) * i128::from(p), 10_000);
                // p <= 10000, so d <= base fits i64.
                i64::try_from(d).unwrap_or(base).min(base)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BasketError {
    #[error("no line {0:?} in the basket")]
    UnknownLine(LineId),
    #[error("line {0:?} appears twice")]
    DuplicateLine(LineId),
    #[error("no item with barcode {0:?}")]
    UnknownBarcode(String),
    #[error("no item with id {0:?}")]
    UnknownItem(String),
    #[error("quantity {0} is negative")]
    NegativeQuantity(i64),
    #[error("quantity must be more than zero (remove the line instead)")]
    ZeroQuantity,
    #[error("quantity {0} is more than the maximum {MAX_QUANTITY}")]
    QuantityTooLarge(i64),
    #[error("item {0:?} is sold by weight: give the weight")]
    WeightRequired(String),
    #[error("item {0:?} is sold by the piece, not by weight")]
    NotSoldByWeight(String),
    #[error("discount {0} is negative")]
    NegativeDiscount(i64),
    #[error("discount of {0} basis points is more than 100 %")]
    PercentOutOfRange(u32),
    #[error("discount {discount} is more than the amount {available}")]
    DiscountTooLarge { discount: i64, available: i64 },
    #[error("the basket is empty")]
    Empty,
    #[error("total {total} is below the minimum payment {minimum}")]
    BelowMinimum { total: i64, minimum: i64 },
    #[error("total {total} is above the maximum payment {maximum}")]
    AboveMaximum { total: i64, maximum: i64 },
    #[error(transparent)]
    Item(#[from] CatalogError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// One basket line. Fields are read-only from outside: the basket hands out
/// shared references only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub id: LineId,
    /// The item as it was when added (price and VAT are fixed for the sale).
    pub item: Item,
    /// Pieces for `Unit::Pcs`; grams (thousandths of a kg) for `Unit::Kg`.
    pub quantity: i64,
    pub discount: Option<Discount>,
    /// `unit_price × quantity` before any discount.
    pub gross: i64,
    /// Taken off by the line's own discount.
    pub line_discount: i64,
    /// This line's share of the basket discount.
    pub basket_discount: i64,
    /// After both discounts: what Vipps' `orderLines` carry.
    pub amounts: LineAmounts,
}

impl Line {
    pub fn unit(&self) -> Unit {
        self.item.unit
    }

    pub fn vat(&self) -> VatRate {
        self.item.vat
    }

    /// Both discounts together (Vipps `discount`).
    pub fn discount_total(&self) -> i64 {
        self.line_discount + self.basket_discount
    }

    /// Quantity as Vipps `unitInfo.quantity` wants it: `"2"`, `"0.350"`.
    pub fn quantity_text(&self) -> String {
        quantity_text(self.quantity, self.item.unit)
    }
}

/// `"2"` for pieces, `"1.250"` for 1250 g.
pub fn quantity_text(quantity: i64, unit: Unit) -> String {
    match unit {
        Unit::Pcs => quantity.to_string(),
        Unit::Kg => {
            let sign = if quantity < 0 { "-" } else { "" };
            let q = quantity.unsigned_abs();
            format!("{sign}{}.{:03}", q / 1000, q % 1000)
        }
    }
}

/// Sums for one VAT rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    pub rate: VatRate,
    pub total: i64,
    pub excluding_tax: i64,
    pub tax: i64,
}

/// Basket sums. Every figure is the sum of the lines' figures (never
/// recomputed from a sum), so they match what Vipps adds up from `orderLines`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    pub total: i64,
    pub excluding_tax: i64,
    pub tax: i64,
    /// Before discounts.
    pub gross: i64,
    /// All discounts (line and basket).
    pub discount: i64,
    /// Per VAT rate, highest rate first.
    pub by_rate: Vec<RateTotal>,
}

/// The sale being built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BasketData", into = "BasketData")]
pub struct Basket {
    currency: Currency,
    lines: Vec<Line>,
    basket_discount: Option<Discount>,
    next_id: u64,
    totals: Totals,
}

/// What a basket is made of; everything else is computed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BasketData {
    currency: Currency,
    lines: Vec<LineData>,
    #[serde(default)]
    basket_discount: Option<Discount>,
    #[serde(default)]
    next_id: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LineData {
    id: LineId,
    item: Item,
    quantity: i64,
    #[serde(default)]
    discount: Option<Discount>,
}

impl TryFrom<BasketData> for Basket {
    type Error = BasketError;

    fn try_from(data: BasketData) -> Result<Self, Self::Error> {
        let mut basket = Basket::new(data.currency);
        if let Some(d) = data.basket_discount {
            d.validate()?;
        }
        basket.basket_discount = data.basket_discount;
        let mut max_id = 0;
        for line in data.lines {
            line.item.validate()?;
            check_quantity(line.quantity)?;
            if let Some(d) = line.discount {
                d.validate()?;
            }
            max_id = max_id.max(line.id.0);
            if basket.lines.iter().any(|l| l.id == line.id) {
                return Err(BasketError::DuplicateLine(line.id));
            }
            basket.lines.push(Line {
                id: line.id,
                item: line.item,
                quantity: line.quantity,
                discount: line.discount,
                gross: 0,
                line_discount: 0,
                basket_discount: 0,
                amounts: LineAmounts::default(),
            });
        }
        basket.next_id = data.next_id.max(max_id + 1);
        basket.recompute()?;
        Ok(basket)
    }
}

impl From<Basket> for BasketData {
    fn from(basket: Basket) -> Self {
        BasketData {
            currency: basket.currency,
            lines: basket
                .lines
                .into_iter()
                .map(|l| LineData {
                    id: l.id,
                    item: l.item,
                    quantity: l.quantity,
                    discount: l.discount,
                })
                .collect(),
            basket_discount: basket.basket_discount,
            next_id: basket.next_id,
        }
    }
}

fn check_quantity(quantity: i64) -> Result<(), BasketError> {
    match quantity {
        q if q < 0 => Err(BasketError::NegativeQuantity(q)),
        0 => Err(BasketError::ZeroQuantity),
        q if q > MAX_QUANTITY => Err(BasketError::QuantityTooLarge(q)),
        _ => Ok(()),
    }
}

impl Basket {
    pub fn new(currency: Currency) -> Basket {
        Basket {
            currency,
            lines: Vec::new(),
            basket_discount: None,
            next_id: 1,
            totals: Totals::default(),
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub fn line(&self, id: LineId) -> Option<&Line> {
        self.lines.iter().find(|l| l.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn basket_discount(&self) -> Option<Discount> {
        self.basket_discount
    }

    /// Current sums.
    pub fn totals(&self) -> Totals {
        self.totals.clone()
    }

    /// The amount to pay.
    pub fn total(&self) -> Money {
        Money::new(self.totals.total, self.currency)
    }

    /// Add one piece of `item`. Adding an item already in the basket raises that
    /// line's quantity by one instead of adding a line.
    pub fn add_item(&mut self, item: &Item) -> Result<LineId, BasketError> {
        item.validate()?;
        if item.unit == Unit::Kg {
            return Err(BasketError::WeightRequired(item.id.clone()));
        }
        if let Some(line) = self.lines.iter().find(|l| l.item.id == item.id) {
            let (id, quantity) = (line.id, line.quantity);
            let more = quantity.checked_add(1).ok_or(MoneyError::Overflow)?;
            self.set_quantity(id, more)?;
            return Ok(id);
        }
        self.push_line(item.clone(), 1)
    }

    /// Add a weighed item (`Unit::Kg`); `grams` is the weight in thousandths of
    /// a kg. Each weighing is its own line.
    pub fn add_weighed(&mut self, item: &Item, grams: i64) -> Result<LineId, BasketError> {
        item.validate()?;
        if item.unit != Unit::Kg {
            return Err(BasketError::NotSoldByWeight(item.id.clone()));
        }
        check_quantity(grams)?;
        self.push_line(item.clone(), grams)
    }

    pub fn add_by_id(&mut self, catalog: &Catalog, id: &str) -> Result<LineId, BasketError> {
        let item = catalog
            .by_id(id)
            .ok_or_else(|| BasketError::UnknownItem(id.to_string()))?;
        self.add_item(item)
    }

    pub fn add_by_barcode(
        &mut self,
        catalog: &Catalog,
        barcode: &str,
    ) -> Result<LineId, BasketError> {
        let item = catalog
            .by_barcode(barcode)
            .ok_or_else(|| BasketError::UnknownBarcode(barcode.trim().to_string()))?;
        self.add_item(item)
    }

    fn push_line(&mut self, item: Item, quantity: i64) -> Result<LineId, BasketError> {
        let id = LineId(self.next_id);
        self.change(|b| {
            b.next_id += 1;
            b.lines.push(Line {
                id,
                item,
                quantity,
                discount: None,
                gross: 0,
                line_discount: 0,
                basket_discount: 0,
                amounts: LineAmounts::default(),
            });
            Ok(())
        })?;
        Ok(id)
    }

    /// Set a line's quantity: pieces, or grams for weighed items. Must be > 0.
    pub fn set_quantity(&mut self, line: LineId, quantity: i64) -> Result<(), BasketError> {
        check_quantity(quantity)?;
        self.change(|b| {
            b.line_mut(line)?.quantity = quantity;
            Ok(())
        })
    }

    /// Remove a line and return it.
    pub fn remove(&mut self, line: LineId) -> Result<Line, BasketError> {
        let index = self
            .lines
            .iter()
            .position(|l| l.id == line)
            .ok_or(BasketError::UnknownLine(line))?;
        let removed = self.lines.remove(index);
        // Removing cannot overflow; recompute only shrinks sums.
        if let Err(e) = self.recompute() {
            self.lines.insert(index, removed);
            self.recompute()?;
            return Err(e);
        }
        Ok(removed)
    }

    /// Discount one line. An amount larger than the line is refused.
    pub fn set_line_discount(
        &mut self,
        line: LineId,
        discount: Discount,
    ) -> Result<(), BasketError> {
        discount.validate()?;
        let gross = self.line(line).ok_or(BasketError::UnknownLine(line))?.gross;
        if let Discount::Amount(a) = discount
            && a > gross
        {
            return Err(BasketError::DiscountTooLarge {
                discount: a,
                available: gross,
            });
        }
        self.change(|b| {
            b.line_mut(line)?.discount = Some(discount);
            Ok(())
        })
    }

    pub fn clear_line_discount(&mut self, line: LineId) -> Result<(), BasketError> {
        self.change(|b| {
            b.line_mut(line)?.discount = None;
            Ok(())
        })
    }

    /// Discount the whole basket, spread over the lines (see the module docs).
    /// An amount larger than the basket (after line discounts) is refused.
    pub fn set_basket_discount(&mut self, discount: Discount) -> Result<(), BasketError> {
        discount.validate()?;
        if let Discount::Amount(a) = discount {
            let available: i64 = self.lines.iter().map(|l| l.gross - l.line_discount).sum();
            if a > available {
                return Err(BasketError::DiscountTooLarge {
                    discount: a,
                    available,
                });
            }
        }
        self.change(|b| {
            b.basket_discount = Some(discount);
            Ok(())
        })
    }

    pub fn clear_basket_discount(&mut self) {
        self.basket_discount = None;
        // Dropping a discount only raises line totals back to values that
        // were already computed without overflow.
        let _ = self.recompute();
    }

    /// Empty the basket (lines and basket discount).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.basket_discount = None;
        self.totals = Totals::default();
    }

    /// Check the basket can be paid with Vipps: not empty, total within the
    /// currency's payment limits. Returns the total.
    pub fn check_payable(&self) -> Result<i64, BasketError> {
        if self.lines.is_empty() {
            return Err(BasketError::Empty);
        }
        let total = self.totals.total;
        let minimum = self.currency.minimum_payment();
        let maximum = self.currency.maximum_payment();
        if total < minimum {
            return Err(BasketError::BelowMinimum { total, minimum });
        }
        if total > maximum {
            return Err(BasketError::AboveMaximum { total, maximum });
        }
        Ok(total)
    }

    fn line_mut(&mut self, line: LineId) -> Result<&mut Line, BasketError> {
        self.lines
            .iter_mut()
            .find(|l| l.id == line)
            .ok_or(BasketError::UnknownLine(line))
    }

    /// Apply `f` to a copy and keep it only if it and the recomputation succeed.
    fn change(
        &mut self,
        f: impl FnOnce(&mut Basket) -> Result<(), BasketError>,
    ) -> Result<(), BasketError> {
        let mut next = self.clone();
        f(&mut next)?;
        next.recompute()?;
        *self = next;
        Ok(())
    }

    fn recompute(&mut self) -> Result<(), BasketError> {
        for line in &mut self.lines {
            line.gross = gross(line.item.unit_price, line.quantity, line.item.unit)?;
            line.line_discount = line.discount.map_or(0, |d| d.on(line.gross));
        }
        let nets: Vec<i64> = self
            .lines
            .iter()
            .map(|l| l.gross - l.line_discount)
            .collect();
        let subtotal = nets
            .iter()
            .try_fold(0i64, |acc, &n| acc.checked_add(n))
            .ok_or(MoneyError::Overflow)?;
        let basket_discount = self.basket_discount.map_or(0, |d| d.on(subtotal));
        let shares = spread(basket_discount, &nets);
        for ((line, net), share) in self.lines.iter_mut().zip(&nets).zip(shares) {
            line.basket_discount = share;
            line.amounts = vat::split(net - share, line.item.vat);
        }
        self.totals = totals(&self.lines)?;
        Ok(())
    }
}

/// `unit_price × quantity`; for `Kg` the quantity is in grams.
fn gross(unit_price: i64, quantity: i64, unit: Unit) -> Result<i64, MoneyError> {
    let product = i128::from(unit_price) * i128::from(quantity);
    let value = match unit {
        Unit::Pcs => product,
        Unit::Kg => div_round_half_away(product, 1000),
    };
    i64::try_from(value).map_err(|_| MoneyError::Overflow)
}

/// Split `amount` (0 ≤ amount ≤ Σ weights, weights ≥ 0) over `weights` in
/// proportion, by largest remainder: each share is the floor of its exact
/// value, and the units left over go one each to the largest remainders
/// (earlier lines first on ties). Shares sum to `amount` exactly and no share
/// exceeds its weight.
pub fn spread(amount: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|&w| i128::from(w.max(0))).sum();
    if amount <= 0 || sum == 0 {
        return vec![0; weights.len()];
    }
    let amount = i128::from(amount).min(sum);
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (index, &w) in weights.iter().enumerate() {
        let exact = amount * i128::from(w.max(0));
        shares.push(exact / sum);
        remainders.push((exact % sum, index));
    }
    let mut left = amount - shares.iter().sum::<i128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(remainder, index) in &remainders {
        if left == 0 || remainder == 0 {
            break;
        }
        shares[index] += 1;
        left -= 1;
    }
    // Each share is at most its weight, which is an i64.
    shares
        .into_iter()
        .map(|s| i64::try_from(s).unwrap_or(0))
        .collect()
}

fn totals(lines: &[Line]) -> Result<Totals, MoneyError> {
    let add = |a: i64, b: i64| a.checked_add(b).ok_or(MoneyError::Overflow);
    let mut t = Totals::default();
    for line in lines {
        t.total = add(t.total, line.amounts.total)?;
        t.excluding_tax = add(t.excluding_tax, line.amounts.excluding_tax)?;
        t.tax = add(t.tax, line.amounts.tax)?;
        t.gross = add(t.gross, line.gross)?;
        t.discount = add(t.discount, line.discount_total())?;
        let rate = line.item.vat;
        let entry = match t.by_rate.iter_mut().find(|r| r.rate == rate) {
            Some(entry) => entry,
            None => {
                t.by_rate.push(RateTotal {
                    rate,
                    total: 0,
                    excluding_tax: 0,
                    tax: 0,
                });
                t.by_rate.last_mut().ok_or(MoneyError::Overflow)?
            }
        };
        entry.total = add(entry.total, line.amounts.total)?;
        entry.excluding_tax = add(entry.excluding_tax, line.amounts.excluding_tax)?;
        entry.tax = add(entry.tax, line.amounts.tax)?;
    }
    t.by_rate.sort_by_key(|r| std::cmp::Reverse(r.rate));
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(id: &str, price: i64, vat: VatRate) -> Item {
        Item::new(id, id.to_uppercase(), price, vat)
    }

    fn catalog() -> Catalog {
        Catalog::new(vec![
            item("kaffe", 3500, VatRate::NO_FOOD).with_barcode("111"),
            item("pose", 300, VatRate::NO_STANDARD).with_barcode("222"),
            item("epler", 3990, VatRate::NO_FOOD).with_unit(Unit::Kg),
        ])
        .unwrap()
    }

    #[test]
    fn adds_by_id_and_barcode_and_merges_repeat_scans() {
        let c = catalog();
        let mut b = Basket::new(Currency::Nok);
        let kaffe = b.add_by_barcode(&c, "111").unwrap();
        assert_eq!(b.add_by_id(&c, "kaffe").unwrap(), kaffe);
        let pose = b.add_by_barcode(&c, "222\r\n").unwrap();
        assert_ne!(kaffe, pose);
        assert_eq!(b.lines().len(), 2);
        assert_eq!(b.line(kaffe).unwrap().quantity, 2);
        let t = b.totals();
        assert_eq!(t.total, 2 * 3500 + 300);
        // 7000 at 15 %: 913.04 -> 913; 300 at 25 %: 60.
        assert_eq!(t.tax, 913 + 60);
        assert_eq!(t.excluding_tax, 7300 - 973);
        assert_eq!(
            t.by_rate,
            vec![
                RateTotal {
                    rate: VatRate::NO_STANDARD,
                    total: 300,
                    excluding_tax: 240,
                    tax: 60
                },
                RateTotal {
                    rate: VatRate::NO_FOOD,
                    total: 7000,
                    excluding_tax: 6087,
                    tax: 913
                },
            ]
        );
        assert_eq!(
            b.add_by_barcode(&c, "999"),
            Err(BasketError::UnknownBarcode("999".into()))
        );
        assert_eq!(
            b.add_by_id(&c, "nope"),
            Err(BasketError::UnknownItem("nope".into()))
        );
        assert_eq!(b.total(), Money::new(7300, Currency::Nok));
    }

    #[test]
    fn quantity_changes_and_removal() {
        let c = catalog();
        let mut b = Basket::new(Currency::Nok);
        let kaffe = b.add_by_id(&c, "kaffe").unwrap();
        b.set_quantity(kaffe, 3).unwrap();
        assert_eq!(b.totals().total, 10_500);
        assert_eq!(
            b.set_quantity(kaffe, -1),
            Err(BasketError::NegativeQuantity(-1))
        );
        assert_eq!(b.set_quantity(kaffe, 0), Err(BasketError::ZeroQuantity));
        assert_eq!(
            b.set_quantity(kaffe, MAX_QUANTITY + 1),
            Err(BasketError::QuantityTooLarge(MAX_QUANTITY + 1))
        );
        assert_eq!(b.line(kaffe).unwrap().quantity, 3, "failed change kept");
        assert_eq!(
            b.set_quantity(LineId(99), 1),
            Err(BasketError::UnknownLine(LineId(99)))
        );
        let removed = b.remove(kaffe).unwrap();
        assert_eq!(removed.item.id, "kaffe");
        assert!(b.is_empty());
        assert_eq!(b.totals(), Totals::default());
        assert_eq!(
            b.remove(kaffe).unwrap_err(),
            BasketError::UnknownLine(kaffe)
        );
        // A new line after removal gets a fresh id.
        assert_ne!(b.add_by_id(&c, "kaffe").unwrap(), kaffe);
        b.set_basket_discount(Discount::Percent(1000)).unwrap();
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.basket_discount(), None);
        assert_eq!(b.totals().total, 0);
    }

    #[test]
    fn weighed_items_use_grams() {
        let c = catalog();
        let epler = c.by_id("epler").unwrap();
        let mut b = Basket::new(Currency::Nok);
        assert_eq!(
            b.add_item(epler),
            Err(BasketError::WeightRequired("epler".into()))
        );
        let line = b.add_weighed(epler, 350).unwrap();
        // 39.90 per kg × 0.350 kg = 13.965 -> 13.97.
        assert_eq!(b.line(line).unwrap().gross, 1397);
        assert_eq!(b.line(line).unwrap().quantity_text(), "0.350");
        assert_eq!(quantity_text(12_005, Unit::Kg), "12.005");
        assert_eq!(quantity_text(3, Unit::Pcs), "3");
        assert_ne!(
            b.add_weighed(epler, 1000).unwrap(),
            line,
            "own line each time"
        );
        assert_eq!(
            b.add_weighed(c.by_id("kaffe").unwrap(), 100),
            Err(BasketError::NotSoldByWeight("kaffe".into()))
        );
        assert_eq!(
            b.add_weighed(epler, -5),
            Err(BasketError::NegativeQuantity(-5))
        );
    }

    #[test]
    fn line_discounts_amount_and_percent() {
        let c = catalog();
        let mut b = Basket::new(Currency::Nok);
        let kaffe = b.add_by_id(&c, "kaffe").unwrap();
        b.set_quantity(kaffe, 2).unwrap();
        b.set_line_discount(kaffe, Discount::Amount(1000)).unwrap();
        let l = b.line(kaffe).unwrap();
        assert_eq!(
            (l.gross, l.line_discount, l.amounts.total),
            (7000, 1000, 6000)
        );
        b.set_line_discount(kaffe, Discount::Percent(3333)).unwrap();
        // 7000 × 33.33 % = 2333.1 -> 2333.
        assert_eq!(b.line(kaffe).unwrap().amounts.total, 7000 - 2333);
        assert_eq!(
            b.set_line_discount(kaffe, Discount::Amount(7001)),
            Err(BasketError::DiscountTooLarge {
                discount: 7001,
                available: 7000
            })
        );
        assert_eq!(
            b.set_line_discount(kaffe, Discount::Amount(-1)),
            Err(BasketError::NegativeDiscount(-1))
        );
        assert_eq!(
            b.set_line_discount(kaffe, Discount::Percent(10_001)),
            Err(BasketError::PercentOutOfRange(10_001))
        );
        // An amount discount that outgrows the line after a quantity change is capped.
        b.set_line_discount(kaffe, Discount::Amount(7000)).unwrap();
        b.set_quantity(kaffe, 1).unwrap();
        let l = b.line(kaffe).unwrap();
        assert_eq!((l.line_discount, l.amounts.total), (3500, 0));
        b.clear_line_discount(kaffe).unwrap();
        assert_eq!(b.line(kaffe).unwrap().amounts.total, 3500);
    }

    #[test]
    fn basket_discount_is_spread_by_largest_remainder() {
        let c = catalog();
        let mut b = Basket::new(Currency::Nok);
        let kaffe = b.add_by_id(&c, "kaffe").unwrap(); // 3500 @ 15 %
        let pose = b.add_by_id(&c, "pose").unwrap(); // 300 @ 25 %
        b.set_basket_discount(Discount::Amount(100)).unwrap();
        // 100 × 3500/3800 = 92.1, 100 × 300/3800 = 7.89: floors 92 + 7 = 99,
        // the leftover unit goes to the larger remainder (pose, 0.89).
        assert_eq!(b.line(kaffe).unwrap().basket_discount, 92);
        assert_eq!(b.line(pose).unwrap().basket_discount, 8);
        let t = b.totals();
        assert_eq!((t.total, t.discount), (3700, 100));
        assert_eq!(
            b.line(kaffe).unwrap().amounts,
            vat::split(3408, VatRate::NO_FOOD)
        );
        assert_eq!(
            b.set_basket_discount(Discount::Amount(3801)),
            Err(BasketError::DiscountTooLarge {
                discount: 3801,
                available: 3800
            })
        );
        b.set_basket_discount(Discount::Percent(10_000)).unwrap();
        assert_eq!(b.totals().total, 0);
        b.clear_basket_discount();
        assert_eq!(b.totals().total, 3800);
        assert_eq!(spread(3, &[1, 1, 1, 0]), vec![1, 1, 1, 0]);
        assert_eq!(spread(2, &[1, 1, 1]), vec![1, 1, 0]);
        assert_eq!(spread(5, &[0, 0]), vec![0, 0]);
        assert_eq!(spread(10, &[3]), vec![3]);
    }

    #[test]
    fn payable_checks_limits() {
        let mut b = Basket::new(Currency::Nok);
        assert_eq!(b.check_payable(), Err(BasketError::Empty));
        b.add_item(&item("tyggis", 50, VatRate::NO_STANDARD))
            .unwrap();
        assert_eq!(
            b.check_payable(),
            Err(BasketError::BelowMinimum {
                total: 50,
                minimum: 100
            })
        );
        let dyr = item("bil", 70_000_000, VatRate::NO_STANDARD);
        b.add_item(&dyr).unwrap();
        assert!(matches!(
            b.check_payable(),
            Err(BasketError::AboveMaximum { .. })
        ));
        let mut ok = Basket::new(Currency::Eur);
        ok.add_item(&item("x", 1, VatRate::FI_STANDARD)).unwrap();
        assert_eq!(ok.check_payable(), Ok(1));
    }

    #[test]
    fn overflow_is_an_error_and_leaves_the_basket_unchanged() {
        let mut b = Basket::new(Currency::Nok);
        let big = item("big", i64::MAX / 2, VatRate::ZERO);
        let line = b.add_item(&big).unwrap();
        assert_eq!(
            b.set_quantity(line, 3),
            Err(BasketError::Money(MoneyError::Overflow))
        );
        assert_eq!(b.line(line).unwrap().quantity, 1);
        b.add_item(&item("big2", i64::MAX / 2, VatRate::ZERO))
            .unwrap();
        assert_eq!(
            b.add_item(&item("big3", i64::MAX / 2, VatRate::ZERO)),
            Err(BasketError::Money(MoneyError::Overflow))
        );
        assert_eq!(b.lines().len(), 2);
        let bad = item("neg", -1, VatRate::ZERO);
        assert!(matches!(b.add_item(&bad), Err(BasketError::Item(_))));
    }

    #[test]
    fn serde_round_trip_recomputes_and_validates() {
        let c = catalog();
        let mut b = Basket::new(Currency::Nok);
        let k = b.add_by_id(&c, "kaffe").unwrap();
        b.set_line_discount(k, Discount::Percent(500)).unwrap();
        b.add_weighed(c.by_id("epler").unwrap(), 1234).unwrap();
        b.set_basket_discount(Discount::Amount(99)).unwrap();
        let json = serde_json::to_string(&b).unwrap();
        let back: Basket = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        let tampered = json.replace("\"quantity\":1,", "\"quantity\":-1,");
        assert!(serde_json::from_str::<Basket>(&tampered).is_err());
    }

    fn arb_line() -> impl Strategy<Value = (i64, u32, i64, Option<Discount>)> {
        (
            0i64..=2_000_000,
            prop::sample::select(vec![0u32, 1000, 1200, 1400, 1500, 2500, 2550]),
            1i64..=50,
            prop::option::of(prop_oneof![
                (0i64..=5_000_000).prop_map(Discount::Amount),
                (0u32..=10_000).prop_map(Discount::Percent),
            ]),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn amounts_add_up(
            lines in prop::collection::vec(arb_line(), 1..12),
            basket_discount in prop::option::of(prop_oneof![
                (0i64..=50_000_000).prop_map(Discount::Amount),
                (0u32..=10_000).prop_map(Discount::Percent),
            ]),
        ) {
            let mut b = Basket::new(Currency::Nok);
            for (i, (price, rate, qty, discount)) in lines.into_iter().enumerate() {
                let it = Item::new(format!("i{i}"), "x", price, VatRate::new(rate).unwrap());
                let id = b.add_item(&it).unwrap();
                b.set_quantity(id, qty).unwrap();
                if let Some(d) = discount {
                    // Too-large amounts are refused; the basket must stay consistent either way.
                    let _ = b.set_line_discount(id, d);
                }
            }
            let before_basket_discount = b.totals().total;
            let accepted = basket_discount.map(|d| b.set_basket_discount(d).is_ok());
            let t = b.totals();
            let mut sum = LineAmounts::default();
            let mut basket_shares = 0;
            for l in b.lines() {
                // excl + tax == total on every line, and nothing goes negative.
                prop_assert_eq!(l.amounts.excluding_tax + l.amounts.tax, l.amounts.total);
                prop_assert!(l.amounts.total >= 0);
                prop_assert!(l.amounts.tax >= 0 && l.amounts.excluding_tax >= 0);
                prop_assert!(l.line_discount >= 0 && l.basket_discount >= 0);
                prop_assert_eq!(l.gross - l.discount_total(), l.amounts.total);
                prop_assert_eq!(l.amounts, vat::split(l.amounts.total, l.vat()));
                sum.total += l.amounts.total;
                sum.excluding_tax += l.amounts.excluding_tax;
                sum.tax += l.amounts.tax;
                basket_shares += l.basket_discount;
            }
            // Sum of lines == sale total (and per-rate sums too).
            prop_assert_eq!(sum.total, t.total);
            prop_assert_eq!(sum.tax, t.tax);
            prop_assert_eq!(sum.excluding_tax, t.excluding_tax);
            prop_assert_eq!(t.by_rate.iter().map(|r| r.total).sum::<i64>(), t.total);
            prop_assert_eq!(t.by_rate.iter().map(|r| r.tax).sum::<i64>(), t.tax);
            prop_assert_eq!(t.gross - t.discount, t.total);
            // The basket discount is spread exactly.
            let expected = match (basket_discount, accepted) {
                (Some(Discount::Amount(a)), Some(true)) => a,
                (Some(Discount::Percent(p)), Some(true)) => {
                    i64::try_from(div_round_half_away(i128::from(before_basket_discount) * i128::from(p), 10_000)).unwrap()
                }
                _ => 0,
            };
            prop_assert_eq!(basket_shares, expected);
            prop_assert_eq!(t.total, before_basket_discount - expected);
            let receipt = crate::core::receipt::Receipt::from_basket(&b);
            prop_assert_eq!(receipt.lines.iter().map(|l| l.total).sum::<i64>(), receipt.total);
        }

        #[test]
        fn spread_preserves_the_sum_and_caps_shares(
            weights in prop::collection::vec(0i64..=10_000_000, 1..20),
            fraction in 0u32..=10_000,
        ) {
            let sum: i64 = weights.iter().sum();
            let amount = (i128::from(sum) * i128::from(fraction) / 10_000) as i64;
            let shares = spread(amount, &weights);
            prop_assert_eq!(shares.iter().sum::<i64>(), amount);
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(*s >= 0 && s <= w);
            }
        }
    }
}

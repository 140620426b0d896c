//! The receipt of a frozen basket, shaped for Vipps' `receipt.orderLines`.
//!
//! Each [`ReceiptLine`] carries exactly the numbers an `OrderLine` needs:
//! `id`, `name`, `totalAmount` (= `total`, VAT included, after discounts),
//! `totalAmountExcludingTax`, `totalTaxAmount`, `taxRate` (basis points; Vipps'
//! deprecated `taxPercentage` only when whole: see [`VatRate::whole_percent`]),
//! `unitInfo { unitPrice, quantity, quantityUnit }` and `discount`.

use serde::{Deserialize, Serialize};

use super::basket::{Basket, RateTotal};
use super::catalog::Unit;
use super::money::Currency;
use super::vat::VatRate;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptLine {
    /// Item id (SKU); Vipps `id`.
    pub id: String,
    pub name: String,
    /// `"2"` or `"0.350"`: Vipps `unitInfo.quantity`.
    pub quantity: String,
    pub unit: Unit,
    /// Price per unit incl. VAT, before discount: Vipps `unitInfo.unitPrice`.
    pub unit_price: i64,
    /// VAT included, after discounts: Vipps `totalAmount`.
    pub total: i64,
    pub excluding_tax: i64,
    pub tax: i64,
    pub vat: VatRate,
    /// Line and basket discount on this line: Vipps `discount`.
    pub discount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub currency: Currency,
    pub lines: Vec<ReceiptLine>,
    /// Sum of the lines' totals: the amount to pay.
    pub total: i64,
    pub excluding_tax: i64,
    pub tax: i64,
    pub discount: i64,
    /// Per VAT rate, highest first (for the printed VAT summary).
    pub by_rate: Vec<RateTotal>,
}

impl Receipt {
    /// The receipt for `basket` as it is now. An empty basket gives a receipt
    /// without lines; Vipps needs at least one, so check
    /// [`Basket::check_payable`] before paying.
    pub fn from_basket(basket: &Basket) -> Receipt {
        let lines = basket
            .lines()
            .iter()
            .map(|line| ReceiptLine {
                id: line.item.id.clone(),
                name: line.item.name.clone(),
                quantity: line.quantity_text(),
                unit: line.unit(),
                unit_price: line.item.unit_price,
                total: line.amounts.total,
                excluding_tax: line.amounts.excluding_tax,
                tax: line.amounts.tax,
                vat: line.vat(),
                discount: line.discount_total(),
            })
            .collect();
        let totals = basket.totals();
        Receipt {
            currency: basket.currency(),
            lines,
            total: totals.total,
            excluding_tax: totals.excluding_tax,
            tax: totals.tax,
            discount: totals.discount,
            by_rate: totals.by_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::basket::Discount;
    use crate::core::catalog::Item;

    #[test]
    fn matches_vipps_order_line_example() {
        // The OM API's example: socks 2.5 kg at 4.00/kg = 10.00, 25 % -> 8.00 + 2.00;
        // flip-flops 3 × 25.00 with 25.00 off = 50.00 -> 40.00 + 10.00.
        let socks =
            Item::new("line_item_1", "socks", 400, VatRate::NO_STANDARD).with_unit(Unit::Kg);
        let flip = Item::new("line_item_2", "flip-flops", 2500, VatRate::NO_STANDARD);
        let mut basket = Basket::new(Currency::Nok);
        basket.add_weighed(&socks, 2500).unwrap();
        let f = basket.add_item(&flip).unwrap();
        basket.set_quantity(f, 3).unwrap();
        basket.set_line_discount(f, Discount::Amount(2500)).unwrap();
        let r = Receipt::from_basket(&basket);
        assert_eq!(
            r.lines[0],
            ReceiptLine {
                id: "line_item_1".into(),
                name: "socks".into(),
                quantity: "2.500".into(),
                unit: Unit::Kg,
                unit_price: 400,
                total: 1000,
                excluding_tax: 800,
                tax: 200,
                vat: VatRate::NO_STANDARD,
                discount: 0,
            }
        );
        assert_eq!(
            (
                r.lines[1].quantity.as_str(),
                r.lines[1].total,
                r.lines[1].excluding_tax
            ),
            ("3", 5000, 4000)
        );
        assert_eq!((r.lines[1].tax, r.lines[1].discount), (1000, 2500));
        assert_eq!((r.total, r.tax, r.discount), (6000, 1200, 2500));
        assert_eq!(r.currency, Currency::Nok);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["lines"][0]["vat"], 2500);
        assert_eq!(json["lines"][0]["unit"], "KG");
        assert_eq!(serde_json::from_value::<Receipt>(json).unwrap(), r);
    }
}

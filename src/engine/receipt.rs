//! The Vipps receipt (`orderLines` + `bottomLine`) built from the frozen basket's receipt.

use crate::core::catalog::Unit;
use crate::core::money::Currency;
use crate::core::receipt::Receipt;
use crate::vipps::models;

/// The Vipps currency of a core currency.
pub fn vipps_currency(c: Currency) -> models::Currency {
    match c {
        Currency::Nok => models::Currency::Nok,
        Currency::Dkk => models::Currency::Dkk,
        Currency::Eur => models::Currency::Eur,
    }
}

/// Order lines from the receipt; the bottom line names the till (`posId`) and the sale
/// (`receiptNumber`).
pub fn vipps_receipt(receipt: &Receipt, pos_id: &str, receipt_number: &str) -> models::Receipt {
    let order_lines = receipt
        .lines
        .iter()
        .map(|l| {
            let mut line = models::OrderLine::new(
                l.id.clone(),
                l.name.clone(),
                l.total,
                l.excluding_tax,
                l.tax,
                l.vat.basis_points(),
            )
            .with_unit_info(models::UnitInfo {
                unit_price: Some(l.unit_price),
                quantity: l.quantity.clone(),
                quantity_unit: Some(match l.unit {
                    Unit::Pcs => models::QuantityUnit::Pcs,
                    Unit::Kg => models::QuantityUnit::Kg,
                }),
            });
            if l.discount > 0 {
                line = line.with_discount(l.discount);
            }
            line
        })
        .collect();
    let mut bottom_line = models::BottomLine::new(vipps_currency(receipt.currency));
    bottom_line.pos_id = Some(pos_id.to_string());
    bottom_line.receipt_number = Some(receipt_number.to_string());
    models::Receipt {
        order_lines,
        bottom_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::basket::{Basket, Discount};
    use crate::core::catalog::Item;
    use crate::core::vat::VatRate;

    #[test]
    fn lines_and_bottom_line_match_the_basket() {
        let mut basket = Basket::new(Currency::Nok);
        let socks = Item::new("sku-1", "Socks", 5000, VatRate::NO_STANDARD);
        let bread = Item::new("sku-2", "Bread", 3990, VatRate::NO_FOOD);
        let l = basket.add_item(&socks).unwrap();
        basket.set_quantity(l, 2).unwrap();
        basket.set_line_discount(l, Discount::Amount(1000)).unwrap();
        basket.add_item(&bread).unwrap();
        let receipt = Receipt::from_basket(&basket);
        let v = vipps_receipt(&receipt, "till1", "42");
        v.validate().unwrap();
        assert_eq!(v.order_lines.len(), 2);
        let total: i64 = v.order_lines.iter().map(|l| l.total_amount).sum();
        assert_eq!(total, receipt.total);
        assert_eq!(total, 2 * 5000 - 1000 + 3990);
        assert_eq!(v.order_lines[0].discount, Some(1000));
        assert_eq!(v.order_lines[0].tax_rate, Some(2500));
        assert_eq!(v.order_lines[1].tax_rate, Some(1500));
        assert_eq!(
            v.order_lines[0].unit_info.as_ref().unwrap().quantity,
            "2".to_string()
        );
        assert_eq!(v.bottom_line.pos_id.as_deref(), Some("till1"));
        assert_eq!(v.bottom_line.receipt_number.as_deref(), Some("42"));
        assert_eq!(v.bottom_line.currency, models::Currency::Nok);
    }
}

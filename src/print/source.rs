//! Gathers a receipt's facts from the till's database: the stored sale and its lines, the
//! Vipps reference of the payment that captured it, and the receipt number (the signed
//! transaction's `nr`) with its local date and time.

use std::borrow::Borrow;

use rusqlite::{Connection, OptionalExtension, params};

use super::PrintError;
use crate::core::basket::RateTotal;
use crate::core::receipt_doc::{ReceiptData, ShopInfo, TenderLine};
use crate::core::signature_text::{local_stamp, proportional_excluding};
use crate::store::Store;

/// The till as printed: its id and the shop it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub till_id: String,
    pub shop: ShopInfo,
}

/// The facts of sale `sale_id`'s receipt, or of the return receipt of its refund operation
/// `refund_op_id`.
pub fn receipt_data<C: Borrow<Connection>>(
    store: &Store<C>,
    origin: &Origin,
    sale_id: i64,
    refund_op_id: Option<i64>,
) -> Result<ReceiptData, PrintError> {
    let sale = store
        .get_sale(sale_id)?
        .ok_or(PrintError::NoSale(sale_id))?;
    let signed = store.signed_sale(sale_id)?;
    let mut data = ReceiptData {
        shop: origin.shop.clone(),
        till_id: signed
            .as_ref()
            .map(|s| s.register_id.clone())
            .unwrap_or_else(|| origin.till_id.clone()),
        currency: sale.currency,
        sale_id,
        receipt_nr: signed.as_ref().map(|s| s.nr),
        date: String::new(),
        time: String::new(),
        cashier: None,
        lines: sale.receipt.lines.clone(),
        discount: sale.discount,
        member_saving: sale.member_saving,
        rounding: 0,
        total: sale.total,
        by_rate: sale.receipt.by_rate.clone(),
        tenders: Vec::new(),
        is_return: false,
        returns_receipt_nr: None,
        training_nr: sale.training_nr,
    };
    let (date, time) = match &signed {
        Some(s) => (s.trans_date.clone(), s.trans_time.clone()),
        None => stamp(sale.completed_ms.unwrap_or(sale.updated_ms))?,
    };
    (data.date, data.time) = (date, time);

    data.cashier = store
        .conn()
        .query_row(
            "SELECT c.name FROM sale s JOIN cashier c ON c.id = s.cashier_id WHERE s.id = ?1",
            [sale_id],
            |r| r.get(0),
        )
        .optional()?;

    let Some(op_id) = refund_op_id else {
        // Every part that paid the sale, in the order taken (the Vipps part last).
        for part in store.payment_parts(sale_id)? {
            data.rounding += part.rounding;
            data.tenders.push(TenderLine::from(&part));
        }
        return Ok(data);
    };

    // A return: the refunded amount, its VAT split in proportion to the sale's.
    let refund: Option<(i64, String, Option<i64>)> = store
        .conn()
        .query_row(
            "SELECT o.amount, a.reference, o.finished_at_ms FROM payment_operation o
             JOIN payment_attempt a ON a.id = o.attempt_id
             WHERE o.id = ?1 AND a.sale_id = ?2 AND o.kind = 'refund'
               AND o.status = 'succeeded'",
            params![op_id, sale_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (amount, reference, finished_ms) = refund.ok_or(PrintError::NoRefund {
        sale_id,
        refund_op_id: op_id,
    })?;
    let amount = amount.abs();
    let signed_return = store.signed_return(op_id)?;
    data.is_return = true;
    // A return receipt tells what went back, not what was saved.
    data.member_saving = 0;
    data.returns_receipt_nr = data.receipt_nr;
    data.receipt_nr = signed_return.as_ref().map(|s| s.nr);
    (data.date, data.time) = match &signed_return {
        Some(s) => (s.trans_date.clone(), s.trans_time.clone()),
        None => stamp(finished_ms.unwrap_or(sale.updated_ms))?,
    };
    if amount == sale.total {
        for line in &mut data.lines {
            line.total = -line.total;
            line.excluding_tax = -line.excluding_tax;
            line.tax = -line.tax;
            line.discount = -line.discount;
        }
        data.discount = -data.discount;
    } else {
        data.lines.clear();
        data.discount = 0;
    }
    data.by_rate = split_by_rate(&sale.receipt.by_rate, sale.total, amount);
    data.total = -amount;
    data.tenders = vec![TenderLine::vipps(-amount, reference)];
    Ok(data)
}

fn stamp(ms: i64) -> Result<(String, String), PrintError> {
    let s = local_stamp(ms).map_err(|e| PrintError::Invalid(e.to_string()))?;
    Ok((s.date, s.time))
}

/// `-amount` spread over the sale's VAT rates in proportion to their totals (the last rate
/// takes the rounding), each split into basis and VAT in its own proportion.
fn split_by_rate(rates: &[RateTotal], sale_total: i64, amount: i64) -> Vec<RateTotal> {
    let mut left = amount;
    let mut out = Vec::with_capacity(rates.len());
    for (i, r) in rates.iter().enumerate() {
        let part = if i + 1 == rates.len() || sale_total == 0 {
            left
        } else {
            let q = i128::from(amount) * i128::from(r.total) / i128::from(sale_total);
            i64::try_from(q).unwrap_or(left)
        };
        left -= part;
        let total = -part;
        let excluding_tax = proportional_excluding(total, r.total, r.excluding_tax);
        out.push(RateTotal {
            rate: r.rate,
            total,
            excluding_tax,
            tax: total - excluding_tax,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::vat::VatRate;

    #[test]
    fn a_partial_return_splits_over_the_rates_exactly() {
        let rates = [
            RateTotal {
                rate: VatRate::NO_STANDARD,
                total: 9000,
                excluding_tax: 7200,
                tax: 1800,
            },
            RateTotal {
                rate: VatRate::NO_FOOD,
                total: 3990,
                excluding_tax: 3470,
                tax: 520,
            },
        ];
        let out = split_by_rate(&rates, 12990, 5000);
        assert_eq!(out.iter().map(|r| r.total).sum::<i64>(), -5000);
        for r in &out {
            assert_eq!(r.excluding_tax + r.tax, r.total);
        }
        assert_eq!(out[0].total, -3464);
        assert_eq!(out[0].excluding_tax, -2771);
    }
}

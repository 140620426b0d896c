//! One `cashtransaction` per signed sale or return, in chain order, with its lines, VAT,
//! payments, signature and key version. Each is read and written on its own (constant memory).

use std::collections::BTreeMap;
use std::io::{self, Write};

use rusqlite::{Connection, OptionalExtension};

use super::basics::{self, DISCOUNT, LINE_RETURN, LINE_SALE};
use super::master::LINE_CATEGORY;
use super::xml::{self, Xml};
use super::{Dialect, SaftError};
use crate::core::basket::{quantity_text, spread};
use crate::core::catalog::Unit;
use crate::core::journal_code::TransactionCode;
use crate::core::signature_text::proportional_excluding;
use crate::core::tender::TenderKind;
use crate::store::{SignedTransaction, Store, StoreError};

/// A sold line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub item_id: String,
    pub quantity: i64,
    pub unit: Unit,
    pub unit_price: i64,
    pub vat_bp: u32,
    pub discount: i64,
    pub total: i64,
    pub excluding_tax: i64,
    pub tax: i64,
    pub category: Option<String>,
}

/// The lines of sale `sale_id`, in order.
pub fn sale_lines(c: &Connection, sale_id: i64) -> Result<Vec<Line>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT l.item_id, l.quantity, l.unit, l.unit_price, l.vat_bp, l.discount, l.total,
                l.excluding_tax, l.tax, {LINE_CATEGORY}
         FROM sale_line l JOIN sale s ON s.id = l.sale_id
         WHERE l.sale_id = ?1 ORDER BY l.position"
    ))?;
    let rows = stmt.query_map([sale_id], |r| {
        let unit: String = r.get(2)?;
        Ok(Line {
            item_id: r.get(0)?,
            quantity: r.get(1)?,
            unit: if unit == "KG" { Unit::Kg } else { Unit::Pcs },
            unit_price: r.get(3)?,
            vat_bp: r.get(4)?,
            discount: r.get(5)?,
            total: r.get(6)?,
            excluding_tax: r.get(7)?,
            tax: r.get(8)?,
            category: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One part of the payment of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tender {
    pub kind: TenderKind,
    /// Minor units, negative when paid back.
    pub amount: i64,
    /// The payment's own id (for Vipps the reference).
    pub reference: Option<String>,
}

/// How transaction `t` was paid (a sale: every part in `sale_tender`) or paid back (a return:
/// its refund to Vipps, or the tender of a return paid back at the till).
pub fn tenders(c: &Store<&Connection>, t: &SignedTransaction) -> Result<Vec<Tender>, StoreError> {
    if let Some(id) = t.return_id {
        let mut stmt = c.prepare_cached("SELECT tender, amount FROM sale_return WHERE id = ?1")?;
        let row: Option<(String, i64)> = stmt
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        return row
            .map(|(kind, amount)| {
                Ok(Tender {
                    kind: TenderKind::parse(&kind).ok_or_else(|| {
                        StoreError::Invalid(format!("return {id} tender {kind:?}"))
                    })?,
                    amount: -amount.abs(),
                    reference: None,
                })
            })
            .into_iter()
            .collect();
    }
    if let Some(op) = t.refund_op_id {
        let mut stmt = c.prepare_cached(
            "SELECT o.amount, a.reference FROM payment_operation o
             JOIN payment_attempt a ON a.id = o.attempt_id WHERE o.id = ?1",
        )?;
        let row: Option<(i64, Option<String>)> = stmt
            .query_row([op], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        return Ok(row
            .map(|(amount, reference)| Tender {
                kind: TenderKind::Vipps,
                amount: -amount.abs(),
                reference,
            })
            .into_iter()
            .collect());
    }
    Ok(c.payment_parts(t.sale_id)?
        .into_iter()
        .map(|p| Tender {
            kind: p.kind,
            amount: p.amount,
            reference: p.reference,
        })
        .collect())
}

/// A line as exported.
struct CtLine<'a> {
    line_type: &'static str,
    group: String,
    article: Option<String>,
    quantity: Option<String>,
    amount_in: i64,
    amount_ex: i64,
    vat_bp: u32,
    unit_price: Option<i64>,
    discount: i64,
    text: Option<&'a str>,
}

/// Lines of a return of `amount_in` (negative) against a sale with `lines`, summing exactly to
/// the signed `amount_ex`. A full return takes back every line; a partial one takes back a
/// share of each VAT rate (a refund is of an amount, not of items).
fn return_lines<'a>(lines: &[Line], amount_in: i64, amount_ex: i64) -> Vec<CtLine<'a>> {
    let sale_total: i64 = lines.iter().map(|l| l.total).sum();
    if -amount_in == sale_total {
        let mut out: Vec<CtLine> = lines.iter().map(|l| sale_line(l, true)).collect();
        fix_excluding(&mut out, amount_ex);
        return out;
    }
    let mut by_rate: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
    for l in lines {
        let e = by_rate.entry(l.vat_bp).or_default();
        e.0 += l.total;
        e.1 += l.excluding_tax;
    }
    let weights: Vec<i64> = by_rate.values().map(|(total, _)| *total).collect();
    let shares = spread(-amount_in, &weights);
    let mut out: Vec<CtLine> = by_rate
        .iter()
        .zip(shares)
        .filter(|(_, share)| *share != 0)
        .map(|((&vat_bp, &(total, excluding)), share)| CtLine {
            line_type: LINE_RETURN,
            group: basics::NO_CATEGORY.into(),
            article: None,
            quantity: None,
            amount_in: -share,
            amount_ex: proportional_excluding(-share, total, excluding),
            vat_bp,
            unit_price: None,
            discount: 0,
            text: Some("Part of the sale paid back"),
        })
        .collect();
    fix_excluding(&mut out, amount_ex);
    out
}

/// The lines of a return of lines (`sale_return` `id`): each returned line with its quantity
/// and amounts as priced for the return, its article and group from the sale.
fn returned_lines<'a>(
    c: &Connection,
    id: i64,
    lines: &[Line],
    amount_ex: i64,
) -> Result<Vec<CtLine<'a>>, StoreError> {
    let json: String = c.query_row(
        "SELECT lines_json FROM sale_return WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let returned: Vec<crate::store::returns::ReturnedLine> = serde_json::from_str(&json)
        .map_err(|e| StoreError::Invalid(format!("return {id}: {e}")))?;
    let mut out = Vec::new();
    for r in returned {
        let sold = usize::try_from(r.position)
            .ok()
            .and_then(|p| lines.get(p))
            .ok_or_else(|| StoreError::Invalid(format!("return {id}: line {}", r.position)))?;
        let mut l = sale_line(sold, true);
        l.quantity = Some(quantity_text(-r.quantity, sold.unit));
        l.amount_in = -r.amount;
        l.amount_ex = -r.excluding_tax;
        l.discount = 0;
        out.push(l);
    }
    fix_excluding(&mut out, amount_ex);
    Ok(out)
}

/// Puts any rounding difference between the lines and the signed `amount_ex` on the last line.
fn fix_excluding(lines: &mut [CtLine], amount_ex: i64) {
    let sum: i64 = lines.iter().map(|l| l.amount_ex).sum();
    if let Some(last) = lines.last_mut() {
        last.amount_ex += amount_ex - sum;
    }
}

fn sale_line<'a>(l: &Line, returned: bool) -> CtLine<'a> {
    let sign = if returned { -1 } else { 1 };
    CtLine {
        line_type: if returned { LINE_RETURN } else { LINE_SALE },
        group: basics::group_id(l.category.as_deref()),
        article: Some(basics::id(&l.item_id)),
        quantity: Some(quantity_text(sign * l.quantity, l.unit)),
        amount_in: sign * l.total,
        amount_ex: sign * l.excluding_tax,
        vat_bp: l.vat_bp,
        unit_price: Some(l.unit_price),
        discount: sign * l.discount,
        text: None,
    }
}

/// `C` for money in, `D` for money out.
fn debit_credit(amount: i64) -> &'static str {
    if amount < 0 { "D" } else { "C" }
}

/// What one written transaction adds to the totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub amount_in: i64,
    pub amount_ex: i64,
}

/// What every transaction of a register is written with.
pub struct Context<'a> {
    pub dialect: Dialect,
    pub currency: &'a str,
    /// Denmark's `certificateData` per key version.
    pub certificates: &'a BTreeMap<String, String>,
}

/// Writes `t` as a `cashtransaction`.
pub fn write<W: Write>(
    x: &mut Xml<W>,
    c: &Store<&Connection>,
    cx: &Context<'_>,
    t: &SignedTransaction,
) -> Result<Written, SaftError> {
    let lines = sale_lines(c, t.sale_id)?;
    let returned = t.trans_type == TransactionCode::RETURN_PAYMENT.0;
    let ct_lines: Vec<CtLine> = if let Some(id) = t.return_id {
        returned_lines(c, id, &lines, t.amount_ex)?
    } else if returned {
        return_lines(&lines, t.amount_in, t.amount_ex)
    } else {
        lines.iter().map(|l| sale_line(l, false)).collect()
    };
    let tenders = tenders(c, t)?;
    let nr = t.nr.to_string();
    x.open("cashtransaction")?;
    x.text("nr", &nr)?;
    x.text("transID", &t.trans_id)?;
    x.text("transType", &t.trans_type.to_string())?;
    x.amount("transAmntIn", t.amount_in)?;
    x.amount("transAmntEx", t.amount_ex)?;
    x.text("amntTp", debit_credit(t.amount_in))?;
    x.text("empID", &t.emp_id)?;
    x.text("transDate", &t.trans_date)?;
    x.text("transTime", &t.trans_time)?;
    let mut vat: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
    for (i, l) in ct_lines.iter().enumerate() {
        write_line(x, cx, t, &nr, i + 1, l)?;
        let e = vat.entry(l.vat_bp).or_default();
        e.0 += l.amount_in - l.amount_ex;
        e.1 += l.amount_ex;
    }
    for (&bp, &(tax, base)) in vat.iter().rev() {
        write_vat(x, cx.dialect, bp, tax, base)?;
    }
    for p in &tenders {
        let basic = basics::payment(p.kind);
        x.open("payment")?;
        x.text("paymentType", &basic.id)?;
        x.amount("paidAmnt", p.amount)?;
        x.text("empID", &t.emp_id)?;
        x.text("curCode", cx.currency)?;
        x.text_opt(
            "paymentRefID",
            p.reference.as_deref().map(|r| xml::clip(r, 999)),
        )?;
        x.close("payment")?;
    }
    x.text("signature", &t.signature)?;
    x.text("keyVersion", &t.key_version)?;
    if cx.dialect == Dialect::Denmark {
        let data = cx
            .certificates
            .get(&t.key_version)
            .map(String::as_str)
            .unwrap_or("");
        x.text("certificateData", data)?;
    }
    x.flag("voidTransaction", false)?;
    x.flag("trainingID", false)?;
    x.close("cashtransaction")?;
    Ok(Written {
        amount_in: t.amount_in,
        amount_ex: t.amount_ex,
    })
}

fn write_line<W: Write>(
    x: &mut Xml<W>,
    cx: &Context<'_>,
    t: &SignedTransaction,
    nr: &str,
    line_id: usize,
    l: &CtLine<'_>,
) -> io::Result<()> {
    x.open("ctLine")?;
    x.text("nr", nr)?;
    x.text("lineID", &line_id.to_string())?;
    x.text("lineType", l.line_type)?;
    x.text("artGroupID", &l.group)?;
    x.text_opt("artID", l.article.as_deref())?;
    x.text_opt("qnt", l.quantity.as_deref())?;
    x.amount("lineAmntIn", l.amount_in)?;
    x.amount("lineAmntEx", l.amount_ex)?;
    x.text("amntTp", debit_credit(l.amount_in))?;
    if let Some(ppu) = l.unit_price {
        x.amount("ppu", ppu)?;
    }
    x.text("empID", &t.emp_id)?;
    x.text_opt("cashTransLineDescr", l.text)?;
    x.text("lineDate", &t.trans_date)?;
    x.text("lineTime", &t.trans_time)?;
    write_vat(
        x,
        cx.dialect,
        l.vat_bp,
        l.amount_in - l.amount_ex,
        l.amount_ex,
    )?;
    if l.discount != 0 {
        x.open("discount")?;
        x.text("dscTp", DISCOUNT)?;
        x.amount("dscAmnt", l.discount)?;
        x.text("empID", &t.emp_id)?;
        x.close("discount")?;
    }
    x.close("ctLine")
}

fn write_vat<W: Write>(
    x: &mut Xml<W>,
    dialect: Dialect,
    basis_points: u32,
    tax: i64,
    base: i64,
) -> io::Result<()> {
    x.open("vat")?;
    if let Some(code) = basics::vat_code(dialect, basis_points) {
        x.text("vatCode", &code.code)?;
    }
    x.text("vatPerc", &xml::percent(basis_points))?;
    x.amount("vatAmnt", tax)?;
    x.text("vatAmntTp", debit_credit(tax + base))?;
    x.amount("vatBasAmnt", base)?;
    x.close("vat")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(total: i64, ex: i64, bp: u32) -> Line {
        Line {
            item_id: "a".into(),
            quantity: 1,
            unit: Unit::Pcs,
            unit_price: total,
            vat_bp: bp,
            discount: 0,
            total,
            excluding_tax: ex,
            tax: total - ex,
            category: None,
        }
    }

    #[test]
    fn a_full_return_takes_back_every_line() {
        let lines = [line(9_900, 7_920, 2500), line(3_000, 2_609, 1500)];
        let out = return_lines(&lines, -12_900, -10_529);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].amount_in, -9_900);
        assert_eq!(out[0].quantity.as_deref(), Some("-1"));
        assert_eq!(out.iter().map(|l| l.amount_ex).sum::<i64>(), -10_529);
        assert!(out.iter().all(|l| l.line_type == LINE_RETURN));
    }

    #[test]
    fn a_partial_return_is_shared_over_the_rates_and_sums_exactly() {
        let lines = [line(9_900, 7_920, 2500), line(3_000, 2_609, 1500)];
        let amount_ex = proportional_excluding(-5_000, 12_900, 10_529);
        let out = return_lines(&lines, -5_000, amount_ex);
        assert_eq!(out.len(), 2);
        assert_eq!(out.iter().map(|l| l.amount_in).sum::<i64>(), -5_000);
        assert_eq!(out.iter().map(|l| l.amount_ex).sum::<i64>(), amount_ex);
        assert!(out.iter().all(|l| l.article.is_none() && l.amount_in < 0));
    }
}

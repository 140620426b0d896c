//! Returns of lines of an earlier sale: checked against what was sold and already returned,
//! priced from the sale's own lines, paid back to the sale's tender. A return is its own
//! transaction: a `sale_return` row, money paid back (a negative tender row), its journal row
//! and (by the engine) its signature.

use std::borrow::Borrow;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::day::{Actor, DrawerReason, open_period};
use super::journal::kind;
use super::{Store, StoreError};
use crate::core::cashier::Privilege;
use crate::core::tender::TenderKind;

/// A line to return: its position on the sale, and how many (for goods sold by weight, the
/// quantity in grams as on the sale line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub position: i64,
    pub quantity: i64,
}

/// A returned line, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedLine {
    pub position: i64,
    pub name: String,
    pub quantity: i64,
    pub amount: i64,
    pub excluding_tax: i64,
    pub vat_bp: i64,
}

/// A return as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleReturn {
    pub id: i64,
    pub sale_id: i64,
    pub amount: i64,
    pub excluding_tax: i64,
    pub tender: TenderKind,
    pub lines: Vec<ReturnedLine>,
}

/// `part` of `whole`, in proportion to `quantity` of `sold` (half away from zero).
fn share(whole: i64, quantity: i64, sold: i64) -> i64 {
    if quantity == sold {
        return whole;
    }
    let n = i128::from(whole) * i128::from(quantity);
    let d = i128::from(sold);
    let q = (2 * n + d) / (2 * d);
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// A sold line as the return screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnableLine {
    pub position: i64,
    pub name: String,
    pub sold: i64,
    pub returned: i64,
    /// The line's total (VAT included, after discounts).
    pub total: i64,
}

impl<C: Borrow<Connection>> Store<C> {
    /// The lines of sale `sale_id` with what was sold and what is returned already.
    pub fn returnable_lines(&self, sale_id: i64) -> Result<Vec<ReturnableLine>, StoreError> {
        let returned = self.returned_so_far(sale_id)?;
        let mut stmt = self.conn().prepare(
            "SELECT position, name, quantity, total FROM sale_line
             WHERE sale_id = ?1 ORDER BY position",
        )?;
        let rows = stmt.query_map([sale_id], |r| {
            Ok(ReturnableLine {
                position: r.get(0)?,
                name: r.get(1)?,
                sold: r.get(2)?,
                returned: 0,
                total: r.get(3)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            let mut line = row?;
            line.returned = returned
                .iter()
                .find(|(p, _)| *p == line.position)
                .map_or(0, |(_, q)| *q);
            out.push(line);
        }
        Ok(out)
    }

    /// Quantities already returned (or being returned) per line position of `sale_id`.
    fn returned_so_far(&self, sale_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT lines_json FROM sale_return WHERE sale_id = ?1 AND state <> 'failed'",
        )?;
        let mut out: Vec<(i64, i64)> = Vec::new();
        for json in stmt.query_map([sale_id], |r| r.get::<_, String>(0))? {
            let lines: Vec<ReturnedLine> = serde_json::from_str(&json?)?;
            for l in lines {
                match out.iter_mut().find(|(p, _)| *p == l.position) {
                    Some((_, q)) => *q += l.quantity,
                    None => out.push((l.position, l.quantity)),
                }
            }
        }
        Ok(out)
    }

    /// What each tender paid towards `sale_id`, less what was paid back on it.
    fn paid_by_tender(&self, sale_id: i64) -> Result<Vec<(TenderKind, i64)>, StoreError> {
        let mut out: Vec<(TenderKind, i64)> = Vec::new();
        for t in self.tenders_of_sale(sale_id)? {
            match out.iter_mut().find(|(k, _)| *k == t.kind) {
                Some((_, a)) => *a += t.amount,
                None => out.push((t.kind, t.amount)),
            }
        }
        Ok(out)
    }

    /// Checks and records a return of `lines` of the completed sale `sale_id`, to `to` (or
    /// the tender that paid most of the sale), as pending. Nothing is recorded when refused.
    pub fn begin_return(
        &self,
        sale_id: i64,
        lines: &[ReturnLine],
        to: Option<TenderKind>,
        by: Actor,
    ) -> Result<SaleReturn, StoreError> {
        if lines.is_empty() {
            return Err(StoreError::Refused(
                "choose at least one line to return".into(),
            ));
        }
        self.refuse_in_training("take a return")?;
        if super::training::is_training_sale(self.conn(), sale_id).unwrap_or(false) {
            return Err(StoreError::Refused(format!(
                "sale {sale_id} was a training sale: nothing was paid, nothing can be returned"
            )));
        }
        self.atomic(|| {
            let c = self.conn();
            let sale: Option<(String, Option<i64>)> = c
                .query_row(
                    "SELECT state, period FROM sale WHERE id = ?1",
                    [sale_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((state, period)) = sale else {
                return Err(StoreError::Refused(format!("there is no sale {sale_id}")));
            };
            if state != "completed" {
                return Err(StoreError::Refused(format!(
                    "sale {sale_id} is {state}: only a completed sale can be returned"
                )));
            }
            let today = period == Some(open_period(c)?);
            self.check_privilege(
                by,
                if today {
                    Privilege::ReturnWithReceipt
                } else {
                    Privilege::ReturnAfterTheDay
                },
            )?;
            let before = self.returned_so_far(sale_id)?;
            let mut priced = Vec::new();
            for l in lines {
                let row: Option<(String, i64, i64, i64, i64)> = c
                    .query_row(
                        "SELECT name, quantity, total, excluding_tax, vat_bp FROM sale_line
                         WHERE sale_id = ?1 AND position = ?2",
                        params![sale_id, l.position],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .optional()?;
                let Some((name, sold, total, excluding, vat_bp)) = row else {
                    return Err(StoreError::Refused(format!(
                        "sale {sale_id} has no line {}",
                        l.position
                    )));
                };
                let already = before
                    .iter()
                    .find(|(p, _)| *p == l.position)
                    .map_or(0, |(_, q)| *q)
                    + priced
                        .iter()
                        .filter(|p: &&ReturnedLine| p.position == l.position)
                        .map(|p| p.quantity)
                        .sum::<i64>();
                if l.quantity <= 0 || l.quantity + already > sold {
                    return Err(StoreError::Refused(format!(
                        "line {} ({name}): {} sold, {already} already returned; {} cannot be \
                         returned",
                        l.position, sold, l.quantity
                    )));
                }
                // The last of a line takes what is left, so a line returned in parts adds up.
                let (amount, excl) = if l.quantity + already == sold {
                    (
                        total - share(total, already, sold),
                        excluding - share(excluding, already, sold),
                    )
                } else {
                    (
                        share(total, l.quantity, sold),
                        share(excluding, l.quantity, sold),
                    )
                };
                priced.push(ReturnedLine {
                    position: l.position,
                    name,
                    quantity: l.quantity,
                    amount,
                    excluding_tax: excl,
                    vat_bp,
                });
            }
            let amount: i64 = priced.iter().map(|l| l.amount).sum();
            let excluding_tax: i64 = priced.iter().map(|l| l.excluding_tax).sum();
            if amount <= 0 {
                return Err(StoreError::Refused("nothing to pay back".into()));
            }
            let paid = self.paid_by_tender(sale_id)?;
            let tender = match to {
                Some(k) => k,
                None => paid
                    .iter()
                    .max_by_key(|(_, a)| *a)
                    .map(|(k, _)| *k)
                    .ok_or_else(|| StoreError::Refused(format!("sale {sale_id} has no tender")))?,
            };
            // Money goes back the way it came: at most what that tender still holds. Cash may
            // always be paid back (a manager's call for a sale paid otherwise).
            let held = paid
                .iter()
                .find(|(k, _)| *k == tender)
                .map_or(0, |(_, a)| *a);
            if tender != TenderKind::Cash && amount > held {
                return Err(StoreError::Refused(format!(
                    "{amount} cannot go back to {tender}: the sale has {held} left on it"
                )));
            }
            if tender == TenderKind::Cash && held < amount {
                self.check_privilege(by, Privilege::ReturnWithoutReceipt)?;
            }
            let now = self.now_ms();
            c.execute(
                "INSERT INTO sale_return (sale_id, amount, excluding_tax, lines_json, tender,
                                          state, cashier_id, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
                params![
                    sale_id,
                    amount,
                    excluding_tax,
                    serde_json::to_string(&priced)?,
                    tender.as_str(),
                    by,
                    now
                ],
            )?;
            Ok(SaleReturn {
                id: c.last_insert_rowid(),
                sale_id,
                amount,
                excluding_tax,
                tender,
                lines: priced,
            })
        })
    }

    /// Pays back a pending return not through Vipps (cash out of the drawer, card recorded for
    /// the terminal, ...) and records it done in the open period, journalled with its payment
    /// code. The caller signs it in the same transaction.
    pub fn pay_back_at_till(&self, r: &SaleReturn, by: Actor) -> Result<(), StoreError> {
        if r.tender == TenderKind::Vipps {
            return Err(StoreError::Invalid(
                "a return to Vipps is paid back by a refund".into(),
            ));
        }
        self.atomic(|| {
            let period = open_period(self.conn())?;
            let changed = self.conn().execute(
                "UPDATE sale_return SET state = 'done', period = ?2
                 WHERE id = ?1 AND state = 'pending'",
                params![r.id, period],
            )?;
            if changed == 0 {
                return Err(StoreError::Conflict(format!(
                    "return {} is not pending",
                    r.id
                )));
            }
            self.record_return_tender(r.sale_id, r.tender, r.amount, None, Some(r.id), by)?;
            if r.tender == TenderKind::Cash {
                self.record_drawer_opening(DrawerReason::Return, Some(r.sale_id), by)?;
            }
            self.append_journal_paid(
                kind::RETURN_RECORDED,
                r.tender.payment_code(),
                &json!({ "return_id": r.id, "sale_id": r.sale_id, "amount": r.amount,
                         "excluding_tax": r.excluding_tax, "tender": r.tender,
                         "lines": r.lines, "by": by }),
            )?;
            Ok(())
        })
    }

    /// Links a pending return to Vipps to the refund operation that pays it back.
    pub fn link_return_refund(&self, return_id: i64, op_id: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE sale_return SET refund_op_id = ?2 WHERE id = ?1 AND state = 'pending'",
            params![return_id, op_id],
        )?;
        Ok(())
    }

    /// The return a refund operation pays back, marked done in the open period (idempotent).
    pub fn return_refunded(&self, op_id: i64) -> Result<Option<i64>, StoreError> {
        let period = open_period(self.conn())?;
        self.conn().execute(
            "UPDATE sale_return SET state = 'done', period = ?2
             WHERE refund_op_id = ?1 AND state = 'pending'",
            params![op_id, period],
        )?;
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM sale_return WHERE refund_op_id = ?1",
                [op_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A return whose money could not be paid back: nothing moved, the lines may be returned
    /// again.
    pub fn fail_return(&self, return_id: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE sale_return SET state = 'failed' WHERE id = ?1 AND state = 'pending'",
            [return_id],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_round_half_away_and_whole_lines_are_exact() {
        assert_eq!(share(3_000, 1, 2), 1_500);
        assert_eq!(share(1_000, 1, 3), 333);
        assert_eq!(share(1_001, 1, 2), 501);
        assert_eq!(share(999, 3, 3), 999);
    }
}

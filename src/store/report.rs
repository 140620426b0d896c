//! X and Z reports from the store: each reads one reporting period by index (the rows of the
//! period, never the whole history), and the grand totals from the previous Z.

use std::borrow::Borrow;

use rusqlite::{Connection, OptionalExtension, params};

use super::day::open_period;
use super::journal::kind;
use super::{Store, StoreError};
use crate::core::cashier::{Privilege, Role};
use crate::core::journal_code::EventCode;
use crate::core::money::Currency;
use crate::core::report::{
    CashierLine, CashierTenderLine, GroupLine, Report, ReportKind, Tally, TenderLine, VatLine,
};
use crate::core::sale::SaleState;
use crate::core::signature_text::local_stamp;
use crate::core::tender::TenderKind;

use super::day::Actor;

/// The previous Z: when it was taken, the last journal row it covered, the grand totals.
struct PreviousZ {
    day: String,
    at_ms: i64,
    journal_seq: i64,
    grand_sales: i64,
    grand_returns: i64,
}

fn previous_z(c: &Connection, period: i64) -> Result<Option<PreviousZ>, StoreError> {
    Ok(c.query_row(
        "SELECT day, at_ms, journal_seq, grand_sales, grand_returns FROM z_report WHERE nr = ?1",
        [period - 1],
        |r| {
            Ok(PreviousZ {
                day: r.get(0)?,
                at_ms: r.get(1)?,
                journal_seq: r.get(2)?,
                grand_sales: r.get(3)?,
                grand_returns: r.get(4)?,
            })
        },
    )
    .optional()?)
}

/// A `COUNT(*), SUM(...)` query's answer.
fn tally(c: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Tally, StoreError> {
    Ok(c.query_row(sql, params, |r| {
        Ok(Tally {
            count: r.get(0)?,
            amount: r.get(1)?,
        })
    })?)
}

fn tender_lines(c: &Connection, sql: &str, period: i64) -> Result<Vec<TenderLine>, StoreError> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map([period], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (k, count, amount) = row?;
        let tender = TenderKind::parse(&k)
            .ok_or_else(|| StoreError::Invalid(format!("tender kind {k:?}")))?;
        out.push(TenderLine {
            tender,
            count,
            amount,
        });
    }
    Ok(out)
}

/// Journal rows with `code` after `after_seq`.
fn events(c: &Connection, code: EventCode, after_seq: i64) -> Result<i64, StoreError> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM journal WHERE seq > ?1 AND event_code = ?2",
        params![after_seq, code.0],
        |r| r.get(0),
    )?)
}

impl<C: Borrow<Connection>> Store<C> {
    /// The report of the open period as of now (nothing is written).
    pub fn period_report(
        &self,
        kind: ReportKind,
        till_id: &str,
        currency: Currency,
        by: Actor,
    ) -> Result<Report, StoreError> {
        let c = self.conn();
        let period = open_period(c)?;
        let previous = previous_z(c, period)?;
        let after_seq = previous.as_ref().map_or(0, |p| p.journal_seq);
        let now = self.now_ms();
        let stamp = local_stamp(now).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let completed = SaleState::Completed.as_str();

        let sales = tally(
            c,
            "SELECT COUNT(*), COALESCE(SUM(total), 0) FROM sale
             WHERE period = ?1 AND state = ?2 AND training = 0",
            params![period, completed],
        )?;
        // Training sales: counted apart, in no other figure.
        let training_sales = tally(
            c,
            "SELECT COUNT(*), COALESCE(SUM(total), 0) FROM sale
             WHERE period = ?1 AND state = ?2 AND training = 1",
            params![period, completed],
        )?;
        let mut by_article_group = Vec::new();
        {
            let mut stmt = c.prepare(
                "SELECT l.article_group, COUNT(*), SUM(l.total)
                 FROM sale s JOIN sale_line l ON l.sale_id = s.id
                 WHERE s.period = ?1 AND s.state = ?2 AND s.training = 0
                 GROUP BY l.article_group ORDER BY l.article_group",
            )?;
            let rows = stmt.query_map(params![period, completed], |r| {
                Ok(GroupLine {
                    group: r.get(0)?,
                    lines: r.get(1)?,
                    amount: r.get(2)?,
                })
            })?;
            for row in rows {
                by_article_group.push(row?);
            }
        }
        let mut by_vat = Vec::new();
        {
            let mut stmt = c.prepare(
                "SELECT l.vat_bp, SUM(l.excluding_tax), SUM(l.tax)
                 FROM sale s JOIN sale_line l ON l.sale_id = s.id
                 WHERE s.period = ?1 AND s.state = ?2 AND s.training = 0
                 GROUP BY l.vat_bp ORDER BY l.vat_bp DESC",
            )?;
            let rows = stmt.query_map(params![period, completed], |r| {
                Ok(VatLine {
                    rate_bp: r.get(0)?,
                    basis: r.get(1)?,
                    vat: r.get(2)?,
                })
            })?;
            for row in rows {
                by_vat.push(row?);
            }
        }
        let by_tender = tender_lines(
            c,
            "SELECT t.kind, COUNT(*), SUM(t.amount) FROM sale_tender t JOIN sale s ON s.id = t.sale_id
             WHERE t.period = ?1 AND t.purpose = 'payment' AND s.state = 'completed'
               AND s.training = 0
             GROUP BY t.kind ORDER BY t.kind",
            period,
        )?;
        let rounding: i64 = c.query_row(
            "SELECT COALESCE(SUM(t.rounding), 0) FROM sale_tender t JOIN sale s ON s.id = t.sale_id
             WHERE t.period = ?1 AND t.purpose = 'payment' AND s.state = 'completed'
               AND s.training = 0",
            [period],
            |r| r.get(0),
        )?;
        let mut by_cashier_tender = Vec::new();
        {
            let mut stmt = c.prepare(
                "SELECT s.cashier_id, t.kind, COUNT(*), SUM(t.amount)
                 FROM sale_tender t JOIN sale s ON s.id = t.sale_id
                 WHERE t.period = ?1 AND t.purpose = 'payment' AND s.state = 'completed'
                   AND s.training = 0
                 GROUP BY s.cashier_id, t.kind ORDER BY s.cashier_id, t.kind",
            )?;
            let rows = stmt.query_map([period], |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            for row in rows {
                let (cashier_id, kind, count, amount) = row?;
                let tender = TenderKind::parse(&kind)
                    .ok_or_else(|| StoreError::Invalid(format!("tender kind {kind:?}")))?;
                by_cashier_tender.push(CashierTenderLine {
                    cashier_id,
                    tender,
                    count,
                    amount,
                });
            }
        }
        let mut by_cashier = Vec::new();
        {
            let mut stmt = c.prepare(
                "SELECT s.cashier_id, c.name, c.role, COUNT(*), SUM(s.total)
                 FROM sale s LEFT JOIN cashier c ON c.id = s.cashier_id
                 WHERE s.period = ?1 AND s.state = ?2 AND s.training = 0
                 GROUP BY s.cashier_id ORDER BY c.name",
            )?;
            let rows = stmt.query_map(params![period, completed], |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            for row in rows {
                let (cashier_id, name, role, count, amount) = row?;
                by_cashier.push(CashierLine {
                    cashier_id,
                    name: name.unwrap_or_else(|| "-".into()),
                    role: role.as_deref().and_then(Role::parse),
                    sales: Tally { count, amount },
                });
            }
        }
        let movement = |k: &str| {
            tally(
                c,
                "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM cash_movement
                 WHERE period = ?1 AND kind = ?2",
                params![period, k],
            )
        };
        let opening_float = movement("float")?.amount;
        let pay_ins = movement("pay_in")?;
        let pay_outs = movement("pay_out")?;
        let count: Option<(i64, i64)> = c
            .query_row(
                "SELECT amount, expected FROM cash_movement WHERE period = ?1 AND kind = 'count'
                 ORDER BY id DESC LIMIT 1",
                [period],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let returns = tally(
            c,
            "SELECT COUNT(*), COALESCE(-SUM(amount), 0) FROM sale_tender
             WHERE period = ?1 AND purpose = 'return'",
            [period],
        )?;
        let returns_by_tender = tender_lines(
            c,
            "SELECT kind, COUNT(*), -SUM(amount) FROM sale_tender
             WHERE period = ?1 AND purpose = 'return' GROUP BY kind ORDER BY kind",
            period,
        )?;
        let given_back = tally(
            c,
            "SELECT COUNT(DISTINCT sale_id), COALESCE(-SUM(amount), 0) FROM sale_tender
             WHERE period = ?1 AND purpose = 'given_back'
               AND sale_id NOT IN (SELECT id FROM sale WHERE training = 1)",
            [period],
        )?;
        let discounts = tally(
            c,
            "SELECT COUNT(*), COALESCE(SUM(l.discount), 0)
             FROM sale s JOIN sale_line l ON l.sale_id = s.id
             WHERE s.period = ?1 AND s.state = ?2 AND s.training = 0 AND l.discount > 0",
            params![period, completed],
        )?;
        let correction = |k: &str| {
            tally(
                c,
                "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM correction
                 WHERE period = ?1 AND kind = ?2",
                params![period, k],
            )
        };
        let (drawer_openings, drawer_openings_without_sale): (i64, i64) = c.query_row(
            "SELECT COUNT(*), COALESCE(SUM(reason = 'no_sale'), 0) FROM drawer_opening
             WHERE period = ?1",
            [period],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let grand_before = previous
            .as_ref()
            .map_or((0, 0), |p| (p.grand_sales, p.grand_returns));
        let grand_total_sales = grand_before.0 + sales.amount;
        let grand_total_returns = grand_before.1 + returns.amount;
        let taken_by = match by {
            Some(id) => self.cashier(id)?.map(|c| c.name),
            None => None,
        };
        Ok(Report {
            kind,
            period,
            z_nr: (kind == ReportKind::Z).then_some(period),
            till_id: till_id.to_string(),
            currency,
            date: stamp.date,
            time: stamp.time,
            at_ms: now,
            since_ms: previous.as_ref().map(|p| p.at_ms),
            taken_by,
            receipts: sales.count + returns.count,
            sales,
            by_article_group,
            by_tender,
            by_vat,
            by_cashier,
            by_cashier_tender,
            rounding,
            opening_float,
            pay_ins,
            pay_outs,
            expected_cash: self.expected_cash()?,
            counted_cash: count.map(|(counted, _)| counted),
            cash_difference: count.map(|(counted, expected)| counted - expected),
            drawer_openings,
            drawer_openings_without_sale,
            copy_receipts: events(c, EventCode::COPY_RECEIPT, after_seq)?,
            provisional_receipts: events(c, EventCode::PROVISIONAL_RECEIPT, after_seq)?,
            training_receipts: events(c, EventCode::TRAINING_RECEIPT, after_seq)?,
            training_sales,
            returns,
            returns_by_tender,
            discounts,
            voided_sales: correction("sale_void")?,
            voided_lines: correction("line_void")?,
            given_back,
            price_look_ups: events(c, EventCode::PRICE_LOOK_UP, after_seq)?,
            price_changes: events(c, EventCode::PRICE_CHANGE, after_seq)?,
            grand_total_sales,
            grand_total_returns,
            grand_total_net: grand_total_sales - grand_total_returns,
        })
    }

    /// Takes an X report: computed and journalled whole (event 13008). Closes nothing.
    pub fn take_x_report(
        &self,
        till_id: &str,
        currency: Currency,
        by: Actor,
    ) -> Result<Report, StoreError> {
        self.check_privilege(by, Privilege::XReport)?;
        self.atomic(|| {
            let report = self.period_report(ReportKind::X, till_id, currency, by)?;
            self.append_journal(kind::X_REPORT, &serde_json::to_value(&report)?)?;
            Ok(report)
        })
    }

    /// Takes the Z report that closes the open period: refused while a payment is in flight,
    /// a return is unfinished, or a Z was already taken today; otherwise journalled whole
    /// (event 13009) and stored with its number and the grand totals, in one transaction.
    pub fn take_z_report(
        &self,
        till_id: &str,
        currency: Currency,
        by: Actor,
    ) -> Result<Report, StoreError> {
        self.check_privilege(by, Privilege::ZReport)?;
        self.refuse_in_training("take the Z report")?;
        self.atomic(|| {
            let c = self.conn();
            let in_flight: Vec<i64> = {
                // A Vipps payment not settled yet, or a sale not completed that holds parts
                // paid at the till (they are in the open period: a Z never closes over one).
                let mut stmt = c.prepare(
                    "SELECT sale_id FROM payment_attempt WHERE resolved = 0
                     UNION
                     SELECT t.sale_id FROM sale_tender t JOIN sale s ON s.id = t.sale_id
                     WHERE t.period = ?1 AND t.kind <> 'vipps'
                       AND t.purpose IN ('payment', 'given_back') AND s.state <> 'completed'
                     GROUP BY t.sale_id HAVING SUM(t.amount) > 0
                     ORDER BY 1 LIMIT 5",
                )?;
                stmt.query_map([open_period(c)?], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            if !in_flight.is_empty() {
                return Err(StoreError::Refused(format!(
                    "a payment is in progress (sale {}): finish or cancel it before the Z report",
                    in_flight
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let open_refunds: i64 = c.query_row(
                "SELECT COUNT(*) FROM payment_operation WHERE kind = 'refund' AND status = 'intended'",
                [],
                |r| r.get(0),
            )?;
            if open_refunds > 0 {
                return Err(StoreError::Refused(
                    "a refund is still in progress: let it finish before the Z report".into(),
                ));
            }
            let report = self.period_report(ReportKind::Z, till_id, currency, by)?;
            if let Some(previous) = previous_z(c, report.period)?
                && previous.day == report.date
            {
                return Err(StoreError::Refused(format!(
                    "the Z report for {} was already taken (Z {}); the next one closes tomorrow",
                    report.date,
                    report.period - 1
                )));
            }
            let entry = self.append_journal(kind::Z_REPORT, &serde_json::to_value(&report)?)?;
            c.execute(
                "INSERT INTO z_report (nr, day, at_ms, cashier_id, journal_seq, grand_sales,
                                       grand_returns, report_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    report.period,
                    report.date,
                    report.at_ms,
                    by,
                    entry.seq,
                    report.grand_total_sales,
                    report.grand_total_returns,
                    serde_json::to_string(&report)?
                ],
            )?;
            Ok(report)
        })
    }

    /// A stored Z report by number.
    pub fn z_report(&self, nr: i64) -> Result<Option<Report>, StoreError> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT report_json FROM z_report WHERE nr = ?1",
                [nr],
                |r| r.get(0),
            )
            .optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(StoreError::from))
            .transpose()
    }
}

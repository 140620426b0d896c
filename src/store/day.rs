//! The shop's day in the store: cashiers and their log-ins, the tenders that pay each sale,
//! cash that is not a sale (float, pay-in, pay-out, count), drawer openings and voids. Each
//! write journals itself in the same transaction, and every reportable row takes the open
//! reporting period (see `migrations/till/0006_till_day.sql`).

use std::borrow::Borrow;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::journal::kind;
use super::{Store, StoreError};
use crate::config::pin::PinHash;
use crate::core::cashier::{self, Cashier, LOCKOUT_MS, MAX_FAILED_LOGINS, Privilege, Role};
use crate::core::journal_code::PaymentCode;
use crate::core::tender::{MAX_AMOUNT, Part, TenderKind};

/// Cash that goes in or out of the drawer without a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CashMovementKind {
    /// The change float put in the drawer at the start of the day.
    Float,
    /// Cash added (e.g. more change from the safe).
    PayIn,
    /// Cash taken out (e.g. to the bank, a small expense), with its reason.
    PayOut,
}

impl CashMovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Float => "float",
            Self::PayIn => "pay_in",
            Self::PayOut => "pay_out",
        }
    }

    fn journal_kind(self) -> &'static str {
        match self {
            Self::Float => kind::CASH_FLOAT,
            Self::PayIn => kind::CASH_PAY_IN,
            Self::PayOut => kind::CASH_PAY_OUT,
        }
    }
}

/// Why the drawer opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawerReason {
    Sale,
    Return,
    /// A manager opened it without a sale.
    NoSale,
    Float,
    PayIn,
    PayOut,
    Count,
}

impl DrawerReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Return => "return",
            Self::NoSale => "no_sale",
            Self::Float => "float",
            Self::PayIn => "pay_in",
            Self::PayOut => "pay_out",
            Self::Count => "count",
        }
    }
}

/// The result of a cash count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashCount {
    pub counted: i64,
    pub expected: i64,
    /// Counted minus expected (negative: cash is missing).
    pub difference: i64,
}

/// Whose action it is: the cashier logged in (None only for actions recorded before cashiers
/// existed, or by the headless admin commands).
pub type Actor = Option<i64>;

/// The open reporting period: the number the next Z report will have. Read inside the
/// writing transaction, so a row belongs to exactly one Z.
pub fn open_period(c: &Connection) -> Result<i64, StoreError> {
    Ok(
        c.query_row("SELECT COALESCE(MAX(nr), 0) + 1 FROM z_report", [], |r| {
            r.get(0)
        })?,
    )
}

fn check_amount(amount: i64, what: &str) -> Result<(), StoreError> {
    if amount <= 0 {
        return Err(StoreError::Refused(format!(
            "{what}: the amount must be more than zero"
        )));
    }
    if amount > MAX_AMOUNT {
        return Err(StoreError::Refused(format!(
            "{what}: {amount} is too large to be right"
        )));
    }
    Ok(())
}

impl<C: Borrow<Connection>> Store<C> {
    // ---------------------------------------------------------------------------------------
    // Cashiers

    /// Adds a cashier with a PIN (hashed with Argon2id; the PIN itself is never stored).
    pub fn add_cashier(
        &self,
        name: &str,
        role: Role,
        pin: &str,
        by: Actor,
    ) -> Result<Cashier, StoreError> {
        let name = cashier::check_name(name).map_err(StoreError::Refused)?;
        let hash = PinHash::new(pin).map_err(|e| StoreError::Refused(e.to_string()))?;
        self.atomic(|| {
            let now = self.now_ms();
            self.conn()
                .execute(
                    "INSERT INTO cashier (name, role, pin_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
                    params![name, role.as_str(), hash.encode().trim(), now],
                )
                .map_err(|e| {
                    StoreError::from_constraint(e, || {
                        format!("a cashier named {name:?} already exists")
                    })
                })?;
            let id = self.conn().last_insert_rowid();
            self.append_journal(
                kind::CASHIER_SAVED,
                &json!({ "cashier_id": id, "name": name, "role": role, "active": true, "by": by }),
            )?;
            Ok(Cashier {
                id,
                name: name.clone(),
                role,
                active: true,
            })
        })
    }

    /// Disables a cashier: they can no longer log in; their past work keeps their name.
    pub fn disable_cashier(&self, id: i64, by: Actor) -> Result<(), StoreError> {
        self.atomic(|| {
            let changed = self.conn().execute(
                "UPDATE cashier SET active = 0 WHERE id = ?1 AND active = 1",
                [id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("active cashier {id}")));
            }
            self.append_journal(
                kind::CASHIER_SAVED,
                &json!({ "cashier_id": id, "active": false, "by": by }),
            )?;
            Ok(())
        })
    }

    /// Every cashier, active ones first, by name.
    pub fn cashiers(&self) -> Result<Vec<Cashier>, StoreError> {
        self.cashiers_where("1", [])
    }

    fn cashiers_where(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Cashier>, StoreError> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT id, name, role, active FROM cashier WHERE {filter}
             ORDER BY active DESC, name, id"
        ))?;
        let rows = stmt.query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, role, active) = row?;
            let role = Role::parse(&role)
                .ok_or_else(|| StoreError::Invalid(format!("cashier {id} role {role:?}")))?;
            out.push(Cashier {
                id,
                name,
                role,
                active,
            });
        }
        Ok(out)
    }

    /// The cashier `id`, active or not.
    pub fn cashier(&self, id: i64) -> Result<Option<Cashier>, StoreError> {
        Ok(self.cashiers_where("id = ?1", [id])?.pop())
    }

    /// Logs a cashier in with their PIN. A wrong PIN counts; after
    /// [`MAX_FAILED_LOGINS`] in a row the cashier is locked for [`LOCKOUT_MS`]. Every attempt is
    /// journalled (the PIN never is).
    pub fn log_in(&self, id: i64, pin: &str) -> Result<Cashier, StoreError> {
        let now = self.now_ms();
        let row: Option<(String, String, bool, i64, i64)> = self
            .conn()
            .query_row(
                "SELECT name, pin_hash, active, failed_logins, locked_until_ms
                 FROM cashier WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((_, hash, active, failed, locked_until)) = row else {
            return Err(StoreError::Refused(format!("there is no cashier {id}")));
        };
        if !active {
            return Err(StoreError::Refused(format!(
                "cashier {id} is disabled; a manager can add them again"
            )));
        }
        if locked_until > now {
            let minutes = (locked_until - now + 59_999) / 60_000;
            self.atomic(|| {
                self.append_journal(
                    kind::CASHIER_LOGIN_REFUSED,
                    &json!({ "cashier_id": id, "why": "locked" }),
                )?;
                Ok(())
            })?;
            return Err(StoreError::Refused(format!(
                "too many wrong PINs: cashier {id} is locked for {minutes} more minute(s)"
            )));
        }
        let hash = PinHash::decode(&hash)
            .ok_or_else(|| StoreError::Invalid(format!("cashier {id}: stored PIN hash")))?;
        if !hash.verify(pin) {
            let failed = failed + 1;
            let lock = if failed >= MAX_FAILED_LOGINS {
                now + LOCKOUT_MS
            } else {
                0
            };
            self.atomic(|| {
                self.conn().execute(
                    "UPDATE cashier SET failed_logins = ?2, locked_until_ms = ?3 WHERE id = ?1",
                    params![id, if lock > 0 { 0 } else { failed }, lock],
                )?;
                self.append_journal(
                    kind::CASHIER_LOGIN_REFUSED,
                    &json!({ "cashier_id": id, "why": "wrong_pin", "locked": lock > 0 }),
                )?;
                Ok(())
            })?;
            return Err(StoreError::Refused(if lock > 0 {
                format!(
                    "wrong PIN; cashier {id} is locked for {} minutes",
                    LOCKOUT_MS / 60_000
                )
            } else {
                format!(
                    "wrong PIN ({} more tries before a lock-out)",
                    MAX_FAILED_LOGINS - failed
                )
            }));
        }
        self.atomic(|| {
            self.conn().execute(
                "UPDATE cashier SET failed_logins = 0, locked_until_ms = 0 WHERE id = ?1",
                [id],
            )?;
            self.append_journal(kind::CASHIER_LOGGED_IN, &json!({ "cashier_id": id }))?;
            Ok(())
        })?;
        self.cashier(id)?
            .ok_or_else(|| StoreError::NotFound(format!("cashier {id}")))
    }

    /// Records a log-out (or the idle lock).
    pub fn log_out(&self, id: i64, idle: bool) -> Result<(), StoreError> {
        self.atomic(|| {
            self.append_journal(
                kind::CASHIER_LOGGED_OUT,
                &json!({ "cashier_id": id, "idle": idle }),
            )?;
            Ok(())
        })
    }

    /// Refuses unless `actor` is an active cashier whose role may do `what`. The headless admin
    /// (no actor) may do everything: it runs with the shop's files.
    pub fn check_privilege(&self, actor: Actor, what: Privilege) -> Result<(), StoreError> {
        let Some(id) = actor else { return Ok(()) };
        let c = self
            .cashier(id)?
            .filter(|c| c.active)
            .ok_or_else(|| StoreError::Refused(format!("there is no active cashier {id}")))?;
        if c.role.may(what) {
            Ok(())
        } else {
            Err(StoreError::Refused(format!(
                "{} is a {}; a manager must do this",
                c.name, c.role
            )))
        }
    }

    // ---------------------------------------------------------------------------------------
    // Tenders

    /// Records a part of a sale's payment (taken now), journalled with its payment code.
    pub fn record_tender(&self, sale_id: i64, part: &Part, by: Actor) -> Result<i64, StoreError> {
        self.atomic(|| {
            let period = open_period(self.conn())?;
            let now = self.now_ms();
            self.conn().execute(
                "INSERT INTO sale_tender (sale_id, kind, amount, tendered, change, rounding,
                                          reference, cashier_id, period, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    sale_id,
                    part.kind.as_str(),
                    part.amount,
                    part.tendered,
                    part.change,
                    part.rounding,
                    part.reference,
                    by,
                    period,
                    now
                ],
            )?;
            let id = self.conn().last_insert_rowid();
            if part.kind != TenderKind::Vipps {
                let mut payload = json!({ "sale_id": sale_id, "tender": part.kind,
                    "amount": part.amount, "tendered": part.tendered, "change": part.change,
                    "rounding": part.rounding, "reference": part.reference, "by": by });
                if super::training::is_training_sale(self.conn(), sale_id)? {
                    // Practice money: recorded, never part of the takings.
                    payload["training"] = json!(true);
                }
                self.append_journal_paid(kind::TENDER_TAKEN, part.kind.payment_code(), &payload)?;
            }
            Ok(id)
        })
    }

    /// The parts that paid a sale, in the order taken (receipts, the SAF-T export): its
    /// payment tender rows, or, for a sale concluded before tender rows existed, what Vipps
    /// captured for it (one part per captured attempt, which has no tender row of its own).
    pub fn payment_parts(&self, sale_id: i64) -> Result<Vec<Part>, StoreError> {
        let parts: Vec<Part> = self
            .tenders_of_sale(sale_id)?
            .into_iter()
            .filter(|t| t.purpose == TenderPurpose::Payment)
            .map(Part::from)
            .collect();
        if !parts.is_empty() {
            return Ok(parts);
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT captured_amount, reference FROM payment_attempt
             WHERE sale_id = ?1 AND captured_amount > 0 ORDER BY id",
        )?;
        let rows = stmt.query_map([sale_id], |r| {
            let amount: i64 = r.get(0)?;
            Ok(Part {
                kind: TenderKind::Vipps,
                amount,
                tendered: amount,
                change: 0,
                rounding: 0,
                reference: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The tenders of a sale as stored (money given back as negative amounts).
    pub fn tenders_of_sale(&self, sale_id: i64) -> Result<Vec<StoredTender>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, kind, amount, tendered, change, rounding, reference, return_id, purpose
             FROM sale_tender WHERE sale_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([sale_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<i64>>(7)?,
                r.get::<_, String>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, k, amount, tendered, change, rounding, reference, return_id, purpose) = row?;
            let kind = TenderKind::parse(&k)
                .ok_or_else(|| StoreError::Invalid(format!("tender {id} kind {k:?}")))?;
            let purpose = TenderPurpose::parse(&purpose)
                .ok_or_else(|| StoreError::Invalid(format!("tender {id} purpose {purpose:?}")))?;
            out.push(StoredTender {
                id,
                kind,
                amount,
                tendered,
                change,
                rounding,
                reference,
                return_id,
                purpose,
            });
        }
        Ok(out)
    }

    /// Records money paid back for returned goods (a negative row of purpose `return`).
    pub fn record_return_tender(
        &self,
        sale_id: i64,
        tender: TenderKind,
        amount: i64,
        reference: Option<&str>,
        return_id: Option<i64>,
        by: Actor,
    ) -> Result<(), StoreError> {
        check_amount(amount, "a return")?;
        self.atomic(|| {
            let period = open_period(self.conn())?;
            let now = self.now_ms();
            self.conn().execute(
                "INSERT INTO sale_tender (sale_id, return_id, kind, amount, purpose, reference,
                                          cashier_id, period, at_ms)
                 VALUES (?1, ?2, ?3, ?4, 'return', ?5, ?6, ?7, ?8)",
                params![
                    sale_id,
                    return_id,
                    tender.as_str(),
                    -amount,
                    reference,
                    by,
                    period,
                    now
                ],
            )?;
            Ok(())
        })
    }

    /// Gives back every non-Vipps part of a sale that is being cancelled (cash out of the
    /// drawer, card and vouchers reversed): one negative row per part, journalled. Returns what
    /// was given back per kind.
    pub fn give_back_tenders(
        &self,
        sale_id: i64,
        by: Actor,
    ) -> Result<Vec<(TenderKind, i64)>, StoreError> {
        self.atomic(|| {
            let mut net: Vec<(TenderKind, i64)> = Vec::new();
            for t in self.tenders_of_sale(sale_id)? {
                if t.kind == TenderKind::Vipps || t.purpose == TenderPurpose::Return {
                    continue;
                }
                match net.iter_mut().find(|(k, _)| *k == t.kind) {
                    Some((_, a)) => *a += t.amount,
                    None => net.push((t.kind, t.amount)),
                }
            }
            let period = open_period(self.conn())?;
            let now = self.now_ms();
            let mut given = Vec::new();
            for (k, amount) in net.into_iter().filter(|(_, a)| *a > 0) {
                self.conn().execute(
                    "INSERT INTO sale_tender (sale_id, kind, amount, purpose, cashier_id, period,
                                              at_ms)
                     VALUES (?1, ?2, ?3, 'given_back', ?4, ?5, ?6)",
                    params![sale_id, k.as_str(), -amount, by, period, now],
                )?;
                self.append_journal_paid(
                    kind::TENDER_GIVEN_BACK,
                    k.payment_code(),
                    &json!({ "sale_id": sale_id, "tender": k, "amount": amount, "by": by }),
                )?;
                given.push((k, amount));
            }
            Ok(given)
        })
    }

    /// Sales not completed that still hold parts paid at the till while no Vipps payment of
    /// theirs is unsettled: left behind when the till stopped in the middle of a sale.
    pub fn sales_holding_parts(&self) -> Result<Vec<i64>, StoreError> {
        let period = open_period(self.conn())?;
        let mut stmt = self.conn().prepare(
            "SELECT t.sale_id FROM sale_tender t JOIN sale s ON s.id = t.sale_id
             WHERE t.period = ?1 AND t.kind <> 'vipps'
               AND t.purpose IN ('payment', 'given_back') AND s.state <> 'completed'
               AND NOT EXISTS (SELECT 1 FROM payment_attempt a
                               WHERE a.sale_id = t.sale_id AND a.resolved = 0)
             GROUP BY t.sale_id HAVING SUM(t.amount) > 0 ORDER BY t.sale_id",
        )?;
        let ids = stmt
            .query_map([period], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }

    /// Marks a sale as concluded in the open period (for X and Z), with its cashier.
    pub fn conclude_in_period(&self, sale_id: i64, by: Actor) -> Result<i64, StoreError> {
        self.atomic(|| {
            let period = open_period(self.conn())?;
            self.conn().execute(
                "UPDATE sale SET period = COALESCE(period, ?2),
                                 cashier_id = COALESCE(cashier_id, ?3) WHERE id = ?1",
                params![sale_id, period, by],
            )?;
            Ok(period)
        })
    }

    /// Records who is selling `sale_id`.
    pub fn set_sale_cashier(&self, sale_id: i64, by: Actor) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE sale SET cashier_id = ?2 WHERE id = ?1",
            params![sale_id, by],
        )?;
        Ok(())
    }

    /// Journals a sale paid in full without Vipps as concluded (transaction 11001, with the
    /// payment code of its tender, or "other" when several kinds paid it).
    pub fn journal_sale_completed(&self, sale_id: i64, by: Actor) -> Result<(), StoreError> {
        if super::training::is_training_sale(self.conn(), sale_id)? {
            // Not a cash sale: its conclusion is journalled with its training number.
            return Ok(());
        }
        let tenders = self.tenders_of_sale(sale_id)?;
        let mut kinds: Vec<TenderKind> = tenders.iter().map(|t| t.kind).collect();
        kinds.dedup();
        let code = match kinds.as_slice() {
            [one] => one.payment_code(),
            _ => PaymentCode::OTHER,
        };
        let paid: Vec<_> = tenders
            .iter()
            .map(|t| json!({ "tender": t.kind, "amount": t.amount, "rounding": t.rounding }))
            .collect();
        self.append_journal_paid(
            kind::SALE_COMPLETED,
            code,
            &json!({ "sale_id": sale_id, "tenders": paid, "by": by }),
        )?;
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Cash that is not a sale, and the drawer

    /// Records the opening float, a pay-in or a pay-out (a manager's), and the drawer opening
    /// that goes with it.
    pub fn record_cash_movement(
        &self,
        what: CashMovementKind,
        amount: i64,
        reason: Option<&str>,
        by: Actor,
    ) -> Result<(), StoreError> {
        check_amount(amount, what.as_str())?;
        self.check_privilege(by, Privilege::CashMovement)?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if what == CashMovementKind::PayOut && reason.is_none() {
            return Err(StoreError::Refused(
                "a pay-out needs its reason (e.g. \"to the bank\")".into(),
            ));
        }
        self.refuse_in_training("move cash in or out of the drawer")?;
        self.atomic(|| {
            let period = open_period(self.conn())?;
            let now = self.now_ms();
            self.conn().execute(
                "INSERT INTO cash_movement (kind, amount, reason, cashier_id, period, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![what.as_str(), amount, reason, by, period, now],
            )?;
            let journal_kind = what.journal_kind();
            self.append_journal(
                journal_kind,
                &json!({ "amount": amount, "reason": reason, "by": by }),
            )?;
            let drawer = match what {
                CashMovementKind::Float => DrawerReason::Float,
                CashMovementKind::PayIn => DrawerReason::PayIn,
                CashMovementKind::PayOut => DrawerReason::PayOut,
            };
            self.record_drawer_opening(drawer, None, by)?;
            Ok(())
        })
    }

    /// The cash the drawer should hold now: float, pay-ins and cash tenders (net of change and
    /// money given back) less pay-outs, in the open period.
    pub fn expected_cash(&self) -> Result<i64, StoreError> {
        let period = open_period(self.conn())?;
        Ok(self.conn().query_row(
            "SELECT
               COALESCE((SELECT SUM(CASE kind WHEN 'pay_out' THEN -amount ELSE amount END)
                         FROM cash_movement WHERE period = ?1 AND kind <> 'count'), 0)
             + COALESCE((SELECT SUM(amount) FROM sale_tender
                         WHERE period = ?1 AND kind = 'cash'
                           AND sale_id NOT IN (SELECT id FROM sale WHERE training = 1)), 0)",
            [period],
            |r| r.get(0),
        )?)
    }

    /// Records the end-of-day cash count and its difference to what the till expected.
    pub fn record_cash_count(&self, counted: i64, by: Actor) -> Result<CashCount, StoreError> {
        if !(0..=MAX_AMOUNT).contains(&counted) {
            return Err(StoreError::Refused(format!(
                "a count of {counted} cannot be right"
            )));
        }
        self.check_privilege(by, Privilege::CashMovement)?;
        self.refuse_in_training("count the drawer")?;
        self.atomic(|| {
            let expected = self.expected_cash()?;
            let period = open_period(self.conn())?;
            let now = self.now_ms();
            self.conn().execute(
                "INSERT INTO cash_movement (kind, amount, expected, cashier_id, period, at_ms)
                 VALUES ('count', ?1, ?2, ?3, ?4, ?5)",
                params![counted, expected, by, period, now],
            )?;
            let count = CashCount {
                counted,
                expected,
                difference: counted - expected,
            };
            self.append_journal(
                kind::CASH_COUNTED,
                &json!({ "counted": counted, "expected": expected,
                         "difference": count.difference, "by": by }),
            )?;
            self.record_drawer_opening(DrawerReason::Count, None, by)?;
            Ok(count)
        })
    }

    /// Records an opening of the drawer (journalled, counted in the reports).
    pub fn record_drawer_opening(
        &self,
        reason: DrawerReason,
        sale_id: Option<i64>,
        by: Actor,
    ) -> Result<(), StoreError> {
        if reason == DrawerReason::NoSale {
            self.check_privilege(by, Privilege::OpenDrawer)?;
        }
        self.atomic(|| {
            let period = open_period(self.conn())?;
            let now = self.now_ms();
            self.conn().execute(
                "INSERT INTO drawer_opening (sale_id, reason, cashier_id, period, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![sale_id, reason.as_str(), by, period, now],
            )?;
            self.append_journal(
                kind::DRAWER_OPENED,
                &json!({ "reason": reason, "sale_id": sale_id, "by": by }),
            )?;
            Ok(())
        })
    }

    /// Records a line voided from a basket, or a whole basket voided, before payment.
    pub fn record_void(
        &self,
        whole_sale: bool,
        amount: i64,
        sale_id: Option<i64>,
        by: Actor,
    ) -> Result<(), StoreError> {
        if amount < 0 {
            return Err(StoreError::Refused(
                "a void amount cannot be negative".into(),
            ));
        }
        self.atomic(|| {
            let period = open_period(self.conn())?;
            let now = self.now_ms();
            let (k, journal_kind) = if whole_sale {
                ("sale_void", kind::SALE_VOIDED)
            } else {
                ("line_void", kind::LINE_VOIDED)
            };
            self.conn().execute(
                "INSERT INTO correction (kind, amount, sale_id, cashier_id, period, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![k, amount, sale_id, by, period, now],
            )?;
            self.append_journal(
                journal_kind,
                &json!({ "amount": amount, "sale_id": sale_id, "by": by }),
            )?;
            Ok(())
        })
    }
}

/// A stored tender row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredTender {
    pub id: i64,
    pub kind: TenderKind,
    /// Toward the sale; negative for money given back.
    pub amount: i64,
    pub tendered: i64,
    pub change: i64,
    pub rounding: i64,
    pub reference: Option<String>,
    pub return_id: Option<i64>,
    pub purpose: TenderPurpose,
}

/// The part of a payment a tender row records (its row id, return and purpose aside).
impl From<StoredTender> for Part {
    fn from(t: StoredTender) -> Part {
        Part {
            kind: t.kind,
            amount: t.amount,
            tendered: t.tendered,
            change: t.change,
            rounding: t.rounding,
            reference: t.reference,
        }
    }
}

/// What a tender row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenderPurpose {
    /// Paid towards the sale.
    Payment,
    /// Paid back because the partly paid sale was cancelled.
    GivenBack,
    /// Paid back for returned goods (a Vipps refund, cash from the drawer, ...).
    Return,
}

impl TenderPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::GivenBack => "given_back",
            Self::Return => "return",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Payment, Self::GivenBack, Self::Return]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

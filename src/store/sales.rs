//! Sales repository: a basket frozen into a stored sale with its lines, its
//! state, and the history queries.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::json;

use super::journal::kind;
use std::borrow::Borrow;

use rusqlite::Connection;

use super::{Store, StoreError};
use crate::core::basket::Basket;
use crate::core::money::Currency;
use crate::core::receipt::Receipt;
use crate::core::sale::SaleState;

/// A stored sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaleRecord {
    pub id: i64,
    pub state: SaleState,
    pub currency: Currency,
    pub total: i64,
    pub excluding_tax: i64,
    pub tax: i64,
    pub discount: i64,
    /// The basket as frozen (for retry and back-to-basket).
    pub basket: Basket,
    /// The receipt lines as sent to Vipps.
    pub receipt: Receipt,
    /// Payment attempts made so far.
    pub attempts: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub completed_ms: Option<i64>,
    /// Frozen in training mode: moves no real money, never signed.
    pub training: bool,
    /// A concluded training sale's number in the training series.
    pub training_nr: Option<i64>,
    /// What member prices saved on this sale (inside `discount`; 0: none).
    pub member_saving: i64,
}

/// One row of the sales history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaleSummary {
    pub id: i64,
    pub state: SaleState,
    pub currency: Currency,
    pub total: i64,
    pub tax: i64,
    pub attempts: i64,
    pub created_ms: i64,
    pub completed_ms: Option<i64>,
    /// Reference of the latest payment attempt.
    pub reference: Option<String>,
    /// Sum of completed refunds.
    pub refunded: i64,
}

fn parse_state(text: &str) -> Result<SaleState, StoreError> {
    text.parse()
        .map_err(|e: crate::core::sale::UnknownSaleState| StoreError::Invalid(e.to_string()))
}

fn parse_currency(text: &str) -> Result<Currency, StoreError> {
    text.parse()
        .map_err(|e: crate::core::money::MoneyError| StoreError::Invalid(e.to_string()))
}

impl<C: Borrow<Connection>> Store<C> {
    /// Store `basket` as a new sale in state `AwaitingCheckIn` (the cashier
    /// pressed Pay) and journal it. The basket must be payable.
    pub fn freeze_sale(&self, basket: &Basket) -> Result<i64, StoreError> {
        basket.check_payable()?;
        self.atomic(|| {
            let now = self.now_ms();
            let receipt = Receipt::from_basket(basket);
            // A sale frozen in training mode stays a training sale.
            let training = super::training::training_mode(self.conn())?.is_some();
            self.conn().execute(
                "INSERT INTO sale (currency, state, total, excluding_tax, tax, discount,
                                   basket_json, receipt_json, created_ms, updated_ms, training)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
                params![
                    basket.currency().code(),
                    SaleState::AwaitingCheckIn.as_str(),
                    receipt.total,
                    receipt.excluding_tax,
                    receipt.tax,
                    receipt.discount,
                    serde_json::to_string(basket)?,
                    serde_json::to_string(&receipt)?,
                    now,
                    training
                ],
            )?;
            let sale_id = self.conn().last_insert_rowid();
            self.insert_lines(sale_id, basket, &receipt)?;
            let mut payload = json!({ "sale_id": sale_id, "receipt": receipt });
            if training {
                payload["training"] = json!(true);
            }
            self.append_journal(kind::SALE_FROZEN, &payload)?;
            Ok(sale_id)
        })
    }

    /// Freeze an edited basket into an existing sale that went back to the
    /// basket (state `Open`): its lines are replaced and it awaits check-in again.
    pub fn refreeze_sale(&self, sale_id: i64, basket: &Basket) -> Result<(), StoreError> {
        basket.check_payable()?;
        self.atomic(|| {
            let state = self.sale_state(sale_id)?;
            if state != SaleState::Open {
                return Err(StoreError::Conflict(format!(
                    "sale {sale_id} is {state}, not open: its basket cannot change"
                )));
            }
            let now = self.now_ms();
            let receipt = Receipt::from_basket(basket);
            if basket.currency() != self.sale_currency(sale_id)? {
                return Err(StoreError::Conflict(format!(
                    "sale {sale_id}: the currency cannot change"
                )));
            }
            self.conn().execute(
                "UPDATE sale SET state = ?2, total = ?3, excluding_tax = ?4, tax = ?5,
                    discount = ?6, basket_json = ?7, receipt_json = ?8, updated_ms = ?9
                 WHERE id = ?1",
                params![
                    sale_id,
                    SaleState::AwaitingCheckIn.as_str(),
                    receipt.total,
                    receipt.excluding_tax,
                    receipt.tax,
                    receipt.discount,
                    serde_json::to_string(basket)?,
                    serde_json::to_string(&receipt)?,
                    now
                ],
            )?;
            self.conn()
                .execute("DELETE FROM sale_line WHERE sale_id = ?1", [sale_id])?;
            self.insert_lines(sale_id, basket, &receipt)?;
            self.append_journal(
                kind::SALE_FROZEN,
                &json!({ "sale_id": sale_id, "receipt": receipt, "refrozen": true }),
            )?;
            Ok(())
        })
    }

    fn insert_lines(
        &self,
        sale_id: i64,
        basket: &Basket,
        receipt: &Receipt,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO sale_line (sale_id, position, item_id, name, quantity, unit, unit_price,
                                    vat_bp, discount, total, excluding_tax, tax, article_group)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                     COALESCE((SELECT article_group FROM catalog_item WHERE id = ?3), '04003'))",
        )?;
        for (position, (line, r)) in basket.lines().iter().zip(&receipt.lines).enumerate() {
            stmt.execute(params![
                sale_id,
                i64::try_from(position).unwrap_or(i64::MAX),
                r.id,
                r.name,
                line.quantity,
                r.unit.code(),
                r.unit_price,
                r.vat.basis_points(),
                r.discount,
                r.total,
                r.excluding_tax,
                r.tax
            ])?;
        }
        Ok(())
    }

    fn sale_state(&self, sale_id: i64) -> Result<SaleState, StoreError> {
        let text: Option<String> = self
            .conn()
            .query_row("SELECT state FROM sale WHERE id = ?1", [sale_id], |r| {
                r.get(0)
            })
            .optional()?;
        parse_state(&text.ok_or_else(|| StoreError::NotFound(format!("sale {sale_id}")))?)
    }

    fn sale_currency(&self, sale_id: i64) -> Result<Currency, StoreError> {
        let text: String =
            self.conn()
                .query_row("SELECT currency FROM sale WHERE id = ?1", [sale_id], |r| {
                    r.get(0)
                })?;
        parse_currency(&text)
    }

    /// Record the sale's new state (the engine validates transitions with
    /// `core::sale::transition`) and journal the change.
    pub fn set_sale_state(&self, sale_id: i64, state: SaleState) -> Result<(), StoreError> {
        self.atomic(|| {
            let from = self.sale_state(sale_id)?;
            if from == state {
                return Ok(());
            }
            let now = self.now_ms();
            self.conn().execute(
                "UPDATE sale SET state = ?2, updated_ms = ?3,
                    completed_ms = CASE WHEN ?2 = 'completed' THEN ?3 ELSE completed_ms END
                 WHERE id = ?1",
                params![sale_id, state.as_str(), now],
            )?;
            self.append_journal(
                kind::SALE_STATE,
                &json!({ "sale_id": sale_id, "from": from, "to": state }),
            )?;
            Ok(())
        })
    }

    pub fn get_sale(&self, sale_id: i64) -> Result<Option<SaleRecord>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, state, currency, total, excluding_tax, tax, discount, basket_json,
                        receipt_json, attempts, created_ms, updated_ms, completed_ms,
                        training, training_nr, member_saving
                 FROM sale WHERE id = ?1",
                [sale_id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        [r.get::<_, i64>(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, i64>(9)?,
                        [r.get::<_, i64>(10)?, r.get(11)?],
                        r.get::<_, Option<i64>>(12)?,
                        (
                            r.get::<_, bool>(13)?,
                            r.get::<_, Option<i64>>(14)?,
                            r.get::<_, i64>(15)?,
                        ),
                    ))
                },
            )
            .optional()?;
        let Some((
            id,
            state,
            currency,
            amounts,
            basket,
            receipt,
            attempts,
            times,
            completed_ms,
            (training, training_nr, member_saving),
        )) = row
        else {
            return Ok(None);
        };
        let [total, excluding_tax, tax, discount] = amounts;
        let [created_ms, updated_ms] = times;
        Ok(Some(SaleRecord {
            id,
            state: parse_state(&state)?,
            currency: parse_currency(&currency)?,
            total,
            excluding_tax,
            tax,
            discount,
            basket: serde_json::from_str(&basket)?,
            receipt: serde_json::from_str(&receipt)?,
            attempts,
            created_ms,
            updated_ms,
            completed_ms,
            training,
            training_nr,
            member_saving,
        }))
    }

    /// Sales created in `[from_ms, to_ms)`, newest first.
    pub fn sales_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<SaleSummary>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT s.id, s.state, s.currency, s.total, s.tax, s.attempts, s.created_ms,
                    s.completed_ms,
                    (SELECT reference FROM payment_attempt a WHERE a.sale_id = s.id
                     ORDER BY a.id DESC LIMIT 1),
                    (SELECT coalesce(sum(o.amount), 0) FROM payment_operation o
                     JOIN payment_attempt a ON a.id = o.attempt_id
                     WHERE a.sale_id = s.id AND o.kind = 'refund' AND o.status = 'succeeded')
             FROM sale s
             WHERE s.created_ms >= ?1 AND s.created_ms < ?2
             ORDER BY s.created_ms DESC, s.id DESC",
        )?;
        let rows = stmt.query_map(params![from_ms, to_ms], summary_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (summary, state, currency) = row?;
            out.push(SaleSummary {
                state: parse_state(&state)?,
                currency: parse_currency(&currency)?,
                ..summary
            });
        }
        Ok(out)
    }

    /// Today's sales (midnight to midnight at `offset`), newest first.
    pub fn sales_today(&self, offset: time::UtcOffset) -> Result<Vec<SaleSummary>, StoreError> {
        let (from, to) = day_bounds_ms(self.now_ms(), offset)?;
        self.sales_between(from, to)
    }
}

type SummaryRow = (SaleSummary, String, String);

fn summary_row(r: &Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok((
        SaleSummary {
            id: r.get(0)?,
            state: SaleState::Open,
            currency: Currency::Nok,
            total: r.get(3)?,
            tax: r.get(4)?,
            attempts: r.get(5)?,
            created_ms: r.get(6)?,
            completed_ms: r.get(7)?,
            reference: r.get(8)?,
            refunded: r.get(9)?,
        },
        r.get(1)?,
        r.get(2)?,
    ))
}

/// `[start, end)` in unix ms of the local day containing `now_ms` at `offset`.
pub(crate) fn day_bounds_ms(
    now_ms: i64,
    offset: time::UtcOffset,
) -> Result<(i64, i64), StoreError> {
    let bad = |e: time::error::ComponentRange| StoreError::Invalid(format!("clock: {e}"));
    let now = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000)
        .map_err(bad)?
        .checked_to_offset(offset)
        .ok_or_else(|| StoreError::Invalid(format!("clock: {now_ms} ms out of range")))?;
    let midnight = now.replace_time(time::Time::MIDNIGHT);
    let start = midnight.unix_timestamp() * 1000;
    Ok((start, start + 24 * 60 * 60 * 1000))
}

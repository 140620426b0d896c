//! Training mode: a manager switches the till into it and out of it (journalled 13023 / 13024).
//! A sale frozen while it is on is a training sale for good (`sale.training`): it is numbered
//! from its own series when it concludes (`sale.training_nr`), is never signed, and X and Z
//! count it apart from the real takings.

use std::borrow::Borrow;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::attempts::{meta_get, meta_set};
use super::day::Actor;
use super::{Store, StoreError, kind};
use crate::core::cashier::Privilege;

/// The `meta` key holding the training mode while it is on.
const META_KEY: &str = "training_mode";

/// Training mode as it is on: since when and who switched it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingMode {
    pub since_ms: i64,
    pub by: Actor,
}

/// The training mode of the till on `c`, if it is on.
pub fn training_mode(c: &Connection) -> Result<Option<TrainingMode>, StoreError> {
    match meta_get(c, META_KEY)? {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            StoreError::Invalid(format!("the stored training mode is unreadable: {e}"))
        }),
    }
}

/// True when `sale_id` is a training sale.
pub fn is_training_sale(c: &Connection, sale_id: i64) -> Result<bool, StoreError> {
    let training: Option<bool> = c
        .query_row("SELECT training FROM sale WHERE id = ?1", [sale_id], |r| {
            r.get(0)
        })
        .optional()?;
    training.ok_or_else(|| StoreError::NotFound(format!("sale {sale_id}")))
}

impl<C: Borrow<Connection>> Store<C> {
    /// The till's training mode, if it is on.
    pub fn training_mode(&self) -> Result<Option<TrainingMode>, StoreError> {
        training_mode(self.conn())
    }

    /// Switches training mode on or off (a manager's, journalled 13023 / 13024). Returns false
    /// when the till already was in the asked mode (nothing is written then). Sales already
    /// frozen keep the mode they were frozen in.
    pub fn set_training_mode(&self, on: bool, by: Actor) -> Result<bool, StoreError> {
        self.check_privilege(by, Privilege::TrainingMode)?;
        self.atomic(|| {
            let current = training_mode(self.conn())?;
            if current.is_some() == on {
                return Ok(false);
            }
            let now = self.now_ms();
            if on {
                let mode = TrainingMode { since_ms: now, by };
                meta_set(self.conn(), META_KEY, &serde_json::to_string(&mode)?)?;
                self.append_journal(kind::TRAINING_MODE_ON, &json!({ "by": by }))?;
            } else {
                meta_set(self.conn(), META_KEY, "")?;
                let since = current.map(|m| m.since_ms);
                self.append_journal(
                    kind::TRAINING_MODE_OFF,
                    &json!({ "by": by, "since_ms": since }),
                )?;
            }
            Ok(true)
        })
    }

    /// Concludes training sale `sale_id`: its number from the training series (the first one
    /// given stays), journalled. Returns the number.
    pub fn number_training_sale(&self, sale_id: i64) -> Result<i64, StoreError> {
        self.atomic(|| {
            let c = self.conn();
            let (training, nr, total): (bool, Option<i64>, i64) = c
                .query_row(
                    "SELECT training, training_nr, total FROM sale WHERE id = ?1",
                    [sale_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound(format!("sale {sale_id}")))?;
            if !training {
                return Err(StoreError::Conflict(format!(
                    "sale {sale_id} is a real sale: it is signed, not numbered as training"
                )));
            }
            if let Some(nr) = nr {
                return Ok(nr);
            }
            let nr: i64 = c.query_row(
                "SELECT COALESCE(MAX(training_nr), 0) + 1 FROM sale WHERE training = 1",
                [],
                |r| r.get(0),
            )?;
            c.execute(
                "UPDATE sale SET training_nr = ?2 WHERE id = ?1",
                params![sale_id, nr],
            )?;
            let tenders: Vec<_> = self
                .tenders_of_sale(sale_id)?
                .iter()
                .map(|t| json!({ "tender": t.kind, "amount": t.amount }))
                .collect();
            self.append_journal(
                kind::TRAINING_SALE_CONCLUDED,
                &json!({ "sale_id": sale_id, "training_nr": nr, "total": total,
                         "tenders": tenders }),
            )?;
            Ok(nr)
        })
    }

    /// Refuses `what` while the till is in training mode (real money must not move then).
    pub fn refuse_in_training(&self, what: &str) -> Result<(), StoreError> {
        if self.training_mode()?.is_some() {
            return Err(StoreError::Refused(format!(
                "the till is in training mode: leave training mode to {what}"
            )));
        }
        Ok(())
    }
}

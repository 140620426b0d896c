//! Refunds of completed sales: intent committed first, key `<reference>-refund-<n>` with `n`
//! from the stored operation counter, so a retry or a restart reuses the key.

use serde_json::json;
use tokio::time::Instant;

use super::actor::Till;
use super::api::{EngineEvent, MessageId};
use super::calls::Interrupt;
use super::crash;
use super::db::{self, DbError};
use super::flow::{ModResult, currency_of};
use super::keys;
use crate::core::payment::{AttemptStatus, OpKind};
use crate::store::attempts::{self as es, AttemptRow, OperationRow};
use crate::vipps::VippsError;
use crate::vipps::models::Amount;

impl Till {
    pub(super) async fn refund(&mut self, sale_id: i64, amount: i64) {
        self.refund_linked(sale_id, amount, None).await;
    }

    /// A refund; `return_id` is the return of lines it pays back, if any (linked in the
    /// refund's intent transaction, marked done with its result).
    pub(super) async fn refund_linked(
        &mut self,
        sale_id: i64,
        amount: i64,
        return_id: Option<i64>,
    ) {
        let attempt = match self.db.read(|c| {
            Ok(es::attempts_of_sale(c, sale_id)?
                .into_iter()
                .find(|a| a.status == AttemptStatus::Completed))
        }) {
            Ok(Some(a)) => a,
            Ok(None) => {
                return self.refund_failed(sale_id, amount, MessageId::SaleNotFound, None);
            }
            Err(e) => return self.storage_failed(&e),
        };
        // An earlier refund still open (the till stopped, or Vipps did not answer): finish it
        // first, with its own key.
        match self
            .db
            .read(|c| Ok(es::open_operation(c, attempt.id, OpKind::Refund)?))
        {
            Ok(Some(op)) => {
                let same = op.amount == amount;
                match self.send_refund(&attempt, &op).await {
                    ModResult::Done => {
                        self.refund_done(&attempt, op.amount);
                        if same {
                            return;
                        }
                    }
                    ModResult::Rejected(e) => {
                        if same {
                            return self.refund_rejected(sale_id, amount, &e);
                        }
                    }
                    ModResult::Unknown(e) => {
                        self.reconcile_at =
                            Some(Instant::now() + self.config.engine.reconcile_interval());
                        return self.refund_failed(
                            sale_id,
                            amount,
                            MessageId::RefundPending,
                            Some(e.to_string()),
                        );
                    }
                }
            }
            Ok(None) => {}
            Err(e) => return self.storage_failed(&e),
        }
        if amount <= 0 {
            return self.refund_failed(sale_id, amount, MessageId::InvalidAmount, None);
        }
        let op = match self.refund_intent(&attempt, amount, return_id) {
            Ok(Some(op)) => op,
            Ok(None) => {
                return self.refund_failed(sale_id, amount, MessageId::RefundTooLarge, None);
            }
            Err(e) => return self.storage_failed(&e),
        };
        match self.send_refund(&attempt, &op).await {
            ModResult::Done => self.refund_done(&attempt, amount),
            ModResult::Rejected(e) => self.refund_rejected(sale_id, amount, &e),
            ModResult::Unknown(e) => {
                self.reconcile_at = Some(Instant::now() + self.config.engine.reconcile_interval());
                self.refund_failed(
                    sale_id,
                    amount,
                    MessageId::RefundPending,
                    Some(e.to_string()),
                )
            }
        }
    }

    /// Commits a refund intent if `amount` fits in what is captured and not yet refunded
    /// (counting refunds still in flight). `None` when it does not fit.
    fn refund_intent(
        &mut self,
        a: &AttemptRow,
        amount: i64,
        return_id: Option<i64>,
    ) -> Result<Option<OperationRow>, DbError> {
        let now = self.now_ms();
        let op = self.db.tx(|c| {
            let committed = es::refunds_committed(c, a.id)?;
            let fresh = es::attempt(c, a.id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            if amount > fresh.captured_amount - committed {
                return Ok(None);
            }
            let seq = es::next_op_seq(c, a.id, OpKind::Refund)?;
            let key = keys::idempotency_key(&a.reference, OpKind::Refund, seq)
                .map_err(|e| DbError::Invalid(e.to_string()))?;
            let op = es::insert_operation(c, a.id, OpKind::Refund, seq, &key, amount, now)?;
            if let Some(id) = return_id {
                c.link_return_refund(id, op.id)?;
            }
            db::journal(
                c,
                db::jk::REFUND_REQUESTED,
                json!({ "sale_id": a.sale_id, "reference": a.reference, "idempotency_key": key,
                        "amount": amount }),
            )?;
            Ok(Some(op))
        })?;
        if op.is_some() {
            crash::point("refund_intent");
        }
        Ok(op)
    }

    pub(super) async fn send_refund(&mut self, a: &AttemptRow, op: &OperationRow) -> ModResult {
        let Ok(currency) = currency_of(&a.currency) else {
            return ModResult::Rejected(VippsError::InvalidInput("unknown currency".into()));
        };
        let amount = Amount::new(currency, op.amount);
        let reference = a.reference.clone();
        let key = op.idempotency_key.clone();
        let budget = self.config.engine.modify_retry_budget();
        let outcome = self
            .call_modify(
                &a.reference,
                OpKind::Refund,
                budget,
                Interrupt::Never,
                |client| {
                    let reference = reference.clone();
                    let key = key.clone();
                    async move { client.refund(&reference, amount, &key).await }
                },
            )
            .await;
        self.record_modification(a, op, outcome, "refund_result")
    }

    /// Finishes refunds left open (recovery). True when none is left open.
    pub(super) async fn finish_open_refunds(&mut self, a: &AttemptRow) -> bool {
        loop {
            let op = match self
                .db
                .read(|c| Ok(es::open_operation(c, a.id, OpKind::Refund)?))
            {
                Ok(Some(op)) => op,
                Ok(None) => return true,
                Err(e) => {
                    self.storage_failed(&e);
                    return false;
                }
            };
            match self.send_refund(a, &op).await {
                ModResult::Done => self.refund_done(a, op.amount),
                ModResult::Rejected(e) => self.refund_rejected(a.sale_id, op.amount, &e),
                ModResult::Unknown(_) => return false,
            }
        }
    }

    fn refund_done(&mut self, a: &AttemptRow, amount: i64) {
        let refunded_total = self
            .db
            .read(|c| Ok(es::attempt(c, a.id)?.map(|x| x.refunded_amount)))
            .ok()
            .flatten()
            .unwrap_or(amount);
        self.emit(EngineEvent::RefundDone {
            sale_id: a.sale_id,
            reference: a.reference.clone(),
            amount,
            refunded_total,
        });
    }

    fn refund_rejected(&mut self, sale_id: i64, amount: i64, e: &VippsError) {
        let id = if e.code() == Some(6150) {
            MessageId::RefundTooLarge
        } else {
            MessageId::RefundRejected
        };
        self.refund_failed(sale_id, amount, id, Some(e.to_string()));
    }

    fn refund_failed(
        &mut self,
        sale_id: i64,
        amount: i64,
        message_id: MessageId,
        detail: Option<String>,
    ) {
        self.emit(EngineEvent::RefundFailed {
            sale_id,
            amount,
            message_id,
            detail,
        });
    }
}

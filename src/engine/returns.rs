//! Returns of lines of an earlier sale through the engine: checked and recorded as pending,
//! then paid back: to Vipps by a refund (its intent and key as for any refund), at the till
//! (cash, card, gift card, credit note) in one transaction with its signature.

use super::actor::Till;
use super::api::{EngineEvent, MessageId};
use super::db::DbError;
use crate::compliance::{self, ComplianceError};
use crate::core::tender::TenderKind;
use crate::store::StoreError;
use crate::store::returns::{ReturnLine, SaleReturn};

impl Till {
    pub(super) async fn take_return(
        &mut self,
        sale_id: i64,
        lines: Vec<ReturnLine>,
        to: Option<TenderKind>,
    ) {
        let cashier = self.cashier;
        let begun = self
            .db
            .tx(|c| Ok(c.begin_return(sale_id, &lines, to, cashier)?));
        let r = match begun {
            Ok(r) => r,
            Err(DbError::Store(StoreError::Refused(why))) => {
                return self.emit(EngineEvent::ReturnFailed {
                    sale_id,
                    message_id: MessageId::ReturnRefused,
                    detail: Some(why),
                });
            }
            Err(e) => return self.storage_failed(&e),
        };
        if r.tender == TenderKind::Vipps {
            self.refund_linked(sale_id, r.amount, Some(r.id)).await;
            return self.after_vipps_return(&r);
        }
        let now = self.now_ms();
        let paid = self.db.tx(|c| {
            c.pay_back_at_till(&r, cashier)?;
            let signer = self.signer.as_deref().ok_or(ComplianceError::NoSigner)?;
            compliance::sign_till_return(
                c,
                signer,
                r.sale_id,
                r.id,
                r.amount,
                r.excluding_tax,
                now,
            )?;
            Ok(())
        });
        match paid {
            Ok(()) => self.emit(EngineEvent::ReturnDone {
                return_id: r.id,
                sale_id,
                amount: r.amount,
                tender: r.tender,
            }),
            Err(e) => {
                // Nothing committed: the return is still pending; mark it failed so its lines
                // can be returned again.
                let _ = self.db.tx(|c| Ok(c.fail_return(r.id)?));
                self.storage_failed(&e);
            }
        }
    }

    /// Says how a return to Vipps ended: done, pending (the refund is retried with its key),
    /// or failed (nothing refunded: the lines may be returned again).
    fn after_vipps_return(&mut self, r: &SaleReturn) {
        let state = self.db.read(|c| {
            Ok(c.query_row(
                "SELECT r.state, o.status FROM sale_return r
                 LEFT JOIN payment_operation o ON o.id = r.refund_op_id WHERE r.id = ?1",
                [r.id],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)),
            )?)
        });
        match state {
            Ok((s, _)) if s == "done" => self.emit(EngineEvent::ReturnDone {
                return_id: r.id,
                sale_id: r.sale_id,
                amount: r.amount,
                tender: r.tender,
            }),
            Ok((_, Some(op))) if op == "intended" => self.emit(EngineEvent::ReturnFailed {
                sale_id: r.sale_id,
                message_id: MessageId::RefundPending,
                detail: None,
            }),
            Ok(_) => {
                if let Err(e) = self.db.tx(|c| Ok(c.fail_return(r.id)?)) {
                    self.storage_failed(&e);
                }
                self.emit(EngineEvent::ReturnFailed {
                    sale_id: r.sale_id,
                    message_id: MessageId::RefundRejected,
                    detail: None,
                });
            }
            Err(e) => self.storage_failed(&e),
        }
    }
}

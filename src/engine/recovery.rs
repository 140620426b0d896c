//! Reconciliation: every unfinished attempt is read back from Vipps and finished by its stored
//! decision. Runs at start (before the first sale) and in the background while idle.
//!
//! The rule for a payment with no stored capture decision (the till stopped while the customer
//! was still deciding, or right after they approved): **cancel it**. Nobody is at that screen
//! any more to hand over the goods, and cancelling also releases an authorization that arrives
//! later. Money is captured only where a capture intent was committed.

use serde_json::json;
use tokio::time::Instant;

use super::actor::Till;
use super::api::{EngineEvent, MessageId};
use super::calls::{Interrupt, is_not_found};
use super::db;
use super::flow::{Final, ModResult};
use super::sales_unit::SalesUnit;
use crate::store::engine_state::{self as es, AttemptRow, status};
use crate::vipps::models::PaymentState;

impl Till {
    /// Reconciles every attempt that still needs Vipps. Reports [`EngineEvent::Recovered`].
    pub(super) async fn reconcile_all(&mut self) {
        let attempts = match self.db.read(|c| Ok(es::attempts_needing_reconcile(c)?)) {
            Ok(a) => a,
            Err(e) => {
                self.storage_failed(&e);
                return;
            }
        };
        let current = SalesUnit::of_config(&self.config);
        let mut settled = 0;
        let mut unresolved = 0;
        // Unresolved here; not counting those waiting for another sales unit (retrying cannot
        // help them until the configuration points there again).
        let mut retry_here = 0;
        for a in attempts {
            if self.stopping {
                unresolved += 1;
                retry_here += 1;
                continue;
            }
            if let Some(other) = current.as_ref().and_then(|c| SalesUnit::other_than(&a, c)) {
                self.left_at_other_sales_unit(&a, &other);
                unresolved += 1;
                continue;
            }
            if self.reconcile_one(a).await {
                settled += 1;
            } else {
                unresolved += 1;
                retry_here += 1;
            }
        }
        if retry_here > 0 {
            self.reconcile_at = Some(Instant::now() + self.config.engine.reconcile_interval());
        }
        self.emit(EngineEvent::Recovered {
            settled,
            unresolved,
        });
    }

    /// An attempt made at another sales unit than the configured one: read here it would be
    /// "not found" and closed while the customer's money may be reserved there. It stays open,
    /// untouched, until the till runs with that sales unit again.
    fn left_at_other_sales_unit(&self, a: &AttemptRow, other: &SalesUnit) {
        tracing::warn!(
            reference = %a.reference,
            msn = %other.msn,
            base_url = %other.base_url,
            "payment left open: it was made at another Vipps sales unit than the configured one"
        );
        self.problem(
            MessageId::OutcomeUnknown,
            Some(format!(
                "payment {} was made at the Vipps sales unit {other} and cannot be finished with \
                 the current settings; restore the previous Vipps settings to finish it",
                a.reference
            )),
            false,
        );
    }

    /// True when the attempt needs nothing more from Vipps.
    async fn reconcile_one(&mut self, a: AttemptRow) -> bool {
        tracing::info!(reference = %a.reference, status = %a.status, decision = ?a.decision, "reconciling");
        let settled = if a.resolved {
            true
        } else {
            self.reconcile_payment(&a).await
        };
        let refunds_done = self.finish_open_refunds(&a).await;
        settled && refunds_done
    }

    async fn reconcile_payment(&mut self, a: &AttemptRow) -> bool {
        let budget = self.config.engine.modify_retry_budget();
        let p = match self
            .read_payment_retrying(&a.reference, budget, Interrupt::Never)
            .await
        {
            Ok(p) => p,
            Err(e) if is_not_found(&e) => {
                // Never reached Vipps. A request of this run may still be in flight: wait until
                // it cannot be (an earlier run's requests died with it). The create is retried
                // for up to its budget after the intent, so the last one left that much later.
                let age = self.now_ms() - a.created_at_ms;
                let in_flight_ms = (self.config.engine.create_retry_budget()
                    + 2 * self.config.engine.http_timeout())
                .as_millis() as i64;
                if a.created_at_ms >= self.started_at_ms && age < in_flight_ms {
                    return false;
                }
                let now = self.now_ms();
                let r = self.db.tx(|c| {
                    if let Some(op) = es::open_operation(c, a.id, "create")? {
                        es::finish_operation(c, op.id, "abandoned", Some(404), None, None, now)?;
                    }
                    es::set_attempt_status(c, a.id, status::NOT_CREATED, true, now)?;
                    let latest = es::attempts_of_sale(c, a.sale_id)?
                        .last()
                        .is_some_and(|l| l.id == a.id);
                    if latest {
                        let state = db::sale_state(c, a.sale_id)?;
                        if !state.is_final() {
                            db::set_sale_state(c, a.sale_id, crate::core::sale::SaleState::Failed)?;
                        }
                    }
                    db::mirror(c, a.id)?;
                    db::journal(
                        c,
                        db::jk::PAYMENT_NOT_CREATED,
                        json!({ "sale_id": a.sale_id, "reference": a.reference, "by": "recovery" }),
                    )?;
                    Ok(())
                });
                if let Err(e) = r {
                    self.storage_failed(&e);
                    return false;
                }
                return true;
            }
            Err(e) => {
                tracing::warn!(reference = %a.reference, error = %e, "cannot reconcile yet");
                return false;
            }
        };
        // The create reached Vipps: close its intent.
        let now = self.now_ms();
        let r = self.db.tx(|c| {
            if let Some(op) = es::open_operation(c, a.id, "create")? {
                es::finish_operation(
                    c,
                    op.id,
                    "succeeded",
                    Some(201),
                    None,
                    Some("found by recovery"),
                    now,
                )?;
            }
            db::record_view(c, a.id, &p, now)?;
            db::mirror(c, a.id)?;
            Ok(())
        });
        if let Err(e) = r {
            self.storage_failed(&e);
            return false;
        }
        let agg = p.aggregate;
        match p.state {
            PaymentState::Aborted => {
                self.settle(a, &p, Final::Declined);
                true
            }
            PaymentState::Expired => {
                self.settle(a, &p, Final::Expired);
                true
            }
            PaymentState::Terminated => {
                self.settle(
                    a,
                    &p,
                    Final::Cancelled {
                        money_released: false,
                    },
                );
                true
            }
            // No decision can exist for a payment still waiting for the customer: cancel.
            PaymentState::Created | PaymentState::Unknown => self.cancel_payment(a).await.is_some(),
            PaymentState::Authorized => {
                let captured = agg.captured_amount.value;
                let cancelled = agg.cancelled_amount.value;
                if a.decision.as_deref() == Some("capture") {
                    if captured == a.amount && cancelled == 0 {
                        self.settle(a, &p, Final::Completed);
                        return true;
                    }
                    if captured != 0 || cancelled != 0 || agg.authorized_amount.value != a.amount {
                        let why = format!(
                            "capture decided, but Vipps has authorized {} captured {captured} cancelled {cancelled} of {}",
                            agg.authorized_amount.value, a.amount
                        );
                        self.settle(a, &p, Final::NeedsAdmin(why));
                        return true;
                    }
                    // Capture intent committed, not (confirmed) done: send it with its stored key.
                    let op = match self
                        .db
                        .read(|c| Ok(es::open_operation(c, a.id, "capture")?))
                    {
                        Ok(Some(op)) => op,
                        Ok(None) => {
                            // The last capture was rejected for good: the admin decides.
                            self.settle(
                                a,
                                &p,
                                Final::NeedsAdmin("capture was rejected by Vipps".into()),
                            );
                            return true;
                        }
                        Err(e) => {
                            self.storage_failed(&e);
                            return false;
                        }
                    };
                    match self.send_capture(a, &op).await {
                        ModResult::Done | ModResult::Rejected(_) => {
                            self.verify_capture(a).await.is_some()
                        }
                        ModResult::Unknown(_) => false,
                    }
                } else {
                    // Decided "cancel", or never decided: release the reservation.
                    if captured == 0 && cancelled >= agg.authorized_amount.value {
                        self.settle(
                            a,
                            &p,
                            Final::Cancelled {
                                money_released: true,
                            },
                        );
                        return true;
                    }
                    if captured > 0 {
                        let why = format!("{captured} captured without a capture decision");
                        self.settle(a, &p, Final::NeedsAdmin(why));
                        return true;
                    }
                    self.cancel_payment(a).await.is_some()
                }
            }
        }
    }
}

//! Reconciliation: every unfinished attempt is read back from Vipps and finished by the one
//! decision function ([`crate::core::payment::decide`], asked as [`Asker::Recovery`]). Runs at
//! start (before the first sale) and in the background while idle.
//!
//! The rule for a payment with no stored capture decision (the till stopped while the customer
//! was still deciding, or right after they approved): **cancel it**. Nobody is at that screen
//! any more to hand over the goods, and cancelling also releases an authorization that arrives
//! later. Money is captured only where a capture intent was committed. A 404 settles nothing
//! once the create may have left the till: the create is re-sent with its stored key and body.

use serde_json::json;
use tokio::time::Instant;

use super::actor::Till;
use super::api::{EngineEvent, MessageId};
use super::calls::{CallOutcome, Interrupt, is_not_found};
use super::db;
use super::flow::ModResult;
use super::sales_unit::SalesUnit;
use crate::core::payment::{AdminReason, Asker, OpKind, OpStatus, Outcome, Read, Step, decide};
use crate::store::attempts::{self as es, AttemptRow};
use crate::vipps::models::{CreatePaymentRequest, Payment};

/// How many decide-and-act rounds one reconciliation of an attempt may take (re-send the
/// create, read again, cancel: three at most in practice).
const MAX_ROUNDS: usize = 4;

impl Till {
    /// Reconciles every attempt that still needs Vipps. Reports [`EngineEvent::Recovered`].
    pub(super) async fn reconcile_all(&mut self) {
        let now = self.now_ms();
        if let Err(e) = self.db.tx(|c| Ok(es::prune_calls(c, now)?)) {
            tracing::warn!(error = %e, "could not prune old Vipps call records");
        }
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
        let mut unresolved_references = Vec::new();
        // Unresolved here; not counting those waiting for another sales unit (retrying cannot
        // help them until the configuration points there again).
        let mut retry_here = 0;
        for a in attempts {
            if self.stopping {
                unresolved += 1;
                retry_here += 1;
                unresolved_references.push(a.reference.clone());
                continue;
            }
            if let Some(other) = current.as_ref().and_then(|c| SalesUnit::other_than(&a, c)) {
                self.left_at_other_sales_unit(&a, &other);
                unresolved += 1;
                unresolved_references.push(a.reference.clone());
                continue;
            }
            let reference = a.reference.clone();
            if self.reconcile_one(a).await {
                settled += 1;
            } else {
                unresolved += 1;
                retry_here += 1;
                unresolved_references.push(reference);
            }
        }
        self.give_back_interrupted_sales();
        if retry_here > 0 {
            self.reconcile_at = Some(Instant::now() + self.config.engine.reconcile_interval());
        }
        self.emit(EngineEvent::Recovered {
            settled,
            unresolved,
            unresolved_references,
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

    /// Reads the payment, asks the decision function, carries the step out; again after a
    /// step that changes what Vipps has (a re-sent create), up to [`MAX_ROUNDS`].
    async fn reconcile_payment(&mut self, a: &AttemptRow) -> bool {
        let budget = self.config.engine.modify_retry_budget();
        for _ in 0..MAX_ROUNDS {
            let payment = match self
                .read_payment_retrying(&a.reference, budget, Interrupt::Never)
                .await
            {
                Ok(p) => Some(p),
                Err(e) if is_not_found(&e) => None,
                Err(e) => {
                    tracing::warn!(reference = %a.reference, error = %e, "cannot reconcile yet");
                    return false;
                }
            };
            if let Some(p) = &payment
                && let Err(e) = self.record_found(a, p)
            {
                self.storage_failed(&e);
                return false;
            }
            let stored = match self.db.read(|c| {
                let fresh = es::attempt(c, a.id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
                Ok(es::stored_facts(c, &fresh)?)
            }) {
                Ok(s) => s,
                Err(e) => {
                    self.storage_failed(&e);
                    return false;
                }
            };
            let read = payment
                .as_ref()
                .map_or(Read::NotFound, |p| Read::Payment(seen(p)));
            let step = decide(&stored, &read, Asker::Recovery);
            tracing::info!(reference = %a.reference, ?step, "recovery decided");
            match step {
                Step::ResendCreate => match self.resend_create(a).await {
                    Resent::Answered => continue,
                    Resent::Unknown => return false,
                },
                Step::Settle(outcome) => {
                    self.settle(a, payment.as_ref(), outcome);
                    return true;
                }
                Step::Cancel { admin } => {
                    if let Some(why) = admin {
                        self.flag_admin(a, &why.to_string());
                    }
                    return self.cancel_payment(a).await.is_some();
                }
                Step::Capture { .. } => {
                    let op = match self
                        .db
                        .read(|c| Ok(es::open_operation(c, a.id, OpKind::Capture)?))
                    {
                        Ok(Some(op)) => op,
                        Ok(None) => {
                            let p = payment.as_ref();
                            let why = AdminReason::CaptureRejected { total: a.amount };
                            self.settle(a, p, Outcome::NeedsAdmin(why));
                            return true;
                        }
                        Err(e) => {
                            self.storage_failed(&e);
                            return false;
                        }
                    };
                    return match self.send_capture(a, &op).await {
                        ModResult::Done | ModResult::Rejected(_) => {
                            self.verify_capture(a).await.is_some()
                        }
                        ModResult::Unknown(_) => false,
                    };
                }
                // Recovery never decides a capture and never waits on a customer.
                Step::DecideCapture { .. } | Step::Wait => {
                    tracing::error!(reference = %a.reference, ?step, "unexpected recovery step");
                    return false;
                }
            }
        }
        false
    }

    /// The payment exists at Vipps: close the create intent (if still open) and store the view.
    fn record_found(&mut self, a: &AttemptRow, p: &Payment) -> Result<(), db::DbError> {
        let now = self.now_ms();
        self.db.tx(|c| {
            if let Some(op) = es::open_operation(c, a.id, OpKind::Create)? {
                es::finish_operation(
                    c,
                    op.id,
                    OpStatus::Succeeded,
                    Some(201),
                    None,
                    Some("found by recovery"),
                    now,
                )?;
            }
            db::record_view(c, a.id, p, now)?;
            Ok(())
        })
    }

    /// Re-sends a create with its stored key and body. Vipps answers with the original result,
    /// or creates the payment now; a 4xx means it refused that request for good.
    async fn resend_create(&mut self, a: &AttemptRow) -> Resent {
        let found = self.db.read(|c| {
            let Some(op) = es::open_operation(c, a.id, OpKind::Create)? else {
                return Ok(None);
            };
            let body = es::request_body(c, op.id)?;
            Ok(Some((op, body)))
        });
        let (op, body) = match found {
            Ok(Some(x)) => x,
            Ok(None) => return Resent::Answered,
            Err(e) => {
                self.storage_failed(&e);
                return Resent::Unknown;
            }
        };
        let request = match body
            .as_deref()
            .map(serde_json::from_str::<CreatePaymentRequest>)
        {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                tracing::error!(reference = %a.reference, error = %e, "stored create body unreadable");
                self.problem(MessageId::OutcomeUnknown, Some(format!(
                    "payment {}: the stored create request cannot be read; check it in the Vipps portal",
                    a.reference
                )), false);
                return Resent::Unknown;
            }
            None => {
                // Written by a build that did not keep the body: wait out the longest time an
                // earlier run could still have had the request in flight.
                let in_flight_ms = (self.config.engine.create_retry_budget()
                    + 2 * self.config.engine.http_timeout())
                .as_millis() as i64;
                if self.now_ms() - op.created_at_ms < in_flight_ms {
                    return Resent::Unknown;
                }
                let now = self.now_ms();
                let r = self.db.tx(|c| {
                    es::finish_operation(
                        c,
                        op.id,
                        OpStatus::Abandoned,
                        Some(404),
                        None,
                        Some("not found after the in-flight bound (no stored body)"),
                        now,
                    )?;
                    Ok(())
                });
                if let Err(e) = r {
                    self.storage_failed(&e);
                    return Resent::Unknown;
                }
                return Resent::Answered;
            }
        };
        tracing::info!(reference = %a.reference, "re-sending the create with its stored key to make its outcome certain");
        let outcome = self
            .send_create(
                &a.reference,
                &request,
                &op.idempotency_key,
                Interrupt::Never,
            )
            .await;
        let now = self.now_ms();
        let r = match &outcome {
            CallOutcome::Done(_) => self.db.tx(|c| {
                es::finish_operation(
                    c,
                    op.id,
                    OpStatus::Succeeded,
                    Some(201),
                    None,
                    Some("re-sent by recovery"),
                    now,
                )?;
                db::journal(
                    c,
                    db::jk::PAYMENT_CREATED,
                    json!({ "sale_id": a.sale_id, "reference": a.reference, "how": "resent" }),
                )?;
                Ok(())
            }),
            CallOutcome::Rejected(e) => {
                let detail = e.to_string();
                self.db.tx(|c| {
                    es::finish_operation(
                        c,
                        op.id,
                        OpStatus::Rejected,
                        e.status(),
                        e.code(),
                        Some(&detail),
                        now,
                    )?;
                    Ok(())
                })
            }
            CallOutcome::Unknown(_) | CallOutcome::Interrupted => return Resent::Unknown,
        };
        match r {
            Ok(()) => Resent::Answered,
            Err(e) => {
                self.storage_failed(&e);
                Resent::Unknown
            }
        }
    }
}

/// How re-sending a create ended.
enum Resent {
    /// Vipps answered for good (created, or refused): read and decide again.
    Answered,
    /// No definite answer: the attempt stays unresolved.
    Unknown,
}

/// The payment as the decision function sees it.
pub(super) fn seen(p: &Payment) -> crate::core::payment::Seen {
    use crate::core::payment::{Seen, VippsState};
    use crate::vipps::models::PaymentState;
    let a = p.aggregate;
    Seen {
        state: match p.state {
            PaymentState::Created | PaymentState::Unknown => VippsState::Created,
            PaymentState::Authorized => VippsState::Authorized,
            PaymentState::Aborted => VippsState::Aborted,
            PaymentState::Expired => VippsState::Expired,
            PaymentState::Terminated => VippsState::Terminated,
        },
        amount: p.amount.value,
        authorized: a.authorized_amount.value,
        captured: a.captured_amount.value,
        cancelled: a.cancelled_amount.value,
    }
}

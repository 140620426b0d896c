//! The sale, step by step (DESIGN.md): freeze, wait for a customer, request, wait for
//! authorization, capture, verify. Each step commits its intent before calling Vipps.

use serde_json::json;
use tokio::time::Instant;

use super::actor::{Input, TOKEN_MARGIN_MS, Till};
use super::api::{Command, EngineEvent, MessageId, PersonalQr};
use super::calls::{CallOutcome, Interrupt, is_not_found};
use super::crash;
use super::db::{self, DbError, SaleRec};
use super::keys;
use super::pacing::RateLimiter;
use super::receipt::{vipps_currency, vipps_receipt};
use super::record::{Transition, record};
use super::recovery::seen;
use super::sales_unit::SalesUnit;
use super::tender;
use crate::compliance::{self, ComplianceError};
use crate::config::PayQr;
use crate::core::basket::Basket;
use crate::core::payment::{
    Asker, AttemptStatus, CustomerKind, Decision, OpKind, OpStatus, Outcome, Read, Step, decide,
};
use crate::core::sale::{SaleEvent, SaleState};
use crate::store::Store;
use crate::store::attempts::{self as es, AttemptRow, OperationRow};
use crate::vipps::models::{
    Amount, CreatePaymentRequest, Customer as VippsCustomer, CustomerToken, Payment,
    PaymentEventName, PaymentState,
};
use crate::vipps::{PhoneNumber, VippsError};

/// Who the payment request goes to.
pub(super) enum Customer {
    Token(es::CheckinRow),
    Phone(PhoneNumber),
    /// Scanned from the customer's app at the till.
    PersonalQr(PersonalQr),
    /// Nobody known yet: a payment-specific QR on the screen (`relay_down`: chosen by the
    /// engine because check-ins cannot arrive).
    OneTimeQr {
        relay_down: bool,
    },
}

/// How one attempt ended, from the sale's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AttemptEnd {
    Completed,
    /// Nothing moved; the sale may be retried (new attempt) or abandoned.
    Failed,
    /// The sale is over for now (cancelled by the cashier, or left to reconciliation).
    Ended,
}

/// The live flow asks with the customer at the till and the request not yet expired.
const LIVE: Asker = Asker::Live { past_expiry: false };

/// Why the engine cancels a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CancelReason {
    Cashier,
    /// The request outlived its expiry without a final state.
    Expired,
    /// Vipps' amounts do not match the sale.
    Mismatch,
}

impl Till {
    // -----------------------------------------------------------------------------------------
    // The sale

    pub(super) async fn run_sale(&mut self, basket: Basket) {
        let mut basket = basket;
        let member = if basket.check_payable().is_ok() {
            self.apply_member_prices(&mut basket)
        } else {
            None
        };
        let member_saving = member.map_or(0, |m| m.saving);
        if let Err(e) = basket.check_payable() {
            self.problem(MessageId::InvalidAmount, Some(e.to_string()), false);
            return;
        }
        if basket.currency() != self.config.till.currency {
            self.problem(
                MessageId::InvalidAmount,
                Some(format!(
                    "the basket is in {} but this till takes {}",
                    basket.currency().code(),
                    self.config.till.currency
                )),
                false,
            );
            return;
        }
        if self.vipps.is_none() {
            self.setup().await;
            if self.vipps.is_none() {
                self.problem(MessageId::ConfigInvalid, None, false);
                return;
            }
        }
        let cashier = self.cashier;
        let sale = match self.db.tx(|c| {
            let sale = db::insert_sale(c, &basket)?;
            c.set_sale_cashier(sale.id, cashier)?;
            es::assign_held_checkins(c, sale.id)?;
            if let Some(m) = member {
                // Frozen with the sale: the saving is printed on its receipt and every copy.
                c.record_member_sale(sale.id, m.member_id, Some(m.saving))?;
            }
            Ok(sale)
        }) {
            Ok(s) => s,
            Err(e) => {
                self.storage_failed(&e);
                return;
            }
        };
        crash::point("sale_frozen");
        if member_saving > 0 {
            self.emit(EngineEvent::MemberPrices {
                sale_id: sale.id,
                saving: member_saving,
            });
        }
        self.current_sale = Some(sale.id);
        self.auto_one_time_qr_used = false;
        self.emit(EngineEvent::AwaitingCheckIn {
            sale_id: sale.id,
            amount: sale.total,
            qr_content: self.qr_content.clone(),
        });
        let mut next = self.usable_checkin(sale.id);
        let mut next_pay: Option<Basket> = None;
        loop {
            let customer = match next.take() {
                Some(c) => c,
                None => match self.wait_customer(&sale).await {
                    Waited::Customer(c) => c,
                    Waited::Abandoned | Waited::Paid => break,
                    Waited::NewBasket(b) => {
                        next_pay = Some(b);
                        break;
                    }
                },
            };
            match self.run_attempt(&sale, customer).await {
                AttemptEnd::Completed | AttemptEnd::Ended => break,
                // After a decline, expiry or refusal the cashier decides what next: no
                // one-time QR on its own until Retry.
                AttemptEnd::Failed => self.auto_one_time_qr_used = true,
            }
            if self.stopping {
                break;
            }
        }
        self.end_sale(sale.id);
        if let Some(b) = next_pay
            && !self.stopping
        {
            Box::pin(self.run_sale(b)).await;
        }
    }

    /// What is left for Vipps on `sale` (the total if the store cannot say; only for display).
    fn due_or_total(&mut self, sale: &SaleRec) -> i64 {
        let country = self.country();
        match self.db.read(|c| tender::vipps_due(c, country, sale)) {
            Ok(due) => due,
            Err(e) => {
                self.storage_failed(&e);
                sale.total
            }
        }
    }

    fn end_sale(&mut self, sale_id: i64) {
        if let Err(e) = self.db.tx(|c| {
            es::discard_checkins_of_sale(c, sale_id)?;
            Ok(())
        }) {
            self.storage_failed(&e);
        }
        // A sale that ends without completing (its Vipps part cancelled, failed, the till
        // stopping) gives back the parts taken at the till, unless Vipps captured money or the
        // admin must look at it: then the parts stay for the admin to settle with the rest.
        let keep = match self.db.read(|c| {
            let settled_elsewhere = es::attempts_of_sale(c, sale_id)?
                .iter()
                .any(|a| a.captured_amount > 0 || a.needs_admin);
            Ok(settled_elsewhere || db::sale_state(c, sale_id)? == SaleState::Completed)
        }) {
            Ok(keep) => keep,
            Err(e) => {
                self.storage_failed(&e);
                true
            }
        };
        if !keep {
            self.give_back_tenders(sale_id);
        }
        self.current_sale = None;
        self.recognition.taken = None;
        self.emit(EngineEvent::Idle);
    }

    /// A stored check-in usable for this sale (unused, valid long enough).
    fn usable_checkin(&mut self, sale_id: i64) -> Option<Customer> {
        let now = self.now_ms();
        match self
            .db
            .read(|c| Ok(es::usable_checkin(c, sale_id, now + TOKEN_MARGIN_MS)?))
        {
            Ok(row) => row.map(Customer::Token),
            Err(e) => {
                self.storage_failed(&e);
                None
            }
        }
    }

    /// A sale with captured money, or one flagged for the admin, never gets another payment
    /// (that could charge the customer twice), and a training sale gets none from production
    /// Vipps (it must move no real money): says so and returns true.
    fn refuse_new_attempt(&mut self, sale_id: i64) -> bool {
        if self.config.vipps.environment.is_production() {
            match self
                .db
                .read(|c| Ok(crate::store::training::is_training_sale(c, sale_id)?))
            {
                Ok(false) => {}
                Ok(true) => {
                    tracing::info!(sale_id, "training sale: no Vipps payment in production");
                    self.problem(MessageId::TrainingNoVipps, None, false);
                    return true;
                }
                Err(e) => {
                    self.storage_failed(&e);
                    return true;
                }
            }
        }
        let attempts = match self.db.read(|c| Ok(es::attempts_of_sale(c, sale_id)?)) {
            Ok(a) => a,
            Err(e) => {
                self.storage_failed(&e);
                return true;
            }
        };
        let Some(a) = attempts
            .iter()
            .find(|a| a.captured_amount > 0 || a.needs_admin)
        else {
            return false;
        };
        let why = format!(
            "{} captured of {} on {}; the admin must settle this sale, no new payment is started",
            a.captured_amount, a.amount, a.reference
        );
        tracing::warn!(sale_id, reference = %a.reference, "new payment refused: money captured or admin needed");
        self.problem(MessageId::CaptureMismatch, Some(why), false);
        true
    }

    /// Moves the stored sale state along the core state machine.
    pub(super) fn advance_sale(
        c: &Store<&rusqlite::Connection>,
        sale_id: i64,
        event: SaleEvent,
    ) -> Result<SaleState, DbError> {
        let current = db::sale_state(c, sale_id)?;
        match crate::core::sale::transition(current, event) {
            Ok(next) => {
                if next != current {
                    db::set_sale_state(c, sale_id, next)?;
                }
                Ok(next)
            }
            Err(e) => {
                // The money rules live in the attempt rows; a sale state that cannot move is
                // logged, not fatal.
                tracing::debug!(sale_id, error = %e, "sale state unchanged");
                Ok(current)
            }
        }
    }

    async fn wait_customer(&mut self, sale: &SaleRec) -> Waited {
        self.awaiting_customer = true;
        let waited = self.wait_customer_inner(sale).await;
        self.awaiting_customer = false;
        waited
    }

    async fn wait_customer_inner(&mut self, sale: &SaleRec) -> Waited {
        // Check-ins cannot arrive while the relay is down: after a grace period the till
        // shows a one-time QR instead, once per sale and per Retry (never on its own after a
        // decline or expiry).
        loop {
            let switch_at = match (
                self.relay_down_since,
                self.config.engine.one_time_qr_after(),
            ) {
                (Some(since), Some(grace)) if !self.auto_one_time_qr_used => Some(since + grace),
                _ => None,
            };
            if switch_at.is_some_and(|at| Instant::now() >= at) {
                self.auto_one_time_qr_used = true;
                tracing::warn!(
                    sale_id = sale.id,
                    "relay unreachable: showing a one-time QR"
                );
                self.problem(MessageId::RelayDownOneTimeQr, None, false);
                return Waited::Customer(Customer::OneTimeQr { relay_down: true });
            }
            // The till set up to show a QR for each payment: no need to wait for a scan.
            if self.config.till.pay_qr == PayQr::OneTime && !self.auto_one_time_qr_used {
                self.auto_one_time_qr_used = true;
                return Waited::Customer(Customer::OneTimeQr { relay_down: false });
            }
            match self.next_input(switch_at).await {
                Input::CheckIn(row) => {
                    if row.expires_at_ms > self.now_ms() + TOKEN_MARGIN_MS {
                        return Waited::Customer(Customer::Token(row));
                    }
                }
                Input::Command(Command::SendToPhone { phone_number }) => {
                    match PhoneNumber::parse(&phone_number) {
                        Ok(p) => return Waited::Customer(Customer::Phone(p)),
                        Err(e) => self.problem(MessageId::InvalidPhone, Some(e.to_string()), false),
                    }
                }
                Input::Command(Command::SendToScannedCustomer) => {
                    match self.recognition.last_msisdn.clone() {
                        Some(p) => return Waited::Customer(Customer::Phone(p)),
                        None => self.problem(MessageId::NoScannedCustomer, None, false),
                    }
                }
                Input::Command(Command::SendToPersonalQr { content }) => {
                    if content.looks_valid() {
                        // Loyalty: who the customer is, beside the payment.
                        self.start_personal_qr_exchange(sale.id, &content);
                        return Waited::Customer(Customer::PersonalQr(content));
                    }
                    self.problem(MessageId::InvalidPersonalQr, None, false);
                }
                Input::Command(Command::ShowOneTimeQr) => {
                    return Waited::Customer(Customer::OneTimeQr { relay_down: false });
                }
                Input::Command(Command::Tender {
                    tender,
                    amount,
                    reference,
                }) => {
                    if self.take_tender(sale, tender, amount, reference) {
                        return Waited::Paid;
                    }
                }
                Input::Command(Command::Retry) => {
                    if self.refuse_new_attempt(sale.id) {
                        continue;
                    }
                    self.auto_one_time_qr_used = false;
                    if let Some(c) = self.usable_checkin(sale.id) {
                        return Waited::Customer(c);
                    }
                    let r = self.db.tx(|c| {
                        Self::advance_sale(c, sale.id, SaleEvent::Retry)?;
                        Ok(())
                    });
                    if let Err(e) = r {
                        self.storage_failed(&e);
                    }
                    let amount = self.due_or_total(sale);
                    self.emit(EngineEvent::AwaitingCheckIn {
                        sale_id: sale.id,
                        amount,
                        qr_content: self.qr_content.clone(),
                    });
                }
                Input::Command(
                    cmd @ (Command::Cancel | Command::BackToBasket | Command::NewSale),
                ) => {
                    let event = match cmd {
                        Command::Cancel => SaleEvent::Cancel,
                        _ => {
                            self.give_back_identification();
                            SaleEvent::BackToBasket
                        }
                    };
                    let r = self.db.tx(|c| {
                        let state = Self::advance_sale(c, sale.id, event)?;
                        db::journal(
                            c,
                            db::jk::SALE_ABANDONED,
                            json!({ "sale_id": sale.id, "state": state.as_str() }),
                        )?;
                        Ok(())
                    });
                    if let Err(e) = r {
                        self.storage_failed(&e);
                    }
                    self.give_back_tenders(sale.id);
                    if matches!(cmd, Command::Cancel) {
                        self.emit(EngineEvent::Cancelled {
                            sale_id: sale.id,
                            reference: None,
                            money_released: false,
                        });
                    }
                    return Waited::Abandoned;
                }
                Input::Command(Command::Pay { basket }) => {
                    // A new basket while no payment is in flight: this sale is abandoned.
                    self.give_back_identification();
                    let r = self.db.tx(|c| {
                        Self::advance_sale(c, sale.id, SaleEvent::BackToBasket)?;
                        db::journal(c, db::jk::SALE_ABANDONED, json!({ "sale_id": sale.id }))?;
                        Ok(())
                    });
                    if let Err(e) = r {
                        self.storage_failed(&e);
                    }
                    self.give_back_tenders(sale.id);
                    return Waited::NewBasket(basket);
                }
                Input::Command(cmd) => self.busy_command(cmd),
                Input::Payment { .. } => self.reconcile_at = Some(Instant::now()),
                Input::Deadline => {}
                Input::Closed => return Waited::Abandoned,
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // One attempt

    async fn run_attempt(&mut self, sale: &SaleRec, customer: Customer) -> AttemptEnd {
        if self.refuse_new_attempt(sale.id) {
            return AttemptEnd::Failed;
        }
        let now = self.now_ms();
        let till_id = self.config.till.id.clone();
        let install = self.install_id.clone();
        let (kind, checkin_id, phone_masked) = match &customer {
            Customer::Token(row) => (CustomerKind::Token, Some(row.id), None),
            Customer::Phone(p) => (CustomerKind::Phone, None, Some(p.masked())),
            Customer::PersonalQr(_) => (CustomerKind::PersonalQr, None, None),
            Customer::OneTimeQr { .. } => (CustomerKind::OneTimeQr, None, None),
        };
        let event = match &customer {
            Customer::Token(_) => SaleEvent::CheckedIn,
            // Both push to a known customer without a check-in.
            Customer::Phone(_) | Customer::PersonalQr(_) | Customer::OneTimeQr { .. } => {
                SaleEvent::SendToPhone
            }
        };
        let sales_unit = SalesUnit::of_config(&self.config);
        let country = self.country();
        let begun = self.db.tx(|c| {
            // After a failed attempt the sale goes back to waiting first.
            if db::sale_state(c, sale.id)?.can_retry() {
                Self::advance_sale(c, sale.id, SaleEvent::Retry)?;
            }
            // Vipps pays what the parts taken at the till leave (read in this transaction).
            let due = tender::vipps_due(c, country, sale)?;
            if due <= 0 {
                return Err(DbError::Invalid(format!(
                    "sale {} is already paid; no Vipps payment is needed",
                    sale.id
                )));
            }
            let a = es::insert_attempt(
                c,
                sale.id,
                due,
                &sale.currency,
                kind,
                checkin_id,
                phone_masked.as_deref(),
                now,
                |id| keys::reference(&till_id, &install, id).map_err(|e| e.to_string()),
            )?;
            // The payment is only found where it was made: recovery needs to know where.
            if let Some(unit) = &sales_unit {
                es::set_attempt_sales_unit(c, a.id, &unit.msn, &unit.base_url)?;
            }
            if let Some(ci) = checkin_id {
                es::mark_checkin_used(c, ci, a.id)?;
            }
            let key = keys::idempotency_key(&a.reference, OpKind::Create, 1)
                .map_err(|e| DbError::Invalid(e.to_string()))?;
            let op = es::insert_operation(c, a.id, OpKind::Create, 1, &key, due, now)?;
            Self::advance_sale(c, sale.id, event)?;
            db::journal(
                c,
                db::jk::PAYMENT_REQUESTED,
                json!({ "sale_id": sale.id, "reference": a.reference, "idempotency_key": key,
                        "amount": due, "sale_total": sale.total, "customer": kind.as_str(),
                        "phone": phone_masked }),
            )?;
            Ok((a, op))
        });
        let (attempt, op) = match begun {
            Ok(x) => x,
            Err(e) => {
                self.storage_failed(&e);
                return AttemptEnd::Ended;
            }
        };
        crash::point("create_intent");
        if matches!(customer, Customer::Token(_)) {
            self.emit(EngineEvent::CheckedIn { sale_id: sale.id });
        }
        let vipps_customer = match &customer {
            Customer::Token(row) => Some(VippsCustomer::CustomerToken(CustomerToken::new(
                row.customer_token.clone(),
            ))),
            Customer::Phone(p) => Some(VippsCustomer::PhoneNumber(p.clone())),
            Customer::PersonalQr(q) => Some(VippsCustomer::PersonalQr(q.0.clone())),
            Customer::OneTimeQr { .. } => None,
        };
        let currency = match sale.currency.parse::<crate::core::money::Currency>() {
            Ok(c) => vipps_currency(c),
            Err(e) => {
                self.problem(MessageId::InvalidAmount, Some(e.to_string()), false);
                return AttemptEnd::Ended;
            }
        };
        let description: String = format!("{} #{}", self.config.till.name, sale.id)
            .chars()
            .take(100)
            .collect();
        let amount = Amount::new(currency, attempt.amount);
        let mut request = match vipps_customer {
            Some(c) => CreatePaymentRequest::push_to_customer(attempt.reference.clone(), amount, c),
            None => CreatePaymentRequest::one_time_qr(attempt.reference.clone(), amount),
        }
        .with_description(description);
        // The receipt's lines add up to the sale's total: sent only when Vipps pays all of it.
        if attempt.amount == sale.total {
            request = request.with_receipt(vipps_receipt(
                &sale.receipt,
                &self.config.till.id,
                &sale.id.to_string(),
            ));
        }
        // From here on the request may reach Vipps even if this process dies: keep its exact
        // body so recovery can re-send it with the same key and make the outcome certain.
        // (Relaxed commit: it survives a killed process; the request follows at once.)
        let body = match serde_json::to_string(&request) {
            Ok(b) => b,
            Err(e) => {
                self.problem(MessageId::InvalidAmount, Some(e.to_string()), false);
                return AttemptEnd::Ended;
            }
        };
        let now = self.now_ms();
        if let Err(e) = self.db.tx_relaxed(|c| {
            es::set_request_body(c, op.id, &body)?;
            es::mark_sent(c, op.id, now)?;
            Ok(())
        }) {
            self.storage_failed(&e);
            return AttemptEnd::Ended;
        }
        let outcome = self
            .send_create(
                &attempt.reference,
                &request,
                &op.idempotency_key,
                Interrupt::ByCancel,
            )
            .await;
        match outcome {
            CallOutcome::Done(created) => {
                if let Err(e) = self.record_created(&attempt, &op, "created") {
                    self.storage_failed(&e);
                    return AttemptEnd::Ended;
                }
                crash::point("create_result");
                if let (Customer::OneTimeQr { relay_down }, Some(url)) =
                    (&customer, created.redirect_url)
                {
                    // Vipps' default expiry (no `expiresAt` is sent), counted from now.
                    let expires_at_ms = self.now_ms()
                        + i64::try_from(self.config.engine.payment_expiry().as_millis())
                            .unwrap_or(i64::MAX / 2);
                    self.emit(EngineEvent::OneTimeQr {
                        sale_id: sale.id,
                        reference: attempt.reference.clone(),
                        qr_content: url,
                        expires_at_ms,
                        relay_down: *relay_down,
                    });
                }
            }
            CallOutcome::Rejected(e) => {
                return self.create_rejected(sale, &attempt, &op, &customer, e);
            }
            CallOutcome::Unknown(_) | CallOutcome::Interrupted => {
                let cancel = matches!(outcome, CallOutcome::Interrupted);
                let check_budget = self.config.engine.modify_retry_budget();
                match self
                    .read_payment_retrying(&attempt.reference, check_budget, Interrupt::Never)
                    .await
                {
                    Ok(_) => {
                        if let Err(e) = self.record_created(&attempt, &op, "found") {
                            self.storage_failed(&e);
                            return AttemptEnd::Ended;
                        }
                        crash::point("create_result");
                        if cancel {
                            return self.cashier_cancel(sale, &attempt).await;
                        }
                    }
                    Err(e) if is_not_found(&e) => {
                        // Not at Vipps *yet*: a request that timed out may still be on its way.
                        // Keep the attempt open with a cancel decision (the create intent stays
                        // open too); reconciliation re-sends the create with its key and body,
                        // which makes the outcome certain, and releases the payment.
                        let now = self.now_ms();
                        let r = self.db.tx(|c| {
                            // The status stays "creating": whether Vipps has it is not known.
                            let t = Transition {
                                decision: Some(Decision::Cancel),
                                sale: Some(SaleEvent::Failed),
                                ..Transition::default()
                            };
                            record(
                                c,
                                &attempt,
                                t,
                                db::jk::PAYMENT_NOT_CREATED,
                                json!({ "sale_id": sale.id, "reference": attempt.reference }),
                                now,
                            )
                        });
                        if let Err(e) = r {
                            self.storage_failed(&e);
                        }
                        self.reconcile_at =
                            Some(Instant::now() + self.config.engine.reconcile_interval());
                        if cancel {
                            self.emit(EngineEvent::Cancelled {
                                sale_id: sale.id,
                                reference: Some(attempt.reference.clone()),
                                money_released: false,
                            });
                            return AttemptEnd::Ended;
                        }
                        self.problem(MessageId::VippsUnreachable, Some(e.to_string()), false);
                        return AttemptEnd::Failed;
                    }
                    Err(e) => {
                        // Unknown whether Vipps has it: decide "cancel" so reconciliation
                        // releases anything the customer might still approve.
                        let now = self.now_ms();
                        let r = self.db.tx(|c| {
                            let t = Transition {
                                decision: Some(Decision::Cancel),
                                sale: Some(SaleEvent::Failed),
                                error: Some(e.to_string()),
                                ..Transition::default()
                            };
                            record(
                                c,
                                &attempt,
                                t,
                                db::jk::PAYMENT_CREATE_UNKNOWN,
                                json!({ "sale_id": sale.id, "reference": attempt.reference,
                                        "error": e.to_string(), "decision": "cancel" }),
                                now,
                            )
                        });
                        if let Err(e) = r {
                            self.storage_failed(&e);
                        }
                        self.reconcile_at =
                            Some(Instant::now() + self.config.engine.reconcile_interval());
                        self.problem(MessageId::OutcomeUnknown, Some(e.to_string()), false);
                        return if cancel {
                            AttemptEnd::Ended
                        } else {
                            AttemptEnd::Failed
                        };
                    }
                }
            }
        }
        self.emit(EngineEvent::PaymentRequested {
            sale_id: sale.id,
            reference: attempt.reference.clone(),
            amount: attempt.amount,
        });
        self.await_authorization(sale, &attempt).await
    }

    /// Sends a create with its stored key, retried with that key within the create budget.
    pub(super) async fn send_create(
        &mut self,
        reference: &str,
        request: &CreatePaymentRequest,
        key: &str,
        interrupt: Interrupt,
    ) -> CallOutcome<crate::vipps::models::CreatePaymentResponse> {
        let budget = self.config.engine.create_retry_budget();
        self.call_modify(reference, OpKind::Create, budget, interrupt, |client| {
            let request = request.clone();
            let key = key.to_string();
            async move { client.create_payment(&request, &key).await }
        })
        .await
    }

    fn record_created(
        &mut self,
        attempt: &AttemptRow,
        op: &OperationRow,
        how: &str,
    ) -> Result<(), DbError> {
        let now = self.now_ms();
        self.db.tx(|c| {
            es::finish_operation(c, op.id, OpStatus::Succeeded, Some(201), None, None, now)?;
            let t = Transition {
                status: Some(AttemptStatus::Requested),
                ..Transition::default()
            };
            record(
                c,
                attempt,
                t,
                db::jk::PAYMENT_CREATED,
                json!({ "sale_id": attempt.sale_id, "reference": attempt.reference, "how": how }),
                now,
            )
        })
    }

    fn create_rejected(
        &mut self,
        sale: &SaleRec,
        attempt: &AttemptRow,
        op: &OperationRow,
        customer: &Customer,
        e: VippsError,
    ) -> AttemptEnd {
        let now = self.now_ms();
        let detail = e.to_string();
        let r = self.db.tx(|c| {
            es::finish_operation(
                c,
                op.id,
                OpStatus::Rejected,
                e.status(),
                e.code(),
                Some(&detail),
                now,
            )?;
            if let (Some(4050), Customer::Token(row)) = (e.code(), customer) {
                es::discard_checkin(c, row.id)?;
            }
            let t = Transition {
                status: Some(AttemptStatus::Rejected),
                sale: Some(SaleEvent::Failed),
                error: Some(detail.clone()),
                ..Transition::default()
            };
            record(
                c,
                attempt,
                t,
                db::jk::PAYMENT_FAILED,
                json!({ "sale_id": sale.id, "reference": attempt.reference,
                        "status": e.status(), "code": e.code(), "detail": detail }),
                now,
            )
        });
        if let Err(e) = r {
            self.storage_failed(&e);
            return AttemptEnd::Ended;
        }
        crash::point("create_result");
        match (e.status(), e.code()) {
            (_, Some(4050)) => self.emit(EngineEvent::TokenExpired {
                sale_id: sale.id,
                customer: self
                    .recognition
                    .last_msisdn
                    .as_ref()
                    .map(|m| crate::core::loyalty::masked_number(m.expose())),
            }),
            (_, Some(5080)) => self.emit(EngineEvent::PushNotAllowed { sale_id: sale.id }),
            (_, Some(4070 | 7010)) => self.problem(MessageId::InvalidPhone, Some(detail), false),
            (_, Some(4060)) => self.problem(MessageId::InvalidPersonalQr, Some(detail), false),
            (Some(401 | 403), _) => self.problem(MessageId::VippsCredentials, Some(detail), false),
            _ => self.problem(MessageId::PaymentRejected, Some(detail), false),
        }
        AttemptEnd::Failed
    }

    /// Step 5: wait for the customer, by relay event and by polling; act only on what a fresh
    /// GET says.
    async fn await_authorization(&mut self, sale: &SaleRec, attempt: &AttemptRow) -> AttemptEnd {
        self.active_reference = Some(attempt.reference.clone());
        let end = self.await_authorization_inner(sale, attempt).await;
        self.active_reference = None;
        end
    }

    async fn await_authorization_inner(
        &mut self,
        sale: &SaleRec,
        attempt: &AttemptRow,
    ) -> AttemptEnd {
        let engine = self.config.engine.clone();
        let started = Instant::now();
        let give_up_at = started + engine.payment_expiry() + engine.expiry_grace();
        let mut interval = engine.poll_interval();
        let mut poll_at = started + engine.poll_start();
        loop {
            let deadline = poll_at.min(give_up_at);
            match self.next_input(Some(deadline)).await {
                Input::Payment { reference, name } => {
                    if reference == attempt.reference
                        && matches!(
                            name,
                            PaymentEventName::Authorized
                                | PaymentEventName::Aborted
                                | PaymentEventName::Expired
                                | PaymentEventName::Terminated
                                | PaymentEventName::Cancelled
                        )
                    {
                        poll_at = Instant::now();
                    } else if reference != attempt.reference {
                        self.reconcile_at = Some(Instant::now());
                    }
                    continue;
                }
                Input::CheckIn(_) => continue,
                Input::Command(Command::Cancel | Command::BackToBasket | Command::NewSale) => {
                    return self.cashier_cancel(sale, attempt).await;
                }
                Input::Command(
                    Command::SendToPhone { .. }
                    | Command::SendToPersonalQr { .. }
                    | Command::SendToScannedCustomer,
                ) => {
                    self.problem(
                        MessageId::Busy,
                        Some("cancel the payment request first".into()),
                        false,
                    );
                    continue;
                }
                Input::Command(cmd) => {
                    self.busy_command(cmd);
                    continue;
                }
                Input::Closed => return AttemptEnd::Ended,
                Input::Deadline => {}
            }
            let now = Instant::now();
            if now >= give_up_at {
                return self
                    .cancel_and_settle(sale, attempt, CancelReason::Expired)
                    .await;
            }
            if now < poll_at {
                continue;
            }
            match self.read_payment(&attempt.reference).await {
                Ok(p) => {
                    interval = engine.poll_interval();
                    if p.state == PaymentState::Authorized {
                        return self.capture_sale(sale, attempt, p).await;
                    }
                    match self.decide_now(attempt, Some(&p), LIVE) {
                        Some(Step::Settle(outcome)) => {
                            return self.settle_live(sale, attempt, &p, outcome);
                        }
                        // Still with the customer.
                        _ => poll_at = Instant::now() + interval,
                    }
                }
                Err(e) if e.status() == Some(429) => {
                    interval = (interval * 2).min(engine.poll_max_interval());
                    let wait = e.retry_after().unwrap_or(interval).max(interval);
                    poll_at = Instant::now() + wait;
                }
                Err(e) => {
                    tracing::warn!(reference = %attempt.reference, error = %e, "poll failed");
                    poll_at = Instant::now() + interval;
                }
            }
        }
    }

    /// Step 6: the customer approved (a fresh GET says AUTHORIZED). Decide capture, capture the
    /// exact total with the stored key, re-read, complete only when captured == total.
    async fn capture_sale(
        &mut self,
        sale: &SaleRec,
        attempt: &AttemptRow,
        p: Payment,
    ) -> AttemptEnd {
        let now = self.now_ms();
        // Every path below commits durably right after (capture intent, cancel or settle).
        let r = self.db.tx_relaxed(|c| {
            db::record_view(c, attempt.id, &p, now)?;
            let t = Transition {
                status: Some(AttemptStatus::Authorized),
                sale: Some(SaleEvent::Authorized),
                ..Transition::default()
            };
            record(
                c,
                attempt,
                t,
                db::jk::PAYMENT_AUTHORIZED,
                json!({ "sale_id": sale.id, "reference": attempt.reference,
                        "authorized": p.aggregate.authorized_amount.value }),
                now,
            )
        });
        if let Err(e) = r {
            self.storage_failed(&e);
            return AttemptEnd::Ended;
        }
        crash::point("authorized_stored");
        self.emit(EngineEvent::Authorized {
            sale_id: sale.id,
            reference: attempt.reference.clone(),
        });
        let step = match self.decide_now(attempt, Some(&p), LIVE) {
            Some(step) => step,
            None => return AttemptEnd::Ended,
        };
        match step {
            Step::DecideCapture { .. } | Step::Capture { .. } => {
                let op = match self.capture_intent(attempt) {
                    Ok(op) => op,
                    Err(e) => {
                        self.storage_failed(&e);
                        return AttemptEnd::Ended;
                    }
                };
                match self.send_capture(attempt, &op).await {
                    ModResult::Done => {}
                    ModResult::Rejected(e) => {
                        // The re-read below decides; a rejected capture that left nothing
                        // captured needs the admin.
                        tracing::warn!(reference = %attempt.reference, error = %e, "capture rejected");
                    }
                    ModResult::Unknown(e) => {
                        self.problem(MessageId::CapturePending, Some(e.to_string()), true);
                        self.reconcile_at =
                            Some(Instant::now() + self.config.engine.reconcile_interval());
                        return AttemptEnd::Ended;
                    }
                }
            }
            // Captured in full outside Kasse (e.g. the business portal): verify below.
            Step::Settle(Outcome::Completed) => {}
            Step::Settle(outcome) => return self.settle_live(sale, attempt, &p, outcome),
            Step::Cancel { admin } => {
                if let Some(why) = admin {
                    let why = why.to_string();
                    self.flag_admin(attempt, &why);
                    self.problem(MessageId::AmountMismatch, Some(why), false);
                }
                return self
                    .cancel_and_settle(sale, attempt, CancelReason::Mismatch)
                    .await;
            }
            Step::Wait | Step::ResendCreate => {
                tracing::error!(reference = %attempt.reference, ?step, "unexpected step for an authorized payment");
                self.reconcile_at = Some(Instant::now());
                return AttemptEnd::Ended;
            }
        }
        match self.verify_capture(attempt).await {
            Some(Outcome::Completed) => {
                self.emit(EngineEvent::Captured {
                    sale_id: sale.id,
                    reference: attempt.reference.clone(),
                    amount: attempt.amount,
                });
                self.emit(EngineEvent::Completed {
                    sale_id: sale.id,
                    reference: attempt.reference.clone(),
                    receipt: sale.receipt.clone(),
                });
                AttemptEnd::Completed
            }
            Some(Outcome::NeedsAdmin(why)) => {
                self.problem(MessageId::CaptureMismatch, Some(why.to_string()), false);
                AttemptEnd::Ended
            }
            Some(_) | None => {
                self.problem(MessageId::CapturePending, None, true);
                self.reconcile_at = Some(Instant::now() + self.config.engine.reconcile_interval());
                AttemptEnd::Ended
            }
        }
    }

    /// The open capture intent of an attempt, or a new one with the capture decision (key
    /// `<reference>-capture-<n>`), committed before the call.
    pub(super) fn capture_intent(&mut self, attempt: &AttemptRow) -> Result<OperationRow, DbError> {
        let now = self.now_ms();
        if let Some(op) = self
            .db
            .read(|c| Ok(es::open_operation(c, attempt.id, OpKind::Capture)?))?
        {
            return Ok(op);
        }
        let op = self.db.tx(|c| {
            let seq = es::next_op_seq(c, attempt.id, OpKind::Capture)?;
            let key = keys::idempotency_key(&attempt.reference, OpKind::Capture, seq)
                .map_err(|e| DbError::Invalid(e.to_string()))?;
            let op = es::insert_operation(
                c,
                attempt.id,
                OpKind::Capture,
                seq,
                &key,
                attempt.amount,
                now,
            )?;
            let t = Transition {
                status: Some(AttemptStatus::Capturing),
                decision: Some(Decision::Capture),
                sale: Some(SaleEvent::Capture),
                ..Transition::default()
            };
            record(
                c,
                attempt,
                t,
                db::jk::CAPTURE_REQUESTED,
                json!({ "sale_id": attempt.sale_id, "reference": attempt.reference,
                        "idempotency_key": key, "amount": attempt.amount }),
                now,
            )?;
            Ok(op)
        })?;
        crash::point("capture_intent");
        Ok(op)
    }

    /// Sends a stored capture intent (same key on every retry) and records the result.
    pub(super) async fn send_capture(
        &mut self,
        attempt: &AttemptRow,
        op: &OperationRow,
    ) -> ModResult {
        let Ok(currency) = currency_of(&attempt.currency) else {
            return ModResult::Rejected(VippsError::InvalidInput("unknown currency".into()));
        };
        let amount = Amount::new(currency, op.amount);
        let reference = attempt.reference.clone();
        let key = op.idempotency_key.clone();
        let budget = self.config.engine.modify_retry_budget();
        let outcome = self
            .call_modify(
                &attempt.reference,
                OpKind::Capture,
                budget,
                Interrupt::Never,
                |client| {
                    let reference = reference.clone();
                    let key = key.clone();
                    async move { client.capture(&reference, amount, &key).await }
                },
            )
            .await;
        self.record_modification(attempt, op, outcome, "capture_result")
    }

    /// Writes the result of a capture, cancel or refund call.
    pub(super) fn record_modification(
        &mut self,
        attempt: &AttemptRow,
        op: &OperationRow,
        outcome: CallOutcome<crate::vipps::models::ModificationResponse>,
        crash_step: &str,
    ) -> ModResult {
        let now = self.now_ms();
        let (result, op_status, resp, err) = match outcome {
            CallOutcome::Done(r) => (ModResult::Done, OpStatus::Succeeded, Some(r), None),
            CallOutcome::Rejected(e) => (
                ModResult::Rejected(e.clone()),
                OpStatus::Rejected,
                None,
                Some(e),
            ),
            CallOutcome::Unknown(e) => return ModResult::Unknown(e),
            CallOutcome::Interrupted => {
                return ModResult::Unknown(VippsError::Timeout);
            }
        };
        let r = self.db.tx(|c| {
            let detail = err.as_ref().map(|e| e.to_string());
            es::finish_operation(
                c,
                op.id,
                op_status,
                err.as_ref().and_then(|e| e.status()).or(Some(200)),
                err.as_ref().and_then(|e| e.code()),
                detail.as_deref(),
                now,
            )?;
            if let Some(resp) = &resp {
                db::record_view_mod(c, attempt.id, resp, now)?;
            }
            let kind = match (op.kind, op_status) {
                (OpKind::Capture, _) => db::jk::CAPTURE_RESULT,
                (OpKind::Cancel, _) => db::jk::CANCEL_RESULT,
                (_, OpStatus::Succeeded) => db::jk::REFUND_DONE,
                _ => db::jk::REFUND_FAILED,
            };
            db::journal(
                c,
                kind,
                json!({ "sale_id": attempt.sale_id, "reference": attempt.reference,
                        "idempotency_key": op.idempotency_key, "amount": op.amount,
                        "result": op_status.as_str(), "code": err.as_ref().and_then(|e| e.code()),
                        "detail": detail,
                        "aggregate": resp.as_ref().map(|r| json!({
                            "authorized": r.aggregate.authorized_amount.value,
                            "captured": r.aggregate.captured_amount.value,
                            "cancelled": r.aggregate.cancelled_amount.value,
                            "refunded": r.aggregate.refunded_amount.value })) }),
            )?;
            if op.kind == OpKind::Refund && op_status == OpStatus::Succeeded {
                let return_id = c.return_refunded(op.id)?;
                tender::record_vipps_refund(
                    c,
                    attempt.sale_id,
                    &op.idempotency_key,
                    op.amount,
                    return_id,
                    self.cashier,
                )?;
                let signer = self.signer.as_deref().ok_or(ComplianceError::NoSigner)?;
                compliance::sign_return(c, signer, attempt.sale_id, op.id, op.amount, now)?;
            }
            Ok(())
        });
        if let Err(e) = r {
            self.storage_failed(&e);
            return ModResult::Unknown(VippsError::Timeout);
        }
        crash::point(crash_step);
        result
    }

    /// Re-reads the payment after a capture and settles it by the decision function: completed
    /// when captured == total, flagged for the admin otherwise. `None` when not settled yet.
    pub(super) async fn verify_capture(&mut self, attempt: &AttemptRow) -> Option<Outcome> {
        let budget = self.config.engine.modify_retry_budget();
        let p = match self
            .read_payment_retrying(&attempt.reference, budget, Interrupt::Never)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(reference = %attempt.reference, error = %e, "cannot verify capture");
                return None;
            }
        };
        let now = self.now_ms();
        let captured = p.aggregate.captured_amount.value;
        let r = self.db.tx(|c| {
            db::record_view(c, attempt.id, &p, now)?;
            db::journal(
                c,
                db::jk::CAPTURE_VERIFIED,
                json!({ "sale_id": attempt.sale_id, "reference": attempt.reference,
                        "captured": captured, "total": attempt.amount }),
            )?;
            Ok(())
        });
        if let Err(e) = r {
            self.storage_failed(&e);
            return None;
        }
        crash::point("capture_verified");
        match self.decide_now(attempt, Some(&p), LIVE)? {
            Step::Settle(outcome) => {
                self.settle(attempt, Some(&p), outcome.clone());
                Some(outcome)
            }
            // The capture is still open (no final answer): reconciliation sends it again.
            step => {
                tracing::warn!(reference = %attempt.reference, ?step, "capture not settled yet");
                None
            }
        }
    }

    /// Cashier cancel while the payment request is out: cancel, wait for a final state, then
    /// unlock the basket.
    async fn cashier_cancel(&mut self, sale: &SaleRec, attempt: &AttemptRow) -> AttemptEnd {
        self.cancel_and_settle(sale, attempt, CancelReason::Cashier)
            .await
    }

    async fn cancel_and_settle(
        &mut self,
        sale: &SaleRec,
        attempt: &AttemptRow,
        reason: CancelReason,
    ) -> AttemptEnd {
        let r = self.db.tx(|c| {
            Self::advance_sale(c, sale.id, SaleEvent::Cancel)?;
            Ok(())
        });
        if let Err(e) = r {
            self.storage_failed(&e);
        }
        match self.cancel_payment(attempt).await {
            Some(fin) => {
                let reference = Some(attempt.reference.clone());
                match (&fin, reason) {
                    (Outcome::Declined, _) => self.emit(EngineEvent::Declined {
                        sale_id: sale.id,
                        reference: attempt.reference.clone(),
                    }),
                    (Outcome::Expired, _)
                    | (
                        Outcome::Cancelled {
                            money_released: false,
                        },
                        CancelReason::Expired,
                    ) => self.emit(EngineEvent::Expired {
                        sale_id: sale.id,
                        reference: attempt.reference.clone(),
                    }),
                    (Outcome::Cancelled { money_released }, _) => {
                        self.emit(EngineEvent::Cancelled {
                            sale_id: sale.id,
                            reference,
                            money_released: *money_released,
                        })
                    }
                    (Outcome::Completed, _) => {
                        // Captured by this sale's own decision before the cancel: report it.
                        self.emit(EngineEvent::Completed {
                            sale_id: sale.id,
                            reference: attempt.reference.clone(),
                            receipt: sale.receipt.clone(),
                        });
                        return AttemptEnd::Completed;
                    }
                    (Outcome::NeedsAdmin(why), _) => {
                        self.problem(MessageId::CaptureMismatch, Some(why.to_string()), false)
                    }
                    (Outcome::NotCreated, _) => {}
                }
                match reason {
                    CancelReason::Cashier | CancelReason::Mismatch => AttemptEnd::Ended,
                    CancelReason::Expired => AttemptEnd::Failed,
                }
            }
            None => {
                self.problem(MessageId::CancelPending, None, true);
                self.reconcile_at = Some(Instant::now() + self.config.engine.reconcile_interval());
                AttemptEnd::Ended
            }
        }
    }

    /// Commits the cancel decision and intent, sends it (same key on retries; a new key only
    /// after a rejection such as "customer is mid-approval"), then waits for a final state.
    /// `None` when Vipps could not confirm within the budget (reconciliation continues).
    pub(super) async fn cancel_payment(&mut self, attempt: &AttemptRow) -> Option<Outcome> {
        let budget = self.config.engine.modify_retry_budget();
        let start = Instant::now();
        loop {
            let op = match self.cancel_intent(attempt) {
                Ok(op) => op,
                Err(e) => {
                    self.storage_failed(&e);
                    return None;
                }
            };
            let reference = attempt.reference.clone();
            let key = op.idempotency_key.clone();
            let outcome = self
                .call_modify(
                    &attempt.reference,
                    OpKind::Cancel,
                    budget,
                    Interrupt::Never,
                    |client| {
                        let reference = reference.clone();
                        let key = key.clone();
                        async move { client.cancel(&reference, false, &key).await }
                    },
                )
                .await;
            match self.record_modification(attempt, &op, outcome, "cancel_result") {
                ModResult::Done => break,
                ModResult::Unknown(_) => return None,
                ModResult::Rejected(e) => {
                    // 6250 / 423: the customer is in the middle of approving. Read meanwhile (they
                    // may finish first), and try the cancel again with a new key (a rejection
                    // sticks to its key) no sooner than the spacing that keeps the final cancel
                    // within Vipps' per-minute limit, across restarts too.
                    let pending = e.code() == Some(6250) || e.status() == Some(409);
                    if pending && start.elapsed() < budget {
                        let retry_at =
                            (Instant::now() + RateLimiter::retry_spacing()).min(start + budget);
                        tracing::info!(reference = %attempt.reference, "cancel refused while the customer is approving; reading until the next try");
                        if let Some(outcome) = self.await_final(attempt, retry_at).await {
                            return Some(outcome);
                        }
                        continue;
                    }
                    // Otherwise the payment is probably final already: read it.
                    break;
                }
            }
        }
        self.await_final(attempt, Instant::now() + budget).await
    }

    /// The open cancel intent of an attempt, or a new one.
    fn cancel_intent(&mut self, attempt: &AttemptRow) -> Result<OperationRow, DbError> {
        let now = self.now_ms();
        let (op, new) = self.db.tx(|c| {
            if let Some(op) = es::open_operation(c, attempt.id, OpKind::Cancel)? {
                return Ok((op, false));
            }
            let seq = es::next_op_seq(c, attempt.id, OpKind::Cancel)?;
            let key = keys::idempotency_key(&attempt.reference, OpKind::Cancel, seq)
                .map_err(|e| DbError::Invalid(e.to_string()))?;
            let op = es::insert_operation(
                c,
                attempt.id,
                OpKind::Cancel,
                seq,
                &key,
                attempt.amount,
                now,
            )?;
            let t = Transition {
                status: Some(AttemptStatus::Cancelling),
                decision: Some(Decision::Cancel),
                ..Transition::default()
            };
            record(
                c,
                attempt,
                t,
                db::jk::CANCEL_REQUESTED,
                json!({ "sale_id": attempt.sale_id, "reference": attempt.reference,
                        "idempotency_key": key }),
                now,
            )?;
            Ok((op, true))
        })?;
        if new {
            crash::point("cancel_intent");
        }
        Ok(op)
    }

    /// Polls until the decision function settles the payment after a cancel, or `until`.
    async fn await_final(&mut self, attempt: &AttemptRow, until: Instant) -> Option<Outcome> {
        let budget = self.config.engine.modify_retry_budget();
        loop {
            match self
                .read_payment_retrying(&attempt.reference, budget, Interrupt::Never)
                .await
            {
                Ok(p) => {
                    // Still open or still reserved: the cancel has not shown yet; read again.
                    if let Step::Settle(outcome) =
                        self.decide_now(attempt, Some(&p), Asker::Recovery)?
                    {
                        self.settle(attempt, Some(&p), outcome.clone());
                        return Some(outcome);
                    }
                }
                Err(e) => {
                    tracing::warn!(reference = %attempt.reference, error = %e, "cannot read payment after cancel");
                    return None;
                }
            }
            if Instant::now() >= until {
                return None;
            }
            let wait = (Instant::now() + self.config.engine.poll_interval()).min(until);
            self.pause(wait, Interrupt::Never).await;
        }
    }

    /// Asks the decision function about `attempt` as stored now and the payment as just read
    /// (`None`: Vipps answered 404). `None` when the store cannot be read.
    pub(super) fn decide_now(
        &mut self,
        attempt: &AttemptRow,
        payment: Option<&Payment>,
        asker: Asker,
    ) -> Option<Step> {
        let stored = self.db.read(|c| {
            let fresh = es::attempt(c, attempt.id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            Ok(es::stored_facts(c, &fresh)?)
        });
        match stored {
            Ok(stored) => {
                let read = payment.map_or(Read::NotFound, |p| Read::Payment(seen(p)));
                Some(decide(&stored, &read, asker))
            }
            Err(e) => {
                self.storage_failed(&e);
                None
            }
        }
    }

    /// Settles the sale's attempt in progress and tells the driver how it ended.
    fn settle_live(
        &mut self,
        sale: &SaleRec,
        attempt: &AttemptRow,
        p: &Payment,
        outcome: Outcome,
    ) -> AttemptEnd {
        self.settle(attempt, Some(p), outcome.clone());
        let reference = attempt.reference.clone();
        match outcome {
            Outcome::Completed => {
                self.emit(EngineEvent::Captured {
                    sale_id: sale.id,
                    reference: reference.clone(),
                    amount: attempt.amount,
                });
                self.emit(EngineEvent::Completed {
                    sale_id: sale.id,
                    reference,
                    receipt: sale.receipt.clone(),
                });
                AttemptEnd::Completed
            }
            Outcome::Declined => {
                self.emit(EngineEvent::Declined {
                    sale_id: sale.id,
                    reference,
                });
                AttemptEnd::Failed
            }
            Outcome::Expired => {
                self.emit(EngineEvent::Expired {
                    sale_id: sale.id,
                    reference,
                });
                AttemptEnd::Failed
            }
            Outcome::Cancelled { money_released } => {
                self.emit(EngineEvent::Cancelled {
                    sale_id: sale.id,
                    reference: Some(reference),
                    money_released,
                });
                AttemptEnd::Ended
            }
            Outcome::NeedsAdmin(why) => {
                self.problem(MessageId::CaptureMismatch, Some(why.to_string()), false);
                AttemptEnd::Ended
            }
            Outcome::NotCreated => AttemptEnd::Failed,
        }
    }

    /// Records how an attempt ended, in one transaction: what Vipps last said, the status,
    /// open intents closed (nothing stays `intended` after its payment ends), the stored
    /// create body forgotten, the sale moved (when this is its latest attempt), the journal.
    pub(super) fn settle(&mut self, attempt: &AttemptRow, p: Option<&Payment>, outcome: Outcome) {
        let now = self.now_ms();
        let r = self.db.tx(|c| {
            if let Some(p) = p {
                db::record_view(c, attempt.id, p, now)?;
            }
            let event = match &outcome {
                Outcome::Completed => SaleEvent::Captured,
                Outcome::Declined => SaleEvent::Declined,
                Outcome::Expired => SaleEvent::Expired,
                Outcome::Cancelled { money_released } => {
                    es::set_money_released(c, attempt.id, *money_released)?;
                    SaleEvent::Cancelled {
                        money_released: *money_released,
                    }
                }
                Outcome::NeedsAdmin(why) => {
                    es::flag_needs_admin(c, attempt.id, &why.to_string(), now)?;
                    SaleEvent::Failed
                }
                Outcome::NotCreated => SaleEvent::Failed,
            };
            let status = outcome.status();
            let latest = es::attempts_of_sale(c, attempt.sale_id)?
                .last()
                .is_some_and(|a| a.id == attempt.id);
            if latest {
                // A completed sale is forced to Completed whatever path led here.
                if outcome == Outcome::Completed {
                    db::set_sale_state(c, attempt.sale_id, SaleState::Completed)?;
                } else {
                    let state = db::sale_state(c, attempt.sale_id)?;
                    if state != SaleState::Completed {
                        let moved = Self::advance_sale(c, attempt.sale_id, event)?;
                        if moved == state && !state.is_final() {
                            // Paths the state machine does not model (recovery): record the end.
                            let forced = match &outcome {
                                Outcome::Declined => SaleState::Declined,
                                Outcome::Expired => SaleState::Expired,
                                Outcome::Cancelled { .. } => SaleState::Cancelled,
                                _ => SaleState::Failed,
                            };
                            db::set_sale_state(c, attempt.sale_id, forced)?;
                        }
                    }
                }
            }
            let kind = match &outcome {
                Outcome::Completed => db::jk::PAYMENT_CAPTURED,
                Outcome::Declined => db::jk::PAYMENT_DECLINED,
                Outcome::Expired => db::jk::PAYMENT_EXPIRED,
                Outcome::Cancelled { .. } => db::jk::PAYMENT_CANCELLED,
                Outcome::NeedsAdmin(_) => db::jk::PAYMENT_FAILED,
                Outcome::NotCreated => db::jk::PAYMENT_NOT_CREATED,
            };
            let agg = p.map(|p| p.aggregate);
            let t = Transition {
                status: Some(status),
                ..Transition::default()
            };
            record(
                c,
                attempt,
                t,
                kind,
                json!({ "sale_id": attempt.sale_id, "reference": attempt.reference,
                        "status": status.as_str(),
                        "captured": agg.map_or(0, |a| a.captured_amount.value),
                        "cancelled": agg.map_or(0, |a| a.cancelled_amount.value),
                        "total": attempt.amount,
                        "money_released": matches!(outcome, Outcome::Cancelled { money_released: true }),
                        "needs_admin": matches!(outcome, Outcome::NeedsAdmin(_)) }),
                now,
            )?;
            if outcome == Outcome::Completed {
                let captured = agg.map_or(attempt.amount, |a| a.captured_amount.value);
                tender::conclude_vipps_sale(
                    c,
                    attempt.sale_id,
                    &attempt.reference,
                    captured,
                    self.cashier,
                )?;
                let signer = self.signer.as_deref().ok_or(ComplianceError::NoSigner)?;
                compliance::conclude_sale(c, signer, attempt.sale_id, now)?;
            }
            Ok(())
        });
        if let Err(e) = r {
            self.storage_failed(&e);
            return;
        }
        self.limiter.forget(&attempt.reference);
        if outcome == Outcome::Completed {
            crash::point("completed");
        }
    }

    pub(super) fn flag_admin(&mut self, attempt: &AttemptRow, why: &str) {
        let now = self.now_ms();
        let r = self.db.tx(|c| {
            es::flag_needs_admin(c, attempt.id, why, now)?;
            db::journal(
                c,
                db::jk::ADMIN_FLAGGED,
                json!({ "sale_id": attempt.sale_id, "reference": attempt.reference, "why": why }),
            )?;
            Ok(())
        });
        if let Err(e) = r {
            self.storage_failed(&e);
        }
    }
}

/// What waiting for a customer produced.
enum Waited {
    Customer(Customer),
    Abandoned,
    /// The parts taken at the till paid the whole sale.
    Paid,
    NewBasket(Basket),
}

/// Result of a capture, cancel or refund call once recorded.
#[derive(Debug)]
pub(super) enum ModResult {
    Done,
    Rejected(VippsError),
    Unknown(VippsError),
}

pub(super) fn currency_of(code: &str) -> Result<crate::vipps::models::Currency, String> {
    code.parse::<crate::core::money::Currency>()
        .map(vipps_currency)
        .map_err(|e| e.to_string())
}

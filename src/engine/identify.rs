//! Recognising a member at the scan (BRIEF §10.0 steps 2-3), beside the payment.
//!
//! When loyalty is on, each stored check-in starts a task that exchanges its customer token
//! for the msisdn (`POST /qr/v1/exchange/customer`). The flow does not wait for it: the task's
//! answer arrives through a channel that [`Till::next_input`](super::actor::Till) reads like
//! relay messages, so a slow or failing exchange never delays a payment request.
//!
//! The rule for member prices ("known in time"): they apply when the member is known at the
//! moment the cashier presses Pay, i.e. the customer scanned before Pay and the exchange had
//! answered by then. A member recognised after Pay is shown, but that sale keeps its prices:
//! the sale is frozen (stored and later signed) at Pay, and the payment request goes out at
//! once when the customer scans.

use tokio::sync::mpsc;

use super::actor::Till;
use super::api::{EngineEvent, MessageId, PersonalQr};
use super::db::DbError;
use crate::core::loyalty::masked_number;
use crate::vipps::{CustomerToken, PhoneNumber, VippsError};

/// Where an exchange's customer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// A check-in's customer token (`POST /qr/v1/exchange/customer`).
    CheckIn(i64),
    /// A personal QR the cashier scanned for this (frozen) sale (`POST /qr/v1/exchange`).
    PersonalQr { sale_id: i64 },
}

/// Which sale a recognised member made.
#[derive(Debug, Clone, Copy)]
enum Theirs {
    /// The sale that took this check-in, if any yet.
    CheckInSale(i64),
    Sale(Option<i64>),
}

/// The answer of one exchange, sent back to the engine.
#[derive(Debug)]
pub(super) struct Exchanged {
    source: Source,
    result: Result<PhoneNumber, VippsError>,
}

/// How the customer at the till was identified, which decides how long it counts for Pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    /// By the exchange of this check-in's token: counts while that check-in is the one held
    /// (valid, unused) when Pay is pressed.
    CheckIn(i64),
    /// At the till: the cashier typed the customer's number, or the customer just joined.
    /// Counts for one check-in validity (15 minutes) from `at_ms`, until the next Pay takes
    /// it or the basket is cleared ([`super::api::Command::ForgetCustomer`]).
    Till { at_ms: i64 },
}

/// The customer identified for the next sale.
#[derive(Debug, Clone)]
pub(super) struct Identified {
    pub via: Via,
    pub member_id: Option<i64>,
}

/// The member known when the cashier pressed Pay, and what their prices saved.
#[derive(Debug, Clone, Copy)]
pub(super) struct MemberAtPay {
    pub member_id: i64,
    pub saving: i64,
}

/// The engine's side of recognition: where exchange answers arrive.
#[derive(Debug)]
pub(super) struct Recognition {
    tx: mpsc::UnboundedSender<Exchanged>,
    pub(super) rx: mpsc::UnboundedReceiver<Exchanged>,
    pub(super) identified: Option<Identified>,
    /// The number of the customer identified last (whom "Invite" invites).
    pub(super) last_msisdn: Option<PhoneNumber>,
    /// The identification at the till the sale in progress took at Pay: given back when the
    /// cashier goes back to the basket (the same customer's next Pay).
    pub(super) taken: Option<Identified>,
}

impl Default for Recognition {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx,
            identified: None,
            last_msisdn: None,
            taken: None,
        }
    }
}

fn as_msisdn(msisdn: &str) -> Result<PhoneNumber, VippsError> {
    PhoneNumber::parse(msisdn).map_err(|e| VippsError::Decode {
        status: 200,
        message: e.to_string(),
    })
}

impl Till {
    /// Whether the admin turned loyalty on (off when it cannot be read).
    pub(super) fn loyalty_on(&self) -> bool {
        self.db
            .read(|c| Ok(c.loyalty_settings()?))
            .is_ok_and(|s| s.enabled)
    }

    /// Start the exchange for a stored check-in, when loyalty is on. Returns at once.
    pub(super) fn start_exchange(&mut self, checkin_id: i64, token: &str) {
        // A new customer scanned: whoever scanned before is no longer the one to invite or to
        // push to; this one's number comes with their exchange.
        self.recognition.last_msisdn = None;
        let token = CustomerToken::new(token);
        self.spawn_exchange(Source::CheckIn(checkin_id), move |client| async move {
            let answer = client.exchange_customer_token(&token).await?;
            as_msisdn(&answer.msisdn)
        });
    }

    /// Start the exchange of a personal QR the cashier scanned for `sale_id`, when loyalty is
    /// on (BRIEF §10.9: `POST /qr/v1/exchange` gives the msisdn). Beside the payment, like a
    /// check-in's: returns at once; the sale's prices were frozen at Pay.
    pub(super) fn start_personal_qr_exchange(&mut self, sale_id: i64, content: &PersonalQr) {
        let content = content.0.clone();
        self.spawn_exchange(Source::PersonalQr { sale_id }, move |client| async move {
            let answer = client.exchange_personal_qr(&content).await?;
            as_msisdn(&answer.msisdn)
        });
    }

    /// Runs `exchange` beside the flow when loyalty is on; its answer comes back through the
    /// recognition channel, tagged with `source`.
    fn spawn_exchange<F, Fut>(&self, source: Source, exchange: F)
    where
        F: FnOnce(crate::vipps::Client) -> Fut,
        Fut: std::future::Future<Output = Result<PhoneNumber, VippsError>> + Send + 'static,
    {
        let Some(client) = self.vipps.clone() else {
            return;
        };
        if !self.loyalty_on() {
            return;
        }
        let tx = self.recognition.tx.clone();
        let answer = exchange(client);
        tokio::spawn(async move {
            let result = answer.await;
            let _ = tx.send(Exchanged { source, result });
        });
    }

    /// An exchange answered: look the customer up (by msisdn: the exchange gives no `sub`) and
    /// tell the drivers. A failure is logged and the sale goes on without loyalty.
    pub(super) fn on_exchanged(&mut self, answer: Exchanged) {
        let msisdn = match answer.result {
            Ok(m) => m,
            Err(error) => {
                match answer.source {
                    Source::CheckIn(checkin) => {
                        tracing::info!(checkin, %error, "customer token exchange failed");
                    }
                    Source::PersonalQr { sale_id } => {
                        tracing::info!(sale_id, %error, "personal QR exchange failed");
                    }
                }
                return;
            }
        };
        let theirs = match answer.source {
            Source::CheckIn(checkin_id) => Theirs::CheckInSale(checkin_id),
            Source::PersonalQr { sale_id } => Theirs::Sale(Some(sale_id)),
        };
        let member_id = match self.recognise(&msisdn, theirs) {
            Ok(m) => m,
            Err(e) => {
                self.storage_failed(&e);
                return;
            }
        };
        self.recognition.last_msisdn = Some(msisdn);
        // A personal QR is scanned for a sale already frozen: nothing carries to the next one.
        if let Source::CheckIn(checkin_id) = answer.source {
            self.recognition.identified = Some(Identified {
                via: Via::CheckIn(checkin_id),
                member_id,
            });
        }
    }

    /// Looks the customer up by number; a member makes the sale named by `theirs` theirs (for
    /// points; its prices were frozen at Pay). Tells the drivers, and returns the member, if
    /// any.
    fn recognise(&mut self, msisdn: &PhoneNumber, theirs: Theirs) -> Result<Option<i64>, DbError> {
        let found = self.db.tx(|c| {
            let Some(m) = c.member_by_msisdn(msisdn)? else {
                return Ok(None);
            };
            let sale_id = match theirs {
                Theirs::CheckInSale(checkin_id) => {
                    crate::store::attempts::checkin_sale(c, checkin_id)?
                }
                Theirs::Sale(sale_id) => sale_id,
            };
            if let Some(sale_id) = sale_id {
                c.record_member_sale(sale_id, m.id, None)?;
            }
            let points = c.member_points(m.id)?;
            Ok(Some((m, points)))
        })?;
        Ok(self.tell_identified(msisdn, found))
    }

    /// Tells the drivers whom the number belongs to; returns the member's id.
    fn tell_identified(
        &mut self,
        msisdn: &PhoneNumber,
        found: Option<(crate::store::loyalty::Member, i64)>,
    ) -> Option<i64> {
        let masked = masked_number(msisdn.expose());
        match found {
            Some((m, points)) => {
                self.emit(EngineEvent::MemberRecognised {
                    first_name: m.given_name.clone(),
                    masked_number: masked,
                    points,
                });
                Some(m.id)
            }
            None => {
                let programme = self
                    .db
                    .read(|c| Ok(c.loyalty_settings()?))
                    .map(|s| s.programme)
                    .unwrap_or_default();
                self.emit(EngineEvent::NotAMember {
                    masked_number: masked,
                    programme,
                });
                None
            }
        }
    }

    /// [`super::api::Command::IdentifyCustomer`]: the cashier typed the customer's number.
    /// A member's prices apply to the next Pay (within 15 minutes); during a sale, that sale
    /// is theirs (for points; its prices are frozen). Not a member: "Invite" invites this
    /// number.
    pub(super) fn identify_customer(&mut self, phone_number: &str) {
        if !self.loyalty_on() {
            self.problem(MessageId::LoyaltyOff, None, false);
            return;
        }
        let msisdn = match PhoneNumber::parse_at(phone_number, self.country().calling_code()) {
            Ok(p) => p,
            Err(e) => {
                // The error carries the masked number only.
                self.problem(MessageId::InvalidPhone, Some(e.to_string()), false);
                return;
            }
        };
        let sale_id = self.current_sale;
        let member_id = match self.recognise(&msisdn, Theirs::Sale(sale_id)) {
            Ok(m) => m,
            Err(e) => {
                self.storage_failed(&e);
                return;
            }
        };
        tracing::info!(
            member = member_id.is_some(),
            during_sale = sale_id.is_some(),
            "customer identified by a typed number"
        );
        self.recognition.last_msisdn = Some(msisdn);
        if sale_id.is_none() {
            self.recognition.identified = Some(Identified {
                via: Via::Till {
                    at_ms: self.now_ms(),
                },
                member_id,
            });
        }
    }

    /// [`super::api::Command::ForgetCustomer`]: the basket was cleared for the next customer.
    /// Whoever was identified (a scan's exchange, a typed number, an enrolment) no longer
    /// counts for the next Pay, and "Invite" has nobody to invite. (A scan's check-in itself
    /// stays held for the next Pay while it is valid, as without loyalty.)
    pub(super) fn forget_customer(&mut self) {
        self.recognition.taken = None;
        if self.recognition.identified.take().is_some()
            | self.recognition.last_msisdn.take().is_some()
        {
            tracing::debug!("the customer identified at the till is forgotten");
        }
    }

    /// [`super::api::Command::DiscardWaitingScan`]: the customer who scanned before Pay is not
    /// the one at the till. Their scan will not pay the next sale, and nobody identified
    /// carries over.
    pub(super) fn discard_waiting_scan(&mut self) {
        match self
            .db
            .tx(|c| Ok(crate::store::attempts::discard_held_checkins(c)?))
        {
            Ok(count) => {
                self.forget_customer();
                self.emit(EngineEvent::WaitingScanDiscarded { count });
            }
            Err(e) => self.storage_failed(&e),
        }
    }

    /// The cashier went back to the basket of the sale in progress (or paid a new basket
    /// instead): the customer identified at the till is still the one at the till, so the
    /// identification that sale took counts for the next Pay again (unless a newer one came).
    /// A scan's goes with its check-in, which the abandoned sale drops.
    pub(super) fn give_back_identification(&mut self) {
        if let Some(taken) = self.recognition.taken.take() {
            self.recognition.identified.get_or_insert(taken);
        }
    }

    /// Member prices on a basket about to be frozen, when the customer whose check-in the sale
    /// will use was recognised as a member. Returns that member and the saving (0 when no
    /// price applied); `None` when no member is known.
    pub(super) fn apply_member_prices(
        &mut self,
        basket: &mut crate::core::basket::Basket,
    ) -> Option<MemberAtPay> {
        let member_id = self.member_for_new_sale()?;
        let saving = self.priced_for_member(basket);
        Some(MemberAtPay { member_id, saving })
    }

    /// Applies the member prices to `basket`; returns the saving (0 when none applied).
    fn priced_for_member(&mut self, basket: &mut crate::core::basket::Basket) -> i64 {
        let prices = match self.db.read(|c| Ok(c.member_prices()?)) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "member prices could not be read");
                return 0;
            }
        };
        let mut priced = basket.clone();
        match crate::core::loyalty::apply_member_prices(&mut priced, &prices) {
            Ok(saving) if priced.check_payable().is_ok() => {
                *basket = priced;
                saving
            }
            Ok(_) => 0,
            Err(e) => {
                tracing::warn!(error = %e, "member prices could not be applied");
                0
            }
        }
    }

    /// The member for a sale about to be frozen: recognised from the check-in the sale will
    /// use, or identified at the till less than a check-in validity ago. Taken: it never
    /// carries to a later sale.
    fn member_for_new_sale(&mut self) -> Option<i64> {
        self.recognition.taken = None;
        let identified = self.recognition.identified.take()?;
        let now = self.now_ms();
        match identified.via {
            Via::Till { at_ms } => {
                let validity =
                    i64::try_from(self.config.engine.checkin_validity().as_millis()).ok()?;
                let member = (now - at_ms < validity)
                    .then_some(identified.member_id)
                    .flatten();
                if member.is_some() {
                    self.recognition.taken = Some(identified);
                }
                member
            }
            Via::CheckIn(checkin_id) => {
                let held = self
                    .db
                    .read(|c| {
                        Ok(crate::store::attempts::held_checkin(
                            c,
                            now + super::actor::TOKEN_MARGIN_MS,
                        )?)
                    })
                    .ok()
                    .flatten()?;
                (held.id == checkin_id)
                    .then_some(identified.member_id)
                    .flatten()
            }
        }
    }
}

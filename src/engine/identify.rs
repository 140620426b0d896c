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
use super::api::EngineEvent;
use crate::core::loyalty::masked_number;
use crate::vipps::{CustomerToken, PhoneNumber, VippsError};

/// The answer of one exchange, sent back to the engine.
#[derive(Debug)]
pub(super) struct Exchanged {
    checkin_id: i64,
    result: Result<PhoneNumber, VippsError>,
}

/// The customer behind the latest check-in, once the exchange answered.
#[derive(Debug, Clone)]
pub(super) struct Identified {
    pub checkin_id: i64,
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
    /// The number of the customer who scanned last (whom "Invite" invites).
    pub(super) last_msisdn: Option<PhoneNumber>,
}

impl Default for Recognition {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx,
            identified: None,
            last_msisdn: None,
        }
    }
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
        let Some(client) = self.vipps.clone() else {
            return;
        };
        if !self.loyalty_on() {
            return;
        }
        let tx = self.recognition.tx.clone();
        let token = CustomerToken::new(token);
        tokio::spawn(async move {
            let result = client
                .exchange_customer_token(&token)
                .await
                .and_then(|answer| {
                    PhoneNumber::parse(&answer.msisdn).map_err(|e| VippsError::Decode {
                        status: 200,
                        message: e.to_string(),
                    })
                });
            let _ = tx.send(Exchanged { checkin_id, result });
        });
    }

    /// An exchange answered: look the customer up (by msisdn: the exchange gives no `sub`) and
    /// tell the drivers. A failure is logged and the sale goes on without loyalty.
    pub(super) fn on_exchanged(&mut self, answer: Exchanged) {
        let msisdn = match answer.result {
            Ok(m) => m,
            Err(error) => {
                tracing::info!(checkin = answer.checkin_id, %error, "customer token exchange failed");
                return;
            }
        };
        let member = match self.db.read(|c| Ok(c.member_by_msisdn(&msisdn)?)) {
            Ok(m) => m,
            Err(e) => {
                self.storage_failed(&e);
                return;
            }
        };
        let masked = masked_number(msisdn.expose());
        match &member {
            Some(m) => {
                let points = match self.db.tx(|c| {
                    // A member who scanned after Pay: the sale that takes their check-in is
                    // theirs (for points), though its prices were frozen at Pay.
                    if let Some(sale_id) =
                        crate::store::attempts::checkin_sale(c, answer.checkin_id)?
                    {
                        c.record_member_sale(sale_id, m.id, None)?;
                    }
                    Ok(c.member_points(m.id)?)
                }) {
                    Ok(points) => points,
                    Err(e) => {
                        self.storage_failed(&e);
                        return;
                    }
                };
                self.emit(EngineEvent::MemberRecognised {
                    first_name: m.given_name.clone(),
                    masked_number: masked,
                    points,
                });
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
            }
        }
        self.recognition.last_msisdn = Some(msisdn);
        self.recognition.identified = Some(Identified {
            checkin_id: answer.checkin_id,
            member_id: member.map(|m| m.id),
        });
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

    /// The member for a sale about to be frozen: recognised from the check-in the sale will use.
    fn member_for_new_sale(&mut self) -> Option<i64> {
        let identified = self.recognition.identified.take()?;
        let now = self.now_ms();
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
        (held.id == identified.checkin_id)
            .then_some(identified.member_id)
            .flatten()
    }
}

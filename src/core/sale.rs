//! The sale state machine as plain data.
//!
//! ```text
//!  Open ──Pay──▶ AwaitingCheckIn ──CheckedIn / SendToPhone──▶ PaymentRequested
//!   ▲ CheckedIn (customer waiting)                              │  │  │  │
//!   │                                                Authorized │  │  │  └─Failed──▶ Failed
//!   │                                                           ▼  │  └─Expired──▶ Expired
//!   │                               Authorized ◀─CaptureFailed─┐   └─Declined──▶ Declined
//!   │                                   │ Capture              │
//!   │                                   ▼                      │
//!   │                               Capturing ─────────────────┘──Captured──▶ Completed
//!   │
//!   │   Cancel: AwaitingCheckIn ─▶ Cancelled; PaymentRequested, Authorized ─▶ Cancelling
//!   │   Cancelling ─Cancelled{money_released}─▶ Cancelled   (Declined/Expired there ─▶ Cancelled;
//!   │                Authorized there stays Cancelling: the cancel releases the money)
//!   └── BackToBasket from AwaitingCheckIn, Declined, Expired, Cancelled, Failed
//!       Retry (new attempt) from Declined, Expired, Cancelled, Failed ─▶ AwaitingCheckIn
//! ```
//!
//! `docs/domain.md` has the full table.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleState {
    /// The basket can be edited.
    Open,
    /// Basket frozen and stored; the till shows its QR and waits for a scan.
    AwaitingCheckIn,
    /// The payment intent is stored and the request is (being) sent to the customer.
    PaymentRequested,
    /// The customer approved; money is reserved, not yet captured.
    Authorized,
    /// Capture intent stored, capture under way.
    Capturing,
    /// Captured amount checked against the sale total. Final.
    Completed,
    /// The customer declined (Vipps `ABORTED`).
    Declined,
    /// The request timed out (Vipps `EXPIRED`).
    Expired,
    /// The cashier cancelled; waiting for Vipps to confirm a final state.
    Cancelling,
    /// No money moved, or reserved money was released.
    Cancelled,
    /// Vipps refused the request or an operation failed for good.
    Failed,
}

impl SaleState {
    pub const ALL: [SaleState; 11] = [
        SaleState::Open,
        SaleState::AwaitingCheckIn,
        SaleState::PaymentRequested,
        SaleState::Authorized,
        SaleState::Capturing,
        SaleState::Completed,
        SaleState::Declined,
        SaleState::Expired,
        SaleState::Cancelling,
        SaleState::Cancelled,
        SaleState::Failed,
    ];

    /// Stable text for storage and logs (`"awaiting_check_in"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SaleState::Open => "open",
            SaleState::AwaitingCheckIn => "awaiting_check_in",
            SaleState::PaymentRequested => "payment_requested",
            SaleState::Authorized => "authorized",
            SaleState::Capturing => "capturing",
            SaleState::Completed => "completed",
            SaleState::Declined => "declined",
            SaleState::Expired => "expired",
            SaleState::Cancelling => "cancelling",
            SaleState::Cancelled => "cancelled",
            SaleState::Failed => "failed",
        }
    }

    /// The attempt is over (the sale may still be retried unless `Completed`).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SaleState::Completed
                | SaleState::Declined
                | SaleState::Expired
                | SaleState::Cancelled
                | SaleState::Failed
        )
    }

    /// A payment exists at Vipps that may still reserve or move money: the
    /// engine must reconcile it on start-up.
    pub fn payment_in_flight(self) -> bool {
        matches!(
            self,
            SaleState::PaymentRequested
                | SaleState::Authorized
                | SaleState::Capturing
                | SaleState::Cancelling
        )
    }

    /// Retry (a new attempt) or back-to-basket are possible.
    pub fn can_retry(self) -> bool {
        matches!(
            self,
            SaleState::Declined | SaleState::Expired | SaleState::Cancelled | SaleState::Failed
        )
    }
}

impl fmt::Display for SaleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SaleState {
    type Err = UnknownSaleState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SaleState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownSaleState(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sale state {0:?}")]
pub struct UnknownSaleState(pub String);

/// Something that happened to the sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum SaleEvent {
    /// The cashier pressed Pay: the basket is frozen and stored.
    Pay,
    /// A customer scanned this till's QR (`user.checked-in.v1`). Before Pay it
    /// only marks the customer as waiting.
    CheckedIn,
    /// The cashier sends the request to a phone number instead of waiting for a scan.
    SendToPhone,
    /// Vipps reports the payment authorized.
    Authorized,
    /// Vipps reports the customer declined (`ABORTED`).
    Declined,
    /// Vipps reports the payment expired.
    Expired,
    /// Capture intent stored; capture starts.
    Capture,
    /// Capture succeeded and the captured amount equals the sale total.
    Captured,
    /// Capture failed and may be retried (or the authorization cancelled).
    CaptureFailed,
    /// The cashier cancels.
    Cancel,
    /// Vipps confirmed the cancel; `money_released` when it came after an
    /// authorization (the reserved amount was released).
    Cancelled { money_released: bool },
    /// Vipps refused the request or an operation failed for good.
    Failed,
    /// Try the same sale again: a new attempt with a new reference.
    Retry,
    /// Unfreeze the basket for editing.
    BackToBasket,
}

impl SaleEvent {
    pub const ALL: [SaleEvent; 15] = [
        SaleEvent::Pay,
        SaleEvent::CheckedIn,
        SaleEvent::SendToPhone,
        SaleEvent::Authorized,
        SaleEvent::Declined,
        SaleEvent::Expired,
        SaleEvent::Capture,
        SaleEvent::Captured,
        SaleEvent::CaptureFailed,
        SaleEvent::Cancel,
        SaleEvent::Cancelled {
            money_released: false,
        },
        SaleEvent::Cancelled {
            money_released: true,
        },
        SaleEvent::Failed,
        SaleEvent::Retry,
        SaleEvent::BackToBasket,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SaleEvent::Pay => "pay",
            SaleEvent::CheckedIn => "checked_in",
            SaleEvent::SendToPhone => "send_to_phone",
            SaleEvent::Authorized => "authorized",
            SaleEvent::Declined => "declined",
            SaleEvent::Expired => "expired",
            SaleEvent::Capture => "capture",
            SaleEvent::Captured => "captured",
            SaleEvent::CaptureFailed => "capture_failed",
            SaleEvent::Cancel => "cancel",
            SaleEvent::Cancelled { .. } => "cancelled",
            SaleEvent::Failed => "failed",
            SaleEvent::Retry => "retry",
            SaleEvent::BackToBasket => "back_to_basket",
        }
    }
}

/// Why an event cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionErrorKind {
    /// Not allowed in this state.
    Forbidden,
    /// Describes something that already happened (a duplicate or late
    /// webhook): safe to ignore.
    AlreadyApplied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply {event} in state {from}: {reason}", event = event.name())]
pub struct TransitionError {
    pub from: SaleState,
    pub event: SaleEvent,
    pub kind: TransitionErrorKind,
    pub reason: &'static str,
}

impl TransitionError {
    pub fn is_already_applied(&self) -> bool {
        self.kind == TransitionErrorKind::AlreadyApplied
    }
}

/// The next state after `event` in `state`, or why not.
pub fn transition(state: SaleState, event: SaleEvent) -> Result<SaleState, TransitionError> {
    use SaleEvent as E;
    use SaleState as S;
    let forbid = |reason| TransitionError {
        from: state,
        event,
        kind: TransitionErrorKind::Forbidden,
        reason,
    };
    let stale = |reason| TransitionError {
        from: state,
        event,
        kind: TransitionErrorKind::AlreadyApplied,
        reason,
    };
    match (state, event) {
        (S::Open, E::Pay) => Ok(S::AwaitingCheckIn),
        (_, E::Pay) => Err(forbid("the sale is already frozen")),

        // Check-in before Pay, or while a finished attempt waits for Retry:
        // the customer is waiting; the engine holds the token.
        (S::Open | S::Declined | S::Expired | S::Cancelled | S::Failed, E::CheckedIn) => Ok(state),
        (S::AwaitingCheckIn, E::CheckedIn | E::SendToPhone) => Ok(S::PaymentRequested),
        (S::Completed, E::CheckedIn) => Err(forbid("the sale is completed")),
        (_, E::CheckedIn) => Err(forbid("a payment request is already in progress")),
        (S::Open, E::SendToPhone) => Err(forbid("press Pay first")),
        (_, E::SendToPhone) => Err(forbid("not waiting for a customer")),

        (S::PaymentRequested, E::Authorized) => Ok(S::Authorized),
        // Approved while we cancel: the cancel releases the reserved money.
        (S::Cancelling, E::Authorized) => Ok(S::Cancelling),
        (S::Authorized | S::Capturing | S::Completed, E::Authorized) => {
            Err(stale("already authorized"))
        }
        (_, E::Authorized) => Err(forbid("no payment request is waiting for approval")),

        (S::PaymentRequested, E::Declined) => Ok(S::Declined),
        (S::PaymentRequested, E::Expired) => Ok(S::Expired),
        // The request ended on its own while we cancelled: nothing moved.
        (S::Cancelling, E::Declined | E::Expired) => Ok(S::Cancelled),
        (S::Declined, E::Declined) | (S::Expired, E::Expired) => Err(stale("already ended")),
        (_, E::Declined | E::Expired) => Err(forbid("no payment request is pending")),

        (S::Authorized, E::Capture) => Ok(S::Capturing),
        (S::Capturing, E::Capture) => Err(stale("capture already under way")),
        (_, E::Capture) => Err(forbid("only an authorized payment can be captured")),
        (S::Capturing, E::Captured) => Ok(S::Completed),
        (S::Completed, E::Captured) => Err(stale("already captured")),
        (_, E::Captured) => Err(forbid("no capture is under way")),
        (S::Capturing, E::CaptureFailed) => Ok(S::Authorized),
        (_, E::CaptureFailed) => Err(forbid("no capture is under way")),

        // No payment exists yet while waiting for a scan: cancel at once.
        (S::AwaitingCheckIn, E::Cancel) => Ok(S::Cancelled),
        (S::PaymentRequested | S::Authorized, E::Cancel) => Ok(S::Cancelling),
        (S::Cancelling, E::Cancel) => Err(stale("already cancelling")),
        (S::Capturing, E::Cancel) => Err(forbid("a capture is under way")),
        (S::Completed, E::Cancel) => Err(forbid("the sale is completed: refund instead")),
        (_, E::Cancel) => Err(forbid("nothing to cancel")),
        (S::Cancelling, E::Cancelled { .. }) => Ok(S::Cancelled),
        (S::Cancelled, E::Cancelled { .. }) => Err(stale("already cancelled")),
        (_, E::Cancelled { .. }) => Err(forbid("no cancel is under way")),

        (S::PaymentRequested | S::Capturing | S::Cancelling, E::Failed) => Ok(S::Failed),
        (S::Failed, E::Failed) => Err(stale("already failed")),
        (_, E::Failed) => Err(forbid("no operation is under way")),

        (S::Declined | S::Expired | S::Cancelled | S::Failed, E::Retry) => Ok(S::AwaitingCheckIn),
        (_, E::Retry) => Err(forbid(
            "only a declined, expired, cancelled or failed attempt can be retried",
        )),
        (
            S::AwaitingCheckIn | S::Declined | S::Expired | S::Cancelled | S::Failed,
            E::BackToBasket,
        ) => Ok(S::Open),
        (S::Open, E::BackToBasket) => Err(stale("the basket is already open")),
        (_, E::BackToBasket) => Err(forbid("a payment is in progress or completed")),
    }
}

/// A sale's progress: the state plus what the state alone does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    pub state: SaleState,
    /// Payment attempts started (each gets its own reference). 0 while never paid.
    pub attempt: u32,
    /// A customer checked in and no request has been sent to them yet.
    pub customer_waiting: bool,
    /// The customer approved while we were cancelling (only in `Cancelling`).
    pub approved_while_cancelling: bool,
    /// The cancel released an authorized amount (only in `Cancelled`).
    pub money_released: bool,
}

impl Default for Sale {
    fn default() -> Self {
        Sale::new()
    }
}

impl Sale {
    pub const fn new() -> Sale {
        Sale {
            state: SaleState::Open,
            attempt: 0,
            customer_waiting: false,
            approved_while_cancelling: false,
            money_released: false,
        }
    }

    /// Apply `event`; on error nothing changes.
    pub fn apply(&mut self, event: SaleEvent) -> Result<SaleState, TransitionError> {
        let next = transition(self.state, event)?;
        match event {
            SaleEvent::CheckedIn if next == self.state => self.customer_waiting = true,
            SaleEvent::CheckedIn | SaleEvent::SendToPhone => self.customer_waiting = false,
            SaleEvent::Pay | SaleEvent::Retry => self.attempt = self.attempt.saturating_add(1),
            SaleEvent::Authorized if self.state == SaleState::Cancelling => {
                self.approved_while_cancelling = true
            }
            SaleEvent::Cancelled { money_released } => {
                self.money_released = money_released || self.approved_while_cancelling
            }
            _ => {}
        }
        self.state = next;
        // The flags describe the current cancel; they end with it.
        if next != SaleState::Cancelling {
            self.approved_while_cancelling = false;
        }
        if next != SaleState::Cancelled {
            self.money_released = false;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SaleEvent as E;
    use SaleState as S;

    /// Every allowed transition. Anything not listed must be refused.
    const ALLOWED: &[(SaleState, SaleEvent, SaleState)] = &[
        (S::Open, E::Pay, S::AwaitingCheckIn),
        (S::Open, E::CheckedIn, S::Open),
        (S::Declined, E::CheckedIn, S::Declined),
        (S::Expired, E::CheckedIn, S::Expired),
        (S::Cancelled, E::CheckedIn, S::Cancelled),
        (S::Failed, E::CheckedIn, S::Failed),
        (S::AwaitingCheckIn, E::CheckedIn, S::PaymentRequested),
        (S::AwaitingCheckIn, E::SendToPhone, S::PaymentRequested),
        (S::AwaitingCheckIn, E::Cancel, S::Cancelled),
        (S::AwaitingCheckIn, E::BackToBasket, S::Open),
        (S::PaymentRequested, E::Authorized, S::Authorized),
        (S::PaymentRequested, E::Declined, S::Declined),
        (S::PaymentRequested, E::Expired, S::Expired),
        (S::PaymentRequested, E::Failed, S::Failed),
        (S::PaymentRequested, E::Cancel, S::Cancelling),
        (S::Authorized, E::Capture, S::Capturing),
        (S::Authorized, E::Cancel, S::Cancelling),
        (S::Capturing, E::Captured, S::Completed),
        (S::Capturing, E::CaptureFailed, S::Authorized),
        (S::Capturing, E::Failed, S::Failed),
        (S::Cancelling, E::Authorized, S::Cancelling),
        (S::Cancelling, E::Declined, S::Cancelled),
        (S::Cancelling, E::Expired, S::Cancelled),
        (
            S::Cancelling,
            E::Cancelled {
                money_released: false,
            },
            S::Cancelled,
        ),
        (
            S::Cancelling,
            E::Cancelled {
                money_released: true,
            },
            S::Cancelled,
        ),
        (S::Cancelling, E::Failed, S::Failed),
        (S::Declined, E::Retry, S::AwaitingCheckIn),
        (S::Expired, E::Retry, S::AwaitingCheckIn),
        (S::Cancelled, E::Retry, S::AwaitingCheckIn),
        (S::Failed, E::Retry, S::AwaitingCheckIn),
        (S::Declined, E::BackToBasket, S::Open),
        (S::Expired, E::BackToBasket, S::Open),
        (S::Cancelled, E::BackToBasket, S::Open),
        (S::Failed, E::BackToBasket, S::Open),
    ];

    #[test]
    fn every_pair_is_allowed_exactly_as_listed() {
        let mut allowed_seen = 0;
        for state in SaleState::ALL {
            for event in SaleEvent::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(s, e, _)| *s == state && *e == event)
                    .map(|(_, _, next)| *next);
                match (transition(state, event), expected) {
                    (Ok(next), Some(want)) => {
                        assert_eq!(next, want, "{state} + {event:?}");
                        allowed_seen += 1;
                    }
                    (Err(e), None) => {
                        assert_eq!((e.from, e.event), (state, event));
                        assert!(!e.reason.is_empty());
                    }
                    (got, want) => panic!("{state} + {event:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(allowed_seen, ALLOWED.len());
    }

    #[test]
    fn forbidden_transitions_say_why() {
        let e = transition(S::Completed, E::Cancel).unwrap_err();
        assert_eq!(e.kind, TransitionErrorKind::Forbidden);
        assert_eq!(
            e.to_string(),
            "cannot apply cancel in state completed: the sale is completed: refund instead"
        );
        assert_eq!(
            transition(S::Capturing, E::Cancel).unwrap_err().reason,
            "a capture is under way"
        );
        assert!(transition(S::Open, E::Authorized).is_err());
        assert!(transition(S::Completed, E::Retry).is_err());
        assert!(transition(S::Authorized, E::Retry).is_err());
        assert!(transition(S::PaymentRequested, E::BackToBasket).is_err());
        assert!(transition(S::Open, E::Captured).is_err());
        assert!(transition(S::PaymentRequested, E::CheckedIn).is_err());
        // Duplicate or late webhooks are recognisable as harmless.
        for (state, event) in [
            (S::Authorized, E::Authorized),
            (S::Capturing, E::Authorized),
            (S::Completed, E::Authorized),
            (S::Completed, E::Captured),
            (S::Declined, E::Declined),
            (
                S::Cancelled,
                E::Cancelled {
                    money_released: false,
                },
            ),
        ] {
            assert!(transition(state, event).unwrap_err().is_already_applied());
        }
        assert!(
            !transition(S::Open, E::Authorized)
                .unwrap_err()
                .is_already_applied()
        );
    }

    #[test]
    fn happy_path_with_customer_waiting_before_pay() {
        let mut sale = Sale::new();
        sale.apply(E::CheckedIn).unwrap();
        assert!(sale.customer_waiting);
        assert_eq!(sale.state, S::Open);
        assert_eq!(sale.apply(E::Pay).unwrap(), S::AwaitingCheckIn);
        assert_eq!(sale.attempt, 1);
        assert_eq!(sale.apply(E::CheckedIn).unwrap(), S::PaymentRequested);
        assert!(!sale.customer_waiting);
        sale.apply(E::Authorized).unwrap();
        sale.apply(E::Capture).unwrap();
        assert_eq!(sale.apply(E::Captured).unwrap(), S::Completed);
        assert!(sale.state.is_final());
        let before = sale;
        assert!(sale.apply(E::Retry).is_err());
        assert_eq!(sale, before, "a refused event changes nothing");
    }

    #[test]
    fn retry_and_back_to_basket_count_attempts() {
        let mut sale = Sale::new();
        sale.apply(E::Pay).unwrap();
        sale.apply(E::SendToPhone).unwrap();
        sale.apply(E::Declined).unwrap();
        assert!(sale.state.can_retry());
        sale.apply(E::Retry).unwrap();
        assert_eq!((sale.state, sale.attempt), (S::AwaitingCheckIn, 2));
        sale.apply(E::CheckedIn).unwrap();
        sale.apply(E::Expired).unwrap();
        sale.apply(E::BackToBasket).unwrap();
        assert_eq!(sale.state, S::Open);
        sale.apply(E::Pay).unwrap();
        assert_eq!(sale.attempt, 3);
    }

    #[test]
    fn cancel_races_with_approval() {
        let mut sale = Sale::new();
        sale.apply(E::Pay).unwrap();
        sale.apply(E::CheckedIn).unwrap();
        assert_eq!(sale.apply(E::Cancel).unwrap(), S::Cancelling);
        assert!(sale.state.payment_in_flight());
        // The customer approved while the cancel was on its way.
        assert_eq!(sale.apply(E::Authorized).unwrap(), S::Cancelling);
        sale.apply(E::Cancelled {
            money_released: false,
        })
        .unwrap();
        assert_eq!(sale.state, S::Cancelled);
        assert!(
            sale.money_released,
            "approval during cancel means money was released"
        );

        let mut plain = Sale::new();
        plain.apply(E::Pay).unwrap();
        plain.apply(E::Cancel).unwrap();
        assert_eq!((plain.state, plain.money_released), (S::Cancelled, false));
        plain.apply(E::Retry).unwrap();
        plain.apply(E::CheckedIn).unwrap();
        plain.apply(E::Authorized).unwrap();
        plain.apply(E::Cancel).unwrap();
        plain
            .apply(E::Cancelled {
                money_released: true,
            })
            .unwrap();
        assert!(plain.money_released);
    }

    #[test]
    fn state_names_round_trip() {
        for state in SaleState::ALL {
            assert_eq!(state.as_str().parse::<SaleState>(), Ok(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::String(state.as_str().into())
            );
        }
        assert!("paid".parse::<SaleState>().is_err());
        assert_eq!(
            serde_json::to_value(E::Cancelled {
                money_released: true
            })
            .unwrap(),
            serde_json::json!({"event": "cancelled", "money_released": true})
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Random event sequences: refused events change nothing, accepted ones
        /// follow `transition`, and the bookkeeping stays consistent.
        #[test]
        fn random_walks_keep_invariants(
            events in proptest::collection::vec(proptest::sample::select(SaleEvent::ALL.to_vec()), 0..60)
        ) {
            let mut sale = Sale::new();
            for event in events {
                let before = sale;
                let expected = transition(before.state, event);
                match sale.apply(event) {
                    Ok(next) => {
                        proptest::prop_assert_eq!(Ok(next), expected);
                        proptest::prop_assert_eq!(sale.state, next);
                        proptest::prop_assert!(sale.attempt >= before.attempt);
                    }
                    Err(e) => {
                        proptest::prop_assert_eq!(Err(e), expected);
                        proptest::prop_assert_eq!(sale, before);
                    }
                }
                if sale.state == S::Completed {
                    proptest::prop_assert!(before.state == S::Capturing || before.state == S::Completed);
                }
                if matches!(sale.state, S::PaymentRequested | S::Authorized | S::Capturing | S::Cancelling) {
                    proptest::prop_assert!(!sale.customer_waiting);
                    proptest::prop_assert!(sale.attempt >= 1);
                }
                if sale.money_released {
                    proptest::prop_assert_eq!(sale.state, S::Cancelled);
                }
                if sale.approved_while_cancelling {
                    proptest::prop_assert_eq!(sale.state, S::Cancelling);
                }
            }
        }
    }
}

//! The payment model and the one decision about money.
//!
//! A sale's payment at Vipps is an *attempt* (one reference). Every call that can move money
//! is an *operation* (create, capture, cancel, refund) whose intent is stored before the call.
//! [`decide`] looks at what the till has stored about an attempt and at the payment as last
//! read from Vipps, and says what to do next. It is pure: the live flow and start-up recovery
//! both read, call it, and carry out the step; neither decides on its own.
//!
//! The rules it keeps (property-tested below):
//! - money is captured only when a capture decision is stored ([`Step::Capture`]), or decided
//!   now by the live flow with the customer at the till ([`Step::DecideCapture`]);
//! - a capture is always the exact sale total, and only when nothing is captured yet;
//! - money reserved at Vipps always gets a next step (capture, cancel or the admin);
//! - a 404 never proves "not created" once a create request may have left the till: the
//!   create is re-sent with its stored key and body, which makes the outcome certain.

use std::fmt;

/// Declares an enum stored as text: `as_str`, `parse` and `Display` in one place.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value for a stored text.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// Where an attempt stands, as the till records it.
    AttemptStatus {
        /// The create intent is stored; the request may be on its way.
        Creating => "creating",
        /// Vipps has the payment; the customer is deciding.
        Requested => "requested",
        Authorized => "authorized",
        /// The capture decision and intent are stored.
        Capturing => "capturing",
        /// The cancel decision and intent are stored.
        Cancelling => "cancelling",
        Completed => "completed",
        Declined => "declined",
        Expired => "expired",
        Cancelled => "cancelled",
        /// Vipps refused the create for good.
        Rejected => "rejected",
        /// Vipps does not have the payment and never will.
        NotCreated => "not_created",
        NeedsAdmin => "needs_admin",
    }
}

text_enum! {
    /// What to do with money the customer reserves. No decision means cancel.
    Decision {
        Capture => "capture",
        Cancel => "cancel",
    }
}

text_enum! {
    /// Operations that carry an idempotency key.
    OpKind {
        Create => "create",
        Capture => "capture",
        Cancel => "cancel",
        Refund => "refund",
    }
}

text_enum! {
    /// Where an operation stands.
    OpStatus {
        /// Stored before the call; no final answer yet.
        Intended => "intended",
        Succeeded => "succeeded",
        /// Vipps refused it for good (a 4xx sticks to its key).
        Rejected => "rejected",
        /// Closed without an answer (the payment was settled another way).
        Abandoned => "abandoned",
    }
}

text_enum! {
    /// Who the payment request went to.
    CustomerKind {
        /// The customer token of a check-in (the till's QR was scanned).
        Token => "token",
        /// A typed phone number.
        Phone => "phone",
        /// The customer's personal QR, scanned at the till.
        PersonalQr => "personal_qr",
        /// A payment-specific QR on the till's screen, scanned by the customer.
        OneTimeQr => "one_time_qr",
    }
}

impl AttemptStatus {
    /// True for a status after which nothing more happens at Vipps (refunds aside).
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::Declined
                | Self::Expired
                | Self::Cancelled
                | Self::Rejected
                | Self::NotCreated
                | Self::NeedsAdmin
        )
    }
}

/// The payment's state at Vipps (`UNKNOWN`, a state this build does not know, reads as
/// [`VippsState::Created`]: still open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VippsState {
    Created,
    Authorized,
    Aborted,
    Expired,
    Terminated,
}

/// A payment as read from Vipps (`GET /epayment/v1/payments/{reference}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub state: VippsState,
    /// The payment's amount.
    pub amount: i64,
    pub authorized: i64,
    pub captured: i64,
    pub cancelled: i64,
}

impl Seen {
    /// Authorized money neither captured nor released.
    pub fn reserved(&self) -> i64 {
        (self.authorized - self.captured - self.cancelled).max(0)
    }
}

/// The answer of the last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Vipps answered 404: it does not have the payment (yet).
    NotFound,
    Payment(Seen),
}

/// The last operation of one kind, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Intent {
    /// None stored.
    #[default]
    None,
    /// Stored, and certainly never sent (the till stopped before the request left).
    Unsent,
    /// Sent (or maybe sent), no final answer: re-send it with the same key.
    Open,
    Succeeded,
    Rejected,
}

impl Intent {
    /// The intent for the latest stored operation of a kind: its status, and whether its
    /// request may have left the till.
    pub fn of(status: Option<OpStatus>, maybe_sent: bool) -> Self {
        match status {
            None => Self::None,
            Some(OpStatus::Intended) if !maybe_sent => Self::Unsent,
            Some(OpStatus::Intended) => Self::Open,
            Some(OpStatus::Succeeded) => Self::Succeeded,
            Some(OpStatus::Rejected | OpStatus::Abandoned) => Self::Rejected,
        }
    }
}

/// What the till has stored about an attempt, as far as the decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The sale total: the only amount ever captured.
    pub amount: i64,
    pub decision: Option<Decision>,
    pub create: Intent,
    pub capture: Intent,
}

/// Who is deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// The sale in progress: the customer is at the till and the cashier waits. It may decide
    /// to capture. `past_expiry` once the request has outlived its expiry.
    Live { past_expiry: bool },
    /// Start-up or background reconciliation: nobody is at that sale any more, so money
    /// without a stored capture decision is released.
    Recovery,
}

/// Why an attempt needs a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminReason {
    /// Vipps' amounts do not match the sale (the reservation is released, and the admin told).
    AmountMismatch {
        amount: i64,
        authorized: i64,
        total: i64,
    },
    /// Money was captured that Kasse did not decide, or not the sale total.
    UnexpectedCapture {
        captured: i64,
        cancelled: i64,
        total: i64,
    },
    /// The capture decision stands but Vipps refused the capture for good.
    CaptureRejected { total: i64 },
    /// Vipps accepted the capture but shows nothing captured.
    CaptureNotSeen { total: i64 },
    /// Vipps confirmed the create once and now says it has no such payment.
    CreatedButNotFound,
}

impl fmt::Display for AdminReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AmountMismatch {
                amount,
                authorized,
                total,
            } => write!(
                f,
                "Vipps says amount {amount} / authorized {authorized} but the sale total is {total}"
            ),
            Self::UnexpectedCapture {
                captured,
                cancelled,
                total,
            } => write!(
                f,
                "{captured} captured and {cancelled} cancelled of {total}, not as Kasse decided"
            ),
            Self::CaptureRejected { total } => {
                write!(f, "the capture of {total} was rejected by Vipps")
            }
            Self::CaptureNotSeen { total } => {
                write!(
                    f,
                    "Vipps accepted the capture of {total} but shows nothing captured"
                )
            }
            Self::CreatedButNotFound => {
                f.write_str("Vipps confirmed the payment once and now does not find it")
            }
        }
    }
}

/// How an attempt ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Captured the sale total exactly.
    Completed,
    Declined,
    Expired,
    /// Ended by a cancel; `money_released` when an authorization was released.
    Cancelled {
        money_released: bool,
    },
    /// Vipps does not have it and never will.
    NotCreated,
    NeedsAdmin(AdminReason),
}

impl Outcome {
    /// The attempt status this outcome records.
    pub fn status(&self) -> AttemptStatus {
        match self {
            Self::Completed => AttemptStatus::Completed,
            Self::Declined => AttemptStatus::Declined,
            Self::Expired => AttemptStatus::Expired,
            Self::Cancelled { .. } => AttemptStatus::Cancelled,
            Self::NotCreated => AttemptStatus::NotCreated,
            Self::NeedsAdmin(_) => AttemptStatus::NeedsAdmin,
        }
    }
}

/// The next step for an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send the create again with its stored key and body: Vipps answers with the original
    /// result, or creates it now; either way the outcome is then certain.
    ResendCreate,
    /// Nothing to do yet: the customer is deciding. Read again later.
    Wait,
    /// Store the capture decision and intent, then capture `amount` (live flow only).
    DecideCapture { amount: i64 },
    /// Send the stored capture intent (same key) for `amount`.
    Capture { amount: i64 },
    /// Store the cancel decision (if not yet) and cancel; `admin` when the reason must also be
    /// shown to the admin.
    Cancel { admin: Option<AdminReason> },
    /// Record this end.
    Settle(Outcome),
}

impl Step {
    /// True when the step moves money at Vipps towards the merchant.
    pub fn captures(&self) -> bool {
        matches!(self, Self::Capture { .. } | Self::DecideCapture { .. })
    }
}

/// The one decision: what to do with an attempt, given what is stored and what Vipps said.
pub fn decide(stored: &Stored, read: &Read, asker: Asker) -> Step {
    let seen = match read {
        Read::NotFound => return not_found(stored),
        Read::Payment(seen) => seen,
    };
    match seen.state {
        VippsState::Aborted => Step::Settle(Outcome::Declined),
        VippsState::Expired => Step::Settle(Outcome::Expired),
        VippsState::Terminated => Step::Settle(Outcome::Cancelled {
            money_released: false,
        }),
        VippsState::Created => match (asker, stored.decision) {
            (Asker::Live { past_expiry: false }, None) => Step::Wait,
            // Recovery, a cancel decision, or past expiry: withdraw the request.
            _ => Step::Cancel { admin: None },
        },
        VippsState::Authorized => authorized(stored, seen, asker),
    }
}

fn not_found(stored: &Stored) -> Step {
    match stored.create {
        // The create may still land (a request outlives the process that sent it).
        Intent::Open | Intent::None => Step::ResendCreate,
        Intent::Unsent | Intent::Rejected => Step::Settle(Outcome::NotCreated),
        Intent::Succeeded => Step::Settle(Outcome::NeedsAdmin(AdminReason::CreatedButNotFound)),
    }
}

fn authorized(stored: &Stored, seen: &Seen, asker: Asker) -> Step {
    let total = stored.amount;
    let unexpected = || AdminReason::UnexpectedCapture {
        captured: seen.captured,
        cancelled: seen.cancelled,
        total,
    };
    let capture_decided = stored.decision == Some(Decision::Capture);
    // Fully captured, nothing cancelled: completed when Kasse decided it, or when the cashier
    // is still at the sale (captured in full outside Kasse, e.g. the business portal).
    if seen.captured == total && seen.cancelled == 0 {
        return match (capture_decided, asker, stored.decision) {
            (true, _, _) | (false, Asker::Live { .. }, None) => Step::Settle(Outcome::Completed),
            _ => Step::Settle(Outcome::NeedsAdmin(unexpected())),
        };
    }
    if seen.captured > 0 {
        return Step::Settle(Outcome::NeedsAdmin(unexpected()));
    }
    // Nothing captured.
    if seen.cancelled > 0 && seen.reserved() == 0 {
        return Step::Settle(Outcome::Cancelled {
            money_released: true,
        });
    }
    if capture_decided {
        if seen.cancelled != 0 || seen.authorized != total {
            return Step::Settle(Outcome::NeedsAdmin(unexpected()));
        }
        return match stored.capture {
            Intent::Open | Intent::Unsent => Step::Capture { amount: total },
            Intent::Succeeded => {
                Step::Settle(Outcome::NeedsAdmin(AdminReason::CaptureNotSeen { total }))
            }
            Intent::Rejected | Intent::None => {
                Step::Settle(Outcome::NeedsAdmin(AdminReason::CaptureRejected { total }))
            }
        };
    }
    let live_undecided =
        matches!(asker, Asker::Live { past_expiry: false }) && stored.decision.is_none();
    if !live_undecided {
        return Step::Cancel { admin: None };
    }
    if seen.amount != total || seen.authorized != total || seen.cancelled != 0 {
        return Step::Cancel {
            admin: Some(AdminReason::AmountMismatch {
                amount: seen.amount,
                authorized: seen.authorized,
                total,
            }),
        };
    }
    Step::DecideCapture { amount: total }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stored(decision: Option<Decision>, capture: Intent) -> Stored {
        Stored {
            amount: 12_900,
            decision,
            create: Intent::Succeeded,
            capture,
        }
    }

    fn seen(state: VippsState, authorized: i64, captured: i64, cancelled: i64) -> Read {
        Read::Payment(Seen {
            state,
            amount: 12_900,
            authorized,
            captured,
            cancelled,
        })
    }

    const LIVE: Asker = Asker::Live { past_expiry: false };

    #[test]
    fn the_sale_path() {
        let s = stored(None, Intent::None);
        assert_eq!(
            decide(&s, &seen(VippsState::Created, 0, 0, 0), LIVE),
            Step::Wait
        );
        assert_eq!(
            decide(&s, &seen(VippsState::Authorized, 12_900, 0, 0), LIVE),
            Step::DecideCapture { amount: 12_900 }
        );
        let s = stored(Some(Decision::Capture), Intent::Open);
        assert_eq!(
            decide(&s, &seen(VippsState::Authorized, 12_900, 0, 0), LIVE),
            Step::Capture { amount: 12_900 }
        );
        let s = stored(Some(Decision::Capture), Intent::Succeeded);
        assert_eq!(
            decide(&s, &seen(VippsState::Authorized, 12_900, 12_900, 0), LIVE),
            Step::Settle(Outcome::Completed)
        );
    }

    #[test]
    fn recovery_releases_what_was_not_decided() {
        let s = stored(None, Intent::None);
        assert_eq!(
            decide(
                &s,
                &seen(VippsState::Authorized, 12_900, 0, 0),
                Asker::Recovery
            ),
            Step::Cancel { admin: None }
        );
        assert_eq!(
            decide(&s, &seen(VippsState::Created, 0, 0, 0), Asker::Recovery),
            Step::Cancel { admin: None }
        );
        assert_eq!(
            decide(
                &s,
                &seen(VippsState::Authorized, 12_900, 0, 12_900),
                Asker::Recovery
            ),
            Step::Settle(Outcome::Cancelled {
                money_released: true
            })
        );
    }

    #[test]
    fn a_404_is_not_proof_while_a_create_is_open() {
        let mut s = stored(None, Intent::None);
        s.create = Intent::Open;
        assert_eq!(
            decide(&s, &Read::NotFound, Asker::Recovery),
            Step::ResendCreate
        );
        // Stopped before the request left: certainly not created.
        s.create = Intent::Unsent;
        assert_eq!(
            decide(&s, &Read::NotFound, Asker::Recovery),
            Step::Settle(Outcome::NotCreated)
        );
        s.create = Intent::Rejected;
        assert_eq!(
            decide(&s, &Read::NotFound, Asker::Recovery),
            Step::Settle(Outcome::NotCreated)
        );
        s.create = Intent::Succeeded;
        assert_eq!(
            decide(&s, &Read::NotFound, Asker::Recovery),
            Step::Settle(Outcome::NeedsAdmin(AdminReason::CreatedButNotFound))
        );
    }

    #[test]
    fn wrong_amounts_are_cancelled_and_shown_to_the_admin() {
        let s = stored(None, Intent::None);
        let step = decide(&s, &seen(VippsState::Authorized, 10_000, 0, 0), LIVE);
        assert!(matches!(
            step,
            Step::Cancel {
                admin: Some(AdminReason::AmountMismatch { .. })
            }
        ));
        // Partly captured elsewhere: the admin decides, nothing is released or captured.
        let step = decide(
            &s,
            &seen(VippsState::Authorized, 12_900, 5_000, 7_900),
            LIVE,
        );
        assert!(matches!(
            step,
            Step::Settle(Outcome::NeedsAdmin(AdminReason::UnexpectedCapture { .. }))
        ));
    }

    #[test]
    fn a_rejected_capture_goes_to_the_admin() {
        let s = stored(Some(Decision::Capture), Intent::Rejected);
        assert_eq!(
            decide(
                &s,
                &seen(VippsState::Authorized, 12_900, 0, 0),
                Asker::Recovery
            ),
            Step::Settle(Outcome::NeedsAdmin(AdminReason::CaptureRejected {
                total: 12_900
            }))
        );
    }

    #[test]
    fn stored_texts_round_trip() {
        for s in AttemptStatus::ALL {
            assert_eq!(AttemptStatus::parse(s.as_str()), Some(*s));
        }
        for d in Decision::ALL {
            assert_eq!(Decision::parse(d.as_str()), Some(*d));
        }
        for k in OpKind::ALL {
            assert_eq!(OpKind::parse(k.as_str()), Some(*k));
        }
        for s in OpStatus::ALL {
            assert_eq!(OpStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(AttemptStatus::parse("capture"), None);
    }

    fn any_intent() -> impl Strategy<Value = Intent> {
        prop_oneof![
            Just(Intent::None),
            Just(Intent::Unsent),
            Just(Intent::Open),
            Just(Intent::Succeeded),
            Just(Intent::Rejected)
        ]
    }

    fn any_stored() -> impl Strategy<Value = Stored> {
        (
            1i64..100_000,
            prop_oneof![
                Just(None),
                Just(Some(Decision::Capture)),
                Just(Some(Decision::Cancel))
            ],
            any_intent(),
            any_intent(),
        )
            .prop_map(|(amount, decision, create, capture)| Stored {
                amount,
                decision,
                create,
                capture,
            })
    }

    /// Payments Vipps can show for a stored attempt: amounts near the total (equal, off by a
    /// little, or anything), with captured + cancelled never above authorized.
    fn any_read(total: i64) -> impl Strategy<Value = Read> {
        let amount = prop_oneof![Just(total), 1i64..200_000];
        let state = prop_oneof![
            Just(VippsState::Created),
            Just(VippsState::Authorized),
            Just(VippsState::Aborted),
            Just(VippsState::Expired),
            Just(VippsState::Terminated)
        ];
        let seen = (state, amount.clone(), amount, 0u8..4, 0u8..4, 0i64..200_000).prop_map(
            move |(state, amount, authorized, c, x, any)| {
                let authorized = if state == VippsState::Authorized {
                    authorized
                } else {
                    0
                };
                let part = |k: u8| match k {
                    0 => 0,
                    1 => authorized,
                    2 => authorized / 2,
                    _ => any.min(authorized),
                };
                let captured = part(c);
                let cancelled = part(x).min(authorized - captured);
                Read::Payment(Seen {
                    state,
                    amount,
                    authorized,
                    captured,
                    cancelled,
                })
            },
        );
        prop_oneof![1 => Just(Read::NotFound), 6 => seen]
    }

    fn any_case() -> impl Strategy<Value = (Stored, Read, Asker)> {
        any_stored().prop_flat_map(|s| {
            let asker = prop_oneof![
                Just(Asker::Recovery),
                Just(Asker::Live { past_expiry: false }),
                Just(Asker::Live { past_expiry: true })
            ];
            (Just(s), any_read(s.amount), asker)
        })
    }

    proptest! {
        /// Never captures without a stored capture decision (or the live flow deciding it now
        /// with the customer at the till and nothing decided before).
        #[test]
        fn never_captures_without_a_decision((s, r, asker) in any_case()) {
            match decide(&s, &r, asker) {
                Step::Capture { .. } => prop_assert_eq!(s.decision, Some(Decision::Capture)),
                Step::DecideCapture { .. } => {
                    prop_assert_eq!(s.decision, None);
                    prop_assert_eq!(asker, Asker::Live { past_expiry: false });
                }
                _ => {}
            }
        }

        /// A capture is the exact sale total, only when nothing is captured or cancelled yet
        /// and Vipps authorized exactly that total.
        #[test]
        fn never_captures_more_than_the_total((s, r, asker) in any_case()) {
            let step = decide(&s, &r, asker);
            if let Step::Capture { amount } | Step::DecideCapture { amount } = step {
                let Read::Payment(seen) = r else { panic!("capture without a payment") };
                prop_assert_eq!(amount, s.amount);
                prop_assert_eq!(seen.captured, 0);
                prop_assert_eq!(seen.cancelled, 0);
                prop_assert_eq!(seen.authorized, s.amount);
            }
        }

        /// Reserved money always gets a next step: never "wait" and never a quiet settle
        /// while authorized money is neither captured nor released.
        #[test]
        fn reserved_money_always_has_a_next_step((s, r, asker) in any_case()) {
            let step = decide(&s, &r, asker);
            if let Read::Payment(seen) = r && seen.state == VippsState::Authorized && seen.reserved() > 0 {
                let ok = matches!(
                    step,
                    Step::Capture { .. } | Step::DecideCapture { .. } | Step::Cancel { .. }
                        | Step::Settle(Outcome::NeedsAdmin(_))
                );
                prop_assert!(ok, "{:?} leaves {} reserved", step, seen.reserved());
            }
        }

        /// Deciding again on a re-read after the step took effect never moves money twice:
        /// once anything is captured, no step captures.
        #[test]
        fn idempotent_on_a_re_read((s, r, asker) in any_case()) {
            let first = decide(&s, &r, asker);
            prop_assert_eq!(&first, &decide(&s, &r, asker));
            if let Read::Payment(seen) = r && seen.captured > 0 {
                prop_assert!(!first.captures());
            }
            // The capture took effect: the re-read settles, it does not capture again.
            if let Step::Capture { amount } | Step::DecideCapture { amount } = first {
                let Read::Payment(seen) = r else { unreachable!() };
                let after = Read::Payment(Seen { captured: amount, ..seen });
                let decided = Stored { decision: Some(Decision::Capture), capture: Intent::Succeeded, ..s };
                prop_assert_eq!(decide(&decided, &after, asker), Step::Settle(Outcome::Completed));
            }
        }

        /// A settled outcome stays settled on the same read (no flip-flopping on re-reads).
        #[test]
        fn a_final_state_settles((s, r, asker) in any_case()) {
            if let Read::Payment(seen) = r
                && matches!(seen.state, VippsState::Aborted | VippsState::Expired | VippsState::Terminated)
            {
                prop_assert!(matches!(decide(&s, &r, asker), Step::Settle(_)));
            }
        }
    }
}

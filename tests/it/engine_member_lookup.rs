//! Loyalty: finding a member without a scan's exchange. The cashier types the customer's
//! number (`Command::IdentifyCustomer`), or scans the customer's personal QR; and the customer
//! token that runs out before the payment (issue #13): the till asks for a new scan and the
//! member keeps the member prices they were known for at Pay.

use std::time::Duration;

use crate::engine_support::loyalty::{quick_logins, set_up, two_coffees};
use crate::engine_support::*;
use kasse::engine::{Command, EngineEvent, EngineOptions, MessageId, PersonalQr};
use kasse::sim::DEFAULT_CUSTOMER_PHONE;
use kasse::store::Store;
use kasse::vipps::PhoneNumber;
use tokio::sync::broadcast::Receiver;

/// 2 × 45.00 at full price.
const FULL: i64 = 9_000;
/// 2 × 39.00 at the member price.
const MEMBER: i64 = 7_800;
const SAVING: i64 = FULL - MEMBER;

fn recognised_kari(points: i64) -> impl Fn(&EngineEvent) -> bool {
    move |e| {
        matches!(e, EngineEvent::MemberRecognised { first_name: Some(n), masked_number, points: p }
            if n == "Kari" && masked_number.ends_with(" 78") && !masked_number.contains("4712")
                && *p == points)
    }
}

/// The cashier types Kari's number as `typed`; returns once she is recognised (no points yet).
async fn typed_kari(till: &mut TestTill, typed: &str) {
    till.send(Command::IdentifyCustomer {
        phone_number: typed.into(),
    });
    till.wait_for("Kari recognised", recognised_kari(0)).await;
}

/// Presses Pay and returns the events up to the sale waiting for its customer.
async fn pay(till: &mut TestTill) -> Vec<EngineEvent> {
    till.send(Command::Pay {
        basket: two_coffees(),
    });
    let mut seen = Vec::new();
    loop {
        let e = till.wait_for("awaiting check-in", |_| true).await;
        let done = matches!(e, EngineEvent::AwaitingCheckIn { .. });
        seen.push(e);
        if done {
            return seen;
        }
    }
}

fn saving_of(events: &[EngineEvent]) -> Option<i64> {
    events.iter().find_map(|e| match e {
        EngineEvent::MemberPrices { saving, .. } => Some(*saving),
        _ => None,
    })
}

fn sale_of(store: &Store, reference: &str) -> i64 {
    store
        .conn()
        .query_row(
            "SELECT sale_id FROM payment_attempt WHERE reference = ?1",
            [reference],
            |r| r.get(0),
        )
        .unwrap()
}

/// The member a sale was recorded for, if any.
fn member_of_sale(store: &Store, sale_id: i64) -> Option<i64> {
    use rusqlite::OptionalExtension;
    store
        .conn()
        .query_row(
            "SELECT member_id FROM member_sale WHERE sale_id = ?1",
            [sale_id],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
}

fn kari(store: &Store) -> kasse::store::loyalty::Member {
    store
        .member_by_msisdn(&PhoneNumber::parse(DEFAULT_CUSTOMER_PHONE).unwrap())
        .unwrap()
        .expect("Kari is a member")
}

async fn completed(rx: &mut Receiver<EngineEvent>) {
    wait_for(rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
}

/// Pushes the waiting sale's payment to another customer's number (no scan, so no loyalty
/// exchange), approves it and waits for completion. Returns the reference.
async fn paid_by_another_phone(till: &mut TestTill) -> String {
    let reference = till.push_to("4791234567").await;
    till.approve(&reference).await;
    reference
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_a_typed_number_gives_the_next_sale_member_prices_and_no_later_one() {
    let env = Env::start().await;
    set_up(&env, true);
    let mut till = TestTill::on(env).await;

    // Typed as the customer says it: national, with spaces (the till is Norwegian).
    typed_kari(&mut till, "123 45 678").await;

    // Pay: the member prices apply before the sale is frozen; the customer then scans.
    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), Some(SAVING));
    let reference = till.customer_scans_and_approves().await;
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.amount.value, MEMBER);
    assert_eq!(p.aggregate.captured_amount.value, MEMBER);
    let store = till.env.store();
    let sale_id = sale_of(&store, &reference);
    let member = kari(&store);
    assert_eq!(member_of_sale(&store, sale_id), Some(member.id));
    assert_eq!(
        store.get_sale(sale_id).unwrap().unwrap().member_saving,
        SAVING
    );
    assert_eq!(store.member_points(member.id).unwrap(), 78);

    // The next sale is another customer's: the typed number was used up by the first.
    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), None, "{events:?}");
    let reference = paid_by_another_phone(&mut till).await;
    assert_eq!(till.captured(&reference).await, FULL);
    assert_eq!(member_of_sale(&store, sale_of(&store, &reference)), None);
    assert_eq!(store.member_points(member.id).unwrap(), 78);
    till.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_a_typed_number_that_is_no_member_is_invited_and_pays_the_member_price() {
    let env = quick_logins().await;
    set_up(&env, false);
    let mut till = TestTill::on(env).await;

    till.send(Command::IdentifyCustomer {
        phone_number: "+47 12 34 56 78".into(),
    });
    till.wait_for("not a member", |e| {
        matches!(e, EngineEvent::NotAMember { masked_number, programme }
            if masked_number.ends_with(" 78") && programme == "Kaffeklubben")
    })
    .await;
    // "Invite to Kaffeklubben" invites the typed number.
    till.send(Command::InviteMember { phone_number: None });
    let code = match till
        .wait_for("invite pending", |e| {
            matches!(e, EngineEvent::InvitePending { .. })
        })
        .await
    {
        EngineEvent::InvitePending {
            binding_message, ..
        } => binding_message,
        _ => unreachable!(),
    };
    let control = till.env.demo.phone.control();
    let login = control.logins().await.unwrap().pop().unwrap();
    assert_eq!(login.msisdn, DEFAULT_CUSTOMER_PHONE);
    assert_eq!(login.binding_message.as_deref(), Some(code.as_str()));
    control
        .approve_login(&login.auth_req_id, "Kari", None)
        .await
        .unwrap();
    till.wait_for("enrolled", |e| {
        matches!(e, EngineEvent::MemberEnrolled { .. })
    })
    .await;

    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), Some(SAVING));
    let reference = paid_by_another_phone(&mut till).await;
    assert_eq!(till.captured(&reference).await, MEMBER);
    let store = till.env.store();
    assert_eq!(
        member_of_sale(&store, sale_of(&store, &reference)),
        Some(kari(&store).id)
    );
    till.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_a_cleared_basket_forgets_the_typed_customer() {
    let env = Env::start().await;
    set_up(&env, true);
    let mut till = TestTill::on(env).await;
    typed_kari(&mut till, DEFAULT_CUSTOMER_PHONE).await;
    // The customer leaves; the cashier clears the basket for the next one.
    till.send(Command::ForgetCustomer);
    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), None, "{events:?}");
    let reference = paid_by_another_phone(&mut till).await;
    assert_eq!(till.captured(&reference).await, FULL);
    let store = till.env.store();
    assert_eq!(member_of_sale(&store, sale_of(&store, &reference)), None);
    till.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_refuses_a_bad_number_and_needs_loyalty_on() {
    let mut till = TestTill::start().await;
    let problem = |id: MessageId| move |e: &EngineEvent| matches!(e, EngineEvent::Problem { message_id, .. } if *message_id == id);
    till.send(Command::IdentifyCustomer {
        phone_number: "12345678".into(),
    });
    till.wait_for("loyalty off", problem(MessageId::LoyaltyOff))
        .await;

    set_up(&till.env, true);
    till.send(Command::IdentifyCustomer {
        phone_number: "1234".into(),
    });
    let refused = till
        .wait_for("invalid phone", problem(MessageId::InvalidPhone))
        .await;
    let EngineEvent::Problem { detail, .. } = refused else {
        unreachable!()
    };
    assert!(!detail.unwrap_or_default().contains("1234"), "masked");
    // Nothing was identified: Pay has no member prices.
    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), None, "{events:?}");
    till.shutdown().await;
}

/// The cashier scans the customer's personal QR at Pay: the payment goes to them at once
/// (no relay needed), and beside it the QR is exchanged for the number (`POST /qr/v1/exchange`)
/// and the member recognised: the sale is theirs (points), its prices stay as frozen at Pay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_a_personal_qr_scanned_at_the_till_recognises_the_member() {
    let env = Env::start().await;
    set_up(&env, true);
    let mut till = TestTill::on_with(
        env,
        EngineOptions {
            without_relay: true,
            ..Default::default()
        },
    )
    .await;
    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), None);
    let content = till.env.demo.phone.personal_qr().await.unwrap();
    till.send(Command::SendToPersonalQr {
        content: PersonalQr(content),
    });
    // Both come, in either order: the exchange runs beside the payment.
    let (mut reference, mut recognised) = (None, false);
    while reference.is_none() || !recognised {
        match till
            .wait_for("request and recognition", |e| {
                matches!(e, EngineEvent::PaymentRequested { .. }) || recognised_kari(0)(e)
            })
            .await
        {
            EngineEvent::PaymentRequested { reference: r, .. } => reference = Some(r),
            _ => recognised = true,
        }
    }
    let reference = reference.unwrap();
    till.env.demo.phone.approve(&reference).await.unwrap();
    completed(&mut till.rx).await;
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.user_flow, "PUSH_MESSAGE");
    assert_eq!(p.aggregate.captured_amount.value, FULL);
    let store = till.env.store();
    let member = kari(&store);
    let sale_id = sale_of(&store, &reference);
    assert_eq!(member_of_sale(&store, sale_id), Some(member.id));
    assert_eq!(store.get_sale(sale_id).unwrap().unwrap().member_saving, 0);
    assert_eq!(store.member_points(member.id).unwrap(), 90);
    assert!(
        till.env
            .log()
            .await
            .iter()
            .any(|c| c.path == "/qr/v1/exchange" && c.status == 200),
        "the personal QR was exchanged"
    );
    till.shutdown().await;
}

/// Creates of payments the simulator logged.
async fn creates(env: &Env) -> Vec<kasse::sim::client::LoggedCall> {
    env.log()
        .await
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == "/epayment/v1/payments")
        .collect()
}

/// Issue #13, "token expired before payment", as Vipps sees it: the member scanned and was
/// recognised, but the token ran out at Vipps before Pay (the till's clock thought it still
/// valid). The member prices applied at Pay; the create is refused (4050), the till asks for a
/// new scan, and the same sale is paid at the member price after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_token_expired_at_vipps_asks_for_a_new_scan_and_keeps_the_member_price() {
    let env = Env::start().await;
    set_up(&env, true);
    let mut till = TestTill::on(env).await;
    assert!(till.env.demo.phone.scan().await.unwrap());
    till.wait_for("Kari recognised", recognised_kari(0)).await;
    // Only Vipps' clock moves: 16 minutes, past the token's 15.
    till.advance_vipps_clock(Duration::from_secs(16 * 60)).await;
    till.send(Command::Pay {
        basket: two_coffees(),
    });
    till.wait_for("member prices", |e| {
        matches!(e, EngineEvent::MemberPrices { saving: SAVING, .. })
    })
    .await;
    let EngineEvent::TokenExpired { sale_id, .. } = till
        .wait_for("token expired", |e| {
            matches!(e, EngineEvent::TokenExpired { .. })
        })
        .await
    else {
        unreachable!()
    };
    assert!(
        till.env.ledger_all().await.is_empty(),
        "nothing was created"
    );
    let refused = creates(&till.env).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].status, 400);

    // A new scan: a new attempt for the same sale, at the member price.
    let reference = till.customer_scans_and_approves().await;
    let ledger = till.env.ledger_all().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].reference, reference);
    assert_eq!(ledger[0].aggregate.captured_amount.value, MEMBER);
    let store = till.env.store();
    assert_eq!(sale_of(&store, &reference), sale_id);
    assert_eq!(store.get_sale(sale_id).unwrap().unwrap().total, MEMBER);
    assert_eq!(member_of_sale(&store, sale_id), Some(kari(&store).id));
    let attempts = kasse::store::attempts::attempts_of_sale(store.conn(), sale_id).unwrap();
    assert_eq!(attempts.len(), 2, "the refused attempt and the paid one");
    assert_eq!(
        attempts[0].status,
        kasse::core::payment::AttemptStatus::Rejected
    );
    till.shutdown().await;
}

/// Issue #13, "token expired before payment", the other way out: with the cashier's
/// confirmation the request goes to the number the scan's exchange identified (the window only
/// ever shows it masked), and the member pays the member price without scanning again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_token_expired_then_pushed_to_the_scanned_customer_at_the_member_price() {
    let env = Env::start().await;
    set_up(&env, true);
    let mut till = TestTill::on(env).await;
    // Before any scan there is nobody to push to.
    till.pay(two_coffees()).await;
    till.send(Command::SendToScannedCustomer);
    till.wait_for("nobody scanned", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::NoScannedCustomer,
                ..
            }
        )
    })
    .await;
    till.send(Command::Cancel);
    till.wait_for("cancelled", |e| matches!(e, EngineEvent::Cancelled { .. }))
        .await;

    assert!(till.env.demo.phone.scan().await.unwrap());
    till.wait_for("Kari recognised", recognised_kari(0)).await;
    till.advance_vipps_clock(Duration::from_secs(16 * 60)).await;
    till.send(Command::Pay {
        basket: two_coffees(),
    });
    let expired = till
        .wait_for("token expired", |e| {
            matches!(e, EngineEvent::TokenExpired { .. })
        })
        .await;
    let EngineEvent::TokenExpired { sale_id, customer } = expired else {
        unreachable!()
    };
    let customer = customer.expect("the scan's customer is named");
    assert!(
        customer.ends_with(" 78") && !customer.contains("4712"),
        "{customer}"
    );

    till.send(Command::SendToScannedCustomer);
    let reference = till.requested().await;
    till.approve(&reference).await;
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.user_flow, "PUSH_MESSAGE");
    assert_eq!(
        p.customer_phone.as_deref(),
        Some(kasse::sim::DEFAULT_CUSTOMER_PHONE),
        "pushed to the customer who scanned"
    );
    assert_eq!(p.aggregate.captured_amount.value, MEMBER);
    let store = till.env.store();
    assert_eq!(sale_of(&store, &reference), sale_id);
    assert_eq!(member_of_sale(&store, sale_id), Some(kari(&store).id));
    let create = creates(&till.env)
        .await
        .into_iter()
        .rfind(|c| c.status < 300)
        .expect("the pushed create");
    assert_eq!(create.reference.as_deref(), Some(reference.as_str()));
    till.shutdown().await;
}

/// A new scan forgets who scanned before: when its own exchange fails, an expired token names
/// nobody, so the request can never go to the previous customer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_a_new_scan_whose_exchange_fails_names_nobody_to_push_to() {
    let env = Env::start().await;
    set_up(&env, true);
    let mut till = TestTill::on(env).await;
    assert!(till.env.demo.phone.scan().await.unwrap());
    till.wait_for("Kari recognised", recognised_kari(0)).await;

    // From now on every exchange fails; the customer scans again.
    let mut faults = kasse::sim::Faults::default();
    faults.error_rate.insert(kasse::sim::EndpointClass::Qr, 1.0);
    till.set_faults(&faults).await;
    till.customer_scans_ahead().await;
    till.advance_vipps_clock(Duration::from_secs(16 * 60)).await;
    till.send(Command::Pay {
        basket: two_coffees(),
    });
    let expired = till
        .wait_for("token expired", |e| {
            matches!(e, EngineEvent::TokenExpired { .. })
        })
        .await;
    assert!(
        matches!(expired, EngineEvent::TokenExpired { customer: None, .. }),
        "{expired:?}"
    );
    till.send(Command::SendToScannedCustomer);
    till.wait_for("nobody to push to", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::NoScannedCustomer,
                ..
            }
        )
    })
    .await;
    till.shutdown().await;
}

/// Issue #13, "token expired before payment", with the till's clock (the simulator's, which the
/// engine reads) moving too: the customer scanned, was not a member, and joined late; by Pay
/// the scan's token is past its 15 minutes. The till never sends it: it waits for a new scan,
/// and the new member, who joined at the till minutes ago, pays the member price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_an_invitation_that_outlasts_the_token_pays_the_member_price_after_a_new_scan()
 {
    let env = quick_logins().await;
    set_up(&env, false);
    let clock = env.demo.sim.clock().clone();
    let mut till = TestTill::on_with(
        env,
        EngineOptions {
            clock: clock.clock(),
            ..Default::default()
        },
    )
    .await;
    till.customer_scans_ahead().await;
    till.wait_for("not a member", |e| {
        matches!(e, EngineEvent::NotAMember { .. })
    })
    .await;

    // The invitation comes late (8 minutes), and Pay 8 minutes after the customer joined.
    clock.advance(Duration::from_secs(8 * 60));
    till.send(Command::InviteMember { phone_number: None });
    till.wait_for("invite pending", |e| {
        matches!(e, EngineEvent::InvitePending { .. })
    })
    .await;
    let control = till.env.demo.phone.control();
    let login = control.logins().await.unwrap().pop().unwrap();
    control
        .approve_login(&login.auth_req_id, "Kari", None)
        .await
        .unwrap();
    till.wait_for("enrolled", |e| {
        matches!(e, EngineEvent::MemberEnrolled { .. })
    })
    .await;
    clock.advance(Duration::from_secs(8 * 60));

    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), Some(SAVING), "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EngineEvent::CheckedIn { .. })),
        "the expired check-in is not used: {events:?}"
    );
    // Give the engine the chance to misuse the old token: nothing is created while it waits.
    till.send(Command::ListSales { limit: 1 });
    till.wait_for("history", |e| matches!(e, EngineEvent::History { .. }))
        .await;
    assert!(
        creates(&till.env).await.is_empty(),
        "no request with the old token"
    );

    let reference = till.customer_scans_and_approves().await;
    let ledger = till.env.ledger_all().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].aggregate.captured_amount.value, MEMBER);
    let created = creates(&till.env).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].status, 201);
    let store = till.env.store();
    assert_eq!(
        member_of_sale(&store, sale_of(&store, &reference)),
        Some(kari(&store).id)
    );
    till.shutdown().await;
}

/// A scan's customer is forgotten too when the basket is cleared: the next Pay has no member
/// prices, though the scan's check-in still pays it (as without loyalty).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_a_cleared_basket_forgets_the_scanned_member_too() {
    let env = Env::start().await;
    set_up(&env, true);
    let mut till = TestTill::on(env).await;
    assert!(till.env.demo.phone.scan().await.unwrap());
    till.wait_for("Kari recognised", recognised_kari(0)).await;
    till.send(Command::ForgetCustomer);
    till.send(Command::Pay {
        basket: two_coffees(),
    });
    let mut before_request = Vec::new();
    let reference = loop {
        match till.wait_for("payment requested", |_| true).await {
            EngineEvent::PaymentRequested { reference, .. } => break reference,
            e => before_request.push(e),
        }
    };
    assert_eq!(saving_of(&before_request), None, "{before_request:?}");
    till.env.demo.phone.approve(&reference).await.unwrap();
    completed(&mut till.rx).await;
    assert_eq!(till.captured(&reference).await, FULL);
    till.shutdown().await;
}

/// Back to the basket from Pay: the same customer is still at the till, so their typed number
/// counts again for the next Pay. A cancelled sale forgets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lookup_back_to_the_basket_keeps_the_typed_member_and_cancel_forgets_them() {
    let env = Env::start().await;
    set_up(&env, true);
    let mut till = TestTill::on(env).await;
    typed_kari(&mut till, "12345678").await;
    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), Some(SAVING));
    till.send(Command::BackToBasket);
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;

    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), Some(SAVING), "{events:?}");
    till.send(Command::Cancel);
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;

    let events = pay(&mut till).await;
    assert_eq!(saving_of(&events), None, "{events:?}");
    let reference = paid_by_another_phone(&mut till).await;
    assert_eq!(till.captured(&reference).await, FULL);
    till.shutdown().await;
}

//! The sale, step by step, against the simulator and the relay on loopback.

use crate::engine_support::*;
use kasse::core::payment::{OpKind, OpStatus};
use kasse::engine::{Command, EngineEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_scan_approve_capture() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine();
    let ready = wait_for(&mut rx, "ready", is_ready).await;
    let EngineEvent::Ready { qr_content, .. } = ready else {
        unreachable!()
    };
    assert!(
        qr_content.starts_with("https://qr.vipps.no/"),
        "{qr_content}"
    );

    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "awaiting check-in", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { amount: 12_900, .. })
    })
    .await;
    assert!(env.demo.phone.scan().await.unwrap(), "check-in delivered");
    wait_for(&mut rx, "checked in", |e| {
        matches!(e, EngineEvent::CheckedIn { .. })
    })
    .await;
    let reference = requested(&mut rx).await;
    assert!(reference.starts_with("demo1-"), "{reference}");
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "captured", |e| {
        matches!(e, EngineEvent::Captured { amount: 12_900, .. })
    })
    .await;
    let done = wait_for(&mut rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
    let EngineEvent::Completed {
        receipt,
        reference: r2,
        sale_id,
    } = done
    else {
        unreachable!()
    };
    assert_eq!(r2, reference);
    assert_eq!(receipt.total, 12_900);

    let p = env.ledger(&reference).await;
    assert_eq!(p.state, "AUTHORIZED");
    assert_eq!(p.aggregate.captured_amount.value, 12_900);
    assert_eq!(p.counts.captures, 1);
    assert_eq!(p.user_flow, "PUSH_MESSAGE");
    let receipt = p.receipt.expect("receipt sent");
    assert_eq!(receipt["orderLines"].as_array().unwrap().len(), 2);
    assert_eq!(receipt["bottomLine"]["posId"], "demo1");

    let log = env.log().await;
    let keys: Vec<_> = log
        .iter()
        .filter(|c| c.reference.as_deref() == Some(&reference) && c.method == "POST")
        .map(|c| c.idempotency_key.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        keys,
        vec![
            format!("{reference}-create"),
            format!("{reference}-capture-1")
        ]
    );

    // The shared tables and the journal agree.
    let store = env.store();
    let sale = store.get_sale(sale_id).unwrap().unwrap();
    assert_eq!(sale.state, kasse::core::sale::SaleState::Completed);
    let attempts = kasse::store::attempts::attempts_of_sale(store.conn(), sale_id).unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].reference, reference);
    assert_eq!(attempts[0].captured_amount, 12_900);
    let ops = kasse::store::attempts::operations_of_attempt(store.conn(), attempts[0].id).unwrap();
    let capture = ops.iter().find(|o| o.kind == OpKind::Capture).unwrap();
    assert_eq!(capture.idempotency_key, format!("{reference}-capture-1"));
    assert_eq!(capture.status, OpStatus::Succeeded);
    assert!(
        ops.iter().all(|o| o.status != OpStatus::Intended),
        "no intent left open: {ops:#?}"
    );
    assert_eq!(store.get_sale(sale_id).unwrap().unwrap().attempts, 1);
    let report = store.verify_journal().unwrap();
    assert!(report.rows > 5, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_then_retry_completes_with_a_new_reference() {
    let mut till = TestTill::start().await;
    till.pay(basket()).await;
    let first = till.scan().await;
    till.env.demo.phone.decline(&first).await.unwrap();
    till.wait_for("declined", |e| matches!(e, EngineEvent::Declined { .. }))
        .await;
    assert_eq!(till.env.ledger(&first).await.state, "ABORTED");

    // Same sale, new attempt: the customer scans again.
    till.send(Command::Retry);
    till.wait_for("awaiting again", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    let second = till.scan().await;
    assert_ne!(first, second);
    till.env.demo.phone.approve(&second).await.unwrap();
    let done = till
        .wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
        .await;
    let EngineEvent::Completed { sale_id, .. } = done else {
        unreachable!()
    };
    assert_eq!(till.captured(&second).await, 12_900);
    assert_eq!(till.captured(&first).await, 0);

    till.send(Command::ListSales { limit: 5 });
    let h = till
        .wait_for("history", |e| matches!(e, EngineEvent::History { .. }))
        .await;
    let EngineEvent::History { sales } = h else {
        unreachable!()
    };
    assert_eq!(sales[0].sale_id, sale_id);
    assert_eq!(sales[0].state, "completed");
    assert_eq!(sales[0].captured, 12_900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_when_the_customer_ignores_the_request() {
    let mut env = Env::start_with(
        kasse::sim::SimConfig::for_tests(),
        std::time::Duration::from_secs(2),
    )
    .await;
    env.config.engine.payment_expiry_secs = 2;
    env.config.engine.expiry_grace_secs = 10;
    let mut till = TestTill::on(env).await;
    till.pay(basket()).await;
    let reference = till.scan().await;
    till.wait_for("expired", |e| matches!(e, EngineEvent::Expired { .. }))
        .await;
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.state, "EXPIRED");
    assert_eq!(p.aggregate.captured_amount.value, 0);
    assert_eq!(p.counts.captures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cashier_cancel_before_approval_terminates() {
    let mut till = TestTill::start().await;
    till.pay(basket()).await;
    let reference = till.scan().await;
    till.send(Command::Cancel);
    till.wait_for("cancelled", |e| {
        matches!(
            e,
            EngineEvent::Cancelled {
                money_released: false,
                reference: Some(_),
                ..
            }
        )
    })
    .await;
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.state, "TERMINATED");
    assert_eq!(p.counts.cancels, 1);
    // The customer approving now changes nothing.
    assert!(till.env.demo.phone.approve(&reference).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cashier_cancel_after_the_customer_approved_releases_the_money() {
    let mut env = Env::start().await;
    // No relay and a late first poll: the engine has not seen the approval when the cashier
    // cancels.
    env.config.engine.poll_start_ms = 60_000;
    let (engine, mut rx) = env.engine_with(kasse::engine::EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "awaiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    engine
        .send(Command::SendToPhone {
            phone_number: "+47 912 34 567".into(),
        })
        .unwrap();
    let reference = requested(&mut rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    engine.send(Command::Cancel).unwrap();
    wait_for(&mut rx, "cancelled with money released", |e| {
        matches!(
            e,
            EngineEvent::Cancelled {
                money_released: true,
                ..
            }
        )
    })
    .await;
    let p = env.ledger(&reference).await;
    assert_eq!(p.state, "AUTHORIZED");
    assert_eq!(p.aggregate.cancelled_amount.value, 12_900);
    assert_eq!(p.aggregate.captured_amount.value, 0);
    assert_eq!(p.counts.captures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_in_before_pay_is_held_and_used() {
    let mut till = TestTill::start().await;
    till.relay_connected().await;
    till.customer_scans_ahead().await;
    till.send(Command::Pay { basket: basket() });
    // No second scan: the held token is used at once.
    let reference = till.requested().await;
    till.approve(&reference).await;
    assert_eq!(till.captured(&reference).await, 12_900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_number_fallback() {
    let mut till = TestTill::start().await;
    till.pay(basket()).await;
    till.send(Command::SendToPhone {
        phone_number: "12".into(),
    });
    till.wait_for("invalid phone", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: kasse::engine::MessageId::InvalidPhone,
                ..
            }
        )
    })
    .await;
    till.send(Command::SendToPhone {
        phone_number: "4791234567".into(),
    });
    let reference = till.requested().await;
    till.approve(&reference).await;
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.customer_phone.as_deref(), Some("4791234567"));
    assert_eq!(p.aggregate.captured_amount.value, 12_900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_partial_then_full_with_stored_counters() {
    let mut till = TestTill::start().await;
    till.pay(basket()).await;
    till.send(Command::SendToPhone {
        phone_number: "4791234567".into(),
    });
    let reference = till.requested().await;
    till.env.demo.phone.approve(&reference).await.unwrap();
    let done = till
        .wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
        .await;
    let EngineEvent::Completed { sale_id, .. } = done else {
        unreachable!()
    };
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;

    till.send(Command::Refund {
        sale_id,
        amount: 5_000,
    });
    till.wait_for("partial refund", |e| {
        matches!(
            e,
            EngineEvent::RefundDone {
                amount: 5_000,
                refunded_total: 5_000,
                ..
            }
        )
    })
    .await;
    till.send(Command::Refund {
        sale_id,
        amount: 8_000,
    });
    till.wait_for("too large", |e| {
        matches!(
            e,
            EngineEvent::RefundFailed {
                message_id: kasse::engine::MessageId::RefundTooLarge,
                ..
            }
        )
    })
    .await;
    till.send(Command::Refund {
        sale_id,
        amount: 7_900,
    });
    till.wait_for("rest refunded", |e| {
        matches!(
            e,
            EngineEvent::RefundDone {
                amount: 7_900,
                refunded_total: 12_900,
                ..
            }
        )
    })
    .await;
    till.send(Command::Refund {
        sale_id: 999,
        amount: 1,
    });
    till.wait_for("unknown sale", |e| {
        matches!(
            e,
            EngineEvent::RefundFailed {
                message_id: kasse::engine::MessageId::SaleNotFound,
                ..
            }
        )
    })
    .await;

    let p = till.env.ledger(&reference).await;
    assert_eq!(p.aggregate.refunded_amount.value, 12_900);
    assert_eq!(p.counts.refunds, 2);
    let keys: Vec<_> = till
        .env
        .log()
        .await
        .into_iter()
        .filter(|c| c.path.ends_with("/refund"))
        .map(|c| c.idempotency_key.unwrap_or_default())
        .collect();
    assert_eq!(
        keys,
        vec![
            format!("{reference}-refund-1"),
            format!("{reference}-refund-2")
        ]
    );
    let store = till.env.store();
    let refunds: Vec<_> = kasse::store::attempts::attempts_of_sale(store.conn(), sale_id)
        .unwrap()
        .iter()
        .flat_map(|a| kasse::store::attempts::operations_of_attempt(store.conn(), a.id).unwrap())
        .filter(|o| o.kind == OpKind::Refund)
        .collect();
    assert_eq!(
        refunds.iter().map(|r| r.amount).collect::<Vec<_>>(),
        vec![5_000, 7_900]
    );
    assert!(refunds.iter().all(|r| r.status == OpStatus::Succeeded));
    store.verify_journal().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_customer_token_asks_for_a_new_scan() {
    let mut till = TestTill::start().await;
    till.relay_connected().await;
    till.customer_scans_ahead().await;
    // The token outlives its 15 minutes at Vipps before the cashier presses Pay.
    till.advance_vipps_clock(std::time::Duration::from_secs(16 * 60))
        .await;
    till.send(Command::Pay { basket: basket() });
    let EngineEvent::TokenExpired { sale_id, .. } = till
        .wait_for("token expired", |e| {
            matches!(e, EngineEvent::TokenExpired { .. })
        })
        .await
    else {
        unreachable!()
    };
    // The customer scans again; the same sale goes on with a new attempt.
    let reference = till.scan().await;
    till.env.demo.phone.approve(&reference).await.unwrap();
    let EngineEvent::Completed { sale_id: done, .. } = till
        .wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(done, sale_id);
    assert_eq!(
        till.env.ledger_all().await.len(),
        1,
        "the rejected request created nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_not_allowed_tells_the_admin() {
    let mut sim = kasse::sim::SimConfig::for_tests();
    sim.push_message_allowed = false;
    let env = Env::start_with(sim, std::time::Duration::from_secs(120)).await;
    let mut till = TestTill::on(env).await;
    till.pay(basket()).await;
    till.send(Command::SendToPhone {
        phone_number: "4791234567".into(),
    });
    till.wait_for("push not allowed", |e| {
        matches!(e, EngineEvent::PushNotAllowed { .. })
    })
    .await;
    till.send(Command::BackToBasket);
    till.wait_for("idle", |e| matches!(e, EngineEvent::Idle))
        .await;
    assert!(till.env.ledger_all().await.is_empty());
    let store = till.env.store();
    let sale = store.get_sale(1).unwrap().unwrap();
    assert_eq!(
        sale.state,
        kasse::core::sale::SaleState::Open,
        "basket unlocked"
    );
    store.verify_journal().unwrap();
}

/// The customer shows the personal QR from their app and the cashier scans it: the payment is
/// pushed to them and followed by polling, with no relay at all. Text that is not a personal QR
/// is refused before Vipps; one Vipps does not accept (4060) gets its own message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_qr_pays_without_the_relay() {
    use kasse::engine::{EngineOptions, MessageId, PersonalQr};
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "awaiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    let invalid = |e: &EngineEvent| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::InvalidPersonalQr,
                ..
            }
        )
    };
    // A scanner typing an item's barcode here is not a personal QR: nothing goes to Vipps.
    engine
        .send(Command::SendToPersonalQr {
            content: PersonalQr("7038010000737".into()),
        })
        .unwrap();
    wait_for(&mut rx, "refused locally", invalid).await;
    assert!(env.ledger_all().await.is_empty());
    // A URL Vipps does not know as a personal QR: 4060.
    engine
        .send(Command::SendToPersonalQr {
            content: PersonalQr("https://example.com/not-a-customer".into()),
        })
        .unwrap();
    wait_for(&mut rx, "refused by Vipps", invalid).await;
    engine.send(Command::Retry).unwrap();
    engine
        .send(Command::SendToPersonalQr {
            content: PersonalQr("https://qr.vipps.no/28/2/01/031/4791234567?v=1".into()),
        })
        .unwrap();
    let reference = requested(&mut rx).await;
    let p = env.ledger(&reference).await;
    assert_eq!(p.user_flow, "PUSH_MESSAGE");
    assert_eq!(p.customer_phone.as_deref(), Some("4791234567"));
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
    let p = env.ledger(&reference).await;
    assert_eq!(p.aggregate.captured_amount.value, 12_900);
    let store = env.store();
    let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
        .unwrap()
        .unwrap();
    assert_eq!(
        a.customer_kind,
        kasse::core::payment::CustomerKind::PersonalQr
    );
    assert_eq!(a.phone_masked, None);
    assert_eq!(a.status, kasse::core::payment::AttemptStatus::Completed);
}

/// The customer's app shows a tokenized personal QR (the number is not in it): the till pays
/// with it by polling, with the create's intent and key stored first. A code the app has since
/// replaced (too old) is refused by Vipps with 4060: a clear message, nothing created, and the
/// sale stays payable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokenized_personal_qr_pays_and_a_stale_one_is_refused() {
    use kasse::engine::{EngineOptions, MessageId, PersonalQr};
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    let stale = env.demo.phone.personal_qr().await.unwrap();
    assert!(!stale.contains(kasse::sim::DEFAULT_CUSTOMER_PHONE));
    env.demo
        .sim
        .clock()
        .advance(std::time::Duration::from_secs(11 * 60));
    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "awaiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    engine
        .send(Command::SendToPersonalQr {
            content: PersonalQr(stale),
        })
        .unwrap();
    let refused = wait_for(&mut rx, "4060", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::InvalidPersonalQr,
                ..
            }
        )
    })
    .await;
    let EngineEvent::Problem { detail, .. } = refused else {
        unreachable!()
    };
    assert!(detail.unwrap_or_default().contains("4060"));
    assert!(env.ledger_all().await.is_empty(), "nothing was created");

    // The customer shows the code again (a fresh one): it pays.
    engine.send(Command::Retry).unwrap();
    let fresh = env.demo.phone.personal_qr().await.unwrap();
    engine
        .send(Command::SendToPersonalQr {
            content: PersonalQr(fresh),
        })
        .unwrap();
    let reference = requested(&mut rx).await;
    let p = env.ledger(&reference).await;
    assert_eq!(p.user_flow, "PUSH_MESSAGE");
    assert_eq!(
        p.customer_phone.as_deref(),
        Some(kasse::sim::DEFAULT_CUSTOMER_PHONE)
    );
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
    assert_eq!(
        env.ledger(&reference).await.aggregate.captured_amount.value,
        12_900
    );
    let store = env.store();
    let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
        .unwrap()
        .unwrap();
    let attempts = kasse::store::attempts::attempts_of_sale(store.conn(), a.sale_id).unwrap();
    assert_eq!(attempts.len(), 2, "the refused attempt is kept");
    assert_eq!(
        attempts[0].status,
        kasse::core::payment::AttemptStatus::Rejected
    );
    let ops = kasse::store::attempts::operations_of_attempt(store.conn(), a.id).unwrap();
    let create = ops
        .iter()
        .find(|o| o.idempotency_key == format!("{reference}-create"));
    assert!(create.is_some(), "{ops:#?}");
    let sent: Vec<String> = env
        .log()
        .await
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == "/epayment/v1/payments" && c.status == 201)
        .map(|c| c.idempotency_key.unwrap_or_default())
        .collect();
    assert_eq!(sent, [create.unwrap().idempotency_key.clone()]);
}

/// With no relay (or by choice), the till shows a payment-specific QR: created with
/// `userFlow: QR` and `TEXT/TARGETURL`, followed by polling, captured as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_qr_pays_without_the_relay() {
    use kasse::engine::EngineOptions;
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "awaiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    engine.send(Command::ShowOneTimeQr).unwrap();
    let shown = wait_for(&mut rx, "one-time QR", |e| {
        matches!(e, EngineEvent::OneTimeQr { .. })
    })
    .await;
    let EngineEvent::OneTimeQr {
        reference,
        qr_content,
        ..
    } = shown
    else {
        unreachable!()
    };
    assert!(qr_content.starts_with("https://"), "{qr_content}");
    let p = env.ledger(&reference).await;
    assert_eq!((p.user_flow.as_str(), p.state.as_str()), ("QR", "CREATED"));
    assert_eq!(p.customer_phone, None);
    // Nobody can approve before scanning it.
    assert!(env.demo.phone.approve(&reference).await.is_err());
    env.demo.phone.scan_payment_qr(&qr_content).await.unwrap();
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
    let p = env.ledger(&reference).await;
    assert_eq!(p.aggregate.captured_amount.value, 12_900);
    let log = env.log().await;
    let create = log
        .iter()
        .find(|c| c.method == "POST" && c.path == "/epayment/v1/payments")
        .unwrap();
    assert_eq!(create.status, 201);
}

/// The relay cannot be reached (the shop's internet hiccups, the relay is being upgraded):
/// after the grace period the waiting sale shows a one-time QR by itself, says why, and the
/// payment completes by polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_down_switches_to_a_one_time_qr() {
    use kasse::engine::MessageId;
    let mut env = Env::start().await;
    // A relay address where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    env.config.relay.url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    env.config.engine.one_time_qr_after_secs = 1;
    let mut till = TestTill::on(env).await;
    till.wait_for("relay down", |e| {
        matches!(
            e,
            EngineEvent::RelayStatus {
                status: kasse::engine::RelayStatus::Reconnecting { .. }
            }
        )
    })
    .await;
    till.send(Command::Pay { basket: basket() });
    till.wait_for("told why", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::RelayDownOneTimeQr,
                ..
            }
        )
    })
    .await;
    let shown = till
        .wait_for("one-time QR", |e| {
            matches!(e, EngineEvent::OneTimeQr { .. })
        })
        .await;
    let EngineEvent::OneTimeQr {
        reference,
        qr_content,
        ..
    } = shown
    else {
        unreachable!()
    };
    assert_eq!(till.env.ledger(&reference).await.user_flow, "QR");
    till.env
        .demo
        .phone
        .scan_payment_qr(&qr_content)
        .await
        .unwrap();
    till.env.demo.phone.approve(&reference).await.unwrap();
    till.wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
        .await;
    assert_eq!(till.captured(&reference).await, 12_900);
}

/// The relay goes away while a sale waits for the customer: after the grace period Pay shows a
/// one-time QR (and says why), the sale completes by polling; when the relay is back, the next
/// sale waits for a scan of the till's own QR again and a check-in pays it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_dropping_after_pay_switches_and_the_till_qr_returns() {
    let mut env = Env::start().await;
    env.config.engine.one_time_qr_after_secs = 1;
    let mut till = TestTill::on(env).await;
    let connected = |e: &EngineEvent| {
        matches!(
            e,
            EngineEvent::RelayStatus {
                status: kasse::engine::RelayStatus::Connected
            }
        )
    };
    till.wait_for("relay up", connected).await;
    till.pay(basket()).await;

    let relay = till.env.demo.relay.take().expect("the demo's relay");
    let addr = relay.local_addr;
    relay.shutdown().await;
    let shown = till
        .wait_for("one-time QR", |e| {
            matches!(e, EngineEvent::OneTimeQr { .. })
        })
        .await;
    let EngineEvent::OneTimeQr {
        reference,
        qr_content,
        relay_down,
        expires_at_ms,
        ..
    } = shown
    else {
        unreachable!()
    };
    assert!(relay_down);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let left = expires_at_ms - now_ms;
    let expiry_ms = till.env.config.engine.payment_expiry_secs as i64 * 1000;
    assert!(left > expiry_ms - 10_000 && left <= expiry_ms, "{left}");
    till.env
        .demo
        .phone
        .scan_payment_qr(&qr_content)
        .await
        .unwrap();
    till.env.demo.phone.approve(&reference).await.unwrap();
    till.wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
        .await;
    assert_eq!(till.captured(&reference).await, 12_900);

    // The relay comes back on its address, with its database.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let config = kasse::relay::RelayConfig::new(till.env.demo.dir.join("relay.db"));
    till.env.demo.relay = Some(kasse::relay::spawn(config, listener).await.unwrap());
    till.wait_for("relay back", connected).await;
    till.send(Command::NewSale);
    till.send(Command::Pay { basket: basket() });
    let awaiting = till
        .wait_for("awaiting", |e| {
            matches!(e, EngineEvent::AwaitingCheckIn { .. })
        })
        .await;
    let EngineEvent::AwaitingCheckIn { qr_content, .. } = awaiting else {
        unreachable!()
    };
    assert!(qr_content.is_some(), "the till's own QR");
    assert!(
        till.env.demo.phone.scan().await.unwrap(),
        "check-in delivered"
    );
    let second = till.requested().await;
    assert_eq!(till.env.ledger(&second).await.user_flow, "PUSH_MESSAGE");
    till.env.demo.phone.approve(&second).await.unwrap();
    till.wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
        .await;
}

/// A Danish shop keeps its printed MobilePay sticker: the till maps the beacon id at Vipps, the
/// customer scans the sticker, and the check-in (naming the beacon id) reaches this till through
/// the relay and pays the sale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mobilepay_sticker_maps_and_its_checkin_pays_the_sale() {
    const BEACON: &str = "200000000000123";
    let env = Env::start_with_options(kasse::cli::demo::DemoOptions {
        mobilepay_beacon_id: Some(BEACON.into()),
        ..Default::default()
    })
    .await;
    let mut till = TestTill::on(env).await;
    let mapped = till
        .env
        .log()
        .await
        .into_iter()
        .find(|c| c.method == "PUT" && c.path.contains("/mobilepay/"))
        .expect("the beacon was mapped");
    assert_eq!(
        (mapped.path.as_str(), mapped.status),
        ("/qr/v1/merchant-callback/mobilepay/200000000000123", 200)
    );
    till.wait_for("relay up", |e| {
        matches!(
            e,
            EngineEvent::RelayStatus {
                status: kasse::engine::RelayStatus::Connected
            }
        )
    })
    .await;
    till.pay(basket()).await;
    let scan = till
        .env
        .demo
        .phone
        .control()
        .scan(BEACON, None)
        .await
        .unwrap();
    assert!(scan.delivered, "{scan:?}");
    assert_eq!(scan.merchant_qr_id, BEACON);
    let reference = till.requested().await;
    till.approve(&reference).await;
    assert_eq!(till.captured(&reference).await, 12_900);
}

/// A beacon id already mapped elsewhere: Vipps answers 409 and the till says what to check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mobilepay_sticker_mapped_elsewhere_is_explained() {
    use kasse::engine::MessageId;
    const BEACON: &str = "200000000000999";
    let mut sim = kasse::sim::SimConfig::for_tests();
    sim.foreign_beacons = vec![BEACON.into()];
    let env = Env::start_with_options(kasse::cli::demo::DemoOptions {
        sim: Some(sim),
        mobilepay_beacon_id: Some(BEACON.into()),
        ..Default::default()
    })
    .await;
    let (_engine, mut rx) = env.engine();
    wait_for(&mut rx, "409 explained", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::BeaconConflict,
                ..
            }
        )
    })
    .await;
    let ledger = env.ledger_all().await;
    assert!(ledger.is_empty());
}

/// A one-time QR nobody scans expires: the sale says so and ends cleanly (nothing reserved);
/// Retry brings the till's own QR back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unscanned_one_time_qr_expires_cleanly() {
    use kasse::engine::EngineOptions;
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "awaiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    engine.send(Command::ShowOneTimeQr).unwrap();
    let shown = wait_for(&mut rx, "one-time QR", |e| {
        matches!(e, EngineEvent::OneTimeQr { .. })
    })
    .await;
    let EngineEvent::OneTimeQr { reference, .. } = shown else {
        unreachable!()
    };
    env.demo
        .sim
        .clock()
        .advance(std::time::Duration::from_secs(121));
    wait_for(&mut rx, "expired", |e| {
        matches!(e, EngineEvent::Expired { .. })
    })
    .await;
    let p = env.ledger(&reference).await;
    assert_eq!(p.state, "EXPIRED");
    assert_eq!(p.aggregate.authorized_amount.value, 0);
    engine.send(Command::Retry).unwrap();
    let again = wait_for(&mut rx, "awaiting again", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    let EngineEvent::AwaitingCheckIn { qr_content, .. } = again else {
        unreachable!()
    };
    assert!(qr_content.is_some(), "the till's own QR is back");
    let store = env.store();
    let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
        .unwrap()
        .unwrap();
    assert_eq!(a.status, kasse::core::payment::AttemptStatus::Expired);
}

/// The admin chose a QR for every payment (`till.pay_qr = one_time`): Pay shows one at once,
/// without the relay being down, and it pays by polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_qr_one_time_shows_a_qr_for_every_payment() {
    let mut env = Env::start().await;
    env.config.till.pay_qr = kasse::config::PayQr::OneTime;
    let mut till = TestTill::on(env).await;
    till.send(Command::Pay { basket: basket() });
    let shown = till
        .wait_for("one-time QR", |e| {
            matches!(e, EngineEvent::OneTimeQr { .. })
        })
        .await;
    let EngineEvent::OneTimeQr {
        reference,
        qr_content,
        relay_down,
        ..
    } = shown
    else {
        unreachable!()
    };
    assert!(!relay_down);
    assert_eq!(till.env.ledger(&reference).await.user_flow, "QR");
    till.env
        .demo
        .phone
        .scan_payment_qr(&qr_content)
        .await
        .unwrap();
    till.env.demo.phone.approve(&reference).await.unwrap();
    till.wait_for("completed", |e| matches!(e, EngineEvent::Completed { .. }))
        .await;
    assert_eq!(till.captured(&reference).await, 12_900);
}

/// Everything the engine stores is stamped by its injected clock: none of its writes reads the
/// computer's clock behind its back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_stamps_what_it_stores_with_its_own_clock() {
    use kasse::clock::ManualClock;
    use kasse::engine::EngineOptions;
    // 2021-01-01 00:00:00 UTC, years from the computer's clock.
    const T: i64 = 1_609_459_200_000;
    let env = Env::start().await;
    let first_new: i64 = env
        .store()
        .conn()
        .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM journal", [], |r| {
            r.get(0)
        })
        .unwrap();
    let (engine, mut rx) = env.engine_with(EngineOptions {
        clock: ManualClock::at_ms(T).clock(),
        without_relay: true,
    });
    wait_for(&mut rx, "ready", is_ready).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    let done = wait_for(&mut rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
    let EngineEvent::Completed { sale_id, .. } = done else {
        unreachable!()
    };

    let store = env.store();
    let created: i64 = store
        .conn()
        .query_row(
            "SELECT created_ms FROM sale WHERE id = ?1",
            [sale_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(created, T);
    let mut stmt = store
        .conn()
        .prepare("SELECT kind, at_ms FROM journal WHERE seq >= ?1 ORDER BY seq")
        .unwrap();
    let stamps: Vec<(String, i64)> = stmt
        .query_map([first_new], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        stamps.iter().any(|(kind, _)| kind == "payment_captured"),
        "{stamps:?}"
    );
    assert!(stamps.iter().all(|(_, at)| *at == T), "{stamps:?}");
}

/// A customer scanned before Pay and walked away: the cashier says "not this customer", the
/// scan is discarded, and the next Pay waits for a new scan instead of pushing the request to
/// whoever scanned before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_scan_the_cashier_discards_never_pays_the_next_sale() {
    let mut till = TestTill::start().await;
    till.relay_connected().await;
    till.customer_scans_ahead().await;
    till.send(Command::DiscardWaitingScan);
    till.wait_for("discarded", |e| {
        matches!(e, EngineEvent::WaitingScanDiscarded { count: 1 })
    })
    .await;

    let sale_id = till.pay(basket()).await;
    assert!(
        till.env.ledger_all().await.is_empty(),
        "no request went out"
    );
    // The customer at the till scans: their request, for this sale.
    let reference = till.scan().await;
    till.approve(&reference).await;
    assert_eq!(till.captured(&reference).await, 12_900);
    let store = till.env.store();
    let attempts = kasse::store::attempts::attempts_of_sale(store.conn(), sale_id).unwrap();
    assert_eq!(attempts.len(), 1);
    let (used, walked_away, discarded): (i64, i64, bool) = store
        .conn()
        .query_row(
            "SELECT a.checkin_id, c.id, c.discarded FROM payment_attempt a, checkin c
             WHERE a.reference = ?1 AND c.id = (SELECT min(id) FROM checkin)",
            [&reference],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_ne!(used, walked_away, "paid with the new scan");
    assert!(discarded, "the walked-away scan is kept, discarded");
    till.shutdown().await;
}

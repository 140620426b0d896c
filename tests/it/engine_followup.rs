//! Money-safety follow-ups: money captured outside Kasse is never reported as released, a sale
//! with captured money cannot be retried into a second payment, and a reload that changes the
//! sales unit is refused while an attempt is open.

use std::collections::BTreeMap;

use crate::engine_support::*;
use kasse::engine::{Command, EngineEvent, EngineOptions, MessageId};
use kasse::sim::{EndpointClass, Faults};
use kasse::vipps::models::{Amount, Currency};

async fn set_faults(env: &Env, faults: Faults) {
    env.demo.phone.control().set_faults(&faults).await.unwrap();
}

/// Every payment read fails, so the engine cannot see what happens at Vipps meanwhile.
fn reads_fail() -> Faults {
    Faults {
        error_rate: BTreeMap::from([(EndpointClass::Get, 1.0)]),
        ..Default::default()
    }
}

/// The business portal captures part of the payment and cancels the rest before Kasse reads
/// the approval: Kasse must flag it for the admin, never say "cancelled, money released".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_capture_and_cancel_outside_kasse_is_flagged_not_released() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    set_faults(&env, reads_fail()).await;
    env.demo.phone.approve(&reference).await.unwrap();
    // The business portal: capture 5 000 of 12 900, cancel the rest.
    let client =
        kasse::vipps::Client::from_settings(&env.config.vipps, env.config.engine.http_timeout())
            .unwrap();
    client
        .capture(
            &reference,
            Amount::new(Currency::Nok, 5_000),
            "portal-capture-1",
        )
        .await
        .unwrap();
    client
        .cancel(&reference, false, "portal-cancel-1")
        .await
        .unwrap();
    let p = env.ledger(&reference).await;
    assert_eq!(
        (
            p.aggregate.captured_amount.value,
            p.aggregate.cancelled_amount.value
        ),
        (5_000, 7_900)
    );
    set_faults(&env, Faults::default()).await;
    let ended = wait_for(&mut rx, "the engine decides", |e| {
        matches!(
            e,
            EngineEvent::Cancelled { .. }
                | EngineEvent::Completed { .. }
                | EngineEvent::Problem {
                    message_id: MessageId::CaptureMismatch,
                    ..
                }
        )
    })
    .await;
    assert!(
        matches!(
            ended,
            EngineEvent::Problem {
                message_id: MessageId::CaptureMismatch,
                ..
            }
        ),
        "captured money reported as {ended:?}"
    );
    let store = env.store();
    let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
        .unwrap()
        .unwrap();
    assert!(a.needs_admin, "{a:#?}");
    assert!(!a.money_released, "{a:#?}");
    // Nothing more moved at Vipps.
    let p = env.ledger(&reference).await;
    assert_eq!(p.aggregate.captured_amount.value, 5_000);
}

/// The till gives up on a payment it never saw approved, but the business portal captured
/// part of it meanwhile: the sale is flagged for the admin and Retry must not start a second
/// payment for it (a double charge).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_with_captured_money_cannot_be_retried_into_a_second_payment() {
    let mut env = Env::start().await;
    env.config.engine.payment_expiry_secs = 1;
    env.config.engine.expiry_grace_secs = 1;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    set_faults(&env, reads_fail()).await;
    env.demo.phone.approve(&reference).await.unwrap();
    let client =
        kasse::vipps::Client::from_settings(&env.config.vipps, env.config.engine.http_timeout())
            .unwrap();
    client
        .capture(
            &reference,
            Amount::new(Currency::Nok, 5_000),
            "portal-capture-1",
        )
        .await
        .unwrap();
    // The till gives up and cancels; let it read the result afterwards.
    eventually("the till cancels", || {
        let env = &env;
        let reference = reference.clone();
        async move { !keys_of(&env.log().await, &reference, "/cancel").is_empty() }
    })
    .await;
    set_faults(&env, Faults::default()).await;
    wait_for(&mut rx, "flagged for the admin", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::CaptureMismatch,
                ..
            }
        )
    })
    .await;
    let p = env.ledger(&reference).await;
    assert_eq!(
        (
            p.aggregate.captured_amount.value,
            p.aggregate.cancelled_amount.value
        ),
        (5_000, 7_900)
    );

    engine.send(Command::Retry).unwrap();
    let refused = wait_for(&mut rx, "retry refused or a new payment", |e| {
        matches!(
            e,
            EngineEvent::Problem { .. }
                | EngineEvent::AwaitingCheckIn { .. }
                | EngineEvent::PaymentRequested { .. }
        )
    })
    .await;
    assert!(
        matches!(
            refused,
            EngineEvent::Problem {
                message_id: MessageId::CaptureMismatch,
                ..
            }
        ),
        "Retry after captured money gave {refused:?}"
    );
    // Even a phone number sent now starts nothing.
    engine
        .send(Command::SendToPhone {
            phone_number: "4791234567".into(),
        })
        .unwrap();
    wait_for(&mut rx, "phone refused", |e| {
        matches!(e, EngineEvent::Problem { .. })
    })
    .await;
    assert_eq!(
        env.ledger_all().await.len(),
        1,
        "a second payment was created"
    );
    let store = env.store();
    let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
        .unwrap()
        .unwrap();
    assert!(a.needs_admin, "{a:#?}");
    assert!(!a.money_released, "{a:#?}");
}

/// Reloading a configuration that points the till at another sales unit / Vipps environment
/// while a payment is unfinished would read that payment at the wrong place (404) and close
/// it as never created while the customer's money stays reserved: it is refused until
/// nothing is open, and the running configuration keeps finishing the payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_to_another_sales_unit_waits_until_no_payment_is_open() {
    let mut env = Env::start().await;
    env.config.engine.modify_retry_budget_secs = 1;
    env.config.engine.create_retry_budget_secs = 1;
    env.config.engine.http_timeout_ms = 500;
    // Few cancel tries (Vipps allows 5 modifying calls per payment and minute).
    env.config.engine.retry_initial_ms = 600;
    env.config.engine.retry_max_ms = 1_200;
    let other = Env::start().await;
    let path = env.write_config();
    let config = kasse::config::Config::load(Some(&path)).unwrap();
    let (engine, mut rx) = kasse::engine::Engine::start_with(
        config.clone(),
        env.store(),
        EngineOptions {
            without_relay: true,
            ..Default::default()
        },
    );
    wait_for(&mut rx, "ready", is_ready).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    // The cashier cancels but Vipps does not take the cancel (nor answer reads): the payment
    // stays open.
    set_faults(
        &env,
        Faults {
            error_rate: BTreeMap::from([(EndpointClass::Cancel, 1.0), (EndpointClass::Get, 1.0)]),
            ..Default::default()
        },
    )
    .await;
    engine.send(Command::Cancel).unwrap();
    wait_for(&mut rx, "cancel pending", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::CancelPending,
                ..
            }
        )
    })
    .await;
    wait_for(&mut rx, "idle", |e| matches!(e, EngineEvent::Idle)).await;

    // Point the till at another Vipps (another simulator, another sales unit).
    let mut moved = config.clone();
    moved.vipps = other.config.vipps.clone();
    moved.save(&path).unwrap();
    engine.send(Command::ReloadConfig).unwrap();
    let answer = wait_for(&mut rx, "reload refused or done", |e| {
        is_ready(e) || matches!(e, EngineEvent::Problem { .. })
    })
    .await;
    assert!(
        matches!(
            answer,
            EngineEvent::Problem {
                message_id: MessageId::Busy,
                ..
            }
        ),
        "reload with an open payment gave {answer:?}"
    );
    // The open payment is still finished at the sales unit that has it.
    set_faults(&env, Faults::default()).await;
    eventually("the open payment is cancelled where it lives", || {
        let env = &env;
        let reference = reference.clone();
        async move {
            let p = env.ledger(&reference).await;
            p.state == "TERMINATED"
        }
    })
    .await;
    eventually("the attempt is resolved", || {
        let env = &env;
        let reference = reference.clone();
        async move {
            let store = env.store();
            let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
                .unwrap()
                .unwrap();
            a.resolved
        }
    })
    .await;
    let store = env.store();
    let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
        .unwrap()
        .unwrap();
    assert_ne!(
        a.status,
        kasse::core::payment::AttemptStatus::NotCreated,
        "{a:#?}"
    );
    assert!(other.ledger_all().await.is_empty());

    // Nothing open any more: the reload goes through.
    engine.send(Command::ReloadConfig).unwrap();
    wait_for(&mut rx, "ready under the new sales unit", is_ready).await;
    pay_by_phone(&engine, &mut rx).await;
    assert_eq!(other.ledger_all().await.len(), 1);
}

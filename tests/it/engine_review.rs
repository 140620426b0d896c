//! Money-safety regressions found in review: a second engine on the same database, a create
//! that reaches Vipps after the till read 404, and reloading the configuration.

use crate::engine_support::*;
use kasse::engine::{Command, EngineEvent, EngineOptions, MessageId};
use kasse::sim::{EndpointClass, Faults, Hold};

async fn set_faults(env: &Env, faults: Faults) {
    env.demo.phone.control().set_faults(&faults).await.unwrap();
}

/// `kasse refund` or `kasse recover` started while the window takes a payment must not
/// "recover" (cancel) the payment the window is waiting on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_engine_on_the_same_database_leaves_the_running_sale_alone() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    send_to_phone(&engine, &mut rx).await;
    let reference = requested(&mut rx).await;

    // A second engine on the same database file.
    let (second, mut rx2) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    let refused = wait_for(&mut rx2, "second engine refuses or recovers", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::StorageFailed,
                ..
            } | EngineEvent::Recovered { .. }
        )
    })
    .await;
    assert!(
        matches!(refused, EngineEvent::Problem { .. }),
        "the second engine ran recovery over the first one's payment: {refused:?}"
    );
    eventually("the second engine stops", || async { second.is_closed() }).await;
    let p = env.ledger(&reference).await;
    assert_eq!(p.state, "CREATED", "{p:#?}");

    // The first engine finishes its sale as if nothing happened.
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
    let p = env.ledger(&reference).await;
    assert_eq!(p.aggregate.captured_amount.value, 12_900);
    assert_ledger_settled(&env.ledger_all().await);

    // Once the first engine has stopped, another may open the database.
    engine.send(Command::Shutdown).unwrap();
    engine.closed().await;
    let (_third, mut rx3) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx3, "recovered", |e| {
        matches!(e, EngineEvent::Recovered { .. })
    })
    .await;
}

/// The create call timed out and a GET said 404, but the request was still on its way: Vipps
/// creates the payment afterwards and the customer approves it. The reservation must still be
/// released (no sale was recorded for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_lands_after_a_not_found_read_is_released() {
    let mut env = Env::start().await;
    env.config.engine.http_timeout_ms = 400;
    env.config.engine.create_retry_budget_secs = 0;
    let mut till = TestTill::on(env).await;
    // Vipps holds the create past the till's timeout, then processes it anyway.
    set_faults(
        &till.env,
        Faults::default().with_hold(EndpointClass::Create, Hold::next(1, 1_500)),
    )
    .await;
    till.send_to_phone().await;
    till.wait_for("create not found", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::VippsUnreachable,
                retrying: false,
                ..
            }
        )
    })
    .await;
    let reference: String = till
        .env
        .store()
        .conn()
        .query_row(
            "SELECT reference FROM payment_attempt ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // The held create lands (or reconciliation's re-send with the same key does first): the
    // customer approves if the request is still open. Either way the reservation is released.
    eventually("the late create lands", || {
        let env = &till.env;
        async move { !env.ledger_all().await.is_empty() }
    })
    .await;
    let _ = till.env.demo.phone.approve(&reference).await;
    till.send(Command::BackToBasket);
    eventually("the late payment is released", || {
        let env = &till.env;
        let reference = reference.clone();
        async move {
            let p = env.ledger(&reference).await;
            p.state == "TERMINATED"
                || (p.state == "AUTHORIZED"
                    && p.aggregate.cancelled_amount.value == p.aggregate.authorized_amount.value)
        }
    })
    .await;
    let all = till.env.ledger_all().await;
    assert_ledger_settled(&all);
    assert_eq!(all[0].aggregate.captured_amount.value, 0);
    // The engine records the release right after Vipps shows it: wait for that.
    eventually("the attempt is settled", || {
        let env = &till.env;
        let reference = reference.clone();
        async move {
            let store = env.store();
            kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
                .unwrap()
                .is_some_and(|a| a.resolved)
        }
    })
    .await;
    let store = till.env.store();
    let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
        .unwrap()
        .unwrap();
    assert_eq!(a.captured_amount, 0, "{a:#?}");
    // One payment only: the held original and the re-send share the key.
    assert_eq!(all.len(), 1);
}

/// `ReloadConfig` re-reads the file and redoes the set-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_config_rereads_the_file_and_redoes_setup() {
    let env = Env::start().await;
    let path = env.write_config();
    let config = kasse::config::Config::load(Some(&path)).unwrap();
    let store = env.store();
    let (engine, mut rx) = kasse::engine::Engine::start_with(
        config.clone(),
        store,
        EngineOptions {
            without_relay: true,
            ..Default::default()
        },
    );
    wait_for(&mut rx, "ready", is_ready).await;
    let mut changed = config.clone();
    changed.till.name = "Kasse to".into();
    changed.save(&path).unwrap();
    engine.send(Command::ReloadConfig).unwrap();
    let ready = wait_for(&mut rx, "ready again", is_ready).await;
    match ready {
        EngineEvent::Ready { till_name, .. } => assert_eq!(till_name, "Kasse to"),
        _ => unreachable!(),
    }
    // A broken file is reported and the running configuration is kept.
    std::fs::write(&path, "[till\nid = ").unwrap();
    engine.send(Command::ReloadConfig).unwrap();
    wait_for(&mut rx, "config invalid", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::ConfigInvalid,
                ..
            }
        )
    })
    .await;
    send_to_phone(&engine, &mut rx).await;
    let reference = requested(&mut rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await;
}

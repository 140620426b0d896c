//! Faults: webhooks dropped, duplicated, delayed and out of order; the relay down for a whole
//! sale; Vipps answering 5xx, 429 or nothing. The same idempotency key is reused on every
//! retry of a call and no reference exceeds Vipps' rate limits.

use std::collections::BTreeMap;

use crate::engine_support::*;
use kasse::engine::{Command, EngineEvent, EngineOptions, MessageId, RelayStatus};
use kasse::sim::{EndpointClass, Faults};

async fn set_faults(env: &Env, faults: Faults) {
    env.demo.phone.control().set_faults(&faults).await.unwrap();
}

fn fail_next(class: EndpointClass, n: u32) -> Faults {
    Faults {
        fail_next: BTreeMap::from([(class, n)]),
        ..Faults::default()
    }
}

async fn completed(rx: &mut tokio::sync::broadcast::Receiver<EngineEvent>) -> String {
    match wait_for(rx, "completed", |e| {
        matches!(e, EngineEvent::Completed { .. })
    })
    .await
    {
        EngineEvent::Completed { reference, .. } => reference,
        _ => unreachable!(),
    }
}

async fn events_stored(env: &Env, reference: &str) -> Vec<(String, i64)> {
    let store = env.store();
    let mut stmt = store
        .conn()
        .prepare("SELECT name, count(*) FROM payment_event WHERE reference = ?1 GROUP BY name")
        .unwrap();
    stmt.query_map([reference], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_dropped_polling_finishes_the_sale() {
    let mut till = TestTill::start().await;
    till.pay(basket()).await;
    let reference = till.scan().await;
    set_faults(
        &till.env,
        Faults {
            webhook_drop_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    till.env.demo.phone.approve(&reference).await.unwrap();
    assert_eq!(completed(&mut till.rx).await, reference);
    assert!(
        events_stored(&till.env, &reference).await.is_empty(),
        "no webhook reached the till"
    );
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.counts.captures, 1);
    assert_rate_limits(&till.env.log().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_duplicated_are_stored_once_and_capture_once() {
    let mut till = TestTill::start().await;
    set_faults(
        &till.env,
        Faults {
            webhook_duplicate_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let reference = till.pay_by_phone().await;
    till.env.demo.phone.approve(&reference).await.unwrap();
    completed(&mut till.rx).await;
    let p = till.env.ledger(&reference).await;
    assert_eq!(p.counts.captures, 1);
    // Both copies of AUTHORIZED and CAPTURED arrive; each is stored once.
    eventually("captured event stored", || async {
        events_stored(&till.env, &reference)
            .await
            .iter()
            .any(|(n, _)| n == "CAPTURED")
    })
    .await;
    for (name, count) in events_stored(&till.env, &reference).await {
        assert_eq!(count, 1, "{name} stored {count} times");
    }
    assert_rate_limits(&till.env.log().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_delayed_and_out_of_order_change_nothing() {
    let mut till = TestTill::start().await;
    // Every webhook arrives 1.5 s late: polling completes the first sale, and its AUTHORIZED
    // and CAPTURED events land while the second sale is waiting for its customer.
    set_faults(
        &till.env,
        Faults {
            webhook_delay_ms: 1_500,
            ..Faults::default()
        },
    )
    .await;
    let first = till.pay_by_phone().await;
    till.env.demo.phone.approve(&first).await.unwrap();
    assert_eq!(completed(&mut till.rx).await, first);
    let second = till.pay_by_phone().await;
    eventually("late events of the first sale stored", || async {
        events_stored(&till.env, &first)
            .await
            .iter()
            .any(|(n, _)| n == "CAPTURED")
    })
    .await;
    till.env.demo.phone.decline(&second).await.unwrap();
    till.wait_for("declined", |e| matches!(e, EngineEvent::Declined { .. }))
        .await;
    assert_eq!(till.env.ledger(&first).await.counts.captures, 1);
    let p2 = till.env.ledger(&second).await;
    assert_eq!(p2.state, "ABORTED");
    assert_eq!(p2.counts.captures, 0);
    assert_ledger_settled(&till.env.ledger_all().await);
    assert_rate_limits(&till.env.log().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_down_for_the_whole_sale() {
    let mut env = Env::start().await;
    let relay = env.demo.relay.take().unwrap();
    relay.shutdown().await;
    let mut till = TestTill::on(env).await;
    till.wait_for("relay reconnecting", |e| {
        matches!(
            e,
            EngineEvent::RelayStatus {
                status: RelayStatus::Reconnecting { .. }
            }
        )
    })
    .await;
    let reference = till.pay_by_phone().await;
    till.env.demo.phone.approve(&reference).await.unwrap();
    assert_eq!(completed(&mut till.rx).await, reference);
    assert_eq!(till.env.ledger(&reference).await.counts.captures, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_5xx_is_retried_with_the_same_key() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    set_faults(&env, fail_next(EndpointClass::Create, 2)).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    completed(&mut rx).await;
    let log = env.log().await;
    let keys = keys_of(&log, &reference, "/payments");
    assert_eq!(keys.len(), 3, "two failures and the success: {keys:?}");
    assert!(keys.iter().all(|k| *k == format!("{reference}-create")));
    assert_eq!(env.ledger_all().await.len(), 1);
    assert_rate_limits(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_lost_answer_is_retried_and_vipps_returns_the_original() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    set_faults(
        &env,
        Faults {
            fail_after_effect: true,
            ..fail_next(EndpointClass::Create, 1)
        },
    )
    .await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    completed(&mut rx).await;
    assert_eq!(
        env.ledger_all().await.len(),
        1,
        "one payment despite two creates"
    );
    assert_rate_limits(&env.log().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_5xx_and_lost_answers_reuse_the_key_and_capture_once() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    set_faults(
        &env,
        Faults {
            fail_after_effect: true,
            ..fail_next(EndpointClass::Capture, 2)
        },
    )
    .await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    completed(&mut rx).await;
    let log = env.log().await;
    let keys = keys_of(&log, &reference, "/capture");
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys.iter().all(|k| *k == format!("{reference}-capture-1")));
    let p = env.ledger(&reference).await;
    assert_eq!(p.counts.captures, 1);
    assert_eq!(p.aggregate.captured_amount.value, 12_900);
    assert_rate_limits(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_5xx_is_retried_with_the_same_key() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    set_faults(&env, fail_next(EndpointClass::Cancel, 2)).await;
    engine.send(Command::Cancel).unwrap();
    wait_for(&mut rx, "cancelled", |e| {
        matches!(e, EngineEvent::Cancelled { .. })
    })
    .await;
    let log = env.log().await;
    let keys = keys_of(&log, &reference, "/cancel");
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| *k == format!("{reference}-cancel-1")));
    assert_eq!(env.ledger(&reference).await.state, "TERMINATED");
    assert_rate_limits(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_5xx_is_retried_with_the_same_key() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
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
    set_faults(
        &env,
        Faults {
            fail_after_effect: true,
            ..fail_next(EndpointClass::Refund, 2)
        },
    )
    .await;
    engine
        .send(Command::Refund {
            sale_id,
            amount: 2_500,
        })
        .unwrap();
    wait_for(&mut rx, "refunded", |e| {
        matches!(e, EngineEvent::RefundDone { amount: 2_500, .. })
    })
    .await;
    let log = env.log().await;
    let keys = keys_of(&log, &reference, "/refund");
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| *k == format!("{reference}-refund-1")));
    let p = env.ledger(&reference).await;
    assert_eq!(p.counts.refunds, 1);
    assert_eq!(p.aggregate.refunded_amount.value, 2_500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_backs_off_on_429() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    set_faults(
        &env,
        Faults {
            error_status: Some(429),
            ..fail_next(EndpointClass::Get, 3)
        },
    )
    .await;
    env.demo.phone.approve(&reference).await.unwrap();
    completed(&mut rx).await;
    let log = env.log().await;
    let gets: Vec<_> = log
        .iter()
        .filter(|c| c.method == "GET" && c.reference.as_deref() == Some(&reference))
        .collect();
    let throttled: Vec<_> = gets.iter().filter(|c| c.status == 429).collect();
    assert_eq!(throttled.len(), 3);
    // After a 429 the next poll waits at least twice the normal interval (or Retry-After).
    let gaps: Vec<u64> = throttled
        .windows(2)
        .map(|w| (w[1].received_at_unix_nanos - w[0].received_at_unix_nanos) / 1_000_000)
        .collect();
    let interval = env.config.engine.poll_interval_ms;
    assert!(
        gaps.iter().all(|g| *g >= 2 * interval),
        "backed off: {gaps:?}"
    );
    assert_eq!(env.ledger(&reference).await.counts.captures, 1);
    assert_rate_limits(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_timeouts_reuse_the_key_and_capture_once() {
    let mut env = Env::start().await;
    env.config.engine.http_timeout_ms = 400;
    env.config.engine.retry_initial_ms = 300;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    set_faults(
        &env,
        Faults {
            latency_ms: BTreeMap::from([(EndpointClass::Capture, 1_000)]),
            ..Faults::default()
        },
    )
    .await;
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "capture timed out", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::VippsUnreachable,
                retrying: true,
                ..
            }
        )
    })
    .await;
    set_faults(&env, Faults::default()).await;
    completed(&mut rx).await;
    let log = env.log().await;
    let keys = keys_of(&log, &reference, "/capture");
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| *k == format!("{reference}-capture-1")),
        "{keys:?}"
    );
    let p = env.ledger(&reference).await;
    assert_eq!(p.counts.captures, 1);
    assert_rate_limits(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_timeouts_then_vipps_back_the_sale_completes() {
    let mut env = Env::start().await;
    env.config.engine.http_timeout_ms = 400;
    env.config.engine.retry_initial_ms = 300;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    set_faults(
        &env,
        Faults {
            latency_ms: BTreeMap::from([(EndpointClass::Create, 1_000)]),
            ..Faults::default()
        },
    )
    .await;
    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "awaiting", |e| {
        matches!(e, EngineEvent::AwaitingCheckIn { .. })
    })
    .await;
    engine
        .send(Command::SendToPhone {
            phone_number: "4791234567".into(),
        })
        .unwrap();
    wait_for(&mut rx, "create timed out", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::VippsUnreachable,
                retrying: true,
                ..
            }
        )
    })
    .await;
    set_faults(&env, Faults::default()).await;
    let reference = requested(&mut rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    completed(&mut rx).await;
    let creates: Vec<_> = env
        .log()
        .await
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == "/epayment/v1/payments")
        .collect();
    assert!(
        creates
            .iter()
            .all(|c| c.idempotency_key.as_deref() == Some(&format!("{reference}-create")))
    );
    assert_eq!(env.ledger_all().await.len(), 1);
    assert_ledger_settled(&env.ledger_all().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_never_exceeds_the_rate_limit_and_stays_pending() {
    let mut env = Env::start().await;
    env.config.engine.modify_retry_budget_secs = 3;
    env.config.engine.reconcile_interval_secs = 60;
    let (engine, mut rx) = env.engine_with(EngineOptions {
        without_relay: true,
        ..Default::default()
    });
    wait_for(&mut rx, "ready", is_ready).await;
    set_faults(&env, fail_next(EndpointClass::Capture, 50)).await;
    let reference = pay_by_phone(&engine, &mut rx).await;
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "capture pending", |e| {
        matches!(
            e,
            EngineEvent::Problem {
                message_id: MessageId::CapturePending,
                ..
            }
        )
    })
    .await;
    let log = env.log().await;
    let keys = keys_of(&log, &reference, "/capture");
    assert!(keys.len() <= 5 && !keys.is_empty(), "{keys:?}");
    assert!(keys.iter().all(|k| *k == format!("{reference}-capture-1")));
    assert_rate_limits(&log);
    // The capture intent stays stored for reconciliation; nothing was captured.
    let p = env.ledger(&reference).await;
    assert_eq!(p.counts.captures, 0);
    let store = env.store();
    let a = kasse::store::attempts::attempt_by_reference(store.conn(), &reference)
        .unwrap()
        .unwrap();
    assert_eq!(a.status, kasse::core::payment::AttemptStatus::Capturing);
    let capture = kasse::store::attempts::open_operation(
        store.conn(),
        a.id,
        kasse::core::payment::OpKind::Capture,
    )
    .unwrap()
    .expect("the capture intent stays open");
    assert_eq!(capture.idempotency_key, format!("{reference}-capture-1"));
}

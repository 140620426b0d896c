//! The sale, step by step, against the simulator and the relay on loopback.

mod engine_support;

use engine_support::*;
use kasse::engine::{Command, EngineEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_scan_approve_capture() {
    let env = Env::start().await;
    let (engine, mut rx) = env.engine();
    let ready = wait_for(&mut rx, "ready", is_ready).await;
    let EngineEvent::Ready { qr_content, .. } = ready else { unreachable!() };
    assert!(qr_content.starts_with("https://qr.vipps.no/"), "{qr_content}");

    engine.send(Command::Pay { basket: basket() }).unwrap();
    wait_for(&mut rx, "awaiting check-in", |e| matches!(e, EngineEvent::AwaitingCheckIn { amount: 12_900, .. })).await;
    assert!(env.demo.phone.scan().await.unwrap(), "check-in delivered");
    wait_for(&mut rx, "checked in", |e| matches!(e, EngineEvent::CheckedIn { .. })).await;
    let reference = requested(&mut rx).await;
    assert!(reference.starts_with("demo1-"), "{reference}");
    env.demo.phone.approve(&reference).await.unwrap();
    wait_for(&mut rx, "captured", |e| matches!(e, EngineEvent::Captured { amount: 12_900, .. })).await;
    let done = wait_for(&mut rx, "completed", |e| matches!(e, EngineEvent::Completed { .. })).await;
    let EngineEvent::Completed { receipt, reference: r2, .. } = done else { unreachable!() };
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
    assert_eq!(keys, vec![format!("{reference}-create"), format!("{reference}-capture-1")]);
}

//! A payment lives at the Vipps sales unit (MSN and environment) it was created at. A till
//! restarted with other Vipps settings while a payment is unfinished must not read it at the new
//! sales unit (a 404 there says nothing) and close it: it stays open, the cashier is told, and
//! it is finished by its stored intent once the previous settings are back.

use crate::engine_support::*;
use kasse::core::sale::SaleState;
use kasse::engine::{Command, Engine, EngineEvent, MessageId};
use kasse::sim::{SimConfig, TEST_MSN};
use kasse::store::attempts as es;

const PAY_PHONE: &[&str] = &["pay", "--amount", "12900", "--phone", "4791234567"];
const OTHER_MSN: &str = "654321";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_at_another_sales_unit_leaves_the_payment_open_until_the_previous_returns() {
    let env = Env::start().await;

    // The customer approves; the till stops right after committing its capture intent.
    let run = env
        .run_till(PAY_PHONE, Some("capture_intent"), Customer::Approve)
        .await;
    assert!(run.aborted(), "{:?} {:#?}", run.status, run.lines);
    let reference = run.reference().expect("payment requested");
    let sale_id = run.sale_id().expect("sale started");
    let before = es::attempt_by_reference(env.store().conn(), &reference)
        .unwrap()
        .expect("attempt stored");
    assert!(!before.resolved);
    assert_eq!(
        before.decision,
        Some(kasse::core::payment::Decision::Capture)
    );
    assert_eq!(before.vipps_msn.as_deref(), Some(TEST_MSN));
    let original_url = env.demo.sim.base_url.to_string();
    assert_eq!(
        before.vipps_base_url.as_deref(),
        Some(original_url.as_str())
    );
    let reserved = env.ledger(&reference).await;
    assert_eq!(reserved.state, "AUTHORIZED");
    assert_eq!(reserved.aggregate.authorized_amount.value, 12_900);

    // Restart with another sales unit: a second simulator with another MSN.
    let mut other_sim = SimConfig::for_tests();
    other_sim.msn = OTHER_MSN.into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = kasse::sim::spawn(other_sim, listener);
    let mut config = env.config.clone();
    config.vipps.environment = kasse::vipps::Environment::Custom(other.base_url.clone());
    config.vipps.msn = OTHER_MSN.into();
    let (handle, mut rx) = Engine::start(config, env.store());
    let problem = wait_for(
        &mut rx,
        "problem naming the payment",
        |e| matches!(e, EngineEvent::Problem { detail: Some(d), .. } if d.contains(&reference)),
    )
    .await;
    let EngineEvent::Problem {
        message_id,
        detail: Some(detail),
        retrying,
    } = problem
    else {
        unreachable!()
    };
    assert_eq!(message_id, MessageId::OutcomeUnknown);
    assert!(!retrying);
    assert!(detail.contains(TEST_MSN), "{detail}");
    assert!(detail.contains(&original_url), "{detail}");
    assert!(
        detail.contains("restore the previous Vipps settings"),
        "{detail}"
    );
    let recovered = wait_for(&mut rx, "recovered", |e| {
        matches!(e, EngineEvent::Recovered { .. })
    })
    .await;
    assert_eq!(
        recovered,
        EngineEvent::Recovered {
            settled: 0,
            unresolved: 1,
            unresolved_references: vec![reference.clone()],
        }
    );
    handle.send(Command::Shutdown).unwrap();
    handle.closed().await;

    // Untouched: the stored attempt, the sale, the money at the original sales unit; nothing
    // was asked of the other one about this payment.
    let after = es::attempt_by_reference(env.store().conn(), &reference)
        .unwrap()
        .unwrap();
    assert_eq!(after, before);
    assert_ne!(
        env.store().get_sale(sale_id).unwrap().unwrap().state,
        SaleState::Failed
    );
    let still = env.ledger(&reference).await;
    assert_eq!(still.state, "AUTHORIZED");
    assert_eq!(still.aggregate.captured_amount.value, 0);
    assert_eq!(still.aggregate.cancelled_amount.value, 0);
    assert!(other.control().payments().await.unwrap().is_empty());
    let asked: Vec<_> = other
        .control()
        .log()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.path.contains(&reference) || c.reference.as_deref() == Some(&reference))
        .collect();
    assert!(asked.is_empty(), "{asked:#?}");

    // Back at the previous settings: finished by its stored intent (capture, exactly once).
    let run = env.run_till(&["recover"], None, Customer::Ignore).await;
    assert!(run.status.success(), "{:#?}", run.lines);
    let rec = run
        .lines
        .iter()
        .find(|l| l["type"] == "recovered")
        .expect("recovered line");
    assert_eq!(rec["unresolved"], 0);
    let p = env.ledger(&reference).await;
    assert_eq!(p.counts.captures, 1, "{p:#?}");
    assert_eq!(p.aggregate.captured_amount.value, 12_900);
    assert_eq!(
        keys_of(&env.log().await, &reference, "/capture")
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>(),
        [format!("{reference}-capture-1")].into()
    );
    assert_eq!(
        env.store().get_sale(sale_id).unwrap().unwrap().state,
        SaleState::Completed
    );
    let done = es::attempt_by_reference(env.store().conn(), &reference)
        .unwrap()
        .unwrap();
    assert!(done.resolved);
    assert_eq!(done.status, kasse::core::payment::AttemptStatus::Completed);
    assert_ledger_settled(&env.ledger_all().await);
    env.store().verify_journal().expect("journal verifies");
    other.shutdown();
}

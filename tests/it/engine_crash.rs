//! Crash anywhere: the till runs as a separate process (`kasse pay`) and aborts right after a
//! persisted step (`KASSE_CRASH_AT`); `kasse recover` (or the next `kasse pay`) must finish
//! every payment by its stored intent: captured exactly once, or cancelled/expired with nothing
//! held, and the journal still verifies.

use crate::engine_support::*;
use kasse::core::sale::SaleState;

const PAY: &[&str] = &["pay", "--amount", "12900"];
const PAY_PHONE: &[&str] = &["pay", "--amount", "12900", "--phone", "4791234567"];
const PAY_PERSONAL_QR: &[&str] = &[
    "pay",
    "--amount",
    "12900",
    "--personal-qr",
    "https://qr.vipps.no/28/2/01/031/4791234567?v=1",
];

async fn recover(env: &Env) {
    let run = env.run_till(&["recover"], None, Customer::Ignore).await;
    assert!(
        run.status.success(),
        "recover left work undone: {:#?}",
        run.lines
    );
    let rec = run
        .lines
        .iter()
        .find(|l| l["type"] == "recovered")
        .expect("recovered line");
    assert_eq!(rec["unresolved"], 0);
}

/// The crash points are compiled only under the `crash-points` feature, which the package's
/// dev-dependency on itself turns on for `cargo test`: without it every test below would pass
/// vacuously or hang, so say so plainly.
#[test]
fn the_test_build_has_the_crash_points() {
    assert!(
        kasse::engine::crash::enabled(),
        "build the tests with the `crash-points` feature (Cargo.toml's self dev-dependency)"
    );
}

fn journal_verifies(env: &Env) {
    env.store().verify_journal().expect("journal verifies");
}

/// Runs `kasse pay` with a crash at `step`, checks it aborted there, recovers.
async fn crash_then_recover(env: &Env, args: &[&str], step: &str, customer: Customer) -> Run {
    let run = env.run_till(args, Some(step), customer).await;
    assert!(
        run.aborted(),
        "expected an abort at {step}: {:?} {:#?}",
        run.status,
        run.lines
    );
    recover(env).await;
    // A second recovery finds nothing left to do.
    recover(env).await;
    journal_verifies(env);
    assert_ledger_settled(&env.ledger_all().await);
    no_intent_left_open(env);
    run
}

/// After recovery no operation intent is left open (refunds included).
fn no_intent_left_open(env: &Env) {
    let open: i64 = env
        .store()
        .conn()
        .query_row(
            "SELECT count(*) FROM payment_operation WHERE status = 'intended'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0, "operations left intended after recovery");
}

/// Vipps holds the create while the till is killed (SIGKILL) and finishes it afterwards, as
/// real Vipps does with every request it received. A 404 read during the hold proves nothing:
/// `kasse recover` stays non-zero (naming the reference) while it cannot make the outcome
/// certain, then re-sends the create with its stored key and body, and releases the payment.
/// Exactly one payment exists, nothing is reserved, no intent is left open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_held_past_a_kill_is_made_certain_by_recovery() {
    use kasse::sim::{EndpointClass, Faults, Hold};
    let mut env = Env::start().await;
    // One try per create call: the retries of every run count against Vipps' 5 creates per
    // minute for this reference (the till paces them from what it stored, across the kill).
    env.config.engine.create_retry_budget_secs = 0;
    env.config.engine.modify_retry_budget_secs = 2;
    let control = env.demo.phone.control();
    control
        .set_faults(&Faults::default().with_hold(EndpointClass::Create, Hold::next(1, 8_000)))
        .await
        .unwrap();
    let config = env.write_config();
    let mut till = tokio::process::Command::new(env!("CARGO_BIN_EXE_kasse"))
        .args(PAY_PHONE)
        .arg("--config")
        .arg(&config)
        .env_remove("KASSE_CRASH_AT")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The create has reached Vipps (its hold is used up) and is being held: kill the till.
    eventually("the create is held at Vipps", || {
        let control = control.clone();
        async move {
            let f = control.faults().await.unwrap();
            f.hold
                .get(&EndpointClass::Create)
                .is_some_and(|h| h.count == Some(0))
        }
    })
    .await;
    till.kill().await.unwrap();
    assert!(env.ledger_all().await.is_empty(), "nothing created yet");

    // Vipps refuses every create for a while: the outcome cannot be made certain.
    let mut refuse = Faults::default();
    refuse.fail_next.insert(EndpointClass::Create, 1_000);
    control.set_faults(&refuse).await.unwrap();
    let uncertain = env.run_till(&["recover"], None, Customer::Ignore).await;
    assert!(!uncertain.status.success(), "{:#?}", uncertain.lines);
    let rec = uncertain
        .lines
        .iter()
        .find(|l| l["type"] == "recovered")
        .expect("recovered line");
    assert_eq!(rec["unresolved"], 1);
    let reference = rec["unresolved_references"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        uncertain
            .lines
            .iter()
            .any(|l| l["type"] == "relay_status" && l["status"]["state"] == "not_used"),
        "recover says it does not use the relay"
    );

    // Vipps answers again: the re-sent create makes it certain, and the payment is released.
    control.set_faults(&Faults::default()).await.unwrap();
    recover(&env).await;
    // The held original finishes afterwards: same key, same body, the same single payment.
    eventually("the held create has finished", || {
        let control = control.clone();
        let reference = reference.clone();
        async move {
            control
                .log()
                .await
                .unwrap()
                .iter()
                .filter(|c| {
                    c.method == "POST"
                        && c.path == "/epayment/v1/payments"
                        && c.idempotency_key.as_deref() == Some(&format!("{reference}-create"))
                        && c.status == 201
                })
                .count()
                >= 2
        }
    })
    .await;
    recover(&env).await;
    let ledger = env.ledger_all().await;
    assert_eq!(ledger.len(), 1, "{ledger:#?}");
    assert_eq!(ledger[0].reference, reference);
    assert_eq!(ledger[0].state, "TERMINATED");
    assert_ledger_settled(&ledger);
    no_intent_left_open(&env);
    journal_verifies(&env);
}

async fn captured_once(env: &Env, reference: &str) {
    let p = env.ledger(reference).await;
    assert_eq!(p.counts.captures, 1, "{p:#?}");
    assert_eq!(p.aggregate.captured_amount.value, 12_900);
    let keys: Vec<_> = env
        .log()
        .await
        .into_iter()
        .filter(|c| c.path.ends_with("/capture") && c.reference.as_deref() == Some(reference))
        .map(|c| c.idempotency_key.unwrap_or_default())
        .collect();
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| *k == format!("{reference}-capture-1")),
        "{keys:?}"
    );
}

async fn released(env: &Env, reference: &str) {
    let p = env.ledger(reference).await;
    assert_eq!(p.aggregate.captured_amount.value, 0, "{p:#?}");
    assert_eq!(p.counts.captures, 0);
    match p.state.as_str() {
        "TERMINATED" | "EXPIRED" | "ABORTED" => {}
        "AUTHORIZED" => assert_eq!(p.aggregate.cancelled_amount.value, 12_900, "{p:#?}"),
        other => panic!("{reference} is {other}"),
    }
}

fn sale_state(env: &Env, sale_id: i64) -> SaleState {
    env.store().get_sale(sale_id).unwrap().unwrap().state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_sale_frozen() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY, "sale_frozen", Customer::Approve).await;
    assert!(run.reference().is_none());
    assert!(env.ledger_all().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_checkin_stored() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY, "checkin_stored", Customer::Approve).await;
    assert!(run.reference().is_none());
    assert!(env.ledger_all().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_create_intent() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY, "create_intent", Customer::Approve).await;
    assert!(run.reference().is_none(), "crashed before the create call");
    assert!(env.ledger_all().await.is_empty());
    let store = env.store();
    let attempts =
        kasse::store::attempts::attempts_of_sale(store.conn(), run.sale_id().unwrap()).unwrap();
    assert_eq!(
        attempts[0].status,
        kasse::core::payment::AttemptStatus::NotCreated
    );
    assert_eq!(
        store
            .get_sale(run.sale_id().unwrap())
            .unwrap()
            .unwrap()
            .state,
        SaleState::Failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_create_result_customer_still_deciding() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY_PHONE, "create_result", Customer::Ignore).await;
    let ledger = env.ledger_all().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        ledger[0].state, "TERMINATED",
        "recovery cancels an undecided request"
    );
    assert!(run.reference().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_create_result_customer_approves_before_restart() {
    let env = Env::start().await;
    let run = env
        .run_till(PAY_PHONE, Some("create_result"), Customer::Ignore)
        .await;
    assert!(run.aborted());
    let ledger = env.ledger_all().await;
    let reference = ledger[0].reference.clone();
    env.demo.phone.approve(&reference).await.unwrap();
    recover(&env).await;
    journal_verifies(&env);
    assert_ledger_settled(&env.ledger_all().await);
    // No capture decision was stored: the reservation is released, never captured.
    released(&env, &reference).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_payment_event_stored() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY, "payment_event_stored", Customer::Approve).await;
    released(&env, &run.reference().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_authorized_stored() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY_PHONE, "authorized_stored", Customer::Approve).await;
    let reference = run.reference().unwrap();
    released(&env, &reference).await;
    assert_eq!(
        sale_state(&env, run.sale_id().unwrap()),
        SaleState::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_capture_intent() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY, "capture_intent", Customer::Approve).await;
    captured_once(&env, &run.reference().unwrap()).await;
    assert_eq!(
        sale_state(&env, run.sale_id().unwrap()),
        SaleState::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_capture_result() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY_PHONE, "capture_result", Customer::Approve).await;
    captured_once(&env, &run.reference().unwrap()).await;
    assert_eq!(
        sale_state(&env, run.sale_id().unwrap()),
        SaleState::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_capture_verified() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY_PHONE, "capture_verified", Customer::Approve).await;
    captured_once(&env, &run.reference().unwrap()).await;
    assert_eq!(
        sale_state(&env, run.sale_id().unwrap()),
        SaleState::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_completed() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY, "completed", Customer::Approve).await;
    captured_once(&env, &run.reference().unwrap()).await;
    assert_eq!(
        sale_state(&env, run.sale_id().unwrap()),
        SaleState::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_cancel_intent() {
    let env = Env::start().await;
    let args = [PAY_PHONE, &["--timeout-secs", "1"]].concat();
    let run = crash_then_recover(&env, &args, "cancel_intent", Customer::Ignore).await;
    let p = env.ledger(&run.reference().unwrap()).await;
    assert_eq!(p.state, "TERMINATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_cancel_result() {
    let env = Env::start().await;
    let args = [PAY_PHONE, &["--timeout-secs", "1"]].concat();
    let run = crash_then_recover(&env, &args, "cancel_result", Customer::Ignore).await;
    let reference = run.reference().unwrap();
    assert_eq!(env.ledger(&reference).await.state, "TERMINATED");
    let cancels: Vec<_> = env
        .log()
        .await
        .into_iter()
        .filter(|c| c.path.ends_with("/cancel"))
        .map(|c| c.idempotency_key.unwrap_or_default())
        .collect();
    assert!(
        cancels
            .iter()
            .all(|k| *k == format!("{reference}-cancel-1")),
        "{cancels:?}"
    );
}

async fn completed_sale(env: &Env) -> (i64, String) {
    let run = env.run_till(PAY_PHONE, None, Customer::Approve).await;
    assert!(run.status.success(), "{:#?}", run.lines);
    (run.sale_id().unwrap(), run.reference().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_refund_intent_refunds_once() {
    let env = Env::start().await;
    let (sale_id, reference) = completed_sale(&env).await;
    let sale = sale_id.to_string();
    let args = ["refund", "--sale-id", &sale, "--amount", "4000"];
    let run = env
        .run_till(&args, Some("refund_intent"), Customer::Ignore)
        .await;
    assert!(run.aborted());
    recover(&env).await;
    journal_verifies(&env);
    let p = env.ledger(&reference).await;
    assert_eq!(p.aggregate.refunded_amount.value, 4_000);
    assert_eq!(p.counts.refunds, 1);
    let keys: Vec<_> = env
        .log()
        .await
        .into_iter()
        .filter(|c| c.path.ends_with("/refund"))
        .map(|c| c.idempotency_key.unwrap_or_default())
        .collect();
    assert_eq!(keys, vec![format!("{reference}-refund-1")]);
    // A further refund is a new one with the next counter.
    let again = env.run_till(&args, None, Customer::Ignore).await;
    assert!(again.status.success(), "{:#?}", again.lines);
    let p = env.ledger(&reference).await;
    assert_eq!(p.aggregate.refunded_amount.value, 8_000);
    assert_eq!(p.counts.refunds, 2);
    let last = env
        .log()
        .await
        .into_iter()
        .rfind(|c| c.path.ends_with("/refund"))
        .unwrap();
    assert_eq!(last.idempotency_key, Some(format!("{reference}-refund-2")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_refund_result() {
    let env = Env::start().await;
    let (sale_id, reference) = completed_sale(&env).await;
    let sale = sale_id.to_string();
    let args = ["refund", "--sale-id", &sale, "--amount", "12900"];
    let run = env
        .run_till(&args, Some("refund_result"), Customer::Ignore)
        .await;
    assert!(run.aborted());
    recover(&env).await;
    journal_verifies(&env);
    let p = env.ledger(&reference).await;
    assert_eq!(p.aggregate.refunded_amount.value, 12_900);
    assert_eq!(p.counts.refunds, 1);
    let keys: Vec<_> = env
        .log()
        .await
        .into_iter()
        .filter(|c| c.path.ends_with("/refund"))
        .map(|c| c.idempotency_key.unwrap_or_default())
        .collect();
    assert_eq!(keys, vec![format!("{reference}-refund-1")]);
    // Nothing is left to refund.
    let more = env
        .run_till(
            &["refund", "--sale-id", &sale, "--amount", "1"],
            None,
            Customer::Ignore,
        )
        .await;
    assert!(!more.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_pay_run_recovers_first_then_sells() {
    let env = Env::start().await;
    let first = env
        .run_till(PAY_PHONE, Some("capture_intent"), Customer::Approve)
        .await;
    assert!(first.aborted());
    let second = env.run_till(PAY_PHONE, None, Customer::Approve).await;
    assert!(second.status.success(), "{:#?}", second.lines);
    let rec = second
        .lines
        .iter()
        .find(|l| l["type"] == "recovered")
        .unwrap();
    assert_eq!(rec["settled"], 1);
    captured_once(&env, &first.reference().unwrap()).await;
    captured_once(&env, &second.reference().unwrap()).await;
    assert_ledger_settled(&env.ledger_all().await);
    journal_verifies(&env);
}

const PAY_ONE_TIME_QR: &[&str] = &["pay", "--amount", "12900", "--one-time-qr"];

/// An environment whose relay is stopped: no webhook and no check-in can reach the till.
async fn env_without_relay() -> Env {
    let mut env = Env::start().await;
    if let Some(relay) = env.demo.relay.take() {
        relay.shutdown().await;
    }
    env
}

/// `kasse pay` with a flow that needs no relay completes and captures once with the relay
/// stopped; killed after the payment was created while the customer decides, recovery finds it
/// by polling (no webhook needed) and releases it; killed once the capture was decided (its
/// intent stored), recovery captures it exactly once with the stored key.
async fn pays_and_recovers_without_webhooks(args: &[&str], shows: &str) {
    let env = env_without_relay().await;
    let run = env.run_till(args, None, Customer::Approve).await;
    assert!(run.status.success(), "{:#?}", run.lines);
    assert!(run.has(shows) && run.has("completed"), "{:#?}", run.lines);
    captured_once(&env, &run.reference().unwrap()).await;

    let env = env_without_relay().await;
    let run = crash_then_recover(&env, args, "capture_intent", Customer::Approve).await;
    captured_once(&env, &run.reference().unwrap()).await;
    assert_eq!(
        sale_state(&env, run.sale_id().unwrap()),
        SaleState::Completed
    );

    let env = env_without_relay().await;
    crash_then_recover(&env, args, "create_result", Customer::Ignore).await;
    let ledger = env.ledger_all().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].state, "TERMINATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_qr_pays_and_recovers() {
    pays_and_recovers_without_webhooks(PAY_PERSONAL_QR, "payment_requested").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_qr_pays_and_recovers() {
    pays_and_recovers_without_webhooks(PAY_ONE_TIME_QR, "one_time_qr").await;
}

const PAY_SPLIT: &[&str] = &["pay", "--amount", "12900", "--cash", "10000"];
const PAY_CASH: &[&str] = &["pay", "--amount", "12900", "--cash", "20000"];

/// Killed after the cash part of a split sale was taken: the sale never reached Vipps, so
/// recovery gives the cash back (recorded, journalled) and the drawer's expected cash is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_tender_taken_gives_the_cash_back() {
    let env = Env::start().await;
    let run = env
        .run_till(PAY_SPLIT, Some("tender_taken"), Customer::Approve)
        .await;
    assert!(run.aborted(), "{:#?}", run.lines);
    let sale_id = run.sale_id().unwrap();
    assert_eq!(env.store().expected_cash().unwrap(), 10_000);
    let rec = env.run_till(&["recover"], None, Customer::Ignore).await;
    assert!(rec.status.success(), "{:#?}", rec.lines);
    let given = rec
        .lines
        .iter()
        .find(|l| l["type"] == "given_back")
        .expect("the cash is given back");
    assert_eq!(given["sale_id"], sale_id);
    assert_eq!(given["parts"], serde_json::json!([["cash", 10_000]]));
    recover(&env).await;
    let store = env.store();
    assert_eq!(store.expected_cash().unwrap(), 0);
    assert!(store.sales_holding_parts().unwrap().is_empty());
    assert!(env.ledger_all().await.is_empty(), "nothing reached Vipps");
    journal_verifies(&env);
    // The day can close.
    store
        .take_z_report("demo1", kasse::core::money::Currency::Nok, None)
        .unwrap();
}

/// Killed right after a cash sale concluded: it stays completed, signed once, with its
/// tender; recovery has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_paid_without_vipps() {
    let env = Env::start().await;
    let run = crash_then_recover(&env, PAY_CASH, "paid_without_vipps", Customer::Approve).await;
    let sale_id = run.sale_id().unwrap();
    let store = env.store();
    let sale = store.get_sale(sale_id).unwrap().unwrap();
    assert_eq!(sale.state, SaleState::Completed);
    assert_eq!(
        store.signed_sale(sale_id).unwrap().unwrap().amount_in,
        12_900
    );
    let t = store.tenders_of_sale(sale_id).unwrap();
    assert_eq!((t.len(), t[0].amount, t[0].change), (1, 12_900, 7_100));
    assert_eq!(store.expected_cash().unwrap(), 12_900);
}

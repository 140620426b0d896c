//! A long randomized run of the real till process killed with SIGKILL at random moments,
//! against a simulator that holds creates past the kill and a customer who approves, declines
//! or ignores at random. Ignored by default (it takes minutes); run it with
//! `KASSE_SOAK_SALES=300 cargo test --test it kill9_soak -- --ignored --nocapture`
//! (`KASSE_SOAK_SEED` repeats a run). At the end, after `kasse recover` exits 0: nothing is
//! reserved at Vipps, nothing was captured twice or partly, no intent is left open, and the
//! journal verifies.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::engine_support::*;
use kasse::sim::{AutoCustomer, EndpointClass, Faults, Hold};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: KASSE_SOAK_SALES=300 cargo test --test it kill9_soak -- --ignored"]
async fn kill9_soak() {
    let sales: u32 = std::env::var("KASSE_SOAK_SALES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("KASSE_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("kill9_soak: {sales} sales, seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut env = Env::start().await;
    env.config.engine.create_retry_budget_secs = 2;
    env.config.engine.modify_retry_budget_secs = 2;
    let config = env.write_config();
    let control = env.demo.phone.control().clone();
    let (mut killed, mut held, mut finished) = (0u32, 0u32, 0u32);
    for _ in 0..sales {
        let mut faults = Faults::default();
        if rng.random_bool(0.3) {
            held += 1;
            faults = faults.with_hold(
                EndpointClass::Create,
                Hold::next(1, rng.random_range(200..2_500)),
            );
        }
        control.set_faults(&faults).await.unwrap();
        let customer = match rng.random_range(0..10) {
            0 => None,
            1 => Some(AutoCustomer {
                approve: false,
                after_ms: rng.random_range(0..1_500),
            }),
            _ => Some(AutoCustomer {
                approve: true,
                after_ms: rng.random_range(0..1_500),
            }),
        };
        control.set_auto_customer(customer).await.unwrap();
        let mut till = tokio::process::Command::new(env!("CARGO_BIN_EXE_kasse"))
            .args([
                "pay",
                "--amount",
                "12900",
                "--phone",
                "4791234567",
                "--timeout-secs",
                "3",
            ])
            .arg("--config")
            .arg(&config)
            .env_remove("KASSE_CRASH_AT")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // The kill moment is the random variable here, not a wait for a condition.
        let kill_after = Duration::from_millis(rng.random_range(0..1_500));
        match tokio::time::timeout(kill_after, till.wait()).await {
            Ok(_) => finished += 1,
            Err(_) => {
                till.kill().await.unwrap();
                killed += 1;
            }
        }
        if rng.random_bool(0.2) {
            // An operator runs recover now and then; it may stay non-zero while a held create
            // or a rate-limit window is still open.
            let _ = env.run_till(&["recover"], None, Customer::Ignore).await;
        }
    }
    control.set_faults(&Faults::default()).await.unwrap();
    control.set_auto_customer(None).await.unwrap();
    // Recover until nothing is uncertain (held creates finish within seconds; a full
    // rate-limit window empties within a minute).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut runs = 0;
    loop {
        runs += 1;
        let run = env.run_till(&["recover"], None, Customer::Ignore).await;
        if run.status.success() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "recover still uncertain after 3 minutes: {:#?}",
            run.lines
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let ledger = env.ledger_all().await;
    assert_ledger_settled(&ledger);
    assert_rate_limits(&env.log().await);
    let store = env.store();
    let open: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM payment_operation WHERE status = 'intended'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0, "intents left open");
    let unresolved: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM payment_attempt WHERE resolved = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unresolved, 0, "attempts left unresolved");
    store.verify_journal().expect("journal verifies");
    // The hash chain and the signature chain of every concluded sale, as an auditor checks.
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_kasse"))
        .args(["journal", "verify", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "kasse journal verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let mut states: BTreeMap<String, u32> = BTreeMap::new();
    for p in &ledger {
        *states.entry(p.state.clone()).or_default() += 1;
    }
    let captured = ledger
        .iter()
        .filter(|p| p.aggregate.captured_amount.value > 0)
        .count();
    let attempts: Vec<(String, i64)> = {
        let mut stmt = store
            .conn()
            .prepare("SELECT status, count(*) FROM payment_attempt GROUP BY status")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    println!(
        "kill9_soak: {sales} runs ({killed} killed, {finished} finished, {held} creates held), \
         {runs} final recover run(s); Vipps payments {} {states:?}, {captured} captured once; \
         till attempts {attempts:?}",
        ledger.len()
    );
}

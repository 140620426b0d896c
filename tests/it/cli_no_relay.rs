//! `kasse pay --demo` with the flows that need no relay: the simulated customer's personal QR
//! and a one-time QR the simulated customer scans. Real processes, deadlines, no fixed sleeps.

use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kasse");

async fn pay_demo(args: &[&str]) -> (std::process::ExitStatus, Vec<serde_json::Value>) {
    let all = [&["pay", "--demo", "--amount", "12900"], args].concat();
    crate::engine_support::run_kasse(&all, Duration::from_secs(60)).await
}

fn line<'a>(lines: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} line: {lines:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_pays_with_the_customers_personal_qr() {
    let (status, lines) = pay_demo(&["--personal-qr"]).await;
    assert!(status.success(), "{lines:#?}");
    let outcome = line(&lines, "outcome");
    assert_eq!(outcome["outcome"], "completed");
    assert_eq!(outcome["captured"], 12900);
    assert!(
        lines.iter().all(|l| l["type"] != "checked_in"),
        "no scan of the till's QR"
    );
    // The personal QR (it can carry the phone number) is not printed.
    let all = serde_json::to_string(&lines).unwrap();
    assert!(!all.contains("qr.vipps.no/p/"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_pays_with_a_one_time_qr_the_customer_scans() {
    let (status, lines) = pay_demo(&["--one-time-qr"]).await;
    assert!(status.success(), "{lines:#?}");
    let shown = line(&lines, "one_time_qr");
    assert!(
        shown["qr_content"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(shown["relay_down"], false);
    assert!(shown["expires_at_ms"].as_i64().unwrap() > 1_600_000_000_000);
    let outcome = line(&lines, "outcome");
    assert_eq!(outcome["outcome"], "completed");
    assert_eq!(outcome["captured"], 12900);
}

/// Without `--demo` the scanned text is required: refused before any sale is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personal_qr_needs_its_text_without_the_demo() {
    let env = crate::engine_support::Env::start().await;
    let config = env.write_config();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["pay", "--amount", "12900", "--personal-qr", "--config"])
        .arg(&config)
        .kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("KASSE_") {
            cmd.env_remove(k);
        }
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("kasse pay finishes")
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--personal-qr needs"));
    assert!(env.ledger_all().await.is_empty());
    assert!(env.store().get_sale(1).unwrap().is_none(), "no sale stored");
}

//! `kasse pay --demo --loyalty member|invite|decline`: the real process, the simulated customer
//! scanning first; member prices (10 % off in the demo) captured exactly, or the normal price.

use std::time::Duration;

/// Runs `kasse ARGS`; its exit and JSON lines.
async fn kasse(args: &[&str]) -> (std::process::ExitStatus, Vec<serde_json::Value>) {
    crate::engine_support::run_kasse(args, Duration::from_secs(180)).await
}

async fn pay_demo(loyalty: &str) -> (std::process::ExitStatus, Vec<serde_json::Value>) {
    kasse(&["pay", "--demo", "--amount", "12900", "--loyalty", loyalty]).await
}

fn find<'a>(lines: &'a [serde_json::Value], kind: &str) -> Option<&'a serde_json::Value> {
    lines.iter().find(|l| l["type"] == kind)
}

fn outcome(lines: &[serde_json::Value]) -> &serde_json::Value {
    find(lines, "outcome").unwrap_or_else(|| panic!("no outcome: {lines:#?}"))
}

#[tokio::test]
async fn loyalty_headless_member_pays_the_member_price() {
    let (status, lines) = pay_demo("member").await;
    assert!(status.success(), "{lines:#?}");
    let recognised = find(&lines, "member_recognised").expect("recognised at the scan");
    assert_eq!(recognised["first_name"], "Kari");
    assert!(!recognised.to_string().contains("4712345678"));
    assert_eq!(find(&lines, "member_prices").unwrap()["saving"], 1_290);
    let o = outcome(&lines);
    assert_eq!(o["outcome"], "completed");
    assert_eq!(o["total"], 11_610);
    assert_eq!(o["captured"], 11_610);
}

#[tokio::test]
async fn loyalty_headless_invite_approved_then_member_price() {
    let (status, lines) = pay_demo("invite").await;
    assert!(status.success(), "{lines:#?}");
    assert!(find(&lines, "not_a_member").is_some());
    let code = find(&lines, "invite_pending").unwrap()["binding_message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(code.len(), 7, "{code}");
    assert!(find(&lines, "member_enrolled").is_some());
    let o = outcome(&lines);
    assert_eq!(o["captured"], 11_610);
}

#[tokio::test]
async fn loyalty_headless_declined_invite_pays_the_normal_price() {
    let (status, lines) = pay_demo("decline").await;
    assert!(status.success(), "{lines:#?}");
    assert_eq!(find(&lines, "invite_ended").unwrap()["reason"], "declined");
    assert!(find(&lines, "member_enrolled").is_none());
    let o = outcome(&lines);
    assert_eq!(o["captured"], 12_900);
}

/// `kasse bench --loyalty` prints the loyalty figures beside the payment ones, each with a
/// sample per sale (or invitation). Timings are printed, never asserted.
#[tokio::test]
async fn loyalty_bench_prints_its_figures_beside_the_payment_ones() {
    let (status, lines) = kasse(&["bench", "--sales", "2", "--loyalty"]).await;
    assert!(status.success(), "{status:?}");
    assert_eq!(find(&lines, "bench").unwrap()["completed"], 2);
    let samples = |hop: &str| {
        lines
            .iter()
            .find(|l| l["hop"] == hop)
            .unwrap_or_else(|| panic!("no {hop} in {lines:#?}"))["samples"]
            .clone()
    };
    for hop in [
        "relay_checkin_to_sim_create",
        "relay_authorized_to_sim_capture",
        "loyalty_relay_checkin_to_sim_create",
        "loyalty_relay_authorized_to_sim_capture",
        "loyalty_relay_checkin_to_sim_exchange",
        "loyalty_relay_checkin_to_member_recognised",
    ] {
        assert_eq!(samples(hop), 2, "{hop}");
    }
    assert_eq!(samples("loyalty_invite_to_login_in_app"), 3);
    assert_eq!(samples("loyalty_approve_to_member_enrolled"), 3);
}

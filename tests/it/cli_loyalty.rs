//! `kasse pay --demo --loyalty member|invite|decline`: the real process, the simulated customer
//! scanning first; member prices (10 % off in the demo) captured exactly, or the normal price.

use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kasse");

async fn pay_demo(loyalty: &str) -> (std::process::ExitStatus, Vec<serde_json::Value>) {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["pay", "--demo", "--amount", "12900", "--loyalty", loyalty])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("KASSE_") {
            cmd.env_remove(k);
        }
    }
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("kasse pay finishes")
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (out.status, lines)
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

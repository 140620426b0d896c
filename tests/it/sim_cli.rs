//! The `kasse-sim` binary: documented flags and control endpoints, and a real
//! run on a loopback port.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kasse-sim");

#[test]
fn help_documents_flags_and_control_endpoints() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--client-id",
        "--client-secret",
        "--subscription-key",
        "--msn",
        "--currency",
        "--payment-expiry-secs",
        "--rate-limit-modify",
        "--push-not-allowed",
        "--webhook-retry-initial-ms",
        "--auto-approve-after-ms",
        "--fault-5xx-rate",
        "--webhook-drop-rate",
        "--webhook-duplicate-rate",
        "--webhook-delay-ms",
        "--fault-hold",
        "--fault-latency-ms",
    ] {
        assert!(help.contains(flag), "--help lists {flag}");
    }
    for endpoint in [
        "/sim/v1/merchant-callback/{merchantQrId}/scan",
        "/sim/v1/payments/{reference}/approve",
        "/sim/v1/payments",
        "/sim/v1/log",
        "/sim/v1/faults",
        "/sim/v1/clock/advance",
        "/epayment/v1/test/payments/{reference}/approve",
    ] {
        assert!(help.contains(endpoint), "--help lists {endpoint}");
    }
    assert!(
        help.contains(r#""hold":{"create":{"ms""#),
        "--help shows the hold fault"
    );
}

#[test]
fn bad_flags_are_refused_with_a_clear_error() {
    let out = Command::new(BIN)
        .args(["--currency", "SEK"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SEK"));
    let out = Command::new(BIN)
        .args(["--fault-5xx-rate", "nothing=0.5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    for bad in ["create", "create=soon", "create=100:x", "nothing=100"] {
        let out = Command::new(BIN)
            .args(["--fault-hold", bad])
            .output()
            .unwrap();
        assert!(!out.status.success(), "--fault-hold {bad} is refused");
    }
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_vipps_on_its_port() {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            "my-client",
            "--client-secret",
            "my-secret",
            "--subscription-key",
            "my-key",
            "--msn",
            "654321",
        ])
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Kill(child);
    // Keep reading stdout until the child exits, handing over the first line.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let line = tokio::task::spawn_blocking(move || rx.recv().unwrap())
        .await
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the first line names the URL")
        .to_string();
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{base}accesstoken/get"))
        .header("client_id", "my-client")
        .header("client_secret", "my-secret")
        .header("Ocp-Apim-Subscription-Key", "my-key")
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let body: serde_json::Value = token.json().await.unwrap();
    let qr = http
        .put(format!("{base}qr/v1/merchant-callback/till-1"))
        .header(
            "Authorization",
            format!("Bearer {}", body["access_token"].as_str().unwrap()),
        )
        .header("Ocp-Apim-Subscription-Key", "my-key")
        .header("Merchant-Serial-Number", "654321")
        .json(&serde_json::json!({"locationDescription": "Kasse 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(qr.status(), 200);
    let ledger = http
        .get(format!("{base}sim/v1/payments"))
        .send()
        .await
        .unwrap();
    assert_eq!(ledger.status(), 200);
}

#[tokio::test]
async fn shutdown_closes_even_kept_alive_connections() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = kasse::sim::spawn(kasse::sim::SimConfig::for_tests(), listener);
    let http = reqwest::Client::new();
    let url = format!("{}sim/v1/payments", sim.base_url);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    sim.shutdown();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if http.get(&url).send().await.is_err() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still answering after shutdown"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

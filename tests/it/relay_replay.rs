//! Never block a payment's events: a correctly signed webhook the relay cannot parse is
//! answered 2xx, kept once, counted and listed, and `kasse-relay events replay ID` files a
//! kept event again under a new id that the till's cursor sees. The same test runs on SQLite
//! and on PostgreSQL, with the replay run by the CLI in a process of its own beside the
//! running relay.

use crate::relay_support::pg::PgCluster;
use crate::relay_support::*;
use kasse::relay::client::{RelayClient, RelayEvent, Transport};
use reqwest::StatusCode;
use std::path::Path;
use std::time::Duration;

const MSN: &str = "123456";
const SECRET: &str = "relay-replay-test-secret";
const T: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_signed_event_is_kept_counted_and_replayable_on_sqlite() {
    let (_dir, db) = temp_db();
    kept_counted_and_replayable(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_signed_event_is_kept_counted_and_replayable_on_postgres() {
    let Some(pg) =
        PgCluster::start("malformed_signed_event_is_kept_counted_and_replayable_on_postgres")
    else {
        return;
    };
    kept_counted_and_replayable(pg.db()).await;
}

/// `kasse-relay events replay` with the exit status, stdout and stderr.
fn replay(db: &Path, id: i64) -> (bool, String, String) {
    let out = std::process::Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(["events", "replay", &id.to_string()])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run kasse-relay events replay");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The ids of the listed events with this status.
fn ids(db: &Path, status: &str) -> Vec<i64> {
    cli(db, &["events", "list", "--status", status])
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap().parse().unwrap())
        .collect()
}

async fn kept_counted_and_replayable(db: &Path) {
    let tokens = provision(db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(db, "127.0.0.1:0", &[]).await;
    let url = relay.webhook_url(MSN);
    let http = reqwest::Client::new();

    // A payment event whose `name` is not a string: signed correctly, not understood.
    let malformed = r#"{"msn":"123456","reference":"t1-0001","pspReference":"p1","name":42}"#;
    for attempt in 0..2 {
        let r = post_signed(&http, &url, SECRET, malformed.as_bytes()).await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "attempt {attempt}: 2xx, not 400"
        );
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["status"], "rejected");
        assert_eq!(v["duplicate"], attempt == 1, "a re-delivery is kept once");
    }
    let rejected = ids(db, "rejected");
    assert_eq!(rejected.len(), 1, "kept once");
    let listed = cli(db, &["events", "list", "--status", "rejected"]);
    assert!(listed.contains("name must be strings"), "{listed}");
    assert_eq!(
        metric(
            &http,
            &relay.base_url,
            "kasse_relay_webhooks_total{outcome=\"rejected\"}"
        )
        .await,
        Some(1.0)
    );
    assert_eq!(
        metric(
            &http,
            &relay.base_url,
            "kasse_relay_webhooks_total{outcome=\"duplicate\"}"
        )
        .await,
        Some(1.0)
    );
    // This build still does not understand it: the replay says so and keeps it.
    let (ok, _, stderr) = replay(db, rejected[0]);
    assert!(!ok, "a replay that cannot classify fails");
    assert!(stderr.contains("still not understood"), "{stderr}");
    assert_eq!(ids(db, "rejected"), rejected, "still kept");

    // A payment event for a till that does not exist yet: kept unrouted.
    let body = payment_body("t9-0001", "AUTHORIZED", "psp-9");
    let r = post_signed(&http, &url, SECRET, body.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "unrouted");
    let old_id = v["eventId"].as_i64().unwrap();

    // The operator adds the till; it connects; then the kept event is replayed by the CLI,
    // a process of its own beside the running relay.
    let token9 = add_till(db, MSN, "t9", "qr-9");
    let mut till = RelayClient::connect(client_config(
        &relay.base_url,
        &token9,
        0,
        Transport::WebSocket,
    ));
    wait_status(&till, T, "till t9 connected", |s| {
        *s == kasse::relay::client::ConnectionStatus::Connected
    })
    .await;
    let (ok, stdout, stderr) = replay(db, old_id);
    assert!(ok, "replay failed: {stderr}");
    let mut cols = stdout.trim().split('\t');
    let new_id: i64 = cols.next().unwrap().parse().unwrap();
    assert_eq!(cols.next(), Some("routed"), "{stdout}");
    assert!(new_id > old_id, "a new id, after the till's cursor");

    let d = recv(&mut till, T).await;
    assert_eq!(d.seq, u64::try_from(new_id).unwrap());
    let RelayEvent::Payment(p) = &d.event else {
        panic!("expected the payment event: {d:?}")
    };
    assert_eq!(p.reference, "t9-0001");
    till.ack(d.seq);

    // Once replayed, never again; a routed event is never replayed.
    let (ok, _, stderr) = replay(db, old_id);
    assert!(!ok);
    assert!(stderr.contains("already replayed"), "{stderr}");
    let (ok, _, stderr) = replay(db, new_id);
    assert!(!ok);
    assert!(stderr.contains("is routed"), "{stderr}");
    let (ok, _, stderr) = replay(db, 999_999);
    assert!(!ok);
    assert!(stderr.contains("no event 999999"), "{stderr}");

    // Vipps re-delivering the original now is a duplicate of the replayed event.
    let r = post_signed(&http, &url, SECRET, body.as_bytes()).await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["duplicate"], true);
    assert_eq!(v["eventId"].as_i64(), Some(new_id));

    // Till t1 never saw any of it.
    let (_, events) = poll(&http, &relay.base_url, &tokens[0], 0, 0)
        .await
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
}

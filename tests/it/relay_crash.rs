//! `kill -9` of the relay while webhooks arrive: every webhook answered 2xx
//! reaches its till after the restart, and none reaches the engine twice.

use crate::relay_support::*;
use kasse::relay::client::{RelayClient, Transport};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MSN: &str = "123456";
const SECRET: &str = "relay-crash-test-secret";
const TOTAL: usize = 400;
const SENDERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_webhook_survives_kill_9_and_arrives_once() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let addr = relay.addr.clone();
    let url = relay.webhook_url(MSN);

    // The "engine": persists each delivery with its seq as the cursor, ignores
    // anything at or below the cursor, acks after persisting.
    let mut client = RelayClient::connect(client_config(
        &relay.base_url,
        &tokens[0],
        0,
        Transport::WebSocket,
    ));
    let persisted: Arc<Mutex<BTreeMap<u64, String>>> = Arc::default();
    let engine_cursor = Arc::new(Mutex::new(0u64));
    let duplicates = Arc::new(Mutex::new(0usize));

    // Vipps: several concurrent senders; remember which got a 2xx.
    let accepted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut send_tasks = Vec::new();
    for s in 0..SENDERS {
        let (http, url, accepted) = (http.clone(), url.clone(), accepted.clone());
        send_tasks.push(tokio::spawn(async move {
            let mut failed = Vec::new();
            for i in (s..TOTAL).step_by(SENDERS) {
                let reference = format!("t1-{i:05}");
                let body = payment_body(&reference, "AUTHORIZED", &format!("psp-{i}"));
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    post_signed_fallible(&http, &url, SECRET, body.as_bytes()),
                )
                .await
                {
                    Ok(Some(status)) if status.is_success() => {
                        accepted.lock().unwrap().insert(reference);
                    }
                    _ => failed.push(reference),
                }
            }
            failed
        }));
    }

    // Engine loop runs throughout.
    let engine = {
        let (persisted, engine_cursor, duplicates) =
            (persisted.clone(), engine_cursor.clone(), duplicates.clone());
        tokio::spawn(async move {
            while let Some(d) = client.next().await {
                let mut cursor = engine_cursor.lock().unwrap();
                if d.seq <= *cursor {
                    *duplicates.lock().unwrap() += 1;
                    continue;
                }
                let key = key_of(&d);
                let mut p = persisted.lock().unwrap();
                if p.values().any(|k| *k == key) {
                    *duplicates.lock().unwrap() += 1;
                }
                p.insert(d.seq, key);
                *cursor = d.seq;
                client.ack(d.seq);
            }
        })
    };

    // Kill -9 once a good part has been accepted, while the rest is in flight.
    wait_for(Duration::from_secs(60), "some webhooks accepted", || {
        let n = accepted.lock().unwrap().len();
        async move { (n >= TOTAL / 4).then_some(()) }
    })
    .await;
    relay.kill9().await;
    let at_kill = accepted.lock().unwrap().len();
    // Senders keep failing while the relay is down; then it comes back on the
    // same address and the failed ones are retried, as Vipps would.
    let mut failed = Vec::new();
    for t in send_tasks {
        failed.extend(t.await.unwrap());
    }
    assert!(
        !failed.is_empty() || at_kill == TOTAL,
        "the kill hit while webhooks arrived"
    );
    let relay = Relay::start(&db, &addr, &[]).await;
    for reference in &failed {
        let i: usize = reference[3..].parse().unwrap();
        let body = payment_body(reference, "AUTHORIZED", &format!("psp-{i}"));
        let r = post_signed(&http, &url, SECRET, body.as_bytes()).await;
        assert!(
            r.status().is_success(),
            "retry of {reference}: {}",
            r.status()
        );
        accepted.lock().unwrap().insert(reference.clone());
    }
    let accepted = accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), TOTAL);

    // Everything accepted arrives, once.
    wait_for(
        Duration::from_secs(60),
        "all accepted webhooks delivered",
        || {
            let n = persisted.lock().unwrap().len();
            async move { (n >= TOTAL).then_some(()) }
        },
    )
    .await;
    let delivered: Vec<String> = persisted.lock().unwrap().values().cloned().collect();
    let unique: BTreeSet<String> = delivered.iter().cloned().collect();
    assert_eq!(
        delivered.len(),
        unique.len(),
        "no event reached the engine twice"
    );
    assert_eq!(unique, accepted);
    assert_eq!(
        *duplicates.lock().unwrap(),
        0,
        "the client never yielded a seq twice"
    );

    // A restarted till (new client from the engine's cursor) gets nothing again.
    engine.abort();
    let cursor = *engine_cursor.lock().unwrap();
    let mut again = RelayClient::connect(client_config(
        &relay.base_url,
        &tokens[0],
        cursor,
        Transport::WebSocket,
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(500), again.next())
            .await
            .is_err(),
        "nothing after the cursor"
    );
    eprintln!(
        "accepted before kill: {at_kill}, failed during the outage and retried: {}",
        failed.len()
    );
}

/// Like `post_signed`, but a connection failure is `None` instead of a panic.
async fn post_signed_fallible(
    http: &reqwest::Client,
    url: &url::Url,
    secret: &str,
    body: &[u8],
) -> Option<reqwest::StatusCode> {
    let headers = signature_headers(url, secret, body);
    post_with(http, url.clone(), headers, body.to_vec())
        .send()
        .await
        .ok()
        .map(|r| r.status())
}

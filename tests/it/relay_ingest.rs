//! Webhook ingest against the real `kasse-relay` binary: authentication,
//! limits, duplicates, routing and the check-in policy.

use crate::relay_support::*;
use reqwest::StatusCode;
use std::time::Duration;

const MSN_A: &str = "123456";
const MSN_B: &str = "654321";
const SECRET_A: &str =
    "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==";
const SECRET_B: &str = "secret-of-store-b";

#[tokio::test]
async fn every_forgery_is_rejected_and_only_the_genuine_event_is_delivered() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN_A, SECRET_A, &[("t1", "qr-1")]);
    provision(&db, MSN_B, SECRET_B, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let http = reqwest::Client::new();
    let url_a = relay.webhook_url(MSN_A);
    let url_b = relay.webhook_url(MSN_B);
    let genuine = payment_body("t1-0001", "AUTHORIZED", "psp-1");

    // Tampered body: signed one body, sent another.
    let tampered = genuine.replace("49900", "99900");
    let send = |headers: Vec<(&'static str, String)>, body: String, url: url::Url| {
        post_with(&http, url, headers, body).send()
    };
    let all = signature_headers(&url_a, SECRET_A, genuine.as_bytes());
    let r = send(all.clone(), tampered.clone(), url_a.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "tampered body");
    // Tampered body with its hash recomputed (signature then does not match).
    let mut rehashed = all.clone();
    rehashed[1].1 = kasse::vipps::webhook::content_hash(tampered.as_bytes());
    let r = send(rehashed, tampered.clone(), url_a.clone())
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "tampered body, rehashed"
    );
    // Each header missing.
    for skip in 0..3 {
        let headers: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, h)| h.clone())
            .collect();
        let r = send(headers, genuine.clone(), url_a.clone()).await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "missing header #{skip}"
        );
    }
    // Wrong secret.
    let r = post_signed(&http, &url_a, "not-the-secret", genuine.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "wrong secret");
    // Another store's valid signature (signed for this URL with store B's secret).
    let r = post_signed(&http, &url_a, SECRET_B, genuine.as_bytes()).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "store B's secret on store A"
    );
    // A genuine delivery for store B replayed to store A's URL (wrong path).
    let for_b = signature_headers(&url_b, SECRET_A, genuine.as_bytes());
    let r = send(for_b, genuine.clone(), url_a.clone()).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "signed for another path"
    );
    // Signed for another host.
    let mut evil = url_a.clone();
    evil.set_host(Some("evil.example")).unwrap();
    let for_evil = signature_headers(&evil, SECRET_A, genuine.as_bytes());
    let r = send(for_evil, genuine.clone(), url_a.clone())
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "signed for another host"
    );
    // Unknown store.
    let unknown = relay.webhook_url("999999");
    let r = post_signed(&http, &unknown, SECRET_A, genuine.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "unknown MSN");
    // Too large (limit 64 KiB), even when correctly signed.
    let big = format!(
        r#"{{"reference":"t1-big","name":"CREATED","pad":"{}"}}"#,
        "x".repeat(64 * 1024)
    );
    let r = post_signed(&http, &url_a, SECRET_A, big.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "over 64 KiB");
    // Malformed JSON with a valid signature: kept as rejected and answered 2xx, so Vipps does
    // not hold back that payment's later events while it retries for days.
    let r = post_signed(&http, &url_a, SECRET_A, b"{not json").await;
    assert_eq!(r.status(), StatusCode::OK, "malformed JSON");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "rejected");

    // The genuine one.
    let r = post_signed(&http, &url_a, SECRET_A, genuine.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "routed");

    let (status, events) = poll(&http, &relay.base_url, &tokens[0], 0, 0)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events.len(), 1, "only the genuine event: {events:?}");
    assert_eq!(events[0].1, genuine, "delivered byte for byte");

    let rejected = cli(&db, &["events", "list", "--status", "rejected"]);
    assert_eq!(
        rejected.lines().count(),
        2,
        "header + one rejected row: {rejected}"
    );
    assert!(rejected.contains("invalid JSON"), "{rejected}");
    assert_eq!(
        metric(
            &http,
            &relay.base_url,
            "kasse_relay_webhooks_refused_total{reason=\"bad_signature\"}"
        )
        .await,
        Some(6.0)
    );
    assert_eq!(
        metric(
            &http,
            &relay.base_url,
            "kasse_relay_webhooks_refused_total{reason=\"missing_header\"}"
        )
        .await,
        Some(3.0)
    );
    assert_eq!(
        metric(
            &http,
            &relay.base_url,
            "kasse_relay_webhooks_refused_total{reason=\"too_large\"}"
        )
        .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn a_redelivered_event_is_stored_once() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN_A, SECRET_A, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let http = reqwest::Client::new();
    let url = relay.webhook_url(MSN_A);
    let body = payment_body("t1-0002", "CAPTURED", "psp-2");
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = post_signed(&http, &url, SECRET_A, body.as_bytes()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["duplicate"], i > 0, "attempt {i}");
        ids.push(v["eventId"].as_i64().unwrap());
    }
    // Same event re-serialised (other key order): same reference+name+pspReference.
    let reordered = r#"{"name":"CAPTURED","pspReference":"psp-2","reference":"t1-0002","msn":"123456","amount":{"value":49900,"currency":"NOK"},"timestamp":"2026-01-19T16:26:32.099Z","success":true}"#;
    let r = post_signed(&http, &url, SECRET_A, reordered.as_bytes()).await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["duplicate"], true);
    ids.push(v["eventId"].as_i64().unwrap());
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let (_, events) = poll(&http, &relay.base_url, &tokens[0], 0, 0)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        metric(
            &http,
            &relay.base_url,
            "kasse_relay_webhooks_total{outcome=\"duplicate\"}"
        )
        .await,
        Some(3.0)
    );
}

#[tokio::test]
async fn events_reach_only_their_own_till_and_the_unroutable_are_kept() {
    let (_dir, db) = temp_db();
    let a = provision(&db, MSN_A, SECRET_A, &[("t1", "qr-1"), ("t2", "qr-2")]);
    // Store B reuses the same till id and QR id: still separate.
    let b = provision(&db, MSN_B, SECRET_B, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let http = reqwest::Client::new();
    let (url_a, url_b) = (relay.webhook_url(MSN_A), relay.webhook_url(MSN_B));

    let checkin_a1 = checkin_body("qr-1", "tok-a1");
    let pay_a2 = payment_body("t2-0001", "AUTHORIZED", "p-a2");
    // Store B's own event names store B (the relay keeps, unrouted, one naming another store).
    let pay_b1 = payment_body("t1-0001", "AUTHORIZED", "p-b1")
        .replace("\"msn\":\"123456\"", &format!("\"msn\":\"{MSN_B}\""));
    for (url, secret, body) in [
        (&url_a, SECRET_A, &checkin_a1),
        (&url_a, SECRET_A, &pay_a2),
        (&url_b, SECRET_B, &pay_b1),
    ] {
        let r = post_signed(&http, url, secret, body.as_bytes()).await;
        assert_eq!(r.status(), StatusCode::OK, "{body}");
    }
    // Nobody's: unknown till prefix, no prefix, revoked till.
    for body in [
        payment_body("zz-0001", "AUTHORIZED", "p-zz"),
        payment_body("NOPREFIX0001", "AUTHORIZED", "p-np"),
        r#"{"some":"other event"}"#.to_string(),
    ] {
        let r = post_signed(&http, &url_a, SECRET_A, body.as_bytes()).await;
        assert_eq!(r.status(), StatusCode::OK, "kept, not dropped: {body}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["status"], "unrouted");
    }
    // A check-in for an unknown QR: kept, answered 404 so the app says so at once.
    let r = post_signed(
        &http,
        &url_a,
        SECRET_A,
        checkin_body("qr-unknown", "tok-x").as_bytes(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let got = |token: String| {
        let http = http.clone();
        let base = relay.base_url.clone();
        async move { poll(&http, &base, &token, 0, 0).await.unwrap().1 }
    };
    let a1 = got(a[0].clone()).await;
    let a2 = got(a[1].clone()).await;
    let b1 = got(b[0].clone()).await;
    assert_eq!(
        a1.iter().map(|e| &e.1).collect::<Vec<_>>(),
        vec![&checkin_a1]
    );
    assert_eq!(a2.iter().map(|e| &e.1).collect::<Vec<_>>(), vec![&pay_a2]);
    assert_eq!(b1.iter().map(|e| &e.1).collect::<Vec<_>>(), vec![&pay_b1]);

    let unrouted = cli(&db, &["events", "unrouted"]);
    let rows: Vec<_> = unrouted.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{unrouted}");
    assert!(
        unrouted.contains("zz-0001")
            && unrouted.contains("NOPREFIX0001")
            && unrouted.contains("qr-unknown")
    );
    assert_eq!(
        metric(&http, &relay.base_url, "kasse_relay_unrouted_events").await,
        Some(4.0)
    );
    // A revoked till's token stops working and its events become unrouted.
    cli(&db, &["till", "revoke", "--msn", MSN_A, "--till", "t2"]);
    let (status, _) = poll(&http, &relay.base_url, &a[1], 0, 0).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let r = post_signed(
        &http,
        &url_a,
        SECRET_A,
        payment_body("t2-0002", "AUTHORIZED", "p").as_bytes(),
    )
    .await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "unrouted");
}

#[tokio::test]
async fn behind_a_proxy_the_signed_url_is_the_public_one() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN_A, SECRET_A, &[("t1", "qr-1")]);
    let relay = Relay::start(
        &db,
        "127.0.0.1:0",
        &["--public-url", "https://relay.example.com/kasse/"],
    )
    .await;
    let http = reqwest::Client::new();
    let public =
        url::Url::parse("https://relay.example.com/kasse/v1/webhooks/vipps/123456").unwrap();
    let body = payment_body("t1-0003", "AUTHORIZED", "psp-3");
    // Signed for the public URL, arriving (through the "proxy") at the local one.
    let headers = signature_headers(&public, SECRET_A, body.as_bytes());
    let r = post_with(&http, relay.webhook_url(MSN_A), headers, body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Signed for the local address: not what Vipps would sign, rejected.
    let r = post_signed(&http, &relay.webhook_url(MSN_A), SECRET_A, body.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (_, events) = poll(&http, &relay.base_url, &tokens[0], 0, 0)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn check_ins_for_an_offline_till_are_refused_and_stale_ones_not_delivered() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN_A, SECRET_A, &[("t1", "qr-1")]);
    // No grace: a till that is not connected right now is offline.
    let relay = Relay::start(&db, "127.0.0.1:0", &["--checkin-offline-grace-ms", "0"]).await;
    let http = reqwest::Client::new();
    let url = relay.webhook_url(MSN_A);

    let first = checkin_body("qr-1", "tok-offline");
    let r = post_signed(&http, &url, SECRET_A, first.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let refused = cli(&db, &["events", "list", "--status", "refused"]);
    assert_eq!(refused.lines().count(), 2, "{refused}");

    // The till comes online (a pending long-poll), then a customer scans.
    let waiting = {
        let (http, base, token) = (http.clone(), relay.base_url.clone(), tokens[0].clone());
        tokio::spawn(async move { poll(&http, &base, &token, 0, 10_000).await.unwrap().1 })
    };
    wait_for(Duration::from_secs(10), "till connected", || {
        let (http, base) = (http.clone(), relay.base_url.clone());
        async move {
            (metric(&http, &base, "kasse_relay_connected_tills").await == Some(1.0)).then_some(())
        }
    })
    .await;
    // A scan from 20 minutes ago: the token has expired; accepted, not delivered.
    let stale_time = (time::OffsetDateTime::now_utc() - time::Duration::minutes(20))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let stale = format!(
        r#"{{"customerToken":"tok-stale","merchantQrId":"qr-1","msn":"123456","initiatedAt":"{stale_time}"}}"#
    );
    let r = post_signed(&http, &url, SECRET_A, stale.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "expired");

    let fresh = checkin_body("qr-1", "tok-online");
    let r = post_signed(&http, &url, SECRET_A, fresh.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let got = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("long-poll answers")
        .unwrap();
    assert_eq!(got.iter().map(|e| &e.1).collect::<Vec<_>>(), vec![&fresh]);
    let health: serde_json::Value = http
        .get(relay.base_url.join("/healthz").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
}

#[cfg(unix)]
#[tokio::test]
async fn unrouted_events_get_one_log_line_per_till_or_qr_and_then_a_summary() {
    let (_dir, db) = temp_db();
    provision(&db, MSN_A, SECRET_A, &[("t1", "qr-1")]);
    let (relay, logs) = Relay::start_logged(&db, "127.0.0.1:0", &[]).await;
    let http = reqwest::Client::new();
    let url = relay.webhook_url(MSN_A);
    let send = |body: String| {
        let (http, url) = (http.clone(), url.clone());
        async move { post_signed(&http, &url, SECRET_A, body.as_bytes()).await }
    };
    // A till that does not exist, references without a till prefix, and
    // check-ins at a QR no till has: 45 unrouted events in all.
    for i in 0..20 {
        let r = send(payment_body(&format!("zz-{i:04}"), "AUTHORIZED", "p")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = send(payment_body(&format!("NOPREFIX{i:04}"), "AUTHORIZED", "p")).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    for i in 0..5 {
        let r = send(checkin_body("qr-unknown", &format!("tok-{i}"))).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    // A redelivery is a duplicate, not another unrouted event.
    let r = send(payment_body("zz-0000", "AUTHORIZED", "p")).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["duplicate"],
        true
    );

    let counter = |reason: &str| {
        let (http, base) = (http.clone(), relay.base_url.clone());
        let name = format!("kasse_relay_unrouted_webhooks_total{{reason=\"{reason}\"}}");
        async move { metric(&http, &base, &name).await }
    };
    assert_eq!(counter("unknown_till").await, Some(20.0));
    assert_eq!(counter("no_till_prefix").await, Some(20.0));
    assert_eq!(counter("unknown_merchant_qr").await, Some(5.0));
    assert_eq!(counter("not_routable").await, Some(0.0));
    assert_eq!(
        metric(
            &http,
            &relay.base_url,
            "kasse_relay_unrouted_log_suppressed_total"
        )
        .await,
        Some(42.0)
    );
    assert_eq!(
        metric(
            &http,
            &relay.base_url,
            "kasse_relay_webhooks_total{outcome=\"unrouted\"}"
        )
        .await,
        Some(45.0)
    );

    // The period's summary is written at shutdown at the latest.
    drop(http);
    assert!(relay.terminate().await.success());
    let lines = logs.all().await;
    let with = |needle: &str| -> Vec<&String> {
        lines
            .iter()
            .filter(|l| l.contains("WARN") && l.contains(needle))
            .collect()
    };
    let till = with("no active till with this id");
    assert_eq!(till.len(), 1, "{lines:#?}");
    assert!(till[0].contains("zz"), "{}", till[0]);
    assert_eq!(with("has no <till_id>- prefix").len(), 1, "{lines:#?}");
    let qr = with("check-in for an unknown merchantQrId");
    assert_eq!(qr.len(), 1, "{lines:#?}");
    assert!(qr[0].contains("qr-unknown"), "{}", qr[0]);
    let summary = with("not logged one by one");
    assert_eq!(summary.len(), 1, "{lines:#?}");
    for part in [
        "not_logged=42",
        "unknown_till zz: 19",
        "no_till_prefix: 19",
        "unknown_merchant_qr qr-unknown: 4",
    ] {
        assert!(summary[0].contains(part), "{part} in {}", summary[0]);
    }
    // 3 first lines and one summary instead of 45 lines.
    let warnings = lines.iter().filter(|l| l.contains("WARN")).count();
    assert_eq!(warnings, 4, "{lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_burst_every_webhook_arrives_once_in_order_and_the_wal_is_emptied() {
    use kasse::relay::client::{RelayClient, Transport};

    const SENDERS: usize = 16;
    const EACH: usize = 100;
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN_A, SECRET_A, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let url = relay.webhook_url(MSN_A);
    // The till receives and acknowledges while the burst goes on, so the
    // relay's checkpoints meet its reads and ack writes.
    let mut client = RelayClient::connect(client_config(
        &relay.base_url,
        &tokens[0],
        0,
        Transport::WebSocket,
    ));
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let url = url.clone();
        senders.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..EACH {
                let reference = format!("t1-{s:02}x{i:05}");
                let body = payment_body(&reference, "AUTHORIZED", &format!("psp-{reference}"));
                let r = post_signed(&http, &url, SECRET_A, body.as_bytes()).await;
                assert_eq!(r.status(), StatusCode::OK, "{reference}");
            }
        }));
    }
    let mut cursor = 0;
    let mut got = std::collections::BTreeSet::new();
    for _ in 0..SENDERS * EACH {
        let d = recv(&mut client, Duration::from_secs(60)).await;
        assert!(d.seq > cursor, "in order, each once");
        cursor = d.seq;
        got.insert(key_of(&d));
        client.ack(d.seq);
    }
    for s in senders {
        s.await.unwrap();
    }
    assert_eq!(got.len(), SENDERS * EACH);

    // Idle: the log is checkpointed and cut to zero bytes while the relay
    // runs (the bound under load is tested at the store, with a small limit).
    wait_for(Duration::from_secs(30), "the WAL to be emptied", || {
        let db = db.clone();
        async move { (wal_len(&db) == 0).then_some(()) }
    })
    .await;
    // Still serving from the emptied log: a new event, then the acks landed.
    let http = reqwest::Client::new();
    let body = payment_body("t1-after-idle", "AUTHORIZED", "psp-after");
    let r = post_signed(&http, &url, SECRET_A, body.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let d = recv(&mut client, Duration::from_secs(15)).await;
    assert!(d.seq > cursor);
    assert_eq!(key_of(&d), "t1-after-idle");
    client.ack(d.seq);
    wait_for(Duration::from_secs(15), "every event acknowledged", || {
        let (http, base) = (http.clone(), relay.base_url.clone());
        async move {
            (metric(&http, &base, "kasse_relay_pending_events").await == Some(0.0)).then_some(())
        }
    })
    .await;
}

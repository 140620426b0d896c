//! Webhooks API registration and the simulator's delivery: signatures,
//! retries with backoff, timeouts, per-payment ordering, payload shape, and
//! what the app shows when a check-in is not taken.

use std::time::Duration;

use crate::sim_support::*;
use kasse::sim::{self, SimConfig};
use kasse::vipps::webhook;
use reqwest::Method;
use serde_json::{Value, json};

fn verify(secret: &str, receiver: &Receiver, r: &Received) {
    let url = url::Url::parse(&receiver.url).unwrap();
    webhook::verify(
        secret,
        &r.path_and_query,
        &webhook::authority(&url),
        r.header("x-ms-date").as_deref(),
        r.header("x-ms-content-sha256").as_deref(),
        r.header("authorization").as_deref(),
        &r.body,
    )
    .expect("signed like Vipps");
    assert_eq!(r.header("x-vipps-authorization"), r.header("authorization"));
}

#[tokio::test]
async fn registration_validates_events_and_returns_an_88_character_secret() {
    let sim = start(SimConfig::for_tests()).await;
    let receiver = Receiver::start("/hook").await;

    let typo = sim
        .register(
            &receiver.url,
            &["epayment.payment.created.v1", "user.checked-in.v1"],
        )
        .await;
    assert_eq!(typo.status, 400);
    let reasons = typo.body["extraDetails"].to_string();
    assert!(
        reasons.contains("Unsupported values: epayment.payment.created.v1"),
        "{reasons}"
    );

    let missing = sim
        .call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"url": receiver.url})),
        )
        .await;
    assert_eq!(missing.status, 400);
    let no_url = sim
        .call(
            Method::POST,
            "/webhooks/v1/webhooks",
            None,
            Some(json!({"events": ["user.checked-in.v1"]})),
        )
        .await;
    assert_eq!(no_url.status, 400);

    let ok = sim
        .register(
            &receiver.url,
            &["user.checked-in.v1", "epayments.payment.authorized.v1"],
        )
        .await;
    assert_eq!(ok.status, 201);
    let secret = ok.body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 88);
    assert!(
        secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
    );
    let id = ok.body["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);

    // Only one user.checked-in.v1 registration per sales unit.
    let second = sim.register(&receiver.url, &["user.checked-in.v1"]).await;
    assert_eq!(second.status, 400);
    let other = sim
        .register(&receiver.url, &["epayments.payment.authorized.v1"])
        .await;
    assert_eq!(other.status, 201);

    let list = sim.get("/webhooks/v1/webhooks").await;
    assert_eq!(list.status, 200);
    let hooks = list.body["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 2);
    assert!(hooks.iter().all(|h| h.get("secret").is_none()));
    assert_eq!(hooks[0]["url"], receiver.url.as_str());

    let registration = format!("/webhooks/v1/webhooks/{id}");
    let del = sim.call(Method::DELETE, &registration, None, None).await;
    assert_eq!(del.status, 204);
    let again = sim.call(Method::DELETE, &registration, None, None).await;
    assert_eq!(again.status, 404);
    // With the check-in registration gone, the app cannot reach the store.
    sim.put_qr("till-1", "Kasse 1").await;
    let scan = sim.scan("till-1").await;
    assert_eq!(scan.body["delivered"], false);
    // And a new check-in registration is allowed again.
    assert_eq!(
        sim.register(&receiver.url, &["user.checked-in.v1"])
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn https_only_when_configured() {
    let mut config = SimConfig::for_tests();
    config.require_https_webhooks = true;
    let sim = start(config).await;
    let http = sim
        .register("http://127.0.0.1:9/hook", &["user.checked-in.v1"])
        .await;
    assert_eq!(http.status, 400);
    let https = sim
        .register("https://example.com/hook", &["user.checked-in.v1"])
        .await;
    assert_eq!(https.status, 201);
}

#[tokio::test]
async fn a_check_in_the_store_does_not_take_tells_the_customer_and_is_not_retried() {
    let sim = start(SimConfig::for_tests()).await;
    sim.put_qr("till-1", "Kasse 1").await;

    let nobody = sim.scan("till-1").await;
    assert_eq!(nobody.status, 200);
    assert_eq!(nobody.body["delivered"], false);
    assert_eq!(nobody.body["appMessage"], sim::CANT_CONNECT);
    assert!(nobody.body["customerToken"].is_string());

    let receiver = Receiver::start("/hook").await;
    let reg = sim.register(&receiver.url, &["user.checked-in.v1"]).await;
    receiver.script(&[500]);
    let refused = sim.scan("till-1").await;
    assert_eq!(refused.body["delivered"], false);
    assert_eq!(refused.body["status"], 500);
    assert_eq!(refused.body["appMessage"], sim::CANT_CONNECT);
    assert_eq!(receiver.received().len(), 1, "check-ins are not retried");

    let taken = sim
        .control(
            Method::POST,
            "/sim/v1/merchant-callback/till-1/scan",
            Some(json!({"phoneNumber": "4798765432"})),
        )
        .await;
    assert_eq!(taken.body["delivered"], true);
    assert_eq!(taken.body["status"], 200);
    assert!(taken.body.get("appMessage").is_none());
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    verify(reg.body["secret"].as_str().unwrap(), &receiver, &got[1]);
    assert_eq!(got[1].json()["customerToken"], taken.body["customerToken"]);
    // Each scan mints a different token.
    assert_ne!(taken.body["customerToken"], refused.body["customerToken"]);
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_2xx_with_the_same_body() {
    let sim = start(SimConfig::for_tests()).await;
    let receiver = Receiver::start("/hook").await;
    let reg = sim
        .register(&receiver.url, &["epayments.payment.authorized.v1"])
        .await;
    let secret = reg.body["secret"].as_str().unwrap().to_string();
    receiver.script(&[500, 404, 503]);
    sim.authorized("retry-payment-1", 5000).await;
    receiver
        .wait_for("AUTHORIZED after retries", 1, |v| v["name"] == "AUTHORIZED")
        .await;
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        vec![500, 404, 503, 200]
    );
    for r in &got {
        assert_eq!(r.body, got[0].body, "a retry carries the same event");
        verify(&secret, &receiver, r);
    }
    let log = sim.handle.control().webhook_deliveries().await.unwrap();
    let outcomes: Vec<(u64, &str)> = log
        .iter()
        .map(|d| {
            (
                d["attempt"].as_u64().unwrap(),
                d["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (1, "failed"),
            (2, "failed"),
            (3, "failed"),
            (4, "delivered")
        ]
    );
}

#[tokio::test]
async fn a_slow_answer_counts_as_a_failure() {
    let mut config = SimConfig::for_tests();
    config.webhook_timeout = Duration::from_millis(200);
    let sim = start(config).await;
    let receiver = Receiver::start("/hook").await;
    sim.register(&receiver.url, &["epayments.payment.authorized.v1"])
        .await;
    receiver.slow(1, Duration::from_secs(2));
    sim.authorized("slow-payment-1", 5000).await;
    wait_until("a second, prompt delivery", || async {
        receiver.received().len() >= 2
    })
    .await;
    let log = sim.handle.control().webhook_deliveries().await.unwrap();
    let first_delivered = log
        .iter()
        .position(|d| d["outcome"] == "delivered")
        .unwrap();
    assert_eq!(log[0]["outcome"], "failed");
    assert!(log[0]["error"].as_str().unwrap().contains("timed out"));
    assert!(first_delivered >= 1);
}

#[tokio::test]
async fn a_failing_event_holds_back_later_events_of_that_payment_only() {
    let sim = start(SimConfig::for_tests()).await;
    let receiver = Receiver::start("/hook").await;
    sim.register(
        &receiver.url,
        &[
            "epayments.payment.authorized.v1",
            "epayments.payment.captured.v1",
        ],
    )
    .await;
    receiver.fail_matching(&["\"AUTHORIZED\"", "held-payment-1"], 500);

    sim.authorized("held-payment-1", 1000).await;
    assert_eq!(
        sim.capture("held-payment-1", "held-capture-1", 1000)
            .await
            .status,
        200
    );
    // Another payment flows freely meanwhile.
    sim.authorized("free-payment-1", 2000).await;
    assert_eq!(
        sim.capture("free-payment-1", "free-capture-1", 2000)
            .await
            .status,
        200
    );
    receiver
        .wait_for("the other payment's capture", 1, |v| {
            v["name"] == "CAPTURED" && v["reference"] == "free-payment-1"
        })
        .await;
    wait_until("several failed AUTHORIZED attempts", || async {
        receiver
            .received()
            .iter()
            .filter(|r| r.answered == 500)
            .count()
            >= 3
    })
    .await;
    let held: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|v| v["reference"] == "held-payment-1")
        .collect();
    assert!(
        held.iter().all(|v| v["name"] == "AUTHORIZED"),
        "CAPTURED waits behind AUTHORIZED"
    );

    receiver.stop_failing();
    receiver
        .wait_for("the held capture", 1, |v| {
            v["name"] == "CAPTURED" && v["reference"] == "held-payment-1"
        })
        .await;
    let order: Vec<Value> = receiver
        .accepted()
        .into_iter()
        .filter(|v| v["reference"] == "held-payment-1")
        .map(|v| v["name"].clone())
        .collect();
    assert_eq!(order, vec![json!("AUTHORIZED"), json!("CAPTURED")]);
}

#[tokio::test]
async fn epayment_webhooks_have_the_documented_shape() {
    let sim = start(SimConfig::for_tests()).await;
    let receiver = Receiver::start("/hook").await;
    let all = [
        "epayments.payment.created.v1",
        "epayments.payment.authorized.v1",
        "epayments.payment.captured.v1",
        "epayments.payment.refunded.v1",
        "epayments.payment.cancelled.v1",
        "epayments.payment.aborted.v1",
        "epayments.payment.terminated.v1",
        "epayments.payment.expired.v1",
    ];
    sim.register(&receiver.url, &all).await;
    let payment = sim.authorized("shape-payment-1", 1000).await;
    sim.capture("shape-payment-1", "shape-capture-1", 250).await;
    sim.refund("shape-payment-1", "shape-refund-1", 100).await;
    sim.modify("shape-payment-1", "cancel", "shape-cancel-1", None)
        .await;
    let events = receiver
        .wait_for("five events", 5, |v| v["reference"] == "shape-payment-1")
        .await;
    let names: Vec<&str> = events.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["CREATED", "AUTHORIZED", "CAPTURED", "REFUNDED", "CANCELLED"]
    );
    for e in &events {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = keys;
        keys.sort();
        assert_eq!(
            keys,
            [
                "amount",
                "idempotencyKey",
                "msn",
                "name",
                "pspReference",
                "reference",
                "success",
                "timestamp"
            ]
        );
        assert_eq!(e["msn"], MSN);
        assert_eq!(e["success"], true);
        assert_eq!(
            e["timestamp"].as_str().unwrap().len(),
            "2026-01-19T16:26:32.099Z".len()
        );
        assert_eq!(e["amount"]["currency"], "NOK");
    }
    let amounts: Vec<i64> = events
        .iter()
        .map(|v| v["amount"]["value"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [1000, 1000, 250, 100, 750]);
    assert_eq!(events[0]["pspReference"], payment.body["pspReference"]);
    assert_ne!(events[2]["pspReference"], payment.body["pspReference"]);
    assert_eq!(events[2]["idempotencyKey"], "shape-capture-1");
    assert!(
        events[1]["idempotencyKey"].is_null(),
        "the customer's approval has no key"
    );

    // Declined and terminated payments send theirs too.
    sim.create(
        "shape-2-create",
        push_payment(
            "shape-payment-2",
            1000,
            json!({"phoneNumber": "4712345678"}),
        ),
    )
    .await;
    sim.control(
        Method::POST,
        "/sim/v1/payments/shape-payment-2/decline",
        None,
    )
    .await;
    sim.create(
        "shape-3-create",
        push_payment(
            "shape-payment-3",
            1000,
            json!({"phoneNumber": "4712345678"}),
        ),
    )
    .await;
    sim.modify("shape-payment-3", "cancel", "shape-3-cancel", None)
        .await;
    receiver
        .wait_for("ABORTED", 1, |v| {
            v["name"] == "ABORTED" && v["reference"] == "shape-payment-2"
        })
        .await;
    receiver
        .wait_for("TERMINATED", 1, |v| {
            v["name"] == "TERMINATED" && v["reference"] == "shape-payment-3"
        })
        .await;
}

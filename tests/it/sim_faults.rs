//! Faults on demand and the automatic customer, over loopback.

use std::time::Duration;

use kasse::sim::{AutoCustomer, EndpointClass, Faults, Hold, SimConfig};
use reqwest::Method;
use serde_json::json;

use crate::sim_support::*;

#[tokio::test]
async fn the_next_n_calls_of_a_class_fail_before_taking_effect() {
    let sim = start(SimConfig::for_tests()).await;
    let set = sim.set_faults(json!({"failNext": {"create": 1}})).await;
    assert_eq!(set.status, 200);
    let failed = sim
        .create("f-create", push_payment("faulty-1", 1000, phone()))
        .await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.code().as_deref(), Some("3010"));
    assert!(sim.handle.control().payments().await.unwrap().is_empty());
    let retried = sim
        .create("f-create", push_payment("faulty-1", 1000, phone()))
        .await;
    assert_eq!(retried.status, 201, "a 5xx does not stick to the key");
    let log = sim.handle.control().log().await.unwrap();
    let creates: Vec<_> = log
        .iter()
        .filter(|c| c.path == "/epayment/v1/payments")
        .collect();
    assert_eq!(creates.len(), 2);
    assert!(creates[0].injected_fault && !creates[1].injected_fault);
    assert_eq!((creates[0].status, creates[1].status), (500, 201));
}

#[tokio::test]
async fn a_lost_answer_after_the_effect_is_recovered_by_the_same_key() {
    let sim = start(SimConfig::for_tests()).await;
    sim.authorized("lost-answer-1", 1000).await;
    let faults = Faults {
        fail_next: [(EndpointClass::Capture, 1)].into(),
        fail_after_effect: true,
        error_status: Some(502),
        ..Faults::default()
    };
    sim.handle.control().set_faults(&faults).await.unwrap();
    let lost = sim.capture("lost-answer-1", "lost-cap-1", 1000).await;
    assert_eq!(lost.status, 502);
    // The money moved even though the till saw an error.
    let ledger = sim.handle.control().payment("lost-answer-1").await.unwrap();
    assert_eq!(ledger.aggregate.captured_amount.value, 1000);
    let retry = sim.capture("lost-answer-1", "lost-cap-1", 1000).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body["aggregate"]["capturedAmount"]["value"], 1000);
    let ledger = sim.handle.control().payment("lost-answer-1").await.unwrap();
    assert_eq!(ledger.counts.captures, 1, "captured exactly once");
}

#[tokio::test]
async fn error_rates_are_deterministic_for_a_seed() {
    let mut config = SimConfig::for_tests();
    config.rate_limits = None;
    let sim = start(config).await;
    sim.create("rate-create", push_payment("rated-1234", 1000, phone()))
        .await;
    let faults = json!({"seed": 42, "errorRate": {"get": 0.5}, "errorStatus": 503});
    let mut runs = Vec::new();
    for _ in 0..2 {
        sim.set_faults(faults.clone()).await;
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(sim.payment("rated-1234").await.status);
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&503) && runs[0].contains(&200));
    // Other classes are untouched.
    assert_eq!(
        sim.capture("rated-1234", "rate-cap", 10)
            .await
            .code()
            .as_deref(),
        Some("6080")
    );
    // {} clears every fault.
    sim.set_faults(json!({})).await;
    for _ in 0..10 {
        assert_eq!(sim.payment("rated-1234").await.status, 200);
    }
    let bad = sim.set_faults(json!({"errorStatus": 404})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn faults_from_the_config_and_added_latency() {
    let mut config = SimConfig::for_tests();
    config.faults.fail_next.insert(EndpointClass::Token, 1);
    config.faults.latency_ms.insert(EndpointClass::Qr, 20);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = kasse::sim::spawn(config, listener);
    let http = reqwest::Client::new();
    let first = send(
        http.post(format!("{}accesstoken/get", handle.base_url))
            .header("client_id", kasse::sim::TEST_CLIENT_ID)
            .header("client_secret", kasse::sim::TEST_CLIENT_SECRET)
            .header("Ocp-Apim-Subscription-Key", KEY),
    )
    .await;
    assert_eq!(first.status, 500);
    let token = fetch_token(&http, &handle).await;
    let sim = Sim {
        handle,
        http,
        token,
    };
    // Slow, but answered.
    assert_eq!(sim.put_qr("till-1", "Kasse 1").await.status, 200);
    let current = sim.control(Method::GET, "/sim/v1/faults", None).await;
    assert_eq!(current.body["latencyMs"]["qr"], 20);
    assert_eq!(current.body["failNext"]["token"], 0);
}

#[tokio::test]
async fn webhooks_can_be_dropped_duplicated_and_delayed() {
    let sim = start(SimConfig::for_tests()).await;
    let receiver = Receiver::start("/hook").await;
    sim.register(&receiver.url, &["epayments.payment.created.v1"])
        .await;

    sim.set_faults(json!({"webhookDropNext": 1})).await;
    sim.create("w1", push_payment("dropped-1", 1000, phone()))
        .await;
    sim.create("w2", push_payment("kept-1234", 1000, phone()))
        .await;
    receiver
        .wait_for("the kept event", 1, |v| v["reference"] == "kept-1234")
        .await;
    let deliveries = sim.handle.control().webhook_deliveries().await.unwrap();
    assert!(
        deliveries
            .iter()
            .any(|d| d["outcome"] == "dropped" && d["reference"] == "dropped-1")
    );
    assert!(
        receiver
            .accepted()
            .iter()
            .all(|v| v["reference"] != "dropped-1")
    );

    sim.set_faults(json!({"webhookDuplicateNext": 1})).await;
    sim.create("w3", push_payment("twice-1234", 1000, phone()))
        .await;
    let twice = receiver
        .wait_for("both copies", 2, |v| v["reference"] == "twice-1234")
        .await;
    assert_eq!(twice[0], twice[1], "a duplicate is the same event");

    sim.set_faults(json!({"webhookDelayMs": 30})).await;
    sim.create("w4", push_payment("late-12345", 1000, phone()))
        .await;
    receiver
        .wait_for("the delayed event", 1, |v| v["reference"] == "late-12345")
        .await;

    // A dropped check-in leaves the customer with "Can't connect to store".
    sim.register(&receiver.url, &["user.checked-in.v1"]).await;
    sim.put_qr("till-1", "Kasse 1").await;
    sim.set_faults(json!({"webhookDropNext": 1})).await;
    let scan = sim.scan("till-1").await;
    assert_eq!(scan.body["delivered"], false);
    assert_eq!(sim.scan("till-1").await.body["delivered"], true);
}

#[tokio::test]
async fn the_automatic_customer_approves_or_declines_pushed_payments() {
    let mut config = SimConfig::for_tests();
    config.auto_customer = Some(AutoCustomer {
        approve: true,
        after_ms: 10,
    });
    let sim = start(config).await;
    sim.create("a1", push_payment("auto-approved-1", 1000, phone()))
        .await;
    wait_until("automatic approval", || async {
        sim.payment("auto-approved-1").await.body["state"] == "AUTHORIZED"
    })
    .await;

    sim.handle
        .control()
        .set_auto_customer(Some(AutoCustomer {
            approve: false,
            after_ms: 10,
        }))
        .await
        .unwrap();
    sim.create("a2", push_payment("auto-declined-1", 1000, phone()))
        .await;
    wait_until("automatic decline", || async {
        sim.payment("auto-declined-1").await.body["state"] == "ABORTED"
    })
    .await;

    sim.handle.control().set_auto_customer(None).await.unwrap();
    let current = sim
        .control(Method::GET, "/sim/v1/auto-customer", None)
        .await;
    assert!(current.body.is_null());
    // Not pushed: a redirect payment waits for its customer.
    let mut web = push_payment("auto-web-1", 1000, phone());
    web["userFlow"] = json!("WEB_REDIRECT");
    web["returnUrl"] = json!("https://shop.example/back");
    sim.create("a3", web).await;
    assert_eq!(sim.payment("auto-web-1").await.body["state"], "CREATED");
}

#[tokio::test]
async fn the_log_filters_by_reference_and_time() {
    let sim = start(SimConfig::for_tests()).await;
    sim.authorized("logged-1234", 1000).await;
    let all = sim.handle.control().log().await.unwrap();
    let first = all[0].received_at_unix_nanos;
    sim.capture("logged-1234", "log-cap", 1000).await;
    let later = sim
        .control(
            Method::GET,
            &format!("/sim/v1/log?since={first}&reference=logged-1234"),
            None,
        )
        .await;
    let calls = later.body["calls"].as_array().unwrap();
    assert!(calls.iter().all(|c| c["reference"] == "logged-1234"));
    assert!(
        calls
            .iter()
            .any(|c| c["path"] == "/epayment/v1/payments/logged-1234/capture"
                && c["idempotencyKey"] == "log-cap"
                && c["status"] == 200)
    );
    assert!(
        calls
            .iter()
            .all(|c| c["receivedAtUnixNanos"].as_u64().unwrap() > first)
    );
}

#[tokio::test]
async fn locked_and_throttled_answers_can_be_injected() {
    let sim = start(SimConfig::for_tests()).await;
    sim.authorized("locked-1234", 1000).await;
    sim.set_faults(json!({"failNext": {"capture": 1}, "errorStatus": 423}))
        .await;
    assert_eq!(sim.capture("locked-1234", "l-cap", 1000).await.status, 423);
    sim.set_faults(json!({"failNext": {"get": 1}, "errorStatus": 429}))
        .await;
    let throttled = sim.payment("locked-1234").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.headers["retry-after"], "1");
    assert_eq!(sim.capture("locked-1234", "l-cap", 1000).await.status, 200);
}

#[tokio::test]
async fn a_held_create_is_processed_after_its_client_gave_up() {
    let sim = start(SimConfig::for_tests()).await;
    let hold_ms = 2_000;
    let faults = Faults::default().with_hold(EndpointClass::Create, Hold::next(1, hold_ms));
    sim.handle.control().set_faults(&faults).await.unwrap();
    let body = push_payment("held-create-1", 1000, phone());
    let key = "held-create-1-create";
    let impatient = sim
        .request(Method::POST, "/epayment/v1/payments")
        .header("Idempotency-Key", key)
        .json(&body)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(
        impatient.as_ref().is_err_and(|e| e.is_timeout()),
        "{impatient:?}"
    );
    // Vipps has received the create but not processed it yet.
    let during = sim.payment("held-create-1").await;
    assert_eq!(during.status, 404, "{}", during.body);
    assert_eq!(during.code().as_deref(), Some("5090"));
    assert!(sim.handle.control().payments().await.unwrap().is_empty());
    // Then it is processed all the same.
    wait_until("the held create to be processed", || async {
        sim.handle.control().payment("held-create-1").await.is_ok()
    })
    .await;
    let after = sim.payment("held-create-1").await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body["state"], "CREATED");
    assert_eq!(after.body["amount"]["value"], 1000);
    let log = sim.handle.control().log().await.unwrap();
    let creates: Vec<_> = log
        .iter()
        .filter(|c| c.method == "POST" && c.path == "/epayment/v1/payments")
        .collect();
    assert_eq!(creates.len(), 1, "{creates:?}");
    let create = creates[0];
    assert_eq!(create.status, 201);
    assert_eq!(create.idempotency_key.as_deref(), Some(key));
    assert_eq!(create.reference.as_deref(), Some("held-create-1"));
    assert_eq!(create.held_ms, hold_ms);
    assert!(create.client_gone, "the client had hung up: {create:?}");
    assert!(create.completed_at_unix_nanos - create.received_at_unix_nanos >= hold_ms * 1_000_000);
    // The till's retry with the same key gets the original answer: still one payment.
    let retry = sim.create(key, body).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body["reference"], "held-create-1");
    assert_eq!(sim.handle.control().payments().await.unwrap().len(), 1);
    // The hold was for the next create only.
    let current = sim.control(Method::GET, "/sim/v1/faults", None).await;
    assert_eq!(
        current.body["hold"]["create"],
        json!({"ms": hold_ms, "count": 0})
    );
}

#[tokio::test]
async fn a_resend_during_a_hold_makes_one_payment_and_the_same_answer() {
    let sim = start(SimConfig::for_tests()).await;
    sim.set_faults(json!({"hold": {"create": {"ms": 1000, "count": 1}}}))
        .await;
    let body = push_payment("held-resend-1", 1000, phone());
    let key = "held-resend-1-create";
    let (held, resent) = tokio::join!(sim.create(key, body.clone()), async {
        // Resend once the first has been received and is being held.
        wait_until("the first create to be held", || async {
            sim.control(Method::GET, "/sim/v1/faults", None).await.body["hold"]["create"]["count"]
                == 0
        })
        .await;
        let resent = sim.create(key, body.clone()).await;
        // The resend is processed at once; the first is still held.
        let log = sim.handle.control().log().await.unwrap();
        assert_eq!(
            log.iter()
                .filter(|c| c.path == "/epayment/v1/payments")
                .count(),
            1
        );
        resent
    });
    assert_eq!((held.status, resent.status), (201, 201));
    assert_eq!(held.raw, resent.raw, "both get the same answer");
    let ledger = sim.handle.control().payments().await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].events.len(), 1, "one CREATED event");
    let log = sim.handle.control().log().await.unwrap();
    let creates: Vec<_> = log
        .iter()
        .filter(|c| c.path == "/epayment/v1/payments")
        .collect();
    // In processing order: the resend (not held) made the payment, the held one replayed it.
    assert_eq!(creates.len(), 2);
    assert_eq!((creates[0].held_ms, creates[1].held_ms), (0, 1000));
    assert!(creates.iter().all(|c| c.status == 201 && !c.client_gone));

    // Both held: resolved one after the other, still one payment per key.
    sim.handle
        .control()
        .set_faults(&Faults::default().with_hold(EndpointClass::Create, Hold::every(200)))
        .await
        .unwrap();
    let body = push_payment("held-both-1", 2000, phone());
    let (a, b) = tokio::join!(
        sim.create("held-both-1-create", body.clone()),
        sim.create("held-both-1-create", body.clone())
    );
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(a.raw, b.raw);
    let same_body_other_key = sim.create("held-both-1-other", body).await;
    assert_eq!(same_body_other_key.code().as_deref(), Some("4150"));
    assert_eq!(sim.handle.control().payments().await.unwrap().len(), 2);
}

//! Idempotency keys and rate limits, as Vipps applies them.

use std::time::Duration;

use crate::sim_support::*;
use kasse::sim::{RateLimits, SimConfig};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn same_key_and_body_replays_the_original_answer() {
    let sim = start(SimConfig::for_tests()).await;
    let body = push_payment("idem-create-1", 1000, phone());
    let first = sim.create("idem-key-1", body.clone()).await;
    assert_eq!(first.status, 201);
    let again = sim.create("idem-key-1", body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.raw, first.raw, "the original answer, byte for byte");
    assert_eq!(sim.handle.control().payments().await.unwrap().len(), 1);

    sim.approve("idem-create-1").await;
    let c1 = sim.capture("idem-create-1", "idem-capture-1", 400).await;
    assert_eq!(c1.status, 200);
    let c1_again = sim.capture("idem-create-1", "idem-capture-1", 400).await;
    assert_eq!(c1_again.raw, c1.raw);
    let p = sim.payment("idem-create-1").await;
    assert_eq!(
        p.body["aggregate"]["capturedAmount"]["value"], 400,
        "captured once"
    );
    let ledger = sim.handle.control().payment("idem-create-1").await.unwrap();
    assert_eq!(ledger.counts.captures, 1);
}

#[tokio::test]
async fn same_key_with_another_body_is_a_conflict() {
    let mut config = SimConfig::for_tests();
    config.rate_limits = None;
    let sim = start(config).await;
    sim.create("conf-create", push_payment("conflict-1", 1000, phone()))
        .await;
    let other = sim
        .create("conf-create", push_payment("conflict-1", 2000, phone()))
        .await;
    assert_eq!(other.status, 409);
    assert_eq!(other.code().as_deref(), Some("4020"));

    sim.approve("conflict-1").await;
    assert_eq!(sim.capture("conflict-1", "conf-cap", 100).await.status, 200);
    let cap = sim.capture("conflict-1", "conf-cap", 200).await;
    assert_eq!((cap.status, cap.code().as_deref()), (400, Some("4010")));
    assert_eq!(sim.refund("conflict-1", "conf-ref", 50).await.status, 200);
    let refund = sim.refund("conflict-1", "conf-ref", 60).await;
    assert_eq!(
        (refund.status, refund.code().as_deref()),
        (400, Some("4150"))
    );
    let cancel = sim
        .modify(
            "conflict-1",
            "cancel",
            "conf-ref",
            Some(json!({"cancelTransactionOnly": true})),
        )
        .await;
    // A key is per endpoint: reusing the refund key on cancel is a new request.
    assert_eq!(cancel.code().as_deref(), Some("6060"));
    let p = sim.payment("conflict-1").await.body;
    assert_eq!(p["aggregate"]["capturedAmount"]["value"], 100);
    assert_eq!(p["aggregate"]["refundedAmount"]["value"], 50);
}

#[tokio::test]
async fn a_new_key_on_an_existing_reference_is_4150() {
    let sim = start(SimConfig::for_tests()).await;
    let body = push_payment("taken-ref-1", 1000, phone());
    assert_eq!(sim.create("taken-1", body.clone()).await.status, 201);
    let dup = sim.create("taken-2", body).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.code().as_deref(), Some("4150"));
}

#[tokio::test]
async fn a_4xx_sticks_to_its_key() {
    let mut config = SimConfig::for_tests();
    config.rate_limits = None;
    let sim = start(config).await;
    sim.create("stick-create", push_payment("sticky-1", 1000, phone()))
        .await;
    // Capture before approval: 6080, remembered under the key.
    let early = sim.capture("sticky-1", "stick-cap", 1000).await;
    assert_eq!(early.code().as_deref(), Some("6080"));
    sim.approve("sticky-1").await;
    let replay = sim.capture("sticky-1", "stick-cap", 1000).await;
    assert_eq!(replay.status, 400);
    assert_eq!(
        replay.code().as_deref(),
        Some("6080"),
        "same key, same answer"
    );
    assert_eq!(
        sim.payment("sticky-1").await.body["aggregate"]["capturedAmount"]["value"],
        0
    );
    // A new key does the capture.
    assert_eq!(
        sim.capture("sticky-1", "stick-cap-2", 1000).await.status,
        200
    );

    // A rejected create sticks too; fixing the body under the same key conflicts.
    let bad = sim
        .create("stick-bad", push_payment("sticky-2", 99, phone()))
        .await;
    assert_eq!(bad.code().as_deref(), Some("6010"));
    let fixed = sim
        .create("stick-bad", push_payment("sticky-2", 100, phone()))
        .await;
    assert_eq!(fixed.status, 409);
    assert_eq!(
        sim.create("stick-new", push_payment("sticky-2", 100, phone()))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn the_idempotency_key_is_required_and_at_most_50_characters() {
    let sim = start(SimConfig::for_tests()).await;
    let none = sim
        .call(
            Method::POST,
            "/epayment/v1/payments",
            None,
            Some(push_payment("nokey-123", 1000, phone())),
        )
        .await;
    assert_eq!(none.status, 400);
    assert!(
        none.body["extraDetails"]
            .to_string()
            .contains("Idempotency-Key")
    );
    let long = sim
        .create(&"k".repeat(51), push_payment("longkey-1", 1000, phone()))
        .await;
    assert_eq!(long.status, 400);
    assert_eq!(
        sim.create(&"k".repeat(50), push_payment("longkey-1", 1000, phone()))
            .await
            .status,
        201
    );
    let cancel = sim
        .call(
            Method::POST,
            "/epayment/v1/payments/longkey-1/cancel",
            None,
            None,
        )
        .await;
    assert_eq!(cancel.status, 400);
}

#[tokio::test]
async fn each_api_has_its_own_five_per_minute_per_reference() {
    let config = SimConfig::for_tests();
    let clock = config.clock.clone();
    let sim = start(config).await;
    let body = push_payment("limited-1", 1000, phone());
    // Four creates: the first and three idempotent retries with the same key.
    let first = sim.create("rl-create", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    for i in 2..=4 {
        let retry = sim.create("rl-create", body.clone()).await;
        assert_eq!(retry.status, 201, "create {i}");
        assert_eq!(retry.raw, first.raw);
    }
    sim.approve("limited-1").await;
    // Five partial captures, each with its own key: capture has its own budget.
    for i in 1..=5 {
        let c = sim.capture("limited-1", &format!("rl-cap-{i}"), 100).await;
        assert_eq!(c.status, 200, "capture {i}: {}", c.body);
        assert_eq!(c.body["aggregate"]["capturedAmount"]["value"], 100 * i);
    }
    let limited = sim.capture("limited-1", "rl-cap-6", 100).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    // Reads, refunds and cancels have budgets of their own.
    let read = sim.payment("limited-1").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["aggregate"]["capturedAmount"]["value"], 500);
    assert_eq!(
        sim.get("/epayment/v1/payments/limited-1/events")
            .await
            .status,
        200
    );
    assert_eq!(sim.refund("limited-1", "rl-ref-1", 100).await.status, 200);
    // Another reference is not affected.
    assert_eq!(
        sim.create("rl-other", push_payment("limited-2", 1000, phone()))
            .await
            .status,
        201
    );
    // A minute later (simulator clock) the budget is back, and the refused call had no effect.
    clock.advance(Duration::from_secs(60));
    assert_eq!(sim.capture("limited-1", "rl-cap-6", 100).await.status, 200);
    let ledger = sim.handle.control().payment("limited-1").await.unwrap();
    assert_eq!(ledger.aggregate.captured_amount.value, 600);
    assert_eq!(ledger.counts.captures, 6);
    assert_eq!(ledger.aggregate.refunded_amount.value, 100);
}

#[tokio::test]
async fn creates_are_limited_on_their_own() {
    let sim = start(SimConfig::for_tests()).await;
    let body = push_payment("create-limited-1", 1000, phone());
    for i in 1..=5 {
        assert_eq!(
            sim.create("cl-create", body.clone()).await.status,
            201,
            "create {i}"
        );
    }
    let limited = sim.create("cl-create", body).await;
    assert_eq!(limited.status, 429);
    assert!(limited.headers.get("retry-after").is_some());
    // Capture still has its full budget on the same reference.
    sim.approve("create-limited-1").await;
    assert_eq!(
        sim.capture("create-limited-1", "cl-cap-1", 1000)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn get_limits_are_configurable() {
    let mut config = SimConfig::for_tests();
    config.rate_limits = Some(RateLimits {
        modify_per_minute: 5,
        get_per_minute: 3,
    });
    let sim = start(config).await;
    sim.create("g-create", push_payment("get-limited-1", 1000, phone()))
        .await;
    for _ in 0..3 {
        assert_eq!(sim.payment("get-limited-1").await.status, 200);
    }
    // GET events is its own API with its own budget.
    assert_eq!(
        sim.get("/epayment/v1/payments/get-limited-1/events")
            .await
            .status,
        200
    );
    let limited = sim.payment("get-limited-1").await;
    assert_eq!(limited.status, 429);
    assert!(
        limited.body["message"]
            .as_str()
            .unwrap()
            .contains("Rate limit")
    );
    for _ in 0..2 {
        assert_eq!(
            sim.get("/epayment/v1/payments/get-limited-1/events")
                .await
                .status,
            200
        );
    }
    assert_eq!(
        sim.get("/epayment/v1/payments/get-limited-1/events")
            .await
            .status,
        429
    );
    // Modifying calls do not touch the read budgets, nor the reads theirs.
    sim.approve("get-limited-1").await;
    assert_eq!(
        sim.capture("get-limited-1", "g-cap", 1000).await.status,
        200
    );
}

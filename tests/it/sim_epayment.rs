//! ePayment rules: request validation with the documented codes, states and
//! aggregates, the event log, expiry, customer tokens, force approve.

use std::time::Duration;

use crate::sim_support::*;
use kasse::sim::{Currency, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

/// Create with `edit` applied to a valid body; return the answer.
async fn attempt(sim: &Sim, key: &str, edit: impl FnOnce(&mut Value)) -> Answer {
    let mut body = push_payment(&format!("ref-{key}"), 10_000, phone());
    edit(&mut body);
    sim.create(key, body).await
}

/// One edit of a create body, for a table of cases.
type Edit = Box<dyn FnOnce(&mut Value)>;

/// The value at `path`: keys (or array indices) separated by `/`, made on demand.
fn at<'a>(body: &'a mut Value, path: &str) -> &'a mut Value {
    path.split('/')
        .fold(body, |v, step| match step.parse::<usize>() {
            Ok(i) => &mut v[i],
            Err(_) => &mut v[step],
        })
}

/// Set `path` to `value`.
fn set(path: &'static str, value: Value) -> Edit {
    Box::new(move |b| *at(b, path) = value)
}

/// Apply `first`, then `second`.
fn both(first: Edit, second: Edit) -> Edit {
    Box::new(move |b| {
        first(b);
        second(b);
    })
}

/// Remove the last key of `path` from its object.
fn remove(path: &'static str) -> Edit {
    Box::new(move |b| {
        let (parent, key) = match path.rsplit_once('/') {
            Some((parent, key)) => (at(b, parent), key),
            None => (b, path),
        };
        parent.as_object_mut().unwrap().remove(key);
    })
}

fn field_names(a: &Answer) -> Vec<String> {
    a.body["extraDetails"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter(|x| x["name"] != "ErrorCode")
                .map(|x| x["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn create_validates_like_the_spec_with_documented_codes() {
    let sim = start(SimConfig::for_tests()).await;
    // (name, edit, status, code, field)
    type Case = (
        &'static str,
        Edit,
        u16,
        Option<&'static str>,
        Option<&'static str>,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("min", set("amount/value", json!(99)), 400, Some("6010"), None),
        ("dec", set("amount/value", json!(100.5)), 400, Some("4040"), Some("amount.value")),
        ("neg", set("amount/value", json!(-1)), 400, Some("4040"), Some("amount.value")),
        ("max", set("amount/value", json!(65_000_001)), 400, Some("4040"), Some("amount.value")),
        ("eur", both(set("amount/currency", json!("EUR")), set("receipt/bottomLine/currency", json!("EUR"))), 400, Some("5040"), None),
        ("usd", set("amount/currency", json!("USD")), 400, None, Some("amount.currency")),
        ("noamount", remove("amount"), 400, None, Some("amount")),
        ("nopm", remove("paymentMethod"), 400, None, Some("paymentMethod")),
        ("pm", set("paymentMethod/type", json!("CASH")), 400, None, Some("paymentMethod.type")),
        ("noref", remove("reference"), 400, None, Some("reference")),
        ("shortref", set("reference", json!("abc1234")), 400, None, Some("reference")),
        ("longref", set("reference", json!("a".repeat(65))), 400, None, Some("reference")),
        ("badref", set("reference", json!("till1_0042_x")), 400, None, Some("reference")),
        ("noflow", remove("userFlow"), 400, None, Some("userFlow")),
        ("push", remove("customer"), 400, Some("4140"), Some("customer")),
        ("web", set("userFlow", json!("WEB_REDIRECT")), 400, Some("4140"), Some("returnUrl")),
        ("http", both(set("userFlow", json!("WEB_REDIRECT")), set("returnUrl", json!("http://shop.example/back"))), 400, Some("4090"), Some("returnUrl")),
        ("two", set("customer", json!({"phoneNumber": "4712345678", "customerToken": "x"})), 400, None, Some("customer")),
        ("none", set("customer", json!({})), 400, None, Some("customer")),
        ("phone", set("customer", json!({"phoneNumber": "+4712345678"})), 400, Some("4070"), Some("customer.phoneNumber")),
        ("pqr", set("customer", json!({"personalQr": "nope"})), 400, Some("4060"), Some("customer.personalQr")),
        ("token", set("customer", json!({"customerToken": "made-up"})), 400, Some("4050"), Some("customer.customerToken")),
        ("desc", set("paymentDescription", json!("ab")), 400, None, Some("paymentDescription")),
        ("ci", set("customerInteraction", json!("PRESENT")), 400, None, Some("customerInteraction")),
        ("meta", set("metadata", json!({"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6"})), 400, Some("4100"), None),
        ("metakey", set("metadata", json!({"k".repeat(101): "v"})), 400, Some("4120"), None),
        ("metaval", set("metadata", json!({"k": "v".repeat(501)})), 400, Some("4130"), None),
        ("scope", set("profile", json!({"scope": "name shoeSize"})), 400, Some("4080"), Some("profile.scope")),
        ("card", set("paymentMethod/type", json!("CARD")), 400, None, Some("paymentMethod.type")),
        ("nolines", set("receipt/orderLines", json!([])), 400, None, Some("receipt.orderLines")),
        ("nobottom", remove("receipt/bottomLine"), 400, None, Some("receipt.bottomLine")),
        ("lineid", remove("receipt/orderLines/0/id"), 400, None, Some("receipt.orderLines[0].id")),
        ("tax", set("receipt/orderLines/0/taxPercentage", json!(101)), 400, None, Some("receipt.orderLines[0].taxPercentage")),
        ("notax", remove("receipt/orderLines/0/taxPercentage"), 400, None, Some("receipt.orderLines[0].taxPercentage")),
        ("qty", set("receipt/orderLines/0/unitInfo/quantity", json!("1,5")), 400, None, Some("receipt.orderLines[0].unitInfo.quantity")),
        ("unit", set("receipt/orderLines/0/unitInfo/quantityUnit", json!("BOX")), 400, None, Some("receipt.orderLines[0].unitInfo.quantityUnit")),
        ("rcur", set("receipt/bottomLine/currency", json!("DKK")), 400, None, Some("receipt.bottomLine.currency")),
        ("exp", set("expiresAt", json!("2099-01-01T00:00:00Z")), 403, Some("5050"), None),
        ("expnor", both(set("expiresAt", json!("2099-01-01T00:00:00Z")), remove("receipt")), 400, Some("6130"), None),
    ];
    for (name, edit, status, code, field) in cases {
        let a = attempt(&sim, &format!("case-{name}"), edit).await;
        assert_eq!(a.status, status, "{name}: {}", a.body);
        assert_eq!(a.code().as_deref(), code, "{name}: {}", a.body);
        if let Some(field) = field {
            assert!(
                field_names(&a).iter().any(|f| f == field),
                "{name}: {}",
                a.body
            );
        }
        assert_eq!(a.content_type(), "application/problem+json", "{name}");
        for key in ["type", "title", "status", "traceId", "instance"] {
            assert!(!a.body[key].is_null(), "{name}: {key} missing");
        }
        assert_eq!(a.body["instance"], "/epayment/v1/payments");
        assert_eq!(a.body["status"], status);
    }
    // Nothing was created by any of them.
    assert!(sim.handle.control().payments().await.unwrap().is_empty());

    // The limits themselves pass: 100 øre, 64-character references, taxRate.
    let ok = attempt(&sim, "edge", |b| {
        b["amount"]["value"] = json!(100);
        b["reference"] = json!("A".repeat(64));
        let line = &mut b["receipt"]["orderLines"][0];
        line.as_object_mut().unwrap().remove("taxPercentage");
        line["taxRate"] = json!(2500);
    })
    .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let web = attempt(&sim, "web-ok", |b| {
        b["userFlow"] = json!("WEB_REDIRECT");
        b["returnUrl"] = json!("https://shop.example/back");
        b["reference"] = json!("web-ok-123");
    })
    .await;
    assert_eq!(web.status, 201);
    assert!(
        web.body["redirectUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
}

#[tokio::test]
async fn the_market_currency_is_configurable() {
    let mut config = SimConfig::for_tests();
    config.currency = Currency::Dkk;
    let sim = start(config).await;
    let mut body = push_payment("dkk-payment-1", 1, phone());
    body["amount"]["currency"] = json!("DKK");
    body["receipt"]["bottomLine"]["currency"] = json!("DKK");
    assert_eq!(
        sim.create("dkk-1", body).await.status,
        201,
        "DKK minimum is 1"
    );
    let nok = sim
        .create("dkk-2", push_payment("nok-payment-1", 1000, phone()))
        .await;
    assert_eq!(nok.code().as_deref(), Some("5040"));
}

#[tokio::test]
async fn push_message_needs_approval_of_the_sales_unit() {
    let mut config = SimConfig::for_tests();
    config.push_message_allowed = false;
    let sim = start(config).await;
    let a = sim
        .create("k1", push_payment("no-push-123", 1000, phone()))
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.code().as_deref(), Some("5080"));
}

#[tokio::test]
async fn customer_tokens_live_15_minutes_and_phone_numbers_work_too() {
    let config = SimConfig::for_tests();
    let clock = config.clock.clone();
    let sim = start(config).await;
    let token = sim.customer_token().await;
    let with_token = |n: u32| {
        let body = push_payment(
            &format!("token-payment-{n}"),
            1000,
            json!({"customerToken": token}),
        );
        let (sim, key) = (&sim, format!("tok-{n}"));
        async move { sim.create(&key, body).await }
    };
    assert_eq!(with_token(1).await.status, 201);
    // Used again within its life (a retry after a decline), still fine.
    assert_eq!(with_token(2).await.status, 201);
    clock.advance(Duration::from_secs(15 * 60 + 1));
    let expired = with_token(3).await;
    assert_eq!(expired.status, 400);
    assert_eq!(expired.code().as_deref(), Some("4050"));
    // The cashier's fallback: the customer's phone number.
    let by_phone = sim
        .create(
            "tok-4",
            push_payment(
                "phone-payment-1",
                1000,
                json!({"phoneNumber": "4798765432"}),
            ),
        )
        .await;
    assert_eq!(by_phone.status, 201);
    let ledger = sim
        .handle
        .control()
        .payment("phone-payment-1")
        .await
        .unwrap();
    assert_eq!(ledger.customer_phone.as_deref(), Some("4798765432"));
    // The customer a payment was pushed to is the one who approves it.
    let approve_as = |phone: &str| {
        let body = json!({"phoneNumber": phone});
        let path = "/sim/v1/payments/phone-payment-1/approve";
        sim.control(Method::POST, path, Some(body))
    };
    assert_eq!(approve_as("4711111111").await.status, 403);
    let right = approve_as("4798765432").await;
    assert_eq!(right.status, 200);
    assert_eq!(right.body["approvedBy"], "4798765432");
}

#[tokio::test]
async fn unknown_customers_get_7010_and_personal_qr_works() {
    let mut config = SimConfig::for_tests();
    config.unknown_phone_numbers = vec!["4700000000".into()];
    let sim = start(config).await;
    let unknown = sim
        .create(
            "u-1",
            push_payment("unknown-1234", 1000, json!({"phoneNumber": "4700000000"})),
        )
        .await;
    assert_eq!(unknown.code().as_deref(), Some("7010"));
    let qr = sim
        .create(
            "u-2",
            push_payment(
                "personal-qr-1",
                1000,
                json!({"personalQr": "https://qr.vipps.no/28/2/01/031/4791234567?v=1"}),
            ),
        )
        .await;
    assert_eq!(qr.status, 201);
    let p = sim.handle.control().payment("personal-qr-1").await.unwrap();
    assert_eq!(p.customer_phone.as_deref(), Some("4791234567"));
}

#[tokio::test]
async fn capture_refund_and_cancel_follow_the_aggregate() {
    // Many modifications of one reference: more than Vipps' 5 per minute.
    let mut config = SimConfig::for_tests();
    config.rate_limits = None;
    let sim = start(config).await;
    let reference = "aggregate-1000";
    sim.create("agg-create", push_payment(reference, 1000, phone()))
        .await;

    let early = sim.capture(reference, "agg-c0", 100).await;
    assert_eq!((early.status, early.code().as_deref()), (400, Some("6080")));
    let refund_early = sim.refund(reference, "agg-r0", 100).await;
    assert_eq!(refund_early.code().as_deref(), Some("6020"));
    sim.approve(reference).await;

    let c1 = sim.capture(reference, "agg-c1", 250).await;
    assert_eq!(c1.status, 200);
    assert_eq!(c1.body["aggregate"]["capturedAmount"]["value"], 250);
    let too_much = sim.capture(reference, "agg-c2", 751).await;
    assert_eq!(too_much.code().as_deref(), Some("6090"));
    let c2 = sim.capture(reference, "agg-c3", 250).await;
    assert_eq!(c2.body["aggregate"]["capturedAmount"]["value"], 500);
    assert_eq!(c2.body["state"], "AUTHORIZED");

    let r_over = sim.refund(reference, "agg-r1", 501).await;
    assert_eq!(r_over.code().as_deref(), Some("6150"));
    let r1 = sim.refund(reference, "agg-r2", 200).await;
    assert_eq!(r1.body["aggregate"]["refundedAmount"]["value"], 200);

    let only_tx = sim
        .modify(
            reference,
            "cancel",
            "agg-x0",
            Some(json!({"cancelTransactionOnly": true})),
        )
        .await;
    assert_eq!(only_tx.code().as_deref(), Some("6060"));
    let cancel = sim.modify(reference, "cancel", "agg-x1", None).await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    assert_eq!(
        cancel.body["state"], "AUTHORIZED",
        "state stays AUTHORIZED after cancel"
    );
    assert_eq!(cancel.body["aggregate"]["cancelledAmount"]["value"], 500);
    let after_cancel = sim.capture(reference, "agg-c4", 1).await;
    assert_eq!(after_cancel.code().as_deref(), Some("6070"));
    // Refunds of what was captured still work after the cancel.
    let r2 = sim.refund(reference, "agg-r3", 300).await;
    assert_eq!(r2.status, 200);
    assert_eq!(
        sim.refund(reference, "agg-r4", 1).await.code().as_deref(),
        Some("6150")
    );

    let p = sim.payment(reference).await.body;
    assert_eq!(p["aggregate"]["authorizedAmount"]["value"], 1000);
    assert_eq!(p["aggregate"]["capturedAmount"]["value"], 500);
    assert_eq!(p["aggregate"]["refundedAmount"]["value"], 500);
    assert_eq!(p["aggregate"]["cancelledAmount"]["value"], 500);

    let events = sim
        .get(&format!("/epayment/v1/payments/{reference}/events"))
        .await;
    assert_eq!(events.status, 200);
    let log = events.body.as_array().unwrap();
    let summary: Vec<(String, i64)> = log
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["amount"]["value"].as_i64().unwrap(),
            )
        })
        .collect();
    let expect = [
        ("CREATED", 1000),
        ("AUTHORIZED", 1000),
        ("CAPTURED", 250),
        ("CAPTURED", 250),
        ("REFUNDED", 200),
        ("CANCELLED", 500),
        ("REFUNDED", 300),
    ];
    assert_eq!(summary, expect.map(|(n, v)| (n.to_string(), v)));
    let psps: std::collections::HashSet<&str> = log
        .iter()
        .map(|e| e["pspReference"].as_str().unwrap())
        .collect();
    assert_eq!(psps.len(), log.len(), "each event has its own pspReference");
    assert_eq!(log[0]["pspReference"], p["pspReference"]);
    assert_eq!(log[2]["idempotencyKey"], "agg-c1");
    assert!(
        log.iter()
            .all(|e| e["success"] == true && e["reference"] == reference)
    );

    let ledger = sim.handle.control().payment(reference).await.unwrap();
    assert_eq!(
        (
            ledger.counts.captures,
            ledger.counts.refunds,
            ledger.counts.cancels
        ),
        (2, 2, 1)
    );
}

#[tokio::test]
async fn cancel_before_authorization_terminates_and_full_capture_blocks_cancel() {
    let sim = start(SimConfig::for_tests()).await;
    sim.create("t-create", push_payment("terminate-1", 1000, phone()))
        .await;
    let cancel = sim
        .modify(
            "terminate-1",
            "cancel",
            "t-cancel",
            Some(json!({"cancelTransactionOnly": true})),
        )
        .await;
    assert_eq!(cancel.status, 200);
    assert_eq!(cancel.body["state"], "TERMINATED");
    assert_eq!(cancel.body["aggregate"]["cancelledAmount"]["value"], 1000);
    let approve = sim.approve("terminate-1").await;
    assert_eq!(
        approve.status, 409,
        "a terminated payment cannot be approved"
    );
    assert_eq!(
        sim.capture("terminate-1", "t-cap", 10)
            .await
            .code()
            .as_deref(),
        Some("6070")
    );

    sim.authorized("full-capture-1", 1000).await;
    sim.capture("full-capture-1", "f-cap", 1000).await;
    let c = sim
        .modify("full-capture-1", "cancel", "f-cancel", None)
        .await;
    assert_eq!(c.code().as_deref(), Some("6040"));
    assert_eq!(
        sim.capture("full-capture-1", "f-cap-2", 1)
            .await
            .code()
            .as_deref(),
        Some("6170")
    );

    // Declined payments are ABORTED and cannot be cancelled or captured.
    sim.create("d-create", push_payment("declined-1", 1000, phone()))
        .await;
    let declined = sim
        .control(Method::POST, "/sim/v1/payments/declined-1/decline", None)
        .await;
    assert_eq!(declined.body["state"], "ABORTED");
    assert_eq!(sim.payment("declined-1").await.body["state"], "ABORTED");
    assert_eq!(
        sim.modify("declined-1", "cancel", "d-cancel", None)
            .await
            .code()
            .as_deref(),
        Some("6050")
    );
    assert_eq!(
        sim.capture("declined-1", "d-cap", 10)
            .await
            .code()
            .as_deref(),
        Some("6200")
    );
}

#[tokio::test]
async fn full_capture_required_refuses_partial_capture() {
    let mut config = SimConfig::for_tests();
    config.full_capture_required = true;
    let sim = start(config).await;
    sim.authorized("partial-1234", 1000).await;
    assert_eq!(
        sim.capture("partial-1234", "p1", 500)
            .await
            .code()
            .as_deref(),
        Some("6140")
    );
    assert_eq!(sim.capture("partial-1234", "p2", 1000).await.status, 200);
}

#[tokio::test]
async fn unapproved_payments_expire_after_the_default_timeout() {
    let config = SimConfig::for_tests();
    let clock = config.clock.clone();
    let sim = start(config).await;
    let receiver = Receiver::start("/hook").await;
    sim.register(&receiver.url, &["epayments.payment.expired.v1"])
        .await;
    sim.create("e-create", push_payment("expiring-1", 1000, phone()))
        .await;
    clock.advance(Duration::from_secs(9 * 60));
    assert_eq!(sim.payment("expiring-1").await.body["state"], "CREATED");
    clock.advance(Duration::from_secs(61));
    assert_eq!(sim.payment("expiring-1").await.body["state"], "EXPIRED");
    let expired = receiver
        .wait_for("EXPIRED webhook", 1, |v| v["name"] == "EXPIRED")
        .await;
    assert_eq!(expired[0]["reference"], "expiring-1");
    assert_eq!(sim.approve("expiring-1").await.status, 409);
    assert_eq!(
        sim.capture("expiring-1", "e-cap", 10)
            .await
            .code()
            .as_deref(),
        Some("6200")
    );

    // Without any request, the sweeper expires payments too.
    sim.create("e2-create", push_payment("expiring-2", 1000, phone()))
        .await;
    sim.handle
        .control()
        .advance_clock(Duration::from_secs(601))
        .await
        .unwrap();
    receiver
        .wait_for("second EXPIRED", 1, |v| v["reference"] == "expiring-2")
        .await;
}

#[tokio::test]
async fn payment_expiry_is_configurable() {
    let mut config = SimConfig::for_tests();
    config.payment_expiry = Duration::from_millis(50);
    let sim = start(config).await;
    sim.create("short-create", push_payment("short-lived-1", 1000, phone()))
        .await;
    wait_until("the payment to expire", || async {
        sim.payment("short-lived-1").await.body["state"] == "EXPIRED"
    })
    .await;
}

#[tokio::test]
async fn long_living_payments_respect_their_window() {
    let mut config = SimConfig::for_tests();
    config.long_living_allowed = true;
    let sim = start(config).await;
    let at = |d: Duration| {
        time::OffsetDateTime::from(std::time::SystemTime::now() + d)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut soon = push_payment("long-soon-1", 1000, phone());
    soon["expiresAt"] = json!(at(Duration::from_secs(5 * 60)));
    assert_eq!(sim.create("l1", soon).await.code().as_deref(), Some("6120"));
    let mut late = push_payment("long-late-1", 1000, phone());
    late["expiresAt"] = json!(at(Duration::from_secs(61 * 24 * 3600)));
    assert_eq!(sim.create("l2", late).await.code().as_deref(), Some("6110"));
    let mut ok = push_payment("long-ok-1", 1000, phone());
    ok["expiresAt"] = json!(at(Duration::from_secs(3600)));
    assert_eq!(sim.create("l3", ok).await.status, 201);
    sim.handle
        .control()
        .advance_clock(Duration::from_secs(30 * 60))
        .await
        .unwrap();
    assert_eq!(
        sim.payment("long-ok-1").await.body["state"],
        "CREATED",
        "past the default 10 minutes"
    );
}

#[tokio::test]
async fn the_official_force_approve_endpoint() {
    let sim = start(SimConfig::for_tests()).await;
    sim.create(
        "fa-create",
        push_payment("force-1234", 1000, json!({"phoneNumber": "4798765432"})),
    )
    .await;
    let path = "/epayment/v1/test/payments/force-1234/approve";
    let wrong = sim
        .call(
            Method::POST,
            path,
            None,
            Some(json!({"customer": {"phoneNumber": "4711111111"}})),
        )
        .await;
    assert_eq!(wrong.code().as_deref(), Some("10010"));
    let empty = sim.call(Method::POST, path, None, Some(json!({}))).await;
    assert_eq!(empty.status, 400);
    let ok = sim
        .call(
            Method::POST,
            path,
            None,
            Some(json!({"customer": {"phoneNumber": "4798765432"}})),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert!(ok.raw.is_empty());
    assert_eq!(sim.payment("force-1234").await.body["state"], "AUTHORIZED");
    let again = sim
        .call(
            Method::POST,
            path,
            None,
            Some(json!({"customer": {"phoneNumber": "4798765432"}})),
        )
        .await;
    assert_eq!(again.code().as_deref(), Some("6230"));
    let unknown = sim
        .call(
            Method::POST,
            "/epayment/v1/test/payments/unknown-123/approve",
            None,
            Some(json!({"customer": {"phoneNumber": "4798765432"}})),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code().as_deref()),
        (404, Some("5090"))
    );

    // With the token from a redirect flow's redirectUrl.
    let mut web = push_payment("force-web-1", 1000, phone());
    web["userFlow"] = json!("WEB_REDIRECT");
    web["returnUrl"] = json!("https://shop.example/back");
    let created = sim.create("fa-web", web).await;
    let redirect = created.body["redirectUrl"].as_str().unwrap();
    let token = redirect.split("token=").nth(1).unwrap();
    let path = "/epayment/v1/test/payments/force-web-1/approve";
    assert_eq!(
        sim.call(Method::POST, path, None, Some(json!({"token": "nope"})))
            .await
            .code()
            .as_deref(),
        Some("10010")
    );
    assert_eq!(
        sim.call(Method::POST, path, None, Some(json!({"token": token})))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn unknown_references_and_bad_paths() {
    let sim = start(SimConfig::for_tests()).await;
    let missing = sim.payment("does-not-exist").await;
    assert_eq!(
        (missing.status, missing.code().as_deref()),
        (404, Some("5090"))
    );
    let events = sim.get("/epayment/v1/payments/does-not-exist/events").await;
    assert_eq!(events.status, 404);
    let bad = sim.payment("bad_ref!").await;
    assert_eq!(bad.status, 400);
    let capture = sim.capture("does-not-exist", "k", 100).await;
    assert_eq!(capture.code().as_deref(), Some("5090"));
}

#[tokio::test]
async fn cancel_while_the_customer_is_authorizing_is_6250() {
    let sim = start(SimConfig::for_tests()).await;
    sim.create("o-create", push_payment("opened-1234", 1000, phone()))
        .await;
    let opened = sim.handle.control().open("opened-1234").await.unwrap();
    assert_eq!(opened.state, "CREATED");
    let cancel = sim
        .modify("opened-1234", "cancel", "o-cancel-1", None)
        .await;
    assert_eq!(
        (cancel.status, cancel.code().as_deref()),
        (400, Some("6250"))
    );
    // The customer finishes; the till's next cancel releases the money.
    sim.approve("opened-1234").await;
    let cancel = sim
        .modify("opened-1234", "cancel", "o-cancel-2", None)
        .await;
    assert_eq!(cancel.status, 200);
    assert_eq!(cancel.body["aggregate"]["cancelledAmount"]["value"], 1000);
}

//! The merchant callback QR sale end to end against the simulator over
//! loopback: token, QR, webhook registration, scan → signed check-in, push
//! payment with the customer token, approval, capture, ledger and call log.

use crate::sim_support::*;
use kasse::sim::{self, SimConfig};
use kasse::vipps::webhook;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_whole_sale_through_the_merchant_callback_qr() {
    let sim = start(SimConfig::for_tests()).await;
    let receiver = Receiver::start("/vipps/webhook").await;

    // Setup: QR for the till, one registration for check-ins and payments.
    assert_eq!(sim.put_qr("till-1", "Kasse 1").await.status, 200);
    let qr = sim.get("/qr/v1/merchant-callback/till-1").await;
    assert_eq!(qr.status, 200);
    assert_eq!(qr.body["merchantSerialNumber"], MSN);
    assert_eq!(qr.body["locationDescription"], "Kasse 1");
    let qr_content = qr.body["qrContent"].as_str().unwrap().to_string();
    assert!(qr_content.starts_with("https://qr.vipps.no/"));

    let registered = sim
        .register(
            &format!("{}?till=1", receiver.url),
            &[
                "user.checked-in.v1",
                "epayments.payment.created.v1",
                "epayments.payment.authorized.v1",
                "epayments.payment.captured.v1",
            ],
        )
        .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let secret = registered.body["secret"].as_str().unwrap().to_string();
    let webhook_id = registered.body["id"].as_str().unwrap().to_string();

    // The customer scans; the store gets a signed check-in synchronously.
    let scan = sim.scan("till-1").await;
    assert_eq!(scan.status, 200, "{:?}", scan.body);
    assert_eq!(scan.body["delivered"], true);
    let token = scan.body["customerToken"].as_str().unwrap().to_string();
    let checkins: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.json().get("customerToken").is_some())
        .collect();
    assert_eq!(checkins.len(), 1);
    let delivery = &checkins[0];
    let payload = delivery.json();
    assert_eq!(payload["customerToken"], token.as_str());
    assert_eq!(payload["merchantQrId"], "till-1");
    assert_eq!(payload["msn"], MSN);
    let initiated = payload["initiatedAt"].as_str().unwrap();
    assert_eq!(initiated.len(), "2023-10-06T10:45:40.3061965Z".len());
    assert_eq!(delivery.path_and_query, "/vipps/webhook?till=1");
    assert_eq!(
        delivery.header("webhook-id").as_deref(),
        Some(webhook_id.as_str())
    );
    assert_eq!(
        delivery.header("user-agent").as_deref(),
        Some(sim::WEBHOOK_USER_AGENT)
    );
    assert!(
        delivery
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let url = url::Url::parse(&receiver.url).unwrap();
    assert_eq!(delivery.header("host").unwrap(), webhook::authority(&url));
    webhook::verify(
        &secret,
        &delivery.path_and_query,
        &webhook::authority(&url),
        delivery.header("x-ms-date").as_deref(),
        delivery.header("x-ms-content-sha256").as_deref(),
        delivery.header("authorization").as_deref(),
        &delivery.body,
    )
    .expect("the check-in is signed like Vipps signs it");

    // The till pushes the payment to that customer.
    let reference = "till1-20240301-0042";
    let created = sim
        .create(
            &format!("{reference}-create"),
            push_payment(reference, 10_000, json!({"customerToken": token})),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        created.body,
        json!({"reference": reference}),
        "no redirectUrl for PUSH_MESSAGE"
    );

    let payment = sim.payment(reference).await;
    assert_eq!(payment.status, 200);
    assert_eq!(payment.body["state"], "CREATED");
    assert_eq!(
        payment.body["amount"],
        json!({"currency": "NOK", "value": 10000})
    );
    assert_eq!(payment.body["aggregate"]["authorizedAmount"]["value"], 0);
    assert_eq!(payment.body["paymentMethod"]["type"], "WALLET");

    // The customer approves in the app.
    let approved = sim.approve(reference).await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert_eq!(approved.body["approvedBy"], sim::DEFAULT_CUSTOMER_PHONE);
    let authorized = receiver
        .wait_for("AUTHORIZED webhook", 1, |v| v["name"] == "AUTHORIZED")
        .await;
    assert_eq!(authorized[0]["reference"], reference);
    assert_eq!(authorized[0]["msn"], MSN);
    assert_eq!(authorized[0]["success"], true);

    let payment = sim.payment(reference).await;
    assert_eq!(payment.body["state"], "AUTHORIZED");
    assert_eq!(
        payment.body["aggregate"]["authorizedAmount"]["value"],
        10000
    );

    // Capture the total.
    let captured = sim
        .capture(reference, &format!("{reference}-capture-1"), 10_000)
        .await;
    assert_eq!(captured.status, 200, "{:?}", captured.body);
    assert_eq!(captured.body["state"], "AUTHORIZED");
    assert_eq!(captured.body["aggregate"]["capturedAmount"]["value"], 10000);
    assert_eq!(captured.body["reference"], reference);
    let captures = receiver
        .wait_for("CAPTURED webhook", 1, |v| v["name"] == "CAPTURED")
        .await;
    assert_eq!(
        captures[0]["amount"],
        json!({"currency": "NOK", "value": 10000})
    );
    assert_eq!(
        captures[0]["idempotencyKey"],
        format!("{reference}-capture-1")
    );

    // Created came first, then authorized, then captured, for this payment.
    let names: Vec<Value> = receiver
        .accepted()
        .iter()
        .filter(|v| v["reference"] == reference)
        .map(|v| v["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("CREATED"), json!("AUTHORIZED"), json!("CAPTURED")]
    );

    // The ledger and the call log saw it all.
    let ledger = sim.handle.control().payments().await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].reference, reference);
    assert_eq!(ledger[0].state, "AUTHORIZED");
    assert_eq!(ledger[0].aggregate.captured_amount.value, 10_000);
    assert_eq!(ledger[0].counts.captures, 1);
    assert_eq!(ledger[0].counts.refunds, 0);
    let log = sim.handle.control().log().await.unwrap();
    let create = log
        .iter()
        .find(|c| c.method == "POST" && c.path == "/epayment/v1/payments")
        .unwrap();
    assert_eq!(create.reference.as_deref(), Some(reference));
    assert_eq!(
        create.idempotency_key.as_deref(),
        Some("till1-20240301-0042-create")
    );
    assert_eq!(create.status, 201);
    let capture = log.iter().find(|c| c.path.ends_with("/capture")).unwrap();
    assert_eq!(capture.reference.as_deref(), Some(reference));
    assert!(capture.received_at_unix_nanos > create.received_at_unix_nanos);
    assert!(log.iter().all(|c| !c.path.starts_with("/sim/")));

    let list = sim.control(Method::GET, "/sim/v1/payments", None).await;
    assert_eq!(list.body["payments"][0]["scannedMerchantQrId"], "till-1");
}

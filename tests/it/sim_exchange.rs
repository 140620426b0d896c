//! Flows that need no webhook: personal QRs (pay with one, exchange one), the customer-token
//! exchange, payment-specific QRs the customer scans, and MobilePay beacon mappings.

use std::time::Duration;

use crate::sim_support::*;
use kasse::sim::{DEFAULT_CUSTOMER_PHONE, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

async fn personal_qr(sim: &Sim, phone: &str, version: &str) -> String {
    let a = sim
        .control(
            Method::POST,
            &format!("/sim/v1/customers/{phone}/personal-qr"),
            Some(json!({"version": version})),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["version"], version);
    a.body["personalQr"].as_str().unwrap().to_string()
}

async fn exchange(sim: &Sim, body: Value) -> Answer {
    sim.call(Method::POST, "/qr/v1/exchange", None, Some(body))
        .await
}

#[tokio::test]
async fn a_tokenized_personal_qr_pays_and_exchanges_until_it_expires() {
    let sim = start(SimConfig::for_tests()).await;
    let clock = sim.handle.clock().clone();
    let code = personal_qr(&sim, "4798765432", "2.0").await;
    assert!(code.starts_with("https://qr.vipps.no/p/"), "{code}");
    assert!(!code.contains("4798765432"), "2.0 codes hide the number");

    let ex = exchange(&sim, json!({"qrCode": code})).await;
    assert_eq!(ex.status, 200, "{:?}", ex.body);
    assert_eq!(ex.body["msisdn"], "4798765432");
    assert_eq!(ex.body["version"], "2.0");
    assert!(ex.body["timestamp"].as_u64().unwrap() > 1_600_000_000);

    let created = sim
        .create(
            "pqr-v2-create",
            push_payment("pqr-v2-0001", 5000, json!({"personalQr": code})),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let ledger = sim.handle.control().payment("pqr-v2-0001").await.unwrap();
    assert_eq!(ledger.customer_phone.as_deref(), Some("4798765432"));

    // Ten minutes later the app has shown a new code: the old one is refused.
    clock.advance(Duration::from_secs(600));
    let late = sim
        .create(
            "pqr-v2-late-create",
            push_payment("pqr-v2-0002", 5000, json!({"personalQr": code})),
        )
        .await;
    assert_eq!(late.status, 400);
    assert_eq!(late.code().as_deref(), Some("4060"));
    let ex = exchange(&sim, json!({"qrCode": code})).await;
    assert_eq!(ex.status, 400);
    assert_eq!(ex.body["extraDetails"][0]["name"], "qrCode");
}

#[tokio::test]
async fn a_clear_text_personal_qr_exchanges_as_version_1() {
    let sim = start(SimConfig::for_tests()).await;
    let code = personal_qr(&sim, DEFAULT_CUSTOMER_PHONE, "1.0").await;
    let ex = exchange(&sim, json!({"qrCode": code, "requestedData": ["MSISDN"]})).await;
    assert_eq!(ex.status, 200, "{:?}", ex.body);
    assert_eq!(ex.body["msisdn"], DEFAULT_CUSTOMER_PHONE);
    assert_eq!(ex.body["version"], "1.0");
    assert!(ex.body.get("timestamp").is_none(), "only 2.0 has one");
    // Missing content, unknown content and other requested data are 400s.
    let missing = exchange(&sim, json!({})).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["extraDetails"][0]["name"], "qrCode");
    assert_eq!(
        exchange(&sim, json!({"qrCode": "https://example.com/x"}))
            .await
            .status,
        400
    );
    let other = exchange(&sim, json!({"qrCode": code, "requestedData": ["EMAIL"]})).await;
    assert_eq!(other.status, 400);
    assert_eq!(other.body["extraDetails"][0]["name"], "requestedData");
}

#[tokio::test]
async fn a_customer_token_exchanges_for_the_msisdn_while_valid() {
    let sim = start(SimConfig::for_tests()).await;
    let clock = sim.handle.clock().clone();
    let token = sim.customer_token().await;
    let body = json!({"customer": {"customerToken": token}, "requestedData": ["MSISDN"]});
    let ex = sim
        .call(
            Method::POST,
            "/qr/v1/exchange/customer",
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(ex.status, 200, "{:?}", ex.body);
    assert_eq!(ex.body["msisdn"], DEFAULT_CUSTOMER_PHONE);
    assert!(ex.body["timestamp"].as_u64().unwrap() > 1_600_000_000);
    // Both fields are required.
    let no_data = sim
        .call(
            Method::POST,
            "/qr/v1/exchange/customer",
            None,
            Some(json!({"customer": {"customerToken": token}})),
        )
        .await;
    assert_eq!(no_data.status, 400);
    let no_customer = sim
        .call(
            Method::POST,
            "/qr/v1/exchange/customer",
            None,
            Some(json!({"requestedData": ["MSISDN"]})),
        )
        .await;
    assert_eq!(no_customer.status, 400);
    assert_eq!(no_customer.body["extraDetails"][0]["name"], "customer");
    // After 15 minutes the token is gone.
    clock.advance(Duration::from_secs(15 * 60 + 1));
    let late = sim
        .call(Method::POST, "/qr/v1/exchange/customer", None, Some(body))
        .await;
    assert_eq!(late.status, 400);
    assert_eq!(late.body["extraDetails"][0]["name"], "customer");
}

#[tokio::test]
async fn a_payment_qr_must_be_scanned_before_the_customer_can_approve() {
    let sim = start(SimConfig::for_tests()).await;
    let mut body = push_payment("otq-00000001", 7000, Value::Null);
    body.as_object_mut().unwrap().remove("customer");
    body["userFlow"] = json!("QR");
    body["qrFormat"] = json!({"format": "TEXT/TARGETURL"});
    let created = sim.create("otq-00000001-create", body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let target = created.body["redirectUrl"].as_str().unwrap().to_string();
    assert!(target.starts_with("https://"), "{target}");

    let control = sim.handle.control();
    let early = control.approve("otq-00000001").await.unwrap_err();
    assert!(early.to_string().contains("409"), "{early}");
    let unknown = control
        .scan_payment_qr("https://landing.vipps.no?token=nope", None)
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("404"), "{unknown}");

    let scanned = control
        .scan_payment_qr(&target, Some("4798765432"))
        .await
        .unwrap();
    assert_eq!(scanned.customer_phone.as_deref(), Some("4798765432"));
    let other = control
        .scan_payment_qr(&target, Some("4711111111"))
        .await
        .unwrap_err();
    assert!(other.to_string().contains("403"), "{other}");
    let approved = control.approve("otq-00000001").await.unwrap();
    assert_eq!(approved.state, "AUTHORIZED");
    assert_eq!(approved.approved_by.as_deref(), Some("4798765432"));
}

#[tokio::test]
async fn a_mobilepay_beacon_maps_once_and_its_scan_names_the_beacon() {
    let mut config = SimConfig::for_tests();
    config.foreign_beacons = vec!["200000000000999".into()];
    let sim = start(config).await;
    let put = |id: &str| {
        let path = format!("/qr/v1/merchant-callback/mobilepay/{id}");
        let sim = &sim;
        async move {
            sim.call(
                Method::PUT,
                &path,
                None,
                Some(json!({"locationDescription": "Kasse 2"})),
            )
            .await
        }
    };
    let mapped = put("200000000000123").await;
    assert_eq!(mapped.status, 200, "{:?}", mapped.body);
    assert!(mapped.raw.is_empty());
    assert_eq!(put("200000000000123").await.status, 200, "repeatable");
    let qr = sim.get("/qr/v1/merchant-callback/200000000000123").await;
    assert_eq!(qr.body["merchantQrId"], "200000000000123");
    assert_eq!(qr.body["locationDescription"], "Kasse 2");

    // Mapped to another merchant, or one of this merchant's own Vipps QRs: 409 naming it.
    let elsewhere = put("200000000000999").await;
    assert_eq!(elsewhere.status, 409);
    assert_eq!(elsewhere.body["id"], "200000000000999");
    assert_eq!(sim.put_qr("till-1", "Kasse 1").await.status, 200);
    assert_eq!(put("till-1").await.status, 409);

    // The customer scans the printed sticker: the check-in names the beacon.
    let scan = sim.scan("200000000000123").await;
    assert_eq!(scan.status, 200, "{:?}", scan.body);
    assert_eq!(scan.body["merchantQrId"], "200000000000123");
}

/// The Vipps client's calls for stickers and exchanges, against the simulator over loopback.
#[tokio::test]
async fn the_vipps_client_maps_a_beacon_and_exchanges_both_ways() {
    use kasse::vipps::models::CustomerToken;
    use kasse::vipps::{Client, Environment, VippsConfig};
    let mut config = SimConfig::for_tests();
    config.foreign_beacons = vec!["200000000000999".into()];
    let sim = start(config).await;
    let client = Client::new(VippsConfig::new(
        Environment::Custom(sim.handle.base_url.clone()),
        kasse::sim::TEST_CLIENT_ID,
        kasse::sim::TEST_CLIENT_SECRET,
        kasse::sim::TEST_SUBSCRIPTION_KEY,
        kasse::sim::TEST_MSN,
    ))
    .unwrap();
    client
        .qr_put_mobilepay_beacon("200000000000123", "Kasse 1")
        .await
        .unwrap();
    let conflict = client
        .qr_put_mobilepay_beacon("200000000000999", "Kasse 1")
        .await
        .unwrap_err();
    assert_eq!(conflict.status(), Some(409), "{conflict}");

    let code = personal_qr(&sim, "4798765432", "2.0").await;
    let ex = client.exchange_personal_qr(&code).await.unwrap();
    assert_eq!(
        (ex.msisdn.as_str(), ex.version.as_str()),
        ("4798765432", "2.0")
    );
    assert!(ex.timestamp.is_some());
    assert!(
        !format!("{ex:?}").contains("4798765432"),
        "Debug hides the number"
    );
    let bad = client
        .exchange_personal_qr("https://example.com/x")
        .await
        .unwrap_err();
    assert_eq!(bad.status(), Some(400));

    let token = sim.customer_token().await;
    let ex = client
        .exchange_customer_token(&CustomerToken::new(token))
        .await
        .unwrap();
    assert_eq!(ex.msisdn, DEFAULT_CUSTOMER_PHONE);
    let gone = client
        .exchange_customer_token(&CustomerToken::new("not-a-token"))
        .await
        .unwrap_err();
    assert_eq!(gone.status(), Some(400));
}

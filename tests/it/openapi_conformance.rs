//! Checks Kasse's Vipps traffic against the official OpenAPI files in
//! the reference folder (`KASSE_REFERENCE_DIR`, else `../shared/vipps-openapi/`;
//! skipped with a printed line when absent, a failure under CI):
//! (a) every request body the client sends, serialised from our models;
//! (b) the simulator's actual JSON answers for every endpoint the client uses,
//!     read as raw bytes over loopback HTTP.

use std::collections::BTreeMap;

use crate::openapi::{Specs, assert_valid};
use kasse::vipps::models::{
    Amount, Barcode, BarcodeFormat, BottomLine, CancelRequest, CreatePaymentRequest, Currency,
    Customer, CustomerToken, ForceApproveRequest, MerchantCallbackPutRequest, ModificationRequest,
    OrderLine, PaymentSources, PhoneNumber, QrCategory, QuantityUnit, Receipt,
    RegisterWebhookRequest, UnitInfo, UserFlow, events,
};
use serde_json::{Value, json};

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("model serialises")
}

fn receipt(currency: Currency, rate_bp: u32) -> Receipt {
    let total = 3500_i64;
    let divisor = 10_000 + i64::from(rate_bp);
    let excluding = (total * 10_000 + divisor / 2) / divisor;
    Receipt {
        order_lines: vec![
            OrderLine::new("sku-1", "Socks", 10000, 8000, 2000, 2500).with_unit_info(UnitInfo {
                unit_price: Some(5000),
                quantity: "2".into(),
                quantity_unit: Some(QuantityUnit::Pcs),
            }),
            OrderLine::new(
                "sku-2",
                "Apples",
                total,
                excluding,
                total - excluding,
                rate_bp,
            )
            .with_unit_info(UnitInfo {
                unit_price: Some(10000),
                quantity: "0.350".into(),
                quantity_unit: Some(QuantityUnit::Kg),
            })
            .with_discount(0),
        ],
        bottom_line: BottomLine {
            pos_id: Some("till1".into()),
            receipt_number: Some("42".into()),
            payment_sources: Some(PaymentSources {
                card: Some(13500),
                ..PaymentSources::default()
            }),
            barcode: Some(Barcode {
                format: BarcodeFormat::Code128,
                data: "till1-42".into(),
            }),
            ..BottomLine::new(currency)
        },
    }
}

fn till_request() -> CreatePaymentRequest {
    CreatePaymentRequest::push_to_customer(
        "till1-01hq3k5m2n7p8r9s",
        Amount::nok(13500),
        Customer::CustomerToken(CustomerToken::new(
            "wbA8ceVRKkoYiQAVELHeFCC3Sn5dtNCvvEtVPiOT77j6wx7uR965AG6Q+q0ATP4=",
        )),
    )
    .with_description("Kasse 1")
    .with_receipt(receipt(Currency::Nok, 1500))
}

#[test]
fn create_payment_bodies_match_the_epayment_spec() {
    let Some(specs) = Specs::load("create_payment_bodies_match_the_epayment_spec") else {
        return;
    };
    let v = specs.schema("epayment", "CreatePaymentRequest");

    let till = till_request();
    till.validate().unwrap();
    assert_valid(&v, &to_json(&till), "till create (customerToken + receipt)");

    // Every customer variant, every flow field the model can set.
    let mut phone = till.clone();
    phone.customer = Some(Customer::PhoneNumber(
        PhoneNumber::parse("4791234567").unwrap(),
    ));
    phone.expires_at = Some("2030-01-01T12:00:00Z".into());
    phone.metadata = Some(BTreeMap::from([("till".into(), "1".into())]));
    phone.receipt_url = Some("https://example.com/r/1".into());
    assert_valid(
        &v,
        &to_json(&phone),
        "create with phoneNumber, expiresAt, metadata",
    );

    let mut qr = till.clone();
    qr.customer = Some(Customer::PersonalQr(
        "https://qr.vipps.no/28/2/01/031/4791234567?v=1".into(),
    ));
    assert_valid(&v, &to_json(&qr), "create with personalQr");

    let mut redirect = till.clone();
    redirect.user_flow = UserFlow::WebRedirect;
    redirect.customer = None;
    redirect.customer_interaction = None;
    redirect.return_url = Some("https://example.com/back".into());
    redirect.receipt = None;
    assert_valid(&v, &to_json(&redirect), "minimal web redirect create");

    // A receipt built from a real till basket (discount, weighed item).
    {
        use kasse::core::basket::{Basket, Discount};
        use kasse::core::catalog::{Item, Unit};
        use kasse::core::vat::VatRate;
        let mut basket = Basket::new(Currency::Nok);
        let line = basket
            .add_item(&Item::new("sku-1", "Socks", 10_000, VatRate::NO_STANDARD))
            .unwrap();
        basket.set_quantity(line, 3).unwrap();
        basket.set_basket_discount(Discount::Percent(1000)).unwrap();
        basket
            .add_weighed(
                &Item::new("sku-2", "Apples", 4_000, VatRate::NO_FOOD).with_unit(Unit::Kg),
                1_234,
            )
            .unwrap();
        let till_receipt = kasse::core::receipt::Receipt::from_basket(&basket);
        let mut from_basket = till.clone();
        from_basket.amount = Amount::nok(till_receipt.total);
        from_basket.receipt = Some(Receipt::from_core(&till_receipt, Some("till1")));
        from_basket.validate().unwrap();
        assert_valid(
            &v,
            &to_json(&from_basket),
            "create with a receipt from a till basket",
        );
    }

    // The check is able to fail: a wrong body is rejected.
    let mut broken = to_json(&till);
    broken["customer"] = json!({"phoneNumber": "4791234567", "customerToken": "x"});
    assert!(
        !v.is_valid(&broken),
        "two customer variants must be rejected by the spec"
    );
    let mut broken = to_json(&till);
    broken["amount"]["value"] = json!(65_000_001);
    assert!(!v.is_valid(&broken));
    let mut broken = to_json(&till);
    broken.as_object_mut().unwrap().remove("userFlow");
    assert!(!v.is_valid(&broken));
}

#[test]
fn receipt_lines_match_both_order_management_specs() {
    let Some(specs) = Specs::load("receipt_lines_match_both_order_management_specs") else {
        return;
    };
    let om2324 = specs.schema("om2324", "Receipt");
    let latest = specs.schema("omlatest", "Receipt");

    // Whole-percent rates carry taxRate and taxPercentage: valid against both.
    let whole = to_json(&receipt(Currency::Nok, 1500));
    assert_valid(&om2324, &whole, "receipt with whole-percent rates (2.3.24)");
    assert_valid(&latest, &whole, "receipt with whole-percent rates (latest)");
    assert_eq!(whole["orderLines"][1]["taxRate"], 1500);
    assert_eq!(whole["orderLines"][1]["taxPercentage"], 15);

    // Finland's 25.5 % has no integer percent: taxRate only. The newest
    // order-management spec accepts it; 2.3.24 (which still requires
    // taxPercentage) does not: documented in docs/vipps-client.md.
    let finnish = to_json(&receipt(Currency::Eur, 2550));
    assert_eq!(finnish["orderLines"][1]["taxRate"], 2550);
    assert!(finnish["orderLines"][1].get("taxPercentage").is_none());
    assert_valid(&latest, &finnish, "receipt with 25.5 % (latest)");
    assert!(!om2324.is_valid(&finnish), "2.3.24 requires taxPercentage");
}

#[test]
fn modification_bodies_match_the_epayment_spec() {
    let Some(specs) = Specs::load("modification_bodies_match_the_epayment_spec") else {
        return;
    };
    let body = to_json(&ModificationRequest {
        modification_amount: Amount::new(Currency::Dkk, 2500),
    });
    assert_valid(
        &specs.schema("epayment", "CaptureModificationRequest"),
        &body,
        "capture body",
    );
    assert_valid(
        &specs.schema("epayment", "RefundModificationRequest"),
        &body,
        "refund body",
    );
    assert!(
        !specs
            .schema("epayment", "CaptureModificationRequest")
            .is_valid(&json!({"amount": 1}))
    );

    // The saved spec (v1.4.1) declares no cancel body; newer docs and Vipps'
    // SDKs add `{"cancelTransactionOnly": true}`. We send exactly that, or nothing.
    let cancel = to_json(&CancelRequest {
        cancel_transaction_only: true,
    });
    assert_eq!(cancel, json!({"cancelTransactionOnly": true}));
    assert!(
        specs
            .raw_at(
                "epayment",
                "/paths/~1epayment~1v1~1payments~1{reference}~1cancel/post/requestBody"
            )
            .is_none(),
        "the saved spec gained a cancel body: validate against it"
    );

    let approve = to_json(&ForceApproveRequest {
        customer: Some(Customer::PhoneNumber(
            PhoneNumber::parse("4791234567").unwrap(),
        )),
        token: None,
    });
    assert_valid(
        &specs.schema("epayment", "ForceApprove"),
        &approve,
        "force approve body",
    );
}

#[test]
fn qr_and_webhook_bodies_match_their_specs() {
    let Some(specs) = Specs::load("qr_and_webhook_bodies_match_their_specs") else {
        return;
    };
    let put = specs.schema("qr", "MerchantCallbackPutRequest");
    assert_valid(
        &put,
        &to_json(&MerchantCallbackPutRequest {
            location_description: "Kasse 1".into(),
            category: None,
        }),
        "QR put",
    );
    // `category` is newer than the saved spec, which allows extra properties.
    assert_valid(
        &put,
        &to_json(&MerchantCallbackPutRequest {
            location_description: "Kiosk".into(),
            category: Some(QrCategory::Vending),
        }),
        "QR put with category",
    );
    assert!(!put.is_valid(&json!({"locationDescription": "x".repeat(37)})));
    let beacon = specs.schema("qr", "MerchantCallbackMobilePayPutRequest");
    assert_valid(
        &beacon,
        &to_json(&MerchantCallbackPutRequest {
            location_description: "Kasse 1".into(),
            category: None,
        }),
        "MobilePay beacon put",
    );
    assert_valid(
        &specs.schema("qr", "QrExchangeRequest"),
        &to_json(&kasse::vipps::models::QrExchangeRequest {
            qr_code: "https://qr.vipps.no/p/abc".into(),
            requested_data: vec![kasse::vipps::models::RequestedData::Msisdn],
        }),
        "personal QR exchange",
    );
    assert_valid(
        &specs.schema("qr", "CustomerExchangeRequest"),
        &to_json(&kasse::vipps::models::CustomerExchangeRequest {
            customer: kasse::vipps::models::CustomerTokenRef {
                customer_token: kasse::vipps::models::CustomerToken::new("tok"),
            },
            requested_data: vec![kasse::vipps::models::RequestedData::Msisdn],
        }),
        "customer token exchange",
    );

    let register = specs.schema("webhooks", "RegisterRequest");
    let mut all = vec![events::USER_CHECKED_IN];
    all.extend(events::ALL_PAYMENT);
    assert_valid(
        &register,
        &to_json(&RegisterWebhookRequest {
            url: "https://relay.example.com/vipps/webhook".into(),
            events: all.iter().map(|e| e.to_string()).collect(),
        }),
        "webhook registration",
    );
    // additionalProperties: false in the spec; an extra field must fail.
    assert!(!register.is_valid(&json!({"url": "https://x.example", "events": [], "secret": "s"})));
}

#[test]
fn every_payment_event_name_we_register_is_a_spec_event() {
    let Some(specs) = Specs::load("every_payment_event_name_we_register_is_a_spec_event") else {
        return;
    };
    let names = specs
        .raw_at("epayment", "/components/schemas/PaymentEventName/enum")
        .and_then(Value::as_array)
        .expect("event name enum");
    for event in events::ALL_PAYMENT {
        let upper = event
            .strip_prefix("epayments.payment.")
            .and_then(|e| e.strip_suffix(".v1"))
            .unwrap()
            .to_ascii_uppercase();
        assert!(
            names.contains(&json!(upper)),
            "{event} has no {upper} in PaymentEventName"
        );
    }
}
// ---------------------------------------------------------------------------
// (b) The simulator's answers, as raw bytes over loopback HTTP.

mod simulator {
    use crate::openapi::{Specs, assert_valid_bytes};
    use axum::body::Bytes;
    use kasse::sim::{self, SimConfig};
    use kasse::vipps::models::events;
    use reqwest::Method;
    use serde_json::{Value, json};
    use std::time::Duration;
    use tokio::sync::mpsc;

    const DEADLINE: Duration = Duration::from_secs(20);

    /// Raw calls with every header the real client sends.
    struct Raw {
        http: reqwest::Client,
        base: url::Url,
        token: String,
    }

    impl Raw {
        async fn get(&self, path: &str) -> (u16, Vec<u8>) {
            self.call(Method::GET, path, None, None).await
        }

        async fn call(
            &self,
            method: Method,
            path: &str,
            body: Option<Value>,
            idempotency_key: Option<&str>,
        ) -> (u16, Vec<u8>) {
            let mut request = self
                .http
                .request(method, self.base.join(path).unwrap())
                .header("Authorization", format!("Bearer {}", self.token))
                .header("Ocp-Apim-Subscription-Key", sim::TEST_SUBSCRIPTION_KEY)
                .header("Merchant-Serial-Number", sim::TEST_MSN)
                .header("Vipps-System-Name", "kasse")
                .header("Vipps-System-Version", "0.1.0")
                .header("Vipps-System-Plugin-Name", "kasse-till")
                .header("Vipps-System-Plugin-Version", "0.1.0");
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.bytes().await.unwrap().to_vec())
        }
    }

    fn expect(status: u16, wanted: u16, bytes: &[u8], what: &str) {
        assert_eq!(status, wanted, "{what}: {}", String::from_utf8_lossy(bytes));
    }

    async fn webhook_sink() -> (url::Url, mpsc::UnboundedReceiver<Vec<u8>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url =
            url::Url::parse(&format!("http://{}/hook", listener.local_addr().unwrap())).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: Bytes| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(body.to_vec());
                    axum::http::StatusCode::OK
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, rx)
    }

    #[tokio::test]
    async fn simulator_answers_match_the_official_schemas() {
        let Some(specs) = Specs::load("simulator_answers_match_the_official_schemas") else {
            return;
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = sim::spawn(SimConfig::for_tests(), listener);
        let http = reqwest::Client::new();

        // Access token: every value a string.
        let response = http
            .post(sim.base_url.join("accesstoken/get").unwrap())
            .header("client_id", sim::TEST_CLIENT_ID)
            .header("client_secret", sim::TEST_CLIENT_SECRET)
            .header("Ocp-Apim-Subscription-Key", sim::TEST_SUBSCRIPTION_KEY)
            .header("Merchant-Serial-Number", sim::TEST_MSN)
            .header("Content-Length", "0")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        expect(status, 200, &bytes, "token");
        let token_schema = specs.schema("token", "AuthorizationTokenResponse");
        let token = assert_valid_bytes(&token_schema, &bytes, "token answer");
        for (k, v) in token.as_object().unwrap() {
            assert!(v.is_string(), "token field {k} is not a JSON string: {v}");
        }
        let raw = Raw {
            http,
            base: sim.base_url.clone(),
            token: token["access_token"].as_str().unwrap().to_string(),
        };

        // QR merchant callback.
        let qr_error = specs.schema("qr", "QrErrorResponse");
        let (s, b) = raw
            .call(
                Method::PUT,
                "qr/v1/merchant-callback/till1",
                Some(json!({"locationDescription": "Kasse 1"})),
                None,
            )
            .await;
        expect(s, 200, &b, "QR put");
        assert!(b.is_empty(), "QR put answers with an empty body");
        let (s, b) = raw
            .get("qr/v1/merchant-callback/till1?qrImageFormat=PNG&qrImageSize=300")
            .await;
        expect(s, 200, &b, "QR get");
        let qr = assert_valid_bytes(&specs.schema("qr", "MerchantCallbackQr"), &b, "QR get");
        assert_eq!(qr["merchantQrId"], "till1");
        let (s, b) = raw.get("qr/v1/merchant-callback").await;
        expect(s, 200, &b, "QR list");
        assert_valid_bytes(&specs.array_of("qr", "MerchantCallbackQr"), &b, "QR list");
        let (s, b) = raw
            .call(
                Method::PUT,
                "qr/v1/merchant-callback/till2",
                Some(json!({"locationDescription": "x".repeat(37)})),
                None,
            )
            .await;
        expect(s, 400, &b, "QR put, too long");
        let e = assert_valid_bytes(&qr_error, &b, "QR 400");
        assert!(
            e["invalidParams"].is_array(),
            "QR errors use invalidParams: {e}"
        );
        let (s, b) = raw.get("qr/v1/merchant-callback/nope").await;
        expect(s, 404, &b, "QR get unknown");
        assert_valid_bytes(&qr_error, &b, "QR 404");

        // MobilePay beacon mapping and the exchanges.
        let (s, b) = raw
            .call(
                Method::PUT,
                "qr/v1/merchant-callback/mobilepay/200000000000123",
                Some(json!({"locationDescription": "Kasse 1"})),
                None,
            )
            .await;
        expect(s, 200, &b, "beacon put");
        let (s, b) = raw
            .call(
                Method::PUT,
                "qr/v1/merchant-callback/mobilepay/till1",
                Some(json!({"locationDescription": "Kasse 1"})),
                None,
            )
            .await;
        expect(s, 409, &b, "beacon put on a Vipps QR id");
        let conflict: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(conflict["id"], "till1");
        let (s, b) = raw
            .call(
                Method::POST,
                "qr/v1/exchange",
                Some(json!({"qrCode": "https://qr.vipps.no/28/2/01/031/4791234567?v=1"})),
                None,
            )
            .await;
        expect(s, 200, &b, "personal QR exchange");
        assert_valid_bytes(
            &specs.schema("qr", "QrExchangeResponse"),
            &b,
            "personal QR exchange",
        );
        let (s, b) = raw
            .call(Method::POST, "qr/v1/exchange", Some(json!({})), None)
            .await;
        expect(s, 400, &b, "personal QR exchange without qrCode");
        assert_valid_bytes(
            &specs.schema("qr", "QrExchangeErrorResponse"),
            &b,
            "exchange 400",
        );

        // Webhooks API (registered before payments so their events are delivered).
        let (hook_url, mut deliveries) = webhook_sink().await;
        let mut all = vec![events::USER_CHECKED_IN];
        all.extend(events::ALL_PAYMENT);
        let (s, b) = raw
            .call(
                Method::POST,
                "webhooks/v1/webhooks",
                Some(json!({"url": hook_url.as_str(), "events": all})),
                None,
            )
            .await;
        expect(s, 201, &b, "webhook register");
        let registered = assert_valid_bytes(
            &specs.schema("webhooks", "RegisterResponse"),
            &b,
            "webhook register",
        );
        let (s, b) = raw.get("webhooks/v1/webhooks").await;
        expect(s, 200, &b, "webhook list");
        assert_valid_bytes(
            &specs.schema("webhooks", "QueryResponse"),
            &b,
            "webhook list",
        );
        let (s, b) = raw
            .call(
                Method::POST,
                "webhooks/v1/webhooks",
                Some(json!({"url": hook_url.as_str(), "events": ["epayment.payment.created.v1"]})),
                None,
            )
            .await;
        expect(s, 400, &b, "webhook register, misspelt event");
        assert_valid_bytes(
            &specs.schema("webhooks", "ProblemDetails"),
            &b,
            "webhook 400",
        );

        // ePayment: create, read, events, capture, refund, cancel, force approve.
        let problem = specs.schema("epayment", "Problem");
        let modification = specs.schema("epayment", "ModificationResponse");
        let reference = "till1-conformance-1";
        let create = json!({
            "amount": {"currency": "NOK", "value": 10000},
            "paymentMethod": {"type": "WALLET"},
            "customer": {"phoneNumber": sim::DEFAULT_CUSTOMER_PHONE},
            "customerInteraction": "CUSTOMER_PRESENT",
            "reference": reference,
            "userFlow": "PUSH_MESSAGE",
            "paymentDescription": "Kasse 1"
        });
        let (s, b) = raw
            .call(
                Method::POST,
                "epayment/v1/payments",
                Some(create),
                Some("conf-1-create"),
            )
            .await;
        expect(s, 201, &b, "create");
        assert_valid_bytes(
            &specs.schema("epayment", "CreatePaymentResponse"),
            &b,
            "create",
        );
        let get_path = format!("epayment/v1/payments/{reference}");
        let (s, b) = raw.get(&get_path).await;
        expect(s, 200, &b, "get");
        assert_valid_bytes(
            &specs.schema("epayment", "GetPaymentResponse"),
            &b,
            "get (CREATED)",
        );
        let (s, b) = raw
            .call(
                Method::POST,
                &format!("{get_path}/capture"),
                Some(json!({"modificationAmount": {"currency": "NOK", "value": 100}})),
                Some("conf-1-capture-0"),
            )
            .await;
        expect(s, 400, &b, "capture before authorization");
        let e = assert_valid_bytes(&problem, &b, "ePayment 400");
        assert_eq!(
            e["extraDetails"][0],
            json!({"name": "ErrorCode", "reason": "6080"})
        );
        let (s, b) = raw
            .call(
                Method::POST,
                &format!("epayment/v1/test/payments/{reference}/approve"),
                Some(json!({"customer": {"phoneNumber": sim::DEFAULT_CUSTOMER_PHONE}})),
                None,
            )
            .await;
        expect(s, 200, &b, "force approve");
        let (s, b) = raw
            .call(
                Method::POST,
                &format!("{get_path}/capture"),
                Some(json!({"modificationAmount": {"currency": "NOK", "value": 6000}})),
                Some("conf-1-capture-1"),
            )
            .await;
        expect(s, 200, &b, "capture");
        assert_valid_bytes(&modification, &b, "capture");
        let (s, b) = raw
            .call(
                Method::POST,
                &format!("{get_path}/refund"),
                Some(json!({"modificationAmount": {"currency": "NOK", "value": 1000}})),
                Some("conf-1-refund-1"),
            )
            .await;
        expect(s, 200, &b, "refund");
        assert_valid_bytes(&modification, &b, "refund");
        let (s, b) = raw
            .call(
                Method::POST,
                &format!("{get_path}/cancel"),
                None,
                Some("conf-1-cancel"),
            )
            .await;
        expect(s, 200, &b, "cancel (rest)");
        assert_valid_bytes(&modification, &b, "cancel");
        let (s, b) = raw.get(&get_path).await;
        expect(s, 200, &b, "get");
        let payment = assert_valid_bytes(
            &specs.schema("epayment", "GetPaymentResponse"),
            &b,
            "get (AUTHORIZED)",
        );
        assert_eq!(payment["aggregate"]["capturedAmount"]["value"], 6000);
        let (s, b) = raw.get(&format!("{get_path}/events")).await;
        expect(s, 200, &b, "events");
        let log = assert_valid_bytes(&specs.array_of("epayment", "PaymentEvent"), &b, "events");
        assert_eq!(
            log.as_array().unwrap().len(),
            5,
            "CREATED, AUTHORIZED, CAPTURED, REFUNDED, CANCELLED"
        );

        // cancelTransactionOnly on a fresh payment: TERMINATED.
        let reference = "till1-conformance-2";
        let create = json!({
            "amount": {"currency": "NOK", "value": 2500},
            "paymentMethod": {"type": "WALLET"},
            "customer": {"phoneNumber": sim::DEFAULT_CUSTOMER_PHONE},
            "reference": reference,
            "userFlow": "PUSH_MESSAGE"
        });
        let (s, b) = raw
            .call(
                Method::POST,
                "epayment/v1/payments",
                Some(create),
                Some("conf-2-create"),
            )
            .await;
        expect(s, 201, &b, "create 2");
        let (s, b) = raw
            .call(
                Method::POST,
                &format!("epayment/v1/payments/{reference}/cancel"),
                Some(json!({"cancelTransactionOnly": true})),
                Some("conf-2-cancel"),
            )
            .await;
        expect(s, 200, &b, "cancel before authorization");
        let cancelled = assert_valid_bytes(&modification, &b, "cancel (terminated)");
        assert_eq!(cancelled["state"], "TERMINATED");

        // The ePayment webhooks it delivered match WebhookEvent.
        let webhook_event = specs.schema("epayment", "WebhookEvent");
        let mut names = Vec::new();
        while names.len() < 7 {
            let body = tokio::time::timeout(DEADLINE, deliveries.recv())
                .await
                .unwrap_or_else(|_| panic!("only {names:?} delivered before the deadline"))
                .unwrap();
            let event = assert_valid_bytes(&webhook_event, &body, "ePayment webhook");
            names.push(event["name"].as_str().unwrap().to_string());
        }
        for wanted in [
            "CREATED",
            "AUTHORIZED",
            "CAPTURED",
            "REFUNDED",
            "CANCELLED",
            "TERMINATED",
        ] {
            assert!(
                names.iter().any(|n| n == wanted),
                "no {wanted} webhook in {names:?}"
            );
        }

        // Delete: 204, empty.
        let id = registered["id"].as_str().unwrap();
        let (s, b) = raw
            .call(
                Method::DELETE,
                &format!("webhooks/v1/webhooks/{id}"),
                None,
                None,
            )
            .await;
        expect(s, 204, &b, "webhook delete");
        assert!(b.is_empty());
        let (s, b) = raw
            .call(Method::DELETE, "qr/v1/merchant-callback/till1", None, None)
            .await;
        expect(s, 200, &b, "QR delete");
    }
}

//! The Vipps client against the simulator over real loopback HTTP: the whole
//! merchant-callback QR flow with signed webhooks, the token cache, and every
//! error case with its status, Vipps code and retry classification.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kasse::sim::{self, EndpointClass, Faults, RateLimits, SimConfig, SimHandle};
use kasse::vipps::models::{
    Amount, BottomLine, CreatePaymentRequest, Customer, CustomerToken, OrderLine, PaymentEventName,
    PaymentState, PhoneNumber, QrImageFormat, Receipt, UnitInfo, WebhookPayload, events,
};
use kasse::vipps::{
    CheckedInEvent, Client, Environment, EpaymentWebhookEvent, Timeouts, VippsConfig, VippsError,
    retry_read, webhook,
};
use tokio::sync::mpsc;
use url::Url;

/// Long enough for any loopback answer on a loaded CI machine; only reached on failure.
const DEADLINE: Duration = Duration::from_secs(20);

async fn start_sim(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sim::spawn(config, listener)
}

fn client_config(sim: &SimHandle) -> VippsConfig {
    VippsConfig::new(
        Environment::Custom(sim.base_url.clone()),
        sim::TEST_CLIENT_ID,
        sim::TEST_CLIENT_SECRET,
        sim::TEST_SUBSCRIPTION_KEY,
        sim::TEST_MSN,
    )
}

fn client(sim: &SimHandle) -> Client {
    Client::new(client_config(sim)).unwrap()
}

async fn token_fetches(sim: &SimHandle) -> usize {
    sim.control()
        .log()
        .await
        .unwrap()
        .iter()
        .filter(|c| c.path == "/accesstoken/get" && c.status == 200)
        .count()
}

fn receipt(total: i64) -> Receipt {
    // Two lines at 25 % and 15 %, excluding-tax rounded to the nearest øre.
    let socks = total - 3500;
    let split = |amount: i64, rate: i64| {
        let excl = (amount * 10_000 + (10_000 + rate) / 2) / (10_000 + rate);
        (excl, amount - excl)
    };
    let (s_ex, s_tax) = split(socks, 2500);
    let (a_ex, a_tax) = split(3500, 1500);
    Receipt {
        order_lines: vec![
            OrderLine::new("sku-1", "Socks", socks, s_ex, s_tax, 2500),
            OrderLine::new("sku-2", "Apples", 3500, a_ex, a_tax, 1500).with_unit_info(UnitInfo {
                unit_price: Some(10000),
                quantity: "0.350".into(),
                quantity_unit: Some(kasse::vipps::models::QuantityUnit::Kg),
            }),
        ],
        bottom_line: BottomLine {
            pos_id: Some("till1".into()),
            ..BottomLine::new(kasse::vipps::models::Currency::Nok)
        },
    }
}

/// The simulator's default customer, by phone number.
fn default_customer() -> Customer {
    Customer::PhoneNumber(PhoneNumber::parse(sim::DEFAULT_CUSTOMER_PHONE).unwrap())
}

fn phone_payment(reference: &str, value: i64) -> CreatePaymentRequest {
    CreatePaymentRequest::push_to_customer(reference, Amount::nok(value), default_customer())
}

/// Create a push payment to the default customer, keyed `{reference}-create`.
async fn created_payment(vipps: &Client, reference: &str, value: i64) {
    vipps
        .create_payment(
            &phone_payment(reference, value),
            &format!("{reference}-create"),
        )
        .await
        .unwrap();
}

/// Create a payment and approve it as the simulated customer.
async fn authorized_payment(sim: &SimHandle, vipps: &Client, reference: &str, value: i64) {
    created_payment(vipps, reference, value).await;
    sim.control().approve(reference).await.unwrap();
    let payment = vipps.get_payment(reference).await.unwrap();
    assert_eq!(payment.state, PaymentState::Authorized);
}

fn assert_api(err: &VippsError, status: u16, code: Option<u32>, retryable: bool) {
    match err {
        VippsError::Api {
            status: s, code: c, ..
        } => {
            assert_eq!((*s, *c), (status, code), "{err}");
            assert_eq!(err.is_retryable(), retryable, "classification of {err}");
        }
        other => panic!("expected an API error {status}/{code:?}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// A webhook receiver like the relay's: verifies the HMAC over the raw bytes.

#[derive(Clone)]
struct Receiver {
    url: Url,
    secret: Arc<Mutex<Option<String>>>,
    events: mpsc::UnboundedSender<WebhookPayload>,
    rejected: Arc<Mutex<u32>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(secret) = r.secret.lock().unwrap().clone() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let verified = webhook::verify_headers(&secret, &r.url, &headers, &body);
    if verified.is_err() {
        *r.rejected.lock().unwrap() += 1;
        return StatusCode::UNAUTHORIZED;
    }
    match WebhookPayload::parse(&body) {
        Ok(payload) => {
            let _ = r.events.send(payload);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn start_receiver() -> (Receiver, mpsc::UnboundedReceiver<WebhookPayload>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let receiver = Receiver {
        url: Url::parse(&format!("http://{addr}/vipps/webhook?store=1")).unwrap(),
        secret: Arc::new(Mutex::new(None)),
        events: tx,
        rejected: Arc::new(Mutex::new(0)),
    };
    let app = axum::Router::new()
        .route("/vipps/webhook", axum::routing::post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, rx)
}

async fn next_payment_event(
    rx: &mut mpsc::UnboundedReceiver<WebhookPayload>,
    name: PaymentEventName,
) -> EpaymentWebhookEvent {
    let wait = async {
        loop {
            match rx.recv().await.expect("receiver open") {
                WebhookPayload::Payment(e) if e.name == name => return e,
                _ => continue,
            }
        }
    };
    tokio::time::timeout(DEADLINE, wait)
        .await
        .unwrap_or_else(|_| panic!("no {name:?} webhook before the deadline"))
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn whole_merchant_callback_flow() {
    let sim = start_sim(SimConfig::for_tests()).await;
    let vipps = client(&sim);

    // Token.
    let token = vipps.access_token().await.unwrap();
    assert!(token.expose().len() > 100);
    assert!(token.expires_at > SystemTime::now());

    // The till's QR.
    vipps.qr_put("till1", "Kasse 1").await.unwrap();
    vipps.qr_put("till1", "Kasse 1 (vindu)").await.unwrap();
    let qr = vipps.qr_get("till1", QrImageFormat::Svg).await.unwrap();
    assert_eq!(qr.merchant_qr_id, "till1");
    assert_eq!(qr.location_description.as_deref(), Some("Kasse 1 (vindu)"));
    let content = qr.qr_content.clone().expect("qrContent");
    assert!(content.starts_with("https://qr.vipps.no/"), "{content}");
    let png = vipps
        .qr_get("till1", QrImageFormat::Png { size: Some(400) })
        .await
        .unwrap();
    assert_eq!(
        png.qr_content.as_deref(),
        Some(content.as_str()),
        "a repeat PUT keeps the code"
    );
    let all = vipps.qr_list().await.unwrap();
    assert!(all.iter().any(|q| q.merchant_qr_id == "till1"));

    // Webhook registration pointing at our verifying receiver.
    let (receiver, mut rx) = start_receiver().await;
    let mut wanted = vec![events::USER_CHECKED_IN];
    wanted.extend(events::ALL_PAYMENT);
    let registered = vipps
        .register_webhook(receiver.url.as_str(), &wanted)
        .await
        .unwrap();
    assert!(!registered.secret.is_empty());
    *receiver.secret.lock().unwrap() = Some(registered.secret.expose().to_string());
    let listed = vipps.list_webhooks().await.unwrap();
    let mine = listed
        .iter()
        .find(|w| w.id == registered.id)
        .expect("listed");
    assert_eq!(mine.url, receiver.url.as_str());
    assert_eq!(mine.events.len(), wanted.len());

    // The customer scans; the signed check-in reaches us synchronously.
    let scan = sim.control().scan("till1", None).await.unwrap();
    assert!(scan.delivered, "check-in not delivered: {:?}", scan.reason);
    let check_in: CheckedInEvent = match tokio::time::timeout(DEADLINE, rx.recv()).await {
        Ok(Some(WebhookPayload::CheckedIn(c))) => c,
        other => panic!("expected a check-in, got {other:?}"),
    };
    assert_eq!(check_in.merchant_qr_id, "till1");
    assert_eq!(check_in.msn, sim::TEST_MSN);
    assert_eq!(check_in.customer_token.expose(), scan.customer_token);
    assert!(
        check_in.initiated_at_parsed().is_some(),
        "{}",
        check_in.initiated_at
    );

    // Push the payment to that customer, with the receipt.
    let total = 13_500;
    let reference = "till1-01hq3k5m2n7p8r9s";
    let request = CreatePaymentRequest::push_to_customer(
        reference,
        Amount::nok(total),
        Customer::CustomerToken(check_in.customer_token.clone()),
    )
    .with_description("Kasse 1")
    .with_receipt(receipt(total));
    let created = vipps
        .create_payment(&request, &format!("{reference}-create"))
        .await
        .unwrap();
    assert_eq!(created.reference, reference);
    assert_eq!(created.redirect_url, None, "PUSH_MESSAGE has no redirect");
    let payment = vipps.get_payment(reference).await.unwrap();
    assert_eq!(payment.state, PaymentState::Created);
    assert_eq!(payment.amount, Amount::nok(total));

    // The customer approves; the AUTHORIZED webhook arrives signed.
    sim.control().approve(reference).await.unwrap();
    let authorized = next_payment_event(&mut rx, PaymentEventName::Authorized).await;
    assert_eq!(authorized.reference, reference);
    assert_eq!(authorized.amount, Amount::nok(total));
    assert_eq!(authorized.msn, sim::TEST_MSN);
    assert!(authorized.success);

    // Re-read before moving money, capture the exact total, re-read.
    let payment = vipps.get_payment(reference).await.unwrap();
    assert_eq!(payment.state, PaymentState::Authorized);
    assert_eq!(payment.aggregate.authorized_amount.value, total);
    let key = format!("{reference}-capture-1");
    let captured = vipps
        .capture(reference, Amount::nok(total), &key)
        .await
        .unwrap();
    assert_eq!(captured.aggregate.captured_amount.value, total);
    assert_eq!(captured.state, PaymentState::Authorized);
    let payment = vipps.get_payment(reference).await.unwrap();
    assert_eq!(payment.aggregate.captured_amount, Amount::nok(total));
    assert_eq!(payment.state, PaymentState::Authorized, "no CAPTURED state");
    let captured_event = next_payment_event(&mut rx, PaymentEventName::Captured).await;
    assert_eq!(captured_event.amount.value, total);
    assert_eq!(
        captured_event.idempotency_key.as_deref(),
        Some(key.as_str())
    );

    // The event log is the authoritative history.
    let log = vipps.payment_events(reference).await.unwrap();
    let names: Vec<_> = log.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            PaymentEventName::Created,
            PaymentEventName::Authorized,
            PaymentEventName::Captured
        ]
    );
    assert_eq!(log[2].idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(log[0].psp_reference, payment.psp_reference);

    // A return: refund part of it.
    let refunded = vipps
        .refund(
            reference,
            Amount::nok(3500),
            &format!("{reference}-refund-1"),
        )
        .await
        .unwrap();
    assert_eq!(refunded.aggregate.refunded_amount.value, 3500);

    // The simulator's ledger agrees, and it saw our idempotency keys.
    let ledger = sim.control().payment(reference).await.unwrap();
    assert_eq!(ledger.aggregate.captured_amount.value, total);
    assert_eq!((ledger.counts.captures, ledger.counts.refunds), (1, 1));
    assert_eq!(
        ledger.receipt.as_ref().unwrap()["orderLines"][0]["taxRate"],
        2500
    );
    let calls = sim.control().log().await.unwrap();
    let create = calls
        .iter()
        .find(|c| c.method == "POST" && c.path == "/epayment/v1/payments")
        .unwrap();
    assert_eq!(
        create.idempotency_key.as_deref(),
        Some("till1-01hq3k5m2n7p8r9s-create")
    );
    assert_eq!(
        *receiver.rejected.lock().unwrap(),
        0,
        "every delivery verified"
    );

    // Clean up: delete the registration and the QR.
    vipps.delete_webhook(&registered.id).await.unwrap();
    assert!(
        vipps
            .list_webhooks()
            .await
            .unwrap()
            .iter()
            .all(|w| w.id != registered.id)
    );
    vipps.qr_delete("till1").await.unwrap();
    let gone = vipps.qr_get("till1", QrImageFormat::Svg).await.unwrap_err();
    assert_api(&gone, 404, None, false);
    let gone = vipps.qr_delete("till1").await.unwrap_err();
    assert_api(&gone, 404, None, false);
}

#[tokio::test]
async fn force_approve_and_cancel_variants() {
    let sim = start_sim(SimConfig::for_tests()).await;
    let vipps = client(&sim);

    // Test-only force approve.
    let reference = "till1-force-approve";
    created_payment(&vipps, reference, 5000).await;
    vipps
        .force_approve(reference, default_customer())
        .await
        .unwrap();
    assert_eq!(
        vipps.get_payment(reference).await.unwrap().state,
        PaymentState::Authorized
    );

    // cancelTransactionOnly before authorization: TERMINATED, all cancelled.
    let reference = "till1-cancel-early";
    created_payment(&vipps, reference, 5000).await;
    let cancelled = vipps
        .cancel(reference, true, "till1-cancel-early-cancel")
        .await
        .unwrap();
    assert_eq!(cancelled.state, PaymentState::Terminated);
    assert_eq!(cancelled.aggregate.cancelled_amount.value, 5000);

    // cancelTransactionOnly after authorization: refused (6060), nothing released.
    let reference = "till1-cancel-only";
    authorized_payment(&sim, &vipps, reference, 5000).await;
    let err = vipps
        .cancel(reference, true, "till1-cancel-only-cancel")
        .await
        .unwrap_err();
    assert_api(&err, 400, Some(6060), false);

    // Plain cancel after a partial capture: state stays AUTHORIZED, the rest is released.
    let reference = "till1-cancel-rest";
    authorized_payment(&sim, &vipps, reference, 5000).await;
    vipps
        .capture(reference, Amount::nok(2000), "till1-cancel-rest-capture-1")
        .await
        .unwrap();
    let cancelled = vipps
        .cancel(reference, false, "till1-cancel-rest-cancel")
        .await
        .unwrap();
    assert_eq!(cancelled.state, PaymentState::Authorized);
    assert_eq!(cancelled.aggregate.captured_amount.value, 2000);
    assert_eq!(cancelled.aggregate.cancelled_amount.value, 3000);
}

#[tokio::test]
async fn concurrent_callers_fetch_one_token_and_refresh_follows_the_clock() {
    let config = SimConfig::for_tests();
    let clock = config.clock.clone();
    let sim = start_sim(config).await;
    // The client reads the simulator's clock, so both move together.
    let vipps = Client::with_clock(client_config(&sim), clock.clock()).unwrap();

    // 16 concurrent first calls share one token request.
    let calls = (0..16).map(|_| {
        let vipps = vipps.clone();
        tokio::spawn(async move { vipps.qr_list().await })
    });
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(token_fetches(&sim).await, 1);

    // The 1-hour token is reused until five minutes before it expires…
    clock.advance(Duration::from_secs(54 * 60));
    vipps.qr_list().await.unwrap();
    assert_eq!(token_fetches(&sim).await, 1);
    // …and refreshed after that.
    clock.advance(Duration::from_secs(2 * 60));
    vipps.qr_list().await.unwrap();
    assert_eq!(token_fetches(&sim).await, 2);
}

#[tokio::test]
async fn a_token_rejected_with_401_is_replaced_once() {
    let config = SimConfig::for_tests();
    let sim_clock = config.clock.clone();
    let sim = start_sim(config).await;
    // The client keeps real time; the simulator jumps past the token's expiry.
    let vipps = client(&sim);
    vipps.qr_list().await.unwrap();
    sim_clock.advance(Duration::from_secs(2 * 3600));
    vipps.qr_list().await.unwrap();
    assert_eq!(token_fetches(&sim).await, 2);
    let statuses: Vec<u16> = sim
        .control()
        .log()
        .await
        .unwrap()
        .iter()
        .filter(|c| c.path == "/qr/v1/merchant-callback")
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [200, 401, 200]);
}

#[tokio::test]
async fn bad_credentials_and_missing_subscription_key() {
    let sim = start_sim(SimConfig::for_tests()).await;

    let mut config = client_config(&sim);
    config.client_secret = "wrong-secret".into();
    let err = Client::new(config)
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert_api(&err, 401, None, false);

    let mut config = client_config(&sim);
    config.subscription_key = "0000000000000000000000000000dead".into();
    let err = Client::new(config)
        .unwrap()
        .get_payment("till1-whatever")
        .await
        .unwrap_err();
    assert_api(&err, 401, None, false);

    // No subscription key at all (a raw call: our client always sends it).
    let token = client(&sim).access_token().await.unwrap();
    let response = reqwest::Client::new()
        .get(
            sim.base_url
                .join("epayment/v1/payments/till1-whatever")
                .unwrap(),
        )
        .header("Authorization", format!("Bearer {}", token.expose()))
        .header("Merchant-Serial-Number", sim::TEST_MSN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    let err = VippsError::from_response(status, None, &body, SystemTime::now());
    assert_api(&err, 401, None, false);
}

#[tokio::test]
async fn idempotent_replay_conflict_and_reference_exists() {
    // More than Vipps' 5 modifying calls per minute on one reference follow.
    let mut config = SimConfig::for_tests();
    config.rate_limits = None;
    let sim = start_sim(config).await;
    let vipps = client(&sim);
    let reference = "till1-idempotency";
    let request = phone_payment(reference, 10_000);

    // Same key, same body: the original result, one payment.
    let first = vipps
        .create_payment(&request, "till1-idem-create")
        .await
        .unwrap();
    let again = vipps
        .create_payment(&request, "till1-idem-create")
        .await
        .unwrap();
    assert_eq!(first, again);
    let ledger = sim.control().payments().await.unwrap();
    assert_eq!(
        ledger.iter().filter(|p| p.reference == reference).count(),
        1
    );

    // Same key, different body: conflict, final.
    let other = phone_payment(reference, 20_000);
    let err = vipps
        .create_payment(&other, "till1-idem-create")
        .await
        .unwrap_err();
    assert_api(&err, 409, Some(4020), false);

    // New key, same reference: the reference exists, final.
    let err = vipps
        .create_payment(&request, "till1-idem-create-2")
        .await
        .unwrap_err();
    assert_api(&err, 409, Some(4150), false);

    // Capture replay gives the same answer and captures once; a different
    // amount under the same key is a conflict.
    sim.control().approve(reference).await.unwrap();
    let c1 = vipps
        .capture(reference, Amount::nok(4000), "till1-idem-capture-1")
        .await
        .unwrap();
    let c2 = vipps
        .capture(reference, Amount::nok(4000), "till1-idem-capture-1")
        .await
        .unwrap();
    assert_eq!(c1, c2);
    assert_eq!(c2.aggregate.captured_amount.value, 4000);
    let err = vipps
        .capture(reference, Amount::nok(5000), "till1-idem-capture-1")
        .await
        .unwrap_err();
    assert_api(&err, 400, Some(4010), false);
    let ledger = sim.control().payment(reference).await.unwrap();
    assert_eq!(ledger.counts.captures, 1);
    assert_eq!(ledger.aggregate.captured_amount.value, 4000);
}

#[tokio::test]
async fn capture_refund_and_cancel_errors() {
    let sim = start_sim(SimConfig::for_tests()).await;
    let vipps = client(&sim);

    // Capture before authorization.
    let reference = "till1-early-capture";
    created_payment(&vipps, reference, 10_000).await;
    let err = vipps
        .capture(
            reference,
            Amount::nok(10_000),
            "till1-early-capture-capture-1",
        )
        .await
        .unwrap_err();
    assert_api(&err, 400, Some(6080), false);

    // Capture more than authorized.
    let reference = "till1-capture-too-much";
    authorized_payment(&sim, &vipps, reference, 10_000).await;
    let err = vipps
        .capture(reference, Amount::nok(10_001), "till1-ctm-capture-1")
        .await
        .unwrap_err();
    assert_api(&err, 400, Some(6090), false);

    // Refund more than captured.
    vipps
        .capture(reference, Amount::nok(6_000), "till1-ctm-capture-2")
        .await
        .unwrap();
    let err = vipps
        .refund(reference, Amount::nok(6_001), "till1-ctm-refund-1")
        .await
        .unwrap_err();
    assert_api(&err, 400, Some(6150), false);

    // Cancel after a full capture.
    let reference = "till1-cancel-late";
    authorized_payment(&sim, &vipps, reference, 10_000).await;
    vipps
        .capture(
            reference,
            Amount::nok(10_000),
            "till1-cancel-late-capture-1",
        )
        .await
        .unwrap();
    let err = vipps
        .cancel(reference, false, "till1-cancel-late-cancel")
        .await
        .unwrap_err();
    assert_api(&err, 400, Some(6040), false);

    // Unknown reference.
    let err = vipps.get_payment("till1-never-created").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn rate_limit_is_retryable_with_retry_after() {
    let mut config = SimConfig::for_tests();
    config.rate_limits = Some(RateLimits {
        modify_per_minute: 2,
        get_per_minute: 120,
    });
    let sim = start_sim(config).await;
    let vipps = client(&sim);
    let reference = "till1-rate-limited";
    // Each API has its own window (as at Vipps): the create does not count against captures.
    authorized_payment(&sim, &vipps, reference, 10_000).await;
    for n in 1..=2 {
        vipps
            .capture(reference, Amount::nok(50), &format!("till1-rl-capture-{n}"))
            .await
            .unwrap(); // capture n of 2
    }
    let err = vipps
        .capture(reference, Amount::nok(100), "till1-rl-capture-3")
        .await
        .unwrap_err();
    assert_api(&err, 429, None, true);
    let after = err.retry_after().expect("Retry-After on 429");
    assert!(
        after > Duration::ZERO && after <= Duration::from_secs(60),
        "{after:?}"
    );
    assert_eq!(err.suggested_delay(1), Some(after));
    // Nothing was captured by the refused call.
    let ledger = sim.control().payment(reference).await.unwrap();
    assert_eq!(ledger.aggregate.captured_amount.value, 100);
}

#[tokio::test]
async fn server_faults_and_timeouts_are_retryable() {
    let sim = start_sim(SimConfig::for_tests()).await;
    let vipps = client(&sim);
    let reference = "till1-faulty";
    created_payment(&vipps, reference, 10_000).await;

    // One injected 500 on reads: classified retryable; retry_read gets through.
    let mut faults = Faults::default();
    faults.fail_next.insert(EndpointClass::Get, 1);
    sim.control().set_faults(&faults).await.unwrap();
    let err = vipps.get_payment(reference).await.unwrap_err();
    assert_api(&err, 500, Some(3010), true);
    sim.control().set_faults(&faults).await.unwrap();
    let payment = retry_read(3, || vipps.get_payment(reference))
        .await
        .unwrap();
    assert_eq!(payment.state, PaymentState::Created);

    // A 503 on capture is retryable too, and the engine's retry with the same
    // key captures exactly once.
    sim.control().approve(reference).await.unwrap();
    let mut faults = Faults::default();
    faults.fail_next.insert(EndpointClass::Capture, 1);
    faults.error_status = Some(503);
    faults.fail_after_effect = true;
    sim.control().set_faults(&faults).await.unwrap();
    let err = vipps
        .capture(reference, Amount::nok(10_000), "till1-faulty-capture-1")
        .await
        .unwrap_err();
    assert_api(&err, 503, None, true);
    let retried = vipps
        .capture(reference, Amount::nok(10_000), "till1-faulty-capture-1")
        .await
        .unwrap();
    assert_eq!(retried.aggregate.captured_amount.value, 10_000);
    assert_eq!(
        sim.control()
            .payment(reference)
            .await
            .unwrap()
            .counts
            .captures,
        1
    );

    // A slow answer past the request timeout is a retryable Timeout.
    let mut faults = Faults::default();
    faults.latency_ms.insert(EndpointClass::Get, 3_000);
    sim.control().set_faults(&faults).await.unwrap();
    let impatient = Client::new(client_config(&sim).with_timeouts(Timeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_millis(300),
    }))
    .unwrap();
    impatient.access_token().await.unwrap();
    let err = impatient.get_payment(reference).await.unwrap_err();
    assert!(matches!(err, VippsError::Timeout), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn push_to_an_unknown_customer_token_is_final() {
    let sim = start_sim(SimConfig::for_tests()).await;
    let vipps = client(&sim);
    let request = CreatePaymentRequest::push_to_customer(
        "till1-bad-token",
        Amount::nok(1000),
        Customer::CustomerToken(CustomerToken::new("bm90LWEtcmVhbC10b2tlbg==")),
    );
    let err = vipps
        .create_payment(&request, "till1-bad-token-create")
        .await
        .unwrap_err();
    assert_api(&err, 400, Some(4050), false);
}

// ---------------------------------------------------------------------------
// What goes on the wire: a recording proxy in front of the simulator.

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone)]
struct Proxy {
    upstream: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
}

async fn forward(
    State(proxy): State<Proxy>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    proxy.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers: headers.clone(),
        body: body.to_vec(),
    });
    let target = proxy
        .upstream
        .join(
            uri.path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .trim_start_matches('/'),
        )
        .unwrap();
    let mut forwarded = headers.clone();
    forwarded.remove("host");
    let answer = proxy
        .http
        .request(method, target)
        .headers(forwarded)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap();
    let mut response = axum::response::Response::new(axum::body::Body::from(bytes));
    *response.status_mut() = status;
    for name in ["content-type", "retry-after"] {
        if let Some(v) = answer_headers.get(name) {
            response.headers_mut().insert(name, v.clone());
        }
    }
    response
}

#[tokio::test]
async fn every_call_carries_the_vipps_headers() {
    let sim = start_sim(SimConfig::for_tests()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let proxy = Proxy {
        upstream: sim.base_url.clone(),
        seen: Arc::new(Mutex::new(Vec::new())),
        http: reqwest::Client::new(),
    };
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut config = client_config(&sim);
    config.base_url = proxy_url;
    let vipps = Client::new(config).unwrap();

    // Every endpoint once.
    vipps.qr_put("till1", "Kasse 1").await.unwrap();
    vipps.qr_get("till1", QrImageFormat::Svg).await.unwrap();
    vipps.qr_list().await.unwrap();
    let hook = vipps
        .register_webhook("http://127.0.0.1:9/hook", &[events::PAYMENT_AUTHORIZED])
        .await
        .unwrap();
    vipps.list_webhooks().await.unwrap();
    vipps.delete_webhook(&hook.id).await.unwrap();
    let r = "till1-headers-1";
    vipps
        .create_payment(&phone_payment(r, 5000), "k-create")
        .await
        .unwrap();
    vipps.get_payment(r).await.unwrap();
    vipps.payment_events(r).await.unwrap();
    vipps.force_approve(r, default_customer()).await.unwrap();
    vipps
        .capture(r, Amount::nok(2000), "k-capture")
        .await
        .unwrap();
    vipps
        .refund(r, Amount::nok(1000), "k-refund")
        .await
        .unwrap();
    vipps.cancel(r, false, "k-cancel").await.unwrap();
    let r2 = "till1-headers-2";
    vipps
        .create_payment(&phone_payment(r2, 5000), "k-create-2")
        .await
        .unwrap();
    vipps.cancel(r2, true, "k-cancel-2").await.unwrap();
    vipps.qr_delete("till1").await.unwrap();

    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        17,
        "{:#?}",
        seen.iter().map(|s| &s.path).collect::<Vec<_>>()
    );
    let h = |s: &Seen, name: &str| s.headers.get(name).map(|v| v.to_str().unwrap().to_string());

    // The token call: credentials in headers, an empty body with Content-Length 0.
    let token_calls: Vec<_> = seen
        .iter()
        .filter(|s| s.path == "/accesstoken/get")
        .collect();
    assert_eq!(token_calls.len(), 1);
    let t = token_calls[0];
    assert_eq!(t.method, "POST");
    assert_eq!(h(t, "client_id").as_deref(), Some(sim::TEST_CLIENT_ID));
    assert_eq!(
        h(t, "client_secret").as_deref(),
        Some(sim::TEST_CLIENT_SECRET)
    );
    assert_eq!(h(t, "content-length").as_deref(), Some("0"));
    assert!(t.body.is_empty());
    assert_eq!(h(t, "authorization"), None);

    let money_moving = ["/epayment/v1/payments", "/capture", "/refund", "/cancel"];
    for s in &seen {
        assert_eq!(
            h(s, "ocp-apim-subscription-key").as_deref(),
            Some(sim::TEST_SUBSCRIPTION_KEY),
            "{}",
            s.path
        );
        assert_eq!(
            h(s, "merchant-serial-number").as_deref(),
            Some(sim::TEST_MSN),
            "{}",
            s.path
        );
        for name in [
            "vipps-system-name",
            "vipps-system-version",
            "vipps-system-plugin-name",
            "vipps-system-plugin-version",
        ] {
            let value = h(s, name).unwrap_or_else(|| panic!("{name} missing on {}", s.path));
            assert!(!value.is_empty() && value.len() <= 30, "{name}={value}");
        }
        if s.path == "/accesstoken/get" {
            continue;
        }
        assert!(
            h(s, "authorization").unwrap().starts_with("Bearer "),
            "{}",
            s.path
        );
        let moves_money = s.method == "POST"
            && !s.path.contains("/test/")
            && money_moving.iter().any(|m| s.path.ends_with(m));
        assert_eq!(
            h(s, "idempotency-key").is_some(),
            moves_money,
            "Idempotency-Key on {} {}",
            s.method,
            s.path
        );
        if !s.body.is_empty() {
            assert_eq!(
                h(s, "content-type").as_deref(),
                Some("application/json"),
                "{}",
                s.path
            );
        }
    }
    // The caller's keys, unchanged.
    let keys: Vec<_> = seen
        .iter()
        .filter_map(|s| h(s, "idempotency-key"))
        .collect();
    assert_eq!(
        keys,
        [
            "k-create",
            "k-capture",
            "k-refund",
            "k-cancel",
            "k-create-2",
            "k-cancel-2"
        ]
    );
    // Cancel sends a body only for cancelTransactionOnly.
    let cancels: Vec<_> = seen
        .iter()
        .filter(|s| s.path.ends_with("/cancel"))
        .collect();
    assert!(cancels[0].body.is_empty());
    assert_eq!(cancels[1].body, br#"{"cancelTransactionOnly":true}"#);
}

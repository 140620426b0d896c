//! End to end over real sockets: the simulator (Vipps) signs and delivers
//! webhooks to the real `kasse-relay` binary, which hands them to a till's
//! `RelayClient`. Provisioning goes through the relay's CLI, including the
//! webhook registration against the simulator's Webhooks API.

use crate::relay_support::*;
use kasse::relay::client::{ConnectionStatus, RelayClient, RelayEvent, Transport};
use kasse::sim::{self, ControlClient, SimConfig};
use kasse::vipps::models::{Amount, CreatePaymentRequest, Customer, PaymentEventName};
use kasse::vipps::{Client, Environment, VippsConfig};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_to_relay_to_till() {
    let sim = sim::spawn(
        SimConfig::for_tests(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let (_dir, db) = temp_db();
    let msn = sim::TEST_MSN;
    // Tills that have not connected get no grace: their check-ins are refused.
    let relay = Relay::start(&db, "127.0.0.1:0", &["--checkin-offline-grace-ms", "0"]).await;

    cli(&db, &["store", "add", "--msn", msn, "--name", "Sim shop"]);
    let webhook_id = cli(
        &db,
        &[
            "webhooks",
            "register",
            "--msn",
            msn,
            "--vipps-base-url",
            sim.base_url.as_str(),
            "--client-id",
            sim::TEST_CLIENT_ID,
            "--client-secret",
            sim::TEST_CLIENT_SECRET,
            "--subscription-key",
            sim::TEST_SUBSCRIPTION_KEY,
            "--public-url",
            relay.base_url.as_str(),
        ],
    );
    assert!(!webhook_id.trim().is_empty());
    let stores = cli(&db, &["store", "list"]);
    assert!(stores.contains(webhook_id.trim()), "{stores}");

    let vipps = Client::new(VippsConfig::new(
        Environment::Custom(sim.base_url.clone()),
        sim::TEST_CLIENT_ID,
        sim::TEST_CLIENT_SECRET,
        sim::TEST_SUBSCRIPTION_KEY,
        msn,
    ))
    .unwrap();
    // The registration points at the relay.
    let hooks = vipps.list_webhooks().await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].url, relay.webhook_url(msn).as_str());
    assert!(hooks[0].events.iter().any(|e| e == "user.checked-in.v1"));

    vipps.qr_put("qr-till-1", "Kasse 1").await.unwrap();
    vipps.qr_put("qr-till-2", "Kasse 2").await.unwrap();
    let token1 = add_till(&db, msn, "t1", "qr-till-1");
    add_till(&db, msn, "t2", "qr-till-2");

    let mut till =
        RelayClient::connect(client_config(&relay.base_url, &token1, 0, Transport::Auto));
    wait_status(&till, T, "till connected", |s| {
        *s == ConnectionStatus::Connected
    })
    .await;

    // The customer scans till 1's QR: the app gets a 2xx, the till the token.
    let control = ControlClient::new(sim.base_url.clone());
    let scan = control.scan("qr-till-1", None).await.unwrap();
    assert!(scan.delivered, "{scan:?}");
    assert_eq!(scan.status, Some(200));
    let d = recv(&mut till, T).await;
    let RelayEvent::CheckedIn(checkin) = &d.event else {
        panic!("expected a check-in: {d:?}")
    };
    assert_eq!(checkin.merchant_qr_id, "qr-till-1");
    assert_eq!(checkin.msn, msn);
    assert_eq!(checkin.customer_token.expose(), scan.customer_token);
    till.ack(d.seq);

    // The till pushes a payment with the token; the customer approves.
    let reference = "t1-e2e-000001";
    let request = CreatePaymentRequest::push_to_customer(
        reference,
        Amount::nok(49_900),
        Customer::CustomerToken(checkin.customer_token.clone()),
    )
    .with_description("Kasse 1");
    vipps
        .create_payment(&request, &format!("{reference}-create"))
        .await
        .unwrap();
    control.approve(reference).await.unwrap();
    let authorized = loop {
        let d = recv(&mut till, T).await;
        till.ack(d.seq);
        if let RelayEvent::Payment(p) = d.event
            && p.name == PaymentEventName::Authorized
        {
            break p;
        }
    };
    assert_eq!(authorized.reference, reference);
    assert_eq!(authorized.amount.value, 49_900);
    assert!(authorized.success);

    // Till 2 never connected: its customer is told at once instead of waiting.
    let scan = control.scan("qr-till-2", None).await.unwrap();
    assert!(!scan.delivered, "{scan:?}");
    assert_eq!(scan.status, Some(503));
    assert_eq!(scan.app_message.as_deref(), Some(sim::CANT_CONNECT));
    let refused = cli(&db, &["events", "list", "--status", "refused"]);
    assert!(refused.contains("qr-till-2"), "{refused}");
}

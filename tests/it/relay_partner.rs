//! Partner webhooks: one registration made with partner keys (no MSN) delivers the events of
//! all the partner's merchants to one URL; the relay verifies them with the partner's secret,
//! routes them by the body's `msn` to the store and on to the till, and keeps (without routing)
//! an event for an MSN that is not one of the partner's stores. On a store's own URL, an event
//! whose body names another store is kept, not routed. On SQLite and on PostgreSQL.

use crate::relay_support::pg::PgCluster;
use crate::relay_support::*;
use kasse::relay::client::{ConnectionStatus, RelayClient, RelayEvent, Transport};
use reqwest::StatusCode;
use std::path::Path;
use std::time::Duration;

const PARTNER_SECRET: &str = "partner-registration-secret";
const STORE_SECRET: &str = "store-a-own-secret";
const T: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_partner_url_feeds_two_stores_tills_on_sqlite() {
    let (_dir, db) = temp_db();
    one_partner_url_feeds_two_stores(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_partner_url_feeds_two_stores_tills_on_postgres() {
    let Some(pg) = PgCluster::start("one_partner_url_feeds_two_stores_tills_on_postgres") else {
        return;
    };
    one_partner_url_feeds_two_stores(pg.db()).await;
}

fn checkin(msn: &str, qr: &str, token: &str) -> String {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    format!(
        r#"{{"customerToken":"{token}","merchantQrId":"{qr}","msn":"{msn}","initiatedAt":"{now}"}}"#
    )
}

fn payment(msn: &str, reference: &str) -> String {
    format!(
        r#"{{"msn":"{msn}","reference":"{reference}","pspReference":"psp-{reference}","name":"AUTHORIZED","amount":{{"currency":"NOK","value":100}},"timestamp":"2026-01-19T16:26:32.099Z","success":true}}"#
    )
}

async fn connected(base: &url::Url, token: &str) -> RelayClient {
    let till = RelayClient::connect(client_config(base, token, 0, Transport::WebSocket));
    wait_status(&till, T, "till connected", |s| {
        *s == ConnectionStatus::Connected
    })
    .await;
    till
}

async fn one_partner_url_feeds_two_stores(db: &Path) {
    cli(
        db,
        &["partner", "add", "--id", "pos1", "--name", "POS vendor"],
    );
    cli(
        db,
        &[
            "partner",
            "secret",
            "--id",
            "pos1",
            "--webhook-id",
            "wh-partner",
            "--secret",
            PARTNER_SECRET,
        ],
    );
    for (msn, name) in [("111111", "Shop A"), ("222222", "Shop B")] {
        cli(
            db,
            &[
                "store",
                "add",
                "--msn",
                msn,
                "--name",
                name,
                "--partner",
                "pos1",
            ],
        );
    }
    // A store that is not the partner's.
    cli(db, &["store", "add", "--msn", "333333", "--name", "Other"]);
    cli(
        db,
        &[
            "store",
            "secret",
            "--msn",
            "111111",
            "--webhook-id",
            "wh-a",
            "--secret",
            STORE_SECRET,
        ],
    );
    // Both stores have a till "t1"; references alone cannot tell them apart.
    let token_a = add_till(db, "111111", "t1", "qr-a");
    let token_b = add_till(db, "222222", "t1", "qr-b");
    add_till(db, "333333", "t1", "qr-c");

    let relay = Relay::start(db, "127.0.0.1:0", &[]).await;
    let partner_url = relay
        .base_url
        .join("/v1/webhooks/vipps/partner/pos1")
        .unwrap();
    let http = reqwest::Client::new();
    let mut till_a = connected(&relay.base_url, &token_a).await;
    let mut till_b = connected(&relay.base_url, &token_b).await;

    let post = async |url: &url::Url, secret: &str, body: &str| {
        let r = post_signed(&http, url, secret, body.as_bytes()).await;
        let status = r.status();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        (status, v)
    };

    // Check-ins for both stores through the one URL.
    let (status, v) = post(
        &partner_url,
        PARTNER_SECRET,
        &checkin("111111", "qr-a", "tok-a"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "routed");
    let (status, _) = post(
        &partner_url,
        PARTNER_SECRET,
        &checkin("222222", "qr-b", "tok-b"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A payment event for store B's till t1 goes to store B's till, not store A's.
    let (status, _) = post(
        &partner_url,
        PARTNER_SECRET,
        &payment("222222", "t1-b-0001"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let d = recv(&mut till_a, T).await;
    let RelayEvent::CheckedIn(c) = &d.event else {
        panic!("store A's till: expected its check-in, got {d:?}")
    };
    assert_eq!(
        (c.msn.as_str(), c.merchant_qr_id.as_str()),
        ("111111", "qr-a")
    );
    till_a.ack(d.seq);
    let d = recv(&mut till_b, T).await;
    let RelayEvent::CheckedIn(c) = &d.event else {
        panic!("store B's till: expected its check-in, got {d:?}")
    };
    assert_eq!(
        (c.msn.as_str(), c.merchant_qr_id.as_str()),
        ("222222", "qr-b")
    );
    till_b.ack(d.seq);
    let d = recv(&mut till_b, T).await;
    let RelayEvent::Payment(p) = &d.event else {
        panic!("store B's till: expected the payment event, got {d:?}")
    };
    assert_eq!(p.reference, "t1-b-0001");
    till_b.ack(d.seq);

    // An MSN that is not the partner's (known to the relay or not): kept, visible, not routed.
    let (status, v) = post(
        &partner_url,
        PARTNER_SECRET,
        &payment("333333", "t1-c-0001"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a payment event is answered 2xx and kept"
    );
    assert_eq!(v["status"], "unrouted");
    let (status, v) = post(
        &partner_url,
        PARTNER_SECRET,
        &checkin("999999", "qr-z", "tok-z"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a check-in nobody can take: 404 at once"
    );
    assert_eq!(v["status"], "unrouted");
    let held = cli(db, &["events", "unrouted", "--msn", "partner:pos1"]);
    let rows: Vec<&str> = held.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{held}");
    assert!(
        rows.iter()
            .all(|r| r.contains("not a store of this partner")),
        "{held}"
    );
    // Store 333333's own registration delivering the same event still routes it there.
    cli(
        db,
        &[
            "store",
            "secret",
            "--msn",
            "333333",
            "--webhook-id",
            "wh-c",
            "--secret",
            "c-secret",
        ],
    );
    let (status, v) = post(
        &relay.webhook_url("333333"),
        "c-secret",
        &payment("333333", "t1-c-0001"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["status"], "routed",
        "not a duplicate of the partner's copy: {v}"
    );
    assert_eq!(v["duplicate"], false);

    // Store A's own URL: an event naming store B is kept, not routed to A's till.
    let store_url = relay.webhook_url("111111");
    let (status, v) = post(&store_url, STORE_SECRET, &payment("222222", "t1-b-0002")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "unrouted");
    let unrouted = cli(db, &["events", "unrouted", "--msn", "111111"]);
    assert!(unrouted.contains("not the store of the URL"), "{unrouted}");
    // ... while its own events are routed as before.
    let (status, v) = post(&store_url, STORE_SECRET, &payment("111111", "t1-a-0001")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "routed");
    let d = recv(&mut till_a, T).await;
    let RelayEvent::Payment(p) = &d.event else {
        panic!("expected store A's payment event, got {d:?}")
    };
    assert_eq!(
        p.reference, "t1-a-0001",
        "nothing of store B reached store A's till"
    );

    // The partner URL takes only the partner's secret; an unknown partner is 404.
    let (status, _) = post(&partner_url, STORE_SECRET, &payment("111111", "t1-a-0002")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let unknown = relay
        .base_url
        .join("/v1/webhooks/vipps/partner/nobody")
        .unwrap();
    let (status, _) = post(&unknown, PARTNER_SECRET, &payment("111111", "t1-a-0003")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let reason = |r: &str| format!("kasse_relay_unrouted_webhooks_total{{reason=\"{r}\"}}");
    assert_eq!(
        metric(&http, &relay.base_url, &reason("unknown_msn")).await,
        Some(2.0)
    );
    assert_eq!(
        metric(&http, &relay.base_url, &reason("msn_mismatch")).await,
        Some(1.0)
    );
}

/// A partner registers one webhook at the simulator with partner keys and no MSN; payments of
/// two of its sales units, created with the same keys, reach each store's till through the
/// relay's one partner URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_registration_at_the_simulator_feeds_two_stores_tills() {
    use kasse::sim::{self, ControlClient, PartnerKeys, SimConfig};
    use kasse::vipps::models::{Amount, CreatePaymentRequest, Customer, PaymentEventName};
    use kasse::vipps::{Client, Environment, PhoneNumber, VippsConfig};

    const PARTNER_ID: &str = "partner-client-id";
    const PARTNER_KEY: &str = "partner-client-secret";
    let msns = [sim::TEST_MSN, "654321"];
    let mut config = SimConfig::for_tests();
    config.partner = Some(PartnerKeys {
        client_id: PARTNER_ID.into(),
        client_secret: PARTNER_KEY.into(),
        msns: msns.iter().map(|m| m.to_string()).collect(),
    });
    let sim = sim::spawn(
        config,
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );

    let (_dir, db) = temp_db();
    cli(
        &db,
        &["partner", "add", "--id", "pos1", "--name", "POS vendor"],
    );
    let mut tokens = Vec::new();
    for msn in msns {
        cli(
            &db,
            &[
                "store",
                "add",
                "--msn",
                msn,
                "--name",
                msn,
                "--partner",
                "pos1",
            ],
        );
        tokens.push(add_till(&db, msn, "t1", &format!("qr-{msn}")));
    }
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let partner_url = relay
        .base_url
        .join("/v1/webhooks/vipps/partner/pos1")
        .unwrap();

    // Partner keys: an access token, then a registration without Merchant-Serial-Number.
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(sim.base_url.join("/accesstoken/get").unwrap())
        .header("client_id", PARTNER_ID)
        .header("client_secret", PARTNER_KEY)
        .header("Ocp-Apim-Subscription-Key", sim::TEST_SUBSCRIPTION_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_string();
    let webhooks = sim.base_url.join("/webhooks/v1/webhooks").unwrap();
    let r = http
        .post(webhooks.clone())
        .bearer_auth(&bearer)
        .header("Ocp-Apim-Subscription-Key", sim::TEST_SUBSCRIPTION_KEY)
        .json(&serde_json::json!({
            "url": partner_url.as_str(),
            "events": ["epayments.payment.authorized.v1"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let registered: serde_json::Value = r.json().await.unwrap();
    cli(
        &db,
        &[
            "partner",
            "secret",
            "--id",
            "pos1",
            "--webhook-id",
            registered["id"].as_str().unwrap(),
            "--secret",
            registered["secret"].as_str().unwrap(),
        ],
    );
    // The partner sees its registration; a sales unit's own keys do not.
    let listed: serde_json::Value = http
        .get(webhooks.clone())
        .bearer_auth(&bearer)
        .header("Ocp-Apim-Subscription-Key", sim::TEST_SUBSCRIPTION_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1, "{listed}");
    let own = Client::new(VippsConfig::new(
        Environment::Custom(sim.base_url.clone()),
        sim::TEST_CLIENT_ID,
        sim::TEST_CLIENT_SECRET,
        sim::TEST_SUBSCRIPTION_KEY,
        sim::TEST_MSN,
    ))
    .unwrap();
    assert!(own.list_webhooks().await.unwrap().is_empty());

    let mut tills = Vec::new();
    for token in &tokens {
        tills.push(connected(&relay.base_url, token).await);
    }
    // One payment per sales unit, created with the partner keys naming the MSN.
    let control = ControlClient::new(sim.base_url.clone());
    for msn in msns {
        let vipps = Client::new(VippsConfig::new(
            Environment::Custom(sim.base_url.clone()),
            PARTNER_ID,
            PARTNER_KEY,
            sim::TEST_SUBSCRIPTION_KEY,
            msn,
        ))
        .unwrap();
        let reference = format!("t1-{msn}-0001");
        let request = CreatePaymentRequest::push_to_customer(
            &reference,
            Amount::nok(1_000),
            Customer::PhoneNumber(PhoneNumber::parse(sim::DEFAULT_CUSTOMER_PHONE).unwrap()),
        );
        vipps
            .create_payment(&request, &format!("{reference}-create"))
            .await
            .unwrap();
        control.approve(&reference).await.unwrap();
    }
    for (till, msn) in tills.iter_mut().zip(msns) {
        let d = recv(till, T).await;
        let RelayEvent::Payment(p) = &d.event else {
            panic!("expected a payment event: {d:?}")
        };
        assert_eq!(p.name, PaymentEventName::Authorized);
        assert_eq!(
            p.reference,
            format!("t1-{msn}-0001"),
            "each store's till its own"
        );
        till.ack(d.seq);
    }
}

//! The login ping (`login.merchant-initiated.ping.v1`, BRIEF §10.6) through the relay, on
//! SQLite and on PostgreSQL: a till registers the logins it started (`POST /v1/till/login`)
//! and each login's ping goes to that till only; a ping that comes before its registration
//! (or without one) is kept unrouted, shown to operators, and delivered once the registration
//! comes. A ping on a partner URL (it names no store) goes to whichever of the partner's tills
//! registered the login.

use crate::relay_support::pg::PgCluster;
use crate::relay_support::*;
use kasse::relay::client::{LoginRegistrar, RelayClient, RelayEvent, Transport};
use std::path::Path;
use std::time::Duration;

const MSN: &str = "123456";
const SECRET: &str = "relay-login-test-secret";
const T: Duration = Duration::from_secs(20);

fn ping(auth_req_id: &str) -> Vec<u8> {
    format!(r#"{{"auth_req_id":"{auth_req_id}"}}"#).into_bytes()
}

async fn next_ping(till: &mut RelayClient) -> String {
    let d = recv(till, T).await;
    till.ack(d.seq);
    match d.event {
        RelayEvent::LoginPing(p) => p.auth_req_id,
        other => panic!("expected a login ping, got {other:?}"),
    }
}

async fn post_ping(relay: &Relay, auth_req_id: &str) -> serde_json::Value {
    let http = reqwest::Client::new();
    let r = post_signed(&http, &relay.webhook_url(MSN), SECRET, &ping(auth_req_id)).await;
    assert_eq!(r.status(), 200, "a login ping is always answered 2xx");
    r.json().await.unwrap()
}

/// The whole behaviour on one database (SQLite file or PostgreSQL URL).
async fn pings_go_to_the_till_that_registered_the_login(db: &Path) {
    let tokens = provision(db, MSN, SECRET, &[("t1", "qr-1"), ("t2", "qr-2")]);
    let relay = Relay::start(db, "127.0.0.1:0", &[]).await;
    let config1 = client_config(&relay.base_url, &tokens[0], 0, Transport::Auto);
    let config2 = client_config(&relay.base_url, &tokens[1], 0, Transport::LongPoll);
    let mut till1 = RelayClient::connect(config1.clone());
    let mut till2 = RelayClient::connect(config2.clone());
    let logins1 = LoginRegistrar::new(&config1).unwrap();
    let logins2 = LoginRegistrar::new(&config2).unwrap();

    // Till 1 started login A and registered it: A's ping goes to till 1.
    assert_eq!(logins1.register("auth-A-9f8e").await.unwrap(), 0);
    let answer = post_ping(&relay, "auth-A-9f8e").await;
    assert_eq!(answer["status"], "routed", "{answer}");
    assert_eq!(next_ping(&mut till1).await, "auth-A-9f8e");

    // A ping whose login nobody registered is kept (200, so Vipps does not retry it).
    let answer = post_ping(&relay, "auth-B-1c2d").await;
    assert_eq!(answer["status"], "unrouted", "{answer}");
    let kept_id = answer["eventId"].as_i64().unwrap();
    let listed = cli(db, &["events", "unrouted"]);
    let row = listed
        .lines()
        .find(|l| l.starts_with(&format!("{kept_id}\t")))
        .unwrap_or_else(|| panic!("kept ping not listed: {listed}"));
    assert!(row.contains("login_ping"), "{row}");
    assert!(
        !listed.contains("auth-B-1c2d"),
        "the auth_req_id is kept only in the body: {listed}"
    );
    // A re-delivery of it is a duplicate, not a second event.
    let again = post_ping(&relay, "auth-B-1c2d").await;
    assert_eq!(again["duplicate"], true, "{again}");

    let http = reqwest::Client::new();
    let unrouted = async || {
        metric(&http, &relay.base_url, "kasse_relay_unrouted_events")
            .await
            .unwrap()
    };
    assert_eq!(unrouted().await, 1.0);

    // Till 2 registers login B afterwards: the kept ping is filed again for till 2 only.
    assert_eq!(logins2.register("auth-B-1c2d").await.unwrap(), 1);
    assert_eq!(
        unrouted().await,
        0.0,
        "filed again: no longer waiting for anyone"
    );
    assert_eq!(next_ping(&mut till2).await, "auth-B-1c2d");
    // Registering again files nothing twice.
    assert_eq!(logins2.register("auth-B-1c2d").await.unwrap(), 0);

    // Till 1 never saw B, till 2 never saw A: the next thing each gets is its own payment.
    for (till, name) in [(&mut till1, "t1"), (&mut till2, "t2")] {
        let body = payment_body(&format!("{name}-after-pings"), "AUTHORIZED", name);
        let http = reqwest::Client::new();
        let r = post_signed(&http, &relay.webhook_url(MSN), SECRET, body.as_bytes()).await;
        assert_eq!(r.status(), 200);
        let d = recv(till, T).await;
        let RelayEvent::Payment(p) = &d.event else {
            panic!("{name}: expected its payment, got {:?}", d.event)
        };
        assert_eq!(p.reference, format!("{name}-after-pings"));
    }

    // Only a till's own token registers, and only for itself.
    let stranger = client_config(
        &relay.base_url,
        "kasse_till_not-a-token",
        0,
        Transport::Auto,
    );
    let refused = LoginRegistrar::new(&stranger)
        .unwrap()
        .register("auth-C")
        .await;
    assert!(
        matches!(
            refused,
            Err(kasse::relay::client::RegisterLoginError::Status(401))
        ),
        "{refused:?}"
    );
    relay.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_ping_routes_to_the_registering_till_sqlite() {
    let (_dir, db) = temp_db();
    pings_go_to_the_till_that_registered_the_login(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_ping_routes_to_the_registering_till_postgres() {
    let Some(pg) = PgCluster::start("login_ping_routes_to_the_registering_till_postgres") else {
        return;
    };
    pings_go_to_the_till_that_registered_the_login(pg.db()).await;
    // Only the key (a hash) of the auth_req_id is kept beside the body.
    let rows = pg.client().await;
    let keys: Vec<String> = rows
        .query("SELECT login_key FROM login_routes ORDER BY login_key", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("login:") && !k.contains("auth-"))
    );
}

/// A partner's one URL: the ping names no store, so it goes to the partner's till that
/// registered the login; one kept before its registration goes there once it comes.
async fn partner_pings_go_to_the_registering_store(db: &Path) {
    const PARTNER_SECRET: &str = "relay-login-partner-secret";
    cli(db, &["partner", "add", "--id", "pos1", "--name", "POS"]);
    cli(
        db,
        &[
            "partner",
            "secret",
            "--id",
            "pos1",
            "--webhook-id",
            "wh-p",
            "--secret",
            PARTNER_SECRET,
        ],
    );
    for msn in ["111111", "222222"] {
        cli(
            db,
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
    }
    let token_a = add_till(db, "111111", "t1", "qr-a");
    let token_b = add_till(db, "222222", "t1", "qr-b");
    let relay = Relay::start(db, "127.0.0.1:0", &[]).await;
    let partner_url = relay
        .base_url
        .join("/v1/webhooks/vipps/partner/pos1")
        .unwrap();
    let config_a = client_config(&relay.base_url, &token_a, 0, Transport::Auto);
    let config_b = client_config(&relay.base_url, &token_b, 0, Transport::Auto);
    let mut till_a = RelayClient::connect(config_a.clone());
    let mut till_b = RelayClient::connect(config_b.clone());
    let http = reqwest::Client::new();
    let post = async |id: &str| -> serde_json::Value {
        let r = post_signed(&http, &partner_url, PARTNER_SECRET, &ping(id)).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    };

    // Store B's till registered login P: P's ping on the partner URL goes there.
    LoginRegistrar::new(&config_b)
        .unwrap()
        .register("auth-P")
        .await
        .unwrap();
    assert_eq!(post("auth-P").await["status"], "routed");
    assert_eq!(next_ping(&mut till_b).await, "auth-P");

    // Q's ping comes first: kept, then delivered to store A's till when it registers.
    assert_eq!(post("auth-Q").await["status"], "unrouted");
    let refiled = LoginRegistrar::new(&config_a)
        .unwrap()
        .register("auth-Q")
        .await
        .unwrap();
    assert_eq!(refiled, 1);
    assert_eq!(next_ping(&mut till_a).await, "auth-Q");
    relay.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_ping_on_a_partner_url_sqlite() {
    let (_dir, db) = temp_db();
    partner_pings_go_to_the_registering_store(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_ping_on_a_partner_url_postgres() {
    let Some(pg) = PgCluster::start("login_ping_on_a_partner_url_postgres") else {
        return;
    };
    partner_pings_go_to_the_registering_store(pg.db()).await;
}

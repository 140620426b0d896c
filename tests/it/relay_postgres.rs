//! Several `kasse-relay` instances on one real PostgreSQL (a throwaway cluster per test):
//! a webhook taken by one instance reaches a till connected to another; `kill -9` of an
//! instance under load loses no 2xx'd webhook and tills move to the survivor; a PostgreSQL
//! restart under load is answered 503 (never 2xx for an event not stored) and the relay
//! recovers by itself.

use crate::relay_support::pg::{Balancer, PgCluster};
use crate::relay_support::*;
use kasse::relay::client::{ConnectionStatus, RelayClient, RelayEvent, Transport};
use kasse::sim::{self, ControlClient, SimConfig};
use kasse::vipps::models::{Amount, CreatePaymentRequest, Customer, PaymentEventName};
use kasse::vipps::{Client, Environment, VippsConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MSN: &str = "123456";
const SECRET: &str = "relay-postgres-test-secret";
const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_to_relay_a_to_till_on_relay_b() {
    let Some(pg) = PgCluster::start("simulator_to_relay_a_to_till_on_relay_b") else {
        return;
    };
    let db = pg.db();
    let sim = sim::spawn(
        SimConfig::for_tests(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let msn = sim::TEST_MSN;
    // No grace after start: a till counts as reachable only through recorded presence.
    let grace = ["--checkin-offline-grace-ms", "0"];
    let relay_a = Relay::start(db, "127.0.0.1:0", &grace).await;
    let relay_b = Relay::start(db, "127.0.0.1:0", &grace).await;

    cli(db, &["store", "add", "--msn", msn, "--name", "Sim shop"]);
    // Vipps calls instance A.
    let webhook_id = cli(
        db,
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
            relay_a.base_url.as_str(),
        ],
    );
    let stores = cli(db, &["store", "list"]);
    assert!(stores.contains(webhook_id.trim()), "{stores}");

    let vipps = Client::new(VippsConfig::new(
        Environment::Custom(sim.base_url.clone()),
        sim::TEST_CLIENT_ID,
        sim::TEST_CLIENT_SECRET,
        sim::TEST_SUBSCRIPTION_KEY,
        msn,
    ))
    .unwrap();
    vipps.qr_put("qr-till-1", "Kasse 1").await.unwrap();
    vipps.qr_put("qr-till-2", "Kasse 2").await.unwrap();
    let token1 = add_till(db, msn, "t1", "qr-till-1");
    add_till(db, msn, "t2", "qr-till-2");

    // The till is connected to instance B only.
    let mut till = RelayClient::connect(client_config(
        &relay_b.base_url,
        &token1,
        0,
        Transport::Auto,
    ));
    wait_status(&till, T, "till connected to B", |s| {
        *s == ConnectionStatus::Connected
    })
    .await;
    let rows = pg.client().await;
    wait_for(T, "B recorded the till's presence", || {
        let rows = &rows;
        async move {
            let n: i64 = rows
                .query_one(
                    "SELECT count(*) FROM till_presence p JOIN tills t ON t.pk = p.till_pk
                     WHERE t.till_id = 't1'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            (n == 1).then_some(())
        }
    })
    .await;

    // The customer scans till 1's QR: Vipps -> A -> PostgreSQL -> B -> till.
    let control = ControlClient::new(sim.base_url.clone());
    let scan = control.scan("qr-till-1", None).await.unwrap();
    assert_eq!(scan.status, Some(200), "{scan:?}");
    let d = recv(&mut till, T).await;
    let RelayEvent::CheckedIn(checkin) = &d.event else {
        panic!("expected a check-in: {d:?}")
    };
    assert_eq!(checkin.merchant_qr_id, "qr-till-1");
    assert_eq!(checkin.customer_token.expose(), scan.customer_token);
    till.ack(d.seq);

    let reference = "t1-pg-000001";
    let request = CreatePaymentRequest::push_to_customer(
        reference,
        Amount::nok(12_300),
        Customer::CustomerToken(checkin.customer_token.clone()),
    );
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
    assert_eq!(authorized.amount.value, 12_300);

    // Till 2 is connected nowhere: its customer is told at once.
    let scan = control.scan("qr-till-2", None).await.unwrap();
    assert_eq!(scan.status, Some(503), "{scan:?}");

    // The acks reached the shared database.
    wait_for(T, "acks recorded", || {
        let rows = &rows;
        async move {
            let n: i64 = rows
                .query_one(
                    "SELECT count(*) FROM events WHERE status = 'routed' AND acked_at_ms IS NULL",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            (n == 0).then_some(())
        }
    })
    .await;
}

/// One till's engine: persists each delivery with its seq as the cursor, ignores anything at
/// or below the cursor, acks after persisting. Reconnects through `base` from its cursor.
struct Engine {
    persisted: Arc<Mutex<BTreeMap<u64, String>>>,
    duplicates: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Engine {
    fn start(base: &url::Url, token: &str) -> Engine {
        let mut client = RelayClient::connect(client_config(base, token, 0, Transport::WebSocket));
        let persisted: Arc<Mutex<BTreeMap<u64, String>>> = Arc::default();
        let duplicates = Arc::new(Mutex::new(0usize));
        let (p, dups) = (persisted.clone(), duplicates.clone());
        let task = tokio::spawn(async move {
            let mut cursor = 0u64;
            while let Some(d) = client.next().await {
                let key = key_of(&d);
                let mut p = p.lock().unwrap();
                if d.seq <= cursor || p.values().any(|k| *k == key) {
                    *dups.lock().unwrap() += 1;
                    continue;
                }
                p.insert(d.seq, key);
                cursor = d.seq;
                client.ack(d.seq);
            }
        });
        Engine {
            persisted,
            duplicates,
            task,
        }
    }

    fn delivered(&self) -> BTreeSet<String> {
        self.persisted.lock().unwrap().values().cloned().collect()
    }
}

/// POST without panicking on a connection failure.
async fn try_post(http: &reqwest::Client, url: &url::Url, body: &[u8]) -> Option<u16> {
    let headers = signature_headers(url, SECRET, body);
    post_with(http, url.clone(), headers, body.to_vec())
        .header("content-type", "application/json")
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_instance_loses_nothing_and_tills_move_to_the_other() {
    const TOTAL: usize = 300;
    const SENDERS: usize = 6;
    let Some(pg) =
        PgCluster::start("kill_9_of_one_instance_loses_nothing_and_tills_move_to_the_other")
    else {
        return;
    };
    let db = pg.db();
    let tokens = provision(db, MSN, SECRET, &[("t1", "qr-1"), ("t2", "qr-2")]);
    let relay_a = Relay::start(db, "127.0.0.1:0", &[]).await;
    let relay_b = Relay::start(db, "127.0.0.1:0", &[]).await;
    // Tills and Vipps reach the instances through one balancer (round robin per connection).
    let lb = Balancer::start(vec![relay_a.addr.clone(), relay_b.addr.clone()]).await;
    let url = lb.url().join(&format!("/v1/webhooks/vipps/{MSN}")).unwrap();
    let engines = [
        Engine::start(&lb.url(), &tokens[0]),
        Engine::start(&lb.url(), &tokens[1]),
    ];

    let accepted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let statuses: Arc<Mutex<BTreeMap<u16, usize>>> = Arc::default();
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (url, accepted, statuses) = (url.clone(), accepted.clone(), statuses.clone());
        senders.push(tokio::spawn(async move {
            // A client (keep-alive connection) of its own per sender.
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut failed = Vec::new();
            for i in (s..TOTAL).step_by(SENDERS) {
                let reference = format!("t{}-{i:05}", 1 + i % 2);
                let body = payment_body(&reference, "AUTHORIZED", &format!("psp-{i}"));
                match try_post(&http, &url, body.as_bytes()).await {
                    Some(status) if (200..300).contains(&status) => {
                        accepted.lock().unwrap().insert(reference);
                    }
                    other => {
                        if let Some(status) = other {
                            *statuses.lock().unwrap().entry(status).or_default() += 1;
                        }
                        failed.push(reference);
                    }
                }
            }
            failed
        }));
    }
    wait_for(Duration::from_secs(60), "a quarter accepted", || {
        let n = accepted.lock().unwrap().len();
        async move { (n >= TOTAL / 4).then_some(()) }
    })
    .await;
    relay_a.kill9().await;
    let mut failed = Vec::new();
    for s in senders {
        failed.extend(s.await.unwrap());
    }
    // Vipps retries what was not answered 2xx; the balancer sends it to B now.
    let http = reqwest::Client::new();
    for reference in &failed {
        let i: usize = reference[3..].parse().unwrap();
        let body = payment_body(reference, "AUTHORIZED", &format!("psp-{i}"));
        let status = try_post(&http, &url, body.as_bytes()).await;
        assert_eq!(status, Some(200), "retry of {reference}");
        accepted.lock().unwrap().insert(reference.clone());
    }
    let accepted = accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), TOTAL);

    wait_for(
        Duration::from_secs(60),
        "every accepted webhook delivered",
        || {
            let n: usize = engines.iter().map(|e| e.delivered().len()).sum();
            async move { (n >= TOTAL).then_some(()) }
        },
    )
    .await;
    let mut delivered = BTreeSet::new();
    for (i, e) in engines.iter().enumerate() {
        let mine = e.delivered();
        assert!(
            mine.iter().all(|r| r.starts_with(&format!("t{}-", i + 1))),
            "a till sees only its own events"
        );
        assert_eq!(*e.duplicates.lock().unwrap(), 0, "none twice at engine {i}");
        delivered.extend(mine);
    }
    assert_eq!(delivered, accepted);
    let rows = pg.client().await;
    let stored: i64 = rows
        .query_one("SELECT count(*) FROM events WHERE status = 'routed'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, TOTAL as i64, "each event stored once");
    eprintln!(
        "failed during the kill and retried: {}; non-2xx answers: {:?}",
        failed.len(),
        statuses.lock().unwrap()
    );
    for e in engines {
        e.task.abort();
    }
    drop(relay_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_is_answered_503_and_the_relay_recovers_by_itself() {
    let Some(pg) =
        PgCluster::start("postgres_restart_is_answered_503_and_the_relay_recovers_by_itself")
    else {
        return;
    };
    let db = pg.db();
    let tokens = provision(db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(db, "127.0.0.1:0", &[]).await;
    let url = relay.webhook_url(MSN);
    let engine = Engine::start(&relay.base_url, &tokens[0]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut next = 0usize;
    let mut accepted = BTreeSet::new();
    let mut unanswered = Vec::new();
    let mut post_next = async |http: &reqwest::Client,
                               accepted: &mut BTreeSet<String>,
                               unanswered: &mut Vec<String>|
           -> Option<u16> {
        let reference = format!("t1-{next:05}");
        next += 1;
        let body = payment_body(&reference, "AUTHORIZED", &format!("psp-{reference}"));
        let status = try_post(http, &url, body.as_bytes()).await;
        match status {
            Some(200) => {
                accepted.insert(reference);
            }
            Some(503) => unanswered.push(reference),
            other => panic!("{reference}: only 200 or 503, got {other:?}"),
        }
        status
    };
    for _ in 0..50 {
        assert_eq!(
            post_next(&http, &mut accepted, &mut unanswered).await,
            Some(200)
        );
    }

    pg.stop();
    // While PostgreSQL is down: 503, never a 2xx for an event it could not store.
    let mut refused_while_down = 0;
    for _ in 0..20 {
        if post_next(&http, &mut accepted, &mut unanswered).await == Some(503) {
            refused_while_down += 1;
        }
    }
    assert_eq!(
        refused_while_down, 20,
        "every webhook during the outage: 503"
    );
    let health = http
        .get(relay.base_url.join("/healthz").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 503, "health says so too");

    pg.start_again();
    // It recovers without a restart: the first 2xx comes within the deadline.
    wait_for(T, "a 2xx after PostgreSQL is back", || {
        let http = &http;
        let url = &url;
        async move {
            let body = payment_body("t1-probe", "AUTHORIZED", "psp-probe");
            (try_post(http, url, body.as_bytes()).await == Some(200)).then_some(())
        }
    })
    .await;
    accepted.insert("t1-probe".to_string());
    for _ in 0..50 {
        assert_eq!(
            post_next(&http, &mut accepted, &mut unanswered).await,
            Some(200)
        );
    }
    // Vipps retries what got 503.
    for reference in &unanswered {
        let body = payment_body(reference, "AUTHORIZED", &format!("psp-{reference}"));
        assert_eq!(try_post(&http, &url, body.as_bytes()).await, Some(200));
        accepted.insert(reference.clone());
    }
    wait_for(Duration::from_secs(60), "everything delivered", || {
        let n = engine.delivered().len();
        let want = accepted.len();
        async move { (n >= want).then_some(()) }
    })
    .await;
    assert_eq!(engine.delivered(), accepted);
    assert_eq!(*engine.duplicates.lock().unwrap(), 0);
    engine.task.abort();
}

/// Two storages (two instances) filing events for one till at once, while a reader follows
/// the till's cursor: the reader sees every event (a lower id never commits after a higher
/// one was read) and each exactly once, in increasing order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_filing_on_two_instances_never_lets_a_cursor_skip() {
    use kasse::relay::classify::classify;
    use kasse::relay::store::{
        NewEvent, PgOptions, PgStorage, RelayAdmin, RelayDatabase, RelayStorage, token_hash,
    };
    const WRITERS: usize = 8;
    const EACH: usize = 50;
    let Some(pg) = PgCluster::start("concurrent_filing_on_two_instances_never_lets_a_cursor_skip")
    else {
        return;
    };
    let db = RelayDatabase::Postgres(pg.url.clone());
    let token = tokio::task::spawn_blocking(move || {
        let admin = RelayAdmin::open(&db).unwrap();
        admin.add_store(MSN, "Shop").unwrap();
        admin.add_till(MSN, "t1", "qr-1").unwrap().token
    })
    .await
    .unwrap();
    let a: Arc<dyn RelayStorage> = Arc::new(
        PgStorage::connect(&pg.url, PgOptions::default())
            .await
            .unwrap(),
    );
    let b: Arc<dyn RelayStorage> = Arc::new(
        PgStorage::connect(&pg.url, PgOptions::default())
            .await
            .unwrap(),
    );
    let till = a
        .till_by_token_hash(token_hash(&token))
        .await
        .unwrap()
        .unwrap()
        .key;
    let gate: kasse::relay::store::CheckInGate = Arc::new(|_| true);
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let storage = if w % 2 == 0 { a.clone() } else { b.clone() };
        let gate = gate.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let body = payment_body(&format!("t1-{w}-{i}"), "AUTHORIZED", "psp");
                let event = NewEvent {
                    msn: MSN.into(),
                    webhook_id: None,
                    received_at_ms: 1,
                    classified: classify(body.as_bytes(), 1, Duration::from_secs(900)),
                    body: body.into_bytes().into(),
                    hold: None,
                };
                storage.ingest(event, gate.clone()).await.unwrap();
            }
        }));
    }
    let mut cursor = 0u64;
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < WRITERS * EACH {
        assert!(
            std::time::Instant::now() < deadline,
            "reader saw {}",
            seen.len()
        );
        for ev in b.deliveries_after(till, cursor, 2, 1000).await.unwrap() {
            assert!(ev.seq > cursor);
            cursor = ev.seq;
            seen.push(ev.payload);
        }
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), WRITERS * EACH, "every event once");
    // Nothing is left behind the cursor.
    assert!(
        a.deliveries_after(till, cursor, 2, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let all = a.deliveries_after(till, 0, 2, 10_000).await.unwrap();
    assert_eq!(all.len(), WRITERS * EACH);
}

/// `sslmode=require`: the relay talks TLS to PostgreSQL and verifies the server against
/// `PGSSLROOTCERT`; without a root that vouches for the server it refuses to connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sslmode_require_the_relay_talks_tls_and_verifies_the_server() {
    let Some((pg, ca)) =
        PgCluster::start_tls("with_sslmode_require_the_relay_talks_tls_and_verifies_the_server")
    else {
        return;
    };
    let url = format!("{}?sslmode=require", pg.url);
    let db = std::path::Path::new(&url);
    // No root for this server's CA: refused, with a clear error.
    let err = cli_fails(db, &["store", "list"]);
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    let ca = ca.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .arg("--db")
            .arg(&url)
            .args(args)
            .env("PGSSLROOTCERT", ca)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["store", "add", "--msn", MSN, "--name", "Shop"]);
    run(&[
        "store",
        "secret",
        "--msn",
        MSN,
        "--webhook-id",
        "wh",
        "--secret",
        SECRET,
    ]);
    let token = run(&[
        "till",
        "add",
        "--msn",
        MSN,
        "--till",
        "t1",
        "--merchant-qr-id",
        "qr-1",
    ]);
    let relay = Relay::start_with_env(db, "127.0.0.1:0", &[], &[("PGSSLROOTCERT", ca)]).await;
    let http = reqwest::Client::new();
    let body = payment_body("t1-tls-0001", "AUTHORIZED", "psp-tls");
    let r = post_signed(&http, &relay.webhook_url(MSN), SECRET, body.as_bytes()).await;
    assert_eq!(r.status().as_u16(), 200);
    let (_, events) = poll(&http, &relay.base_url, token.trim(), 0, 0)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);

    // The server sees the relay's connections encrypted.
    let rows = pg.client().await;
    let tls: i64 = rows
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE s.ssl AND a.application_name = 'kasse-relay'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(tls >= 1, "TLS connections from the relay: {tls}");
    let plain: i64 = rows
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE NOT s.ssl AND a.application_name = 'kasse-relay'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(plain, 0, "no plain connection from the relay");
}

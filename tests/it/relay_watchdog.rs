//! Registration watchdog against the simulator: a registration Vipps deleted is noticed
//! (metrics, health, a loud log line); with `--reregister` the relay registers again, stores
//! the new secret, and a customer's check-in reaches the till again.

use crate::relay_support::*;
use kasse::relay::client::{ConnectionStatus, RelayClient, RelayEvent, Transport};
use kasse::sim::{self, ControlClient, SimConfig};
use kasse::vipps::{Client, Environment, VippsConfig};
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn credentials(dir: &Path, sim_url: &url::Url) -> std::path::PathBuf {
    let path = dir.join("vipps.toml");
    std::fs::write(
        &path,
        format!(
            "[[store]]\nmsn = \"{}\"\nvipps_base_url = \"{sim_url}\"\nclient_id = \"{}\"\n\
             client_secret = \"{}\"\nsubscription_key = \"{}\"\n",
            sim::TEST_MSN,
            sim::TEST_CLIENT_ID,
            sim::TEST_CLIENT_SECRET,
            sim::TEST_SUBSCRIPTION_KEY
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn state_metric(state: &str) -> String {
    format!(
        "kasse_relay_registration_ok{{msn=\"{}\",state=\"{state}\"}}",
        sim::TEST_MSN
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_registration_is_reported_and_registered_again() {
    let sim = sim::spawn(
        SimConfig::for_tests(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let (dir, db) = temp_db();
    let creds = credentials(dir.path(), &sim.base_url);
    let msn = sim::TEST_MSN;
    let vipps = Client::new(VippsConfig::new(
        Environment::Custom(sim.base_url.clone()),
        sim::TEST_CLIENT_ID,
        sim::TEST_CLIENT_SECRET,
        sim::TEST_SUBSCRIPTION_KEY,
        msn,
    ))
    .unwrap();
    let http = reqwest::Client::new();
    cli(&db, &["store", "add", "--msn", msn, "--name", "Sim shop"]);
    let watch = [
        "--vipps-credentials",
        creds.to_str().unwrap(),
        "--registration-check-interval-ms",
        "100",
    ];

    // Watching only.
    let (relay, logs) = Relay::start_logged(&db, "127.0.0.1:0", &watch).await;
    let register = |public: &url::Url| {
        cli(
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
                public.as_str(),
            ],
        )
        .trim()
        .to_string()
    };
    let first = register(&relay.base_url);
    wait_for(T, "registration reported ok", || {
        let (http, base) = (&http, &relay.base_url);
        async move { (metric(http, base, &state_metric("ok")).await == Some(1.0)).then_some(()) }
    })
    .await;

    // Vipps deletes it (two weeks of failures).
    vipps.delete_webhook(&first).await.unwrap();
    wait_for(T, "registration reported missing", || {
        let (http, base) = (&http, &relay.base_url);
        async move {
            (metric(http, base, &state_metric("missing")).await == Some(0.0)).then_some(())
        }
    })
    .await;
    let health: serde_json::Value = http
        .get(relay.base_url.join("/healthz").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["registrations"][msn], "missing", "{health}");
    assert!(
        vipps.list_webhooks().await.unwrap().is_empty(),
        "nothing re-registered"
    );
    relay.terminate().await;
    let lines = logs.all().await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("WEBHOOK REGISTRATION MISSING")),
        "{lines:#?}"
    );

    // With --reregister (a new instance on the same database, at its own URL).
    let mut args = watch.to_vec();
    args.push("--reregister");
    let relay = Relay::start(&db, "127.0.0.1:0", &args).await;
    wait_for(T, "registered again", || {
        let (http, base) = (&http, &relay.base_url);
        async move { (metric(http, base, &state_metric("ok")).await == Some(1.0)).then_some(()) }
    })
    .await;
    let hooks = vipps.list_webhooks().await.unwrap();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].url, relay.webhook_url(msn).as_str());
    assert_ne!(hooks[0].id, first);
    let stores = cli(&db, &["store", "list"]);
    assert!(stores.contains(&hooks[0].id), "new secret stored: {stores}");
    assert_eq!(
        metric(&http, &relay.base_url, "kasse_relay_reregistrations_total").await,
        Some(1.0)
    );

    // The new secret works: a scan reaches the till.
    vipps.qr_put("qr-till-1", "Kasse 1").await.unwrap();
    let token = add_till(&db, msn, "t1", "qr-till-1");
    let mut till = RelayClient::connect(client_config(&relay.base_url, &token, 0, Transport::Auto));
    wait_status(&till, T, "till connected", |s| {
        *s == ConnectionStatus::Connected
    })
    .await;
    let scan = ControlClient::new(sim.base_url.clone())
        .scan("qr-till-1", None)
        .await
        .unwrap();
    assert_eq!(scan.status, Some(200), "{scan:?}");
    let d = recv(&mut till, T).await;
    assert!(matches!(d.event, RelayEvent::CheckedIn(_)), "{d:?}");
}

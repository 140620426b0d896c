//! Delivery to tills through the real `kasse-relay` binary and the till-side
//! `RelayClient`: backlog, cursors and acks, both transports, dead links.

use crate::relay_support::*;
use kasse::relay::client::{ConnectionStatus, RelayClient, Transport};
use reqwest::StatusCode;
use std::time::Duration;

const MSN: &str = "123456";
const SECRET: &str = "relay-delivery-test-secret";
const T: Duration = Duration::from_secs(15);

async fn post_payments(relay: &Relay, refs: impl IntoIterator<Item = String>) {
    let http = reqwest::Client::new();
    let url = relay.webhook_url(MSN);
    for r in refs {
        let body = payment_body(&r, "AUTHORIZED", &format!("psp-{r}"));
        let resp = post_signed(&http, &url, SECRET, body.as_bytes()).await;
        assert_eq!(resp.status(), StatusCode::OK, "{r}");
    }
}

/// Wait until the relay lists till t1 as active with nothing unacknowledged.
async fn wait_t1_acknowledged(db: &std::path::Path, what: &str) {
    wait_for(T, what, || {
        let db = db.to_path_buf();
        async move {
            let list = cli(&db, &["till", "list", "--msn", MSN]);
            list.lines()
                .any(|l| l.starts_with("123456\tt1\t") && l.contains("\tactive\t0\t"))
                .then_some(())
        }
    })
    .await;
}

async fn backlog_in_order(transport: Transport) {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN, SECRET, &[("t1", "qr-1"), ("t2", "qr-2")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;

    // The till is offline while 40 events for it (and some for t2) arrive.
    let refs: Vec<String> = (0..40).map(|i| format!("t1-{i:04}")).collect();
    post_payments(&relay, refs.clone()).await;
    post_payments(&relay, (0..5).map(|i| format!("t2-{i:04}"))).await;

    let mut client = RelayClient::connect(client_config(&relay.base_url, &tokens[0], 0, transport));
    let mut got = Vec::new();
    let mut cursor = 0;
    for _ in 0..refs.len() {
        let d = recv(&mut client, T).await;
        assert!(d.seq > cursor, "sequence numbers increase");
        cursor = d.seq;
        got.push(key_of(&d));
        client.ack(d.seq);
    }
    assert_eq!(got, refs, "the whole backlog, in order, nothing of t2");
    assert_eq!(*client.status().borrow(), ConnectionStatus::Connected);
    // Nothing more for t1.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), client.next())
            .await
            .is_err()
    );
    // Acks reach the relay.
    wait_t1_acknowledged(&db, "all acknowledged").await;
    drop(client);

    // Offline again; 10 more; a new client resumes from the engine's cursor.
    let more: Vec<String> = (40..50).map(|i| format!("t1-{i:04}")).collect();
    post_payments(&relay, more.clone()).await;
    let mut client = RelayClient::connect(client_config(
        &relay.base_url,
        &tokens[0],
        cursor,
        transport,
    ));
    let mut got = Vec::new();
    for _ in 0..more.len() {
        let d = recv(&mut client, T).await;
        assert!(d.seq > cursor);
        got.push(key_of(&d));
        client.ack(d.seq);
    }
    assert_eq!(got, more);
}

#[tokio::test]
async fn an_offline_till_gets_its_backlog_in_order_over_websocket() {
    backlog_in_order(Transport::WebSocket).await;
}

#[tokio::test]
async fn an_offline_till_gets_its_backlog_in_order_over_long_poll() {
    backlog_in_order(Transport::LongPoll).await;
}

#[tokio::test]
async fn unacknowledged_events_come_again_after_a_reconnect() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    post_payments(&relay, (0..3).map(|i| format!("t1-{i:04}"))).await;

    let mut client = RelayClient::connect(client_config(
        &relay.base_url,
        &tokens[0],
        0,
        Transport::WebSocket,
    ));
    let first = recv(&mut client, T).await;
    let second = recv(&mut client, T).await;
    let third = recv(&mut client, T).await;
    // The engine persisted only the first one, then the till restarted.
    client.ack(first.seq);
    drop(client);
    let mut client = RelayClient::connect(client_config(
        &relay.base_url,
        &tokens[0],
        first.seq,
        Transport::WebSocket,
    ));
    let again = [recv(&mut client, T).await, recv(&mut client, T).await];
    assert_eq!(
        again.iter().map(|d| d.seq).collect::<Vec<_>>(),
        vec![second.seq, third.seq]
    );
    assert_eq!(key_of(&again[0]), "t1-0001");
}

#[tokio::test]
async fn a_silently_dead_link_is_noticed_and_the_till_reconnects() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let proxy = FreezingProxy::start(relay.addr.clone()).await;
    let http = reqwest::Client::new();

    let mut client = RelayClient::connect(client_config(
        &proxy.url(),
        &tokens[0],
        0,
        Transport::WebSocket,
    ));
    wait_status(&client, T, "connected", |s| {
        *s == ConnectionStatus::Connected
    })
    .await;
    post_payments(&relay, ["t1-0001".to_string()]).await;
    let d = recv(&mut client, T).await;
    client.ack(d.seq);

    // The link now swallows everything, in both directions, without closing.
    proxy.freeze();
    wait_status(&client, T, "reconnecting", |s| {
        matches!(s, ConnectionStatus::Reconnecting { .. })
    })
    .await;
    let status = client.status().borrow().clone();
    let ConnectionStatus::Reconnecting { last_error, .. } = status else {
        unreachable!()
    };
    assert!(last_error.contains("heartbeat"), "{last_error}");
    // The relay noticed too.
    wait_for(T, "relay drops the dead link", || {
        let (http, base) = (http.clone(), relay.base_url.clone());
        async move {
            (metric(&http, &base, "kasse_relay_dead_links_total").await >= Some(1.0)).then_some(())
        }
    })
    .await;
    // A fresh connection works and what arrived meanwhile is delivered.
    post_payments(&relay, ["t1-0002".to_string()]).await;
    let d = recv(&mut client, T).await;
    assert_eq!(key_of(&d), "t1-0002");
    assert_eq!(*client.status().borrow(), ConnectionStatus::Connected);
}

#[tokio::test]
async fn a_till_that_stops_reading_is_dropped_by_the_relay() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let http = reqwest::Client::new();

    let mut url = relay.base_url.join("/v1/till/stream?after=0").unwrap();
    url.set_scheme("ws").unwrap();
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", tokens[0]).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("\"hello\""));
    assert_eq!(
        metric(&http, &relay.base_url, "kasse_relay_connected_tills").await,
        Some(1.0)
    );
    // From here on the till reads nothing (so it never answers a ping).
    wait_for(T, "relay drops the silent till", || {
        let (http, base) = (http.clone(), relay.base_url.clone());
        async move {
            (metric(&http, &base, "kasse_relay_connected_tills").await == Some(0.0)).then_some(())
        }
    })
    .await;
    assert_eq!(
        metric(&http, &relay.base_url, "kasse_relay_dead_links_total").await,
        Some(1.0)
    );
    drop(ws);
}

#[tokio::test]
async fn a_bad_token_is_reported_and_retried() {
    let (_dir, db) = temp_db();
    provision(&db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    for transport in [Transport::WebSocket, Transport::LongPoll] {
        let client = RelayClient::connect(client_config(
            &relay.base_url,
            "kasse_till_wrong",
            0,
            transport,
        ));
        wait_status(&client, T, "rejected token", |s| {
            matches!(s, ConnectionStatus::Reconnecting { attempt, last_error } if *attempt >= 2 && last_error.contains("401"))
        })
        .await;
    }
}

#[tokio::test]
async fn an_https_relay_url_is_reached_over_tls() {
    use tokio::io::AsyncReadExt;
    // A listener standing in for a TLS reverse proxy: it records the first byte.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let first_byte = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        b[0]
    });
    let url = url::Url::parse(&format!("https://127.0.0.1:{port}")).unwrap();
    let client = RelayClient::connect(client_config(&url, "kasse_till_x", 0, Transport::WebSocket));
    let byte = tokio::time::timeout(T, first_byte).await.unwrap().unwrap();
    assert_eq!(byte, 0x16, "a TLS handshake record, not plain HTTP");
    wait_status(
        &client,
        T,
        "reconnecting",
        |s| matches!(s, ConnectionStatus::Reconnecting { attempt, .. } if *attempt >= 1),
    )
    .await;
}

#[tokio::test]
async fn revoking_a_connected_till_ends_its_link() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let client = RelayClient::connect(client_config(
        &relay.base_url,
        &tokens[0],
        0,
        Transport::WebSocket,
    ));
    wait_status(&client, T, "connected", |s| {
        *s == ConnectionStatus::Connected
    })
    .await;
    cli(&db, &["till", "revoke", "--msn", MSN, "--till", "t1"]);
    wait_status(&client, T, "token rejected", |s| {
        matches!(s, ConnectionStatus::Reconnecting { last_error, .. } if last_error.contains("401"))
    })
    .await;
}

/// An HTTP proxy that refuses WebSocket upgrades (403, like many corporate
/// proxies) and forwards everything else to the relay.
async fn upgrade_refusing_proxy(relay: url::Url) -> url::Url {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, StatusCode as S, Uri};
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (http, relay) = (http.clone(), relay.clone());
            async move {
                if headers.contains_key("upgrade") {
                    return (S::FORBIDDEN, Vec::new());
                }
                let url = relay
                    .join(uri.path_and_query().map_or("/", |p| p.as_str()))
                    .unwrap();
                let mut req = http.request(method, url).body(body.to_vec());
                for name in ["authorization", "content-type"] {
                    if let Some(v) = headers.get(name) {
                        req = req.header(name, v.to_str().unwrap());
                    }
                }
                match req.send().await {
                    Ok(r) => (
                        S::from_u16(r.status().as_u16()).unwrap(),
                        r.bytes().await.unwrap().to_vec(),
                    ),
                    Err(_) => (S::BAD_GATEWAY, Vec::new()),
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url::Url::parse(&format!("http://{addr}")).unwrap()
}

#[tokio::test]
async fn auto_falls_back_to_long_poll_when_websockets_are_blocked() {
    let (_dir, db) = temp_db();
    let tokens = provision(&db, MSN, SECRET, &[("t1", "qr-1")]);
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let proxy = upgrade_refusing_proxy(relay.base_url.clone()).await;
    let mut client = RelayClient::connect(client_config(&proxy, &tokens[0], 0, Transport::Auto));
    wait_status(&client, T, "connected", |s| {
        *s == ConnectionStatus::Connected
    })
    .await;
    post_payments(&relay, (0..3).map(|i| format!("t1-{i:04}"))).await;
    for i in 0..3 {
        let d = recv(&mut client, T).await;
        assert_eq!(key_of(&d), format!("t1-{i:04}"));
        client.ack(d.seq);
    }
    wait_t1_acknowledged(&db, "acks recorded through the proxy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_tills_get_interleaved_live_events_in_order_without_loss() {
    let (_dir, db) = temp_db();
    let tokens = provision(
        &db,
        MSN,
        SECRET,
        &[("t1", "qr-1"), ("t2", "qr-2"), ("t3", "qr-3")],
    );
    let relay = Relay::start(&db, "127.0.0.1:0", &[]).await;
    let mut clients = Vec::new();
    for token in &tokens[..2] {
        let c = RelayClient::connect(client_config(
            &relay.base_url,
            token,
            0,
            Transport::WebSocket,
        ));
        wait_status(&c, T, "connected", |s| *s == ConnectionStatus::Connected).await;
        clients.push(c);
    }
    // t3 stays offline; concurrent senders interleave the three tills.
    let http = reqwest::Client::new();
    let url = relay.webhook_url(MSN);
    let mut sends = Vec::new();
    for sender in 0..4 {
        let (http, url) = (http.clone(), url.clone());
        sends.push(tokio::spawn(async move {
            for i in (sender..300).step_by(4) {
                let reference = format!("t{}-{i:04}", i % 3 + 1);
                let body = payment_body(&reference, "AUTHORIZED", &format!("p{i}"));
                let r = post_signed(&http, &url, SECRET, body.as_bytes()).await;
                assert_eq!(r.status(), StatusCode::OK);
            }
        }));
    }
    for s in sends {
        s.await.unwrap();
    }
    for (n, client) in clients.iter_mut().enumerate() {
        let mut got = Vec::new();
        let mut last = 0;
        for _ in 0..100 {
            let d = recv(client, T).await;
            assert!(d.seq > last, "in order");
            last = d.seq;
            got.push(key_of(&d));
            client.ack(d.seq);
        }
        got.sort();
        let want: Vec<String> = (0..300)
            .filter(|i| i % 3 == n)
            .map(|i| format!("t{}-{i:04}", n + 1))
            .collect();
        assert_eq!(got, want, "till t{}", n + 1);
        assert!(
            tokio::time::timeout(Duration::from_millis(200), client.next())
                .await
                .is_err()
        );
    }
}

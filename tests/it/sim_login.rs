//! The simulator's Login API for merchant-initiated login (CIBA, BRIEF §10.11), over loopback:
//! discovery, client authentication, user-exists, backchannel validation and 429, the
//! per-login state machine with every token error, userinfo with consents, and the ping.

use std::time::Duration;

use crate::sim_support::*;
use base64::Engine as _;
use kasse::sim::{self, LOGIN_PING_EVENT, LoginClientAuth, SimConfig};
use serde_json::Value;

const USER: &str = "4798765432";
const TOKEN_PATH: &str = "access-management-1.0/access/oauth2/token";
const CIBA_PATH: &str = "vipps-login-ciba/api/backchannel/authentication";

/// Form bodies without reqwest's `form` feature.
trait WithForm {
    fn with_form(self, fields: &[(&str, &str)]) -> Self;
}

impl WithForm for reqwest::RequestBuilder {
    fn with_form(self, fields: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

fn basic() -> String {
    let pair = format!("{}:{}", sim::TEST_CLIENT_ID, sim::TEST_CLIENT_SECRET);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn form(sim: &Sim, path: &str, fields: &[(&str, &str)]) -> Answer {
    send(
        sim.http
            .post(sim.url(path))
            .header("Authorization", basic())
            .with_form(fields),
    )
    .await
}

async fn start_login(sim: &Sim, msisdn: &str, binding: &str) -> Answer {
    let hint = format!("urn:msisdn:{msisdn}");
    form(
        sim,
        CIBA_PATH,
        &[
            ("login_hint", &hint),
            ("scope", "openid name phoneNumber delegatedConsents"),
            ("binding_message", binding),
        ],
    )
    .await
}

async fn poll(sim: &Sim, id: &str) -> Answer {
    form(
        sim,
        TOKEN_PATH,
        &[
            ("grant_type", "urn:openid:params:grant-type:ciba"),
            ("auth_req_id", id),
        ],
    )
    .await
}

async fn userinfo(sim: &Sim, access_token: &str) -> Answer {
    send(
        sim.http
            .get(sim.url("vipps-userinfo-api/userinfo"))
            .bearer_auth(access_token),
    )
    .await
}

fn error(a: &Answer) -> (u16, String) {
    (a.status, a.body["error"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn discovery_names_absolute_simulator_urls_and_auth_is_checked() {
    let sim = start(SimConfig::for_tests()).await;
    let doc = send(
        sim.http
            .get(sim.url("access-management-1.0/access/.well-known/openid-configuration")),
    )
    .await;
    assert_eq!(doc.status, 200);
    let base = sim.handle.base_url.as_str().trim_end_matches('/');
    assert_eq!(
        doc.body["backchannel_authentication_endpoint"],
        format!("{base}/{CIBA_PATH}")
    );
    assert_eq!(doc.body["token_endpoint"], format!("{base}/{TOKEN_PATH}"));
    assert_eq!(
        doc.body["userinfo_endpoint"],
        format!("{base}/vipps-userinfo-api/userinfo")
    );

    // Wrong secret, no auth, and the post method while the unit uses basic: 401 invalid_client.
    let wrong = send(
        sim.http
            .post(sim.url(CIBA_PATH))
            .basic_auth(sim::TEST_CLIENT_ID, Some("nope"))
            .with_form(&[("login_hint", "urn:msisdn:4798765432"), ("scope", "openid")]),
    )
    .await;
    assert_eq!(error(&wrong), (401, "invalid_client".into()));
    let posted = send(sim.http.post(sim.url(CIBA_PATH)).with_form(&[
        ("login_hint", "urn:msisdn:4798765432"),
        ("scope", "openid"),
        ("client_id", sim::TEST_CLIENT_ID),
        ("client_secret", sim::TEST_CLIENT_SECRET),
    ]))
    .await;
    assert_eq!(error(&posted), (401, "invalid_client".into()));
    // Partner style: the access token plus the MSN.
    let partner = send(
        sim.http
            .post(sim.url("vipps-login-ciba/api/v1/user-exists"))
            .bearer_auth(&sim.token)
            .header("Merchant-Serial-Number", MSN)
            .with_form(&[("login_hint", "urn:msisdn:4798765432")]),
    )
    .await;
    assert_eq!(partner.status, 200, "{:?}", partner.body);
    assert_eq!(partner.body["exists"], true);
}

#[tokio::test]
async fn client_secret_post_is_honoured_when_the_unit_uses_it() {
    let mut config = SimConfig::for_tests();
    config.login.client_auth = LoginClientAuth::ClientSecretPost;
    let sim = start(config).await;
    let posted = send(sim.http.post(sim.url(CIBA_PATH)).with_form(&[
        ("login_hint", "urn:msisdn:4798765432"),
        ("scope", "openid"),
        ("client_id", sim::TEST_CLIENT_ID),
        ("client_secret", sim::TEST_CLIENT_SECRET),
    ]))
    .await;
    assert_eq!(posted.status, 200, "{:?}", posted.body);
    assert_eq!(
        error(&start_login(&sim, USER, "ABCDE").await),
        (401, "invalid_client".into())
    );
}

#[tokio::test]
async fn user_exists_and_backchannel_validation() {
    let mut config = SimConfig::for_tests();
    config.unknown_phone_numbers = vec!["4711111111".into()];
    config.login.old_app_numbers = vec!["4722222222".into()];
    let sim = start(config).await;
    let exists = |n: &'static str| {
        let hint = format!("urn:msisdn:{n}");
        let sim = &sim;
        async move {
            form(
                sim,
                "vipps-login-ciba/api/v1/user-exists",
                &[("login_hint", &hint)],
            )
            .await
            .body["exists"]
                .clone()
        }
    };
    assert_eq!(exists(USER).await, true);
    assert_eq!(exists("4711111111").await, false);

    let hint = format!("urn:msisdn:{USER}");
    let no_openid = form(&sim, CIBA_PATH, &[("login_hint", &hint), ("scope", "name")]).await;
    assert_eq!(error(&no_openid), (400, "invalid_scope".into()));
    let bad_binding = start_login(&sim, USER, "abc").await;
    assert_eq!(error(&bad_binding), (400, "invalid_binding_message".into()));
    let bad_expiry = form(
        &sim,
        CIBA_PATH,
        &[
            ("login_hint", &hint),
            ("scope", "openid"),
            ("requested_expiry", "30"),
        ],
    )
    .await;
    assert_eq!(error(&bad_expiry), (400, "invalid_request".into()));
    let plus = form(
        &sim,
        CIBA_PATH,
        &[
            ("login_hint", "urn:msisdn:+4798765432"),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(error(&plus), (400, "invalid_request".into()));
    let unknown = start_login(&sim, "4711111111", "ABCDE").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error_code"], "invalid_user");
    let old = start_login(&sim, "4722222222", "ABCDE").await;
    assert_eq!(old.body["error_code"], "old_app");

    // A valid start, then a second one for the same user while it is pending: 429.
    let first = start_login(&sim, USER, "4MZ-CQ3").await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["expires_in"], 600);
    assert_eq!(first.body["interval"], 5);
    let again = start_login(&sim, USER, "4MZ-CQ4").await;
    assert_eq!(again.status, 429);
    let retry: u64 = again.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    // The control API shows what the app shows.
    let logins = sim.handle.control().logins().await.unwrap();
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].binding_message.as_deref(), Some("4MZ-CQ3"));
    assert_eq!(logins[0].state, "PENDING");
    assert!(!logins[0].consent_text.is_empty());
}

#[tokio::test]
async fn a_login_is_pending_then_slowed_then_approved_and_exchanged_once() {
    let sim = start(SimConfig::for_tests()).await;
    let receiver = Receiver::start("/ping").await;
    let registered = sim.register(&receiver.url, &[LOGIN_PING_EVENT]).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let clock = sim.handle.clock().clone();

    let started = start_login(&sim, USER, "ABC-123").await;
    let id = started.body["auth_req_id"].as_str().unwrap().to_string();
    assert_eq!(
        error(&poll(&sim, &id).await),
        (400, "authorization_pending".into())
    );
    // Again at once: too fast. The login's interval grows by 5 s.
    assert_eq!(error(&poll(&sim, &id).await), (400, "slow_down".into()));
    clock.advance(Duration::from_secs(6));
    assert_eq!(
        error(&poll(&sim, &id).await),
        (400, "slow_down".into()),
        "6 s is not enough after a slow_down (interval 10 s)"
    );
    clock.advance(Duration::from_secs(15));
    assert_eq!(
        error(&poll(&sim, &id).await),
        (400, "authorization_pending".into())
    );

    let control = sim.handle.control();
    let approved = control
        .approve_login(&id, "Ola", Some(&["email"]))
        .await
        .unwrap();
    assert_eq!(approved.state, "APPROVED");
    let pings = receiver
        .wait_for("the login ping", 1, |v| v["auth_req_id"] == id.as_str())
        .await;
    assert_eq!(pings[0].as_object().unwrap().len(), 1, "only auth_req_id");

    // The poll the ping asks for comes at once, sooner than the interval after the last
    // poll: never a slow_down.
    let token = poll(&sim, &id).await;
    assert_eq!(token.status, 200, "{:?}", token.body);
    assert_eq!(token.body["token_type"], "Bearer");
    assert_eq!(token.body["expires_in"], 300);
    let id_token = token.body["id_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], sim::SIGNING_KID);
    assert!(!id_token.ends_with('.'), "signed");
    assert_eq!(claims["aud"], sim::TEST_CLIENT_ID);
    assert_eq!(claims["msn"], MSN);
    assert_eq!(claims["auth_req_id"], id.as_str());
    let sub = claims["sub"].as_str().unwrap().to_string();
    assert_eq!(sub, sim::sub_of(MSN, USER));

    clock.advance(Duration::from_secs(20));
    assert_eq!(
        error(&poll(&sim, &id).await),
        (400, "invalid_grant".into()),
        "a login is exchanged once"
    );
    assert_eq!(
        error(&poll(&sim, "no-such-id").await),
        (400, "invalid_grant".into())
    );

    let access = token.body["access_token"].as_str().unwrap();
    let info = userinfo(&sim, access).await;
    assert_eq!(info.status, 200, "{:?}", info.body);
    assert_eq!(info.body["sub"], sub.as_str());
    assert_eq!(info.body["given_name"], "Ola");
    assert_eq!(info.body["phone_number"], USER);
    let consents = &info.body["delegatedConsents"];
    assert!(consents["timeOfConsent"].as_str().unwrap().ends_with('Z'));
    let list = consents["consents"].as_array().unwrap();
    let accepted = |id: &str| list.iter().find(|c| c["id"] == id).unwrap()["accepted"].clone();
    assert_eq!(accepted("email"), true);
    assert_eq!(accepted("sms"), false);

    // A subscription key on userinfo is refused; an unknown token too.
    let keyed = send(
        sim.http
            .get(sim.url("vipps-userinfo-api/userinfo"))
            .bearer_auth(access)
            .header("Ocp-Apim-Subscription-Key", KEY),
    )
    .await;
    assert_eq!(keyed.status, 401);
    assert_eq!(userinfo(&sim, "ciba.unknown").await.status, 401);

    // A second login of the same user: same sub, consents not shown again.
    let second = start_login(&sim, USER, "XYZ-789").await;
    let id2 = second.body["auth_req_id"].as_str().unwrap().to_string();
    control.approve_login(&id2, "Ola", None).await.unwrap();
    let token2 = poll(&sim, &id2).await;
    assert_eq!(token2.status, 200, "{:?}", token2.body);
    let info2 = userinfo(&sim, token2.body["access_token"].as_str().unwrap()).await;
    assert_eq!(info2.body["sub"], sub.as_str());
    assert!(info2.body.get("delegatedConsents").is_none());

    // The access token lives 300 s.
    clock.advance(Duration::from_secs(301));
    assert_eq!(
        userinfo(&sim, token2.body["access_token"].as_str().unwrap())
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn denied_and_expired_logins_answer_their_errors() {
    let sim = start(SimConfig::for_tests()).await;
    let control = sim.handle.control();
    let clock = sim.handle.clock().clone();

    let denied = start_login(&sim, USER, "DENY-1").await;
    let id = denied.body["auth_req_id"].as_str().unwrap().to_string();
    assert_eq!(control.deny_login(&id).await.unwrap().state, "DENIED");
    assert_eq!(error(&poll(&sim, &id).await), (400, "access_denied".into()));
    // Denying twice is refused by the control API.
    assert!(control.deny_login(&id).await.is_err());

    let hint = format!("urn:msisdn:{USER}");
    let short = form(
        &sim,
        CIBA_PATH,
        &[
            ("login_hint", &hint),
            ("scope", "openid name"),
            ("requested_expiry", "60"),
        ],
    )
    .await;
    assert_eq!(short.body["expires_in"], 60);
    let id = short.body["auth_req_id"].as_str().unwrap().to_string();
    clock.advance(Duration::from_secs(61));
    assert_eq!(error(&poll(&sim, &id).await), (400, "expired_token".into()));
    assert!(control.approve_login(&id, "Kari", None).await.is_err());
    // An expired login no longer blocks a new one for that user.
    assert_eq!(start_login(&sim, USER, "AGAIN-1").await.status, 200);
    let logged = sim.handle.control().log().await.unwrap();
    assert!(
        logged.iter().any(|c| c.path == format!("/{TOKEN_PATH}")),
        "login calls are in the call log"
    );
}

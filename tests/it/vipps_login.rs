//! The Vipps client's Login API (merchant-initiated login) against the simulator over loopback:
//! every outcome arrives as its typed error.

use std::time::Duration;

use kasse::sim::{self, LoginClientAuth, SimConfig, SimHandle};
use kasse::vipps::{
    BindingMessage, Client, ENROL_SCOPE, Environment, LoginApi, LoginAuth, LoginError, PhoneNumber,
    StartLogin, VippsConfig, VippsError,
};

const USER: &str = "4798765432";

async fn start_sim(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sim::spawn(config, listener)
}

fn api(sim: &SimHandle, auth: LoginAuth, secret: &str) -> LoginApi {
    let config = VippsConfig::new(
        Environment::Custom(sim.base_url.clone()),
        sim::TEST_CLIENT_ID,
        secret,
        sim::TEST_SUBSCRIPTION_KEY,
        sim::TEST_MSN,
    );
    LoginApi::new(Client::new(config).unwrap(), auth)
}

fn login(msisdn: &str, code: &str) -> StartLogin {
    StartLogin {
        msisdn: PhoneNumber::parse(msisdn).unwrap(),
        scope: ENROL_SCOPE.into(),
        binding_message: Some(BindingMessage::parse(code).unwrap()),
        requested_expiry: None,
    }
}

#[tokio::test]
async fn an_approved_login_yields_tokens_once_and_userinfo_with_consents() {
    let sim = start_sim(SimConfig::for_tests()).await;
    let api = api(&sim, LoginAuth::ClientSecretBasic, sim::TEST_CLIENT_SECRET);
    let doc = api.discovery().await.unwrap();
    assert!(
        doc.token_endpoint
            .as_str()
            .starts_with(sim.base_url.as_str())
    );
    assert!(
        api.user_exists(&PhoneNumber::parse(USER).unwrap())
            .await
            .unwrap()
    );

    let started = api.start(&login(USER, "KAS-123")).await.unwrap();
    assert_eq!(started.expires_in, 600);
    assert_eq!(started.interval, 5);
    assert!(!format!("{started:?}").contains(&started.auth_req_id));
    assert_eq!(
        api.token(&started.auth_req_id).await.unwrap_err(),
        LoginError::AuthorizationPending
    );
    assert_eq!(
        api.token(&started.auth_req_id).await.unwrap_err(),
        LoginError::SlowDown
    );
    match api.start(&login(USER, "KAS-124")).await.unwrap_err() {
        LoginError::TooManyLogins {
            retry_after: Some(wait),
        } => assert!((590..=600).contains(&wait.as_secs()), "{wait:?}"),
        other => panic!("expected TooManyLogins, got {other:?}"),
    }

    sim.control()
        .approve_login(&started.auth_req_id, "Kari", Some(&["sms"]))
        .await
        .unwrap();
    sim.clock().advance(Duration::from_secs(30));
    let tokens = api.token(&started.auth_req_id).await.unwrap();
    assert_eq!(tokens.expires_in, Some(300));
    let info = api.userinfo(&tokens).await.unwrap();
    assert_eq!(info.sub, sim::sub_of(sim::TEST_MSN, USER));
    assert_eq!(info.given_name.as_deref(), Some("Kari"));
    assert_eq!(info.phone_number.as_deref(), Some(USER));
    let consents = info.delegated_consents.unwrap();
    let sms = consents.consents.iter().find(|c| c.id == "sms").unwrap();
    let email = consents.consents.iter().find(|c| c.id == "email").unwrap();
    assert!(sms.accepted && !email.accepted);

    sim.clock().advance(Duration::from_secs(30));
    assert_eq!(
        api.token(&started.auth_req_id).await.unwrap_err(),
        LoginError::InvalidGrant
    );
    sim.clock().advance(Duration::from_secs(301));
    assert_eq!(
        api.userinfo(&tokens).await.unwrap_err(),
        LoginError::Unauthorized
    );
}

#[tokio::test]
async fn declined_expired_unknown_and_old_app_are_told_apart() {
    let mut config = SimConfig::for_tests();
    config.unknown_phone_numbers = vec!["4711111111".into()];
    config.login.old_app_numbers = vec!["4722222222".into()];
    let sim = start_sim(config).await;
    let api = api(&sim, LoginAuth::ClientSecretBasic, sim::TEST_CLIENT_SECRET);

    assert!(
        !api.user_exists(&PhoneNumber::parse("4711111111").unwrap())
            .await
            .unwrap()
    );
    assert_eq!(
        api.start(&login("4711111111", "ABCDE")).await.unwrap_err(),
        LoginError::InvalidUser
    );
    assert_eq!(
        api.start(&login("4722222222", "ABCDE")).await.unwrap_err(),
        LoginError::OldApp
    );

    let denied = api.start(&login(USER, "DENY-01")).await.unwrap();
    sim.control().deny_login(&denied.auth_req_id).await.unwrap();
    assert_eq!(
        api.token(&denied.auth_req_id).await.unwrap_err(),
        LoginError::AccessDenied
    );

    let mut short = login(USER, "EXP-001");
    short.requested_expiry = Some(Duration::from_secs(60));
    let expiring = api.start(&short).await.unwrap();
    assert_eq!(expiring.expires_in, 60);
    sim.clock().advance(Duration::from_secs(61));
    assert_eq!(
        api.token(&expiring.auth_req_id).await.unwrap_err(),
        LoginError::ExpiredToken
    );

    // Bad input never leaves the till.
    let mut no_openid = login(USER, "ABCDE");
    no_openid.scope = "name".into();
    assert!(matches!(
        api.start(&no_openid).await.unwrap_err(),
        LoginError::Vipps(VippsError::InvalidInput(_))
    ));
    let mut too_long = login(USER, "ABCDE");
    too_long.requested_expiry = Some(Duration::from_secs(1000));
    assert!(matches!(
        api.start(&too_long).await.unwrap_err(),
        LoginError::Vipps(VippsError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn client_authentication_follows_the_sales_unit_and_5xx_is_retryable() {
    let mut config = SimConfig::for_tests();
    config.login.client_auth = LoginClientAuth::ClientSecretPost;
    let sim = start_sim(config).await;
    let number = PhoneNumber::parse(USER).unwrap();
    let post = api(&sim, LoginAuth::ClientSecretPost, sim::TEST_CLIENT_SECRET);
    assert!(post.user_exists(&number).await.unwrap());
    let basic = api(&sim, LoginAuth::ClientSecretBasic, sim::TEST_CLIENT_SECRET);
    assert_eq!(
        basic.user_exists(&number).await.unwrap_err(),
        LoginError::InvalidClient
    );
    let wrong = api(&sim, LoginAuth::ClientSecretPost, "wrong-secret");
    assert_eq!(
        wrong.user_exists(&number).await.unwrap_err(),
        LoginError::InvalidClient
    );

    sim.control()
        .set_faults(&serde_json::from_value(serde_json::json!({"failNext": {"login": 1}})).unwrap())
        .await
        .unwrap();
    let failed = post.user_exists(&number).await.unwrap_err();
    assert!(failed.is_retryable(), "{failed:?}");
    assert!(matches!(
        failed,
        LoginError::Vipps(VippsError::Api { status: 500, .. })
    ));
    assert!(post.user_exists(&number).await.unwrap());
}

/// The simulator's id_token is RS256-signed with the key it serves at `jwks_uri`; the client
/// validates it (issuer, audience, expiry) and checks its `sub` against userinfo's.
#[tokio::test]
async fn login_id_token_validates_against_the_jwks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = kasse::sim::spawn(kasse::sim::SimConfig::for_tests(), listener);
    let config = kasse::vipps::VippsConfig::new(
        kasse::vipps::Environment::Custom(sim.base_url.clone()),
        kasse::sim::TEST_CLIENT_ID,
        kasse::sim::TEST_CLIENT_SECRET,
        kasse::sim::TEST_SUBSCRIPTION_KEY,
        kasse::sim::TEST_MSN,
    );
    let api = kasse::vipps::LoginApi::new(
        kasse::vipps::Client::new(config).unwrap(),
        kasse::vipps::LoginAuth::ClientSecretBasic,
    );
    let started = api
        .start(&kasse::vipps::StartLogin {
            msisdn: kasse::vipps::PhoneNumber::parse("4798765432").unwrap(),
            scope: kasse::vipps::ENROL_SCOPE.to_string(),
            binding_message: None,
            requested_expiry: None,
        })
        .await
        .unwrap();
    sim.control()
        .approve_login(&started.auth_req_id, "Kari", None)
        .await
        .unwrap();
    let tokens = api.token(&started.auth_req_id).await.unwrap();
    let info = api.userinfo(&tokens).await.unwrap();
    let claims = api.validate_id_token(&tokens, &info.sub).await.unwrap();
    assert_eq!(claims.sub, info.sub);
    assert_eq!(claims.msn.as_deref(), Some(kasse::sim::TEST_MSN));
    // Another user's sub: refused, typed.
    assert_eq!(
        api.validate_id_token(&tokens, "someone-else").await,
        Err(kasse::vipps::LoginError::IdToken(
            kasse::vipps::IdTokenError::Subject
        ))
    );
}

//! Access tokens and the checks every Vipps call passes, over loopback.

use std::time::Duration;

use crate::sim_support::*;
use kasse::sim::{self, SimConfig};
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn token_endpoint_answers_all_strings_like_vipps() {
    let sim = start(SimConfig::for_tests()).await;
    let answer = send(
        sim.http
            .post(sim.url("/accesstoken/get"))
            .header("client_id", sim::TEST_CLIENT_ID)
            .header("client_secret", sim::TEST_CLIENT_SECRET)
            .header("Ocp-Apim-Subscription-Key", KEY),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(answer.content_type().starts_with("application/json"));
    let body = answer.body.as_object().unwrap();
    for field in [
        "token_type",
        "expires_in",
        "ext_expires_in",
        "expires_on",
        "not_before",
        "resource",
        "access_token",
    ] {
        assert!(body[field].is_string(), "{field} must be a JSON string");
    }
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "3600");
    let on: u64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let before: u64 = body["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(on - before, 3600);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() > 1000, "a JWT of more than 1000 characters");
    assert_eq!(token.split('.').count(), 3);
}

#[tokio::test]
async fn token_endpoint_checks_the_three_credentials() {
    let sim = start(SimConfig::for_tests()).await;
    let ask = |id: Option<&str>, secret: Option<&str>, key: Option<&str>| {
        let headers = [
            ("client_id", id),
            ("client_secret", secret),
            ("Ocp-Apim-Subscription-Key", key),
        ];
        send(some_headers(
            sim.http.post(sim.url("/accesstoken/get")),
            &headers,
        ))
    };
    let id = Some(sim::TEST_CLIENT_ID);
    let secret = Some(sim::TEST_CLIENT_SECRET);
    assert_eq!(ask(id, secret, None).await.status, 401);
    assert_eq!(ask(id, secret, Some("wrong")).await.status, 401);
    assert_eq!(ask(id, Some("wrong"), Some(KEY)).await.status, 401);
    assert_eq!(ask(None, secret, Some(KEY)).await.status, 401);
    assert_eq!(ask(Some("other"), secret, Some(KEY)).await.status, 401);
    assert_eq!(ask(id, secret, Some(KEY)).await.status, 200);
    // A token asked for another MSN is refused.
    let other_msn = send(
        sim.http
            .post(sim.url("/accesstoken/get"))
            .header("client_id", sim::TEST_CLIENT_ID)
            .header("client_secret", sim::TEST_CLIENT_SECRET)
            .header("Ocp-Apim-Subscription-Key", KEY)
            .header("Merchant-Serial-Number", "999999"),
    )
    .await;
    assert_eq!(other_msn.status, 401);
}

#[tokio::test]
async fn calls_need_subscription_key_bearer_token_and_msn() {
    let sim = start(SimConfig::for_tests()).await;
    let path = "/qr/v1/merchant-callback";
    let bare = |auth: Option<String>, key: Option<&str>, msn: Option<&str>| {
        let headers = [
            ("Authorization", auth.as_deref()),
            ("Ocp-Apim-Subscription-Key", key),
            ("Merchant-Serial-Number", msn),
        ];
        send(some_headers(sim.http.get(sim.url(path)), &headers))
    };
    let bearer = Some(format!("Bearer {}", sim.token));

    let no_key = bare(bearer.clone(), None, Some(MSN)).await;
    assert_eq!(no_key.status, 401);
    assert!(
        no_key.body["message"]
            .as_str()
            .unwrap()
            .contains("subscription key")
    );
    assert_eq!(
        bare(bearer.clone(), Some("wrong"), Some(MSN)).await.status,
        401
    );
    assert_eq!(bare(None, Some(KEY), Some(MSN)).await.status, 401);
    // The word Bearer is required and case-sensitive.
    assert_eq!(
        bare(Some(sim.token.clone()), Some(KEY), Some(MSN))
            .await
            .status,
        401
    );
    assert_eq!(
        bare(Some(format!("bearer {}", sim.token)), Some(KEY), Some(MSN))
            .await
            .status,
        401
    );
    assert_eq!(
        bare(Some("Bearer forged.jwt.token".into()), Some(KEY), Some(MSN))
            .await
            .status,
        401
    );
    // MSN: required on QR and ePayment; another sales unit's MSN is forbidden.
    assert_eq!(bare(bearer.clone(), Some(KEY), None).await.status, 400);
    assert_eq!(
        bare(bearer.clone(), Some(KEY), Some("12ab")).await.status,
        400
    );
    assert_eq!(
        bare(bearer.clone(), Some(KEY), Some("654321")).await.status,
        403
    );
    assert_eq!(bare(bearer.clone(), Some(KEY), Some(MSN)).await.status, 200);

    let epayment = send(
        sim.http
            .get(sim.url("/epayment/v1/payments/abcdefgh123"))
            .header("Authorization", format!("Bearer {}", sim.token))
            .header("Ocp-Apim-Subscription-Key", KEY)
            .header("Merchant-Serial-Number", "654321"),
    )
    .await;
    assert_eq!(epayment.status, 403);
    assert_eq!(epayment.content_type(), "application/problem+json");
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let config = SimConfig::for_tests();
    let clock = config.clock.clone();
    let sim = start(config).await;
    assert_eq!(sim.get("/qr/v1/merchant-callback").await.status, 200);
    clock.advance(Duration::from_secs(3601));
    let expired = sim.get("/qr/v1/merchant-callback").await;
    assert_eq!(expired.status, 401);
    // A new token works again; the old one stays dead.
    let fresh = fetch_token(&sim.http, &sim.handle).await;
    let again = send(
        sim.http
            .get(sim.url("/qr/v1/merchant-callback"))
            .header("Authorization", format!("Bearer {fresh}"))
            .header("Ocp-Apim-Subscription-Key", KEY)
            .header("Merchant-Serial-Number", MSN),
    )
    .await;
    assert_eq!(again.status, 200);
}

#[tokio::test]
async fn vipps_system_headers_are_limited_to_30_characters() {
    let sim = start(SimConfig::for_tests()).await;
    let long = "x".repeat(31);
    let answer = send(
        sim.request(Method::GET, "/epayment/v1/payments/abcdefgh123")
            .header("Vipps-System-Plugin-Name", &long),
    )
    .await;
    assert_eq!(answer.status, 400);
    let details = answer.body["extraDetails"].as_array().unwrap();
    assert!(
        details
            .iter()
            .any(|d| d["name"] == "Vipps-System-Plugin-Name")
    );
    for field in ["type", "title", "status", "traceId", "instance"] {
        assert!(!answer.body[field].is_null(), "problem+json has {field}");
    }
    let exactly_30 = send(
        sim.request(Method::GET, "/epayment/v1/payments/abcdefgh123")
            .header("Vipps-System-Plugin-Name", "y".repeat(30)),
    )
    .await;
    assert_eq!(exactly_30.status, 404, "{:?}", exactly_30.body);
    assert_eq!(exactly_30.code().as_deref(), Some("5090"));
    let _: Value = exactly_30.body;
}

//! Test controls: fault injection (in-process and over HTTP), key rotation checked with
//! l42-core's verifier, call counters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use l42_core::{TokenUse, Verifier, VerifyError};
use l42_dev::idp::{FaultEndpoint, FaultKind, IdpConfig, RunningIdp};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn refresh_once(idp: &RunningIdp, r: &str) -> (StatusCode, Value) {
    refresh(idp.base_url(), Auth::Public("rot-off"), r).await
}

#[tokio::test]
async fn status500_and_invalid_grant_faults_honour_the_count() {
    let idp = start().await;
    let r = idp.mint("admin", "rot-off").unwrap().refresh_token.unwrap();
    assert_eq!(refresh_once(&idp, &r).await.0, StatusCode::OK);

    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::Status500, 2);
    assert_eq!(idp.faults().remaining(FaultEndpoint::Token), 2);
    assert_error(&refresh_once(&idp, &r).await, 500, "server_error");
    assert_error(&refresh_once(&idp, &r).await, 500, "server_error");
    assert_eq!(refresh_once(&idp, &r).await.0, StatusCode::OK);

    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::InvalidGrant, 1);
    assert_error(&refresh_once(&idp, &r).await, 400, "invalid_grant");
    assert_eq!(
        refresh_once(&idp, &r).await.0,
        StatusCode::OK,
        "the token itself was never touched"
    );

    // Other endpoints are not affected by a token fault, and have their own.
    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::Status500, 5);
    let jwks = http().get(idp.jwks_url()).send().await.unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
    idp.faults().clear();
    assert_eq!(refresh_once(&idp, &r).await.0, StatusCode::OK);

    idp.faults()
        .inject(FaultEndpoint::Jwks, FaultKind::Status500, 1);
    assert_eq!(
        http().get(idp.jwks_url()).send().await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        http().get(idp.jwks_url()).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn timeout_fault_hangs_then_fails_and_the_count_is_honoured() {
    // A long configured delay: the client gives up first.
    let idp = start_with(IdpConfig {
        fault_delay: Duration::from_secs(120),
        ..test_config()
    })
    .await;
    let r = idp.mint("admin", "rot-off").unwrap().refresh_token.unwrap();
    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::Timeout, 1);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = impatient
        .post(format!("{}/oauth2/token", idp.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r),
            ("client_id", "rot-off"),
        ]))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(refresh_once(&idp, &r).await.0, StatusCode::OK);

    // Over HTTP, with a short delay: the hang ends in a 500, once.
    let resp = http()
        .post(format!("{}/_dev/faults", idp.base_url()))
        .body(
            json!({"endpoint": "token", "kind": "timeout", "count": 1, "delay_ms": 50}).to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["faults"][0]["kind"],
        "timeout"
    );
    assert_error(&refresh_once(&idp, &r).await, 500, "server_error");
    assert_eq!(refresh_once(&idp, &r).await.0, StatusCode::OK);
}

#[tokio::test]
async fn faults_over_http() {
    let idp = start().await;
    let base = idp.base_url();
    let r = idp.mint("admin", "rot-off").unwrap().refresh_token.unwrap();
    let post = |body: Value| {
        let url = format!("{base}/_dev/faults");
        async move {
            http()
                .post(url)
                .body(body.to_string())
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        post(json!({"endpoint": "token", "kind": "status500", "count": 3}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(idp.faults().remaining(FaultEndpoint::Token), 3);
    assert_error(&refresh_once(&idp, &r).await, 500, "server_error");
    let listed: Value = http()
        .get(format!("{base}/_dev/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["faults"][0]["count"], 2);
    assert_eq!(
        http()
            .delete(format!("{base}/_dev/faults"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(refresh_once(&idp, &r).await.0, StatusCode::OK);

    assert_eq!(
        post(json!({"endpoint": "token", "kind": "invalid_grant", "count": 1}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_error(&refresh_once(&idp, &r).await, 400, "invalid_grant");
    assert_eq!(refresh_once(&idp, &r).await.0, StatusCode::OK);

    for (body, why) in [
        (
            json!({"endpoint": "token", "kind": "explode", "count": 1}),
            "unknown kind",
        ),
        (
            json!({"endpoint": "nowhere", "kind": "timeout", "count": 1}),
            "unknown endpoint",
        ),
        (json!({"endpoint": "token", "kind": "timeout"}), "no count"),
        (
            json!({"endpoint": "token", "kind": "timeout", "count": -1}),
            "negative",
        ),
        (
            json!({"endpoint": "token", "kind": "timeout", "count": 1, "extra": true}),
            "unknown field",
        ),
    ] {
        let resp = post(body).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "invalid_request",
            "{why}"
        );
    }
    assert!(idp.faults().pending().is_empty());
}

fn fresh_verifier(idp: &RunningIdp) -> Verifier {
    let config = idp
        .verifier_builder(PUBLIC)
        .token_use(TokenUse::Any)
        .claims_cache_size(0)
        .refetch_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    Verifier::new(config).unwrap()
}

#[tokio::test]
async fn key_rotation_in_process() {
    let idp = start().await;
    let old_kid = idp.current_kid();
    let old = idp.mint("admin", PUBLIC).unwrap();
    let v = fresh_verifier(&idp);
    assert!(v.verify(&old.access_token).await.is_ok());

    let new_kid = idp.rotate_keys().unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(idp.kids(), [old_kid.clone(), new_kid.clone()]);
    let new = idp.mint("admin", PUBLIC).unwrap();
    assert_eq!(header(&new.access_token)["kid"], new_kid);
    assert_eq!(header(new.id_token.as_deref().unwrap())["kid"], new_kid);
    // Both verify: the old key is still published, the new one is fetched on sight.
    assert!(v.verify(&old.access_token).await.is_ok());
    assert!(v.verify(&new.access_token).await.is_ok());
    assert!(
        fresh_verifier(&idp)
            .verify(&old.id_token.clone().unwrap())
            .await
            .is_ok()
    );

    assert_eq!(idp.retire_old_key().unwrap(), old_kid);
    assert_eq!(idp.kids(), std::slice::from_ref(&new_kid));
    let jwks: Value = http()
        .get(idp.jwks_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], new_kid);
    let v2 = fresh_verifier(&idp);
    assert_eq!(
        v2.verify(&old.access_token).await.unwrap_err(),
        VerifyError::UnknownKey
    );
    assert!(v2.verify(&new.access_token).await.is_ok());
    // userInfo no longer accepts the retired key's tokens either.
    let resp = http()
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth(&old.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    assert!(matches!(
        idp.retire_old_key(),
        Err(l42_dev::DevError::LastKey)
    ));
}

#[tokio::test]
async fn key_rotation_over_http() {
    let idp = start().await;
    let base = idp.base_url();
    let old = idp.mint("editor", PUBLIC).unwrap();
    let resp = http()
        .post(format!("{base}/_dev/keys/retire"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    let rotated: Value = http()
        .post(format!("{base}/_dev/keys/rotate"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    assert_eq!(rotated["current"], new_kid);
    assert_eq!(rotated["kids"].as_array().unwrap().len(), 2);
    let jwks: Value = http()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);

    // Code flow after rotation: the new kid.
    let body = full_sign_in(
        base,
        Auth::Public(PUBLIC),
        PUBLIC,
        "editor",
        "editor-password",
    )
    .await;
    assert_eq!(
        header(body["access_token"].as_str().unwrap())["kid"],
        new_kid
    );
    assert!(fresh_verifier(&idp).verify(&old.access_token).await.is_ok());

    let retired: Value = http()
        .post(format!("{base}/_dev/keys/retire"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retired["retired"], header(&old.access_token)["kid"]);
    let keys: Value = http()
        .get(format!("{base}/_dev/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["kids"], json!([new_kid]));
    assert_eq!(
        fresh_verifier(&idp)
            .verify(&old.access_token)
            .await
            .unwrap_err(),
        VerifyError::UnknownKey
    );
    assert!(
        fresh_verifier(&idp)
            .verify(body["id_token"].as_str().unwrap())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn stats_count_calls_per_endpoint_and_grant() {
    let idp = start().await;
    let base = idp.base_url();
    let zero = idp.stats();
    assert!(zero.endpoints.values().all(|&n| n == 0));
    assert_eq!(zero.endpoints.len(), l42_dev::idp::ENDPOINTS.len());

    let body = full_sign_in(
        base,
        Auth::Public(PUBLIC),
        PUBLIC,
        "admin",
        "admin-password",
    )
    .await;
    let r = body["refresh_token"].as_str().unwrap();
    refresh(base, Auth::Public(PUBLIC), r).await;
    refresh(base, Auth::Public(PUBLIC), "bogus").await;
    post_form(
        base,
        "/oauth2/token",
        Auth::Public(PUBLIC),
        &[("grant_type", "password")],
    )
    .await;
    post_form(
        base,
        "/oauth2/revoke",
        Auth::Public(PUBLIC),
        &[("token", "x")],
    )
    .await;
    http()
        .get(format!("{base}/oauth2/userInfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    http()
        .get(format!(
            "{base}/logout?client_id={PUBLIC}&logout_uri={LOGOUT}"
        ))
        .send()
        .await
        .unwrap();
    http().get(idp.jwks_url()).send().await.unwrap();
    http()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    http()
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();

    let s = idp.stats();
    assert_eq!(s.endpoint("authorize"), 1);
    assert_eq!(s.endpoint("login"), 1);
    assert_eq!(s.endpoint("token"), 4);
    assert_eq!(s.grant("authorization_code"), 1);
    assert_eq!(s.grant("refresh_token"), 2);
    assert_eq!(s.grant("other"), 1);
    assert_eq!(s.endpoint("revoke"), 1);
    assert_eq!(s.endpoint("userinfo"), 1);
    assert_eq!(s.endpoint("logout"), 1);
    assert_eq!(s.endpoint("jwks"), 2);
    assert_eq!(s.endpoint("openid_configuration"), 1);

    // The same numbers over HTTP (the /_dev calls themselves are not counted).
    let over_http: l42_dev::idp::Stats = http()
        .get(format!("{base}/_dev/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, s);

    // Faulted calls are counted too.
    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::Status500, 1);
    refresh(base, Auth::Public(PUBLIC), "x").await;
    assert_eq!(idp.stats().endpoint("token"), 5);

    let reset: l42_dev::idp::Stats = http()
        .post(format!("{base}/_dev/stats/reset"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset, zero);
    assert_eq!(idp.stats(), zero);
    refresh(base, Auth::Public(PUBLIC), "x").await;
    assert_eq!(idp.stats().grant("refresh_token"), 1);
    idp.reset_stats();
    assert_eq!(idp.stats(), zero);
}

#[tokio::test]
async fn clock_over_http_expires_codes() {
    let idp = start().await;
    let base = idp.base_url();
    let (code, verifier, _) = code_for(base, PUBLIC, CALLBACK, "admin", "admin-password").await;
    let resp = http()
        .post(format!("{base}/_dev/clock/advance"))
        .body(r#"{"seconds": 301}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["offset_seconds"], 301);
    assert_eq!(idp.clock().offset_secs(), 301);
    assert_error(
        &exchange(base, Auth::Public(PUBLIC), &code, CALLBACK, &verifier).await,
        400,
        "invalid_grant",
    );
    let v: Value = http()
        .post(format!("{base}/_dev/clock/reset"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["offset_seconds"], 0);
    let resp = http()
        .post(format!("{base}/_dev/clock/advance"))
        .body("{\"seconds\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn shutdown_ends_a_hanging_fault_and_frees_the_port() {
    let idp = start_with(IdpConfig {
        fault_delay: Duration::from_secs(600),
        ..test_config()
    })
    .await;
    let addr = idp.addr();
    idp.faults()
        .inject(FaultEndpoint::Jwks, FaultKind::Timeout, 1);
    let url = idp.jwks_url();
    let hanging = tokio::spawn(async move { http().get(url).send().await.map(|r| r.status()) });
    // Let the request arrive (no timing is asserted: either way it must end).
    tokio::time::sleep(Duration::from_millis(200)).await;
    idp.shutdown().await;
    let outcome = hanging.await.unwrap();
    if let Ok(status) = outcome {
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    // The port is free again.
    let again = tokio::net::TcpListener::bind(addr).await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let idp = start().await;
    let url = idp.jwks_url();
    assert_eq!(
        http().get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    drop(idp);
    // Stopping is asynchronous: poll (bounded) until connections are refused.
    let mut stopped = false;
    for _ in 0..300 {
        if http().get(&url).send().await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        stopped,
        "the server still answers after its handle was dropped"
    );
}

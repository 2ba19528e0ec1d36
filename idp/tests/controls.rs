//! Test controls: fault injection (in-process and over HTTP), key rotation checked with
//! l42-core's verifier, call counters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use l42_core::{TokenUse, Verifier, VerifyError};
use l42_idp::{FaultEndpoint, FaultKind, IdpConfig, RunningIdp};
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
    let impatient = l42_core::http::client_builder()
        .unwrap()
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
        .header("content-type", "application/json")
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
                .header("content-type", "application/json")
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
            .header("x-l42-dev", "1")
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
        Err(l42_idp::IdpError::LastKey)
    ));
}

#[tokio::test]
async fn key_rotation_over_http() {
    let idp = start().await;
    let base = idp.base_url();
    let old = idp.mint("editor", PUBLIC).unwrap();
    let resp = dev_post(base, "/_dev/keys/retire").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    let rotated: Value = dev_post(base, "/_dev/keys/rotate")
        .await
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

    let retired: Value = dev_post(base, "/_dev/keys/retire")
        .await
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
    assert_eq!(zero.endpoints.len(), l42_idp::ENDPOINTS.len());

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
    let over_http: l42_idp::Stats = http()
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

    let reset: l42_idp::Stats = dev_post(base, "/_dev/stats/reset")
        .await
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
        .header("content-type", "application/json")
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
    let v: Value = dev_post(base, "/_dev/clock/reset")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["offset_seconds"], 0);
    let resp = http()
        .post(format!("{base}/_dev/clock/advance"))
        .header("content-type", "application/json")
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

// The attacks of a web page on the developer's machine: a cross-site "simple" request (no
// CORS preflight: a form post, `fetch` with `text/plain`, `sendBeacon`) and DNS rebinding
// (the attacker's name resolves to 127.0.0.1, so the page is same-origin with the provider
// but every request carries `Host: <attacker's name>`).

/// Every `/_dev` control that changes something, with a body it would accept.
const DEV_WRITES: &[(&str, &str, &str)] = &[
    ("POST", "/_dev/keys/rotate", ""),
    ("POST", "/_dev/keys/retire", ""),
    ("POST", "/_dev/clock/advance", r#"{"seconds": 3600}"#),
    ("POST", "/_dev/clock/reset", ""),
    ("POST", "/_dev/stats/reset", ""),
    (
        "POST",
        "/_dev/faults",
        r#"{"endpoint": "token", "kind": "status500", "count": 5}"#,
    ),
    ("DELETE", "/_dev/faults", ""),
    (
        "POST",
        "/_dev/mint",
        r#"{"username": "admin", "client_id": "l42-dev-public"}"#,
    ),
];

/// What the controls change, to show an attack changed nothing.
#[derive(Debug, PartialEq)]
struct DevState {
    kids: Vec<String>,
    offset: i64,
    stats: l42_idp::Stats,
    faults: Vec<l42_idp::FaultSpec>,
}

fn dev_state(idp: &RunningIdp) -> DevState {
    DevState {
        kids: idp.kids(),
        offset: idp.clock().offset_secs(),
        stats: idp.stats(),
        faults: idp.faults().pending(),
    }
}

/// A provider where every control would change something: two keys (one retirable), the
/// clock advanced, a counted call, a pending fault.
async fn provider_with_state() -> RunningIdp {
    let idp = start().await;
    idp.rotate_keys().unwrap();
    idp.clock().advance_secs(7);
    http().get(idp.jwks_url()).send().await.unwrap();
    idp.faults()
        .inject(FaultEndpoint::Userinfo, FaultKind::Status500, 1);
    idp
}

fn dev_request(base: &str, method: &str, path: &str, body: &str) -> reqwest::RequestBuilder {
    http()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .body(body.to_string())
}

/// The refusal of a request that must change nothing: its status, a JSON error, no tokens.
async fn assert_refused(resp: reqwest::Response, status: u16, error: &str, what: &str) {
    assert_eq!(resp.status().as_u16(), status, "{what}");
    assert!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "{what}: JSON error"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], error, "{what}: {body}");
    assert!(body.get("access_token").is_none(), "{what}: {body}");
}

#[tokio::test]
async fn a_cross_site_simple_request_changes_nothing() {
    let idp = provider_with_state().await;
    let base = idp.base_url();
    let before = dev_state(&idp);
    // What a page may send cross-site without a preflight, and near misses.
    let content_types = [
        None,
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("text/plain; application/json"),
        Some("application/jsonx"),
        Some("application/json-patch+json"),
    ];
    for &(method, path, body) in DEV_WRITES {
        for ct in content_types {
            let mut req = dev_request(base, method, path, body)
                .header("origin", "https://evil.example")
                .header("sec-fetch-site", "cross-site");
            if let Some(ct) = ct {
                req = req.header("content-type", ct);
            }
            let what = format!("{method} {path} with {ct:?}");
            assert_refused(req.send().await.unwrap(), 403, "forbidden", &what).await;
            assert_eq!(dev_state(&idp), before, "{what} changed something");
        }
        // The custom header must be the documented one, with its value.
        for (name, value) in [("x-l42-dev", "0"), ("x-l42-dev", ""), ("x-l42", "1")] {
            let req = dev_request(base, method, path, body)
                .header("content-type", "text/plain")
                .header(name, value);
            let what = format!("{method} {path} with {name}: {value}");
            assert_refused(req.send().await.unwrap(), 403, "forbidden", &what).await;
            assert_eq!(dev_state(&idp), before, "{what} changed something");
        }
    }

    // What a page cannot send without a preflight works: the JSON content type, or the
    // custom header with any body type.
    let rotate = |req: reqwest::RequestBuilder| async move {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json::<Value>().await.unwrap()
    };
    let kids = idp.kids().len();
    for ct in [
        "application/json",
        "Application/JSON; charset=utf-8",
        " application/json ",
    ] {
        rotate(dev_request(base, "POST", "/_dev/keys/rotate", "").header("content-type", ct)).await;
    }
    rotate(
        dev_request(base, "POST", "/_dev/keys/rotate", "")
            .header("content-type", "text/plain")
            .header("x-l42-dev", "1"),
    )
    .await;
    rotate(dev_request(base, "POST", "/_dev/keys/rotate", "").header("X-L42-Dev", "1")).await;
    assert_eq!(idp.kids().len(), kids + 5);
}

#[tokio::test]
async fn minting_needs_a_post_a_get_cannot_mint() {
    let idp = start().await;
    let base = idp.base_url();
    // An <img> or a link: GET (and HEAD) never mint.
    for method in ["GET", "HEAD"] {
        let resp = http()
            .request(
                method.parse().unwrap(),
                format!("{base}/_dev/mint?username=admin&client_id={PUBLIC}"),
            )
            .header("x-l42-dev", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert!(!resp.text().await.unwrap().contains("access_token"));
    }
}

/// True for any CORS response header (`access-control-allow-origin` and the rest).
fn cors_headers(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

#[tokio::test]
async fn no_dev_response_approves_a_cross_origin_caller() {
    let idp = provider_with_state().await;
    let base = idp.base_url();
    let before = dev_state(&idp);
    // The preflight a page's JSON request (or custom header) needs is never approved.
    for &(method, path, _) in DEV_WRITES {
        for headers in ["content-type", "x-l42-dev", "content-type, x-l42-dev"] {
            let resp = http()
                .request(reqwest::Method::OPTIONS, format!("{base}{path}"))
                .header("origin", "https://evil.example")
                .header("access-control-request-method", method)
                .header("access-control-request-headers", headers)
                .send()
                .await
                .unwrap();
            let what = format!("preflight of {method} {path} with {headers}");
            assert!(!resp.status().is_success(), "{what}: {}", resp.status());
            assert_eq!(cors_headers(&resp), Vec::<String>::new(), "{what}");
        }
    }
    // Reads answer, but a page cannot read them: no CORS header either.
    for path in ["/_dev/stats", "/_dev/keys", "/_dev/clock", "/_dev/faults"] {
        let resp = http()
            .get(format!("{base}{path}"))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(cors_headers(&resp), Vec::<String>::new(), "{path}");
    }
    // Nor the answers of controls that ran or were refused.
    for resp in [
        dev_request(base, "POST", "/_dev/mint", DEV_WRITES[7].2)
            .header("origin", "https://evil.example")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap(),
        dev_request(base, "POST", "/_dev/keys/rotate", "")
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(cors_headers(&resp), Vec::<String>::new());
    }
    assert_eq!(dev_state(&idp).kids, before.kids);
}

/// `Host` values that are not this machine's loopback, or are not one host at all.
const BAD_HOSTS: &[&str] = &[
    "evil.example",
    "evil.example:8042",
    "127.0.0.1.evil.example",
    "127.0.0.1.evil.example:80",
    "localhost.evil.example",
    "evil-localhost",
    "localhost.",
    "localhost@evil.example",
    "127.0.0.1:80@evil.example",
    "127.0.0.1@evil.example:80",
    "evil.example@127.0.0.1",
    "evil.example#@127.0.0.1",
    "127.0.0.1/evil.example",
    "localhost:",
    "localhost:http",
    "localhost:99999",
    "localhost:+80",
    "localhost:80:80",
    "127.0.0.1:8042,evil.example",
    "[::1].evil.example",
    "[::1]evil.example",
    "[::1]:",
    "[::2]",
    "[::ffff:127.0.0.1]",
    "[::1%25lo]",
    "::1",
    "0.0.0.0",
    "0x7f.0.0.1",
    "2130706433",
    "127.1",
    "127.0.0.01",
    "",
];

#[tokio::test]
async fn a_rebound_name_changes_nothing_and_reads_nothing() {
    let idp = provider_with_state().await;
    let base = idp.base_url();
    let before = dev_state(&idp);
    for &host in BAD_HOSTS {
        // Even with everything the cross-site check asks for (a rebound page is same-origin).
        for &(method, path, body) in DEV_WRITES {
            let resp = dev_request(base, method, path, body)
                .header("host", host)
                .header("content-type", "application/json")
                .header("x-l42-dev", "1")
                .send()
                .await
                .unwrap();
            let what = format!("{method} {path} with Host {host:?}");
            assert_refused(resp, 421, "invalid_host", &what).await;
            assert_eq!(dev_state(&idp), before, "{what} changed something");
        }
        // Same-origin reads of the controls.
        let resp = http()
            .get(format!("{base}/_dev/stats"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_refused(resp, 421, "invalid_host", &format!("stats, Host {host:?}")).await;
        // The hosted endpoints too: the example users' passwords are public, so a rebound
        // page could sign in and read the tokens of the code exchange.
        let resp = http()
            .get(format!(
                "{base}/oauth2/authorize?response_type=code&client_id={PUBLIC}&redirect_uri={CALLBACK}"
            ))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_refused(
            resp,
            421,
            "invalid_host",
            &format!("authorize, Host {host:?}"),
        )
        .await;
        let r = idp.mint("admin", "rot-off").unwrap().refresh_token.unwrap();
        let resp = http()
            .post(format!("{base}/oauth2/token"))
            .header("host", host)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r),
                ("client_id", "rot-off"),
            ]))
            .send()
            .await
            .unwrap();
        assert_refused(resp, 421, "invalid_host", &format!("token, Host {host:?}")).await;
    }

    // Loopback, in every spelling a browser or a tool uses, with any port.
    let kids = idp.kids().len();
    for host in [
        "localhost",
        "LocalHost:1",
        "127.0.0.1",
        "127.0.0.1:8042",
        "127.9.8.7:65535",
        "[::1]",
        "[::1]:8042",
        "[0:0:0:0:0:0:0:1]:80",
    ] {
        let resp = dev_request(base, "POST", "/_dev/keys/rotate", "")
            .header("host", host)
            .header("x-l42-dev", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "Host {host}");
    }
    assert_eq!(idp.kids().len(), kids + 8);
}

/// Sends `request` as it is on a fresh connection; the status code of the answer.
async fn raw_status(idp: &RunningIdp, request: String) -> u16 {
    let addr = idp.addr();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        answer
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status in {answer:?}"))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_host_is_checked_however_the_request_names_it() {
    let idp = provider_with_state().await;
    let before = dev_state(&idp);
    let rotate = |target: &str, host: Option<&str>| {
        let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
        format!(
            "POST {target} HTTP/1.1\r\n{host}X-L42-Dev: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    for (request, why) in [
        // The absolute form names the host in the request line; it wins over `Host`.
        (
            rotate("http://evil.example/_dev/keys/rotate", Some("127.0.0.1")),
            "absolute form naming another host",
        ),
        (
            rotate("http://127.0.0.1/_dev/keys/rotate", Some("evil.example")),
            "absolute form with another Host",
        ),
        (rotate("/_dev/keys/rotate", None), "no Host at all"),
        (
            rotate("/_dev/keys/rotate", Some("127.0.0.1\r\nHost: evil.example")),
            "two Host headers",
        ),
        (
            "POST /_dev/keys/rotate HTTP/1.0\r\nX-L42-Dev: 1\r\nContent-Length: 0\r\n\r\n"
                .to_string(),
            "HTTP/1.0 without Host",
        ),
    ] {
        let status = raw_status(&idp, request).await;
        assert!(status == 421 || status == 400, "{why}: {status}");
        assert_eq!(dev_state(&idp), before, "{why} changed something");
    }
    let status = raw_status(&idp, rotate("/_dev/keys/rotate", Some("127.0.0.1"))).await;
    assert_eq!(status, 200);
    assert_eq!(idp.kids().len(), before.kids.len() + 1);
}

//! Rows of `PROTOCOL.md` that the other test files did not reach, against the running
//! server: a session that ends while an endpoint serves it clears the cookie (on every
//! endpoint that serves one, and only there), DynamoDB requests of the endpoints the
//! per-endpoint count in `sessions.rs` leaves out, JSON errors from `/session`, callback
//! tokens that do not verify, and the pending login's ten minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;

use common::stack::{Backend, Options, Stack};
use common::{SetCookie, query_param};
use l42_core::unix_now;
use l42_tests::dynamo::{n, s};
use reqwest::Method;
use serde_json::{Value, json};

fn counts(pairs: &[(&str, usize)]) -> HashMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

/// The endpoints that serve a session, with a body for the POSTs (read only after the
/// caller is known).
fn session_endpoints() -> [(Method, &'static str, Option<Value>); 4] {
    [
        (Method::GET, "/auth/token", None),
        (Method::GET, "/auth/me", None),
        (
            Method::POST,
            "/auth/authorize",
            Some(json!({"action": "read:own"})),
        ),
        (Method::POST, "/auth/validate-credential", Some(json!({}))),
    ]
}

async fn call(
    stack: &Stack,
    method: &Method,
    path: &str,
    cookie: &str,
    body: Option<&Value>,
) -> common::Answer {
    stack
        .send(method.clone(), path, Some(cookie), &[], body, true)
        .await
}

/// A cookie that verifies but whose session is gone (deleted, or past its `ttl` while
/// DynamoDB has not removed it yet) is no session, and the answer clears the cookie, on
/// every endpoint that serves a session.
#[tokio::test]
async fn a_gone_session_clears_the_cookie_on_every_session_endpoint() {
    for backend in [Backend::Memory, Backend::DynamoDb] {
        let stack = Stack::start(Options::default().backend(backend)).await;
        for (method, path, body) in session_endpoints() {
            let cookie = stack.login("user").await;
            let live = call(&stack, &method, path, &cookie, body.as_ref()).await;
            assert_ne!(live.status, 401, "{path}: the session is live first");
            stack
                .store
                .delete(&stack.session_id(&cookie))
                .await
                .unwrap();
            let a = call(&stack, &method, path, &cookie, body.as_ref()).await;
            assert_eq!(a.status, 401, "{backend:?} {path}: {}", a.text);
            assert_eq!(a.body, json!({"error": "Not authenticated"}));
            let clear = SetCookie::parse(a.set_cookie().expect("a clearing Set-Cookie"));
            assert!(clear.clears(), "{backend:?} {path}");
            assert_eq!(clear.name, "l42_session");
            assert!(clear.has("httponly"));
            assert_eq!(clear.get("path"), Some("/"));
        }
    }
}

#[tokio::test]
async fn an_expired_item_still_in_dynamodb_clears_the_cookie() {
    let stack = Stack::start(Options::default().backend(Backend::DynamoDb)).await;
    for (method, path, body) in session_endpoints() {
        let cookie = stack.login("user").await;
        let id = stack.session_id(&cookie);
        let table = stack.table.as_ref().unwrap();
        table
            .client()
            .update_item()
            .table_name(table.name())
            .key("session_id", s(id.as_str()))
            .update_expression("SET #t = :t")
            .expression_attribute_names("#t", "ttl")
            .expression_attribute_values(":t", n(unix_now() - 10))
            .send()
            .await
            .unwrap();
        let a = call(&stack, &method, path, &cookie, body.as_ref()).await;
        assert_eq!(a.status, 401, "{path}");
        assert!(SetCookie::parse(a.set_cookie().unwrap()).clears(), "{path}");
    }
}

/// A cookie that does not verify (tampered, another key, malformed) is no session but is
/// left alone: it may be signed with a key a newer deployment has and this one does not
/// know yet, so clearing it could end a live session.
#[tokio::test]
async fn a_cookie_that_does_not_verify_is_left_alone() {
    let stack = Stack::start(Options::default()).await;
    let cookie = stack.login("user").await;
    let (name, value) = cookie.split_once('=').unwrap();
    let id = stack.session_id(&cookie);
    let exp: i64 = value.split('.').nth(2).unwrap().parse().unwrap();
    let other_key = l42_core::session::CookieKeys::new("another-secret-0123456789abcdef-xyz", None)
        .unwrap()
        .sign(&id, exp)
        .unwrap();
    let mut tampered = value.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        format!("{name}={tampered}"),
        format!("{name}={other_key}"),
        format!("{name}=v1.garbage"),
    ] {
        for (method, path, body) in session_endpoints() {
            let a = call(&stack, &method, path, &bad, body.as_ref()).await;
            assert_eq!(a.status, 401, "{path}");
            assert!(a.set_cookie().is_none(), "{path}");
        }
    }
    assert_eq!(stack.get("/auth/token", Some(&cookie)).await.status, 200);
}

/// The endpoints that do not serve the session never clear it, even when the cookie
/// names a session that is gone: `/health`, `/login`, a failing `/callback` (which must
/// never touch the session), a refused `/session`. `/logout` always clears.
#[tokio::test]
async fn only_session_endpoints_and_logout_clear_the_cookie() {
    let stack = Stack::start(Options::default()).await;
    let cookie = stack.login("user").await;
    stack
        .store
        .delete(&stack.session_id(&cookie))
        .await
        .unwrap();
    let c = Some(cookie.as_str());
    for (what, a) in [
        ("/health", stack.get("/health", c).await),
        ("/login", stack.get("/auth/login", c).await),
        ("/callback", stack.get("/auth/callback?error=x", c).await),
        (
            "/callback bad state",
            stack.get("/auth/callback?code=a&state=b", c).await,
        ),
        (
            "/session refused",
            stack
                .post(
                    "/auth/session",
                    c,
                    &json!({"access_token": "a.b.c", "id_token": "d.e.f"}),
                )
                .await,
        ),
    ] {
        assert!(a.set_cookie().is_none(), "{what}");
    }
    let out = stack.post("/auth/logout", c, &json!({})).await;
    assert!(SetCookie::parse(out.set_cookie().unwrap()).clears());
}

/// DynamoDB requests of the endpoints `sessions.rs`'s per-endpoint count leaves out (the
/// counter also refuses any scan or query): one `GetItem` for `/authorize`,
/// `/validate-credential` and a session that turns out to be gone; nothing for
/// `/health`, a logout without a cookie, or a request without a cookie; one
/// `DeleteItem` (the state taken) for a callback with an unknown state.
#[tokio::test]
async fn dynamodb_requests_of_the_other_endpoints() {
    let stack = Stack::start(Options::default().backend(Backend::DynamoDb)).await;
    let cookie = stack.login("admin").await;
    let c = Some(cookie.as_str());
    stack.requests.take();

    let a = stack
        .post("/auth/authorize", c, &json!({"action": "admin:manage"}))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        stack.requests.take(),
        counts(&[("GetItem", 1)]),
        "/authorize"
    );

    let a = stack.post("/auth/validate-credential", c, &json!({})).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(
        stack.requests.take(),
        counts(&[("GetItem", 1)]),
        "/validate-credential"
    );

    assert_eq!(stack.get("/health", c).await.status, 200);
    assert_eq!(stack.get("/auth/me", None).await.status, 401);
    assert_eq!(
        stack.post("/auth/logout", None, &json!({})).await.status,
        200
    );
    assert_eq!(stack.requests.take(), counts(&[]), "no session, no request");

    let state = l42_core::oauth::random_state().unwrap();
    let a = stack
        .get(&format!("/auth/callback?code=x&state={state}"), None)
        .await;
    assert_eq!(a.callback_error(), "login_cookie_missing");
    assert_eq!(
        stack.requests.take(),
        counts(&[]),
        "a callback from a browser that started no login costs no request"
    );
    let bound = format!(
        "l42_login={}",
        stack.sessions.cookies().keys.login_binding(&state)
    );
    let a = stack
        .get(
            &format!("/auth/callback?code=x&state={state}"),
            Some(&bound),
        )
        .await;
    assert_eq!(a.callback_error(), "invalid_state");
    assert_eq!(
        stack.requests.take(),
        counts(&[("DeleteItem", 1)]),
        "a callback takes its state with one conditional delete"
    );

    stack
        .store
        .delete(&stack.session_id(&cookie))
        .await
        .unwrap();
    stack.requests.take();
    assert_eq!(stack.get("/auth/token", c).await.status, 401);
    assert_eq!(
        stack.requests.take(),
        counts(&[("GetItem", 1)]),
        "a gone session: one read, nothing written"
    );
}

/// `POST {P}/session` answers malformed JSON with a JSON 400 and other content types with
/// a JSON 415, through the real session layer, and makes no session.
#[tokio::test]
async fn session_bodies_are_checked_with_json_errors() {
    let stack = Stack::start(Options::default()).await;
    for (content_type, body, status, error) in [
        (Some("application/json"), "{", 400, "Invalid request body"),
        (
            Some("application/json"),
            "\"a string\"",
            400,
            "Invalid request body",
        ),
        (
            Some("application/json"),
            "{\"access_token\": 5}",
            400,
            "Invalid request body",
        ),
        (Some("text/plain"), "{}", 415, "Unsupported media type"),
        (
            Some("application/x-www-form-urlencoded"),
            "access_token=a",
            415,
            "Unsupported media type",
        ),
        (None, "{}", 415, "Unsupported media type"),
    ] {
        let mut headers = vec![];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct));
        }
        let mut r = l42_core::http::client_builder()
            .unwrap()
            .build()
            .unwrap()
            .post(format!("{}/auth/session", stack.base))
            .header("x-l42-csrf", "1")
            .body(body.to_owned());
        for (k, v) in &headers {
            r = r.header(*k, *v);
        }
        let a = r.send().await.unwrap();
        assert_eq!(a.status().as_u16(), status, "{content_type:?} {body}");
        assert_eq!(
            a.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        assert!(a.headers().get("set-cookie").is_none());
        let v: Value = serde_json::from_str(&a.text().await.unwrap()).unwrap();
        assert_eq!(v["error"], error, "{content_type:?} {body}");
    }
}

/// `/callback`: tokens from the exchange are verified like `/session`'s; tokens that do
/// not verify (here: another user pool's issuer) are `token_verification_failed`, no
/// session.
#[tokio::test]
async fn callback_tokens_must_verify() {
    let stack =
        Stack::start(Options::default().var("COGNITO_USER_POOL_ID", "us-east-1_SomeOtherPool"))
            .await;
    let a = stack.login_as("user", None).await;
    assert_eq!(a.callback_error(), "token_verification_failed");
    assert!(a.set_cookie().is_none());
}

/// `/login`: the pending login (state, verifier, origin, return_to) lives ten minutes.
#[tokio::test]
async fn a_pending_login_lives_ten_minutes() {
    let stack = Stack::start(Options::default()).await;
    let before = unix_now();
    let authorize = stack.start_login().await;
    let state = query_param(&authorize, "state").unwrap();
    let pending = stack.sessions.logins().take(&state).await.unwrap().unwrap();
    assert!((before + 600..=unix_now() + 600).contains(&pending.expires_at));
    assert_eq!(pending.origin, common::FRONTEND);
    assert_eq!(pending.return_to, "/");
    assert!(pending.code_verifier.len() >= 43);
}

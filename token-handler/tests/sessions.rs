//! The session endpoints against the dev identity provider over HTTP and both session
//! stores (in memory; DynamoDB on the emulator): the hosted-UI login flow, `/token`,
//! `/me`, `/session`, `/logout`, cookies, callbacks that must fail, refresh outcomes, the
//! refresh token never leaving the server, and DynamoDB requests per endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use common::stack::{
    Backend, CONFIDENTIAL_CLIENT, Client, OTHER_SECRET, Options, PUBLIC_CLIENT, SECRET, Stack,
    login_binding, vars,
};
use common::{Answer, FRONTEND, query_param, request, send};
use l42_core::session::{CookieKeys, SessionId};
use l42_core::{CognitoClient, OAuthConfig, unix_now};
use l42_idp::{FaultEndpoint, FaultKind, IdpConfig};
use l42_tests::dynamo::{n, s};
use l42_tests::{fresh_table, mint, start_idp_with};
use l42_token_handler::{AppState, Config, Sessions, router};
use serde_json::{Value, json};

l42_tests::for_each_backend!(
    full_login_flow,
    login_rotates_the_session,
    bad_cookies_are_no_session,
    callbacks_that_must_fail,
    token_refreshes,
    invalid_grant_ends_the_session,
    a_transient_failure_keeps_the_session,
);

/// DynamoDB requests by operation, as `l42_tests::requests` counts them (only point
/// operations may be sent).
fn counts(pairs: &[(&str, usize)]) -> HashMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

/// A stack with sessions in `backend`.
async fn stack(backend: Backend) -> Stack {
    Stack::start(Options::default().backend(backend)).await
}

/// A stack with sessions in `backend` whose access tokens live 30 s, under the 60 s
/// margin: every `/token` refreshes.
async fn short_lived(backend: Backend) -> Stack {
    Stack::start(Options::default().backend(backend).short_lived()).await
}

/// The error code of a callback's redirect to `{FRONTEND}/login?error=`; a failed
/// callback sets no session cookie.
fn error_of(a: &Answer) -> String {
    let loc = a.header("location").unwrap_or_default().to_string();
    assert!(
        loc.starts_with(&format!("{FRONTEND}/login?error=")),
        "{loc}"
    );
    assert!(
        a.headers
            .get_all("set-cookie")
            .iter()
            .all(|v| v.to_str().unwrap().contains("l42_login=")),
        "a failed callback sets no session cookie"
    );
    a.callback_error()
}

// ---------------------------------------------------------------------------------------
// The login flow.

async fn full_login_flow(backend: Backend) {
    let env = stack(backend).await;
    let a = env
        .login_at("/auth/login?return_to=/dashboard?tab=2", "admin", None)
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(
        a.header("location"),
        Some("http://localhost:3000/dashboard?tab=2")
    );
    let set = a.header("set-cookie").unwrap();
    assert!(set.starts_with("l42_session=v1."), "{set}");
    assert!(
        set.contains("; Path=/") && set.contains("; HttpOnly") && set.contains("; SameSite=Lax")
    );
    assert!(!set.contains("Secure"));
    let cookie = a.cookie();
    let session = env.stored(&cookie).await.unwrap();
    assert_eq!(session.tokens.auth_method, "handler");
    env.remember(session.tokens.refresh_token.as_deref().unwrap());

    let t = env.get("/auth/token", Some(&cookie)).await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    assert_eq!(t.body["access_token"], session.tokens.access_token);
    assert_eq!(t.body["id_token"], session.tokens.id_token);
    assert_eq!(t.body["auth_method"], "handler");
    assert_eq!(t.header("cache-control"), Some("no-store"));
    assert!(
        t.header("set-cookie").is_none(),
        "the cookie is set only when the session changes"
    );

    let me = env.get("/auth/me", Some(&cookie)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["groups"], json!(["admin"]));
    assert!(me.body["email"].as_str().unwrap().contains('@'));
    assert!(!me.body["sub"].as_str().unwrap().is_empty());

    // Authorize sees the same caller: the session's `admin` group may manage; without
    // the cookie nobody may.
    let action = json!({"action": "admin:manage"});
    let az = env.post("/auth/authorize", Some(&cookie), &action).await;
    assert_eq!(az.status, 200, "{}", az.text);
    assert_eq!(az.body["authorized"], true);
    let az = env.post("/auth/authorize", None, &action).await;
    assert_eq!(az.status, 401, "{}", az.text);

    // Without a cookie: 401.
    for path in ["/auth/token", "/auth/me"] {
        let a = env.get(path, None).await;
        assert_eq!(a.status, 401);
        assert_eq!(a.body, json!({"error": "Not authenticated"}));
    }
}

/// The review's flood: 100,000 unauthenticated `GET /auth/login` requests (each with the
/// longest `return_to` there was) filled the in-memory store, and every login after them
/// was refused with a 503 for ten minutes. Now the oldest pending logins give way: the
/// login after the flood works.
#[tokio::test]
async fn a_flood_of_logins_does_not_block_the_next_login() {
    let env = stack(Backend::Memory).await;
    let return_to = format!("/{}", "x".repeat(2047));
    let path = format!("/auth/login?return_to={return_to}");
    // In process: a hundred thousand loopback connections would only measure the socket.
    for i in 0..100_000 {
        let a = send(&env.app, request(Method::GET, &path, None, None, false)).await;
        assert_eq!(a.status, 302, "request {i}");
    }
    let a = env
        .login_at("/auth/login?return_to=/after-the-flood", "user", None)
        .await;
    assert_eq!(a.status, 303, "{:?}", a.header("location"));
    assert_eq!(
        a.header("location"),
        Some("http://localhost:3000/after-the-flood")
    );
}

async fn login_rotates_the_session(backend: Backend) {
    let env = stack(backend).await;
    let first = env.login("user").await;
    let a = env
        .login_at("/auth/login?return_to=/", "editor", Some(&first))
        .await;
    assert_eq!(a.status, 303);
    let second = a.cookie();
    assert_ne!(env.session_id(&first), env.session_id(&second));
    assert!(
        env.stored(&first).await.is_none(),
        "the old session is deleted"
    );
    assert_eq!(env.get("/auth/token", Some(&first)).await.status, 401);
    let me = env.get("/auth/me", Some(&second)).await;
    assert_eq!(me.body["groups"], json!(["editor"]));

    // POST /session rotates too.
    let t = mint(&env.idp, "admin", PUBLIC_CLIENT).unwrap();
    env.remember(t.refresh_token.as_deref().unwrap());
    let a = env
        .post(
            "/auth/session",
            Some(&second),
            json!({"access_token": t.access_token, "id_token": t.id_token, "refresh_token": t.refresh_token}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body, json!({"success": true}));
    let third = a.cookie();
    assert_ne!(env.session_id(&second), env.session_id(&third));
    assert!(env.stored(&second).await.is_none());
    let stored = env.stored(&third).await.unwrap();
    assert_eq!(stored.tokens.auth_method, "direct");
    let tok = env.get("/auth/token", Some(&third)).await;
    assert_eq!(tok.body["auth_method"], "direct");
}

// ---------------------------------------------------------------------------------------
// POST /session.

#[tokio::test]
async fn posted_tokens_must_verify_as_a_pair() {
    let env = stack(Backend::Memory).await;
    let admin = mint(&env.idp, "admin", PUBLIC_CLIENT).unwrap();
    let user = mint(&env.idp, "user", PUBLIC_CLIENT).unwrap();
    let conf = mint(&env.idp, "user", CONFIDENTIAL_CLIENT).unwrap();
    let admin_id = admin.id_token.clone().unwrap();
    let bad = [
        // Swapped kinds.
        json!({"access_token": admin_id, "id_token": admin.access_token}),
        // Two id tokens.
        json!({"access_token": admin_id, "id_token": admin_id}),
        // Different users.
        json!({"access_token": admin.access_token, "id_token": user.id_token}),
        // Another app client.
        json!({"access_token": conf.access_token, "id_token": conf.id_token}),
        // Not tokens.
        json!({"access_token": "x.y.z", "id_token": "not-a-jwt"}),
    ];
    for body in bad {
        let a = env.post("/auth/session", None, body).await;
        assert_eq!(a.status, 403);
        assert_eq!(a.body, json!({"error": "Token verification failed"}));
        assert!(a.header("set-cookie").is_none());
    }
    // A properly signed access token whose client_id names another app client.
    let mut claims: Value = serde_json::from_slice(&base64_url_decode(
        admin.access_token.split('.').nth(1).unwrap(),
    ))
    .unwrap();
    claims["client_id"] = json!("someone-else");
    let forged = env.idp.sign_claims(&claims).unwrap();
    let a = env
        .post(
            "/auth/session",
            None,
            json!({"access_token": forged, "id_token": admin_id}),
        )
        .await;
    assert_eq!(a.status, 403);

    for body in [
        json!({"access_token": "", "id_token": admin_id}),
        json!({"access_token": admin.access_token, "id_token": ""}),
        json!({"access_token": admin.access_token}),
    ] {
        let a = env.post("/auth/session", None, body).await;
        assert_eq!(a.status, 400, "{:?}", a.body);
    }
    let a = env
        .post(
            "/auth/session",
            None,
            json!({"access_token": admin.access_token, "id_token": admin_id, "auth_method": "passkey"}),
        )
        .await;
    assert_eq!(a.status, 200);
    let cookie = a.cookie();
    let stored = env.stored(&cookie).await.unwrap();
    assert_eq!(stored.tokens.auth_method, "passkey");
    assert_eq!(stored.tokens.refresh_token, None);
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[tokio::test]
async fn every_post_needs_the_csrf_header() {
    let env = stack(Backend::Memory).await;
    let cookie = env.login("user").await;
    for path in [
        "/auth/session",
        "/auth/logout",
        "/auth/authorize",
        "/auth/validate-credential",
    ] {
        let a = env
            .send(
                Method::POST,
                path,
                Some(&cookie),
                &[],
                Some(&json!({})),
                false,
            )
            .await;
        assert_eq!(a.status, 403, "{path}");
        assert_eq!(a.body, json!({"error": "CSRF validation failed"}), "{path}");
    }
    // The session survived the refused logout.
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 200);
}

// ---------------------------------------------------------------------------------------
// Cookies.

async fn bad_cookies_are_no_session(backend: Backend) {
    let env = stack(backend).await;
    let cookie = env.login("user").await;
    let (name, value) = cookie.split_once('=').unwrap();
    let id = env.session_id(&cookie);
    let exp: i64 = value.split('.').nth(2).unwrap().parse().unwrap();

    let mut tampered = value.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let truncated = &value[..value.len() - 5];
    let other_key = CookieKeys::new(OTHER_SECRET, None)
        .unwrap()
        .sign(&id, exp)
        .unwrap();
    let expired = CookieKeys::new(SECRET, None)
        .unwrap()
        .sign(&id, unix_now() - 1)
        .unwrap();
    let other_id = CookieKeys::new(SECRET, None)
        .unwrap()
        .sign(&SessionId::generate().unwrap(), exp)
        .unwrap();
    for bad in [
        tampered.as_str(),
        truncated,
        other_key.as_str(),
        expired.as_str(),
        other_id.as_str(),
        "",
        "v2.garbage",
    ] {
        for path in ["/auth/token", "/auth/me"] {
            let a = env.get(path, Some(&format!("{name}={bad}"))).await;
            assert_eq!(a.status, 401, "{path} with a bad cookie");
            assert_eq!(a.body, json!({"error": "Not authenticated"}));
        }
    }
    // The session itself is untouched.
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 200);
    // A stale duplicate before the good cookie does not hide it.
    let both = format!("{name}={tampered}; {cookie}");
    assert_eq!(env.get("/auth/token", Some(&both)).await.status, 200);

    // Key rotation: the old secret is now the previous one and still accepted.
    let env = env.with_cookie_secrets(OTHER_SECRET, Some(SECRET)).await;
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 200);
    // Without it, refused.
    let env = env.with_cookie_secrets(OTHER_SECRET, None).await;
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 401);
}

#[tokio::test]
async fn an_expired_item_still_in_dynamodb_is_no_session() {
    let env = stack(Backend::DynamoDb).await;
    let cookie = env.login("user").await;
    let id = env.session_id(&cookie);
    let table = env.table.as_ref().unwrap();
    // DynamoDB deletes expired items late: the item is there with a past ttl.
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
    for path in ["/auth/token", "/auth/me"] {
        assert_eq!(env.get(path, Some(&cookie)).await.status, 401, "{path}");
    }
}

// ---------------------------------------------------------------------------------------
// The callback.

async fn callbacks_that_must_fail(backend: Backend) {
    let env = stack(backend).await;
    let start = env.get("/auth/login", None).await;
    let authorize = start.header("location").unwrap().to_string();
    let callback = env.idp.sign_in(&authorize, "user").await.unwrap();
    let code = query_param(&callback, "code").unwrap();
    let state = query_param(&callback, "state").unwrap();

    // A state nobody issued: this browser's binding is another state's.
    let forged = l42_core::oauth::random_state().unwrap();
    let forged_path = format!("/auth/callback?code={code}&state={forged}");
    let a = env.get(&forged_path, None).await;
    assert_eq!(error_of(&a), "login_cookie_mismatch");
    // No state.
    let a = env.get(&format!("/auth/callback?code={code}"), None).await;
    assert_eq!(error_of(&a), "invalid_state");

    // The real one works once, even replayed with its binding.
    let binding = env.jar.cookie_header(None).unwrap();
    let path = callback.strip_prefix(FRONTEND).unwrap();
    let ok = env.get(path, None).await;
    assert_eq!(ok.status, 303);
    assert!(ok.header("set-cookie").is_some());
    let again = env.get(path, Some(&binding)).await;
    assert_eq!(error_of(&again), "invalid_state", "a state is single use");

    // Bindings made with the secret for a forged and a malformed state (another
    // browser, whose jar holds only those) find no pending login.
    let a = env.get(&forged_path, Some(&env.bound(&forged))).await;
    assert_eq!(error_of(&a), "invalid_state");
    let a = env
        .get(
            &format!("/auth/callback?code={code}&state=x%23y"),
            Some(&env.bound("x#y")),
        )
        .await;
    assert_eq!(error_of(&a), "invalid_state");
    assert!(!state.is_empty());

    // A pending login whose code is refused by Cognito.
    let start = env.get("/auth/login", None).await;
    let authorize = start.header("location").unwrap().to_string();
    let st = query_param(&authorize, "state").unwrap();
    let a = env
        .get(&format!("/auth/callback?code=not-a-code&state={st}"), None)
        .await;
    assert_eq!(error_of(&a), "invalid_grant");
}

#[tokio::test]
async fn a_pending_login_without_a_verifier_is_refused() {
    let env = stack(Backend::DynamoDb).await;
    let table = env.table.as_ref().unwrap();
    let state = l42_core::oauth::random_state().unwrap();
    table
        .client()
        .put_item()
        .table_name(table.name())
        .item("session_id", s(format!("login#{state}")))
        .item(
            "data",
            s(json!({"origin": FRONTEND, "return_to": "/"}).to_string()),
        )
        .item("ttl", n(unix_now() + 600))
        .send()
        .await
        .unwrap();
    let a = env
        .get(
            &format!("/auth/callback?code=abc&state={state}"),
            Some(&env.bound(&state)),
        )
        .await;
    assert_eq!(error_of(&a), "invalid_state");

    // An expired pending login that DynamoDB has not deleted yet.
    let state = l42_core::oauth::random_state().unwrap();
    table
        .client()
        .put_item()
        .table_name(table.name())
        .item("session_id", s(format!("login#{state}")))
        .item(
            "data",
            s(
                json!({"verifier": "v".repeat(43), "origin": FRONTEND, "return_to": "/"})
                    .to_string(),
            ),
        )
        .item("ttl", n(unix_now() - 1))
        .send()
        .await
        .unwrap();
    let a = env
        .get(
            &format!("/auth/callback?code=abc&state={state}"),
            Some(&env.bound(&state)),
        )
        .await;
    assert_eq!(error_of(&a), "invalid_state");
}

#[tokio::test]
async fn the_callback_must_come_back_to_the_origin_the_login_started_from() {
    let env = Stack::start(
        Options::default()
            .var("CALLBACK_USE_ORIGIN", "true")
            .var("CALLBACK_ALLOWED_ORIGINS", "http://127.0.0.1:3001"),
    )
    .await;
    let second = [
        ("x-forwarded-host", "127.0.0.1:3001"),
        ("x-forwarded-proto", "http"),
    ];
    // The login starts on the second origin.
    let start = env
        .send(
            Method::GET,
            "/auth/login?return_to=/x",
            None,
            &second,
            None,
            false,
        )
        .await;
    let authorize = start.header("location").unwrap().to_string();
    assert_eq!(
        query_param(&authorize, "redirect_uri").as_deref(),
        Some("http://127.0.0.1:3001/auth/callback")
    );
    let callback = env.idp.sign_in(&authorize, "user").await.unwrap();
    let path = callback.strip_prefix("http://127.0.0.1:3001").unwrap();
    // ... and the callback arrives on the first (foreign to this login).
    let a = env.get(path, None).await;
    assert_eq!(error_of(&a), "origin_mismatch");

    // A host that is not allowed counts as FRONTEND_URL.
    let start = env
        .send(
            Method::GET,
            "/auth/login",
            None,
            &[("x-forwarded-host", "evil.example")],
            None,
            false,
        )
        .await;
    let authorize = start.header("location").unwrap().to_string();
    assert_eq!(
        query_param(&authorize, "redirect_uri").as_deref(),
        Some("http://localhost:3000/auth/callback")
    );

    // The matching origin completes.
    let start = env
        .send(
            Method::GET,
            "/auth/login?return_to=/x",
            None,
            &second,
            None,
            false,
        )
        .await;
    let authorize = start.header("location").unwrap().to_string();
    let callback = env.idp.sign_in(&authorize, "user").await.unwrap();
    let path = callback.strip_prefix("http://127.0.0.1:3001").unwrap();
    let a = env
        .send(Method::GET, path, None, &second, None, false)
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(a.header("location"), Some("http://127.0.0.1:3001/x"));
}

#[tokio::test]
async fn a_cross_site_callback_error_leaves_the_session_alive() {
    for backend in [Backend::Memory, Backend::DynamoDb] {
        let env = stack(backend).await;
        let cookie = env.login("user").await;
        for path in [
            "/auth/callback?error=x",
            "/auth/callback?error=access_denied&state=whatever",
            "/auth/callback",
            "/auth/callback?code=abc&state=bogus",
        ] {
            let a = env.get(path, Some(&cookie)).await;
            assert_eq!(a.status, 303, "{path}");
            assert!(a.header("set-cookie").is_none(), "{path}");
            assert_eq!(
                env.get("/auth/token", Some(&cookie)).await.status,
                200,
                "{path}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Refresh through /token.

async fn token_refreshes(backend: Backend) {
    let env = short_lived(backend).await;
    let cookie = env.login("editor").await;
    let before = env.stored(&cookie).await.unwrap();
    env.idp.reset_stats();
    let a = env.get("/auth/token", Some(&cookie)).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(env.idp.stats().grants["refresh_token"], 1);
    let after = env.stored(&cookie).await.unwrap();
    assert_eq!(a.body["access_token"], after.tokens.access_token);
    assert!(after.version > before.version);
    // The public client rotates refresh tokens: the new one is kept.
    let rotated = after.tokens.refresh_token.clone().unwrap();
    env.remember(&rotated);
    assert_ne!(Some(rotated), before.tokens.refresh_token);
    assert!(a.header("set-cookie").is_none());
}

#[tokio::test]
async fn a_refresh_without_rotation_keeps_the_refresh_token() {
    // A session of the confidential client (no rotation), made with posted tokens.
    let env = Stack::start(
        Options::default()
            .client(Client::Confidential)
            .short_lived(),
    )
    .await;
    let t = mint(&env.idp, "user", CONFIDENTIAL_CLIENT).unwrap();
    let a = env
        .post(
            "/auth/session",
            None,
            &json!({"access_token": t.access_token, "id_token": t.id_token, "refresh_token": t.refresh_token}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let cookie = a.cookie();
    let a = env.get("/auth/token", Some(&cookie)).await;
    assert_eq!(a.status, 200);
    assert_ne!(a.body["access_token"], json!(t.access_token));
    let stored = env.stored(&cookie).await.unwrap();
    assert_eq!(stored.tokens.refresh_token, t.refresh_token);
}

async fn invalid_grant_ends_the_session(backend: Backend) {
    let env = short_lived(backend).await;
    let cookie = env.login("user").await;
    env.idp
        .faults()
        .inject(FaultEndpoint::Token, FaultKind::InvalidGrant, 1);
    let a = env.get("/auth/token", Some(&cookie)).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body, json!({"error": "Not authenticated"}));
    let clear = a.header("set-cookie").unwrap();
    assert!(
        clear.starts_with("l42_session=;") && clear.contains("Max-Age=0"),
        "{clear}"
    );
    let id = env.session_id(&cookie);
    assert!(
        env.store.get(&id).await.unwrap().is_none(),
        "the session is gone"
    );
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 401);
}

async fn a_transient_failure_keeps_the_session(backend: Backend) {
    let env = short_lived(backend).await;
    let cookie = env.login("user").await;
    let before = env.stored(&cookie).await.unwrap();
    env.idp
        .faults()
        .inject(FaultEndpoint::Token, FaultKind::Status500, 10);
    let a = env.get("/auth/token", Some(&cookie)).await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(a.header("set-cookie").is_none(), "the cookie is kept");
    let me = env.get("/auth/me", Some(&cookie)).await;
    assert_eq!(me.status, 503);
    let still = env.stored(&cookie).await.unwrap();
    assert_eq!(still.tokens, before.tokens, "the session is intact");
    env.idp.faults().clear();
    let a = env.get("/auth/token", Some(&cookie)).await;
    assert_eq!(a.status, 200);
    env.remember(
        env.stored(&cookie)
            .await
            .unwrap()
            .tokens
            .refresh_token
            .as_deref()
            .unwrap(),
    );
}

// ---------------------------------------------------------------------------------------
// Logout.

#[tokio::test]
async fn logout_clears_the_cookie_and_revokes() {
    let env = Stack::start(
        Options::default()
            .var("SESSION_HTTPS_ONLY", "true")
            .var("SESSION_SAME_SITE", "strict"),
    )
    .await;
    // Secure: the cookie is __Host- prefixed.
    let a = env.login_at("/auth/login?return_to=/", "admin", None).await;
    let set = a.header("set-cookie").unwrap().to_string();
    assert!(set.starts_with("__Host-l42_session=v1."), "{set}");
    for attr in ["; Path=/", "; HttpOnly", "; Secure"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Domain="));
    let cookie = a.cookie();
    let session = env.stored(&cookie).await.unwrap();
    let refresh = session.tokens.refresh_token.clone().unwrap();
    env.remember(&refresh);

    env.idp.reset_stats();
    let out = env.post("/auth/logout", Some(&cookie), json!({})).await;
    assert_eq!(out.status, 200);
    assert_eq!(out.body["success"], true);
    let url = out.body["logout_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/logout?", env.idp.base_url())));
    assert_eq!(
        query_param(url, "client_id").as_deref(),
        Some(PUBLIC_CLIENT)
    );
    assert_eq!(
        query_param(url, "logout_uri").as_deref(),
        Some("http://localhost:3000/")
    );
    let clear = out.header("set-cookie").unwrap();
    assert!(clear.starts_with("__Host-l42_session=;"), "{clear}");
    for attr in ["; Path=/", "; Max-Age=0", "; HttpOnly", "; Secure"] {
        assert!(clear.contains(attr), "{attr} in {clear}");
    }
    assert!(env.stored(&cookie).await.is_none());
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 401);
    assert_eq!(env.idp.stats().endpoints["revoke"], 1);
    // The refresh token is dead at the provider.
    let c = CognitoClient::new(OAuthConfig::new(env.idp.base_url(), PUBLIC_CLIENT, None).unwrap());
    assert_eq!(
        c.refresh(&refresh).await,
        Err(l42_core::OAuthError::InvalidGrant)
    );

    // Without a session: still 200 and a cleared cookie.
    let out = env.post("/auth/logout", None, json!({})).await;
    assert_eq!(out.status, 200);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn logout_with_a_revocation_failure_still_logs_out() {
    let env = stack(Backend::DynamoDb).await;
    let cookie = env.login("user").await;
    env.idp
        .faults()
        .inject(FaultEndpoint::Revoke, FaultKind::Status500, 10);
    let out = env.post("/auth/logout", Some(&cookie), json!({})).await;
    assert_eq!(out.status, 200);
    assert!(env.stored(&cookie).await.is_none());
}

// ---------------------------------------------------------------------------------------
// DynamoDB requests per endpoint.

#[tokio::test]
async fn dynamodb_requests_per_endpoint() {
    let env = stack(Backend::DynamoDb).await;
    let start = env.get("/auth/login", None).await;
    assert_eq!(env.requests.take(), counts(&[("PutItem", 1)]), "/login");
    let authorize = start.header("location").unwrap().to_string();
    let callback = env.idp.sign_in(&authorize, "user").await.unwrap();
    let a = env
        .get(callback.strip_prefix(FRONTEND).unwrap(), None)
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(
        env.requests.take(),
        counts(&[("DeleteItem", 1), ("PutItem", 1)]),
        "/callback"
    );
    let cookie = a.cookie();

    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 200);
    assert_eq!(env.requests.take(), counts(&[("GetItem", 1)]), "/token");
    assert_eq!(env.get("/auth/me", Some(&cookie)).await.status, 200);
    assert_eq!(env.requests.take(), counts(&[("GetItem", 1)]), "/me");

    // A bad cookie costs nothing.
    let (name, _) = cookie.split_once('=').unwrap();
    assert_eq!(
        env.get("/auth/token", Some(&format!("{name}=v1.x.1.y")))
            .await
            .status,
        401
    );
    assert_eq!(env.get("/auth/token", None).await.status, 401);
    assert_eq!(env.requests.take(), counts(&[]), "bad or no cookie");

    let t = mint(&env.idp, "admin", PUBLIC_CLIENT).unwrap();
    env.remember(t.refresh_token.as_deref().unwrap());
    let a = env
        .post(
            "/auth/session",
            Some(&cookie),
            json!({"access_token": t.access_token, "id_token": t.id_token, "refresh_token": t.refresh_token}),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        env.requests.take(),
        counts(&[("GetItem", 2), ("PutItem", 1), ("TransactWriteItems", 1)]),
        "/session replacing a session: the revocation check, the new one, the old one read \
         and ended"
    );
    let cookie = a.cookie();

    // Listing: the caller's session, then one query of the user index.
    assert_eq!(env.get("/auth/sessions", Some(&cookie)).await.status, 200);
    assert_eq!(
        env.requests.take(),
        counts(&[("GetItem", 1), ("Query", 1)]),
        "/sessions"
    );
    let other = env.login("admin").await;
    env.requests.take();
    let listing = env.get("/auth/sessions", Some(&cookie)).await.body;
    let handle = listing["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.requests.take();
    let out = env
        .delete(&format!("/auth/sessions/{handle}"), Some(&cookie))
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(
        env.requests.take(),
        counts(&[("GetItem", 2), ("Query", 1), ("TransactWriteItems", 1)]),
        "DELETE /sessions/{{id}}: the caller's session, the index, the ended one, ending it"
    );
    assert!(env.stored(&other).await.is_none());
    env.requests.take();

    let out = env.post("/auth/logout", Some(&cookie), json!({})).await;
    assert_eq!(out.status, 200);
    assert_eq!(
        env.requests.take(),
        counts(&[("GetItem", 1), ("TransactWriteItems", 1)]),
        "/logout"
    );
}

#[tokio::test]
async fn a_refresh_costs_one_read_a_lease_and_one_conditional_write() {
    let env = short_lived(Backend::DynamoDb).await;
    let cookie = env.login("user").await;
    env.requests.take();
    let a = env.get("/auth/token", Some(&cookie)).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        env.requests.take(),
        // The session read; the lease (a conditional update that also returns the record,
        // so no second read); the new tokens written on the lease's version.
        counts(&[("GetItem", 1), ("UpdateItem", 2)])
    );
    env.remember(
        env.stored(&cookie)
            .await
            .unwrap()
            .tokens
            .refresh_token
            .as_deref()
            .unwrap(),
    );
}

// ---------------------------------------------------------------------------------------
// Logs.

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_or_cookie_in_any_log_line() {
    // The global subscriber (a scoped one misses events when other tests run in parallel
    // threads); other tests' lines land here too, which only widens the check.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let env = short_lived(Backend::Memory).await;
    let cookie = env.login("admin").await;
    let first = env.stored(&cookie).await.unwrap();
    let mut secrets = vec![
        cookie.split_once('=').unwrap().1.to_string(),
        first.tokens.access_token.clone(),
        first.tokens.id_token.clone(),
        first.tokens.refresh_token.clone().unwrap(),
        SECRET.to_string(),
    ];
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 200);
    let refreshed = env.stored(&cookie).await.unwrap();
    secrets.push(refreshed.tokens.access_token.clone());
    secrets.push(refreshed.tokens.refresh_token.clone().unwrap());
    env.remember(refreshed.tokens.refresh_token.as_deref().unwrap());
    // Failures log too.
    env.idp
        .faults()
        .inject(FaultEndpoint::Token, FaultKind::Status500, 10);
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 503);
    env.idp.faults().clear();
    let (name, value) = cookie.split_once('=').unwrap();
    let mut tampered = value.to_string();
    tampered.pop();
    tampered.push('A');
    let _ = env
        .get("/auth/me", Some(&format!("{name}={tampered}")))
        .await;
    assert_eq!(
        env.post("/auth/logout", Some(&cookie), json!({}))
            .await
            .status,
        200
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("class_uid"),
        "events are logged: {}",
        &logs[..logs.len().min(3000)]
    );
    assert!(logs.contains("session ended"));
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
    }
    assert!(!logs.contains(&tampered));
}

// ---------------------------------------------------------------------------------------
// Configuration.

#[tokio::test]
async fn sessions_from_the_configuration() {
    let idp = start_idp_with(IdpConfig::default()).await.unwrap();
    let v = vars(&idp, Client::Public, &[]);
    let config = Config::from_lookup(|k| v.get(k).cloned()).unwrap();
    let sessions = Sessions::from_config(&config, |k| v.get(k).cloned()).unwrap();
    assert_eq!(sessions.store().backend(), "memory");
    assert_eq!(sessions.logins().backend(), "memory");
    assert_eq!(sessions.cookies().name(), "l42_session");

    let table = fresh_table().await.unwrap();
    let endpoint = l42_tests::moto_endpoint().unwrap();
    let v = vars(
        &idp,
        Client::Public,
        &[
            ("SESSION_BACKEND", "dynamodb"),
            ("DYNAMODB_TABLE", table.name()),
            ("DYNAMODB_ENDPOINT", endpoint.as_str()),
        ],
    );
    let config = Config::from_lookup(|k| v.get(k).cloned()).unwrap();
    let sessions = Arc::new(Sessions::from_config(&config, |k| v.get(k).cloned()).unwrap());
    assert_eq!(sessions.store().backend(), "dynamodb");
    let app = router(AppState::builder(config).sessions(sessions).build());
    let t = mint(&idp, "user", PUBLIC_CLIENT).unwrap();
    let a = send(
        &app,
        request(
            Method::POST,
            "/auth/session",
            None,
            Some(&json!({"access_token": t.access_token, "id_token": t.id_token})),
            true,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let cookie = a.cookie();
    let me = send(
        &app,
        request(Method::GET, "/auth/me", Some(&cookie), None, false),
    )
    .await;
    assert_eq!(me.status, 200);
    assert!(me.body["groups"].as_array().unwrap().is_empty());

    // Without a session layer the session endpoints fail closed.
    let app =
        router(AppState::builder(Config::from_lookup(|k| v.get(k).cloned()).unwrap()).build());
    let a = send(&app, request(Method::GET, "/auth/token", None, None, false)).await;
    assert_eq!(a.status, 503);
}

#[tokio::test]
async fn a_store_outage_is_a_503_never_no_session() {
    let idp = start_idp_with(IdpConfig::default()).await.unwrap();
    // Nothing listens on port 1: every DynamoDB call fails to connect.
    let v = vars(
        &idp,
        Client::Public,
        &[
            ("SESSION_BACKEND", "dynamodb"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:1"),
            ("DYNAMODB_TIMEOUT_MS", "500"),
        ],
    );
    let config = Config::from_lookup(|k| v.get(k).cloned()).unwrap();
    let sessions = Arc::new(Sessions::from_config(&config, |k| v.get(k).cloned()).unwrap());
    let value = sessions
        .cookies()
        .keys
        .sign(&SessionId::generate().unwrap(), unix_now() + 3600)
        .unwrap();
    let cookie = format!("{}={value}", sessions.cookies().name());
    let state = l42_core::oauth::random_state().unwrap();
    let bound = login_binding(&sessions, &state);
    let app = router(AppState::builder(config).sessions(sessions).build());
    for path in ["/auth/token", "/auth/me", "/auth/login"] {
        let a = send(&app, request(Method::GET, path, Some(&cookie), None, false)).await;
        assert_eq!(a.status, 503, "{path}");
        assert!(
            a.header("set-cookie").is_none(),
            "{path}: the cookie is kept"
        );
    }
    let t = mint(&idp, "user", PUBLIC_CLIENT).unwrap();
    let a = send(
        &app,
        request(
            Method::POST,
            "/auth/session",
            None,
            Some(&json!({"access_token": t.access_token, "id_token": t.id_token})),
            true,
        ),
    )
    .await;
    assert_eq!(a.status, 503);
    let a = send(
        &app,
        request(
            Method::POST,
            "/auth/logout",
            Some(&cookie),
            Some(&json!({})),
            true,
        ),
    )
    .await;
    assert_eq!(
        a.status, 503,
        "a session that cannot be deleted is not reported as logged out"
    );
    let a = send(
        &app,
        request(
            Method::GET,
            &format!("/auth/callback?code=x&state={state}"),
            Some(&format!("{cookie}; {bound}")),
            None,
            false,
        ),
    )
    .await;
    assert_eq!(error_of(&a), "unavailable");
}

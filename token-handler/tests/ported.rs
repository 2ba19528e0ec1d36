//! The cases the public token-handler ("OAuth agent") test suites check, in l42's terms,
//! against the running server (loopback, reqwest, the dev identity provider). Cases an
//! existing test already proves exactly are not repeated here; `token-handler/README.md`
//! ("Ported cases") names the test for each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::stack::{EVIL, Options, Stack};
use common::{FRONTEND, SetCookie, query_param};
use reqwest::Method;
use serde_json::json;

/// An untrusted origin: its preflight is not granted (so a browser never sends it the
/// custom header, and every state-changing call fails the CSRF check), its reads of
/// `/token` get no CORS grant (the browser hides the answer), and a login it starts is
/// bound to `FRONTEND_URL`, never to it. (Suites of agents that refuse untrusted origins
/// outright expect a 401 here; l42 leaves that to the browser's CORS and the custom
/// header, as RFC 10017 6.1.3.3.2 describes, because a server cannot trust `Origin` from
/// non-browser clients anyway.)
#[tokio::test]
async fn an_untrusted_origin_is_not_trusted() {
    let stack = Stack::start(Options::default().var("CALLBACK_USE_ORIGIN", "true")).await;
    let cookie = stack.login("user").await;
    let c = Some(cookie.as_str());
    for path in ["/auth/logout", "/auth/session", "/auth/authorize"] {
        let pre = stack
            .send(
                Method::OPTIONS,
                path,
                None,
                &[
                    ("origin", EVIL),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "x-l42-csrf"),
                ],
                None,
                false,
            )
            .await;
        assert!(
            pre.header("access-control-allow-origin").is_none(),
            "{path}"
        );
        assert!(
            pre.header("access-control-allow-headers").is_none(),
            "{path}"
        );
        // What the browser can send without a preflight: no custom header.
        let simple = stack
            .send(
                Method::POST,
                path,
                c,
                &[("origin", EVIL), ("content-type", "text/plain")],
                None,
                false,
            )
            .await;
        assert_eq!(simple.status, 403, "{path}");
        assert_eq!(simple.body, json!({"error": "CSRF validation failed"}));
        assert!(simple.header("access-control-allow-origin").is_none());
    }
    let read = stack
        .send(
            Method::GET,
            "/auth/token",
            c,
            &[("origin", EVIL)],
            None,
            false,
        )
        .await;
    assert!(read.header("access-control-allow-origin").is_none());
    assert!(read.header("access-control-allow-credentials").is_none());
    // A login from the untrusted origin comes back to FRONTEND_URL.
    let start = stack
        .send(
            Method::GET,
            "/auth/login",
            None,
            &[("origin", EVIL)],
            None,
            false,
        )
        .await;
    let authorize = start.header("location").unwrap();
    assert_eq!(
        query_param(authorize, "redirect_uri").as_deref(),
        Some("http://localhost:3000/auth/callback")
    );
    // The session survived all of it.
    assert_eq!(stack.get("/auth/token", c).await.status, 200);
}

/// No cookie at all: every endpoint that needs a session answers 401
/// `{"error":"Not authenticated"}` (through the real session layer, before any body is
/// read) and sets no cookie; logout still answers 200 and clears.
#[tokio::test]
async fn a_missing_cookie_is_401_on_every_session_endpoint() {
    let stack = Stack::start(Options::default()).await;
    for a in [
        stack.get("/auth/token", None).await,
        stack.get("/auth/me", None).await,
        stack
            .post("/auth/authorize", None, &json!({"action": "read:own"}))
            .await,
        stack
            .post("/auth/validate-credential", None, &json!({"not": "read"}))
            .await,
    ] {
        assert_eq!(a.status, 401, "{}", a.text);
        assert_eq!(a.body, json!({"error": "Not authenticated"}));
        assert!(a.set_cookie().is_none());
    }
    // A cookie header without the session cookie is the same.
    let a = stack.get("/auth/me", Some("other=1; theme=dark")).await;
    assert_eq!(a.status, 401);
    let out = stack.post("/auth/logout", None, &json!({})).await;
    assert_eq!(out.status, 200);
    assert!(SetCookie::parse(out.set_cookie().unwrap()).clears());
}

/// An expired access token takes the refresh path on every endpoint that uses the
/// session, not only `/token`: one refresh grant each, new tokens stored, the cookie
/// left as it is.
#[tokio::test]
async fn an_expired_access_token_takes_the_refresh_path() {
    let stack = Stack::start(Options::default().short_lived()).await;
    let cookie = stack.login("admin").await;
    let c = Some(cookie.as_str());
    let body = json!({"action": "admin:manage"});
    for (method, path) in [
        (Method::GET, "/auth/token"),
        (Method::GET, "/auth/me"),
        (Method::POST, "/auth/authorize"),
    ] {
        let before = stack.stored(&cookie).await.unwrap();
        stack.idp.reset_stats();
        let a = stack
            .send(
                method.clone(),
                path,
                c,
                &[],
                (method == Method::POST).then_some(&body),
                true,
            )
            .await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        assert!(a.set_cookie().is_none(), "{path}");
        assert_eq!(stack.idp.stats().grant("refresh_token"), 1, "{path}");
        let after = stack.stored(&cookie).await.unwrap();
        assert_ne!(
            after.tokens.access_token, before.tokens.access_token,
            "{path}"
        );
        assert!(after.version > before.version);
        stack.remember_current(&cookie).await;
        if path == "/auth/token" {
            assert_eq!(a.body["access_token"], json!(after.tokens.access_token));
        }
        if path == "/auth/authorize" {
            assert_eq!(a.body["authorized"], true);
        }
    }
}

/// Logout clears the cookie whatever the request holds: a live session (destroyed), the
/// same cookie again (already gone), a tampered cookie, none at all.
#[tokio::test]
async fn logout_clears_the_cookie_every_time() {
    let stack = Stack::start(Options::default().var("SESSION_HTTPS_ONLY", "true")).await;
    let cookie = stack.login("user").await;
    let (name, value) = cookie.split_once('=').unwrap();
    let mut bad_value = value.to_owned();
    let last = bad_value.pop().unwrap();
    bad_value.push(if last == 'A' { 'B' } else { 'A' });
    let tampered = format!("{name}={bad_value}");
    for (what, c) in [
        ("live", Some(cookie.as_str())),
        ("again", Some(cookie.as_str())),
        ("tampered", Some(tampered.as_str())),
        ("none", None),
    ] {
        let out = stack.post("/auth/logout", c, &json!({})).await;
        assert_eq!(out.status, 200, "{what}");
        assert_eq!(out.body["success"], true, "{what}");
        let clear = SetCookie::parse(out.set_cookie().unwrap());
        assert!(clear.clears(), "{what}");
        assert_eq!(clear.name, "__Host-l42_session");
        assert_eq!(out.header("cache-control"), Some("no-store"));
    }
    assert!(stack.stored(&cookie).await.is_none());
}

/// An authorization code that has expired (the provider's clock moved past its 5 minutes)
/// is refused at the callback: `invalid_grant`, no cookie.
#[tokio::test]
async fn an_expired_authorization_code_is_refused() {
    let stack = Stack::start(Options::default()).await;
    let authorize = stack.start_login().await;
    let callback = stack.idp.sign_in(&authorize, "user").await.unwrap();
    stack.idp.clock().advance(Duration::from_secs(6 * 60));
    let a = stack
        .get(callback.strip_prefix(FRONTEND).unwrap(), None)
        .await;
    assert_eq!(a.callback_error(), "invalid_grant");
    assert!(a.set_cookie().is_none());
}

/// A code issued for one login presented with another login's state: the code was bound
/// to the first login's PKCE challenge and redirect, so the exchange fails and no session
/// is made, and the second login's state is spent.
#[tokio::test]
async fn a_code_with_another_logins_state_is_refused() {
    let stack = Stack::start(Options::default()).await;
    let first = stack.start_login().await;
    let second = stack.start_login().await;
    let callback = stack.idp.sign_in(&first, "user").await.unwrap();
    let code = query_param(&callback, "code").unwrap();
    let state = query_param(&second, "state").unwrap();
    let a = stack
        .get(&format!("/auth/callback?code={code}&state={state}"), None)
        .await;
    assert_eq!(a.callback_error(), "invalid_grant");
    assert!(a.set_cookie().is_none());
}

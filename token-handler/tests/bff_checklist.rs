//! The backend-for-frontend checklist of RFC 10017 ("OAuth 2.0 for Browser-Based
//! Applications", draft-ietf-oauth-browser-based-apps-26), section 6.1 and what 6.2 adds
//! for an endpoint that hands the access token to the page: one test per line of the
//! table in `token-handler/README.md`, named after the section.
//!
//! Everything is observed from outside: the router served over loopback, reqwest as the
//! browser, the dev identity provider as Cognito. Cookie attributes are read from the
//! `Set-Cookie` headers the running server sends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::{Arc, Mutex};

use common::stack::{Backend, Client, EVIL, Options, Stack};
use common::{FRONTEND, OTHER_ORIGIN, SetCookie, query_param};
use l42_core::Pkce;
use l42_idp::{FaultEndpoint, FaultKind};
use reqwest::Method;
use serde_json::json;

const MONTH_SECS: i64 = 30 * 86_400;

/// A login's `Set-Cookie` and a logout's, from a server configured with `vars`.
async fn login_and_logout_cookies(vars: &[(&'static str, &str)]) -> (SetCookie, SetCookie) {
    let mut options = Options::default();
    for (k, v) in vars {
        options = options.var(k, v);
    }
    let stack = Stack::start(options).await;
    let login = stack.login_as("user", None).await;
    assert_eq!(login.status, 303);
    let set = SetCookie::parse(login.set_cookie().unwrap());
    let cookie = login.cookie();
    stack.remember_current(&cookie).await;
    let out = stack.post("/auth/logout", Some(&cookie), &json!({})).await;
    assert_eq!(out.status, 200);
    let clear = SetCookie::parse(out.set_cookie().unwrap());
    (set, clear)
}

/// The production settings: HTTPS-only cookies (the default inside Lambda).
const HTTPS: [(&str, &str); 1] = [("SESSION_HTTPS_ONLY", "true")];

// ---------------------------------------------------------------------------------------
// 6.1.3.1 The authorization code grant.

/// 6.1.3.1: "the BFF MUST act as a confidential client by establishing credentials with
/// the authorization server". The dev identity provider refuses the confidential client's
/// code exchange without its secret, so a completed login proves the secret was sent; a
/// wrong secret fails the login.
#[tokio::test]
async fn s6_1_3_1_the_bff_is_a_confidential_client() {
    let stack = Stack::start(Options::default().client(Client::Confidential)).await;
    let ok = stack.login_as("user", None).await;
    assert_eq!(ok.status, 303, "{:?}", ok.header("location"));
    assert_eq!(ok.header("location"), Some("http://localhost:3000/"));
    let cookie = ok.cookie();
    stack.remember_current(&cookie).await;
    assert_eq!(stack.get("/auth/me", Some(&cookie)).await.status, 200);
    assert_eq!(stack.idp.stats().grant("authorization_code"), 1);

    let wrong = Stack::start(Options::default().client(Client::ConfidentialWrongSecret)).await;
    let failed = wrong.login_as("user", None).await;
    assert_eq!(failed.callback_error(), "exchange_failed");
    assert!(failed.set_cookie().is_none());
}

/// 6.1.3.1: "the BFF MUST use the OAuth 2.0 Authorization Code grant" (RFC 9700 2.1.1:
/// with PKCE, S256). The login is `response_type=code` with an S256 challenge of a
/// verifier that stays on the server; the only grants the BFF ever sends are
/// `authorization_code` and `refresh_token`.
#[tokio::test]
async fn s6_1_3_1_authorization_code_grant_with_pkce_s256() {
    let stack = Stack::start(Options::default().short_lived()).await;
    let start = stack.get("/auth/login", None).await;
    assert_eq!(start.status, 302);
    assert!(
        start.set_cookie().is_none(),
        "no login state in the browser"
    );
    let authorize = start.header("location").unwrap();
    assert_eq!(
        query_param(authorize, "response_type").as_deref(),
        Some("code")
    );
    assert_eq!(
        query_param(authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query_param(authorize, "code_verifier").is_none());
    let challenge = query_param(authorize, "code_challenge").unwrap();
    let state = query_param(authorize, "state").unwrap();
    // The verifier is held server-side, under the state; the challenge is its S256.
    let pending = stack.sessions.logins().take(&state).await.unwrap().unwrap();
    assert_eq!(Pkce::challenge_for(&pending.code_verifier), challenge);
    assert!(!authorize.contains(&pending.code_verifier));

    // A whole login and a refresh: the provider saw only the code and refresh grants.
    stack.idp.reset_stats();
    let cookie = stack.login("user").await;
    assert_eq!(stack.get("/auth/token", Some(&cookie)).await.status, 200);
    stack.remember_current(&cookie).await;
    let stats = stack.idp.stats();
    assert_eq!(stats.grant("authorization_code"), 1);
    assert_eq!(stats.grant("refresh_token"), 1);
    assert_eq!(stats.grant("other"), 0);
}

/// 6.1.3.1 with RFC 9700 2.1.1 (CSRF on the redirect): the `state` is kept server-side,
/// works once, and must come back to the origin the login started from.
#[tokio::test]
async fn s6_1_3_1_state_is_server_side_single_use_and_bound_to_the_origin() {
    let stack = Stack::start(Options::default().var("CALLBACK_USE_ORIGIN", "true")).await;
    // A state the server never issued, even with a valid binding for it (made here with
    // the server's secret): there is no pending login.
    let forged = l42_core::oauth::random_state().unwrap();
    let bound = format!(
        "l42_login={}",
        stack.sessions.cookies().keys.login_binding(&forged)
    );
    let a = stack
        .get(
            &format!("/auth/callback?code=abc&state={forged}"),
            Some(&bound),
        )
        .await;
    assert_eq!(a.callback_error(), "invalid_state");

    let authorize = stack.start_login().await;
    let binding = stack.jar.cookie_header(None).unwrap();
    let callback = stack.idp.sign_in(&authorize, "user").await.unwrap();
    let path = callback.strip_prefix(FRONTEND).unwrap();
    // The right state at another allowed origin.
    let foreign = stack
        .send(
            Method::GET,
            path,
            None,
            &[("x-forwarded-host", "app.example.com")],
            None,
            false,
        )
        .await;
    assert_eq!(foreign.callback_error(), "origin_mismatch");
    assert!(
        foreign
            .header("location")
            .unwrap()
            .starts_with(OTHER_ORIGIN)
    );
    // The state was taken by that attempt: it is single use, even replayed with its
    // binding (which the attempt's answer removed from the browser).
    assert!(SetCookie::parse(foreign.login_set_cookie().unwrap()).clears());
    let again = stack.get(path, Some(&binding)).await;
    assert_eq!(again.callback_error(), "invalid_state");

    // A fresh login completes once, and not twice.
    let authorize = stack.start_login().await;
    let binding = stack.jar.cookie_header(None).unwrap();
    let callback = stack.idp.sign_in(&authorize, "user").await.unwrap();
    let path = callback.strip_prefix(FRONTEND).unwrap();
    let ok = stack.get(path, None).await;
    assert_eq!(ok.status, 303);
    stack.remember_current(&ok.cookie()).await;
    assert_eq!(
        stack.get(path, Some(&binding)).await.callback_error(),
        "invalid_state"
    );
}

/// 6.1.3.1 with RFC 9700 4.7 and RFC 6749 10.12 (login CSRF), the attack of the review:
/// an attacker starts a login, signs in as themselves at the identity provider, and
/// instead of following the callback URL gets a victim to open it. Before, the callback
/// only checked that the state existed, so the victim's browser was signed in as the
/// attacker (replacing the victim's own session). Now the state is bound to the browser
/// that started the login (`{P}/login` sets the binding cookie): in the victim's browser
/// the callback finds no binding, signs nobody in, leaves the victim's session as it was
/// and does not even use up the attacker's state.
#[tokio::test]
async fn s6_1_3_1_the_login_is_bound_to_the_browser_that_started_it() {
    let stack = Stack::start(Options::default()).await;
    let victim = stack.login("user").await;
    let victim_sub = stack.get("/auth/me", Some(&victim)).await.body["sub"].clone();

    // The attacker's browser: a login of their own, up to the callback URL.
    stack.jar.clear();
    let start = stack.get("/auth/login", None).await;
    let set = SetCookie::parse(start.login_set_cookie().expect("the binding cookie"));
    assert_eq!(set.name, "l42_login");
    for attribute in ["httponly", "path", "max-age", "samesite"] {
        assert!(set.has(attribute), "{attribute}");
    }
    assert_eq!(set.get("samesite"), Some("Lax"));
    assert_eq!(set.get("max-age"), Some("600"));
    assert!(!set.has("domain"));
    let attacker_binding = format!("{}={}", set.name, set.value);
    let authorize = start.header("location").unwrap().to_owned();
    let callback = stack.idp.sign_in(&authorize, "admin").await.unwrap();
    let path = callback.strip_prefix(FRONTEND).unwrap().to_owned();

    // The victim's browser opens it: no binding cookie at all, then one of the victim's
    // own logins in progress.
    for victim_started_a_login in [false, true] {
        stack.jar.clear();
        if victim_started_a_login {
            stack.start_login().await;
        }
        let a = stack.get(&path, Some(&victim)).await;
        let expected = if victim_started_a_login {
            "login_cookie_mismatch"
        } else {
            "login_cookie_missing"
        };
        assert_eq!(a.callback_error(), expected);
        assert!(
            a.set_cookie().is_none(),
            "no session for the victim's browser"
        );
        assert!(
            a.login_set_cookie().is_none(),
            "the victim's own login untouched"
        );
        let me = stack.get("/auth/me", Some(&victim)).await;
        assert_eq!(me.status, 200);
        assert_eq!(me.body["sub"], victim_sub, "still the victim's session");
    }

    // Nothing was used up: the attacker's own browser can still finish its login.
    stack.jar.clear();
    let own = stack.get(&path, Some(&attacker_binding)).await;
    assert_eq!(own.status, 303, "{:?}", own.header("location"));
    stack.remember_current(&own.cookie()).await;
    assert!(SetCookie::parse(own.login_set_cookie().unwrap()).clears());
}

/// Several tabs of one browser may each start a login: the binding cookie keeps the latest
/// four, each callback removes its own, and a fifth login pushes out the oldest. One
/// cookie whatever a page does, so `{P}/login` cannot fill the browser's cookie jar.
#[tokio::test]
async fn s6_1_3_1_several_tabs_may_log_in_at_once() {
    let stack = Stack::start(Options::default()).await;
    let mut callbacks = Vec::new();
    for _ in 0..5 {
        let authorize = stack.start_login().await;
        let callback = stack.idp.sign_in(&authorize, "user").await.unwrap();
        callbacks.push(callback.strip_prefix(FRONTEND).unwrap().to_owned());
    }
    let jar = stack.jar.cookie_header(None).unwrap();
    assert_eq!(jar.matches('.').count(), 3, "four bindings: {jar}");
    assert_eq!(
        stack.get(&callbacks[0], None).await.callback_error(),
        "login_cookie_mismatch",
        "the oldest gave way"
    );
    for path in callbacks[1..].iter().rev() {
        let ok = stack.get(path, None).await;
        assert_eq!(ok.status, 303, "{:?}", ok.header("location"));
        stack.remember_current(&ok.cookie()).await;
    }
    assert_eq!(
        stack.jar.cookie_header(None),
        None,
        "the last callback cleared it"
    );
}

// ---------------------------------------------------------------------------------------
// 6.1.3.2 Cookie security.

/// 6.1.3.2: "The BFF MUST enable the Secure flag for its cookies": with
/// `SESSION_HTTPS_ONLY=true`, and by default inside Lambda, on the login cookie and on
/// the clearing one.
#[tokio::test]
async fn s6_1_3_2_cookie_is_secure() {
    let (set, clear) = login_and_logout_cookies(&HTTPS).await;
    assert!(set.has("secure") && clear.has("secure"));
    // Inside Lambda (AWS_LAMBDA_RUNTIME_API set) Secure is the default.
    let (set, clear) = login_and_logout_cookies(&[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")]).await;
    assert!(set.has("secure") && clear.has("secure"));
}

/// 6.1.3.2: "The BFF MUST enable the HttpOnly flag for its cookies", whatever the other
/// settings, on every cookie it sets or clears.
#[tokio::test]
async fn s6_1_3_2_cookie_is_http_only() {
    for vars in [&HTTPS[..], &[][..]] {
        let (set, clear) = login_and_logout_cookies(vars).await;
        assert!(set.has("httponly"), "{vars:?}");
        assert!(clear.has("httponly"), "{vars:?}");
    }
}

/// 6.1.3.2: "The BFF SHOULD enable the SameSite=Strict flag": `SESSION_SAME_SITE=strict`
/// does. The default is Lax, deliberately (see the README: the protocol's default, so a
/// top-level navigation to the app from another site still finds the session).
#[tokio::test]
async fn s6_1_3_2_cookie_is_same_site_strict_when_configured() {
    let (set, clear) = login_and_logout_cookies(&[
        ("SESSION_HTTPS_ONLY", "true"),
        ("SESSION_SAME_SITE", "strict"),
    ])
    .await;
    assert_eq!(set.get("samesite"), Some("Strict"));
    assert_eq!(clear.get("samesite"), Some("Strict"));
    let (set, _) = login_and_logout_cookies(&HTTPS).await;
    assert_eq!(set.get("samesite"), Some("Lax"), "the documented default");
}

/// 6.1.3.2: "The BFF SHOULD set its cookie path to /".
#[tokio::test]
async fn s6_1_3_2_cookie_path_is_root() {
    let (set, clear) = login_and_logout_cookies(&HTTPS).await;
    assert_eq!(set.get("path"), Some("/"));
    assert_eq!(clear.get("path"), Some("/"));
    let (set, clear) = login_and_logout_cookies(&[]).await;
    assert_eq!(set.get("path"), Some("/"));
    assert_eq!(clear.get("path"), Some("/"));
}

/// 6.1.3.2: "The BFF SHOULD NOT set the Domain attribute": no `Domain` unless
/// `COOKIE_DOMAIN` asks for one (then the cookie is `__Secure-`, not `__Host-`).
#[tokio::test]
async fn s6_1_3_2_cookie_has_no_domain() {
    for vars in [&HTTPS[..], &[][..]] {
        let (set, clear) = login_and_logout_cookies(vars).await;
        assert!(!set.has("domain") && !clear.has("domain"), "{vars:?}");
    }
    let (set, _) = login_and_logout_cookies(&[
        ("SESSION_HTTPS_ONLY", "true"),
        ("COOKIE_DOMAIN", "example.com"),
    ])
    .await;
    assert_eq!(set.get("domain"), Some("example.com"));
    assert_eq!(set.name, "__Secure-l42_session");
}

/// 6.1.3.2: "The BFF SHOULD start the name of its cookies with the __Host prefix", which
/// requires Secure, Path=/ and no Domain (all checked here on the same header).
#[tokio::test]
async fn s6_1_3_2_cookie_is_host_prefixed() {
    let (set, clear) = login_and_logout_cookies(&HTTPS).await;
    for c in [&set, &clear] {
        assert_eq!(c.name, "__Host-l42_session");
        assert!(c.has("secure"));
        assert_eq!(c.get("path"), Some("/"));
        assert!(!c.has("domain"));
    }
    assert!(clear.clears());
    // Over plain HTTP (local development) a __Host- cookie would be refused by the
    // browser: the name drops the prefix.
    let (set, _) = login_and_logout_cookies(&[]).await;
    assert_eq!(set.name, "l42_session");
}

/// 6.1.3.2: "when using client-side sessions that contain access tokens ... the BFF SHOULD
/// encrypt its cookie contents". Sessions are server-side: the cookie is an opaque id, an
/// expiry and a MAC, and holds no part of any token.
#[tokio::test]
async fn s6_1_3_2_cookie_holds_no_token() {
    let stack = Stack::start(Options::default().var("SESSION_HTTPS_ONLY", "true")).await;
    let cookie = stack.login("user").await;
    let value = cookie.split_once('=').unwrap().1;
    let session = stack.stored(&cookie).await.unwrap();
    let parts: Vec<&str> = value.split('.').collect();
    assert_eq!(parts.len(), 4, "version, id, expiry, MAC: {value}");
    assert_eq!(parts[0], "v1");
    assert!(value.len() < 160, "{} bytes", value.len());
    assert!(!value.contains("eyJ"), "no JWT segment");
    let t = &session.tokens;
    for token in [
        Some(&t.access_token),
        Some(&t.id_token),
        t.refresh_token.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        for segment in token.split('.').filter(|s| s.len() >= 8) {
            assert!(!value.contains(segment));
        }
    }
}

/// 6.1.3.2 (the __Host- prefix "counters ... session fixation"; RFC 9700 4.7): a new
/// session id at every login, the previous session deleted.
#[tokio::test]
async fn s6_1_3_2_login_rotates_the_session_id() {
    let stack = Stack::start(Options::default()).await;
    let first = stack.login("user").await;
    let second = stack.login_as("editor", Some(&first)).await;
    assert_eq!(second.status, 303);
    let second = second.cookie();
    stack.remember_current(&second).await;
    assert_ne!(stack.session_id(&first), stack.session_id(&second));
    assert!(stack.stored(&first).await.is_none());
    assert_eq!(stack.get("/auth/me", Some(&first)).await.status, 401);
    let me = stack.get("/auth/me", Some(&second)).await;
    assert_eq!(me.body["groups"], json!(["editor"]));
}

// ---------------------------------------------------------------------------------------
// 6.1.3.3 CSRF.

/// 6.1.3.3: "The BFF MUST implement a proper CSRF defense"; 6.1.3.3.2: "the BFF SHOULD
/// require that the browser-based application includes a custom request header ... the
/// BFF MUST ensure that every incoming request carries this static header". Every
/// state-changing request without `X-L42-CSRF: 1` is refused before it does anything.
#[tokio::test]
async fn s6_1_3_3_2_every_state_changing_request_needs_the_custom_header() {
    let stack = Stack::start(Options::default()).await;
    let cookie = stack.login("user").await;
    let body = json!({"action": "read:own"});
    for path in [
        "/auth/session",
        "/auth/logout",
        "/auth/authorize",
        "/auth/validate-credential",
        "/auth/refresh",
        "/auth/token",
        "/auth/nowhere",
    ] {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            for value in [None, Some("0"), Some("yes")] {
                let headers: Vec<(&str, &str)> =
                    value.map(|v| ("x-l42-csrf", v)).into_iter().collect();
                let a = stack
                    .send(
                        method.clone(),
                        path,
                        Some(&cookie),
                        &headers,
                        Some(&body),
                        false,
                    )
                    .await;
                assert_eq!(a.status, 403, "{method} {path} {value:?}");
                assert_eq!(a.body, json!({"error": "CSRF validation failed"}));
                assert!(a.set_cookie().is_none());
            }
        }
    }
    // Nothing happened: the refused logout left the session alive.
    assert_eq!(stack.get("/auth/token", Some(&cookie)).await.status, 200);
    assert!(stack.stored(&cookie).await.is_some());
}

/// 6.1.3.3.2: CORS as the CSRF defense: the custom header forces a preflight, and only a
/// listed origin passes it — exact origin, credentials only for it, never `*`.
#[tokio::test]
async fn s6_1_3_3_2_cors_is_an_exact_origin_allow_list() {
    let stack = Stack::start(Options::default()).await;
    let preflight = |origin: &'static str| {
        let stack = &stack;
        async move {
            stack
                .send(
                    Method::OPTIONS,
                    "/auth/logout",
                    None,
                    &[
                        ("origin", origin),
                        ("access-control-request-method", "POST"),
                        ("access-control-request-headers", "content-type,x-l42-csrf"),
                    ],
                    None,
                    false,
                )
                .await
        }
    };
    for origin in [FRONTEND, OTHER_ORIGIN] {
        let a = preflight(origin).await;
        assert_eq!(a.header("access-control-allow-origin"), Some(origin));
        assert_eq!(a.header("access-control-allow-credentials"), Some("true"));
        let allowed = a.header("access-control-allow-headers").unwrap();
        assert!(allowed.contains("x-l42-csrf"), "{allowed}");
    }
    for origin in [
        EVIL,
        "http://localhost:3000.evil.example",
        "http://localhost:3001",
        "https://localhost:3000",
        "null",
    ] {
        let a = preflight(origin).await;
        assert!(
            a.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
        assert!(a.header("access-control-allow-credentials").is_none());
        assert!(a.header("access-control-allow-headers").is_none());
        assert!(a.header("access-control-allow-methods").is_none());
    }
    // Actual responses: the same rule, `Vary: Origin`, never `*`.
    for (origin, listed) in [(FRONTEND, true), (EVIL, false)] {
        let a = stack
            .send(
                Method::GET,
                "/health",
                None,
                &[("origin", origin)],
                None,
                false,
            )
            .await;
        let vary = a.header("vary").unwrap_or("").to_ascii_lowercase();
        assert!(vary.contains("origin"), "{vary}");
        assert_ne!(a.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            a.header("access-control-allow-origin").is_some(),
            listed,
            "{origin}"
        );
    }
}

/// 6.2.3.3: for a backend that hands out access tokens, the CSRF defenses apply to "the
/// endpoint ... where the application can obtain its access tokens". `GET {P}/token` has
/// no side effect a forger gains from; what matters is who can read it: only a listed
/// origin gets the CORS grant, and the answer is never cached.
#[tokio::test]
async fn s6_2_3_3_the_token_endpoint_is_readable_only_by_listed_origins() {
    let stack = Stack::start(Options::default()).await;
    let cookie = stack.login("user").await;
    let listed = stack
        .send(
            Method::GET,
            "/auth/token",
            Some(&cookie),
            &[("origin", FRONTEND)],
            None,
            false,
        )
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.header("access-control-allow-origin"), Some(FRONTEND));
    assert_eq!(listed.header("cache-control"), Some("no-store"));
    let foreign = stack
        .send(
            Method::GET,
            "/auth/token",
            Some(&cookie),
            &[("origin", EVIL)],
            None,
            false,
        )
        .await;
    assert!(foreign.header("access-control-allow-origin").is_none());
    assert!(foreign.header("access-control-allow-credentials").is_none());
    assert_eq!(foreign.header("cache-control"), Some("no-store"));
}

// ---------------------------------------------------------------------------------------
// 6.1 / 6.2: tokens and the browser.

/// 6.1 ("avoiding the direct exposure of any tokens to the browser") as l42 deliberately
/// relaxes it (6.2, token-mediating, for `GET {P}/token` only): the access and id tokens
/// appear in `/token`'s body and nowhere else; no header (cookie, redirect) of any
/// endpoint carries a token; the refresh token appears nowhere (checked on every answer).
#[tokio::test]
async fn s6_1_tokens_reach_the_browser_only_from_token() {
    let stack = Stack::start(Options::default()).await;
    let cookie = stack.login("admin").await;
    let session = stack.stored(&cookie).await.unwrap();
    let tokens = [
        session.tokens.access_token.clone(),
        session.tokens.id_token.clone(),
    ];
    let c = Some(cookie.as_str());
    let mut answers = vec![
        ("/health", stack.get("/health", c).await),
        ("/me", stack.get("/auth/me", c).await),
        ("/login", stack.get("/auth/login", c).await),
        (
            "/callback error",
            stack.get("/auth/callback?error=access_denied", c).await,
        ),
        (
            "/authorize",
            stack
                .post("/auth/authorize", c, &json!({"action": "read:content"}))
                .await,
        ),
        (
            "/validate-credential",
            stack.post("/auth/validate-credential", c, &json!({})).await,
        ),
        (
            "/session refused",
            stack
                .post(
                    "/auth/session",
                    c,
                    &json!({"access_token": tokens[1], "id_token": tokens[0]}),
                )
                .await,
        ),
    ];
    let token = stack.get("/auth/token", c).await;
    assert_eq!(token.status, 200);
    assert_eq!(token.body["access_token"], json!(tokens[0]));
    assert_eq!(token.body["id_token"], json!(tokens[1]));
    assert_eq!(
        token.body.as_object().unwrap().len(),
        3,
        "access_token, id_token, auth_method: {}",
        token.body
    );
    assert!(!token.all_headers().contains(&tokens[0]));
    answers.push(("/logout", stack.post("/auth/logout", c, &json!({})).await));
    for (what, a) in &answers {
        let everything = format!("{}{}", a.all_headers(), a.text);
        for t in &tokens {
            assert!(!everything.contains(t.as_str()), "a token in {what}");
        }
    }
}

/// The refresh token (and the access token, the cookie value, the session secret) never
/// appears in any log line — through logins, refreshes, a dead refresh token and logout.
#[tokio::test]
async fn s6_1_refresh_token_never_in_a_log_line() {
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
    let captured = Captured::default();
    let writer = captured.clone();
    // The only test of this binary that installs a subscriber; lines of tests running
    // beside it land here too, which only widens the check.
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let stack = Stack::start(Options::default().short_lived()).await;
    let mut secrets = vec![common::stack::SECRET.to_owned()];
    let cookie = stack.login("admin").await;
    let first = stack.stored(&cookie).await.unwrap();
    secrets.push(cookie.split_once('=').unwrap().1.to_owned());
    secrets.push(first.tokens.access_token.clone());
    secrets.push(first.tokens.refresh_token.clone().unwrap());
    // A refresh (the token rotates).
    assert_eq!(stack.get("/auth/token", Some(&cookie)).await.status, 200);
    let refreshed = stack.stored(&cookie).await.unwrap();
    stack.remember_current(&cookie).await;
    secrets.push(refreshed.tokens.access_token.clone());
    secrets.push(refreshed.tokens.refresh_token.clone().unwrap());
    // A dead refresh token ends the session.
    stack
        .idp
        .faults()
        .inject(FaultEndpoint::Token, FaultKind::InvalidGrant, 1);
    assert_eq!(stack.get("/auth/me", Some(&cookie)).await.status, 401);
    // Another session, logged out.
    let other = stack.login("user").await;
    let other_session = stack.stored(&other).await.unwrap();
    secrets.push(other_session.tokens.refresh_token.clone().unwrap());
    secrets.push(other.split_once('=').unwrap().1.to_owned());
    assert_eq!(
        stack
            .post("/auth/logout", Some(&other), &json!({}))
            .await
            .status,
        200
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("session refresh failed"),
        "the failure is logged"
    );
    assert!(logs.contains("session destroyed"), "the logout is logged");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
    }
}

// ---------------------------------------------------------------------------------------
// 6.1.2.2 Refresh tokens, 6.1.2.1 logout.

/// 6.1.2.2: "when the BFF learns that a refresh token for an active session is no longer
/// valid, it also makes sense to invalidate the session" — on every endpoint that
/// refreshes: the session is deleted and the answer clears the cookie.
#[tokio::test]
async fn s6_1_2_2_session_ends_when_the_refresh_token_is_invalid() {
    for backend in [Backend::Memory, Backend::DynamoDb] {
        let stack = Stack::start(Options::default().backend(backend).short_lived()).await;
        for (method, path) in [
            (Method::GET, "/auth/token"),
            (Method::GET, "/auth/me"),
            (Method::POST, "/auth/authorize"),
            (Method::POST, "/auth/validate-credential"),
        ] {
            let cookie = stack.login("user").await;
            stack
                .idp
                .faults()
                .inject(FaultEndpoint::Token, FaultKind::InvalidGrant, 1);
            let body = json!({"action": "read:own"});
            let a = stack
                .send(
                    method.clone(),
                    path,
                    Some(&cookie),
                    &[],
                    (method == Method::POST).then_some(&body),
                    true,
                )
                .await;
            assert_eq!(a.status, 401, "{backend:?} {path}: {}", a.text);
            assert_eq!(a.body, json!({"error": "Not authenticated"}));
            let clear = SetCookie::parse(a.set_cookie().expect("the cookie is cleared"));
            assert!(clear.clears(), "{backend:?} {path}");
            assert_eq!(clear.name, cookie.split_once('=').unwrap().0);
            assert!(stack.stored(&cookie).await.is_none(), "{backend:?} {path}");
            assert_eq!(stack.get("/auth/token", Some(&cookie)).await.status, 401);
        }
    }
}

/// 6.1.2.2: the session lives as long as the refresh token can (30 days, Cognito's
/// default refresh-token lifetime and the dev provider's), never longer.
#[tokio::test]
async fn s6_1_2_2_session_lifetime_is_the_refresh_token_lifetime() {
    let stack = Stack::start(Options::default()).await;
    let a = stack.login_as("user", None).await;
    let set = SetCookie::parse(a.set_cookie().unwrap());
    let max_age: i64 = set.get("max-age").unwrap().parse().unwrap();
    assert!(
        (MONTH_SECS - 5..=MONTH_SECS).contains(&max_age),
        "{max_age}"
    );
    let session = stack.stored(&a.cookie()).await.unwrap();
    stack.remember_current(&a.cookie()).await;
    assert_eq!(session.expires_at - session.created_at, MONTH_SECS);
}

/// 6.1.2.1 (the logout endpoint) with RFC 7009: logout destroys the session, clears the
/// cookie and revokes the refresh token at the provider.
#[tokio::test]
async fn s6_1_2_1_logout_destroys_revokes_and_clears() {
    let stack = Stack::start(Options::default().var("SESSION_HTTPS_ONLY", "true")).await;
    let cookie = stack.login("user").await;
    let refresh = stack
        .stored(&cookie)
        .await
        .unwrap()
        .tokens
        .refresh_token
        .unwrap();
    stack.idp.reset_stats();
    let out = stack.post("/auth/logout", Some(&cookie), &json!({})).await;
    assert_eq!(out.status, 200);
    assert_eq!(out.body["success"], true);
    assert!(SetCookie::parse(out.set_cookie().unwrap()).clears());
    assert!(stack.stored(&cookie).await.is_none());
    assert_eq!(stack.idp.stats().endpoint("revoke"), 1);
    let client = l42_core::CognitoClient::new(
        l42_core::OAuthConfig::new(stack.idp.base_url(), common::stack::PUBLIC_CLIENT, None)
            .unwrap(),
    );
    assert_eq!(
        client.refresh(&refresh).await,
        Err(l42_core::OAuthError::InvalidGrant),
        "the refresh token is dead at the provider"
    );
    assert_eq!(stack.get("/auth/token", Some(&cookie)).await.status, 401);
}

// ---------------------------------------------------------------------------------------
// 6.1.3.6 Proxy restrictions (by analogy: where the BFF sends the browser).

/// 6.1.3.6: "the BFF MUST enforce strict outbound request controls" — l42 proxies nothing
/// (the page calls APIs itself), and its only outbound calls go to the configured Cognito
/// domain. The analogous control is where it redirects the browser: only to an
/// allow-listed origin, and only to a path on it.
#[tokio::test]
async fn s6_1_3_6_redirects_go_only_to_allow_listed_origins() {
    let stack = Stack::start(Options::default().var("CALLBACK_USE_ORIGIN", "true")).await;
    for (headers, return_to, expected_origin) in [
        (vec![("x-forwarded-host", "evil.example")], "/x", FRONTEND),
        (vec![("origin", EVIL)], "/x", FRONTEND),
        (
            vec![("x-forwarded-host", "app.example.com")],
            "/x",
            OTHER_ORIGIN,
        ),
        (vec![], "//evil.example/x", FRONTEND),
        (vec![], "https://evil.example/x", FRONTEND),
    ] {
        let start = stack
            .send(
                Method::GET,
                &format!("/auth/login?return_to={}", urlencode(return_to)),
                None,
                &headers,
                None,
                false,
            )
            .await;
        let authorize = start.header("location").unwrap();
        assert!(authorize.starts_with(stack.idp.base_url()));
        let redirect_uri = query_param(authorize, "redirect_uri").unwrap();
        assert_eq!(redirect_uri, format!("{expected_origin}/auth/callback"));
        if expected_origin == FRONTEND {
            let callback = stack.idp.sign_in(authorize, "user").await.unwrap();
            let done = stack
                .get(callback.strip_prefix(FRONTEND).unwrap(), None)
                .await;
            assert_eq!(done.status, 303);
            stack.remember_current(&done.cookie()).await;
            let location = done.header("location").unwrap();
            let expected_path = if return_to == "/x" { "/x" } else { "/" };
            assert_eq!(
                location,
                format!("{FRONTEND}{expected_path}"),
                "{return_to}"
            );
        }
    }
    // The logout URL sends the browser back to the (allow-listed) origin only.
    let out = stack
        .send(
            Method::POST,
            "/auth/logout",
            None,
            &[("x-forwarded-host", "evil.example")],
            Some(&json!({})),
            true,
        )
        .await;
    let url = out.body["logout_url"].as_str().unwrap();
    assert_eq!(
        query_param(url, "logout_uri").as_deref(),
        Some("http://localhost:3000/")
    );
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

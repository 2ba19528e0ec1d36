//! The router in process (in-memory store, the dev identity provider as Cognito): every
//! answer of `POST /auth/refresh`, CSRF, CORS, JSON errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use l42_core::session::{Session, SessionId, SessionTokens};
use l42_core::unix_now;
use l42_idp::{FaultEndpoint, FaultKind};
use l42_refresh::{Config, router};
use l42_tests::idp::{PUBLIC_CLIENT, RunningIdp};
use l42_tests::{mint, start_idp};
use serde_json::Value;
use tower::ServiceExt as _;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn config(idp: &RunningIdp) -> Config {
    let vars: HashMap<&str, String> = HashMap::from([
        ("COGNITO_DOMAIN", idp.base_url().to_string()),
        ("COGNITO_CLIENT_ID", PUBLIC_CLIENT.to_string()),
        ("COGNITO_HTTP_TIMEOUT_MS", "1000".to_string()),
        ("SESSION_SECRET", SECRET.to_string()),
        ("FRONTEND_URL", "http://localhost:3000".to_string()),
        (
            "CALLBACK_ALLOWED_ORIGINS",
            "https://other.example.com".to_string(),
        ),
        ("REFRESH_REUSE_SECONDS", "0".to_string()),
    ]);
    Config::from_lookup(|k| vars.get(k).cloned()).unwrap()
}

/// A stored session for `admin` and its cookie (`name=value`).
async fn session(idp: &RunningIdp, config: &Config, with_refresh: bool) -> (Session, String) {
    let t = mint(idp, "admin", PUBLIC_CLIENT).unwrap();
    let now = unix_now();
    let s = Session::new(
        SessionId::generate().unwrap(),
        SessionTokens {
            access_token: t.access_token,
            id_token: t.id_token.unwrap(),
            refresh_token: t.refresh_token.filter(|_| with_refresh),
            auth_method: "handler".into(),
        },
        now,
        now + 3600,
    );
    config.store.create(&s).await.unwrap();
    let set = config.cookies.issue(&s.id, s.expires_at, now).unwrap();
    let pair = set.split(';').next().unwrap().to_string();
    (s, pair)
}

async fn post(
    config: &Config,
    cookie: Option<&str>,
    csrf: bool,
    origin: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::post("/auth/refresh");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    if csrf {
        req = req.header("x-l42-csrf", "1");
    }
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let response = router(config)
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn a_refresh_returns_new_tokens_but_never_the_refresh_token() {
    let idp = start_idp().await.unwrap();
    let config = config(&idp);
    let (s, cookie) = session(&idp, &config, true).await;
    let (status, headers, body) =
        post(&config, Some(&cookie), true, Some("http://localhost:3000")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Sorted: whether serde_json keeps insertion order depends on features other crates
    // of the workspace enable.
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["access_token", "auth_method", "id_token"]);
    assert_ne!(body["access_token"], s.tokens.access_token.as_str());
    assert_eq!(body["auth_method"], "handler");
    assert!(headers.get(header::SET_COOKIE).is_none(), "same session id");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:3000"
    );
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    let stored = config.store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(stored.tokens.access_token, body["access_token"]);
    assert_ne!(
        stored.tokens.refresh_token, s.tokens.refresh_token,
        "rotated"
    );
}

#[tokio::test]
async fn refusals() {
    let idp = start_idp().await.unwrap();
    let config = config(&idp);
    let (_, cookie) = session(&idp, &config, true).await;
    // CSRF.
    let (status, _, body) = post(&config, Some(&cookie), false, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, serde_json::json!({"error": "CSRF validation failed"}));
    // No cookie, a forged one, one naming no session.
    for c in [
        None,
        Some("l42_session=v1.forged.1.x".to_string()),
        Some({
            let id = SessionId::generate().unwrap();
            let set = config
                .cookies
                .issue(&id, unix_now() + 60, unix_now())
                .unwrap();
            set.split(';').next().unwrap().to_string()
        }),
    ] {
        let (status, _, body) = post(&config, c.as_deref(), true, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, serde_json::json!({"error": "Not authenticated"}));
    }
    // No refresh token.
    let (_, cookie) = session(&idp, &config, false).await;
    let (status, _, body) = post(&config, Some(&cookie), true, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, serde_json::json!({"error": "No refresh token"}));
    // An unlisted origin gets no CORS headers.
    let (_, headers, _) = post(&config, None, true, Some("https://evil.example.com")).await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    assert!(headers.get_all(header::VARY).iter().any(|v| v == "origin"));
    // A wrong method is a JSON 405; an unknown path a JSON 404.
    for (method, path, want) in [
        ("GET", "/auth/refresh", StatusCode::METHOD_NOT_ALLOWED),
        ("GET", "/auth/other", StatusCode::NOT_FOUND),
    ] {
        let r = router(&config)
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status(), want);
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(v["error"].is_string());
    }
}

#[tokio::test]
async fn preflight_allows_listed_origins_only() {
    let idp = start_idp().await.unwrap();
    let config = config(&idp);
    for (origin, allowed) in [
        ("https://other.example.com", true),
        ("https://evil.example.com", false),
    ] {
        let r = router(&config)
            .oneshot(
                Request::builder()
                    .method("OPTIONS")
                    .uri("/auth/refresh")
                    .header(header::ORIGIN, origin)
                    .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                    .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "x-l42-csrf")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let h = r.headers();
        assert_eq!(
            h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .map(|v| v.to_str().unwrap()),
            allowed.then_some(origin)
        );
        if allowed {
            assert!(
                h[header::ACCESS_CONTROL_ALLOW_HEADERS]
                    .to_str()
                    .unwrap()
                    .contains("x-l42-csrf")
            );
        }
    }
}

#[tokio::test]
async fn cognito_outages_are_503_and_keep_the_session() {
    let idp = start_idp().await.unwrap();
    let config = config(&idp);
    let (s, cookie) = session(&idp, &config, true).await;
    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::Status500, 1);
    let (status, headers, body) = post(&config, Some(&cookie), true, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["error"].is_string());
    assert!(headers.get(header::SET_COOKIE).is_none());
    assert_eq!(
        config.store.get(&s.id).await.unwrap().unwrap().tokens,
        s.tokens
    );
    let (status, _, _) = post(&config, Some(&cookie), true, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn invalid_grant_destroys_the_session_and_clears_the_cookie() {
    let idp = start_idp().await.unwrap();
    let config = config(&idp);
    let (s, cookie) = session(&idp, &config, true).await;
    l42_core::CognitoClient::new(config.oauth.clone())
        .revoke(s.tokens.refresh_token.as_deref().unwrap())
        .await
        .unwrap();
    let (status, headers, body) = post(&config, Some(&cookie), true, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, serde_json::json!({"error": "Refresh failed"}));
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.starts_with("l42_session=;") && set.contains("Max-Age=0"),
        "{set}"
    );
    assert!(config.store.get(&s.id).await.unwrap().is_none());
    let (status, _, body) = post(&config, Some(&cookie), true, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, serde_json::json!({"error": "Not authenticated"}));
}

/// Two routers with their own DynamoDB clients stand in for two Lambda instances; the
/// default reuse window covers requests that read the session after the refresh.
#[tokio::test]
async fn twenty_concurrent_posts_across_two_instances_call_cognito_once() {
    let idp = start_idp().await.unwrap();
    let table = l42_tests::fresh_table().await.unwrap();
    let endpoint = l42_tests::moto_endpoint().unwrap();
    let instance = || {
        let vars: HashMap<&str, String> = HashMap::from([
            ("COGNITO_DOMAIN", idp.base_url().to_string()),
            ("COGNITO_CLIENT_ID", PUBLIC_CLIENT.to_string()),
            ("SESSION_SECRET", SECRET.to_string()),
            ("SESSION_BACKEND", "dynamodb".to_string()),
            ("DYNAMODB_ENDPOINT", endpoint.clone()),
            ("DYNAMODB_TABLE", table.name().to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
        ]);
        Config::from_lookup(|k| vars.get(k).cloned()).unwrap()
    };
    let (one, two) = (instance(), instance());
    let (s, cookie) = session(&idp, &one, true).await;
    idp.reset_stats();
    let (app_one, app_two) = (router(&one), router(&two));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = if i % 2 == 0 {
                app_one.clone()
            } else {
                app_two.clone()
            };
            let request = Request::post("/auth/refresh")
                .header(header::COOKIE, &cookie)
                .header("x-l42-csrf", "1")
                .body(Body::empty())
                .unwrap();
            tokio::spawn(async move {
                let r = app.oneshot(request).await.unwrap();
                let status = r.status();
                let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
                (status, serde_json::from_slice::<Value>(&bytes).unwrap())
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        bodies.push(body);
    }
    assert_eq!(idp.stats().grant("refresh_token"), 1);
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    assert_ne!(bodies[0]["access_token"], s.tokens.access_token.as_str());
    assert!(two.store.get(&s.id).await.unwrap().is_some());
}

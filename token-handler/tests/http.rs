//! The HTTP surface: health, CORS, CSRF, JSON errors for every failure, the layers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{Method, Request, StatusCode};
use axum::routing::get as get_route;
use common::*;
use l42_token_handler::app::with_layers;
use l42_token_handler::owners::BoxFuture;
use l42_token_handler::{ApiError, AppState, Identity, IdentityProvider, router};
use serde_json::json;

#[tokio::test]
async fn health_reports_cedar_and_version() {
    let a = send(&app(), get("/health")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body,
        json!({"status": "ok", "mode": "token-handler", "cedar": "ready",
               "version": env!("CARGO_PKG_VERSION")})
    );
    let no_cedar = router(AppState::builder(config()).build());
    let a = send(&no_cedar, get("/health")).await;
    assert_eq!(a.body["cedar"], "unavailable");
    // Always at the root, never under the prefix.
    assert_eq!(
        send(&app(), get("/auth/health")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_prefix_is_configurable() {
    let mut vars = base_vars();
    vars.push(("AUTH_PATH_PREFIX", "_auth/"));
    let app = app_with(config_from(&vars).unwrap(), Some(user("u", &["admin"])));
    let body = json!({"action": "read:content"});
    assert_eq!(
        post(&app, "/_auth/authorize", &body).await.status,
        StatusCode::OK
    );
    assert_eq!(
        post(&app, "/auth/authorize", &body).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(send(&app, get("/health")).await.status, StatusCode::OK);

    let mut vars = base_vars();
    vars.push(("AUTH_PATH_PREFIX", "/"));
    let app = app_with(config_from(&vars).unwrap(), Some(user("u", &["admin"])));
    assert_eq!(post(&app, "/authorize", &body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn session_endpoints_fail_closed_without_a_session_layer() {
    let app = app();
    for path in ["/auth/token", "/auth/login", "/auth/callback"] {
        let a = send(&app, get(path)).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(a.error(), "Service unavailable");
    }
    for path in ["/auth/session", "/auth/logout"] {
        let a = post(&app, path, &json!({"access_token": "a", "id_token": "b"})).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    // `/refresh` comes with the refresh coordinator.
    let a = post(&app, "/auth/refresh", &json!({})).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

fn with_origin(mut request: Request<Body>, origin: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    request
}

#[tokio::test]
async fn cors_reflects_listed_origins_only() {
    let app = app();
    for origin in [FRONTEND, OTHER_ORIGIN] {
        let a = send(&app, with_origin(get("/health"), origin)).await;
        assert_eq!(a.header("access-control-allow-origin"), Some(origin));
        assert_eq!(a.header("access-control-allow-credentials"), Some("true"));
        assert!(
            a.headers.get_all("vary").iter().any(|v| v
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("origin")),
            "{:?}",
            a.headers
        );
    }
    for origin in ["https://evil.example.com", "http://localhost:3001", "null"] {
        let a = send(&app, with_origin(get("/health"), origin)).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(
            a.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
        assert!(
            a.header("access-control-allow-credentials").is_none(),
            "{origin}"
        );
    }
    // Errors carry the CORS headers too, so the page can read them.
    let a = send(
        &app,
        with_origin(
            Request::builder()
                .method(Method::POST)
                .uri("/auth/authorize")
                .body(Body::empty())
                .unwrap(),
            FRONTEND,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.header("access-control-allow-origin"), Some(FRONTEND));
}

fn preflight(origin: &str, headers: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/auth/authorize")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", headers)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn preflight_allows_the_protocol_headers() {
    let app = app();
    let a = send(&app, preflight(FRONTEND, "content-type,x-l42-csrf")).await;
    assert!(a.status.is_success(), "{}", a.status);
    assert_eq!(a.header("access-control-allow-origin"), Some(FRONTEND));
    assert_eq!(a.header("access-control-allow-credentials"), Some("true"));
    let allowed = a
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("content-type") && allowed.contains("x-l42-csrf"),
        "{allowed}"
    );
    let methods = a.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    assert!(a.headers.get_all("vary").iter().count() > 0);
    assert_ne!(a.header("access-control-allow-origin"), Some("*"));

    let a = send(&app, preflight("https://evil.example.com", "x-l42-csrf")).await;
    assert!(a.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn every_post_needs_the_csrf_header() {
    let app = app();
    let paths = [
        "/auth/authorize",
        "/auth/validate-credential",
        "/auth/session",
        "/auth/refresh",
        "/auth/logout",
        "/health",
        "/nowhere",
    ];
    for path in paths {
        for csrf in [None, Some("0"), Some("true"), Some("")] {
            let mut b = Request::builder()
                .method(Method::POST)
                .uri(path)
                .header("content-type", "application/json");
            if let Some(v) = csrf {
                b = b.header("x-l42-csrf", v);
            }
            let a = send(
                &app,
                b.body(Body::from("{\"action\":\"read:own\"}")).unwrap(),
            )
            .await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{path} {csrf:?}");
            assert_eq!(a.body, json!({"error": "CSRF validation failed"}), "{path}");
        }
    }
    // Two headers, even if one says 1, are refused.
    let a = send(
        &app,
        Request::builder()
            .method(Method::POST)
            .uri("/auth/authorize")
            .header("content-type", "application/json")
            .header("x-l42-csrf", "1")
            .header("x-l42-csrf", "1")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Other state-changing methods too.
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let a = send(
            &app,
            Request::builder()
                .method(method.clone())
                .uri("/auth/authorize")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{method}");
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_json() {
    let app = app();
    for (path, body) in [
        ("/auth/authorize", "{"),
        ("/auth/authorize", "not json"),
        ("/auth/authorize", "[1,2]"),
        ("/auth/authorize", "{\"action\": 5}"),
        ("/auth/authorize", ""),
        (
            "/auth/validate-credential",
            "{\"attestation_object\": \"x\"}",
        ),
        ("/auth/validate-credential", "{\"attestation_object\""),
    ] {
        let a = send(
            &app,
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header("content-type", "application/json")
                .header("x-l42-csrf", "1")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path} {body}");
        assert_eq!(a.error(), "Invalid request body", "{path} {body}");
        assert!(a.body["message"].is_string());
    }
}

#[tokio::test]
async fn wrong_content_types_are_415_json() {
    let app = app();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri("/auth/authorize")
            .header("x-l42-csrf", "1");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let a = send(
            &app,
            b.body(Body::from("{\"action\":\"read:own\"}")).unwrap(),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(a.error(), "Unsupported media type");
    }
    let mut r = post_json("/auth/authorize", &json!({"action": "read:own"}));
    r.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8".parse().unwrap(),
    );
    assert_eq!(send(&app, r).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_methods_are_405_json() {
    let app = app();
    for path in ["/auth/authorize", "/auth/validate-credential"] {
        let a = send(&app, get(path)).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(a.error(), "Method not allowed");
        assert!(
            a.header("allow").is_some_and(|v| v.contains("POST")),
            "{:?}",
            a.headers
        );
    }
    let a = send(&app, post_json("/health", &json!({}))).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.error(), "Method not allowed");
}

#[tokio::test]
async fn unknown_paths_are_404_json() {
    let app = app();
    for path in ["/", "/nowhere", "/auth", "/auth/", "/auth/authorize/extra"] {
        let a = send(&app, get(path)).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(a.error(), "Not found");
    }
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let mut config = config();
    config.max_body_bytes = 1024;
    let app = app_with(config, Some(user("u", &["admin"])));
    let big = json!({"action": "read:content", "context": {"pad": "x".repeat(4096)}});
    let a = post(&app, "/auth/authorize", &big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.error(), "Request body too large");
}

#[tokio::test]
async fn panics_become_a_json_500() {
    let state = AppState::builder(config()).build();
    let routes: Router<AppState> = Router::new().route(
        "/boom",
        get_route(|| async {
            let v: Vec<u8> = Vec::new();
            // An out-of-bounds index: the kind of bug the layer is there for.
            #[allow(clippy::indexing_slicing)]
            let x = v[usize::from(v.is_empty())];
            x.to_string()
        }),
    );
    let app = with_layers(routes, state);
    let a = send(&app, get("/boom")).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.body, json!({"error": "Internal server error"}));
}

/// An identity provider that never answers in time.
struct Slow;

impl IdentityProvider for Slow {
    fn identify<'a>(
        &'a self,
        _parts: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Identity>, ApiError>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(None)
        })
    }
}

#[tokio::test]
async fn slow_requests_time_out_with_a_json_503() {
    let mut config = config();
    config.request_timeout = Duration::from_millis(20);
    let app = router(
        AppState::builder(config)
            .cedar(Some(Arc::clone(&ENGINE)))
            .identity(Arc::new(Slow))
            .build(),
    );
    let a = post(&app, "/auth/authorize", &json!({"action": "read:own"})).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.body, json!({"error": "Request timed out"}));
}

/// The session layer's failures reach the caller as they are, not as "no caller".
struct Broken;

impl IdentityProvider for Broken {
    fn identify<'a>(
        &'a self,
        _parts: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Identity>, ApiError>> {
        Box::pin(async { Err(ApiError::Unavailable("session store down".to_owned())) })
    }
}

#[tokio::test]
async fn identity_failures_are_503_not_401() {
    let app = router(
        AppState::builder(config())
            .cedar(Some(Arc::clone(&ENGINE)))
            .identity(Arc::new(Broken))
            .build(),
    );
    let a = post(&app, "/auth/authorize", &json!({"action": "read:own"})).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.body, json!({"error": "Service unavailable"}));
}

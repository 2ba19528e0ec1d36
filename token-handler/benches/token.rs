//! `GET {P}/token` in process: the axum router driven with `tower::ServiceExt::oneshot`,
//! the in-memory session store, a session cookie that verifies and an access token that
//! does not expire during the run (so nothing is refreshed and nothing leaves the
//! process: the JWKS is embedded, `JWKS_URL=off`). Numbers and the command that produced
//! them: `BENCHMARKS.md`.
//!
//! ```text
//! cargo bench -p l42-token-handler --bench token
//! ```
//!
//! Benchmarks (group `token`):
//! - `session/claims-cached`: the default verifier (claims cache on): cookie MAC, one
//!   store read, both tokens found in the claims cache, the JSON answer;
//! - `session/claims-uncached`: `CLAIMS_CACHE_SIZE=0`, so both tokens' RSA signatures are
//!   checked on every request;
//! - `no-cookie`: the 401 without a cookie (the floor: routing, layers, JSON error).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, criterion_group, criterion_main};
use l42_core::session::{
    CookieKeys, CookieSettings, MemoryLoginStates, MemoryStore, SessionCookies, SessionStore,
    SessionTokens,
};
use l42_core::{CognitoClient, OAuthConfig, Verifier};
use l42_idp::IdpConfig;
use l42_tests::idp::PUBLIC_CLIENT;
use l42_token_handler::{AppState, Config, Sessions, router};
use tokio::runtime::Runtime;
use tower::ServiceExt;

const SECRET: &str = "bench-session-secret-0123456789abcdef";

struct Fixture {
    app: Router,
    cookie: String,
}

/// A router over a memory store holding one session of `user`, and its cookie.
fn fixture(rt: &Runtime, claims_cache: bool) -> Fixture {
    let idp = rt
        .block_on(l42_tests::start_idp_with(IdpConfig {
            // Longer than any run: the tokens are never refreshed.
            access_token_ttl: Duration::from_secs(86_400),
            id_token_ttl: Duration::from_secs(86_400),
            ..IdpConfig::default()
        }))
        .unwrap();
    let tokens = l42_tests::mint(&idp, "user", PUBLIC_CLIENT).unwrap();
    let mut vars: HashMap<&str, String> = [
        ("COGNITO_CLIENT_ID", PUBLIC_CLIENT.to_owned()),
        ("COGNITO_USER_POOL_ID", idp.pool_id().to_owned()),
        ("COGNITO_DOMAIN", idp.base_url().to_owned()),
        ("SESSION_SECRET", SECRET.to_owned()),
        ("JWKS_JSON", idp.jwks_json()),
        ("JWKS_URL", "off".to_owned()),
        ("FRONTEND_URL", "http://localhost:3000".to_owned()),
    ]
    .into_iter()
    .collect();
    if !claims_cache {
        vars.insert("CLAIMS_CACHE_SIZE", "0".to_owned());
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let store = Arc::new(MemoryStore::new());
    let cookies = SessionCookies {
        keys: CookieKeys::new(SECRET, None).unwrap(),
        settings: CookieSettings::default(),
    };
    let oauth = Arc::new(CognitoClient::new(
        OAuthConfig::new(idp.base_url(), PUBLIC_CLIENT, None).unwrap(),
    ));
    let verifier = Arc::new(Verifier::new(config.verifier.clone()).unwrap());
    let sessions = Arc::new(Sessions::new(
        Arc::clone(&store) as Arc<dyn SessionStore>,
        Arc::new(MemoryLoginStates::new()),
        cookies,
        oauth,
        verifier,
    ));
    let id_token = tokens.id_token.unwrap();
    let (claims, _) = rt
        .block_on(sessions.verify_pair(&tokens.access_token, &id_token))
        .unwrap();
    let (_, set_cookie) = rt
        .block_on(sessions.start(
            SessionTokens {
                access_token: tokens.access_token,
                id_token,
                refresh_token: tokens.refresh_token,
                auth_method: "handler".to_owned(),
            },
            &claims,
            Some("bench"),
            None,
        ))
        .unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let app = router(AppState::builder(config).sessions(sessions).build());
    // The identity provider is no longer needed (JWKS embedded, no refresh): stop it so
    // that nothing but the router runs during the measurement.
    drop(idp);
    Fixture { app, cookie }
}

fn request(cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().uri("/auth/token");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Body::empty()).unwrap()
}

/// One request through the router, body read; returns the status and body length.
async fn once(app: &Router, cookie: Option<&str>) -> (StatusCode, usize) {
    let response = app.clone().oneshot(request(cookie)).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, body.len())
}

fn token(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("token");
    for (name, cache) in [
        ("session/claims-cached", true),
        ("session/claims-uncached", false),
    ] {
        let f = fixture(&rt, cache);
        // Not measured: the answer is the 200 with tokens this benchmark is about.
        let (status, len) = rt.block_on(once(&f.app, Some(&f.cookie)));
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(len > 100, "{name}: a body with the tokens");
        group.bench_function(name, |b| {
            b.iter(|| black_box(rt.block_on(once(&f.app, Some(black_box(&f.cookie))))));
        });
    }
    let f = fixture(&rt, true);
    assert_eq!(rt.block_on(once(&f.app, None)).0, StatusCode::UNAUTHORIZED);
    group.bench_function("no-cookie", |b| {
        b.iter(|| black_box(rt.block_on(once(&f.app, None))));
    });
    group.finish();
}

criterion_group!(benches, token);
criterion_main!(benches);

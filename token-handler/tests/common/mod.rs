//! Shared helpers: a configuration, an identity seam that returns a fixed caller, and a
//! way to send one request through the router in process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use l42_cedar::protocol::ProtocolEngine;
use l42_token_handler::owners::BoxFuture;
use l42_token_handler::{ApiError, AppState, Config, Identity, IdentityProvider, router};
use serde_json::Value;
use tower::ServiceExt;

pub const FRONTEND: &str = "http://localhost:3000";
pub const OTHER_ORIGIN: &str = "https://app.example.com";

/// The variables every configuration needs.
pub fn base_vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("COGNITO_CLIENT_ID", "client-1"),
        ("COGNITO_USER_POOL_ID", "us-east-1_Example"),
        ("COGNITO_DOMAIN", "auth.example.com"),
        ("SESSION_SECRET", "0123456789abcdef0123456789abcdef-test"),
        ("CALLBACK_ALLOWED_ORIGINS", OTHER_ORIGIN),
        ("JWKS_URL", "https://jwks.example.com/jwks.json"),
    ]
}

pub fn config_from(vars: &[(&str, &str)]) -> Result<Config, l42_token_handler::ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

pub fn config() -> Config {
    config_from(&base_vars()).unwrap()
}

pub static ENGINE: LazyLock<Arc<ProtocolEngine>> =
    LazyLock::new(|| Arc::new(ProtocolEngine::embedded().unwrap()));

/// The test seam for the session layer: always the same caller (or none).
pub struct FixedIdentity(pub Option<Identity>);

impl IdentityProvider for FixedIdentity {
    fn identify<'a>(
        &'a self,
        _parts: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Identity>, ApiError>> {
        let identity = self.0.clone();
        Box::pin(async move { Ok(identity) })
    }
}

pub fn user(sub: &str, groups: &[&str]) -> Identity {
    Identity {
        sub: sub.to_owned(),
        email: Some(format!("{sub}@example.com")),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        tokens: None,
    }
}

/// The router with the embedded engine and `identity` as the caller.
pub fn app_as(identity: Option<Identity>) -> Router {
    app_with(config(), identity)
}

pub fn app_with(config: Config, identity: Option<Identity>) -> Router {
    router(
        AppState::builder(config)
            .cedar(Some(Arc::clone(&ENGINE)))
            .identity(Arc::new(FixedIdentity(identity)))
            .build(),
    )
}

/// The router with a signed-in plain user.
pub fn app() -> Router {
    app_as(Some(user("user-1", &["users"])))
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a JSON error body with `error` and returns it.
    pub fn error(&self) -> &str {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{} {:?}",
            self.status,
            String::from_utf8_lossy(&self.raw)
        );
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {}", self.body))
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let raw = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    let body = if raw.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&raw).unwrap_or(Value::Null)
    };
    Answer {
        status,
        headers,
        body,
        raw,
    }
}

pub fn get(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).unwrap()
}

/// A POST with the CSRF header and a JSON body.
pub fn post_json(path: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("x-l42-csrf", "1")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub async fn post(app: &Router, path: &str, body: &Value) -> Answer {
    send(app, post_json(path, body)).await
}

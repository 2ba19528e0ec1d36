//! The token handler's test harness. Here: a configuration, an identity seam that returns
//! a fixed caller, one request through the router in process, and the [`Answer`] every
//! test reads. In [`stack`]: the whole token handler served on loopback against the dev
//! identity provider, with real session stores.
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

pub mod stack;

pub use l42_idp::browser::query_param;

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
        user: None,
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

/// An answer as the browser sees it: the body as text, and as JSON when it is JSON
/// (`Value::Null` otherwise).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The one session `Set-Cookie` of the answer, if any (more than one fails the test);
    /// the login binding cookie is left out (see [`Answer::login_set_cookie`]).
    pub fn set_cookie(&self) -> Option<&str> {
        let all: Vec<&str> = self.set_cookies().filter(|v| !is_login_cookie(v)).collect();
        assert!(all.len() <= 1, "one Set-Cookie at most: {all:?}");
        all.first().copied()
    }

    /// The answer's `Set-Cookie` of the login binding cookie, if any.
    pub fn login_set_cookie(&self) -> Option<&str> {
        let all: Vec<&str> = self.set_cookies().filter(|v| is_login_cookie(v)).collect();
        assert!(all.len() <= 1, "one login Set-Cookie at most: {all:?}");
        all.first().copied()
    }

    fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
    }

    /// `name=value` of the answer's `Set-Cookie`.
    pub fn cookie(&self) -> String {
        let set = self.set_cookie().expect("a Set-Cookie");
        set.split(';').next().unwrap().trim().to_owned()
    }

    /// Every header, one `name: value` line each (for "is this anywhere" checks).
    pub fn all_headers(&self) -> String {
        self.headers
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
            .collect()
    }

    /// The `error` code of a callback's redirect to `<origin>/login?error=<code>`.
    pub fn callback_error(&self) -> String {
        assert_eq!(self.status, 303, "{}", self.text);
        let loc = self.header("location").unwrap();
        assert!(loc.contains("/login?error="), "{loc}");
        query_param(loc, "error").unwrap()
    }

    /// Asserts a JSON error body with `error` and returns it.
    pub fn error(&self) -> &str {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{} {:?}",
            self.status,
            self.text
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
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        body,
    }
}

pub fn get(path: &str) -> Request<Body> {
    request(Method::GET, path, None, None, false)
}

/// A POST with the CSRF header and a JSON body.
pub fn post_json(path: &str, body: &Value) -> Request<Body> {
    request(Method::POST, path, None, Some(body), true)
}

/// A request with a `Cookie` header, a JSON body and the CSRF header, each if asked.
pub fn request(
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
    csrf: bool,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    if csrf {
        b = b.header("x-l42-csrf", "1");
    }
    match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

pub async fn post(app: &Router, path: &str, body: &Value) -> Answer {
    send(app, post_json(path, body)).await
}

/// Whether a `Set-Cookie` value is the login binding cookie's.
pub fn is_login_cookie(set_cookie: &str) -> bool {
    set_cookie.starts_with("__Host-l42_login=") || set_cookie.starts_with("l42_login=")
}

/// The attributes of a `Set-Cookie` value: the name and value, then each attribute
/// (lower-case name, its value if any).
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(header: &str) -> SetCookie {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        let attributes = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            attributes,
        }
    }

    pub fn has(&self, attribute: &str) -> bool {
        self.attributes.iter().any(|(k, _)| k == attribute)
    }

    pub fn get(&self, attribute: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == attribute)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Whether this `Set-Cookie` removes the cookie (`Max-Age=0`, empty value).
    pub fn clears(&self) -> bool {
        self.value.is_empty() && self.get("max-age") == Some("0")
    }
}

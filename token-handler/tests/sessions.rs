//! The session endpoints against the dev identity provider over HTTP and both session
//! stores (in memory; DynamoDB on the emulator): the hosted-UI login flow, `/token`,
//! `/me`, `/session`, `/logout`, cookies, callbacks that must fail, refresh outcomes, the
//! refresh token never leaving the server, and DynamoDB requests per endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use common::{Answer, send};
use l42_core::session::{
    CookieKeys, CookieSettings, DynamoLoginStates, DynamoStore, LoginStateStore, MemoryLoginStates,
    MemoryStore, RefreshOptions, SessionCookies, SessionId, SessionStore,
};
use l42_core::{CognitoClient, OAuthConfig, Verifier, unix_now};
use l42_dev::idp::{FaultEndpoint, FaultKind, IdpConfig, RunningIdp};
use l42_tests::dynamo::{n, s};
use l42_tests::idp::PUBLIC_CLIENT;
use l42_tests::{TestTable, fresh_table, mint, start_idp_with};
use l42_token_handler::{AppState, Config, CoordinatedRefresher, Sessions, router};
use serde_json::{Value, json};

const FRONTEND: &str = "http://localhost:3000";
const SECRET: &str = "session-secret-for-tests-0123456789abcdef";
const OTHER_SECRET: &str = "another-secret-for-tests-0123456789abcdef";

// ---------------------------------------------------------------------------------------
// DynamoDB request counting (only point operations may be sent).

use l42_tests::browser::Jar;
use l42_tests::requests::{Requests, counted};

fn counts(pairs: &[(&str, usize)]) -> HashMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

// ---------------------------------------------------------------------------------------
// The environment: the identity provider, a session store, the router.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Memory,
    Dynamo,
}

struct Env {
    idp: RunningIdp,
    config: Config,
    store: Arc<dyn SessionStore>,
    logins: Arc<dyn LoginStateStore>,
    sessions: Arc<Sessions>,
    app: Router,
    table: Option<TestTable>,
    requests: Requests,
    /// Every refresh token seen; no response body may contain one.
    secrets: Mutex<Vec<String>>,
    /// The test browser's login binding cookie (the session cookie is passed by hand).
    jar: Jar,
}

fn vars(idp: &RunningIdp, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = [
        ("COGNITO_CLIENT_ID", PUBLIC_CLIENT.to_string()),
        ("COGNITO_USER_POOL_ID", idp.pool_id().to_string()),
        ("COGNITO_DOMAIN", idp.base_url().to_string()),
        ("SESSION_SECRET", SECRET.to_string()),
        ("JWKS_URL", idp.jwks_url()),
        ("FRONTEND_URL", FRONTEND.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        m.insert((*k).to_string(), (*v).to_string());
    }
    m
}

impl Env {
    async fn new(backend: Backend) -> Env {
        Env::with(backend, IdpConfig::default(), &[]).await
    }

    async fn with(backend: Backend, idp_config: IdpConfig, extra: &[(&str, &str)]) -> Env {
        let idp = start_idp_with(idp_config).await.unwrap();
        let vars = vars(&idp, extra);
        let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        let requests = Requests::default();
        let (store, logins, table): (Arc<dyn SessionStore>, Arc<dyn LoginStateStore>, _) =
            match backend {
                Backend::Memory => (
                    Arc::new(MemoryStore::new()),
                    Arc::new(MemoryLoginStates::new()),
                    None,
                ),
                Backend::Dynamo => {
                    let table = fresh_table().await.unwrap();
                    let store = DynamoStore::new(counted(table.client(), &requests), table.name());
                    let logins = DynamoLoginStates::for_store(&store);
                    (Arc::new(store), Arc::new(logins), Some(table))
                }
            };
        let previous = vars.get("SESSION_SECRET_PREVIOUS").cloned();
        let env = Env {
            idp,
            config,
            store,
            logins,
            sessions: Arc::new(placeholder_sessions()),
            app: Router::new(),
            table,
            requests,
            secrets: Mutex::new(Vec::new()),
            jar: Jar::login_cookie(),
        };
        env.rebuild(SECRET, previous.as_deref())
    }

    /// The same environment (store, identity provider) with other cookie secrets.
    fn rebuild(mut self, secret: &str, previous: Option<&str>) -> Env {
        let cookies = SessionCookies {
            keys: CookieKeys::new(secret, previous).unwrap(),
            settings: self.config.cookies.settings.clone(),
        };
        let oauth = Arc::new(CognitoClient::new(
            OAuthConfig::new(self.idp.base_url(), PUBLIC_CLIENT, None).unwrap(),
        ));
        let verifier = Arc::new(Verifier::new(self.config.verifier.clone()).unwrap());
        // The coordinator hands out tokens refreshed in the last few seconds as they are; the
        // tests' tokens live only seconds, so every call here refreshes for real.
        let mut options = RefreshOptions::for_cognito_timeout(oauth.config().timeout);
        options.reuse_window = std::time::Duration::ZERO;
        let refresher = Arc::new(CoordinatedRefresher::new(
            &oauth,
            Arc::clone(&self.store),
            options,
        ));
        let sessions = Arc::new(
            Sessions::new(
                Arc::clone(&self.store),
                Arc::clone(&self.logins),
                cookies,
                oauth,
                verifier,
            )
            .with_refresher(refresher),
        );
        self.app = router(
            AppState::builder(self.config.clone())
                .sessions(Arc::clone(&sessions))
                .build(),
        );
        self.sessions = sessions;
        self
    }

    fn remember(&self, secret: &str) {
        self.secrets.lock().unwrap().push(secret.to_string());
    }

    /// Sends a request and checks that the body holds no refresh token.
    async fn send(&self, mut request: Request<Body>) -> Answer {
        let given = request
            .headers()
            .get("cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(c) = self.jar.cookie_header(given.as_deref()) {
            request.headers_mut().insert("cookie", c.parse().unwrap());
        }
        let a = send(&self.app, request).await;
        self.jar.take_in(
            a.headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let text = String::from_utf8_lossy(&a.raw).to_string();
        assert!(
            !text.contains("refresh_token"),
            "a response names the refresh token: {text}"
        );
        for secret in self.secrets.lock().unwrap().iter() {
            assert!(
                !text.contains(secret.as_str()),
                "a refresh token in a response"
            );
        }
        a
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        self.send(request(Method::GET, path, cookie, None, true))
            .await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, body: Value) -> Answer {
        self.send(request(Method::POST, path, cookie, Some(body), true))
            .await
    }

    /// The session a cookie (`name=value`) names, read from the store.
    async fn stored(&self, cookie: &str) -> Option<l42_core::session::Session> {
        let id = self.session_id(cookie);
        self.store.get(&id).await.unwrap()
    }

    fn session_id(&self, cookie: &str) -> SessionId {
        let value = cookie.split_once('=').unwrap().1;
        self.sessions
            .cookies()
            .keys
            .verify(value, unix_now())
            .unwrap()
            .session_id
    }

    /// The whole hosted-UI login as a browser does it; returns the callback's answer.
    async fn login_as(&self, username: &str, return_to: &str, cookie: Option<&str>) -> Answer {
        let start = self
            .get(&format!("/auth/login?return_to={return_to}"), cookie)
            .await;
        assert_eq!(start.status, 302, "{:?}", start.body);
        let authorize = start.header("location").unwrap().to_string();
        assert!(authorize.starts_with(&format!("{}/oauth2/authorize?", self.idp.base_url())));
        assert_eq!(
            query_param(&authorize, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert_eq!(
            query_param(&authorize, "redirect_uri").as_deref(),
            Some("http://localhost:3000/auth/callback")
        );
        let callback = sign_in(&self.idp, &authorize, username).await;
        let path = callback.strip_prefix(FRONTEND).unwrap();
        self.get(path, cookie).await
    }

    /// A login binding cookie (`name=value`) for `state`, as `{P}/login` would have set
    /// it for a pending login this test makes by hand.
    fn bound(&self, state: &str) -> String {
        bound_with(&self.sessions, state)
    }

    /// Logs in and returns the session cookie (`name=value`).
    async fn login(&self, username: &str) -> String {
        let a = self.login_as(username, "/", None).await;
        assert_eq!(a.status, 303, "{:?}", a.header("location"));
        let cookie = cookie_of(&a);
        let session = self.stored(&cookie).await.unwrap();
        self.remember(session.tokens.refresh_token.as_deref().unwrap());
        cookie
    }
}

/// A login binding cookie (`name=value`) for `state` under `sessions`' secret.
fn bound_with(sessions: &Sessions, state: &str) -> String {
    let cookies = sessions.cookies();
    format!(
        "{}={}",
        cookies.settings.login_cookie_name(),
        cookies.keys.login_binding(state)
    )
}

fn placeholder_sessions() -> Sessions {
    let vars: HashMap<&str, &str> = [
        ("COGNITO_CLIENT_ID", "placeholder"),
        ("COGNITO_USER_POOL_ID", "us-east-1_Placeholder"),
        ("COGNITO_DOMAIN", "auth.example.com"),
        ("SESSION_SECRET", SECRET),
        ("JWKS_URL", "https://jwks.example.com/jwks.json"),
    ]
    .into_iter()
    .collect();
    let lookup = |k: &str| vars.get(k).map(|v| (*v).to_string());
    let config = Config::from_lookup(lookup).unwrap();
    Sessions::from_config(&config, lookup).unwrap()
}

fn request(
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
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

/// `name=value` of the response's session `Set-Cookie` (not the login binding cookie's).
fn cookie_of(a: &Answer) -> String {
    let set = a
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| !v.starts_with("l42_login=") && !v.starts_with("__Host-l42_login="))
        .expect("a Set-Cookie");
    set.split(';').next().unwrap().to_string()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The hidden inputs of the sign-in form, unescaped.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let attr = |part: &str, name: &str| {
        part.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(|v| {
                v.replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
    };
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|part| Some((attr(part, "name")?, attr(part, "value")?)))
        .collect()
}

/// Opens the authorize URL, submits the form; returns the redirect to the callback.
async fn sign_in(idp: &RunningIdp, authorize_url: &str, username: &str) -> String {
    let page = browser().get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "the sign-in form");
    let mut fields = hidden_fields(&page.text().await.unwrap());
    fields.push(("username".into(), username.into()));
    fields.push(("password".into(), format!("{username}-password")));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    let resp = browser()
        .post(format!("{}/login", idp.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    resp.headers()["location"].to_str().unwrap().to_string()
}

fn error_of(a: &Answer) -> String {
    assert_eq!(a.status, 303);
    let loc = a.header("location").unwrap();
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
    query_param(loc, "error").unwrap()
}

// ---------------------------------------------------------------------------------------
// The login flow.

async fn full_login_flow(backend: Backend) {
    let env = Env::new(backend).await;
    let a = env.login_as("admin", "/dashboard?tab=2", None).await;
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
    let cookie = cookie_of(&a);
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

    // Authorize sees the same caller.
    let az = env
        .post(
            "/auth/authorize",
            Some(&cookie),
            json!({"action": "admin:manage"}),
        )
        .await;
    assert_eq!(az.status, 503, "no Cedar engine in this state: fail closed");

    // Without a cookie: 401.
    for path in ["/auth/token", "/auth/me"] {
        let a = env.get(path, None).await;
        assert_eq!(a.status, 401);
        assert_eq!(a.body, json!({"error": "Not authenticated"}));
    }
}

#[tokio::test]
async fn full_login_flow_memory() {
    full_login_flow(Backend::Memory).await;
}

#[tokio::test]
async fn full_login_flow_dynamodb() {
    full_login_flow(Backend::Dynamo).await;
}

/// The review's flood: 100,000 unauthenticated `GET /auth/login` requests (each with the
/// longest `return_to` there was) filled the in-memory store, and every login after them
/// was refused with a 503 for ten minutes. Now the oldest pending logins give way: the
/// login after the flood works.
#[tokio::test]
async fn a_flood_of_logins_does_not_block_the_next_login() {
    let env = Env::new(Backend::Memory).await;
    let return_to = format!("/{}", "x".repeat(2047));
    let path = format!("/auth/login?return_to={return_to}");
    for i in 0..100_000 {
        let a = env.get(&path, None).await;
        assert_eq!(a.status, 302, "request {i}");
    }
    env.jar.clear();
    let a = env.login_as("user", "/after-the-flood", None).await;
    assert_eq!(a.status, 303, "{:?}", a.header("location"));
    assert_eq!(
        a.header("location"),
        Some("http://localhost:3000/after-the-flood")
    );
}

async fn login_rotates_the_session(backend: Backend) {
    let env = Env::new(backend).await;
    let first = env.login("user").await;
    let a = env.login_as("editor", "/", Some(&first)).await;
    assert_eq!(a.status, 303);
    let second = cookie_of(&a);
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
    let third = cookie_of(&a);
    assert_ne!(env.session_id(&second), env.session_id(&third));
    assert!(env.stored(&second).await.is_none());
    let stored = env.stored(&third).await.unwrap();
    assert_eq!(stored.tokens.auth_method, "direct");
    let tok = env.get("/auth/token", Some(&third)).await;
    assert_eq!(tok.body["auth_method"], "direct");
}

#[tokio::test]
async fn login_rotates_the_session_memory() {
    login_rotates_the_session(Backend::Memory).await;
}

#[tokio::test]
async fn login_rotates_the_session_dynamodb() {
    login_rotates_the_session(Backend::Dynamo).await;
}

// ---------------------------------------------------------------------------------------
// POST /session.

#[tokio::test]
async fn posted_tokens_must_verify_as_a_pair() {
    let env = Env::new(Backend::Memory).await;
    let admin = mint(&env.idp, "admin", PUBLIC_CLIENT).unwrap();
    let user = mint(&env.idp, "user", PUBLIC_CLIENT).unwrap();
    let conf = mint(&env.idp, "user", l42_tests::idp::CONFIDENTIAL_CLIENT).unwrap();
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
    let cookie = cookie_of(&a);
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
    let env = Env::new(Backend::Memory).await;
    let cookie = env.login("user").await;
    for path in [
        "/auth/session",
        "/auth/logout",
        "/auth/authorize",
        "/auth/validate-credential",
    ] {
        let a = env
            .send(request(
                Method::POST,
                path,
                Some(&cookie),
                Some(json!({})),
                false,
            ))
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
    let env = Env::new(backend).await;
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
    let env = env.rebuild(OTHER_SECRET, Some(SECRET));
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 200);
    // Without it, refused.
    let env = env.rebuild(OTHER_SECRET, None);
    assert_eq!(env.get("/auth/token", Some(&cookie)).await.status, 401);
}

#[tokio::test]
async fn bad_cookies_are_no_session_memory() {
    bad_cookies_are_no_session(Backend::Memory).await;
}

#[tokio::test]
async fn bad_cookies_are_no_session_dynamodb() {
    bad_cookies_are_no_session(Backend::Dynamo).await;
}

#[tokio::test]
async fn an_expired_item_still_in_dynamodb_is_no_session() {
    let env = Env::new(Backend::Dynamo).await;
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
    let env = Env::new(backend).await;
    let start = env.get("/auth/login", None).await;
    let authorize = start.header("location").unwrap().to_string();
    let callback = sign_in(&env.idp, &authorize, "user").await;
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
async fn callbacks_that_must_fail_memory() {
    callbacks_that_must_fail(Backend::Memory).await;
}

#[tokio::test]
async fn callbacks_that_must_fail_dynamodb() {
    callbacks_that_must_fail(Backend::Dynamo).await;
}

#[tokio::test]
async fn a_pending_login_without_a_verifier_is_refused() {
    let env = Env::new(Backend::Dynamo).await;
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
    let env = Env::with(
        Backend::Memory,
        IdpConfig::default(),
        &[
            ("CALLBACK_USE_ORIGIN", "true"),
            ("CALLBACK_ALLOWED_ORIGINS", "http://127.0.0.1:3001"),
        ],
    )
    .await;
    // The login starts on the second origin.
    let start = env
        .send(
            Request::builder()
                .uri("/auth/login?return_to=/x")
                .header("x-forwarded-host", "127.0.0.1:3001")
                .header("x-forwarded-proto", "http")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let authorize = start.header("location").unwrap().to_string();
    assert_eq!(
        query_param(&authorize, "redirect_uri").as_deref(),
        Some("http://127.0.0.1:3001/auth/callback")
    );
    let callback = sign_in(&env.idp, &authorize, "user").await;
    let path = callback.strip_prefix("http://127.0.0.1:3001").unwrap();
    // ... and the callback arrives on the first (foreign to this login).
    let a = env.get(path, None).await;
    assert_eq!(error_of(&a), "origin_mismatch");

    // A host that is not allowed counts as FRONTEND_URL.
    let start = env
        .send(
            Request::builder()
                .uri("/auth/login")
                .header("x-forwarded-host", "evil.example")
                .body(Body::empty())
                .unwrap(),
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
            Request::builder()
                .uri("/auth/login?return_to=/x")
                .header("x-forwarded-host", "127.0.0.1:3001")
                .header("x-forwarded-proto", "http")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let authorize = start.header("location").unwrap().to_string();
    let callback = sign_in(&env.idp, &authorize, "user").await;
    let path = callback.strip_prefix("http://127.0.0.1:3001").unwrap();
    let a = env
        .send(
            Request::builder()
                .uri(path)
                .header("x-forwarded-host", "127.0.0.1:3001")
                .header("x-forwarded-proto", "http")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(a.header("location"), Some("http://127.0.0.1:3001/x"));
}

#[tokio::test]
async fn a_cross_site_callback_error_leaves_the_session_alive() {
    for backend in [Backend::Memory, Backend::Dynamo] {
        let env = Env::new(backend).await;
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

fn short_lived() -> IdpConfig {
    IdpConfig {
        // Under the 60 s margin: every /token refreshes.
        access_token_ttl: Duration::from_secs(30),
        ..IdpConfig::default()
    }
}

async fn token_refreshes(backend: Backend) {
    let env = Env::with(backend, short_lived(), &[]).await;
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
async fn token_refreshes_memory() {
    token_refreshes(Backend::Memory).await;
}

#[tokio::test]
async fn token_refreshes_dynamodb() {
    token_refreshes(Backend::Dynamo).await;
}

#[tokio::test]
async fn a_refresh_without_rotation_keeps_the_refresh_token() {
    let env = Env::with(Backend::Memory, short_lived(), &[]).await;
    // A session of the confidential client (no rotation), made with posted tokens.
    let env = {
        let mut env = env;
        let vars = vars(
            &env.idp,
            &[("COGNITO_CLIENT_ID", l42_tests::idp::CONFIDENTIAL_CLIENT)],
        );
        env.config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        env
    };
    let keys = SessionCookies {
        keys: CookieKeys::new(SECRET, None).unwrap(),
        settings: CookieSettings::default(),
    };
    let oauth = Arc::new(CognitoClient::new(
        OAuthConfig::new(
            env.idp.base_url(),
            l42_tests::idp::CONFIDENTIAL_CLIENT,
            Some(l42_tests::idp::CONFIDENTIAL_SECRET),
        )
        .unwrap(),
    ));
    let sessions = Arc::new(Sessions::new(
        Arc::clone(&env.store),
        Arc::clone(&env.logins),
        keys,
        oauth,
        Arc::new(Verifier::new(env.config.verifier.clone()).unwrap()),
    ));
    let app = router(
        AppState::builder(env.config.clone())
            .sessions(sessions)
            .build(),
    );
    let t = mint(&env.idp, "user", l42_tests::idp::CONFIDENTIAL_CLIENT).unwrap();
    let a = send(
        &app,
        request(
            Method::POST,
            "/auth/session",
            None,
            Some(json!({"access_token": t.access_token, "id_token": t.id_token, "refresh_token": t.refresh_token})),
            true,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let cookie = cookie_of(&a);
    let a = send(
        &app,
        request(Method::GET, "/auth/token", Some(&cookie), None, false),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_ne!(a.body["access_token"], json!(t.access_token));
    let id = CookieKeys::new(SECRET, None)
        .unwrap()
        .verify(cookie.split_once('=').unwrap().1, unix_now())
        .unwrap()
        .session_id;
    let stored = env.store.get(&id).await.unwrap().unwrap();
    assert_eq!(stored.tokens.refresh_token, t.refresh_token);
}

async fn invalid_grant_ends_the_session(backend: Backend) {
    let env = Env::with(backend, short_lived(), &[]).await;
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

#[tokio::test]
async fn invalid_grant_ends_the_session_memory() {
    invalid_grant_ends_the_session(Backend::Memory).await;
}

#[tokio::test]
async fn invalid_grant_ends_the_session_dynamodb() {
    invalid_grant_ends_the_session(Backend::Dynamo).await;
}

async fn a_transient_failure_keeps_the_session(backend: Backend) {
    let env = Env::with(backend, short_lived(), &[]).await;
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

#[tokio::test]
async fn a_transient_failure_keeps_the_session_memory() {
    a_transient_failure_keeps_the_session(Backend::Memory).await;
}

#[tokio::test]
async fn a_transient_failure_keeps_the_session_dynamodb() {
    a_transient_failure_keeps_the_session(Backend::Dynamo).await;
}

// ---------------------------------------------------------------------------------------
// Logout.

#[tokio::test]
async fn logout_clears_the_cookie_and_revokes() {
    let env = Env::with(
        Backend::Memory,
        IdpConfig::default(),
        &[
            ("SESSION_HTTPS_ONLY", "true"),
            ("SESSION_SAME_SITE", "strict"),
        ],
    )
    .await;
    // Secure: the cookie is __Host- prefixed.
    let a = env.login_as("admin", "/", None).await;
    let set = a.header("set-cookie").unwrap().to_string();
    assert!(set.starts_with("__Host-l42_session=v1."), "{set}");
    for attr in ["; Path=/", "; HttpOnly", "; Secure"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Domain="));
    let cookie = cookie_of(&a);
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
    let env = Env::new(Backend::Dynamo).await;
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
    let env = Env::new(Backend::Dynamo).await;
    let start = env.get("/auth/login", None).await;
    assert_eq!(env.requests.take(), counts(&[("PutItem", 1)]), "/login");
    let authorize = start.header("location").unwrap().to_string();
    let callback = sign_in(&env.idp, &authorize, "user").await;
    let a = env
        .get(callback.strip_prefix(FRONTEND).unwrap(), None)
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(
        env.requests.take(),
        counts(&[("DeleteItem", 1), ("PutItem", 1)]),
        "/callback"
    );
    let cookie = cookie_of(&a);

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
        counts(&[("PutItem", 1), ("DeleteItem", 1)]),
        "/session replacing a session"
    );
    let cookie = cookie_of(&a);

    let out = env.post("/auth/logout", Some(&cookie), json!({})).await;
    assert_eq!(out.status, 200);
    assert_eq!(
        env.requests.take(),
        counts(&[("GetItem", 1), ("DeleteItem", 1)]),
        "/logout"
    );
}

#[tokio::test]
async fn a_refresh_costs_one_read_a_lease_and_one_conditional_write() {
    let env = Env::with(Backend::Dynamo, short_lived(), &[]).await;
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

    let env = Env::with(Backend::Memory, short_lived(), &[]).await;
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
    assert!(logs.contains("session destroyed"));
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
    let v = vars(&idp, &[]);
    let config = Config::from_lookup(|k| v.get(k).cloned()).unwrap();
    let sessions = Sessions::from_config(&config, |k| v.get(k).cloned()).unwrap();
    assert_eq!(sessions.store().backend(), "memory");
    assert_eq!(sessions.logins().backend(), "memory");
    assert_eq!(sessions.cookies().name(), "l42_session");

    let table = fresh_table().await.unwrap();
    let endpoint = l42_tests::moto_endpoint().unwrap();
    let v = vars(
        &idp,
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
            Some(json!({"access_token": t.access_token, "id_token": t.id_token})),
            true,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let cookie = cookie_of(&a);
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
    let bound = bound_with(&sessions, &state);
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
            Some(json!({"access_token": t.access_token, "id_token": t.id_token})),
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
            Some(json!({})),
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

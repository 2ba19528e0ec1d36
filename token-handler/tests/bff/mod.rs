//! A running token handler for the checklist, port and protocol tests: the whole router
//! (with the embedded Cedar engine and a real session layer) served by `axum::serve` on a
//! free loopback port, the dev identity provider as Cognito, reqwest as the browser. The
//! server stops when the [`Stack`] is dropped, also when a test fails.
//!
//! Every answer is checked on the way in: no refresh token the stack has seen, and not the
//! word `refresh_token`, in any body or header.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use l42_cedar::protocol::ProtocolEngine;
use l42_core::session::{
    DynamoLoginStates, DynamoStore, LoginStateStore, MemoryLoginStates, MemoryStore,
    RefreshOptions, Session, SessionId, SessionStore,
};
use l42_core::{CognitoClient, Verifier, unix_now};
use l42_dev::idp::{IdpConfig, RunningIdp};
use l42_tests::browser::Jar;
use l42_tests::requests::{Requests, counted};
use l42_tests::{TestTable, fresh_table, start_idp_with};
use l42_token_handler::{AppState, Config, CoordinatedRefresher, Sessions, router};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub use l42_tests::idp::{CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, PUBLIC_CLIENT};

/// The SPA's origin (`FRONTEND_URL`); the dev identity provider's clients list
/// `http://localhost:3000/auth/callback`.
pub const FRONTEND: &str = "http://localhost:3000";
/// The second allowed origin (`CALLBACK_ALLOWED_ORIGINS`).
pub const OTHER_ORIGIN: &str = "https://app.example.com";
/// An origin nobody listed.
pub const EVIL: &str = "https://evil.example";
pub const SECRET: &str = "bff-session-secret-for-tests-0123456789";

static ENGINE: LazyLock<Arc<ProtocolEngine>> =
    LazyLock::new(|| Arc::new(ProtocolEngine::embedded().unwrap()));

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Dynamo,
}

/// Which app client the token handler is configured as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// `l42-dev-public`, no secret.
    Public,
    /// `l42-dev-confidential` with its secret.
    Confidential,
    /// `l42-dev-confidential` with a wrong secret.
    ConfidentialWrongSecret,
}

pub struct Options {
    pub backend: Backend,
    pub client: Client,
    pub idp: IdpConfig,
    /// More variables, over the defaults.
    pub vars: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backend: Backend::Memory,
            client: Client::Public,
            idp: IdpConfig::default(),
            vars: Vec::new(),
        }
    }
}

impl Options {
    pub fn var(mut self, name: &'static str, value: &str) -> Self {
        self.vars.push((name, value.to_owned()));
        self
    }

    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    pub fn client(mut self, client: Client) -> Self {
        self.client = client;
        self
    }

    /// Access tokens that live 30 s, under the 60 s margin: every use refreshes.
    pub fn short_lived(mut self) -> Self {
        self.idp.access_token_ttl = Duration::from_secs(30);
        self
    }
}

/// An answer as the browser sees it.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The one session `Set-Cookie` of the answer, if any (more than one fails the test);
    /// the login binding cookie is left out (see [`Reply::login_set_cookie`]).
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

pub struct Stack {
    pub idp: RunningIdp,
    pub base: String,
    pub config: Config,
    pub sessions: Arc<Sessions>,
    pub store: Arc<dyn SessionStore>,
    pub table: Option<TestTable>,
    pub requests: Requests,
    http: reqwest::Client,
    /// Every refresh token seen; no answer may hold one.
    secrets: Mutex<Vec<String>>,
    /// The test browser's login binding cookie (the session cookie is passed by hand).
    pub jar: Jar,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Stack {
    pub async fn start(options: Options) -> Stack {
        let idp = start_idp_with(options.idp.clone()).await.unwrap();
        let (client_id, secret) = match options.client {
            Client::Public => (PUBLIC_CLIENT, None),
            Client::Confidential => (CONFIDENTIAL_CLIENT, Some(CONFIDENTIAL_SECRET)),
            Client::ConfidentialWrongSecret => (CONFIDENTIAL_CLIENT, Some("not-the-secret")),
        };
        let mut vars: HashMap<String, String> = [
            ("COGNITO_CLIENT_ID", client_id.to_owned()),
            ("COGNITO_USER_POOL_ID", idp.pool_id().to_owned()),
            ("COGNITO_DOMAIN", idp.base_url().to_owned()),
            ("SESSION_SECRET", SECRET.to_owned()),
            ("JWKS_URL", idp.jwks_url()),
            ("FRONTEND_URL", FRONTEND.to_owned()),
            ("CALLBACK_ALLOWED_ORIGINS", OTHER_ORIGIN.to_owned()),
            // Tokens refreshed seconds ago are refreshed again (the tests' live seconds).
            ("REFRESH_REUSE_SECONDS", "0".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(s) = secret {
            vars.insert("COGNITO_CLIENT_SECRET".into(), s.to_owned());
        }
        for (k, v) in &options.vars {
            vars.insert((*k).to_owned(), v.clone());
        }
        let lookup = |k: &str| vars.get(k).cloned();
        let config = Config::from_lookup(lookup).unwrap();

        let requests = Requests::default();
        let (store, logins, table): (Arc<dyn SessionStore>, Arc<dyn LoginStateStore>, _) =
            match options.backend {
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
        let cookies = config.cookies.clone();
        let oauth = Arc::new(CognitoClient::new(config.oauth.clone()));
        let options_r = RefreshOptions::from_lookup(lookup, oauth.config().timeout).unwrap();
        let refresher = Arc::new(CoordinatedRefresher::new(
            &oauth,
            Arc::clone(&store),
            options_r,
        ));
        let verifier = Arc::new(Verifier::new(config.verifier.clone()).unwrap());
        let sessions = Arc::new(
            Sessions::new(Arc::clone(&store), logins, cookies, oauth, verifier)
                .with_refresher(refresher),
        );
        let app = router(
            AppState::builder(config.clone())
                .cedar(Some(Arc::clone(&ENGINE)))
                .sessions(Arc::clone(&sessions))
                .build(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Stack {
            idp,
            base: format!("http://{addr}"),
            config,
            sessions,
            store,
            table,
            requests,
            http,
            secrets: Mutex::new(Vec::new()),
            jar: Jar::login_cookie(),
            server,
        }
    }

    pub fn remember(&self, refresh_token: &str) {
        self.secrets.lock().unwrap().push(refresh_token.to_owned());
    }

    /// Sends a request to the running server; checks that no refresh token comes back.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
        csrf: bool,
    ) -> Reply {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(c) = self.jar.cookie_header(cookie) {
            r = r.header("cookie", c);
        }
        if csrf {
            r = r.header("x-l42-csrf", "1");
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let response = r.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.jar.take_in(
            headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let reply = Reply {
            status,
            headers,
            text,
            body,
        };
        let everything = format!("{}{}", reply.all_headers(), reply.text);
        assert!(
            !everything.contains("refresh_token"),
            "an answer names the refresh token: {everything}"
        );
        for secret in self.secrets.lock().unwrap().iter() {
            assert!(
                !everything.contains(secret.as_str()),
                "a refresh token in an answer to {path}"
            );
        }
        reply
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        self.send(Method::GET, path, cookie, &[], None, false).await
    }

    /// A POST with the CSRF header and a JSON body.
    pub async fn post(&self, path: &str, cookie: Option<&str>, body: &Value) -> Reply {
        self.send(Method::POST, path, cookie, &[], Some(body), true)
            .await
    }

    /// `GET {P}/login`: the redirect to the identity provider's authorize URL.
    pub async fn start_login(&self) -> String {
        let start = self.get("/auth/login", None).await;
        assert_eq!(start.status, 302, "{}", start.text);
        start.header("location").unwrap().to_owned()
    }

    /// The whole hosted-UI login as a browser does it; the callback's answer.
    pub async fn login_as(&self, username: &str, cookie: Option<&str>) -> Reply {
        let authorize = self.start_login().await;
        let callback = sign_in(&self.idp, &authorize, username).await;
        let path = callback.strip_prefix(FRONTEND).unwrap();
        self.get(path, cookie).await
    }

    /// Logs in; the session cookie (`name=value`). Its refresh token is remembered.
    pub async fn login(&self, username: &str) -> String {
        let a = self.login_as(username, None).await;
        assert_eq!(a.status, 303, "{:?}", a.header("location"));
        let cookie = a.cookie();
        let session = self.stored(&cookie).await.unwrap();
        if let Some(r) = &session.tokens.refresh_token {
            self.remember(r);
        }
        cookie
    }

    pub fn session_id(&self, cookie: &str) -> SessionId {
        let value = cookie.split_once('=').unwrap().1;
        self.sessions
            .cookies()
            .keys
            .verify(value, unix_now())
            .unwrap()
            .session_id
    }

    /// The session a cookie (`name=value`) names, read from the store.
    pub async fn stored(&self, cookie: &str) -> Option<Session> {
        self.store.get(&self.session_id(cookie)).await.unwrap()
    }

    /// Remembers the refresh token the session now holds (after a refresh rotated it).
    pub async fn remember_current(&self, cookie: &str) {
        if let Some(s) = self.stored(cookie).await
            && let Some(r) = s.tokens.refresh_token
        {
            self.remember(&r);
        }
    }
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The hidden inputs of the identity provider's sign-in form.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    fn attribute(tag: &str, name: &str) -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    }
    html.match_indices("<input")
        .filter_map(|(i, _)| {
            let tag = &html[i..i + html[i..].find('>')?];
            tag.contains("type=\"hidden\"")
                .then(|| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
                .flatten()
        })
        .collect()
}

/// Opens the authorize URL and submits the sign-in form as `username`; the redirect to
/// the callback.
pub async fn sign_in(idp: &RunningIdp, authorize_url: &str, username: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "the sign-in form");
    let mut fields = hidden_inputs(&page.text().await.unwrap());
    assert!(!fields.is_empty(), "the form has hidden inputs");
    fields.push(("username".into(), username.into()));
    fields.push(("password".into(), format!("{username}-password")));
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    let resp = browser
        .post(format!("{}/login", idp.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "the sign-in");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

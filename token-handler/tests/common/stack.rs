//! A running token handler for the session, checklist, port and protocol tests: the whole
//! router (with the embedded Cedar engine and a real session layer) served by
//! `axum::serve` on a free loopback port, the dev identity provider as Cognito, reqwest as
//! the browser. The server stops when the [`Stack`] is dropped, also when a test fails.
//!
//! Every answer is checked on the way in: no refresh token the stack has seen, and not the
//! word `refresh_token`, in any body or header.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use l42_core::session::{
    DynamoLoginStates, DynamoStore, LoginStateStore, MemoryLoginStates, MemoryStore,
    RefreshOptions, Session, SessionId, SessionStore,
};
use l42_core::{CognitoClient, Verifier, unix_now};
use l42_idp::{IdpConfig, RunningIdp};
use l42_tests::browser::Jar;
use l42_tests::requests::{Requests, counted};
use l42_tests::{TestTable, fresh_table, start_idp_with};
use l42_token_handler::{AppState, Config, Sessions, router};
use reqwest::Method;
use serde_json::Value;

use super::{Answer, ENGINE, FRONTEND, OTHER_ORIGIN, query_param};

pub use l42_tests::Backend;
pub use l42_tests::idp::{CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, PUBLIC_CLIENT};

/// An origin nobody listed.
pub const EVIL: &str = "https://evil.example";
/// The session cookie's secret.
pub const SECRET: &str = "bff-session-secret-for-tests-0123456789";
/// Another secret, for key rotation.
pub const OTHER_SECRET: &str = "another-secret-for-tests-0123456789abcdef";

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

pub struct Stack {
    pub idp: RunningIdp,
    pub base: String,
    pub config: Config,
    pub sessions: Arc<Sessions>,
    /// The router the server serves, for requests sent in process (a flood of them).
    pub app: axum::Router,
    pub store: Arc<dyn SessionStore>,
    pub logins: Arc<dyn LoginStateStore>,
    pub table: Option<TestTable>,
    pub requests: Requests,
    vars: HashMap<String, String>,
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

/// The token handler's variables for `idp` as `client`, then `extra` over them.
pub fn vars(idp: &RunningIdp, client: Client, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let (client_id, secret) = match client {
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
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    vars
}

/// A login binding cookie (`name=value`) for `state` under `sessions`' secret, as
/// `{P}/login` would have set it for a pending login a test makes by hand.
pub fn login_binding(sessions: &Sessions, state: &str) -> String {
    let cookies = sessions.cookies();
    format!(
        "{}={}",
        cookies.settings.login_cookie_name(),
        cookies.keys.login_binding(state)
    )
}

impl Stack {
    pub async fn start(options: Options) -> Stack {
        let idp = start_idp_with(options.idp.clone()).await.unwrap();
        let extra: Vec<(&str, &str)> = options.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let vars = vars(&idp, options.client, &extra);
        let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        let requests = Requests::default();
        let (store, logins, table): (Arc<dyn SessionStore>, Arc<dyn LoginStateStore>, _) =
            match options.backend {
                Backend::Memory => (
                    Arc::new(MemoryStore::new()),
                    Arc::new(MemoryLoginStates::new()),
                    None,
                ),
                Backend::DynamoDb => {
                    let table = fresh_table().await.unwrap();
                    let store = DynamoStore::new(counted(table.client(), &requests), table.name());
                    let logins = DynamoLoginStates::for_store(&store);
                    (Arc::new(store), Arc::new(logins), Some(table))
                }
            };
        let (sessions, app, base, server) = serve(&config, &vars, &store, &logins).await;
        Stack {
            idp,
            base,
            config,
            sessions,
            app,
            store,
            logins,
            table,
            requests,
            vars,
            http: l42_idp::browser::client().unwrap(),
            secrets: Mutex::new(Vec::new()),
            jar: Jar::login_cookie(),
            server,
        }
    }

    /// The same stack (identity provider, stores, browser) restarted with other cookie
    /// secrets: `SESSION_SECRET` and `SESSION_SECRET_PREVIOUS` as given.
    pub async fn with_cookie_secrets(mut self, secret: &str, previous: Option<&str>) -> Stack {
        self.server.abort();
        self.vars.insert("SESSION_SECRET".into(), secret.to_owned());
        match previous {
            Some(p) => self
                .vars
                .insert("SESSION_SECRET_PREVIOUS".into(), p.to_owned()),
            None => self.vars.remove("SESSION_SECRET_PREVIOUS"),
        };
        self.config = Config::from_lookup(|k| self.vars.get(k).cloned()).unwrap();
        let (sessions, app, base, server) =
            serve(&self.config, &self.vars, &self.store, &self.logins).await;
        (self.sessions, self.app, self.base, self.server) = (sessions, app, base, server);
        self
    }

    /// A login binding cookie (`name=value`) for `state` (see [`login_binding`]).
    pub fn bound(&self, state: &str) -> String {
        login_binding(&self.sessions, state)
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
    ) -> Answer {
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
        let status = response.status();
        let headers = response.headers().clone();
        self.jar.take_in(
            headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let reply = Answer {
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

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        self.send(Method::GET, path, cookie, &[], None, false).await
    }

    /// A POST with the CSRF header and a JSON body.
    pub async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        body: impl std::borrow::Borrow<Value>,
    ) -> Answer {
        self.send(Method::POST, path, cookie, &[], Some(body.borrow()), true)
            .await
    }

    /// A DELETE with the CSRF header.
    pub async fn delete(&self, path: &str, cookie: Option<&str>) -> Answer {
        self.send(Method::DELETE, path, cookie, &[], None, true)
            .await
    }

    /// `GET {P}/login`: the redirect to the identity provider's authorize URL.
    pub async fn start_login(&self) -> String {
        self.start_login_at("/auth/login", None).await
    }

    /// `GET login` (`{P}/login` with its query) with `cookie`: the redirect to the
    /// identity provider's authorize URL, checked to ask for S256 PKCE.
    pub async fn start_login_at(&self, login: &str, cookie: Option<&str>) -> String {
        let start = self.get(login, cookie).await;
        assert_eq!(start.status, 302, "{}", start.text);
        let authorize = start.header("location").unwrap().to_owned();
        assert!(
            authorize.starts_with(&format!("{}/oauth2/authorize?", self.idp.base_url())),
            "{authorize}"
        );
        assert_eq!(
            query_param(&authorize, "code_challenge_method").as_deref(),
            Some("S256")
        );
        authorize
    }

    /// The whole hosted-UI login as a browser does it; the callback's answer.
    pub async fn login_as(&self, username: &str, cookie: Option<&str>) -> Answer {
        self.login_at("/auth/login", username, cookie).await
    }

    /// The whole hosted-UI login starting at `login` (`{P}/login` with its query); the
    /// callback's answer.
    pub async fn login_at(&self, login: &str, username: &str, cookie: Option<&str>) -> Answer {
        let authorize = self.start_login_at(login, cookie).await;
        let callback = self.idp.sign_in(&authorize, username).await.unwrap();
        let path = callback.strip_prefix(FRONTEND).unwrap();
        self.get(path, cookie).await
    }

    /// Logs in; the session cookie (`name=value`). Its refresh token is remembered.
    pub async fn login(&self, username: &str) -> String {
        self.login_from(username, None).await
    }

    /// Logs in from a browser that sends `user_agent` (none: no `User-Agent`); the session
    /// cookie. Its refresh token is remembered.
    pub async fn login_from(&self, username: &str, user_agent: Option<&str>) -> String {
        let authorize = self.start_login_at("/auth/login", None).await;
        let callback = self.idp.sign_in(&authorize, username).await.unwrap();
        let path = callback.strip_prefix(FRONTEND).unwrap();
        let agent = user_agent.map(|a| ("user-agent", a));
        let a = self
            .send(Method::GET, path, None, agent.as_slice(), None, false)
            .await;
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

/// The token handler for `config` over `store` and `logins`, served on a free loopback
/// port: its session layer, its router, its base URL and the server task.
async fn serve(
    config: &Config,
    vars: &HashMap<String, String>,
    store: &Arc<dyn SessionStore>,
    logins: &Arc<dyn LoginStateStore>,
) -> (
    Arc<Sessions>,
    axum::Router,
    String,
    tokio::task::JoinHandle<()>,
) {
    let oauth = Arc::new(CognitoClient::new(config.oauth.clone()));
    let options =
        RefreshOptions::from_lookup(|k| vars.get(k).cloned(), oauth.config().timeout).unwrap();
    let verifier = Arc::new(Verifier::new(config.verifier.clone()).unwrap());
    let sessions = Arc::new(
        Sessions::new(
            Arc::clone(store),
            Arc::clone(logins),
            config.cookies.clone(),
            oauth,
            verifier,
        )
        .with_refresh_options(options),
    );
    let app = router(
        AppState::builder(config.clone())
            .cedar(Some(Arc::clone(&ENGINE)))
            .sessions(Arc::clone(&sessions))
            .build(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = app.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, served).await.unwrap();
    });
    (sessions, app, format!("http://{addr}"), server)
}

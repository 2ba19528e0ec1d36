//! The local stack: every part of l42 on loopback, wired as it is deployed on AWS.
//!
//! [`Stack::start`] starts:
//!
//! - the dev identity provider (`l42-idp`) on its own port, with the example users
//!   and one more app client, `l42-dev-stack`, whose callback and logout URLs are the
//!   stack's own origin;
//! - one listener for the site, as CloudFront serves it from one origin:
//!   - `/_auth/*`: the token handler (`l42-token-handler`) and, for `POST /_auth/refresh`,
//!     the refresh function (`l42-refresh`), behind the edge auth-router's header rules
//!     ([`edge`]);
//!   - `/api/*`: an API Gateway emulation ([`gateway`]): each request becomes a Lambda
//!     authorizer event, the real authorizer (`l42-authorizer`, Cedar policies from
//!     `dev/policies/`) decides, the decision is enforced (401, 403, or the request goes on
//!     with the authorizer context) and a demo backend echoes the caller;
//!   - everything else: the demo single-page app ([`site`], `dev/site/`), with the pages
//!     under `/private/` gated by the session gate's cookie check ([`edge`]).
//!
//! All parts share one session store: in memory by default, DynamoDB when
//! `DYNAMODB_ENDPOINT` is set (the table is created when it does not exist).
//!
//! ```no_run
//! # async fn demo() -> Result<(), l42_dev::DevError> {
//! use l42_dev::stack::{Stack, StackConfig};
//!
//! let config = StackConfig { port: 0, ..StackConfig::default() };
//! let stack = Stack::start(config).await?;
//! println!("open {}/", stack.url());
//! stack.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod edge;
pub mod gateway;
pub mod site;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use l42_cedar::protocol::ProtocolEngine;
use l42_core::session::refresh::RefreshOptions;
use l42_core::session::{
    DynamoLoginStates, DynamoStore, LoginStateStore, MemoryLoginStates, MemoryStore,
    SessionCookies, SessionStore,
};
use l42_core::{CognitoClient, OAuthConfig, Verifier};
use l42_token_handler::{AppState, Sessions};
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::DevError;
use l42_idp::{AppClient, Directory, Idp, IdpConfig, RefreshRotation, RunningIdp};

/// The stack's default port (`L42_DEV_PORT`).
pub const DEFAULT_PORT: u16 = 8042;

/// The app client the stack's token handler signs users in with.
pub const STACK_CLIENT_ID: &str = "l42-dev-stack";

/// Where the token handler and the refresh function live, as behind CloudFront.
pub const AUTH_PREFIX: &str = "/_auth";

/// Where the demo API lives.
pub const API_PREFIX: &str = "/api";

/// The session table's default name (`DYNAMODB_TABLE`).
pub const DEFAULT_TABLE: &str = "l42_sessions";

/// The variables passed on to the DynamoDB store when `DYNAMODB_ENDPOINT` is set.
const DYNAMODB_VARS: [&str; 8] = [
    "DYNAMODB_ENDPOINT",
    "DYNAMODB_TABLE",
    "DYNAMODB_TIMEOUT_MS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Which authorizer event the API Gateway emulation builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiEvent {
    /// An HTTP API with a Lambda authorizer, payload format 2.0, simple responses.
    #[default]
    HttpV2,
    /// A REST API with a `REQUEST` Lambda authorizer (IAM policy responses).
    RestRequest,
}

/// How the stack runs. [`StackConfig::from_lookup`] reads it from variables.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `L42_DEV_PORT` | `8042` | the site's port on 127.0.0.1 (`0`: a free port) |
/// | `L42_DEV_IDP_PORT` | `0` (a free port) | the identity provider's port |
/// | `L42_DEV_TOKEN_SECONDS` | `3600` | lifetime of access and id tokens |
/// | `L42_DEV_API_EVENT` | `http` | `http` (payload 2.0) or `rest` (REST `REQUEST`) |
/// | `L42_DEV_SECURE_COOKIE` | `true` | `Secure` session cookie, named `__Host-l42_session` as in production |
/// | `L42_DEV_REVOCATION_RECHECK_SECONDS` | `0` | the authorizer's `REVOCATION_RECHECK_SECONDS` (its revocation check is on): 0 shows an ended session's Bearer token refused at once; production's default is 30 |
/// | `DYNAMODB_ENDPOINT` | unset (memory) | keep sessions in DynamoDB at this endpoint |
/// | `DYNAMODB_TABLE`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, … | | passed on to the DynamoDB store |
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The site's port.
    pub port: u16,
    /// The identity provider's port.
    pub idp_port: u16,
    /// Lifetime of access and id tokens.
    pub token_ttl: Duration,
    /// The event the API Gateway emulation builds.
    pub api_event: ApiEvent,
    /// Whether the session cookie is `Secure` (and `__Host-` prefixed).
    pub secure_cookie: bool,
    /// How long the authorizer keeps a sign-in's revocation answer.
    pub revocation_recheck: Duration,
    /// The DynamoDB variables (`DYNAMODB_*`, `AWS_*`) when `DYNAMODB_ENDPOINT` is set;
    /// empty for the in-memory store.
    pub dynamodb: BTreeMap<String, String>,
}

impl Default for StackConfig {
    fn default() -> StackConfig {
        StackConfig {
            port: DEFAULT_PORT,
            idp_port: 0,
            token_ttl: Duration::from_secs(3600),
            api_event: ApiEvent::HttpV2,
            secure_cookie: true,
            revocation_recheck: Duration::ZERO,
            dynamodb: BTreeMap::new(),
        }
    }
}

impl StackConfig {
    /// Reads the process environment (see the table above).
    ///
    /// # Errors
    /// [`DevError::Config`] naming the variable at fault.
    pub fn from_env() -> Result<StackConfig, DevError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables `lookup` gives (see the table above).
    ///
    /// # Errors
    /// [`DevError::Config`] naming the variable at fault.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<StackConfig, DevError> {
        let get = |name: &str| l42_core::config::var(&lookup, name);
        let bad = |name: &str, value: &str, why: &str| {
            DevError::Config(format!("{name}: `{value}` {why}"))
        };
        let port = |name: &str, default: u16| match get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u16>()
                .map_err(|_| bad(name, &v, "is not a port number (0-65535)")),
        };
        let mut config = StackConfig {
            port: port("L42_DEV_PORT", DEFAULT_PORT)?,
            idp_port: port("L42_DEV_IDP_PORT", 0)?,
            ..StackConfig::default()
        };
        if let Some(v) = get("L42_DEV_TOKEN_SECONDS") {
            match v.parse::<u64>() {
                Ok(n) if (1..=86_400).contains(&n) => config.token_ttl = Duration::from_secs(n),
                _ => {
                    return Err(bad(
                        "L42_DEV_TOKEN_SECONDS",
                        &v,
                        "is not 1 to 86400 seconds",
                    ));
                }
            }
        }
        if let Some(v) = get("L42_DEV_API_EVENT") {
            config.api_event = match v.to_ascii_lowercase().as_str() {
                "http" => ApiEvent::HttpV2,
                "rest" => ApiEvent::RestRequest,
                _ => return Err(bad("L42_DEV_API_EVENT", &v, "is not http or rest")),
            };
        }
        if let Some(v) = get("L42_DEV_SECURE_COOKIE") {
            config.secure_cookie = l42_core::config::parse_bool("L42_DEV_SECURE_COOKIE", &v)
                .map_err(|_| bad("L42_DEV_SECURE_COOKIE", &v, "is not true or false"))?;
        }
        if let Some(v) = get("L42_DEV_REVOCATION_RECHECK_SECONDS") {
            match v.parse::<u64>() {
                Ok(n) if n <= l42_core::session::revocation::MAX_RECHECK_SECS => {
                    config.revocation_recheck = Duration::from_secs(n);
                }
                _ => {
                    return Err(bad(
                        "L42_DEV_REVOCATION_RECHECK_SECONDS",
                        &v,
                        "is not 0 to 3600 seconds",
                    ));
                }
            }
        }
        if get("DYNAMODB_ENDPOINT").is_some() {
            for name in DYNAMODB_VARS {
                if let Some(v) = get(name) {
                    config.dynamodb.insert(name.to_string(), v);
                }
            }
        }
        Ok(config)
    }
}

/// Starts the stack.
#[derive(Debug)]
pub struct Stack;

/// A running stack; [`shutdown`](RunningStack::shutdown) stops it (dropping it stops the
/// servers too, without waiting).
#[derive(Debug)]
pub struct RunningStack {
    url: String,
    idp: RunningIdp,
    backend: &'static str,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningStack {
    /// The site's base URL, `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The identity provider.
    pub fn idp(&self) -> &RunningIdp {
        &self.idp
    }

    /// Where sessions are kept: `memory` or `dynamodb`.
    pub fn session_backend(&self) -> &'static str {
        self.backend
    }

    /// The users a person can sign in as: `(username, password, groups)`.
    pub fn users(&self) -> Vec<(String, String, Vec<String>)> {
        self.idp
            .directory()
            .users()
            .iter()
            .map(|u| (u.username.clone(), u.password.clone(), u.groups.clone()))
            .collect()
    }

    /// Stops the site and the identity provider and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.idp.shutdown().await;
    }
}

/// What the front door dispatches to.
#[derive(Clone)]
struct Front {
    token_handler: Router,
    refresh: Router,
    gateway: Arc<gateway::Gateway>,
    gate: Arc<edge::SessionGate>,
}

impl Stack {
    /// Starts every part (see the module docs) in the current Tokio runtime.
    ///
    /// # Errors
    /// A port that cannot be bound, a configuration a part refuses, a DynamoDB table that
    /// cannot be created.
    pub async fn start(config: StackConfig) -> Result<RunningStack, DevError> {
        let addr = format!("127.0.0.1:{}", config.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| DevError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let local: SocketAddr = listener
            .local_addr()
            .map_err(|source| DevError::Bind { addr, source })?;
        let port = local.port();
        let origin = format!("http://127.0.0.1:{port}");
        let alias = format!("http://localhost:{port}");

        let idp = Idp::start(
            IdpConfig {
                access_token_ttl: config.token_ttl,
                id_token_ttl: config.token_ttl,
                directory: directory(&[&origin, &alias])?,
                ..IdpConfig::default()
            },
            &format!("127.0.0.1:{}", config.idp_port),
        )
        .await?;

        let secret = l42_core::oauth::random_state()
            .map_err(|_| DevError::Idp(l42_idp::IdpError::Random))?;
        let mut vars: BTreeMap<String, String> = [
            ("COGNITO_CLIENT_ID", STACK_CLIENT_ID.to_string()),
            ("COGNITO_USER_POOL_ID", idp.pool_id().to_string()),
            ("COGNITO_DOMAIN", idp.base_url().to_string()),
            ("JWKS_URL", idp.jwks_url()),
            ("SESSION_SECRET", secret),
            ("SESSION_HTTPS_ONLY", config.secure_cookie.to_string()),
            ("FRONTEND_URL", origin.clone()),
            ("CALLBACK_USE_ORIGIN", "true".to_string()),
            ("CALLBACK_ALLOWED_ORIGINS", alias),
            ("AUTH_PATH_PREFIX", AUTH_PREFIX.to_string()),
            ("IDENTITY_SOURCES", "header,cookie".to_string()),
            ("REVOCATION_CHECK", "on".to_string()),
            (
                "REVOCATION_RECHECK_SECONDS",
                config.revocation_recheck.as_secs().to_string(),
            ),
            ("HTTP_API_RESPONSE", "simple".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        // The refresh coordinator hands out tokens refreshed within its reuse window (5 s by
        // default) instead of refreshing again; with short test lifetimes those could be
        // expired already, so the window stays at most half the token lifetime.
        let reuse = (config.token_ttl.as_secs() / 2).min(5);
        vars.insert("REFRESH_REUSE_SECONDS".into(), reuse.to_string());
        let dynamo = !config.dynamodb.is_empty();
        vars.insert(
            "SESSION_BACKEND".into(),
            if dynamo { "dynamodb" } else { "memory" }.into(),
        );
        vars.extend(config.dynamodb.clone());
        let lookup = |name: &str| vars.get(name).cloned();
        let part = |which: &str, e: &dyn std::fmt::Display| {
            DevError::Config(format!("the {which} refused the stack's settings: {e}"))
        };

        // One session store for every part, as one DynamoDB table is in production.
        let (store, logins): (Arc<dyn SessionStore>, Arc<dyn LoginStateStore>) = if dynamo {
            let store = DynamoStore::from_lookup(lookup).map_err(|e| part("session store", &e))?;
            ensure_table(&store).await?;
            let logins = DynamoLoginStates::for_store(&store);
            (Arc::new(store), Arc::new(logins))
        } else {
            (
                Arc::new(MemoryStore::new()),
                Arc::new(MemoryLoginStates::new()),
            )
        };

        // The token handler.
        let th = |e: &dyn std::fmt::Display| part("token handler", e);
        let th_config = l42_token_handler::Config::from_lookup(lookup).map_err(|e| th(&e))?;
        let cookies = SessionCookies::from_lookup(lookup).map_err(|e| th(&e))?;
        let oauth = Arc::new(CognitoClient::new(
            OAuthConfig::from_lookup(lookup).map_err(|e| th(&e))?,
        ));
        let verifier = Arc::new(Verifier::new(th_config.verifier.clone()).map_err(|e| th(&e))?);
        let options =
            RefreshOptions::from_lookup(lookup, oauth.config().timeout).map_err(|e| th(&e))?;
        let sessions = Sessions::new(Arc::clone(&store), logins, cookies.clone(), oauth, verifier)
            .with_refresh_options(options);
        let protocol = ProtocolEngine::embedded().map_err(|e| th(&e))?;
        let token_handler = l42_token_handler::router(
            AppState::builder(th_config)
                .cedar(Some(Arc::new(protocol)))
                .sessions(Arc::new(sessions))
                .build(),
        );

        // The refresh function, over the same store.
        let mut refresh_config =
            l42_refresh::Config::from_lookup(lookup).map_err(|e| part("refresh function", &e))?;
        refresh_config.store = Arc::clone(&store);
        let refresh = l42_refresh::router(&refresh_config);

        // The authorizer, reading sessions from the same store for the cookie source. It
        // also accepts the machine clients' tokens (client credentials), as an API's
        // authorizer lists every app client that calls it.
        let api_clients = std::iter::once(STACK_CLIENT_ID)
            .chain(
                idp.directory()
                    .clients()
                    .iter()
                    .filter(|c| c.client_credentials)
                    .map(|c| c.client_id.as_str()),
            )
            .collect::<Vec<_>>()
            .join(",");
        let api_lookup = |name: &str| match name {
            "COGNITO_CLIENT_ID" => Some(api_clients.clone()),
            _ => lookup(name),
        };
        let gateway = gateway::Gateway::new(config.api_event, api_lookup, Arc::clone(&store))?;

        let front = Front {
            token_handler,
            refresh,
            gateway: Arc::new(gateway),
            gate: Arc::new(edge::SessionGate::new(cookies)),
        };
        let app = Router::new().fallback(dispatch).with_state(front);
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "the local stack's listener stopped with an error");
            }
        });
        Ok(RunningStack {
            url: origin,
            idp,
            backend: if dynamo { "dynamodb" } else { "memory" },
            stop,
            task: Some(task),
        })
    }
}

/// The example users and groups, and the stack's app client for `origins`.
fn directory(origins: &[&str]) -> Result<Directory, DevError> {
    let example = Directory::example();
    let mut clients = example.clients().to_vec();
    clients.push(AppClient {
        client_id: STACK_CLIENT_ID.to_string(),
        client_secret: None,
        callback_urls: origins
            .iter()
            .map(|o| format!("{o}{AUTH_PREFIX}/callback"))
            .collect(),
        logout_urls: origins.iter().map(|o| format!("{o}/")).collect(),
        allowed_scopes: ["openid", "email", "profile"]
            .into_iter()
            .map(str::to_string)
            .collect(),
        refresh_token_rotation: RefreshRotation {
            enabled: true,
            grace_seconds: 10,
        },
        require_pkce: true,
        client_credentials: false,
    });
    Ok(
        Directory::new(example.groups().to_vec(), example.users().to_vec(), clients)
            .map_err(l42_idp::IdpError::from)?,
    )
}

/// Creates the session table when it does not exist (a fresh local emulator).
async fn ensure_table(store: &DynamoStore) -> Result<(), DevError> {
    let client = store.client();
    let table = store.table();
    let unavailable =
        |e: &dyn std::fmt::Display| DevError::Config(format!("DynamoDB table `{table}`: {e}"));
    match client.describe_table().table_name(table).send().await {
        Ok(_) => return Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => {
            return Err(unavailable(&aws_sdk_dynamodb::error::DisplayErrorContext(
                e,
            )));
        }
    }
    l42_core::session::dynamodb::create_session_table(client, table)
        .send()
        .await
        .map_err(|e| unavailable(&aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    // Local emulators create tables at once; wait a little for one that does not.
    for _ in 0..50 {
        let status = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .ok()
            .and_then(|d| d.table)
            .and_then(|t| t.table_status);
        if status == Some(aws_sdk_dynamodb::types::TableStatus::Active) {
            tracing::info!(table, "created the session table");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(DevError::Config(format!(
        "DynamoDB table `{table}` was created but did not become active"
    )))
}

/// The front door: what CloudFront's behaviours do, by path.
async fn dispatch(State(front): State<Front>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    if under(&path, AUTH_PREFIX) {
        let request = edge::auth_router(request);
        let target = if path == format!("{AUTH_PREFIX}/refresh") {
            front.refresh
        } else {
            front.token_handler
        };
        return match target.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    if under(&path, API_PREFIX) {
        return front.gateway.handle(request).await;
    }
    let method = request.method();
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        // The static origin (S3 behind CloudFront) serves reads only.
        let mut r = json_response(
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({"message": "Method Not Allowed"}),
        );
        r.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("GET, HEAD"),
        );
        return edge::security_headers(r);
    }
    let response = if edge::is_protected(&path) {
        match front.gate.refusal(&request) {
            None => site::serve(&path),
            Some(redirect) => redirect,
        }
    } else {
        site::serve(&path)
    };
    edge::security_headers(response)
}

/// Whether `path` is `prefix` or below it.
fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A response with a status, a JSON body and `cache-control: no-store`.
fn json_response(status: axum::http::StatusCode, body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    h.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<StackConfig, DevError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StackConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_variables() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, DEFAULT_PORT);
        assert_eq!(c.idp_port, 0);
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert_eq!(c.api_event, ApiEvent::HttpV2);
        assert!(c.secure_cookie);
        assert!(c.dynamodb.is_empty());
        let c = config(&[
            ("L42_DEV_PORT", "0"),
            ("L42_DEV_IDP_PORT", "9000"),
            ("L42_DEV_TOKEN_SECONDS", "5"),
            ("L42_DEV_API_EVENT", "REST"),
            ("L42_DEV_SECURE_COOKIE", "off"),
            ("L42_DEV_REVOCATION_RECHECK_SECONDS", "30"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            ("AWS_REGION", "eu-west-1"),
            ("HOME", "/somewhere"),
        ])
        .unwrap();
        assert_eq!((c.port, c.idp_port), (0, 9000));
        assert_eq!(c.token_ttl, Duration::from_secs(5));
        assert_eq!(c.api_event, ApiEvent::RestRequest);
        assert!(!c.secure_cookie);
        assert_eq!(c.revocation_recheck, Duration::from_secs(30));
        assert_eq!(
            c.dynamodb.keys().collect::<Vec<_>>(),
            ["AWS_REGION", "DYNAMODB_ENDPOINT"]
        );
    }

    #[test]
    fn bad_variables_are_named() {
        for (name, value) in [
            ("L42_DEV_PORT", "http"),
            ("L42_DEV_IDP_PORT", "70000"),
            ("L42_DEV_TOKEN_SECONDS", "0"),
            ("L42_DEV_REVOCATION_RECHECK_SECONDS", "3601"),
            ("L42_DEV_REVOCATION_RECHECK_SECONDS", "soon"),
            ("L42_DEV_TOKEN_SECONDS", "soon"),
            ("L42_DEV_API_EVENT", "websocket"),
            ("L42_DEV_SECURE_COOKIE", "maybe"),
        ] {
            let e = config(&[(name, value)]).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains(value), "{e}");
        }
    }

    #[test]
    fn paths_under_a_prefix() {
        assert!(under("/_auth", "/_auth"));
        assert!(under("/_auth/me", "/_auth"));
        assert!(!under("/_authx", "/_auth"));
        assert!(!under("/", "/api"));
    }
}

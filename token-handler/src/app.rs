//! The router, its shared state, the caller's identity, and the cross-cutting layers.
//!
//! [`router`] builds the whole application: `GET /health` at the root, the endpoints of
//! [`routes::auth_routes`] under `AUTH_PATH_PREFIX`, a JSON 404 for everything else, and
//! these layers, outermost first:
//!
//! 1. CORS ([`l42_core::service::cors`]): exact-origin allow-list; answers preflights;
//! 2. JSON errors: any error response without a JSON body (axum's 405, a 413, ...) gets
//!    `{"error": …}`;
//! 3. panics caught: a 500 `{"error":"Internal server error"}` (should never happen);
//! 4. the request timeout ([`Config::request_timeout`]): a 503;
//! 5. CSRF ([`l42_core::service::csrf`]): a 403 before the body is read;
//! 6. the body size limit ([`Config::max_body_bytes`]).
//!
//! Who the caller is comes from an [`IdentityProvider`] held in the [`AppState`]: the
//! session layer provides the real one ([`SessionIdentity`], set by
//! [`AppStateBuilder::sessions`]); [`NoSessions`] (no caller, ever) stands in until it is
//! configured. Handlers ask for [`Caller`] (401 when there is none) or
//! [`MaybeCaller`].

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use l42_cedar::protocol::ProtocolEngine;
use tower_http::catch_panic::CatchPanicLayer;

use crate::config::{Config, Origin};
use crate::error::ApiError;
use crate::owners::{BoxFuture, OwnerLookup};
use crate::routes;
use crate::session::{SessionIdentity, Sessions};
use l42_core::service;

/// The methods a CORS preflight allows.
pub const ALLOWED_METHODS: &str = "GET, POST, DELETE";

/// The tokens a session holds (the session record's own type; `Debug` shows none of them).
pub use l42_core::session::SessionTokens;

/// The caller, as the session layer knows them (from the session's verified id token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's `sub`.
    pub sub: String,
    /// The user's email, when the id token has one.
    pub email: Option<String>,
    /// `cognito:groups`, as the token carries them (not yet lower-cased or aliased).
    pub groups: Vec<String>,
    /// The session's tokens, when the identity comes from a session.
    pub tokens: Option<SessionTokens>,
    /// The key the user's sessions are listed by ([`l42_core::session::user_key`]), when
    /// the identity comes from a session.
    pub user: Option<String>,
}

/// Finds the caller of a request (the session layer implements this over the session
/// cookie and store).
///
/// `Ok(None)` is "no caller" (no cookie, a bad or stale one, tokens that cannot be
/// used): the handlers answer 401. [`ApiError::SessionEnded`] is "no caller, and the
/// session the cookie named has ended" (its refresh token is dead, its record is gone):
/// the handlers answer 401 and clear the cookie. Any other `Err` is a failure to find
/// out (the store is down): the handlers answer with it (a 503 for
/// [`ApiError::Unavailable`]), never as "no caller".
pub trait IdentityProvider: Send + Sync + 'static {
    /// The caller of the request whose head is `parts`.
    fn identify<'a>(
        &'a self,
        parts: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Identity>, ApiError>>;
}

/// The provider used while no session layer is configured: nobody is ever signed in.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSessions;

impl IdentityProvider for NoSessions {
    fn identify<'a>(
        &'a self,
        _parts: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Identity>, ApiError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    origins: Vec<Origin>,
    cedar: Option<Arc<ProtocolEngine>>,
    identity: Arc<dyn IdentityProvider>,
    owners: Option<Arc<dyn OwnerLookup>>,
    sessions: Option<Arc<Sessions>>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("auth_path_prefix", &self.inner.config.auth_path_prefix)
            .field("origins", &self.inner.origins)
            .field("cedar", &self.inner.cedar.is_some())
            .field("owner_lookup", &self.inner.owners.is_some())
            .field("sessions", &self.inner.sessions)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A builder over `config`: no Cedar engine, [`NoSessions`], no owner lookup until set.
    pub fn builder(config: Config) -> AppStateBuilder {
        AppStateBuilder {
            config,
            cedar: None,
            identity: Arc::new(NoSessions),
            owners: None,
            sessions: None,
        }
    }

    /// The configuration the application was built with (read once at start-up).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The configuration, shareable.
    pub fn config_arc(&self) -> Arc<Config> {
        Arc::clone(&self.inner.config)
    }

    /// The allowed origins: `FRONTEND_URL`, then `CALLBACK_ALLOWED_ORIGINS`.
    pub fn origins(&self) -> &[Origin] {
        &self.inner.origins
    }

    /// Whether `origin` (an `Origin` header or `clientDataJSON.origin`) is allowed,
    /// compared exactly after normalisation.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        Origin::parse(origin).is_ok_and(|o| self.inner.origins.contains(&o))
    }

    /// The Cedar engine, `None` when it failed to load (requests then fail closed).
    pub fn cedar(&self) -> Option<&ProtocolEngine> {
        self.inner.cedar.as_deref()
    }

    /// The identity provider.
    pub fn identity(&self) -> &dyn IdentityProvider {
        self.inner.identity.as_ref()
    }

    /// The owner lookup, when one is configured.
    pub fn owner_lookup(&self) -> Option<&dyn OwnerLookup> {
        self.inner.owners.as_deref()
    }

    /// The session layer; a 503 when none is configured (the session endpoints fail
    /// closed).
    pub fn sessions(&self) -> Result<&Sessions, ApiError> {
        self.inner
            .sessions
            .as_deref()
            .ok_or_else(|| ApiError::Unavailable("no session layer configured".to_owned()))
    }
}

/// Builds an [`AppState`].
pub struct AppStateBuilder {
    config: Config,
    cedar: Option<Arc<ProtocolEngine>>,
    identity: Arc<dyn IdentityProvider>,
    owners: Option<Arc<dyn OwnerLookup>>,
    sessions: Option<Arc<Sessions>>,
}

impl fmt::Debug for AppStateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppStateBuilder").finish_non_exhaustive()
    }
}

impl AppStateBuilder {
    /// The Cedar engine for `authorize` (`None`: it failed to load).
    pub fn cedar(mut self, engine: Option<Arc<ProtocolEngine>>) -> Self {
        self.cedar = engine;
        self
    }

    /// Who the caller is (the session layer's provider).
    pub fn identity(mut self, provider: Arc<dyn IdentityProvider>) -> Self {
        self.identity = provider;
        self
    }

    /// The session layer; also makes it the identity provider ([`SessionIdentity`]).
    pub fn sessions(mut self, sessions: Arc<Sessions>) -> Self {
        self.identity = Arc::new(SessionIdentity(Arc::clone(&sessions)));
        self.sessions = Some(sessions);
        self
    }

    /// Where resource owners come from (required when `ENTITY_TABLE` is set: without it,
    /// requests naming a resource fail closed with a 503).
    pub fn owner_lookup(mut self, lookup: Arc<dyn OwnerLookup>) -> Self {
        self.owners = Some(lookup);
        self
    }

    /// The application state, with the allowed origins computed from the configuration.
    pub fn build(self) -> AppState {
        let origins = self.config.allowed_origins();
        AppState {
            inner: Arc::new(Inner {
                config: Arc::new(self.config),
                origins,
                cedar: self.cedar,
                identity: self.identity,
                owners: self.owners,
                sessions: self.sessions,
            }),
        }
    }
}

/// The signed-in caller; extracting it answers 401 `{"error":"Not authenticated"}` when
/// there is none.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match state.identity().identify(parts).await? {
            Some(identity) => Ok(Caller(identity)),
            None => Err(ApiError::NotAuthenticated),
        }
    }
}

/// The caller when there is one (endpoints that also answer without a session).
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Identity>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match state.identity().identify(parts).await {
            Ok(identity) => Ok(MaybeCaller(identity)),
            // No caller; an endpoint that answers without one answers as usual.
            Err(ApiError::SessionEnded { .. }) => Ok(MaybeCaller(None)),
            Err(e) => Err(e),
        }
    }
}

/// The whole application for `state`.
pub fn router(state: AppState) -> Router {
    let prefix = state.config().auth_path_prefix.clone();
    let auth = routes::auth_routes();
    let app = Router::new().route("/health", get(routes::health::handler));
    let app = if prefix.is_empty() {
        app.merge(auth)
    } else {
        app.nest(&prefix, auth)
    };
    with_layers(app, state)
}

/// Adds the JSON 404 fallback and the cross-cutting layers (see the module docs) to
/// `routes`, and the state. [`router`] uses it; tests use it to put the layers around
/// routes of their own.
pub fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let max_body = state.config().max_body_bytes;
    let cors = service::Cors::new(state.origins(), ALLOWED_METHODS);
    routes
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(service::csrf))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::map_response(service::json_errors))
        .layer(middleware::from_fn_with_state(cors, service::cors))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Answers 503 when the rest of the stack takes longer than the configured timeout.
async fn timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config().request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = limit.as_millis(), "request timed out");
            ApiError::Timeout.into_response()
        }
    }
}

/// A panic in a handler: logged (without its payload, which could hold anything) and
/// answered with a JSON 500.
fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    ApiError::Internal.into_response()
}

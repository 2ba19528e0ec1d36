//! # l42-authorizer
//!
//! An API Gateway Lambda authorizer: it verifies a Cognito JWT against a cached JWKS and
//! makes a Cedar decision for the route, for REST (TOKEN and REQUEST), HTTP API (payload
//! 1.0 and 2.0, simple or IAM responses) and WebSocket `$connect` events, told apart from
//! the event itself.
//!
//! - Missing or invalid token → [`Outcome::Unauthorized`] (API Gateway answers 401).
//! - Cedar deny, or a route the policy store does not know → an explicit Deny (403).
//! - Allow → a policy (or `isAuthorized: true`) with `principalId` = `sub` and a context.
//! - The session store (for the `cookie` identity source) not answering →
//!   [`Outcome::Failed`] (API Gateway answers 500; nothing is allowed).
//!
//! ```
//! use l42_authorizer::{Authorizer, AuthorizerConfig, Outcome};
//! use l42_core::SigningKey;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = SigningKey::generate("k1")?;
//! let jwks = key.jwks_json();
//! let env = [
//!     ("COGNITO_USER_POOL_ID", "us-east-1_Example"),
//!     ("COGNITO_CLIENT_ID", "client-1"),
//!     ("JWKS_JSON", jwks.as_str()),
//!     ("JWKS_URL", "off"),
//! ];
//! let config = AuthorizerConfig::from_lookup(|k| {
//!     env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
//! })?;
//! let authorizer = Authorizer::new(config, l42_cedar::Engine::embedded()?)?;
//!
//! let now = l42_core::unix_now();
//! let token = key.sign_json(&serde_json::json!({
//!     "sub": "user-1", "username": "alice", "cognito:groups": ["users"],
//!     "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
//!     "client_id": "client-1", "token_use": "access", "iat": now, "exp": now + 300,
//! }))?;
//! let event = serde_json::json!({
//!     "type": "TOKEN",
//!     "authorizationToken": format!("Bearer {token}"),
//!     "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/orders",
//! });
//! match authorizer.handle(event.to_string().as_bytes()).await {
//!     Outcome::Respond { allowed, .. } => assert!(allowed),
//!     Outcome::Unauthorized { .. } | Outcome::Failed { .. } => unreachable!(),
//! }
//! # Ok(())
//! # }
//! ```

pub mod cache_safe;
pub mod config;
pub mod event;
pub mod identity;
mod json;
pub mod response;

use std::borrow::Cow;
use std::sync::Arc;

use identity::Credential;
use l42_cedar::{Engine, PolicyConfig, Principal, RequestFacts};
use l42_core::session::{DynamoStore, SessionStore, StoreError};
use l42_core::{ConfigError, TokenUse, VerifiedClaims, Verifier, unix_now};
use serde::Serialize;

pub use config::{AuthorizerConfig, HttpApiResponse, IdentitySource};
pub use event::{EventKind, MethodArn, RawEvent};
use response::{AllowContext, Joined};

/// Why a request was decided as it was: what `--explain` prints and what is logged.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Explain {
    /// The event kind, when it was recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'static str>,
    /// The step that decided: `event`, `identity`, `token`, `route` or `policy`.
    pub stage: &'static str,
    /// What happened at that step.
    pub reason: Cow<'static, str>,
    /// The Cedar action, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The caller's `sub`, once verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The policies that determined the decision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Evaluation errors and fail-closed reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The result of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No usable token: the Lambda returns the error `Unauthorized` (401).
    Unauthorized {
        /// Why.
        explain: Explain,
    },
    /// The decision could not be made (the session store did not answer): the Lambda
    /// returns another error, which API Gateway answers with 500. Nothing is allowed.
    Failed {
        /// Why.
        explain: Explain,
    },
    /// A response document to return as is (Allow, or an explicit Deny).
    Respond {
        /// The response JSON.
        body: Vec<u8>,
        /// Whether it allows the request.
        allowed: bool,
        /// Why.
        explain: Explain,
    },
}

impl Outcome {
    /// The explanation, whatever the outcome.
    pub fn explain(&self) -> &Explain {
        match self {
            Outcome::Unauthorized { explain }
            | Outcome::Failed { explain }
            | Outcome::Respond { explain, .. } => explain,
        }
    }
}

/// Why a session cookie gave no token.
enum SessionProblem {
    /// No session: the caller is unauthorized.
    Refused(String),
    /// The store did not answer: no decision can be made.
    Unavailable(String),
}

/// Start-up failed: bad configuration or an unusable policy store.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// An environment variable is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The Cedar schema or policies cannot be used: the variable that chose them
    /// (`CEDAR_POLICY_DIR`, `CEDAR_APPLICATION`; `None` for the embedded example), and why.
    #[error("{}{source}", Var(*var))]
    Policies {
        /// The variable at fault.
        var: Option<&'static str>,
        /// What is wrong.
        source: Box<l42_cedar::LoadError>,
    },
}

impl StartupError {
    /// A policy store error, with the variable that chose the store.
    fn policies(config: &PolicyConfig, source: l42_cedar::LoadError) -> StartupError {
        use l42_cedar::LoadError;
        let var = match &source {
            LoadError::EnvNotUnicode { name } => Some(*name),
            LoadError::Application { .. } => Some(PolicyConfig::APPLICATION_VAR),
            _ if config.policy_dir.is_some() => Some(PolicyConfig::POLICY_DIR_VAR),
            _ => None,
        };
        StartupError::Policies {
            var,
            source: Box::new(source),
        }
    }
}

/// What comes before a policy store error: the variable at fault, as a
/// [`ConfigError`] names it.
struct Var(Option<&'static str>);

impl std::fmt::Display for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(var) => write!(
                f,
                "invalid configuration: {var}: invalid Cedar policy store: "
            ),
            None => f.write_str("invalid embedded Cedar policy store: "),
        }
    }
}

/// The longest resource list put in a cache-safe policy, in bytes (the whole response
/// must stay under API Gateway's 8 KB).
const MAX_RESOURCE_BYTES: usize = 6 * 1024;

/// The authorizer: verifier, policy engine and configuration, shared by every invocation.
pub struct Authorizer {
    config: AuthorizerConfig,
    verifier: Verifier,
    engine: Engine,
    /// Where sessions are read, for the `cookie` identity source.
    sessions: Option<Arc<dyn SessionStore>>,
    /// The ARN pattern and overreach automata of every route, for cache-safe policies.
    shapes: cache_safe::RouteShapes,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The route a request maps to, and the facts Cedar sees.
struct Target<'e> {
    action: Option<&'e l42_cedar::ActionRef>,
    method: Cow<'e, str>,
    path: Cow<'e, str>,
    path_parameters: PathParams<'e>,
    /// The ARN API Gateway evaluates the policy against.
    arn: &'e str,
    /// `…/{stage}/`, when the ARN parses.
    arn_prefix: Option<&'e str>,
}

/// A route's path parameters: the event's own (borrowed) or those the route table
/// resolved from the concrete path.
enum PathParams<'e> {
    Event(&'e [(event::Str<'e>, event::Str<'e>)]),
    Resolved(Vec<(String, String)>),
}

impl PathParams<'_> {
    fn params(&self) -> l42_cedar::Params<'_> {
        match self {
            PathParams::Event(pairs) => l42_cedar::Params::Borrowed(pairs),
            PathParams::Resolved(pairs) => l42_cedar::Params::Pairs(pairs),
        }
    }
}

impl Authorizer {
    /// An authorizer from its configuration and policy engine. With the `cookie` identity
    /// source, use [`Authorizer::with_sessions`].
    pub fn new(config: AuthorizerConfig, engine: Engine) -> Result<Authorizer, StartupError> {
        Self::with_sessions(config, engine, None)
    }

    /// An authorizer reading sessions from `sessions` for the `cookie` identity source
    /// (which needs one).
    pub fn with_sessions(
        config: AuthorizerConfig,
        engine: Engine,
        sessions: Option<Arc<dyn SessionStore>>,
    ) -> Result<Authorizer, StartupError> {
        if config.cookies.is_some() && sessions.is_none() {
            return Err(StartupError::Config(ConfigError::new(
                "IDENTITY_SOURCES",
                "`cookie` needs a session store",
            )));
        }
        let verifier = Verifier::new(config.verifier.clone())?;
        if config.policy_cache_safe && engine.has_context_sensitive_policies() {
            tracing::warn!(
                "some policies read request-specific context (method, path, parameters, \
                 source IP): their routes are left out of cached policies (refused until a \
                 cached result expires); if they read the source IP or query parameters, \
                 set the authorizer's result TTL to 0 or make those values identity sources"
            );
        }
        let shapes = if config.policy_cache_safe {
            cache_safe::RouteShapes::new(engine.routes().map(|r| {
                r.verb()
                    .zip(r.template())
                    .map(|(verb, template)| (verb.as_str(), template))
            }))
        } else {
            cache_safe::RouteShapes::default()
        };
        Ok(Authorizer {
            config,
            verifier,
            engine,
            sessions,
            shapes,
        })
    }

    /// Reads everything from the environment; with the `cookie` source, sessions are read
    /// from DynamoDB (the token handler's table) and the cookie key comes from
    /// `SESSION_SECRET`, or from Secrets Manager when `SESSION_SECRET_ARN` is set (see
    /// [`l42_core::session::SessionSecret`]; call this before any async runtime exists).
    pub fn from_env() -> Result<Authorizer, StartupError> {
        let env = l42_core::session::SessionSecret::environment(
            l42_core::session::SessionSecret::load_from_env_blocking()?,
        );
        let config = AuthorizerConfig::from_lookup(env)?;
        let policy_config = PolicyConfig::from_env()
            .map_err(|e| StartupError::policies(&PolicyConfig::default(), e))?;
        let engine = Engine::from_config(&policy_config)
            .map_err(|e| StartupError::policies(&policy_config, e))?;
        let sessions: Option<Arc<dyn SessionStore>> = if config.cookies.is_some() {
            Some(Arc::new(DynamoStore::from_env()?))
        } else {
            None
        };
        Self::with_sessions(config, engine, sessions)
    }

    /// The verifier (for metrics and tests).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The policy engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Decides one event, given as its JSON bytes. Never panics on any input.
    pub async fn handle(&self, bytes: &[u8]) -> Outcome {
        let outcome = self.decide(bytes).await;
        log_outcome(&outcome);
        outcome
    }

    async fn decide(&self, bytes: &[u8]) -> Outcome {
        let mut explain = Explain::default();
        let unauthorized = |mut explain: Explain, stage, reason: String| {
            explain.stage = stage;
            explain.reason = reason.into();
            Outcome::Unauthorized { explain }
        };
        let event = match RawEvent::parse(bytes) {
            Ok(e) => e,
            Err(e) => return unauthorized(explain, "event", e.to_string()),
        };
        let kind = match event.kind() {
            Ok(k) => k,
            Err(e) => return unauthorized(explain, "event", e.to_string()),
        };
        explain.event = Some(kind.name());

        let cookie_name = self.config.cookies.as_ref().map(|c| c.name());
        let Some(credential) =
            identity::find(&event, kind, &self.config.identity_sources, cookie_name)
        else {
            return unauthorized(
                explain,
                "identity",
                "no token in the configured sources".into(),
            );
        };
        let by_cookie = matches!(credential, Credential::Cookie(_));
        let (claims, subprotocol) = match credential {
            Credential::Token(found) => match self.verifier.verify(found.token).await {
                Ok(c) => (c, found.subprotocol),
                Err(e) => return unauthorized(explain, "token", format!("{} ({})", e, e.code())),
            },
            Credential::Cookie(values) => match self.session_token(&values).await {
                Ok(token) => match self.verifier.verify(&token).await {
                    Ok(c) => (c, None),
                    Err(e) => {
                        return unauthorized(
                            explain,
                            "token",
                            format!("the session's token: {} ({})", e, e.code()),
                        );
                    }
                },
                Err(SessionProblem::Refused(why)) => return unauthorized(explain, "session", why),
                Err(SessionProblem::Unavailable(why)) => {
                    explain.stage = "session";
                    explain.reason = why.into();
                    return Outcome::Failed { explain };
                }
            },
        };
        explain.sub = Some(claims.sub.clone());

        let target = self.target(&event, kind);
        let context = allow_context(&claims, subprotocol);
        let simple =
            kind == EventKind::HttpV2 && self.config.http_api_response == HttpApiResponse::Simple;
        // A WebSocket API has one authorized route, `$connect`: nothing else to list.
        let cache_safe =
            !simple && self.config.policy_cache_safe && kind != EventKind::WebSocketConnect;

        let principal = principal(&claims);
        let facts = RequestFacts::new(&target.method, &target.path)
            .with_source_ip(event.source_ip())
            .with_scopes(&claims.scopes)
            .with_auth_time(claims.auth_time)
            .with_path_parameters(target.path_parameters.params());
        let facts = facts.with_query_string_parameters(event.query.0.as_slice());

        // A cache-safe Deny still allows the caller's other routes: API Gateway caches
        // the whole policy and applies it to every route, so a bare Deny would refuse
        // them all until it expires.
        let deny = |mut explain: Explain, stage: &'static str, reason: Cow<'static, str>| {
            explain.stage = stage;
            explain.reason = reason;
            let body = if simple {
                response::simple(false, None)
            } else {
                let elsewhere = if cache_safe {
                    self.cache_safe_patterns(&target, &principal, &facts)
                } else {
                    Vec::new()
                };
                response::iam(
                    &claims.sub,
                    &elsewhere,
                    &[target.arn.to_string()],
                    Some(&context),
                )
            };
            Outcome::Respond {
                body,
                allowed: false,
                explain,
            }
        };

        // The token is good, so whatever is wrong with the request from here on is a
        // Deny (403), never a 401: a client told 401 throws its tokens away and signs in
        // again, which cannot help. API Gateway never sends an ARN longer than 1600 bytes
        // (it answers 414 itself), so this is only ever an event it did not send.
        let Some(arn_prefix) = target.arn_prefix else {
            return deny(
                explain,
                "route",
                Cow::Borrowed("the method ARN is not an execute-api ARN of at most 1600 bytes"),
            );
        };
        // An Allow names the requested ARN as a policy resource, where IAM reads `*` and
        // `?` as wildcards: `.../GET/orders/*` would allow `/orders/1/audit` from API
        // Gateway's result cache. Refused before any decision, cached or not, for every
        // response that names the ARN.
        if !simple && !cache_safe::is_literal(&target.arn[arn_prefix.len()..]) {
            return deny(
                explain,
                "route",
                Cow::Borrowed("the request path holds IAM wildcard characters (* or ?)"),
            );
        }
        // The browser sends the cookie with every request to the API's site, whoever's
        // page asked for it: SameSite=Lax keeps it from cross-site requests, not from
        // same-site ones (a sibling subdomain, another port). So a state-changing request
        // that the cookie authenticates must also prove it came from the app's pages.
        // A bearer token needs no such proof: a page that holds it is the app.
        if by_cookie && !self.proves_origin(&event, &target.method) {
            return deny(
                explain,
                "csrf",
                Cow::Borrowed(
                    "a cookie-authenticated request with an unsafe method needs the \
                     X-L42-CSRF: 1 header or an allowed Origin",
                ),
            );
        }
        let Some(action) = target.action else {
            return deny(
                explain,
                "route",
                format!("no route for {} {}", target.method, target.path).into(),
            );
        };
        explain.action = Some(action.name().to_string());

        let decision = self.engine.decide(action, &principal, &facts);
        let allowed = decision.allowed;
        explain.policies = decision.reasons;
        explain.errors = decision.errors;
        if !allowed {
            return deny(explain, "policy", Cow::Borrowed("denied by policy"));
        }
        explain.stage = "policy";
        explain.reason = Cow::Borrowed("allowed by policy");

        let body = if simple {
            response::simple(true, Some(&context))
        } else if cache_safe {
            let patterns = self.cache_safe_patterns(&target, &principal, &facts);
            let mut resources = Vec::with_capacity(1 + patterns.len());
            resources.push(target.arn.to_string());
            resources.extend(patterns);
            response::iam(&claims.sub, &resources, &[], Some(&context))
        } else {
            response::iam(&claims.sub, &[target.arn.to_string()], &[], Some(&context))
        };
        Outcome::Respond {
            body,
            allowed: true,
            explain,
        }
    }

    /// The stored token of the session the cookie names: the cookie's MAC and expiry are
    /// checked first (a forged cookie costs no store read), then one read of the session.
    async fn session_token(&self, cookie_values: &[&str]) -> Result<String, SessionProblem> {
        let (Some(cookies), Some(store)) = (&self.config.cookies, &self.sessions) else {
            return Err(SessionProblem::Refused(
                "no session store configured".into(),
            ));
        };
        let now = unix_now();
        let cookie = cookies
            .read(cookie_values.iter().copied(), now)
            .map_err(|e| {
                SessionProblem::Refused(format!("session cookie refused ({})", e.code()))
            })?;
        match store.get(&cookie.session_id).await {
            Ok(Some(session)) => Ok(match self.config.verifier.token_use {
                TokenUse::Id => session.tokens.id_token,
                TokenUse::Access | TokenUse::Any => session.tokens.access_token,
            }),
            Ok(None) => Err(SessionProblem::Refused(
                "no such session (ended or expired)".into(),
            )),
            Err(StoreError::Corrupt(_)) => Err(SessionProblem::Refused(
                "the session record is unreadable".into(),
            )),
            Err(e) => Err(SessionProblem::Unavailable(format!(
                "the session store failed: {}",
                e.code()
            ))),
        }
    }

    /// Whether a cookie-authenticated request proves it came from the app: a safe method
    /// (`GET`, `HEAD`, `OPTIONS`; a WebSocket `$connect` is not one, so a cross-site
    /// page cannot open a socket as its visitor), or exactly `X-L42-CSRF: 1`, or an
    /// `Origin` header equal to one of the configured app origins.
    fn proves_origin(&self, event: &RawEvent<'_>, method: &str) -> bool {
        use l42_core::web::{CSRF_HEADER, csrf_header_proves, is_safe_method};
        if is_safe_method(method) {
            return true;
        }
        let headers = event.headers.pairs();
        let csrf = headers
            .clone()
            .filter(|(k, _)| k.eq_ignore_ascii_case(CSRF_HEADER))
            .map(|(_, v)| v.as_bytes());
        if csrf_header_proves(csrf) {
            return true;
        }
        let mut origins = headers.filter(|(k, _)| k.eq_ignore_ascii_case("origin"));
        match (origins.next(), origins.next()) {
            (Some((_, origin)), None) => self
                .config
                .csrf_origins
                .iter()
                .any(|o| o.as_str() == origin),
            _ => false,
        }
    }

    /// Maps the event to a route, per event kind. (Every kind [`RawEvent::kind`] returns
    /// carries its ARN; an ARN that does not parse leaves `arn_prefix` empty.)
    fn target<'e>(&'e self, event: &'e RawEvent<'e>, kind: EventKind) -> Target<'e> {
        let arn: &str = match kind {
            EventKind::HttpV2 => event.route_arn.as_deref(),
            _ => event.method_arn.as_deref(),
        }
        .unwrap_or("");
        let parsed = MethodArn::parse(arn);
        let arn_prefix = parsed.as_ref().map(|p| p.prefix);
        match kind {
            EventKind::RestToken => {
                let m = parsed
                    .as_ref()
                    .and_then(|p| self.engine.resolve(p.verb, &p.path));
                Target {
                    action: m.as_ref().map(|m| m.action()),
                    method: upper(parsed.as_ref().map_or("", |p| p.verb)),
                    path: Cow::Owned(parsed.as_ref().map_or_else(String::new, |p| p.path.clone())),
                    path_parameters: PathParams::Resolved(
                        m.map(|m| m.path_parameters().to_vec()).unwrap_or_default(),
                    ),
                    arn,
                    arn_prefix,
                }
            }
            EventKind::RestRequest | EventKind::HttpV1 => {
                let method = upper(
                    event
                        .http_method
                        .as_deref()
                        .or(parsed.as_ref().map(|p| p.verb))
                        .unwrap_or(""),
                );
                let path = match (event.path.as_deref(), &parsed) {
                    (Some(p), _) => Cow::Borrowed(p),
                    (None, Some(p)) => Cow::Owned(p.path.clone()),
                    (None, None) => Cow::Borrowed("/"),
                };
                let by_key = event
                    .request_context
                    .route_key
                    .as_deref()
                    .filter(|k| is_http_route_key(k))
                    .and_then(|k| self.engine.action_by_route_key(k));
                let by_template = event
                    .resource
                    .as_deref()
                    .and_then(|r| self.engine.action_by_template(&method, r));
                let named = by_key.or(by_template);
                self.named_or_resolved(named, event, method, path, arn, arn_prefix)
            }
            EventKind::HttpV2 => {
                let http = event.request_context.http.as_ref();
                let method = upper(
                    http.and_then(|h| h.method.as_deref())
                        .or(parsed.as_ref().map(|p| p.verb))
                        .unwrap_or(""),
                );
                let path = Cow::Borrowed(
                    event
                        .raw_path
                        .as_deref()
                        .or(http.and_then(|h| h.path.as_deref()))
                        .unwrap_or("/"),
                );
                let named = event
                    .route_key
                    .as_deref()
                    .filter(|k| is_http_route_key(k))
                    .and_then(|k| self.engine.action_by_route_key(k));
                self.named_or_resolved(named, event, method, path, arn, arn_prefix)
            }
            EventKind::WebSocketConnect => Target {
                action: self.engine.action_by_route_key("$connect"),
                method: Cow::Borrowed("$connect"),
                path: Cow::Borrowed("$connect"),
                path_parameters: PathParams::Resolved(Vec::new()),
                arn,
                arn_prefix,
            },
        }
    }

    /// The route the event names (route key or template), with the event's path
    /// parameters; else the concrete path resolved through the route table.
    fn named_or_resolved<'e>(
        &'e self,
        named: Option<&'e l42_cedar::ActionRef>,
        event: &'e RawEvent<'e>,
        method: Cow<'e, str>,
        path: Cow<'e, str>,
        arn: &'e str,
        arn_prefix: Option<&'e str>,
    ) -> Target<'e> {
        let (action, path_parameters) = match named {
            Some(action) => (
                Some(action),
                PathParams::Event(event.path_parameters.0.as_slice()),
            ),
            None => match self.engine.resolve(&method, &path) {
                Some(m) => (
                    Some(m.action()),
                    PathParams::Resolved(m.path_parameters().to_vec()),
                ),
                None => (None, PathParams::Resolved(Vec::new())),
            },
        };
        Target {
            action,
            method,
            path,
            path_parameters,
            arn,
            arn_prefix,
        }
    }

    /// Every route Cedar allows this principal whatever the request (see
    /// [`Engine::allowed_routes`]), as ARN patterns that cannot reach a route of the table
    /// it is denied (see [`cache_safe`]), other than the requested ARN itself. Empty when
    /// they do not fit in one response. (The requested ARN's own wildcards are refused by
    /// [`Authorizer::handle`] before any response names it.)
    fn cache_safe_patterns(
        &self,
        target: &Target<'_>,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Vec<String> {
        let Some(prefix) = target.arn_prefix else {
            return Vec::new();
        };
        let allowed = self.engine.allowed_route_indices(principal, facts);
        let mut is_allowed = vec![false; self.shapes.route_count()];
        for &i in &allowed {
            if let Some(slot) = is_allowed.get_mut(i) {
                *slot = true;
            }
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut bytes = target.arn.len();
        for &route in &allowed {
            let Some(pattern) = self.shapes.pattern(route) else {
                continue;
            };
            let overreaches = is_allowed
                .iter()
                .enumerate()
                .any(|(denied, &ok)| !ok && self.shapes.overreaches(route, denied));
            if overreaches {
                continue;
            }
            let arn = format!("{prefix}{pattern}");
            if arn == target.arn || patterns.contains(&arn) {
                continue;
            }
            bytes += arn.len() + 3;
            if bytes > MAX_RESOURCE_BYTES {
                tracing::warn!(
                    "the allowed routes do not fit in one policy; listing only the requested ARN"
                );
                return Vec::new();
            }
            patterns.push(arn);
        }
        patterns
    }
}

/// Whether an HTTP API route key names a route (`GET /orders/{id}`): `$default` names
/// none (the concrete path is resolved instead), and `$connect` is a WebSocket route key
/// that an HTTP event must never reach (only a connect event is decided as one).
fn is_http_route_key(key: &str) -> bool {
    key.contains(' ')
}

/// `verb` in upper case, borrowed when it already is (as API Gateway sends it).
fn upper(verb: &str) -> Cow<'_, str> {
    if verb.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(verb.to_ascii_uppercase())
    } else {
        Cow::Borrowed(verb)
    }
}

fn principal(c: &VerifiedClaims) -> Principal<'_> {
    let mut p = Principal::new(&c.sub, &c.groups);
    p.username = Some(&c.username);
    p.email = c.email.as_deref();
    p.client_id = Some(&c.client_id);
    p.token_use = Some(token_use_name(c.token_use));
    p
}

fn token_use_name(t: TokenUse) -> &'static str {
    match t {
        TokenUse::Id => "id",
        _ => "access",
    }
}

fn allow_context<'a>(c: &'a VerifiedClaims, subprotocol: Option<&'a str>) -> AllowContext<'a> {
    AllowContext {
        sub: &c.sub,
        username: &c.username,
        groups: Joined(&c.groups),
        scopes: Joined(&c.scopes),
        client_id: &c.client_id,
        token_use: token_use_name(c.token_use),
        subprotocol,
    }
}

/// Security events: every rejection and decision, without tokens.
fn log_outcome(outcome: &Outcome) {
    let e = outcome.explain();
    match outcome {
        Outcome::Unauthorized { .. } => tracing::info!(
            event_kind = e.event.unwrap_or("unknown"),
            stage = e.stage,
            reason = %e.reason,
            "token rejected"
        ),
        Outcome::Failed { .. } => tracing::error!(
            event_kind = e.event.unwrap_or("unknown"),
            stage = e.stage,
            reason = %e.reason,
            "no decision"
        ),
        Outcome::Respond { allowed, .. } => tracing::info!(
            event_kind = e.event.unwrap_or("unknown"),
            sub = e.sub.as_deref().unwrap_or(""),
            action = e.action.as_deref().unwrap_or(""),
            decision = if *allowed { "allow" } else { "deny" },
            policies = ?e.policies,
            errors = ?e.errors,
            "authorization decision"
        ),
    }
}

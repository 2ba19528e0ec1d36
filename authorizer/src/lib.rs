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
//! - A token whose sign-in was ended (`REVOCATION_CHECK`) → [`Outcome::Unauthorized`].
//! - The session store (for the `cookie` identity source or the revocation check) not
//!   answering → [`Outcome::Failed`] (API Gateway answers 500; nothing is allowed).
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
mod error;
pub mod event;
pub mod identity;
mod json;
mod outcome;
pub mod response;
mod target;

use std::borrow::Cow;
use std::sync::Arc;

use identity::Credential;
use l42_cedar::{Engine, PolicyConfig, Principal, RequestFacts};
use l42_core::session::{
    DynamoReader, RevocationCheck, RevocationError, SessionReader, StoreError,
};
use l42_core::{ConfigError, PoolId, TokenUse, VerifiedClaims, Verifier, unix_now};

pub use config::{AuthorizerConfig, HttpApiResponse, IdentitySource};
pub use error::StartupError;
pub use event::{EventKind, MethodArn, RawEvent};
pub use outcome::{Explain, Outcome};
use response::{AllowContext, Joined};

/// Why a session cookie gave no token.
enum SessionProblem {
    /// No session: the caller is unauthorized.
    Refused(String),
    /// The store did not answer: no decision can be made.
    Unavailable(String),
}

/// The authorizer: verifier, policy engine and configuration, shared by every invocation.
pub struct Authorizer {
    config: AuthorizerConfig,
    verifier: Verifier,
    engine: Engine,
    /// Where sessions are read, for the `cookie` identity source.
    sessions: Option<Arc<dyn SessionReader>>,
    /// The revocation check (`REVOCATION_CHECK`), over the same store.
    revocation: Option<RevocationCheck>,
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

impl Authorizer {
    /// An authorizer from its configuration and policy engine. With the `cookie` identity
    /// source, use [`Authorizer::with_sessions`].
    pub fn new(config: AuthorizerConfig, engine: Engine) -> Result<Authorizer, StartupError> {
        Self::with_sessions(config, engine, None)
    }

    /// An authorizer reading sessions from `sessions` for the `cookie` identity source
    /// and the revocation check (each needs one).
    pub fn with_sessions(
        mut config: AuthorizerConfig,
        engine: Engine,
        sessions: Option<Arc<dyn SessionReader>>,
    ) -> Result<Authorizer, StartupError> {
        if config.cookies.is_some() && sessions.is_none() {
            return Err(StartupError::Config(ConfigError::new(
                "IDENTITY_SOURCES",
                "`cookie` needs a session store",
            )));
        }
        let revocation = match (&sessions, config.revocation.enabled) {
            (_, false) => None,
            (Some(store), true) => Some(RevocationCheck::new(
                Arc::clone(store),
                config.revocation.recheck,
                config.verifier.claims_cache_size.max(1),
            )),
            (None, true) => {
                return Err(StartupError::Config(ConfigError::new(
                    "REVOCATION_CHECK",
                    "`on` needs the session table (DYNAMODB_TABLE)",
                )));
            }
        };
        // The claims the schema's principal attributes read are kept at verification (and
        // cached with the rest).
        config.verifier.keep_claims = engine.principal_claims();
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
            cache_safe::RouteShapes::new(engine.routes())
        } else {
            cache_safe::RouteShapes::default()
        };
        Ok(Authorizer {
            config,
            verifier,
            engine,
            sessions,
            revocation,
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
        let sessions: Option<Arc<dyn SessionReader>> =
            if config.cookies.is_some() || config.revocation.enabled {
                Some(Arc::new(DynamoReader::from_env()?))
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

    /// The revocation check, when on (for metrics and tests).
    pub fn revocation(&self) -> Option<&RevocationCheck> {
        self.revocation.as_ref()
    }

    /// Decides one event, given as its JSON bytes. Never panics on any input.
    pub async fn handle(&self, bytes: &[u8]) -> Outcome {
        let outcome = self.decide(bytes).await;
        outcome::log_outcome(&outcome);
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
        // A sign-in that was ended: its tokens still verify offline until they expire.
        if let Some(check) = &self.revocation {
            match check.check(&claims).await {
                Ok(()) => {}
                Err(e @ (RevocationError::Revoked | RevocationError::NoOriginJti)) => {
                    return unauthorized(explain, "revocation", e.to_string());
                }
                Err(e @ RevocationError::Unavailable(_)) => {
                    explain.stage = "revocation";
                    explain.reason = e.to_string().into();
                    return Outcome::Failed { explain };
                }
            }
        }

        let target = target::target(&self.engine, &event, kind);
        let context = allow_context(&claims, subprotocol);
        let simple =
            kind == EventKind::HttpV2 && self.config.http_api_response == HttpApiResponse::Simple;
        // A WebSocket API has one authorized route, `$connect`: nothing else to list.
        let cache_safe =
            !simple && self.config.policy_cache_safe && kind != EventKind::WebSocketConnect;

        let principal = principal(&claims, &self.config.verifier.pools);
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
                    self.shapes
                        .allowed_patterns(&self.engine, &target, &principal, &facts)
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
            let patterns = self
                .shapes
                .allowed_patterns(&self.engine, &target, &principal, &facts);
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
}

/// The Cedar principal of verified claims: `sub`, groups as parents, and the attributes
/// a schema may declare.
fn principal<'a>(c: &'a VerifiedClaims, pools: &'a [PoolId]) -> Principal<'a> {
    let mut p = Principal::new(&c.sub, &c.groups);
    p.pool_id = pools.get(c.pool).map(PoolId::as_str);
    p.username = Some(&c.username);
    p.email = c.email.as_deref();
    p.client_id = Some(&c.client_id);
    p.token_use = Some(token_use_name(c.token_use));
    p.claims = &c.claims;
    p.machine = c.machine;
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

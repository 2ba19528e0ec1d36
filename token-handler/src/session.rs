//! The session layer of the token handler: the cookie, the store, pending logins, the
//! Cognito client, the verifier and `l42-core`'s single-flight refresh coordinator, and the
//! identity of a request.
//!
//! - A request's session: the cookie is read and its MAC checked first
//!   ([`SessionCookies::read`]); only a cookie that verifies leads to one
//!   [`SessionReader::get`](l42_core::session::SessionReader::get). A missing, bad or stale cookie, or an absent or corrupt record,
//!   is no session; a store failure is a 503.
//! - Usable tokens ([`Sessions::fresh`]): both stored tokens verify and the access token
//!   lives more than [`REFRESH_MARGIN_SECS`]; otherwise the coordinator
//!   ([`l42_core::session::Refresher`], the same code as the refresh Lambda's: one Cognito
//!   call per session however many callers, across processes) refreshes them
//!   (`invalid_grant` ends the session, a transient failure is a 503 that keeps it).
//! - The caller ([`SessionIdentity`]): `sub`, email and groups from the verified id token.
//!
//! Configuration ([`Sessions::from_config`]): the cookie, Cognito's client and the
//! verifier as [`Config`] holds them (read once, by `l42-core`), and the store's
//! variables, read here: `SESSION_BACKEND` (`memory` | `dynamodb`), `DYNAMODB_TABLE`,
//! `DYNAMODB_ENDPOINT`, `DYNAMODB_TIMEOUT_MS`, the refresh coordinator's.

use std::fmt;
use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use l42_core::session::{
    DynamoLoginStates, DynamoStore, LoginStateStore, MemoryLoginStates, MemoryStore, RefreshError,
    RefreshOptions, Refresher, Session, SessionCookies, SessionId, SessionStore, SessionSummary,
    SessionTokens, StoreError, end_session, kept_user_agent, user_key,
};
use l42_core::{CognitoClient, ConfigError, TokenUse, VerifiedClaims, Verifier, unix_now};

use crate::app::{Identity, IdentityProvider};
use crate::config::Config;
use crate::error::ApiError;
use crate::events::{self, Activity, Severity, Status};
use crate::owners::BoxFuture;
use l42_core::session::Backend;

/// How long a session lives from its creation (30 days).
pub const SESSION_LIFETIME_SECS: i64 = 30 * 86_400;

/// An access token expiring within this many seconds is refreshed before it is used.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// The scopes asked for at the hosted UI.
pub const SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// Why a pair of tokens was refused (logged, never returned: the answer is always
/// "Token verification failed").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRejection(pub String);

/// What a request's cookie leads to ([`Sessions::lookup`]).
#[derive(Debug)]
pub enum Lookup {
    /// No session cookie, or one that does not verify (bad MAC, stale, malformed): no
    /// session, and the cookie is left alone (it may be another deployment's, signed with
    /// a key this one does not know yet).
    NoCookie,
    /// The cookie verifies but its session is gone (deleted, past its expiry, or an
    /// unreadable record): no session, and the answer clears the cookie.
    Gone,
    /// The live session.
    Found(Box<Session>),
}

/// What [`Sessions::fresh`] found.
#[derive(Debug)]
pub enum Fresh {
    /// Usable tokens: the session (refreshed if it had to be) and its id token's claims.
    Usable(Box<Session>, Arc<VerifiedClaims>),
    /// The session was ended (the refresh token is dead, or the record vanished): answer
    /// 401 and clear the cookie.
    Ended,
    /// The tokens are unusable and cannot be refreshed (no refresh token): 401.
    Unusable,
}

/// Everything the session endpoints share.
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    logins: Arc<dyn LoginStateStore>,
    cookies: SessionCookies,
    oauth: Arc<CognitoClient>,
    verifier: Arc<Verifier>,
    refresher: Refresher,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("store", &self.store.backend())
            .field("logins", &self.logins.backend())
            .field("cookie", &self.cookies.name())
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// The session layer over these parts, refreshing with `l42-core`'s single-flight
    /// coordinator (default options for the client's timeout; see
    /// [`Sessions::with_refresh_options`]).
    pub fn new(
        store: Arc<dyn SessionStore>,
        logins: Arc<dyn LoginStateStore>,
        cookies: SessionCookies,
        oauth: Arc<CognitoClient>,
        verifier: Arc<Verifier>,
    ) -> Sessions {
        let options = RefreshOptions::for_cognito_timeout(oauth.config().timeout);
        let refresher = coordinator(&oauth, &store, options);
        Sessions {
            store,
            logins,
            cookies,
            oauth,
            verifier,
            refresher,
        }
    }

    /// The same layer with the coordinator's `options` (see
    /// [`RefreshOptions::from_lookup`]).
    pub fn with_refresh_options(mut self, options: RefreshOptions) -> Sessions {
        self.refresher = coordinator(&self.oauth, &self.store, options);
        self
    }

    /// Builds the layer from `config` (the cookie, the Cognito client, the verifier) and
    /// the store variables `lookup` gives (see the module docs).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable at fault.
    pub fn from_config(
        config: &Config,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Sessions, ConfigError> {
        let oauth = Arc::new(CognitoClient::new(config.oauth.clone()));
        let verifier = Arc::new(Verifier::new(config.verifier.clone())?);
        let (store, logins): (Arc<dyn SessionStore>, Arc<dyn LoginStateStore>) =
            match config.session_backend {
                Backend::Memory => (
                    Arc::new(MemoryStore::new()),
                    Arc::new(MemoryLoginStates::new()),
                ),
                Backend::DynamoDb => {
                    let store = DynamoStore::from_lookup(&lookup)?;
                    let logins = DynamoLoginStates::for_store(&store);
                    (Arc::new(store), Arc::new(logins))
                }
            };
        let options = RefreshOptions::from_lookup(&lookup, oauth.config().timeout)?;
        Ok(
            Sessions::new(store, logins, config.cookies.clone(), oauth, verifier)
                .with_refresh_options(options),
        )
    }

    /// The session store (memory or DynamoDB, as configured).
    pub fn store(&self) -> &dyn SessionStore {
        self.store.as_ref()
    }

    /// The pending-login store.
    pub fn logins(&self) -> &dyn LoginStateStore {
        self.logins.as_ref()
    }

    /// The cookie codec and attributes.
    pub fn cookies(&self) -> &SessionCookies {
        &self.cookies
    }

    /// The Cognito client.
    pub fn oauth(&self) -> &CognitoClient {
        &self.oauth
    }

    /// The session id named by a valid cookie in `headers`, if any (no store read).
    pub fn cookie_session(&self, headers: &HeaderMap) -> Option<SessionId> {
        let values = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        match self.cookies.read(values, unix_now()) {
            Ok(found) => Some(found.session_id),
            Err(e) => {
                if e == l42_core::session::CookieError::BadMac {
                    verification_failed_event("cookie", e.code());
                } else if e.code() != "missing" {
                    tracing::debug!(reason = e.code(), "session cookie refused");
                }
                None
            }
        }
    }

    /// The live session the request's cookie names, if any. A corrupt record is no
    /// session; a store failure is a 503.
    pub async fn current(&self, headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
        Ok(match self.lookup(headers).await? {
            Lookup::Found(session) => Some(*session),
            Lookup::NoCookie | Lookup::Gone => None,
        })
    }

    /// What the request's cookie leads to: no (valid) cookie, a session that is gone
    /// (absent, past its expiry, or corrupt), or the live session. A store failure is a
    /// 503.
    pub async fn lookup(&self, headers: &HeaderMap) -> Result<Lookup, ApiError> {
        let Some(id) = self.cookie_session(headers) else {
            return Ok(Lookup::NoCookie);
        };
        match self.store.get(&id).await {
            Ok(Some(session)) => Ok(Lookup::Found(Box::new(session))),
            Ok(None) => Ok(Lookup::Gone),
            Err(StoreError::Corrupt(m)) => {
                tracing::warn!(session = %id.short(), detail = %m, "corrupt session record ignored");
                Ok(Lookup::Gone)
            }
            Err(e) => Err(store_unavailable(&e)),
        }
    }

    /// The answer for a request whose session has ended: 401 with a `Set-Cookie` that
    /// clears the cookie.
    pub fn ended(&self) -> ApiError {
        ApiError::SessionEnded {
            clear_cookie: self.cookies.clear(),
        }
    }

    /// Verifies an access token and an id token as a pair: each verifies (signature,
    /// issuer, expiry, `token_use`, client), and both name the same `sub`. Returns the id
    /// token's claims and the access token's.
    pub async fn verify_pair(
        &self,
        access_token: &str,
        id_token: &str,
    ) -> Result<(Arc<VerifiedClaims>, Arc<VerifiedClaims>), TokenRejection> {
        let access = self
            .verifier
            .verify(access_token)
            .await
            .map_err(|e| TokenRejection(format!("access token: {e}")))?;
        if access.token_use != TokenUse::Access {
            return Err(TokenRejection("access token is not an access token".into()));
        }
        let id = self
            .verifier
            .verify(id_token)
            .await
            .map_err(|e| TokenRejection(format!("id token: {e}")))?;
        if id.token_use != TokenUse::Id {
            return Err(TokenRejection("id token is not an id token".into()));
        }
        if id.sub != access.sub {
            return Err(TokenRejection("the tokens name different users".into()));
        }
        if id.pool != access.pool {
            return Err(TokenRejection(
                "the tokens come from different pools".into(),
            ));
        }
        Ok((id, access))
    }

    /// The session with usable tokens, refreshing them when they are expired or expire
    /// within [`REFRESH_MARGIN_SECS`].
    pub async fn fresh(&self, session: Session) -> Result<Fresh, ApiError> {
        let now = unix_now();
        let why = match self
            .verify_pair(&session.tokens.access_token, &session.tokens.id_token)
            .await
        {
            Ok((id, access)) if access.exp > now + REFRESH_MARGIN_SECS => {
                return Ok(Fresh::Usable(Box::new(session), id));
            }
            Ok(_) => "access token about to expire".to_string(),
            Err(TokenRejection(why)) => why,
        };
        tracing::debug!(session = %session.id.short(), reason = %why, "refreshing session tokens");
        let refreshed = match self.refresher.refresh(&session).await {
            Ok(outcome) => outcome.session,
            Err(RefreshError::NoRefreshToken) => {
                return Ok(Fresh::Unusable);
            }
            // The session is gone, or the coordinator destroyed it after Cognito's
            // `invalid_grant` for the token it still held.
            Err(e @ (RefreshError::NotAuthenticated | RefreshError::RefreshFailed)) => {
                refresh_event(Status::Failure, &e.to_string());
                if let Err(e) = self.store.delete(&session.id).await {
                    tracing::warn!(error = %e, "could not delete the ended session");
                }
                return Ok(Fresh::Ended);
            }
            Err(e @ RefreshError::Unavailable { .. }) => {
                refresh_event(Status::Failure, &e.to_string());
                return Err(ApiError::Unavailable(format!(
                    "refresh unavailable: {}",
                    e.code()
                )));
            }
        };
        match self
            .verify_pair(&refreshed.tokens.access_token, &refreshed.tokens.id_token)
            .await
        {
            Ok((id, _)) => {
                events::event(
                    Activity::AuthenticationTicket,
                    Status::Success,
                    "session tokens refreshed",
                )
                .activity_name("Refresh")
                .auth_protocol("OAuth 2.0")
                .actor(&id.sub, id.email.as_deref())
                .emit();
                Ok(Fresh::Usable(Box::new(refreshed), id))
            }
            Err(TokenRejection(why)) => {
                verification_failed_event("refresh", &why);
                Ok(Fresh::Unusable)
            }
        }
    }

    /// The key `claims`' user's sessions are listed by (`<pool id>|<sub>`).
    pub fn user_of(&self, claims: &VerifiedClaims) -> String {
        let pool = self
            .verifier
            .config()
            .pools
            .get(claims.pool)
            .map_or("", |p| p.as_str());
        user_key(pool, &claims.sub)
    }

    /// Stores a new session for `tokens`, whose id token's verified claims are `claims`,
    /// signed in from `user_agent`, and ends `previous` (the session the request came
    /// with, if any). Returns the session and its `Set-Cookie` value.
    pub async fn start(
        &self,
        tokens: SessionTokens,
        claims: &VerifiedClaims,
        user_agent: Option<&str>,
        previous: Option<&SessionId>,
    ) -> Result<(Session, String), ApiError> {
        let now = unix_now();
        let id = SessionId::generate().map_err(|_| ApiError::Internal)?;
        let mut session = Session::new(id, tokens, now, now + SESSION_LIFETIME_SECS);
        session.user = Some(self.user_of(claims));
        session.user_agent = user_agent.and_then(kept_user_agent);
        self.store
            .create(&session)
            .await
            .map_err(|e| store_unavailable(&e))?;
        if let Some(old) = previous {
            self.replace_previous(old, &session).await;
        }
        let cookie = self
            .cookies
            .issue(&session.id, session.expires_at, now)
            .map_err(|_| ApiError::Internal)?;
        Ok((session, cookie))
    }

    /// The session a new sign-in replaces is ended (best effort: the new one is made),
    /// except that tokens the new session holds too are not revoked with it (a client
    /// posting the same tokens again).
    async fn replace_previous(&self, old: &SessionId, new: &Session) {
        let previous = match self.store.get(old).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the previous session");
                None
            }
        };
        let result = match previous {
            Some(p) if p.origin_jti().is_some() && p.origin_jti() == new.origin_jti() => self
                .store
                .delete(old)
                .await
                .map_err(|e| store_unavailable(&e)),
            Some(p) => self.end(&p, "replaced by a new sign-in").await,
            None => self
                .store
                .delete(old)
                .await
                .map_err(|e| store_unavailable(&e)),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not end the previous session");
        }
    }

    /// Ends `session`: its sign-in is revoked and the record deleted in one step (a 503
    /// when the store fails, and then nothing changed), then its refresh token is revoked
    /// at Cognito (best effort, retried once: the session is over whatever Cognito says).
    pub async fn end(&self, session: &Session, why: &'static str) -> Result<(), ApiError> {
        let ended = end_session(self.store.as_ref(), Some(&self.oauth), session)
            .await
            .map_err(|e| store_unavailable(&e))?;
        let mut event = events::event(Activity::Logoff, Status::Success, "session ended")
            .activity_name("Session end")
            .detail("session", session.id.short())
            .detail("reason", why)
            .detail("revoked", ended.revoked);
        if let Some(sub) = session.user.as_deref().and_then(|u| u.split_once('|')) {
            event = event.actor(sub.1, None);
        }
        event.emit();
        Ok(())
    }

    /// Ends the session under `id`: read first (for its tokens), then [`Sessions::end`];
    /// one that cannot be read is deleted. `false` when there was none.
    pub async fn end_id(&self, id: &SessionId, why: &'static str) -> Result<bool, ApiError> {
        match self.store.get(id).await {
            Ok(Some(session)) => self.end(&session, why).await.map(|()| true),
            Ok(None) => Ok(false),
            Err(StoreError::Corrupt(_)) => {
                self.destroy(id).await?;
                Ok(true)
            }
            Err(e) => Err(store_unavailable(&e)),
        }
    }

    /// The live sessions of `user`, newest first. Sessions found past their expiry are
    /// deleted on the way (their last tokens expire within their own lifetime).
    pub async fn list(&self, user: &str) -> Result<Vec<SessionSummary>, ApiError> {
        let now = unix_now();
        let listed = self
            .store
            .list_for_user(user)
            .await
            .map_err(|e| store_unavailable(&e))?;
        let (live, expired): (Vec<_>, Vec<_>) =
            listed.into_iter().partition(|s| s.expires_at > now);
        for s in expired {
            if let Err(e) = self.store.end(&s.id, None).await {
                tracing::warn!(error = %e, "could not delete an expired session");
            }
        }
        Ok(live)
    }

    /// Deletes a session (no revocation: see [`Sessions::end`]).
    pub async fn destroy(&self, id: &SessionId) -> Result<(), ApiError> {
        self.store
            .delete(id)
            .await
            .map_err(|e| store_unavailable(&e))
    }
}

/// `l42-core`'s coordinator over `store`, calling Cognito through its own client
/// configured as `oauth`.
fn coordinator(
    oauth: &CognitoClient,
    store: &Arc<dyn SessionStore>,
    options: RefreshOptions,
) -> Refresher {
    let client = CognitoClient::new(oauth.config().clone());
    Refresher::new(Arc::clone(store), client, options)
}

/// A store failure as an answer (503); the detail is logged, not returned.
fn store_unavailable(e: &StoreError) -> ApiError {
    ApiError::Unavailable(format!("session store: {e}"))
}

fn refresh_event(status: Status, why: &str) {
    events::event(
        Activity::AuthenticationTicket,
        status,
        "session refresh failed",
    )
    .activity_name("Refresh")
    .auth_protocol("OAuth 2.0")
    .detail("reason", why)
    .emit();
}

/// A security event for tokens that did not verify (`source`: `session`, `callback`,
/// `refresh`, `stored`).
pub fn verification_failed_event(source: &'static str, why: &str) {
    events::event(
        Activity::Logon,
        Status::Failure,
        "token verification failed",
    )
    .activity_name("Session verification")
    .severity(Severity::Medium)
    .detail("source", source)
    .detail("reason", why)
    .emit();
}

/// The [`IdentityProvider`] over the session layer: the caller is the `sub`, email and
/// groups of the session's verified id token (refreshed first when needed).
#[derive(Debug, Clone)]
pub struct SessionIdentity(pub Arc<Sessions>);

impl IdentityProvider for SessionIdentity {
    fn identify<'a>(
        &'a self,
        parts: &'a Parts,
    ) -> BoxFuture<'a, Result<Option<Identity>, ApiError>> {
        Box::pin(async move {
            let session = match self.0.lookup(&parts.headers).await? {
                Lookup::NoCookie => return Ok(None),
                Lookup::Gone => return Err(self.0.ended()),
                Lookup::Found(session) => *session,
            };
            match self.0.fresh(session).await? {
                Fresh::Usable(session, claims) => {
                    let mut identity = identity_of(&session, &claims);
                    identity.user = Some(self.0.user_of(&claims));
                    Ok(Some(identity))
                }
                Fresh::Ended => Err(self.0.ended()),
                Fresh::Unusable => Ok(None),
            }
        })
    }
}

/// The caller of `session`, whose id token's claims are `claims`.
pub fn identity_of(session: &Session, claims: &VerifiedClaims) -> Identity {
    Identity {
        sub: claims.sub.clone(),
        email: claims.email.clone(),
        groups: claims.groups.clone(),
        tokens: Some(session.tokens.clone()),
        user: session.user.clone(),
    }
}

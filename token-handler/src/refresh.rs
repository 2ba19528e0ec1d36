//! The refresh seam: how `/token` (and the identity of every request) gets fresh tokens
//! for a session whose access token has expired or is about to.
//!
//! [`Refresher`] is deliberately narrow (a session in, the session as stored after the
//! refresh out). [`CoordinatedRefresher`], the default, is `l42-core`'s single-flight
//! coordinator (the same code as the refresh Lambda's `POST /refresh`: one Cognito call per
//! session however many callers, across processes through a lease on the session item).
//! [`DirectRefresher`] calls Cognito once per caller and writes the result with a
//! version-conditional [`SessionStore::replace`].

use std::sync::Arc;

use l42_core::session::{
    RefreshError, RefreshOptions, Replaced, Session, SessionStore, StoreError,
};
use l42_core::{CognitoClient, OAuthError};
use thiserror::Error;

use crate::owners::BoxFuture;

/// Why a refresh did not produce fresh tokens.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RefreshFailure {
    /// The session has no refresh token.
    #[error("the session has no refresh token")]
    NoRefreshToken,
    /// Cognito says the refresh token is dead (`invalid_grant`): the session must end.
    #[error("the refresh token is no longer valid")]
    InvalidGrant,
    /// The session is gone (deleted, expired) by the time the refresh was written.
    #[error("the session no longer exists")]
    SessionGone,
    /// Cognito or the store failed for now (timeout, 5xx, throttling): keep the session,
    /// answer 503.
    #[error("refresh unavailable: {0}")]
    Transient(String),
    /// Cognito refused for another reason (configuration), or answered nonsense: keep the
    /// session, answer 503.
    #[error("refresh refused: {0}")]
    Rejected(String),
}

/// Refreshes a session's tokens.
pub trait Refresher: Send + Sync + 'static {
    /// Refreshes `session` and returns the record as stored afterwards (which may be
    /// someone else's newer write).
    fn refresh<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<Session, RefreshFailure>>;
}

/// Calls [`CognitoClient::refresh`] directly and stores the result with
/// [`SessionStore::replace`] (conditional on the version read). A refresh token is kept
/// when Cognito returns none (no rotation); the id token is kept when none is returned.
pub struct DirectRefresher {
    oauth: Arc<CognitoClient>,
    store: Arc<dyn SessionStore>,
}

impl std::fmt::Debug for DirectRefresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectRefresher")
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl DirectRefresher {
    /// A refresher over `oauth` and `store`.
    pub fn new(oauth: Arc<CognitoClient>, store: Arc<dyn SessionStore>) -> DirectRefresher {
        DirectRefresher { oauth, store }
    }

    async fn run(&self, session: &Session) -> Result<Session, RefreshFailure> {
        let Some(refresh_token) = session.tokens.refresh_token.as_deref() else {
            return Err(RefreshFailure::NoRefreshToken);
        };
        let fresh = match self.oauth.refresh(refresh_token).await {
            Ok(t) => t,
            Err(OAuthError::InvalidGrant) => return Err(RefreshFailure::InvalidGrant),
            Err(OAuthError::Transient(m)) => return Err(RefreshFailure::Transient(m)),
            Err(e) => return Err(RefreshFailure::Rejected(e.code().to_string())),
        };
        let mut next = session.clone();
        next.tokens.access_token = fresh.access_token;
        if let Some(id) = fresh.id_token.filter(|t| !t.is_empty()) {
            next.tokens.id_token = id;
        }
        if let Some(r) = fresh.refresh_token.filter(|t| !t.is_empty()) {
            next.tokens.refresh_token = Some(r);
        }
        match self.store.replace(&next, session.version).await {
            Ok(Replaced::Written(s)) => Ok(s),
            // Someone else wrote first (another refresh, most likely): theirs stands.
            Ok(Replaced::Conflict(current)) => Ok(current),
            Ok(Replaced::Missing) => Err(RefreshFailure::SessionGone),
            Err(StoreError::Unavailable(m)) => Err(RefreshFailure::Transient(m)),
            Err(e) => Err(RefreshFailure::Transient(e.code().to_string())),
        }
    }
}

impl Refresher for DirectRefresher {
    fn refresh<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<Session, RefreshFailure>> {
        Box::pin(self.run(session))
    }
}

/// `l42-core`'s single-flight refresh coordinator behind the seam.
#[derive(Clone)]
pub struct CoordinatedRefresher(l42_core::session::Refresher);

impl std::fmt::Debug for CoordinatedRefresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoordinatedRefresher")
            .field("store", &self.0.store().backend())
            .finish_non_exhaustive()
    }
}

impl CoordinatedRefresher {
    /// The coordinator over `store`, calling Cognito through a client configured as
    /// `oauth`, with `options` (see [`RefreshOptions::from_lookup`]).
    pub fn new(
        oauth: &CognitoClient,
        store: Arc<dyn SessionStore>,
        options: RefreshOptions,
    ) -> CoordinatedRefresher {
        let client = CognitoClient::new(oauth.config().clone());
        CoordinatedRefresher(l42_core::session::Refresher::new(store, client, options))
    }
}

impl Refresher for CoordinatedRefresher {
    fn refresh<'a>(
        &'a self,
        session: &'a Session,
    ) -> BoxFuture<'a, Result<Session, RefreshFailure>> {
        Box::pin(async move {
            match self.0.refresh(session).await {
                Ok(outcome) => Ok(outcome.session),
                Err(RefreshError::NotAuthenticated) => Err(RefreshFailure::SessionGone),
                Err(RefreshError::NoRefreshToken) => Err(RefreshFailure::NoRefreshToken),
                // The coordinator has destroyed the session after re-reading it.
                Err(RefreshError::RefreshFailed) => Err(RefreshFailure::InvalidGrant),
                Err(e @ RefreshError::Unavailable { .. }) => {
                    Err(RefreshFailure::Transient(e.code().to_string()))
                }
            }
        })
    }
}

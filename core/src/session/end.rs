//! Ending a session, the one way every part of l42 does it (logout, a user ending one of
//! their sessions, everywhere, an operator's `l42 sessions end`).

use super::record::Session;
use super::store::{SessionStore, StoreError};
use crate::oauth::CognitoClient;
use crate::unix_now;

/// What [`end_session`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// A revocation was recorded (the tokens name an `origin_jti`).
    pub revoked: bool,
    /// Cognito accepted the refresh token's revocation (`false` also when there was no
    /// refresh token or no client).
    pub refresh_token_revoked: bool,
}

/// Ends `session`: its sign-in's revocation is recorded and the record deleted in one
/// step ([`SessionStore::end`]; when that fails nothing changed), then its refresh token
/// is revoked at Cognito through `cognito` (best effort, tried twice: the session is over
/// whatever Cognito answers).
///
/// # Errors
/// The store's, from [`SessionStore::end`].
pub async fn end_session(
    store: &dyn SessionStore,
    cognito: Option<&CognitoClient>,
    session: &Session,
) -> Result<Ended, StoreError> {
    let revocation = session.revocation(unix_now());
    if revocation.is_none() {
        tracing::warn!(
            session = %session.id.short(),
            "the ended session's tokens name no origin_jti: nothing to revoke"
        );
    }
    store.end(&session.id, revocation.as_ref()).await?;
    let mut refresh_token_revoked = false;
    if let (Some(cognito), Some(token)) = (cognito, &session.tokens.refresh_token) {
        for attempt in 1..=2 {
            match cognito.revoke(token).await {
                Ok(()) => {
                    refresh_token_revoked = true;
                    break;
                }
                Err(e) => tracing::warn!(
                    attempt,
                    error = %e,
                    "revoking the refresh token at Cognito failed"
                ),
            }
        }
    }
    Ok(Ended {
        revoked: revocation.is_some(),
        refresh_token_revoked,
    })
}

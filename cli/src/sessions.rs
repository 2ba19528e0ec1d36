//! `l42 sessions`: the operator's view of a user's sessions in the token handler's table,
//! and ending them all (the stolen-laptop case).
//!
//! The table and Cognito are configured as for the token handler: `DYNAMODB_TABLE`
//! (default `l42_sessions`), `DYNAMODB_ENDPOINT`, `AWS_REGION` and the usual AWS
//! credentials; with `COGNITO_DOMAIN` and `COGNITO_CLIENT_ID` (and `COGNITO_CLIENT_SECRET`
//! for a confidential client), each session's refresh token is revoked at Cognito too.

use l42_core::CognitoClient;
use l42_core::session::{SessionStore, SessionSummary, end_session, user_key};
use serde::Serialize;

use crate::Error;

/// One session, as `l42 sessions list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// The handle the user sees for it (never the session id).
    pub id: String,
    /// When it was made, Unix seconds.
    pub created_at: i64,
    /// When it last got tokens, Unix seconds.
    pub last_used_at: i64,
    /// When it ends, Unix seconds.
    pub expires_at: i64,
    /// How it was made.
    pub auth_method: String,
    /// The sign-in's `User-Agent`.
    pub user_agent: Option<String>,
}

impl From<&SessionSummary> for Listed {
    fn from(s: &SessionSummary) -> Listed {
        Listed {
            id: s.id.handle(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            auth_method: s.auth_method.clone(),
            user_agent: s.user_agent.clone(),
        }
    }
}

/// What `l42 sessions end` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EndReport {
    /// The user key (`<pool id>|<sub>`).
    pub user: String,
    /// Sessions ended.
    pub ended: usize,
    /// Of those, how many had their sign-in revoked (the authorizer refuses its tokens).
    pub revoked: usize,
    /// Refresh tokens Cognito accepted the revocation of.
    pub refresh_tokens_revoked: usize,
    /// Whether Cognito was configured (else no refresh token was revoked there; they
    /// lived only in the deleted sessions).
    pub cognito: bool,
}

/// The user key of `pool` and `sub`, refusing what cannot be one.
///
/// # Errors
/// [`Error::Usage`] for an empty pool or sub, or a pool id with `|` in it.
pub fn user(pool: &str, sub: &str) -> Result<String, Error> {
    let (pool, sub) = (pool.trim(), sub.trim());
    if pool.is_empty() || sub.is_empty() || pool.contains('|') {
        return Err(Error::Usage(
            "--pool and --sub must name a user pool id and a user's sub".into(),
        ));
    }
    l42_core::PoolId::parse(pool).map_err(|e| Error::Usage(format!("--pool: {e}")))?;
    Ok(user_key(pool, sub))
}

/// The sessions of `user`, newest first (expired ones included, marked by `expires_at`).
///
/// # Errors
/// [`Error::Store`] when the table does not answer.
pub async fn list(store: &dyn SessionStore, user: &str) -> Result<Vec<Listed>, Error> {
    let listed = store
        .list_for_user(user)
        .await
        .map_err(|e| Error::Store(e.to_string()))?;
    Ok(listed.iter().map(Listed::from).collect())
}

/// Ends every session of `user`: each is read, its sign-in revoked and its record deleted,
/// then its refresh token revoked at Cognito when `cognito` is given.
///
/// # Errors
/// [`Error::Store`] when the table does not answer (sessions ended before that stay
/// ended; run the command again).
pub async fn end_all(
    store: &dyn SessionStore,
    cognito: Option<&CognitoClient>,
    user: &str,
) -> Result<EndReport, Error> {
    let store_error = |e: l42_core::session::StoreError| Error::Store(e.to_string());
    let mut report = EndReport {
        user: user.to_string(),
        cognito: cognito.is_some(),
        ..EndReport::default()
    };
    for summary in store.list_for_user(user).await.map_err(store_error)? {
        let session = match store.get(&summary.id).await {
            Ok(Some(s)) => s,
            // Gone meanwhile, past its expiry, or unreadable: whatever is left goes.
            Ok(None) | Err(l42_core::session::StoreError::Corrupt(_)) => {
                store.end(&summary.id, None).await.map_err(store_error)?;
                continue;
            }
            Err(e) => return Err(store_error(e)),
        };
        let ended = end_session(store, cognito, &session)
            .await
            .map_err(store_error)?;
        report.ended += 1;
        report.revoked += usize::from(ended.revoked);
        report.refresh_tokens_revoked += usize::from(ended.refresh_token_revoked);
    }
    Ok(report)
}

//! `GET {P}/sessions` and `DELETE {P}/sessions/{id}`: the caller's signed-in devices, and
//! ending one of them (additive to the L42 protocol; `auth.js` does not call them).
//!
//! `GET` answers `{"sessions":[{"id","created_at","last_used_at","auth_method",
//! "user_agent","current"}]}`, newest first, times in Unix seconds. `id` is the session's
//! handle ([`SessionId::handle`]): it names the session to its user and nothing else
//! (never the session id, from which with the cookie key a cookie is made).
//! `last_used_at` is when the session last got tokens (its sign-in or latest refresh), so
//! it is as fine as the access token's lifetime. `user_agent` is the sign-in's, at most
//! 256 bytes, or `null`.
//!
//! `DELETE` (the CSRF header required, as for every state-changing endpoint) ends that
//! session of the caller's as a logout does: deleted, its sign-in revoked, its refresh
//! token revoked at Cognito. 200 `{"success":true,"current":bool}`, with a `Set-Cookie`
//! clearing the cookie when it was the caller's own. A handle that is not one of the
//! caller's sessions (another user's, an ended one, or not a handle at all) is 404.
//!
//! Both need a caller with a session (401 otherwise). Listing reads the user index, which
//! is eventually consistent: a session made within the last second may be missing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use l42_core::session::SessionId;
use serde_json::json;

use crate::app::{AppState, Caller, Identity};
use crate::error::ApiError;
use crate::session::Sessions;

/// The user key of a caller that came with a session; a caller without one (a session
/// written before sessions were listed) has nothing to list: 401, as for no session.
fn user_of(identity: &Identity) -> Result<&str, ApiError> {
    identity.user.as_deref().ok_or(ApiError::NotAuthenticated)
}

/// Answers `GET {P}/sessions`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Caller(identity): Caller,
) -> Result<Response, ApiError> {
    let sessions = state.sessions()?;
    let user = user_of(&identity)?;
    let current = sessions.cookie_session(&headers);
    let listed = sessions.list(user).await?;
    let body: Vec<_> = listed
        .iter()
        .map(|s| {
            json!({
                "id": s.id.handle(),
                "created_at": s.created_at,
                "last_used_at": s.last_used_at,
                "auth_method": s.auth_method,
                "user_agent": s.user_agent,
                "current": current.as_ref() == Some(&s.id),
            })
        })
        .collect();
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "sessions": body })),
    )
        .into_response())
}

/// Answers `DELETE {P}/sessions/{id}`.
pub async fn end(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(handle): Path<String>,
    Caller(identity): Caller,
) -> Result<Response, ApiError> {
    let sessions = state.sessions()?;
    let user = user_of(&identity)?;
    if !SessionId::is_handle(&handle) {
        return Err(ApiError::NotFound);
    }
    let Some(found) = sessions
        .list(user)
        .await?
        .into_iter()
        .find(|s| s.id.handle() == handle)
    else {
        return Err(ApiError::NotFound);
    };
    if !sessions.end_id(&found.id, "ended by its user").await? {
        return Err(ApiError::NotFound);
    }
    let current = sessions.cookie_session(&headers).as_ref() == Some(&found.id);
    respond_ended(
        sessions,
        current,
        json!({"success": true, "current": current}),
    )
}

/// A 200 with `body`, clearing the cookie when `clear` (the caller's own session ended).
pub fn respond_ended(
    sessions: &Sessions,
    clear: bool,
    body: serde_json::Value,
) -> Result<Response, ApiError> {
    let mut response = ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response();
    if clear && let Ok(v) = header::HeaderValue::from_str(&sessions.cookies().clear()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

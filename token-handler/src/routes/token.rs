//! `GET {P}/token`: the session's access and id tokens, never the refresh token.
//!
//! | outcome | status | body |
//! |---|---|---|
//! | a session with usable tokens (refreshed first when the access token is expired or expires within 60 s) | 200 | `{"access_token","id_token","auth_method"}` |
//! | no session, or tokens that are unusable and cannot be refreshed | 401 | `{"error":"Not authenticated"}` |
//! | Cognito says the refresh token is dead: the session is destroyed, the cookie cleared | 401 | `{"error":"Not authenticated"}` |
//! | the cookie verifies but its session is gone (deleted, expired, unreadable): the cookie cleared | 401 | `{"error":"Not authenticated"}` |
//! | the store or Cognito is unavailable: the session is kept | 503 | `{"error":"Service unavailable"}` |

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::error::ApiError;
use crate::session::{Fresh, Lookup};

/// Answers `GET {P}/token` per the table above, refreshing first when the access token
/// is about to expire.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sessions = state.sessions()?;
    let session = match sessions.lookup(&headers).await? {
        Lookup::NoCookie => return Err(ApiError::NotAuthenticated),
        Lookup::Gone => return Err(sessions.ended()),
        Lookup::Found(session) => *session,
    };
    match sessions.fresh(session).await? {
        Fresh::Usable(session, _) => Ok((
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({
                "access_token": session.tokens.access_token,
                "id_token": session.tokens.id_token,
                "auth_method": session.tokens.auth_method,
            })),
        )
            .into_response()),
        Fresh::Ended => Err(sessions.ended()),
        Fresh::Unusable => Err(ApiError::NotAuthenticated),
    }
}

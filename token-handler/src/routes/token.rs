//! `GET {P}/token`: the session's access and id tokens, never the refresh token.
//!
//! | outcome | status | body |
//! |---|---|---|
//! | a session with usable tokens (refreshed first when the access token is expired or expires within 60 s) | 200 | `{"access_token","id_token","auth_method"}` |
//! | no session, or tokens that are unusable and cannot be refreshed | 401 | `{"error":"Not authenticated"}` |
//! | Cognito says the refresh token is dead: the session is destroyed, the cookie cleared | 401 | `{"error":"Not authenticated"}` |
//! | the store or Cognito is unavailable: the session is kept | 503 | `{"error":"Service unavailable"}` |

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::error::ApiError;
use crate::session::Fresh;

/// The handler.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sessions = state.sessions()?;
    let Some(session) = sessions.current(&headers).await? else {
        return Err(ApiError::NotAuthenticated);
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
        Fresh::Ended => Ok(ended(sessions.cookies().clear())),
        Fresh::Unusable => Err(ApiError::NotAuthenticated),
    }
}

/// 401 `{"error":"Not authenticated"}` clearing the cookie.
pub fn ended(clear_cookie: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::SET_COOKIE, clear_cookie)],
        Json(ApiError::NotAuthenticated.body()),
    )
        .into_response()
}

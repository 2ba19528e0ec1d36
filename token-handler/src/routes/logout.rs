//! `POST {P}/logout`: end the session (deleted, its sign-in revoked so the authorizer
//! refuses its tokens, its refresh token revoked at Cognito, best effort), clear the
//! cookie, and answer `{"success":true,"logout_url","sessions_ended"}` where `logout_url`
//! is Cognito's `/logout?client_id=…&logout_uri=<origin>/`. 200 also without a session.
//!
//! With the JSON body `{"everywhere": true}` every session of the caller's user ends, this
//! one included (the sessions the user index lists; one made within the last second may
//! be missing from it). Any other body is accepted as `auth.js` sends it (no body, `{}`,
//! or anything that is not JSON), except a JSON body that does not parse or whose
//! `everywhere` is not a boolean: 400, and nothing ends.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::body::is_json_content_type;
use crate::error::ApiError;
use crate::routes::login::request_origin;
use crate::session::Lookup;

/// The optional body.
#[derive(Deserialize, Default)]
struct LogoutBody {
    /// End every session of the caller's user.
    #[serde(default)]
    everywhere: bool,
}

/// What the body asks for; a JSON body that is not a usable one is a 400.
fn parse_body(headers: &HeaderMap, bytes: &[u8]) -> Result<LogoutBody, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_content_type);
    if !json || bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(LogoutBody::default());
    }
    serde_json::from_slice::<LogoutBody>(bytes).map_err(|e| {
        ApiError::BadBody(format!(
            "expected {{\"everywhere\": true|false}} ({:?} error at column {})",
            e.classify(),
            e.column()
        ))
    })
}

/// Answers `POST {P}/logout` as the module says: the session ends here whatever Cognito
/// says about the revocation.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&headers, &bytes)?;
    let sessions = state.sessions()?;
    let origin = request_origin(&state, &headers);
    let logout_url = sessions.oauth().logout_url(&format!("{origin}/"));
    let mut ended = 0usize;
    match sessions.lookup(&headers).await {
        Ok(Lookup::Found(session)) => {
            let user = session.user.clone();
            sessions.end(&session, "logout").await?;
            ended += 1;
            if body.everywhere
                && let Some(user) = user
            {
                for other in sessions.list(&user).await? {
                    if sessions.end_id(&other.id, "logout everywhere").await? {
                        ended += 1;
                    }
                }
            }
        }
        Ok(Lookup::NoCookie) => {}
        // Absent, expired or unreadable: whatever is left under the id goes.
        Ok(Lookup::Gone) => {
            if let Some(id) = sessions.cookie_session(&headers) {
                sessions.destroy(&id).await?;
            }
        }
        Err(e) => {
            // The record could not be read: delete it anyway (its tokens cannot be
            // revoked without reading them), so that logging out never fails open.
            tracing::warn!(error = %e, "logout: session not read; deleting it anyway");
            if let Some(id) = sessions.cookie_session(&headers) {
                sessions.destroy(&id).await?;
                ended += 1;
            }
        }
    }
    Ok((
        [
            (header::SET_COOKIE, sessions.cookies().clear()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(json!({"success": true, "logout_url": logout_url, "sessions_ended": ended})),
    )
        .into_response())
}

//! `POST {P}/logout`: destroy the session, clear the cookie, revoke the refresh token at
//! Cognito (best effort), and answer `{"success":true,"logout_url"}` where `logout_url`
//! is Cognito's `/logout?client_id=…&logout_uri=<origin>/`. 200 also without a session.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use l42_core::session::StoreError;
use serde_json::json;

use crate::app::AppState;
use crate::error::ApiError;
use crate::events::{self, Activity, Status};
use crate::routes::login::request_origin;

/// Answers `POST {P}/logout` as the module says: the session ends here whatever Cognito
/// says about the revocation.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sessions = state.sessions()?;
    let origin = request_origin(&state, &headers);
    let logout_url = sessions.oauth().logout_url(&format!("{origin}/"));
    if let Some(id) = sessions.cookie_session(&headers) {
        let refresh_token = match sessions.store().get(&id).await {
            Ok(s) => s.and_then(|s| s.tokens.refresh_token),
            Err(StoreError::Corrupt(_)) => None,
            Err(e) => {
                tracing::warn!(error = %e, "logout: session not read; deleting it anyway");
                None
            }
        };
        sessions.destroy(&id).await?;
        if let Some(token) = refresh_token
            && let Err(e) = sessions.oauth().revoke(&token).await
        {
            tracing::warn!(error = %e, "logout: revoking the refresh token failed");
        }
        events::event(Activity::Logoff, Status::Success, "session destroyed")
            .activity_name("Logout")
            .detail("session", id.short())
            .emit();
    }
    Ok((
        [
            (header::SET_COOKIE, sessions.cookies().clear()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(json!({"success": true, "logout_url": logout_url})),
    )
        .into_response())
}

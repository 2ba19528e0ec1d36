//! `POST {P}/session`: make a session from tokens the client got itself.
//!
//! Body `{"access_token","id_token","refresh_token"?,"auth_method"?}` (`auth_method`
//! defaults to `direct`). Both tokens must verify (signature, issuer, expiry, `token_use`,
//! client) and name the same `sub`, and their sign-in must not have been ended (an
//! ended session's tokens still verify: they make no new one), else 403
//! `{"error":"Token verification failed"}`; an empty or missing token is a 400. Every login gets a new session id (the session the
//! request came with is deleted) and a `Set-Cookie`; the answer is `{"success":true}`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use l42_core::session::SessionTokens;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::events::{self, Activity, Status};
use crate::session::{TokenRejection, verification_failed_event};

/// The request body.
#[derive(Deserialize)]
pub struct SessionBody {
    /// The access token.
    #[serde(default)]
    pub access_token: Option<String>,
    /// The id token.
    #[serde(default)]
    pub id_token: Option<String>,
    /// The refresh token, if the client has one.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// How the client signed in (default `direct`).
    #[serde(default)]
    pub auth_method: Option<String>,
}

/// The longest `auth_method` kept.
const MAX_AUTH_METHOD_CHARS: usize = 32;

/// Answers `POST {P}/session`: 200 and a new session cookie (the request's session, if
/// any, is deleted), 403 when the tokens do not verify as a pair, 400 when one is missing.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SessionBody>,
) -> Result<Response, ApiError> {
    let sessions = state.sessions()?;
    let nonempty = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
    let (Some(access_token), Some(id_token)) =
        (nonempty(body.access_token), nonempty(body.id_token))
    else {
        return Err(ApiError::BadRequest(
            "access_token and id_token are required".to_owned(),
        ));
    };
    let auth_method = body
        .auth_method
        .map(|m| m.trim().to_owned())
        .filter(|m| {
            !m.is_empty()
                && m.len() <= MAX_AUTH_METHOD_CHARS
                && m.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_else(|| "direct".to_owned());
    let claims = match sessions.verify_pair(&access_token, &id_token).await {
        Ok((id, _)) => id,
        Err(TokenRejection(why)) => {
            verification_failed_event("session", &why);
            return Err(ApiError::TokenVerificationFailed);
        }
    };
    // Tokens of a sign-in that was ended still verify: they make no new session.
    if let Some(origin_jti) = claims.origin_jti.as_deref() {
        if !l42_core::session::is_valid_origin_jti(origin_jti) {
            verification_failed_event("session", "the tokens' origin_jti cannot be checked");
            return Err(ApiError::TokenVerificationFailed);
        }
        let revoked = sessions
            .store()
            .is_revoked(origin_jti, l42_core::unix_now())
            .await;
        match revoked {
            Ok(false) => {}
            Ok(true) => {
                verification_failed_event("session", "the tokens' sign-in was ended");
                return Err(ApiError::TokenVerificationFailed);
            }
            Err(e) => return Err(ApiError::Unavailable(format!("revocation check: {e}"))),
        }
    }
    let previous = sessions.cookie_session(&headers);
    let tokens = SessionTokens {
        access_token,
        id_token,
        refresh_token: nonempty(body.refresh_token),
        auth_method: auth_method.clone(),
    };
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let (_, cookie) = sessions
        .start(tokens, &claims, agent, previous.as_ref())
        .await?;
    events::event(
        Activity::Logon,
        Status::Success,
        "session created from posted tokens",
    )
    .activity_name("Session")
    .actor(&claims.sub, claims.email.as_deref())
    .detail("auth_method", auth_method)
    .detail("replaced_session", previous.is_some())
    .emit();
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"success": true})),
    )
        .into_response())
}

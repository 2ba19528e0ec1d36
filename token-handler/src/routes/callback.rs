//! `GET {P}/callback`: finish a hosted-UI login started by `{P}/login`.
//!
//! The browser must hold the login binding cookie `{P}/login` set for this `state`
//! (checked first, before the state is looked up: an attacker's callback URL opened in
//! another browser finds no binding, consumes nothing and changes nothing). Then `state`
//! must name a pending login (taken, so it works once) whose origin is the
//! request's; the code is exchanged with the pending login's PKCE verifier and the same
//! `redirect_uri`; both tokens must verify like `POST {P}/session`. Then a new session is
//! made (the one the request came with is deleted) and the answer is a 303 to the bound
//! origin + `return_to` with the `Set-Cookie`.
//!
//! Every failure is a 303 to `<origin>/login?error=<code>` and never touches the session
//! the request came with: `access_denied` and other errors from Cognito are passed on as
//! `provider_error`; then `invalid_state`, `login_cookie_missing` (the login was not
//! started in this browser, or more than 10 minutes ago), `login_cookie_mismatch` (the
//! browser started other logins, not this one), `origin_mismatch`, `missing_code`,
//! `invalid_grant`, `exchange_failed`, `token_verification_failed`, `unavailable`. Once
//! the binding matched, every answer removes it from the cookie (the state is used up).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use l42_core::OAuthError;
use l42_core::session::SessionTokens;

use crate::app::AppState;
use crate::config::Origin;
use crate::error::ApiError;
use crate::events::{self, Activity, Severity, Status};
use crate::routes::login::{query_param, redirect_uri, request_origin};
use crate::session::{TokenRejection, verification_failed_event};

/// Answers `GET {P}/callback` with a 303: to the login's `return_to` with a new session
/// cookie, or to `<origin>/login?error=<code>` with none.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let sessions = state.sessions()?;
    let here = request_origin(&state, &headers);
    if uri
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "error"))
    {
        return Ok(failed(
            &here,
            "provider_error",
            "the identity provider reported an error",
        ));
    }
    let Some(state_value) = query_param(&uri, "state") else {
        return Ok(failed(&here, "invalid_state", "no state"));
    };
    let cookie_headers = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let unbind = match sessions
        .cookies()
        .take_login_binding(cookie_headers, &state_value)
    {
        Ok(unbind) => unbind,
        Err(e) => return Ok(failed(&here, e.code(), &e.to_string())),
    };
    // From here on the state is spent whatever happens: each answer drops its binding.
    let failed = |origin: &Origin, code: &'static str, why: &str| {
        let mut response = failed(origin, code, why);
        append_cookie(&mut response, &unbind);
        response
    };
    let pending = match sessions.logins().take(&state_value).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Ok(failed(
                &here,
                "invalid_state",
                "no pending login for the state",
            ));
        }
        Err(l42_core::session::StoreError::Corrupt(_)) => {
            return Ok(failed(
                &here,
                "invalid_state",
                "the pending login is unreadable",
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "callback: login state store unavailable");
            return Ok(failed(
                &here,
                "unavailable",
                "login state store unavailable",
            ));
        }
    };
    if pending.origin != here.as_str() {
        return Ok(failed(
            &here,
            "origin_mismatch",
            "the callback came to another origin",
        ));
    }
    let Some(code) = query_param(&uri, "code").filter(|c| !c.is_empty()) else {
        return Ok(failed(&here, "missing_code", "no code"));
    };
    let tokens = match sessions
        .oauth()
        .exchange_code(&code, &pending.code_verifier, &redirect_uri(&state, &here))
        .await
    {
        Ok(t) => t,
        Err(OAuthError::InvalidGrant) => {
            return Ok(failed(&here, "invalid_grant", "the code was refused"));
        }
        Err(OAuthError::Transient(m)) => {
            tracing::warn!(detail = %m, "callback: Cognito unavailable");
            return Ok(failed(&here, "unavailable", "Cognito unavailable"));
        }
        Err(e) => return Ok(failed(&here, "exchange_failed", e.code())),
    };
    let Some(id_token) = tokens.id_token.filter(|t| !t.is_empty()) else {
        verification_failed_event("callback", "no id token");
        return Ok(failed(&here, "token_verification_failed", "no id token"));
    };
    let claims = match sessions.verify_pair(&tokens.access_token, &id_token).await {
        Ok((id, _)) => id,
        Err(TokenRejection(why)) => {
            verification_failed_event("callback", &why);
            return Ok(failed(
                &here,
                "token_verification_failed",
                "tokens did not verify",
            ));
        }
    };
    let previous = sessions.cookie_session(&headers);
    let session_tokens = SessionTokens {
        access_token: tokens.access_token,
        id_token,
        refresh_token: tokens.refresh_token.filter(|t| !t.is_empty()),
        auth_method: "handler".to_owned(),
    };
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let cookie = match sessions
        .start(session_tokens, &claims, agent, previous.as_ref())
        .await
    {
        Ok((_, cookie)) => cookie,
        Err(e) => {
            tracing::warn!(error = %e, "callback: the session could not be stored");
            return Ok(failed(&here, "unavailable", "session store unavailable"));
        }
    };
    events::event(
        Activity::Logon,
        Status::Success,
        "hosted UI login completed",
    )
    .activity_name("Callback")
    .auth_protocol("OAuth 2.0")
    .actor(&claims.sub, claims.email.as_deref())
    .detail("replaced_session", previous.is_some())
    .emit();
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                format!("{}{}", pending.origin, pending.return_to),
            ),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response();
    append_cookie(&mut response, &unbind);
    Ok(response)
}

/// Adds a `Set-Cookie` header to `response`, beside any it has.
fn append_cookie(response: &mut Response, set_cookie: &str) {
    if let Ok(v) = header::HeaderValue::from_str(set_cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A 303 to `<origin>/login?error=<code>`, with a security event; the session the request
/// came with is left alone.
fn failed(origin: &Origin, code: &'static str, why: &str) -> Response {
    events::event(Activity::Logon, Status::Failure, "hosted UI login failed")
        .activity_name("Callback")
        .auth_protocol("OAuth 2.0")
        .severity(Severity::Medium)
        .detail("error", code)
        .detail("reason", why)
        .emit();
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, format!("{origin}/login?error={code}")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

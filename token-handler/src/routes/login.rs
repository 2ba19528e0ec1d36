//! `GET {P}/login`: start a hosted-UI login on the server.
//!
//! A new `state` and PKCE verifier are stored server-side ([`LoginStateStore`], single
//! use, 10 minutes) with the origin the login started from and a safe `return_to` (a
//! path on that origin, from the query; `/` otherwise). The answer is a 302 to Cognito's
//! `/oauth2/authorize` with the S256 challenge and `redirect_uri = <origin>{P}/callback`,
//! and sets the login binding cookie (`__Host-l42_login`, see
//! [`l42_core::session::cookie`]) that ties the state to this browser: `{P}/callback`
//! accepts the state only from a browser holding it, so an attacker's callback URL
//! opened by someone else signs nobody in.
//!
//! The origin is `FRONTEND_URL`; with `CALLBACK_USE_ORIGIN=true` it is the request's
//! `X-Forwarded-Host` (with `X-Forwarded-Proto`, default `https`) or else `Origin`, when
//! that origin is on the allow-list (`FRONTEND_URL`, `CALLBACK_ALLOWED_ORIGINS`), and
//! `FRONTEND_URL` when it is not.
//!
//! [`LoginStateStore`]: l42_core::session::LoginStateStore

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use l42_core::session::{LOGIN_STATE_TTL_SECS, LoginState};
use l42_core::{Pkce, unix_now};

use crate::app::AppState;
use crate::config::Origin;
use crate::error::ApiError;
use crate::events::{self, Activity, Status};
use crate::session::SCOPES;

/// The value of query parameter `name` in `uri` when it appears exactly once.
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    let mut found = form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == name);
    let first = found.next()?.1.into_owned();
    found.next().is_none().then_some(first)
}

/// The longest `return_to` kept (a longer one becomes `/`): with it a pending login stays
/// under 1 KB, one DynamoDB write unit, whatever an unauthenticated caller sends.
pub const MAX_RETURN_TO: usize = 512;

/// The origin of a request (see the module docs).
pub fn request_origin(state: &AppState, headers: &HeaderMap) -> Origin {
    let config = state.config();
    if !config.callback_use_origin {
        return config.frontend_url.clone();
    }
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let forwarded = first("x-forwarded-host").map(|host| {
        let proto = first("x-forwarded-proto")
            .filter(|p| p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("https"))
            .unwrap_or_else(|| "https".to_owned());
        format!("{}://{host}", proto.to_ascii_lowercase())
    });
    let candidates = [forwarded, first("origin")];
    candidates
        .into_iter()
        .flatten()
        .filter_map(|c| Origin::parse(&c).ok())
        .find(|o| state.origins().contains(o))
        .unwrap_or_else(|| config.frontend_url.clone())
}

/// `return_to` when it is a safe path on the same origin (starts with one `/`, no `\`, no
/// control characters, not too long), else `/`.
pub fn safe_return_to(value: Option<&str>) -> String {
    let Some(v) = value else {
        return "/".to_owned();
    };
    let ok = v.starts_with('/')
        && !v.starts_with("//")
        && v.len() <= MAX_RETURN_TO
        && !v.contains('\\')
        && !v.chars().any(char::is_control);
    if ok { v.to_owned() } else { "/".to_owned() }
}

/// The callback URL for `origin`.
pub fn redirect_uri(state: &AppState, origin: &Origin) -> String {
    format!("{origin}{}", state.config().route("/callback"))
}

/// Answers `GET {P}/login` with a 302 to Cognito's authorize URL and the login binding
/// cookie.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let return_to = query_param(&uri, "return_to");
    let sessions = state.sessions()?;
    let origin = request_origin(&state, &headers);
    let return_to = safe_return_to(return_to.as_deref());
    let pkce = Pkce::new().map_err(|_| ApiError::Internal)?;
    let login_state = l42_core::oauth::random_state().map_err(|_| ApiError::Internal)?;
    let pending = LoginState {
        state: login_state,
        code_verifier: pkce.verifier().to_owned(),
        origin: origin.to_string(),
        return_to,
        expires_at: unix_now() + LOGIN_STATE_TTL_SECS,
    };
    sessions
        .logins()
        .put(&pending)
        .await
        .map_err(|e| ApiError::Unavailable(format!("login state store: {e}")))?;
    let url = sessions.oauth().authorize_url(
        &redirect_uri(&state, &origin),
        &pending.state,
        pkce.challenge(),
        &SCOPES,
    );
    let binding = sessions.cookies().bind_login(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
        &pending.state,
    );
    events::event(Activity::Logon, Status::Success, "hosted UI login started")
        .activity_name("Login start")
        .auth_protocol("OAuth 2.0")
        .detail("origin", origin.to_string())
        .emit();
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (header::SET_COOKIE, binding),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn return_to_is_a_local_path() {
        for (given, kept) in [
            (None, "/"),
            (Some("/"), "/"),
            (Some("/admin?tab=1#x"), "/admin?tab=1#x"),
            (Some("//evil.example"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("https://evil.example/"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some("/a\nb"), "/"),
            (Some(""), "/"),
        ] {
            assert_eq!(safe_return_to(given), kept, "{given:?}");
        }
        // What one unauthenticated request may make the server keep is bounded.
        let longest = format!("/{}", "a".repeat(super::MAX_RETURN_TO - 1));
        assert_eq!(safe_return_to(Some(&longest)), longest);
        assert_eq!(safe_return_to(Some(&format!("{longest}a"))), "/");
    }
}

//! The HTTP routes, one file per endpoint, and what they share.

mod authorize;
mod dev;
mod discovery;
mod guard;
mod logout;
mod revoke;
mod token;
mod userinfo;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::directory::AppClient;
use super::faults::{FaultEndpoint, FaultKind};
use super::oauth::OAuthError;
use super::state::Shared;
use super::util::{Params, form_decode_strict, secrets_equal};

/// Every route of the identity provider.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let limit = shared.settings.max_body_bytes;
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/{pool}/.well-known/openid-configuration",
            get(discovery::pool_openid_configuration),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route("/{pool}/.well-known/jwks.json", get(discovery::pool_jwks))
        .route(
            "/oauth2/authorize",
            get(authorize::show_form).post(authorize::submit),
        )
        .route("/login", get(authorize::show_form).post(authorize::submit))
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/revoke", post(revoke::revoke))
        .route(
            "/oauth2/userInfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/logout", get(logout::logout))
        .route("/_dev/stats", get(dev::stats))
        .route("/_dev/stats/reset", post(dev::reset_stats))
        .route(
            "/_dev/faults",
            get(dev::faults)
                .post(dev::inject_fault)
                .delete(dev::clear_faults),
        )
        .route("/_dev/keys", get(dev::keys))
        .route("/_dev/keys/rotate", post(dev::rotate_keys))
        .route("/_dev/keys/retire", post(dev::retire_key))
        .route("/_dev/clock", get(dev::clock))
        .route("/_dev/clock/advance", post(dev::advance_clock))
        .route("/_dev/clock/reset", post(dev::reset_clock))
        .route("/_dev/mint", post(dev::mint))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        // Outermost: a refused host or cross-site write reaches no handler (see `guard`).
        .layer(middleware::from_fn_with_state(shared.clone(), guard::guard))
        .with_state(shared)
}

async fn not_found() -> Response {
    OAuthError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

/// A 302 to `location` (an error page if it cannot be a header value).
pub(crate) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(LOCATION, v);
            r
        }
        Err(_) => super::html::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the redirect location is not a valid header value",
        ),
    }
}

/// Answers for an injected fault of `endpoint`, if one is pending.
pub(crate) async fn fault_gate(shared: &Shared, endpoint: FaultEndpoint) -> Option<Response> {
    let (kind, delay) = shared.faults.take(endpoint)?;
    tracing::info!(endpoint = endpoint.as_str(), kind = ?kind, "injected fault");
    Some(match kind {
        FaultKind::Status500 => OAuthError::server("injected fault").into_response(),
        FaultKind::InvalidGrant => OAuthError::grant("injected fault").into_response(),
        FaultKind::Timeout => {
            pause(shared, delay.unwrap_or(shared.settings.fault_delay)).await;
            OAuthError::server("injected timeout").into_response()
        }
        FaultKind::Slow => {
            pause(shared, delay.unwrap_or(shared.settings.fault_delay)).await;
            return None;
        }
    })
}

/// The body, or the OAuth error for one that is too large or unreadable.
pub(crate) fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, OAuthError> {
    body.map_err(|r| {
        let status = r.status();
        let what = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "request body is too large"
        } else {
            "request body could not be read"
        };
        OAuthError::new(status, "invalid_request", what)
    })
}

/// The token and revoke endpoints take `application/x-www-form-urlencoded` only.
pub(crate) fn require_form(headers: &HeaderMap) -> Result<(), OAuthError> {
    let ok = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if ok {
        Ok(())
    } else {
        Err(OAuthError::request(
            "Content-Type must be application/x-www-form-urlencoded",
        ))
    }
}

/// Authenticates the app client of a token or revoke request: HTTP Basic
/// (`client_secret_basic`) or `client_id` + `client_secret` in the form
/// (`client_secret_post`); a public client sends only `client_id`.
/// `invalid_client` errors carry `client_status` (400 at the token endpoint, 401 at revoke).
pub(crate) fn authenticate_client<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
    params: &Params,
    client_status: StatusCode,
) -> Result<&'a AppClient, OAuthError> {
    let invalid = |d: &str| OAuthError::new(client_status, "invalid_client", d);
    let basic = match headers.get(AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| invalid("Authorization header is not ASCII"))?;
            let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(invalid("Authorization must use the Basic scheme"));
            }
            let decoded = STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("Authorization header is not valid Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| invalid("Authorization header is not valid Basic credentials"))?;
            // RFC 6749 §2.3.1: each part was form-encoded before the join (so a strict
            // client sends `-` as `%2D`, a space as `+`). Unencoded ids and secrets of
            // letters, digits, `-`, `_`, `.`, `*` decode to themselves.
            let decode = |part: &str, what: &str| {
                form_decode_strict(part).map_err(|e| {
                    invalid(&format!(
                        "the Basic {what} is not form-encoded (RFC 6749 §2.3.1): {e}"
                    ))
                })
            };
            Some((decode(id, "client id")?, decode(secret, "client secret")?))
        }
    };
    let form_secret = params.get("client_secret");
    let (client_id, secret) = match basic {
        Some((id, secret)) => {
            if form_secret.is_some() {
                return Err(OAuthError::request(
                    "use one client authentication method (Basic header or client_secret), not both",
                ));
            }
            if params.get("client_id").is_some_and(|f| f != id) {
                return Err(invalid(
                    "client_id in the form differs from the Basic credentials",
                ));
            }
            (id, (!secret.is_empty()).then_some(secret))
        }
        None => {
            let id = params
                .get("client_id")
                .ok_or_else(|| invalid("client authentication is required (client_id)"))?;
            (id.to_string(), form_secret.map(str::to_string))
        }
    };
    let client = shared
        .directory
        .client(&client_id)
        .ok_or_else(|| invalid("unknown app client"))?;
    match (&client.client_secret, secret) {
        (Some(expected), Some(given)) if secrets_equal(expected, &given) => Ok(client),
        (Some(_), Some(_)) => Err(invalid("client secret is wrong")),
        (Some(_), None) => Err(invalid("this app client has a secret; send it")),
        (None, None) => Ok(client),
        (None, Some(_)) => Err(invalid("this app client has no secret")),
    }
}

/// The longest an injected timeout hangs, whatever was asked.
const MAX_FAULT_DELAY: Duration = Duration::from_secs(600);

/// Waits `d` (at most [`MAX_FAULT_DELAY`]), or less when the server shuts down meanwhile.
async fn pause(shared: &Shared, d: Duration) {
    let mut stop = shared.shutdown.clone();
    tokio::select! {
        () = tokio::time::sleep(d.min(MAX_FAULT_DELAY)) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}

//! # l42-refresh
//!
//! The refresh Lambda of l42: `POST {AUTH_PATH_PREFIX}/refresh` (default `/auth/refresh`)
//! over `l42-core`'s single-flight refresh coordinator
//! ([`l42_core::session::refresh::Refresher`]): one Cognito call per session however many
//! tabs or Lambda instances ask at once. The crate is a thin router; the logic lives in the
//! core so that the token handler's `GET /token` shares it.
//!
//! | answer | when |
//! |---|---|
//! | 200 `{"access_token","id_token","auth_method"}` | fresh tokens (never the refresh token) |
//! | 401 `{"error":"Not authenticated"}` | no valid session cookie, or no live session |
//! | 401 `{"error":"No refresh token"}` | the session has none |
//! | 401 `{"error":"Refresh failed"}` + cookie cleared | Cognito said `invalid_grant`; the session is destroyed |
//! | 503 `{"error":"Service unavailable"}` | Cognito or the store failed transiently; the session is kept |
//! | 403 `{"error":"CSRF validation failed"}` | a POST without `X-L42-CSRF: 1` |
//!
//! CORS: the request's `Origin` is reflected only when it is exactly one of `FRONTEND_URL`
//! and `CALLBACK_ALLOWED_ORIGINS`, with credentials; never `*`. Every error is JSON.
//!
//! ```
//! use l42_refresh::{Config, router};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_lookup(|name| match name {
//!     "COGNITO_DOMAIN" => Some("auth.example.com".into()),
//!     "COGNITO_CLIENT_ID" => Some("client-1".into()),
//!     "SESSION_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
//!     _ => None,
//! })?;
//! let app: axum::Router = router(&config);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

pub mod config;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use l42_core::CognitoClient;
use l42_core::service::{self, Cors, json_error};
use l42_core::session::SessionCookies;
use l42_core::session::refresh::{RefreshError, Refresher};
use l42_core::unix_now;
use serde_json::json;

pub use config::Config;
pub use l42_core::service::run_lambda;

/// The methods a CORS preflight allows.
pub const ALLOWED_METHODS: &str = "POST";

/// What the handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The single-flight refresh coordinator every request goes through.
    pub refresher: Refresher,
    /// Reads, issues and clears the session cookie.
    pub cookies: SessionCookies,
}

impl AppState {
    /// The state for `config`.
    pub fn new(config: &Config) -> AppState {
        let refresher = Refresher::new(
            Arc::clone(&config.store),
            CognitoClient::new(config.oauth.clone()),
            config.refresh.clone(),
        );
        AppState::with_refresher(config, refresher)
    }

    /// The state for `config` over a given coordinator (tests share one).
    pub fn with_refresher(config: &Config, refresher: Refresher) -> AppState {
        AppState {
            refresher,
            cookies: config.cookies.clone(),
        }
    }
}

/// The application: `POST {prefix}/refresh`, `GET /health`, with CORS, CSRF and JSON
/// errors.
pub fn router(config: &Config) -> Router {
    router_with(config, AppState::new(config))
}

/// [`router`] over a given state.
pub fn router_with(config: &Config, state: AppState) -> Router {
    let path = format!("{}/refresh", config.auth_path_prefix);
    Router::new()
        .route(&path, post(refresh))
        .route(
            "/health",
            axum::routing::get(|| async {
                axum::Json(json!({"status": "ok", "mode": "refresh", "version": env!("CARGO_PKG_VERSION")}))
            }),
        )
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "Not found") })
        .layer(middleware::from_fn(service::csrf))
        .layer(middleware::map_response(service::json_errors))
        .layer(middleware::from_fn_with_state(
            Cors::new(&config.origins, ALLOWED_METHODS),
            service::cors,
        ))
        .with_state(state)
}

/// `POST {prefix}/refresh`.
async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = unix_now();
    let cookie_headers = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let verified = match state.cookies.read(cookie_headers, now) {
        Ok(v) => v,
        Err(e) => {
            tracing::debug!(reason = e.code(), "refresh without a valid session cookie");
            return json_error(StatusCode::UNAUTHORIZED, "Not authenticated");
        }
    };
    match state.refresher.refresh_id(&verified.session_id).await {
        Ok(outcome) => {
            let t = &outcome.session.tokens;
            let mut r = (
                StatusCode::OK,
                axum::Json(json!({
                    "access_token": t.access_token,
                    "id_token": t.id_token,
                    "auth_method": t.auth_method,
                })),
            )
                .into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // The coordinator keeps the session id; a new cookie only if it ever changes.
            if outcome.session.id != verified.session_id
                && let Ok(cookie) =
                    state
                        .cookies
                        .issue(&outcome.session.id, outcome.session.expires_at, now)
                && let Ok(v) = HeaderValue::from_str(&cookie)
            {
                h.append(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            if let RefreshError::Unavailable { reason, detail } = &e {
                tracing::warn!(reason, detail, "refresh unavailable");
            }
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut r = json_error(status, e.public_message());
            if matches!(e, RefreshError::RefreshFailed)
                && let Ok(v) = HeaderValue::from_str(&state.cookies.clear())
            {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
    }
}

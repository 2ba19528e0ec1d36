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
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use l42_core::CognitoClient;
use l42_core::lambda::strip_stage;
use l42_core::session::SessionCookies;
use l42_core::session::refresh::{RefreshError, Refresher};
use l42_core::unix_now;
use serde_json::json;

pub use config::Config;

/// The CSRF header's name.
pub const CSRF_HEADER: &str = "x-l42-csrf";

/// What the handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The coordinator.
    pub refresher: Refresher,
    /// The session cookie.
    pub cookies: SessionCookies,
    origins: Arc<[HeaderValue]>,
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
            origins: config
                .origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.as_str()).ok())
                .collect(),
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
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not found") })
        .layer(middleware::from_fn(csrf))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), cors))
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut r = (status, axum::Json(json!({ "error": message }))).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
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
            return error(StatusCode::UNAUTHORIZED, "Not authenticated");
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
            let mut r = error(status, e.public_message());
            if matches!(e, RefreshError::RefreshFailed)
                && let Ok(v) = HeaderValue::from_str(&state.cookies.clear())
            {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
    }
}

/// CSRF: every POST needs exactly one `X-L42-CSRF: 1`.
async fn csrf(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let mut values = request.headers().get_all(CSRF_HEADER).iter();
    match (values.next(), values.next()) {
        (Some(v), None) if v.as_bytes() == b"1" => next.run(request).await,
        _ => error(StatusCode::FORBIDDEN, "CSRF validation failed"),
    }
}

/// Exact-origin CORS; preflights answered here.
async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let allowed = {
        let mut all = request.headers().get_all(header::ORIGIN).iter();
        match (all.next(), all.next()) {
            (Some(o), None) => state.origins.iter().find(|a| *a == o).cloned(),
            _ => None,
        }
    };
    let preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.append(
            header::VARY,
            HeaderValue::from_static("access-control-request-method"),
        );
        h.append(
            header::VARY,
            HeaderValue::from_static("access-control-request-headers"),
        );
        if allowed.is_some() {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, x-l42-csrf"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        r
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("origin"));
    h.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    h.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// Gives every error response (axum's 405 included) a JSON body.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::NOT_FOUND => "Not found",
        s if s.is_server_error() => "Internal server error",
        _ => "Bad request",
    };
    let (mut parts, _) = response.into_parts();
    let (replacement_parts, body) = error(status, message).into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &replacement_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// Runs `app` as the Lambda function until the runtime stops.
///
/// # Errors
/// When the Lambda runtime fails.
pub async fn run_lambda(app: Router) -> Result<(), lambda_http::Error> {
    let service = tower::ServiceBuilder::new()
        .map_request(strip_stage::<lambda_http::Body>)
        .service(app);
    lambda_http::run(service).await
}

//! CORS: an exact-origin allow-list (`FRONTEND_URL` plus `CALLBACK_ALLOWED_ORIGINS`).
//!
//! A listed origin is reflected in `Access-Control-Allow-Origin` with
//! `Access-Control-Allow-Credentials: true`; an unlisted one gets no CORS headers at all
//! (the browser then refuses the response). Preflights allow `GET`, `POST` and the headers
//! `content-type` and `x-l42-csrf`. Every response carries `Vary: Origin`. Never `*`.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Origin;
use crate::csrf::CSRF_HEADER;

/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE_SECS: u64 = 600;

/// The CORS layer for `origins`.
pub fn layer(origins: &[Origin]) -> CorsLayer {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.as_str()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, HeaderName::from_static(CSRF_HEADER)])
        .max_age(std::time::Duration::from_secs(PREFLIGHT_MAX_AGE_SECS))
}

//! CSRF: every state-changing request must carry `X-L42-CSRF: 1`.
//!
//! A cross-site form or `<img>` cannot set a custom header, and a cross-site `fetch` that
//! sets one needs a CORS preflight, which only listed origins pass. So the header proves
//! the request came from a page the allow-list trusts. Safe methods (`GET`, `HEAD`,
//! `OPTIONS`) are exempt; everything else without the header is a 403
//! `{"error":"CSRF validation failed"}`, checked before the body is read.

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub use l42_core::web::{CSRF_HEADER, CSRF_VALUE};

/// Whether `request` passes the check (the rule of [`l42_core::web::csrf_header_proves`],
/// which the authorizer's cookie source applies too).
pub fn passes(method: &Method, headers: &axum::http::HeaderMap) -> bool {
    l42_core::web::is_safe_method(method.as_str())
        || l42_core::web::csrf_header_proves(
            headers.get_all(CSRF_HEADER).iter().map(|v| v.as_bytes()),
        )
}

/// The middleware (`axum::middleware::from_fn(csrf::check)`).
pub async fn check(request: Request, next: Next) -> Response {
    if passes(request.method(), request.headers()) {
        next.run(request).await
    } else {
        ApiError::CsrfFailed.into_response()
    }
}

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

/// The header's name (lower-case, as HTTP/2 and `http` spell it).
pub const CSRF_HEADER: &str = "x-l42-csrf";

/// The one accepted value.
pub const CSRF_VALUE: &str = "1";

/// Whether `request` passes the check.
pub fn passes(method: &Method, headers: &axum::http::HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let mut values = headers.get_all(CSRF_HEADER).iter();
    matches!(
        (values.next(), values.next()),
        (Some(v), None) if v.as_bytes() == CSRF_VALUE.as_bytes()
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

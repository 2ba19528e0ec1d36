//! CORS: an exact-origin allow-list (`FRONTEND_URL` plus `CALLBACK_ALLOWED_ORIGINS`).
//!
//! * A request whose `Origin` is listed gets it reflected in
//!   `Access-Control-Allow-Origin`, with `Access-Control-Allow-Credentials: true`.
//! * An unlisted origin gets no CORS header at all (the browser then hides the response).
//! * A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered
//!   here with a 204: for a listed origin it allows `GET`, `POST` and the headers
//!   `content-type` and `x-l42-csrf`.
//! * Every response carries `Vary: Origin` (preflights also vary on the request headers).
//! * Never `*`.
//!
//! Written by hand rather than with a generic CORS layer so that nothing (not even
//! `Allow-Credentials`) is sent to an origin that is not listed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Origin;

/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE_SECS: u64 = 600;

/// The methods a preflight allows.
pub const ALLOWED_METHODS: &str = "GET, POST";

/// The request headers a preflight allows.
pub const ALLOWED_HEADERS: &str = "content-type, x-l42-csrf";

/// The allow-list, ready for the middleware.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Arc<[HeaderValue]>,
}

impl Cors {
    /// The allow-list of `origins` (normalised, so compared byte for byte with the
    /// browser's `Origin`, which is always in that form).
    pub fn new(origins: &[Origin]) -> Self {
        Self {
            origins: origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.as_str()).ok())
                .collect(),
        }
    }

    /// The request's `Origin` when it is listed (exactly one `Origin` header).
    pub fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let mut all = headers.get_all(header::ORIGIN).iter();
        match (all.next(), all.next()) {
            (Some(origin), None) => self.origins.iter().find(|o| *o == origin).cloned(),
            _ => None,
        }
    }
}

/// The middleware (`axum::middleware::from_fn_with_state(Cors::new(..), cors::handle)`).
pub async fn handle(State(cors): State<Cors>, request: Request, next: Next) -> Response {
    let allowed = cors.allowed_origin(request.headers());
    let preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        for vary in [
            "origin",
            "access-control-request-method",
            "access-control-request-headers",
        ] {
            h.append(header::VARY, HeaderValue::from_static(vary));
        }
        if let Some(origin) = allowed {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOWED_METHODS),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
            );
        }
        return response;
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    } else {
        h.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
        h.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    }
    response
}

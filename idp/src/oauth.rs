//! OAuth error and JSON responses.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An OAuth error: `{"error": …, "error_description": …}` with its status.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
    /// Adds `WWW-Authenticate: Bearer error=…` (userInfo).
    pub(crate) bearer_challenge: bool,
}

impl OAuthError {
    /// An error with `status`.
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> OAuthError {
        OAuthError {
            status,
            error,
            description: description.into(),
            bearer_challenge: false,
        }
    }

    /// A 400 error.
    pub(crate) fn bad(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// `invalid_request` (400).
    pub(crate) fn request(description: impl Into<String>) -> OAuthError {
        OAuthError::bad("invalid_request", description)
    }

    /// `invalid_grant` (400).
    pub(crate) fn grant(description: impl Into<String>) -> OAuthError {
        OAuthError::bad("invalid_grant", description)
    }

    /// `server_error` (500), only for injected faults and internal failures.
    pub(crate) fn server(description: impl Into<String>) -> OAuthError {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }
}

impl From<crate::IdpError> for OAuthError {
    fn from(e: crate::IdpError) -> OAuthError {
        tracing::error!(error = %e, "internal failure");
        OAuthError::server(e.to_string())
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut resp = json_response(self.status, &body);
        if self.bearer_challenge {
            let v = format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                self.error,
                self.description.replace(['"', '\\'], "'")
            );
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// A JSON response that no cache keeps (token responses must not be cached).
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

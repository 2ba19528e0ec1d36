//! Every error the handler answers with, its HTTP status and its JSON body.
//!
//! Bodies are `{"error": "<short text>"}`, with `"message"` when there is more to say.
//! The texts are part of the protocol (`auth.js` reads some of them): change them only
//! with `PROTOCOL.md`. No message ever carries a token, cookie value or secret.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use thiserror::Error;

/// An error answer. [`IntoResponse`] gives the status and JSON body.
#[derive(Debug, Error)]
pub enum ApiError {
    /// No session, or one whose tokens are unusable: 401.
    #[error("Not authenticated")]
    NotAuthenticated,
    /// The request's cookie named a session that has ended (its refresh token was found
    /// dead, or its record is gone): 401 `{"error":"Not authenticated"}` with a
    /// `Set-Cookie` that clears the cookie. It holds that header's value (no secret: the
    /// name, an empty value and the attributes).
    #[error("Not authenticated")]
    SessionEnded {
        /// The `Set-Cookie` value that expires the session cookie.
        clear_cookie: String,
    },
    /// Tokens posted to `/session` (or returned by Cognito) that do not verify: 403.
    #[error("Token verification failed")]
    TokenVerificationFailed,
    /// A body that is not the JSON the endpoint takes: 400.
    #[error("Invalid request body: {0}")]
    BadBody(String),
    /// A well-formed body whose values are unusable: 400.
    #[error("{0}")]
    BadRequest(String),
    /// A WebAuthn credential that cannot be parsed: 400.
    #[error("Invalid credential: {0}")]
    InvalidCredential(String),
    /// A body that is not `application/json`: 415.
    #[error("Unsupported media type")]
    UnsupportedMediaType,
    /// A body over the size limit: 413.
    #[error("Request body too large")]
    PayloadTooLarge,
    /// No such endpoint: 404.
    #[error("Not found")]
    NotFound,
    /// The endpoint exists but not with this method: 405.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// The Cedar engine did not load: 503 (fail closed).
    #[error("Authorization engine unavailable")]
    CedarUnavailable,
    /// A dependency (DynamoDB, Cognito) failed or timed out: 503. The detail is logged,
    /// not returned.
    #[error("Service unavailable")]
    Unavailable(String),
    /// The request took longer than the configured timeout: 503.
    #[error("Request timed out")]
    Timeout,
    /// A bug (a caught panic, an impossible state): 500.
    #[error("Internal server error")]
    Internal,
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotAuthenticated | ApiError::SessionEnded { .. } => StatusCode::UNAUTHORIZED,
            ApiError::TokenVerificationFailed => StatusCode::FORBIDDEN,
            ApiError::BadBody(_) | ApiError::BadRequest(_) | ApiError::InvalidCredential(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::CedarUnavailable | ApiError::Unavailable(_) | ApiError::Timeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::BadBody(m) => json!({"error": "Invalid request body", "message": m}),
            ApiError::InvalidCredential(m) => json!({"error": "Invalid credential", "message": m}),
            ApiError::BadRequest(m) => json!({"error": "Bad request", "message": m}),
            ApiError::UnsupportedMediaType => json!({
                "error": "Unsupported media type",
                "message": "send the body as application/json",
            }),
            other => json!({"error": other.to_string()}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Unavailable(detail) = &self {
            tracing::warn!(detail = %detail, "dependency unavailable");
        }
        if let ApiError::SessionEnded { clear_cookie } = &self
            && let Ok(value) = HeaderValue::from_str(clear_cookie)
        {
            return (
                self.status(),
                [
                    (header::SET_COOKIE, value),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                Json(self.body()),
            )
                .into_response();
        }
        (self.status(), Json(self.body())).into_response()
    }
}

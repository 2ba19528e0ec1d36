//! `GET {P}/me`: `{"email","sub","groups"}` from the session's verified id token; 401
//! without a session or when its tokens are unusable.

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::Caller;

/// Answers `GET {P}/me` from the caller the session layer identified.
pub async fn handler(Caller(identity): Caller) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "email": identity.email,
            "sub": identity.sub,
            "groups": identity.groups,
        })),
    )
        .into_response()
}

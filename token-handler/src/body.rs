//! The JSON body extractor: content type, size limit and parsing, each failure a JSON
//! error ([`ApiError`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
///
/// * no `Content-Type`, or one that is not `application/json` (or `…+json`): 415;
/// * a body over the limit (`DefaultBodyLimit`, set from [`Config::max_body_bytes`]): 413;
/// * not JSON, or not the shape `T` takes: 400 `{"error":"Invalid request body","message"}`.
///
/// [`Config::max_body_bytes`]: crate::config::Config::max_body_bytes
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// The most characters of a parse error returned to the caller.
const MAX_MESSAGE_CHARS: usize = 200;

pub use l42_core::service::is_json_content_type;

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_content_type);
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadBody("the body could not be read".to_owned())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadBody(describe(&e)))
    }
}

/// A parse error for the caller, cut short (it may quote the body back).
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "the JSON ends early".to_owned(),
        Category::Syntax | Category::Io => {
            format!("malformed JSON at line {} column {}", e.line(), e.column())
        }
        Category::Data => e.to_string().chars().take(MAX_MESSAGE_CHARS).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json_content_type(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "json",
            "",
        ] {
            assert!(!is_json_content_type(bad), "{bad}");
        }
    }
}

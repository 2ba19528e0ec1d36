//! `POST /oauth2/revoke`: revokes a refresh token and its whole family (every token of the
//! same sign-in, rotated descendants and ancestors alike); the family's access tokens stop
//! working at `userInfo`.
//!
//! As Cognito documents it: 200 with an empty body when revoked or when the token is
//! unknown; 400 `invalid_request` without a token; 400 `unsupported_token_type` for a
//! JWT (not a refresh token); 401 `invalid_client` for bad client credentials.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{authenticate_client, body_or_error, fault_gate, require_form};
use crate::faults::FaultEndpoint;
use crate::oauth::OAuthError;
use crate::state::Shared;
use crate::util::Params;

pub(super) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    shared.counters.endpoint("revoke");
    if let Some(r) = fault_gate(&shared, FaultEndpoint::Revoke).await {
        return r;
    }
    match body_or_error(body).and_then(|b| handle(&shared, &headers, &Params::parse(&b))) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

fn handle(shared: &Shared, headers: &HeaderMap, p: &Params) -> Result<(), OAuthError> {
    require_form(headers)?;
    if let Some(name) = p.first_repeated() {
        return Err(OAuthError::request(format!(
            "parameter `{name}` is repeated"
        )));
    }
    let client = authenticate_client(shared, headers, p, StatusCode::UNAUTHORIZED)?;
    let token = p
        .get("token")
        .ok_or_else(|| OAuthError::request("token is required"))?;
    if token.split('.').count() == 3 {
        return Err(OAuthError::bad(
            "unsupported_token_type",
            "only refresh tokens can be revoked",
        ));
    }
    let mut store = shared.store();
    let Some(rec) = store.refresh.get(token) else {
        return Ok(());
    };
    if rec.signin.client_id != client.client_id {
        return Err(OAuthError::request(
            "the token was issued to another app client",
        ));
    }
    let family = rec.signin.origin_jti.clone();
    store.revoke_family(&family);
    tracing::info!(client_id = %client.client_id, "refresh token family revoked");
    Ok(())
}

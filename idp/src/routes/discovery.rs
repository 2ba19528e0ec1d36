//! `/.well-known/openid-configuration` and `/.well-known/jwks.json`, at the root and under
//! `/<poolId>` (Cognito serves them under the issuer, which ends in the pool id).

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::fault_gate;
use crate::faults::FaultEndpoint;
use crate::oauth::{OAuthError, json_response};
use crate::state::Shared;

fn wrong_pool(shared: &Shared, pool: Result<Path<String>, PathRejection>) -> Option<Response> {
    match pool {
        Ok(Path(p)) if p == shared.settings.pool_id => None,
        _ => Some(
            OAuthError::new(StatusCode::NOT_FOUND, "not_found", "unknown user pool")
                .into_response(),
        ),
    }
}

pub(super) async fn openid_configuration(State(shared): State<Arc<Shared>>) -> Response {
    shared.counters.endpoint("openid_configuration");
    let base = &shared.base_url;
    let s = &shared.settings;
    let doc = json!({
        "issuer": s.issuer,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "end_session_endpoint": format!("{base}/logout"),
        "jwks_uri": shared.jwks_url(),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "jti", "origin_jti", "token_use",
            "email", "email_verified", "cognito:username", "cognito:groups", "nonce"
        ],
    });
    let mut resp = json_response(StatusCode::OK, &doc);
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    resp
}

pub(super) async fn pool_openid_configuration(
    State(shared): State<Arc<Shared>>,
    pool: Result<Path<String>, PathRejection>,
) -> Response {
    if let Some(r) = wrong_pool(&shared, pool) {
        return r;
    }
    openid_configuration(State(shared)).await
}

pub(super) async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.counters.endpoint("jwks");
    if let Some(r) = fault_gate(&shared, FaultEndpoint::Jwks).await {
        return r;
    }
    let doc = shared.keys().jwks();
    let mut resp = json_response(StatusCode::OK, &doc);
    // Short enough that a rotation shows at once in any client that honours it.
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    resp
}

pub(super) async fn pool_jwks(
    State(shared): State<Arc<Shared>>,
    pool: Result<Path<String>, PathRejection>,
) -> Response {
    if let Some(r) = wrong_pool(&shared, pool) {
        return r;
    }
    jwks(State(shared)).await
}

//! `GET`/`POST /oauth2/userInfo`: the user behind a Bearer access token.
//!
//! The token is checked here as Cognito does: signature against a published key, issuer,
//! `token_use`, expiry (by the provider's clock) and revocation of its sign-in. The
//! answer is `{sub, email, email_verified, username}` and each custom attribute as
//! `custom:<name>`; `email_verified` is the string
//! `"true"`/`"false"`, as Cognito's userInfo gives it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use super::fault_gate;
use crate::faults::FaultEndpoint;
use crate::oauth::{OAuthError, json_response};
use crate::state::Shared;

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    token_use: String,
    exp: i64,
    username: String,
    origin_jti: Option<String>,
}

pub(super) async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.counters.endpoint("userinfo");
    if let Some(r) = fault_gate(&shared, FaultEndpoint::Userinfo).await {
        return r;
    }
    match handle(&shared, &headers) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(mut e) => {
            e.bearer_challenge = true;
            e.into_response()
        }
    }
}

fn invalid_token(description: &str) -> OAuthError {
    OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
}

fn handle(shared: &Shared, headers: &HeaderMap) -> Result<serde_json::Value, OAuthError> {
    let value = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| OAuthError::request("Bad OAuth2 request at UserInfo Endpoint"))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(OAuthError::request(
            "Bad OAuth2 request at UserInfo Endpoint",
        ));
    }
    let claims = check(shared, token.trim()).map_err(|why| {
        tracing::info!(reason = why, "userInfo token rejected");
        invalid_token(
            "Access token is expired, disabled, or deleted, or the user has globally signed out.",
        )
    })?;
    let user = shared
        .directory
        .user(&claims.username)
        .ok_or_else(|| invalid_token("user does not exist"))?;
    let mut out = json!({
        "sub": user.sub,
        "username": user.username,
    });
    if let Some(email) = &user.email {
        out["email"] = json!(email);
        out["email_verified"] = json!(if user.email_verified { "true" } else { "false" });
    }
    for (name, value) in &user.custom {
        out[format!("custom:{name}")] = json!(value);
    }
    Ok(out)
}

fn check(shared: &Shared, token: &str) -> Result<Claims, &'static str> {
    if token.len() > l42_core::MAX_TOKEN_BYTES {
        return Err("too large");
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT");
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| "bad base64url");
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| "bad header")?;
    if header.alg != "RS256" {
        return Err("not RS256");
    }
    let key = shared.keys().find(&header.kid).ok_or("unknown kid")?;
    let signing_input = &token[..h.len() + 1 + c.len()];
    if !key.public.verify(signing_input.as_bytes(), &decode(s)?) {
        return Err("bad signature");
    }
    let claims: Claims = serde_json::from_slice(&decode(c)?).map_err(|_| "bad claims")?;
    if claims.iss != shared.settings.issuer {
        return Err("wrong issuer");
    }
    if claims.token_use != "access" {
        return Err("not an access token");
    }
    if shared.clock.now() >= claims.exp {
        return Err("expired");
    }
    if let Some(o) = &claims.origin_jti
        && shared.store().revoked.contains(o)
    {
        return Err("revoked");
    }
    Ok(claims)
}

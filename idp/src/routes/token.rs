//! `POST /oauth2/token`: the `authorization_code`, `refresh_token` and
//! `client_credentials` grants.
//!
//! Every error is HTTP 400 with `{"error": …}`, as Cognito documents its token endpoint
//! (`invalid_client` included).

use std::sync::Arc;

use aws_lc_rs::digest;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{authenticate_client, body_or_error, fault_gate, require_form};
use crate::Tokens;
use crate::directory::AppClient;
use crate::faults::FaultEndpoint;
use crate::oauth::{OAuthError, json_response};
use crate::state::{RefreshState, Shared};
use crate::util::{Params, secrets_equal};

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    shared.counters.endpoint("token");
    let params = body.as_ref().map(|b| Params::parse(b)).unwrap_or_default();
    shared.counters.grant(params.get("grant_type"));
    if let Some(r) = fault_gate(&shared, FaultEndpoint::Token).await {
        return r;
    }
    let result = body_or_error(body).and_then(|_| handle(&shared, &headers, &params));
    match result {
        Ok(tokens) => match serde_json::to_value(&tokens) {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(e) => OAuthError::server(e.to_string()).into_response(),
        },
        Err(e) => {
            tracing::info!(
                grant_type = params.get("grant_type").unwrap_or("-"),
                error = e.error,
                reason = %e.description,
                "token request refused"
            );
            e.into_response()
        }
    }
}

fn handle(shared: &Shared, headers: &HeaderMap, p: &Params) -> Result<Tokens, OAuthError> {
    require_form(headers)?;
    if let Some(name) = p.first_repeated() {
        return Err(OAuthError::request(format!(
            "parameter `{name}` is repeated"
        )));
    }
    let grant = p
        .get("grant_type")
        .ok_or_else(|| OAuthError::request("grant_type is required"))?;
    if !matches!(
        grant,
        "authorization_code" | "refresh_token" | "client_credentials"
    ) {
        return Err(OAuthError::bad(
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token or client_credentials",
        ));
    }
    let client = authenticate_client(shared, headers, p, StatusCode::BAD_REQUEST)?;
    match (grant, client.client_credentials) {
        ("client_credentials", true) => client_token(shared, client, p),
        ("client_credentials", false) => Err(OAuthError::bad(
            "unauthorized_client",
            "the client_credentials grant is not enabled for this app client",
        )),
        (_, true) => Err(OAuthError::bad(
            "unauthorized_client",
            "this app client uses the client_credentials grant only",
        )),
        ("authorization_code", false) => redeem_code(shared, client, p),
        _ => refresh(shared, client, p),
    }
}

/// The client-credentials grant: an access token for the client itself (no id or
/// refresh token). A public client never gets here: [`authenticate_client`] refuses it
/// and the directory gives every machine client a secret.
fn client_token(shared: &Shared, client: &AppClient, p: &Params) -> Result<Tokens, OAuthError> {
    let scopes = client
        .grant_scopes(p.get("scope"))
        .map_err(|why| OAuthError::bad("invalid_scope", why))?;
    tracing::info!(client_id = %client.client_id, scope = %scopes.join(" "), "client credentials granted");
    Ok(shared.client_tokens(client, &scopes)?)
}

/// RFC 7636 S256: `BASE64URL(SHA256(verifier)) == challenge`.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let d = digest::digest(&digest::SHA256, verifier.as_bytes());
    secrets_equal(&URL_SAFE_NO_PAD.encode(d.as_ref()), challenge)
}

fn redeem_code(shared: &Shared, client: &AppClient, p: &Params) -> Result<Tokens, OAuthError> {
    let code = p
        .get("code")
        .ok_or_else(|| OAuthError::request("code is required"))?;
    let redirect_uri = p
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::request("redirect_uri is required"))?;
    let now = shared.clock.now();
    // Any redemption attempt uses the code up, successful or not.
    let grant = shared.store().codes.remove(code).ok_or_else(|| {
        OAuthError::grant("authorization code has been used already or does not exist")
    })?;
    if grant.signin.client_id != client.client_id {
        return Err(OAuthError::grant(
            "authorization code was issued to another app client",
        ));
    }
    if now >= grant.expires_at {
        return Err(OAuthError::grant("authorization code has expired"));
    }
    if grant.redirect_uri != redirect_uri {
        // What Cognito answers in practice (RFC 6749 would say invalid_grant).
        return Err(OAuthError::bad(
            "unauthorized_client",
            "redirect_uri does not match the one of the authorization request",
        ));
    }
    if let Some(challenge) = &grant.challenge {
        let verifier = p.get("code_verifier").ok_or_else(|| {
            OAuthError::request("code_verifier is required (the authorization request used PKCE)")
        })?;
        if !pkce_matches(verifier, challenge) {
            return Err(OAuthError::grant(
                "code_verifier does not match the code_challenge",
            ));
        }
    }
    tracing::info!(client_id = %client.client_id, username = %grant.signin.username, "authorization code redeemed");
    Ok(shared.tokens_for(grant.signin, true)?)
}

fn refresh(shared: &Shared, client: &AppClient, p: &Params) -> Result<Tokens, OAuthError> {
    let token = p
        .get("refresh_token")
        .ok_or_else(|| OAuthError::request("refresh_token is required"))?;
    let now = shared.clock.now();
    let rotation = client.refresh_token_rotation;
    let (signin, new_refresh) = {
        let mut store = shared.store();
        let rec = store
            .refresh
            .get_mut(token)
            .ok_or_else(|| OAuthError::grant("Invalid Refresh Token"))?;
        if rec.signin.client_id != client.client_id {
            return Err(OAuthError::grant(
                "refresh token was issued to another app client",
            ));
        }
        if now >= rec.expires_at {
            return Err(OAuthError::grant("Refresh Token has expired"));
        }
        let rotate = match rec.state {
            RefreshState::Active => {
                if rotation.enabled {
                    rec.state = RefreshState::Rotated {
                        at: now,
                        grace_used: false,
                    };
                }
                rotation.enabled
            }
            RefreshState::Rotated { at, grace_used } => {
                let grace = i64::from(rotation.grace_seconds);
                if grace_used || now >= at.saturating_add(grace) {
                    return Err(OAuthError::grant("Refresh Token has been rotated"));
                }
                rec.state = RefreshState::Rotated {
                    at,
                    grace_used: true,
                };
                true
            }
        };
        let signin = rec.signin.clone();
        let expires_at = rec.expires_at;
        let new_refresh = if rotate {
            Some(store.add_refresh(signin.clone(), expires_at, now)?)
        } else {
            None
        };
        (signin, new_refresh)
    };
    let issued = shared.issue(&signin, false)?;
    tracing::info!(client_id = %client.client_id, username = %signin.username, rotated = new_refresh.is_some(), "tokens refreshed");
    Ok(Tokens {
        access_token: issued.access_token,
        id_token: issued.id_token,
        refresh_token: new_refresh,
        token_type: "Bearer".into(),
        expires_in: shared.settings.access_ttl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_rfc7636_example() {
        // RFC 7636 appendix B.
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(v, c));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            c
        ));
        assert!(!pkce_matches("short", c));
    }
}

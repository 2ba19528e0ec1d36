//! The dev identity provider (`l42-idp`) for cross-component tests: Cognito's hosted
//! endpoints on a free loopback port, tokens minted without a browser, and a verifier
//! configured for them.

use l42_core::{TokenUse, Verifier};
pub use l42_idp::{Idp, IdpConfig, RunningIdp, Tokens as IdpTokens};

use crate::Error;

/// The public app client of the embedded example directory (PKCE required, rotation on).
pub const PUBLIC_CLIENT: &str = "l42-dev-public";
/// The confidential app client of the embedded example directory.
pub const CONFIDENTIAL_CLIENT: &str = "l42-dev-confidential";
/// Its secret.
pub const CONFIDENTIAL_SECRET: &str = "l42-dev-secret";

/// Starts the dev identity provider with the embedded example directory (users `admin`,
/// `editor`, `user`) on a free loopback port. It stops when the handle is dropped.
pub async fn start_idp() -> Result<RunningIdp, Error> {
    start_idp_with(IdpConfig::default()).await
}

/// Starts the dev identity provider with `config` on a free loopback port.
pub async fn start_idp_with(config: IdpConfig) -> Result<RunningIdp, Error> {
    Idp::start(config, "127.0.0.1:0")
        .await
        .map_err(|e| Error::Idp(e.to_string()))
}

/// Mints access, id and refresh tokens for `username` through `client_id`, as a sign-in
/// would.
pub fn mint(idp: &RunningIdp, username: &str, client_id: &str) -> Result<IdpTokens, Error> {
    idp.mint(username, client_id)
        .map_err(|e| Error::Idp(e.to_string()))
}

/// A `l42_core::Verifier` for `idp`'s tokens of `client_id`, fetching its JWKS over
/// loopback.
pub fn verifier(idp: &RunningIdp, client_id: &str, token_use: TokenUse) -> Result<Verifier, Error> {
    let config = idp
        .verifier_builder(client_id)
        .token_use(token_use)
        .build()
        .map_err(|e| Error::Idp(e.to_string()))?;
    Verifier::new(config).map_err(|e| Error::Idp(e.to_string()))
}

/// A new session (not stored) for `username` signed in through `client_id`: a fresh
/// session id, minted tokens with the refresh token, one hour to live from now,
/// `auth_method` `handler`.
pub fn signed_in_session(
    idp: &RunningIdp,
    username: &str,
    client_id: &str,
) -> Result<l42_core::session::Session, Error> {
    use l42_core::session::{Session, SessionId, SessionTokens};
    let t = mint(idp, username, client_id)?;
    let id_token = t
        .id_token
        .ok_or_else(|| Error::Idp(format!("no id token minted for {username}")))?;
    let id = SessionId::generate().map_err(|e| Error::Idp(e.to_string()))?;
    let now = l42_core::unix_now();
    Ok(Session::new(
        id,
        SessionTokens {
            access_token: t.access_token,
            id_token,
            refresh_token: t.refresh_token,
            auth_method: "handler".into(),
        },
        now,
        now + 3600,
    ))
}

//! Cognito claims, parsed strictly.

use serde::Deserialize;

/// Which Cognito token kind is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Access tokens only (`token_use: "access"`, app client in `client_id`). The default.
    Access,
    /// ID tokens only (`token_use: "id"`, app client in `aud`).
    Id,
    /// Either kind, each checked by its own rules.
    Any,
}

impl TokenUse {
    /// Parses `access`, `id` or `any` (case-insensitive).
    pub fn parse(s: &str) -> Option<TokenUse> {
        match s.trim().to_ascii_lowercase().as_str() {
            "access" => Some(TokenUse::Access),
            "id" => Some(TokenUse::Id),
            "any" => Some(TokenUse::Any),
            _ => None,
        }
    }
}

/// The claims l42 reads, with the JSON types Cognito uses. Serde's derive rejects a
/// wrong type (a string `exp`), a float where an integer belongs and a duplicated claim.
#[derive(Debug, Deserialize)]
pub(crate) struct RawClaims {
    pub sub: String,
    pub iss: String,
    pub token_use: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub auth_time: Option<i64>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub aud: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, rename = "cognito:username")]
    pub cognito_username: Option<String>,
    #[serde(default, rename = "cognito:groups")]
    pub groups: Option<Vec<String>>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub jti: Option<String>,
}

/// The verified identity of a token: what every later step (Cedar, response context) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// The user's stable id (`sub`).
    pub sub: String,
    /// `username` (access token) or `cognito:username` (id token), else `sub`.
    pub username: String,
    /// The exact issuer the token named.
    pub issuer: String,
    /// Index of the matching pool in the configuration.
    pub pool: usize,
    /// The token kind.
    pub token_use: TokenUse,
    /// The app client: `client_id` (access) or `aud` (id).
    pub client_id: String,
    /// `cognito:groups`, as given.
    pub groups: Vec<String>,
    /// `scope`, split on spaces (access tokens; empty for id tokens).
    pub scopes: Vec<String>,
    /// `email`, when present (id tokens).
    pub email: Option<String>,
    /// `exp`.
    pub exp: i64,
    /// `iat`.
    pub iat: i64,
    /// `auth_time`, else `iat`.
    pub auth_time: i64,
    /// `jti`, when present.
    pub jti: Option<String>,
}

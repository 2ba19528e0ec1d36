//! # l42-core
//!
//! The identity code every l42 binary shares: configuration read from the environment,
//! Cognito JWT verification against a cached JWKS, a bounded cache of verified claims,
//! RS256 signing (feature `signing`: the dev identity provider and tests) and telemetry
//! set-up; and for the token handler, the [`session`] layer (the signed session cookie, the
//! session record and its in-memory and DynamoDB stores) and the Cognito OAuth client
//! ([`oauth`]).
//!
//! Verification is strict and fails closed: RS256 only, exact issuers, `token_use`,
//! `client_id`/`aud`, strictly typed claims, size caps before any decoding, and keys
//! checked once and reused.
//!
//! All cryptography at run time (RSA verification, HMAC, SHA-256, random bytes, TLS) is
//! ring's; aws-lc comes in only with `signing`, which generates RSA keys.
//!
//! ```
//! use l42_core::{SigningKey, Verifier, VerifierConfig, TokenUse};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = SigningKey::generate("key-1")?;
//! let config = VerifierConfig::builder("us-east-1_Example", "client-1")
//!     .token_use(TokenUse::Access)
//!     .jwks_json(&key.jwks_json())
//!     .build()?;
//! let verifier = Verifier::new(config)?;
//!
//! let now = l42_core::unix_now();
//! let token = key.sign_json(&serde_json::json!({
//!     "sub": "user-1",
//!     "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
//!     "client_id": "client-1",
//!     "token_use": "access",
//!     "username": "alice",
//!     "iat": now,
//!     "exp": now + 300,
//! }))?;
//! let claims = verifier.verify_blocking(&token)?;
//! assert_eq!(claims.sub, "user-1");
//! # Ok(())
//! # }
//! ```

mod aws;
mod claims;
pub mod config;
mod error;
pub mod events;
pub mod http;
pub mod jwks;
mod jwt;
#[cfg(feature = "lambda-http")]
pub mod lambda;
pub mod metrics;
pub mod oauth;
#[cfg(feature = "lambda-http")]
pub mod service;
pub mod session;
#[cfg(feature = "signing")]
mod signing;
mod sigv4;
pub mod telemetry;
pub mod urls;
mod verifier;
pub mod web;

pub use claims::{TokenUse, VerifiedClaims};
pub use config::{ConfigError, JwksSource, PoolId, VerifierConfig, VerifierConfigBuilder};
pub use error::VerifyError;
pub use jwt::MAX_TOKEN_BYTES;
pub use oauth::{CognitoClient, OAuthConfig, OAuthError, Pkce, TokenSet};
#[cfg(feature = "signing")]
pub use signing::{SigningError, SigningKey};
pub use verifier::Verifier;

/// Seconds since the Unix epoch, as the JWT time claims count them.
pub fn unix_now() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// An environment lookup over fixed pairs, for the unit tests of `from_lookup` readers.
#[cfg(test)]
pub(crate) fn test_lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let m: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| m.get(k).cloned()
}

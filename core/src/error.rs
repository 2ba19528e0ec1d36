//! Why a token was rejected.

use thiserror::Error;

/// Why a token was rejected. Every variant means "unauthorized": callers map all of them
/// to a 401. The `Display` text names the failed check and never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// No token was presented.
    #[error("no token")]
    Missing,
    /// The token is longer than [`crate::MAX_TOKEN_BYTES`].
    #[error("token too large ({0} bytes)")]
    TooLarge(usize),
    /// The token is not three base64url segments of a JSON header and payload.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than RS256.
    #[error("unsupported algorithm (only RS256 is accepted)")]
    UnsupportedAlgorithm,
    /// The header carries a field that l42 refuses (`jku`, `jwk`, `x5u`, `x5c`, `crit`).
    #[error("forbidden header field `{0}`")]
    ForbiddenHeader(&'static str),
    /// A claim is missing or has the wrong JSON type.
    #[error("invalid claims: {0}")]
    InvalidClaims(String),
    /// The issuer is not one of the configured user pools.
    #[error("issuer is not a configured user pool")]
    UnknownIssuer,
    /// `token_use` is not the configured one.
    #[error("token_use `{0}` is not accepted")]
    WrongTokenUse(String),
    /// `client_id` (access token) or `aud` (id token) is not a configured app client.
    #[error("app client is not accepted")]
    WrongClient,
    /// `exp` has passed (leeway included).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (leeway included).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (leeway included).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// No key with the token's `kid` is known for its issuer, even after a refetch.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

impl VerifyError {
    /// A short, stable code for logs and metrics (`expired`, `bad_signature`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Missing => "missing",
            VerifyError::TooLarge(_) => "too_large",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::UnsupportedAlgorithm => "unsupported_alg",
            VerifyError::ForbiddenHeader(_) => "forbidden_header",
            VerifyError::InvalidClaims(_) => "invalid_claims",
            VerifyError::UnknownIssuer => "unknown_issuer",
            VerifyError::WrongTokenUse(_) => "wrong_token_use",
            VerifyError::WrongClient => "wrong_client",
            VerifyError::Expired => "expired",
            VerifyError::NotYetValid => "not_yet_valid",
            VerifyError::IssuedInFuture => "issued_in_future",
            VerifyError::UnknownKey => "unknown_kid",
            VerifyError::BadSignature => "bad_signature",
        }
    }
}

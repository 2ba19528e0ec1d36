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

/// Cuts `s` to at most `max` bytes on a character boundary. `String::truncate` panics
/// inside a multi-byte character, and the strings cut here quote the token's own text.
pub(crate) fn truncate_on_char_boundary(s: &mut String, max: usize) {
    if s.len() > max {
        let end = (0..=max)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(end);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_never_splits_a_character() {
        for (text, max, expected) in [
            ("abc", 5, "abc"),
            ("abcdef", 3, "abc"),
            ("€€", 4, "€"),
            ("€€", 2, ""),
            ("a😀", 4, "a"),
        ] {
            let mut s = text.to_string();
            truncate_on_char_boundary(&mut s, max);
            assert_eq!(s, expected, "{text} to {max}");
        }
    }
}

//! The session id: 32 random bytes, base64url without padding (43 characters).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use thiserror::Error;

/// The operating system's random generator failed. Nothing random can be made; the caller
/// answers with a server error (it never falls back to a weaker source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the system random generator failed")]
pub struct RandomError;

/// Fills `N` bytes from the system random generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomError)?;
    Ok(bytes)
}

/// An opaque session id: the base64url (no padding) form of 32 random bytes, 43 characters
/// of `[A-Za-z0-9_-]`. It is the DynamoDB partition key and the `<sid>` of the cookie.
///
/// It has no `Display`; its `Debug` shows only a short prefix, enough to correlate log
/// lines, so the id never reaches a log whole. Use [`as_str`](Self::as_str) to store it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// The length of the text form.
    pub const LEN: usize = 43;

    /// A new id from 256 bits of the system random generator.
    pub fn generate() -> Result<SessionId, RandomError> {
        Ok(SessionId::from_bytes(&random_bytes::<32>()?))
    }

    /// The id whose text form encodes `bytes` (deterministic; for tests and test vectors).
    pub fn from_bytes(bytes: &[u8; 32]) -> SessionId {
        SessionId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts exactly 43 characters of the base64url alphabet, else `None`.
    pub fn parse(s: &str) -> Option<SessionId> {
        is_b64url_43(s).then(|| SessionId(s.to_string()))
    }

    /// The text form (43 characters).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The handle a client is shown for this session when its sessions are listed, and
    /// names it by to end it: 22 base64url characters of a SHA-256 of the id. It is
    /// stable, tells nothing about the id (which alone, with the cookie key, makes the
    /// cookie), and is worthless without a session of the same user to name it from.
    pub fn handle(&self) -> String {
        let input = format!("l42 session handle v1\0{}", self.0);
        let digest = ring::digest::digest(&ring::digest::SHA256, input.as_bytes());
        URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    }

    /// Whether `s` has the form of a [`handle`](Self::handle): 22 base64url characters.
    pub fn is_handle(s: &str) -> bool {
        s.len() == 22
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The first 6 characters followed by `…`: safe to log, enough to correlate.
    pub fn short(&self) -> String {
        let prefix = self.0.get(..6).unwrap_or("");
        format!("{prefix}…")
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.short())
    }
}

/// True when `s` is exactly 43 characters of `[A-Za-z0-9_-]`.
pub(crate) fn is_b64url_43(s: &str) -> bool {
    s.len() == SessionId::LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn generated_ids_are_43_url_safe_characters_and_differ() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert!(SessionId::parse(a.as_str()).is_some());
    }

    #[test]
    fn parse_refuses_other_shapes() {
        let good = SessionId::from_bytes(&[7; 32]);
        assert_eq!(SessionId::parse(good.as_str()), Some(good.clone()));
        for bad in [
            "",
            &good.as_str()[..42],
            &format!("{}A", good.as_str()),
            &format!("{}=", &good.as_str()[..42]),
            &format!("{}+", &good.as_str()[..42]),
            &format!("{}é", &good.as_str()[..41]),
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_only_a_prefix() {
        let id = SessionId::from_bytes(&[9; 32]);
        let dbg = format!("{id:?}");
        assert!(!dbg.contains(id.as_str()));
        assert!(dbg.contains(&id.as_str()[..6]));
    }
}

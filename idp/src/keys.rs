//! The signing keys: the newest signs, every key in the ring is published in the JWKS.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use l42_core::SigningKey;
use l42_core::jwks::RsaKey;

use super::util::{hex, random_bytes};
use crate::IdpError;

/// One key: the private half for signing, the parsed public half for `userInfo`.
pub(crate) struct Key {
    pub(crate) signing: SigningKey,
    pub(crate) public: RsaKey,
    pub(crate) jwk: serde_json::Value,
}

impl Key {
    fn generate(serial: u32) -> Result<Key, IdpError> {
        let kid = format!("dev-{serial}-{}", hex(&random_bytes::<6>()?));
        let signing = SigningKey::generate(&kid)?;
        let jwk = signing.jwk();
        let part = |name: &str| {
            jwk.get(name)
                .and_then(serde_json::Value::as_str)
                .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                .ok_or_else(|| IdpError::Config(format!("generated JWK has no `{name}`")))
        };
        let public = RsaKey::from_components(&kid, &part("n")?, &part("e")?)
            .map_err(|e| IdpError::Config(format!("generated key: {e}")))?;
        Ok(Key {
            signing,
            public,
            jwk,
        })
    }
}

/// The keys in order of creation; the last one signs.
pub(crate) struct KeyRing {
    keys: Vec<Arc<Key>>,
    serial: u32,
}

impl KeyRing {
    /// A ring with one fresh key.
    pub(crate) fn new() -> Result<KeyRing, IdpError> {
        Ok(KeyRing {
            keys: vec![Arc::new(Key::generate(1)?)],
            serial: 1,
        })
    }

    /// The key that signs new tokens.
    pub(crate) fn current(&self) -> Option<Arc<Key>> {
        self.keys.last().cloned()
    }

    /// The key with this `kid`, if still published.
    pub(crate) fn find(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys.iter().find(|k| k.signing.kid() == kid).cloned()
    }

    /// Every published `kid`, oldest first.
    pub(crate) fn kids(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| k.signing.kid().to_string())
            .collect()
    }

    /// The JWKS document.
    pub(crate) fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// Adds a new key, which signs from now on; returns its `kid`.
    pub(crate) fn rotate(&mut self) -> Result<String, IdpError> {
        let serial = self.serial.saturating_add(1);
        let key = Key::generate(serial)?;
        let kid = key.signing.kid().to_string();
        self.keys.push(Arc::new(key));
        self.serial = serial;
        Ok(kid)
    }

    /// Removes the oldest key (never the last one); returns its `kid`.
    pub(crate) fn retire_oldest(&mut self) -> Result<String, IdpError> {
        if self.keys.len() < 2 {
            return Err(IdpError::LastKey);
        }
        let old = self.keys.remove(0);
        Ok(old.signing.kid().to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rotate_and_retire() {
        let mut ring = KeyRing::new().unwrap();
        let first = ring.kids()[0].clone();
        assert!(matches!(ring.retire_oldest(), Err(IdpError::LastKey)));
        let second = ring.rotate().unwrap();
        assert_eq!(ring.current().unwrap().signing.kid(), second);
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
        assert_eq!(ring.retire_oldest().unwrap(), first);
        assert!(ring.find(&first).is_none());
        assert_eq!(ring.kids(), [second]);
    }

    #[test]
    fn the_public_half_verifies_the_private_half() {
        let ring = KeyRing::new().unwrap();
        let k = ring.current().unwrap();
        let sig = k.signing.sign_bytes(b"hello").unwrap();
        assert!(k.public.verify(b"hello", &sig));
        assert!(!k.public.verify(b"hullo", &sig));
    }
}

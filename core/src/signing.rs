//! RS256 signing: the dev identity provider's tokens, and test and benchmark tokens.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

/// Signing failed (a key could not be made or read, or a payload was not JSON).
#[derive(Debug, Error)]
#[error("signing: {0}")]
pub struct SigningError(String);

/// An RSA-2048 private key with its `kid`, signing RS256 JWTs as Cognito does.
pub struct SigningKey {
    kid: String,
    pair: KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    /// A fresh RSA-2048 key.
    pub fn generate(kid: &str) -> Result<SigningKey, SigningError> {
        Self::generate_sized(kid, KeySize::Rsa2048)
    }

    /// A fresh key of the given size.
    pub fn generate_sized(kid: &str, size: KeySize) -> Result<SigningKey, SigningError> {
        let pair = KeyPair::generate(size).map_err(|_| SigningError("key generation".into()))?;
        Ok(SigningKey {
            kid: kid.to_string(),
            pair,
        })
    }

    /// A key from its unencrypted PKCS#8 DER form.
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<SigningKey, SigningError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|e| SigningError(format!("PKCS#8: {e}")))?;
        Ok(SigningKey {
            kid: kid.to_string(),
            pair,
        })
    }

    /// The key in unencrypted PKCS#8 DER form (to persist a dev key).
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, SigningError> {
        self.pair
            .as_der()
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| SigningError("PKCS#8 encoding".into()))
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`kty`, `kid`, `alg`, `use`, `n`, `e`), as Cognito publishes it.
    pub fn jwk(&self) -> serde_json::Value {
        let c: PublicKeyComponents<Vec<u8>> = self.pair.public_key().into();
        serde_json::json!({
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(&c.n),
            "e": URL_SAFE_NO_PAD.encode(&c.e),
        })
    }

    /// A JWKS document holding just this key.
    pub fn jwks_json(&self) -> String {
        serde_json::json!({ "keys": [self.jwk()] }).to_string()
    }

    /// Signs `claims` with the header `{"kid":…,"alg":"RS256"}`.
    pub fn sign_json(&self, claims: &serde_json::Value) -> Result<String, SigningError> {
        let header = serde_json::json!({"kid": self.kid, "alg": "RS256"}).to_string();
        let payload = serde_json::to_string(claims).map_err(|e| SigningError(e.to_string()))?;
        self.sign_parts(header.as_bytes(), payload.as_bytes())
    }

    /// Signs arbitrary header and payload bytes (tests use this to build hostile tokens).
    pub fn sign_parts(&self, header: &[u8], payload: &[u8]) -> Result<String, SigningError> {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let sig = self.sign_bytes(input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// The raw RS256 signature of `message`.
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| SigningError("sign".into()))?;
        Ok(sig)
    }
}

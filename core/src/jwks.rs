//! JSON Web Key Sets: parsing (with caps), RSA keys parsed once, and the per-pool key store
//! that refetches at most once per cool-down window when an unknown `kid` appears.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde::Deserialize;
use thiserror::Error;

/// The largest JWKS document accepted (Cognito's is under 1 KB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The most keys kept from one document.
pub const MAX_KEYS: usize = 32;
/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// A JWKS that cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JwksError {
    /// Larger than [`MAX_JWKS_BYTES`].
    #[error("JWKS larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// Not a JSON object with a `keys` array.
    #[error("JWKS is not a JSON object with a `keys` array: {0}")]
    NotJwks(String),
    /// No RSA signing key of at least 2048 bits with a `kid`.
    #[error("JWKS has no usable RS256 key (RSA, 2048 bits or more, with a kid)")]
    NoUsableKey,
    /// The HTTP fetch failed.
    #[error("JWKS fetch failed: {0}")]
    Fetch(String),
}

/// One RSA public key, checked once for all verifications.
///
/// The modulus and exponent are kept as the minimal big-endian bytes that passed the checks
/// of [`RsaKey::from_components`], which are those ring applies to a public key (so a key
/// accepted here is never refused at verification). ring has no pre-parsed RSA public key:
/// each verification sets the modulus up again, a few microseconds (see `BENCHMARKS.md`),
/// and a verified token is cached, so this is paid once per token.
pub struct RsaKey {
    kid: String,
    n: Box<[u8]>,
    e: Box<[u8]>,
}

impl std::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaKey").field("kid", &self.kid).finish()
    }
}

impl RsaKey {
    /// Builds a key from the JWK's big-endian modulus and exponent.
    pub fn from_components(kid: &str, n: &[u8], e: &[u8]) -> Result<RsaKey, String> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        // After `strip_zeros` the first byte is non-zero: at most 7 leading zero bits. An
        // empty (or all-zero) modulus has 0 bits; `len * 8 - 8` would underflow.
        let bits = n
            .first()
            .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return Err(format!("modulus of {bits} bits is below {MIN_RSA_BITS}"));
        }
        if bits > MAX_RSA_BITS {
            return Err(format!("modulus of {bits} bits is above {MAX_RSA_BITS}"));
        }
        if n.last().is_some_and(|b| b & 1 == 0) {
            return Err("even modulus".into());
        }
        // Odd, at least 3 (1 is the only odd value below 3), at most 32 bits: well below the
        // modulus, as ring requires.
        if e.is_empty() || e.len() > 4 || e.last().is_some_and(|b| b & 1 == 0) || e == [1] {
            return Err("unusable public exponent".into());
        }
        Ok(RsaKey {
            kid: kid.to_string(),
            n: n.into(),
            e: e.into(),
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Checks an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        RsaPublicKeyComponents {
            n: &*self.n,
            e: &*self.e,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .is_ok()
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[first..]
}

#[derive(Deserialize)]
struct Doc {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// Keys by `kid`.
pub type KeySet = HashMap<String, Arc<RsaKey>>;

/// Parses a JWKS, keeping only RSA signature keys usable with RS256 (2048–8192 bits, with a
/// `kid`, `alg` absent or RS256, `use` absent or `sig`). Unusable keys are skipped and named
/// in the second value; a document with no usable key is an error.
pub fn parse_jwks(doc: &[u8]) -> Result<(KeySet, Vec<String>), JwksError> {
    if doc.len() > MAX_JWKS_BYTES {
        return Err(JwksError::TooLarge);
    }
    let doc: Doc = serde_json::from_slice(doc).map_err(|e| JwksError::NotJwks(e.to_string()))?;
    let mut keys = KeySet::new();
    let mut duplicated = std::collections::HashSet::new();
    let mut skipped = Vec::new();
    for (i, raw) in doc.keys.into_iter().enumerate() {
        if keys.len() >= MAX_KEYS {
            skipped.push(format!("key {i}: more than {MAX_KEYS} keys"));
            continue;
        }
        let jwk: Jwk = match serde_json::from_value(raw) {
            Ok(j) => j,
            Err(e) => {
                skipped.push(format!("key {i}: {e}"));
                continue;
            }
        };
        match usable(&jwk) {
            // Two keys under one kid make the choice ambiguous: use neither.
            Ok(key) if duplicated.contains(key.kid()) || keys.contains_key(key.kid()) => {
                skipped.push(format!("key {i}: duplicate kid `{}`", key.kid()));
                keys.remove(key.kid());
                duplicated.insert(key.kid().to_string());
            }
            Ok(key) => {
                keys.insert(key.kid().to_string(), Arc::new(key));
            }
            Err(why) => skipped.push(format!("key {i}: {why}")),
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKey);
    }
    Ok((keys, skipped))
}

fn usable(jwk: &Jwk) -> Result<RsaKey, String> {
    if jwk.kty != "RSA" {
        return Err(format!("kty `{}` is not RSA", jwk.kty));
    }
    if let Some(alg) = &jwk.alg
        && alg != "RS256"
    {
        return Err(format!("alg `{alg}` is not RS256"));
    }
    if let Some(u) = &jwk.use_
        && u != "sig"
    {
        return Err(format!("use `{u}` is not sig"));
    }
    let kid = match &jwk.kid {
        Some(k) if !k.is_empty() && k.len() <= 256 => k,
        _ => return Err("no kid".into()),
    };
    let dec = |v: &Option<String>, what: &str| -> Result<Vec<u8>, String> {
        let s = v.as_deref().ok_or_else(|| format!("no `{what}`"))?;
        URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| format!("`{what}` is not base64url"))
    };
    let n = dec(&jwk.n, "n")?;
    let e = dec(&jwk.e, "e")?;
    RsaKey::from_components(kid, &n, &e).map_err(|why| format!("kid `{kid}`: {why}"))
}

/// Fetches a JWKS document's bytes. The default uses HTTPS with bundled roots; tests and the
/// dev stack may point it at loopback.
pub trait Fetch: Send + Sync {
    /// Fetches `url`, returning at most [`MAX_JWKS_BYTES`] bytes.
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, JwksError>> + Send + 'a>>;
}

/// The default fetcher: reqwest with rustls and bundled web roots, built on first use so
/// that a cold start with an embedded JWKS touches no TLS or certificate code.
pub struct HttpFetch {
    timeout: Duration,
    client: tokio::sync::OnceCell<Result<reqwest::Client, String>>,
}

impl HttpFetch {
    /// A fetcher whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> HttpFetch {
        HttpFetch {
            timeout,
            client: tokio::sync::OnceCell::new(),
        }
    }

    async fn client(&self) -> Result<&reqwest::Client, JwksError> {
        let timeout = self.timeout;
        let c = self
            .client
            .get_or_init(|| async move { crate::http::client(timeout) })
            .await;
        c.as_ref().map_err(|e| JwksError::Fetch(e.clone()))
    }
}

impl Fetch for HttpFetch {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, JwksError>> + Send + 'a>>
    {
        Box::pin(async move {
            let client = self.client().await?;
            let mut resp = client
                .get(url)
                .header("accept", "application/json")
                .send()
                .await
                .map_err(|e| JwksError::Fetch(e.without_url().to_string()))?;
            if !resp.status().is_success() {
                return Err(JwksError::Fetch(format!("HTTP {}", resp.status().as_u16())));
            }
            if resp
                .content_length()
                .is_some_and(|l| l > MAX_JWKS_BYTES as u64)
            {
                return Err(JwksError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| JwksError::Fetch(e.without_url().to_string()))?
            {
                if body.len() + chunk.len() > MAX_JWKS_BYTES {
                    return Err(JwksError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })
    }
}

/// One pool's keys: the embedded ones, plus whatever the last successful fetch returned.
pub(crate) struct PoolKeys {
    pool: String,
    embedded: KeySet,
    current: RwLock<Arc<KeySet>>,
    url: Option<String>,
    cooldown: Duration,
    /// Held while a fetch is under way (single flight); remembers the last attempt.
    fetch_gate: tokio::sync::Mutex<Option<Instant>>,
    /// Counts fetch attempts, for tests and metrics.
    fetches: Mutex<u64>,
}

impl PoolKeys {
    pub(crate) fn new(
        pool: String,
        embedded: KeySet,
        url: Option<String>,
        cooldown: Duration,
    ) -> Self {
        PoolKeys {
            pool,
            current: RwLock::new(Arc::new(embedded.clone())),
            embedded,
            url,
            cooldown,
            fetch_gate: tokio::sync::Mutex::new(None),
            fetches: Mutex::new(0),
        }
    }

    /// The key for `kid` if it is known now, without any I/O.
    pub(crate) fn known(&self, kid: &str) -> Option<Arc<RsaKey>> {
        match self.current.read() {
            Ok(set) => set.get(kid).cloned(),
            Err(poisoned) => poisoned.into_inner().get(kid).cloned(),
        }
    }

    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches
            .lock()
            .map(|g| *g)
            .unwrap_or_else(|p| *p.into_inner())
    }

    /// The key for `kid`, refetching the JWKS when it is unknown — at most once per
    /// cool-down window, and only one fetch at a time (the others wait for its result).
    pub(crate) async fn get(&self, kid: &str, fetcher: &dyn Fetch) -> Option<Arc<RsaKey>> {
        if let Some(k) = self.known(kid) {
            return Some(k);
        }
        let url = self.url.as_deref()?;
        let mut last = self.fetch_gate.lock().await;
        // Someone else's fetch may have brought it while we waited.
        if let Some(k) = self.known(kid) {
            return Some(k);
        }
        if last.is_some_and(|t| t.elapsed() < self.cooldown) {
            return None;
        }
        *last = Some(Instant::now());
        if let Ok(mut n) = self.fetches.lock() {
            *n += 1;
        }
        match fetcher.fetch(url).await.and_then(|body| parse_jwks(&body)) {
            Ok((fetched, skipped)) => {
                if !skipped.is_empty() {
                    tracing::warn!(pool = %self.pool, skipped = ?skipped, "JWKS keys ignored");
                }
                let mut merged = self.embedded.clone();
                merged.extend(fetched);
                let merged = Arc::new(merged);
                match self.current.write() {
                    Ok(mut g) => *g = merged,
                    Err(p) => *p.into_inner() = merged,
                }
                tracing::info!(pool = %self.pool, "JWKS refreshed");
            }
            Err(e) => {
                tracing::warn!(pool = %self.pool, error = %e, "JWKS fetch failed; keeping known keys");
            }
        }
        self.known(kid)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::SigningKey;

    #[test]
    fn parses_generated_key_and_skips_unusable_ones() {
        let k = SigningKey::generate("k1").unwrap();
        let jwk = k.jwk();
        let doc = serde_json::json!({"keys": [
            jwk,
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "small", "n": URL_SAFE_NO_PAD.encode([0xffu8; 128]), "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": jwk["n"], "e": "AQAB"},
            {"kty": "RSA", "kid": "hs", "alg": "HS256", "n": jwk["n"], "e": "AQAB"},
            {"kty": "RSA", "n": jwk["n"], "e": "AQAB"},
            "not an object"
        ]});
        let (keys, skipped) = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains_key("k1"));
        assert_eq!(skipped.len(), 6, "{skipped:?}");
    }

    #[test]
    fn rejects_oversized_and_empty_documents() {
        let big = format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(MAX_JWKS_BYTES));
        assert_eq!(parse_jwks(big.as_bytes()).unwrap_err(), JwksError::TooLarge);
        assert_eq!(
            parse_jwks(br#"{"keys":[]}"#).unwrap_err(),
            JwksError::NoUsableKey
        );
        assert!(matches!(parse_jwks(b"[]"), Err(JwksError::NotJwks(_))));
    }

    #[test]
    fn empty_or_zero_modulus_is_refused_without_panicking() {
        for n in [&[][..], &[0u8][..], &[0u8; 300][..]] {
            assert!(RsaKey::from_components("k", n, &[1, 0, 1]).is_err());
        }
        for n in ["", "AAAA"] {
            let doc = format!(r#"{{"keys":[{{"kty":"RSA","kid":"k","n":"{n}","e":"AQAB"}}]}}"#);
            assert_eq!(
                parse_jwks(doc.as_bytes()).unwrap_err(),
                JwksError::NoUsableKey
            );
        }
    }

    #[test]
    fn even_modulus_and_unusable_exponents_are_refused() {
        let mut n = vec![0xC1u8; 256];
        assert!(RsaKey::from_components("k", &n, &[1, 0, 1]).is_ok());
        n[255] = 0xC2;
        assert_eq!(
            RsaKey::from_components("k", &n, &[1, 0, 1]).unwrap_err(),
            "even modulus"
        );
        n[255] = 0xC1;
        for e in [
            &[][..],
            &[1][..],
            &[0, 1][..],
            &[2][..],
            &[1, 0, 0, 0, 1][..],
        ] {
            assert_eq!(
                RsaKey::from_components("k", &n, e).unwrap_err(),
                "unusable public exponent",
                "{e:?}"
            );
        }
    }

    #[test]
    fn duplicate_kid_is_dropped_entirely() {
        let a = SigningKey::generate("same").unwrap();
        let b = SigningKey::generate("same").unwrap();
        let c = SigningKey::generate("other").unwrap();
        let d = SigningKey::generate("same").unwrap();
        let doc = serde_json::json!({"keys": [a.jwk(), b.jwk(), d.jwk(), c.jwk()]});
        let (keys, _) = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert!(!keys.contains_key("same"));
        assert!(keys.contains_key("other"));
    }
}

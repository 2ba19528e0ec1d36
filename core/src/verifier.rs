//! The verifier: decode, check issuer, client, time, key and signature; cache the result.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use crate::claims::{TokenUse, VerifiedClaims};
use crate::config::{ConfigError, VerifierConfig};
use crate::error::VerifyError;
use crate::jwks::{Fetch, HttpFetch, KeySet, PoolKeys, RsaKey, parse_jwks};
use crate::jwt::{Decoded, decode};
use crate::unix_now;

/// The cache is keyed by the token itself: a hit needs the exact bytes of a token that was
/// verified, with no reasoning about collisions, and hashing it with a seeded fast hash
/// costs a tenth of a SHA-256 of it. The price is memory: each entry holds its token
/// (1–2 KB for Cognito's) beside the claims.
type CacheKey = Arc<str>;
type ClaimsCache = Cache<CacheKey, Arc<VerifiedClaims>, foldhash::fast::RandomState>;

/// Cached entries live until the token's `exp`, never longer.
struct UntilExp;

impl Expiry<CacheKey, Arc<VerifiedClaims>> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &Arc<VerifiedClaims>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(
            u64::try_from(value.exp - unix_now()).unwrap_or(0),
        ))
    }
}

/// Verifies Cognito JWTs. Cheap to share (`Arc`); all methods take `&self`.
pub struct Verifier {
    config: VerifierConfig,
    issuers: HashMap<String, usize>,
    pools: Vec<PoolKeys>,
    fetcher: Arc<dyn Fetch>,
    cache: Option<ClaimsCache>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("pools", &self.config.pools)
            .finish_non_exhaustive()
    }
}

/// A token that passed every check but the signature, and the key it needs.
struct Pending<'a> {
    /// The signed bytes.
    signing_input: &'a [u8],
    kid: String,
    signature: Vec<u8>,
    pool: usize,
    claims: VerifiedClaims,
}

impl Verifier {
    /// A verifier fetching over HTTPS when a `kid` is unknown.
    pub fn new(config: VerifierConfig) -> Result<Verifier, ConfigError> {
        let timeout = config.fetch_timeout;
        Self::with_fetcher(config, Arc::new(HttpFetch::new(timeout)))
    }

    /// A verifier with its own JWKS fetcher.
    pub fn with_fetcher(
        config: VerifierConfig,
        fetcher: Arc<dyn Fetch>,
    ) -> Result<Verifier, ConfigError> {
        let mut issuers = HashMap::new();
        let mut pools = Vec::with_capacity(config.pools.len());
        for (i, (pool, src)) in config.pools.iter().zip(&config.jwks).enumerate() {
            issuers.insert(pool.issuer(), i);
            issuers.insert(pool.regional_issuer(), i);
            let embedded = match &src.embedded {
                None => KeySet::new(),
                Some(doc) => {
                    let (keys, skipped) = parse_jwks(doc.as_bytes()).map_err(|e| {
                        ConfigError::new(src.embedded_var, format!("pool {pool}: {e}"))
                    })?;
                    if !skipped.is_empty() {
                        tracing::warn!(pool = %pool, skipped = ?skipped, "embedded JWKS keys ignored");
                    }
                    keys
                }
            };
            pools.push(PoolKeys::new(
                pool.to_string(),
                embedded,
                src.url.clone(),
                config.refetch_cooldown,
            ));
        }
        let cache = (config.claims_cache_size > 0).then(|| {
            Cache::builder()
                .max_capacity(config.claims_cache_size)
                .expire_after(UntilExp)
                .build_with_hasher(foldhash::fast::RandomState::default())
        });
        Ok(Verifier {
            config,
            issuers,
            pools,
            fetcher,
            cache,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// How many JWKS fetches pool `pool` has attempted (for tests and metrics).
    pub fn fetch_count(&self, pool: usize) -> u64 {
        self.pools.get(pool).map_or(0, PoolKeys::fetch_count)
    }

    /// Verifies `token`, fetching the pool's JWKS (single flight, rate-limited) if its
    /// `kid` is unknown.
    pub async fn verify(&self, token: &str) -> Result<Arc<VerifiedClaims>, VerifyError> {
        if let Some(hit) = self.cached(token) {
            return Ok(hit);
        }
        let pending = self.pending(token)?;
        let rsa = self.pools[pending.pool]
            .get(&pending.kid, self.fetcher.as_ref())
            .await
            .ok_or(VerifyError::UnknownKey)?;
        self.finish(token, pending, &rsa)
    }

    /// Verifies `token` with the keys known now, never doing I/O: an unknown `kid` is
    /// [`VerifyError::UnknownKey`].
    pub fn verify_blocking(&self, token: &str) -> Result<Arc<VerifiedClaims>, VerifyError> {
        if let Some(hit) = self.cached(token) {
            return Ok(hit);
        }
        let pending = self.pending(token)?;
        let rsa = self.pools[pending.pool]
            .known(&pending.kid)
            .ok_or(VerifyError::UnknownKey)?;
        self.finish(token, pending, &rsa)
    }

    fn cached(&self, token: &str) -> Option<Arc<VerifiedClaims>> {
        let hit = self.cache.as_ref()?.get(token)?;
        // Entries expire at `exp`; this makes "never past exp" exact to the second.
        (unix_now() < hit.exp).then_some(hit)
    }

    fn finish(
        &self,
        token: &str,
        pending: Pending<'_>,
        rsa: &RsaKey,
    ) -> Result<Arc<VerifiedClaims>, VerifyError> {
        if !rsa.verify(pending.signing_input, &pending.signature) {
            return Err(VerifyError::BadSignature);
        }
        let claims = Arc::new(pending.claims);
        if let Some(cache) = &self.cache
            && claims.exp > unix_now()
        {
            cache.insert(Arc::from(token), claims.clone());
        }
        Ok(claims)
    }

    /// Every check that needs no key, cheapest first.
    fn pending<'a>(&self, token: &'a str) -> Result<Pending<'a>, VerifyError> {
        let Decoded {
            signing_input,
            kid,
            claims: c,
            kept,
            signature,
        } = decode(token, &self.config.keep_claims)?;
        let pool = *self
            .issuers
            .get(c.iss.as_str())
            .ok_or(VerifyError::UnknownIssuer)?;
        let token_use = match (c.token_use.as_str(), self.config.token_use) {
            ("access", TokenUse::Access | TokenUse::Any) => TokenUse::Access,
            ("id", TokenUse::Id | TokenUse::Any) => TokenUse::Id,
            (other, _) => {
                let mut t = other.to_string();
                crate::error::truncate_on_char_boundary(&mut t, 32);
                return Err(VerifyError::WrongTokenUse(t));
            }
        };
        let client = match token_use {
            TokenUse::Id => c.aud.as_deref(),
            _ => c.client_id.as_deref(),
        }
        .ok_or(VerifyError::WrongClient)?;
        if !self.config.client_ids.iter().any(|id| id == client) {
            return Err(VerifyError::WrongClient);
        }
        if c.sub.is_empty() {
            return Err(VerifyError::InvalidClaims("empty sub".into()));
        }
        let now = unix_now();
        let leeway = self.config.leeway_secs;
        if now >= c.exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        if c.nbf.is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
            return Err(VerifyError::NotYetValid);
        }
        if c.iat > now.saturating_add(leeway) {
            return Err(VerifyError::IssuedInFuture);
        }
        let client_id = client.to_string();
        let username = match token_use {
            TokenUse::Id => c.cognito_username,
            _ => c.username,
        };
        let machine = token_use == TokenUse::Access
            && username.is_none()
            && c.groups.is_none()
            && c.sub == client_id;
        let claims = VerifiedClaims {
            username: username.unwrap_or_else(|| c.sub.clone()),
            sub: c.sub,
            issuer: c.iss,
            pool,
            token_use,
            client_id,
            groups: c.groups.unwrap_or_default(),
            scopes: c
                .scope
                .as_deref()
                .map(|s| s.split_ascii_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            email: c.email,
            exp: c.exp,
            iat: c.iat,
            auth_time: c.auth_time.unwrap_or(c.iat),
            jti: c.jti,
            origin_jti: c.origin_jti,
            claims: kept,
            machine,
        };
        Ok(Pending {
            signing_input,
            kid,
            signature,
            pool,
            claims,
        })
    }
}

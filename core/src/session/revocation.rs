//! The revocation check: a verified token whose sign-in was ended (its `origin_jti` has a
//! live revocation record, see [`SessionStore::end`](super::SessionStore::end)) is refused, although it still
//! verifies offline until it expires.
//!
//! The answer for a sign-in is kept for [`RevocationSettings::recheck`] (default
//! [`DEFAULT_RECHECK_SECS`]): a busy verifier reads the store once per sign-in per
//! window, not once per request. The worst-case delay from ending a session to refusing
//! its tokens is that window (plus, behind API Gateway, its result cache's TTL).
//!
//! | variable | meaning |
//! |---|---|
//! | `REVOCATION_CHECK` | `on` or `off` (any boolean); the default is the caller's (the authorizer: on when it reads the session table) |
//! | `REVOCATION_RECHECK_SECONDS` | how long an answer is kept, 0 (every request reads the store) to 3600; default 30 |
//!
//! Machine clients' tokens (client credentials) belong to no sign-in and are never
//! checked. A user's token without a usable `origin_jti` cannot be checked and is
//! refused. A store that does not answer is [`RevocationError::Unavailable`]: the caller
//! fails closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

use super::record::is_valid_origin_jti;
use super::store::SessionReader;
use crate::claims::VerifiedClaims;
use crate::config::ConfigError;
use crate::unix_now;

/// The default of `REVOCATION_RECHECK_SECONDS`.
pub const DEFAULT_RECHECK_SECS: u64 = 30;

/// The largest `REVOCATION_RECHECK_SECONDS`.
pub const MAX_RECHECK_SECS: u64 = 3600;

/// Whether to check, and how long an answer is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevocationSettings {
    /// Check at all.
    pub enabled: bool,
    /// How long an answer for a sign-in is kept (zero: not kept).
    pub recheck: Duration,
}

impl RevocationSettings {
    /// `REVOCATION_CHECK` (unset: `default_on`) and `REVOCATION_RECHECK_SECONDS`
    /// through `lookup`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable that does not parse.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        default_on: bool,
    ) -> Result<RevocationSettings, ConfigError> {
        let enabled = crate::config::bool_var(&lookup, "REVOCATION_CHECK", default_on)?;
        let secs = match crate::config::var(&lookup, "REVOCATION_RECHECK_SECONDS") {
            None => DEFAULT_RECHECK_SECS,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| *s <= MAX_RECHECK_SECS)
                .ok_or_else(|| {
                    ConfigError::new(
                        "REVOCATION_RECHECK_SECONDS",
                        format!("`{v}` is not a number of seconds from 0 to {MAX_RECHECK_SECS}"),
                    )
                })?,
        };
        Ok(RevocationSettings {
            enabled,
            recheck: Duration::from_secs(secs),
        })
    }
}

/// Why a token was refused, or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationError {
    /// Its sign-in was ended.
    Revoked,
    /// A user's token without a usable `origin_jti`: it cannot be checked.
    NoOriginJti,
    /// The store did not answer (the code of its error): no decision can be made.
    Unavailable(&'static str),
}

impl std::fmt::Display for RevocationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevocationError::Revoked => f.write_str("the token's sign-in was ended (revoked)"),
            RevocationError::NoOriginJti => f.write_str(
                "the token has no usable origin_jti, so its revocation cannot be checked",
            ),
            RevocationError::Unavailable(code) => {
                write!(f, "the revocation store failed: {code}")
            }
        }
    }
}

/// Checks verified tokens against the revocation records of a [`SessionReader`], keeping
/// each sign-in's answer for the recheck window. Cheap to share; all methods take `&self`.
pub struct RevocationCheck {
    store: Arc<dyn SessionReader>,
    answers: Option<Cache<Arc<str>, bool, foldhash::fast::RandomState>>,
    reads: AtomicU64,
}

impl std::fmt::Debug for RevocationCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationCheck")
            .field("store", &self.store.backend())
            .field("kept", &self.answers.is_some())
            .finish_non_exhaustive()
    }
}

impl RevocationCheck {
    /// A check over `store` keeping answers for `recheck`, for at most `capacity`
    /// sign-ins (either zero: nothing is kept, every check reads the store).
    pub fn new(store: Arc<dyn SessionReader>, recheck: Duration, capacity: u64) -> Self {
        let answers = (!recheck.is_zero() && capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(recheck)
                .build_with_hasher(foldhash::fast::RandomState::default())
        });
        RevocationCheck {
            store,
            answers,
            reads: AtomicU64::new(0),
        }
    }

    /// `Ok` when `claims` may be used: a machine client's, or a sign-in not ended.
    ///
    /// # Errors
    /// [`RevocationError`]: refused, or not checkable now.
    pub async fn check(&self, claims: &VerifiedClaims) -> Result<(), RevocationError> {
        if claims.machine {
            return Ok(());
        }
        let origin_jti = claims
            .origin_jti
            .as_deref()
            .filter(|o| is_valid_origin_jti(o))
            .ok_or(RevocationError::NoOriginJti)?;
        let kept = self.answers.as_ref().and_then(|a| a.get(origin_jti));
        let revoked = match kept {
            Some(revoked) => revoked,
            None => {
                self.reads.fetch_add(1, Ordering::Relaxed);
                let revoked = self
                    .store
                    .is_revoked(origin_jti, unix_now())
                    .await
                    .map_err(|e| RevocationError::Unavailable(e.code()))?;
                if let Some(answers) = &self.answers {
                    answers.insert(Arc::from(origin_jti), revoked);
                }
                revoked
            }
        };
        if revoked {
            Err(RevocationError::Revoked)
        } else {
            Ok(())
        }
    }

    /// How many times the store was read (for tests and metrics).
    pub fn store_reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::TokenUse;
    use crate::session::{MemoryStore, Revocation, SessionId, SessionStore};

    fn claims(origin_jti: Option<&str>, machine: bool) -> VerifiedClaims {
        VerifiedClaims {
            sub: "s".into(),
            username: "u".into(),
            issuer: "i".into(),
            pool: 0,
            token_use: TokenUse::Access,
            client_id: "c".into(),
            groups: vec![],
            scopes: vec![],
            email: None,
            exp: unix_now() + 60,
            iat: unix_now(),
            auth_time: unix_now(),
            jti: None,
            origin_jti: origin_jti.map(str::to_string),
            claims: vec![],
            machine,
        }
    }

    async fn revoke(store: &MemoryStore, origin_jti: &str) {
        let r = Revocation {
            origin_jti: origin_jti.into(),
            until: unix_now() + 600,
        };
        store
            .end(&SessionId::generate().unwrap(), Some(&r))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn answers_are_kept_for_the_window_and_revoked_sign_ins_refused() {
        let store = Arc::new(MemoryStore::new());
        let check = RevocationCheck::new(store.clone(), Duration::from_secs(30), 100);
        let c = claims(Some("o-1"), false);
        for _ in 0..5 {
            check.check(&c).await.unwrap();
        }
        assert_eq!(check.store_reads(), 1, "one read per sign-in per window");
        revoke(&store, "o-1").await;
        assert_eq!(
            check.check(&c).await,
            Ok(()),
            "inside the window: the kept answer"
        );
        // Another sign-in is read on its own.
        revoke(&store, "o-2").await;
        let other = claims(Some("o-2"), false);
        assert_eq!(check.check(&other).await, Err(RevocationError::Revoked));
        assert_eq!(check.check(&other).await, Err(RevocationError::Revoked));
        assert_eq!(check.store_reads(), 2);
        // Without a window, every check reads.
        let every = RevocationCheck::new(store.clone(), Duration::ZERO, 100);
        assert_eq!(every.check(&c).await, Err(RevocationError::Revoked));
        assert_eq!(every.check(&c).await, Err(RevocationError::Revoked));
        assert_eq!(every.store_reads(), 2);
    }

    #[tokio::test]
    async fn what_cannot_be_checked_is_refused_and_machines_are_not_checked() {
        let store = Arc::new(MemoryStore::new());
        let check = RevocationCheck::new(store, Duration::from_secs(30), 100);
        for bad in [None, Some(""), Some("a#b"), Some("x y")] {
            assert_eq!(
                check.check(&claims(bad, false)).await,
                Err(RevocationError::NoOriginJti),
                "{bad:?}"
            );
        }
        assert_eq!(check.check(&claims(None, true)).await, Ok(()));
        assert_eq!(check.store_reads(), 0);
    }

    #[test]
    fn settings_from_the_environment() {
        let l = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = RevocationSettings::from_lookup(l(&[]), true).unwrap();
        assert!(s.enabled);
        assert_eq!(s.recheck, Duration::from_secs(DEFAULT_RECHECK_SECS));
        assert!(
            !RevocationSettings::from_lookup(l(&[]), false)
                .unwrap()
                .enabled
        );
        let s = RevocationSettings::from_lookup(
            l(&[
                ("REVOCATION_CHECK", "off"),
                ("REVOCATION_RECHECK_SECONDS", "0"),
            ]),
            true,
        )
        .unwrap();
        assert!(!s.enabled);
        assert!(s.recheck.is_zero());
        for (k, v) in [
            ("REVOCATION_CHECK", "sometimes"),
            ("REVOCATION_RECHECK_SECONDS", "3601"),
            ("REVOCATION_RECHECK_SECONDS", "-1"),
            ("REVOCATION_RECHECK_SECONDS", "1.5"),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(k, v)]));
            let e = RevocationSettings::from_lookup(l(pairs), true).unwrap_err();
            assert_eq!(e.var, k, "{k}={v}");
        }
    }
}

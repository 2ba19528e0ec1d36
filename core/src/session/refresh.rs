//! The single-flight refresh coordinator: one Cognito refresh per session however many
//! callers (browser tabs, Lambda instances) ask at once.
//!
//! # How one refresh goes
//!
//! 1. Within one process, concurrent callers for the same session share one in-flight
//!    refresh (a map of session id → a [`tokio::sync::watch`] channel; the refresh itself
//!    runs in its own task, so a caller that goes away does not cancel it for the others).
//! 2. Across processes, the flight takes the session's refresh **lease** with a
//!    conditional write ([`SessionStore::acquire_lease`]), valid for
//!    [`RefreshOptions::lease`] (longer than one Cognito call, margin included). The write
//!    returns the record as it is now (a consistent read): when its tokens differ from the
//!    ones the caller saw, someone else has refreshed already and those tokens are the
//!    answer, without calling Cognito.
//! 3. The lease holder calls Cognito's refresh grant with the stored refresh token, then
//!    writes the new tokens with one [`SessionStore::replace`] conditioned on the version
//!    the lease gave it (so on still holding the lease), releasing the lease in the same
//!    write. A rotated refresh token replaces the stored one; without one the old is kept.
//! 4. A caller that finds the lease held waits (bounded, with back-off, by consistent
//!    reads) until the tokens change, and returns them; when the lease lapses without a
//!    write (the holder died after Cognito answered), it takes the lease over and refreshes
//!    with the still-stored refresh token, which Cognito's rotation grace period honours.
//!
//! # Outcomes
//!
//! | result | meaning | HTTP |
//! |---|---|---|
//! | `Ok(`[`RefreshOutcome`]`)` | the session with fresh tokens | 200 |
//! | [`RefreshError::NotAuthenticated`] | no live session | 401 `Not authenticated` |
//! | [`RefreshError::NoRefreshToken`] | the session has no refresh token | 401 `No refresh token` |
//! | [`RefreshError::RefreshFailed`] | Cognito said `invalid_grant` for the refresh token still stored (checked by a consistent re-read): the session was ended (deleted, and its sign-in revoked: [`SessionStore::end`]) | 401 `Refresh failed`, cookie cleared |
//! | [`RefreshError::Unavailable`] | Cognito or the store failed transiently, or waiting for another refresh took too long: the session is intact | 503 |
//!
//! Conditional-write conflicts are handled here and never surface. Every caller's outcome is
//! logged as an OCSF-shaped security event (class Authentication 3001, activity
//! "Authentication Ticket", target [`EVENT_TARGET`]); no token ever reaches a log.
//!
//! ```
//! use std::sync::Arc;
//! use l42_core::session::refresh::{RefreshOptions, Refresher};
//! use l42_core::session::{MemoryStore, SessionStore};
//! use l42_core::{CognitoClient, OAuthConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
//! let oauth = CognitoClient::new(OAuthConfig::new("auth.example.com", "client-1", None)?);
//! let options = RefreshOptions::for_cognito_timeout(oauth.config().timeout);
//! let refresher = Refresher::new(store, oauth, options);
//! // refresher.refresh(&session_the_caller_read).await -> Result<RefreshOutcome, RefreshError>
//! # let _ = refresher;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use thiserror::Error;
use tokio::sync::watch;

use super::id::{SessionId, random_bytes};
use super::record::{Session, SessionTokens};
use super::store::{LeaseOutcome, Replaced, SessionStore, StoreError};
use crate::config::ConfigError;
use crate::events::{Activity, SecurityEvent, Severity, Status};
use crate::oauth::{CognitoClient, OAuthError, TokenSet};
use crate::unix_now;

/// The `tracing` target of refresh security events (that of every security event).
pub const EVENT_TARGET: &str = crate::events::TARGET;

/// The `metadata.product.feature.name` of refresh security events.
pub const EVENT_FEATURE: &str = "refresh";

pub use super::record::REFRESHED_AT;

/// The margin added to the Cognito timeout to make the default lease.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// How the coordinator waits and how long a lease lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshOptions {
    /// How long a lease is valid, rounded up to whole seconds (the store keeps Unix
    /// seconds). Must exceed one Cognito call (its timeout) plus the store write.
    pub lease: Duration,
    /// How long a caller waits, in all, for someone else's refresh (including a lease
    /// that must lapse before it is taken over) before answering
    /// [`RefreshError::Unavailable`].
    pub max_wait: Duration,
    /// The first pause between two reads while waiting; doubled up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest pause between two reads while waiting.
    pub max_backoff: Duration,
    /// Tokens refreshed this recently count as fresh: a refresh asked for within this
    /// window of the last one returns the stored tokens without calling Cognito (many
    /// tabs asking one after the other). `0` turns it off.
    pub reuse_window: Duration,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        RefreshOptions::for_cognito_timeout(crate::oauth::DEFAULT_TIMEOUT)
    }
}

impl RefreshOptions {
    /// Options for a Cognito client whose calls time out after `timeout`: a lease of the
    /// timeout plus [`LEASE_MARGIN`], waiting up to the lease plus 3 s, back-off 25 ms to
    /// 250 ms, reuse window 5 s.
    pub fn for_cognito_timeout(timeout: Duration) -> RefreshOptions {
        let lease = timeout.saturating_add(LEASE_MARGIN);
        RefreshOptions {
            lease,
            max_wait: lease.saturating_add(Duration::from_secs(3)),
            initial_backoff: Duration::from_millis(25),
            max_backoff: Duration::from_millis(250),
            reuse_window: Duration::from_secs(5),
        }
    }

    /// Reads `REFRESH_LEASE_SECONDS` (1–300), `REFRESH_MAX_WAIT_MS` (1–600000) and
    /// `REFRESH_REUSE_SECONDS` (0–300) through `lookup`, over the defaults for a Cognito
    /// timeout of `timeout`. The lease must exceed the timeout.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        timeout: Duration,
    ) -> Result<RefreshOptions, ConfigError> {
        let mut o = RefreshOptions::for_cognito_timeout(timeout);
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let number = |name: &'static str, v: String, min: u64, max: u64| {
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(name, format!("`{v}` is not a number from {min} to {max}"))
                })
        };
        if let Some(v) = get("REFRESH_LEASE_SECONDS") {
            o.lease = Duration::from_secs(number("REFRESH_LEASE_SECONDS", v, 1, 300)?);
            if o.lease <= timeout {
                return Err(ConfigError::new(
                    "REFRESH_LEASE_SECONDS",
                    format!(
                        "must be longer than the Cognito timeout ({} ms)",
                        timeout.as_millis()
                    ),
                ));
            }
            o.max_wait = o.lease.saturating_add(Duration::from_secs(3));
        }
        if let Some(v) = get("REFRESH_MAX_WAIT_MS") {
            o.max_wait = Duration::from_millis(number("REFRESH_MAX_WAIT_MS", v, 1, 600_000)?);
        }
        if let Some(v) = get("REFRESH_REUSE_SECONDS") {
            o.reuse_window = Duration::from_secs(number("REFRESH_REUSE_SECONDS", v, 0, 300)?);
        }
        Ok(o)
    }

    fn lease_secs(&self) -> i64 {
        let secs = self.lease.as_secs() + u64::from(self.lease.subsec_nanos() > 0);
        i64::try_from(secs.max(1)).unwrap_or(i64::MAX)
    }
}

/// How the fresh tokens were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshSource {
    /// This flight called Cognito and wrote the tokens.
    Cognito,
    /// Someone else (another flight, process or tab) had refreshed already; the stored
    /// tokens were returned without calling Cognito.
    AlreadyRefreshed,
    /// [`Refresher::refresh_if_needed`]: the stored tokens were still valid.
    StillValid,
}

impl RefreshSource {
    /// A short, stable code for logs.
    pub fn code(self) -> &'static str {
        match self {
            RefreshSource::Cognito => "cognito",
            RefreshSource::AlreadyRefreshed => "already_refreshed",
            RefreshSource::StillValid => "still_valid",
        }
    }
}

/// A successful refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshOutcome {
    /// The session as stored now, with the fresh tokens.
    pub session: Session,
    /// Where the tokens came from.
    pub source: RefreshSource,
    /// True when this caller shared another caller's in-process flight.
    pub shared: bool,
}

/// Why a refresh gave no tokens (see the module docs for the HTTP answer of each).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RefreshError {
    /// No live session under the id (never made, logged out, expired, destroyed).
    #[error("no session")]
    NotAuthenticated,
    /// The session holds no refresh token.
    #[error("the session has no refresh token")]
    NoRefreshToken,
    /// Cognito refused the stored refresh token (`invalid_grant`); the session was
    /// destroyed.
    #[error("the refresh token is no longer valid; the session was destroyed")]
    RefreshFailed,
    /// A transient failure (Cognito timeout, 5xx or throttling; the store unavailable;
    /// waiting too long for another refresh) or a Cognito refusal that is not about the
    /// token. The session is intact.
    #[error("refresh unavailable: {reason}")]
    Unavailable {
        /// A short code: `cognito_transient`, `cognito_rejected`, `cognito_malformed`,
        /// `store_unavailable`, `store_error`, `wait_timeout`, `internal`.
        reason: &'static str,
        /// What happened (never a token).
        detail: String,
    },
}

impl RefreshError {
    /// A short, stable code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            RefreshError::NotAuthenticated => "not_authenticated",
            RefreshError::NoRefreshToken => "no_refresh_token",
            RefreshError::RefreshFailed => "invalid_grant",
            RefreshError::Unavailable { reason, .. } => reason,
        }
    }

    /// The HTTP status the protocol gives it: 401, or 503 for [`Unavailable`](Self::Unavailable).
    pub fn status(&self) -> u16 {
        match self {
            RefreshError::Unavailable { .. } => 503,
            _ => 401,
        }
    }

    /// The protocol's `error` text.
    pub fn public_message(&self) -> &'static str {
        match self {
            RefreshError::NotAuthenticated => "Not authenticated",
            RefreshError::NoRefreshToken => "No refresh token",
            RefreshError::RefreshFailed => "Refresh failed",
            RefreshError::Unavailable { .. } => "Service unavailable",
        }
    }

    /// True when the caller must clear the session cookie (the session is gone).
    pub fn clears_cookie(&self) -> bool {
        matches!(
            self,
            RefreshError::RefreshFailed | RefreshError::NotAuthenticated
        )
    }

    fn store(e: StoreError) -> RefreshError {
        match e {
            StoreError::Unavailable(d) => RefreshError::Unavailable {
                reason: "store_unavailable",
                detail: d,
            },
            // A record that no longer parses is no session (the store says so).
            StoreError::Corrupt(_) => RefreshError::NotAuthenticated,
            other => RefreshError::Unavailable {
                reason: "store_error",
                detail: other.to_string(),
            },
        }
    }
}

type FlightResult = Result<RefreshOutcome, RefreshError>;

/// The single-flight refresh coordinator over a [`SessionStore`] and Cognito. Cheap to
/// clone (the clones share the in-process flights).
#[derive(Clone)]
pub struct Refresher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn SessionStore>,
    oauth: CognitoClient,
    options: RefreshOptions,
    flights: Mutex<HashMap<String, watch::Receiver<Option<FlightResult>>>>,
}

impl fmt::Debug for Refresher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refresher")
            .field("backend", &self.inner.store.backend())
            .field("oauth", &self.inner.oauth)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Refresher {
    /// A coordinator over `store`, refreshing through `oauth`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        oauth: CognitoClient,
        options: RefreshOptions,
    ) -> Refresher {
        Refresher {
            inner: Arc::new(Inner {
                store,
                oauth,
                options,
                flights: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The store the coordinator leases, reads and writes sessions in.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }

    /// The Cognito client refreshes go through.
    pub fn oauth(&self) -> &CognitoClient {
        &self.inner.oauth
    }

    /// The lease, wait and reuse settings in force.
    pub fn options(&self) -> &RefreshOptions {
        &self.inner.options
    }

    /// Reads the session `id` (a consistent read) and refreshes it ([`refresh`](Self::refresh)).
    pub async fn refresh_id(&self, id: &SessionId) -> FlightResult {
        let seen = match self.inner.store.get(id).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                let e = RefreshError::NotAuthenticated;
                emit(None, id, &Err(e.clone()));
                return Err(e);
            }
            Err(e) => {
                let e = RefreshError::store(e);
                emit(None, id, &Err(e.clone()));
                return Err(e);
            }
        };
        self.refresh(&seen).await
    }

    /// Refreshes the tokens of `seen`, the session as the caller read it: returns fresh
    /// tokens — the caller's own refresh, or someone else's that happened since `seen`
    /// was read (see the module docs).
    pub async fn refresh(&self, seen: &Session) -> FlightResult {
        let result = self.join_or_lead(seen).await;
        emit(Some(seen), &seen.id, &result);
        result
    }

    /// For `GET /token`: `seen` itself when its access and id tokens are valid for more than
    /// `skew_secs` seconds, else [`refresh`](Self::refresh). A session without a refresh
    /// token and expired tokens gives [`RefreshError::NoRefreshToken`].
    pub async fn refresh_if_needed(&self, seen: &Session, skew_secs: i64) -> FlightResult {
        let now = unix_now();
        if !needs_refresh(&seen.tokens, now, skew_secs) {
            return Ok(RefreshOutcome {
                session: seen.clone(),
                source: RefreshSource::StillValid,
                shared: false,
            });
        }
        self.refresh(seen).await
    }

    /// Joins the in-process flight for the session, or starts one.
    async fn join_or_lead(&self, seen: &Session) -> FlightResult {
        let key = seen.id.as_str().to_string();
        let (mut rx, shared) = {
            let mut flights = self.flights();
            match flights.get(&key) {
                Some(rx) => (rx.clone(), true),
                None => {
                    let (tx, rx) = watch::channel(None);
                    flights.insert(key.clone(), rx.clone());
                    let this = self.clone();
                    let seen = seen.clone();
                    tokio::spawn(async move {
                        let result = this.coordinate(&seen).await;
                        // Remove the flight before publishing, so that a caller arriving
                        // after the answer starts its own (it read newer tokens).
                        this.flights().remove(seen.id.as_str());
                        let _ = tx.send(Some(result));
                    });
                    (rx, false)
                }
            }
        };
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(value) => value.clone(),
            // The flight's task ended without an answer (it panicked).
            Err(_) => {
                self.flights().remove(&key);
                None
            }
        };
        match outcome {
            Some(Ok(mut o)) => {
                o.shared = shared;
                Ok(o)
            }
            Some(Err(e)) => Err(e),
            None => Err(RefreshError::Unavailable {
                reason: "internal",
                detail: "the refresh task ended without an answer".into(),
            }),
        }
    }

    fn flights(&self) -> MutexGuard<'_, HashMap<String, watch::Receiver<Option<FlightResult>>>> {
        // Every critical section leaves the map consistent; a poisoned lock is usable.
        self.inner.flights.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cross-process part: lease, re-read, Cognito, conditional write; or wait.
    async fn coordinate(&self, seen: &Session) -> FlightResult {
        let store = &self.inner.store;
        let options = &self.inner.options;
        let id = &seen.id;
        let started = tokio::time::Instant::now();
        let deadline = started + options.max_wait;
        let mut backoff = options.initial_backoff;
        if let Some(fresh) = self.already_fresh(seen, seen) {
            return Ok(fresh);
        }
        loop {
            let owner = lease_owner().map_err(|e| RefreshError::Unavailable {
                reason: "internal",
                detail: e.to_string(),
            })?;
            let now = unix_now();
            let until = now.saturating_add(options.lease_secs());
            let leased = match store
                .acquire_lease(id, &owner, until, now)
                .await
                .map_err(RefreshError::store)?
            {
                LeaseOutcome::Missing => return Err(RefreshError::NotAuthenticated),
                LeaseOutcome::Acquired(s) => s,
                LeaseOutcome::Held(current) => {
                    if let Some(fresh) = self.already_fresh(seen, &current) {
                        return Ok(fresh);
                    }
                    // Wait for the holder's write, or for its lease to lapse.
                    loop {
                        if tokio::time::Instant::now() >= deadline {
                            return Err(RefreshError::Unavailable {
                                reason: "wait_timeout",
                                detail: format!(
                                    "another refresh of this session took over {} ms",
                                    options.max_wait.as_millis()
                                ),
                            });
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(options.max_backoff);
                        let Some(current) = store.get(id).await.map_err(RefreshError::store)?
                        else {
                            return Err(RefreshError::NotAuthenticated);
                        };
                        if let Some(fresh) = self.already_fresh(seen, &current) {
                            return Ok(fresh);
                        }
                        if current.live_lease(unix_now()).is_none() {
                            break;
                        }
                    }
                    continue;
                }
            };
            // We hold the lease; `leased` is the record as it is now.
            if let Some(fresh) = self.already_fresh(seen, &leased) {
                self.release(&leased, &owner).await;
                return Ok(fresh);
            }
            let Some(refresh_token) = leased.tokens.refresh_token.clone() else {
                self.release(&leased, &owner).await;
                return Err(RefreshError::NoRefreshToken);
            };
            match self.inner.oauth.refresh(&refresh_token).await {
                Ok(set) => {
                    let mut base = leased.clone();
                    // A conflict means our lease lapsed and someone else wrote; at most a
                    // few rewrites over a record nobody holds.
                    for _ in 0..3 {
                        let next = refreshed(&base, set.clone(), unix_now());
                        match store
                            .replace(&next, base.version)
                            .await
                            .map_err(RefreshError::store)?
                        {
                            Replaced::Written(s) => {
                                return Ok(RefreshOutcome {
                                    session: s,
                                    source: RefreshSource::Cognito,
                                    shared: false,
                                });
                            }
                            Replaced::Missing => return Err(RefreshError::NotAuthenticated),
                            Replaced::Conflict(current) => {
                                // Someone else's tokens are as good as ours.
                                if let Some(fresh) = self.already_fresh(seen, &current) {
                                    return Ok(fresh);
                                }
                                if current.live_lease(unix_now()).is_some() {
                                    break;
                                }
                                // Nobody holds it and the tokens are the old ones: ours
                                // (the only valid ones once the old token is rotated out)
                                // go in over the current version.
                                base = current;
                            }
                        }
                    }
                    tracing::warn!(
                        session = %id.short(),
                        "refresh lease lapsed before the write; waiting for the new holder"
                    );
                    continue;
                }
                Err(OAuthError::InvalidGrant) => {
                    // Destroy the session only when the refused token is still the stored
                    // one (a consistent re-read): else someone refreshed meanwhile.
                    match store.get(id).await.map_err(RefreshError::store)? {
                        None => return Err(RefreshError::RefreshFailed),
                        Some(current)
                            if current.tokens.refresh_token.as_deref()
                                == Some(refresh_token.as_str()) =>
                        {
                            // The sign-in is over: its tokens are revoked with it.
                            let revocation = current.revocation(unix_now());
                            store
                                .end(id, revocation.as_ref())
                                .await
                                .map_err(RefreshError::store)?;
                            return Err(RefreshError::RefreshFailed);
                        }
                        Some(current) => {
                            if let Some(fresh) = self.already_fresh(seen, &current) {
                                return Ok(fresh);
                            }
                            continue;
                        }
                    }
                }
                Err(e) => {
                    self.release(&leased, &owner).await;
                    let reason = match &e {
                        OAuthError::Transient(_) => "cognito_transient",
                        OAuthError::Rejected { .. } => "cognito_rejected",
                        _ => "cognito_malformed",
                    };
                    return Err(RefreshError::Unavailable {
                        reason,
                        detail: e.to_string(),
                    });
                }
            }
        }
    }

    /// `current` as the answer when its tokens are newer than `seen`'s, or were refreshed
    /// within the reuse window.
    fn already_fresh(&self, seen: &Session, current: &Session) -> Option<RefreshOutcome> {
        let changed = current.tokens.access_token != seen.tokens.access_token
            || current.tokens.refresh_token != seen.tokens.refresh_token;
        let window = i64::try_from(self.inner.options.reuse_window.as_secs()).unwrap_or(0);
        let recent = window > 0
            && refreshed_at(current).is_some_and(|t| unix_now().saturating_sub(t) < window);
        (changed || recent).then(|| RefreshOutcome {
            session: current.clone(),
            source: RefreshSource::AlreadyRefreshed,
            shared: false,
        })
    }

    /// Drops our lease (best effort: it lapses anyway).
    async fn release(&self, leased: &Session, owner: &str) {
        if let Err(e) = self.inner.store.release_lease(&leased.id, owner).await {
            tracing::warn!(session = %leased.id.short(), error = %e, "could not release the refresh lease");
        }
    }
}

/// A fresh lease owner id (random, per attempt).
fn lease_owner() -> Result<String, super::id::RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<16>()?))
}

/// `leased` with the tokens of `set`: a rotated refresh token replaces the stored one,
/// without one the old is kept; lease released; `refreshed_at` set.
fn refreshed(leased: &Session, set: TokenSet, now: i64) -> Session {
    let mut next = leased.clone();
    next.tokens = SessionTokens {
        access_token: set.access_token,
        id_token: set
            .id_token
            .unwrap_or_else(|| leased.tokens.id_token.clone()),
        refresh_token: set
            .refresh_token
            .or_else(|| leased.tokens.refresh_token.clone()),
        auth_method: leased.tokens.auth_method.clone(),
    };
    next.lease = None;
    next.extra.insert(REFRESHED_AT.into(), json!(now));
    next
}

fn refreshed_at(s: &Session) -> Option<i64> {
    s.extra.get(REFRESHED_AT).and_then(Value::as_i64)
}

/// True when the access or id token expires within `skew_secs` of `now` (or its expiry
/// cannot be read).
pub fn needs_refresh(tokens: &SessionTokens, now: i64, skew_secs: i64) -> bool {
    [&tokens.access_token, &tokens.id_token].iter().any(|t| {
        super::record::stored_claims(t)
            .and_then(|c| c.get("exp").and_then(Value::as_i64))
            .is_none_or(|exp| exp <= now.saturating_add(skew_secs))
    })
}

/// The user's `sub`, from the stored id token (for events).
fn subject(tokens: &SessionTokens) -> Option<String> {
    super::record::stored_claims(&tokens.id_token)
        .and_then(|c| c.get("sub").and_then(Value::as_str).map(str::to_string))
}

/// The security event of one caller's refresh outcome (class Authentication 3001, activity
/// 3 "Authentication Ticket", feature `refresh`). It names the user by `sub` and the
/// session by a short prefix; it holds no token.
pub fn event(sub: Option<&str>, id: &SessionId, result: &FlightResult) -> SecurityEvent {
    let (status, severity, message) = match result {
        Ok(_) => (Status::Success, Severity::Informational, "tokens refreshed"),
        Err(RefreshError::RefreshFailed) => (
            Status::Failure,
            Severity::Medium,
            "refresh token refused; session destroyed",
        ),
        Err(RefreshError::Unavailable { .. }) => (
            Status::Failure,
            Severity::Low,
            "refresh unavailable; session kept",
        ),
        Err(RefreshError::NoRefreshToken) => (Status::Failure, Severity::Low, "no refresh token"),
        Err(RefreshError::NotAuthenticated) => (Status::Failure, Severity::Low, "no session"),
    };
    let mut event = SecurityEvent::new(Activity::AuthenticationTicket, status, message)
        .feature(EVENT_FEATURE)
        .severity(severity)
        .auth_protocol("OAuth 2.0")
        .detail("session", id.short());
    event = match result {
        Ok(o) => event
            .detail("source", o.source.code())
            .detail("shared", o.shared),
        Err(e) => event.detail("reason", e.code()),
    };
    match sub {
        Some(sub) => event.actor(sub, None),
        None => event,
    }
}

fn emit(seen: Option<&Session>, id: &SessionId, result: &FlightResult) {
    let sub = match result {
        Ok(o) => subject(&o.session.tokens),
        Err(_) => seen.and_then(|s| subject(&s.tokens)),
    };
    event(sub.as_deref(), id, result).emit();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::session::testing::live_session;
    use crate::session::{MemoryStore, SessionReader};

    fn jwt(claims: Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn expiry_is_read_from_the_stored_tokens() {
        let now = 1_000;
        let mut t = crate::session::testing::tokens("x");
        assert!(
            needs_refresh(&t, now, 0),
            "unreadable tokens need a refresh"
        );
        t.access_token = jwt(json!({"exp": 2_000, "sub": "s"}));
        t.id_token = jwt(json!({"exp": 2_000, "sub": "s"}));
        assert!(!needs_refresh(&t, now, 60));
        assert!(needs_refresh(&t, now, 1_000));
        t.id_token = jwt(json!({"exp": 900}));
        assert!(needs_refresh(&t, now, 0));
        assert_eq!(
            subject(&SessionTokens {
                id_token: jwt(json!({"sub": "user-1"})),
                ..t
            })
            .as_deref(),
            Some("user-1")
        );
    }

    #[test]
    fn rotation_keeps_or_replaces_the_refresh_token() {
        let s = live_session();
        let set = |rt: Option<&str>| TokenSet {
            access_token: "a2".into(),
            id_token: Some("i2".into()),
            refresh_token: rt.map(str::to_string),
            expires_in: Some(3600),
        };
        let kept = refreshed(&s, set(None), 5);
        assert_eq!(kept.tokens.refresh_token, s.tokens.refresh_token);
        assert_eq!(kept.tokens.access_token, "a2");
        assert_eq!(refreshed_at(&kept), Some(5));
        assert!(kept.lease.is_none());
        let rotated = refreshed(&s, set(Some("r2")), 5);
        assert_eq!(rotated.tokens.refresh_token.as_deref(), Some("r2"));
    }

    #[test]
    fn options_from_the_environment() {
        let t = Duration::from_secs(5);
        let o = RefreshOptions::from_lookup(|_| None, t).unwrap();
        assert_eq!(o.lease, Duration::from_secs(10));
        assert_eq!(o.lease_secs(), 10);
        let o = RefreshOptions::from_lookup(
            |n| match n {
                "REFRESH_LEASE_SECONDS" => Some("20".into()),
                "REFRESH_REUSE_SECONDS" => Some("0".into()),
                _ => None,
            },
            t,
        )
        .unwrap();
        assert_eq!(o.lease, Duration::from_secs(20));
        assert_eq!(o.reuse_window, Duration::ZERO);
        let e =
            RefreshOptions::from_lookup(|n| (n == "REFRESH_LEASE_SECONDS").then(|| "3".into()), t)
                .unwrap_err();
        assert_eq!(e.var, "REFRESH_LEASE_SECONDS");
        let e =
            RefreshOptions::from_lookup(|n| (n == "REFRESH_MAX_WAIT_MS").then(|| "x".into()), t)
                .unwrap_err();
        assert_eq!(e.var, "REFRESH_MAX_WAIT_MS");
    }

    #[test]
    fn events_hold_no_tokens() {
        let s = live_session();
        let ok: FlightResult = Ok(RefreshOutcome {
            session: s.clone(),
            source: RefreshSource::Cognito,
            shared: true,
        });
        let r = event(Some("sub-1"), &s.id, &ok).to_json().to_string();
        assert!(!r.contains("access-first") && !r.contains("refresh-first"));
        assert!(!r.contains(s.id.as_str()));
        let v: Value = serde_json::from_str(&r).unwrap();
        assert_eq!(v["class_uid"], 3001);
        assert_eq!(v["actor"]["user"]["uid"], "sub-1");
        assert_eq!(v["activity_name"], "Authentication Ticket");
        assert_eq!(v["metadata"]["product"]["feature"]["name"], "refresh");
        assert_eq!(v["unmapped"]["source"], "cognito");
        let failed = event(None, &s.id, &Err(RefreshError::RefreshFailed)).to_json();
        assert_eq!(failed["status"], "Failure");
        assert_eq!(failed["unmapped"]["reason"], "invalid_grant");
    }

    #[tokio::test]
    async fn outcomes_without_cognito() {
        // Cognito is unreachable here (a closed loopback port): only paths that never
        // call it are checked; the full paths run against the dev identity provider in
        // the `l42-tests` crate.
        let store = Arc::new(MemoryStore::new());
        let oauth = CognitoClient::new(
            crate::OAuthConfig::new("http://127.0.0.1:9", "client-1", None)
                .unwrap()
                .with_timeout(Duration::from_millis(200)),
        );
        let r = Refresher::new(store.clone(), oauth, RefreshOptions::default());
        let missing = live_session();
        assert_eq!(
            r.refresh(&missing).await.unwrap_err(),
            RefreshError::NotAuthenticated
        );
        assert_eq!(
            r.refresh_id(&missing.id).await.unwrap_err(),
            RefreshError::NotAuthenticated
        );
        let mut none = live_session();
        none.tokens.refresh_token = None;
        store.create(&none).await.unwrap();
        assert_eq!(
            r.refresh(&none).await.unwrap_err(),
            RefreshError::NoRefreshToken
        );
        // The lease was released.
        assert!(store.get(&none.id).await.unwrap().unwrap().lease.is_none());
        // Transient: unreachable Cognito; session intact, lease released.
        let s = live_session();
        store.create(&s).await.unwrap();
        let e = r.refresh(&s).await.unwrap_err();
        assert_eq!(e.status(), 503, "{e:?}");
        let after = store.get(&s.id).await.unwrap().unwrap();
        assert_eq!(after.tokens, s.tokens);
        assert!(after.lease.is_none());
        // Someone else refreshed since the caller read: their tokens, no Cognito call.
        let mut newer = after.clone();
        newer.tokens.access_token = "access-second".into();
        store.replace(&newer, after.version).await.unwrap();
        let o = r.refresh(&s).await.unwrap();
        assert_eq!(o.source, RefreshSource::AlreadyRefreshed);
        assert_eq!(o.session.tokens.access_token, "access-second");
    }
}

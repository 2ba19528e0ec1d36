//! The session store interface every backend implements.

use std::future::Future;
use std::pin::Pin;

use thiserror::Error;

use super::id::SessionId;
use super::record::{Revocation, Session, SessionSummary};

/// The future a [`SessionStore`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store operation failed. The messages never contain tokens or session data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The store could not be reached or refused for load (throttling, timeouts, 5xx),
    /// after a bounded retry. The caller answers 503 and keeps the session (and its cookie).
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The stored item does not parse. Treat it as no session, and log it.
    #[error("corrupt session record: {0}")]
    Corrupt(String),
    /// [`SessionStore::create`] found a live record under the id.
    #[error("a session with this id already exists")]
    AlreadyExists,
    /// Anything else: a refused request, a record too large, bad configuration.
    #[error("session store error: {0}")]
    Other(String),
}

impl StoreError {
    /// A short, stable code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::AlreadyExists => "already_exists",
            StoreError::Other(_) => "other",
        }
    }
}

/// What [`SessionStore::replace`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Replaced {
    /// Written; the record as stored now (its `version` is the expected one plus one).
    Written(Session),
    /// Someone else wrote first: the current record (read by the failed write itself).
    Conflict(Session),
    /// No live record under the id (never made, deleted or expired).
    Missing,
}

/// What [`SessionStore::acquire_lease`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseOutcome {
    /// The lease is ours; the record as stored now (version bumped, lease set).
    Acquired(Session),
    /// Someone else holds a live lease: the current record.
    Held(Session),
    /// No live record under the id.
    Missing,
}

/// Where sessions live: one record per session id, point reads and writes only.
///
/// Semantics every implementation keeps (the shared test suite checks them):
/// - a record whose `expires_at <= now` is absent for every operation (DynamoDB's TTL
///   deletes items days late, so expiry is checked on every read and write);
/// - every write sets `version` to the stored version plus one (a record without a
///   version counts as 0), so a reader can tell that something changed;
/// - [`replace`](Self::replace) writes only when the stored version is the expected one,
///   and otherwise returns the current record without another read;
/// - a lease is held while `until > now`; [`acquire_lease`](Self::acquire_lease)
///   succeeds only when no live lease is held;
/// - [`end`](Self::end) records the revocation and deletes the record in one atomic step,
///   so no reader sees the session gone while its tokens are not yet revoked;
/// - a revocation is live while `until > now`, as a record is.
///
/// Every method but [`list_for_user`](Self::list_for_user) reads or writes one key;
/// listing reads the user index (on DynamoDB a global secondary index, eventually
/// consistent: a session made within the last second may be missing from it).
///
/// Use it as `Arc<dyn SessionStore>`; its reads are those of [`SessionReader`].
pub trait SessionStore: SessionReader {
    /// Stores a new record as given; [`StoreError::AlreadyExists`] when a live record has
    /// the id.
    fn create<'a>(&'a self, session: &'a Session) -> StoreFuture<'a, ()>;

    /// Replaces the record under `session.id` with `session` (tokens, times, lease and
    /// extra data; `session.version` is ignored) when the stored version is
    /// `expected_version`; the stored version becomes `expected_version + 1`.
    fn replace<'a>(
        &'a self,
        session: &'a Session,
        expected_version: u64,
    ) -> StoreFuture<'a, Replaced>;

    /// Deletes the record (nothing happens when there is none).
    fn delete<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, ()>;

    /// Takes the refresh lease for `owner` until `until`, when no lease is live at `now`.
    fn acquire_lease<'a>(
        &'a self,
        id: &'a SessionId,
        owner: &'a str,
        until: i64,
        now: i64,
    ) -> StoreFuture<'a, LeaseOutcome>;

    /// Drops `owner`'s lease (bumping the version); `false` when `owner` held none on a
    /// live record.
    fn release_lease<'a>(&'a self, id: &'a SessionId, owner: &'a str) -> StoreFuture<'a, bool>;

    /// Ends a session: records `revocation` (when given; it replaces any earlier record
    /// of the same `origin_jti`) and deletes the record under `id`, atomically. Nothing
    /// happens to a record that is not there; the revocation is recorded anyway.
    fn end<'a>(
        &'a self,
        id: &'a SessionId,
        revocation: Option<&'a Revocation>,
    ) -> StoreFuture<'a, ()>;

    /// The sessions of `user` (a [`user_key`](super::user_key)), newest first, at most
    /// [`MAX_LISTED`], including records past their expiry (so the caller can end
    /// them): what a user sees of their signed-in devices.
    fn list_for_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, Vec<SessionSummary>>;
}

/// The point reads of a session store: all that the authorizer needs (its `cookie`
/// source and its revocation check), so that it can read the table without the rest.
/// Every [`SessionStore`] is one; [`DynamoReader`](super::DynamoReader) is only this.
///
/// Use it as `Arc<dyn SessionReader>`.
pub trait SessionReader: Send + Sync {
    /// `memory` or `dynamodb`, for logs.
    fn backend(&self) -> &'static str;

    /// The live record under `id`, or `None`. A stored item that does not parse is
    /// [`StoreError::Corrupt`].
    fn get<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<Session>>;

    /// Whether the sign-in `origin_jti` was ended: a revocation record under it lives
    /// at `now`. An `origin_jti` that [`is_valid_origin_jti`] refuses is an
    /// [`StoreError::Other`], never `false`.
    ///
    /// [`is_valid_origin_jti`]: super::is_valid_origin_jti
    fn is_revoked<'a>(&'a self, origin_jti: &'a str, now: i64) -> StoreFuture<'a, bool>;
}

/// The most sessions [`SessionStore::list_for_user`] returns (the newest).
pub const MAX_LISTED: usize = 500;

//! A session store around a real one that counts calls, fails the operations a test
//! names, and can have another writer change the session right after a lease is taken:
//! the one wrapper every crate's failure tests use.
//!
//! ```
//! use std::sync::Arc;
//! use l42_core::session::{MemoryStore, SessionId, SessionReader};
//! use l42_tests::stores::{FaultyStore, StoreOp};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = FaultyStore::new(Arc::new(MemoryStore::new()));
//! let id = SessionId::generate().unwrap();
//! assert!(store.get(&id).await.unwrap().is_none());
//! store.fail(StoreOp::Get, true);
//! assert!(store.get(&id).await.is_err());
//! assert_eq!(store.calls(StoreOp::Get), 2);
//! # }
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use l42_core::session::{
    LeaseOutcome, Replaced, Revocation, Session, SessionId, SessionReader, SessionStore,
    SessionSummary, StoreError, StoreFuture,
};

/// One operation of [`SessionStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// [`SessionReader::get`].
    Get,
    /// [`SessionStore::create`].
    Create,
    /// [`SessionStore::replace`].
    Replace,
    /// [`SessionStore::delete`].
    Delete,
    /// [`SessionStore::acquire_lease`].
    AcquireLease,
    /// [`SessionStore::release_lease`].
    ReleaseLease,
    /// [`SessionStore::end`].
    End,
    /// [`SessionReader::is_revoked`].
    IsRevoked,
    /// [`SessionStore::list_for_user`].
    ListForUser,
}

impl StoreOp {
    /// Every operation.
    pub const ALL: [StoreOp; 9] = [
        StoreOp::Get,
        StoreOp::Create,
        StoreOp::Replace,
        StoreOp::Delete,
        StoreOp::AcquireLease,
        StoreOp::ReleaseLease,
        StoreOp::End,
        StoreOp::IsRevoked,
        StoreOp::ListForUser,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// What another writer does to a session right after a lease on it was acquired.
type AfterLease = Box<dyn Fn(&Session) -> Session + Send + Sync>;

/// A [`SessionStore`] that delegates to `inner`, counting each operation, failing the
/// ones [`FaultyStore::fail`] names with [`StoreError::Unavailable`] (without calling
/// `inner`: the write never reaches the table), and running the
/// [`FaultyStore::after_lease`] writer.
pub struct FaultyStore {
    inner: Arc<dyn SessionStore>,
    calls: [AtomicUsize; StoreOp::ALL.len()],
    failing: [AtomicBool; StoreOp::ALL.len()],
    after_lease: Mutex<Option<Arc<AfterLease>>>,
}

impl FaultyStore {
    /// A wrapper that changes nothing until told.
    pub fn new(inner: Arc<dyn SessionStore>) -> FaultyStore {
        FaultyStore {
            inner,
            calls: Default::default(),
            failing: Default::default(),
            after_lease: Mutex::new(None),
        }
    }

    /// From now on `op` fails (`true`) or reaches the inner store again (`false`).
    pub fn fail(&self, op: StoreOp, failing: bool) {
        self.failing[op.index()].store(failing, Ordering::SeqCst);
    }

    /// Every operation fails (`true`), as when the table is unreachable, or none does.
    pub fn fail_all(&self, failing: bool) {
        for op in StoreOp::ALL {
            self.fail(op, failing);
        }
    }

    /// How many times `op` was called, failed calls included.
    pub fn calls(&self, op: StoreOp) -> usize {
        self.calls[op.index()].load(Ordering::SeqCst)
    }

    /// Right after each lease this store acquires, another writer replaces the session
    /// with `change(leased)` (its lease cleared) on the lease's version, as a holder whose
    /// lease lapsed could: the lease holder's own write then finds a newer version.
    pub fn after_lease(&self, change: impl Fn(&Session) -> Session + Send + Sync + 'static) {
        let change: AfterLease = Box::new(change);
        if let Ok(mut slot) = self.after_lease.lock() {
            *slot = Some(Arc::new(change));
        }
    }

    /// Counts `op`; whether it is to fail.
    fn enter(&self, op: StoreOp) -> bool {
        self.calls[op.index()].fetch_add(1, Ordering::SeqCst);
        self.failing[op.index()].load(Ordering::SeqCst)
    }

    fn failure<'a, T: Send + 'a>(op: StoreOp) -> StoreFuture<'a, T> {
        Box::pin(async move {
            Err(StoreError::Unavailable(format!(
                "injected failure of {op:?} (l42_tests::stores::FaultyStore)"
            )))
        })
    }
}

impl SessionReader for FaultyStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn get<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<Session>> {
        if self.enter(StoreOp::Get) {
            return Self::failure(StoreOp::Get);
        }
        self.inner.get(id)
    }

    fn is_revoked<'a>(&'a self, origin_jti: &'a str, now: i64) -> StoreFuture<'a, bool> {
        if self.enter(StoreOp::IsRevoked) {
            return Self::failure(StoreOp::IsRevoked);
        }
        self.inner.is_revoked(origin_jti, now)
    }
}

impl SessionStore for FaultyStore {
    fn create<'a>(&'a self, session: &'a Session) -> StoreFuture<'a, ()> {
        if self.enter(StoreOp::Create) {
            return Self::failure(StoreOp::Create);
        }
        self.inner.create(session)
    }

    fn replace<'a>(&'a self, session: &'a Session, expected: u64) -> StoreFuture<'a, Replaced> {
        if self.enter(StoreOp::Replace) {
            return Self::failure(StoreOp::Replace);
        }
        self.inner.replace(session, expected)
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, ()> {
        if self.enter(StoreOp::Delete) {
            return Self::failure(StoreOp::Delete);
        }
        self.inner.delete(id)
    }

    fn acquire_lease<'a>(
        &'a self,
        id: &'a SessionId,
        owner: &'a str,
        until: i64,
        now: i64,
    ) -> StoreFuture<'a, LeaseOutcome> {
        if self.enter(StoreOp::AcquireLease) {
            return Self::failure(StoreOp::AcquireLease);
        }
        let change = self.after_lease.lock().ok().and_then(|slot| slot.clone());
        Box::pin(async move {
            let out = self.inner.acquire_lease(id, owner, until, now).await?;
            if let (Some(change), LeaseOutcome::Acquired(leased)) = (change, &out) {
                let mut newer = change(leased);
                newer.lease = None;
                self.inner.replace(&newer, leased.version).await?;
            }
            Ok(out)
        })
    }

    fn release_lease<'a>(&'a self, id: &'a SessionId, owner: &'a str) -> StoreFuture<'a, bool> {
        if self.enter(StoreOp::ReleaseLease) {
            return Self::failure(StoreOp::ReleaseLease);
        }
        self.inner.release_lease(id, owner)
    }

    fn end<'a>(
        &'a self,
        id: &'a SessionId,
        revocation: Option<&'a Revocation>,
    ) -> StoreFuture<'a, ()> {
        if self.enter(StoreOp::End) {
            return Self::failure(StoreOp::End);
        }
        self.inner.end(id, revocation)
    }

    fn list_for_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, Vec<SessionSummary>> {
        if self.enter(StoreOp::ListForUser) {
            return Self::failure(StoreOp::ListForUser);
        }
        self.inner.list_for_user(user)
    }
}

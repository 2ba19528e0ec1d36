//! The in-memory session store: the embedded default outside Lambda (one process, lost on
//! restart), with the same semantics as the DynamoDB store.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::id::SessionId;
use super::record::{Lease, Revocation, Session, SessionSummary, is_valid_origin_jti};
use super::store::{
    LeaseOutcome, MAX_LISTED, Replaced, SessionReader, SessionStore, StoreError, StoreFuture,
};
use crate::unix_now;

/// Expired records are swept out after this many creations.
const SWEEP_EVERY: u64 = 1024;

/// Sessions in a mutex-guarded map. Expired records are ignored at once and dropped by a
/// sweep every 1024 creations.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    records: HashMap<String, Session>,
    /// `origin_jti` → until.
    revocations: HashMap<String, i64>,
    creations: u64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.lock().records.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The number of records held, expired ones included until the next sweep.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves the map consistent, so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live record under `id` at `now`, mutably.
    fn live<'m>(inner: &'m mut Inner, id: &SessionId, now: i64) -> Option<&'m mut Session> {
        inner
            .records
            .get_mut(id.as_str())
            .filter(|s| !s.is_expired(now))
    }

    fn create_now(&self, session: &Session, now: i64) -> Result<(), StoreError> {
        session.check_writable().map_err(StoreError::Other)?;
        let mut inner = self.lock();
        if Self::live(&mut inner, &session.id, now).is_some() {
            return Err(StoreError::AlreadyExists);
        }
        inner.creations += 1;
        if inner.creations.is_multiple_of(SWEEP_EVERY) {
            inner.records.retain(|_, s| !s.is_expired(now));
            inner.revocations.retain(|_, until| *until > now);
        }
        inner
            .records
            .insert(session.id.as_str().to_string(), session.clone());
        Ok(())
    }

    fn replace_now(
        &self,
        session: &Session,
        expected_version: u64,
        now: i64,
    ) -> Result<Replaced, StoreError> {
        session.check_writable().map_err(StoreError::Other)?;
        let mut inner = self.lock();
        let Some(current) = Self::live(&mut inner, &session.id, now) else {
            return Ok(Replaced::Missing);
        };
        if current.version != expected_version {
            return Ok(Replaced::Conflict(current.clone()));
        }
        let mut next = session.clone();
        next.version = expected_version.saturating_add(1);
        // Who and where from are kept unless the replacing record says.
        if next.user.is_none() {
            next.user.clone_from(&current.user);
        }
        if next.user_agent.is_none() {
            next.user_agent.clone_from(&current.user_agent);
        }
        *current = next.clone();
        Ok(Replaced::Written(next))
    }

    fn acquire_now(&self, id: &SessionId, owner: &str, until: i64, now: i64) -> LeaseOutcome {
        let mut inner = self.lock();
        let Some(current) = Self::live(&mut inner, id, now) else {
            return LeaseOutcome::Missing;
        };
        if current.live_lease(now).is_some() {
            return LeaseOutcome::Held(current.clone());
        }
        current.lease = Some(Lease {
            owner: owner.to_string(),
            until,
        });
        current.version = current.version.saturating_add(1);
        LeaseOutcome::Acquired(current.clone())
    }

    fn release_now(&self, id: &SessionId, owner: &str, now: i64) -> bool {
        let mut inner = self.lock();
        match Self::live(&mut inner, id, now) {
            Some(current) if current.lease.as_ref().is_some_and(|l| l.owner == owner) => {
                current.lease = None;
                current.version = current.version.saturating_add(1);
                true
            }
            _ => false,
        }
    }
}

impl MemoryStore {
    fn end_now(&self, id: &SessionId, revocation: Option<&Revocation>) -> Result<(), StoreError> {
        if let Some(r) = revocation
            && !is_valid_origin_jti(&r.origin_jti)
        {
            return Err(StoreError::Other("not a usable origin_jti".into()));
        }
        let mut inner = self.lock();
        if let Some(r) = revocation {
            inner.revocations.insert(r.origin_jti.clone(), r.until);
        }
        inner.records.remove(id.as_str());
        Ok(())
    }

    fn is_revoked_now(&self, origin_jti: &str, now: i64) -> Result<bool, StoreError> {
        if !is_valid_origin_jti(origin_jti) {
            return Err(StoreError::Other("not a usable origin_jti".into()));
        }
        Ok(self
            .lock()
            .revocations
            .get(origin_jti)
            .is_some_and(|until| *until > now))
    }

    fn list_now(&self, user: &str) -> Vec<SessionSummary> {
        let inner = self.lock();
        let mut listed: Vec<SessionSummary> = inner
            .records
            .values()
            .filter(|s| s.user.as_deref() == Some(user))
            .map(Session::summary)
            .collect();
        // Newest first, as the index's sort key orders them; ties by id, for a stable order.
        listed.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.as_str().cmp(b.id.as_str()))
        });
        listed.truncate(MAX_LISTED);
        listed
    }
}

impl SessionReader for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn get<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<Session>> {
        Box::pin(async move {
            let now = unix_now();
            Ok(Self::live(&mut self.lock(), id, now).map(|s| s.clone()))
        })
    }

    fn is_revoked<'a>(&'a self, origin_jti: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.is_revoked_now(origin_jti, now) })
    }
}

impl SessionStore for MemoryStore {
    fn create<'a>(&'a self, session: &'a Session) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.create_now(session, unix_now()) })
    }

    fn replace<'a>(
        &'a self,
        session: &'a Session,
        expected_version: u64,
    ) -> StoreFuture<'a, Replaced> {
        Box::pin(async move { self.replace_now(session, expected_version, unix_now()) })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.lock().records.remove(id.as_str());
            Ok(())
        })
    }

    fn acquire_lease<'a>(
        &'a self,
        id: &'a SessionId,
        owner: &'a str,
        until: i64,
        now: i64,
    ) -> StoreFuture<'a, LeaseOutcome> {
        Box::pin(async move { Ok(self.acquire_now(id, owner, until, now)) })
    }

    fn release_lease<'a>(&'a self, id: &'a SessionId, owner: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move { Ok(self.release_now(id, owner, unix_now())) })
    }

    fn end<'a>(
        &'a self,
        id: &'a SessionId,
        revocation: Option<&'a Revocation>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.end_now(id, revocation) })
    }

    fn list_for_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, Vec<SessionSummary>> {
        Box::pin(async move { Ok(self.list_now(user)) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::sync::Arc;

    use super::*;

    crate::session_store_tests!(async { Arc::new(MemoryStore::new()) });

    #[tokio::test]
    async fn expired_records_are_swept() {
        let store = MemoryStore::new();
        let now = unix_now();
        let old = crate::session::testing::session(now - 100, now - 1);
        store.create(&old).await.unwrap();
        for _ in 0..SWEEP_EVERY {
            let s = crate::session::testing::session(now, now + 100);
            store.create(&s).await.unwrap();
        }
        assert_eq!(store.len(), SWEEP_EVERY as usize);
        assert!(store.get(&old.id).await.unwrap().is_none());
    }
}

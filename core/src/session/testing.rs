//! The shared test suite of [`SessionStore`] implementations (feature `testing`).
//!
//! Each case is a function taking a fresh store; [`session_store_tests!`] turns all of them
//! into `#[tokio::test]`s for one store constructor, so every backend runs the same suite:
//!
//! ```ignore
//! l42_core::session_store_tests!(async { std::sync::Arc::new(MemoryStore::new()) });
//! ```
//!
//! [`session_store_tests!`]: crate::session_store_tests
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::Value;

use super::{
    Lease, LeaseOutcome, Replaced, Revocation, Session, SessionId, SessionStore, SessionTokens,
    StoreError,
};
use crate::unix_now;

/// Tokens whose every value contains `tag`.
pub fn tokens(tag: &str) -> SessionTokens {
    SessionTokens {
        access_token: format!("access-{tag}"),
        id_token: format!("id-{tag}"),
        refresh_token: Some(format!("refresh-{tag}")),
        auth_method: "handler".into(),
    }
}

/// A new record with a random id, tokens tagged `first`, and these times.
pub fn session(created_at: i64, expires_at: i64) -> Session {
    Session::new(
        SessionId::generate().unwrap(),
        tokens("first"),
        created_at,
        expires_at,
    )
}

/// A live record of `user`, made at `created_at`, from a browser named `agent`.
pub fn user_session(user: &str, created_at: i64, agent: &str) -> Session {
    let mut s = session(created_at, unix_now() + 3600);
    s.user = Some(user.to_string());
    s.user_agent = Some(agent.to_string());
    s
}

/// A fresh `origin_jti` (a UUID-shaped random value), so tests on one table never meet.
pub fn origin_jti() -> String {
    let id = SessionId::generate().unwrap();
    let hex: String = id
        .as_str()
        .bytes()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A record that lives for an hour from now.
pub fn live_session() -> Session {
    let now = unix_now();
    session(now, now + 3600)
}

/// Expands to one `#[tokio::test]` per case of the suite, each calling `$make.await` for a
/// fresh `Arc<dyn SessionStore>` (or an `Arc` of a concrete store).
///
/// `session_store_tests!(make)` runs every case. `session_store_tests!(non_atomic: make)`
/// leaves out the two cases that need the backend's conditional writes to be atomic under
/// concurrent requests (exactly one winner) and runs, instead, the cases that check what
/// holds anyway: for an emulator that evaluates a condition and writes without a lock
/// (moto), whose races would make the strict cases flaky.
#[macro_export]
macro_rules! session_store_tests {
    (non_atomic: $make:expr) => {
        $crate::session_store_tests!(@cases $make;
            create_get_round_trip,
            create_twice_is_refused,
            create_over_an_expired_record,
            replace_with_the_right_version,
            replace_with_a_stale_version_returns_the_current_record,
            replace_of_a_missing_or_expired_record,
            replace_sets_and_clears_the_lease,
            expired_record_is_none,
            delete_removes_and_is_idempotent,
            lease_acquire_held_takeover_release,
            lease_acquisition_bumps_the_version,
            oversized_or_empty_records_are_refused,
            concurrent_replaces_stay_consistent,
            concurrent_lease_acquisitions_stay_consistent,
            end_records_the_revocation_and_deletes,
            revocations_expire_and_are_per_sign_in,
            unusable_origin_jtis_are_refused,
            sessions_are_listed_per_user_newest_first,
            listing_shows_refreshes_and_expired_sessions,
        );
    };
    ($make:expr) => {
        $crate::session_store_tests!(@cases $make;
            create_get_round_trip,
            create_twice_is_refused,
            create_over_an_expired_record,
            replace_with_the_right_version,
            replace_with_a_stale_version_returns_the_current_record,
            replace_of_a_missing_or_expired_record,
            replace_sets_and_clears_the_lease,
            expired_record_is_none,
            delete_removes_and_is_idempotent,
            lease_acquire_held_takeover_release,
            lease_acquisition_bumps_the_version,
            oversized_or_empty_records_are_refused,
            concurrent_replaces_stay_consistent,
            concurrent_lease_acquisitions_stay_consistent,
            concurrent_replaces_exactly_one_wins,
            concurrent_lease_acquisitions_exactly_one_wins,
            end_records_the_revocation_and_deletes,
            revocations_expire_and_are_per_sign_in,
            unusable_origin_jtis_are_refused,
            sessions_are_listed_per_user_newest_first,
            listing_shows_refreshes_and_expired_sessions,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::session::SessionStore> = $make.await;
                $crate::session::testing::$case(store).await;
            }
        )*
    };
}

/// A record comes back as it was written, and an unknown id is `None`.
pub async fn create_get_round_trip(store: Arc<dyn SessionStore>) {
    let mut s = live_session();
    s.extra
        .insert("return_to".into(), Value::String("/app".into()));
    s.extra.insert(
        "nested".into(),
        serde_json::json!({"a": [1, 2, {"b": null}]}),
    );
    store.create(&s).await.unwrap();
    let got = store.get(&s.id).await.unwrap().expect("the record");
    assert_eq!(got, s);

    let mut no_refresh = live_session();
    no_refresh.tokens.refresh_token = None;
    no_refresh.tokens.auth_method = "direct".into();
    store.create(&no_refresh).await.unwrap();
    assert_eq!(store.get(&no_refresh.id).await.unwrap(), Some(no_refresh));

    let unknown = SessionId::generate().unwrap();
    assert_eq!(store.get(&unknown).await.unwrap(), None);
}

/// A second create under a live id fails and leaves the first record alone.
pub async fn create_twice_is_refused(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let mut other = s.clone();
    other.tokens = tokens("second");
    assert_eq!(store.create(&other).await, Err(StoreError::AlreadyExists));
    assert_eq!(store.get(&s.id).await.unwrap(), Some(s));
}

/// An expired record counts as absent for create too.
pub async fn create_over_an_expired_record(store: Arc<dyn SessionStore>) {
    let now = unix_now();
    let old = session(now - 7200, now - 3600);
    store.create(&old).await.unwrap();
    let mut new = old.clone();
    new.expires_at = now + 3600;
    new.tokens = tokens("second");
    store.create(&new).await.unwrap();
    assert_eq!(store.get(&old.id).await.unwrap(), Some(new));
}

/// A replace with the stored version writes and bumps it; the next one needs the new
/// version.
pub async fn replace_with_the_right_version(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let mut next = s.clone();
    next.tokens = tokens("second");
    next.extra.insert("k".into(), Value::from(1));
    next.version = 99; // ignored
    let Replaced::Written(written) = store.replace(&next, 0).await.unwrap() else {
        panic!("expected Written");
    };
    assert_eq!(written.version, 1);
    assert_eq!(written.tokens, tokens("second"));
    let got = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(got, written);

    let mut third = got.clone();
    third.tokens = tokens("third");
    third.tokens.refresh_token = None;
    let Replaced::Written(written) = store.replace(&third, 1).await.unwrap() else {
        panic!("expected Written");
    };
    assert_eq!(written.version, 2);
    assert_eq!(
        store.get(&s.id).await.unwrap().unwrap().tokens,
        third.tokens
    );
}

/// A replace with a stale version changes nothing and returns what is stored.
pub async fn replace_with_a_stale_version_returns_the_current_record(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let mut a = s.clone();
    a.tokens = tokens("a");
    assert!(matches!(
        store.replace(&a, 0).await.unwrap(),
        Replaced::Written(_)
    ));
    let mut b = s.clone();
    b.tokens = tokens("b");
    match store.replace(&b, 0).await.unwrap() {
        Replaced::Conflict(current) => {
            assert_eq!(current.version, 1);
            assert_eq!(current.tokens, tokens("a"));
            assert_eq!(current.id, s.id);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    // A version from the future conflicts too.
    assert!(matches!(
        store.replace(&b, 7).await.unwrap(),
        Replaced::Conflict(_)
    ));
    assert_eq!(store.get(&s.id).await.unwrap().unwrap().tokens, tokens("a"));
}

/// Nothing to replace: never made, deleted, or expired.
pub async fn replace_of_a_missing_or_expired_record(store: Arc<dyn SessionStore>) {
    let never = live_session();
    assert_eq!(store.replace(&never, 0).await.unwrap(), Replaced::Missing);
    assert_eq!(store.get(&never.id).await.unwrap(), None, "not created");

    let now = unix_now();
    let old = session(now - 100, now - 1);
    store.create(&old).await.unwrap();
    let mut revived = old.clone();
    revived.expires_at = now + 3600;
    assert_eq!(store.replace(&revived, 0).await.unwrap(), Replaced::Missing);
    assert_eq!(store.get(&old.id).await.unwrap(), None);

    let gone = live_session();
    store.create(&gone).await.unwrap();
    store.delete(&gone.id).await.unwrap();
    assert_eq!(store.replace(&gone, 0).await.unwrap(), Replaced::Missing);
}

/// The lease is written as the replacing record has it.
pub async fn replace_sets_and_clears_the_lease(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let mut leased = s.clone();
    leased.lease = Some(Lease {
        owner: "worker-1".into(),
        until: unix_now() + 30,
    });
    store.replace(&leased, 0).await.unwrap();
    assert_eq!(store.get(&s.id).await.unwrap().unwrap().lease, leased.lease);
    store.replace(&s, 1).await.unwrap();
    let got = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(got.lease, None);
    assert_eq!(got.version, 2);
}

/// A record past its expiry is `None` (whether or not the backend deleted it).
pub async fn expired_record_is_none(store: Arc<dyn SessionStore>) {
    let now = unix_now();
    let old = session(now - 100, now - 1);
    store.create(&old).await.unwrap();
    assert_eq!(store.get(&old.id).await.unwrap(), None);
    let edge = session(now - 100, now - 100);
    store.create(&edge).await.unwrap();
    assert_eq!(store.get(&edge.id).await.unwrap(), None);
    let alive = session(now, now + 60);
    store.create(&alive).await.unwrap();
    assert!(store.get(&alive.id).await.unwrap().is_some());
}

/// Delete removes the record; deleting again, or an unknown id, is fine.
pub async fn delete_removes_and_is_idempotent(store: Arc<dyn SessionStore>) {
    let s = live_session();
    let keep = live_session();
    store.create(&s).await.unwrap();
    store.create(&keep).await.unwrap();
    store.delete(&s.id).await.unwrap();
    assert_eq!(store.get(&s.id).await.unwrap(), None);
    store.delete(&s.id).await.unwrap();
    store.delete(&SessionId::generate().unwrap()).await.unwrap();
    assert!(store.get(&keep.id).await.unwrap().is_some());
    // The id can be used again after a delete.
    store.create(&s).await.unwrap();
}

/// Acquire, held by someone else, taken over once it lapsed, released by its owner only.
pub async fn lease_acquire_held_takeover_release(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let now = unix_now();

    let LeaseOutcome::Acquired(a) = store
        .acquire_lease(&s.id, "a", now + 30, now)
        .await
        .unwrap()
    else {
        panic!("expected Acquired");
    };
    assert_eq!(
        a.lease,
        Some(Lease {
            owner: "a".into(),
            until: now + 30
        })
    );
    assert_eq!(a.version, 1);
    assert_eq!(store.get(&s.id).await.unwrap().unwrap(), a);

    match store
        .acquire_lease(&s.id, "b", now + 30, now)
        .await
        .unwrap()
    {
        LeaseOutcome::Held(current) => {
            assert_eq!(current.lease.as_ref().map(|l| l.owner.as_str()), Some("a"));
            assert_eq!(current.version, 1);
        }
        other => panic!("expected Held, got {other:?}"),
    }
    // Still held one second before it lapses; taken over when `until <= now`.
    assert!(matches!(
        store
            .acquire_lease(&s.id, "b", now + 90, now + 29)
            .await
            .unwrap(),
        LeaseOutcome::Held(_)
    ));
    let LeaseOutcome::Acquired(b) = store
        .acquire_lease(&s.id, "b", now + 90, now + 30)
        .await
        .unwrap()
    else {
        panic!("expected a takeover of the lapsed lease");
    };
    assert_eq!(b.lease.as_ref().map(|l| l.owner.as_str()), Some("b"));
    assert_eq!(b.version, 2);

    assert!(!store.release_lease(&s.id, "a").await.unwrap(), "not a's");
    assert!(store.release_lease(&s.id, "b").await.unwrap());
    let got = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(got.lease, None);
    assert_eq!(got.version, 3);
    assert_eq!(got.tokens, s.tokens);
    assert!(!store.release_lease(&s.id, "b").await.unwrap(), "released");

    // Free again.
    assert!(matches!(
        store
            .acquire_lease(&s.id, "c", now + 30, now)
            .await
            .unwrap(),
        LeaseOutcome::Acquired(_)
    ));

    let unknown = SessionId::generate().unwrap();
    assert_eq!(
        store
            .acquire_lease(&unknown, "a", now + 30, now)
            .await
            .unwrap(),
        LeaseOutcome::Missing
    );
    assert!(!store.release_lease(&unknown, "a").await.unwrap());

    let old = session(now - 100, now - 1);
    store.create(&old).await.unwrap();
    assert_eq!(
        store
            .acquire_lease(&old.id, "a", now + 30, now)
            .await
            .unwrap(),
        LeaseOutcome::Missing
    );
}

/// Taking a lease is a write: a replace based on an older read conflicts.
pub async fn lease_acquisition_bumps_the_version(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let read = store.get(&s.id).await.unwrap().unwrap();
    let now = unix_now();
    let LeaseOutcome::Acquired(held) = store
        .acquire_lease(&s.id, "owner", now + 30, now)
        .await
        .unwrap()
    else {
        panic!("expected Acquired");
    };
    let mut stale = read.clone();
    stale.tokens = tokens("stale");
    match store.replace(&stale, read.version).await.unwrap() {
        Replaced::Conflict(current) => assert_eq!(current.lease, held.lease),
        other => panic!("expected Conflict, got {other:?}"),
    }
    // The holder writes new tokens and drops its lease in one replace.
    let mut fresh = held.clone();
    fresh.tokens = tokens("fresh");
    fresh.lease = None;
    let Replaced::Written(done) = store.replace(&fresh, held.version).await.unwrap() else {
        panic!("expected Written");
    };
    assert_eq!(done.version, held.version + 1);
    assert_eq!(store.get(&s.id).await.unwrap().unwrap(), done);
}

/// Eight writers replace with the same expected version at once; returns the outcomes.
async fn race_replaces(store: &Arc<dyn SessionStore>, s: &Session) -> Vec<Replaced> {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let mut next = s.clone();
        next.tokens = tokens(&format!("writer-{i}"));
        tasks.push(tokio::spawn(async move {
            store.replace(&next, 0).await.unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    outcomes
}

/// Eight writers race with the same expected version: exactly one wins, the others learn
/// the winner's record.
pub async fn concurrent_replaces_exactly_one_wins(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for outcome in race_replaces(&store, &s).await {
        match outcome {
            Replaced::Written(w) => winners.push(w),
            Replaced::Conflict(current) => {
                assert_eq!(current.version, 1);
                conflicts += 1;
            }
            Replaced::Missing => panic!("the record exists"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    assert_eq!(conflicts, 7);
    let got = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(got, winners[0]);
}

/// Eight writers race: every one gets an answer, at least one wins, every answer is a
/// record some writer wrote, and the stored record is one of the winners'.
pub async fn concurrent_replaces_stay_consistent(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let outcomes = race_replaces(&store, &s).await;
    let winners: Vec<&Session> = outcomes
        .iter()
        .filter_map(|o| match o {
            Replaced::Written(w) => Some(w),
            _ => None,
        })
        .collect();
    assert!(!winners.is_empty(), "someone wins");
    for o in &outcomes {
        match o {
            Replaced::Written(w) => assert_eq!(w.version, 1),
            Replaced::Conflict(current) => {
                assert!(current.version >= 1);
                assert!(current.tokens.access_token.starts_with("access-writer-"));
            }
            Replaced::Missing => panic!("the record exists"),
        }
    }
    let got = store.get(&s.id).await.unwrap().unwrap();
    assert!(winners.iter().any(|w| w.tokens == got.tokens));
    // Sequential writes after the race see its result.
    let mut next = got.clone();
    next.tokens = tokens("after");
    assert!(matches!(
        store.replace(&next, got.version).await.unwrap(),
        Replaced::Written(_)
    ));
}

/// Eight would-be refreshers take the lease at once; returns the outcomes.
async fn race_leases(store: &Arc<dyn SessionStore>, s: &Session, now: i64) -> Vec<LeaseOutcome> {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let id = s.id.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("worker-{i}");
            store
                .acquire_lease(&id, &owner, now + 30, now)
                .await
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    outcomes
}

/// Eight would-be refreshers race for the lease: exactly one gets it.
pub async fn concurrent_lease_acquisitions_exactly_one_wins(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let now = unix_now();
    let mut acquired = Vec::new();
    for outcome in race_leases(&store, &s, now).await {
        match outcome {
            LeaseOutcome::Acquired(a) => acquired.push(a),
            LeaseOutcome::Held(current) => assert!(current.live_lease(now).is_some()),
            LeaseOutcome::Missing => panic!("the record exists"),
        }
    }
    assert_eq!(acquired.len(), 1, "exactly one lease");
    assert_eq!(store.get(&s.id).await.unwrap().unwrap(), acquired[0]);
}

/// Eight would-be refreshers race: at least one gets the lease, the others see a live
/// one, and the stored lease belongs to a worker that was told it acquired it.
pub async fn concurrent_lease_acquisitions_stay_consistent(store: Arc<dyn SessionStore>) {
    let s = live_session();
    store.create(&s).await.unwrap();
    let now = unix_now();
    let outcomes = race_leases(&store, &s, now).await;
    let mut owners = Vec::new();
    for o in &outcomes {
        match o {
            LeaseOutcome::Acquired(a) => owners.push(a.lease.clone().unwrap().owner),
            LeaseOutcome::Held(current) => assert!(current.live_lease(now).is_some()),
            LeaseOutcome::Missing => panic!("the record exists"),
        }
    }
    assert!(!owners.is_empty(), "someone gets the lease");
    let got = store.get(&s.id).await.unwrap().unwrap();
    assert!(owners.contains(&got.lease.unwrap().owner));
}

/// Records that cannot be stored are refused before any write.
pub async fn oversized_or_empty_records_are_refused(store: Arc<dyn SessionStore>) {
    let mut big = live_session();
    big.extra.insert(
        "big".into(),
        Value::String("x".repeat(super::record::MAX_DATA_BYTES)),
    );
    assert!(matches!(
        store.create(&big).await,
        Err(StoreError::Other(_))
    ));
    assert_eq!(store.get(&big.id).await.unwrap(), None);

    let mut empty = live_session();
    empty.tokens.access_token.clear();
    assert!(matches!(
        store.create(&empty).await,
        Err(StoreError::Other(_))
    ));
    let ok = live_session();
    store.create(&ok).await.unwrap();
    assert!(matches!(
        store.replace(&big, 0).await,
        Err(StoreError::Other(_))
    ));
}

/// `end` records the revocation and deletes the record; ending again, or a session that
/// is not there, still records it.
pub async fn end_records_the_revocation_and_deletes(store: Arc<dyn SessionStore>) {
    let now = unix_now();
    let s = live_session();
    let keep = live_session();
    store.create(&s).await.unwrap();
    store.create(&keep).await.unwrap();
    let r = Revocation {
        origin_jti: origin_jti(),
        until: now + 600,
    };
    assert!(!store.is_revoked(&r.origin_jti, now).await.unwrap());
    store.end(&s.id, Some(&r)).await.unwrap();
    assert_eq!(store.get(&s.id).await.unwrap(), None);
    assert!(store.is_revoked(&r.origin_jti, now).await.unwrap());
    assert!(
        store.get(&keep.id).await.unwrap().is_some(),
        "only that one"
    );
    // Again, and for an id never made: fine, and the revocation stands.
    store.end(&s.id, Some(&r)).await.unwrap();
    let other = Revocation {
        origin_jti: origin_jti(),
        until: now + 600,
    };
    store
        .end(&SessionId::generate().unwrap(), Some(&other))
        .await
        .unwrap();
    assert!(store.is_revoked(&other.origin_jti, now).await.unwrap());
    // Without a revocation, `end` is a delete.
    store.end(&keep.id, None).await.unwrap();
    assert_eq!(store.get(&keep.id).await.unwrap(), None);
    // A revocation record is not a session: no id reads it as one.
    assert_eq!(store.list_for_user(&r.origin_jti).await.unwrap(), vec![]);
}

/// A revocation lives while `until > now`, covers only its own sign-in, and a later one
/// replaces it.
pub async fn revocations_expire_and_are_per_sign_in(store: Arc<dyn SessionStore>) {
    let now = unix_now();
    let r = Revocation {
        origin_jti: origin_jti(),
        until: now + 60,
    };
    store
        .end(&SessionId::generate().unwrap(), Some(&r))
        .await
        .unwrap();
    assert!(store.is_revoked(&r.origin_jti, now + 59).await.unwrap());
    assert!(!store.is_revoked(&r.origin_jti, now + 60).await.unwrap());
    assert!(!store.is_revoked(&origin_jti(), now).await.unwrap());
    let later = Revocation {
        origin_jti: r.origin_jti.clone(),
        until: now + 120,
    };
    store
        .end(&SessionId::generate().unwrap(), Some(&later))
        .await
        .unwrap();
    assert!(store.is_revoked(&r.origin_jti, now + 100).await.unwrap());
}

/// An `origin_jti` l42 would not write is an error, never "not revoked", and `end` with
/// one changes nothing.
pub async fn unusable_origin_jtis_are_refused(store: Arc<dyn SessionStore>) {
    let now = unix_now();
    let s = live_session();
    store.create(&s).await.unwrap();
    let long = "a".repeat(super::MAX_ORIGIN_JTI_BYTES + 1);
    for bad in ["", "a#b", "a b", "é", "rev#x", long.as_str()] {
        assert!(
            matches!(store.is_revoked(bad, now).await, Err(StoreError::Other(_))),
            "{bad:?}"
        );
        let r = Revocation {
            origin_jti: bad.to_string(),
            until: now + 60,
        };
        assert!(store.end(&s.id, Some(&r)).await.is_err(), "{bad:?}");
        assert!(store.get(&s.id).await.unwrap().is_some(), "kept: {bad:?}");
    }
}

/// A user's sessions, newest first, and nobody else's; records without a user are never
/// listed; an ended session leaves the list.
pub async fn sessions_are_listed_per_user_newest_first(store: Arc<dyn SessionStore>) {
    let now = unix_now();
    let alice = format!("pool|alice-{}", origin_jti());
    let bob = format!("pool|bob-{}", origin_jti());
    let first = user_session(&alice, now - 20, "Firefox");
    let mut second = user_session(&alice, now - 10, "Chrome");
    second.tokens.auth_method = "direct".into();
    let theirs = user_session(&bob, now - 5, "Safari");
    let nobody = live_session();
    for s in [&first, &second, &theirs, &nobody] {
        store.create(s).await.unwrap();
    }
    let listed = store.list_for_user(&alice).await.unwrap();
    assert_eq!(listed, vec![second.summary(), first.summary()]);
    assert_eq!(listed[0].auth_method, "direct");
    assert_eq!(listed[0].user_agent.as_deref(), Some("Chrome"));
    assert_eq!(listed[1].last_used_at, now - 20);
    assert_eq!(
        store.list_for_user(&bob).await.unwrap(),
        vec![theirs.summary()]
    );
    // A prefix of a user key is another user.
    assert_eq!(store.list_for_user("pool|alice").await.unwrap(), vec![]);
    store.end(&second.id, None).await.unwrap();
    assert_eq!(
        store.list_for_user(&alice).await.unwrap(),
        vec![first.summary()]
    );
}

/// A refresh moves `last_used_at` and keeps who and where from; a session past its
/// expiry is still listed (the caller ends it).
pub async fn listing_shows_refreshes_and_expired_sessions(store: Arc<dyn SessionStore>) {
    let now = unix_now();
    let user = format!("pool|carol-{}", origin_jti());
    let s = user_session(&user, now - 100, "Firefox");
    store.create(&s).await.unwrap();
    let mut refreshed = s.clone();
    refreshed.tokens = tokens("second");
    refreshed
        .extra
        .insert(super::record::REFRESHED_AT.into(), Value::from(now - 3));
    // A replacing record that does not name them keeps the user and agent.
    refreshed.user = None;
    refreshed.user_agent = None;
    store.replace(&refreshed, 0).await.unwrap();
    let listed = store.list_for_user(&user).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, now - 3);
    assert_eq!(listed[0].user_agent.as_deref(), Some("Firefox"));
    let got = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(got.user.as_deref(), Some(user.as_str()));

    let mut old = user_session(&user, now - 7200, "Old");
    old.expires_at = now - 1;
    store.create(&old).await.unwrap();
    let listed = store.list_for_user(&user).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].id, old.id);
    assert!(listed[1].expires_at <= now);
}

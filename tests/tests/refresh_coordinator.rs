//! The single-flight refresh coordinator (`l42_core::session::refresh`) against the real
//! parts: DynamoDB on the emulator (serialized, so conditional writes are atomic) and the
//! dev identity provider, whose `/_dev/stats` count the refresh grants Cognito would see.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use l42_core::session::refresh::{RefreshError, RefreshOptions, RefreshSource, Refresher};
use l42_core::session::{DynamoStore, MemoryStore, Replaced, Session, SessionStore, SessionTokens};
use l42_core::{CognitoClient, OAuthConfig};
use l42_idp::{Directory, FaultEndpoint, FaultKind};
use l42_tests::idp::{IdpConfig, RunningIdp};
use l42_tests::stores::{FaultyStore, StoreOp};
use l42_tests::{fresh_table, start_idp_with};

const ROTATING: &str = "refresh-rotating";
const GRACE: &str = "refresh-grace";
const NO_ROTATION: &str = "refresh-no-rotation";

fn directory() -> Directory {
    let client = |id: &str, enabled: bool, grace: u32| {
        serde_json::json!({
            "client_id": id,
            "callback_urls": ["http://localhost:3000/auth/callback"],
            "refresh_token_rotation": {"enabled": enabled, "grace_seconds": grace},
        })
    };
    let json = serde_json::json!({
        "groups": ["admin"],
        "users": [{"username": "alice", "password": "pw", "email": "alice@example.com", "groups": ["admin"]}],
        "clients": [client(ROTATING, true, 0), client(GRACE, true, 5), client(NO_ROTATION, false, 0)],
    });
    Directory::from_json(&json.to_string()).unwrap()
}

async fn idp() -> RunningIdp {
    start_idp_with(IdpConfig {
        directory: directory(),
        fault_delay: Duration::from_secs(3),
        ..IdpConfig::default()
    })
    .await
    .unwrap()
}

fn cognito(idp: &RunningIdp, client: &str) -> CognitoClient {
    CognitoClient::new(
        OAuthConfig::new(idp.base_url(), client, None)
            .unwrap()
            .with_timeout(Duration::from_millis(800)),
    )
}

/// Short leases and waits, so that a lapsed lease is taken over within the test.
fn options() -> RefreshOptions {
    RefreshOptions {
        lease: Duration::from_secs(2),
        max_wait: Duration::from_secs(15),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        reuse_window: Duration::ZERO,
    }
}

/// A new session for `alice` signed in through `client`, stored through `store`.
async fn signed_in(idp: &RunningIdp, client: &str, store: &dyn SessionStore) -> Session {
    let session = l42_tests::idp::signed_in_session(idp, "alice", client).unwrap();
    store.create(&session).await.unwrap();
    store.get(&session.id).await.unwrap().unwrap()
}

fn refresh_calls(idp: &RunningIdp) -> u64 {
    idp.stats().grant("refresh_token")
}

/// A DynamoDB store with its own client: two of them stand in for two Lambda instances.
fn dynamo(table: &l42_tests::TestTable) -> Arc<dyn SessionStore> {
    let client = l42_tests::dynamo::moto_client().unwrap();
    Arc::new(DynamoStore::new(client, table.name()))
}

async fn twenty_concurrent(refreshers: &[Refresher], seen: &Session) -> Vec<SessionTokens> {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let r = refreshers[i % refreshers.len()].clone();
            let seen = seen.clone();
            tokio::spawn(async move { r.refresh(&seen).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap().unwrap().session.tokens);
    }
    out
}

#[tokio::test]
async fn twenty_concurrent_refreshes_across_two_instances_call_cognito_once() {
    let idp = idp().await;
    let table = fresh_table().await.unwrap();
    let (store_a, store_b) = (dynamo(&table), dynamo(&table));
    let a = Refresher::new(store_a.clone(), cognito(&idp, ROTATING), options());
    let b = Refresher::new(store_b.clone(), cognito(&idp, ROTATING), options());
    let seen = signed_in(&idp, ROTATING, store_a.as_ref()).await;
    idp.reset_stats();

    let results = twenty_concurrent(&[a, b], &seen).await;

    assert_eq!(refresh_calls(&idp), 1, "exactly one token-endpoint call");
    assert_eq!(results.len(), 20);
    assert!(
        results.iter().all(|t| *t == results[0]),
        "the same new tokens"
    );
    assert_ne!(results[0].access_token, seen.tokens.access_token);
    assert_ne!(
        results[0].refresh_token, seen.tokens.refresh_token,
        "rotated"
    );
    let stored = store_b.get(&seen.id).await.unwrap().expect("not destroyed");
    assert_eq!(stored.tokens, results[0]);
    assert!(stored.lease.is_none());
}

#[tokio::test]
async fn the_in_memory_store_gives_the_same_single_flight() {
    let idp = idp().await;
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    // Two coordinators over one store: two in-process flights racing for the lease.
    let a = Refresher::new(store.clone(), cognito(&idp, ROTATING), options());
    let b = Refresher::new(store.clone(), cognito(&idp, ROTATING), options());
    let seen = signed_in(&idp, ROTATING, store.as_ref()).await;
    idp.reset_stats();
    let results = twenty_concurrent(&[a, b], &seen).await;
    assert_eq!(refresh_calls(&idp), 1);
    assert!(results.iter().all(|t| *t == results[0]));
    assert!(store.get(&seen.id).await.unwrap().is_some());
}

/// A store whose process "dies" after Cognito answered: the write of the new tokens and
/// the lease release never reach the table.
fn dies_before_writing(store: Arc<dyn SessionStore>) -> Arc<dyn SessionStore> {
    let dying = FaultyStore::new(store);
    dying.fail(StoreOp::Replace, true);
    dying.fail(StoreOp::ReleaseLease, true);
    Arc::new(dying)
}

#[tokio::test]
async fn a_lease_holder_that_dies_after_cognito_answered_logs_nobody_out() {
    let idp = idp().await;
    let table = fresh_table().await.unwrap();
    let store = dynamo(&table);
    let dying = Refresher::new(
        dies_before_writing(dynamo(&table)),
        cognito(&idp, GRACE),
        options(),
    );
    let seen = signed_in(&idp, GRACE, store.as_ref()).await;
    idp.reset_stats();

    let e = dying.refresh(&seen).await.unwrap_err();
    assert_eq!(e.status(), 503, "{e:?}");
    assert_eq!(refresh_calls(&idp), 1, "Cognito answered the dead holder");
    let stranded = store.get(&seen.id).await.unwrap().unwrap();
    assert!(stranded.lease.is_some(), "its lease is left behind");
    assert_eq!(
        stranded.tokens, seen.tokens,
        "its tokens were never written"
    );

    // The next callers (two other instances) wait for the lease to lapse, then one takes
    // over and refreshes with the old refresh token, which the 5 s grace period honours.
    let b = Refresher::new(dynamo(&table), cognito(&idp, GRACE), options());
    let c = Refresher::new(dynamo(&table), cognito(&idp, GRACE), options());
    let results = {
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let r = if i % 2 == 0 { b.clone() } else { c.clone() };
                let seen = seen.clone();
                tokio::spawn(async move { r.refresh(&seen).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap());
        }
        out
    };
    assert!(
        results
            .iter()
            .all(|o| o.session.tokens == results[0].session.tokens)
    );
    assert_eq!(
        results
            .iter()
            .filter(|o| o.source == RefreshSource::Cognito && !o.shared)
            .count(),
        1,
        "one flight called Cognito"
    );
    assert_eq!(
        refresh_calls(&idp),
        2,
        "one takeover call, within the grace"
    );
    let stored = store
        .get(&seen.id)
        .await
        .unwrap()
        .expect("nobody logged out");
    assert_eq!(stored.tokens, results[0].session.tokens);
    assert_ne!(stored.tokens.refresh_token, seen.tokens.refresh_token);
    assert!(stored.lease.is_none());
}

#[tokio::test]
async fn cognito_failures_keep_the_session_and_a_later_refresh_succeeds() {
    let idp = idp().await;
    let table = fresh_table().await.unwrap();
    let store = dynamo(&table);
    let r = Refresher::new(store.clone(), cognito(&idp, ROTATING), options());
    let seen = signed_in(&idp, ROTATING, store.as_ref()).await;
    for kind in [FaultKind::Status500, FaultKind::Timeout] {
        idp.faults().inject(FaultEndpoint::Token, kind, 1);
        let e = r.refresh(&seen).await.unwrap_err();
        assert!(
            matches!(
                e,
                RefreshError::Unavailable {
                    reason: "cognito_transient",
                    ..
                }
            ),
            "{kind:?}: {e:?}"
        );
        assert_eq!(e.status(), 503);
        let kept = store.get(&seen.id).await.unwrap().expect("session kept");
        assert_eq!(kept.tokens, seen.tokens);
        assert!(kept.lease.is_none(), "the lease was released");
    }
    let o = r.refresh(&seen).await.unwrap();
    assert_eq!(o.source, RefreshSource::Cognito);
    assert_ne!(o.session.tokens.access_token, seen.tokens.access_token);
}

#[tokio::test]
async fn a_revoked_refresh_token_destroys_the_session() {
    let idp = idp().await;
    let table = fresh_table().await.unwrap();
    let store = dynamo(&table);
    let oauth = cognito(&idp, ROTATING);
    let seen = signed_in(&idp, ROTATING, store.as_ref()).await;
    oauth
        .revoke(seen.tokens.refresh_token.as_deref().unwrap())
        .await
        .unwrap();
    let r = Refresher::new(store.clone(), oauth, options());
    let e = r.refresh(&seen).await.unwrap_err();
    assert_eq!(e, RefreshError::RefreshFailed);
    assert_eq!((e.status(), e.public_message()), (401, "Refresh failed"));
    assert!(store.get(&seen.id).await.unwrap().is_none(), "destroyed");
    // Afterwards: no session.
    assert_eq!(
        r.refresh_id(&seen.id).await.unwrap_err(),
        RefreshError::NotAuthenticated
    );
}

/// A store in which someone else stores newer tokens right after our lease was taken
/// (as a holder whose lease lapsed could), so that Cognito's `invalid_grant` is about a
/// token the session no longer holds.
fn changes_after_lease(store: Arc<dyn SessionStore>) -> Arc<dyn SessionStore> {
    let changing = FaultyStore::new(store);
    changing.after_lease(|leased| {
        let mut newer = leased.clone();
        newer.tokens.refresh_token = Some("someone-elses-newer-token".into());
        newer.tokens.access_token = "newer-access".into();
        newer
    });
    Arc::new(changing)
}

#[tokio::test]
async fn invalid_grant_for_a_token_no_longer_stored_keeps_the_session() {
    let idp = idp().await;
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let seen = signed_in(&idp, ROTATING, store.as_ref()).await;
    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::InvalidGrant, 1);
    let r = Refresher::new(
        changes_after_lease(store.clone()),
        cognito(&idp, ROTATING),
        options(),
    );
    idp.reset_stats();
    let o = r.refresh(&seen).await.unwrap();
    assert_eq!(refresh_calls(&idp), 1, "Cognito refused the old token");
    assert_eq!(o.source, RefreshSource::AlreadyRefreshed);
    assert_eq!(o.session.tokens.access_token, "newer-access");
    assert!(
        store.get(&seen.id).await.unwrap().is_some(),
        "not destroyed"
    );
}

#[tokio::test]
async fn without_rotation_the_old_refresh_token_is_kept() {
    let idp = idp().await;
    let table = fresh_table().await.unwrap();
    let store = dynamo(&table);
    let r = Refresher::new(store.clone(), cognito(&idp, NO_ROTATION), options());
    let seen = signed_in(&idp, NO_ROTATION, store.as_ref()).await;
    idp.reset_stats();
    let first = r.refresh(&seen).await.unwrap();
    assert_eq!(first.source, RefreshSource::Cognito);
    assert_ne!(first.session.tokens.access_token, seen.tokens.access_token);
    assert_eq!(
        first.session.tokens.refresh_token,
        seen.tokens.refresh_token
    );
    // And it still works for the next refresh.
    let second = r.refresh(&first.session).await.unwrap();
    assert_eq!(second.source, RefreshSource::Cognito);
    assert_eq!(
        second.session.tokens.refresh_token,
        seen.tokens.refresh_token
    );
    assert_eq!(refresh_calls(&idp), 2);
    let stored = store.get(&seen.id).await.unwrap().unwrap();
    assert_eq!(stored.tokens, second.session.tokens);
}

#[tokio::test]
async fn refresh_if_needed_only_refreshes_expiring_tokens() {
    let idp = idp().await;
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let r = Refresher::new(store.clone(), cognito(&idp, ROTATING), options());
    let seen = signed_in(&idp, ROTATING, store.as_ref()).await;
    idp.reset_stats();
    // The dev provider's tokens live an hour.
    let o = r.refresh_if_needed(&seen, 60).await.unwrap();
    assert_eq!(o.source, RefreshSource::StillValid);
    assert_eq!(refresh_calls(&idp), 0);
    let o = r.refresh_if_needed(&seen, 7200).await.unwrap();
    assert_eq!(o.source, RefreshSource::Cognito);
    assert_eq!(refresh_calls(&idp), 1);
}

#[tokio::test]
async fn a_session_without_a_refresh_token_is_refused() {
    let idp = idp().await;
    let table = fresh_table().await.unwrap();
    let store = dynamo(&table);
    let mut seen = signed_in(&idp, ROTATING, store.as_ref()).await;
    seen.tokens.refresh_token = None;
    let Replaced::Written(seen) = store.replace(&seen, seen.version).await.unwrap() else {
        panic!("not written");
    };
    let r = Refresher::new(store.clone(), cognito(&idp, ROTATING), options());
    idp.reset_stats();
    assert_eq!(
        r.refresh(&seen).await.unwrap_err(),
        RefreshError::NoRefreshToken
    );
    assert_eq!(refresh_calls(&idp), 0);
    let kept = store.get(&seen.id).await.unwrap().unwrap();
    assert!(kept.lease.is_none());
}

//! The revocation check: a token whose sign-in was ended is refused (401) although it
//! still verifies; the store is read once per sign-in per recheck window; a store that does
//! not answer gives no decision (500), never an Allow; what cannot be checked is refused;
//! machine clients are not checked; with the check off nothing is read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::allowed;

use std::sync::Arc;
use std::time::Duration;

use l42_authorizer::{Authorizer, Outcome, StartupError};
use l42_core::session::testing::origin_jti;
use l42_core::session::{CookieKeys, Revocation, Session, SessionId, SessionStore, SessionTokens};
use l42_core::unix_now;
use l42_tests::stores::{FaultyStore, StoreOp};
use serde_json::{Value, json};

struct Setup {
    store: Arc<FaultyStore>,
    authorizer: Authorizer,
    rt: tokio::runtime::Runtime,
}

const SECRET: &str = "authorizer-revocation-test-secret-012345";

fn setup(extra: &[(&str, &str)]) -> Setup {
    let mut vars = vec![
        ("IDENTITY_SOURCES", "header,cookie"),
        ("SESSION_SECRET", SECRET),
        ("SESSION_HTTPS_ONLY", "true"),
    ];
    vars.extend_from_slice(extra);
    let (store, authorizer) = common::golden_with_store(&vars);
    Setup {
        store,
        authorizer,
        rt: common::runtime(),
    }
}

/// A reader's access token of the sign-in `ojti` (`None`: without `origin_jti`).
fn token(ojti: Option<&str>) -> String {
    let mut c = common::claims("reader-1", &["readers"]);
    match ojti {
        Some(o) => c["origin_jti"] = json!(o),
        None => {
            c.as_object_mut().unwrap().remove("origin_jti");
        }
    }
    common::key().sign_json(&c).unwrap()
}

/// Every kind of event API Gateway sends, for `GET /request` (`$connect` for WebSocket),
/// carrying `token`.
fn events(token: &str) -> Vec<Value> {
    let arn = "arn:aws:execute-api:us-east-1:123456789012:api/prod";
    vec![
        json!({"type": "TOKEN", "authorizationToken": format!("Bearer {token}"),
               "methodArn": format!("{arn}/GET/request")}),
        json!({"type": "REQUEST", "methodArn": format!("{arn}/GET/request"),
               "resource": "/request", "path": "/request", "httpMethod": "GET",
               "headers": {"Authorization": format!("Bearer {token}")},
               "requestContext": {"identity": {"sourceIp": "203.0.113.7"}}}),
        json!({"version": "2.0", "type": "REQUEST", "routeArn": format!("{arn}/GET/request"),
               "routeKey": "GET /request", "rawPath": "/request",
               "headers": {"authorization": format!("Bearer {token}")},
               "requestContext": {"http": {"method": "GET", "path": "/request",
                                           "sourceIp": "203.0.113.7"}}}),
        json!({"type": "REQUEST", "methodArn": format!("{arn}/$connect"),
               "headers": {"Authorization": format!("Bearer {token}")},
               "requestContext": {"routeKey": "$connect", "eventType": "CONNECT",
                                  "identity": {"sourceIp": "203.0.113.7"}}}),
    ]
}

impl Setup {
    fn handle(&self, ev: &Value) -> Outcome {
        self.rt
            .block_on(self.authorizer.handle(ev.to_string().as_bytes()))
    }

    fn reads(&self) -> usize {
        self.store.calls(StoreOp::IsRevoked)
    }

    fn revoke(&self, ojti: &str) {
        let r = Revocation {
            origin_jti: ojti.to_string(),
            until: unix_now() + 600,
        };
        self.rt
            .block_on(self.store.end(&SessionId::generate().unwrap(), Some(&r)))
            .unwrap();
    }
}

fn refused_as_revoked(o: &Outcome) -> bool {
    matches!(o, Outcome::Unauthorized { explain } if explain.stage == "revocation")
}

#[test]
fn a_revoked_sign_in_is_refused_at_once_without_a_window() {
    let s = setup(&[("REVOCATION_RECHECK_SECONDS", "0")]);
    let ojti = origin_jti();
    let t = token(Some(&ojti));
    for ev in events(&t) {
        assert!(allowed(&s.handle(&ev)), "{ev}");
    }
    s.revoke(&ojti);
    for ev in events(&t) {
        let o = s.handle(&ev);
        assert!(refused_as_revoked(&o), "{ev}: {o:?}");
    }
    assert_eq!(s.reads(), 8, "no window: every request reads");
    // Another sign-in of the same user is not touched.
    let other = token(Some(&origin_jti()));
    assert!(allowed(&s.handle(&events(&other)[0])));
}

#[test]
fn the_store_is_read_once_per_sign_in_per_window() {
    let s = setup(&[("REVOCATION_RECHECK_SECONDS", "1")]);
    let ojti = origin_jti();
    let t = token(Some(&ojti));
    for _ in 0..5 {
        for ev in events(&t) {
            assert!(allowed(&s.handle(&ev)));
        }
    }
    assert_eq!(s.reads(), 1, "twenty requests, one read");
    // Revoked inside the window: the kept answer holds until the window ends...
    s.revoke(&ojti);
    assert!(allowed(&s.handle(&events(&t)[0])));
    assert_eq!(s.reads(), 1);
    // ...and then the next request reads again and is refused.
    std::thread::sleep(Duration::from_millis(1100));
    assert!(refused_as_revoked(&s.handle(&events(&t)[0])));
    assert_eq!(s.reads(), 2);
    // Refusals are kept for the window too.
    assert!(refused_as_revoked(&s.handle(&events(&t)[1])));
    assert_eq!(s.reads(), 2);
}

#[test]
fn a_store_that_does_not_answer_gives_no_decision() {
    let s = setup(&[("REVOCATION_RECHECK_SECONDS", "30")]);
    s.store.fail(StoreOp::IsRevoked, true);
    let t = token(Some(&origin_jti()));
    for ev in events(&t) {
        let o = s.handle(&ev);
        assert!(
            matches!(&o, Outcome::Failed { explain } if explain.stage == "revocation"),
            "{ev}: {o:?}"
        );
    }
    // Nothing was kept from the failures: once the store answers, the check reads.
    s.store.fail(StoreOp::IsRevoked, false);
    let reads = s.reads();
    assert!(allowed(&s.handle(&events(&t)[0])));
    assert_eq!(s.reads(), reads + 1);
}

#[test]
fn what_cannot_be_checked_is_refused_and_machines_are_not_checked() {
    let s = setup(&[]);
    for bad in [None, Some("a#b"), Some(""), Some("two words")] {
        let o = s.handle(&events(&token(bad))[0]);
        assert!(refused_as_revoked(&o), "{bad:?}: {o:?}");
    }
    let long = "a".repeat(l42_core::session::MAX_ORIGIN_JTI_BYTES + 1);
    assert!(refused_as_revoked(
        &s.handle(&events(&token(Some(&long)))[0])
    ));
    assert_eq!(s.reads(), 0, "refused before any read");
    // A machine client's token (client credentials: no username, no groups, sub is the
    // client) has no sign-in to end.
    let now = unix_now();
    let machine = common::key()
        .sign_json(&json!({
            "sub": common::CLIENT, "iss": common::ISSUER, "client_id": common::CLIENT,
            "token_use": "access", "scope": "api/read", "iat": now, "exp": now + 600,
            "jti": "m-1",
        }))
        .unwrap();
    let o = s.handle(&events(&machine)[0]);
    assert!(!matches!(o, Outcome::Unauthorized { .. }), "{o:?}");
    assert_eq!(s.reads(), 0);
}

#[test]
fn a_revoked_session_token_is_refused_through_the_cookie_too() {
    let s = setup(&[("REVOCATION_RECHECK_SECONDS", "0")]);
    let ojti = origin_jti();
    let now = unix_now();
    let id = SessionId::generate().unwrap();
    let session = Session::new(
        id.clone(),
        SessionTokens {
            access_token: token(Some(&ojti)),
            id_token: "unused".into(),
            refresh_token: None,
            auth_method: "direct".into(),
        },
        now,
        now + 3600,
    );
    s.rt.block_on(s.store.create(&session)).unwrap();
    let cookie = CookieKeys::new(SECRET, None)
        .unwrap()
        .sign(&id, now + 3600)
        .unwrap();
    let ev = json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/request",
        "resource": "/request", "path": "/request", "httpMethod": "GET",
        "headers": {"Cookie": format!("__Host-l42_session={cookie}")},
        "requestContext": {"identity": {"sourceIp": "203.0.113.7"}},
    });
    assert!(allowed(&s.handle(&ev)));
    // The same tokens, revoked by another session's end (posted twice to /session).
    s.revoke(&ojti);
    assert!(refused_as_revoked(&s.handle(&ev)));
}

#[test]
fn with_the_check_off_nothing_is_read_and_on_needs_a_store() {
    let s = setup(&[("REVOCATION_CHECK", "off")]);
    let ojti = origin_jti();
    s.revoke(&ojti);
    assert!(allowed(&s.handle(&events(&token(Some(&ojti)))[0])));
    assert!(allowed(&s.handle(&events(&token(None))[0])));
    assert_eq!(s.reads(), 0);
    assert!(s.authorizer.revocation().is_none());
    // On without a store: refused at start-up, naming the variable.
    let e = Authorizer::with_sessions(
        common::config(&[("REVOCATION_CHECK", "on")]),
        l42_cedar::Engine::embedded().unwrap(),
        None,
    )
    .unwrap_err();
    let StartupError::Config(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!(e.var, "REVOCATION_CHECK");
    // Without the session table the default is off.
    assert!(common::embedded_authorizer(&[]).revocation().is_none());
}

/// On DynamoDB (the emulator), through the reader the authorizer runs with
/// (`DynamoReader`: signed `GetItem`s, no SDK), behind a counting proxy: a busy authorizer
/// pays one `GetItem` per sign-in per window, and none for the requests inside it; a
/// revocation written by ending a session is read by the next window's check.
#[tokio::test(flavor = "current_thread")]
async fn on_dynamodb_one_read_per_sign_in_per_window() {
    use l42_core::session::DynamoStore;
    use l42_tests::requests::{CountingProxy, Requests};
    let table = l42_tests::fresh_table().await.unwrap();
    let requests = Requests::default();
    let proxy = CountingProxy::start(&l42_tests::moto_endpoint().unwrap(), &requests)
        .await
        .unwrap();
    let vars = [
        ("DYNAMODB_TABLE", table.name()),
        ("DYNAMODB_ENDPOINT", proxy.url()),
        ("REVOCATION_RECHECK_SECONDS", "1"),
    ];
    // The token handler's side, which ends sessions: the full store, not counted.
    let store = DynamoStore::new(table.client().clone(), table.name());
    let authorizer = common::golden_with_reader(&vars);
    let handle = |ev: Value| {
        let a = &authorizer;
        async move { a.handle(ev.to_string().as_bytes()).await }
    };
    let (a, b) = (origin_jti(), origin_jti());
    let (ta, tb) = (token(Some(&a)), token(Some(&b)));
    for _ in 0..10 {
        for ev in events(&ta).into_iter().chain(events(&tb)) {
            assert!(allowed(&handle(ev).await));
        }
    }
    let counts = requests.take();
    assert_eq!(
        counts,
        [("GetItem".to_string(), 2)].into(),
        "eighty requests of two sign-ins: two reads"
    );
    store
        .end(
            &SessionId::generate().unwrap(),
            Some(&Revocation {
                origin_jti: a.clone(),
                until: unix_now() + 600,
            }),
        )
        .await
        .unwrap();
    requests.take();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(refused_as_revoked(&handle(events(&ta)[0].clone()).await));
    assert!(allowed(&handle(events(&tb)[0].clone()).await));
    assert!(refused_as_revoked(&handle(events(&ta)[2].clone()).await));
    assert_eq!(requests.take(), [("GetItem".to_string(), 2)].into());
}

//! The DynamoDB session store against the emulator: the shared store suite (the same one
//! the in-memory store passes), items the store did not write (corrupt, legacy), the
//! number and kind of requests per operation, and failures of the service.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use l42_core::session::testing::{live_session, origin_jti, tokens, user_session};
use l42_core::session::{
    DynamoOptions, DynamoStore, LeaseOutcome, Replaced, Revocation, SessionId, SessionReader,
    SessionStore, StoreError,
};
use l42_core::unix_now;
use l42_tests::dynamo::{n, s};
use l42_tests::{TestTable, fresh_table};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use l42_tests::requests::{Requests, counted};

fn store_on(table: &TestTable, requests: &Requests) -> DynamoStore {
    DynamoStore::new(counted(table.client(), requests), table.name())
}

async fn suite_store() -> Arc<DynamoStore> {
    let table = fresh_table().await.unwrap();
    Arc::new(store_on(&table, &Requests::default()))
}

/// The shared suite, strict form: of two concurrent conditional writes exactly one wins.
/// moto by itself evaluates a condition and then writes without a lock, so two writes can
/// both succeed; `scripts/test-all` therefore serves it one request at a time
/// (`scripts/moto_serial.py`), which gives DynamoDB's atomic conditional writes.
mod shared_suite {
    use super::*;
    l42_core::session_store_tests!(suite_store());
}

async fn put_raw(table: &TestTable, item: HashMap<String, AttributeValue>) {
    table
        .client()
        .put_item()
        .table_name(table.name())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

fn raw_item(id: &SessionId, data: &str, ttl: i64) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("session_id".to_string(), s(id.as_str())),
        ("data".to_string(), s(data)),
        ("created_at".to_string(), n(unix_now())),
        ("ttl".to_string(), n(ttl)),
    ])
}

#[tokio::test]
async fn corrupt_items_are_reported_without_their_content() {
    let table = fresh_table().await.unwrap();
    let store = store_on(&table, &Requests::default());
    let live = unix_now() + 3600;
    let good_data = r#"{"tokens":{"access_token":"eyJsecret-a","id_token":"eyJsecret-i"}}"#;
    let cases: Vec<(&str, HashMap<String, AttributeValue>)> = vec![
        (
            "data not JSON",
            raw_item(&SessionId::generate().unwrap(), "eyJsecret{", live),
        ),
        (
            "no tokens",
            raw_item(
                &SessionId::generate().unwrap(),
                r#"{"x":"eyJsecret"}"#,
                live,
            ),
        ),
        (
            "tokens of the wrong type",
            raw_item(
                &SessionId::generate().unwrap(),
                r#"{"tokens":{"access_token":"eyJsecret","id_token":["eyJsecret"]}}"#,
                live,
            ),
        ),
        ("ttl not a number", {
            let mut item = raw_item(&SessionId::generate().unwrap(), good_data, live);
            item.insert("ttl".into(), s("tomorrow"));
            item
        }),
        ("version not a number", {
            let mut item = raw_item(&SessionId::generate().unwrap(), good_data, live);
            item.insert("version".into(), s("one"));
            item
        }),
        ("half a lease", {
            let mut item = raw_item(&SessionId::generate().unwrap(), good_data, live);
            item.insert("lease_owner".into(), s("worker"));
            item
        }),
        ("no data", {
            let mut item = raw_item(&SessionId::generate().unwrap(), good_data, live);
            item.remove("data");
            item
        }),
    ];
    for (what, item) in cases {
        let id = match item.get("session_id") {
            Some(AttributeValue::S(id)) => SessionId::parse(id).unwrap(),
            _ => unreachable!(),
        };
        put_raw(&table, item).await;
        match store.get(&id).await {
            Err(StoreError::Corrupt(message)) => {
                assert!(!message.contains("eyJsecret"), "{what}: {message}");
                assert!(!message.contains(id.as_str()), "{what}: {message}");
            }
            other => panic!("{what}: expected Corrupt, got {other:?}"),
        }
    }

    // Corrupt and expired: simply no session.
    let id = SessionId::generate().unwrap();
    put_raw(&table, raw_item(&id, "junk", unix_now() - 10)).await;
    assert_eq!(store.get(&id).await.unwrap(), None);
}

#[tokio::test]
async fn items_of_the_existing_table_are_read_and_updated_in_place() {
    let table = fresh_table().await.unwrap();
    let store = store_on(&table, &Requests::default());
    let id = SessionId::generate().unwrap();
    let now = unix_now();
    // As the earlier L42 backends wrote them: no version, no lease, no auth_method, a
    // decimal created_at, an attribute l42 does not know.
    let mut item = raw_item(
        &id,
        r#"{"tokens":{"access_token":"a","id_token":"i","refresh_token":"r"},"user":{"email":"x@example.com"}}"#,
        now + 3600,
    );
    item.insert("created_at".into(), n(format!("{now}.5")));
    item.insert("user_agent".into(), s("Mozilla/5.0"));
    put_raw(&table, item).await;

    let got = store.get(&id).await.unwrap().unwrap();
    assert_eq!(got.version, 0);
    assert_eq!(got.created_at, now);
    assert_eq!(got.tokens.auth_method, "handler");
    assert_eq!(got.tokens.refresh_token.as_deref(), Some("r"));
    assert!(got.extra.contains_key("user"));

    let mut next = got.clone();
    next.tokens = tokens("rotated");
    let Replaced::Written(written) = store.replace(&next, 0).await.unwrap() else {
        panic!("a record without a version is version 0");
    };
    assert_eq!(written.version, 1);

    let raw = table
        .client()
        .get_item()
        .table_name(table.name())
        .key("session_id", s(id.as_str()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(raw.get("user_agent"), Some(&s("Mozilla/5.0")), "kept");
    assert_eq!(raw.get("version"), Some(&n(1)));
    assert_eq!(raw.get("ttl"), Some(&n(now + 3600)));
    let AttributeValue::S(data) = &raw["data"] else {
        panic!("data is a string");
    };
    let data: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(data["tokens"]["access_token"], "access-rotated");
    assert_eq!(data["tokens"]["auth_method"], "handler");
    assert_eq!(data["user"]["email"], "x@example.com");
}

#[tokio::test]
async fn one_request_per_operation_and_only_point_operations() {
    let table = fresh_table().await.unwrap();
    let requests = Requests::default();
    let store = store_on(&table, &requests);
    let one = |op: &str| HashMap::from([(op.to_string(), 1usize)]);

    let s1 = live_session();
    store.create(&s1).await.unwrap();
    assert_eq!(requests.take(), one("PutItem"), "create");
    store.get(&s1.id).await.unwrap().unwrap();
    assert_eq!(requests.take(), one("GetItem"), "get");
    store.get(&SessionId::generate().unwrap()).await.unwrap();
    assert_eq!(requests.take(), one("GetItem"), "get of nothing");
    assert_eq!(store.create(&s1).await, Err(StoreError::AlreadyExists));
    assert_eq!(requests.take(), one("PutItem"), "refused create");

    let mut next = s1.clone();
    next.tokens = tokens("next");
    assert!(matches!(
        store.replace(&next, 0).await.unwrap(),
        Replaced::Written(_)
    ));
    assert_eq!(requests.take(), one("UpdateItem"), "replace");
    let Replaced::Conflict(current) = store.replace(&next, 0).await.unwrap() else {
        panic!("stale");
    };
    assert_eq!(current.version, 1);
    assert_eq!(
        requests.take(),
        one("UpdateItem"),
        "a conflict returns the current record without a read"
    );
    assert_eq!(
        store.replace(&live_session(), 0).await.unwrap(),
        Replaced::Missing
    );
    assert_eq!(requests.take(), one("UpdateItem"), "replace of nothing");

    let now = unix_now();
    assert!(matches!(
        store
            .acquire_lease(&s1.id, "a", now + 30, now)
            .await
            .unwrap(),
        LeaseOutcome::Acquired(_)
    ));
    assert_eq!(requests.take(), one("UpdateItem"), "acquire");
    assert!(matches!(
        store
            .acquire_lease(&s1.id, "b", now + 30, now)
            .await
            .unwrap(),
        LeaseOutcome::Held(_)
    ));
    assert_eq!(requests.take(), one("UpdateItem"), "held");
    assert!(store.release_lease(&s1.id, "a").await.unwrap());
    assert_eq!(requests.take(), one("UpdateItem"), "release");
    store.delete(&s1.id).await.unwrap();
    assert_eq!(requests.take(), one("DeleteItem"), "delete");

    // Ending: one transaction (the revocation and the delete); without a revocation, a
    // delete. A revocation check: one read. Listing: one query of the user index.
    let s2 = live_session();
    store.create(&s2).await.unwrap();
    requests.take();
    let r = Revocation {
        origin_jti: origin_jti(),
        until: now + 60,
    };
    store.end(&s2.id, Some(&r)).await.unwrap();
    assert_eq!(requests.take(), one("TransactWriteItems"), "end");
    store.end(&s2.id, None).await.unwrap();
    assert_eq!(
        requests.take(),
        one("DeleteItem"),
        "end without a revocation"
    );
    assert!(store.is_revoked(&r.origin_jti, now).await.unwrap());
    assert_eq!(requests.take(), one("GetItem"), "is_revoked");
    assert!(store.list_for_user("pool|nobody").await.unwrap().is_empty());
    assert_eq!(requests.take(), one("Query"), "list_for_user");
    assert_eq!(requests.total(), 0);

    // The counter refuses a query of the table itself, and a scan.
    let q = counted(table.client(), &requests)
        .query()
        .table_name(table.name())
        .key_condition_expression("session_id = :k")
        .expression_attribute_values(":k", s("x"))
        .send()
        .await;
    assert!(q.is_err(), "a query of the table is refused");
    let scan = counted(table.client(), &requests)
        .scan()
        .table_name(table.name())
        .send()
        .await;
    assert!(scan.is_err(), "a scan is refused");
}

/// A user's sessions are listed across pages of the index, newest first, up to
/// `MAX_LISTED`; a revocation record is never listed.
#[tokio::test]
async fn listing_reads_every_page_of_the_index_up_to_the_limit() {
    let table = fresh_table().await.unwrap();
    let requests = Requests::default();
    let store = store_on(&table, &requests);
    let now = unix_now();
    let user = "pool|many";
    let count = l42_core::session::MAX_LISTED + 3;
    let agent = "Firefox";
    for i in 0..count {
        let s = user_session(user, now - i as i64, agent);
        store.create(&s).await.unwrap();
    }
    requests.take();
    let listed = store.list_for_user(user).await.unwrap();
    assert_eq!(listed.len(), l42_core::session::MAX_LISTED);
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at)
    );
    assert_eq!(listed[0].created_at, now);
    // Pages of 100: five full ones make the 500.
    assert_eq!(requests.take().get("Query").copied(), Some(5));
    // Records that are not sessions are never listed.
    store
        .end(
            &SessionId::generate().unwrap(),
            Some(&Revocation {
                origin_jti: origin_jti(),
                until: now + 60,
            }),
        )
        .await
        .unwrap();
    assert_eq!(store.list_for_user("pool|other").await.unwrap(), vec![]);
}

/// A loopback HTTP server that answers every request with one canned response, or never.
struct Canned {
    endpoint: String,
    served: Arc<AtomicUsize>,
}

async fn canned(response: Option<(u16, &'static str)>) -> Canned {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One request: headers, then content-length bytes of body.
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < end + 4 + length {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    }
                    buf.drain(..end + 4 + length);
                    counter.fetch_add(1, Ordering::SeqCst);
                    let Some((status, body)) = response else {
                        // Hang until the client gives up.
                        let _ = sock.read(&mut chunk).await;
                        return;
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Canned { endpoint, served }
}

fn quick() -> DynamoOptions {
    DynamoOptions {
        operation_timeout: Duration::from_secs(2),
        attempt_timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(200),
        ..DynamoOptions::default()
    }
}

fn store_at(endpoint: &str, requests: &Requests) -> DynamoStore {
    let client = counted(&l42_tests::dynamo::client(endpoint), requests);
    DynamoStore::with_options(client, "sessions", &quick())
}

#[tokio::test]
async fn service_trouble_is_unavailable_after_a_bounded_retry() {
    let id = SessionId::generate().unwrap();
    for (status, body) in [
        (
            500,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}"#,
        ),
        (
            503,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable"}"#,
        ),
        (
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#,
        ),
        (
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}"#,
        ),
    ] {
        let server = canned(Some((status, body))).await;
        let requests = Requests::default();
        let store = store_at(&server.endpoint, &requests);
        let err = store.get(&id).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Unavailable(_)),
            "{status} {body}: {err:?}"
        );
        assert_eq!(
            requests.total(),
            3,
            "{status}: three attempts, then give up"
        );
        assert_eq!(server.served.load(Ordering::SeqCst), 3);
        // Writes too.
        let err = store.create(&live_session()).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }
}

#[tokio::test]
async fn refused_requests_are_not_retried() {
    let server = canned(Some((
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
    )))
    .await;
    let requests = Requests::default();
    let store = store_at(&server.endpoint, &requests);
    let err = store
        .get(&SessionId::generate().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
    assert_eq!(requests.total(), 1);
}

#[tokio::test]
async fn unreachable_or_silent_service_is_unavailable() {
    // Nothing listens on a port that was just released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let requests = Requests::default();
    let store = store_at(&format!("http://127.0.0.1:{port}"), &requests);
    let err = store
        .get(&SessionId::generate().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(requests.total(), 3);

    // A server that never answers: attempts time out, the operation gives up.
    let server = canned(None).await;
    let requests = Requests::default();
    let store = store_at(&server.endpoint, &requests);
    let err = store
        .delete(&SessionId::generate().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!((1..=3).contains(&requests.total()), "{}", requests.total());
}

#[tokio::test]
async fn from_env_reaches_the_emulator() {
    let table = fresh_table().await.unwrap();
    let endpoint = l42_tests::moto_endpoint().unwrap();
    let name = table.name().to_string();
    let store = DynamoStore::from_lookup(|var| match var {
        "DYNAMODB_ENDPOINT" => Some(endpoint.clone()),
        "DYNAMODB_TABLE" => Some(name.clone()),
        _ => None,
    })
    .unwrap();
    let s1 = live_session();
    store.create(&s1).await.unwrap();
    assert_eq!(store.get(&s1.id).await.unwrap(), Some(s1));
}

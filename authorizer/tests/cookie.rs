//! The `cookie` identity source: the token handler's session cookie names a session whose
//! stored access token is verified like a bearer token. The cookie's MAC is checked before
//! any store read; a missing, expired or unreadable session is a 401; a store that does not
//! answer gives no decision (500), never an Allow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::allowed;

use std::sync::Arc;

use l42_authorizer::{Authorizer, Outcome};
use l42_core::session::{CookieKeys, Session, SessionId, SessionStore, SessionTokens};
use l42_core::unix_now;
use l42_tests::stores::{FaultyStore, StoreOp};
use serde_json::{Value, json};

const SECRET: &str = "authorizer-cookie-test-secret-0123456789";
const OTHER: &str = "another-secret-that-signed-nothing-here0";
const NAME: &str = "__Host-l42_session";

struct Setup {
    store: Arc<FaultyStore>,
    authorizer: Authorizer,
    rt: tokio::runtime::Runtime,
}

fn setup(sources: &str) -> Setup {
    setup_with(sources, &[])
}

/// The app's origins for the CSRF tests: `FRONTEND_URL` and one more.
const APP: &str = "https://app.example.com";
const OTHER_APP: &str = "https://admin.example.com";

fn setup_with(sources: &str, extra: &[(&str, &str)]) -> Setup {
    let mut vars = vec![
        ("IDENTITY_SOURCES", sources),
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

impl Setup {
    /// A stored session for a user in `groups`, and its signed cookie value.
    fn session(&self, groups: &[&str], expires_in: i64) -> (SessionId, String) {
        let now = unix_now();
        let id = SessionId::generate().unwrap();
        let tokens = SessionTokens {
            access_token: common::token("cookie-user", groups),
            id_token: "unused".into(),
            refresh_token: Some("never-read-by-the-authorizer".into()),
            auth_method: "handler".into(),
        };
        let session = Session::new(id.clone(), tokens, now, now + expires_in);
        self.rt.block_on(self.store.create(&session)).unwrap();
        let value = CookieKeys::new(SECRET, None)
            .unwrap()
            .sign(&id, now + 3600)
            .unwrap();
        (id, value)
    }

    fn handle(&self, ev: &Value) -> Outcome {
        self.rt
            .block_on(self.authorizer.handle(ev.to_string().as_bytes()))
    }

    fn gets(&self) -> usize {
        self.store.calls(StoreOp::Get)
    }
}

/// A REST REQUEST event for `GET /request` with a `Cookie` header.
fn rest(cookie: &str) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/request",
        "resource": "/request", "path": "/request", "httpMethod": "GET",
        "headers": {"Cookie": cookie},
        "requestContext": {"identity": {"sourceIp": "203.0.113.7"}},
    })
}

/// A payload 2.0 event for `GET /request` with cookies in their own list.
fn v2(cookies: &[&str]) -> Value {
    json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/request",
        "routeKey": "GET /request", "rawPath": "/request",
        "cookies": cookies, "headers": {},
        "requestContext": {"http": {"method": "GET", "path": "/request", "sourceIp": "203.0.113.7"}},
    })
}

fn stage(o: &Outcome) -> &'static str {
    o.explain().stage
}

#[test]
fn a_valid_session_cookie_is_decided_by_cedar() {
    let s = setup("cookie");
    let (_, value) = s.session(&["readers"], 3600);
    let out = s.handle(&rest(&format!("theme=dark; {NAME}={value}")));
    assert!(allowed(&out), "{out:?}");
    assert_eq!(out.explain().sub.as_deref(), Some("cookie-user"));
    assert_eq!(s.gets(), 1, "one session read");
    let out = s.handle(&v2(&["theme=dark", &format!("{NAME}={value}")]));
    assert!(allowed(&out), "{out:?}");

    // The same user without the group: an explicit Deny (403), not a 401.
    let (_, other) = s.session(&["nobody"], 3600);
    let out = s.handle(&rest(&format!("{NAME}={other}")));
    assert!(
        matches!(out, Outcome::Respond { allowed: false, .. }),
        "{out:?}"
    );
}

#[test]
fn a_forged_cookie_costs_no_store_read() {
    let s = setup("cookie");
    let (id, value) = s.session(&["readers"], 3600);
    let now = unix_now();
    let resigned = CookieKeys::new(OTHER, None)
        .unwrap()
        .sign(&id, now + 3600)
        .unwrap();
    let expired = CookieKeys::new(SECRET, None)
        .unwrap()
        .sign(&id, now - 1)
        .unwrap();
    let mut tampered = value.clone();
    tampered.pop();
    tampered.push(if value.ends_with('A') { 'B' } else { 'A' });
    let truncated = &value[..value.len() - 5];
    for bad in [
        resigned.as_str(),
        expired.as_str(),
        tampered.as_str(),
        truncated,
        "",
        "v1...",
    ] {
        let out = s.handle(&rest(&format!("{NAME}={bad}")));
        assert!(
            matches!(out, Outcome::Unauthorized { .. }),
            "{bad}: {out:?}"
        );
        assert_eq!(stage(&out), "session", "{bad}");
    }
    assert_eq!(s.gets(), 0, "no read for a cookie that does not verify");
}

#[test]
fn a_missing_or_expired_session_is_unauthorized() {
    let s = setup("cookie");
    let (id, value) = s.session(&["readers"], 3600);
    s.rt.block_on(s.store.delete(&id)).unwrap();
    let out = s.handle(&rest(&format!("{NAME}={value}")));
    assert!(matches!(out, Outcome::Unauthorized { .. }), "{out:?}");
    assert_eq!(out.explain().reason, "no such session (ended or expired)");

    // The record's own expiry is past (DynamoDB TTL deletes days late): no session.
    let (_, value) = s.session(&["readers"], -5);
    let out = s.handle(&rest(&format!("{NAME}={value}")));
    assert!(matches!(out, Outcome::Unauthorized { .. }), "{out:?}");
}

#[test]
fn a_store_that_does_not_answer_gives_no_decision() {
    let s = setup("cookie");
    let (_, value) = s.session(&["readers"], 3600);
    s.store.fail(StoreOp::Get, true);
    let out = s.handle(&rest(&format!("{NAME}={value}")));
    assert!(matches!(out, Outcome::Failed { .. }), "{out:?}");
    assert!(!allowed(&out));
}

#[test]
fn sources_keep_their_order_around_the_cookie() {
    let s = setup("cookie,header");
    let bearer = format!("Bearer {}", common::token("bearer-user", &["readers"]));
    // No session cookie (another cookie only): the header decides.
    let mut ev = rest("theme=dark");
    ev["headers"]["Authorization"] = json!(bearer);
    let out = s.handle(&ev);
    assert!(allowed(&out), "{out:?}");
    assert_eq!(out.explain().sub.as_deref(), Some("bearer-user"));
    // A present but bad session cookie decides: no fallback to the header.
    ev["headers"]["Cookie"] = json!(format!("{NAME}=v1.bad"));
    let out = s.handle(&ev);
    assert!(matches!(out, Outcome::Unauthorized { .. }), "{out:?}");

    // Without the `cookie` source the cookie is ignored.
    let s = setup("header");
    let (_, value) = s.session(&["readers"], 3600);
    let out = s.handle(&rest(&format!("{NAME}={value}")));
    assert_eq!(stage(&out), "identity");
    assert_eq!(s.gets(), 0);
}

#[test]
fn the_cookie_source_needs_a_store() {
    let config = common::config(&[("IDENTITY_SOURCES", "cookie"), ("SESSION_SECRET", SECRET)]);
    let engine = l42_cedar::Engine::embedded().unwrap();
    let e = Authorizer::new(config, engine).unwrap_err();
    assert!(e.to_string().contains("session store"), "{e}");
}

/// A REST REQUEST event for `method path` (resource `/my/path`-style, as declared) with
/// these headers.
fn rest_call(method: &str, path: &str, headers: Value) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:api/prod/{method}{path}"),
        "resource": path, "path": path, "httpMethod": method,
        "headers": headers,
        "requestContext": {"identity": {"sourceIp": "203.0.113.7"}},
    })
}

/// The same request as HTTP API payload 1.0 and 2.0 events (2.0: the cookie in `cookies`,
/// repeated headers joined with `,` as API Gateway joins them).
fn http_calls(method: &str, path: &str, cookie: &str, headers: Value) -> [Value; 2] {
    let mut v1 = rest_call(method, path, headers.clone());
    v1["version"] = json!("1.0");
    v1["headers"]["Cookie"] = json!(cookie);
    v1["requestContext"]["routeKey"] = json!(format!("{method} {path}"));
    let v2 = json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:api/prod/{method}{path}"),
        "routeKey": format!("{method} {path}"), "rawPath": path,
        "cookies": [cookie], "headers": headers,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.7"}},
    });
    [v1, v2]
}

fn csrf_denied(o: &Outcome) -> bool {
    matches!(o, Outcome::Respond { allowed: false, .. }) && stage(o) == "csrf"
}

/// Finding: with the cookie as the credential, `POST` from another page of the same site
/// (a sibling subdomain, another port: SameSite=Lax does not stop those) succeeded with
/// nothing but the cookie and `Content-Type: text/plain`. Each state-changing method now
/// needs `X-L42-CSRF: 1` or an allowed `Origin`, in every event kind that carries headers.
#[test]
fn a_cookie_authenticated_write_without_csrf_proof_is_denied() {
    let s = setup_with(
        "cookie,header",
        &[
            ("FRONTEND_URL", APP),
            ("CALLBACK_ALLOWED_ORIGINS", OTHER_APP),
        ],
    );
    let (_, value) = s.session(&["readers", "admins"], 3600);
    let cookie = format!("{NAME}={value}");
    // The attack: a form or fetch from a sibling page, the cookie riding along.
    for (method, path) in [("POST", "/my/path"), ("DELETE", "/request")] {
        for headers in [
            json!({"Cookie": cookie, "Content-Type": "text/plain"}),
            json!({"Cookie": cookie, "Origin": "https://evil.example.com"}),
            json!({"Cookie": cookie, "Origin": "null"}),
            json!({"Cookie": cookie, "Origin": "https://app.example.com.evil.example"}),
            json!({"Cookie": cookie, "Origin": "http://app.example.com"}),
            json!({"Cookie": cookie, "Origin": "https://app.example.com/"}),
            json!({"Cookie": cookie, "Origin": "https://app.example.com:8443"}),
            json!({"Cookie": cookie, "X-L42-CSRF": "0"}),
            json!({"Cookie": cookie, "X-L42-CSRF": "true"}),
            json!({"Cookie": cookie, "X-L42-CSRF": "1,1"}),
            json!({"Cookie": cookie, "X-L42-CSRF": ""}),
            json!({"Cookie": cookie, "X-L42-CSRF-X": "1"}),
            json!({"Cookie": cookie, "X-L42-CSRF": "0", "x-l42-csrf": "1"}),
            json!({"Cookie": cookie, "Origin": APP, "origin": "https://evil.example.com"}),
        ] {
            let out = s.handle(&rest_call(method, path, headers.clone()));
            assert!(csrf_denied(&out), "{method} {path} {headers}: {out:?}");
            for ev in http_calls(method, path, &cookie, headers.clone()) {
                let out = s.handle(&ev);
                assert!(csrf_denied(&out), "{method} {path} {headers} {ev}: {out:?}");
            }
        }
        // The proofs: the header (any case of its name), or an allowed Origin.
        for headers in [
            json!({"Cookie": cookie, "X-L42-CSRF": "1"}),
            json!({"Cookie": cookie, "x-l42-csrf": "1"}),
            json!({"Cookie": cookie, "Origin": APP}),
            json!({"Cookie": cookie, "origin": OTHER_APP}),
        ] {
            let out = s.handle(&rest_call(method, path, headers.clone()));
            assert!(allowed(&out), "{method} {path} {headers}: {out:?}");
            for ev in http_calls(method, path, &cookie, headers.clone()) {
                assert!(allowed(&s.handle(&ev)), "{method} {path} {ev}");
            }
        }
    }
    // The deny names the caller and the route, like any other 403.
    let out = s.handle(&rest_call("POST", "/my/path", json!({"Cookie": cookie})));
    assert_eq!(out.explain().sub.as_deref(), Some("cookie-user"));
    // Safe methods need no proof.
    for method in ["GET", "HEAD", "OPTIONS"] {
        let out = s.handle(&rest_call(method, "/request", json!({"Cookie": cookie})));
        assert!(!csrf_denied(&out), "{method}: {out:?}");
    }
    // A method API Gateway spells otherwise is no safe method.
    let out = s.handle(&rest_call("get", "/request", json!({"Cookie": cookie})));
    assert!(allowed(&out), "`get` is upper-cased to GET: {out:?}");
    // The bearer path is unchanged: a page holding the token is the app.
    let bearer = format!("Bearer {}", common::token("bearer-user", &["readers"]));
    let out = s.handle(&rest_call(
        "POST",
        "/my/path",
        json!({"Authorization": bearer, "Content-Type": "text/plain"}),
    ));
    assert!(allowed(&out), "{out:?}");
}

/// Without `FRONTEND_URL` the authorizer trusts no origin (it has no default, unlike the
/// token handler's local one): only the header proves a write.
#[test]
fn without_app_origins_only_the_header_proves_a_cookie_write() {
    let s = setup("cookie");
    let (_, value) = s.session(&["readers"], 3600);
    let cookie = format!("{NAME}={value}");
    for origin in [APP, "http://localhost:3000"] {
        let out = s.handle(&rest_call(
            "POST",
            "/my/path",
            json!({"Cookie": cookie, "Origin": origin}),
        ));
        assert!(csrf_denied(&out), "{origin}: {out:?}");
    }
    let out = s.handle(&rest_call(
        "POST",
        "/my/path",
        json!({"Cookie": cookie, "X-L42-CSRF": "1"}),
    ));
    assert!(allowed(&out), "{out:?}");
}

/// A WebSocket handshake carries the cookie too and a page cannot add headers to it, so a
/// cookie-authenticated `$connect` needs an allowed `Origin` (which browsers always send
/// on a handshake): a sibling page cannot open a socket as its visitor.
#[test]
fn a_cookie_authenticated_websocket_connect_needs_an_allowed_origin() {
    let s = setup_with("cookie", &[("FRONTEND_URL", APP)]);
    let (_, value) = s.session(&["readers"], 3600);
    let connect = |headers: Value| {
        json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api/prod/$connect",
            "headers": headers,
            "requestContext": {"eventType": "CONNECT", "routeKey": "$connect",
                               "identity": {"sourceIp": "203.0.113.7"}},
        })
    };
    let cookie = format!("{NAME}={value}");
    for headers in [
        json!({"Cookie": cookie}),
        json!({"Cookie": cookie, "Origin": "https://evil.example.com"}),
    ] {
        let out = s.handle(&connect(headers.clone()));
        assert!(csrf_denied(&out), "{headers}: {out:?}");
    }
    let out = s.handle(&connect(json!({"Cookie": cookie, "Origin": APP})));
    assert!(allowed(&out), "{out:?}");
}

/// On DynamoDB (the emulator), through the reader the authorizer runs with (signed
/// `GetItem`s, no SDK) behind a counting proxy: a session the token handler's store wrote
/// is found and decided, one `GetItem` per request; an ended one is a 401; an item that
/// does not parse, or a table the reader cannot read, gives no Allow.
#[test]
fn on_dynamodb_the_reader_finds_what_the_store_wrote() {
    use l42_core::session::DynamoStore;
    use l42_tests::requests::{CountingProxy, Requests};
    let rt = common::runtime();
    let table = rt.block_on(l42_tests::fresh_table()).unwrap();
    let requests = Requests::default();
    let proxy = rt
        .block_on(CountingProxy::start(
            &l42_tests::moto_endpoint().unwrap(),
            &requests,
        ))
        .unwrap();
    let authorizer_for = |table_name: &str| {
        let vars = [
            ("IDENTITY_SOURCES", "cookie"),
            ("SESSION_SECRET", SECRET),
            ("SESSION_HTTPS_ONLY", "true"),
            ("DYNAMODB_TABLE", table_name),
            ("DYNAMODB_ENDPOINT", proxy.url()),
            ("REVOCATION_CHECK", "off"),
        ];
        common::golden_with_reader(&vars)
    };
    let authorizer = authorizer_for(table.name());
    let store = DynamoStore::new(table.client().clone(), table.name());
    let now = unix_now();
    let id = SessionId::generate().unwrap();
    let tokens = SessionTokens {
        access_token: common::token("cookie-user", &["readers"]),
        id_token: "unused".into(),
        refresh_token: Some("never-read-by-the-authorizer".into()),
        auth_method: "handler".into(),
    };
    rt.block_on(store.create(&Session::new(id.clone(), tokens, now, now + 3600)))
        .unwrap();
    let cookie = |id: &SessionId| {
        let value = CookieKeys::new(SECRET, None)
            .unwrap()
            .sign(id, now + 3600)
            .unwrap();
        rest(&format!("{NAME}={value}"))
    };
    let handle = |a: &Authorizer, ev: &Value| rt.block_on(a.handle(ev.to_string().as_bytes()));
    for _ in 0..3 {
        let out = handle(&authorizer, &cookie(&id));
        assert!(allowed(&out), "{out:?}");
        assert_eq!(out.explain().sub.as_deref(), Some("cookie-user"));
    }
    assert_eq!(requests.take(), [("GetItem".to_string(), 3)].into());

    // Ended by the token handler: refused at once.
    rt.block_on(store.end(&id, None)).unwrap();
    let out = handle(&authorizer, &cookie(&id));
    assert!(matches!(out, Outcome::Unauthorized { .. }), "{out:?}");

    // An item under a session id that does not parse: no Allow, whatever else it holds.
    let broken = SessionId::generate().unwrap();
    rt.block_on(
        table
            .client()
            .put_item()
            .table_name(table.name())
            .item("session_id", l42_tests::dynamo::s(broken.as_str()))
            .item("data", l42_tests::dynamo::s("{not json"))
            .item("created_at", l42_tests::dynamo::n(now))
            .item("ttl", l42_tests::dynamo::n(now + 3600))
            .send(),
    )
    .unwrap();
    let out = handle(&authorizer, &cookie(&broken));
    assert!(!allowed(&out), "{out:?}");

    // A table that is not there: a refusal of the service, no decision (500).
    let missing = authorizer_for("l42-no-such-table");
    let out = handle(&missing, &cookie(&id));
    assert!(matches!(out, Outcome::Failed { .. }), "{out:?}");
    drop(proxy);
}

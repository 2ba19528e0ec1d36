//! Sessions a user can see and end, over HTTP against the dev identity provider and both
//! session stores: `GET {P}/sessions`, `DELETE {P}/sessions/{id}`, `POST {P}/logout` with
//! `{"everywhere": true}`, what ending records (the sign-in's revocation, the refresh
//! token revoked at the provider), what another user can do with a handle (nothing), and
//! a refresh in flight while its session ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::stack::{Backend, Options, Stack};
use l42_core::session::{Session, SessionId};
use l42_core::unix_now;
use l42_idp::{FaultEndpoint, FaultKind, FaultSpec};
use serde_json::{Value, json};

l42_tests::for_each_backend!(
    two_sign_ins_are_listed_and_one_ends_the_other,
    another_user_can_neither_see_nor_end_them,
    logout_everywhere_ends_every_session_of_the_user,
    bad_logout_bodies_end_nothing,
    expired_sessions_are_not_listed_and_are_deleted,
    a_refresh_in_flight_never_resurrects_an_ended_session,
);

async fn stack(backend: Backend) -> Stack {
    Stack::start(Options::default().backend(backend)).await
}

/// The listing's entries by user agent.
fn by_agent(listing: &Value) -> HashMap<String, Value> {
    listing["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["user_agent"].as_str().unwrap_or("").to_string(),
                s.clone(),
            )
        })
        .collect()
}

async fn revoked(env: &Stack, session: &Session) -> bool {
    let ojti = session
        .origin_jti()
        .expect("Cognito tokens carry origin_jti");
    env.store.is_revoked(&ojti, unix_now()).await.unwrap()
}

async fn two_sign_ins_are_listed_and_one_ends_the_other(backend: Backend) {
    let env = stack(backend).await;
    let laptop = env.login_from("user", Some("Laptop/1.0")).await;
    let phone = env.login_from("user", Some("Phone/2.0")).await;
    let phone_session = env.stored(&phone).await.unwrap();

    let listing = env.get("/auth/sessions", Some(&laptop)).await;
    assert_eq!(listing.status, 200, "{}", listing.text);
    assert_eq!(listing.header("cache-control"), Some("no-store"));
    let entries = by_agent(&listing.body);
    assert_eq!(entries.len(), 2, "{}", listing.text);
    assert_eq!(entries["Laptop/1.0"]["current"], true);
    assert_eq!(entries["Phone/2.0"]["current"], false);
    for (agent, e) in &entries {
        let id = e["id"].as_str().unwrap();
        assert!(SessionId::is_handle(id), "{id}");
        assert_eq!(e["auth_method"], "handler", "{agent}");
        assert!(e["created_at"].as_i64().unwrap() <= unix_now());
        assert!(e["last_used_at"].as_i64().unwrap() >= e["created_at"].as_i64().unwrap());
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys.len(),
            6,
            "id, created_at, last_used_at, auth_method, user_agent, current: {keys:?}"
        );
    }
    // Nothing in the listing makes a cookie: neither session id appears in it.
    for cookie in [&laptop, &phone] {
        let id = env.session_id(cookie);
        assert!(!listing.text.contains(id.as_str()));
        assert!(!listing.text.contains(&id.as_str()[..12]));
    }
    assert!(!listing.text.contains(&phone_session.tokens.access_token));
    // The phone sees the same two, its own current.
    let from_phone = by_agent(&env.get("/auth/sessions", Some(&phone)).await.body);
    assert_eq!(from_phone["Phone/2.0"]["current"], true);
    assert_eq!(from_phone["Laptop/1.0"]["id"], entries["Laptop/1.0"]["id"]);

    // The laptop ends the phone's session.
    let handle = entries["Phone/2.0"]["id"].as_str().unwrap().to_string();
    let revokes = env.idp.stats().endpoints["revoke"];
    // Without the CSRF header: refused, and nothing ends.
    let no_csrf = env
        .send(
            reqwest::Method::DELETE,
            &format!("/auth/sessions/{handle}"),
            Some(&laptop),
            &[],
            None,
            false,
        )
        .await;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.text);
    assert!(env.stored(&phone).await.is_some());

    let out = env
        .delete(&format!("/auth/sessions/{handle}"), Some(&laptop))
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(out.body, json!({"success": true, "current": false}));
    assert!(
        out.header("set-cookie").is_none(),
        "the laptop's own cookie stays"
    );
    assert!(env.stored(&phone).await.is_none());
    assert!(
        revoked(&env, &phone_session).await,
        "its sign-in is revoked"
    );
    assert_eq!(
        env.idp.stats().endpoints["revoke"],
        revokes + 1,
        "its refresh token is revoked at the provider"
    );
    // The phone's cookie is refused at once, and cleared.
    let t = env.get("/auth/token", Some(&phone)).await;
    assert_eq!(t.status, 401);
    assert!(t.header("set-cookie").unwrap().contains("Max-Age=0"));
    // Its tokens still verify, but they make no new session.
    let replay = env
        .post(
            "/auth/session",
            None,
            json!({"access_token": phone_session.tokens.access_token,
                   "id_token": phone_session.tokens.id_token}),
        )
        .await;
    assert_eq!(replay.status, 403, "{}", replay.text);
    assert!(replay.header("set-cookie").is_none());
    // The laptop goes on.
    assert_eq!(env.get("/auth/token", Some(&laptop)).await.status, 200);
    let left = by_agent(&env.get("/auth/sessions", Some(&laptop)).await.body);
    assert_eq!(left.keys().collect::<Vec<_>>(), ["Laptop/1.0"]);
    // Ending it again, or a handle that is no session, is 404.
    for path in [
        format!("/auth/sessions/{handle}"),
        "/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA".to_string(),
        format!("/auth/sessions/{}", env.session_id(&laptop).as_str()),
        "/auth/sessions/..%2f..%2ftoken".to_string(),
        format!("/auth/sessions/{}x", &handle[..21]),
    ] {
        let a = env.delete(&path, Some(&laptop)).await;
        assert_eq!(a.status, 404, "{path}: {}", a.text);
    }
    // Its own handle ends the laptop's session and clears its cookie.
    let own = left["Laptop/1.0"]["id"].as_str().unwrap();
    let out = env
        .delete(&format!("/auth/sessions/{own}"), Some(&laptop))
        .await;
    assert_eq!(out.body, json!({"success": true, "current": true}));
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(env.get("/auth/sessions", Some(&laptop)).await.status, 401);
}

async fn another_user_can_neither_see_nor_end_them(backend: Backend) {
    let env = stack(backend).await;
    let mine = env.login_from("user", Some("Mine")).await;
    let theirs = env.login_from("admin", Some("Theirs")).await;
    let my_listing = env.get("/auth/sessions", Some(&mine)).await.body;
    let their_listing = env.get("/auth/sessions", Some(&theirs)).await.body;
    assert_eq!(by_agent(&my_listing).keys().collect::<Vec<_>>(), ["Mine"]);
    assert_eq!(
        by_agent(&their_listing).keys().collect::<Vec<_>>(),
        ["Theirs"]
    );
    let my_handle = my_listing["sessions"][0]["id"].as_str().unwrap();
    let a = env
        .delete(&format!("/auth/sessions/{my_handle}"), Some(&theirs))
        .await;
    assert_eq!(a.status, 404, "another user's handle is unknown to them");
    assert!(env.stored(&mine).await.is_some());
    assert!(env.stored(&theirs).await.is_some());
    // Without a session: 401, for both endpoints.
    assert_eq!(env.get("/auth/sessions", None).await.status, 401);
    assert_eq!(
        env.delete(&format!("/auth/sessions/{my_handle}"), None)
            .await
            .status,
        401
    );
    // Their "everywhere" ends only their own.
    let out = env
        .post("/auth/logout", Some(&theirs), json!({"everywhere": true}))
        .await;
    assert_eq!(out.body["sessions_ended"], 1);
    assert!(env.stored(&mine).await.is_some());
}

async fn logout_everywhere_ends_every_session_of_the_user(backend: Backend) {
    let env = stack(backend).await;
    let a = env.login_from("user", Some("A")).await;
    let b = env.login_from("user", Some("B")).await;
    let other = env.login_from("editor", Some("C")).await;
    let (sa, sb) = (env.stored(&a).await.unwrap(), env.stored(&b).await.unwrap());
    let revokes = env.idp.stats().endpoints["revoke"];
    let out = env
        .post("/auth/logout", Some(&a), json!({"everywhere": true}))
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(out.body["success"], true);
    assert_eq!(out.body["sessions_ended"], 2);
    assert!(
        out.body["logout_url"]
            .as_str()
            .unwrap()
            .contains("/logout?")
    );
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    for cookie in [&a, &b] {
        assert!(env.stored(cookie).await.is_none());
        assert_eq!(env.get("/auth/token", Some(cookie)).await.status, 401);
    }
    assert!(revoked(&env, &sa).await && revoked(&env, &sb).await);
    assert_eq!(env.idp.stats().endpoints["revoke"], revokes + 2);
    assert_eq!(env.get("/auth/token", Some(&other)).await.status, 200);

    // A plain logout ends this session only, and revokes its sign-in too.
    let c = env.login_from("editor", Some("D")).await;
    let sc = env.stored(&c).await.unwrap();
    let out = env.post("/auth/logout", Some(&c), json!({})).await;
    assert_eq!(out.body["sessions_ended"], 1);
    assert!(revoked(&env, &sc).await);
    assert!(env.stored(&other).await.is_some());
}

async fn bad_logout_bodies_end_nothing(backend: Backend) {
    let env = stack(backend).await;
    let a = env.login("user").await;
    for bad in [
        json!({"everywhere": "yes"}),
        json!({"everywhere": 1}),
        json!(["everywhere"]),
    ] {
        let out = env.post("/auth/logout", Some(&a), &bad).await;
        assert_eq!(out.status, 400, "{bad}: {}", out.text);
        assert!(out.header("set-cookie").is_none());
        assert!(env.stored(&a).await.is_some(), "{bad}");
    }
    let broken = env
        .send(
            reqwest::Method::POST,
            "/auth/logout",
            Some(&a),
            &[("content-type", "application/json")],
            None,
            true,
        )
        .await;
    assert_eq!(broken.status, 200, "an empty JSON body is no body");
    // A body that is not JSON is what an older client may send: a plain logout.
    let b = env.login("user").await;
    let text = env
        .send(
            reqwest::Method::POST,
            "/auth/logout",
            Some(&b),
            &[("content-type", "text/plain")],
            None,
            true,
        )
        .await;
    assert_eq!(text.status, 200);
    assert_eq!(text.body["sessions_ended"], 1);
}

async fn expired_sessions_are_not_listed_and_are_deleted(backend: Backend) {
    let env = stack(backend).await;
    let a = env.login_from("user", Some("Live")).await;
    let live = env.stored(&a).await.unwrap();
    let now = unix_now();
    let mut old = Session::new(
        SessionId::generate().unwrap(),
        live.tokens.clone(),
        now - 7200,
        now - 1,
    );
    old.user.clone_from(&live.user);
    old.user_agent = Some("Old".into());
    env.store.create(&old).await.unwrap();
    let user = live.user.clone().unwrap();
    assert_eq!(env.store.list_for_user(&user).await.unwrap().len(), 2);
    let listing = env.get("/auth/sessions", Some(&a)).await;
    assert_eq!(by_agent(&listing.body).keys().collect::<Vec<_>>(), ["Live"]);
    let left = env.store.list_for_user(&user).await.unwrap();
    assert_eq!(left.len(), 1, "the expired one was deleted");
    assert_eq!(left[0].id, live.id);
}

/// A refresh at the provider takes a while; meanwhile the user ends the session from
/// another device. The refresh's answer finds the record gone and writes nothing: the
/// session stays ended, its cookie refused, and the tokens the provider minted carry the
/// revoked sign-in's `origin_jti`.
async fn a_refresh_in_flight_never_resurrects_an_ended_session(backend: Backend) {
    let env = Stack::start(Options::default().backend(backend).short_lived()).await;
    let slow = env.login_from("user", Some("Slow")).await;
    let other = env.login_from("user", Some("Other")).await;
    let ended = env.stored(&slow).await.unwrap();
    env.idp.faults().inject_spec(FaultSpec {
        endpoint: FaultEndpoint::Token,
        kind: FaultKind::Slow,
        count: 1,
        delay_ms: Some(700),
    });
    // Every /token refreshes (30 s tokens, 60 s margin): this one waits at the provider.
    let refreshing = {
        let env = &env;
        let slow = slow.clone();
        async move { env.get("/auth/token", Some(&slow)).await }
    };
    let ending = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let listing = by_agent(&env.get("/auth/sessions", Some(&other)).await.body);
        let handle = listing["Slow"]["id"].as_str().unwrap().to_string();
        env.delete(&format!("/auth/sessions/{handle}"), Some(&other))
            .await
    };
    let (refreshed, end) = tokio::join!(refreshing, ending);
    assert_eq!(end.status, 200, "{}", end.text);
    assert_eq!(
        refreshed.status, 401,
        "the refresh that lost the race answers as for an ended session: {}",
        refreshed.text
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(env.stored(&slow).await.is_none(), "never written back");
    assert_eq!(env.get("/auth/token", Some(&slow)).await.status, 401);
    assert!(revoked(&env, &ended).await);
    let left = by_agent(&env.get("/auth/sessions", Some(&other)).await.body);
    assert_eq!(left.keys().collect::<Vec<_>>(), ["Other"]);
}

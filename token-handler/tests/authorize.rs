//! `POST /auth/authorize`: Cedar over the protocol schema, for a caller from the identity
//! seam.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::*;
use l42_token_handler::owners::{BoxFuture, OwnerLookup, OwnerLookupError};
use l42_token_handler::{AppState, router};
use serde_json::{Value, json};

async fn decide(groups: &[&str], body: Value) -> Answer {
    let app = app_as(Some(user("alice", groups)));
    post(&app, "/auth/authorize", &body).await
}

async fn allowed(groups: &[&str], action: &str) -> bool {
    let a = decide(groups, json!({"action": action})).await;
    match a.status {
        StatusCode::OK => {
            assert_eq!(a.body["authorized"], true);
            assert!(a.body["reason"].is_string());
            true
        }
        StatusCode::FORBIDDEN => {
            assert_eq!(a.body["authorized"], false, "{}", a.body);
            assert!(a.body["reason"].is_string());
            false
        }
        s => panic!("{groups:?} {action}: {s} {}", a.body),
    }
}

const ALL_ACTIONS: [&str; 23] = [
    "read:content",
    "write:content",
    "publish:content",
    "approve:content",
    "reject:content",
    "read:own",
    "write:own",
    "delete:own",
    "read:all",
    "write:all",
    "delete:all",
    "deploy:static",
    "read:users",
    "mute:users",
    "kick:users",
    "manage:chat",
    "api:read",
    "api:write",
    "read:logs",
    "read:metrics",
    "debug:view",
    "admin:manage",
    "admin:delete-user",
];

/// Each default group may do exactly its actions.
#[tokio::test]
async fn each_group_gets_exactly_its_actions() {
    let table: [(&str, &[&str]); 9] = [
        ("admin", &ALL_ACTIONS),
        (
            "developers",
            &[
                "api:read",
                "api:write",
                "read:logs",
                "read:metrics",
                "debug:view",
            ],
        ),
        (
            "editors",
            &["read:content", "write:content", "publish:content"],
        ),
        (
            "moderators",
            &["read:users", "mute:users", "kick:users", "manage:chat"],
        ),
        (
            "publishers",
            &["read:content", "publish:content", "deploy:static"],
        ),
        (
            "readonly",
            &[
                "read:content",
                "read:own",
                "read:all",
                "read:users",
                "read:logs",
                "read:metrics",
            ],
        ),
        (
            "reviewers",
            &["read:content", "approve:content", "reject:content"],
        ),
        ("users", &["read:own", "write:own"]),
        ("nobody-special", &[]),
    ];
    for (group, granted) in table {
        for action in ALL_ACTIONS {
            assert_eq!(
                allowed(&[group], action).await,
                granted.contains(&action),
                "{group} {action}"
            );
        }
    }
}

#[tokio::test]
async fn aliases_and_case_map_to_the_canonical_groups() {
    for (group, action) in [
        ("Admins", "admin:manage"),
        ("ADMINISTRATORS", "admin:delete-user"),
        ("mods", "kick:users"),
        ("Moderator", "manage:chat"),
        ("Viewers", "read:metrics"),
        ("read-only", "read:logs"),
        ("Members", "write:own"),
        ("devs", "debug:view"),
        ("Editor", "publish:content"),
        ("Reviewer", "approve:content"),
        ("Publisher", "deploy:static"),
    ] {
        assert!(allowed(&[group], action).await, "{group} {action}");
    }
    // An alias grants its canonical group's actions only.
    assert!(!allowed(&["mods"], "admin:manage").await);
    // Several groups add up.
    assert!(allowed(&["editors", "devs"], "api:write").await);
    assert!(allowed(&["editors", "devs"], "write:content").await);
}

#[tokio::test]
async fn the_reason_names_the_policy() {
    let a = decide(&["editors"], json!({"action": "write:content"})).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["policies"], json!(["editors"]));
    assert!(a.body["reason"].as_str().unwrap().contains("editors"));
    let a = decide(&["editors"], json!({"action": "admin:manage"})).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body.as_object().unwrap().len(), 2, "{}", a.body);
}

#[tokio::test]
async fn owners_alone_write_and_delete_their_own_resources() {
    let own = |owner: Option<&str>, action: &str| {
        let mut resource = json!({"id": "doc-1", "type": "document"});
        if let Some(o) = owner {
            resource["owner"] = json!(o);
        }
        json!({"action": action, "resource": resource})
    };
    // A user writes what they own, or what has no owner.
    assert_eq!(
        decide(&["users"], own(Some("alice"), "write:own"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        decide(&["users"], own(None, "write:own")).await.status,
        StatusCode::OK
    );
    // Not someone else's.
    let a = decide(&["users"], own(Some("bob"), "write:own")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body["reason"].as_str().unwrap().contains("owner-only"),
        "{}",
        a.body
    );
    // The forbid binds administrators too, for write:own and delete:own ...
    for action in ["write:own", "delete:own"] {
        let a = decide(&["admin"], own(Some("bob"), action)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{action}");
        assert_eq!(a.body["authorized"], false);
        assert_eq!(
            decide(&["admin"], own(Some("alice"), action)).await.status,
            StatusCode::OK
        );
    }
    // ... who use the :all actions instead.
    for action in ["write:all", "delete:all", "read:own"] {
        assert_eq!(
            decide(&["admin"], own(Some("bob"), action)).await.status,
            StatusCode::OK,
            "{action}"
        );
    }
    // A plain user may not delete even their own (no policy grants delete:own to users).
    assert_eq!(
        decide(&["users"], own(Some("alice"), "delete:own"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn unknown_actions_are_403_with_a_reason() {
    for action in [
        "drop:tables",
        "READ:CONTENT",
        "read:content ",
        "x".repeat(5000).as_str(),
    ] {
        let a = decide(&["admin"], json!({"action": action})).await;
        if action.trim() == "read:content" {
            // Surrounding spaces are trimmed.
            assert_eq!(a.status, StatusCode::OK);
            continue;
        }
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{}",
            &action[..action.len().min(20)]
        );
        assert_eq!(a.body["authorized"], false);
        let reason = a.body["reason"].as_str().unwrap();
        assert!(reason.starts_with("unknown action"), "{reason}");
        assert!(reason.len() < 120, "{reason}");
    }
}

#[tokio::test]
async fn bad_requests_are_400() {
    for body in [
        json!({}),
        json!({"action": ""}),
        json!({"action": "  "}),
        json!({"action": null}),
        json!({"action": "read:own", "context": [1]}),
        json!({"action": "read:own", "context": "x"}),
    ] {
        let a = decide(&["admin"], body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(a.error(), "Bad request");
    }
    // A context object is accepted (the default schema declares none, so it is ignored).
    let a = decide(
        &["users"],
        json!({"action": "read:own", "context": {"ip": "1.2.3.4"}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    // Odd resources are decided, not errors.
    let a = decide(
        &["admin"],
        json!({"action": "read:content", "resource": {"id": "\"; drop", "type": "ü\u{0}", "owner": ""}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn no_caller_is_401() {
    let app = app_as(None);
    let a = post(&app, "/auth/authorize", &json!({"action": "read:own"})).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body, json!({"error": "Not authenticated"}));
}

#[tokio::test]
async fn an_engine_that_did_not_load_is_503() {
    let app = router(
        AppState::builder(config())
            .identity(Arc::new(FixedIdentity(Some(user("alice", &["admin"])))))
            .build(),
    );
    let a = post(&app, "/auth/authorize", &json!({"action": "read:own"})).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.body, json!({"error": "Authorization engine unavailable"}));
}

/// An in-memory owner table standing in for `ENTITY_TABLE`; records the ids asked for.
#[derive(Default)]
struct Owners {
    owners: HashMap<String, String>,
    fail: bool,
    asked: Mutex<Vec<String>>,
}

impl OwnerLookup for Owners {
    fn owner<'a>(
        &'a self,
        resource_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, OwnerLookupError>> {
        self.asked.lock().unwrap().push(resource_id.to_owned());
        let answer = if self.fail {
            Err(OwnerLookupError("table unreachable".to_owned()))
        } else {
            Ok(self.owners.get(resource_id).cloned())
        };
        Box::pin(async move { answer })
    }
}

fn entity_table_app(owners: Arc<Owners>, groups: &[&str]) -> axum::Router {
    let mut vars = base_vars();
    vars.push(("ENTITY_TABLE", "l42_entities"));
    router(
        AppState::builder(config_from(&vars).unwrap())
            .cedar(Some(Arc::clone(&ENGINE)))
            .identity(Arc::new(FixedIdentity(Some(user("alice", groups)))))
            .owner_lookup(owners)
            .build(),
    )
}

#[tokio::test]
async fn with_an_entity_table_the_owner_never_comes_from_the_caller() {
    let owners = Arc::new(Owners {
        owners: HashMap::from([
            ("bobs-doc".to_owned(), "bob".to_owned()),
            ("alices-doc".to_owned(), "alice".to_owned()),
        ]),
        ..Owners::default()
    });
    let app = entity_table_app(Arc::clone(&owners), &["users"]);
    let write = |id: &str, claimed_owner: &str| json!({"action": "write:own", "resource": {"id": id, "owner": claimed_owner}});
    // Claiming to own bob's document does not help.
    let a = post(&app, "/auth/authorize", &write("bobs-doc", "alice")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    // Claiming bob owns alice's document does not hurt.
    let a = post(&app, "/auth/authorize", &write("alices-doc", "bob")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // A resource the table does not know has no owner.
    let a = post(&app, "/auth/authorize", &write("new-doc", "bob")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        *owners.asked.lock().unwrap(),
        ["bobs-doc", "alices-doc", "new-doc"]
    );
}

#[tokio::test]
async fn a_failing_entity_table_fails_closed() {
    let owners = Arc::new(Owners {
        fail: true,
        ..Owners::default()
    });
    let app = entity_table_app(owners, &["admin"]);
    let body = json!({"action": "write:own", "resource": {"id": "doc", "owner": "alice"}});
    let a = post(&app, "/auth/authorize", &body).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.body, json!({"error": "Service unavailable"}));
}

#[tokio::test]
async fn an_entity_table_without_a_lookup_fails_closed() {
    let mut vars = base_vars();
    vars.push(("ENTITY_TABLE", "l42_entities"));
    let app = app_with(config_from(&vars).unwrap(), Some(user("alice", &["admin"])));
    let body = json!({"action": "write:own", "resource": {"id": "doc", "owner": "alice"}});
    assert_eq!(
        post(&app, "/auth/authorize", &body).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Requests about the application itself need no owner.
    let a = post(&app, "/auth/authorize", &json!({"action": "admin:manage"})).await;
    assert_eq!(a.status, StatusCode::OK);
}

//! Machine-to-machine clients: a Cognito client-credentials access token (no `username`,
//! no `cognito:groups`, `sub` equal to `client_id`) is `Client::"<client_id>"` for an
//! action that lists `Client` among its principals, and the `User` of its `sub` elsewhere.
//! Tokens are signed by the test key and verified against the embedded JWKS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{CLIENT, allowed, decide, denied, http_event, rest_event};
use l42_authorizer::{Authorizer, Outcome};
use l42_core::unix_now;
use serde_json::{Value, json};

const SCHEMA: &str = r#"
namespace App {
  entity UserGroup;
  entity User in [UserGroup];
  entity Client { clientId: String, tokenUse: String, partner?: String };
  entity Application;
  action "post /sync" appliesTo { principal: [Client], resource: [Application],
                                  context: { scopes: Set<String> } };
  action "get /orders" appliesTo { principal: [User, Client], resource: [Application],
                                   context: { scopes: Set<String> } };
  action "get /me" appliesTo { principal: [User], resource: [Application] };
}
"#;

const POLICIES: &str = r#"
@id("sync-with-scope")
permit(principal is App::Client, action == App::Action::"post /sync", resource)
when { context.scopes.contains("orders/sync") };
@id("clients-read")
permit(principal is App::Client, action == App::Action::"get /orders", resource)
when { context.scopes.contains("orders/read") && principal.tokenUse == "access" };
@id("partner-acme")
permit(principal is App::Client, action == App::Action::"get /orders", resource)
when { principal has partner && principal.partner == "acme" };
@id("readers")
permit(principal in App::UserGroup::"readers", action == App::Action::"get /orders", resource);
@id("me")
permit(principal is App::User, action == App::Action::"get /me", resource);
"#;

fn authorizer(extra: &[(&str, &str)]) -> Authorizer {
    let engine = l42_cedar::Engine::from_sources(
        SCHEMA,
        &[("app.cedar".to_string(), POLICIES.to_string())],
        None,
    )
    .unwrap();
    Authorizer::new(common::config(extra), engine).unwrap()
}

/// Client-credentials claims, as Cognito issues them, with `scope`.
fn machine_claims(scope: &str) -> Value {
    let now = unix_now();
    json!({
        "sub": CLIENT, "client_id": CLIENT, "iss": common::ISSUER, "token_use": "access",
        "scope": scope, "auth_time": now - 5, "iat": now - 5, "exp": now + 3600,
        "jti": "m-1", "version": 2
    })
}

fn sign(claims: &Value) -> String {
    common::key().sign_json(claims).unwrap()
}

fn machine(scope: &str) -> String {
    sign(&machine_claims(scope))
}

/// Both the HTTP API and the REST API decision for `method path`.
fn both(a: &Authorizer, token: &str, method: &str, path: &str) -> [Outcome; 2] {
    let mut rest = rest_event(token, path, path, json!(null));
    rest["httpMethod"] = json!(method);
    rest["requestContext"]["httpMethod"] = json!(method);
    rest["methodArn"] = json!(format!(
        "arn:aws:execute-api:us-east-1:123456789012:api1/prod/{method}{path}"
    ));
    let route = format!("{} {path}", method.to_ascii_uppercase());
    [
        decide(a, &http_event(token, &route, path, json!(null))),
        decide(a, &rest),
    ]
}

fn all_allowed(outs: &[Outcome]) -> bool {
    outs.iter().all(allowed)
}

#[test]
fn a_machine_is_allowed_by_its_scope_and_denied_without_it() {
    let a = authorizer(&[]);
    let with = machine("orders/sync orders/read");
    let outs = both(&a, &with, "POST", "/sync");
    assert!(all_allowed(&outs), "{outs:?}");
    assert_eq!(outs[0].explain().policies, ["sync-with-scope"]);
    assert_eq!(outs[0].explain().sub.as_deref(), Some(CLIENT));

    for scope in ["orders/read", "", "orders/sync2", "xorders/sync"] {
        for out in both(&a, &machine(scope), "POST", "/sync") {
            let errors = denied(&out);
            assert!(errors.is_empty(), "a plain Deny for {scope:?}: {errors}");
        }
    }
    assert!(all_allowed(&both(
        &a,
        &machine("orders/read"),
        "GET",
        "/orders"
    )));
    for out in both(&a, &machine("orders/sync"), "GET", "/orders") {
        denied(&out);
    }
}

#[test]
fn a_user_is_never_a_client() {
    let a = authorizer(&[]);
    // A reader with every scope: the Client-only action still refuses it, naming why.
    let mut claims = common::claims("reader-1", &["readers"]);
    claims["scope"] = json!("orders/sync orders/read");
    let reader = sign(&claims);
    for out in both(&a, &reader, "POST", "/sync") {
        let errors = denied(&out);
        assert!(errors.contains("only machine clients"), "{errors}");
    }
    assert!(all_allowed(&both(&a, &reader, "GET", "/orders")));

    // A user's token whose sub is the client id (or any other half of the machine shape)
    // is still a user's: it cannot take the client's permissions.
    for (claim, value) in [
        ("username", json!("mallory")),
        ("cognito:groups", json!([])),
        ("cognito:groups", json!(["readers"])),
    ] {
        let mut c = machine_claims("orders/sync orders/read");
        c[claim] = value.clone();
        let poser = sign(&c);
        for out in both(&a, &poser, "POST", "/sync") {
            denied(&out);
        }
        let orders = both(&a, &poser, "GET", "/orders");
        assert_eq!(
            all_allowed(&orders),
            value == json!(["readers"]),
            "{claim}={value}: only as a reader: {orders:?}"
        );
    }
}

/// The decision memo keys on the principal's kind: a machine's Allow is not a user's of
/// the same ids, in either order.
#[test]
fn a_remembered_decision_is_never_shared_between_a_machine_and_a_user() {
    for machine_first in [true, false] {
        let a = authorizer(&[]);
        let m = machine("orders/sync");
        let mut c = machine_claims("orders/sync");
        c["username"] = json!(CLIENT);
        let user = sign(&c);
        let order: [(&str, bool); 2] = if machine_first {
            [(&m, true), (&user, false)]
        } else {
            [(&user, false), (&m, true)]
        };
        for _ in 0..2 {
            for (token, expected) in order {
                for out in both(&a, token, "POST", "/sync") {
                    assert_eq!(allowed(&out), expected, "{out:?}");
                }
            }
        }
    }
}

#[test]
fn where_no_client_is_listed_a_machine_is_the_user_of_its_sub() {
    let a = authorizer(&[]);
    let outs = both(&a, &machine("orders/read"), "GET", "/me");
    assert!(all_allowed(&outs), "{outs:?}");
    assert_eq!(outs[0].explain().policies, ["me"]);
}

#[test]
fn client_attributes_come_from_its_claims() {
    let a = authorizer(&[]);
    let mut c = machine_claims("");
    c["partner"] = json!("acme");
    assert!(all_allowed(&both(&a, &sign(&c), "GET", "/orders")));
    c["partner"] = json!("globex");
    for out in both(&a, &sign(&c), "GET", "/orders") {
        denied(&out);
    }
    // A claim of the wrong type leaves the optional attribute out: no Allow from it.
    c["partner"] = json!(["acme"]);
    for out in both(&a, &sign(&c), "GET", "/orders") {
        denied(&out);
    }
}

#[test]
fn a_cached_allow_lists_the_routes_the_machine_may_call() {
    let a = authorizer(&[("POLICY_CACHE_SAFE", "true")]);
    let [_, rest] = both(&a, &machine("orders/sync orders/read"), "POST", "/sync");
    assert!(allowed(&rest), "{rest:?}");
    let mut listed = common::allowed_resources(&rest);
    listed.sort();
    let tails: Vec<&str> = listed
        .iter()
        .map(|r| r.split_once("/prod/").unwrap().1)
        .collect();
    assert_eq!(tails, ["GET/me", "GET/orders", "POST/sync"], "{listed:?}");

    let [_, rest] = both(&a, &machine("orders/sync"), "POST", "/sync");
    let tails: Vec<String> = common::allowed_resources(&rest)
        .iter()
        .map(|r| r.split_once("/prod/").unwrap().1.to_owned())
        .collect();
    assert!(!tails.iter().any(|t| t == "GET/orders"), "{tails:?}");

    // A user of the same sub lists only what a user may call.
    let mut reader = common::claims(CLIENT, &["readers"]);
    reader["scope"] = json!("orders/sync orders/read");
    let [_, rest] = both(&a, &sign(&reader), "GET", "/orders");
    let mut tails: Vec<String> = common::allowed_resources(&rest)
        .iter()
        .map(|r| r.split_once("/prod/").unwrap().1.to_owned())
        .collect();
    tails.sort();
    assert_eq!(tails, ["GET/me", "GET/orders"]);
}

//! `CEDAR_ENTITY_IDS=avp`: the principal is `User::"<userPoolId>|<sub>"` and its groups
//! `UserGroup::"<userPoolId>|<group>"`, as Amazon Verified Permissions' Cognito identity
//! source names them, so policies written for an AVP API-linked policy store decide here
//! as they do there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::ffi::OsString;

use l42_authorizer::{Authorizer, Outcome};
use l42_cedar::{Engine, EntityIds, LoadError, PolicyConfig};
use serde_json::{Value, json};

/// A schema and policies in the shape AVP generates for an API-linked policy store.
const SCHEMA: &str = r#"
namespace MyApi {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  action "get /orders", "delete /orders/{id}"
    appliesTo { principal: [User], resource: [Application] };
}
"#;

const POLICIES: &str = r#"
@id("admins")
permit(principal in MyApi::UserGroup::"us-east-1_GoldenPool|admins",
       action in [MyApi::Action::"get /orders", MyApi::Action::"delete /orders/{id}"],
       resource);
@id("alice")
permit(principal == MyApi::User::"us-east-1_GoldenPool|alice-sub",
       action in [MyApi::Action::"get /orders"], resource);
"#;

fn authorizer(ids: EntityIds) -> Authorizer {
    let engine = Engine::from_sources(SCHEMA, &[("avp.cedar", POLICIES)], None)
        .unwrap()
        .with_entity_ids(ids);
    Authorizer::new(common::config(&[]), engine).unwrap()
}

fn event(sub: &str, groups: &[&str], method: &str, route: &str, path: &str) -> Value {
    let token = common::token(sub, groups);
    json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/{method}{path}"),
        "routeKey": format!("{method} {route}"), "rawPath": path,
        "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {"routeKey": format!("{method} {route}"),
                           "http": {"method": method, "path": path, "sourceIp": "203.0.113.7"}},
    })
}

fn allowed(a: &Authorizer, event: &Value) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(a.handle(event.to_string().as_bytes())) {
        Outcome::Respond { allowed, .. } => allowed,
        other => panic!("not a decision: {other:?}"),
    }
}

#[test]
fn avp_policies_decide_as_they_do_in_verified_permissions() {
    let a = authorizer(EntityIds::Avp);
    let orders = |sub: &str, groups: &[&str]| event(sub, groups, "GET", "/orders", "/orders");
    let delete =
        |sub: &str, groups: &[&str]| event(sub, groups, "DELETE", "/orders/{id}", "/orders/42");
    assert!(allowed(&a, &orders("bob-sub", &["admins"])));
    assert!(allowed(&a, &delete("bob-sub", &["admins"])));
    assert!(!allowed(&a, &orders("bob-sub", &["readers"])));
    // `principal ==` with the pool-prefixed id.
    assert!(allowed(&a, &orders("alice-sub", &[])));
    assert!(!allowed(&a, &delete("alice-sub", &[])));
}

#[test]
fn plain_ids_do_not_match_avp_policies() {
    let a = authorizer(EntityIds::Plain);
    let orders = |sub: &str, groups: &[&str]| event(sub, groups, "GET", "/orders", "/orders");
    assert!(!allowed(&a, &orders("bob-sub", &["admins"])));
    assert!(!allowed(&a, &orders("alice-sub", &[])));
}

#[test]
fn a_group_or_sub_spelled_with_the_prefix_gains_nothing() {
    let a = authorizer(EntityIds::Avp);
    let orders = |sub: &str, groups: &[&str]| event(sub, groups, "GET", "/orders", "/orders");
    // The prefix is added to whatever the token says, so spelling it in a group name (a
    // Cognito group name may hold `|`) or in `sub` names another entity.
    assert!(!allowed(
        &a,
        &orders("bob-sub", &["us-east-1_GoldenPool|admins"])
    ));
    assert!(!allowed(&a, &orders("us-east-1_GoldenPool|alice-sub", &[])));
    assert!(!allowed(&a, &orders("bob-sub", &["|admins", "admins|"])));
}

#[test]
fn cedar_entity_ids_is_read_and_checked() {
    let read = |value: Option<&str>| {
        PolicyConfig::from_lookup(|name| {
            (name == "CEDAR_ENTITY_IDS")
                .then_some(value)
                .flatten()
                .map(OsString::from)
        })
    };
    assert_eq!(read(None).unwrap().entity_ids, EntityIds::Plain);
    assert_eq!(read(Some("")).unwrap().entity_ids, EntityIds::Plain);
    assert_eq!(read(Some("plain")).unwrap().entity_ids, EntityIds::Plain);
    assert_eq!(read(Some(" AVP ")).unwrap().entity_ids, EntityIds::Avp);
    for bad in ["verified-permissions", "avp,plain", "1"] {
        let err = read(Some(bad)).unwrap_err();
        assert!(matches!(err, LoadError::Variable { .. }), "{bad}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("CEDAR_ENTITY_IDS") && text.contains(bad),
            "{text}"
        );
    }
}

/// With several pools, each token's pool (from its verified issuer) prefixes its ids: a
/// group or a user of one pool is never the same-named one of another.
#[test]
fn each_pool_names_its_own_users_and_groups() {
    const OTHER_POOL: &str = "eu-west-1_OtherPool";
    let other_issuer = format!("https://cognito-idp.eu-west-1.amazonaws.com/{OTHER_POOL}");
    let engine = Engine::from_sources(SCHEMA, &[("avp.cedar", POLICIES)], None)
        .unwrap()
        .with_entity_ids(EntityIds::Avp);
    let pools = format!("{},{OTHER_POOL}", common::POOL);
    let a = Authorizer::new(common::config(&[("COGNITO_USER_POOL_ID", &pools)]), engine).unwrap();
    let event_from = |issuer: &str, sub: &str, groups: &[&str]| {
        let mut claims = common::claims(sub, groups);
        claims["iss"] = json!(issuer);
        let token = common::key().sign_json(&claims).unwrap();
        common::http_event(&token, "GET /orders", "/orders", json!(null))
    };
    // Allowed, or else a policy Deny (never a token refusal: both pools verify).
    let decide = |ev: &Value| {
        let out = common::decide(&a, ev);
        if !common::allowed(&out) {
            common::denied(&out);
        }
        common::allowed(&out)
    };
    // The policies name the first pool's admins and alice.
    assert!(decide(&event_from(common::ISSUER, "x", &["admins"])));
    assert!(decide(&event_from(common::ISSUER, "alice-sub", &[])));
    // The same group and sub from the other pool are other entities.
    assert!(!decide(&event_from(&other_issuer, "x", &["admins"])));
    assert!(!decide(&event_from(&other_issuer, "alice-sub", &[])));
    // And after them (the memo keys on the pool), the first pool's still decide as before.
    assert!(decide(&event_from(common::ISSUER, "x", &["admins"])));
    // A pool's id spelled into a group of the other pool gains nothing.
    assert!(!decide(&event_from(
        &other_issuer,
        "x",
        &["us-east-1_GoldenPool|admins"]
    )));
}

//! Token claims as principal attributes: every attribute the schema declares on `User`
//! (other than the four with a fixed meaning) reads the verified token's claim of the same
//! name, coerced by its declared type. Tokens are signed by the test key and verified
//! against the embedded JWKS; decisions go through REST and HTTP API events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{allowed, decide, denied, http_event, rest_event};
use l42_authorizer::{Authorizer, Outcome};
use serde_json::{Value, json};

const SCHEMA: &str = r#"
namespace App {
  entity UserGroup;
  entity User in [UserGroup] {
    "custom:tenant"?: String,
    level?: Long,
    admin?: Bool,
    roles?: Set<String>,
    "custom:score"?: Long,
    profile?: { team: String, rank?: Long },
    nickname?: String,
  };
  entity Application;
  action "get /tenants/{tenantId}/orders", "get /ops", "get /nick"
    appliesTo { principal: [User], resource: [Application],
                context: { pathParameters?: { tenantId?: String } } };
}
"#;

const POLICIES: &str = r#"
@id("own-tenant")
permit(principal, action == App::Action::"get /tenants/{tenantId}/orders", resource)
when { principal has "custom:tenant" && context has pathParameters
       && context.pathParameters has tenantId
       && principal["custom:tenant"] == context.pathParameters.tenantId };
@id("ops")
permit(principal, action == App::Action::"get /ops", resource)
when { principal has level && principal.level >= 3
       && principal has admin && principal.admin
       && principal has roles && principal.roles.contains("ops")
       && principal has "custom:score" && principal["custom:score"] == 42
       && principal has profile && principal.profile.team == "blue" };
@id("nick")
permit(principal, action == App::Action::"get /nick", resource)
unless { principal has nickname && principal.nickname == "mallory" };
"#;

/// The same schema with `custom:tenant` required.
fn required_schema() -> String {
    SCHEMA.replace("\"custom:tenant\"?: String", "\"custom:tenant\": String")
}

fn authorizer(schema: &str) -> Authorizer {
    let engine = l42_cedar::Engine::from_sources(
        schema,
        &[("app.cedar".to_string(), POLICIES.to_string())],
        None,
    )
    .unwrap();
    Authorizer::new(common::config(&[]), engine).unwrap()
}

/// A token for `sub` with `extra` claims over the usual access-token claims.
fn token(extra: Value) -> String {
    let mut claims = common::claims("user-1", &[]);
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    common::key().sign_json(&claims).unwrap()
}

fn tenant(a: &Authorizer, token: &str, tenant_in_path: &str) -> (Outcome, Outcome) {
    let path = format!("/tenants/{tenant_in_path}/orders");
    let params = json!({"tenantId": tenant_in_path});
    (
        decide(
            a,
            &http_event(
                token,
                "GET /tenants/{tenantId}/orders",
                &path,
                params.clone(),
            ),
        ),
        decide(
            a,
            &rest_event(token, "/tenants/{tenantId}/orders", &path, params),
        ),
    )
}

#[test]
fn the_engine_names_the_claims_it_reads() {
    let engine = l42_cedar::Engine::from_sources(
        SCHEMA,
        &[("app.cedar".to_string(), POLICIES.to_string())],
        None,
    )
    .unwrap();
    assert_eq!(
        engine.principal_claims(),
        // In the order the schema's JSON form lists them (by name).
        [
            "admin",
            "custom:score",
            "custom:tenant",
            "level",
            "nickname",
            "profile",
            "roles"
        ]
    );
}

#[test]
fn a_tenant_reads_only_its_own_tenant() {
    let a = authorizer(SCHEMA);
    let acme = token(json!({"custom:tenant": "acme"}));
    let (http, rest) = tenant(&a, &acme, "acme");
    assert!(allowed(&http), "{http:?}");
    assert!(allowed(&rest), "{rest:?}");
    for other in ["globex", "ACME", "acme ", "acm"] {
        let (http, rest) = tenant(&a, &acme, other);
        denied(&http);
        denied(&rest);
    }
    // No tenant claim: the optional attribute is left out, and the policy's `has` fails.
    let (http, _) = tenant(&a, &token(json!({})), "acme");
    denied(&http);
    // A tenant claim of the wrong JSON type is no tenant.
    let (http, _) = tenant(&a, &token(json!({"custom:tenant": ["acme"]})), "acme");
    denied(&http);
}

#[test]
fn a_required_claim_that_is_missing_or_does_not_coerce_is_a_deny_naming_it() {
    let a = authorizer(&required_schema());
    let (ok, _) = tenant(&a, &token(json!({"custom:tenant": "acme"})), "acme");
    assert!(allowed(&ok), "{ok:?}");
    for bad in [
        json!({}),
        json!({"custom:tenant": 7}),
        json!({"custom:tenant": null}),
    ] {
        let (http, rest) = tenant(&a, &token(bad.clone()), "acme");
        for out in [&http, &rest] {
            let errors = denied(out);
            assert!(errors.contains("custom:tenant"), "{bad}: {errors}");
        }
    }
}

fn ops(a: &Authorizer, claims: Value) -> Outcome {
    decide(
        a,
        &http_event(&token(claims), "GET /ops", "/ops", json!(null)),
    )
}

fn ops_claims() -> Value {
    json!({
        "level": 3, "admin": true, "roles": ["ops", "dev"], "custom:score": "42",
        "profile": {"team": "blue", "rank": 2, "undeclared": {"x": 1}}
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

#[test]
fn every_coercion_cognito_tokens_need() {
    let a = authorizer(SCHEMA);
    assert!(allowed(&ops(&a, ops_claims())));
    for (name, value) in [
        // Long from a JSON integer or a string of decimal digits (custom number attributes
        // reach id tokens as strings).
        ("level", json!("3")),
        ("level", json!(4)),
        ("level", json!("0004")),
        ("custom:score", json!(42)),
        // Bool from a JSON boolean or "true"/"false".
        ("admin", json!("true")),
        // Set<String> from an array of strings or a space-separated string (as `scope`).
        ("roles", json!("dev ops")),
        ("roles", json!(["ops"])),
        // A record from an object: its declared fields; an optional one may be absent.
        ("profile", json!({"team": "blue"})),
    ] {
        let out = ops(&a, with(ops_claims(), name, value.clone()));
        assert!(allowed(&out), "{name} = {value}: {out:?}");
    }
}

#[test]
fn values_that_do_not_coerce_are_left_out_of_an_optional_attribute() {
    let a = authorizer(SCHEMA);
    for (name, value) in [
        ("level", json!("3.0")),
        ("level", json!("+3")),
        ("level", json!(" 3")),
        ("level", json!("")),
        ("level", json!(3.5)),
        ("level", json!("99999999999999999999")),
        ("level", json!(true)),
        ("admin", json!("yes")),
        ("admin", json!("TRUE")),
        ("admin", json!(1)),
        ("roles", json!(["ops", 1])),
        ("roles", json!({"ops": true})),
        ("custom:score", json!("42x")),
        ("profile", json!({"rank": 2})),
        ("profile", json!({"team": 7})),
        ("profile", json!("blue")),
    ] {
        let out = ops(&a, with(ops_claims(), name, value.clone()));
        denied(&out);
        // Left out, so the attribute is absent rather than wrong: `has` says false.
        assert!(
            out.explain().errors.is_empty(),
            "{name} = {value}: {:?}",
            out.explain()
        );
    }
}

#[test]
fn a_required_record_field_that_does_not_coerce_is_named() {
    let schema = SCHEMA.replace("profile?: {", "profile: {");
    let a = authorizer(&schema);
    assert!(allowed(&ops(&a, ops_claims())));
    for (value, named) in [
        (json!({"rank": 2}), "field team is missing"),
        (json!({"team": "blue", "rank": "high"}), "field rank"),
    ] {
        let errors = denied(&ops(&a, with(ops_claims(), "profile", value.clone())));
        assert!(
            errors.contains("profile") && errors.contains(named),
            "{value}: {errors}"
        );
    }
}

#[test]
fn a_claim_cannot_pose_as_a_fixed_attribute_or_another_claim() {
    let a = authorizer(SCHEMA);
    // `nickname` is a claim of its own; nothing else fills it.
    let nick = |claims: Value| {
        decide(
            &a,
            &http_event(&token(claims), "GET /nick", "/nick", json!(null)),
        )
    };
    assert!(allowed(&nick(json!({}))));
    assert!(allowed(&nick(json!({"username": "mallory"}))));
    assert!(allowed(&nick(json!({"cognito:username": "mallory"}))));
    denied(&nick(json!({"nickname": "mallory"})));
    // A kept claim named twice in the payload is refused at verification: no token.
    let claims = serde_json::to_string(&common::claims("user-1", &[])).unwrap();
    let twice = format!(
        "{},\"nickname\":\"alice\",\"nickname\":\"mallory\"}}",
        claims.trim_end_matches('}')
    );
    let header = r#"{"kid":"golden-key","alg":"RS256"}"#;
    let forged = common::key()
        .sign_parts(header.as_bytes(), twice.as_bytes())
        .unwrap();
    let out = decide(&a, &http_event(&forged, "GET /nick", "/nick", json!(null)));
    assert!(matches!(out, Outcome::Unauthorized { .. }), "{out:?}");
}

/// Principal attributes come from the token, which API Gateway's cache is keyed on, so a
/// policy over a claim keeps its route in the cached Allow; a route whose policy reads the
/// request (its path parameters) stays out of it.
#[test]
fn a_policy_over_a_claim_keeps_its_route_cache_safe() {
    let schema = r#"
namespace App {
  entity UserGroup;
  entity User in [UserGroup] { "custom:tenant"?: String };
  entity Application;
  action "get /acme", "get /tenants/{tenantId}/orders"
    appliesTo { principal: [User], resource: [Application],
                context: { pathParameters?: { tenantId?: String } } };
}
"#;
    let policies = r#"
@id("acme-only")
permit(principal, action == App::Action::"get /acme", resource)
when { principal has "custom:tenant" && principal["custom:tenant"] == "acme" };
@id("own-tenant")
permit(principal, action == App::Action::"get /tenants/{tenantId}/orders", resource)
when { principal has "custom:tenant" && context has pathParameters
       && context.pathParameters has tenantId
       && principal["custom:tenant"] == context.pathParameters.tenantId };
"#;
    let engine = l42_cedar::Engine::from_sources(
        schema,
        &[("app.cedar".to_string(), policies.to_string())],
        None,
    )
    .unwrap();
    let a = Authorizer::new(common::config(&[("POLICY_CACHE_SAFE", "true")]), engine).unwrap();
    let acme = token(json!({"custom:tenant": "acme"}));
    let out = decide(&a, &rest_event(&acme, "/acme", "/acme", json!(null)));
    assert!(allowed(&out), "{out:?}");
    let listed = common::allowed_resources(&out);
    assert!(
        listed.iter().any(|r| r.ends_with("/GET/acme")),
        "{listed:?}"
    );
    assert!(
        !listed.iter().any(|r| r.contains("tenants")),
        "a route whose policy reads the path is not cached: {listed:?}"
    );
    let globex = token(json!({"custom:tenant": "globex"}));
    denied(&decide(
        &a,
        &rest_event(&globex, "/acme", "/acme", json!(null)),
    ));
}

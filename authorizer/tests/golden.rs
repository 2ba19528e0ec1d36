//! Golden tests: the AWS documentation's example events, with a real token inserted, and
//! the exact responses expected (`tests/golden/*.json`). Set `UPDATE_GOLDEN=1` to rewrite
//! the expected files after a deliberate change, then review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::PathBuf;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use l42_authorizer::Outcome;
use serde_json::{Value, json};

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(sub)
}

fn event(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir("events").join(name)).unwrap()).unwrap()
}

/// Puts `token` where API Gateway would: TOKEN events carry the header value, the others
/// carry the headers.
fn with_token(mut ev: Value, token: &str) -> Value {
    if ev["type"] == "TOKEN" {
        ev["authorizationToken"] = json!(format!("Bearer {token}"));
    } else {
        if !ev["headers"].is_object() {
            ev["headers"] = json!({});
        }
        ev["headers"]["Authorization"] = json!(format!("Bearer {token}"));
    }
    ev
}

fn run(ev: &Value, extra: &[(&str, &str)]) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let a = common::golden_authorizer(extra);
    match rt.block_on(a.handle(ev.to_string().as_bytes())) {
        Outcome::Respond { body, .. } => serde_json::from_slice(&body).unwrap(),
        Outcome::Unauthorized { explain } => {
            json!({"error": "Unauthorized", "stage": explain.stage})
        }
        Outcome::Failed { explain } => panic!("no decision: {explain:?}"),
    }
}

fn check(case: &str, actual: &Value) {
    let path = dir("golden").join(format!("{case}.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(actual).unwrap() + "\n").unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display())),
    )
    .unwrap();
    assert_eq!(actual, &expected, "golden case {case}");
}

/// Every IAM response must also be a valid `aws_lambda_events` authorizer response, and
/// every simple response a valid simple response: the shapes AWS documents.
fn conforms(v: &Value) {
    if v.get("isAuthorized").is_some() {
        let _: ApiGatewayV2CustomAuthorizerSimpleResponse =
            serde_json::from_value(v.clone()).unwrap();
    } else if v.get("policyDocument").is_some() {
        let r: ApiGatewayCustomAuthorizerResponse = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.policy_document.version.as_deref(), Some("2012-10-17"));
        if let Some(ctx) = v.get("context").and_then(Value::as_object) {
            for (k, val) in ctx {
                assert!(
                    val.is_string() || val.is_number() || val.is_boolean(),
                    "REST context values are strings, numbers or booleans: {k}"
                );
            }
        }
    }
}

const CASES: &[(&str, &str)] = &[
    ("rest-token", "apigw-custom-auth-request.json"),
    (
        "rest-request",
        "apigw-custom-auth-request-type-request.json",
    ),
    ("http-v1", "apigw-v2-custom-authorizer-v1-request.json"),
    ("http-v2", "apigw-v2-custom-authorizer-v2-request.json"),
    (
        "http-v2-null-maps",
        "apigw-v2-custom-authorizer-v2-request-null-maps.json",
    ),
    (
        "http-v2-without-cookies",
        "apigw-v2-custom-authorizer-v2-request-without-cookies.json",
    ),
    (
        "http-v2-without-identity-source",
        "apigw-v2-custom-authorizer-v2-request-without-identity-source.json",
    ),
    (
        "websocket-connect",
        "apigw-v2-custom-authorizer-websocket-request.json",
    ),
];

#[test]
fn example_events_allow_a_reader() {
    let token = common::token("reader-1", &["readers"]);
    for (case, file) in CASES {
        let out = run(&with_token(event(file), &token), &[]);
        conforms(&out);
        check(&format!("{case}.allow"), &out);
    }
}

#[test]
fn example_events_deny_a_user_without_groups() {
    let token = common::token("nobody-1", &[]);
    for (case, file) in CASES {
        let out = run(&with_token(event(file), &token), &[]);
        conforms(&out);
        check(&format!("{case}.deny"), &out);
    }
}

/// The outcome of `ev` under the golden store with `schema` and `policies` instead.
fn run_with(schema: &str, policies: &str, ev: &Value) -> Value {
    let engine =
        l42_cedar::Engine::from_sources(schema, &[("store.cedar", policies)], None).unwrap();
    let a = l42_authorizer::Authorizer::new(common::config(&[]), engine).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    match rt.block_on(a.handle(ev.to_string().as_bytes())) {
        Outcome::Respond { body, .. } => serde_json::from_slice(&body).unwrap(),
        other => panic!("no decision: {other:?}"),
    }
}

/// The golden store with a tenant claim on `User` and a policy over it alone: a token
/// whose `custom:tenant` is `acme` may do everything, any other tenant nothing.
fn tenant_run(ev: &Value) -> Value {
    let schema = common::GOLDEN_SCHEMA.replace(
        "entity User in [UserGroup];",
        "entity User in [UserGroup] { \"custom:tenant\"?: String };",
    );
    let policies = r#"@id("acme")
permit(principal, action, resource)
when { principal has "custom:tenant" && principal["custom:tenant"] == "acme" };"#;
    run_with(&schema, policies, ev)
}

fn tenant_token(tenant: &str) -> String {
    let mut claims = common::claims("tenant-user-1", &[]);
    claims["custom:tenant"] = json!(tenant);
    common::key().sign_json(&claims).unwrap()
}

#[test]
fn example_events_decide_on_a_claim() {
    for (case, file) in CASES {
        let out = tenant_run(&with_token(event(file), &tenant_token("acme")));
        conforms(&out);
        check(&format!("{case}.claim-allow"), &out);
        let out = tenant_run(&with_token(event(file), &tenant_token("globex")));
        conforms(&out);
        check(&format!("{case}.claim-deny"), &out);
    }
}

/// The golden store with a `Client` type on every action and a policy granting machine
/// clients by scope alone.
fn machine_run(ev: &Value) -> Value {
    let schema = common::GOLDEN_SCHEMA
        .replace("entity Application;", "entity Application;\n  entity Client;")
        .replace(
            "appliesTo { principal: [User], resource: [Application] }",
            "appliesTo { principal: [User, Client], resource: [Application], context: { scopes: Set<String> } }",
        );
    let policies = r#"@id("sync-clients")
permit(principal is Golden::Client, action, resource)
when { context.scopes.contains("golden/sync") };"#;
    run_with(&schema, policies, ev)
}

/// A client-credentials access token with `scope`.
fn machine_token(scope: &str) -> String {
    let now = l42_core::unix_now();
    let claims = json!({
        "sub": common::CLIENT, "client_id": common::CLIENT, "iss": common::ISSUER,
        "token_use": "access", "scope": scope, "auth_time": now - 60, "iat": now - 60,
        "exp": now + 3600, "jti": "m2m-1", "version": 2
    });
    common::key().sign_json(&claims).unwrap()
}

#[test]
fn example_events_decide_a_machine_client_by_scope() {
    for (case, file) in CASES {
        let out = machine_run(&with_token(event(file), &machine_token("golden/sync")));
        conforms(&out);
        check(&format!("{case}.m2m-allow"), &out);
        let out = machine_run(&with_token(event(file), &machine_token("golden/read")));
        conforms(&out);
        check(&format!("{case}.m2m-deny"), &out);
    }
}

#[test]
fn example_events_without_a_token_are_unauthorized() {
    for (_, file) in CASES {
        let out = run(&event(file), &[]);
        assert_eq!(out["error"], "Unauthorized", "{file}");
    }
}

#[test]
fn http_v2_iam_mode_returns_a_policy_on_the_route_arn() {
    let token = common::token("reader-1", &["readers"]);
    let ev = with_token(event("apigw-v2-custom-authorizer-v2-request.json"), &token);
    let out = run(&ev, &[("HTTP_API_RESPONSE", "iam")]);
    conforms(&out);
    check("http-v2-iam.allow", &out);
}

#[test]
fn exact_arn_mode_lists_only_the_requested_arn() {
    let token = common::token("admin-1", &["admins"]);
    let ev = with_token(event("apigw-custom-auth-request-type-request.json"), &token);
    let out = run(&ev, &[("POLICY_CACHE_SAFE", "false")]);
    assert_eq!(
        out["policyDocument"]["Statement"][0]["Resource"],
        json!(["arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/GET/request"])
    );
}

#[test]
fn websocket_token_in_query_or_subprotocol() {
    let token = common::token("reader-1", &["readers"]);
    let mut ev = event("apigw-v2-custom-authorizer-websocket-request.json");
    ev["queryStringParameters"]["token"] = json!(token);
    let out = run(&ev, &[("IDENTITY_SOURCES", "query")]);
    assert_eq!(out["policyDocument"]["Statement"][0]["Effect"], "Allow");

    let mut ev = event("apigw-v2-custom-authorizer-websocket-request.json");
    ev["headers"]["Sec-WebSocket-Protocol"] = json!(format!("l42.v1, {token}"));
    let out = run(&ev, &[("IDENTITY_SOURCES", "protocol,query")]);
    conforms(&out);
    assert_eq!(out["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(out["context"]["subprotocol"], "l42.v1");
    // Without opting in, neither source is read.
    assert_eq!(run(&ev, &[])["error"], "Unauthorized");
}

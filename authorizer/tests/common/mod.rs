//! Shared test support: keys, tokens, configuration and policy stores.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::OnceLock;

use l42_authorizer::{Authorizer, AuthorizerConfig, Outcome};
use l42_core::{SigningKey, unix_now};
use serde_json::{Value, json};

pub const POOL: &str = "us-east-1_GoldenPool";
pub const CLIENT: &str = "goldenclient";
pub const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_GoldenPool";

/// One RSA key for the whole test binary (generation is slow in debug builds).
pub fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate("golden-key").unwrap())
}

/// Access-token claims for a user in `groups`.
pub fn claims(sub: &str, groups: &[&str]) -> Value {
    let now = unix_now();
    json!({
        "sub": sub, "iss": ISSUER, "client_id": CLIENT, "token_use": "access",
        "username": format!("{sub}-name"), "scope": "openid profile",
        "cognito:groups": groups, "auth_time": now - 60, "iat": now - 60, "exp": now + 3600,
        "jti": "jti-1", "origin_jti": "ojti-1"
    })
}

pub fn token(sub: &str, groups: &[&str]) -> String {
    key().sign_json(&claims(sub, groups)).unwrap()
}

/// A configuration with the test key embedded and no network.
pub fn config(extra: &[(&str, &str)]) -> AuthorizerConfig {
    let mut m: HashMap<String, String> = HashMap::new();
    m.insert("COGNITO_USER_POOL_ID".into(), POOL.into());
    m.insert("COGNITO_CLIENT_ID".into(), CLIENT.into());
    m.insert("JWKS_JSON".into(), key().jwks_json());
    m.insert("JWKS_URL".into(), "off".into());
    for (k, v) in extra {
        m.insert(k.to_string(), v.to_string());
    }
    AuthorizerConfig::from_lookup(|k| m.get(k).cloned()).unwrap()
}

/// The policy store of the golden tests: the routes of the AWS example events.
pub const GOLDEN_SCHEMA: &str = r#"
namespace Golden {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  action "get /request", "get /", "post /my/path", "delete /request", "$connect"
    appliesTo { principal: [User], resource: [Application] };
}
"#;

pub const GOLDEN_POLICIES: &str = r#"
@id("readers")
permit(principal in Golden::UserGroup::"readers",
       action in [Golden::Action::"get /request", Golden::Action::"get /",
                  Golden::Action::"post /my/path", Golden::Action::"$connect"],
       resource);
@id("admins")
permit(principal in Golden::UserGroup::"admins", action, resource);
"#;

/// The engine over the golden schema and policies.
pub fn golden_engine() -> l42_cedar::Engine {
    l42_cedar::Engine::from_sources(
        GOLDEN_SCHEMA,
        &[("golden.cedar".to_string(), GOLDEN_POLICIES.to_string())],
        None,
    )
    .unwrap()
}

pub fn golden_authorizer(extra: &[(&str, &str)]) -> Authorizer {
    Authorizer::new(config(extra), golden_engine()).unwrap()
}

pub fn embedded_authorizer(extra: &[(&str, &str)]) -> Authorizer {
    Authorizer::new(config(extra), l42_cedar::Engine::embedded().unwrap()).unwrap()
}

/// The Resource entries of every Allow statement of a response.
pub fn allowed_resources(o: &Outcome) -> Vec<String> {
    let Outcome::Respond { body, .. } = o else {
        return Vec::new();
    };
    let v: Value = serde_json::from_slice(body).unwrap();
    let Some(statements) = v["policyDocument"]["Statement"].as_array() else {
        return Vec::new();
    };
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| s["Resource"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

/// An HTTP API (payload 2.0) REQUEST event for `route` (`GET /x/{id}`) at `path`.
pub fn http_event(token: &str, route: &str, path: &str, params: Value) -> Value {
    let (method, _) = route.split_once(' ').unwrap();
    json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/{method}{path}"),
        "routeKey": route, "rawPath": path,
        "headers": {"authorization": format!("Bearer {token}")},
        "pathParameters": params,
        "requestContext": {"routeKey": route,
                           "http": {"method": method, "path": path, "sourceIp": "203.0.113.7"}},
    })
}

/// A REST REQUEST event for a GET of `resource` (a template) at `path`.
pub fn rest_event(token: &str, resource: &str, path: &str, params: Value) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET{path}"),
        "resource": resource, "path": path, "httpMethod": "GET",
        "headers": {"Authorization": format!("Bearer {token}")},
        "pathParameters": params,
        "requestContext": {"resourcePath": resource, "httpMethod": "GET",
                           "identity": {"sourceIp": "203.0.113.7"}},
    })
}

/// A current-thread runtime with I/O and time.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The golden authorizer with the configuration `vars`, reading sessions and revocations
/// from a counting, failable in-memory store.
pub fn golden_with_store(
    vars: &[(&str, &str)],
) -> (std::sync::Arc<l42_tests::stores::FaultyStore>, Authorizer) {
    use std::sync::Arc;
    let store = Arc::new(l42_tests::stores::FaultyStore::new(Arc::new(
        l42_core::session::MemoryStore::new(),
    )));
    let authorizer = Authorizer::with_sessions(
        config(vars),
        golden_engine(),
        Some(store.clone() as Arc<dyn l42_core::session::SessionStore>),
    )
    .unwrap();
    (store, authorizer)
}

/// The golden authorizer with the configuration `vars`, reading the session table through
/// the `DynamoReader` that `vars` configure (`DYNAMODB_TABLE`, `DYNAMODB_ENDPOINT`): what
/// the binary runs with.
pub fn golden_with_reader(vars: &[(&str, &str)]) -> Authorizer {
    use std::sync::Arc;
    let lookup = |k: &str| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    let reader = l42_core::session::DynamoReader::from_lookup(lookup).unwrap();
    Authorizer::with_sessions(config(vars), golden_engine(), Some(Arc::new(reader))).unwrap()
}

/// The authorizer's outcome for `event`, on a runtime of its own.
pub fn decide(a: &Authorizer, event: &Value) -> Outcome {
    runtime().block_on(a.handle(event.to_string().as_bytes()))
}

/// Whether the outcome is an Allow.
pub fn allowed(out: &Outcome) -> bool {
    matches!(out, Outcome::Respond { allowed: true, .. })
}

/// Asserts an explicit Deny (a 403, never a 401 or a 500) and returns its explanation's
/// errors, joined.
pub fn denied(out: &Outcome) -> String {
    assert!(
        matches!(out, Outcome::Respond { allowed: false, .. }),
        "expected a Deny: {out:?}"
    );
    out.explain().errors.join("; ")
}

//! API Gateway's result cache against the authorizer's cache-safe policies
//! (`POLICY_CACHE_SAFE=true`, the default): API Gateway caches the policy of one request
//! per identity and applies it to every later request of that identity, whatever its
//! route. For every caller, requested route and later route of the shipped example, the
//! cached policy, enforced as API Gateway does (`l42_dev::stack::gateway::enforce`), must
//! decide the later route exactly as the authorizer itself would: no over-grant, no
//! under-grant. Allowed and denied first requests alike, users and machine clients, REST
//! (TOKEN and REQUEST) and HTTP API payload 2.0 in IAM mode. The one exception is what
//! the README documents: a route whose policy reads the request (the tenant route reads
//! its path) is never listed, so the cache may refuse it, and must never allow it
//! wrongly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;

use l42_authorizer::{Authorizer, AuthorizerConfig, Outcome};
use l42_core::{SigningKey, unix_now};
use l42_dev::stack::gateway::enforce;
use serde_json::{Value, json};

const POOL: &str = "us-east-1_CachePool";
const CLIENT: &str = "cacheclient";
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_CachePool";
const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/";

/// One request: `(verb, path, route key, path parameters)`.
type Request = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The requests of the shipped example's routes, with one path API Gateway routes to no
/// method of the schema.
const REQUESTS: &[Request] = &[
    ("GET", "/orders", "GET /orders", &[]),
    ("POST", "/orders", "POST /orders", &[]),
    ("GET", "/orders/42", "GET /orders/{id}", &[("id", "42")]),
    ("GET", "/orders/7", "GET /orders/{id}", &[("id", "7")]),
    ("PUT", "/orders/42", "PUT /orders/{id}", &[("id", "42")]),
    (
        "DELETE",
        "/orders/42",
        "DELETE /orders/{id}",
        &[("id", "42")],
    ),
    ("GET", "/me", "GET /me", &[]),
    (
        "GET",
        "/admin/users/1",
        "ANY /admin/{proxy+}",
        &[("proxy", "users/1")],
    ),
    (
        "POST",
        "/admin/reindex",
        "ANY /admin/{proxy+}",
        &[("proxy", "reindex")],
    ),
    ("GET", "/reports", "GET /reports", &[]),
    (
        "GET",
        "/tenants/acme/orders",
        "GET /tenants/{tenantId}/orders",
        &[("tenantId", "acme")],
    ),
    (
        "GET",
        "/tenants/globex/orders",
        "GET /tenants/{tenantId}/orders",
        &[("tenantId", "globex")],
    ),
    // `*/admin/*` would match this path: the admin routes' patterns must not.
    (
        "GET",
        "/tenants/admin/orders",
        "GET /tenants/{tenantId}/orders",
        &[("tenantId", "admin")],
    ),
    (
        "POST",
        "/integrations/orders",
        "POST /integrations/orders",
        &[],
    ),
];

/// The routes whose policies read the request: left out of cached policies.
const READS_THE_REQUEST: &[&str] = &["GET /tenants/{tenantId}/orders"];

/// Machine clients (client-credentials tokens): their scopes.
const MACHINES: &[&str] = &["orders/import", "openid"];

/// Callers: groups and scopes.
const CALLERS: &[(&[&str], &str)] = &[
    (&["admin"], "openid profile"),
    (&["admin"], "orders/read-only"),
    (&["editors"], "openid"),
    (&["editors"], "openid orders/read-only"),
    (&["users"], "openid email"),
    (&["readonly"], "openid"),
    (&["readonly", "editors"], "openid"),
    (&[], "openid"),
];

struct Fixture {
    key: SigningKey,
    authorizer: Authorizer,
    rt: tokio::runtime::Runtime,
}

impl Fixture {
    fn new(extra: &[(&str, &str)]) -> Fixture {
        Fixture::with_engine(extra, l42_cedar::Engine::embedded().unwrap())
    }

    fn with_engine(extra: &[(&str, &str)], engine: l42_cedar::Engine) -> Fixture {
        let key = SigningKey::generate("cache-key").unwrap();
        let mut env: HashMap<String, String> = [
            ("COGNITO_USER_POOL_ID", POOL.to_string()),
            ("COGNITO_CLIENT_ID", CLIENT.to_string()),
            ("JWKS_JSON", key.jwks_json()),
            ("JWKS_URL", "off".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        let config = AuthorizerConfig::from_lookup(|k| env.get(k).cloned()).unwrap();
        let authorizer = Authorizer::new(config, engine).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        Fixture {
            key,
            authorizer,
            rt,
        }
    }

    /// A user's token, of tenant `acme`.
    fn token(&self, sub: &str, groups: &[&str], scope: &str) -> String {
        let now = unix_now();
        self.key
            .sign_json(&json!({
                "sub": sub, "iss": ISSUER, "client_id": CLIENT, "token_use": "access",
                "username": sub, "scope": scope, "cognito:groups": groups, "tenant": "acme",
                "auth_time": now - 60, "iat": now - 60, "exp": now + 3600,
            }))
            .unwrap()
    }

    /// A machine client's token (client credentials: `sub` is the client id).
    fn machine_token(&self, scope: &str) -> String {
        let now = unix_now();
        self.key
            .sign_json(&json!({
                "sub": CLIENT, "iss": ISSUER, "client_id": CLIENT, "token_use": "access",
                "scope": scope, "auth_time": now - 60, "iat": now - 60, "exp": now + 3600,
            }))
            .unwrap()
    }

    /// The authorizer's answer: the response body and whether it allows the request.
    fn answer(&self, event: &Value) -> (Vec<u8>, bool) {
        match self
            .rt
            .block_on(self.authorizer.handle(event.to_string().as_bytes()))
        {
            Outcome::Respond { body, allowed, .. } => (body, allowed),
            other => panic!("expected a policy for {event}, got {other:?}"),
        }
    }
}

fn arn(verb: &str, path: &str) -> String {
    format!("{PREFIX}{verb}{path}")
}

/// The event of one request, of the given kind.
fn event(kind: &str, token: &str, request: &Request) -> Value {
    let (verb, path, route_key, params) = *request;
    let params: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let resource = route_key.split_once(' ').unwrap().1;
    match kind {
        "rest-token" => json!({
            "type": "TOKEN",
            "authorizationToken": format!("Bearer {token}"),
            "methodArn": arn(verb, path),
        }),
        "rest-request" => {
            request_event(token, (verb, path, resource, request.3, &[], "203.0.113.7"))
        }
        "http-v2" => json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": arn(verb, path),
            "routeKey": route_key,
            "rawPath": path,
            "headers": { "authorization": format!("Bearer {token}") },
            "pathParameters": params,
            "requestContext": { "http": { "method": verb, "path": path, "sourceIp": "203.0.113.7" } },
        }),
        other => panic!("unknown kind {other}"),
    }
}

fn cached_policies_decide_every_later_route_as_the_authorizer(kind: &str, extra: &[(&str, &str)]) {
    let f = Fixture::new(extra);
    let mut checked = 0;
    let callers = CALLERS
        .iter()
        .enumerate()
        .map(|(i, (groups, scope))| {
            (
                format!("{groups:?} ({scope})"),
                f.token(&format!("user-{i}"), groups, scope),
            )
        })
        .chain(
            MACHINES
                .iter()
                .map(|scope| (format!("machine ({scope})"), f.machine_token(scope))),
        );
    let mut machine_allowed = false;
    for (caller, token) in callers {
        // What the authorizer decides for each request on its own.
        let direct: Vec<bool> = REQUESTS
            .iter()
            .map(|r| f.answer(&event(kind, &token, r)).1)
            .collect();
        for first in REQUESTS {
            let (cached, _) = f.answer(&event(kind, &token, first));
            for (later, &allowed) in REQUESTS.iter().zip(&direct) {
                let by_cache = enforce(&cached, &arn(later.0, later.1)).is_some();
                let exact = !READS_THE_REQUEST.contains(&later.2) || later == first;
                assert!(
                    by_cache == allowed || (!exact && !by_cache),
                    "{kind}: caller {caller}: the policy cached for {} {} {} {} {} (the authorizer: {allowed}): {}",
                    first.0,
                    first.1,
                    if by_cache { "allows" } else { "refuses" },
                    later.0,
                    later.1,
                    String::from_utf8_lossy(&cached),
                );
                machine_allowed |= caller.starts_with("machine")
                    && later.2.starts_with("POST /integrations")
                    && by_cache;
                checked += 1;
            }
        }
    }
    assert!(machine_allowed, "a machine's cached policy lists its route");
    assert_eq!(
        checked,
        (CALLERS.len() + MACHINES.len()) * REQUESTS.len() * REQUESTS.len()
    );
}

#[test]
fn rest_token_policies_are_cache_safe() {
    cached_policies_decide_every_later_route_as_the_authorizer("rest-token", &[]);
}

#[test]
fn rest_request_policies_are_cache_safe() {
    cached_policies_decide_every_later_route_as_the_authorizer("rest-request", &[]);
}

#[test]
fn http_api_iam_policies_are_cache_safe() {
    cached_policies_decide_every_later_route_as_the_authorizer(
        "http-v2",
        &[("HTTP_API_RESPONSE", "iam")],
    );
}

#[test]
fn a_cached_deny_keeps_the_callers_context_for_the_routes_it_allows() {
    let f = Fixture::new(&[]);
    let token = f.token("user-9", &["users"], "openid");
    let delete = (
        "DELETE",
        "/orders/42",
        "DELETE /orders/{id}",
        &[("id", "42")][..],
    );
    let (body, allowed) = f.answer(&event("rest-token", &token, &delete));
    assert!(!allowed);
    assert_eq!(enforce(&body, &arn("DELETE", "/orders/42")), None);
    let context = enforce(&body, &arn("GET", "/orders/7")).expect("GET /orders/7 allowed");
    assert_eq!(context["sub"], "user-9");
    assert_eq!(context["groups"], "users");
    // A caller in no group may still read their profile.
    let token = f.token("user-10", &[], "openid");
    let (body, _) = f.answer(&event("rest-token", &token, &delete));
    assert!(enforce(&body, &arn("GET", "/me")).is_some());
    assert!(enforce(&body, &arn("GET", "/orders")).is_none());
    // A path holding IAM wildcards is denied before any decision. Its Deny is a Deny like
    // the others: the caller's routes beside it stay allowed from the cache, and the Deny
    // of the wildcard ARN refuses (while cached) what it matches, even routes the caller
    // may call: it may refuse more, never allow more.
    let token = f.token("user-11", &["users"], "openid");
    let star = ("GET", "/orders/*", "GET /orders/{id}", &[("id", "*")][..]);
    let (body, allowed) = f.answer(&event("rest-token", &token, &star));
    assert!(!allowed);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let statements = v["policyDocument"]["Statement"].as_array().unwrap();
    assert_eq!(
        statements.last().unwrap(),
        &json!({
            "Action": "execute-api:Invoke",
            "Effect": "Deny",
            "Resource": [arn("GET", "/orders/*")],
        })
    );
    assert!(enforce(&body, &arn("GET", "/orders/*")).is_none());
    assert!(enforce(&body, &arn("GET", "/orders/7")).is_none());
    assert!(enforce(&body, &arn("GET", "/orders")).is_some());
    assert!(enforce(&body, &arn("DELETE", "/orders/7")).is_none());
}

#[test]
fn exact_arn_mode_lists_only_the_requested_arn_either_way() {
    let f = Fixture::new(&[("POLICY_CACHE_SAFE", "false")]);
    let token = f.token("user-11", &["users"], "openid");
    for (request, effect) in [
        (
            ("GET", "/orders/42", "GET /orders/{id}", &[("id", "42")][..]),
            "Allow",
        ),
        (
            (
                "DELETE",
                "/orders/42",
                "DELETE /orders/{id}",
                &[("id", "42")][..],
            ),
            "Deny",
        ),
    ] {
        let (body, _) = f.answer(&event("rest-token", &token, &request));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["policyDocument"]["Statement"],
            json!([{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": [arn(request.0, request.1)],
            }])
        );
    }
}

/// A store whose routes are hard to cache: policies that read request facts (source IP,
/// path), contexts that require what some requests lack (a query parameter, a parameter
/// the template does not have) or may not parse (`Long`).
const HARD_SCHEMA: &str = r#"
namespace Hard {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  action "get /open/{id}" appliesTo { principal: [User], resource: [Application],
    context: { pathParameters: { id: String } } };
  action "get /ip" appliesTo { principal: [User], resource: [Application],
    context: { sourceIp: String } };
  action "get /q" appliesTo { principal: [User], resource: [Application],
    context: { queryStringParameters: { q: String } } };
  action "get /n/{n}" appliesTo { principal: [User], resource: [Application],
    context: { pathParameters: { n: Long } } };
  action "get /extra/{id}" appliesTo { principal: [User], resource: [Application],
    context: { pathParameters: { id: String, other: String } } };
  action "get /path/{id}" appliesTo { principal: [User], resource: [Application],
    context: { path: String } };
}
"#;

const HARD_POLICIES: &str = r#"
@id("members")
permit(principal in Hard::UserGroup::"members", action, resource);
@id("no-10-0-0-1")
forbid(principal, action == Hard::Action::"get /ip", resource)
  when { context.sourceIp == "10.0.0.1" };
@id("path-1x-only")
forbid(principal, action == Hard::Action::"get /path/{id}", resource)
  unless { context.path like "/path/1*" };
"#;

/// A REST REQUEST: `(verb, path, resource template, path parameters, query, source IP)`.
type RestRequest = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// The REST REQUEST event of `request`.
fn request_event(token: &str, (verb, path, resource, params, query, ip): RestRequest) -> Value {
    let map = |pairs: &[(&str, &str)]| -> serde_json::Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect()
    };
    json!({
        "type": "REQUEST",
        "methodArn": arn(verb, path),
        "resource": resource,
        "path": path,
        "httpMethod": verb,
        "headers": { "Authorization": format!("Bearer {token}") },
        "pathParameters": map(params),
        "queryStringParameters": map(query),
        "requestContext": { "identity": { "sourceIp": ip } },
    })
}

#[test]
fn hard_routes_are_never_over_granted_from_the_cache() {
    let engine = l42_cedar::Engine::from_sources(
        HARD_SCHEMA,
        &[("hard.cedar".to_string(), HARD_POLICIES.to_string())],
        None,
    )
    .unwrap();
    assert!(engine.has_context_sensitive_policies());
    let f = Fixture::with_engine(&[], engine);

    let requests: &[RestRequest] = &[
        (
            "GET",
            "/open/1",
            "/open/{id}",
            &[("id", "1")],
            &[],
            "203.0.113.7",
        ),
        ("GET", "/ip", "/ip", &[], &[], "10.0.0.2"),
        ("GET", "/ip", "/ip", &[], &[], "10.0.0.1"),
        ("GET", "/q", "/q", &[], &[("q", "x")], "203.0.113.7"),
        ("GET", "/q", "/q", &[], &[], "203.0.113.7"),
        ("GET", "/n/12", "/n/{n}", &[("n", "12")], &[], "203.0.113.7"),
        (
            "GET",
            "/n/abc",
            "/n/{n}",
            &[("n", "abc")],
            &[],
            "203.0.113.7",
        ),
        (
            "GET",
            "/extra/1",
            "/extra/{id}",
            &[("id", "1")],
            &[],
            "203.0.113.7",
        ),
        (
            "GET",
            "/path/12",
            "/path/{id}",
            &[("id", "12")],
            &[],
            "203.0.113.7",
        ),
        (
            "GET",
            "/path/2",
            "/path/{id}",
            &[("id", "2")],
            &[],
            "203.0.113.7",
        ),
    ];
    for groups in [&["members"][..], &[]] {
        let token = f.token("hard-user", groups, "openid");
        let direct: Vec<bool> = requests
            .iter()
            .map(|r| f.answer(&request_event(&token, *r)).1)
            .collect();
        // The requests themselves: allowed exactly where their own facts allow them.
        let member = !groups.is_empty();
        assert_eq!(
            direct,
            [
                member, member, false, member, false, member, false, false, member, false
            ],
            "{groups:?}"
        );
        for first in requests {
            let (cached, _) = f.answer(&request_event(&token, *first));
            for (later, &allowed) in requests.iter().zip(&direct) {
                // The same ARN with other facts (source IP, query string) is the cache
                // keying limit the start-up warning is about: API Gateway cannot tell
                // those requests apart, so such policies need a result TTL of 0.
                if later.1 == first.1 && (later.4 != first.4 || later.5 != first.5) {
                    continue;
                }
                let by_cache = enforce(&cached, &arn(later.0, later.1)).is_some();
                assert!(
                    !by_cache || allowed,
                    "{groups:?}: the policy cached for {} {} over-grants {} {}: {}",
                    first.0,
                    first.1,
                    later.0,
                    later.1,
                    String::from_utf8_lossy(&cached)
                );
            }
            // The one route every request of which is decided alike is never refused.
            if member {
                assert!(
                    enforce(&cached, &arn("GET", "/open/9")).is_some(),
                    "{first:?}"
                );
            }
        }
    }
}

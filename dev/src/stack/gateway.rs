//! An API Gateway emulation for the demo API under `/api`.
//!
//! Each request becomes the event API Gateway gives a Lambda authorizer (HTTP API payload
//! 2.0, or a REST `REQUEST` event, per [`ApiEvent`]); the real [`Authorizer`] decides;
//! the decision is enforced as API Gateway does:
//!
//! | authorizer outcome | answer |
//! |---|---|
//! | `Unauthorized` (no or bad token, no session) | 401 `{"message":"Unauthorized"}` |
//! | `Failed` (the session store did not answer) | 500 `{"message":"Internal Server Error"}` |
//! | a Deny (`isAuthorized: false`, or a policy without this ARN) | 403 `{"message":"Forbidden"}` |
//! | an Allow | the demo backend, given the authorizer context |
//!
//! The API is reached as `/api/<route>` on the site; the API itself sees `/<route>` (the
//! `/api` prefix is the CloudFront path pattern, removed on the way to the origin), so the
//! Cedar actions are named `"get /orders"` and so on (`dev/policies/`). Identity sources:
//! `Authorization: Bearer <access token>` first, else the session cookie (the session's
//! stored access token, read from the store the token handler writes).

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use l42_authorizer::{Authorizer, AuthorizerConfig, Outcome};
use l42_cedar::Engine;
use l42_core::session::SessionStore;
use serde_json::{Map, Value, json};

use super::{API_PREFIX, ApiEvent, json_response};
use crate::DevError;

/// The demo policy store's schema (`dev/policies/demo.cedarschema`).
pub const DEMO_SCHEMA: &str = include_str!("../../policies/demo.cedarschema");
/// The demo policies (`dev/policies/demo.cedar`).
pub const DEMO_POLICIES: &str = include_str!("../../policies/demo.cedar");

/// The account, API id and stage in the emulated ARNs.
const ARN_PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:l42demo";
const REST_STAGE: &str = "dev";
/// The largest request body the emulation reads.
const MAX_BODY: usize = 64 * 1024;

/// The emulated API: the authorizer and the event shape.
pub struct Gateway {
    authorizer: Authorizer,
    event: ApiEvent,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

/// The demo policy engine (`dev/policies/`).
///
/// # Errors
/// [`DevError::Config`] when the embedded policies do not load (a test guards that).
pub fn demo_engine() -> Result<Engine, DevError> {
    Engine::from_sources(DEMO_SCHEMA, &[("demo.cedar", DEMO_POLICIES)], None)
        .map_err(|e| DevError::Config(format!("the demo Cedar policies: {e}")))
}

impl Gateway {
    /// The gateway for `event`, with the authorizer configured by `lookup`
    /// (`COGNITO_*`, `JWKS_URL`, `IDENTITY_SOURCES`, the session cookie's variables) and
    /// reading sessions from `store`.
    ///
    /// # Errors
    /// [`DevError::Config`] when the authorizer refuses its configuration.
    pub fn new(
        event: ApiEvent,
        lookup: impl Fn(&str) -> Option<String>,
        store: Arc<dyn SessionStore>,
    ) -> Result<Gateway, DevError> {
        let refused = |e: &dyn std::fmt::Display| {
            DevError::Config(format!("the authorizer refused the stack's settings: {e}"))
        };
        let config = AuthorizerConfig::from_lookup(lookup).map_err(|e| refused(&e))?;
        let authorizer = Authorizer::with_sessions(config, demo_engine()?, Some(store))
            .map_err(|e| refused(&e))?;
        Ok(Gateway { authorizer, event })
    }

    /// Handles one request for `/api/*`.
    pub async fn handle(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let method = parts.method.clone();
        let path = api_path(parts.uri.path());
        let query = parts.uri.query().unwrap_or("").to_string();
        let body = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &json!({"message": "Request Entity Too Large"}),
                );
            }
        };
        let (event, arn) = match self.event {
            ApiEvent::HttpV2 => http_v2_event(&method, &path, &query, &parts.headers),
            ApiEvent::RestRequest => rest_event(&method, &path, &query, &parts.headers),
        };
        let outcome = self.authorizer.handle(event.to_string().as_bytes()).await;
        let explain = outcome.explain().clone();
        let context = match outcome {
            Outcome::Unauthorized { .. } => None,
            Outcome::Failed { .. } => {
                tracing::warn!(reason = %explain.reason, "api {method} {path}: 500, the authorizer failed");
                return json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"message": "Internal Server Error"}),
                );
            }
            Outcome::Respond { body, .. } => Some(enforce(&body, &arn)),
        };
        let Some(decision) = context else {
            tracing::info!(reason = %explain.reason, "api {method} {path}: 401");
            return json_response(
                StatusCode::UNAUTHORIZED,
                &json!({"message": "Unauthorized"}),
            );
        };
        let Some(context) = decision else {
            tracing::info!(sub = explain.sub.as_deref().unwrap_or(""), reason = %explain.reason, "api {method} {path}: 403");
            return json_response(StatusCode::FORBIDDEN, &json!({"message": "Forbidden"}));
        };
        tracing::info!(
            sub = explain.sub.as_deref().unwrap_or(""),
            "api {method} {path}: allowed by {}",
            explain.policies.join(", ")
        );
        backend(&method, &path, &body, &context, explain.action.as_deref())
    }
}

/// The path the API sees: the site's path without `/api` (`/` for `/api` itself).
fn api_path(path: &str) -> String {
    match path.strip_prefix(API_PREFIX) {
        Some("") | None => "/".to_string(),
        Some(rest) => rest.to_string(),
    }
}

/// Header names lower-cased, repeated values joined with `,` (as API Gateway gives them).
fn header_map(headers: &HeaderMap, skip_cookie: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in headers {
        if skip_cookie && name == axum::http::header::COOKIE {
            continue;
        }
        let Ok(v) = value.to_str() else { continue };
        let entry = out
            .entry(name.as_str().to_string())
            .or_insert_with(|| Value::String(String::new()));
        if let Value::String(s) = entry {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(v);
        }
    }
    out
}

/// Query parameters, repeated values joined with `,`.
fn query_map(query: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let entry = out
            .entry(k.into_owned())
            .or_insert_with(|| Value::String(String::new()));
        if let Value::String(s) = entry {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(&v);
        }
    }
    out
}

/// An HTTP API payload 2.0 authorizer event and its route ARN.
fn http_v2_event(method: &Method, path: &str, query: &str, headers: &HeaderMap) -> (Value, String) {
    let arn = format!("{ARN_PREFIX}/$default/{method}{path}");
    let cookies: Vec<Value> = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| Value::String(c.to_string()))
        .collect();
    let mut event = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": arn,
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map(headers, true),
        "queryStringParameters": query_map(query),
        "requestContext": {
            "apiId": "l42demo",
            "stage": "$default",
            "routeKey": "$default",
            "http": {"method": method.as_str(), "path": path, "sourceIp": "127.0.0.1", "protocol": "HTTP/1.1"},
        },
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    (event, arn)
}

/// A REST API `REQUEST` authorizer event (a `{proxy+}` resource) and its method ARN.
fn rest_event(method: &Method, path: &str, query: &str, headers: &HeaderMap) -> (Value, String) {
    let arn = format!("{ARN_PREFIX}/{REST_STAGE}/{method}{path}");
    let event = json!({
        "type": "REQUEST",
        "methodArn": arn,
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method.as_str(),
        "headers": header_map(headers, false),
        "queryStringParameters": query_map(query),
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "requestContext": {
            "apiId": "l42demo",
            "stage": REST_STAGE,
            "resourcePath": "/{proxy+}",
            "httpMethod": method.as_str(),
            "path": format!("/{REST_STAGE}{path}"),
            "identity": {"sourceIp": "127.0.0.1"},
        },
    });
    (event, arn)
}

/// What API Gateway does with an authorizer response (also from its result cache, for
/// another route of the same caller): `Some(context)` when it allows
/// `arn`, `None` for a deny (including anything unreadable: fail closed).
pub fn enforce(body: &[u8], arn: &str) -> Option<Value> {
    let response: Value = serde_json::from_slice(body).ok()?;
    let context = response
        .get("context")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(allowed) = response.get("isAuthorized") {
        return (allowed == &Value::Bool(true)).then_some(context);
    }
    // An IAM policy: an explicit Deny matching the ARN wins; else an Allow must match.
    let statements = response.pointer("/policyDocument/Statement")?.as_array()?;
    let mut allowed = false;
    for s in statements {
        let resources: Vec<&str> = match s.get("Resource") {
            Some(Value::String(r)) => vec![r.as_str()],
            Some(Value::Array(rs)) => rs.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !resources.iter().any(|r| arn_matches(r, arn)) {
            continue;
        }
        match s.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return None,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    allowed.then_some(context)
}

/// IAM resource matching: `*` matches any run of characters, `?` any one.
fn arn_matches(pattern: &str, arn: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), arn.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The demo backend: says which route served whom, from the authorizer context only.
fn backend(
    method: &Method,
    path: &str,
    body: &[u8],
    context: &Value,
    action: Option<&str>,
) -> Response {
    let text = |k: &str| context.get(k).and_then(Value::as_str).unwrap_or("");
    let groups: Vec<&str> = text("groups")
        .split(',')
        .filter(|g| !g.is_empty())
        .collect();
    let caller = json!({
        "sub": text("sub"),
        "username": text("username"),
        "groups": groups,
        "clientId": text("clientId"),
        "tokenUse": text("tokenUse"),
    });
    let data = match (method.as_str(), path) {
        ("GET", "/orders") => json!([
            {"id": "1001", "item": "coffee beans", "quantity": 2},
            {"id": "1002", "item": "filter papers", "quantity": 1},
        ]),
        ("POST", "/orders") => {
            let sent: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            json!({"id": "1003", "created": true, "order": sent})
        }
        ("DELETE", p) if p.starts_with("/orders/") => {
            json!({"id": p.trim_start_matches("/orders/"), "deleted": true})
        }
        ("GET", "/admin/stats") => json!({"orders": 2, "users": 3}),
        ("GET", p) if p.starts_with("/tenants/") => {
            let tenant = p
                .trim_start_matches("/tenants/")
                .trim_end_matches("/orders");
            json!([{"id": format!("{tenant}-1"), "tenant": tenant, "item": "tea", "quantity": 1}])
        }
        ("POST", "/sync") => json!({"synced": 2}),
        _ => Value::Null,
    };
    json_response(
        StatusCode::OK,
        &json!({
            "route": format!("{method} {path}"),
            "action": action,
            "caller": caller,
            "data": data,
        }),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_demo_policies_load_and_differ_by_group() {
        let engine = demo_engine().unwrap();
        let decide = |groups: &[&str], method: &str, path: &str| {
            let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
            let m = engine.resolve(method, path).unwrap();
            let facts = l42_cedar::RequestFacts::new(method, path)
                .with_path_parameters(m.path_parameters());
            engine
                .decide(
                    m.action(),
                    &l42_cedar::Principal::new("sub-1", &groups),
                    &facts,
                )
                .allowed
        };
        let routes = [
            ("GET", "/me"),
            ("GET", "/orders"),
            ("POST", "/orders"),
            ("DELETE", "/orders/7"),
            ("GET", "/admin/stats"),
        ];
        for (groups, want) in [
            (&[][..], [true, true, false, false, false]),
            (&["editor"][..], [true, true, true, false, false]),
            (&["admin"][..], [true, true, true, true, true]),
        ] {
            for ((m, p), w) in routes.iter().zip(want) {
                assert_eq!(decide(groups, m, p), w, "{groups:?} {m} {p}");
            }
        }
        assert!(engine.resolve("GET", "/nowhere").is_none());
    }

    #[test]
    fn enforcement_fails_closed() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:l42demo/dev/GET/orders";
        let allow = |r: &str| {
            format!(
                r#"{{"principalId":"s","policyDocument":{{"Version":"2012-10-17","Statement":[{{"Action":"execute-api:Invoke","Effect":"Allow","Resource":["{r}"]}}]}},"context":{{"sub":"s"}}}}"#
            )
        };
        assert_eq!(
            enforce(allow(arn).as_bytes(), arn),
            Some(json!({"sub": "s"}))
        );
        let wild = "arn:aws:execute-api:us-east-1:123456789012:l42demo/dev/GET/*";
        assert!(enforce(allow(wild).as_bytes(), arn).is_some());
        let other = "arn:aws:execute-api:us-east-1:123456789012:l42demo/dev/POST/orders";
        assert!(enforce(allow(other).as_bytes(), arn).is_none());
        let deny = allow(arn).replace("Allow", "Deny");
        assert!(enforce(deny.as_bytes(), arn).is_none());
        assert!(enforce(br#"{"isAuthorized":false}"#, arn).is_none());
        assert_eq!(
            enforce(br#"{"isAuthorized":true,"context":{"a":"b"}}"#, arn),
            Some(json!({"a": "b"}))
        );
        assert!(enforce(br#"{"isAuthorized":"true"}"#, arn).is_none());
        assert!(enforce(b"not json", arn).is_none());
        assert!(enforce(b"{}", arn).is_none());
    }

    #[test]
    fn arn_patterns() {
        assert!(arn_matches("a*c", "abbbc"));
        assert!(arn_matches("a?c", "abc"));
        assert!(arn_matches("*", ""));
        assert!(!arn_matches("a*c", "abbbd"));
        assert!(!arn_matches("abc", "abcd"));
    }

    #[test]
    fn events_carry_what_api_gateway_sends() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer x".parse().unwrap());
        h.insert("cookie", "a=1; __Host-l42_session=v".parse().unwrap());
        h.append("x-multi", "1".parse().unwrap());
        h.append("x-multi", "2".parse().unwrap());
        let (e, arn) = http_v2_event(&Method::GET, "/orders", "limit=5&limit=6", &h);
        assert!(arn.ends_with("/$default/GET/orders"));
        assert_eq!(e["cookies"], json!(["a=1", "__Host-l42_session=v"]));
        assert_eq!(e["headers"]["x-multi"], "1,2");
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["queryStringParameters"]["limit"], "5,6");
        let (e, arn) = rest_event(&Method::DELETE, "/orders/9", "", &h);
        assert!(arn.ends_with("/dev/DELETE/orders/9"));
        assert_eq!(e["headers"]["cookie"], "a=1; __Host-l42_session=v");
        assert_eq!(api_path("/api"), "/");
        assert_eq!(api_path("/api/orders"), "/orders");
    }
}

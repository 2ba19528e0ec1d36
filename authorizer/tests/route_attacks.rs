//! Requests that try to be decided as something they are not, from the attack side: a path
//! that ends in `/$connect`, an event that claims to be a WebSocket connect in part, a
//! request path holding IAM wildcards, an ARN API Gateway never sends. A valid token and
//! the shipped example policies throughout, with a caller in `users` (who may `GET`
//! orders, open a WebSocket connection and nothing else of interest).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use l42_authorizer::{Authorizer, Outcome};
use serde_json::{Value, json};

const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:api/prod/";

fn run(a: &Authorizer, ev: &Value) -> Outcome {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(a.handle(ev.to_string().as_bytes()))
}

fn user() -> String {
    format!("Bearer {}", common::token("u-1", &["users"]))
}

fn describe(o: &Outcome) -> String {
    let e = o.explain();
    let what = match o {
        Outcome::Respond { allowed: true, .. } => "ALLOWED",
        Outcome::Respond { .. } => "denied (403)",
        Outcome::Unauthorized { .. } => "unauthorized (401)",
        Outcome::Failed { .. } => "failed (500)",
    };
    format!(
        "{what}: {} {} {:?}",
        e.event.unwrap_or("-"),
        e.stage,
        e.action
    )
}

fn is_deny(o: &Outcome) -> bool {
    matches!(o, Outcome::Respond { allowed: false, .. })
}

fn is_401(o: &Outcome) -> bool {
    matches!(o, Outcome::Unauthorized { .. })
}

fn token_event(auth: &str, tail: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": auth, "methodArn": format!("{PREFIX}{tail}")})
}

/// A REST REQUEST event on resource `resource` (as API Gateway names the matched resource).
fn rest_event(auth: &str, method: &str, path: &str, resource: &str) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": format!("{PREFIX}{method}{path}"),
        "resource": resource, "path": path, "httpMethod": method,
        "headers": {"Authorization": auth},
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "requestContext": {"resourcePath": resource, "httpMethod": method,
                           "identity": {"sourceIp": "203.0.113.7"}},
    })
}

fn http_v1_event(auth: &str, method: &str, path: &str, route_key: &str) -> Value {
    let mut ev = rest_event(auth, method, path, "/{proxy+}");
    ev["version"] = json!("1.0");
    ev["requestContext"]["routeKey"] = json!(route_key);
    ev
}

fn http_v2_event(auth: &str, method: &str, path: &str, route_key: &str) -> Value {
    json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": format!("{PREFIX}{method}{path}"),
        "routeKey": route_key, "rawPath": path,
        "headers": {"authorization": auth},
        "requestContext": {"routeKey": route_key,
                           "http": {"method": method, "path": path, "sourceIp": "203.0.113.7"}},
    })
}

fn connect_event(auth: &str) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": format!("{PREFIX}$connect"),
        "headers": {"Authorization": auth},
        "requestContext": {"eventType": "CONNECT", "routeKey": "$connect",
                           "identity": {"sourceIp": "203.0.113.7"}},
    })
}

/// The finding: any REQUEST event whose method ARN ended in `/$connect` was decided as a
/// WebSocket connect, which every signed-in user may do; so `DELETE /orders/$connect`
/// and `POST /admin/users/$connect` were allowed to a caller in `users`. Each such request
/// is now decided by its route (denied), in every event kind.
#[test]
fn a_path_ending_in_connect_is_decided_by_its_route() {
    let a = common::embedded_authorizer(&[]);
    let iam = common::embedded_authorizer(&[("HTTP_API_RESPONSE", "iam")]);
    let auth = user();
    let mut events = Vec::new();
    for (method, path, resource) in [
        ("DELETE", "/orders/$connect", "/{proxy+}"),
        ("DELETE", "/orders/$connect", "/orders/{id}"),
        ("POST", "/admin/users/$connect", "/admin/{proxy+}"),
        ("PUT", "/orders/$connect", "/orders/{id}"),
        ("POST", "/$connect", "/{proxy+}"),
    ] {
        events.push(rest_event(&auth, method, path, resource));
        events.push(http_v1_event(&auth, method, path, "$default"));
        events.push(http_v1_event(
            &auth,
            method,
            path,
            &format!("{method} {resource}"),
        ));
        events.push(http_v2_event(&auth, method, path, "$default"));
        events.push(http_v2_event(&auth, method, path, "ANY /{proxy+}"));
        events.push(token_event(&auth, &format!("{method}{path}")));
    }
    for ev in &events {
        for authorizer in [&a, &iam] {
            let out = run(authorizer, ev);
            assert!(is_deny(&out), "{ev}: {}", describe(&out));
            assert_ne!(out.explain().action.as_deref(), Some("$connect"), "{ev}");
            assert_ne!(out.explain().event, Some("websocket-connect"), "{ev}");
        }
    }
    // The genuine connect of the same caller is still allowed.
    let out = run(&a, &connect_event(&auth));
    assert!(
        matches!(out, Outcome::Respond { allowed: true, .. }),
        "{}",
        describe(&out)
    );
    assert_eq!(out.explain().action.as_deref(), Some("$connect"));
}

/// An event with some of a connect's marks and not the others is no event API Gateway
/// sends: refused (401) as unrecognised, never decided as a connect.
#[test]
fn an_event_that_is_a_connect_only_in_part_is_refused() {
    let a = common::embedded_authorizer(&[]);
    let auth = user();
    let genuine = connect_event(&auth);
    let mut partial = Vec::new();
    for (field, value) in [
        ("/requestContext/eventType", json!("MESSAGE")),
        ("/requestContext/eventType", json!("DISCONNECT")),
        ("/requestContext/eventType", json!("connect")),
        ("/requestContext/eventType", Value::Null),
        ("/requestContext/routeKey", json!("$default")),
        ("/requestContext/routeKey", json!("sendMessage")),
        ("/requestContext/routeKey", Value::Null),
        ("/methodArn", json!(format!("{PREFIX}$connect/"))),
        ("/methodArn", json!(format!("{PREFIX}GET/orders/$connect"))),
        ("/methodArn", json!(format!("{PREFIX}$disconnect"))),
        ("/methodArn", json!(format!("{PREFIX}$CONNECT"))),
    ] {
        let mut ev = genuine.clone();
        *ev.pointer_mut(field).unwrap() = value;
        // A null event type with the `$connect` route key is still a partial connect.
        partial.push(ev);
    }
    // A REST or HTTP API 1.0 event carrying the route key `$connect` and no event type.
    let mut rest = rest_event(&auth, "DELETE", "/orders/$connect", "/{proxy+}");
    rest["requestContext"]["routeKey"] = json!("$connect");
    partial.push(rest);
    partial.push(http_v1_event(
        &auth,
        "DELETE",
        "/orders/$connect",
        "$connect",
    ));
    for ev in &partial {
        let out = run(&a, ev);
        let refused = is_401(&out) && out.explain().stage == "event";
        // The null event type with the route key removed too is a plain REST event.
        let decided_by_route = is_deny(&out) && out.explain().action.as_deref() != Some("$connect");
        assert!(refused || decided_by_route, "{ev}: {}", describe(&out));
    }
    // The `$connect` ARN alone, without the connect's request context, is a REST event
    // with the verb `$connect`: no such route.
    let mut bare = genuine.clone();
    bare.as_object_mut().unwrap().remove("requestContext");
    let out = run(&a, &bare);
    assert!(is_deny(&out), "{}", describe(&out));
    // An HTTP API payload 2.0 event never reaches the WebSocket action, whatever its
    // route key says.
    for key in ["$connect", "$default"] {
        let out = run(&a, &http_v2_event(&auth, "GET", "/$connect", key));
        assert!(is_deny(&out), "{key}: {}", describe(&out));
        assert_ne!(out.explain().action.as_deref(), Some("$connect"));
    }
}

/// The finding: with `POLICY_CACHE_SAFE=false` the requested ARN went into the Allow as
/// is, so `GET /orders/*` was allowed as `.../GET/orders/*`, which IAM matches against
/// `/orders/1/audit` (and every other path below `/orders/`) from API Gateway's result
/// cache. A request path holding `*` or `?` is now denied on both branches.
#[test]
fn a_wildcard_in_the_request_path_is_never_allowed_as_a_resource() {
    let auth = user();
    for cache_safe in ["false", "true"] {
        for response in ["simple", "iam"] {
            let a = common::embedded_authorizer(&[
                ("POLICY_CACHE_SAFE", cache_safe),
                ("HTTP_API_RESPONSE", response),
            ]);
            for path in [
                "/orders/*",
                "/orders/?",
                "/orders/1*",
                "/orders/*/audit",
                "/orders/a?c",
            ] {
                let mut events = vec![
                    token_event(&auth, &format!("GET{path}")),
                    rest_event(&auth, "GET", path, "/orders/{id}"),
                    http_v1_event(&auth, "GET", path, "GET /orders/{id}"),
                ];
                if response == "iam" {
                    events.push(http_v2_event(&auth, "GET", path, "GET /orders/{id}"));
                }
                for ev in &events {
                    let out = run(&a, ev);
                    assert!(
                        is_deny(&out),
                        "cache-safe {cache_safe} {ev}: {}",
                        describe(&out)
                    );
                    assert_eq!(out.explain().stage, "route", "{ev}");
                }
            }
            // The literal path of the same route is allowed, and no Allow names a
            // resource with a wildcard other than the cache-safe route patterns.
            let out = run(&a, &token_event(&auth, "GET/orders/42"));
            assert!(
                matches!(out, Outcome::Respond { allowed: true, .. }),
                "{}",
                describe(&out)
            );
            let resources = common::allowed_resources(&out);
            assert_eq!(resources[0], format!("{PREFIX}GET/orders/42"));
            if cache_safe == "false" {
                assert_eq!(resources.len(), 1, "{resources:?}");
            }
        }
    }
    // HTTP API simple responses name no resource: the route decides, wildcard or not.
    let a = common::embedded_authorizer(&[("POLICY_CACHE_SAFE", "false")]);
    let mut ev = http_v2_event(&auth, "GET", "/orders/*", "GET /orders/{id}");
    ev["pathParameters"] = json!({"id": "*"});
    let out = run(&a, &ev);
    assert!(
        matches!(out, Outcome::Respond { allowed: true, .. }),
        "{}",
        describe(&out)
    );
}

/// A valid token with a method ARN API Gateway cannot send (over 1600 bytes: it answers
/// 414 itself; or not an execute-api ARN) is a Deny (403), as any request the token may
/// not make; it was a 401, which tells a client to throw its good tokens away.
#[test]
fn a_valid_token_with_an_unusable_arn_is_denied_not_unauthorized() {
    let a = common::embedded_authorizer(&[]);
    let iam = common::embedded_authorizer(&[("HTTP_API_RESPONSE", "iam")]);
    let auth = user();
    let long = format!("/orders/{}", "a".repeat(1600));
    let mut events = vec![
        token_event(&auth, &format!("GET{long}")),
        rest_event(&auth, "GET", &long, "/orders/{id}"),
        http_v2_event(&auth, "GET", &long, "GET /orders/{id}"),
    ];
    for arn in ["arn:aws:s3:::bucket/GET/orders", "not an arn", ""] {
        events.push(json!({"type": "TOKEN", "authorizationToken": auth, "methodArn": arn}));
    }
    for ev in &events {
        for authorizer in [&a, &iam] {
            let out = run(authorizer, ev);
            assert!(
                is_deny(&out),
                "{}: {}",
                &ev.to_string()[..120.min(ev.to_string().len())],
                describe(&out)
            );
            assert_eq!(out.explain().sub.as_deref(), Some("u-1"));
        }
    }
    // Without a valid token the same events are a 401, as ever.
    for ev in &mut events {
        if let Some(t) = ev.get_mut("authorizationToken") {
            *t = json!("Bearer eyJ.bad.token");
        } else {
            ev["headers"] = json!({"authorization": "Bearer eyJ.bad.token"});
        }
        assert!(is_401(&run(&a, ev)), "{ev}");
    }
}

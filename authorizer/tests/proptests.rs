//! Property tests of the authorizer: `Authorizer::handle` never panics on any input and
//! never allows without a valid token, for arbitrary bytes, arbitrary JSON and structurally
//! valid events of all five kinds with arbitrary headers, query strings, paths and method
//! ARNs; with a valid token, every Allow is well formed and stays inside the API's stage.
//! `MethodArn::parse` never panics and its parts always point into its input. The event
//! parser reads exactly what an independent reading through `serde_json::Value` reads, and
//! accepts nothing that is not JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::allowed;

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use l42_authorizer::event::StrMap;
use l42_authorizer::{Authorizer, MethodArn, Outcome, RawEvent};
use l42_core::{SigningKey, unix_now};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const CASES: u32 = 256;

/// The authorizers under test: the defaults, every identity source with IAM responses for
/// HTTP APIs, and exact-ARN policies.
fn authorizers() -> &'static [Authorizer; 3] {
    static A: OnceLock<[Authorizer; 3]> = OnceLock::new();
    A.get_or_init(|| {
        [
            common::embedded_authorizer(&[]),
            common::embedded_authorizer(&[
                ("IDENTITY_SOURCES", "protocol,query,header"),
                ("HTTP_API_RESPONSE", "iam"),
                ("TOKEN_USE", "any"),
            ]),
            common::embedded_authorizer(&[
                ("POLICY_CACHE_SAFE", "false"),
                ("IDENTITY_SOURCES", "query,header"),
            ]),
        ]
    })
}

fn handle(a: &Authorizer, bytes: &[u8]) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(a.handle(bytes))
}

/// Valid tokens for a few kinds of user (signing is slow in debug builds: made once).
fn valid_tokens() -> &'static [String] {
    static T: OnceLock<Vec<String>> = OnceLock::new();
    T.get_or_init(|| {
        vec![
            common::token("user-1", &["users"]),
            common::token("admin-1", &["admin"]),
            common::token("editor-1", &["editors", "readonly"]),
            common::token("nobody-1", &[]),
        ]
    })
}

/// Tokens that must never be accepted: expired, wrongly signed, from an unknown key.
fn bad_tokens() -> &'static [String] {
    static T: OnceLock<Vec<String>> = OnceLock::new();
    T.get_or_init(|| {
        let mut expired = common::claims("admin-1", &["admin"]);
        expired["exp"] = json!(unix_now() - 10);
        let good = common::token("admin-1", &["admin"]);
        let (input, _) = good.rsplit_once('.').unwrap();
        let other = SigningKey::generate("golden-key").unwrap();
        vec![
            common::key().sign_json(&expired).unwrap(),
            format!("{input}.{}", URL_SAFE_NO_PAD.encode([7u8; 256])),
            other
                .sign_json(&common::claims("admin-1", &["admin"]))
                .unwrap(),
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
                input.split('.').nth(1).unwrap()
            ),
        ]
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        "[a-zA-Z0-9/{}+*?$._ -]{0,24}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(vec![
                "type",
                "version",
                "methodArn",
                "routeArn",
                "routeKey",
                "authorizationToken",
                "headers",
                "queryStringParameters",
                "pathParameters",
                "requestContext",
                "http",
                "identity",
                "eventType",
                "cookies",
                "rawPath",
                "path",
                "resource",
                "httpMethod",
            ])
            .prop_map(str::to_string),
            text(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Method and route ARNs: well formed with hostile parts, or anything at all.
fn arn() -> impl Strategy<Value = String> {
    let part = || "[a-zA-Z0-9$*?{}+._/ -]{0,12}";
    let path = prop_oneof![
        prop::sample::select(vec![
            "orders",
            "orders/42",
            "orders/*",
            "orders/42/secret",
            "me",
            "admin/users",
            "",
            "*",
            "orders/%2e%2e/admin",
        ])
        .prop_map(str::to_string),
        "\\PC{0,40}",
        "[a-z0-9/*?{}]{0,40}",
    ];
    let verb = prop_oneof![
        prop::sample::select(vec![
            "GET", "POST", "PUT", "DELETE", "get", "ANY", "*", "$connect", "",
        ])
        .prop_map(str::to_string),
        part(),
    ];
    prop_oneof![
        4 => (part(), part(), part(), part(), verb, path).prop_map(
            |(region, account, api, stage, verb, path)| {
                format!("arn:aws:execute-api:{region}:{account}:{api}/{stage}/{verb}/{path}")
            }
        ),
        1 => "arn:aws:execute-api:us-east-1:123456789012:api/prod/\\PC{0,40}",
        1 => "\\PC{0,80}",
        1 => "[a-z:/$*]{0,60}",
    ]
}

fn string_map() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        text(),
        prop_oneof![4 => text().prop_map(Value::String), 1 => Just(Value::Null)],
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

/// Where the token goes and what surrounds it.
#[derive(Debug, Clone)]
struct Parts {
    kind: u8,
    arn: String,
    method: String,
    path: String,
    resource: String,
    route_key: String,
    headers: Map<String, Value>,
    query: Map<String, Value>,
    path_params: Map<String, Value>,
    token_in: u8,
    scheme: String,
    source_ip: String,
}

/// A route of the example policy store with a concrete path (path parameters arbitrary,
/// hostile included), or arbitrary strings: `(verb, path, template, route key)`.
fn route() -> impl Strategy<Value = (String, String, String, String)> {
    let param = prop_oneof![
        Just("42".to_string()),
        "[a-z0-9]{1,8}",
        "\\PC{1,8}",
        prop::sample::select(vec!["*", "?", "a/b", "%2F..", "..", "{id}", " "])
            .prop_map(str::to_string),
    ];
    let real = prop::sample::select(vec![
        ("GET", "/orders"),
        ("POST", "/orders"),
        ("GET", "/orders/{id}"),
        ("PUT", "/orders/{id}"),
        ("DELETE", "/orders/{id}"),
        ("GET", "/me"),
        ("GET", "/admin/{proxy+}"),
        ("POST", "/admin/{proxy+}"),
        ("PATCH", "/orders"),
    ]);
    prop_oneof![
        3 => (real, param).prop_map(|((verb, template), p)| {
            let path = template.replace("{id}", &p).replace("{proxy+}", &p);
            (verb.to_string(), path, template.to_string(), format!("{verb} {template}"))
        }),
        1 => (text(), text(), text(), text()),
    ]
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        (0u8..5, route(), arn(), 0u8..4, 0u8..3),
        (
            string_map(),
            string_map(),
            string_map(),
            0u8..4,
            prop_oneof![
                3 => Just("Bearer ".to_string()),
                1 => Just("bearer   ".to_string()),
                1 => Just(String::new()),
                1 => text(),
            ],
            text(),
        ),
    )
        .prop_map(
            |(
                (kind, (verb, path, template, key), random_arn, arn_choice, key_choice),
                (headers, query, path_params, token_in, scheme, source_ip),
            )| {
                let arn = if arn_choice == 0 {
                    random_arn
                } else {
                    format!("arn:aws:execute-api:us-east-1:123456789012:api/prod/{verb}{path}")
                };
                let route_key = match key_choice {
                    0 => "$default".to_string(),
                    _ => key,
                };
                Parts {
                    kind,
                    arn,
                    method: verb,
                    path,
                    resource: template,
                    route_key,
                    headers,
                    query,
                    path_params,
                    token_in,
                    scheme,
                    source_ip,
                }
            },
        )
}

/// A structurally valid event of kind `p.kind`, with `token` placed per `p.token_in`.
fn event(p: &Parts, token: &str) -> Value {
    let mut headers = p.headers.clone();
    let mut query = p.query.clone();
    match p.token_in {
        0 => {
            headers.insert(
                "Authorization".into(),
                json!(format!("{}{token}", p.scheme)),
            );
        }
        1 => {
            query.insert("token".into(), json!(token));
        }
        2 => {
            headers.insert(
                "Sec-WebSocket-Protocol".into(),
                json!(format!("l42.v1, {token}")),
            );
        }
        _ => {
            headers.insert("authorization".into(), json!(token));
        }
    }
    let auth = format!("{}{token}", p.scheme);
    match p.kind {
        0 => json!({"type": "TOKEN", "authorizationToken": auth, "methodArn": p.arn}),
        1 | 2 => {
            let mut ev = json!({
                "type": "REQUEST",
                "methodArn": p.arn,
                "resource": p.resource,
                "path": p.path,
                "httpMethod": p.method,
                "headers": headers,
                "queryStringParameters": query,
                "pathParameters": p.path_params,
                "requestContext": {
                    "identity": {"sourceIp": p.source_ip},
                    "routeKey": p.route_key,
                },
            });
            if p.kind == 2 {
                ev["version"] = json!("1.0");
            }
            ev
        }
        3 => json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": p.arn,
            "routeKey": p.route_key,
            "rawPath": p.path,
            "headers": headers,
            "queryStringParameters": query,
            "pathParameters": p.path_params,
            "cookies": ["a=b"],
            "requestContext": {
                "http": {"method": p.method, "path": p.path, "sourceIp": p.source_ip},
                "routeKey": p.route_key,
            },
        }),
        _ => json!({
            "type": "REQUEST",
            "methodArn": format!("{}/$connect", p.arn),
            "headers": headers,
            "queryStringParameters": query,
            "requestContext": {"eventType": "CONNECT", "routeKey": "$connect"},
        }),
    }
}

/// What the event model should read from `text`, worked out independently through
/// `serde_json::Value`: `None` when the event must be refused. (A repeated key, which the
/// model refuses, is invisible here; generated values never repeat one.)
fn oracle(text: &str) -> Option<Value> {
    fn s(v: Option<&Value>) -> Option<Value> {
        match v {
            None | Some(Value::Null) => Some(Value::Null),
            Some(Value::String(x)) => Some(json!(x)),
            Some(_) => None,
        }
    }
    fn map(v: Option<&Value>) -> Option<Value> {
        match v {
            None | Some(Value::Null) => Some(json!({})),
            Some(Value::Object(m)) => {
                let mut out = Map::new();
                for (k, v) in m {
                    match v {
                        Value::Null => {}
                        Value::String(x) => {
                            out.insert(k.clone(), json!(x));
                        }
                        _ => return None,
                    }
                }
                Some(Value::Object(out))
            }
            Some(_) => None,
        }
    }
    fn object(v: Option<&Value>) -> Option<Option<&Map<String, Value>>> {
        match v {
            None | Some(Value::Null) => Some(None),
            Some(Value::Object(m)) => Some(Some(m)),
            Some(_) => None,
        }
    }
    let v: Value = serde_json::from_str(text).ok()?;
    let top = v.as_object()?;
    let ctx = object(top.get("requestContext"))?;
    let sub = |name: &str| ctx.map_or(Some(None), |c| object(c.get(name)));
    let http = sub("http")?;
    let identity = sub("identity")?;
    let cookies = match top.get("cookies") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Array(items)) => {
            let all: Option<Vec<Value>> =
                items.iter().map(|i| i.as_str().map(|x| json!(x))).collect();
            Value::Array(all?)
        }
        Some(_) => return None,
    };
    Some(json!({
        "type": s(top.get("type"))?,
        "version": s(top.get("version"))?,
        "authorizationToken": s(top.get("authorizationToken"))?,
        "methodArn": s(top.get("methodArn"))?,
        "routeArn": s(top.get("routeArn"))?,
        "routeKey": s(top.get("routeKey"))?,
        "resource": s(top.get("resource"))?,
        "path": s(top.get("path"))?,
        "rawPath": s(top.get("rawPath"))?,
        "httpMethod": s(top.get("httpMethod"))?,
        "headers": map(top.get("headers"))?,
        "queryStringParameters": map(top.get("queryStringParameters"))?,
        "pathParameters": map(top.get("pathParameters"))?,
        "cookies": cookies,
        "ctx.routeKey": s(ctx.and_then(|c| c.get("routeKey")))?,
        "ctx.eventType": s(ctx.and_then(|c| c.get("eventType")))?,
        "ctx.http": match http {
            None => Value::Null,
            Some(h) => json!({
                "method": s(h.get("method"))?,
                "path": s(h.get("path"))?,
                "sourceIp": s(h.get("sourceIp"))?,
            }),
        },
        "ctx.identity": match identity {
            None => Value::Null,
            Some(i) => json!({ "sourceIp": s(i.get("sourceIp"))? }),
        },
    }))
}

/// What the event model read, in the oracle's shape.
fn model(e: &RawEvent<'_>) -> Value {
    let s = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().map_or(Value::Null, |x| json!(x));
    let map =
        |m: &StrMap<'_>| Value::Object(m.pairs().map(|(k, v)| (k.to_string(), json!(v))).collect());
    let c = &e.request_context;
    json!({
        "type": s(&e.kind),
        "version": s(&e.version),
        "authorizationToken": s(&e.authorization_token),
        "methodArn": s(&e.method_arn),
        "routeArn": s(&e.route_arn),
        "routeKey": s(&e.route_key),
        "resource": s(&e.resource),
        "path": s(&e.path),
        "rawPath": s(&e.raw_path),
        "httpMethod": s(&e.http_method),
        "headers": map(&e.headers),
        "queryStringParameters": map(&e.query),
        "pathParameters": map(&e.path_parameters),
        "cookies": e.cookies.as_ref().map_or(Value::Null, |c| json!(c.iter().map(|x| x.as_ref()).collect::<Vec<_>>())),
        "ctx.routeKey": s(&c.route_key),
        "ctx.eventType": s(&c.event_type),
        "ctx.http": c.http.as_ref().map_or(Value::Null, |h| json!({
            "method": s(&h.method), "path": s(&h.path), "sourceIp": s(&h.source_ip),
        })),
        "ctx.identity": c.identity.as_ref().map_or(Value::Null, |i| json!({
            "sourceIp": s(&i.source_ip),
        })),
    })
}

/// The event model and the oracle agree on `text`.
fn same_reading(text: &str) -> Result<(), TestCaseError> {
    let ours = RawEvent::parse(text.as_bytes());
    match (oracle(text), ours) {
        (Some(want), Ok(e)) => prop_assert_eq!(model(&e), want, "{}", text),
        (None, Err(_)) => {}
        (Some(_), Err(e)) => {
            // A repeated key is the one thing `Value` cannot see.
            prop_assert!(
                e.to_string().contains("appears twice"),
                "refused {}: {}",
                text,
                e
            );
        }
        (None, Ok(e)) => prop_assert!(false, "accepted {}: {:?}", text, model(&e)),
    }
    Ok(())
}

/// Every policy response is well formed and names the caller; an IAM policy lists only
/// ARNs under the requested API stage, never `*`; an Allow allows the requested ARN, a
/// Deny denies it explicitly (beside, in cache-safe mode, the caller's other routes).
fn check_response(out: &Outcome, ev: &Value) -> Result<(), TestCaseError> {
    let Outcome::Respond {
        body,
        allowed,
        explain,
    } = out
    else {
        return Ok(());
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| TestCaseError::fail(format!("response is not JSON: {e}")))?;
    if *allowed {
        prop_assert_eq!(explain.stage, "policy");
    }
    if let Some(ok) = v.get("isAuthorized") {
        prop_assert_eq!(ok, &json!(*allowed));
        return Ok(());
    }
    prop_assert_eq!(v["principalId"].as_str(), explain.sub.as_deref());
    let arn = ev
        .get("routeArn")
        .or_else(|| ev.get("methodArn"))
        .and_then(Value::as_str)
        .unwrap();
    let prefix = MethodArn::parse(arn).map(|m| m.prefix);
    let statements = v["policyDocument"]["Statement"].as_array().unwrap();
    prop_assert!(!statements.is_empty() && statements.len() <= 2);
    let names = |effect: &str| -> Result<bool, TestCaseError> {
        let mut named = false;
        for s in statements.iter().filter(|s| s["Effect"] == effect) {
            for r in s["Resource"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                prop_assert!(
                    r == arn || prefix.is_some_and(|p| r.starts_with(p)),
                    "resource {r} is outside {arn}"
                );
                prop_assert!(r != "*", "blanket resource");
                named |= r == arn;
            }
        }
        Ok(named)
    };
    let allows = names("Allow")?;
    let denies = names("Deny")?;
    if *allowed {
        prop_assert!(allows && !denies, "an Allow must allow {arn}: {v}");
    } else {
        prop_assert!(denies && !allows, "a Deny must deny {arn} explicitly: {v}");
    }
    if v.get("context").is_some() {
        prop_assert!(
            statements.iter().any(|s| s["Effect"] == "Allow"),
            "context without an Allow: {v}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_bytes_never_panic_nor_allow(
        bytes in prop::collection::vec(any::<u8>(), 0..1024),
        which in 0usize..3,
    ) {
        let out = handle(&authorizers()[which], &bytes);
        prop_assert!(!allowed(&out));
    }

    #[test]
    fn arbitrary_json_never_panics_nor_allows(v in json_value(), which in 0usize..3) {
        let out = handle(&authorizers()[which], v.to_string().as_bytes());
        prop_assert!(!allowed(&out));
    }

    #[test]
    fn valid_events_without_a_valid_token_never_allow(
        p in parts(),
        token in prop_oneof![
            2 => prop::sample::select(bad_tokens().to_vec()),
            1 => text(),
            1 => "[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{0,40}",
        ],
        which in 0usize..3,
    ) {
        let ev = event(&p, &token);
        let out = handle(&authorizers()[which], ev.to_string().as_bytes());
        prop_assert!(!allowed(&out), "{}", ev);
        if let Outcome::Respond { explain, .. } = &out {
            prop_assert!(false, "a bad token reached stage {}: {}", explain.stage, ev);
        }
    }

    #[test]
    fn valid_events_with_a_valid_token_never_panic_and_allow_only_well_formed(
        p in parts(),
        token in prop::sample::select(valid_tokens().to_vec()),
        which in 0usize..3,
    ) {
        let ev = event(&p, &token);
        let out = handle(&authorizers()[which], ev.to_string().as_bytes());
        check_response(&out, &ev)?;
    }

    #[test]
    fn mutated_valid_events_never_panic(
        p in parts(),
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        which in 0usize..3,
    ) {
        let ev = event(&p, &valid_tokens()[0]);
        let mut bytes = ev.to_string().into_bytes();
        let i = index.index(bytes.len());
        bytes[i] = byte;
        let out = handle(&authorizers()[which], &bytes);
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            check_response(&out, &v)?;
        }
    }

    #[test]
    fn the_event_parser_reads_what_serde_json_reads(
        v in prop_oneof![
            json_value(),
            (parts(), prop::sample::select(valid_tokens().to_vec()))
                .prop_map(|(p, t)| event(&p, &t)),
        ],
        pretty in any::<bool>(),
    ) {
        let text = if pretty {
            serde_json::to_string_pretty(&v).unwrap()
        } else {
            v.to_string()
        };
        same_reading(&text)?;
    }

    #[test]
    fn the_event_parser_agrees_on_damaged_events(
        p in parts(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![
            Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b'['), Just(b']'),
            Just(b','), Just(b':'), Just(b'u'), Just(b'n'), Just(b'0'), Just(b'-'),
            Just(b' '), Just(b'\n'), Just(0x01u8), any::<u8>(),
        ], 0u8..3), 1..4),
    ) {
        let mut bytes = event(&p, &valid_tokens()[0]).to_string().into_bytes();
        for (index, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            match op {
                0 => {
                    let i = index.index(bytes.len());
                    bytes[i] = byte;
                }
                // Inserting may append too.
                1 => bytes.insert(index.index(bytes.len() + 1), byte),
                _ => {
                    bytes.remove(index.index(bytes.len()));
                }
            }
        }
        match std::str::from_utf8(&bytes) {
            Ok(text) => same_reading(text)?,
            Err(_) => prop_assert!(RawEvent::parse(&bytes).is_err()),
        }
    }

    #[test]
    fn method_arn_parse_never_panics(s in prop_oneof![arn(), any::<String>()]) {
        if let Some(m) = MethodArn::parse(&s) {
            prop_assert!(s.starts_with(m.prefix));
            prop_assert!(m.prefix.ends_with('/'));
            prop_assert!(!m.verb.is_empty());
            prop_assert!(!m.verb.contains('/'));
            prop_assert!(m.path.starts_with('/'));
            prop_assert!(s.len() <= l42_authorizer::event::MAX_ARN_BYTES);
            let rest = &s[m.prefix.len()..];
            prop_assert!(rest.starts_with(m.verb));
        }
    }
}

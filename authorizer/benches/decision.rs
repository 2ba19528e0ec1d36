//! The in-process decision, `Authorizer::handle` (event bytes → response bytes), and the
//! parts it is made of. Numbers and the commands that produced them: `BENCHMARKS.md`.
//!
//! ```text
//! cargo bench -p l42-authorizer --bench decision            # everything (~9 min)
//! cargo bench -p l42-authorizer --bench decision -- handle/ # one group (a regex)
//! ```
//!
//! Groups:
//! - `handle/<event>/<case>`: the whole decision for HTTP API payload 2.0 (simple response)
//!   and REST TOKEN events, with the shipped policy store: `uncached` (claims cache off, so
//!   every iteration decodes the token and checks its RSA signature; the engine has
//!   memoized this user's decision), `uncached-new-principal` (another user every
//!   iteration: the Cedar evaluation runs too), `cached` (same token, cache on),
//!   `cached+json-log` (as `cached`, with the Lambda JSON log subscriber formatting the
//!   decision record into a sink);
//! - `policies/<event>/<n>`: cached claims, a generated store of `n` route actions
//!   (`"get /r{i}"`) with one policy each, and `shipped` for comparison; `rest-token` lists
//!   only the requested ARN (`POLICY_CACHE_SAFE=false`), `rest-token-cache-safe` decides
//!   every route of the table to list the allowed ones;
//! - `micro/…`: RSA verification (pre-parsed key against the key rebuilt per call), the
//!   verifier, event parsing, the Cedar decision alone and the allowed-route listing (each
//!   memoized, and `-new-principal` for a user the engine has not seen), route resolution,
//!   response building and the `block_on` overhead every `handle` figure includes;
//! - `event-reader/<event>/<reader>`: REST REQUEST, HTTP API 2.0, WebSocket `$connect` and
//!   REST TOKEN events read by `RawEvent::parse` (`json-rs`) and by `serde_json` into
//!   derived borrowing structs of the same fields (`serde-json`), in one group;
//! - `revocation/<check>`: the cached HTTP API decision of `handle/` with the revocation
//!   check `off`, `on-in-window` (the sign-in's answer kept: no store read) and
//!   `on-every-request` (no window: one read of an in-memory store per request, the floor
//!   under a DynamoDB `GetItem`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::OnceCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use l42_authorizer::{Authorizer, AuthorizerConfig, Outcome, RawEvent};
use l42_cedar::{Engine, Principal, RequestFacts};
use l42_core::jwks::RsaKey;
use l42_core::{SigningKey, Verifier, unix_now};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

const POOL: &str = "us-east-1_BenchPool1";
const CLIENT: &str = "3n4b5urk1ft4fl3mg5e62d9ado";
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BenchPool1";
const ARN_PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/";
/// The caller's groups: `users` for the shipped store, `g3` for the generated ones.
const GROUPS: [&str; 2] = ["users", "g3"];

/// Sizes of the generated policy stores.
const SIZES: [usize; 2] = [6, 200];
/// Distinct principals cycled through to measure decisions the engine has not memoized
/// (more than its memo holds, so every one is new to it).
const NEW_PRINCIPALS: usize = 5000;

struct Fixture {
    key: SigningKey,
    /// A second key in the JWKS, as Cognito publishes two.
    other: SigningKey,
    token: String,
}

impl Fixture {
    fn new() -> Fixture {
        let key = SigningKey::generate("bench-key-1").unwrap();
        let other = SigningKey::generate("bench-key-2").unwrap();
        let now = unix_now();
        // The claims of a real Cognito access token (about 1 KB once signed).
        let claims = json!({
            "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "cognito:groups": GROUPS,
            "iss": ISSUER,
            "version": 2,
            "client_id": CLIENT,
            "origin_jti": "4f7c2e9b-1a3d-4e5f-8a6b-9c0d1e2f3a4b",
            "event_id": "0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
            "token_use": "access",
            "scope": "openid profile email",
            "auth_time": now - 60,
            "exp": now + 3600,
            "iat": now - 60,
            "jti": "9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4",
            "username": "alice",
        });
        let token = key.sign_json(&claims).unwrap();
        Fixture { key, other, token }
    }

    /// `n` tokens like `token`, each for another user (`sub`).
    fn tokens_for_new_principals(&self, n: usize) -> Vec<String> {
        let payload = self.token.split('.').nth(1).unwrap();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        (0..n)
            .map(|i| {
                claims["sub"] = json!(format!("user-{i:06}-bbbb-cccc-dddd-eeeeeeeeeeee"));
                self.key.sign_json(&claims).unwrap()
            })
            .collect()
    }

    fn jwks(&self) -> String {
        json!({ "keys": [self.key.jwk(), self.other.jwk()] }).to_string()
    }

    fn config(&self, cache: bool, cache_safe: bool) -> AuthorizerConfig {
        self.config_with(cache, cache_safe, &[])
    }

    /// [`Fixture::config`] with more variables.
    fn config_with(
        &self,
        cache: bool,
        cache_safe: bool,
        extra: &[(&str, &str)],
    ) -> AuthorizerConfig {
        let jwks = self.jwks();
        let mut env: HashMap<&str, String> = [
            ("COGNITO_USER_POOL_ID", POOL.to_string()),
            ("COGNITO_CLIENT_ID", CLIENT.to_string()),
            ("JWKS_JSON", jwks),
            ("JWKS_URL", "off".to_string()),
            (
                "CLAIMS_CACHE_SIZE",
                if cache { "10000" } else { "0" }.to_string(),
            ),
            ("POLICY_CACHE_SAFE", cache_safe.to_string()),
        ]
        .into_iter()
        .collect();
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        AuthorizerConfig::from_lookup(|k| env.get(k).cloned()).unwrap()
    }

    fn authorizer(&self, engine: Engine, cache: bool, cache_safe: bool) -> Authorizer {
        Authorizer::new(self.config(cache, cache_safe), engine).unwrap()
    }

    /// The token's signed bytes, signature and the key's modulus and exponent.
    fn parts(&self) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
        let (input, sig) = self.token.rsplit_once('.').unwrap();
        let jwk = self.key.jwk();
        let dec = |v: &Value| URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap();
        (
            input.as_bytes().to_vec(),
            URL_SAFE_NO_PAD.decode(sig).unwrap(),
            dec(&jwk["n"]),
            dec(&jwk["e"]),
        )
    }
}

/// A generated store: `n` actions `"get /r{i}"`, each allowed to group `g{i}` by one policy.
fn generated_engine(n: usize) -> Engine {
    let mut schema = String::from(
        "namespace NS {\n  entity UserGroup;\n  entity User in [UserGroup];\n  entity Application;\n",
    );
    let mut policies = String::new();
    for i in 0..n {
        schema.push_str(&format!(
            "  action \"get /r{i}\" appliesTo {{ principal: [User], resource: [Application] }};\n"
        ));
        policies.push_str(&format!(
            "@id(\"p{i}\")\npermit(principal in NS::UserGroup::\"g{i}\", action == NS::Action::\"get /r{i}\", resource);\n"
        ));
    }
    schema.push_str("}\n");
    Engine::from_sources(&schema, &[("generated.cedar", policies)], None).unwrap()
}

/// A payload 2.0 event as API Gateway sends it for `GET <path>` on route `route_key`.
fn http_v2_event(token: &str, route_key: &str, path: &str, path_params: Value) -> String {
    let (method, _) = route_key.split_once(' ').unwrap();
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("{ARN_PREFIX}{method}{path}"),
        "identitySource": [format!("Bearer {token}")],
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "limit=10",
        "headers": {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate, br",
            "accept-language": "en-GB,en;q=0.9",
            "authorization": format!("Bearer {token}"),
            "content-length": "0",
            "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "origin": "https://app.example.com",
            "referer": "https://app.example.com/orders",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
            "x-amzn-trace-id": "Root=1-67890abc-0123456789abcdef01234567",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "queryStringParameters": { "limit": "10" },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"
            },
            "requestId": "Ab1Cd2Ef3Gh4=",
            "routeKey": route_key,
            "stage": "prod",
            "time": "23/Nov/2026:19:03:58 +0000",
            "timeEpoch": 1_795_460_638_390_u64
        },
        "pathParameters": path_params,
        "stageVariables": { "env": "prod" }
    })
    .to_string()
}

/// A REST TOKEN event for `<verb>/<path>`.
fn rest_token_event(token: &str, arn_tail: &str) -> String {
    json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {token}"),
        "methodArn": format!("{ARN_PREFIX}{arn_tail}"),
    })
    .to_string()
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Runs one event and checks the outcome before it is measured.
fn expect_allowed(rt: &Runtime, a: &Authorizer, event: &str) {
    match rt.block_on(a.handle(event.as_bytes())) {
        Outcome::Respond { allowed: true, .. } => {}
        other => panic!("the bench event is not allowed: {other:?}"),
    }
}

/// The embedded example's schema with five more `User` attributes read from token claims.
fn claims_engine(declare: bool) -> Engine {
    let attributes = if declare {
        r#"{ "custom:tenant": String, "custom:level": Long, "custom:admin": Bool, roles: Set<String>, department: String }"#
    } else {
        ""
    };
    let schema = format!(
        "namespace Claims {{\n  entity UserGroup;\n  entity User in [UserGroup] {attributes};\n  entity Application;\n  action \"get /orders/{{id}}\" appliesTo {{ principal: [User], resource: [Application] }};\n}}\n"
    );
    let when = if declare {
        r#" when { principal["custom:tenant"] == "acme" && principal["custom:level"] >= 2 && principal.roles.contains("orders") }"#
    } else {
        ""
    };
    let policies = format!(
        "@id(\"readers\")\npermit(principal in Claims::UserGroup::\"{}\", action == Claims::Action::\"get /orders/{{id}}\", resource){when};\n",
        GROUPS[0]
    );
    Engine::from_sources(&schema, &[("claims.cedar", policies)], None).unwrap()
}

/// Five declared claim attributes against none, in one run: the cost of filling the
/// principal from claims (kept at verification, coerced per decision).
fn bench_claims(c: &mut Criterion) {
    let f = Fixture::new();
    let rt = runtime();
    let payload = f.token.split('.').nth(1).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["custom:tenant"] = json!("acme");
    claims["custom:level"] = json!("3");
    claims["custom:admin"] = json!("true");
    claims["roles"] = json!(["orders", "billing"]);
    claims["department"] = json!("sales");
    let token = f.key.sign_json(&claims).unwrap();
    let event = http_v2_event(
        &token,
        "GET /orders/{id}",
        "/orders/42",
        json!({ "id": "42" }),
    );
    let mut g = c.benchmark_group("claims");
    for (label, declare) in [("none", false), ("five", true)] {
        for (mode, cache) in [("uncached", false), ("cached", true)] {
            let a = f.authorizer(claims_engine(declare), cache, false);
            expect_allowed(&rt, &a, &event);
            g.bench_function(format!("{label}/{mode}"), |b| {
                b.iter(|| rt.block_on(a.handle(black_box(event.as_bytes()))))
            });
        }
    }
    g.finish();
}

fn bench_handle(c: &mut Criterion) {
    let f = Fixture::new();
    let rt = runtime();
    let v2 = http_v2_event(
        &f.token,
        "GET /orders/{id}",
        "/orders/42",
        json!({ "id": "42" }),
    );
    let rest = rest_token_event(&f.token, "GET/orders/42");

    let mut g = c.benchmark_group("handle");
    for (name, event, cache_safe) in [("http-v2-simple", &v2, false), ("rest-token", &rest, false)]
    {
        let uncached = f.authorizer(Engine::embedded().unwrap(), false, cache_safe);
        expect_allowed(&rt, &uncached, event);
        g.bench_function(format!("{name}/uncached"), |b| {
            b.iter(|| rt.block_on(uncached.handle(black_box(event.as_bytes()))))
        });
        // Each iteration another user: the RSA check and the Cedar evaluation both run.
        // (The tokens are signed only when this benchmark is selected: it takes seconds.)
        let events: OnceCell<Vec<String>> = OnceCell::new();
        let mut i = 0;
        g.bench_function(format!("{name}/uncached-new-principal"), |b| {
            let events = events.get_or_init(|| {
                let events: Vec<String> = f
                    .tokens_for_new_principals(NEW_PRINCIPALS)
                    .iter()
                    .map(|t| event.replace(f.token.as_str(), t))
                    .collect();
                expect_allowed(&rt, &uncached, &events[0]);
                events
            });
            b.iter(|| {
                i = (i + 1) % events.len();
                rt.block_on(uncached.handle(black_box(events[i].as_bytes())))
            })
        });
        let cached = f.authorizer(Engine::embedded().unwrap(), true, cache_safe);
        expect_allowed(&rt, &cached, event);
        g.bench_function(format!("{name}/cached"), |b| {
            b.iter(|| rt.block_on(cached.handle(black_box(event.as_bytes()))))
        });
        // What the Lambda binary adds per request: one JSON log record (here into a sink,
        // in Lambda one write(2) to the log pipe).
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .without_time()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(std::io::sink)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        g.bench_function(format!("{name}/cached+json-log"), |b| {
            b.iter(|| rt.block_on(cached.handle(black_box(event.as_bytes()))))
        });
        drop(guard);
    }
    g.finish();
}

fn bench_policies(c: &mut Criterion) {
    let f = Fixture::new();
    let rt = runtime();
    let mut g = c.benchmark_group("policies");
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(4));

    // (label, store size: None = the shipped store, HTTP API event, REST TOKEN event)
    let mut cases: Vec<(String, Option<usize>, String, String)> = vec![(
        "shipped".into(),
        None,
        http_v2_event(
            &f.token,
            "GET /orders/{id}",
            "/orders/42",
            json!({ "id": "42" }),
        ),
        rest_token_event(&f.token, "GET/orders/42"),
    )];
    for n in SIZES {
        cases.push((
            n.to_string(),
            Some(n),
            http_v2_event(&f.token, "GET /r3", "/r3", Value::Null),
            rest_token_event(&f.token, "GET/r3"),
        ));
    }
    let make = |size: Option<usize>| match size {
        None => Engine::embedded().unwrap(),
        Some(n) => generated_engine(n),
    };
    for (label, size, v2, rest) in &cases {
        let a = f.authorizer(make(*size), true, false);
        expect_allowed(&rt, &a, v2);
        g.bench_function(format!("http-v2-simple/{label}"), |b| {
            b.iter(|| rt.block_on(a.handle(black_box(v2.as_bytes()))))
        });
        expect_allowed(&rt, &a, rest);
        g.bench_function(format!("rest-token/{label}"), |b| {
            b.iter(|| rt.block_on(a.handle(black_box(rest.as_bytes()))))
        });
        let safe = f.authorizer(make(*size), true, true);
        expect_allowed(&rt, &safe, rest);
        g.bench_function(format!("rest-token-cache-safe/{label}"), |b| {
            b.iter(|| rt.block_on(safe.handle(black_box(rest.as_bytes()))))
        });
    }
    g.finish();
}

fn bench_micro(c: &mut Criterion) {
    let f = Fixture::new();
    let rt = runtime();
    let mut g = c.benchmark_group("micro");

    // RSA: what the verifier does (ring, the modulus set up on every call), against aws-lc
    // with the key parsed once (what l42 did before ring; kept as the reference).
    let (input, sig, n, e) = f.parts();
    let key = RsaKey::from_components("k", &n, &e).unwrap();
    assert!(key.verify(&input, &sig));
    g.bench_function("rsa-verify/ring", |b| {
        b.iter(|| key.verify(black_box(&input), black_box(&sig)))
    });
    let der = PublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    }
    .as_der()
    .unwrap();
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_ref()).unwrap();
    g.bench_function("rsa-verify/aws-lc-parsed-key", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(&input), black_box(&sig))
                .is_ok()
        })
    });

    // The verifier: decode + claim checks + RSA, and a cache hit (SHA-256 of the token).
    let uncached = Verifier::new(f.config(false, false).verifier).unwrap();
    let cached = Verifier::new(f.config(true, false).verifier).unwrap();
    uncached.verify_blocking(&f.token).unwrap();
    cached.verify_blocking(&f.token).unwrap();
    g.bench_function("verifier/uncached", |b| {
        b.iter(|| uncached.verify_blocking(black_box(&f.token)).is_ok())
    });
    g.bench_function("verifier/cached", |b| {
        b.iter(|| cached.verify_blocking(black_box(&f.token)).is_ok())
    });

    // Event parsing and kind detection.
    let v2 = http_v2_event(
        &f.token,
        "GET /orders/{id}",
        "/orders/42",
        json!({ "id": "42" }),
    );
    let rest = rest_token_event(&f.token, "GET/orders/42");
    for (name, ev) in [("http-v2", &v2), ("rest-token", &rest)] {
        g.bench_function(format!("event-parse/{name}"), |b| {
            b.iter(|| {
                let e = RawEvent::parse(black_box(ev.as_bytes())).unwrap();
                e.kind().unwrap()
            })
        });
    }

    // Cedar alone: the decision for one action, and the cache-safe listing of all routes.
    let claims = cached.verify_blocking(&f.token).unwrap();
    let scopes = claims.scopes.clone();
    let mut principal = Principal::new(&claims.sub, &claims.groups);
    principal.username = Some(&claims.username);
    principal.client_id = Some(&claims.client_id);
    principal.token_use = Some("access");
    let shipped = Engine::embedded().unwrap();
    let mut engines = vec![("shipped".to_string(), shipped, "/orders/42")];
    for n in SIZES {
        engines.push((n.to_string(), generated_engine(n), "/r3"));
    }
    for (label, engine, path) in &engines {
        let m = engine.resolve("GET", path).unwrap();
        let facts = RequestFacts::new("GET", path)
            .with_source_ip("203.0.113.7")
            .with_scopes(&scopes)
            .with_auth_time(claims.auth_time)
            .with_path_parameters(m.path_parameters());
        assert!(engine.decide(m.action(), &principal, &facts).allowed);
        g.bench_function(format!("cedar-decide/{label}"), |b| {
            b.iter(|| engine.decide(black_box(m.action()), &principal, &facts))
        });
        g.bench_function(format!("allowed-routes/{label}"), |b| {
            b.iter(|| engine.allowed_routes(black_box(&principal), &facts).len())
        });
        // Principals the engine has not seen: the whole evaluation, as before memoization.
        let subs: Vec<String> = (0..NEW_PRINCIPALS).map(|i| format!("user-{i}")).collect();
        let mut i = 0;
        g.bench_function(format!("cedar-decide-new-principal/{label}"), |b| {
            b.iter(|| {
                i = (i + 1) % subs.len();
                let p = Principal {
                    sub: &subs[i],
                    ..principal
                };
                engine.decide(black_box(m.action()), &p, &facts)
            })
        });
        g.bench_function(format!("allowed-routes-new-principal/{label}"), |b| {
            b.iter(|| {
                i = (i + 1) % subs.len();
                let p = Principal {
                    sub: &subs[i],
                    ..principal
                };
                engine.allowed_routes(black_box(&p), &facts).len()
            })
        });
        g.bench_function(format!("route-resolve/{label}"), |b| {
            b.iter(|| engine.resolve("GET", black_box(path)).is_some())
        });
    }

    // Response documents.
    let resources = vec![format!("{ARN_PREFIX}GET/orders/42")];
    let context = l42_authorizer::response::AllowContext {
        sub: &claims.sub,
        username: &claims.username,
        groups: l42_authorizer::response::Joined(&claims.groups),
        scopes: l42_authorizer::response::Joined(&claims.scopes),
        client_id: &claims.client_id,
        token_use: "access",
        subprotocol: None,
    };
    g.bench_function("response/iam", |b| {
        b.iter(|| l42_authorizer::response::iam(&claims.sub, &resources, &[], Some(&context)))
    });
    g.bench_function("response/simple", |b| {
        b.iter(|| l42_authorizer::response::simple(true, Some(&context)))
    });

    // What `rt.block_on` adds to every `handle` figure.
    g.bench_function("block-on-ready", |b| {
        b.iter(|| rt.block_on(async { black_box(1) }))
    });
    g.finish();
}

/// The event reader against `serde_json`: the same fields of the same events read by
/// `RawEvent::parse` (`authorizer/src/json.rs` under `event.rs`) and by `serde_json`'s
/// borrowing deserialisation into derived structs (below), for the four event shapes.
fn bench_event_reader(c: &mut Criterion) {
    let f = Fixture::new();
    let bearer = format!("Bearer {}", f.token);
    let example = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
    let mut rest_request = example(include_str!(
        "../tests/events/apigw-custom-auth-request-type-request.json"
    ));
    rest_request["headers"]["Authorization"] = json!(bearer);
    let mut websocket = example(include_str!(
        "../tests/events/apigw-v2-custom-authorizer-websocket-request.json"
    ));
    websocket["queryStringParameters"]["token"] = json!(f.token);
    let events = [
        ("rest-request", rest_request.to_string()),
        (
            "http-v2",
            http_v2_event(
                &f.token,
                "GET /orders/{id}",
                "/orders/42",
                json!({ "id": "42" }),
            ),
        ),
        ("websocket-connect", websocket.to_string()),
        ("rest-token", rest_token_event(&f.token, "GET/orders/42")),
    ];
    let mut g = c.benchmark_group("event-reader");
    for (name, ev) in &events {
        let ours = RawEvent::parse(ev.as_bytes()).unwrap();
        let theirs = serde_model::parse(ev.as_bytes()).unwrap();
        assert_eq!(
            serde_model::summary_of_ours(&ours),
            theirs.summary(),
            "{name}"
        );
        g.bench_function(format!("{name}/json-rs"), |b| {
            b.iter(|| RawEvent::parse(black_box(ev.as_bytes())).unwrap())
        });
        g.bench_function(format!("{name}/serde-json"), |b| {
            b.iter(|| serde_model::parse(black_box(ev.as_bytes())).unwrap())
        });
    }
    g.finish();
}

/// The event model of `l42_authorizer::event` as `serde_json` would read it: derived
/// structs, strings borrowed through a `Cow` visitor unless an escape forces a copy, maps
/// of strings into vectors (a `null` map or value absent, a repeated name keeping its last
/// value), unknown fields skipped (and validated) by `serde_json`, UTF-8 checked up front.
mod serde_model {
    use std::borrow::Cow;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::Deserialize;
    use serde::de::{Deserializer, MapAccess, Visitor};

    /// A string, borrowed from the input when it has no escapes.
    #[derive(Debug)]
    pub struct Str<'a>(pub Cow<'a, str>);

    impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Str<'a>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'a>, E> {
                    Ok(Str(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Str<'a>, E> {
                    Ok(Str(Cow::Owned(v.to_owned())))
                }
            }
            d.deserialize_str(V(PhantomData))
        }
    }

    /// An object of strings.
    #[derive(Debug, Default)]
    pub struct StrMap<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

    impl<'de: 'a, 'a> Deserialize<'de> for StrMap<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = StrMap<'a>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object of strings")
                }
                fn visit_unit<E>(self) -> Result<StrMap<'a>, E> {
                    Ok(StrMap::default())
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<StrMap<'a>, A::Error> {
                    let mut out: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(16);
                    while let Some((k, v)) = m.next_entry::<Str<'a>, Option<Str<'a>>>()? {
                        // A repeated name keeps its last value (none of these events has one).
                        if out.iter().any(|(o, _)| *o == k.0) {
                            out.retain(|(o, _)| *o != k.0);
                        }
                        if let Some(v) = v {
                            out.push((k.0, v.0));
                        }
                    }
                    Ok(StrMap(out))
                }
            }
            d.deserialize_any(V(PhantomData))
        }
    }

    /// `requestContext.http`.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpContext<'a> {
        #[serde(borrow)]
        pub method: Option<Str<'a>>,
        #[serde(borrow)]
        pub path: Option<Str<'a>>,
        #[serde(borrow)]
        pub source_ip: Option<Str<'a>>,
    }

    /// `requestContext.identity`.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Identity<'a> {
        #[serde(borrow)]
        pub source_ip: Option<Str<'a>>,
    }

    /// `requestContext`.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RequestContext<'a> {
        #[serde(borrow)]
        pub http: Option<HttpContext<'a>>,
        #[serde(borrow)]
        pub identity: Option<Identity<'a>>,
        #[serde(borrow)]
        pub route_key: Option<Str<'a>>,
        #[serde(borrow)]
        pub event_type: Option<Str<'a>>,
    }

    /// The fields `RawEvent` reads.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RawEvent<'a> {
        #[serde(rename = "type", borrow)]
        pub kind: Option<Str<'a>>,
        #[serde(borrow)]
        pub version: Option<Str<'a>>,
        #[serde(borrow)]
        pub authorization_token: Option<Str<'a>>,
        #[serde(borrow)]
        pub method_arn: Option<Str<'a>>,
        #[serde(borrow)]
        pub route_arn: Option<Str<'a>>,
        #[serde(borrow)]
        pub route_key: Option<Str<'a>>,
        #[serde(borrow)]
        pub resource: Option<Str<'a>>,
        #[serde(borrow)]
        pub path: Option<Str<'a>>,
        #[serde(borrow)]
        pub raw_path: Option<Str<'a>>,
        #[serde(borrow)]
        pub http_method: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub headers: StrMap<'a>,
        #[serde(rename = "queryStringParameters", borrow, default)]
        pub query: StrMap<'a>,
        #[serde(borrow, default)]
        pub path_parameters: StrMap<'a>,
        #[serde(borrow)]
        pub cookies: Option<Vec<Str<'a>>>,
        #[serde(borrow)]
        pub request_context: Option<RequestContext<'a>>,
    }

    /// As `RawEvent::parse` reads an event: size limit, UTF-8, then the document.
    pub fn parse(bytes: &[u8]) -> Result<RawEvent<'_>, String> {
        if bytes.len() > l42_authorizer::event::MAX_EVENT_BYTES {
            return Err("event too large".into());
        }
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// What was read, to check that both readers read the same.
    pub type Summary = Vec<(String, String)>;

    impl RawEvent<'_> {
        /// Every string read, under a path naming it.
        pub fn summary(&self) -> Summary {
            let s = |v: &Option<Str<'_>>| v.as_ref().map(|s| s.0.to_string());
            let m = |m: &StrMap<'_>| m.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let ctx = self.request_context.as_ref();
            let http = ctx.and_then(|c| c.http.as_ref());
            summarize(Fields {
                scalars: [
                    s(&self.kind),
                    s(&self.version),
                    s(&self.authorization_token),
                    s(&self.method_arn),
                    s(&self.route_arn),
                    s(&self.route_key),
                    s(&self.resource),
                    s(&self.path),
                    s(&self.raw_path),
                    s(&self.http_method),
                    ctx.and_then(|c| s(&c.route_key)),
                    ctx.and_then(|c| s(&c.event_type)),
                    http.and_then(|h| s(&h.method)),
                    http.and_then(|h| s(&h.path)),
                    http.and_then(|h| s(&h.source_ip)),
                    ctx.and_then(|c| c.identity.as_ref())
                        .and_then(|i| s(&i.source_ip)),
                ],
                maps: [m(&self.headers), m(&self.query), m(&self.path_parameters)],
                cookies: self
                    .cookies
                    .as_ref()
                    .map(|c| c.iter().map(|c| c.0.to_string()).collect()),
            })
        }
    }

    /// The same summary of what `l42_authorizer::RawEvent::parse` read.
    pub fn summary_of_ours(e: &l42_authorizer::RawEvent<'_>) -> Summary {
        let s = |v: &Option<Cow<'_, str>>| v.as_ref().map(|s| s.to_string());
        let m = |m: &l42_authorizer::event::StrMap<'_>| {
            m.pairs().map(|(k, v)| format!("{k}={v}")).collect()
        };
        let ctx = &e.request_context;
        let http = ctx.http.as_ref();
        summarize(Fields {
            scalars: [
                s(&e.kind),
                s(&e.version),
                s(&e.authorization_token),
                s(&e.method_arn),
                s(&e.route_arn),
                s(&e.route_key),
                s(&e.resource),
                s(&e.path),
                s(&e.raw_path),
                s(&e.http_method),
                s(&ctx.route_key),
                s(&ctx.event_type),
                http.and_then(|h| s(&h.method)),
                http.and_then(|h| s(&h.path)),
                http.and_then(|h| s(&h.source_ip)),
                ctx.identity.as_ref().and_then(|i| s(&i.source_ip)),
            ],
            maps: [m(&e.headers), m(&e.query), m(&e.path_parameters)],
            cookies: e
                .cookies
                .as_ref()
                .map(|c| c.iter().map(|c| c.to_string()).collect()),
        })
    }

    struct Fields {
        scalars: [Option<String>; 16],
        maps: [Vec<String>; 3],
        cookies: Option<Vec<String>>,
    }

    fn summarize(f: Fields) -> Summary {
        let mut out: Summary = f
            .scalars
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (format!("field {i}"), v)))
            .collect();
        for (i, m) in f.maps.into_iter().enumerate() {
            out.extend(m.into_iter().map(|kv| (format!("map {i}"), kv)));
        }
        out.extend(
            f.cookies
                .into_iter()
                .flatten()
                .map(|c| ("cookie".into(), c)),
        );
        out
    }
}

fn bench_revocation(c: &mut Criterion) {
    use l42_core::session::{MemoryStore, SessionStore};
    use std::sync::Arc;
    let f = Fixture::new();
    let rt = runtime();
    let v2 = http_v2_event(
        &f.token,
        "GET /orders/{id}",
        "/orders/42",
        json!({ "id": "42" }),
    );
    let with_check = |check: &str, recheck: &str| {
        let config = f.config_with(
            true,
            false,
            &[
                ("REVOCATION_CHECK", check),
                ("REVOCATION_RECHECK_SECONDS", recheck),
            ],
        );
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
        Authorizer::with_sessions(config, Engine::embedded().unwrap(), Some(store)).unwrap()
    };
    let mut g = c.benchmark_group("revocation");
    for (name, check, recheck) in [
        ("off", "off", "30"),
        ("on-in-window", "on", "30"),
        ("on-every-request", "on", "0"),
    ] {
        let a = with_check(check, recheck);
        expect_allowed(&rt, &a, &v2);
        let reads = a.revocation().map_or(0, |r| r.store_reads());
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(a.handle(black_box(v2.as_bytes()))))
        });
        if name == "on-in-window" {
            // The whole measurement read nothing: the answer was kept.
            assert_eq!(a.revocation().unwrap().store_reads(), reads);
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    targets = bench_handle, bench_policies, bench_micro, bench_event_reader, bench_claims,
        bench_revocation
}
criterion_main!(benches);

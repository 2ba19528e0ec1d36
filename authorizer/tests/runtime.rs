//! The real `l42-authorizer` binary, started as a process against a Lambda Runtime API
//! endpoint, answering real events end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use l42_runtime_api::{LambdaProcess, Posted, Running, RuntimeApi};
use serde_json::{Value, json};

fn start(api: &RuntimeApi, extra: &[(&str, &str)]) -> Running {
    LambdaProcess::new(env!("CARGO_BIN_EXE_l42-authorizer"), "l42-authorizer")
        .env("COGNITO_USER_POOL_ID", common::POOL)
        .env("COGNITO_CLIENT_ID", common::CLIENT)
        .env("JWKS_JSON", common::key().jwks_json())
        .env("JWKS_URL", "off")
        .envs(extra.iter().copied())
        .start(api)
        .unwrap()
}

fn arn(tail: &str) -> String {
    format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/{tail}")
}

fn token_event(token: &str, arn_tail: &str) -> String {
    json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {token}"),
        "methodArn": arn(arn_tail),
    })
    .to_string()
}

/// What an IAM policy response does to the ARN it was asked about: `Deny` when a Deny
/// statement names it (an explicit Deny wins), else `Allow` when an Allow statement does,
/// else `none`. (A cache-safe response may hold both statements: the caller's other
/// routes allowed, the requested one denied.)
fn effect_on(response: &Value, arn: &str) -> &'static str {
    let statements = response["policyDocument"]["Statement"].as_array().unwrap();
    let names = |effect: &str| {
        statements.iter().any(|s| {
            s["Effect"] == effect
                && s["Resource"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r.as_str() == Some(arn))
        })
    };
    if names("Deny") {
        "Deny"
    } else if names("Allow") {
        "Allow"
    } else {
        "none"
    }
}

/// An AWS example event (`tests/events`) with `token` where API Gateway puts it.
fn example_event(file: &str, token: Option<&str>) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/events")
        .join(file);
    let mut ev: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if let Some(token) = token {
        if !ev["headers"].is_object() {
            ev["headers"] = json!({});
        }
        ev["headers"]["Authorization"] = json!(format!("Bearer {token}"));
    }
    ev
}

/// A folder holding the golden tests' policy store (for `CEDAR_POLICY_DIR`), removed on
/// drop.
struct PolicyDir(std::path::PathBuf);

impl PolicyDir {
    fn new(name: &str, schema: &str, policies: &str) -> PolicyDir {
        let dir = std::env::temp_dir().join(format!(
            "l42-authorizer-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("golden.cedarschema"), schema).unwrap();
        std::fs::write(dir.join("golden.cedar"), policies).unwrap();
        PolicyDir(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for PolicyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn binary_answers_real_events_through_the_runtime_api() {
    let api = RuntimeApi::start().unwrap();
    let _child = start(&api, &[]);
    let user = common::token("u-1", &["users"]);
    let admin = common::token("a-1", &["admin"]);
    api.push("allow-1", &token_event(&user, "GET/orders"));
    api.push("deny-1", &token_event(&user, "DELETE/orders/42"));
    api.push("unauth-1", &token_event("not-a-jwt", "GET/orders"));
    api.push("garbage-1", "{\"not\":\"an authorizer event\"}");
    api.push("allow-2", &token_event(&admin, "DELETE/orders/42"));
    let results = api.wait_results(5, Duration::from_secs(30));
    assert_eq!(results.len(), 5, "{results:?}");
    let by_id = |id: &str| {
        results
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, p)| p.clone())
            .unwrap()
    };

    let effect = |p: Posted, tail: &str| match p {
        Posted::Response(b) => effect_on(&serde_json::from_str(&b).unwrap(), &arn(tail)),
        other => panic!("expected a response, got {other:?}"),
    };
    assert_eq!(effect(by_id("allow-1"), "GET/orders"), "Allow");
    assert_eq!(effect(by_id("deny-1"), "DELETE/orders/42"), "Deny");
    assert_eq!(effect(by_id("allow-2"), "DELETE/orders/42"), "Allow");
    for id in ["unauth-1", "garbage-1"] {
        match by_id(id) {
            Posted::Error(b) => {
                let v: Value = serde_json::from_str(&b).unwrap();
                assert_eq!(v["errorMessage"], "Unauthorized", "{id}");
            }
            other => panic!("{id}: expected the Unauthorized error, got {other:?}"),
        }
    }
}

#[test]
fn every_event_kind_through_the_runtime_api_with_a_policy_folder() {
    let policies = PolicyDir::new("kinds", common::GOLDEN_SCHEMA, common::GOLDEN_POLICIES);
    let api = RuntimeApi::start().unwrap();
    let _child = start(&api, &[("CEDAR_POLICY_DIR", policies.path())]);
    let reader = common::token("reader-1", &["readers"]);
    let nobody = common::token("nobody-1", &[]);
    let kinds = [
        (
            "rest-request",
            "apigw-custom-auth-request-type-request.json",
        ),
        ("http-v1", "apigw-v2-custom-authorizer-v1-request.json"),
        ("http-v2", "apigw-v2-custom-authorizer-v2-request.json"),
        (
            "websocket",
            "apigw-v2-custom-authorizer-websocket-request.json",
        ),
    ];
    let mut pushed = 0;
    for (kind, file) in kinds {
        for (who, token) in [
            ("reader", Some(&reader)),
            ("nobody", Some(&nobody)),
            ("none", None),
        ] {
            let ev = example_event(file, token.map(String::as_str));
            api.push(&format!("{kind}-{who}"), &ev.to_string());
            pushed += 1;
        }
    }
    let results = api.wait_results(pushed, Duration::from_secs(30));
    assert_eq!(results.len(), pushed, "{results:?}");
    for (kind, file) in kinds {
        let requested = example_event(file, None);
        let arn = requested["methodArn"]
            .as_str()
            .or(requested["routeArn"].as_str())
            .unwrap();
        let get = |who: &str| {
            results
                .iter()
                .find(|(id, _)| *id == format!("{kind}-{who}"))
                .map(|(_, p)| p.clone())
                .unwrap()
        };
        let answer = |who: &str| match get(who) {
            Posted::Response(b) => serde_json::from_str::<Value>(&b).unwrap(),
            other => panic!("{kind}/{who}: expected a response, got {other:?}"),
        };
        if kind == "http-v2" {
            // Payload 2.0 answers with a simple response by default.
            assert_eq!(answer("reader")["isAuthorized"], true, "{kind}");
            assert_eq!(answer("reader")["context"]["sub"], "reader-1", "{kind}");
            assert_eq!(answer("nobody"), json!({ "isAuthorized": false }), "{kind}");
        } else {
            let allowed = answer("reader");
            assert_eq!(effect_on(&allowed, arn), "Allow", "{kind}: {allowed}");
            assert_eq!(allowed["principalId"], "reader-1", "{kind}");
            let denied = answer("nobody");
            assert_eq!(effect_on(&denied, arn), "Deny", "{kind}: {denied}");
        }
        match get("none") {
            Posted::Error(b) => {
                let v: Value = serde_json::from_str(&b).unwrap();
                assert_eq!(v["errorMessage"], "Unauthorized", "{kind}");
            }
            other => panic!("{kind}: expected the Unauthorized error, got {other:?}"),
        }
    }
}

#[test]
fn a_refused_token_is_an_info_record_not_an_error() {
    use std::io::Read;
    let api = RuntimeApi::start().unwrap();
    let mut child = LambdaProcess::new(env!("CARGO_BIN_EXE_l42-authorizer"), "l42-authorizer")
        .env("COGNITO_USER_POOL_ID", common::POOL)
        .env("COGNITO_CLIENT_ID", common::CLIENT)
        .env("JWKS_JSON", common::key().jwks_json())
        .env("JWKS_URL", "off")
        .stderr(Stdio::piped())
        .start(&api)
        .unwrap();
    api.push("refused", &token_event("eyJ.not.valid", "GET/orders"));
    let user = common::token("u-1", &["users"]);
    api.push("allowed", &token_event(&user, "GET/orders"));
    let results = api.wait_results(2, Duration::from_secs(30));
    assert_eq!(results.len(), 2, "{results:?}");
    child.kill();
    let mut log = String::new();
    child
        .child_mut()
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let records: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let rejected = records
        .iter()
        .find(|r| r["fields"]["message"] == "token rejected")
        .unwrap_or_else(|| panic!("no `token rejected` record in {log}"));
    assert_eq!(rejected["level"], "INFO");
    assert_eq!(rejected["fields"]["stage"], "token");
    assert!(
        records.iter().any(|r| r["fields"]["decision"] == "allow"),
        "{log}"
    );
    // lambda_runtime's own ERROR record of the `Unauthorized` error is left out.
    assert!(records.iter().all(|r| r["level"] != "ERROR"), "{log}");
    // No token in any record.
    assert!(!log.contains(&user), "a token was logged");
}

/// Stands for a value that is not UTF-8 in the table below.
const NOT_UTF8: &str = "(not UTF-8)";

#[test]
fn bad_configuration_fails_start_up_with_one_line_naming_the_variable() {
    use std::os::unix::ffi::OsStrExt;
    let good_jwks = common::key().jwks_json();
    let bad_policies = PolicyDir::new(
        "bad-policies",
        common::GOLDEN_SCHEMA,
        "permit(principal, action == Golden::Action::\"get /request\", resource) when { context.nothing };\n\
         permit(principal, action == Golden::Action::\"get /\", resource) when { principal.age > 3 };\n",
    );
    let no_keys = PolicyDir::new("no-keys", "{}", "");
    let jwks_file = no_keys.0.join("jwks.json");
    std::fs::write(&jwks_file, r#"{"keys":[]}"#).unwrap();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "COGNITO_USER_POOL_ID",
            vec![("COGNITO_USER_POOL_ID", "not-a-pool")],
        ),
        ("COGNITO_CLIENT_ID", vec![("COGNITO_CLIENT_ID", "")]),
        ("TOKEN_USE", vec![("TOKEN_USE", "refresh")]),
        ("JWT_LEEWAY_SECONDS", vec![("JWT_LEEWAY_SECONDS", "-5")]),
        (
            "JWKS_FILE",
            vec![("JWKS_JSON", ""), ("JWKS_FILE", "/nonexistent/jwks.json")],
        ),
        (
            "JWKS_FILE",
            vec![
                ("JWKS_JSON", ""),
                ("JWKS_FILE", jwks_file.to_str().unwrap()),
            ],
        ),
        (
            "JWKS_URL",
            vec![("JWKS_URL", "http://example.com/jwks.json")],
        ),
        (
            "IDENTITY_SOURCES",
            vec![("IDENTITY_SOURCES", "header,carrier-pigeon")],
        ),
        ("HTTP_API_RESPONSE", vec![("HTTP_API_RESPONSE", "xml")]),
        ("POLICY_CACHE_SAFE", vec![("POLICY_CACHE_SAFE", "perhaps")]),
        ("CLAIMS_CACHE_SIZE", vec![("CLAIMS_CACHE_SIZE", "lots")]),
        (
            "CEDAR_POLICY_DIR",
            vec![("CEDAR_POLICY_DIR", "/nonexistent/policies")],
        ),
        (
            "CEDAR_POLICY_DIR",
            vec![("CEDAR_POLICY_DIR", bad_policies.path())],
        ),
        ("CEDAR_APPLICATION", vec![("CEDAR_APPLICATION", NOT_UTF8)]),
    ];
    for (var, vars) in cases {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_l42-authorizer"));
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .env("COGNITO_USER_POOL_ID", common::POOL)
            .env("COGNITO_CLIENT_ID", common::CLIENT)
            .env("JWKS_JSON", &good_jwks)
            .env("JWKS_URL", "off");
        for (k, v) in &vars {
            match *v {
                "" => cmd.env_remove(k),
                NOT_UTF8 => cmd.env(k, std::ffi::OsStr::from_bytes(b"caf\xe9")),
                v => cmd.env(k, v),
            };
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{vars:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{vars:?}: {err}");
        assert!(
            lines[0].starts_with(&format!("l42-authorizer: invalid configuration: {var}: ")),
            "{vars:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Runs `l42-authorizer --stdin [args]` over `input` lines with the embedded example
/// policies; the output lines.
fn stdin_mode(args: &[&str], input: &[String]) -> Vec<String> {
    let mut bytes = Vec::new();
    for line in input {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    stdin_bytes(args, &bytes)
}

/// Runs `l42-authorizer --stdin [args]` over `input` as given; the output lines.
fn stdin_bytes(args: &[&str], input: &[u8]) -> Vec<String> {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_l42-authorizer"))
        .arg("--stdin")
        .args(args)
        .env_clear()
        .env("COGNITO_USER_POOL_ID", common::POOL)
        .env("COGNITO_CLIENT_ID", common::CLIENT)
        .env("JWKS_JSON", common::key().jwks_json())
        .env("JWKS_URL", "off")
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn stdin_mode_answers_one_line_per_event() {
    let user = common::token("u-1", &["users"]);
    let input = [
        token_event(&user, "GET/orders"),
        token_event("eyJ.bad.token", "GET/orders"),
        "not json at all".to_owned(),
        token_event(&user, "DELETE/orders/1"),
        "".to_owned(),
    ];
    // A blank line is no event: skipped.
    let plain = stdin_mode(&[], &input);
    assert_eq!(plain.len(), 4, "{plain:?}");
    for i in [1, 2] {
        assert_eq!(plain[i], r#"{"error":"Unauthorized"}"#, "line {i}");
    }
    let lines: Vec<Value> = plain
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(effect_on(&lines[0], &arn("GET/orders")), "Allow");
    assert_eq!(effect_on(&lines[3], &arn("DELETE/orders/1")), "Deny");
    assert!(lines.iter().all(|l| l.get("explain").is_none()));

    let explained: Vec<Value> = stdin_mode(&["--explain"], &input)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(explained.len(), 4);
    // The answers are the same, with why beside them.
    for (plain, explained) in lines.iter().zip(&explained) {
        let mut without = explained.clone();
        without.as_object_mut().unwrap().remove("explain");
        assert_eq!(&without, plain);
    }
    let allow = &explained[0]["explain"];
    assert_eq!(allow["stage"], "policy");
    assert_eq!(allow["reason"], "allowed by policy");
    assert_eq!(allow["event"], "rest-token");
    assert_eq!(allow["action"], "get /orders");
    assert_eq!(allow["sub"], "u-1");
    assert_eq!(allow["policies"], json!(["users-orders"]));
    assert_eq!(explained[1]["explain"]["stage"], "token");
    assert_eq!(explained[2]["explain"]["stage"], "event");
    let deny = &explained[3]["explain"];
    assert_eq!(deny["stage"], "policy");
    assert_eq!(deny["reason"], "denied by policy");
    assert_eq!(deny["action"], "delete /orders/{id}");
    // Nothing permits it: no policy decided.
    assert!(deny.get("policies").is_none(), "{deny}");
    let forbidden = stdin_mode(
        &["--explain"],
        &[token_event(
            &common::key()
                .sign_json(&{
                    let mut c = common::claims("u-2", &["editors"]);
                    c["scope"] = json!("orders/read-only");
                    c
                })
                .unwrap(),
            "POST/orders",
        )],
    );
    let forbidden: Value = serde_json::from_str(&forbidden[0]).unwrap();
    assert_eq!(
        forbidden["explain"]["policies"],
        json!(["read-only-scope-no-writes"])
    );
}

/// A line that is not UTF-8 is one bad event: answered with `Unauthorized` (the reason
/// under `--explain`), and the lines after it are still answered (the local mode once
/// stopped reading there, silently dropping every later event).
#[test]
fn stdin_mode_answers_a_line_that_is_not_utf8_and_reads_on() {
    let user = common::token("u-1", &["users"]);
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"type\":\"TOKEN\",\"methodArn\":\"caf\xe9\"}\n");
    input.extend_from_slice(b"\xff\xfe\n");
    input.extend_from_slice(token_event(&user, "GET/orders").as_bytes());
    input.extend_from_slice(b"\r\n");
    let plain = stdin_bytes(&[], &input);
    assert_eq!(plain.len(), 3, "{plain:?}");
    assert_eq!(plain[0], r#"{"error":"Unauthorized"}"#);
    assert_eq!(plain[1], r#"{"error":"Unauthorized"}"#);
    let allowed: Value = serde_json::from_str(&plain[2]).unwrap();
    assert_eq!(effect_on(&allowed, &arn("GET/orders")), "Allow");
    let explained = stdin_bytes(&["--explain"], &input);
    let first: Value = serde_json::from_str(&explained[0]).unwrap();
    assert_eq!(first["explain"]["stage"], "event");
    assert!(
        first["explain"]["reason"]
            .as_str()
            .unwrap()
            .contains("not UTF-8 at byte 32"),
        "{first}"
    );
}

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

fn token_event(token: &str, arn_tail: &str) -> String {
    json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {token}"),
        "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:api1/prod/{arn_tail}"),
    })
    .to_string()
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

    let effect = |p: Posted| match p {
        Posted::Response(b) => {
            let v: Value = serde_json::from_str(&b).unwrap();
            v["policyDocument"]["Statement"][0]["Effect"]
                .as_str()
                .unwrap()
                .to_string()
        }
        other => panic!("expected a response, got {other:?}"),
    };
    assert_eq!(effect(by_id("allow-1")), "Allow");
    assert_eq!(effect(by_id("deny-1")), "Deny");
    assert_eq!(effect(by_id("allow-2")), "Allow");
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
fn bad_configuration_fails_start_up_with_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_l42-authorizer"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("COGNITO_USER_POOL_ID", "not-a-pool")
        .env("COGNITO_CLIENT_ID", "c")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("COGNITO_USER_POOL_ID"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn stdin_mode_answers_one_line_per_event() {
    use std::io::Write;
    let user = common::token("u-1", &["users"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_l42-authorizer"))
        .args(["--stdin", "--explain"])
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
    {
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{}", token_event(&user, "GET/orders")).unwrap();
        writeln!(stdin, "{}", token_event("eyJ.bad.token", "GET/orders")).unwrap();
        writeln!(stdin, "not json at all").unwrap();
        writeln!(stdin, "{}", token_event(&user, "DELETE/orders/1")).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0]["policyDocument"]["Statement"][0]["Effect"],
        "Allow"
    );
    assert_eq!(lines[0]["explain"]["stage"], "policy");
    assert_eq!(lines[1]["error"], "Unauthorized");
    assert_eq!(lines[1]["explain"]["stage"], "token");
    assert_eq!(lines[2]["error"], "Unauthorized");
    assert_eq!(lines[2]["explain"]["stage"], "event");
    assert_eq!(lines[3]["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert!(!lines[3]["explain"]["reason"].as_str().unwrap().is_empty());
}

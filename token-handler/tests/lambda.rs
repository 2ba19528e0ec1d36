//! The real binary inside a (local) Lambda Runtime API: API Gateway HTTP API payload 2.0
//! and 1.0, REST stages and Function URL events, end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Stdio;
use std::time::Duration;

use l42_runtime_api::{LambdaProcess, Posted, Running, RuntimeApi};
use serde_json::{Value, json};

fn start(api: &RuntimeApi) -> Running {
    LambdaProcess::new(env!("CARGO_BIN_EXE_l42-token-handler"), "l42-token-handler")
        // What Lambda sets from the function's role (the session store is DynamoDB
        // inside Lambda; these events never reach it).
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "example-secret")
        .env("COGNITO_CLIENT_ID", "client-1")
        .env("COGNITO_USER_POOL_ID", "us-east-1_Example")
        .env("COGNITO_DOMAIN", "auth.example.com")
        .env("SESSION_SECRET", "0123456789abcdef0123456789abcdef")
        .env("FRONTEND_URL", "https://app.example.com")
        .env("JWKS_URL", "https://jwks.example.com/jwks.json")
        .stderr(Stdio::null())
        .start(api)
        .unwrap()
}

fn v2(
    method: &str,
    raw_path: &str,
    stage: &str,
    domain: &str,
    headers: Value,
    body: Option<&str>,
) -> String {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "aaaaaaaaaa",
            "domainName": domain,
            "domainPrefix": "aaaaaaaaaa",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test"
            },
            "requestId": "r",
            "routeKey": "$default",
            "stage": stage,
            "time": "21/Apr/2020:15:08:21 +0000",
            "timeEpoch": 1_587_481_701_067u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

fn v1(method: &str, path: &str, stage: &str) -> String {
    json!({
        "version": "1.0",
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"host": "aaaaaaaaaa.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {"host": ["aaaaaaaaaa.execute-api.us-east-1.amazonaws.com"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "aaaaaaaaaa",
            "domainName": "aaaaaaaaaa.execute-api.us-east-1.amazonaws.com",
            "httpMethod": method,
            "path": format!("/{stage}{path}"),
            "protocol": "HTTP/1.1",
            "requestId": "r1",
            "requestTime": "21/Apr/2020:15:08:21 +0000",
            "requestTimeEpoch": 1_587_481_701_067u64,
            "resourcePath": "/{proxy+}",
            "stage": stage,
            "identity": {"sourceIp": "192.0.2.1"}
        },
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "stageVariables": null,
        "body": null,
        "isBase64Encoded": false
    })
    .to_string()
}

const API_HOST: &str = "aaaaaaaaaa.execute-api.us-east-1.amazonaws.com";
const URL_HOST: &str = "abcdefghij.lambda-url.us-east-1.on.aws";

#[test]
fn lambda_events_of_every_kind_reach_the_router() {
    let api = RuntimeApi::start().unwrap();
    let _child = start(&api);
    let host = json!({"host": API_HOST});
    api.push(
        "v2-health",
        &v2("GET", "/health", "$default", API_HOST, host.clone(), None),
    );
    api.push(
        "v2-csrf",
        &v2(
            "POST",
            "/auth/authorize",
            "$default",
            API_HOST,
            json!({"host": API_HOST, "content-type": "application/json"}),
            Some("{\"action\":\"read:own\"}"),
        ),
    );
    api.push(
        "v2-no-session",
        &v2(
            "POST",
            "/auth/authorize",
            "$default",
            API_HOST,
            json!({"host": API_HOST, "content-type": "application/json", "x-l42-csrf": "1"}),
            Some("{\"action\":\"read:own\"}"),
        ),
    );
    api.push(
        "v2-stage",
        &v2("GET", "/prod/health", "prod", API_HOST, host.clone(), None),
    );
    api.push("v1-stage", &v1("GET", "/health", "prod"));
    api.push("v1-default", &v1("GET", "/health", "$default"));
    api.push(
        "url-404",
        &v2(
            "GET",
            "/auth/nowhere",
            "$default",
            URL_HOST,
            json!({"host": URL_HOST}),
            None,
        ),
    );
    api.push(
        "v2-preflight",
        &v2(
            "OPTIONS",
            "/auth/authorize",
            "$default",
            API_HOST,
            json!({
                "host": API_HOST,
                "origin": "https://app.example.com",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type,x-l42-csrf"
            }),
            None,
        ),
    );
    let results = api.wait_results(8, Duration::from_secs(60));
    assert_eq!(results.len(), 8, "{results:?}");
    let answer = |id: &str| -> (u64, Value, Value) {
        let posted = results
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("no answer for {id}"));
        let Posted::Response(text) = posted else {
            panic!("{id}: {posted:?}")
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        let body = v["body"]
            .as_str()
            .map(|b| serde_json::from_str(b).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        (
            v["statusCode"].as_u64().unwrap(),
            body,
            v["headers"].clone(),
        )
    };

    for id in ["v2-health", "v2-stage", "v1-stage", "v1-default"] {
        let (status, body, _) = answer(id);
        assert_eq!(status, 200, "{id} {body}");
        assert_eq!(body["mode"], "token-handler", "{id}");
        assert_eq!(body["cedar"], "ready", "{id}");
    }
    let (status, body, _) = answer("v2-csrf");
    assert_eq!(status, 403);
    assert_eq!(body, json!({"error": "CSRF validation failed"}));
    let (status, body, _) = answer("v2-no-session");
    assert_eq!(status, 401);
    assert_eq!(body, json!({"error": "Not authenticated"}));
    let (status, body, _) = answer("url-404");
    assert_eq!(status, 404);
    assert_eq!(body, json!({"error": "Not found"}));
    let (status, _, headers) = answer("v2-preflight");
    assert_eq!(status, 204);
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
}

/// A session made and used through the Runtime API: the `Set-Cookie` of a payload 2.0
/// answer comes back in `cookies`, and a request's `cookies` reach the session layer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_through_payload_2_0_cookies() {
    let idp = l42_tests::start_idp().await.unwrap();
    let api = RuntimeApi::start().unwrap();
    let _child = LambdaProcess::new(env!("CARGO_BIN_EXE_l42-token-handler"), "l42-token-handler")
        .env("SESSION_BACKEND", "memory")
        .env("COGNITO_CLIENT_ID", l42_tests::idp::PUBLIC_CLIENT)
        .env("COGNITO_USER_POOL_ID", idp.pool_id())
        .env("COGNITO_DOMAIN", idp.base_url())
        .env("JWKS_URL", idp.jwks_url())
        .env("SESSION_SECRET", "0123456789abcdef0123456789abcdef")
        .env("FRONTEND_URL", "https://app.example.com")
        .stderr(Stdio::null())
        .start(&api)
        .unwrap();
    let tokens = l42_tests::mint(&idp, "editor", l42_tests::idp::PUBLIC_CLIENT).unwrap();
    let body =
        json!({"access_token": tokens.access_token, "id_token": tokens.id_token}).to_string();
    api.push(
        "login",
        &v2(
            "POST",
            "/auth/session",
            "$default",
            API_HOST,
            json!({"host": API_HOST, "content-type": "application/json", "x-l42-csrf": "1"}),
            Some(&body),
        ),
    );
    let results = tokio::task::block_in_place(|| api.wait_results(1, Duration::from_secs(60)));
    let Some((_, Posted::Response(text))) = results.first().cloned() else {
        panic!("{results:?}")
    };
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let set = answer["cookies"][0]
        .as_str()
        .expect("the cookie in `cookies`");
    // Inside Lambda the cookie is Secure by default, so __Host- prefixed.
    assert!(set.starts_with("__Host-l42_session=v1."), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();

    let mut event: Value = serde_json::from_str(&v2(
        "GET",
        "/auth/me",
        "$default",
        API_HOST,
        json!({"host": API_HOST}),
        None,
    ))
    .unwrap();
    event["cookies"] = json!(["other=1", cookie]);
    api.push("me", &event.to_string());
    let results = tokio::task::block_in_place(|| api.wait_results(2, Duration::from_secs(60)));
    let Some((_, Posted::Response(text))) = results.iter().find(|(id, _)| id == "me").cloned()
    else {
        panic!("{results:?}")
    };
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let me: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(me["groups"], json!(["editor"]));
}

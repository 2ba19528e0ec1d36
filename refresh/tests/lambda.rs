//! The real `l42-refresh` binary inside a (local) Lambda Runtime API, the way Lambda runs
//! it: API Gateway HTTP API payload 2.0 events with `cookies` in, sessions in DynamoDB (the
//! emulator), the dev identity provider as Cognito. Several processes stand in for several
//! Lambda instances, each answering one event at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Stdio;
use std::time::Duration;

use l42_core::session::{DynamoStore, Session, SessionCookies, SessionReader, SessionStore};
use l42_core::unix_now;
use l42_runtime_api::{LambdaProcess, Posted, Running, RuntimeApi};
use l42_tests::idp::{PUBLIC_CLIENT, RunningIdp, signed_in_session};
use l42_tests::{TestTable, fresh_table, moto_endpoint, start_idp};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_l42-refresh");
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const API_HOST: &str = "aaaaaaaaaa.execute-api.us-east-1.amazonaws.com";
const WAIT: Duration = Duration::from_secs(60);

/// One instance: the binary against its own Runtime API endpoint.
struct Instance {
    api: RuntimeApi,
    _process: Running,
}

fn instance(idp: &RunningIdp, table: &TestTable) -> Instance {
    instance_with(idp, table, &[("SESSION_SECRET", SECRET)])
}

fn instance_with(idp: &RunningIdp, table: &TestTable, extra: &[(&str, &str)]) -> Instance {
    let api = RuntimeApi::start().unwrap();
    let process = LambdaProcess::new(BIN, "l42-refresh")
        // What Lambda sets from the function's role.
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "example-secret")
        .env("COGNITO_DOMAIN", idp.base_url())
        .env("COGNITO_CLIENT_ID", PUBLIC_CLIENT)
        .envs(extra.iter().copied())
        .env("SESSION_HTTPS_ONLY", "true")
        .env("SESSION_BACKEND", "dynamodb")
        .env("DYNAMODB_ENDPOINT", moto_endpoint().unwrap())
        .env("DYNAMODB_TABLE", table.name())
        .env("FRONTEND_URL", "https://app.example.com")
        .env("RUST_LOG", "off")
        .stderr(Stdio::null())
        .start(&api)
        .unwrap();
    Instance {
        api,
        _process: process,
    }
}

/// A session for `admin` in the table, and its cookie (`name=value`) as the browser sends
/// it over HTTPS.
async fn session(idp: &RunningIdp, table: &TestTable) -> (Session, String) {
    let session = signed_in_session(idp, "admin", PUBLIC_CLIENT).unwrap();
    DynamoStore::new(table.client().clone(), table.name())
        .create(&session)
        .await
        .unwrap();
    let cookies = SessionCookies::from_lookup(|k| match k {
        "SESSION_SECRET" => Some(SECRET.into()),
        "SESSION_HTTPS_ONLY" => Some("true".into()),
        _ => None,
    })
    .unwrap();
    let set = cookies
        .issue(&session.id, session.expires_at, unix_now())
        .unwrap();
    assert!(set.starts_with("__Host-l42_session="), "{set}");
    (session, set.split(';').next().unwrap().to_string())
}

/// `POST /auth/refresh` as API Gateway's HTTP API sends it (payload 2.0).
fn refresh_event(cookie: &str, csrf: bool) -> String {
    let mut headers = json!({"host": API_HOST, "origin": "https://app.example.com"});
    if csrf {
        headers["x-l42-csrf"] = json!("1");
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/auth/refresh",
        "rawQueryString": "",
        "cookies": ["theme=dark", cookie],
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "aaaaaaaaaa",
            "domainName": API_HOST,
            "domainPrefix": "aaaaaaaaaa",
            "http": {
                "method": "POST",
                "path": "/auth/refresh",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test"
            },
            "requestId": "r",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:00:00:00 +0000",
            "timeEpoch": 1_795_478_400_000u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// The answer to one event: (status, body as JSON, the `cookies` list).
fn answer(api: &RuntimeApi, id: &str) -> (u64, Value, Vec<String>) {
    let posted = tokio::task::block_in_place(|| api.wait_for(id, WAIT))
        .unwrap_or_else(|| panic!("no answer for {id}"));
    let Posted::Response(text) = posted else {
        panic!("{id}: {posted:?}")
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    let body = serde_json::from_str(v["body"].as_str().unwrap_or("null")).unwrap();
    let cookies = v["cookies"]
        .as_array()
        .map(|a| a.iter().map(|c| c.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (v["statusCode"].as_u64().unwrap(), body, cookies)
}

/// Four processes, five events each (Lambda gives an instance one event at a time): one
/// call to the token endpoint, twenty answers with the same new tokens, the session kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_refreshes_across_four_instances_call_cognito_once() {
    let idp = start_idp().await.unwrap();
    let table = fresh_table().await.unwrap();
    let (session, cookie) = session(&idp, &table).await;
    let instances: Vec<Instance> = (0..4).map(|_| instance(&idp, &table)).collect();
    idp.reset_stats();
    let event = refresh_event(&cookie, true);
    for i in 0..20 {
        instances[i % 4].api.push(&format!("r{i}"), &event);
    }
    let mut bodies = Vec::new();
    for i in 0..20 {
        let (status, body, cookies) = answer(&instances[i % 4].api, &format!("r{i}"));
        assert_eq!(status, 200, "r{i}: {body}");
        assert!(
            cookies.is_empty(),
            "same session id, no cookie: {cookies:?}"
        );
        bodies.push(body);
    }
    assert_eq!(idp.stats().grant("refresh_token"), 1);
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    assert_ne!(
        bodies[0]["access_token"],
        session.tokens.access_token.as_str()
    );
    assert!(bodies[0].get("refresh_token").is_none());
    let stored = DynamoStore::new(table.client().clone(), table.name())
        .get(&session.id)
        .await
        .unwrap()
        .expect("the session survives");
    assert_eq!(stored.tokens.access_token, bodies[0]["access_token"]);
}

/// The CSRF refusal and a revoked refresh token, through the Runtime API: 403 changes
/// nothing; `invalid_grant` is 401, the session item is gone and `cookies` clears the
/// cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_invalid_grant_through_the_runtime_api() {
    let idp = start_idp().await.unwrap();
    let table = fresh_table().await.unwrap();
    let (session, cookie) = session(&idp, &table).await;
    let one = instance(&idp, &table);
    let store = DynamoStore::new(table.client().clone(), table.name());

    one.api.push("no-csrf", &refresh_event(&cookie, false));
    let (status, body, _) = answer(&one.api, "no-csrf");
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "CSRF validation failed");
    assert!(store.get(&session.id).await.unwrap().unwrap() == session);

    let oauth = l42_core::OAuthConfig::from_lookup(|k| match k {
        "COGNITO_DOMAIN" => Some(idp.base_url().to_string()),
        "COGNITO_CLIENT_ID" => Some(PUBLIC_CLIENT.to_string()),
        _ => None,
    })
    .unwrap();
    l42_core::CognitoClient::new(oauth)
        .revoke(session.tokens.refresh_token.as_deref().unwrap())
        .await
        .unwrap();
    one.api.push("revoked", &refresh_event(&cookie, true));
    let (status, body, cookies) = answer(&one.api, "revoked");
    assert_eq!(status, 401, "{body}");
    assert_eq!(body, json!({"error": "Refresh failed"}));
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(
        cookies[0].starts_with("__Host-l42_session=;") && cookies[0].contains("Max-Age=0"),
        "{cookies:?}"
    );
    assert!(store.get(&session.id).await.unwrap().is_none());
}

/// The cookie key from Secrets Manager (`SESSION_SECRET_ARN`), never in the environment:
/// a cookie signed with it is accepted; an unreadable secret stops the start-up with one
/// line naming the variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_key_comes_from_secrets_manager() {
    let idp = start_idp().await.unwrap();
    let table = fresh_table().await.unwrap();
    let endpoint = moto_endpoint().unwrap();
    let sm = l42_tests::secrets::client().unwrap();
    let arn = l42_tests::secrets::create_secret(&sm, SECRET)
        .await
        .unwrap();
    let (_, cookie) = session(&idp, &table).await;
    let one = instance_with(
        &idp,
        &table,
        &[
            ("SESSION_SECRET_ARN", &arn),
            ("SECRETS_MANAGER_ENDPOINT", &endpoint),
        ],
    );
    one.api.push("r", &refresh_event(&cookie, true));
    let (status, body, _) = answer(&one.api, "r");
    assert_eq!(status, 200, "{body}");

    let missing = arn.replace("l42-session-", "l42-missing-");
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", one.api.addr())
        .env("AWS_REGION", "us-east-1")
        .env("COGNITO_DOMAIN", idp.base_url())
        .env("COGNITO_CLIENT_ID", PUBLIC_CLIENT)
        .env("SESSION_SECRET_ARN", &missing)
        .env("SECRETS_MANAGER_ENDPOINT", &endpoint)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("l42-refresh: "), "{err}");
    assert!(
        err.contains("SESSION_SECRET_ARN") && err.contains("ResourceNotFoundException"),
        "{err}"
    );
    assert!(err.len() < 400, "one readable line: {err}");
}

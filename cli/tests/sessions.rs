//! `l42 sessions list` and `l42 sessions end`, the binary against the session table on the
//! emulator and the dev identity provider: an operator ends every session of a user (the
//! stolen-laptop case), whose sign-ins are then revoked and refresh tokens dead; another
//! user's sessions are untouched; bad input and an unreachable table exit 2 with one line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{l42_with, stderr, stdout};
use l42_core::session::{
    DynamoStore, Session, SessionId, SessionReader, SessionStore, SessionTokens, user_key,
};
use l42_core::{CognitoClient, OAuthConfig, unix_now};
use l42_tests::idp::PUBLIC_CLIENT;
use serde_json::Value;

/// A session of `username` at the identity provider, stored as the token handler stores
/// one.
async fn signed_in(
    store: &DynamoStore,
    idp: &l42_idp::RunningIdp,
    username: &str,
    agent: &str,
) -> Session {
    let t = l42_tests::mint(idp, username, PUBLIC_CLIENT).unwrap();
    let now = unix_now();
    let mut s = Session::new(
        SessionId::generate().unwrap(),
        SessionTokens {
            access_token: t.access_token,
            id_token: t.id_token.unwrap(),
            refresh_token: t.refresh_token,
            auth_method: "handler".into(),
        },
        now,
        now + 3600,
    );
    let claims = stored_sub(&s.tokens.id_token);
    s.user = Some(user_key(idp.pool_id(), &claims));
    s.user_agent = Some(agent.into());
    store.create(&s).await.unwrap();
    s
}

/// The `sub` of a stored JWT (read without verifying: the provider just issued it).
fn stored_sub(jwt: &str) -> String {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["sub"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_ends_every_session_of_a_user() {
    let endpoint = l42_tests::moto_endpoint().unwrap();
    let table = l42_tests::fresh_table().await.unwrap();
    let store = DynamoStore::new(table.client().clone(), table.name());
    let idp = l42_tests::start_idp().await.unwrap();
    let laptop = signed_in(&store, &idp, "user", "Stolen laptop").await;
    let phone = signed_in(&store, &idp, "user", "Phone").await;
    let other = signed_in(&store, &idp, "admin", "Admin's").await;
    let sub = stored_sub(&laptop.tokens.id_token);
    let env = [
        ("DYNAMODB_ENDPOINT", endpoint.as_str()),
        ("DYNAMODB_TABLE", table.name()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let pool = idp.pool_id().to_string();
    let args = |cmd: &'static str| {
        vec![
            "sessions".to_string(),
            cmd.to_string(),
            "--pool".to_string(),
            pool.clone(),
            "--sub".to_string(),
            sub.clone(),
        ]
    };
    let run = |a: Vec<String>, extra: &[(&str, &str)]| {
        let mut vars: Vec<(&str, &str)> = env.to_vec();
        vars.extend_from_slice(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        l42_with(&refs, &vars)
    };

    let mut list = args("list");
    list.extend(["--format".into(), "json".into()]);
    let out = run(list.clone(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let agents: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user_agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents.len(), 2);
    assert!(agents.contains(&"Stolen laptop") && agents.contains(&"Phone"));
    assert!(
        !stdout(&out).contains(laptop.id.as_str()),
        "handles, not ids"
    );

    let revokes = idp.stats().endpoints["revoke"];
    let out = run(
        args("end"),
        &[
            ("COGNITO_DOMAIN", idp.base_url()),
            ("COGNITO_CLIENT_ID", PUBLIC_CLIENT),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("ended 2 sessions"), "{text}");
    assert!(
        text.contains("2 refresh tokens revoked at Cognito"),
        "{text}"
    );
    assert_eq!(idp.stats().endpoints["revoke"], revokes + 2);
    let now = unix_now();
    for s in [&laptop, &phone] {
        assert!(store.get(&s.id).await.unwrap().is_none());
        let ojti = s.origin_jti().unwrap();
        assert!(store.is_revoked(&ojti, now).await.unwrap());
        let cognito =
            CognitoClient::new(OAuthConfig::new(idp.base_url(), PUBLIC_CLIENT, None).unwrap());
        assert!(
            cognito
                .refresh(s.tokens.refresh_token.as_deref().unwrap())
                .await
                .is_err(),
            "the refresh token is dead"
        );
    }
    assert!(store.get(&other.id).await.unwrap().is_some());
    assert!(
        !store
            .is_revoked(&other.origin_jti().unwrap(), now)
            .await
            .unwrap()
    );
    // Again: nothing left to end; without Cognito configured, it says so.
    let out = run(args("end"), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("ended 0 sessions"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("COGNITO_DOMAIN is not set"));
    let out = run(list, &[]);
    assert_eq!(stdout(&out).trim(), "[]");
}

#[test]
fn bad_input_and_an_unreachable_table_exit_2_with_one_line() {
    let env = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("DYNAMODB_TIMEOUT_MS", "500"),
    ];
    for (args, want) in [
        (
            vec!["sessions", "end", "--pool", "not-a-pool", "--sub", "s"],
            "--pool",
        ),
        (
            vec!["sessions", "end", "--pool", "us-east-1_Abc", "--sub", " "],
            "--sub",
        ),
        (
            vec![
                "sessions",
                "list",
                "--pool",
                "us-east-1_Abc|x",
                "--sub",
                "s",
            ],
            "--pool",
        ),
    ] {
        let out = l42_with(&args, &env);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(want) && err.lines().count() == 1, "{err}");
    }
    // Nothing listens on port 9 of loopback.
    let mut unreachable = env.to_vec();
    unreachable.push(("DYNAMODB_ENDPOINT", "http://127.0.0.1:9"));
    let out = l42_with(
        &["sessions", "end", "--pool", "us-east-1_Abc", "--sub", "s"],
        &unreachable,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("l42: session table:") && err.lines().count() == 1,
        "{err}"
    );
    // A missing argument is clap's usage error.
    let out = l42_with(&["sessions", "end", "--pool", "us-east-1_Abc"], &env);
    assert_eq!(out.status.code(), Some(2));
}

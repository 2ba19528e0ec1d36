//! The session cookie's key read from Secrets Manager (moto's), with rotation: the
//! current version signs, the previous one is still accepted, and every misconfiguration
//! is an error naming `SESSION_SECRET_ARN`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;

use l42_core::session::cookie::KeyUsed;
use l42_core::session::{SessionCookies, SessionId, SessionSecret};
use l42_core::unix_now;
use l42_tests::moto_endpoint;
use l42_tests::secrets::{client, create_secret, rotate_secret};

const OLD: &str = "old-key-0123456789abcdef0123456789";
const NEW: &str = "new-key-0123456789abcdef0123456789";

async fn load(vars: &[(&str, &str)]) -> Result<Option<SessionSecret>, l42_core::ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SessionSecret::load(|k| vars.get(k).cloned()).await
}

fn cookies(secret: &SessionSecret) -> SessionCookies {
    SessionCookies::from_lookup(secret.lookup(|_| None)).unwrap()
}

#[tokio::test]
async fn without_an_arn_nothing_is_read() {
    assert!(load(&[("SESSION_SECRET", OLD)]).await.unwrap().is_none());
    assert!(load(&[]).await.unwrap().is_none());
}

#[tokio::test]
async fn the_current_version_signs_and_the_previous_one_is_still_accepted() {
    let endpoint = moto_endpoint().unwrap();
    let sm = client().unwrap();
    let arn = create_secret(&sm, OLD).await.unwrap();
    let env = [
        ("SESSION_SECRET_ARN", arn.as_str()),
        ("SECRETS_MANAGER_ENDPOINT", endpoint.as_str()),
    ];

    // One version: it signs, and nothing else is accepted.
    let before = load(&env).await.unwrap().expect("a secret");
    let lookup = before.lookup(|_| None);
    assert_eq!(lookup("SESSION_SECRET").as_deref(), Some(OLD));
    assert_eq!(lookup("SESSION_SECRET_PREVIOUS"), None);
    let now = unix_now();
    let id = SessionId::generate().unwrap();
    let issued_before = cookies(&before).issue(&id, now + 600, now).unwrap();
    let pair_before = issued_before.split(';').next().unwrap().to_string();

    // Rotation: a new AWSCURRENT, the old one becomes AWSPREVIOUS.
    rotate_secret(&sm, &arn, NEW).await.unwrap();
    let after = load(&env).await.unwrap().expect("a secret");
    let lookup = after.lookup(|_| None);
    assert_eq!(lookup("SESSION_SECRET").as_deref(), Some(NEW));
    assert_eq!(lookup("SESSION_SECRET_PREVIOUS").as_deref(), Some(OLD));
    let rotated = cookies(&after);
    // A cookie of the old key still names its session; new cookies use the new key.
    let read = rotated.read([pair_before.as_str()], now).unwrap();
    assert_eq!(read.session_id.as_str(), id.as_str());
    assert_eq!(read.key, KeyUsed::Previous);
    let issued_after = rotated.issue(&id, now + 600, now).unwrap();
    assert_ne!(issued_after, issued_before);
    let pair_after = issued_after.split(';').next().unwrap().to_string();
    assert!(cookies(&before).read([pair_after.as_str()], now).is_err());
    // The Debug form never shows a key.
    let shown = format!("{after:?}");
    assert!(!shown.contains(NEW) && !shown.contains(OLD), "{shown}");
}

#[tokio::test]
async fn a_second_secret_can_hold_the_previous_key() {
    let endpoint = moto_endpoint().unwrap();
    let sm = client().unwrap();
    let current = create_secret(&sm, NEW).await.unwrap();
    let previous = create_secret(&sm, OLD).await.unwrap();
    let secret = load(&[
        ("SESSION_SECRET_ARN", &current),
        ("SESSION_SECRET_PREVIOUS_ARN", &previous),
        ("SECRETS_MANAGER_ENDPOINT", &endpoint),
    ])
    .await
    .unwrap()
    .expect("a secret");
    let lookup = secret.lookup(|_| None);
    assert_eq!(lookup("SESSION_SECRET").as_deref(), Some(NEW));
    assert_eq!(lookup("SESSION_SECRET_PREVIOUS").as_deref(), Some(OLD));

    let missing = previous.replace("l42-session-", "l42-missing-");
    let e = load(&[
        ("SESSION_SECRET_ARN", &current),
        ("SESSION_SECRET_PREVIOUS_ARN", &missing),
        ("SECRETS_MANAGER_ENDPOINT", &endpoint),
    ])
    .await
    .unwrap_err();
    assert_eq!(e.var, "SESSION_SECRET_PREVIOUS_ARN", "{e}");
    let e = load(&[("SESSION_SECRET_PREVIOUS_ARN", &previous)])
        .await
        .unwrap_err();
    assert_eq!(e.var, "SESSION_SECRET_PREVIOUS_ARN", "{e}");
}

#[tokio::test]
async fn misconfiguration_is_an_error_naming_the_variable() {
    let endpoint = moto_endpoint().unwrap();
    let arn = create_secret(&client().unwrap(), OLD).await.unwrap();
    let missing = arn.replace("l42-session-", "l42-missing-");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("SESSION_SECRET_ARN", &arn),
                ("SECRETS_MANAGER_ENDPOINT", &endpoint),
                ("SESSION_SECRET", OLD),
            ],
            "set only one",
        ),
        (
            vec![
                ("SESSION_SECRET_ARN", &arn),
                ("SECRETS_MANAGER_ENDPOINT", &endpoint),
                ("SESSION_SECRET_PREVIOUS", OLD),
            ],
            "set only one",
        ),
        (
            vec![
                ("SESSION_SECRET_ARN", &missing),
                ("SECRETS_MANAGER_ENDPOINT", &endpoint),
            ],
            "GetSecretValue",
        ),
        (
            // Nothing listens on port 9 of loopback.
            vec![
                ("SESSION_SECRET_ARN", &arn),
                ("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:9"),
            ],
            "GetSecretValue",
        ),
        (
            vec![("SESSION_SECRET_ARN", &arn), ("AWS_REGION", "us-east-1")],
            "AWS_ACCESS_KEY_ID",
        ),
    ];
    for (vars, expected) in cases {
        let e = load(&vars).await.unwrap_err();
        let text = e.to_string();
        assert!(text.contains(expected), "{vars:?}: {text}");
        if expected != "AWS_ACCESS_KEY_ID" {
            assert_eq!(e.var, "SESSION_SECRET_ARN", "{vars:?}: {text}");
        }
    }
}

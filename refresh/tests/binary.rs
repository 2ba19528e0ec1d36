//! The real binary over HTTP on loopback, with sessions in DynamoDB (the emulator) and the
//! dev identity provider as Cognito: the happy path, the CSRF refusal, 401 without a
//! session; and a start-up error naming its variable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use l42_core::session::{DynamoStore, SessionCookies, SessionReader, SessionStore};
use l42_core::unix_now;
use l42_tests::idp::{PUBLIC_CLIENT, signed_in_session};
use l42_tests::{fresh_table, moto_endpoint, start_idp};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_l42-refresh");
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// Kills and reaps the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request; (status, headers text, JSON body).
async fn request(addr: SocketAddr, head: &str) -> std::io::Result<(u16, String, Value)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("{head}Host: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut response))
        .await
        .map_err(|_| std::io::Error::other("no answer"))??;
    let text = String::from_utf8_lossy(&response).to_string();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    Ok((status, headers.to_string(), body))
}

#[tokio::test]
async fn serves_refresh_over_http() {
    let idp = start_idp().await.unwrap();
    let table = fresh_table().await.unwrap();
    let endpoint = moto_endpoint().unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .env_clear()
        .env("PORT", port.to_string())
        .env("COGNITO_DOMAIN", idp.base_url())
        .env("COGNITO_CLIENT_ID", PUBLIC_CLIENT)
        .env("SESSION_SECRET", SECRET)
        .env("SESSION_BACKEND", "dynamodb")
        .env("DYNAMODB_ENDPOINT", &endpoint)
        .env("DYNAMODB_TABLE", table.name())
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();

    // A session in the table, and its cookie.
    let session = signed_in_session(&idp, "admin", PUBLIC_CLIENT).unwrap();
    let now = unix_now();
    let store = DynamoStore::new(table.client().clone(), table.name());
    store.create(&session).await.unwrap();
    let cookies =
        SessionCookies::from_lookup(|k| (k == "SESSION_SECRET").then(|| SECRET.into())).unwrap();
    let set = cookies.issue(&session.id, session.expires_at, now).unwrap();
    let cookie = set.split(';').next().unwrap().to_string();

    // Wait (bounded) until it listens.
    let mut up = false;
    for _ in 0..200 {
        if let Some(status) = running.0.try_wait().unwrap() {
            panic!("the server exited early: {status}");
        }
        if request(addr, "GET /health HTTP/1.1\r\n").await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server never listened");

    // No CSRF header.
    let (status, _, body) = request(
        addr,
        &format!("POST /auth/refresh HTTP/1.1\r\nCookie: {cookie}\r\n"),
    )
    .await
    .unwrap();
    assert_eq!(status, 403);
    assert_eq!(body["error"], "CSRF validation failed");

    // No session.
    let (status, _, body) = request(addr, "POST /auth/refresh HTTP/1.1\r\nX-L42-CSRF: 1\r\n")
        .await
        .unwrap();
    assert_eq!(status, 401);
    assert_eq!(body["error"], "Not authenticated");

    // The happy path.
    let (status, headers, body) = request(
        addr,
        &format!("POST /auth/refresh HTTP/1.1\r\nX-L42-CSRF: 1\r\nCookie: {cookie}\r\n"),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string() && body["id_token"].is_string());
    assert!(body.get("refresh_token").is_none());
    assert_ne!(body["access_token"], session.tokens.access_token.as_str());
    assert!(!headers.to_ascii_lowercase().contains("set-cookie"));
    let stored = store.get(&session.id).await.unwrap().unwrap();
    assert_eq!(stored.tokens.access_token, body["access_token"]);
    assert_eq!(idp.stats().grant("refresh_token"), 1);
}

#[test]
fn bad_configuration_is_one_line_naming_the_variable() {
    let out = Command::new(BIN)
        .env_clear()
        .env("COGNITO_DOMAIN", "auth.example.com")
        .env("COGNITO_CLIENT_ID", "client-1")
        .env("SESSION_SECRET", "too-short")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("SESSION_SECRET"), "{err}");
}

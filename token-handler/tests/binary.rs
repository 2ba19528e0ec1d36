//! The real binary: a local server answering `/health` over HTTP, and start-up errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_l42-token-handler");

/// Kills and reaps the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn base_command() -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("COGNITO_CLIENT_ID", "client-1")
        .env("COGNITO_USER_POOL_ID", "us-east-1_Example")
        .env("COGNITO_DOMAIN", "auth.example.com")
        .env("SESSION_SECRET", "0123456789abcdef0123456789abcdef")
        .env("JWKS_URL", "https://jwks.example.com/jwks.json")
        .stdin(Stdio::null());
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[test]
fn serves_health_over_http() {
    let port = free_port();
    let child = base_command()
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    // Wait (bounded) until it listens.
    let mut answer = None;
    for _ in 0..200 {
        if let Some(status) = running.0.try_wait().unwrap() {
            panic!("the server exited early: {status}");
        }
        match http_get(addr, "/health") {
            Ok(a) => {
                answer = Some(a);
                break;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let (status, body) = answer.expect("the server never answered");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["mode"], "token-handler");
    assert_eq!(json["cedar"], "ready");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));

    let (status, body) = http_get(addr, "/auth/nowhere").unwrap();
    assert_eq!(status, 404);
    assert_eq!(body, r#"{"error":"Not found"}"#);
}

#[test]
fn bad_configuration_is_one_line_and_a_failing_exit() {
    for (var, value) in [
        ("SESSION_SECRET", "short"),
        ("PORT", "http"),
        ("AUTH_PATH_PREFIX", "/a b"),
    ] {
        let out = base_command()
            .env(var, value)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{var}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
    }
    let out = base_command()
        .env_remove("COGNITO_DOMAIN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("COGNITO_DOMAIN")
    );
}

#[test]
fn version_and_help() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains(env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

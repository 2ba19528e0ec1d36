//! The `l42-dev` binary: with no arguments it runs the stack until SIGTERM; `idp --port 0`
//! prints its URL and serves the JWKS; bad arguments
//! and bad users files give clear errors and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_l42-dev");

/// Kills the child when dropped, even when the test fails.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client with l42's TLS set-up (reqwest has no crypto provider of its own here).
fn http() -> reqwest::Client {
    l42_core::http::client_builder().unwrap().build().unwrap()
}

async fn get(url: String) -> reqwest::Result<reqwest::Response> {
    http().get(url).send().await
}

fn tmp_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("l42-dev-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Starts the binary and returns it with the first line it printed (within a minute).
fn start(args: &[&str]) -> (Kill, String) {
    let child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut guard = Kill(child);
    let stdout = guard.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the binary printed its URL");
    (guard, line.trim().to_string())
}

/// Runs the binary to completion (killed after a minute): exit code and standard error.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = Kill(child);
    let mut stderr = guard.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        let _ = tx.send(s);
    });
    let err = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the binary exited");
    let status = guard.0.wait().unwrap();
    (status.code(), err)
}

#[tokio::test]
async fn idp_on_port_zero_prints_its_url_and_serves() {
    let (_guard, url) = start(&["idp", "--port", "0"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let jwks: Value = get(format!("{url}/us-east-1_DevPool1/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    let conf: Value = get(format!("{url}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        conf["issuer"],
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_DevPool1"
    );
}

#[tokio::test]
async fn idp_with_a_users_file_issuer_and_pool() {
    let users = tmp_file(
        "users.json",
        r#"{"users":[{"username":"zed","password":"pw"}],"clients":[{"client_id":"c1","callback_urls":["http://localhost:9/cb"]}]}"#,
    );
    let (_guard, url) = start(&[
        "idp",
        "--port",
        "0",
        "--users",
        users.to_str().unwrap(),
        "--issuer",
        "http://127.0.0.1:1/eu-west-1_Other",
        "--pool-id",
        "eu-west-1_Other",
    ]);
    let conf: Value = get(format!(
        "{url}/eu-west-1_Other/.well-known/openid-configuration"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(conf["issuer"], "http://127.0.0.1:1/eu-west-1_Other");
    let tokens: Value = http()
        .post(format!("{url}/_dev/mint"))
        .header("content-type", "application/json")
        .body(r#"{"username":"zed","client_id":"c1"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

#[test]
fn bad_users_files_are_explained() {
    let cases = [
        (
            r#"{"clients":[{"client_id":"c","callback_urls":["http://localhost/cb"],"refresh_token_rotation":{"enabled":true,"grace_seconds":99}}]}"#,
            "grace_seconds",
        ),
        (
            r#"{"users":[{"username":"a","password":"p"},{"username":"a","password":"q"}],"clients":[{"client_id":"c","callback_urls":["http://localhost/cb"]}]}"#,
            "duplicate username",
        ),
        (r#"{"clients":[],"colour":"red"}"#, "unknown field"),
        ("not json", "JSON"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let p = tmp_file(&format!("bad{i}.json"), text);
        let (code, err) = run(&["idp", "--port", "0", "--users", p.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("l42-dev: error: users file"), "{err}");
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    }
    let (code, err) = run(&["idp", "--users", "/nonexistent/users.json"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    for (args, want) in [
        (vec!["idp", "--port", "http"], "not a port"),
        (vec!["idp", "--port"], "needs a value"),
        (vec!["idp", "--verbose"], "unknown option"),
        (vec!["serve"], "unknown subcommand"),
    ] {
        let (code, err) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(err.contains("l42-dev idp [--port PORT]"), "{err}");
    }
    let (code, err) = run(&["idp", "--pool-id", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("pool id"), "{err}");
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--users FILE"));
}

#[tokio::test]
async fn no_arguments_run_the_stack_until_sigterm() {
    let child = Command::new(BIN)
        .env("L42_DEV_PORT", "0")
        .env_remove("DYNAMODB_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = Kill(child);
    let stdout = guard.0.stdout.take().unwrap();
    let mut stderr = guard.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let (etx, erx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        let _ = etx.send(s);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the stack printed its start-up line");
    let url = line
        .strip_prefix("l42-dev: open ")
        .and_then(|rest| rest.split_once("/ and log in as "))
        .map(|(url, users)| {
            assert_eq!(
                users.trim(),
                "admin/admin-password, editor/editor-password, user/user-password (Ctrl-C stops)"
            );
            url.to_string()
        })
        .unwrap_or_else(|| panic!("start-up line: {line}"));
    let page = get(format!("{url}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let api = get(format!("{url}/api/orders")).await.unwrap();
    assert_eq!(api.status(), 401);
    // SIGTERM (what Ctrl-C's SIGINT also does): a clean stop, exit status 0.
    let killed = Command::new("kill")
        .args(["-TERM", &guard.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let err = erx
        .recv_timeout(Duration::from_secs(60))
        .expect("the stack exited");
    let status = guard.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        err.contains("l42-dev: stopping") && err.contains("l42-dev: stopped"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_stack_settings_are_one_line() {
    let out = Command::new(BIN)
        .env("L42_DEV_TOKEN_SECONDS", "forever")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("L42_DEV_TOKEN_SECONDS") && err.contains("forever"),
        "{err}"
    );
}

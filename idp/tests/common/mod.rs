//! Helpers shared by the integration tests: an HTTP client that does not follow
//! redirects, PKCE pairs, the sign-in form driven like a browser, token requests.
#![allow(dead_code)]

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use l42_idp::{Directory, Idp, IdpConfig, RunningIdp};
use reqwest::StatusCode;
use serde_json::Value;

pub const PUBLIC: &str = "l42-dev-public";
pub const CONFIDENTIAL: &str = "l42-dev-confidential";
pub const SECRET: &str = "l42-dev-secret";
pub const CALLBACK: &str = "http://localhost:3000/auth/callback";
pub const OTHER_CALLBACK: &str = "http://127.0.0.1:3001/auth/callback";
pub const LOGOUT: &str = "http://localhost:3000/";
/// The machine-to-machine client of [`TEST_USERS`] and its secret.
pub const MACHINE: &str = "machine-1";
pub const MACHINE_SECRET: &str = "machine-secret";

/// A directory with the example users and clients for every rotation setting.
pub const TEST_USERS: &str = r#"{
  "groups": ["admin", "editor"],
  "users": [
    {"username": "admin", "password": "admin-password", "email": "admin@example.com", "groups": ["admin"]},
    {"username": "editor", "password": "editor-password", "email": "editor@example.com", "groups": ["editor"]},
    {"username": "user", "password": "user-password", "email": "user@example.com", "email_verified": false},
    {"username": "nomail", "password": "nomail-password", "sub": "fixed-sub-1"}
  ],
  "clients": [
    {"client_id": "l42-dev-public", "callback_urls": ["http://localhost:3000/auth/callback", "http://127.0.0.1:3001/auth/callback"],
     "logout_urls": ["http://localhost:3000/"], "refresh_token_rotation": {"enabled": true, "grace_seconds": 10}, "require_pkce": true},
    {"client_id": "l42-dev-confidential", "client_secret": "l42-dev-secret",
     "callback_urls": ["http://localhost:3000/auth/callback", "http://127.0.0.1:3001/auth/callback"], "logout_urls": ["http://localhost:3000/"]},
    {"client_id": "rot-grace-0", "callback_urls": ["http://localhost:3000/auth/callback"], "refresh_token_rotation": {"enabled": true, "grace_seconds": 0}},
    {"client_id": "rot-grace-5", "callback_urls": ["http://localhost:3000/auth/callback"], "refresh_token_rotation": {"enabled": true, "grace_seconds": 5}},
    {"client_id": "rot-off", "callback_urls": ["http://localhost:3000/auth/callback"]},
    {"client_id": "access-only", "callback_urls": ["http://localhost:3000/auth/callback"], "allowed_scopes": ["aws.cognito.signin.user.admin", "api/read"]},
    {"client_id": "machine-1", "client_secret": "machine-secret", "client_credentials": true, "allowed_scopes": ["orders/read", "orders/sync"]}
  ]
}"#;

pub fn test_config() -> IdpConfig {
    IdpConfig {
        directory: Directory::from_json(TEST_USERS).unwrap(),
        ..IdpConfig::default()
    }
}

pub async fn start() -> RunningIdp {
    start_with(test_config()).await
}

pub async fn start_with(config: IdpConfig) -> RunningIdp {
    Idp::start(config, "127.0.0.1:0").await.unwrap()
}

/// A provider with the users file `users` and the rest of the default settings.
pub async fn start_with_users(users: &str) -> RunningIdp {
    start_with(IdpConfig {
        directory: Directory::from_json(users).unwrap(),
        ..IdpConfig::default()
    })
    .await
}

/// `POST {base}{path}` to a `/_dev/*` control with the dev header and no body.
pub async fn dev_post(base: &str, path: &str) -> reqwest::Response {
    http()
        .post(format!("{base}{path}"))
        .header("x-l42-dev", "1")
        .send()
        .await
        .unwrap()
}

/// `GET /oauth2/userInfo` with `bearer` as the access token.
pub async fn userinfo(base: &str, bearer: &str) -> reqwest::Response {
    http()
        .get(format!("{base}/oauth2/userInfo"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

/// A client that shows redirects instead of following them.
pub fn http() -> reqwest::Client {
    l42_idp::browser::client().unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut raw).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(raw);
    (verifier.clone(), challenge_of(&verifier))
}

pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

pub use l42_idp::browser::query_param;

/// `GET /oauth2/authorize?…`.
pub async fn get_authorize(base: &str, params: &[(&str, &str)]) -> reqwest::Response {
    http()
        .get(format!("{base}/oauth2/authorize?{}", form(params)))
        .send()
        .await
        .unwrap()
}

/// Like a browser: GET the form, fill in the credentials, POST it back to the form's
/// action; returns the POST's response (a 302 on success).
pub async fn sign_in_with(
    base: &str,
    params: &[(&str, &str)],
    username: &str,
    password: &str,
) -> reqwest::Response {
    let url = format!("{base}/oauth2/authorize?{}", form(params));
    l42_idp::browser::submit_sign_in(&url, username, password)
        .await
        .unwrap()
}

/// Signs in with PKCE and returns `(code, verifier, location)`.
pub async fn code_for(
    base: &str,
    client_id: &str,
    redirect_uri: &str,
    username: &str,
    password: &str,
) -> (String, String, String) {
    let (verifier, challenge) = pkce();
    let resp = sign_in_with(
        base,
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("state", "st-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
        username,
        password,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = location(&resp);
    let code = query_param(&location, "code").unwrap();
    (code, verifier, location)
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_string()
}

/// How a token or revoke request authenticates its client.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// `client_id` in the form, no secret.
    Public(&'a str),
    /// HTTP Basic `client_id:secret` (as given: no form-encoding, which changes nothing for
    /// ids and secrets of letters, digits, `-`, `_`, `.`, `*`).
    Basic(&'a str, &'a str),
    /// HTTP Basic with this user-pass exactly (before base64), e.g. form-encoded parts
    /// (RFC 6749 §2.3.1) or malformed ones.
    BasicUserPass(&'a str),
    /// `client_id` and `client_secret` in the form.
    Post(&'a str, &'a str),
    /// Nothing.
    None,
}

/// POSTs a form to `path` with client authentication; returns status and JSON body
/// (`Value::Null` for an empty body).
pub async fn post_form(
    base: &str,
    path: &str,
    auth: Auth<'_>,
    pairs: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut all: Vec<(&str, &str)> = pairs.to_vec();
    let mut req = http().post(format!("{base}{path}"));
    match auth {
        Auth::Public(id) => all.push(("client_id", id)),
        Auth::Basic(id, secret) => {
            req = req.header(
                "authorization",
                format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
            );
        }
        Auth::BasicUserPass(user_pass) => {
            req = req.header(
                "authorization",
                format!("Basic {}", STANDARD.encode(user_pass)),
            );
        }
        Auth::Post(id, secret) => {
            all.push(("client_id", id));
            all.push(("client_secret", secret));
        }
        Auth::None => {}
    }
    let resp = req
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&all))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, body)
}

/// Exchanges a code.
pub async fn exchange(
    base: &str,
    auth: Auth<'_>,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    post_form(
        base,
        "/oauth2/token",
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Refreshes.
pub async fn refresh(base: &str, auth: Auth<'_>, refresh_token: &str) -> (StatusCode, Value) {
    post_form(
        base,
        "/oauth2/token",
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Signs in through the form and exchanges the code: the token response.
pub async fn full_sign_in(
    base: &str,
    auth: Auth<'_>,
    client_id: &str,
    username: &str,
    password: &str,
) -> Value {
    let (code, verifier, _) = code_for(base, client_id, CALLBACK, username, password).await;
    let (status, body) = exchange(base, auth, &code, CALLBACK, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The JSON payload of a JWT, unverified.
pub fn payload(jwt: &str) -> Value {
    let p = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

/// The JSON header of a JWT.
pub fn header(jwt: &str) -> Value {
    let p = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

/// Asserts an OAuth error answer.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: u16, error: &str) {
    assert_eq!(got.0.as_u16(), status, "status of {}", got.1);
    assert_eq!(got.1["error"], error, "error of {}", got.1);
}

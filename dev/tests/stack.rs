//! The local stack over real HTTP on loopback, without a browser: the hosted-UI login
//! through the token handler, the API Gateway emulation with both identity sources and
//! both event shapes, the edge rules, logout; sessions in memory and in DynamoDB (moto).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;

use l42_dev::stack::{ApiEvent, RunningStack, STACK_CLIENT_ID, Stack, StackConfig};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::Value;

fn client() -> Client {
    l42_idp::browser::client().unwrap()
}

async fn start(api_event: ApiEvent, dynamodb: BTreeMap<String, String>) -> RunningStack {
    Stack::start(StackConfig {
        port: 0,
        api_event,
        dynamodb,
        ..StackConfig::default()
    })
    .await
    .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[LOCATION].to_str().unwrap().to_string()
}

/// Signs in through `/_auth/login` and the hosted UI; returns the session cookie pair.
async fn sign_in(stack: &RunningStack, username: &str) -> String {
    let http = client();
    let r = http
        .get(format!(
            "{}/_auth/login?return_to=%2Fprivate%2F",
            stack.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let authorize = location(&r);
    assert!(authorize.starts_with(stack.idp().base_url()), "{authorize}");
    // The login binding cookie: the browser brings it back to the callback.
    let binding = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(binding.starts_with("__Host-l42_login="), "{binding}");
    let binding = binding.split(';').next().unwrap().to_string();
    let callback = format!("{}/_auth/callback", stack.url());
    assert!(
        authorize
            .contains(&form_urlencoded::byte_serialize(callback.as_bytes()).collect::<String>()),
        "{authorize}"
    );
    let back = stack.idp().sign_in(&authorize, username).await.unwrap();
    assert!(back.starts_with(&callback), "{back}");
    // Without the binding (another browser opening this URL) nobody is signed in.
    let r = http.get(&back).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).ends_with("/login?error=login_cookie_missing"));
    let r = http
        .get(&back)
        .header(COOKIE, &binding)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("{}/private/", stack.url()));
    let set = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("__Host-l42_session="))
        .expect("the session cookie");
    assert!(set.starts_with("__Host-l42_session="), "{set}");
    for attribute in ["HttpOnly", "Secure", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_string()
}

async fn api(
    stack: &RunningStack,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    bearer: Option<&str>,
) -> (StatusCode, Value) {
    let mut r = client().request(
        method.parse().unwrap(),
        format!("{}/api{path}", stack.url()),
    );
    if let Some(c) = cookie {
        // What the app's pages send with a cookie-authenticated call (the CSRF proof;
        // `cookie_writes_need_csrf_proof` tries without it).
        r = r.header(COOKIE, c).header("x-l42-csrf", "1");
    }
    if let Some(t) = bearer {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

const ROUTES: [(&str, &str); 8] = [
    ("GET", "/me"),
    ("GET", "/orders"),
    ("POST", "/orders"),
    ("DELETE", "/orders/1001"),
    ("GET", "/admin/stats"),
    ("GET", "/tenants/acme/orders"),
    ("GET", "/tenants/globex/orders"),
    ("POST", "/sync"),
];

/// What the demo policies allow each example user (admin and editor are of tenant
/// `acme`, user of `globex`; `POST /sync` is for machine clients only).
fn expected(username: &str) -> [StatusCode; 8] {
    let (ok, no) = (StatusCode::OK, StatusCode::FORBIDDEN);
    match username {
        "admin" => [ok, ok, ok, ok, ok, ok, ok, no],
        "editor" => [ok, ok, ok, no, no, ok, no, no],
        _ => [ok, ok, no, no, no, no, ok, no],
    }
}

/// A client-credentials token of the example machine client from the stack's identity
/// provider, over HTTP, for `scope`.
async fn machine_token(stack: &RunningStack, scope: &str) -> String {
    let machine = stack
        .idp()
        .directory()
        .clients()
        .iter()
        .find(|c| c.client_credentials)
        .unwrap()
        .clone();
    let r = client()
        .post(format!("{}/oauth2/token", stack.idp().base_url()))
        .basic_auth(&machine.client_id, machine.client_secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&scope={}",
            scope.replace('/', "%2F")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The machine client through the gateway emulation: `POST /sync` with its scope, and
/// nothing a user route needs.
async fn machine_calls(stack: &RunningStack) {
    let sync = machine_token(stack, "l42-demo/sync").await;
    let (status, body) = api(stack, "POST", "/sync", None, Some(&sync)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["route"], "POST /sync");
    assert_eq!(body["caller"]["clientId"], "l42-dev-machine");
    assert_eq!(body["caller"]["sub"], "l42-dev-machine");
    let read = machine_token(stack, "l42-demo/read").await;
    let (status, _) = api(stack, "POST", "/sync", None, Some(&read)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "without the scope");
    for (method, path) in [
        ("POST", "/orders"),
        ("GET", "/tenants/acme/orders"),
        ("GET", "/admin/stats"),
    ] {
        let (status, _) = api(stack, method, path, None, Some(&sync)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
}

/// Through the gateway emulation, as through API Gateway: a `POST` with only the session
/// cookie (a same-site page's form or `fetch` with `Content-Type: text/plain`) is denied;
/// the app's own `Origin` or the `X-L42-CSRF` header proves it, and `GET` needs neither.
async fn cookie_writes_need_csrf_proof(stack: &RunningStack, cookie: &str) {
    let call = |method: &str, origin: Option<&str>| {
        let mut r = client()
            .request(
                method.parse().unwrap(),
                format!("{}/api/orders", stack.url()),
            )
            .header(COOKIE, cookie)
            .header("content-type", "text/plain")
            .body("{}");
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    for origin in [None, Some("http://evil.localhost:8042"), Some("null")] {
        let r = call("POST", origin).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin:?}");
    }
    let own = stack.url().trim_end_matches('/').to_string();
    let r = call("GET", None).await.unwrap();
    assert_ne!(r.status(), StatusCode::FORBIDDEN, "GET needs no proof");
    let r = call("GET", Some("http://evil.localhost:8042"))
        .await
        .unwrap();
    assert_ne!(r.status(), StatusCode::FORBIDDEN, "GET needs no proof");
    let r = call("POST", Some(&own)).await.unwrap();
    assert_ne!(
        r.status(),
        StatusCode::FORBIDDEN,
        "{own} is the app's origin"
    );
}

/// Every user, with the session cookie and with a minted Bearer token, and the backend
/// sees the caller; then logout ends the cookie's access.
async fn exercise(stack: &RunningStack) {
    for username in ["admin", "editor", "user"] {
        let cookie = sign_in(stack, username).await;
        let token = stack
            .idp()
            .mint(username, STACK_CLIENT_ID)
            .unwrap()
            .access_token;
        for (i, (method, path)) in ROUTES.iter().enumerate() {
            for (c, b) in [(Some(cookie.as_str()), None), (None, Some(token.as_str()))] {
                let (status, body) = api(stack, method, path, c, b).await;
                assert_eq!(
                    status,
                    expected(username)[i],
                    "{username} {method} {path} {body}"
                );
                if status == StatusCode::OK {
                    assert_eq!(body["caller"]["username"], username);
                    assert_eq!(body["route"], format!("{method} {path}"));
                } else {
                    assert_eq!(body, serde_json::json!({"message": "Forbidden"}));
                }
            }
        }
        if username == "admin" {
            cookie_writes_need_csrf_proof(stack, &cookie).await;
        }
        // The session gate lets the cookie through to the protected page.
        let r = client()
            .get(format!("{}/private/", stack.url()))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // Logout: the cookie no longer works for the API (the session is gone), a bad
        // token never did.
        let r = client()
            .post(format!("{}/_auth/logout", stack.url()))
            .header(COOKIE, &cookie)
            .header("x-l42-csrf", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let (status, body) = api(stack, "GET", "/me", Some(&cookie), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body, serde_json::json!({"message": "Unauthorized"}));
    }
    machine_calls(stack).await;
    sessions_seen_and_ended(stack).await;
    let (status, _) = api(stack, "GET", "/me", None, Some("eyJhbGciOiJub25lIn0.e30.x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = api(stack, "GET", "/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A request to the token handler through the front door, with the CSRF header.
async fn auth(
    stack: &RunningStack,
    method: &str,
    path: &str,
    cookie: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = client()
        .request(
            method.parse().unwrap(),
            format!("{}/_auth{path}", stack.url()),
        )
        .header(COOKIE, cookie)
        .header("x-l42-csrf", "1");
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The handles of the sessions `cookie`'s user sees, the current one first.
async fn handles(stack: &RunningStack, cookie: &str) -> Vec<String> {
    let (status, body) = auth(stack, "GET", "/sessions", cookie, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut listed = body["sessions"].as_array().unwrap().clone();
    assert_eq!(
        listed.iter().filter(|s| s["current"] == true).count(),
        1,
        "{body}"
    );
    listed.sort_by_key(|s| s["current"] != true);
    listed
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Two sign-ins of one user list two sessions; ending one from the other refuses its
/// cookie at once and its Bearer access token (from `/token`) at the API within the
/// recheck window (0 here); "everywhere" ends them all; another user can neither see nor
/// end them.
async fn sessions_seen_and_ended(stack: &RunningStack) {
    let laptop = sign_in(stack, "user").await;
    let phone = sign_in(stack, "user").await;
    let (status, tokens) = auth(stack, "GET", "/token", &phone, None).await;
    assert_eq!(status, StatusCode::OK);
    let phone_bearer = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        api(stack, "GET", "/me", None, Some(&phone_bearer)).await.0,
        StatusCode::OK
    );
    let seen = handles(stack, &laptop).await;
    assert_eq!(seen.len(), 2);
    let phone_handle = seen[1].clone();
    assert_eq!(handles(stack, &phone).await[0], phone_handle);

    // Another user sees only their own, and cannot end ours.
    let editor = sign_in(stack, "editor").await;
    assert_eq!(handles(stack, &editor).await.len(), 1);
    let (status, _) = auth(
        stack,
        "DELETE",
        &format!("/sessions/{phone_handle}"),
        &editor,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        api(stack, "GET", "/me", Some(&phone), None).await.0,
        StatusCode::OK
    );

    // The laptop ends the phone's session.
    let (status, body) = auth(
        stack,
        "DELETE",
        &format!("/sessions/{phone_handle}"),
        &laptop,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        api(stack, "GET", "/me", Some(&phone), None).await.0,
        StatusCode::UNAUTHORIZED,
        "the ended session's cookie"
    );
    assert_eq!(
        api(stack, "GET", "/me", None, Some(&phone_bearer)).await.0,
        StatusCode::UNAUTHORIZED,
        "the ended session's Bearer token"
    );
    assert_eq!(
        api(stack, "GET", "/me", Some(&laptop), None).await.0,
        StatusCode::OK
    );

    // Everywhere: the laptop and a third sign-in end; the editor's goes on.
    let third = sign_in(stack, "user").await;
    let (status, tokens) = auth(stack, "GET", "/token", &third, None).await;
    assert_eq!(status, StatusCode::OK);
    let third_bearer = tokens["access_token"].as_str().unwrap().to_string();
    let (status, body) = auth(
        stack,
        "POST",
        "/logout",
        &laptop,
        Some(serde_json::json!({"everywhere": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 2);
    for cookie in [&laptop, &third] {
        assert_eq!(
            api(stack, "GET", "/me", Some(cookie), None).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        api(stack, "GET", "/me", None, Some(&third_bearer)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api(stack, "GET", "/me", Some(&editor), None).await.0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_events_with_sessions_in_memory() {
    let stack = start(ApiEvent::HttpV2, BTreeMap::new()).await;
    assert_eq!(stack.session_backend(), "memory");
    exercise(&stack).await;
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_request_events() {
    let stack = start(ApiEvent::RestRequest, BTreeMap::new()).await;
    exercise(&stack).await;
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_in_dynamodb_when_an_endpoint_is_set() {
    let endpoint = std::env::var("L42_MOTO_ENDPOINT").expect(
        "L42_MOTO_ENDPOINT is not set: start moto_server (scripts/test-all does) and export its URL",
    );
    let table = format!(
        "l42_stack_{}",
        l42_core::session::SessionId::generate()
            .unwrap()
            .as_str()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect::<String>()
    );
    let vars: BTreeMap<String, String> = [
        ("DYNAMODB_ENDPOINT", endpoint.as_str()),
        ("DYNAMODB_TABLE", table.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // The table does not exist: the stack creates it.
    let stack = start(ApiEvent::HttpV2, vars.clone()).await;
    assert_eq!(stack.session_backend(), "dynamodb");
    exercise(&stack).await;
    stack.shutdown().await;
    // A second start finds it.
    let stack = start(ApiEvent::HttpV2, vars).await;
    let cookie = sign_in(&stack, "editor").await;
    let (status, _) = api(&stack, "POST", "/orders", Some(&cookie), None).await;
    assert_eq!(status, StatusCode::OK);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_rules() {
    let stack = start(ApiEvent::HttpV2, BTreeMap::new()).await;
    let http = client();
    // The page, with the viewer-response security headers.
    let r = http.get(format!("{}/", stack.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.text().await.unwrap().contains("l42 local demo"));
    // The gate: no cookie, or a forged one, goes to the login with the path to return to.
    for cookie in [None, Some("__Host-l42_session=v1.forged.1.x")] {
        let mut req = http.get(format!("{}/private/?tab=2", stack.url()));
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(
            location(&r),
            "/_auth/login?return_to=%2Fprivate%2F%3Ftab%3D2"
        );
    }
    // The auth router: the viewer's Host decides the callback origin (localhost is
    // allowed); a forwarded host the client made up is dropped.
    let port = stack.url().rsplit(':').next().unwrap().to_string();
    let r = http
        .get(format!("{}/_auth/login", stack.url()))
        .header("host", format!("localhost:{port}"))
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    let to = location(&r);
    assert!(
        to.contains(&format!(
            "redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2F_auth%2Fcallback"
        )),
        "{to}"
    );
    let r = http.post(format!("{}/", stack.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Unknown paths: a 404 page; the token handler's own 404 under /_auth.
    let r = http
        .get(format!("{}/nope", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http
        .get(format!("{}/_auth/nope", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The refresh function answers under /_auth (CSRF first, then no session).
    let r = http
        .post(format!("{}/_auth/refresh", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(format!("{}/_auth/refresh", stack.url()))
        .header("x-l42-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    stack.shutdown().await;
}

//! The authorization-code + PKCE flow over HTTP, tokens verified by l42-core, and every
//! refusal with Cognito's error and status; userInfo, logout, discovery.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use l42_core::{TokenUse, Verifier};
use l42_idp::{Directory, IdpConfig, RunningIdp};
use reqwest::StatusCode;
use serde_json::Value;

fn verifier(idp: &RunningIdp, client: &str, token_use: TokenUse) -> Verifier {
    let config = idp
        .verifier_builder(client)
        .token_use(token_use)
        .claims_cache_size(0)
        .build()
        .unwrap();
    Verifier::new(config).unwrap()
}

async fn check_tokens(
    idp: &RunningIdp,
    client: &str,
    body: &Value,
    username: &str,
    groups: &[&str],
) {
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    let access = body["access_token"].as_str().unwrap();
    let id = body["id_token"].as_str().unwrap();

    let a = verifier(idp, client, TokenUse::Access)
        .verify(access)
        .await
        .unwrap();
    let i = verifier(idp, client, TokenUse::Id)
        .verify(id)
        .await
        .unwrap();
    assert_eq!(a.sub, i.sub);
    assert_eq!(a.username, username);
    assert_eq!(i.username, username);
    assert_eq!(a.groups, groups);
    assert_eq!(i.groups, groups);
    assert_eq!(a.client_id, client);
    assert_eq!(i.client_id, client);
    assert_eq!(
        i.email.as_deref(),
        Some(format!("{username}@example.com").as_str())
    );

    // Cognito's claim set, exactly.
    let ap = payload(access);
    let ip = payload(id);
    assert_eq!(ap["token_use"], "access");
    assert_eq!(ap["client_id"], client);
    assert!(ap.get("aud").is_none());
    assert_eq!(ap["scope"], "openid email profile");
    assert_eq!(ap["iss"], idp.issuer());
    assert_eq!(ip["token_use"], "id");
    assert_eq!(ip["aud"], client);
    assert_eq!(ip["cognito:username"], username);
    assert!(ip["email_verified"].is_boolean());
    for p in [&ap, &ip] {
        for claim in ["sub", "iss", "iat", "exp", "auth_time", "jti", "origin_jti"] {
            assert!(p.get(claim).is_some(), "{claim} missing from {p}");
        }
        assert_eq!(
            p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(),
            3600
        );
        if groups.is_empty() {
            assert!(
                p.get("cognito:groups").is_none(),
                "empty groups are left out: {p}"
            );
        }
    }
    assert_eq!(ap["origin_jti"], ip["origin_jti"]);
    assert_ne!(ap["jti"], ip["jti"]);
    let h = header(access);
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["kid"], idp.current_kid());
}

#[tokio::test]
async fn public_client_full_flow_over_http() {
    let idp = start().await;
    let base = idp.base_url();
    let (verifier_s, challenge) = pkce();
    let resp = sign_in_with(
        base,
        &[
            ("response_type", "code"),
            ("client_id", PUBLIC),
            ("redirect_uri", CALLBACK),
            ("state", "xyz & more"),
            ("scope", "openid email profile"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("nonce", "n-0S6"),
        ],
        "admin",
        "admin-password",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location(&resp);
    assert!(loc.starts_with(&format!("{CALLBACK}?")), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("xyz & more"));
    let code = query_param(&loc, "code").unwrap();
    assert_eq!(code.len(), 36, "a UUID like Cognito's");

    let (status, body) = exchange(base, Auth::Public(PUBLIC), &code, CALLBACK, &verifier_s).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    check_tokens(&idp, PUBLIC, &body, "admin", &["admin"]).await;
    assert_eq!(
        payload(body["id_token"].as_str().unwrap())["nonce"],
        "n-0S6"
    );
}

#[tokio::test]
async fn confidential_client_full_flow_basic_and_post() {
    let idp = start().await;
    let base = idp.base_url();
    let body = full_sign_in(
        base,
        Auth::Basic(CONFIDENTIAL, SECRET),
        CONFIDENTIAL,
        "editor",
        "editor-password",
    )
    .await;
    check_tokens(&idp, CONFIDENTIAL, &body, "editor", &["editor"]).await;

    // client_secret_post, and a confidential client without PKCE (Cognito does not require it).
    let resp = sign_in_with(
        base,
        &[
            ("response_type", "code"),
            ("client_id", CONFIDENTIAL),
            ("redirect_uri", OTHER_CALLBACK),
        ],
        "user",
        "user-password",
    )
    .await;
    let code = query_param(&location(&resp), "code").unwrap();
    assert!(query_param(&location(&resp), "state").is_none());
    let got = post_form(
        base,
        "/oauth2/token",
        Auth::Post(CONFIDENTIAL, SECRET),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", OTHER_CALLBACK),
        ],
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    check_tokens(&idp, CONFIDENTIAL, &got.1, "user", &[]).await;
    assert_eq!(
        payload(got.1["id_token"].as_str().unwrap())["email_verified"],
        false
    );
}

#[tokio::test]
async fn sign_in_details() {
    let idp = start().await;
    let base = idp.base_url();
    // Usernames are case-insensitive; the token carries the stored spelling.
    let body = full_sign_in(
        base,
        Auth::Public(PUBLIC),
        PUBLIC,
        "ADMIN",
        "admin-password",
    )
    .await;
    let p = payload(body["access_token"].as_str().unwrap());
    assert_eq!(p["username"], "admin");
    assert_eq!(p["sub"], l42_idp::derived_sub("admin"));
    // A user without email: no email claims; a fixed sub is kept.
    let body = full_sign_in(
        base,
        Auth::Public(PUBLIC),
        PUBLIC,
        "nomail",
        "nomail-password",
    )
    .await;
    let p = payload(body["id_token"].as_str().unwrap());
    assert!(p.get("email").is_none() && p.get("email_verified").is_none());
    assert_eq!(p["sub"], "fixed-sub-1");
    // Without openid no id token (Cognito), custom scopes in the access token.
    let (v, c) = pkce();
    let resp = sign_in_with(
        base,
        &[
            ("response_type", "code"),
            ("client_id", "access-only"),
            ("redirect_uri", CALLBACK),
            ("code_challenge", &c),
            ("code_challenge_method", "S256"),
        ],
        "user",
        "user-password",
    )
    .await;
    let code = query_param(&location(&resp), "code").unwrap();
    let got = exchange(base, Auth::Public("access-only"), &code, CALLBACK, &v).await;
    assert_eq!(got.0, StatusCode::OK);
    assert!(got.1.get("id_token").is_none());
    assert_eq!(
        payload(got.1["access_token"].as_str().unwrap())["scope"],
        "aws.cognito.signin.user.admin api/read"
    );
}

#[tokio::test]
async fn wrong_password_shows_the_form_again_without_a_code() {
    let idp = start().await;
    let (_, challenge) = pkce();
    let params = [
        ("response_type", "code"),
        ("client_id", PUBLIC),
        ("redirect_uri", CALLBACK),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (user, pass) in [
        ("admin", "wrong"),
        ("nobody", "admin-password"),
        ("admin", ""),
    ] {
        let resp = sign_in_with(idp.base_url(), &params, user, pass).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().get("location").is_none());
        let html = resp.text().await.unwrap();
        assert!(html.contains("id=\"error\""), "{html}");
        assert!(!html.contains("code="), "{html}");
        // The form still carries the request.
        assert!(
            l42_idp::browser::hidden_fields(&html)
                .iter()
                .any(|(k, v)| k == "code_challenge" && *v == challenge)
        );
    }
}

#[tokio::test]
async fn authorize_refusals_before_the_redirect_uri_is_trusted_are_pages() {
    let idp = start().await;
    let base = idp.base_url();
    let (_, c) = pkce();
    for (params, code) in [
        (
            vec![("response_type", "code"), ("redirect_uri", CALLBACK)],
            "invalid_request",
        ),
        (
            vec![
                ("response_type", "code"),
                ("client_id", "nope"),
                ("redirect_uri", CALLBACK),
            ],
            "invalid_client",
        ),
        (
            vec![("response_type", "code"), ("client_id", PUBLIC)],
            "redirect_mismatch",
        ),
        (
            vec![
                ("response_type", "code"),
                ("client_id", PUBLIC),
                ("redirect_uri", "https://evil.example/cb"),
            ],
            "redirect_mismatch",
        ),
        (
            vec![
                ("response_type", "code"),
                ("client_id", PUBLIC),
                ("redirect_uri", "http://localhost:3000/auth/callback/"),
            ],
            "redirect_mismatch",
        ),
        (
            vec![
                ("response_type", "code"),
                ("client_id", PUBLIC),
                ("redirect_uri", CALLBACK),
                ("redirect_uri", OTHER_CALLBACK),
            ],
            "invalid_request",
        ),
    ] {
        let mut params = params.clone();
        params.push(("code_challenge", &c));
        params.push(("code_challenge_method", "S256"));
        let resp = get_authorize(base, &params).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{params:?}");
        assert!(resp.headers().get("location").is_none());
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(&format!("data-error=\"{code}\"")),
            "{params:?}: {html}"
        );
    }
    // The same at the form's POST: never a redirect to an unvalidated URI.
    let resp = http()
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("response_type", "code"),
            ("client_id", PUBLIC),
            ("redirect_uri", "https://evil.example/cb"),
            ("username", "admin"),
            ("password", "admin-password"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn authorize_refusals_after_the_redirect_uri_is_trusted_are_redirected() {
    let idp = start().await;
    let (_, c) = pkce();
    let base_params = [
        ("client_id", PUBLIC),
        ("redirect_uri", CALLBACK),
        ("state", "s1"),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("response_type", "code"),
                ("code_challenge", &c),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            vec![("response_type", "code"), ("code_challenge", &c)],
            "invalid_request",
        ),
        (
            vec![("response_type", "code"), ("code_challenge_method", "S256")],
            "invalid_request",
        ),
        (
            vec![
                ("response_type", "code"),
                ("code_challenge", "too-short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
        (vec![("response_type", "code")], "invalid_request"), // this client requires PKCE
        (
            vec![("code_challenge", &c), ("code_challenge_method", "S256")],
            "invalid_request",
        ),
        (
            vec![
                ("response_type", "token"),
                ("code_challenge", &c),
                ("code_challenge_method", "S256"),
            ],
            "unauthorized_client",
        ),
        (
            vec![
                ("response_type", "id_token"),
                ("code_challenge", &c),
                ("code_challenge_method", "S256"),
            ],
            "unsupported_response_type",
        ),
        (
            vec![
                ("response_type", "code"),
                ("scope", "openid admin/all"),
                ("code_challenge", &c),
                ("code_challenge_method", "S256"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("response_type", "code"),
                ("scope", "email"),
                ("code_challenge", &c),
                ("code_challenge_method", "S256"),
            ],
            "invalid_scope",
        ),
    ];
    for (extra, error) in cases {
        let mut params: Vec<(&str, &str)> = base_params.to_vec();
        params.extend(extra.iter().copied());
        let resp = get_authorize(idp.base_url(), &params).await;
        assert_eq!(resp.status(), StatusCode::FOUND, "{params:?}");
        let loc = location(&resp);
        assert!(loc.starts_with(&format!("{CALLBACK}?")), "{loc}");
        assert_eq!(
            query_param(&loc, "error").as_deref(),
            Some(error),
            "{params:?} -> {loc}"
        );
        assert_eq!(query_param(&loc, "state").as_deref(), Some("s1"));
        assert!(query_param(&loc, "code").is_none());
    }
}

#[tokio::test]
async fn token_refusals_with_cognito_errors() {
    let idp = start_with(IdpConfig {
        code_ttl: Duration::from_secs(300),
        ..test_config()
    })
    .await;
    let base = idp.base_url();

    // Wrong code_verifier: invalid_grant; the code is used up by the attempt.
    let (code, verifier_s, _) = code_for(base, PUBLIC, CALLBACK, "admin", "admin-password").await;
    let (other_verifier, _) = pkce();
    assert_error(
        &exchange(base, Auth::Public(PUBLIC), &code, CALLBACK, &other_verifier).await,
        400,
        "invalid_grant",
    );
    assert_error(
        &exchange(base, Auth::Public(PUBLIC), &code, CALLBACK, &verifier_s).await,
        400,
        "invalid_grant",
    );

    // Missing verifier for a PKCE code: invalid_request.
    let (code, _, _) = code_for(base, PUBLIC, CALLBACK, "admin", "admin-password").await;
    let got = post_form(
        base,
        "/oauth2/token",
        Auth::Public(PUBLIC),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_error(&got, 400, "invalid_request");

    // Reused code: invalid_grant.
    let (code, verifier_s, _) = code_for(base, PUBLIC, CALLBACK, "admin", "admin-password").await;
    assert_eq!(
        exchange(base, Auth::Public(PUBLIC), &code, CALLBACK, &verifier_s)
            .await
            .0,
        StatusCode::OK
    );
    assert_error(
        &exchange(base, Auth::Public(PUBLIC), &code, CALLBACK, &verifier_s).await,
        400,
        "invalid_grant",
    );

    // A redirect_uri other than the authorize request's (even a registered one).
    let (code, verifier_s, _) = code_for(base, PUBLIC, CALLBACK, "admin", "admin-password").await;
    assert_error(
        &exchange(
            base,
            Auth::Public(PUBLIC),
            &code,
            OTHER_CALLBACK,
            &verifier_s,
        )
        .await,
        400,
        "unauthorized_client",
    );
    let (code, verifier_s, _) = code_for(base, PUBLIC, CALLBACK, "admin", "admin-password").await;
    assert_error(
        &exchange(
            base,
            Auth::Public(PUBLIC),
            &code,
            "https://evil.example/cb",
            &verifier_s,
        )
        .await,
        400,
        "unauthorized_client",
    );

    // Wrong or missing client secret, by Basic and by form: invalid_client.
    let (code, verifier_s, _) =
        code_for(base, CONFIDENTIAL, CALLBACK, "admin", "admin-password").await;
    assert_error(
        &exchange(
            base,
            Auth::Basic(CONFIDENTIAL, "wrong"),
            &code,
            CALLBACK,
            &verifier_s,
        )
        .await,
        400,
        "invalid_client",
    );
    assert_error(
        &exchange(
            base,
            Auth::Post(CONFIDENTIAL, "wrong"),
            &code,
            CALLBACK,
            &verifier_s,
        )
        .await,
        400,
        "invalid_client",
    );
    assert_error(
        &exchange(
            base,
            Auth::Public(CONFIDENTIAL),
            &code,
            CALLBACK,
            &verifier_s,
        )
        .await,
        400,
        "invalid_client",
    );
    // ... which did not use the code up: the right secret still works.
    assert_eq!(
        exchange(
            base,
            Auth::Basic(CONFIDENTIAL, SECRET),
            &code,
            CALLBACK,
            &verifier_s
        )
        .await
        .0,
        StatusCode::OK
    );
    // A secret for a public client, a Basic header and a form secret at once.
    assert_error(
        &exchange(base, Auth::Post(PUBLIC, "x"), "c", CALLBACK, "v").await,
        400,
        "invalid_client",
    );
    let resp = http()
        .post(format!("{base}/oauth2/token"))
        .header(
            "authorization",
            "Basic bDQyLWRldi1jb25maWRlbnRpYWw6bDQyLWRldi1zZWNyZXQ=",
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", "c"),
            ("redirect_uri", CALLBACK),
            ("client_secret", SECRET),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    // A code issued to another client: invalid_grant.
    let (code, verifier_s, _) = code_for(base, PUBLIC, CALLBACK, "admin", "admin-password").await;
    assert_error(
        &exchange(
            base,
            Auth::Basic(CONFIDENTIAL, SECRET),
            &code,
            CALLBACK,
            &verifier_s,
        )
        .await,
        400,
        "invalid_grant",
    );

    // Expired code (clock advanced past the 300 s lifetime): invalid_grant.
    let (code, verifier_s, _) = code_for(base, PUBLIC, CALLBACK, "admin", "admin-password").await;
    idp.clock().advance(Duration::from_secs(301));
    assert_error(
        &exchange(base, Auth::Public(PUBLIC), &code, CALLBACK, &verifier_s).await,
        400,
        "invalid_grant",
    );
    idp.clock().reset();

    // Unknown code, unknown client, unsupported grants, missing parameters.
    assert_error(
        &exchange(
            base,
            Auth::Public(PUBLIC),
            "no-such-code",
            CALLBACK,
            &verifier_s,
        )
        .await,
        400,
        "invalid_grant",
    );
    assert_error(
        &exchange(base, Auth::Public("nope"), "c", CALLBACK, "v").await,
        400,
        "invalid_client",
    );
    assert_error(
        &exchange(base, Auth::Basic("nope", "x"), "c", CALLBACK, "v").await,
        400,
        "invalid_client",
    );
    assert_error(
        &exchange(base, Auth::None, "c", CALLBACK, "v").await,
        400,
        "invalid_client",
    );
    for grant in ["password", "urn:ietf:params:oauth:grant-type:device_code"] {
        let got = post_form(
            base,
            "/oauth2/token",
            Auth::Public(PUBLIC),
            &[("grant_type", grant)],
        )
        .await;
        assert_error(&got, 400, "unsupported_grant_type");
    }
    let got = post_form(
        base,
        "/oauth2/token",
        Auth::Public(PUBLIC),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_error(&got, 400, "unauthorized_client");
    assert_error(
        &post_form(base, "/oauth2/token", Auth::Public(PUBLIC), &[]).await,
        400,
        "invalid_request",
    );
    assert_error(
        &post_form(
            base,
            "/oauth2/token",
            Auth::Public(PUBLIC),
            &[("grant_type", "refresh_token")],
        )
        .await,
        400,
        "invalid_request",
    );
    assert_error(
        &post_form(
            base,
            "/oauth2/token",
            Auth::Public(PUBLIC),
            &[("grant_type", "authorization_code"), ("code", "c")],
        )
        .await,
        400,
        "invalid_request",
    );
    assert_error(
        &post_form(
            base,
            "/oauth2/token",
            Auth::Public(PUBLIC),
            &[
                ("grant_type", "refresh_token"),
                ("grant_type", "authorization_code"),
            ],
        )
        .await,
        400,
        "invalid_request",
    );
}

/// RFC 6749 §2.3.1: a client form-encodes its id and its secret before joining them with
/// `:` for HTTP Basic. A strict client may encode any byte (`-` as `%2D`); the provider must
/// decode both parts, `+` as a space, and refuse a broken encoding as `invalid_client`.
#[tokio::test]
async fn basic_credentials_are_form_decoded() {
    let idp = start().await;
    let base = idp.base_url();
    let refresh_token = |idp: &RunningIdp| {
        idp.mint("admin", CONFIDENTIAL)
            .unwrap()
            .refresh_token
            .unwrap()
    };
    for user_pass in [
        // A strict client: every `-` encoded.
        "l42%2Ddev%2Dconfidential:l42%2Ddev%2Dsecret",
        // Any byte may be encoded, in either case of hex.
        "%6c%342-dev-confidential:l42-dev-s%65%63ret",
        // Encoding changes nothing for these bytes: today's clients keep working.
        "l42-dev-confidential:l42-dev-secret",
    ] {
        let r = refresh_token(&idp);
        let got = refresh(base, Auth::BasicUserPass(user_pass), &r).await;
        assert_eq!(got.0, StatusCode::OK, "{user_pass}: {}", got.1);
    }
    // The form's client_id is compared with the decoded id.
    let r = refresh_token(&idp);
    let got = post_form(
        base,
        "/oauth2/token",
        Auth::BasicUserPass("l42%2Ddev%2Dconfidential:l42-dev-secret"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r),
            ("client_id", CONFIDENTIAL),
        ],
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    // Revocation authenticates the same way.
    let r = refresh_token(&idp);
    let got = post_form(
        base,
        "/oauth2/revoke",
        Auth::BasicUserPass("l42%2Ddev%2Dconfidential:l42%2Ddev%2Dsecret"),
        &[("token", &r)],
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);

    // A broken encoding is the client's error, explained, whatever the rest says.
    let r = refresh_token(&idp);
    for user_pass in [
        "l42-dev-confidential:l42-dev-secret%zz",
        "l42-dev-confidential:l42-dev-secret%",
        "l42-dev-confidential:l42-dev-secret%2",
        "l42-dev-confidential:l42-dev-secret%%32",
        "l42%ZZdev-confidential:l42-dev-secret",
        "l42-dev-confidential%:l42-dev-secret",
        // Decodes to bytes that are not UTF-8.
        "l42-dev-confidential:%FF%FE",
        "l42-dev-confidential%C3:l42-dev-secret",
    ] {
        let got = refresh(base, Auth::BasicUserPass(user_pass), &r).await;
        assert_error(&got, 400, "invalid_client");
        let why = got.1["error_description"].as_str().unwrap();
        assert!(why.contains("form-encoded"), "{user_pass}: {why}");
    }
    let got = post_form(
        base,
        "/oauth2/revoke",
        Auth::BasicUserPass("l42-dev-confidential:%zz"),
        &[("token", &r)],
    )
    .await;
    assert_error(&got, 401, "invalid_client");
    // None of that used the token up.
    assert_eq!(
        refresh(base, Auth::Basic(CONFIDENTIAL, SECRET), &r).await.0,
        StatusCode::OK
    );

    // A secret with bytes that encoding does change.
    let odd = "a b+c:d%e/\u{e9}";
    let idp = start_with(IdpConfig {
        directory: Directory::from_json(&format!(
            r#"{{"users": [{{"username": "admin", "password": "admin-password"}}],
                "clients": [{{"client_id": "odd-secret", "client_secret": {},
                             "callback_urls": ["{CALLBACK}"]}}]}}"#,
            serde_json::Value::from(odd)
        ))
        .unwrap(),
        ..test_config()
    })
    .await;
    let base = idp.base_url();
    let encoded: String = form_urlencoded::byte_serialize(odd.as_bytes()).collect();
    assert_eq!(encoded, "a+b%2Bc%3Ad%25e%2F%C3%A9");
    for (user_pass, ok) in [
        (format!("odd-secret:{encoded}"), true),
        ("odd%2Dsecret:a%20b%2bc%3ad%25e%2f%c3%a9".to_string(), true),
        // Sent without encoding: `+` is a space, so the secret differs.
        ("odd-secret:a b+c:d%25e/\u{e9}".to_string(), false),
    ] {
        let r = idp
            .mint("admin", "odd-secret")
            .unwrap()
            .refresh_token
            .unwrap();
        let got = refresh(base, Auth::BasicUserPass(&user_pass), &r).await;
        if ok {
            assert_eq!(got.0, StatusCode::OK, "{user_pass}: {}", got.1);
        } else {
            assert_error(&got, 400, "invalid_client");
        }
    }
}

#[tokio::test]
async fn hostile_requests_get_oauth_errors_never_500() {
    let idp = start().await;
    let base = idp.base_url();
    let c = http();
    // Not a form.
    let resp = c
        .post(format!("{base}/oauth2/token"))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"authorization_code"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    // Too large.
    let big = "a=".to_string() + &"x".repeat(100 * 1024);
    let resp = c
        .post(format!("{base}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let resp = c
        .post(format!("{base}/login"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Garbage everywhere.
    for (path, body) in [
        ("/oauth2/token", "%%%&&&===\u{0}\u{ff}"),
        ("/oauth2/revoke", "token=%ZZ"),
        ("/login", "client_id=%FF%FE"),
    ] {
        let resp = c
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error(), "{path}: {}", resp.status());
    }
    let bad_basic = [
        "Basic",
        "Basic !!!",
        "Basic Zm9v",
        "Bearer x",
        "Basic \u{7f}",
    ];
    for h in bad_basic {
        let Ok(req) = c
            .post(format!("{base}/oauth2/token"))
            .header("authorization", h)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=refresh_token&refresh_token=x")
            .build()
        else {
            continue;
        };
        let resp = c.execute(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{h}");
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "invalid_client",
            "{h}"
        );
    }
    for path in [
        "/oauth2/userInfo",
        "/nope",
        "/eu-west-1_Other/.well-known/jwks.json",
        "/logout?client_id=%FF",
    ] {
        let resp = c
            .get(format!("{base}{path}"))
            .header("authorization", "Bearer a.b.c")
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error(), "{path}: {}", resp.status());
    }
}

#[tokio::test]
async fn userinfo_answers_for_a_valid_access_token_only() {
    let idp = start().await;
    let base = idp.base_url();
    let body = full_sign_in(
        base,
        Auth::Public(PUBLIC),
        PUBLIC,
        "admin",
        "admin-password",
    )
    .await;
    let access = body["access_token"].as_str().unwrap();
    let resp = userinfo(base, access).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["username"], "admin");
    assert_eq!(info["email"], "admin@example.com");
    assert_eq!(
        info["email_verified"], "true",
        "a string, as Cognito's userInfo gives it"
    );
    assert_eq!(info["sub"], payload(access)["sub"]);

    // POST works too.
    let resp = http()
        .post(format!("{base}/oauth2/userInfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let id = body["id_token"].as_str().unwrap();
    let forged = format!("{}x", &access[..access.len() - 1]);
    for bad in [id, forged.as_str(), "not-a-jwt", "a.b.c"] {
        let resp = userinfo(base, bad).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "invalid_token"
        );
    }
    let resp = http()
        .get(format!("{base}/oauth2/userInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    // Expired by the provider's clock.
    idp.clock().advance(Duration::from_secs(3601));
    let resp = userinfo(base, access).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_redirects_only_to_registered_logout_urls() {
    let idp = start().await;
    let base = idp.base_url();
    let get = |q: String| {
        let url = format!("{base}/logout?{q}");
        async move { http().get(url).send().await.unwrap() }
    };
    let resp = get(form(&[("client_id", PUBLIC), ("logout_uri", LOGOUT)])).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), LOGOUT);

    for q in [
        form(&[
            ("client_id", PUBLIC),
            ("logout_uri", "https://evil.example/"),
        ]),
        form(&[
            ("client_id", PUBLIC),
            ("logout_uri", "http://localhost:3000"),
        ]),
        form(&[("client_id", PUBLIC), ("logout_uri", CALLBACK)]),
        form(&[("client_id", "nope"), ("logout_uri", LOGOUT)]),
        form(&[("logout_uri", LOGOUT)]),
        form(&[("client_id", PUBLIC)]),
        form(&[
            ("client_id", CONFIDENTIAL),
            ("post_logout_redirect_uri", LOGOUT),
        ]),
    ] {
        let resp = get(q.clone()).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{q}");
        assert!(resp.headers().get("location").is_none(), "{q}");
    }
    // Sign out and sign in as another user: on to the form.
    let q = form(&[
        ("client_id", PUBLIC),
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
    ]);
    let resp = get(q.clone()).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), format!("/oauth2/authorize?{q}"));
}

#[tokio::test]
async fn discovery_documents_and_jwks_at_both_paths() {
    let idp = start().await;
    let base = idp.base_url();
    let pool = idp.pool_id();
    assert_eq!(
        idp.issuer(),
        format!("https://cognito-idp.us-east-1.amazonaws.com/{pool}")
    );
    for path in [
        "/.well-known/openid-configuration".to_string(),
        format!("/{pool}/.well-known/openid-configuration"),
    ] {
        let doc: Value = http()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], idp.issuer());
        assert_eq!(doc["jwks_uri"], idp.jwks_url());
        assert_eq!(doc["token_endpoint"], format!("{base}/oauth2/token"));
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
    }
    for path in [
        "/.well-known/jwks.json".to_string(),
        format!("/{pool}/.well-known/jwks.json"),
    ] {
        let doc: Value = http()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["keys"][0]["kid"], idp.current_kid());
        assert_eq!(doc["keys"][0]["alg"], "RS256");
    }
    // A token from an embedded JWKS, without any fetch.
    let t = idp.mint("admin", PUBLIC).unwrap();
    let config = l42_core::VerifierConfig::builder(pool, PUBLIC)
        .jwks_json(&idp.jwks_json())
        .jwks_url("off")
        .build()
        .unwrap();
    let v = Verifier::new(config).unwrap();
    assert_eq!(
        v.verify_blocking(&t.access_token).unwrap().username,
        "admin"
    );
    assert!(
        v.verify_blocking(&idp.sign_claims(&serde_json::json!({"sub": "x"})).unwrap())
            .is_err()
    );
}

#[tokio::test]
async fn issuer_override_is_used() {
    let idp = start_with(IdpConfig {
        issuer: Some("http://127.0.0.1:9/us-east-1_DevPool1/".into()),
        ..test_config()
    })
    .await;
    assert_eq!(idp.issuer(), "http://127.0.0.1:9/us-east-1_DevPool1");
    let t = idp.mint("user", PUBLIC).unwrap();
    assert_eq!(payload(&t.access_token)["iss"], idp.issuer());
    for bad in [
        IdpConfig {
            issuer: Some("ftp://x".into()),
            ..test_config()
        },
        IdpConfig {
            pool_id: "nope".into(),
            ..test_config()
        },
        IdpConfig {
            code_ttl: Duration::ZERO,
            ..test_config()
        },
    ] {
        assert!(l42_idp::Idp::start(bad, "127.0.0.1:0").await.is_err());
    }
}

/// Custom attributes reach the id token and userInfo as `custom:<name>` strings, as
/// Cognito writes them; the access token does not carry them.
#[tokio::test]
async fn custom_attributes_are_id_token_and_userinfo_strings() {
    let users = r#"{
      "groups": [],
      "users": [{"username": "ten", "password": "ten-password",
                 "custom": {"tenant": "acme", "level": "3"}}],
      "clients": [{"client_id": "c1", "callback_urls": ["http://localhost:3000/cb"]}]
    }"#;
    let idp = start_with_users(users).await;
    let tokens = idp.mint("ten", "c1").unwrap();
    let id = payload(tokens.id_token.as_deref().unwrap());
    assert_eq!(id["custom:tenant"], "acme");
    assert_eq!(id["custom:level"], "3");
    let access = payload(&tokens.access_token);
    assert!(access.get("custom:tenant").is_none(), "{access}");
    let info: Value = http()
        .get(format!("{}/oauth2/userInfo", idp.base_url()))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["custom:tenant"], "acme", "{info}");
}

#[test]
fn bad_custom_attributes_are_refused_naming_the_user() {
    let users = |custom: &str| {
        format!(
            r#"{{"groups": [], "users": [{{"username": "u", "password": "p", "custom": {custom}}}],
                "clients": [{{"client_id": "c1", "callback_urls": ["http://localhost:3000/cb"]}}]}}"#
        )
    };
    for (custom, says) in [
        (r#"{"custom:tenant": "acme"}"#, "no custom: prefix"),
        (r#"{"": "x"}"#, "not a custom attribute name"),
        (
            r#"{"a_name_longer_than_twenty": "x"}"#,
            "not a custom attribute name",
        ),
        (r#"{"ten ant": "x"}"#, "not a custom attribute name"),
    ] {
        let e = Directory::from_json(&users(custom))
            .unwrap_err()
            .to_string();
        assert!(e.contains("users[0].custom"), "{custom}: {e}");
        assert!(e.contains(says), "{custom}: {e}");
    }
    // Values are strings, as Cognito's are in tokens; the JSON reader says where.
    let e = Directory::from_json(&users(r#"{"level": 3}"#))
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected a string"), "{e}");
    let long = format!(r#"{{"tenant": "{}"}}"#, "x".repeat(2049));
    let e = Directory::from_json(&users(&long)).unwrap_err().to_string();
    assert!(e.contains("longer than 2048"), "{e}");
}

/// The client-credentials grant as Cognito has it: an access token for the client itself,
/// whose `sub` is its client id, with resource-server scopes and no user in it.
#[tokio::test]
async fn client_credentials_grant_issues_a_machine_token() {
    let idp = start().await;
    let base = idp.base_url();
    async fn client_grant(
        base: &str,
        auth: Auth<'_>,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut pairs = vec![("grant_type", "client_credentials")];
        pairs.extend_from_slice(extra);
        post_form(base, "/oauth2/token", auth, &pairs).await
    }
    for auth in [
        Auth::Basic(MACHINE, MACHINE_SECRET),
        Auth::Post(MACHINE, MACHINE_SECRET),
    ] {
        let (status, body) = client_grant(base, auth, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_i64().unwrap() > 0);
        assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
        let access = body["access_token"].as_str().unwrap();
        let claims = payload(access);
        assert_eq!(claims["sub"], MACHINE);
        assert_eq!(claims["client_id"], MACHINE);
        assert_eq!(claims["token_use"], "access");
        assert_eq!(claims["scope"], "orders/read orders/sync");
        assert_eq!(claims["version"], 2);
        for absent in ["username", "cognito:groups", "aud", "origin_jti"] {
            assert!(claims.get(absent).is_none(), "{absent}: {claims}");
        }
        let verified = verifier(&idp, MACHINE, TokenUse::Access)
            .verify(access)
            .await
            .unwrap();
        assert!(verified.machine);
        assert_eq!(verified.scopes, ["orders/read", "orders/sync"]);
        // userInfo is for users: a machine token gets 401.
        let resp = userinfo(base, access).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    // The scopes asked for, each once; nothing it is not allowed.
    let (status, body) = client_grant(
        base,
        Auth::Basic(MACHINE, MACHINE_SECRET),
        &[("scope", "orders/sync orders/sync")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        payload(body["access_token"].as_str().unwrap())["scope"],
        "orders/sync"
    );
    for scope in ["openid", "orders/delete", "orders/read openid", "orders"] {
        assert_error(
            &client_grant(
                base,
                Auth::Basic(MACHINE, MACHINE_SECRET),
                &[("scope", scope)],
            )
            .await,
            400,
            "invalid_scope",
        );
    }
    assert_error(
        &client_grant(
            base,
            Auth::Basic(MACHINE, MACHINE_SECRET),
            &[("scope", "orders/read"), ("scope", "orders/sync")],
        )
        .await,
        400,
        "invalid_request",
    );
    // Its secret, and only its secret.
    for auth in [
        Auth::Basic(MACHINE, "wrong"),
        Auth::Post(MACHINE, ""),
        Auth::Public(MACHINE),
        Auth::Basic(MACHINE, SECRET),
    ] {
        assert_error(&client_grant(base, auth, &[]).await, 400, "invalid_client");
    }
    // User clients cannot use the grant, and the machine client no other.
    assert_error(
        &client_grant(base, Auth::Basic(CONFIDENTIAL, SECRET), &[]).await,
        400,
        "unauthorized_client",
    );
    for (grant_type, extra) in [
        (
            "authorization_code",
            [("code", "x"), ("redirect_uri", CALLBACK)],
        ),
        (
            "refresh_token",
            [("refresh_token", "x"), ("scope", "orders/read")],
        ),
    ] {
        let mut pairs = vec![("grant_type", grant_type)];
        pairs.extend_from_slice(&extra);
        assert_error(
            &post_form(
                base,
                "/oauth2/token",
                Auth::Basic(MACHINE, MACHINE_SECRET),
                &pairs,
            )
            .await,
            400,
            "unauthorized_client",
        );
    }
    let (_, c) = pkce();
    let resp = get_authorize(
        base,
        &[
            ("response_type", "code"),
            ("client_id", MACHINE),
            ("redirect_uri", CALLBACK),
            ("code_challenge", &c),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("data-error=\"unauthorized_client\""),
        "{html}"
    );
    // Nor does minting sign a user in at it.
    let e = idp.mint("admin", MACHINE).unwrap_err();
    assert!(
        e.to_string().contains("client_credentials grant only"),
        "{e}"
    );
}

#[test]
fn a_machine_client_is_declared_as_cognito_allows_it() {
    let client = |fields: &str| {
        format!(r#"{{"clients": [{{"client_id": "m", "client_credentials": true, {fields}}}]}}"#)
    };
    for (fields, at, says) in [
        (
            r#""allowed_scopes": ["a/b"]"#,
            "clients[0].client_secret",
            "needs a secret",
        ),
        (
            r#""client_secret": "s", "allowed_scopes": ["a/b"], "callback_urls": ["http://localhost:1/cb"]"#,
            "clients[0].callback_urls",
            "signs no user in",
        ),
        (
            r#""client_secret": "s", "allowed_scopes": ["a/b"], "logout_urls": ["http://localhost:1/"]"#,
            "clients[0].logout_urls",
            "signs no user in",
        ),
        (
            r#""client_secret": "s", "allowed_scopes": ["a/b", "openid"]"#,
            "clients[0].allowed_scopes[1]",
            "user scope",
        ),
        (
            r#""client_secret": "s""#,
            "clients[0].allowed_scopes[0]",
            "user scope",
        ),
    ] {
        let e = Directory::from_json(&client(fields)).unwrap_err();
        assert_eq!(e.at, at, "{fields}: {e}");
        assert!(e.to_string().contains(says), "{fields}: {e}");
    }
    Directory::from_json(&client(
        r#""client_secret": "s", "allowed_scopes": ["a/b", "a/c"]"#,
    ))
    .unwrap();
}

/// `token_claims` are what a pre-token-generation (V2) trigger adds: in the access and the
/// id token, with their JSON types, and verified tokens hand them to the authorizer.
#[tokio::test]
async fn token_claims_are_in_both_tokens_as_a_trigger_adds_them() {
    let users = r#"{
      "groups": ["ops"],
      "users": [{"username": "ten", "password": "ten-password", "groups": ["ops"],
                 "custom": {"tenant": "acme"},
                 "token_claims": {"tenant": "acme", "level": 3, "roles": ["ops", "audit"],
                                  "profile": {"team": "blue"}}}],
      "clients": [{"client_id": "c1", "callback_urls": ["http://localhost:3000/cb"]}]
    }"#;
    let idp = start_with_users(users).await;
    let tokens = idp.mint("ten", "c1").unwrap();
    for jwt in [&tokens.access_token, tokens.id_token.as_ref().unwrap()] {
        let claims = payload(jwt);
        assert_eq!(claims["tenant"], "acme", "{claims}");
        assert_eq!(claims["level"], 3);
        assert_eq!(claims["roles"], serde_json::json!(["ops", "audit"]));
        assert_eq!(claims["profile"]["team"], "blue");
        assert_eq!(claims["cognito:groups"], serde_json::json!(["ops"]));
    }
    let mut config = idp.verifier_builder("c1").build().unwrap();
    config.keep_claims = vec!["tenant".into(), "level".into()];
    let verified = Verifier::new(config)
        .unwrap()
        .verify(&tokens.access_token)
        .await
        .unwrap();
    assert_eq!(verified.claim("tenant"), Some(&serde_json::json!("acme")));
    assert_eq!(verified.claim("level"), Some(&serde_json::json!(3)));
    assert!(!verified.machine);
}

#[test]
fn token_claims_cognito_keeps_for_itself_are_refused() {
    let users = |claims: &str| {
        format!(
            r#"{{"users": [{{"username": "u", "password": "p", "token_claims": {claims}}}],
                "clients": [{{"client_id": "c1", "callback_urls": ["http://localhost:3000/cb"]}}]}}"#
        )
    };
    for (claims, at, says) in [
        (
            r#"{"sub": "other"}"#,
            "users[0].token_claims",
            "Cognito sets itself",
        ),
        (
            r#"{"client_id": "m"}"#,
            "users[0].token_claims",
            "Cognito sets itself",
        ),
        (
            r#"{"username": "admin"}"#,
            "users[0].token_claims",
            "Cognito sets itself",
        ),
        (
            r#"{"cognito:groups": ["admin"]}"#,
            "users[0].token_claims",
            "Cognito sets itself",
        ),
        (
            r#"{"scope": "orders/sync"}"#,
            "users[0].token_claims",
            "Cognito sets itself",
        ),
        (r#"{"": "x"}"#, "users[0].token_claims", "not a claim name"),
        (
            r#"{"a b": "x"}"#,
            "users[0].token_claims",
            "not a claim name",
        ),
        (
            r#"{"tenant": null}"#,
            "users[0].token_claims.tenant",
            "null",
        ),
    ] {
        let e = Directory::from_json(&users(claims)).unwrap_err();
        assert_eq!(e.at, at, "{claims}: {e}");
        assert!(e.to_string().contains(says), "{claims}: {e}");
    }
    let long = format!(r#"{{"tenant": "{}"}}"#, "x".repeat(2048));
    let e = Directory::from_json(&users(&long)).unwrap_err();
    assert!(e.to_string().contains("longer than 2048"), "{e}");
}

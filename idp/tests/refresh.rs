//! Refresh tokens: rotation with grace 0 and 5 s, rotation off, original expiry kept,
//! revocation of a whole family.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use l42_idp::IdpConfig;
use reqwest::StatusCode;
use serde_json::Value;

async fn sign_in(base: &str, client: &str) -> Value {
    full_sign_in(
        base,
        Auth::Public(client),
        client,
        "editor",
        "editor-password",
    )
    .await
}

fn rt(v: &Value) -> String {
    v["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string()
}

#[tokio::test]
async fn rotation_with_grace_zero() {
    let idp = start().await;
    let base = idp.base_url();
    let first = sign_in(base, "rot-grace-0").await;
    let r0 = rt(&first);

    let (status, second) = refresh(base, Auth::Public("rot-grace-0"), &r0).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r1 = rt(&second);
    assert_ne!(r0, r1);
    // Same sign-in: origin_jti and auth_time kept; new jti.
    let (a0, a1) = (
        payload(first["access_token"].as_str().unwrap()),
        payload(second["access_token"].as_str().unwrap()),
    );
    assert_eq!(a0["origin_jti"], a1["origin_jti"]);
    assert_eq!(a0["auth_time"], a1["auth_time"]);
    assert_ne!(a0["jti"], a1["jti"]);
    let i1 = payload(second["id_token"].as_str().unwrap());
    assert_eq!(i1["origin_jti"], a0["origin_jti"]);

    // The old token is dead at once.
    assert_error(
        &refresh(base, Auth::Public("rot-grace-0"), &r0).await,
        400,
        "invalid_grant",
    );
    // The new one works, and rotates again.
    let (status, third) = refresh(base, Auth::Public("rot-grace-0"), &r1).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(rt(&third), r1);
}

#[tokio::test]
async fn rotation_with_a_five_second_grace() {
    let idp = start().await;
    let base = idp.base_url();
    let c = Auth::Public("rot-grace-5");
    let r0 = rt(&sign_in(base, "rot-grace-5").await);
    let (_, b1) = refresh(base, c, &r0).await;
    let r1 = rt(&b1);

    // Within the grace period the old token works once (a client retry)...
    let (status, retry) = refresh(base, c, &r0).await;
    assert_eq!(status, StatusCode::OK, "{retry}");
    let r_retry = rt(&retry);
    assert_ne!(r_retry, r1);
    // ...but not twice.
    assert_error(&refresh(base, c, &r0).await, 400, "invalid_grant");
    // Both successors are usable.
    let (status, b2) = refresh(base, c, &r1).await;
    assert_eq!(status, StatusCode::OK);
    let r2 = rt(&b2);
    assert_eq!(refresh(base, c, &r_retry).await.0, StatusCode::OK);

    // After the grace period (advanced clock) a rotated-out token is dead, although its
    // one retry was never used.
    idp.clock().advance(Duration::from_secs(6));
    assert_error(&refresh(base, c, &r1).await, 400, "invalid_grant");
    assert_eq!(refresh(base, c, &r2).await.0, StatusCode::OK);
}

#[tokio::test]
async fn without_rotation_the_refresh_token_is_kept() {
    let idp = start().await;
    let base = idp.base_url();
    for (client, auth) in [
        ("rot-off", Auth::Public("rot-off")),
        (CONFIDENTIAL, Auth::Basic(CONFIDENTIAL, SECRET)),
    ] {
        let first = full_sign_in(base, auth, client, "admin", "admin-password").await;
        let r0 = rt(&first);
        for _ in 0..3 {
            let (status, body) = refresh(base, auth, &r0).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body.get("refresh_token").is_none(), "{body}");
            assert!(body["access_token"].is_string() && body["id_token"].is_string());
            assert_eq!(body["token_type"], "Bearer");
        }
    }
}

#[tokio::test]
async fn rotated_tokens_keep_the_original_expiry() {
    let idp = start_with(IdpConfig {
        refresh_token_ttl: Duration::from_secs(3600),
        ..test_config()
    })
    .await;
    let base = idp.base_url();
    let c = Auth::Public("rot-grace-0");
    let r0 = rt(&sign_in(base, "rot-grace-0").await);
    idp.clock().advance(Duration::from_secs(3000));
    let (status, b1) = refresh(base, c, &r0).await;
    assert_eq!(status, StatusCode::OK);
    let r1 = rt(&b1);
    // A fresh expiry would be 3000 + 3600 s away; the original one is 600 s away.
    idp.clock().advance(Duration::from_secs(700));
    assert_error(&refresh(base, c, &r1).await, 400, "invalid_grant");

    // Without rotation too: the sign-in's refresh token expires.
    idp.clock().reset();
    let r = rt(&sign_in(base, "rot-off").await);
    idp.clock().advance(Duration::from_secs(3601));
    assert_error(
        &refresh(base, Auth::Public("rot-off"), &r).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn refresh_refusals() {
    let idp = start().await;
    let base = idp.base_url();
    let r = rt(&sign_in(base, "rot-off").await);
    assert_error(
        &refresh(base, Auth::Public("rot-grace-0"), &r).await,
        400,
        "invalid_grant",
    );
    assert_error(
        &refresh(base, Auth::Public("rot-off"), "no-such-token").await,
        400,
        "invalid_grant",
    );
    assert_error(
        &refresh(base, Auth::Public("nope"), &r).await,
        400,
        "invalid_client",
    );
    let conf = rt(&full_sign_in(
        base,
        Auth::Basic(CONFIDENTIAL, SECRET),
        CONFIDENTIAL,
        "admin",
        "admin-password",
    )
    .await);
    assert_error(
        &refresh(base, Auth::Public(CONFIDENTIAL), &conf).await,
        400,
        "invalid_client",
    );
    assert_error(
        &refresh(base, Auth::Basic(CONFIDENTIAL, "bad"), &conf).await,
        400,
        "invalid_client",
    );
    assert_eq!(
        refresh(base, Auth::Post(CONFIDENTIAL, SECRET), &conf)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoke_kills_the_whole_family() {
    let idp = start().await;
    let base = idp.base_url();
    let c = Auth::Public("rot-grace-5");
    let first = sign_in(base, "rot-grace-5").await;
    let r0 = rt(&first);
    let (_, b1) = refresh(base, c, &r0).await;
    let r1 = rt(&b1);
    let (_, b2) = refresh(base, c, &r1).await;
    let r2 = rt(&b2);
    let access = b2["access_token"].as_str().unwrap().to_string();
    let other = rt(&sign_in(base, "rot-grace-5").await);

    let userinfo = |token: String| {
        let url = format!("{base}/oauth2/userInfo");
        async move {
            http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(userinfo(access.clone()).await, StatusCode::OK);

    // Revoke the middle token: ancestors, descendants and the family's access tokens die.
    let got = post_form(base, "/oauth2/revoke", c, &[("token", &r1)]).await;
    assert_eq!(got, (StatusCode::OK, Value::Null));
    for t in [&r0, &r1, &r2] {
        assert_error(&refresh(base, c, t).await, 400, "invalid_grant");
    }
    assert_eq!(userinfo(access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        userinfo(first["access_token"].as_str().unwrap().to_string()).await,
        StatusCode::UNAUTHORIZED
    );
    // Another sign-in is untouched.
    assert_eq!(refresh(base, c, &other).await.0, StatusCode::OK);

    // Revoking again, or an unknown token: 200 (Cognito).
    assert_eq!(
        post_form(base, "/oauth2/revoke", c, &[("token", &r1)])
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        post_form(base, "/oauth2/revoke", c, &[("token", "unknown")])
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoke_refusals() {
    let idp = start().await;
    let base = idp.base_url();
    let body = full_sign_in(
        base,
        Auth::Basic(CONFIDENTIAL, SECRET),
        CONFIDENTIAL,
        "admin",
        "admin-password",
    )
    .await;
    let r = rt(&body);
    assert_error(
        &post_form(
            base,
            "/oauth2/revoke",
            Auth::Basic(CONFIDENTIAL, "bad"),
            &[("token", &r)],
        )
        .await,
        401,
        "invalid_client",
    );
    assert_error(
        &post_form(
            base,
            "/oauth2/revoke",
            Auth::Public(CONFIDENTIAL),
            &[("token", &r)],
        )
        .await,
        401,
        "invalid_client",
    );
    assert_error(
        &post_form(
            base,
            "/oauth2/revoke",
            Auth::Public("nope"),
            &[("token", &r)],
        )
        .await,
        401,
        "invalid_client",
    );
    assert_error(
        &post_form(
            base,
            "/oauth2/revoke",
            Auth::Basic(CONFIDENTIAL, SECRET),
            &[],
        )
        .await,
        400,
        "invalid_request",
    );
    let access = body["access_token"].as_str().unwrap();
    assert_error(
        &post_form(
            base,
            "/oauth2/revoke",
            Auth::Basic(CONFIDENTIAL, SECRET),
            &[("token", access)],
        )
        .await,
        400,
        "unsupported_token_type",
    );
    // Another client's token is not revoked.
    assert_error(
        &post_form(
            base,
            "/oauth2/revoke",
            Auth::Public("rot-off"),
            &[("token", &r)],
        )
        .await,
        400,
        "invalid_request",
    );
    assert_eq!(
        refresh(base, Auth::Basic(CONFIDENTIAL, SECRET), &r).await.0,
        StatusCode::OK
    );
    // By form secret it works.
    assert_eq!(
        post_form(
            base,
            "/oauth2/revoke",
            Auth::Post(CONFIDENTIAL, SECRET),
            &[("token", &r)]
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_error(
        &refresh(base, Auth::Basic(CONFIDENTIAL, SECRET), &r).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn minted_tokens_join_the_same_machinery() {
    let idp = start().await;
    let base = idp.base_url();
    let t = idp.mint("admin", "rot-grace-0").unwrap();
    let r0 = t.refresh_token.clone().unwrap();
    let (status, b) = refresh(base, Auth::Public("rot-grace-0"), &r0).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        payload(b["access_token"].as_str().unwrap())["origin_jti"],
        payload(&t.access_token)["origin_jti"]
    );
    assert!(idp.mint("nobody", PUBLIC).is_err());
    assert!(idp.mint("admin", "nope").is_err());
    // Over HTTP as well.
    let resp = http()
        .post(format!("{base}/_dev/mint"))
        .header("content-type", "application/json")
        .body(r#"{"username":"user","client_id":"l42-dev-public"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        payload(v["access_token"].as_str().unwrap())["username"],
        "user"
    );
}

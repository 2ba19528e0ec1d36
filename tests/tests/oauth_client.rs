//! `l42_core::CognitoClient` against the dev identity provider over HTTP: the code + PKCE
//! exchange driven through the sign-in form, refresh with and without rotation,
//! revocation, and the classification of every failure (injected faults included) that
//! decides whether a session ends or is kept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use l42_core::{CognitoClient, OAuthConfig, OAuthError, Pkce, TokenUse};
use l42_idp::browser::query_param;
use l42_idp::{FaultEndpoint, FaultKind, IdpConfig, RunningIdp};
use l42_tests::idp::{CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, PUBLIC_CLIENT, verifier};
use l42_tests::{mint, start_idp, start_idp_with};

const CALLBACK: &str = "http://localhost:3000/auth/callback";
const OTHER_CALLBACK: &str = "http://127.0.0.1:3001/auth/callback";
const LOGOUT: &str = "http://localhost:3000/";
const SCOPES: [&str; 3] = ["openid", "email", "profile"];

fn client(idp: &RunningIdp, client_id: &str, secret: Option<&str>) -> CognitoClient {
    CognitoClient::new(OAuthConfig::new(idp.base_url(), client_id, secret).unwrap())
}

fn public(idp: &RunningIdp) -> CognitoClient {
    client(idp, PUBLIC_CLIENT, None)
}

fn confidential(idp: &RunningIdp) -> CognitoClient {
    client(idp, CONFIDENTIAL_CLIENT, Some(CONFIDENTIAL_SECRET))
}

/// Signs in at `authorize_url` as `username`; returns the redirect's `code` after
/// checking its `state`.
async fn sign_in(idp: &RunningIdp, authorize_url: &str, state: &str, username: &str) -> String {
    let location = idp.sign_in(authorize_url, username).await.unwrap();
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
    query_param(&location, "code").expect("a code")
}

/// A full sign-in through `client`: returns the code and the PKCE pair used.
async fn code_for(idp: &RunningIdp, client: &CognitoClient, redirect: &str) -> (String, Pkce) {
    let pkce = Pkce::new().unwrap();
    let state = l42_core::oauth::random_state().unwrap();
    let url = client.authorize_url(redirect, &state, pkce.challenge(), &SCOPES);
    (sign_in(idp, &url, &state, "admin").await, pkce)
}

#[tokio::test]
async fn code_exchange_with_pkce() {
    let idp = start_idp().await.unwrap();
    let c = public(&idp);
    let (code, pkce) = code_for(&idp, &c, CALLBACK).await;
    let tokens = c
        .exchange_code(&code, pkce.verifier(), CALLBACK)
        .await
        .unwrap();
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.expires_in, Some(3600));
    let access = verifier(&idp, PUBLIC_CLIENT, TokenUse::Access)
        .unwrap()
        .verify(&tokens.access_token)
        .await
        .unwrap();
    assert_eq!(access.username, "admin");
    let id = verifier(&idp, PUBLIC_CLIENT, TokenUse::Id)
        .unwrap()
        .verify(tokens.id_token.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(id.sub, access.sub);
    assert!(!format!("{tokens:?}").contains(&tokens.access_token));

    // A code is single-use.
    assert_eq!(
        c.exchange_code(&code, pkce.verifier(), CALLBACK).await,
        Err(OAuthError::InvalidGrant)
    );

    // The confidential client authenticates by HTTP Basic.
    let conf = confidential(&idp);
    let (code, pkce) = code_for(&idp, &conf, OTHER_CALLBACK).await;
    let tokens = conf
        .exchange_code(&code, pkce.verifier(), OTHER_CALLBACK)
        .await
        .unwrap();
    assert!(tokens.refresh_token.is_some());
}

#[tokio::test]
async fn bad_exchanges_are_classified() {
    let idp = start_idp().await.unwrap();
    let c = public(&idp);

    // Wrong verifier: the code is dead.
    let (code, _) = code_for(&idp, &c, CALLBACK).await;
    let other = Pkce::new().unwrap();
    assert_eq!(
        c.exchange_code(&code, other.verifier(), CALLBACK).await,
        Err(OAuthError::InvalidGrant)
    );

    // Another redirect_uri than the authorize request's.
    let (code, pkce) = code_for(&idp, &c, CALLBACK).await;
    assert_eq!(
        c.exchange_code(&code, pkce.verifier(), OTHER_CALLBACK)
            .await,
        Err(OAuthError::Rejected {
            error: "unauthorized_client".into(),
            status: 400
        })
    );

    // An unknown code.
    assert_eq!(
        c.exchange_code("no-such-code", pkce.verifier(), CALLBACK)
            .await,
        Err(OAuthError::InvalidGrant)
    );
}

#[tokio::test]
async fn refresh_with_rotation_returns_a_new_refresh_token() {
    let idp = start_idp().await.unwrap();
    let c = public(&idp);
    let first = mint(&idp, "editor", PUBLIC_CLIENT).unwrap();
    let r1 = first.refresh_token.unwrap();

    let t = c.refresh(&r1).await.unwrap();
    let r2 = t
        .refresh_token
        .clone()
        .expect("rotation returns a new refresh token");
    assert_ne!(r2, r1);
    assert!(t.id_token.is_some());
    let claims = verifier(&idp, PUBLIC_CLIENT, TokenUse::Access)
        .unwrap()
        .verify(&t.access_token)
        .await
        .unwrap();
    assert_eq!(claims.username, "editor");

    // The new one works in turn.
    let t = c.refresh(&r2).await.unwrap();
    assert!(t.refresh_token.is_some());
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_old_token() {
    let idp = start_idp().await.unwrap();
    let c = confidential(&idp);
    let r = mint(&idp, "user", CONFIDENTIAL_CLIENT)
        .unwrap()
        .refresh_token
        .unwrap();
    let t = c.refresh(&r).await.unwrap();
    assert_eq!(t.refresh_token, None, "no rotation: keep the old one");
    assert!(c.refresh(&r).await.is_ok(), "the old one still works");
}

#[tokio::test]
async fn revoke_then_refresh_is_invalid_grant() {
    let idp = start_idp().await.unwrap();
    for (c, client_id) in [
        (public(&idp), PUBLIC_CLIENT),
        (confidential(&idp), CONFIDENTIAL_CLIENT),
    ] {
        let r = mint(&idp, "admin", client_id)
            .unwrap()
            .refresh_token
            .unwrap();
        c.revoke(&r).await.unwrap();
        let e = c.refresh(&r).await.unwrap_err();
        assert_eq!(e, OAuthError::InvalidGrant, "{client_id}");
        assert!(e.ends_session());
        // Revoking again is fine (Cognito answers 200 for an unknown token).
        c.revoke(&r).await.unwrap();
    }
}

#[tokio::test]
async fn injected_faults_are_classified() {
    let idp = start_idp().await.unwrap();
    let c = public(&idp);
    let r = mint(&idp, "admin", PUBLIC_CLIENT)
        .unwrap()
        .refresh_token
        .unwrap();

    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::Status500, 1);
    let e = c.refresh(&r).await.unwrap_err();
    assert!(matches!(e, OAuthError::Transient(_)), "{e:?}");
    assert!(!e.ends_session());

    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::InvalidGrant, 1);
    assert_eq!(c.refresh(&r).await, Err(OAuthError::InvalidGrant));

    idp.faults()
        .inject(FaultEndpoint::Revoke, FaultKind::Status500, 1);
    assert!(matches!(c.revoke(&r).await, Err(OAuthError::Transient(_))));

    // The faults were used up and the refresh token survived them.
    assert!(c.refresh(&r).await.is_ok());
}

#[tokio::test]
async fn a_hanging_token_endpoint_times_out_as_transient() {
    let idp = start_idp_with(IdpConfig {
        fault_delay: Duration::from_secs(30),
        ..IdpConfig::default()
    })
    .await
    .unwrap();
    let c = CognitoClient::new(
        OAuthConfig::new(idp.base_url(), PUBLIC_CLIENT, None)
            .unwrap()
            .with_timeout(Duration::from_millis(300)),
    );
    let r = mint(&idp, "admin", PUBLIC_CLIENT)
        .unwrap()
        .refresh_token
        .unwrap();
    idp.faults()
        .inject(FaultEndpoint::Token, FaultKind::Timeout, 1);
    match c.refresh(&r).await {
        Err(OAuthError::Transient(m)) => assert!(m.contains("timeout"), "{m}"),
        other => panic!("expected a transient timeout, got {other:?}"),
    }
    idp.shutdown().await;
}

#[tokio::test]
async fn client_authentication_failures_are_rejected() {
    let idp = start_idp().await.unwrap();
    let r = mint(&idp, "admin", CONFIDENTIAL_CLIENT)
        .unwrap()
        .refresh_token
        .unwrap();
    let invalid_client = Err(OAuthError::Rejected {
        error: "invalid_client".into(),
        status: 400,
    });
    let wrong = client(&idp, CONFIDENTIAL_CLIENT, Some("not-the-secret"));
    assert_eq!(wrong.refresh(&r).await, invalid_client);
    let missing = client(&idp, CONFIDENTIAL_CLIENT, None);
    assert_eq!(missing.refresh(&r).await, invalid_client);
    let unknown = client(&idp, "no-such-client", None);
    assert_eq!(unknown.refresh(&r).await, invalid_client);
    // The refresh token is untouched by all that.
    assert!(confidential(&idp).refresh(&r).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_provider_is_transient() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = CognitoClient::new(
        OAuthConfig::new(&format!("http://127.0.0.1:{port}"), PUBLIC_CLIENT, None).unwrap(),
    );
    for result in [
        c.refresh("some-refresh-token").await.map(|_| ()),
        c.revoke("some-refresh-token").await,
    ] {
        match result {
            Err(OAuthError::Transient(m)) => {
                assert!(!m.contains("some-refresh-token"), "{m}");
            }
            other => panic!("expected Transient, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn logout_url_is_what_the_provider_accepts() {
    let idp = start_idp().await.unwrap();
    let url = public(&idp).logout_url(LOGOUT);
    let resp = l42_idp::browser::client()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"].to_str().unwrap(), LOGOUT);
}

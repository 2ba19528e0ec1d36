//! l42-core's verifier against tokens from an issuer l42 did not write: moto's
//! `cognito-idp` (pool, app client, user, group, `InitiateAuth` with
//! `USER_PASSWORD_AUTH`, JWKS served at `/<poolId>/.well-known/jwks.json`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use l42_core::{TokenUse, Verifier, VerifierConfig, VerifyError};
use l42_tests::{Error, MotoUserPool, Tokens};

const PASSWORD: &str = "Correct-Horse-9!";

/// A pool with user `alice` (email, group `admins`) signed in.
async fn signed_in(pool_name: &str) -> Result<(MotoUserPool, Tokens, String), Error> {
    let pool = MotoUserPool::create(pool_name).await?;
    pool.add_user("alice", PASSWORD, Some("alice@example.com"), &["admins"])
        .await?;
    let user = pool
        .call(
            "AdminGetUser",
            serde_json::json!({ "UserPoolId": pool.pool_id(), "Username": "alice" }),
        )
        .await?;
    let sub = user["UserAttributes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["Name"] == "sub"))
        .and_then(|x| x["Value"].as_str())
        .expect("moto gives every user a sub")
        .to_string();
    let tokens = pool.sign_in("alice", PASSWORD).await?;
    Ok((pool, tokens, sub))
}

fn verifier(pool_id: &str, client_id: &str, token_use: TokenUse, jwks_json: &str) -> Verifier {
    let config = VerifierConfig::builder(pool_id, client_id)
        .token_use(token_use)
        .jwks_json(jwks_json)
        .jwks_url("off")
        .build()
        .unwrap();
    Verifier::new(config).unwrap()
}

#[tokio::test]
async fn access_token_verifies_with_the_jwks_fetched_from_moto() -> Result<(), Error> {
    let (pool, tokens, sub) = signed_in("l42-access").await?;
    // The verifier fetches the JWKS itself (plain http is allowed on loopback).
    let config = VerifierConfig::builder(pool.pool_id(), pool.client_id())
        .token_use(TokenUse::Access)
        .jwks_url(&pool.jwks_url())
        .build()
        .unwrap();
    let v = Verifier::new(config).unwrap();

    let claims = v.verify(&tokens.access_token).await.unwrap();
    assert_eq!(v.fetch_count(0), 1);
    assert_eq!(claims.sub, sub);
    assert_eq!(claims.username, "alice");
    assert_eq!(claims.groups, ["admins"]);
    assert_eq!(claims.client_id, pool.client_id());
    assert_eq!(claims.token_use, TokenUse::Access);
    assert!(
        claims
            .scopes
            .iter()
            .any(|s| s == "aws.cognito.signin.user.admin"),
        "{:?}",
        claims.scopes
    );
    // Tokens name the real AWS issuer even though only the JWKS is local.
    assert_eq!(
        claims.issuer,
        format!(
            "https://cognito-idp.us-east-1.amazonaws.com/{}",
            pool.pool_id()
        )
    );
    assert!(claims.exp > claims.iat);
    assert!(claims.jti.is_some());

    // An access-only verifier refuses the ID token.
    assert!(matches!(
        v.verify(&tokens.id_token).await,
        Err(VerifyError::WrongTokenUse(t)) if t == "id"
    ));
    Ok(())
}

#[tokio::test]
async fn id_token_verifies_with_an_embedded_jwks() -> Result<(), Error> {
    let (pool, tokens, sub) = signed_in("l42-id").await?;
    let jwks = pool.jwks_json().await?;
    let v = verifier(pool.pool_id(), pool.client_id(), TokenUse::Id, &jwks);

    let claims = v.verify_blocking(&tokens.id_token).unwrap();
    assert_eq!(claims.sub, sub);
    assert_eq!(claims.username, "alice"); // from `cognito:username`
    assert_eq!(claims.groups, ["admins"]);
    assert_eq!(claims.client_id, pool.client_id()); // from `aud`
    assert_eq!(claims.token_use, TokenUse::Id);
    assert!(claims.scopes.is_empty());

    // `any` accepts both kinds, each by its own rules.
    let any = verifier(pool.pool_id(), pool.client_id(), TokenUse::Any, &jwks);
    assert_eq!(
        any.verify_blocking(&tokens.access_token).unwrap().token_use,
        TokenUse::Access
    );
    assert_eq!(
        any.verify_blocking(&tokens.id_token).unwrap().token_use,
        TokenUse::Id
    );
    Ok(())
}

#[tokio::test]
async fn tokens_are_refused_for_another_pool_or_client() -> Result<(), Error> {
    let (pool, tokens, _) = signed_in("l42-mine").await?;
    let other = MotoUserPool::create("l42-other").await?;
    let jwks = pool.jwks_json().await?;

    // Another pool, given this pool's keys so that only the issuer check can refuse.
    for token_use in [TokenUse::Access, TokenUse::Id] {
        let v = verifier(other.pool_id(), pool.client_id(), token_use, &jwks);
        let token = match token_use {
            TokenUse::Id => &tokens.id_token,
            _ => &tokens.access_token,
        };
        assert_eq!(
            v.verify_blocking(token).unwrap_err(),
            VerifyError::UnknownIssuer
        );
    }
    let v = verifier(
        "us-east-1_SomeOtherPool",
        pool.client_id(),
        TokenUse::Any,
        &jwks,
    );
    assert_eq!(
        v.verify_blocking(&tokens.access_token).unwrap_err(),
        VerifyError::UnknownIssuer
    );

    // The right pool, another app client (the other pool's client, and a made-up one).
    for client in [other.client_id(), "someotherclient"] {
        for (token_use, token) in [
            (TokenUse::Access, &tokens.access_token),
            (TokenUse::Id, &tokens.id_token),
        ] {
            let v = verifier(pool.pool_id(), client, token_use, &jwks);
            assert_eq!(
                v.verify_blocking(token).unwrap_err(),
                VerifyError::WrongClient
            );
        }
    }

    // A changed signature byte no longer matches moto's key.
    let mut parts: Vec<String> = tokens.access_token.split('.').map(str::to_string).collect();
    let flipped = if parts[2].as_bytes()[10] == b'A' {
        "B"
    } else {
        "A"
    };
    parts[2].replace_range(10..11, flipped);
    let v = verifier(pool.pool_id(), pool.client_id(), TokenUse::Access, &jwks);
    assert_eq!(
        v.verify_blocking(&parts.join(".")).unwrap_err(),
        VerifyError::BadSignature
    );
    Ok(())
}

//! The shared support's dev identity provider: started on a free port, its minted tokens
//! verified by `l42-core` through its JWKS over loopback, and stopped when dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use l42_core::TokenUse;
use l42_tests::idp::{PUBLIC_CLIENT, verifier};
use l42_tests::{mint, start_idp};

#[tokio::test]
async fn minted_tokens_verify_against_the_idp_jwks() {
    let idp = start_idp().await.unwrap();
    let tokens = mint(&idp, "admin", PUBLIC_CLIENT).unwrap();

    let access = verifier(&idp, PUBLIC_CLIENT, TokenUse::Access).unwrap();
    let claims = access.verify(&tokens.access_token).await.unwrap();
    assert_eq!(claims.username, "admin");
    assert_eq!(claims.client_id, PUBLIC_CLIENT);
    assert_eq!(claims.groups, ["admin"]);
    assert_eq!(access.fetch_count(0), 1, "the JWKS came from the idp");

    let id = verifier(&idp, PUBLIC_CLIENT, TokenUse::Id).unwrap();
    let id_token = tokens.id_token.as_deref().expect("an id token with openid");
    let claims = id.verify(id_token).await.unwrap();
    assert_eq!(claims.sub, idp.directory().user("admin").unwrap().sub);
    assert!(claims.email.is_some());

    // Another client's verifier refuses the same token.
    let other = verifier(&idp, "someone-else", TokenUse::Access).unwrap();
    assert!(other.verify(&tokens.access_token).await.is_err());

    let base = idp.base_url().to_string();
    idp.shutdown().await;
    assert!(
        l42_core::http::client_builder()
            .unwrap()
            .build()
            .unwrap()
            .get(format!("{base}/.well-known/jwks.json"))
            .send()
            .await
            .is_err()
    );
}

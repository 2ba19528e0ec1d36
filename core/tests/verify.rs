//! Verifier behaviour against a real JWKS server on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use l42_core::{SigningKey, TokenUse, Verifier, VerifierConfig, VerifyError, unix_now};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const POOL: &str = "us-east-1_TestPool";
const POOL2: &str = "eu-west-1_Second";
const CLIENT: &str = "client1";

/// A tiny HTTP server: answers every request with the current body and status, counts them.
struct JwksServer {
    url: String,
    hits: Arc<AtomicU64>,
    body: Arc<std::sync::Mutex<String>>,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    async fn start(body: String, delay: Duration) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let hits = Arc::new(AtomicU64::new(0));
        let body = Arc::new(std::sync::Mutex::new(body));
        let status = Arc::new(AtomicU16::new(200));
        let (h, b, s) = (hits.clone(), body.clone(), status.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (h, b, s) = (h.clone(), b.clone(), s.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    h.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    let body = b.lock().unwrap().clone();
                    let resp = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                        s.load(Ordering::SeqCst),
                        body.len(),
                        body
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        JwksServer {
            url,
            hits,
            body,
            status,
            task,
        }
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn issuer(pool: &str) -> String {
    let region = pool.split('_').next().unwrap();
    format!("https://cognito-idp.{region}.amazonaws.com/{pool}")
}

fn access_claims(pool: &str) -> Value {
    let now = unix_now();
    json!({
        "sub": "user-sub-1", "iss": issuer(pool), "client_id": CLIENT, "token_use": "access",
        "scope": "openid orders/read", "username": "alice", "cognito:groups": ["admin", "users"],
        "auth_time": now - 10, "iat": now - 10, "exp": now + 600, "jti": "j1"
    })
}

fn config(jwks_json: Option<&str>, url: &str) -> VerifierConfig {
    let mut b = VerifierConfig::builder(POOL, CLIENT).jwks_url(url);
    if let Some(j) = jwks_json {
        b = b.jwks_json(j);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn verifies_access_token_and_maps_claims() {
    let key = SigningKey::generate("k1").unwrap();
    let v = Verifier::new(config(Some(&key.jwks_json()), "off")).unwrap();
    let c = v
        .verify(&key.sign_json(&access_claims(POOL)).unwrap())
        .await
        .unwrap();
    assert_eq!(c.sub, "user-sub-1");
    assert_eq!(c.username, "alice");
    assert_eq!(c.groups, ["admin", "users"]);
    assert_eq!(c.scopes, ["openid", "orders/read"]);
    assert_eq!(c.client_id, CLIENT);
    assert_eq!(c.token_use, TokenUse::Access);
}

/// A client-credentials access token as Cognito issues it.
fn machine_claims(pool: &str) -> Value {
    let now = unix_now();
    json!({
        "sub": CLIENT, "iss": issuer(pool), "client_id": CLIENT, "token_use": "access",
        "scope": "orders/read orders/write", "auth_time": now - 10, "iat": now - 10,
        "exp": now + 600, "jti": "m1", "version": 2
    })
}

#[tokio::test]
async fn client_credentials_tokens_are_machines_and_nothing_else_is() {
    let key = SigningKey::generate("k1").unwrap();
    let v = Verifier::new(config(Some(&key.jwks_json()), "off")).unwrap();
    let verify = |claims: Value| {
        let token = key.sign_json(&claims).unwrap();
        let v = &v;
        async move { v.verify(&token).await.unwrap() }
    };
    let m = verify(machine_claims(POOL)).await;
    assert!(m.machine);
    assert_eq!(m.sub, CLIENT);
    assert_eq!(m.client_id, CLIENT);
    assert_eq!(m.username, CLIENT, "no username: the sub stands in");
    assert!(m.groups.is_empty());
    assert_eq!(m.scopes, ["orders/read", "orders/write"]);

    assert!(!verify(access_claims(POOL)).await.machine, "a user's token");
    // Any one sign of a user makes the token a user's.
    for (claim, value) in [
        ("username", json!("alice")),
        ("cognito:groups", json!([])),
        ("sub", json!("someone-else")),
    ] {
        let mut c = machine_claims(POOL);
        c[claim] = value;
        assert!(!verify(c).await.machine, "with {claim}");
    }
    // An id token is never a machine's, even one whose sub is the client id.
    let now = unix_now();
    let id = json!({
        "sub": CLIENT, "iss": issuer(POOL), "aud": CLIENT, "token_use": "id",
        "iat": now, "exp": now + 60
    });
    let any = VerifierConfig::builder(POOL, CLIENT)
        .token_use(TokenUse::Any)
        .jwks_json(&key.jwks_json())
        .jwks_url("off")
        .build()
        .unwrap();
    let c = Verifier::new(any)
        .unwrap()
        .verify(&key.sign_json(&id).unwrap())
        .await
        .unwrap();
    assert!(!c.machine);
}

#[tokio::test]
async fn id_tokens_check_aud_and_regional_issuer_is_accepted() {
    let key = SigningKey::generate("k1").unwrap();
    let cfg = VerifierConfig::builder(POOL, CLIENT)
        .token_use(TokenUse::Id)
        .jwks_json(&key.jwks_json())
        .jwks_url("off")
        .build()
        .unwrap();
    let v = Verifier::new(cfg).unwrap();
    let now = unix_now();
    let mut id = json!({
        "sub": "s", "iss": format!("https://issuer-cognito-idp.us-east-1.amazonaws.com/{POOL}"),
        "aud": CLIENT, "token_use": "id", "cognito:username": "bob", "email": "b@example.com",
        "iat": now, "exp": now + 60
    });
    let c = v.verify(&key.sign_json(&id).unwrap()).await.unwrap();
    assert_eq!(c.username, "bob");
    assert_eq!(c.email.as_deref(), Some("b@example.com"));
    id["aud"] = json!("someone-else");
    assert_eq!(
        v.verify(&key.sign_json(&id).unwrap()).await.unwrap_err(),
        VerifyError::WrongClient
    );
    // An access token is refused when only id tokens are accepted.
    let err = v
        .verify(&key.sign_json(&access_claims(POOL)).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::WrongTokenUse(_)));
}

#[tokio::test]
async fn several_pools_keep_their_keys_apart() {
    let k1 = SigningKey::generate("shared-kid").unwrap();
    let k2 = SigningKey::generate("shared-kid").unwrap();
    let jwks = json!({ POOL: {"keys": [k1.jwk()]}, POOL2: {"keys": [k2.jwk()]} }).to_string();
    let cfg = VerifierConfig::builder(&format!("{POOL},{POOL2}"), CLIENT)
        .jwks_json(&jwks)
        .jwks_url("off")
        .build()
        .unwrap();
    let v = Verifier::new(cfg).unwrap();
    assert_eq!(
        v.verify(&k1.sign_json(&access_claims(POOL)).unwrap())
            .await
            .unwrap()
            .pool,
        0
    );
    assert_eq!(
        v.verify(&k2.sign_json(&access_claims(POOL2)).unwrap())
            .await
            .unwrap()
            .pool,
        1
    );
    // Pool 1's key signing a pool-2 token: same kid, wrong key.
    let err = v
        .verify(&k1.sign_json(&access_claims(POOL2)).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, VerifyError::BadSignature);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_triggers_one_single_flight_fetch() {
    let old = SigningKey::generate("old").unwrap();
    let new = SigningKey::generate("new").unwrap();
    let both = json!({"keys": [old.jwk(), new.jwk()]}).to_string();
    let server = JwksServer::start(both, Duration::from_millis(200)).await;
    let v = Arc::new(Verifier::new(config(Some(&old.jwks_json()), &server.url)).unwrap());
    let token = new.sign_json(&access_claims(POOL)).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (v, t) = (v.clone(), token.clone());
        tasks.push(tokio::spawn(async move { v.verify(&t).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().sub, "user-sub-1");
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(v.fetch_count(0), 1);
    // The embedded key still works after the fetch.
    v.verify(&old.sign_json(&access_claims(POOL)).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn random_kids_fetch_at_most_once_per_cooldown() {
    let known = SigningKey::generate("known").unwrap();
    let server = JwksServer::start(known.jwks_json(), Duration::ZERO).await;
    let v = Verifier::new(config(Some(&known.jwks_json()), &server.url)).unwrap();
    for i in 0..300 {
        let header = json!({"alg": "RS256", "kid": format!("flood-{i}")}).to_string();
        let t = known
            .sign_parts(
                header.as_bytes(),
                access_claims(POOL).to_string().as_bytes(),
            )
            .unwrap();
        assert_eq!(v.verify(&t).await.unwrap_err(), VerifyError::UnknownKey);
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refetch_happens_again_after_the_cooldown() {
    let known = SigningKey::generate("known").unwrap();
    let rotated = SigningKey::generate("rotated").unwrap();
    let server = JwksServer::start(known.jwks_json(), Duration::ZERO).await;
    let cfg = VerifierConfig::builder(POOL, CLIENT)
        .jwks_json(&known.jwks_json())
        .jwks_url(&server.url)
        .refetch_cooldown(Duration::from_millis(300))
        .build()
        .unwrap();
    let v = Verifier::new(cfg).unwrap();
    let token = rotated.sign_json(&access_claims(POOL)).unwrap();
    assert_eq!(v.verify(&token).await.unwrap_err(), VerifyError::UnknownKey);
    *server.body.lock().unwrap() = json!({"keys": [known.jwk(), rotated.jwk()]}).to_string();
    assert_eq!(v.verify(&token).await.unwrap_err(), VerifyError::UnknownKey);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(v.verify(&token).await.unwrap().sub, "user-sub-1");
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn fetch_failures_keep_known_keys() {
    let known = SigningKey::generate("known").unwrap();
    let other = SigningKey::generate("other").unwrap();
    let server = JwksServer::start("not json".into(), Duration::ZERO).await;
    let cfg = VerifierConfig::builder(POOL, CLIENT)
        .jwks_url(&server.url)
        .refetch_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    let v = Verifier::new(cfg).unwrap();
    // No keys yet, fetch serves garbage: rejected, not panicking.
    let t = known.sign_json(&access_claims(POOL)).unwrap();
    assert_eq!(v.verify(&t).await.unwrap_err(), VerifyError::UnknownKey);
    // Fetch succeeds: key learnt.
    *server.body.lock().unwrap() = known.jwks_json();
    v.verify(&t).await.unwrap();
    // Then the endpoint breaks (500, then garbage): the learnt key keeps working.
    server.status.store(500, Ordering::SeqCst);
    let t2 = other.sign_json(&access_claims(POOL)).unwrap();
    assert_eq!(v.verify(&t2).await.unwrap_err(), VerifyError::UnknownKey);
    let mut c = access_claims(POOL);
    c["jti"] = json!("fresh"); // a token not in the claims cache
    v.verify(&known.sign_json(&c).unwrap()).await.unwrap();
    server.status.store(200, Ordering::SeqCst);
    *server.body.lock().unwrap() = "{\"keys\":[]}".into();
    assert_eq!(v.verify(&t2).await.unwrap_err(), VerifyError::UnknownKey);
    c["jti"] = json!("fresher");
    v.verify(&known.sign_json(&c).unwrap()).await.unwrap();
}

#[tokio::test]
async fn unreachable_endpoint_is_an_unknown_key_not_a_hang() {
    let known = SigningKey::generate("known").unwrap();
    // Bind then drop a listener: the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = VerifierConfig::builder(POOL, CLIENT)
        .jwks_url(&format!("http://127.0.0.1:{port}/jwks.json"))
        .fetch_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let v = Verifier::new(cfg).unwrap();
    let t = known.sign_json(&access_claims(POOL)).unwrap();
    assert_eq!(v.verify(&t).await.unwrap_err(), VerifyError::UnknownKey);
}

#[tokio::test]
async fn foreign_issuer_never_fetches() {
    let key = SigningKey::generate("k").unwrap();
    let server = JwksServer::start(key.jwks_json(), Duration::ZERO).await;
    let v = Verifier::new(config(None, &server.url)).unwrap();
    let t = key.sign_json(&access_claims("us-east-1_Foreign")).unwrap();
    assert_eq!(v.verify(&t).await.unwrap_err(), VerifyError::UnknownIssuer);
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn claims_cache_returns_the_same_claims_and_never_outlives_exp() {
    let key = SigningKey::generate("k").unwrap();
    let v = Verifier::new(config(Some(&key.jwks_json()), "off")).unwrap();
    let t = key.sign_json(&access_claims(POOL)).unwrap();
    let a = v.verify(&t).await.unwrap();
    let b = v.verify(&t).await.unwrap();
    assert!(
        Arc::ptr_eq(&a, &b),
        "second verification should come from the cache"
    );

    let mut short = access_claims(POOL);
    short["exp"] = json!(unix_now() + 1);
    let t = key.sign_json(&short).unwrap();
    v.verify(&t).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(v.verify(&t).await.unwrap_err(), VerifyError::Expired);
}

#[tokio::test]
async fn leeway_applies_to_exp_nbf_and_iat() {
    let key = SigningKey::generate("k").unwrap();
    let strict = Verifier::new(config(Some(&key.jwks_json()), "off")).unwrap();
    let lenient = Verifier::new(
        VerifierConfig::builder(POOL, CLIENT)
            .jwks_json(&key.jwks_json())
            .jwks_url("off")
            .leeway_secs(30)
            .build()
            .unwrap(),
    )
    .unwrap();
    let now = unix_now();
    for (field, value, err) in [
        ("exp", now - 5, VerifyError::Expired),
        ("nbf", now + 5, VerifyError::NotYetValid),
        ("iat", now + 5, VerifyError::IssuedInFuture),
    ] {
        let mut c = access_claims(POOL);
        c[field] = json!(value);
        let t = key.sign_json(&c).unwrap();
        assert_eq!(strict.verify(&t).await.unwrap_err(), err, "{field}");
        lenient.verify(&t).await.unwrap();
    }
}

#[test]
fn jwks_file_is_read_at_start_up_and_named_in_its_errors() {
    let key = SigningKey::generate("file-key").unwrap();
    let dir = std::env::temp_dir().join(format!("l42-core-jwks-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("jwks.json");
    std::fs::write(&good, key.jwks_json()).unwrap();
    let empty = dir.join("empty.json");
    std::fs::write(&empty, r#"{"keys":[]}"#).unwrap();
    let lookup = |file: &std::path::Path| {
        let file = file.to_str().unwrap().to_owned();
        move |name: &str| match name {
            "COGNITO_USER_POOL_ID" => Some(POOL.to_owned()),
            "COGNITO_CLIENT_ID" => Some(CLIENT.to_owned()),
            "JWKS_FILE" => Some(file.clone()),
            "JWKS_URL" => Some("off".to_owned()),
            _ => None,
        }
    };

    // No network: the file's key verifies the token.
    let config = VerifierConfig::from_lookup(lookup(&good)).unwrap();
    assert_eq!(config.jwks[0].embedded_var, "JWKS_FILE");
    let verifier = Verifier::new(config).unwrap();
    let token = key.sign_json(&access_claims(POOL)).unwrap();
    assert_eq!(verifier.verify_blocking(&token).unwrap().sub, "user-sub-1");
    let other = SigningKey::generate("file-key").unwrap();
    let forged = other.sign_json(&access_claims(POOL)).unwrap();
    assert_eq!(
        verifier.verify_blocking(&forged).unwrap_err(),
        VerifyError::BadSignature
    );

    // A file without a usable key is refused at start-up, naming JWKS_FILE.
    let config = VerifierConfig::from_lookup(lookup(&empty)).unwrap();
    let err = Verifier::new(config).unwrap_err();
    assert_eq!(err.var, "JWKS_FILE", "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The JWT attack suite: hostile tokens and `Authorization` values, each put in a REST TOKEN
//! event and in an HTTP API payload 2.0 event, must come out as `Outcome::Unauthorized` (401)
//! at the `token` or `identity` stage — never an Allow, never a Deny (403), never a panic.
//!
//! The suite is table-driven: every vector has a name, and a failure lists every failing
//! name with the event kind and what happened. A valid baseline token goes through the same
//! harness first and must be allowed, so a rejection proves the attack was caught and not
//! that the harness is broken.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use l42_authorizer::{Authorizer, Outcome};
use l42_core::{SigningKey, unix_now};
use serde_json::{Value, json};

const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/orders";
const KID: &str = "golden-key";

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

/// The configuration a vector runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cfg {
    /// The default: access tokens only.
    Access,
    /// `TOKEN_USE=id`.
    Id,
}

/// One attack: a name, the whole `Authorization` value, and the configuration.
struct Vector {
    name: String,
    auth: String,
    cfg: Cfg,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    RestToken,
    HttpV2,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::RestToken, Kind::HttpV2];

    fn name(self) -> &'static str {
        match self {
            Kind::RestToken => "rest-token",
            Kind::HttpV2 => "http-v2",
        }
    }

    fn event(self, auth: &str) -> Vec<u8> {
        let ev = match self {
            Kind::RestToken => json!({
                "type": "TOKEN",
                "authorizationToken": auth,
                "methodArn": METHOD_ARN,
            }),
            Kind::HttpV2 => json!({
                "version": "2.0",
                "type": "REQUEST",
                "routeArn": METHOD_ARN,
                "identitySource": [auth],
                "routeKey": "GET /orders",
                "rawPath": "/orders",
                "rawQueryString": "",
                "headers": {"authorization": auth, "host": "api.example.com"},
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "api",
                    "http": {"method": "GET", "path": "/orders", "sourceIp": "203.0.113.7"},
                    "routeKey": "GET /orders",
                    "stage": "prod",
                },
            }),
        };
        serde_json::to_vec(&ev).unwrap()
    }
}

fn authorizer(cfg: Cfg) -> &'static Authorizer {
    static ACCESS: OnceLock<Authorizer> = OnceLock::new();
    static ID: OnceLock<Authorizer> = OnceLock::new();
    match cfg {
        Cfg::Access => ACCESS.get_or_init(|| common::embedded_authorizer(&[])),
        Cfg::Id => ID.get_or_init(|| common::embedded_authorizer(&[("TOKEN_USE", "id")])),
    }
}

/// Runs one event on a fresh current-thread runtime; a panic becomes `Err`.
fn run(a: &Authorizer, event: &[u8]) -> Result<Outcome, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    std::panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(a.handle(event)))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

fn describe(out: &Result<Outcome, String>) -> String {
    match out {
        Err(p) => format!("PANICKED: {p}"),
        Ok(Outcome::Respond {
            allowed, explain, ..
        }) => format!(
            "{} at stage `{}`: {}",
            if *allowed { "ALLOWED" } else { "denied (403)" },
            explain.stage,
            explain.reason
        ),
        Ok(Outcome::Unauthorized { explain }) => {
            format!(
                "unauthorized at stage `{}`: {}",
                explain.stage, explain.reason
            )
        }
        Ok(Outcome::Failed { explain }) => format!(
            "NO DECISION (500) at stage `{}`: {}",
            explain.stage, explain.reason
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Token building
// ---------------------------------------------------------------------------------------

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a token that would be allowed `GET /orders` (group `users`).
fn base() -> Value {
    common::claims("attacker-1", &["users"])
}

fn with(key: &str, value: Value) -> Value {
    let mut c = base();
    c[key] = value;
    c
}

fn without(key: &str) -> Value {
    let mut c = base();
    c.as_object_mut().unwrap().remove(key);
    c
}

fn header() -> Value {
    json!({"alg": "RS256", "kid": KID})
}

fn header_with(key: &str, value: Value) -> Value {
    let mut h = header();
    h[key] = value;
    h
}

/// Signed by the real key over arbitrary header and payload bytes.
fn real_raw(header: &str, payload: &str) -> String {
    common::key()
        .sign_parts(header.as_bytes(), payload.as_bytes())
        .unwrap()
}

/// Signed by the real key (RS256) whatever the header says.
fn real(header: &Value, claims: &Value) -> String {
    real_raw(&header.to_string(), &claims.to_string())
}

/// Signed by the impostor key (right `kid`, not in the JWKS).
fn impostor_raw(header: &str, payload: &str) -> String {
    impostor()
        .sign_parts(header.as_bytes(), payload.as_bytes())
        .unwrap()
}

/// The base claims as JSON text with `key`'s value replaced by raw JSON text.
fn claims_text(key: &str, raw: &str) -> String {
    with(key, json!("\u{1}placeholder"))
        .to_string()
        .replace(r#""\u0001placeholder""#, raw)
}

/// `b64(header).b64(payload).b64(signature)` with no real signing.
fn forged(header: &str, payload: &str, signature: &[u8]) -> String {
    format!("{}.{}.{}", b64(header), b64(payload), b64(signature))
}

fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let h = it.next().unwrap().to_string();
    let p = it.next().unwrap().to_string();
    let s = it.next().unwrap().to_string();
    (h, p, s)
}

fn signature_bytes(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(parts(token).2).unwrap()
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let (h, p, _) = parts(token);
    format!("{h}.{p}.{}", b64(signature))
}

/// The real key pair, for signing with algorithms other than RS256.
fn real_pair() -> &'static KeyPair {
    static PAIR: OnceLock<KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| KeyPair::from_pkcs8(&common::key().to_pkcs8().unwrap()).unwrap())
}

/// A key the attacker controls (its public part is embedded in some headers).
fn attacker() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate("attacker-key").unwrap())
}

/// A fresh key that is not in the JWKS but claims the real key's `kid`.
fn impostor() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(KID).unwrap())
}

/// Signs `header.payload` with the real private key under another RSA scheme.
fn real_with(alg: &str, scheme: &'static dyn sig::RsaEncoding, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(json!({"alg": alg, "kid": KID}).to_string()),
        b64(claims.to_string())
    );
    let pair = real_pair();
    let mut s = vec![0u8; pair.public_modulus_len()];
    pair.sign(scheme, &SystemRandom::new(), input.as_bytes(), &mut s)
        .unwrap();
    format!("{input}.{}", b64(s))
}

/// An ES256 token from a fresh P-256 key (the JWKS has no EC key at all).
fn es256(claims: &Value) -> String {
    let pair = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "ES256", "kid": KID}).to_string()),
        b64(claims.to_string())
    );
    let s = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", b64(s.as_ref()))
}

/// The HMAC confusion attack: `alg` HS*, keyed with public material.
fn hs(alg: &str, secret: &[u8]) -> String {
    let algorithm = match alg {
        "HS256" => hmac::HMAC_SHA256,
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        other => panic!("no HMAC for {other}"),
    };
    let input = format!(
        "{}.{}",
        b64(json!({"alg": alg, "kid": KID, "typ": "JWT"}).to_string()),
        b64(base().to_string())
    );
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// Public material an attacker can read from the JWKS endpoint.
struct Public {
    spki_der: Vec<u8>,
    pkcs1_der: Vec<u8>,
    spki_pem: String,
    pkcs1_pem: String,
    n_bytes: Vec<u8>,
    n_b64: String,
    jwk_json: String,
    jwks_json: String,
}

fn public() -> Public {
    let pk = real_pair().public_key();
    let spki_der = pk.as_der().unwrap().as_ref().to_vec();
    let pkcs1_der = pk.as_ref().to_vec();
    let jwk = common::key().jwk();
    let n_b64 = jwk["n"].as_str().unwrap().to_string();
    Public {
        spki_pem: pem("PUBLIC KEY", &spki_der),
        pkcs1_pem: pem("RSA PUBLIC KEY", &pkcs1_der),
        n_bytes: URL_SAFE_NO_PAD.decode(&n_b64).unwrap(),
        spki_der,
        pkcs1_der,
        n_b64,
        jwk_json: jwk.to_string(),
        jwks_json: common::key().jwks_json(),
    }
}

/// Deeply nested JSON arrays: `[[[…]]]`.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// The base claims as JSON text with `extra` spliced in front (to duplicate a claim).
fn with_duplicate(extra: &str) -> String {
    let text = base().to_string();
    format!("{{{extra},{}", &text[1..])
}

fn id_claims(sub: &str, groups: &[&str]) -> Value {
    let now = unix_now();
    json!({
        "sub": sub, "iss": common::ISSUER, "aud": common::CLIENT, "token_use": "id",
        "cognito:username": format!("{sub}-name"), "email": format!("{sub}@example.com"),
        "cognito:groups": groups, "auth_time": now - 60, "iat": now - 60, "exp": now + 3600,
        "jti": "jti-id-1", "origin_jti": "ojti-1"
    })
}

// ---------------------------------------------------------------------------------------
// The vectors
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct Table(Vec<Vector>);

impl Table {
    /// A token presented as `Bearer <token>` under the default configuration.
    fn token(&mut self, name: &str, token: impl Into<String>) {
        self.0.push(Vector {
            name: name.to_string(),
            auth: format!("Bearer {}", token.into()),
            cfg: Cfg::Access,
        });
    }

    /// A token under the `TOKEN_USE=id` configuration.
    fn token_id(&mut self, name: &str, token: impl Into<String>) {
        self.0.push(Vector {
            name: name.to_string(),
            auth: format!("Bearer {}", token.into()),
            cfg: Cfg::Id,
        });
    }

    /// A whole `Authorization` value.
    fn auth(&mut self, name: &str, auth: impl Into<String>) {
        self.0.push(Vector {
            name: name.to_string(),
            auth: auth.into(),
            cfg: Cfg::Access,
        });
    }
}

fn vectors() -> &'static [Vector] {
    static V: OnceLock<Vec<Vector>> = OnceLock::new();
    V.get_or_init(build_vectors)
}

fn build_vectors() -> Vec<Vector> {
    let mut t = Table::default();
    let now = unix_now();
    let claims = base();
    let payload = claims.to_string();
    let valid = real(&header(), &claims);
    let (vh, vp, vs) = parts(&valid);

    // --- alg: none, in every casing (all 16), with and without a signature ------------
    let casings: Vec<String> = (0u8..16)
        .map(|bits| {
            "none"
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if bits & (1 << i) != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect()
        })
        .collect();
    assert_eq!(
        casings
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        16
    );
    for alg in &casings {
        let h = json!({"alg": alg, "kid": KID}).to_string();
        t.token(
            &format!("alg-{alg}-empty-signature"),
            forged(&h, &payload, b""),
        );
        t.token(
            &format!("alg-{alg}-no-signature-segment"),
            format!("{}.{}", b64(&h), b64(&payload)),
        );
        // Signed by the real key: only the alg check may refuse it.
        t.token(
            &format!("alg-{alg}-real-rs256-signature"),
            real_raw(&h, &payload),
        );
        t.token(
            &format!("alg-{alg}-stolen-signature"),
            format!("{}.{}.{vs}", b64(&h), b64(&payload)),
        );
    }

    // --- alg missing or of the wrong JSON type, signed by the real key -----------------
    t.token("alg-missing", real(&json!({"kid": KID}), &claims));
    t.token("alg-null", real(&header_with("alg", Value::Null), &claims));
    t.token("alg-number", real(&header_with("alg", json!(256)), &claims));
    t.token(
        "alg-array",
        real(&header_with("alg", json!(["RS256"])), &claims),
    );
    t.token(
        "alg-object",
        real(&header_with("alg", json!({"name": "RS256"})), &claims),
    );
    t.token("alg-bool", real(&header_with("alg", json!(true)), &claims));
    t.token(
        "alg-empty-string",
        real(&header_with("alg", json!("")), &claims),
    );
    t.token(
        "alg-lowercase-rs256",
        real(&header_with("alg", json!("rs256")), &claims),
    );
    t.token(
        "alg-rs256-trailing-space",
        real(&header_with("alg", json!("RS256 ")), &claims),
    );
    t.token(
        "alg-rs256-nul-suffix",
        real(&header_with("alg", json!("RS256\u{0}")), &claims),
    );
    t.token(
        "alg-duplicated-none-then-rs256",
        real_raw(
            &format!(r#"{{"alg":"none","alg":"RS256","kid":"{KID}"}}"#),
            &payload,
        ),
    );

    // --- HMAC with the public key as the secret (algorithm confusion) ------------------
    let p = public();
    for alg in ["HS256", "HS384", "HS512"] {
        t.token(&format!("{alg}-secret-spki-der"), hs(alg, &p.spki_der));
        t.token(&format!("{alg}-secret-pkcs1-der"), hs(alg, &p.pkcs1_der));
        t.token(
            &format!("{alg}-secret-spki-pem"),
            hs(alg, p.spki_pem.as_bytes()),
        );
        t.token(&format!("{alg}-secret-jwk-n-bytes"), hs(alg, &p.n_bytes));
    }
    t.token(
        "HS256-secret-pkcs1-pem",
        hs("HS256", p.pkcs1_pem.as_bytes()),
    );
    t.token(
        "HS256-secret-jwk-n-base64url-text",
        hs("HS256", p.n_b64.as_bytes()),
    );
    t.token("HS256-secret-jwk-json", hs("HS256", p.jwk_json.as_bytes()));
    t.token(
        "HS256-secret-jwks-json",
        hs("HS256", p.jwks_json.as_bytes()),
    );
    t.token("HS256-secret-empty", hs("HS256", b""));
    t.token("HS256-secret-kid", hs("HS256", KID.as_bytes()));
    t.token(
        "HS256-header-real-rs256-signature",
        real(&header_with("alg", json!("HS256")), &claims),
    );

    // --- other asymmetric algorithms --------------------------------------------------
    t.token(
        "RS384-real-key",
        real_with("RS384", &sig::RSA_PKCS1_SHA384, &claims),
    );
    t.token(
        "RS512-real-key",
        real_with("RS512", &sig::RSA_PKCS1_SHA512, &claims),
    );
    t.token(
        "PS256-real-key",
        real_with("PS256", &sig::RSA_PSS_SHA256, &claims),
    );
    t.token(
        "PS512-real-key",
        real_with("PS512", &sig::RSA_PSS_SHA512, &claims),
    );
    // The header lies: an RS256 signature under another alg name.
    t.token(
        "RS384-header-rs256-signature",
        real(&header_with("alg", json!("RS384")), &claims),
    );
    t.token(
        "PS256-header-rs256-signature",
        real(&header_with("alg", json!("PS256")), &claims),
    );
    // The RS256 header with a PSS signature from the real key.
    t.token(
        "RS256-header-pss-signature",
        with_signature(&valid, &{
            let mut s = vec![0u8; real_pair().public_modulus_len()];
            real_pair()
                .sign(
                    &sig::RSA_PSS_SHA256,
                    &SystemRandom::new(),
                    format!("{vh}.{vp}").as_bytes(),
                    &mut s,
                )
                .unwrap();
            s
        }),
    );
    t.token("ES256-fresh-ec-key", es256(&claims));
    t.token(
        "EdDSA-header-rs256-signature",
        real(&header_with("alg", json!("EdDSA")), &claims),
    );

    // --- signature tampering --------------------------------------------------------
    t.token("signature-empty", format!("{vh}.{vp}."));
    t.token(
        "signature-truncated-by-10-chars",
        format!("{vh}.{vp}.{}", &vs[..vs.len() - 10]),
    );
    t.token(
        "signature-truncated-to-half",
        format!("{vh}.{vp}.{}", &vs[..vs.len() / 2]),
    );
    t.token(
        "signature-one-byte-short",
        with_signature(&valid, &signature_bytes(&valid)[1..]),
    );
    let other = real(&header(), &common::claims("victim-admin", &["admin"]));
    t.token(
        "signature-of-another-token",
        format!("{}.{}.{vs}", parts(&other).0, parts(&other).1),
    );
    let escalated = with("cognito:groups", json!(["users", "admin"]));
    t.token(
        "payload-escalated-keeping-signature",
        format!("{vh}.{}.{vs}", b64(escalated.to_string())),
    );
    for (name, index) in [("first", 0usize), ("middle", 128), ("last", 255)] {
        let mut s = signature_bytes(&valid);
        s[index] ^= 0x01;
        t.token(
            &format!("signature-bit-flip-{name}-byte"),
            with_signature(&valid, &s),
        );
    }
    t.token("signature-all-zeros", with_signature(&valid, &[0u8; 256]));
    t.token("signature-all-ones", with_signature(&valid, &[0xffu8; 256]));
    t.token(
        "signature-integer-one",
        with_signature(&valid, &{
            let mut s = [0u8; 256];
            s[255] = 1;
            s
        }),
    );
    t.token(
        "signature-equals-modulus",
        with_signature(&valid, &p.n_bytes),
    );
    t.token(
        "signature-leading-zero-byte",
        with_signature(&valid, &[&[0u8][..], &signature_bytes(&valid)].concat()),
    );
    t.token(
        "signature-doubled",
        with_signature(&valid, &signature_bytes(&valid).repeat(2)),
    );
    t.token(
        "signature-oversized-2048-bytes",
        with_signature(&valid, &[7u8; 2048]),
    );
    // 256 bytes encode to 342 characters; the last one carries 4 unused bits, which a
    // lax decoder ignores: a non-canonical last character decodes to the same bytes.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = vs.as_bytes()[vs.len() - 1];
    let i = ALPHABET.iter().position(|c| *c == last).unwrap();
    t.token(
        "signature-non-canonical-trailing-bits",
        format!(
            "{vh}.{vp}.{}{}",
            &vs[..vs.len() - 1],
            ALPHABET[i ^ 1] as char
        ),
    );

    // --- embedded keys and key URLs (attacker key, attacker key embedded) --------------
    let a = attacker();
    let embed = |field: &str, value: Value, kid: &str| {
        let h = json!({"alg": "RS256", "kid": kid, field: value}).to_string();
        a.sign_parts(h.as_bytes(), payload.as_bytes()).unwrap()
    };
    t.token("header-jwk-attacker-key", embed("jwk", a.jwk(), a.kid()));
    t.token(
        "header-jwk-attacker-key-real-kid",
        embed("jwk", a.jwk(), KID),
    );
    t.token(
        "header-jku-attacker-url",
        embed("jku", json!("https://attacker.example/jwks.json"), a.kid()),
    );
    t.token(
        "header-jku-loopback-url",
        embed("jku", json!("http://127.0.0.1:1/jwks.json"), KID),
    );
    t.token(
        "header-x5u-attacker-url",
        embed("x5u", json!("https://attacker.example/cert.pem"), a.kid()),
    );
    t.token(
        "header-x5c-attacker-chain",
        embed("x5c", json!([STANDARD.encode(&p.spki_der)]), a.kid()),
    );
    t.token("header-crit-exp", embed("crit", json!(["exp"]), KID));
    let h = json!({"alg": "RS256", "kid": KID, "b64": false, "crit": ["b64"]}).to_string();
    t.token(
        "header-crit-b64-false-unencoded-payload",
        format!(
            "{}.{payload}.{}",
            b64(&h),
            b64(a
                .sign_bytes(format!("{}.{payload}", b64(&h)).as_bytes())
                .unwrap())
        ),
    );
    // The same fields on tokens the real key signed are refused too.
    t.token(
        "header-jku-real-signature",
        real(
            &header_with("jku", json!("https://attacker.example/k")),
            &claims,
        ),
    );
    t.token(
        "header-crit-real-signature",
        real(&header_with("crit", json!(["exp"])), &claims),
    );

    // --- kid: unknown, hostile, or the wrong type (signed by the real key) -------------
    for (name, kid) in [
        ("kid-path-traversal", json!("../../etc/passwd")),
        (
            "kid-path-traversal-dev-null",
            json!("../../../../../../dev/null"),
        ),
        ("kid-absolute-path", json!("/etc/passwd")),
        ("kid-url", json!("https://attacker.example/key")),
        ("kid-sql-injection", json!("' OR '1'='1")),
        ("kid-sql-injection-comment", json!("golden-key' --")),
        ("kid-sql-union", json!("x' UNION SELECT 'secret' --")),
        ("kid-command-substitution", json!("$(touch /tmp/pwned)")),
        ("kid-backticks", json!("`id`")),
        ("kid-shell-chain", json!("golden-key; rm -rf /")),
        ("kid-pipe", json!("golden-key | cat /etc/passwd")),
        ("kid-nul-byte-suffix", json!("golden-key\u{0}")),
        ("kid-nul-byte-prefix", json!("\u{0}golden-key")),
        ("kid-crlf", json!("golden-key\r\nX-Injected: 1")),
        ("kid-uppercase", json!("GOLDEN-KEY")),
        ("kid-trailing-space", json!("golden-key ")),
        ("kid-homoglyph", json!("g\u{043e}lden-key")),
        ("kid-empty", json!("")),
        ("kid-257-bytes", json!("k".repeat(257))),
        ("kid-256-bytes-unknown", json!("k".repeat(256))),
        ("kid-number", json!(1)),
        ("kid-null", Value::Null),
        ("kid-array", json!([KID])),
        ("kid-object", json!({"kid": KID})),
        ("kid-bool", json!(true)),
    ] {
        t.token(name, real(&header_with("kid", kid), &claims));
    }
    t.token(
        "kid-10k-bytes",
        real(&header_with("kid", json!("k".repeat(10_000))), &claims),
    );
    t.token("kid-missing", real(&json!({"alg": "RS256"}), &claims));
    t.token(
        "kid-duplicated",
        real_raw(
            &format!(r#"{{"alg":"RS256","kid":"unknown","kid":"{KID}"}}"#),
            &payload,
        ),
    );

    // --- header shape ------------------------------------------------------------------
    t.token(
        "header-typ-jwe",
        real(&header_with("typ", json!("JWE")), &claims),
    );
    t.token(
        "header-typ-number",
        real(&header_with("typ", json!(1)), &claims),
    );
    t.token("header-not-json", real_raw("not json at all", &payload));
    t.token(
        // Not a JSON object, though serde's derive would map it to fields by position.
        "header-positional-json-array",
        real_raw(&format!(r#"["RS256","{KID}"]"#), &payload),
    );
    t.token("header-json-string", real_raw(r#""RS256""#, &payload));
    t.token("header-empty-object", real_raw("{}", &payload));
    t.token(
        "header-trailing-garbage",
        real_raw(
            &format!(r#"{{"alg":"RS256","kid":"{KID}"}}garbage"#),
            &payload,
        ),
    );
    t.token(
        "header-huge",
        real(&header_with("x-pad", json!("h".repeat(2048))), &claims),
    );
    // Nested deeper than serde_json's recursion limit, in a field the header reads.
    t.token(
        "header-deeply-nested-typ",
        real_raw(
            &format!(r#"{{"alg":"RS256","kid":"{KID}","typ":{}}}"#, nested(400)),
            &payload,
        ),
    );
    t.token(
        "header-invalid-utf8",
        format!("{}.{vp}.{vs}", b64([b'{', 0xff, 0xfe, b'}'])),
    );

    // --- issuer -----------------------------------------------------------------------
    let iss = common::ISSUER;
    for (name, value) in [
        (
            "iss-foreign-pool",
            json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"),
        ),
        ("iss-trailing-slash", json!(format!("{iss}/"))),
        (
            "iss-uppercase-host",
            json!(iss.replace("cognito-idp.us-east-1", "COGNITO-IDP.US-EAST-1")),
        ),
        (
            "iss-lowercase-pool-id",
            json!(iss.replace("GoldenPool", "goldenpool")),
        ),
        ("iss-http-scheme", json!(iss.replace("https://", "http://"))),
        (
            "iss-wrong-region",
            json!(iss.replace("cognito-idp.us-east-1", "cognito-idp.eu-west-1")),
        ),
        (
            "iss-other-region-pool-prefix",
            json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_GoldenPool"),
        ),
        (
            "iss-homoglyph",
            json!(iss.replace("cognito", "c\u{043e}gnito")),
        ),
        (
            "iss-fullwidth-slash",
            json!(iss.replace(".com/", ".com\u{ff0f}")),
        ),
        (
            "iss-attacker-suffix",
            json!(format!("{iss}.attacker.example")),
        ),
        (
            "iss-userinfo-prefix",
            json!(iss.replace("https://", "https://attacker@")),
        ),
        ("iss-query", json!(format!("{iss}?x=1"))),
        ("iss-fragment", json!(format!("{iss}#x"))),
        ("iss-leading-space", json!(format!(" {iss}"))),
        ("iss-nul-suffix", json!(format!("{iss}\u{0}"))),
        ("iss-pool-id-only", json!(common::POOL)),
        ("iss-empty", json!("")),
        ("iss-null", Value::Null),
        ("iss-number", json!(1)),
        ("iss-array", json!([iss])),
    ] {
        t.token(name, real(&header(), &with("iss", value)));
    }
    t.token("iss-missing", real(&header(), &without("iss")));
    t.token(
        "iss-duplicated",
        real_raw(
            &header().to_string(),
            &with_duplicate(r#""iss":"https://attacker.example""#),
        ),
    );

    // --- app client -------------------------------------------------------------------
    t.token(
        "client_id-other-app-client",
        real(&header(), &with("client_id", json!("otherclient"))),
    );
    t.token(
        "client_id-uppercase",
        real(&header(), &with("client_id", json!("GOLDENCLIENT"))),
    );
    t.token("client_id-missing", real(&header(), &without("client_id")));
    t.token(
        "client_id-empty",
        real(&header(), &with("client_id", json!(""))),
    );
    t.token(
        "client_id-number",
        real(&header(), &with("client_id", json!(1))),
    );
    t.token(
        "client_id-array",
        real(&header(), &with("client_id", json!([common::CLIENT]))),
    );
    t.token(
        "client_id-null",
        real(&header(), &with("client_id", Value::Null)),
    );
    let mut aud_only = without("client_id");
    aud_only["aud"] = json!(common::CLIENT);
    t.token(
        "access-token-with-aud-instead-of-client_id",
        real(&header(), &aud_only),
    );

    // --- token_use ----------------------------------------------------------------------
    t.token(
        "id-token-presented-as-access",
        real(&header(), &id_claims("attacker-1", &["users"])),
    );
    t.token_id("access-token-presented-as-id", real(&header(), &base()));
    let mut access_with_aud = base();
    access_with_aud["aud"] = json!(common::CLIENT);
    t.token_id(
        "access-token-with-aud-presented-as-id",
        real(&header(), &access_with_aud),
    );
    let mut id_without_aud = id_claims("attacker-1", &["users"]);
    id_without_aud.as_object_mut().unwrap().remove("aud");
    id_without_aud["client_id"] = json!(common::CLIENT);
    t.token_id("id-token-without-aud", real(&header(), &id_without_aud));
    let mut id_other_aud = id_claims("attacker-1", &["users"]);
    id_other_aud["aud"] = json!("otherclient");
    t.token_id("id-token-other-aud", real(&header(), &id_other_aud));
    let mut id_aud_array = id_claims("attacker-1", &["users"]);
    id_aud_array["aud"] = json!([common::CLIENT]);
    t.token_id("id-token-aud-array", real(&header(), &id_aud_array));
    t.token("token_use-missing", real(&header(), &without("token_use")));
    t.token(
        "token_use-refresh",
        real(&header(), &with("token_use", json!("refresh"))),
    );
    t.token(
        "token_use-number",
        real(&header(), &with("token_use", json!(1))),
    );
    t.token(
        "token_use-null",
        real(&header(), &with("token_use", Value::Null)),
    );
    t.token(
        "token_use-uppercase",
        real(&header(), &with("token_use", json!("ACCESS"))),
    );
    t.token(
        "token_use-trailing-space",
        real(&header(), &with("token_use", json!("access "))),
    );
    t.token(
        "token_use-array",
        real(&header(), &with("token_use", json!(["access"]))),
    );

    // Long non-ASCII values in claims whose text ends up in an error message: the message
    // is cut to a length, which must fall on a character boundary. Unsigned on purpose:
    // these checks run before the signature is verified.
    for (name, claim, value) in [
        (
            "token_use-multibyte-long-unsigned",
            "token_use",
            "\u{20ac}".repeat(20),
        ),
        (
            "token_use-emoji-long-unsigned",
            "token_use",
            "\u{1f600}".repeat(20),
        ),
        ("exp-emoji-string-unsigned", "exp", "\u{1f600}".repeat(60)),
        (
            "exp-euro-string-unsigned",
            "exp",
            format!("x{}", "\u{20ac}".repeat(60)),
        ),
        (
            "groups-emoji-string-unsigned",
            "cognito:groups",
            "\u{1f600}".repeat(60),
        ),
    ] {
        t.token(
            name,
            forged(
                &header().to_string(),
                &with(claim, json!(value)).to_string(),
                &[1u8; 256],
            ),
        );
    }

    // --- time ---------------------------------------------------------------------------
    t.token(
        "expired-an-hour-ago",
        real(&header(), &with("exp", json!(now - 3600))),
    );
    t.token(
        "expired-by-1s",
        real(&header(), &with("exp", json!(now - 1))),
    );
    t.token("exp-equals-now", real(&header(), &with("exp", json!(now))));
    t.token("exp-zero", real(&header(), &with("exp", json!(0))));
    t.token("exp-negative", real(&header(), &with("exp", json!(-1))));
    t.token(
        "exp-i64-min",
        real(&header(), &with("exp", json!(i64::MIN))),
    );
    t.token("exp-missing", real(&header(), &without("exp")));
    t.token(
        "exp-string",
        real(&header(), &with("exp", json!((now + 3600).to_string()))),
    );
    t.token(
        "exp-float",
        real(&header(), &with("exp", json!(now as f64 + 3600.5))),
    );
    t.token(
        "exp-float-integral",
        real(&header(), &with("exp", json!(now as f64 + 3600.0))),
    );
    t.token("exp-bool", real(&header(), &with("exp", json!(true))));
    t.token("exp-null", real(&header(), &with("exp", Value::Null)));
    t.token(
        "exp-array",
        real(&header(), &with("exp", json!([now + 3600]))),
    );
    t.token(
        "exp-huge-beyond-u64",
        real_raw(
            &header().to_string(),
            &claims_text("exp", "184467440737095516160000"),
        ),
    );
    t.token(
        "exp-huge-exponent",
        real_raw(&header().to_string(), &claims_text("exp", "1e300")),
    );
    t.token(
        "exp-u64-max",
        real(&header(), &with("exp", json!(u64::MAX))),
    );
    t.token(
        "exp-duplicated-expired-first",
        real_raw(
            &header().to_string(),
            &with_duplicate(&format!(r#""exp":{}"#, now - 10)),
        ),
    );
    t.token(
        "nbf-in-future",
        real(&header(), &with("nbf", json!(now + 600))),
    );
    t.token(
        "nbf-string",
        real(&header(), &with("nbf", json!(now.to_string()))),
    );
    t.token(
        "iat-in-future",
        real(&header(), &with("iat", json!(now + 600))),
    );
    t.token(
        "iat-string",
        real(&header(), &with("iat", json!((now - 60).to_string()))),
    );
    t.token("iat-missing", real(&header(), &without("iat")));
    t.token(
        "iat-float",
        real(&header(), &with("iat", json!(now as f64 - 0.5))),
    );
    t.token(
        "auth_time-string",
        real(&header(), &with("auth_time", json!("yesterday"))),
    );

    // --- sub, groups and other typed claims -----------------------------------------------
    t.token("sub-missing", real(&header(), &without("sub")));
    t.token("sub-empty", real(&header(), &with("sub", json!(""))));
    t.token("sub-number", real(&header(), &with("sub", json!(42))));
    t.token("sub-null", real(&header(), &with("sub", Value::Null)));
    t.token(
        "sub-array",
        real(&header(), &with("sub", json!(["a", "b"]))),
    );
    t.token(
        "groups-string-not-array",
        real(&header(), &with("cognito:groups", json!("users"))),
    );
    t.token(
        "groups-array-of-numbers",
        real(&header(), &with("cognito:groups", json!([1, 2]))),
    );
    t.token(
        "groups-nested-array",
        real(&header(), &with("cognito:groups", json!([["users"]]))),
    );
    t.token(
        "groups-object",
        real(&header(), &with("cognito:groups", json!({"users": true}))),
    );
    t.token(
        "groups-mixed-types",
        real(&header(), &with("cognito:groups", json!(["users", null]))),
    );
    t.token(
        "username-number",
        real(&header(), &with("username", json!(7))),
    );
    t.token(
        "scope-array",
        real(&header(), &with("scope", json!(["openid"]))),
    );
    t.token("jti-number", real(&header(), &with("jti", json!(1))));
    t.token(
        "email-object",
        real(&header(), &with("email", json!({"a": 1}))),
    );

    // --- payload shape ---------------------------------------------------------------------
    t.token(
        "duplicate-claim-sub",
        real_raw(
            &header().to_string(),
            &with_duplicate(r#""sub":"victim-admin""#),
        ),
    );
    t.token(
        "duplicate-claim-groups",
        real_raw(
            &header().to_string(),
            &with_duplicate(r#""cognito:groups":["admin"]"#),
        ),
    );
    t.token(
        "duplicate-claim-token_use",
        real_raw(
            &header().to_string(),
            &with_duplicate(r#""token_use":"id""#),
        ),
    );
    t.token(
        "payload-not-json",
        real_raw(&header().to_string(), "this is not json"),
    );
    t.token(
        "payload-json-array",
        real_raw(&header().to_string(), &format!("[{payload}]")),
    );
    let positional = json!([
        "attacker-1",
        common::ISSUER,
        "access",
        now + 3600,
        now - 60,
        null,
        null,
        common::CLIENT,
        null,
        "openid",
        "attacker-1-name",
        null,
        ["users"]
    ]);
    t.token(
        "payload-positional-json-array",
        real_raw(&header().to_string(), &positional.to_string()),
    );
    t.token(
        "payload-json-string",
        real_raw(&header().to_string(), r#""sub""#),
    );
    t.token("payload-json-null", real_raw(&header().to_string(), "null"));
    t.token(
        "payload-empty-object",
        real_raw(&header().to_string(), "{}"),
    );
    t.token("payload-empty", format!("{vh}..{vs}"));
    t.token(
        "payload-trailing-garbage",
        real_raw(&header().to_string(), &format!("{payload}{{}}")),
    );
    t.token(
        "payload-utf8-bom",
        real_raw(&header().to_string(), &format!("\u{feff}{payload}")),
    );
    t.token(
        "payload-invalid-utf8",
        format!(
            "{vh}.{}.{vs}",
            b64([&payload.as_bytes()[..20], &[0xff, 0xfe][..]].concat())
        ),
    );
    t.token(
        "payload-deeply-nested-sub",
        real_raw(&header().to_string(), &claims_text("sub", &nested(5000))),
    );
    // An unknown claim is skipped without recursion, however deep: no stack overflow,
    // and the signature (an impostor's) still decides.
    t.token(
        "payload-deeply-nested-unknown-claim-impostor-key",
        impostor_raw(
            &header().to_string(),
            &with_duplicate(&format!(r#""x":{}"#, nested(5000))),
        ),
    );
    t.token(
        "payload-deeply-nested-groups",
        real_raw(
            &header().to_string(),
            &base().to_string().replace(r#"["users"]"#, &nested(3000)),
        ),
    );

    // --- encoding and structure ----------------------------------------------------------
    t.token(
        "non-base64url-characters",
        format!("{vh}.{}!.{vs}", &vp[..vp.len() - 1]),
    );
    t.token("padding-on-header", format!("{vh}=.{vp}.{vs}"));
    t.token("padding-on-signature", format!("{vh}.{vp}.{vs}=="));
    t.token(
        "padded-base64url-everywhere",
        format!(
            "{}.{}.{}",
            URL_SAFE.encode(header().to_string()),
            URL_SAFE.encode(&payload),
            URL_SAFE.encode(signature_bytes(&valid))
        ),
    );
    let std_sig = STANDARD.encode(signature_bytes(&valid));
    t.token("standard-base64-signature", format!("{vh}.{vp}.{std_sig}"));
    let std_sig_no_pad = std_sig.trim_end_matches('=').to_string();
    t.token(
        "standard-base64-no-pad-signature",
        format!("{vh}.{vp}.{std_sig_no_pad}"),
    );
    t.token(
        "standard-base64-payload-plus-slash",
        format!(
            "{vh}.{}.{vs}",
            vp.replace('-', "+").replace('_', "/") + "+/"
        ),
    );
    t.token("four-segments", format!("{valid}.{vs}"));
    t.token("four-segments-trailing-dot", format!("{valid}."));
    t.token(
        "jwe-five-segments",
        format!(
            "{}.{}.{}.{}.{}",
            b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM","kid":"golden-key"}"#),
            b64([1u8; 256]),
            b64([2u8; 12]),
            vp,
            b64([3u8; 16])
        ),
    );
    t.token("two-segments", format!("{vh}.{vp}"));
    t.token("one-segment", vh.clone());
    t.token("leading-dot", format!(".{valid}"));
    t.token("header-empty-segment", format!(".{vp}.{vs}"));
    t.token("only-dots-2", "..");
    t.token("only-dots-3", "...");
    t.token(
        "space-inside",
        format!("{vh}.{} {}.{vs}", &vp[..10], &vp[10..]),
    );
    t.token("tab-inside", format!("{vh}.{vp}\t.{vs}"));
    t.token("newline-inside", format!("{vh}.{vp}\n.{vs}"));
    t.token("nul-inside", format!("{vh}.{vp}\u{0}.{vs}"));
    t.token("non-ascii-inside", format!("{vh}.{vp}\u{e9}.{vs}"));
    t.token("two-tokens-space-separated", format!("{valid} {valid}"));
    t.token("two-tokens-comma-separated", format!("{valid},{valid}"));
    t.token("valid-token-then-garbage", format!("{valid} x"));
    t.token(
        "oversized-token-over-16KiB",
        real(&header(), &with("pad", json!("p".repeat(13_000)))),
    );
    t.token("oversized-token-64KiB-garbage", "a".repeat(64 << 10));
    t.token(
        "token-fresh-unknown-key-right-kid",
        impostor().sign_json(&claims).unwrap(),
    );
    t.token(
        "token-fresh-unknown-key-own-kid",
        attacker().sign_json(&claims).unwrap(),
    );
    t.token(
        "token-fresh-unknown-key-admin-claims",
        impostor()
            .sign_json(&common::claims("attacker-1", &["admin"]))
            .unwrap(),
    );

    // --- the Authorization value itself ---------------------------------------------------
    t.auth("empty-authorization", "");
    t.auth("whitespace-authorization", "   ");
    t.auth("bearer-without-token", "Bearer");
    t.auth("bearer-space-without-token", "Bearer ");
    t.auth("bearer-without-space", format!("Bearer{valid}"));
    t.auth("bearer-tab-separator", format!("Bearer\t{valid}"));
    t.auth("bearer-twice", format!("Bearer Bearer {valid}"));
    t.auth(
        "basic-scheme-credentials",
        format!("Basic {}", STANDARD.encode("alice:secret")),
    );
    t.auth("basic-scheme-with-jwt", format!("Basic {valid}"));
    t.auth("token-scheme-with-jwt", format!("Token {valid}"));
    t.auth("dpop-scheme-with-jwt", format!("DPoP {valid}"));
    t.auth(
        "bare-alg-none-jwt",
        forged(&json!({"alg":"none","kid":KID}).to_string(), &payload, b""),
    );
    t.auth("bare-jwt-with-prefix-garbage", format!("x{valid}"));

    t.0
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn baseline_tokens_are_allowed_through_the_same_harness() {
    let token = common::token("attacker-1", &["users"]);
    for kind in Kind::ALL {
        let out = run(
            authorizer(Cfg::Access),
            &kind.event(&format!("Bearer {token}")),
        );
        assert!(
            matches!(out, Ok(Outcome::Respond { allowed: true, .. })),
            "baseline access token, {}: {}",
            kind.name(),
            describe(&out)
        );
        let id = real(&header(), &id_claims("attacker-1", &["users"]));
        let out = run(authorizer(Cfg::Id), &kind.event(&format!("Bearer {id}")));
        assert!(
            matches!(out, Ok(Outcome::Respond { allowed: true, .. })),
            "baseline id token, {}: {}",
            kind.name(),
            describe(&out)
        );
        // A user outside `users` is denied by policy (403), which proves the vectors'
        // claims are what make them allowed, not the harness.
        let nobody = common::token("nobody-1", &[]);
        let out = run(
            authorizer(Cfg::Access),
            &kind.event(&format!("Bearer {nobody}")),
        );
        assert!(
            matches!(&out, Ok(Outcome::Respond { allowed: false, explain, .. }) if explain.stage == "policy"),
            "user without groups, {}: {}",
            kind.name(),
            describe(&out)
        );
    }
}

#[test]
fn there_are_at_least_60_distinct_named_vectors() {
    let v = vectors();
    let mut names: Vec<&str> = v.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "vector names must be unique");
    assert!(v.len() >= 60, "only {} vectors", v.len());
    eprintln!("{} attack vectors", v.len());
}

#[test]
fn every_attack_vector_is_unauthorized_in_every_event_kind() {
    // `ATTACKS_EXPLAIN=1 cargo test --test attacks -- --nocapture` prints why each was refused.
    let explain = std::env::var_os("ATTACKS_EXPLAIN").is_some();
    let mut failures = Vec::new();
    let mut runs = 0;
    for v in vectors() {
        for kind in Kind::ALL {
            runs += 1;
            let out = run(authorizer(v.cfg), &kind.event(&v.auth));
            if explain {
                eprintln!("{:50} {:10} {}", v.name, kind.name(), describe(&out));
            }
            if !matches!(out, Ok(Outcome::Unauthorized { .. })) {
                failures.push(format!("{} [{}]: {}", v.name, kind.name(), describe(&out)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs were not 401:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn every_rejection_is_a_401_at_the_token_or_identity_stage() {
    let mut failures = Vec::new();
    for v in vectors() {
        for kind in Kind::ALL {
            let out = run(authorizer(v.cfg), &kind.event(&v.auth));
            let stage = match &out {
                Ok(o) => o.explain().stage,
                Err(_) => "panic",
            };
            let is_401 = matches!(out, Ok(Outcome::Unauthorized { .. }));
            if !is_401 || !matches!(stage, "token" | "identity") {
                failures.push(format!("{} [{}]: {}", v.name, kind.name(), describe(&out)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} rejections were not 401 at the token/identity stage:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// 200 distinct random kids, all signed by the real key and sent concurrently: each is
/// refused, the JWKS endpoint is asked exactly `fetches` times (single flight, then the
/// cool-down), and the known key keeps working afterwards.
fn random_kid_flood(jwks_url: &str, fetches: u64) {
    let a = Arc::new(common::embedded_authorizer(&[
        ("JWKS_URL", jwks_url),
        ("JWKS_REFETCH_COOLDOWN_SECONDS", "3600"),
        ("JWKS_FETCH_TIMEOUT_MS", "2000"),
    ]));
    let rng = SystemRandom::new();
    let events: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| {
            let mut bytes = [0u8; 16];
            aws_lc_rs::rand::SecureRandom::fill(&rng, &mut bytes).unwrap();
            let kid = format!("{i}-{}", b64(bytes));
            let token = real(&header_with("kid", json!(kid)), &base());
            let kind = if i % 2 == 0 {
                Kind::RestToken
            } else {
                Kind::HttpV2
            };
            (kid, kind.event(&format!("Bearer {token}")))
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcomes = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (kid, ev) in events {
            let a = a.clone();
            set.spawn(async move { (kid, a.handle(&ev).await) });
        }
        let mut out = Vec::new();
        while let Some(joined) = set.join_next().await {
            out.push(joined.map_err(|e| e.to_string()));
        }
        out
    });
    assert_eq!(outcomes.len(), 200);
    let mut failures = Vec::new();
    for o in &outcomes {
        match o {
            Ok((_, Outcome::Unauthorized { explain })) if explain.stage == "token" => {}
            Ok((kid, other)) => {
                failures.push(format!("kid {kid}: {}", describe(&Ok(other.clone()))))
            }
            Err(e) => failures.push(format!("task failed (panic?): {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        a.verifier().fetch_count(0),
        fetches,
        "JWKS fetches for 200 unknown kids"
    );

    let valid = common::token("attacker-1", &["users"]);
    let out = rt.block_on(a.handle(&Kind::RestToken.event(&format!("Bearer {valid}"))));
    assert!(
        matches!(out, Outcome::Respond { allowed: true, .. }),
        "known key after the flood: {}",
        describe(&Ok(out))
    );
}

#[test]
fn random_kid_flood_with_jwks_url_on_a_closed_loopback_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    random_kid_flood(&format!("http://127.0.0.1:{port}/.well-known/jwks.json"), 1);
}

#[test]
fn random_kid_flood_with_fetching_off() {
    random_kid_flood("off", 0);
}

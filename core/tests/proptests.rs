//! Property tests of the verifier and the JWKS parser: no input makes them panic, and a
//! token signed by the real key is accepted exactly when its claims say it should be,
//! with the verified claims equal to the ones signed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use l42_core::jwks::{MAX_KEYS, parse_jwks};
use l42_core::{SigningKey, TokenUse, Verifier, VerifierConfig, unix_now};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const POOL: &str = "us-east-1_PropPool";
const CLIENT: &str = "propclient";
const KID: &str = "prop-key";

fn issuer() -> String {
    format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}")
}

fn regional_issuer() -> String {
    format!("https://issuer-cognito-idp.us-east-1.amazonaws.com/{POOL}")
}

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate(KID).unwrap())
}

/// Access tokens only, the key embedded, no network.
fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let config = VerifierConfig::builder(POOL, CLIENT)
            .token_use(TokenUse::Access)
            .jwks_json(&key().jwks_json())
            .jwks_url("off")
            .build()
            .unwrap();
        Verifier::new(config).unwrap()
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn valid_claims() -> Value {
    let now = unix_now();
    json!({
        "sub": "user-1", "iss": issuer(), "client_id": CLIENT, "token_use": "access",
        "username": "alice", "scope": "openid", "cognito:groups": ["users"],
        "iat": now - 10, "exp": now + 600, "jti": "j"
    })
}

fn valid_token() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| key().sign_json(&valid_claims()).unwrap())
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        "\\PC{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A claims object: the names l42 reads (with any JSON value, or a well-typed one) and
/// some other names.
fn claims_ish() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just("sub".to_string()),
        Just("iss".to_string()),
        Just("token_use".to_string()),
        Just("client_id".to_string()),
        Just("aud".to_string()),
        Just("exp".to_string()),
        Just("iat".to_string()),
        Just("nbf".to_string()),
        Just("auth_time".to_string()),
        Just("scope".to_string()),
        Just("username".to_string()),
        Just("cognito:username".to_string()),
        Just("cognito:groups".to_string()),
        Just("email".to_string()),
        Just("jti".to_string()),
        "\\PC{0,12}",
    ];
    let start = prop_oneof![Just(true), Just(false)];
    (start, prop::collection::vec((name, json_value()), 0..12)).prop_map(|(from_valid, fields)| {
        let mut m = if from_valid {
            valid_claims().as_object().unwrap().clone()
        } else {
            Map::new()
        };
        for (k, v) in fields {
            m.insert(k, v);
        }
        Value::Object(m)
    })
}

/// Well-typed claims with values that may or may not pass each check.
#[derive(Debug, Clone)]
struct Claims {
    sub: String,
    iss: String,
    token_use: String,
    client_id: Option<String>,
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
    auth_time: Option<i64>,
    username: Option<String>,
    scope: Option<String>,
    groups: Option<Vec<String>>,
    email: Option<String>,
    jti: Option<String>,
    extra: Vec<(String, Value)>,
}

/// An offset from now that is clearly in the past or clearly in the future (never within
/// a few seconds of now, where the clock could tick between signing and checking).
fn clear_offset() -> impl Strategy<Value = i64> {
    prop_oneof![-400_000_000i64..-30, 30i64..400_000_000]
}

fn claims() -> impl Strategy<Value = Claims> {
    let text = || "\\PC{0,16}";
    (
        (
            prop_oneof![Just("user-1".to_string()), Just(String::new()), text()],
            prop_oneof![
                3 => Just(issuer()),
                1 => Just(regional_issuer()),
                1 => text().prop_map(|s| format!("{}{s}", issuer())),
                1 => text(),
            ],
            prop_oneof![
                3 => Just("access".to_string()),
                1 => Just("id".to_string()),
                1 => text()
            ],
            prop_oneof![
                3 => Just(Some(CLIENT.to_string())),
                1 => Just(None),
                1 => text().prop_map(Some)
            ],
        ),
        (
            prop_oneof![3 => 30i64..100_000, 1 => clear_offset()],
            prop_oneof![3 => -100_000i64..-30, 1 => clear_offset()],
            prop::option::of(clear_offset()),
            prop::option::of(any::<i64>()),
        ),
        (
            prop::option::of(text()),
            prop::option::of("[ a-z/:.]{0,30}"),
            prop::option::of(prop::collection::vec(text(), 0..5)),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::collection::vec(("x-[a-z]{1,8}", json_value()), 0..3),
        ),
    )
        .prop_map(
            |(
                (sub, iss, token_use, client_id),
                (exp, iat, nbf, auth_time),
                (username, scope, groups, email, jti, extra),
            )| {
                let now = unix_now();
                Claims {
                    sub,
                    iss,
                    token_use,
                    client_id,
                    exp: now.saturating_add(exp),
                    iat: now.saturating_add(iat),
                    nbf: nbf.map(|n| now.saturating_add(n)),
                    auth_time,
                    username,
                    scope,
                    groups,
                    email,
                    jti,
                    extra,
                }
            },
        )
}

impl Claims {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("sub".into(), json!(self.sub));
        m.insert("iss".into(), json!(self.iss));
        m.insert("token_use".into(), json!(self.token_use));
        m.insert("exp".into(), json!(self.exp));
        m.insert("iat".into(), json!(self.iat));
        let mut opt = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        opt("client_id", self.client_id.as_ref().map(|v| json!(v)));
        opt("nbf", self.nbf.map(|v| json!(v)));
        opt("auth_time", self.auth_time.map(|v| json!(v)));
        opt("username", self.username.as_ref().map(|v| json!(v)));
        opt("scope", self.scope.as_ref().map(|v| json!(v)));
        opt("cognito:groups", self.groups.as_ref().map(|v| json!(v)));
        opt("email", self.email.as_ref().map(|v| json!(v)));
        opt("jti", self.jti.as_ref().map(|v| json!(v)));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }

    /// Whether an access-token verifier for `CLIENT` must accept these claims.
    fn acceptable(&self) -> bool {
        let now = unix_now();
        (self.iss == issuer() || self.iss == regional_issuer())
            && self.token_use == "access"
            && self.client_id.as_deref() == Some(CLIENT)
            && !self.sub.is_empty()
            && now < self.exp
            && self.nbf.is_none_or(|n| n <= now)
            && self.iat <= now
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn verify_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = verifier().verify_blocking(&s);
    }

    #[test]
    fn verify_never_panics_on_jwt_alphabet_strings(s in "[A-Za-z0-9_.=+/ -]{0,600}") {
        prop_assert!(verifier().verify_blocking(&s).is_err());
    }

    #[test]
    fn verify_rejects_three_arbitrary_base64url_segments(
        h in prop::collection::vec(any::<u8>(), 0..200),
        p in prop::collection::vec(any::<u8>(), 0..400),
        s in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let token = format!("{}.{}.{}", b64(&h), b64(&p), b64(&s));
        prop_assert!(verifier().verify_blocking(&token).is_err());
    }

    #[test]
    fn verify_rejects_a_real_header_with_arbitrary_payload_and_signature(
        p in prop::collection::vec(any::<u8>(), 0..400),
        s in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let h = json!({"alg": "RS256", "kid": KID}).to_string();
        let token = format!("{}.{}.{}", b64(h.as_bytes()), b64(&p), b64(&s));
        prop_assert!(verifier().verify_blocking(&token).is_err());
    }

    #[test]
    fn verify_rejects_any_single_character_change_to_a_valid_token(
        index in any::<prop::sample::Index>(),
        replacement in prop_oneof![
            prop::sample::select(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ".to_vec()
            ),
            any::<u8>(),
        ],
    ) {
        let valid = valid_token();
        prop_assume!(verifier().verify_blocking(valid).is_ok());
        let mut bytes = valid.as_bytes().to_vec();
        let i = index.index(bytes.len());
        prop_assume!(bytes[i] != replacement);
        bytes[i] = replacement;
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(verifier().verify_blocking(&mutated).is_err(), "{mutated}");
    }

    #[test]
    fn signed_typed_claims_are_accepted_exactly_when_valid_and_read_back_unchanged(
        c in claims()
    ) {
        let token = key().sign_json(&c.to_json()).unwrap();
        let expected = c.acceptable();
        match verifier().verify_blocking(&token) {
            Ok(v) => {
                prop_assert!(expected, "accepted but should not be: {c:?}");
                prop_assert_eq!(&v.sub, &c.sub);
                prop_assert_eq!(&v.issuer, &c.iss);
                prop_assert_eq!(v.token_use, TokenUse::Access);
                prop_assert_eq!(Some(v.client_id.as_str()), c.client_id.as_deref());
                prop_assert_eq!(&v.username, c.username.as_ref().unwrap_or(&c.sub));
                prop_assert_eq!(&v.groups, &c.groups.clone().unwrap_or_default());
                let scopes: Vec<String> = c
                    .scope
                    .as_deref()
                    .map(|s| s.split_ascii_whitespace().map(str::to_string).collect())
                    .unwrap_or_default();
                prop_assert_eq!(&v.scopes, &scopes);
                prop_assert_eq!(&v.email, &c.email);
                prop_assert_eq!(&v.jti, &c.jti);
                prop_assert_eq!(v.exp, c.exp);
                prop_assert_eq!(v.iat, c.iat);
                prop_assert_eq!(v.auth_time, c.auth_time.unwrap_or(c.iat));
                prop_assert_eq!(v.pool, 0);
            }
            Err(e) => prop_assert!(!expected, "rejected ({e}) but should be accepted: {c:?}"),
        }
    }

    #[test]
    fn signed_arbitrary_json_payloads_never_panic_and_accept_only_what_was_signed(
        payload in prop_oneof![claims_ish(), json_value()]
    ) {
        let text = payload.to_string();
        let token = key().sign_parts(
            json!({"alg": "RS256", "kid": KID}).to_string().as_bytes(),
            text.as_bytes(),
        ).unwrap();
        if let Ok(v) = verifier().verify_blocking(&token) {
            prop_assert_eq!(payload.get("sub"), Some(&json!(v.sub)));
            prop_assert_eq!(payload.get("iss"), Some(&json!(v.issuer)));
            prop_assert_eq!(payload.get("token_use"), Some(&json!("access")));
            prop_assert_eq!(payload.get("client_id"), Some(&json!(CLIENT)));
            prop_assert_eq!(payload.get("exp"), Some(&json!(v.exp)));
            prop_assert!(v.exp > unix_now() - 5);
        }
    }

    #[test]
    fn parse_jwks_never_panics_on_arbitrary_bytes(
        doc in prop::collection::vec(any::<u8>(), 0..2048)
    ) {
        let _ = parse_jwks(&doc);
    }

    #[test]
    fn parse_jwks_never_panics_on_arbitrary_json(doc in json_value()) {
        let _ = parse_jwks(doc.to_string().as_bytes());
    }

    #[test]
    fn parse_jwks_never_panics_on_jwks_shaped_documents(
        keys in prop::collection::vec(jwk_ish(), 0..40)
    ) {
        let doc = json!({"keys": keys}).to_string();
        if let Ok((set, _skipped)) = parse_jwks(doc.as_bytes()) {
            prop_assert!(!set.is_empty() && set.len() <= MAX_KEYS);
            for (kid, k) in &set {
                prop_assert_eq!(kid.as_str(), k.kid());
                prop_assert!(!kid.is_empty() && kid.len() <= 256);
            }
        }
    }
}

/// A JWK-like object: real and hostile `kty`, `alg`, `use`, `kid`, `n` and `e`.
fn jwk_ish() -> impl Strategy<Value = Value> {
    let real = key().jwk();
    let real_n = real["n"].as_str().unwrap().to_string();
    let n_bytes = URL_SAFE_NO_PAD.decode(&real_n).unwrap();
    let field = |v: BoxedStrategy<Value>| prop::option::of(v);
    let text = || "\\PC{0,12}".prop_map(Value::String).boxed();
    (
        field(
            prop_oneof![
                Just(json!("RSA")),
                Just(json!("EC")),
                Just(json!("oct")),
                text(),
                json_value()
            ]
            .boxed(),
        ),
        field(prop_oneof![Just(json!(KID)), Just(json!("")), text(), json_value()].boxed()),
        field(prop_oneof![Just(json!("RS256")), Just(json!("HS256")), text()].boxed()),
        field(prop_oneof![Just(json!("sig")), Just(json!("enc")), text()].boxed()),
        field(
            prop_oneof![
                Just(json!(real_n)),
                // The real modulus with leading zeros, truncated, or with a flipped byte.
                prop::collection::vec(Just(0u8), 0..4).prop_map({
                    let n = n_bytes.clone();
                    move |z| json!(b64(&[z, n.clone()].concat()))
                }),
                (0usize..n_bytes.len()).prop_map({
                    let n = n_bytes.clone();
                    move |cut| json!(b64(&n[..cut]))
                }),
                (0usize..n_bytes.len(), any::<u8>()).prop_map({
                    let n = n_bytes.clone();
                    move |(i, x)| {
                        let mut m = n.clone();
                        m[i] ^= x;
                        json!(b64(&m))
                    }
                }),
                prop::collection::vec(any::<u8>(), 0..1100).prop_map(|b| json!(b64(&b))),
                Just(json!("")),
                Just(json!("AAAA")),
                text(),
                json_value(),
            ]
            .boxed(),
        ),
        field(
            prop_oneof![
                Just(json!("AQAB")),
                Just(json!("AQ")),
                Just(json!("Aw")),
                Just(json!("")),
                Just(json!("AAAA")),
                prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| json!(b64(&b))),
                text(),
            ]
            .boxed(),
        ),
    )
        .prop_map(|(kty, kid, alg, use_, n, e)| {
            let mut m = Map::new();
            for (k, v) in [
                ("kty", kty),
                ("kid", kid),
                ("alg", alg),
                ("use", use_),
                ("n", n),
                ("e", e),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            Value::Object(m)
        })
}

/// Extreme but well-typed times: verified (or refused) and cached without overflow.
#[test]
fn extreme_times_never_panic() {
    for (exp, iat) in [
        (i64::MAX, 0),
        (i64::MAX, i64::MIN),
        (i64::MIN, i64::MIN),
        (unix_now() + 60, i64::MIN),
    ] {
        let mut c = valid_claims();
        c["exp"] = json!(exp);
        c["iat"] = json!(iat);
        c["nbf"] = json!(i64::MIN);
        c["auth_time"] = json!(i64::MAX);
        let token = key().sign_json(&c).unwrap();
        let first = verifier().verify_blocking(&token);
        assert_eq!(first.is_ok(), exp > unix_now(), "exp {exp}");
        // Twice: the second one is served from the claims cache when the first passed.
        assert_eq!(verifier().verify_blocking(&token), first);
    }
}

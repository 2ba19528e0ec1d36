//! `POST /auth/validate-credential` with attestation objects built here (CBOR-encoded in
//! the test), well-formed and broken.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ciborium::Value as Cbor;
use common::*;
use l42_token_handler::webauthn::{
    self, FLAG_AT, FLAG_BE, FLAG_BS, FLAG_ED, FLAG_UP, FLAG_UV, parse_attestation_object,
    parse_authenticator_data,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const PATH: &str = "/auth/validate-credential";
/// An AAGUID (YubiKey 5 series) in its two spellings.
const YUBIKEY: [u8; 16] = [
    0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8,
];
const YUBIKEY_TEXT: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
const OTHER_AAGUID: [u8; 16] = [0xad; 16];

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

fn int(n: i64) -> Cbor {
    Cbor::Integer(n.into())
}

/// An ES256 COSE_Key.
fn cose_key() -> Vec<u8> {
    cbor(&Cbor::Map(vec![
        (int(1), int(2)),
        (int(3), int(-7)),
        (int(-1), int(1)),
        (int(-2), Cbor::Bytes(vec![7; 32])),
        (int(-3), Cbor::Bytes(vec![9; 32])),
    ]))
}

struct AuthData {
    flags: u8,
    aaguid: [u8; 16],
    credential_id: Vec<u8>,
    key: Vec<u8>,
    extensions: Option<Vec<u8>>,
}

impl Default for AuthData {
    fn default() -> Self {
        Self {
            flags: FLAG_UP | FLAG_UV | FLAG_AT,
            aaguid: YUBIKEY,
            credential_id: vec![0x42; 16],
            key: cose_key(),
            extensions: None,
        }
    }
}

impl AuthData {
    fn bytes(&self) -> Vec<u8> {
        let mut out = vec![0x11; 32]; // rpIdHash
        out.push(self.flags);
        out.extend_from_slice(&7u32.to_be_bytes());
        if self.flags & FLAG_AT != 0 {
            out.extend_from_slice(&self.aaguid);
            out.extend_from_slice(
                &u16::try_from(self.credential_id.len())
                    .unwrap()
                    .to_be_bytes(),
            );
            out.extend_from_slice(&self.credential_id);
            out.extend_from_slice(&self.key);
        }
        if let Some(ext) = &self.extensions {
            out.extend_from_slice(ext);
        }
        out
    }
}

fn attestation_with(auth_data: Vec<u8>) -> Vec<u8> {
    cbor(&Cbor::Map(vec![
        (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
        (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
        (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
    ]))
}

fn attestation(auth: &AuthData) -> Vec<u8> {
    attestation_with(auth.bytes())
}

fn client_data(kind: &str, origin: &str) -> Vec<u8> {
    json!({"type": kind, "challenge": "Y2hhbGxlbmdl", "origin": origin, "crossOrigin": false})
        .to_string()
        .into_bytes()
}

fn body(attestation: &[u8], client_data: &[u8]) -> Value {
    json!({
        "attestation_object": URL_SAFE_NO_PAD.encode(attestation),
        "client_data_json": URL_SAFE_NO_PAD.encode(client_data),
    })
}

fn good_body() -> Value {
    body(
        &attestation(&AuthData::default()),
        &client_data("webauthn.create", FRONTEND),
    )
}

async fn validate_with(vars: &[(&str, &str)], body: &Value) -> Answer {
    let mut all = base_vars();
    all.extend_from_slice(vars);
    let app = app_with(config_from(&all).unwrap(), Some(user("alice", &["users"])));
    post(&app, PATH, body).await
}

async fn validate(body: &Value) -> Answer {
    validate_with(&[], body).await
}

#[tokio::test]
async fn a_good_registration_is_allowed() {
    let a = validate(&good_body()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"allowed": true, "device": {
            "aaguid": YUBIKEY_TEXT,
            "backup_eligible": false,
            "backup_state": false,
            "user_verified": true,
        }})
    );
    // Synced passkey flags are reported.
    let synced = AuthData {
        flags: FLAG_UP | FLAG_AT | FLAG_BE | FLAG_BS,
        ..AuthData::default()
    };
    let a = validate(&body(
        &attestation(&synced),
        &client_data("webauthn.create", OTHER_ORIGIN),
    ))
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["device"]["backup_eligible"], true);
    assert_eq!(a.body["device"]["backup_state"], true);
    assert_eq!(a.body["device"]["user_verified"], false);
}

#[tokio::test]
async fn every_base64_spelling_is_accepted() {
    let att = attestation(&AuthData::default());
    let cd = client_data("webauthn.create", FRONTEND);
    for (a, c) in [
        (STANDARD.encode(&att), STANDARD.encode(&cd)),
        (URL_SAFE_NO_PAD.encode(&att), STANDARD.encode(&cd)),
        (
            STANDARD.encode(&att).trim_end_matches('=').to_owned(),
            base64::engine::general_purpose::URL_SAFE.encode(&cd),
        ),
    ] {
        let r = validate(&json!({"attestation_object": a, "client_data_json": c})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

#[tokio::test]
async fn extensions_after_the_key_are_read() {
    let with_ext = AuthData {
        flags: FLAG_UP | FLAG_AT | FLAG_ED,
        extensions: Some(cbor(&Cbor::Map(vec![(
            Cbor::Text("credProtect".into()),
            int(2),
        )]))),
        ..AuthData::default()
    };
    let a = validate(&body(
        &attestation(&with_ext),
        &client_data("webauthn.create", FRONTEND),
    ))
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn policy_refusals_are_403() {
    let att = attestation(&AuthData::default());
    // An origin that is not allowed.
    for origin in ["https://evil.example.com", "http://localhost:3001", "null"] {
        let a = validate(&body(&att, &client_data("webauthn.create", origin))).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(
            a.body,
            json!({"allowed": false, "reason": "origin not allowed"})
        );
    }
    // The user was not present.
    let absent = AuthData {
        flags: FLAG_AT,
        ..AuthData::default()
    };
    let a = validate(&body(
        &attestation(&absent),
        &client_data("webauthn.create", FRONTEND),
    ))
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["allowed"], false);
}

#[tokio::test]
async fn the_aaguid_allowlist() {
    let listed = [(
        "AAGUID_ALLOWLIST",
        "CB69481E-8FF7-4039-93EC-0A2729A154A8, 00000000-0000-0000-0000-000000000001",
    )];
    let a = validate_with(&listed, &good_body()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    let other = AuthData {
        aaguid: OTHER_AAGUID,
        ..AuthData::default()
    };
    let b = body(
        &attestation(&other),
        &client_data("webauthn.create", FRONTEND),
    );
    let a = validate_with(&listed, &b).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["allowed"], false);
    let reason = a.body["reason"].as_str().unwrap();
    assert!(
        reason.contains("adadadad-adad-adad-adad-adadadadadad"),
        "{reason}"
    );
    assert_eq!(a.body.as_object().unwrap().len(), 2);
    // An empty list allows every authenticator.
    let a = validate_with(&[("AAGUID_ALLOWLIST", "")], &b).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn require_device_bound_refuses_backup_eligible_credentials() {
    let bound = [("REQUIRE_DEVICE_BOUND", "true")];
    assert_eq!(
        validate_with(&bound, &good_body()).await.status,
        StatusCode::OK
    );
    for flags in [
        FLAG_UP | FLAG_AT | FLAG_BE,
        FLAG_UP | FLAG_AT | FLAG_BE | FLAG_BS,
    ] {
        let synced = AuthData {
            flags,
            ..AuthData::default()
        };
        let b = body(
            &attestation(&synced),
            &client_data("webauthn.create", FRONTEND),
        );
        let a = validate_with(&bound, &b).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{flags:#x}");
        assert_eq!(a.body["allowed"], false);
        assert!(a.body["reason"].as_str().unwrap().contains("device-bound"));
        // Without the requirement it passes.
        assert_eq!(validate(&b).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn unreadable_credentials_are_400_json() {
    let good_cd = client_data("webauthn.create", FRONTEND);
    let good_att = attestation(&AuthData::default());
    let key_without_alg = cbor(&Cbor::Map(vec![(int(1), int(2))]));
    let mut trailing = AuthData::default().bytes();
    trailing.push(0);
    let mut with_trailing_cbor = good_att.clone();
    with_trailing_cbor.push(0);
    let cases: Vec<(&str, Value)> = vec![
        (
            "attestation not base64",
            json!({"attestation_object": "***", "client_data_json": URL_SAFE_NO_PAD.encode(&good_cd)}),
        ),
        (
            "client data not base64",
            json!({"attestation_object": URL_SAFE_NO_PAD.encode(&good_att), "client_data_json": "%%"}),
        ),
        ("client data not JSON", body(&good_att, b"not json")),
        (
            "client data without origin",
            body(&good_att, br#"{"type":"webauthn.create"}"#),
        ),
        (
            "a login, not a registration",
            body(&good_att, &client_data("webauthn.get", FRONTEND)),
        ),
        ("not CBOR", body(&[0xff, 0x00], &good_cd)),
        ("empty", body(&[], &good_cd)),
        (
            "CBOR but not a map",
            body(&cbor(&Cbor::Array(vec![])), &good_cd),
        ),
        (
            "trailing bytes after the map",
            body(&with_trailing_cbor, &good_cd),
        ),
        (
            "no fmt",
            body(
                &cbor(&Cbor::Map(vec![
                    (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
                    (
                        Cbor::Text("authData".into()),
                        Cbor::Bytes(AuthData::default().bytes()),
                    ),
                ])),
                &good_cd,
            ),
        ),
        (
            "authData not bytes",
            body(
                &cbor(&Cbor::Map(vec![
                    (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
                    (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
                    (Cbor::Text("authData".into()), Cbor::Text("x".into())),
                ])),
                &good_cd,
            ),
        ),
        (
            "no attested credential",
            body(
                &attestation(&AuthData {
                    flags: FLAG_UP,
                    ..AuthData::default()
                }),
                &good_cd,
            ),
        ),
        (
            "credential id length 0",
            body(
                &attestation(&AuthData {
                    credential_id: vec![],
                    ..AuthData::default()
                }),
                &good_cd,
            ),
        ),
        (
            "key is not a map",
            body(
                &attestation(&AuthData {
                    key: cbor(&int(5)),
                    ..AuthData::default()
                }),
                &good_cd,
            ),
        ),
        (
            "key without alg",
            body(
                &attestation(&AuthData {
                    key: key_without_alg,
                    ..AuthData::default()
                }),
                &good_cd,
            ),
        ),
        (
            "trailing bytes in authData",
            body(&attestation_with(trailing), &good_cd),
        ),
        (
            "BS without BE",
            body(
                &attestation(&AuthData {
                    flags: FLAG_UP | FLAG_AT | FLAG_BS,
                    ..AuthData::default()
                }),
                &good_cd,
            ),
        ),
        (
            "ED without extensions",
            body(
                &attestation(&AuthData {
                    flags: FLAG_UP | FLAG_AT | FLAG_ED,
                    ..AuthData::default()
                }),
                &good_cd,
            ),
        ),
    ];
    for (what, b) in cases {
        let a = validate(&b).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{what}: {}", a.body);
        assert_eq!(a.error(), "Invalid credential", "{what}");
        assert!(a.body["message"].is_string(), "{what}");
    }
}

#[tokio::test]
async fn every_truncation_is_a_400() {
    let full = AuthData::default().bytes();
    let cd = client_data("webauthn.create", FRONTEND);
    let app = app();
    for len in 0..full.len() {
        let a = post(
            &app,
            PATH,
            &body(&attestation_with(full[..len].to_vec()), &cd),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "authData cut to {len}");
    }
    let att = attestation(&AuthData::default());
    for len in 0..att.len() {
        let a = post(&app, PATH, &body(&att[..len], &cd)).await;
        assert_eq!(
            a.status,
            StatusCode::BAD_REQUEST,
            "attestation cut to {len}"
        );
    }
}

#[test]
fn a_credential_id_longer_than_the_data_is_caught() {
    let mut data = AuthData::default().bytes();
    // The length field sits after rpIdHash (32), flags (1), signCount (4) and AAGUID (16).
    data[53] = 0x03;
    data[54] = 0xff;
    let err = parse_authenticator_data(&data).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    data[53] = 0xff;
    assert!(parse_authenticator_data(&data).is_err());
}

#[test]
fn the_parsed_fields() {
    let parsed = parse_attestation_object(&attestation(&AuthData::default())).unwrap();
    assert_eq!(parsed.format, "none");
    assert_eq!(parsed.auth_data.sign_count, 7);
    assert_eq!(parsed.auth_data.rp_id_hash, [0x11; 32]);
    let credential = parsed.auth_data.attested.unwrap();
    assert_eq!(credential.aaguid.to_string(), YUBIKEY_TEXT);
    assert_eq!(credential.credential_id, vec![0x42; 16]);
    assert_eq!((credential.key_type, credential.algorithm), (2, -7));
}

#[tokio::test]
async fn no_caller_is_401() {
    let app = app_as(None);
    let a = post(&app, PATH, &good_body()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body, json!({"error": "Not authenticated"}));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_attestation_object(&bytes);
        let _ = parse_authenticator_data(&bytes);
        let _ = webauthn::parse_client_data(&bytes);
    }

    #[test]
    fn mutated_registrations_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut auth = AuthData::default().bytes();
        let mut att = attestation(&AuthData::default());
        for (at, byte) in &flips {
            let i = at.index(auth.len());
            auth[i] = *byte;
            let j = at.index(att.len());
            att[j] ^= *byte;
        }
        let _ = parse_authenticator_data(&auth);
        let _ = parse_attestation_object(&attestation_with(auth.clone()));
        let _ = parse_attestation_object(&att);
        let _ = parse_attestation_object(&att[..cut.index(att.len())]);
    }

    #[test]
    fn arbitrary_base64_text_never_panics(text in "\\PC{0,64}") {
        let _ = webauthn::decode_base64("x", &text);
    }
}

#[tokio::test]
async fn deeply_nested_cbor_is_refused_without_overflowing_the_stack() {
    let cd = client_data("webauthn.create", FRONTEND);
    // 20,000 nested one-element arrays, as the attestation object and as the COSE key.
    let nested = [vec![0x81u8; 20_000], vec![0x00]].concat();
    let a = post(&app(), PATH, &body(&nested, &cd)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let deep_key = AuthData {
        key: nested,
        ..AuthData::default()
    };
    assert!(parse_authenticator_data(&deep_key.bytes()).is_err());
    // Nested maps too.
    let maps = [[0xa1u8, 0x00].repeat(10_000), vec![0x00]].concat();
    assert!(parse_attestation_object(&maps).is_err());
}

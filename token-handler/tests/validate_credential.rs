//! `POST /auth/validate-credential` with attestation objects built here (CBOR-encoded in
//! the test), well-formed and broken, and signed by certificate authorities made here
//! (rcgen): the attacks on the attestation are at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ciborium::Value as Cbor;
use common::*;
use l42_token_handler::webauthn::{
    self, FLAG_AT, FLAG_BE, FLAG_BS, FLAG_ED, FLAG_UP, FLAG_UV, parse_attestation_object,
    parse_authenticator_data, sha256,
};
use proptest::prelude::*;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SigningKey as _, date_time_ymd,
};
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
    /// The RP ID whose SHA-256 is `rpIdHash`.
    rp_id: &'static str,
    flags: u8,
    aaguid: [u8; 16],
    credential_id: Vec<u8>,
    key: Vec<u8>,
    extensions: Option<Vec<u8>>,
}

impl Default for AuthData {
    fn default() -> Self {
        Self {
            rp_id: "localhost",
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
        let mut out = sha256(self.rp_id.as_bytes()).to_vec();
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

fn text(t: &str) -> Cbor {
    Cbor::Text(t.into())
}

/// An attestation object of format `fmt`.
fn object(fmt: &str, statement: Vec<(Cbor, Cbor)>, auth_data: Vec<u8>) -> Vec<u8> {
    cbor(&Cbor::Map(vec![
        (text("fmt"), text(fmt)),
        (text("attStmt"), Cbor::Map(statement)),
        (text("authData"), Cbor::Bytes(auth_data)),
    ]))
}

/// A `none` attestation object: nothing signed, everything claimed.
fn attestation_with(auth_data: Vec<u8>) -> Vec<u8> {
    object("none", vec![], auth_data)
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
        }, "attestation": {"format": "none", "trust": "none"}})
    );
    // Synced passkey flags are reported.
    let synced = AuthData {
        rp_id: "app.example.com",
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
    let ca = Ca::new("Example Attestation Root");
    let listed = [
        (
            "AAGUID_ALLOWLIST",
            "CB69481E-8FF7-4039-93EC-0A2729A154A8, 00000000-0000-0000-0000-000000000001",
        ),
        ("ATTESTATION_ROOTS", ca.pem.as_str()),
    ];
    let good = ca.packed(&AuthData::default(), Some(YUBIKEY));
    let a = validate_with(&listed, &good).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["attestation"],
        json!({"format": "packed", "trust": "verified"})
    );

    let other = AuthData {
        aaguid: OTHER_AAGUID,
        ..AuthData::default()
    };
    let a = validate_with(&listed, &ca.packed(&other, Some(OTHER_AAGUID))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["allowed"], false);
    let reason = a.body["reason"].as_str().unwrap();
    assert!(
        reason.contains("adadadad-adad-adad-adad-adadadadadad"),
        "{reason}"
    );
    assert_eq!(a.body.as_object().unwrap().len(), 2);
    // An empty list allows every authenticator, attested or not.
    let b = body(
        &attestation(&other),
        &client_data("webauthn.create", FRONTEND),
    );
    let a = validate_with(&[("AAGUID_ALLOWLIST", "")], &b).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn require_device_bound_refuses_backup_eligible_credentials() {
    let ca = Ca::new("Example Attestation Root");
    let bound = [
        ("REQUIRE_DEVICE_BOUND", "true"),
        ("ATTESTATION_ROOTS", ca.pem.as_str()),
    ];
    let a = validate_with(&bound, &ca.packed(&AuthData::default(), Some(YUBIKEY))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    for flags in [
        FLAG_UP | FLAG_AT | FLAG_BE,
        FLAG_UP | FLAG_AT | FLAG_BE | FLAG_BS,
    ] {
        let synced = AuthData {
            flags,
            ..AuthData::default()
        };
        let b = ca.packed(&synced, Some(YUBIKEY));
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
    assert_eq!(parsed.auth_data.rp_id_hash, sha256(b"localhost"));
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

// ---------------------------------------------------------------------------------------
// Attestation: certificate authorities and signed statements made here, and the attacks
// on them. Everything an attacker controls in a registration is in the request body.

/// A certificate authority (the root a deployer trusts, or one an attacker made).
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

/// The DER content of the `id-fido-gen-ce-aaguid` extension: an OCTET STRING of 16 bytes.
fn aaguid_extension(aaguid: [u8; 16], critical: bool) -> CustomExtension {
    let mut content = vec![0x04, 0x10];
    content.extend_from_slice(&aaguid);
    let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4], content);
    ext.set_criticality(critical);
    ext
}

/// An attestation certificate as WebAuthn §8.2.1 asks for it, naming `aaguid` if given.
fn leaf_params(aaguid: Option<[u8; 16]>) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CountryName, "SE");
    p.distinguished_name
        .push(DnType::OrganizationName, "Example Keys AB");
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, "Authenticator Attestation");
    p.distinguished_name
        .push(DnType::CommonName, "Example Key Attestation");
    if let Some(a) = aaguid {
        p.custom_extensions.push(aaguid_extension(a, false));
    }
    p
}

/// An ES256 COSE_Key of `key`'s public key.
fn cose_of(key: &KeyPair) -> Vec<u8> {
    let raw = key.public_key_raw();
    assert_eq!((raw.len(), raw[0]), (65, 0x04));
    cbor(&Cbor::Map(vec![
        (int(1), int(2)),
        (int(3), int(-7)),
        (int(-1), int(1)),
        (int(-2), Cbor::Bytes(raw[1..33].to_vec())),
        (int(-3), Cbor::Bytes(raw[33..].to_vec())),
    ]))
}

/// A `packed` statement: `alg`, the signature of `key` over authenticator data and the
/// client data hash, and `x5c` (none: self attestation).
fn packed_statement(
    auth_data: &[u8],
    client_data: &[u8],
    key: &KeyPair,
    x5c: &[Vec<u8>],
) -> Vec<(Cbor, Cbor)> {
    let signed = [auth_data, &sha256(client_data)].concat();
    let mut statement = vec![
        (text("alg"), int(-7)),
        (text("sig"), Cbor::Bytes(key.sign(&signed).unwrap())),
    ];
    if !x5c.is_empty() {
        statement.push((
            text("x5c"),
            Cbor::Array(x5c.iter().cloned().map(Cbor::Bytes).collect()),
        ));
    }
    statement
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca { params, key, pem }
    }

    /// A certificate for `params`, signed by this authority: its key and DER.
    fn issue(&self, params: &CertificateParams) -> (KeyPair, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let der = params.signed_by(&key, &issuer).unwrap().der().to_vec();
        (key, der)
    }

    /// A request body with a full `packed` attestation of `auth` for the front end,
    /// signed with a certificate from this authority naming `aaguid`.
    fn packed(&self, auth: &AuthData, aaguid: Option<[u8; 16]>) -> Value {
        self.packed_with(auth, &leaf_params(aaguid))
    }

    /// The same, with an attestation certificate made from `params`.
    fn packed_with(&self, auth: &AuthData, params: &CertificateParams) -> Value {
        let cd = client_data("webauthn.create", FRONTEND);
        let (key, der) = self.issue(params);
        let data = auth.bytes();
        let statement = packed_statement(&data, &cd, &key, &[der]);
        body(&object("packed", statement, data), &cd)
    }
}

fn with_roots<'a>(ca: &'a Ca, vars: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("ATTESTATION_ROOTS", ca.pem.as_str())];
    all.extend_from_slice(vars);
    all
}

const ALLOW_YUBIKEY: (&str, &str) = ("AAGUID_ALLOWLIST", YUBIKEY_TEXT);

async fn refused(vars: &[(&str, &str)], body: &Value, reason: &str) {
    let a = validate_with(vars, body).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert_eq!(a.body["allowed"], false);
    let text = a.body["reason"].as_str().unwrap();
    assert!(text.contains(reason), "{text:?} should say {reason:?}");
}

/// The attack the review found: a hand-made `none` attestation claiming a YubiKey. It
/// signs nothing, so it proves no AAGUID.
#[tokio::test]
async fn a_hand_made_none_attestation_claiming_a_yubikey_is_refused() {
    let ca = Ca::new("Example Attestation Root");
    for vars in [
        with_roots(&ca, &[ALLOW_YUBIKEY]),
        with_roots(&ca, &[("REQUIRE_DEVICE_BOUND", "true")]),
    ] {
        refused(&vars, &good_body(), "a none attestation does not prove").await;
    }
    // Without a policy it is accepted, and reported for what it is.
    let a = validate(&good_body()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["attestation"]["trust"], "none");
}

/// Self attestation proves possession of the credential key, not the model.
#[tokio::test]
async fn a_self_attestation_claiming_a_yubikey_is_refused() {
    let ca = Ca::new("Example Attestation Root");
    let credential = KeyPair::generate().unwrap();
    let auth = AuthData {
        key: cose_of(&credential),
        ..AuthData::default()
    };
    let cd = client_data("webauthn.create", FRONTEND);
    let data = auth.bytes();
    let b = body(
        &object(
            "packed",
            packed_statement(&data, &cd, &credential, &[]),
            data,
        ),
        &cd,
    );
    refused(&with_roots(&ca, &[ALLOW_YUBIKEY]), &b, "a self attestation").await;
    let a = validate(&b).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["attestation"]["trust"], "self");
    // A self attestation signed by another key than the credential's is wrong, policy
    // or not.
    let other = KeyPair::generate().unwrap();
    let data = auth.bytes();
    let forged = body(
        &object("packed", packed_statement(&data, &cd, &other, &[]), data),
        &cd,
    );
    refused(&[], &forged, "signature does not verify").await;
}

/// A certificate chain to a root the attacker made is well formed and signed, and proves
/// nothing.
#[tokio::test]
async fn an_attestation_from_the_attackers_own_authority_is_refused() {
    let trusted = Ca::new("Example Attestation Root");
    let attacker = Ca::new("Attacker Root");
    let b = attacker.packed(&AuthData::default(), Some(YUBIKEY));
    refused(
        &with_roots(&trusted, &[ALLOW_YUBIKEY]),
        &b,
        "untrusted attestation",
    )
    .await;
    let a = validate(&b).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["attestation"]["trust"], "untrusted");
    // The attacker's root named as a trusted root makes it verified: the roots are the
    // deployer's decision.
    let a = validate_with(&with_roots(&attacker, &[ALLOW_YUBIKEY]), &b).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["attestation"]["trust"], "verified");
}

/// An intermediate between the root and the attestation certificate is followed.
#[tokio::test]
async fn a_chain_through_an_intermediate_is_verified() {
    let root = Ca::new("Example Attestation Root");
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "Example Attestation CA 1");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let (ikey, ider) = root.issue(&params);
    let intermediate = Issuer::from_params(&params, &ikey);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params(Some(YUBIKEY))
        .signed_by(&leaf_key, &intermediate)
        .unwrap()
        .der()
        .to_vec();
    let cd = client_data("webauthn.create", FRONTEND);
    let data = AuthData::default().bytes();
    let b = body(
        &object(
            "packed",
            packed_statement(&data, &cd, &leaf_key, &[leaf.clone(), ider]),
            data.clone(),
        ),
        &cd,
    );
    let vars = with_roots(&root, &[ALLOW_YUBIKEY]);
    let a = validate_with(&vars, &b).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Without the intermediate the chain does not reach the root.
    let b = body(
        &object(
            "packed",
            packed_statement(&data, &cd, &leaf_key, &[leaf]),
            data,
        ),
        &cd,
    );
    refused(&vars, &b, "untrusted").await;
}

/// What the signature covers cannot be changed afterwards: the flags, the AAGUID, the
/// client data.
#[tokio::test]
async fn a_registration_changed_after_signing_is_refused() {
    let ca = Ca::new("Example Attestation Root");
    let (key, der) = ca.issue(&leaf_params(None));
    let cd = client_data("webauthn.create", FRONTEND);
    let synced = AuthData {
        flags: FLAG_UP | FLAG_AT | FLAG_BE,
        ..AuthData::default()
    };
    let signed = synced.bytes();
    let statement = packed_statement(&signed, &cd, &key, std::slice::from_ref(&der));
    // The genuine registration is refused under REQUIRE_DEVICE_BOUND ...
    let vars = with_roots(&ca, &[("REQUIRE_DEVICE_BOUND", "true")]);
    let genuine = body(&object("packed", statement.clone(), signed), &cd);
    refused(&vars, &genuine, "device-bound").await;
    // ... and clearing BE (or swapping the AAGUID) breaks the signature, policy or not.
    let cleared = AuthData {
        flags: FLAG_UP | FLAG_AT,
        ..AuthData::default()
    };
    let other = AuthData {
        flags: FLAG_UP | FLAG_AT | FLAG_BE,
        aaguid: OTHER_AAGUID,
        ..AuthData::default()
    };
    for auth in [cleared, other] {
        let b = body(&object("packed", statement.clone(), auth.bytes()), &cd);
        refused(&vars, &b, "signature does not verify").await;
        refused(&[], &b, "signature does not verify").await;
    }
    // Other client data than was signed (here: another challenge).
    let cd2 =
        json!({"type": "webauthn.create", "challenge": "b3RoZXI", "origin": FRONTEND}).to_string();
    let b = body(&object("packed", statement, synced.bytes()), cd2.as_bytes());
    refused(&[], &b, "signature does not verify").await;
}

/// The certificate's AAGUID extension must name the authenticator data's AAGUID.
#[tokio::test]
async fn a_certificate_for_another_model_is_refused() {
    let ca = Ca::new("Example Attestation Root");
    let other = AuthData {
        aaguid: OTHER_AAGUID,
        ..AuthData::default()
    };
    // A genuine certificate for OTHER_AAGUID's model, with authenticator data claiming a
    // YubiKey, and the other way round.
    refused(
        &with_roots(&ca, &[ALLOW_YUBIKEY]),
        &ca.packed(&AuthData::default(), Some(OTHER_AAGUID)),
        "names authenticator adadadad",
    )
    .await;
    refused(
        &[],
        &ca.packed(&other, Some(YUBIKEY)),
        "names authenticator",
    )
    .await;
}

/// WebAuthn §8.2.1's requirements on a `packed` attestation certificate.
#[tokio::test]
async fn attestation_certificates_that_break_the_rules_are_refused() {
    let ca = Ca::new("Example Attestation Root");
    let mut no_ou = leaf_params(Some(YUBIKEY));
    no_ou
        .distinguished_name
        .remove(DnType::OrganizationalUnitName);
    let mut wrong_ou = leaf_params(Some(YUBIKEY));
    wrong_ou
        .distinguished_name
        .push(DnType::OrganizationalUnitName, "Marketing");
    let mut no_country = leaf_params(Some(YUBIKEY));
    no_country.distinguished_name.remove(DnType::CountryName);
    let mut no_cn = leaf_params(Some(YUBIKEY));
    no_cn.distinguished_name.remove(DnType::CommonName);
    let mut a_ca = leaf_params(Some(YUBIKEY));
    a_ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut critical = leaf_params(None);
    critical
        .custom_extensions
        .push(aaguid_extension(YUBIKEY, true));
    let mut twice = leaf_params(Some(YUBIKEY));
    twice
        .custom_extensions
        .push(aaguid_extension(YUBIKEY, false));
    let mut short = leaf_params(None);
    short
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4],
            vec![0x04, 0x02, 0xcb, 0x69],
        ));
    for (params, reason) in [
        (no_ou, "subject OU"),
        (wrong_ou, "subject OU"),
        (no_country, "two-letter subject C"),
        (no_cn, "subject CN"),
        (a_ca, "must not be a CA"),
        (critical, "CriticalExtension"),
        (twice, "twice"),
        (short, "16-byte OCTET STRING"),
    ] {
        let b = ca.packed_with(&AuthData::default(), &params);
        refused(&with_roots(&ca, &[ALLOW_YUBIKEY]), &b, reason).await;
        refused(&[], &b, reason).await;
    }
}

/// An expired attestation certificate (or one not yet valid) does not verify.
#[tokio::test]
async fn an_expired_attestation_certificate_is_untrusted() {
    let ca = Ca::new("Example Attestation Root");
    let mut expired = leaf_params(Some(YUBIKEY));
    expired.not_before = date_time_ymd(2000, 1, 1);
    expired.not_after = date_time_ymd(2001, 1, 1);
    let mut future = leaf_params(Some(YUBIKEY));
    future.not_before = date_time_ymd(3000, 1, 1);
    for params in [expired, future] {
        let b = ca.packed_with(&AuthData::default(), &params);
        refused(&with_roots(&ca, &[ALLOW_YUBIKEY]), &b, "untrusted").await;
    }
}

/// `fido-u2f`: signed over 0x00 ‖ rpIdHash ‖ clientDataHash ‖ credentialId ‖ the
/// credential's public point; the AAGUID is zero.
#[tokio::test]
async fn fido_u2f_attestations_are_verified() {
    let ca = Ca::new("Example U2F Root");
    let (key, der) = ca.issue(&leaf_params(None));
    let credential = KeyPair::generate().unwrap();
    let cd = client_data("webauthn.create", FRONTEND);
    let u2f = |auth: &AuthData, signer: &KeyPair| {
        let signed = [
            &[0x00][..],
            &sha256(auth.rp_id.as_bytes()),
            &sha256(&cd),
            &auth.credential_id,
            credential.public_key_raw(),
        ]
        .concat();
        let statement = vec![
            (text("sig"), Cbor::Bytes(signer.sign(&signed).unwrap())),
            (text("x5c"), Cbor::Array(vec![Cbor::Bytes(der.clone())])),
        ];
        body(&object("fido-u2f", statement, auth.bytes()), &cd)
    };
    let auth = AuthData {
        aaguid: [0; 16],
        key: cose_of(&credential),
        ..AuthData::default()
    };
    let vars = with_roots(&ca, &[("REQUIRE_DEVICE_BOUND", "true")]);
    let a = validate_with(&vars, &u2f(&auth, &key)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["attestation"],
        json!({"format": "fido-u2f", "trust": "verified"})
    );
    // Signed by another key than the certificate's.
    let stranger = KeyPair::generate().unwrap();
    refused(&vars, &u2f(&auth, &stranger), "signature does not verify").await;
    // A non-zero AAGUID (which fido-u2f does not sign).
    let named = AuthData {
        aaguid: YUBIKEY,
        key: cose_of(&credential),
        ..AuthData::default()
    };
    refused(&[], &u2f(&named, &key), "zero AAGUID").await;
    // An attacker's root.
    refused(
        &with_roots(&Ca::new("Attacker"), &[("REQUIRE_DEVICE_BOUND", "true")]),
        &u2f(&auth, &key),
        "untrusted",
    )
    .await;
}

/// Formats not verified here are reported, and refused under a policy.
#[tokio::test]
async fn unsupported_formats_prove_nothing() {
    let ca = Ca::new("Example Attestation Root");
    let data = AuthData::default().bytes();
    let cd = client_data("webauthn.create", FRONTEND);
    let tpm = body(
        &object("tpm", vec![(text("ver"), text("2.0"))], data.clone()),
        &cd,
    );
    let a = validate(&tpm).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body["attestation"],
        json!({"format": "tpm", "trust": "unsupported"})
    );
    refused(&with_roots(&ca, &[ALLOW_YUBIKEY]), &tpm, "unsupported").await;
    // ECDAA `packed`, too.
    let ecdaa = body(
        &object(
            "packed",
            vec![
                (text("alg"), int(-7)),
                (text("sig"), Cbor::Bytes(vec![1; 64])),
                (text("ecdaaKeyId"), Cbor::Bytes(vec![2; 32])),
            ],
            data,
        ),
        &cd,
    );
    refused(&with_roots(&ca, &[ALLOW_YUBIKEY]), &ecdaa, "unsupported").await;
}

/// `rpIdHash` names the relying party the credential is for: one of another site is not
/// registered here.
#[tokio::test]
async fn a_registration_for_another_relying_party_is_refused() {
    let cd = client_data("webauthn.create", FRONTEND);
    for rp_id in [
        "evil.example",
        "app.example.com",
        "localhost.evil.example",
        "",
    ] {
        let auth = AuthData {
            rp_id,
            ..AuthData::default()
        };
        refused(&[], &body(&attestation(&auth), &cd), "rpIdHash").await;
    }
    // A parent domain of the origin's host, when configured.
    let parent = AuthData {
        rp_id: "example.com",
        ..AuthData::default()
    };
    let b = body(
        &attestation(&parent),
        &client_data("webauthn.create", OTHER_ORIGIN),
    );
    refused(&[], &b, "rpIdHash").await;
    let vars = [("WEBAUTHN_RP_ID", "example.com")];
    assert_eq!(validate_with(&vars, &b).await.status, StatusCode::OK);
    // Not for a page of another host, even with that RP ID configured: localhost is not
    // under example.com.
    let b = body(&attestation(&parent), &cd);
    refused(&vars, &b, "rpIdHash").await;
}

#[test]
fn a_policy_without_roots_is_refused_at_start_up() {
    let ca = Ca::new("Example Attestation Root");
    for (vars, var) in [
        (vec![ALLOW_YUBIKEY], "AAGUID_ALLOWLIST"),
        (
            vec![("REQUIRE_DEVICE_BOUND", "true")],
            "REQUIRE_DEVICE_BOUND",
        ),
        (
            vec![ALLOW_YUBIKEY, ("REQUIRE_DEVICE_BOUND", "true")],
            "AAGUID_ALLOWLIST",
        ),
    ] {
        let mut all = base_vars();
        all.extend_from_slice(&vars);
        let err = config_from(&all).unwrap_err();
        assert_eq!(err.var, var, "{err}");
        assert!(err.to_string().contains("ATTESTATION_ROOTS"), "{err}");
        let mut all = base_vars();
        all.extend(with_roots(&ca, &vars));
        let c = config_from(&all).unwrap();
        assert_eq!(c.attestation_roots.len(), 1);
    }
}

#[test]
fn attestation_roots_are_read_from_text_or_a_file() {
    let ca = Ca::new("Example Attestation Root");
    let other = Ca::new("Second Root");
    let dir = std::env::temp_dir().join(format!("l42-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("roots.pem");
    std::fs::write(&file, format!("{}{}", ca.pem, other.pem)).unwrap();
    let path = file.to_str().unwrap().to_owned();
    let escaped = ca.pem.replace('\n', "\\n");
    type Vars<'a> = Vec<(&'a str, &'a str)>;
    // The variables, and the number of roots read or the variable at fault.
    let cases: Vec<(Vars, Result<usize, &str>)> = vec![
        (vec![("ATTESTATION_ROOTS_FILE", path.as_str())], Ok(2)),
        (
            vec![
                ("ATTESTATION_ROOTS_FILE", path.as_str()),
                ("ATTESTATION_ROOTS", ca.pem.as_str()),
            ],
            Ok(3),
        ),
        (vec![("ATTESTATION_ROOTS", escaped.as_str())], Ok(1)),
        (
            vec![("ATTESTATION_ROOTS", "not a certificate")],
            Err("ATTESTATION_ROOTS"),
        ),
        (
            vec![(
                "ATTESTATION_ROOTS",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            )],
            Err("ATTESTATION_ROOTS"),
        ),
        (
            vec![("ATTESTATION_ROOTS_FILE", "/nonexistent/roots.pem")],
            Err("ATTESTATION_ROOTS_FILE"),
        ),
    ];
    for (vars, expected) in cases {
        let mut all = base_vars();
        all.extend_from_slice(&vars);
        match (config_from(&all), expected) {
            (Ok(c), Ok(n)) => assert_eq!(c.attestation_roots.len(), n, "{vars:?}"),
            (Err(e), Err(var)) => assert_eq!(e.var, var, "{vars:?}: {e}"),
            (got, want) => panic!("{vars:?}: got {got:?}, want {want:?}"),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rp_ids_are_checked_at_start_up() {
    let rp = |value: &'static str| {
        let mut all = base_vars();
        all.push(("WEBAUTHN_RP_ID", value));
        config_from(&all)
    };
    // The default: the hosts of the allowed origins.
    assert_eq!(
        config().webauthn_rp_ids,
        vec!["localhost".to_owned(), "app.example.com".to_owned()]
    );
    assert_eq!(
        rp("Example.COM, localhost").unwrap().webauthn_rp_ids,
        vec!["example.com".to_owned(), "localhost".to_owned()]
    );
    for bad in [
        "https://example.com",
        "example.com:443",
        "example.com/",
        "127.0.0.1",
        "[::1]",
        "com",
        "evil.example",
        "ample.com",
        "pp.example.com",
        "sub.app.example.com",
    ] {
        let err = rp(bad).unwrap_err();
        assert_eq!(err.var, "WEBAUTHN_RP_ID", "{bad}: {err}");
    }
}

//! Reading and checking a WebAuthn registration: `clientDataJSON`, the CBOR attestation
//! object, the authenticator data inside it and the attestation statement, with bounds
//! checks on every read.
//!
//! This is a policy gate before a passkey is registered with Cognito (which verifies the
//! registration itself, including the challenge it issued): it reads which authenticator
//! made the credential (AAGUID) and its flags, and verifies what can be verified here:
//!
//! - `rpIdHash` is SHA-256 of an accepted RP ID for the page's origin ([`rp_id_for`]);
//! - the attestation statement of the formats `packed` (full, with `x5c`, and self) and
//!   `fido-u2f`: the signature, the WebAuthn §8.2.1 certificate requirements, the AAGUID
//!   extension; `none` carries nothing to verify; other formats are
//!   [`AttestationTrust::Unsupported`];
//! - the certificate chain against the deployer's [`AttestationRoots`], with rustls-webpki
//!   (any extended key usage accepted, unknown critical extensions refused, validity at the
//!   time given).
//!
//! The challenge is not checked: Cognito issued it and this code never saw it.
//!
//! Authenticator data layout (WebAuthn §6.1):
//!
//! | bytes | field |
//! |---|---|
//! | 32 | `rpIdHash` |
//! | 1 | flags: UP `0x01`, UV `0x04`, BE `0x08`, BS `0x10`, AT `0x40`, ED `0x80` |
//! | 4 | `signCount` (big-endian) |
//! | 16 | AAGUID (when AT) |
//! | 2 | credential id length L (big-endian, when AT) |
//! | L | credential id (when AT) |
//! | … | the credential public key, a COSE_Key CBOR map (when AT) |
//! | … | extensions, a CBOR map (when ED) |

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self as sig, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ciborium::Value as Cbor;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use serde::Deserialize;
use thiserror::Error;
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter};
use x509_parser::x509::X509Version;

use crate::config::{Aaguid, Origin};

/// Flag bit: user present.
pub const FLAG_UP: u8 = 0x01;
/// Flag bit: user verified.
pub const FLAG_UV: u8 = 0x04;
/// Flag bit: backup eligible (a synced, multi-device credential).
pub const FLAG_BE: u8 = 0x08;
/// Flag bit: backed up.
pub const FLAG_BS: u8 = 0x10;
/// Flag bit: attested credential data present.
pub const FLAG_AT: u8 = 0x40;
/// Flag bit: extension data present.
pub const FLAG_ED: u8 = 0x80;

/// The longest credential id WebAuthn allows.
pub const MAX_CREDENTIAL_ID_BYTES: usize = 1023;

/// The longest attestation signature read (an RSA-8192 signature is 1,024 bytes).
pub const MAX_SIGNATURE_BYTES: usize = 2048;

/// The most certificates read from `x5c` (the leaf and its intermediates).
pub const MAX_CHAIN_CERTIFICATES: usize = 5;

/// The longest certificate read from `x5c`.
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

/// The DER body of OID 1.3.6.1.4.1.45724.1.1.4, `id-fido-gen-ce-aaguid`: the certificate
/// extension naming the authenticator model (WebAuthn §8.2.1).
pub const AAGUID_EXTENSION_OID: &[u8] = &[
    0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xe5, 0x1c, 0x01, 0x01, 0x04,
];

/// The literal `Subject-OU` of a `packed` attestation certificate (WebAuthn §8.2.1).
pub const ATTESTATION_OU: &str = "Authenticator Attestation";

/// Why a credential could not be read (a 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CredentialError {
    /// A field is not base64 or base64url.
    #[error("{0} is not base64")]
    Base64(&'static str),
    /// `clientDataJSON` is not the JSON object WebAuthn defines.
    #[error("clientDataJSON is not valid: {0}")]
    ClientData(String),
    /// `clientDataJSON.type` is not `webauthn.create`.
    #[error("clientDataJSON.type must be webauthn.create")]
    WrongType,
    /// The attestation object is not the CBOR map WebAuthn defines.
    #[error("attestation object is not valid: {0}")]
    Attestation(String),
    /// The authenticator data is malformed.
    #[error("authenticator data is not valid: {0}")]
    AuthenticatorData(String),
}

/// Why an attestation statement was refused: it is there, readable, and wrong (a 403,
/// whatever the policy).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AttestationError {
    /// The signature does not verify over the data its format signs.
    #[error("the attestation signature does not verify")]
    BadSignature,
    /// The attestation certificate is unreadable or breaks its format's requirements.
    #[error("the attestation certificate {0}")]
    Certificate(String),
    /// The certificate's `id-fido-gen-ce-aaguid` extension names another model than the
    /// authenticator data.
    #[error(
        "the attestation certificate names authenticator {certificate}, the authenticator data {authenticator}"
    )]
    AaguidMismatch {
        /// The AAGUID in the certificate extension.
        certificate: Aaguid,
        /// The AAGUID in the authenticator data.
        authenticator: Aaguid,
    },
    /// A `fido-u2f` attestation whose authenticator data carries a non-zero AAGUID (U2F
    /// authenticators have none, and `fido-u2f` does not sign it).
    #[error("a fido-u2f attestation must have the zero AAGUID, not {0}")]
    U2fAaguid(Aaguid),
    /// The credential public key does not fit the attestation format or its algorithm.
    #[error("the credential public key {0}")]
    CredentialKey(String),
    /// A self attestation signed with another algorithm than the credential key's.
    #[error("self attestation alg {statement} is not the credential key's alg {key}")]
    SelfAlgorithm {
        /// `attStmt.alg`.
        statement: i64,
        /// The COSE key's `alg`.
        key: i128,
    },
    /// The authenticator data has no attested credential.
    #[error("the authenticator data has no attested credential")]
    NoCredential,
}

/// The fields of `clientDataJSON` the gate uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClientData {
    /// `webauthn.create` for a registration.
    #[serde(rename = "type")]
    pub kind: String,
    /// The page's origin.
    pub origin: String,
    /// The challenge (base64url), not checked here: Cognito issued it.
    #[serde(default)]
    pub challenge: Option<String>,
    /// Whether the call came from a cross-origin iframe.
    #[serde(default, rename = "crossOrigin")]
    pub cross_origin: Option<bool>,
}

/// Authenticator data, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData {
    /// SHA-256 of the relying party id.
    pub rp_id_hash: [u8; 32],
    /// The flags byte.
    pub flags: u8,
    /// The signature counter.
    pub sign_count: u32,
    /// The attested credential, when the AT flag is set.
    pub attested: Option<AttestedCredential>,
}

impl AuthenticatorData {
    /// UP: the user was present.
    pub fn user_present(&self) -> bool {
        self.flags & FLAG_UP != 0
    }
    /// UV: the user was verified (PIN, biometrics).
    pub fn user_verified(&self) -> bool {
        self.flags & FLAG_UV != 0
    }
    /// BE: the credential may be backed up (synced passkey).
    pub fn backup_eligible(&self) -> bool {
        self.flags & FLAG_BE != 0
    }
    /// BS: the credential is backed up.
    pub fn backup_state(&self) -> bool {
        self.flags & FLAG_BS != 0
    }
}

/// Attested credential data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential {
    /// The authenticator model.
    pub aaguid: Aaguid,
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The COSE key type (`kty`, label 1).
    pub key_type: i128,
    /// The COSE algorithm (`alg`, label 3), e.g. -7 for ES256.
    pub algorithm: i128,
    /// The credential public key: the COSE_Key's CBOR bytes as they appear in the
    /// authenticator data.
    pub public_key: Vec<u8>,
}

/// An attestation statement (`attStmt`), read for the formats this gate verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `none`: an empty `attStmt`.
    None,
    /// `packed`: the COSE `alg`, the signature and, for full attestation, `x5c` (the
    /// attestation certificate first, then intermediates). No `x5c` is self attestation.
    Packed {
        /// `alg`.
        alg: i64,
        /// `sig`.
        sig: Vec<u8>,
        /// `x5c`, DER certificates; empty for self attestation.
        x5c: Vec<Vec<u8>>,
    },
    /// `fido-u2f`: the signature and the one attestation certificate.
    FidoU2f {
        /// `sig`.
        sig: Vec<u8>,
        /// `x5c[0]`, DER.
        certificate: Vec<u8>,
    },
    /// A format this gate does not verify (`tpm`, `android-key`, `android-safetynet`,
    /// `apple`, ECDAA `packed`, anything else); its `attStmt` is not read.
    Unsupported,
}

/// A parsed attestation object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The attestation statement format (`none`, `packed`, ...).
    pub format: String,
    /// The attestation statement.
    pub statement: Statement,
    /// The authenticator data.
    pub auth_data: AuthenticatorData,
    /// The authenticator data's bytes (what `packed` signs, before the client data hash).
    pub auth_data_bytes: Vec<u8>,
}

/// Decodes standard base64 or base64url, padded or not (surrounding whitespace ignored).
pub fn decode_base64(field: &'static str, text: &str) -> Result<Vec<u8>, CredentialError> {
    let t = text.trim();
    let unpadded = t
        .strip_suffix("==")
        .or_else(|| t.strip_suffix('='))
        .unwrap_or(t);
    let normal: String = unpadded
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    STANDARD_NO_PAD
        .decode(normal.as_bytes())
        .map_err(|_| CredentialError::Base64(field))
}

/// Parses `clientDataJSON` and checks that it is a registration (`webauthn.create`).
pub fn parse_client_data(bytes: &[u8]) -> Result<ClientData, CredentialError> {
    let data: ClientData = serde_json::from_slice(bytes).map_err(|e| {
        CredentialError::ClientData(match e.classify() {
            serde_json::error::Category::Data => "missing or mistyped type or origin".to_owned(),
            _ => "not JSON".to_owned(),
        })
    })?;
    if data.kind != "webauthn.create" {
        return Err(CredentialError::WrongType);
    }
    Ok(data)
}

/// The value of the text key `name` in a CBOR map; a repeated key is an error.
fn text_field<'a>(
    entries: &'a [(Cbor, Cbor)],
    name: &str,
    what: &str,
) -> Result<Option<&'a Cbor>, CredentialError> {
    let mut found = entries
        .iter()
        .filter(|(k, _)| matches!(k, Cbor::Text(t) if t == name));
    match (found.next(), found.next()) {
        (Some((_, v)), None) => Ok(Some(v)),
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(CredentialError::Attestation(format!(
            "repeated {name} in {what}"
        ))),
    }
}

/// Parses a CBOR attestation object `{"fmt", "attStmt", "authData"}`, its authenticator
/// data and, for `none`, `packed` and `fido-u2f`, its attestation statement. Trailing
/// bytes after the map are refused.
pub fn parse_attestation_object(bytes: &[u8]) -> Result<Attestation, CredentialError> {
    let bad = |m: &str| CredentialError::Attestation(m.to_owned());
    let mut rest = bytes;
    let value: Cbor = ciborium::de::from_reader(&mut rest).map_err(|_| bad("not CBOR"))?;
    if !rest.is_empty() {
        return Err(bad("trailing bytes after the CBOR map"));
    }
    let Cbor::Map(entries) = value else {
        return Err(bad("not a CBOR map"));
    };
    let field = |name: &str| text_field(&entries, name, "the attestation object");
    let format = match field("fmt")? {
        Some(Cbor::Text(t)) if !t.is_empty() && t.len() <= 64 => t.clone(),
        Some(_) => return Err(bad("fmt is not a short text string")),
        None => return Err(bad("no fmt")),
    };
    let statement = match field("attStmt")? {
        Some(Cbor::Map(stmt)) => parse_statement(&format, stmt)?,
        Some(_) => return Err(bad("attStmt is not a map")),
        None => return Err(bad("no attStmt")),
    };
    let (auth_data, auth_data_bytes) = match field("authData")? {
        Some(Cbor::Bytes(b)) => (parse_authenticator_data(b)?, b.clone()),
        Some(_) => return Err(bad("authData is not a byte string")),
        None => return Err(bad("no authData")),
    };
    Ok(Attestation {
        format,
        statement,
        auth_data,
        auth_data_bytes,
    })
}

/// Reads `attStmt` for the formats this gate verifies.
fn parse_statement(format: &str, stmt: &[(Cbor, Cbor)]) -> Result<Statement, CredentialError> {
    let bad = |m: String| CredentialError::Attestation(m);
    let field = |name: &str| text_field(stmt, name, "attStmt");
    let signature = |what: &str| match field("sig")? {
        Some(Cbor::Bytes(b)) if !b.is_empty() && b.len() <= MAX_SIGNATURE_BYTES => Ok(b.clone()),
        Some(_) => Err(bad(format!(
            "{what} sig is not a byte string of 1 to {MAX_SIGNATURE_BYTES} bytes"
        ))),
        None => Err(bad(format!("{what} attStmt has no sig"))),
    };
    let chain = |what: &str| -> Result<Option<Vec<Vec<u8>>>, CredentialError> {
        let Some(value) = field("x5c")? else {
            return Ok(None);
        };
        let shape = || {
            bad(format!(
                "{what} x5c is not an array of 1 to {MAX_CHAIN_CERTIFICATES} certificates \
                 (byte strings of at most {MAX_CERTIFICATE_BYTES} bytes)"
            ))
        };
        let Cbor::Array(items) = value else {
            return Err(shape());
        };
        if items.is_empty() || items.len() > MAX_CHAIN_CERTIFICATES {
            return Err(shape());
        }
        items
            .iter()
            .map(|item| match item {
                Cbor::Bytes(b) if !b.is_empty() && b.len() <= MAX_CERTIFICATE_BYTES => {
                    Ok(b.clone())
                }
                _ => Err(shape()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    match format {
        "none" if stmt.is_empty() => Ok(Statement::None),
        "none" => Err(bad("attStmt of fmt none must be empty".to_owned())),
        "packed" => {
            if field("ecdaaKeyId")?.is_some() {
                return Ok(Statement::Unsupported);
            }
            let alg = match field("alg")? {
                Some(Cbor::Integer(n)) => i64::try_from(i128::from(*n))
                    .map_err(|_| bad("packed alg is out of range".to_owned()))?,
                Some(_) => return Err(bad("packed alg is not an integer".to_owned())),
                None => return Err(bad("packed attStmt has no alg".to_owned())),
            };
            let sig = signature("packed")?;
            let x5c = chain("packed")?.unwrap_or_default();
            Ok(Statement::Packed { alg, sig, x5c })
        }
        "fido-u2f" => {
            let sig = signature("fido-u2f")?;
            match chain("fido-u2f")?.map(<[Vec<u8>; 1]>::try_from) {
                Some(Ok([certificate])) => Ok(Statement::FidoU2f { sig, certificate }),
                Some(Err(_)) => Err(bad(
                    "fido-u2f x5c must hold exactly one certificate".to_owned()
                )),
                None => Err(bad("fido-u2f attStmt has no x5c".to_owned())),
            }
        }
        _ => Ok(Statement::Unsupported),
    }
}

/// A bounds-checked reader over a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], CredentialError> {
        if self.bytes.len() < n {
            return Err(CredentialError::AuthenticatorData(format!(
                "truncated in {what}"
            )));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], CredentialError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One CBOR item, consuming exactly its bytes; returns the item and those bytes.
    fn cbor(&mut self, what: &str) -> Result<(Cbor, &'a [u8]), CredentialError> {
        if self.bytes.is_empty() {
            return Err(CredentialError::AuthenticatorData(format!(
                "truncated in {what}"
            )));
        }
        let start = self.bytes;
        let mut rest = self.bytes;
        let value: Cbor = ciborium::de::from_reader(&mut rest)
            .map_err(|_| CredentialError::AuthenticatorData(format!("{what} is not valid CBOR")))?;
        let used = start.len().saturating_sub(rest.len());
        self.bytes = rest;
        Ok((value, start.get(..used).unwrap_or_default()))
    }
}

/// Parses authenticator data (see the module docs for the layout).
pub fn parse_authenticator_data(bytes: &[u8]) -> Result<AuthenticatorData, CredentialError> {
    let bad = |m: &str| CredentialError::AuthenticatorData(m.to_owned());
    let mut r = Reader { bytes };
    let rp_id_hash: [u8; 32] = r.array("rpIdHash")?;
    let [flags] = r.array::<1>("flags")?;
    let sign_count = u32::from_be_bytes(r.array("signCount")?);
    if flags & FLAG_BS != 0 && flags & FLAG_BE == 0 {
        return Err(bad("backed up (BS) but not backup eligible (BE)"));
    }
    let attested = if flags & FLAG_AT != 0 {
        let aaguid = Aaguid(r.array("AAGUID")?);
        let len = usize::from(u16::from_be_bytes(r.array("credential id length")?));
        if len == 0 || len > MAX_CREDENTIAL_ID_BYTES {
            return Err(bad("credential id length out of range"));
        }
        let credential_id = r.take(len, "credential id")?.to_vec();
        let (key, key_bytes) = r.cbor("credential public key")?;
        let (key_type, algorithm) = cose_key_type_and_alg(&key)?;
        Some(AttestedCredential {
            aaguid,
            credential_id,
            key_type,
            algorithm,
            public_key: key_bytes.to_vec(),
        })
    } else {
        None
    };
    if flags & FLAG_ED != 0 {
        match r.cbor("extensions")?.0 {
            Cbor::Map(_) => {}
            _ => return Err(bad("extensions are not a CBOR map")),
        }
    }
    if !r.bytes.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(AuthenticatorData {
        rp_id_hash,
        flags,
        sign_count,
        attested,
    })
}

/// `kty` (label 1) and `alg` (label 3) of a COSE_Key map.
fn cose_key_type_and_alg(key: &Cbor) -> Result<(i128, i128), CredentialError> {
    let bad = |m: &str| CredentialError::AuthenticatorData(m.to_owned());
    let Cbor::Map(entries) = key else {
        return Err(bad("the credential public key is not a COSE_Key map"));
    };
    let label = |n: i128| {
        entries.iter().find_map(|(k, v)| match (k, v) {
            (Cbor::Integer(k), Cbor::Integer(v)) if i128::from(*k) == n => Some(i128::from(*v)),
            _ => None,
        })
    };
    match (label(1), label(3)) {
        (Some(kty), Some(alg)) => Ok((kty, alg)),
        _ => Err(bad("the credential public key lacks kty or alg")),
    }
}

/// A credential public key, as far as signatures need it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CoseKey {
    /// `kty` 2: an elliptic-curve point.
    Ec2 { crv: i128, x: Vec<u8>, y: Vec<u8> },
    /// `kty` 3: RSA.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// `kty` 1: an octet key pair (Ed25519).
    Okp { crv: i128, x: Vec<u8> },
    /// Another key type.
    Other,
}

/// Reads the key parameters of a COSE_Key (RFC 9053 §7); a repeated label is an error.
fn cose_key(bytes: &[u8]) -> Result<CoseKey, AttestationError> {
    let bad = |m: &str| AttestationError::CredentialKey(m.to_owned());
    let mut rest = bytes;
    let value: Cbor = ciborium::de::from_reader(&mut rest).map_err(|_| bad("is not valid CBOR"))?;
    let Cbor::Map(entries) = value else {
        return Err(bad("is not a COSE_Key map"));
    };
    let label = |n: i128| -> Result<Option<&Cbor>, AttestationError> {
        let mut found = entries
            .iter()
            .filter(|(k, _)| matches!(k, Cbor::Integer(k) if i128::from(*k) == n));
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Ok(Some(v)),
            (None, _) => Ok(None),
            (Some(_), Some(_)) => Err(bad("repeats a label")),
        }
    };
    let int = |n: i128, what: &str| match label(n)? {
        Some(Cbor::Integer(v)) => Ok(i128::from(*v)),
        _ => Err(bad(&format!("has no integer {what}"))),
    };
    let bytes = |n: i128, what: &str| match label(n)? {
        Some(Cbor::Bytes(v)) => Ok(v.clone()),
        _ => Err(bad(&format!("has no byte-string {what}"))),
    };
    Ok(match int(1, "kty")? {
        2 => CoseKey::Ec2 {
            crv: int(-1, "crv")?,
            x: bytes(-2, "x")?,
            y: bytes(-3, "y (compressed points are not supported)")?,
        },
        3 => CoseKey::Rsa {
            n: bytes(-1, "n")?,
            e: bytes(-2, "e")?,
        },
        1 => CoseKey::Okp {
            crv: int(-1, "crv")?,
            x: bytes(-2, "x")?,
        },
        _ => CoseKey::Other,
    })
}

/// SHA-256.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// The host of an origin: `https://app.example.com:8443` → `app.example.com`,
/// `http://[::1]:3000` → `[::1]`.
pub fn origin_host(origin: &Origin) -> &str {
    let text = origin.as_str();
    let rest = text.split_once("://").map_or(text, |(_, r)| r);
    if rest.starts_with('[') {
        return rest.find(']').and_then(|i| rest.get(..=i)).unwrap_or(rest);
    }
    rest.rsplit_once(':').map_or(rest, |(host, _)| host)
}

/// Whether `rp_id` may serve a page on `host`: the host itself or a parent domain of it
/// (WebAuthn's "registrable domain suffix"; the public suffix list is not consulted, the
/// configured RP IDs are the deployer's).
pub fn rp_id_serves_host(rp_id: &str, host: &str) -> bool {
    !rp_id.is_empty()
        && (host == rp_id
            || host
                .strip_suffix(rp_id)
                .is_some_and(|parent| parent.ends_with('.')))
}

/// The accepted RP ID that may serve `host` and whose SHA-256 is `rp_id_hash`, if any.
pub fn rp_id_for<'a>(rp_id_hash: &[u8; 32], host: &str, rp_ids: &'a [String]) -> Option<&'a str> {
    rp_ids
        .iter()
        .map(String::as_str)
        .find(|id| rp_id_serves_host(id, host) && sha256(id.as_bytes()) == *rp_id_hash)
}

/// The certificates the deployer trusts to vouch for authenticator models (roots of
/// attestation chains, e.g. from the FIDO Metadata Service). `Debug` shows the count.
#[derive(Clone, Default)]
pub struct AttestationRoots {
    anchors: Vec<TrustAnchor<'static>>,
}

impl AttestationRoots {
    /// Reads every `CERTIFICATE` block of PEM text (other block types are skipped; text
    /// whose line breaks were written as the two characters `\n` is read too). Text
    /// without a certificate, an unreadable block or a certificate that cannot be a trust
    /// anchor is an error.
    pub fn from_pem(text: &[u8]) -> Result<AttestationRoots, String> {
        let unescaped;
        let text = if !text.contains(&b'\n') && text.windows(2).any(|w| w == b"\\n") {
            unescaped = String::from_utf8_lossy(text).replace("\\n", "\n");
            unescaped.as_bytes()
        } else {
            text
        };
        let mut anchors = Vec::new();
        for (i, item) in CertificateDer::pem_slice_iter(text).enumerate() {
            let n = i + 1;
            let der = item.map_err(|e| format!("PEM certificate {n} is not readable: {e}"))?;
            let anchor = webpki::anchor_from_trusted_cert(&der)
                .map_err(|e| format!("PEM certificate {n} cannot be a root: {e}"))?;
            anchors.push(anchor.to_owned());
        }
        if anchors.is_empty() {
            return Err("holds no PEM CERTIFICATE block".to_owned());
        }
        Ok(AttestationRoots { anchors })
    }

    /// Adds other roots.
    pub fn extend(&mut self, other: AttestationRoots) {
        self.anchors.extend(other.anchors);
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// The trust anchors.
    pub fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }
}

impl fmt::Debug for AttestationRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttestationRoots({})", self.anchors.len())
    }
}

/// What the attestation statement proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationTrust {
    /// The signature verifies with the attestation certificate, which meets its format's
    /// requirements (for `packed`, WebAuthn §8.2.1 and the AAGUID extension), and whose
    /// chain ends in one of the [`AttestationRoots`]. Only this proves the AAGUID and the
    /// flags.
    Verified,
    /// The signature verifies with the attestation certificate, but its chain does not end
    /// in a configured root (why): anyone can make a CA, so this proves nothing about the
    /// model.
    Untrusted(String),
    /// `packed` self attestation: signed with the credential's own key, proving possession
    /// of it and nothing about the authenticator.
    SelfAttested,
    /// `none`: nothing to verify.
    None,
    /// A format or algorithm this gate does not verify (which).
    Unsupported(String),
}

impl AttestationTrust {
    /// The word the endpoint reports: `verified`, `untrusted`, `self`, `none`,
    /// `unsupported`.
    pub fn label(&self) -> &'static str {
        match self {
            AttestationTrust::Verified => "verified",
            AttestationTrust::Untrusted(_) => "untrusted",
            AttestationTrust::SelfAttested => "self",
            AttestationTrust::None => "none",
            AttestationTrust::Unsupported(_) => "unsupported",
        }
    }
}

/// Accepts any extended key usage: FIDO attestation certificates carry none that WebAuthn
/// defines for `packed` or `fido-u2f` (a malformed EKU extension is still refused).
struct AnyExtendedKeyUsage;

impl ExtendedKeyUsageValidator for AnyExtendedKeyUsage {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

/// Verifies the attestation statement of a parsed registration against `client_data_json`
/// (the exact bytes whose SHA-256 the authenticator signed) and the deployer's roots, at
/// `now`. `Ok` says how much was proved; `Err` is a statement that is there and wrong.
///
/// Does not check `rpIdHash` ([`rp_id_for`]), the origin, the flags or the challenge.
pub fn verify_attestation(
    attestation: &Attestation,
    client_data_json: &[u8],
    roots: &AttestationRoots,
    now: UnixTime,
) -> Result<AttestationTrust, AttestationError> {
    let credential = attestation
        .auth_data
        .attested
        .as_ref()
        .ok_or(AttestationError::NoCredential)?;
    let client_data_hash = sha256(client_data_json);
    match &attestation.statement {
        Statement::None => Ok(AttestationTrust::None),
        Statement::Unsupported => Ok(AttestationTrust::Unsupported(format!(
            "attestation format {} is not verified here",
            attestation.format
        ))),
        Statement::Packed { alg, sig, x5c } => {
            let mut signed = Vec::with_capacity(attestation.auth_data_bytes.len() + 32);
            signed.extend_from_slice(&attestation.auth_data_bytes);
            signed.extend_from_slice(&client_data_hash);
            let Some((leaf, intermediates)) = x5c.split_first() else {
                return verify_self(*alg, credential, &signed, sig);
            };
            let Some(algorithm) = certificate_algorithm(*alg) else {
                return Ok(AttestationTrust::Unsupported(format!(
                    "packed attestation alg {alg} is not supported"
                )));
            };
            let leaf_der = CertificateDer::from(leaf.as_slice());
            let end_entity = end_entity(&leaf_der)?;
            check_signature(&end_entity, algorithm, &signed, sig)?;
            check_packed_certificate(leaf, credential.aaguid)?;
            Ok(chain(&end_entity, intermediates, roots, now))
        }
        Statement::FidoU2f { sig, certificate } => {
            if credential.aaguid.0 != [0u8; 16] {
                return Err(AttestationError::U2fAaguid(credential.aaguid));
            }
            let (x, y) = match cose_key(&credential.public_key)? {
                CoseKey::Ec2 { crv: 1, x, y } if x.len() == 32 && y.len() == 32 => (x, y),
                _ => {
                    return Err(AttestationError::CredentialKey(
                        "of a fido-u2f attestation must be a P-256 key".to_owned(),
                    ));
                }
            };
            let mut signed = Vec::with_capacity(1 + 32 + 32 + credential.credential_id.len() + 65);
            signed.push(0x00);
            signed.extend_from_slice(&attestation.auth_data.rp_id_hash);
            signed.extend_from_slice(&client_data_hash);
            signed.extend_from_slice(&credential.credential_id);
            signed.push(0x04);
            signed.extend_from_slice(&x);
            signed.extend_from_slice(&y);
            let der = CertificateDer::from(certificate.as_slice());
            let end_entity = end_entity(&der)?;
            check_signature(
                &end_entity,
                webpki::aws_lc_rs::ECDSA_P256_SHA256,
                &signed,
                sig,
            )?;
            Ok(chain(&end_entity, &[], roots, now))
        }
    }
}

/// The certificate signature algorithm for a COSE `alg` of a `packed` full attestation.
fn certificate_algorithm(alg: i64) -> Option<&'static dyn SignatureVerificationAlgorithm> {
    use webpki::aws_lc_rs as a;
    Some(match alg {
        -7 => a::ECDSA_P256_SHA256,
        -35 => a::ECDSA_P384_SHA384,
        -36 => a::ECDSA_P521_SHA512,
        -257 => a::RSA_PKCS1_2048_8192_SHA256,
        -258 => a::RSA_PKCS1_2048_8192_SHA384,
        -259 => a::RSA_PKCS1_2048_8192_SHA512,
        -37 => a::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        -38 => a::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        -39 => a::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        -8 => a::ED25519,
        _ => return None,
    })
}

fn end_entity<'a>(der: &'a CertificateDer<'a>) -> Result<EndEntityCert<'a>, AttestationError> {
    EndEntityCert::try_from(der)
        .map_err(|e| AttestationError::Certificate(format!("is not readable ({e})")))
}

fn check_signature(
    certificate: &EndEntityCert<'_>,
    algorithm: &dyn SignatureVerificationAlgorithm,
    signed: &[u8],
    signature: &[u8],
) -> Result<(), AttestationError> {
    certificate
        .verify_signature(algorithm, signed, signature)
        .map_err(|e| match e {
            webpki::Error::InvalidSignatureForPublicKey => AttestationError::BadSignature,
            other => AttestationError::Certificate(format!(
                "has a key that cannot check this signature ({other})"
            )),
        })
}

/// The chain from the attestation certificate through `intermediates` to a root.
fn chain(
    end_entity: &EndEntityCert<'_>,
    intermediates: &[Vec<u8>],
    roots: &AttestationRoots,
    now: UnixTime,
) -> AttestationTrust {
    if roots.is_empty() {
        return AttestationTrust::Untrusted(
            "no attestation roots are configured (ATTESTATION_ROOTS)".to_owned(),
        );
    }
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    match end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        roots.anchors(),
        &intermediates,
        now,
        AnyExtendedKeyUsage,
        None,
        None,
    ) {
        Ok(_) => AttestationTrust::Verified,
        Err(e) => AttestationTrust::Untrusted(format!(
            "the attestation certificate chain does not end in a configured root ({e})"
        )),
    }
}

/// WebAuthn §8.2.1: version 3; `Subject-C` a two-letter country, `Subject-O` and
/// `Subject-CN` present, `Subject-OU` the literal "Authenticator Attestation"; not a CA;
/// the `id-fido-gen-ce-aaguid` extension, when present, not critical and naming the
/// authenticator data's AAGUID.
fn check_packed_certificate(der: &[u8], aaguid: Aaguid) -> Result<(), AttestationError> {
    let bad = |m: &str| AttestationError::Certificate(m.to_owned());
    let (rest, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|_| bad("is not readable X.509"))?;
    if !rest.is_empty() {
        return Err(bad("has trailing bytes"));
    }
    if cert.version() != X509Version::V3 {
        return Err(bad("must be X.509 version 3"));
    }
    let subject = cert.subject();
    fn texts<'a>(
        attrs: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
    ) -> Result<Vec<&'a str>, AttestationError> {
        attrs
            .map(|a| a.as_str().map(str::trim))
            .collect::<Result<Vec<&str>, _>>()
            .map_err(|_| {
                AttestationError::Certificate(
                    "has a subject attribute that is not a string".to_owned(),
                )
            })
    }
    let ou = texts(subject.iter_organizational_unit())?;
    if ou != [ATTESTATION_OU] {
        return Err(bad(
            "must have the subject OU \"Authenticator Attestation\" (WebAuthn §8.2.1)",
        ));
    }
    let country = texts(subject.iter_country())?;
    if !matches!(country.as_slice(), [c] if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(bad("must have a two-letter subject C (WebAuthn §8.2.1)"));
    }
    for (values, what) in [
        (texts(subject.iter_organization())?, "O"),
        (texts(subject.iter_common_name())?, "CN"),
    ] {
        if values.is_empty() || values.iter().any(|v| v.is_empty()) {
            return Err(AttestationError::Certificate(format!(
                "must have a subject {what} (WebAuthn §8.2.1)"
            )));
        }
    }
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => return Err(bad("must not be a CA (basic constraints)")),
        Ok(_) => {}
        Err(_) => return Err(bad("has unreadable basic constraints")),
    }
    let mut named = None;
    for ext in cert
        .extensions()
        .iter()
        .filter(|e| e.oid.as_bytes() == AAGUID_EXTENSION_OID)
    {
        if named.is_some() {
            return Err(bad("has the AAGUID extension twice"));
        }
        if ext.critical {
            return Err(bad(
                "marks the AAGUID extension critical (WebAuthn §8.2.1: it must not be)",
            ));
        }
        let value = match ext.value {
            [0x04, 0x10, rest @ ..] => <[u8; 16]>::try_from(rest).ok(),
            _ => None,
        };
        named = Some(Aaguid(value.ok_or_else(|| {
            bad("has an AAGUID extension that is not a 16-byte OCTET STRING")
        })?));
    }
    match named {
        Some(certificate) if certificate != aaguid => Err(AttestationError::AaguidMismatch {
            certificate,
            authenticator: aaguid,
        }),
        _ => Ok(()),
    }
}

/// `packed` self attestation: `alg` must be the credential key's, and the signature must
/// verify with that key.
fn verify_self(
    alg: i64,
    credential: &AttestedCredential,
    signed: &[u8],
    signature: &[u8],
) -> Result<AttestationTrust, AttestationError> {
    if i128::from(alg) != credential.algorithm {
        return Err(AttestationError::SelfAlgorithm {
            statement: alg,
            key: credential.algorithm,
        });
    }
    let key = cose_key(&credential.public_key)?;
    let misfit = || AttestationError::CredentialKey(format!("does not fit its alg {alg}"));
    let ec = |algorithm: &'static sig::EcdsaVerificationAlgorithm, curve: i128, size: usize| {
        match &key {
            CoseKey::Ec2 { crv, x, y } if *crv == curve && x.len() == size && y.len() == size => {
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Ok(UnparsedPublicKey::new(algorithm, point)
                    .verify(signed, signature)
                    .is_ok())
            }
            _ => Err(misfit()),
        }
    };
    let rsa = |params: &'static RsaParameters| match &key {
        CoseKey::Rsa { n, e } => Ok(RsaPublicKeyComponents { n, e }
            .verify(params, signed, signature)
            .is_ok()),
        _ => Err(misfit()),
    };
    let verified = match alg {
        -7 => ec(&sig::ECDSA_P256_SHA256_ASN1, 1, 32)?,
        -35 => ec(&sig::ECDSA_P384_SHA384_ASN1, 2, 48)?,
        -36 => ec(&sig::ECDSA_P521_SHA512_ASN1, 3, 66)?,
        -257 => rsa(&sig::RSA_PKCS1_2048_8192_SHA256)?,
        -258 => rsa(&sig::RSA_PKCS1_2048_8192_SHA384)?,
        -259 => rsa(&sig::RSA_PKCS1_2048_8192_SHA512)?,
        -37 => rsa(&sig::RSA_PSS_2048_8192_SHA256)?,
        -38 => rsa(&sig::RSA_PSS_2048_8192_SHA384)?,
        -39 => rsa(&sig::RSA_PSS_2048_8192_SHA512)?,
        -8 => match &key {
            CoseKey::Okp { crv: 6, x } if x.len() == 32 => UnparsedPublicKey::new(&sig::ED25519, x)
                .verify(signed, signature)
                .is_ok(),
            _ => return Err(misfit()),
        },
        _ => {
            return Ok(AttestationTrust::Unsupported(format!(
                "self attestation alg {alg} is not supported"
            )));
        }
    };
    if verified {
        Ok(AttestationTrust::SelfAttested)
    } else {
        Err(AttestationError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn base64_in_every_spelling() {
        let bytes = [0xfbu8, 0xff, 0x01, 0x02];
        for text in ["+/8BAg==", "+/8BAg", "-_8BAg", "-_8BAg==", " +/8BAg== "] {
            assert_eq!(decode_base64("x", text).unwrap(), bytes, "{text}");
        }
        for bad in ["***", "+/8BAg===", "a"] {
            assert!(decode_base64("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backed_up_without_eligibility_is_malformed() {
        let mut data = vec![0u8; 32];
        data.push(FLAG_UP | FLAG_BS);
        data.extend_from_slice(&[0, 0, 0, 0]);
        assert!(parse_authenticator_data(&data).is_err());
        data[32] = FLAG_UP | FLAG_BS | FLAG_BE;
        let parsed = parse_authenticator_data(&data).unwrap();
        assert!(parsed.backup_state() && parsed.backup_eligible());
        assert!(parsed.attested.is_none());
    }

    #[test]
    fn origin_hosts() {
        for (origin, host) in [
            ("https://app.example.com", "app.example.com"),
            ("https://app.example.com:8443", "app.example.com"),
            ("http://localhost:3000", "localhost"),
            ("http://[::1]:3000", "[::1]"),
            ("http://[::1]", "[::1]"),
        ] {
            assert_eq!(
                origin_host(&Origin::parse(origin).unwrap()),
                host,
                "{origin}"
            );
        }
    }

    #[test]
    fn rp_ids_serve_their_host_and_subdomains_only() {
        assert!(rp_id_serves_host("example.com", "example.com"));
        assert!(rp_id_serves_host("example.com", "app.example.com"));
        assert!(rp_id_serves_host("example.com", "a.b.example.com"));
        assert!(!rp_id_serves_host("example.com", "badexample.com"));
        assert!(!rp_id_serves_host("app.example.com", "example.com"));
        assert!(!rp_id_serves_host("", "example.com"));
        let ids = vec!["example.com".to_owned(), "localhost".to_owned()];
        let hash = sha256(b"example.com");
        assert_eq!(
            rp_id_for(&hash, "app.example.com", &ids),
            Some("example.com")
        );
        assert_eq!(rp_id_for(&hash, "localhost", &ids), None);
        assert_eq!(
            rp_id_for(&sha256(b"evil.com"), "app.example.com", &ids),
            None
        );
    }

    #[test]
    fn the_aaguid_extension_oid_is_1_3_6_1_4_1_45724_1_1_4() {
        let oid = x509_parser::der_parser::oid::Oid::new(AAGUID_EXTENSION_OID.into());
        assert_eq!(oid.to_id_string(), "1.3.6.1.4.1.45724.1.1.4");
    }

    #[test]
    fn cose_keys_are_read_strictly() {
        let enc = |v: Cbor| {
            let mut out = Vec::new();
            ciborium::ser::into_writer(&v, &mut out).unwrap();
            out
        };
        let i = |n: i64| Cbor::Integer(n.into());
        let ec = enc(Cbor::Map(vec![
            (i(1), i(2)),
            (i(3), i(-7)),
            (i(-1), i(1)),
            (i(-2), Cbor::Bytes(vec![1; 32])),
            (i(-3), Cbor::Bytes(vec![2; 32])),
        ]));
        assert!(matches!(
            cose_key(&ec).unwrap(),
            CoseKey::Ec2 { crv: 1, .. }
        ));
        let compressed = enc(Cbor::Map(vec![
            (i(1), i(2)),
            (i(-1), i(1)),
            (i(-2), Cbor::Bytes(vec![1; 32])),
            (i(-3), Cbor::Bool(true)),
        ]));
        assert!(cose_key(&compressed).is_err());
        let repeated = enc(Cbor::Map(vec![(i(1), i(2)), (i(1), i(3))]));
        assert!(cose_key(&repeated).is_err());
        assert!(cose_key(&[0xff]).is_err());
        assert_eq!(
            cose_key(&enc(Cbor::Map(vec![(i(1), i(4))]))).unwrap(),
            CoseKey::Other
        );
    }

    #[test]
    fn roots_need_a_certificate() {
        assert!(AttestationRoots::from_pem(b"").is_err());
        assert!(AttestationRoots::from_pem(b"not pem").is_err());
        assert!(
            AttestationRoots::from_pem(
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
        assert_eq!(
            format!("{:?}", AttestationRoots::default()),
            "AttestationRoots(0)"
        );
    }
}

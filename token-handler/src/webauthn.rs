//! Reading a WebAuthn registration: `clientDataJSON`, the CBOR attestation object and the
//! authenticator data inside it, with bounds checks on every read.
//!
//! This is a policy gate before a passkey is registered with Cognito (which verifies the
//! registration itself): it reads which authenticator made the credential (AAGUID) and its
//! flags. It does not verify the attestation statement's signature or the challenge.
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

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ciborium::Value as Cbor;
use serde::Deserialize;
use thiserror::Error;

use crate::config::Aaguid;

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

/// The fields of `clientDataJSON` the gate uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClientData {
    /// `webauthn.create` for a registration.
    #[serde(rename = "type")]
    pub kind: String,
    /// The page's origin.
    pub origin: String,
    /// The challenge (base64url), not checked here.
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
}

/// A parsed attestation object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The attestation statement format (`none`, `packed`, ...).
    pub format: String,
    /// The authenticator data.
    pub auth_data: AuthenticatorData,
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

/// Parses a CBOR attestation object `{"fmt", "attStmt", "authData"}` and its
/// authenticator data. Trailing bytes after the map are refused.
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
    let field = |name: &str| {
        let mut found = entries
            .iter()
            .filter(|(k, _)| matches!(k, Cbor::Text(t) if t == name));
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Ok(Some(v)),
            (None, _) => Ok(None),
            (Some(_), Some(_)) => Err(CredentialError::Attestation(format!("repeated {name}"))),
        }
    };
    let format = match field("fmt")? {
        Some(Cbor::Text(t)) if !t.is_empty() && t.len() <= 64 => t.clone(),
        Some(_) => return Err(bad("fmt is not a short text string")),
        None => return Err(bad("no fmt")),
    };
    match field("attStmt")? {
        Some(Cbor::Map(_)) => {}
        Some(_) => return Err(bad("attStmt is not a map")),
        None => return Err(bad("no attStmt")),
    }
    let auth_data = match field("authData")? {
        Some(Cbor::Bytes(b)) => parse_authenticator_data(b)?,
        Some(_) => return Err(bad("authData is not a byte string")),
        None => return Err(bad("no authData")),
    };
    Ok(Attestation { format, auth_data })
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

    /// One CBOR item, consuming exactly its bytes.
    fn cbor(&mut self, what: &str) -> Result<Cbor, CredentialError> {
        if self.bytes.is_empty() {
            return Err(CredentialError::AuthenticatorData(format!(
                "truncated in {what}"
            )));
        }
        let mut rest = self.bytes;
        let value: Cbor = ciborium::de::from_reader(&mut rest)
            .map_err(|_| CredentialError::AuthenticatorData(format!("{what} is not valid CBOR")))?;
        self.bytes = rest;
        Ok(value)
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
        let key = r.cbor("credential public key")?;
        let (key_type, algorithm) = cose_key_type_and_alg(&key)?;
        Some(AttestedCredential {
            aaguid,
            credential_id,
            key_type,
            algorithm,
        })
    } else {
        None
    };
    if flags & FLAG_ED != 0 {
        match r.cbor("extensions")? {
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
}

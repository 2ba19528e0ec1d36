//! Splitting and decoding a compact JWS, before any key is involved.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::claims::RawClaims;
use crate::error::VerifyError;

/// The longest token accepted, checked before anything is decoded. Cognito tokens are
/// 1–2 KB; a user in many groups can reach a few KB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
const MAX_HEADER_BYTES: usize = 1024;
const MAX_KID_BYTES: usize = 256;
/// An RS256 signature is as long as the modulus: 256 bytes for 2048 bits, 1024 for 8192.
const MAX_SIGNATURE_BYTES: usize = 1024;

/// A token split into its parts, header and claims parsed, signature decoded.
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    /// `base64(header) . base64(payload)`: the signed bytes.
    pub signing_input: &'a [u8],
    pub kid: String,
    pub claims: RawClaims,
    /// The claims the caller asked to keep (see [`crate::claims::kept_claims`]).
    pub kept: Vec<(String, serde_json::Value)>,
    pub signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: serde_json::Value,
    #[serde(default)]
    kid: Option<serde_json::Value>,
    #[serde(default)]
    typ: Option<serde_json::Value>,
    #[serde(default)]
    jku: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    jwk: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    x5u: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    x5c: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// Decodes base64url without padding. The engine itself refuses every symbol outside the
/// URL-safe alphabet (`+`, `/`, white space), any `=` and non-zero trailing bits, so no
/// separate alphabet pass is needed.
fn b64(part: &[u8], what: &'static str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Malformed(what))
}

/// Whether `json` opens a JSON object. serde's derive would also map a JSON array onto
/// a struct's fields by position, but a JOSE header and a claims set must be objects
/// (RFC 7515 §4, RFC 7519 §7.2).
fn is_json_object(json: &[u8]) -> bool {
    json.trim_ascii_start().first() == Some(&b'{')
}

/// Splits, decodes and parses a token. Checks sizes first, then the header (RS256 only,
/// no embedded keys), then the claims' JSON types, and keeps the claims named in `keep`.
/// The signature is not checked here.
pub(crate) fn decode<'t>(token: &'t str, keep: &[String]) -> Result<Decoded<'t>, VerifyError> {
    let bytes = token.as_bytes();
    if bytes.is_empty() {
        return Err(VerifyError::Missing);
    }
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::TooLarge(bytes.len()));
    }
    let mut parts = bytes.split(|b| *b == b'.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("not three segments"));
    };
    if h.is_empty() || p.is_empty() {
        return Err(VerifyError::Malformed("empty segment"));
    }
    if s.is_empty() {
        return Err(VerifyError::BadSignature);
    }
    if h.len() > MAX_HEADER_BYTES * 4 / 3 + 4 {
        return Err(VerifyError::Malformed("header too large"));
    }
    if s.len() > MAX_SIGNATURE_BYTES * 4 / 3 + 4 {
        return Err(VerifyError::BadSignature);
    }

    let header_json = b64(h, "header is not base64url")?;
    if !is_json_object(&header_json) {
        return Err(VerifyError::Malformed("header is not a JSON object"));
    }
    let header: Header = serde_json::from_slice(&header_json)
        .map_err(|_| VerifyError::Malformed("header is not a JSON object"))?;
    match &header.alg {
        serde_json::Value::String(alg) if alg == "RS256" => {}
        _ => return Err(VerifyError::UnsupportedAlgorithm),
    }
    for (present, name) in [
        (header.jku.is_some(), "jku"),
        (header.jwk.is_some(), "jwk"),
        (header.x5u.is_some(), "x5u"),
        (header.x5c.is_some(), "x5c"),
        (header.crit.is_some(), "crit"),
    ] {
        if present {
            return Err(VerifyError::ForbiddenHeader(name));
        }
    }
    match &header.typ {
        None => {}
        Some(serde_json::Value::String(t)) if t.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return Err(VerifyError::Malformed("typ is not JWT")),
    }
    let kid = match header.kid {
        Some(serde_json::Value::String(k)) if !k.is_empty() && k.len() <= MAX_KID_BYTES => k,
        Some(serde_json::Value::String(_)) => return Err(VerifyError::Malformed("bad kid")),
        Some(_) => return Err(VerifyError::Malformed("kid is not a string")),
        None => return Err(VerifyError::Malformed("no kid")),
    };

    let payload = b64(p, "payload is not base64url")?;
    if !is_json_object(&payload) {
        return Err(VerifyError::Malformed("payload is not a JSON object"));
    }
    let claims: RawClaims = serde_json::from_slice(&payload).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            VerifyError::Malformed("payload is not JSON")
        } else {
            let mut msg = e.to_string();
            crate::error::truncate_on_char_boundary(&mut msg, 160);
            VerifyError::InvalidClaims(msg)
        }
    })?;

    let kept = if keep.is_empty() {
        Vec::new()
    } else {
        crate::claims::kept_claims(&payload, keep).map_err(|e| {
            let mut msg = e.to_string();
            crate::error::truncate_on_char_boundary(&mut msg, 160);
            VerifyError::InvalidClaims(msg)
        })?
    };

    let signature = b64(s, "signature is not base64url").map_err(|_| VerifyError::BadSignature)?;
    let signing_input = &bytes[..h.len() + 1 + p.len()];
    Ok(Decoded {
        signing_input,
        kid,
        claims,
        kept,
        signature,
    })
}

#[cfg(test)]
mod b64_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn only_unpadded_canonical_base64url_decodes() {
        assert_eq!(b64(b"eyJ9", "x").unwrap(), b"{\"}");
        assert_eq!(b64(b"-_-_", "x").unwrap(), [0xfb, 0xff, 0xbf]);
        for bad in [
            &b"eyJ9="[..],
            b"ey+9",
            b"ey/9",
            b"ey J9",
            b"eyJ9\n",
            b"e",
            b"eyK",
            b"ey\xc3\xa9",
        ] {
            assert!(b64(bad, "x").is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn enc(v: &str) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    const CLAIMS: &str =
        r#"{"sub":"s","iss":"i","token_use":"access","exp":2000000000,"iat":1000}"#;

    #[test]
    fn decodes_well_formed() {
        let t = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256","kid":"k"}"#),
            enc(CLAIMS),
            enc("sig")
        );
        let d = decode(&t, &[]).unwrap();
        assert_eq!(d.kid, "k");
        assert_eq!(d.claims.sub, "s");
        assert_eq!(d.signature, b"sig");
    }

    #[test]
    fn rejects_padding_and_standard_alphabet() {
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#);
        let t = format!("{h}=.{}.{}", enc(CLAIMS), enc("sig"));
        assert!(matches!(decode(&t, &[]), Err(VerifyError::Malformed(_))));
        let t = format!("{h}.{}+/.{}", enc(CLAIMS), enc("sig"));
        assert!(matches!(decode(&t, &[]), Err(VerifyError::Malformed(_))));
    }

    #[test]
    fn string_exp_is_rejected() {
        let c = r#"{"sub":"s","iss":"i","token_use":"access","exp":"2000000000","iat":1000}"#;
        let t = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256","kid":"k"}"#),
            enc(c),
            enc("sig")
        );
        assert!(matches!(
            decode(&t, &[]),
            Err(VerifyError::InvalidClaims(_))
        ));
    }

    #[test]
    fn positional_arrays_are_not_objects() {
        let t = format!("{}.{}.{}", enc(r#"["RS256","k"]"#), enc(CLAIMS), enc("sig"));
        assert_eq!(
            decode(&t, &[]).unwrap_err(),
            VerifyError::Malformed("header is not a JSON object")
        );
        let t = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256","kid":"k"}"#),
            enc(r#"["s","i","access",2000000000,1000]"#),
            enc("sig")
        );
        assert_eq!(
            decode(&t, &[]).unwrap_err(),
            VerifyError::Malformed("payload is not a JSON object")
        );
    }

    #[test]
    fn duplicate_claim_is_rejected() {
        let c = r#"{"sub":"s","sub":"t","iss":"i","token_use":"access","exp":2000000000,"iat":1}"#;
        let t = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256","kid":"k"}"#),
            enc(c),
            enc("sig")
        );
        assert!(matches!(
            decode(&t, &[]),
            Err(VerifyError::InvalidClaims(_))
        ));
    }
}

//! Small helpers: randomness, identifiers, form parsing, query building, HTML escaping.

use std::collections::HashMap;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

use crate::IdpError;

/// `N` random bytes from the system generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], IdpError> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| IdpError::Random)?;
    Ok(b)
}

/// A random version-4 UUID, as Cognito uses for codes and `jti`.
pub(crate) fn random_uuid() -> Result<String, IdpError> {
    Ok(format_uuid(random_bytes::<16>()?, 4))
}

/// An opaque refresh token: 48 random bytes, base64url (64 characters).
pub(crate) fn random_token() -> Result<String, IdpError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<48>()?))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Formats 16 bytes as a UUID of `version`, with the RFC 4122 variant bits.
pub(crate) fn format_uuid(mut b: [u8; 16], version: u8) -> String {
    b[6] = (b[6] & 0x0f) | (version << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Request parameters (query string or form body). Parameters sent without a value are
/// treated as omitted (RFC 6749 §3.1); a parameter sent twice is remembered as repeated.
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (never fails; bad UTF-8 is replaced).
    pub(crate) fn parse(bytes: &[u8]) -> Params {
        let mut p = Params::default();
        for (k, v) in form_urlencoded::parse(bytes) {
            if v.is_empty() {
                continue;
            }
            if p.values.contains_key(k.as_ref()) {
                if !p.repeated.iter().any(|r| r == k.as_ref()) {
                    p.repeated.push(k.into_owned());
                }
            } else {
                p.values.insert(k.into_owned(), v.into_owned());
            }
        }
        p
    }

    /// The value of `name`, if sent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// True when `name` was sent more than once.
    pub(crate) fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }

    /// The first repeated parameter, if any.
    pub(crate) fn first_repeated(&self) -> Option<&str> {
        self.repeated.first().map(String::as_str)
    }
}

/// Why a form-encoded value could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum FormDecodeError {
    /// A `%` not followed by two hex digits.
    #[error("a `%` is not followed by two hex digits")]
    BadEscape,
    /// The decoded bytes are not UTF-8.
    #[error("the decoded bytes are not UTF-8")]
    NotUtf8,
}

/// Decodes one `application/x-www-form-urlencoded` value strictly: `+` is a space, `%XX` a
/// byte, and a broken `%` escape or bytes that are not UTF-8 are an error (unlike
/// [`Params::parse`], which keeps a broken body as it is: there the parameter checks decide).
pub(crate) fn form_decode_strict(s: &str) -> Result<String, FormDecodeError> {
    fn hex_digit(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(hex_digit);
                let lo = bytes.next().and_then(hex_digit);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(FormDecodeError::BadEscape),
                }
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| FormDecodeError::NotUtf8)
}

/// `base` with `pairs` appended to its query string (form-encoded).
pub(crate) fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let query = ser.finish();
    if query.is_empty() {
        return base.to_string();
    }
    let sep = if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    format!("{base}{sep}{query}")
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The inverse of [`html_escape`].
pub(crate) fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Constant-time equality of two secrets.
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn params_drop_empty_and_flag_repeats() {
        let p = Params::parse(b"a=1&b=&a=2&c=x%20y&d=%ZZ");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert!(p.get("d").is_some());
        assert!(p.is_repeated("a"));
        assert_eq!(p.first_repeated(), Some("a"));
    }

    #[test]
    fn strict_form_decoding() {
        for (encoded, decoded) in [
            ("l42%2Ddev", "l42-dev"),
            ("a+b%2bc%3A%25", "a b+c:%"),
            ("%C3%a9", "\u{e9}"),
            ("plain-_.*", "plain-_.*"),
            ("", ""),
        ] {
            assert_eq!(form_decode_strict(encoded).unwrap(), decoded, "{encoded}");
        }
        for bad in ["%", "%2", "%zz", "%%32", "a%2g", "%+1"] {
            assert_eq!(
                form_decode_strict(bad),
                Err(FormDecodeError::BadEscape),
                "{bad}"
            );
        }
        for bad in ["%FF", "%C3", "%C3%28"] {
            assert_eq!(
                form_decode_strict(bad),
                Err(FormDecodeError::NotUtf8),
                "{bad}"
            );
        }
    }

    #[test]
    fn query_building() {
        assert_eq!(
            with_query("http://x/cb", &[("code", "a b")]),
            "http://x/cb?code=a+b"
        );
        assert_eq!(
            with_query("http://x/cb?k=1", &[("s", "&")]),
            "http://x/cb?k=1&s=%26"
        );
        assert_eq!(with_query("http://x/cb?", &[("s", "1")]), "http://x/cb?s=1");
    }

    #[test]
    fn uuids_look_like_uuids() {
        let u = random_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, random_uuid().unwrap());
    }

    #[test]
    fn escaping() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

//! The session cookie's test vectors, shared with the edge functions.
//!
//! `vectors_file_is_current` builds the vectors deterministically (fixed secrets, session
//! ids and `now`), checks every case against its stated expectation with the Rust codec,
//! and compares them with `edge/test-vectors/session-cookie.json`: a missing file is
//! written; a different one fails the test unless `UPDATE_VECTORS=1` is set, which rewrites
//! it. It then reads the file back and verifies every case from the file itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use l42_core::session::{CookieKeys, KeyUsed, SessionId};
use serde::{Deserialize, Serialize};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../edge/test-vectors/session-cookie.json"
);
const NAME: &str = "__Host-l42_session";
/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
const CURRENT: &str = "l42-vectors-current-secret-0123456789abcdef";
const PREVIOUS: &str = "l42-vectors-previous-secret-0123456789abcdef";
const OTHER: &str = "l42-vectors-other-secret-0123456789abcdef012";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Vectors {
    format: String,
    cookie_name: String,
    now: i64,
    secrets: Secrets,
    cases: Vec<Case>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Secrets {
    current: String,
    previous: String,
    other: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Case {
    name: String,
    cookie_header: String,
    valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    why: String,
}

fn sid(seed: u8) -> SessionId {
    SessionId::from_bytes(&std::array::from_fn(|i| {
        (i as u8).wrapping_mul(37).wrapping_add(seed)
    }))
}

/// HMAC-SHA256, base64url without padding, of `message` under `secret`: computed here
/// independently of the codec, so that shape checks can be tested with a correct MAC.
fn mac(secret: &str, message: &str) -> String {
    use base64::Engine as _;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(aws_lc_rs::hmac::sign(&key, message.as_bytes()).as_ref())
}

/// `message.<mac of message>`: a value whose MAC is right whatever its shape.
fn signed(secret: &str, message: &str) -> String {
    format!("{message}.{}", mac(secret, message))
}

fn value(secret: &str, id: &SessionId, exp: i64) -> String {
    signed(secret, &format!("v1.{}.{exp}", id.as_str()))
}

fn valid(name: &str, header: String, id: &SessionId, exp: i64, key: KeyUsed, why: &str) -> Case {
    Case {
        name: name.into(),
        cookie_header: header,
        valid: true,
        session_id: Some(id.as_str().into()),
        expires: Some(exp),
        key: Some(key.as_str().into()),
        why: why.into(),
    }
}

fn invalid(name: &str, header: String, why: &str) -> Case {
    Case {
        name: name.into(),
        cookie_header: header,
        valid: false,
        session_id: None,
        expires: None,
        key: None,
        why: why.into(),
    }
}

fn replace_char(s: &str, at: usize, with: char) -> String {
    s.char_indices()
        .map(|(i, c)| if i == at { with } else { c })
        .collect()
}

fn build() -> Vectors {
    let exp = NOW + 3600;
    let (s1, s2, s3) = (sid(1), sid(2), sid(3));
    let good = value(CURRENT, &s1, exp);
    let good_prev = value(PREVIOUS, &s2, exp);
    let c = |v: &str| format!("{NAME}={v}");
    let mac_start = good.len() - 43;

    let cases = vec![
        valid(
            "valid_current_key",
            c(&good),
            &s1,
            exp,
            KeyUsed::Current,
            "signed with the current secret, expires in an hour",
        ),
        valid(
            "valid_previous_key",
            c(&good_prev),
            &s2,
            exp,
            KeyUsed::Previous,
            "signed with the previous secret: still accepted during key rotation",
        ),
        valid(
            "valid_expires_one_second_after_now",
            c(&value(CURRENT, &s3, NOW + 1)),
            &s3,
            NOW + 1,
            KeyUsed::Current,
            "exp = now + 1 is still in the future",
        ),
        valid(
            "valid_largest_expiry",
            c(&value(CURRENT, &s3, 999_999_999_999)),
            &s3,
            999_999_999_999,
            KeyUsed::Current,
            "12 digits is the longest expiry",
        ),
        invalid(
            "expired",
            c(&value(CURRENT, &s1, NOW - 1)),
            "exp = now - 1: the MAC is right but the session has expired",
        ),
        invalid(
            "expires_exactly_now",
            c(&value(CURRENT, &s1, NOW)),
            "exp <= now is expired",
        ),
        invalid(
            "expired_previous_key",
            c(&value(PREVIOUS, &s2, NOW - 3600)),
            "expired, signed with the previous secret",
        ),
        invalid(
            "tampered_mac",
            c(&replace_char(
                &good,
                mac_start + 10,
                if good.as_bytes()[mac_start + 10] == b'A' {
                    'B'
                } else {
                    'A'
                },
            )),
            "one character of the MAC changed",
        ),
        invalid(
            "tampered_expiry",
            c(&format!(
                "v1.{}.{}.{}",
                s1.as_str(),
                exp + 86_400,
                mac(CURRENT, &format!("v1.{}.{exp}", s1.as_str()))
            )),
            "the expiry was moved a day later, keeping the MAC of the original expiry",
        ),
        invalid(
            "tampered_session_id",
            c(&format!(
                "v1.{}.{exp}.{}",
                s3.as_str(),
                mac(CURRENT, &format!("v1.{}.{exp}", s1.as_str()))
            )),
            "another session id with the MAC of the first",
        ),
        invalid(
            "wrong_key",
            c(&value(OTHER, &s1, exp)),
            "signed with a secret that is neither current nor previous",
        ),
        invalid(
            "wrong_version_v2",
            c(&signed(CURRENT, &format!("v2.{}.{exp}", s1.as_str()))),
            "version v2 (with a correct MAC over the v2 text): only v1 exists",
        ),
        invalid(
            "wrong_version_uppercase",
            c(&signed(CURRENT, &format!("V1.{}.{exp}", s1.as_str()))),
            "the version is case-sensitive",
        ),
        invalid(
            "missing_mac",
            c(&format!("v1.{}.{exp}", s1.as_str())),
            "three parts: no MAC",
        ),
        invalid(
            "missing_session_id",
            c(&signed(CURRENT, &format!("v1.{exp}"))),
            "three parts: no session id",
        ),
        invalid(
            "empty_session_id",
            c(&signed(CURRENT, &format!("v1..{exp}"))),
            "an empty session id",
        ),
        invalid(
            "extra_part",
            c(&format!("{good}.x")),
            "five dot-separated parts",
        ),
        invalid(
            "trailing_dot",
            c(&format!("{good}.")),
            "a trailing dot makes an empty fifth part",
        ),
        invalid(
            "session_id_with_plus",
            c(&signed(
                CURRENT,
                &format!("v1.{}.{exp}", replace_char(s1.as_str(), 5, '+')),
            )),
            "`+` is standard base64, not base64url (MAC correct over the text)",
        ),
        invalid(
            "session_id_with_padding",
            c(&signed(CURRENT, &format!("v1.{}=.{exp}", s1.as_str()))),
            "a padded session id (44 characters; MAC correct over the text)",
        ),
        invalid(
            "session_id_too_short",
            c(&signed(
                CURRENT,
                &format!("v1.{}.{exp}", &s1.as_str()[..42]),
            )),
            "42 characters (MAC correct over the text)",
        ),
        invalid(
            "mac_with_padding",
            c(&format!("{good}=")),
            "the MAC with `=` padding",
        ),
        invalid(
            "mac_noncanonical_encoding",
            c(&{
                // The last character carries 4 bits and 2 zero bits; setting a zero bit
                // decodes to the same bytes in a lenient decoder, but the text differs.
                let last = good.as_bytes()[good.len() - 1];
                const ALPHABET: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let pos = ALPHABET.iter().position(|&b| b == last).unwrap();
                let other = ALPHABET[pos ^ 1] as char;
                replace_char(&good, good.len() - 1, other)
            }),
            "the MAC's last character with a non-zero padding bit: compare the text, not decoded bytes",
        ),
        invalid(
            "expiry_leading_zero",
            c(&signed(CURRENT, &format!("v1.{}.0{exp}", s1.as_str()))),
            "a leading zero (MAC correct over the text)",
        ),
        invalid(
            "expiry_zero",
            c(&signed(CURRENT, &format!("v1.{}.0", s1.as_str()))),
            "0 is a leading zero too",
        ),
        invalid(
            "expiry_13_digits",
            c(&signed(CURRENT, &format!("v1.{}.1{exp:012}", s1.as_str()))),
            "more than 12 digits (MAC correct over the text)",
        ),
        invalid(
            "expiry_negative",
            c(&signed(CURRENT, &format!("v1.{}.-{exp}", s1.as_str()))),
            "a sign is not a digit",
        ),
        invalid(
            "expiry_plus_sign",
            c(&signed(CURRENT, &format!("v1.{}.+{exp}", s1.as_str()))),
            "a sign is not a digit",
        ),
        invalid(
            "expiry_empty",
            c(&signed(CURRENT, &format!("v1.{}.", s1.as_str()))),
            "an empty expiry",
        ),
        invalid("empty_value", c(""), "the cookie is present but empty"),
        invalid("only_version", c("v1"), "just the version"),
        invalid("no_cookie_header", String::new(), "an empty Cookie header"),
        invalid("missing_cookie", "a=1; b=2".into(), "other cookies only"),
        invalid(
            "other_names_only",
            format!("l42_session={good}; __Secure-l42_session={good}; __host-l42_session={good}"),
            "valid values under other names (names match exactly and case-sensitively)",
        ),
        invalid(
            "name_as_prefix",
            format!("{NAME}x={good}; x{NAME}={good}"),
            "names that merely contain the cookie name",
        ),
        valid(
            "duplicate_first_bad_second_good",
            format!("{}; {}", c(&value(OTHER, &s3, exp)), c(&good)),
            &s1,
            exp,
            KeyUsed::Current,
            "several cookies with the name: the first that verifies wins",
        ),
        valid(
            "duplicate_first_expired_second_good",
            format!(
                "{}; a=1; {}",
                c(&value(CURRENT, &s3, NOW - 5)),
                c(&good_prev)
            ),
            &s2,
            exp,
            KeyUsed::Previous,
            "an expired duplicate does not hide a good one",
        ),
        valid(
            "duplicate_first_good_second_good",
            format!("{}; {}", c(&good_prev), c(&good)),
            &s2,
            exp,
            KeyUsed::Previous,
            "two good ones: the first in header order",
        ),
        invalid(
            "duplicate_both_bad",
            format!(
                "{}; {}",
                c(&value(OTHER, &s1, exp)),
                c(&value(CURRENT, &s1, NOW))
            ),
            "one signed with another secret, one expired",
        ),
        valid(
            "among_other_cookies",
            format!("theme=dark; {}; _ga=GA1.2.3.4", c(&good)),
            &s1,
            exp,
            KeyUsed::Current,
            "the cookie in the middle of others",
        ),
        valid(
            "among_other_cookies_with_spaces",
            format!("  theme=dark ;   {}   ;lang=en  ", c(&good)),
            &s1,
            exp,
            KeyUsed::Current,
            "spaces around `;` and at both ends are trimmed",
        ),
        valid(
            "empty_pieces_and_junk",
            format!("; ;junk; ={good}; {};;", c(&good)),
            &s1,
            exp,
            KeyUsed::Current,
            "empty pieces, a piece without `=`, and one with an empty name are skipped",
        ),
        invalid(
            "value_with_equals_suffix",
            format!("{}=x", c(&good)),
            "a cookie splits at its first `=`: the value here ends in `=x`",
        ),
        invalid(
            "quoted_value",
            c(&format!("\"{good}\"")),
            "a quoted value is not unquoted",
        ),
        invalid(
            "nbsp_before_value",
            c(&format!("\u{a0}{good}")),
            "only spaces and tabs are trimmed, not U+00A0",
        ),
        invalid(
            "very_long_value",
            c(&format!("v1.{}", "A".repeat(5000))),
            "over 4 KB",
        ),
        invalid(
            "valid_value_followed_by_junk",
            c(&format!("{good}{}", "A".repeat(5000))),
            "a valid value with 5000 characters appended",
        ),
        invalid("unicode_junk", c("v1.🍪🍪🍪.ñ.€"), "non-ASCII text"),
        invalid(
            "unicode_in_session_id",
            c(&signed(
                CURRENT,
                &format!("v1.{}.{exp}", replace_char(s1.as_str(), 0, 'é')),
            )),
            "a non-ASCII character in the session id (MAC correct over the UTF-8 text)",
        ),
        invalid(
            "unicode_digits_in_expiry",
            c(&signed(CURRENT, &format!("v1.{}.١٧٦٧٢٢٩٢٠٠", s1.as_str()))),
            "Arabic-Indic digits are not ASCII digits",
        ),
    ];
    Vectors {
        format: "v1".into(),
        cookie_name: NAME.into(),
        now: NOW,
        secrets: Secrets {
            current: CURRENT.into(),
            previous: PREVIOUS.into(),
            other: OTHER.into(),
        },
        cases,
    }
}

/// Runs one case through the codec and fails with the case's name when it disagrees.
fn check(keys: &CookieKeys, name: &str, now: i64, case: &Case) {
    let got = keys.find_session([case.cookie_header.as_str()], name, now);
    match (&got, case.valid) {
        (Ok(found), true) => {
            assert_eq!(
                Some(found.session_id.as_str()),
                case.session_id.as_deref(),
                "{}",
                case.name
            );
            assert_eq!(Some(found.expires), case.expires, "{}", case.name);
            assert_eq!(
                Some(found.key.as_str()),
                case.key.as_deref(),
                "{}",
                case.name
            );
        }
        (Err(_), false) => {}
        _ => panic!(
            "case {}: expected valid={}, got {got:?}",
            case.name, case.valid
        ),
    }
}

fn render(v: &Vectors) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    s
}

#[test]
fn every_case_matches_its_expectation() {
    let v = build();
    let keys = CookieKeys::new(CURRENT, Some(PREVIOUS)).unwrap();
    let mut names = std::collections::HashSet::new();
    for case in &v.cases {
        assert!(
            names.insert(&case.name),
            "duplicate case name {}",
            case.name
        );
        check(&keys, NAME, NOW, case);
    }
    assert!(v.cases.iter().filter(|c| c.valid).count() >= 8);
    assert!(v.cases.iter().filter(|c| !c.valid).count() >= 30);
}

#[test]
fn vectors_file_is_current() {
    let fresh = render(&build());
    let path = std::path::Path::new(VECTORS);
    let update = std::env::var("UPDATE_VECTORS").is_ok_and(|v| v == "1");
    match std::fs::read_to_string(path) {
        Ok(on_disk) if on_disk == fresh => {}
        Ok(_) if !update => panic!(
            "edge/test-vectors/session-cookie.json differs from what the codec's vectors \
             generate; if the change is intended, rerun with UPDATE_VECTORS=1 and commit the file"
        ),
        _ => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &fresh).unwrap();
        }
    }

    // Read the file back and verify every case from it, with the secrets it names.
    let v: Vectors = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v.format, "v1");
    let keys = CookieKeys::new(&v.secrets.current, Some(&v.secrets.previous)).unwrap();
    for case in &v.cases {
        check(&keys, &v.cookie_name, v.now, case);
    }
    // The `other` secret really is the one the `wrong_key` case was signed with.
    let other = CookieKeys::new(&v.secrets.other, None).unwrap();
    let wrong_key = v.cases.iter().find(|c| c.name == "wrong_key").unwrap();
    assert!(
        other
            .find_session([wrong_key.cookie_header.as_str()], &v.cookie_name, v.now)
            .is_ok()
    );
}

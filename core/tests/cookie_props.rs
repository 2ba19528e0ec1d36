//! Property tests of the session cookie codec: no input makes it panic, a signed value
//! verifies exactly while it has not expired, and any change to a signed value (one
//! character replaced, removed or added) makes it invalid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use l42_core::session::{CookieKeys, KeyUsed, SessionId};
use proptest::prelude::*;

const NAME: &str = "__Host-l42_session";

fn keys() -> CookieKeys {
    CookieKeys::new(
        "property-current-secret-0123456789abcdef",
        Some("property-previous-secret-0123456789abcdef"),
    )
    .unwrap()
}

fn previous_only() -> CookieKeys {
    CookieKeys::new("property-previous-secret-0123456789abcdef", None).unwrap()
}

proptest! {
    #[test]
    fn arbitrary_headers_never_panic(header in ".{0,600}", now in any::<i64>()) {
        let k = keys();
        let _ = k.verify(&header, now);
        let _ = k.find_session([header.as_str()], NAME, now);
        let prefixed = format!("{NAME}=v1.{header}");
        let _ = k.find_session([prefixed.as_str()], NAME, now);
    }

    #[test]
    fn signed_values_verify_until_they_expire(
        bytes in any::<[u8; 32]>(),
        exp in 1i64..=999_999_999_999,
        offset in -1000i64..1000,
    ) {
        let id = SessionId::from_bytes(&bytes);
        let value = keys().sign(&id, exp).unwrap();
        let now = exp.saturating_sub(offset);
        let got = keys().verify(&value, now);
        if exp > now {
            let got = got.unwrap();
            prop_assert_eq!(got.session_id, id.clone());
            prop_assert_eq!(got.expires, exp);
            prop_assert_eq!(got.key, KeyUsed::Current);
        } else {
            prop_assert!(got.is_err());
        }
        // Signed under the previous secret: valid, reported as previous.
        let old = previous_only().sign(&id, exp).unwrap();
        if exp > now {
            prop_assert_eq!(keys().verify(&old, now).unwrap().key, KeyUsed::Previous);
        }
    }

    #[test]
    fn any_change_invalidates(
        bytes in any::<[u8; 32]>(),
        at in any::<prop::sample::Index>(),
        with in proptest::char::any(),
        edit in 0u8..3,
    ) {
        let id = SessionId::from_bytes(&bytes);
        let exp = 1_900_000_000;
        let value = keys().sign(&id, exp).unwrap();
        let i = at.index(value.len());
        let mut changed = value.clone();
        match edit {
            0 => { changed.replace_range(i..=i, &with.to_string()); }
            1 => { changed.remove(i); }
            _ => { changed.insert(i, with); }
        }
        prop_assume!(changed != value);
        prop_assert!(keys().verify(&changed, exp - 10).is_err(), "{}", changed);
    }
}

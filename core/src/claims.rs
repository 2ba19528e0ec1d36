//! Cognito claims, parsed strictly.

use serde::Deserialize;

/// Which Cognito token kind is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Access tokens only (`token_use: "access"`, app client in `client_id`). The default.
    Access,
    /// ID tokens only (`token_use: "id"`, app client in `aud`).
    Id,
    /// Either kind, each checked by its own rules.
    Any,
}

impl TokenUse {
    /// Parses `access`, `id` or `any` (case-insensitive).
    pub fn parse(s: &str) -> Option<TokenUse> {
        match s.trim().to_ascii_lowercase().as_str() {
            "access" => Some(TokenUse::Access),
            "id" => Some(TokenUse::Id),
            "any" => Some(TokenUse::Any),
            _ => None,
        }
    }
}

/// The claims l42 reads, with the JSON types Cognito uses. Serde's derive rejects a
/// wrong type (a string `exp`), a float where an integer belongs and a duplicated claim.
#[derive(Debug, Deserialize)]
pub(crate) struct RawClaims {
    pub sub: String,
    pub iss: String,
    pub token_use: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub auth_time: Option<i64>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub aud: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, rename = "cognito:username")]
    pub cognito_username: Option<String>,
    #[serde(default, rename = "cognito:groups")]
    pub groups: Option<Vec<String>>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(default)]
    pub origin_jti: Option<String>,
}

/// The verified identity of a token: what every later step (Cedar, response context) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// The user's stable id (`sub`).
    pub sub: String,
    /// `username` (access token) or `cognito:username` (id token), else `sub`.
    pub username: String,
    /// The exact issuer the token named.
    pub issuer: String,
    /// Index of the matching pool in the configuration.
    pub pool: usize,
    /// The token kind.
    pub token_use: TokenUse,
    /// The app client: `client_id` (access) or `aud` (id).
    pub client_id: String,
    /// `cognito:groups`, as given.
    pub groups: Vec<String>,
    /// `scope`, split on spaces (access tokens; empty for id tokens).
    pub scopes: Vec<String>,
    /// `email`, when present (id tokens).
    pub email: Option<String>,
    /// `exp`.
    pub exp: i64,
    /// `iat`.
    pub iat: i64,
    /// `auth_time`, else `iat`.
    pub auth_time: i64,
    /// `jti`, when present.
    pub jti: Option<String>,
    /// `origin_jti`, when present: the sign-in, the same for its access and id tokens
    /// across refreshes (what a revocation is recorded under).
    pub origin_jti: Option<String>,
    /// The claims [`VerifierConfig::keep_claims`](crate::VerifierConfig::keep_claims)
    /// names that the token carries, with their JSON values, in the configuration's order.
    pub claims: Vec<(String, serde_json::Value)>,
    /// A machine client's token, as Cognito's client-credentials grant issues it: an
    /// access token with no `username` and no `cognito:groups` whose `sub` is its
    /// `client_id`. A user's access token always names its user in `username`.
    pub machine: bool,
}

impl VerifiedClaims {
    /// The kept claim `name`, if the token carries it.
    pub fn claim(&self, name: &str) -> Option<&serde_json::Value> {
        self.claims.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// The claims of a JSON payload named in `wanted`, with their values; every other claim is
/// skipped without being built. A claim named twice is refused, as [`RawClaims`] refuses
/// one of its own.
pub(crate) fn kept_claims(
    payload: &[u8],
    wanted: &[String],
) -> Result<Vec<(String, serde_json::Value)>, serde_json::Error> {
    use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
    struct Keep<'w>(&'w [String]);
    impl<'de> Visitor<'de> for Keep<'_> {
        type Value = Vec<(String, serde_json::Value)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object of claims")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out: Vec<(String, serde_json::Value)> = Vec::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if self.0.iter().any(|w| *w == key) {
                    if out.iter().any(|(n, _)| *n == key) {
                        return Err(A::Error::custom(format!("duplicate claim `{key}`")));
                    }
                    out.push((key.into_owned(), map.next_value()?));
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            out.sort_by_key(|(n, _)| self.0.iter().position(|w| w == n));
            Ok(out)
        }
    }
    impl<'de> DeserializeSeed<'de> for Keep<'_> {
        type Value = Vec<(String, serde_json::Value)>;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(payload);
    let out = Keep(wanted).deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn wanted(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_string()).collect()
    }

    #[test]
    fn keeps_only_the_wanted_claims_in_the_wanted_order() {
        let payload =
            br#"{"sub":"s","custom:tenant":"acme","roles":["a","b"],"n":{"x":1},"other":true}"#;
        let kept = kept_claims(payload, &wanted(&["roles", "custom:tenant", "absent"])).unwrap();
        assert_eq!(
            kept,
            [
                ("roles".to_string(), json!(["a", "b"])),
                ("custom:tenant".to_string(), json!("acme")),
            ]
        );
        let nested = kept_claims(payload, &wanted(&["n"])).unwrap();
        assert_eq!(nested, [("n".to_string(), json!({"x": 1}))]);
    }

    #[test]
    fn a_wanted_claim_named_twice_is_refused() {
        let payload = br#"{"custom:tenant":"acme","custom:tenant":"evil"}"#;
        let e = kept_claims(payload, &wanted(&["custom:tenant"])).unwrap_err();
        assert!(
            e.to_string().contains("duplicate claim `custom:tenant`"),
            "{e}"
        );
        // An unwanted duplicate is not this reader's business (serde skips it).
        assert!(
            kept_claims(payload, &wanted(&["other"]))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn escaped_names_match_their_text() {
        let payload = br#"{"custom\u003atenant":"acme"}"#;
        let kept = kept_claims(payload, &wanted(&["custom:tenant"])).unwrap();
        assert_eq!(kept, [("custom:tenant".to_string(), json!("acme"))]);
    }

    #[test]
    fn not_an_object_is_an_error_not_a_panic() {
        for payload in [&b"[1,2]"[..], b"\"x\"", b"{", b"{} trailing"] {
            assert!(kept_claims(payload, &wanted(&["a"])).is_err());
        }
    }
}

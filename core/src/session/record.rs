//! The session record and its `data` JSON, shared by every store.

use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::id::SessionId;

/// The `auth_method` of a record that does not name one (the protocol's default).
pub const DEFAULT_AUTH_METHOD: &str = "handler";

/// The largest `data` JSON a store writes (a DynamoDB item is at most 400 KB).
pub const MAX_DATA_BYTES: usize = 350 * 1024;

/// The Cognito tokens a session holds. Its `Debug` shows only which tokens are present.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionTokens {
    /// The access token (a JWT).
    pub access_token: String,
    /// The id token (a JWT).
    pub id_token: String,
    /// The refresh token, when the login produced one.
    pub refresh_token: Option<String>,
    /// How the session was made: `handler` (the server-side callback), `direct` (posted
    /// tokens), or what the client said.
    pub auth_method: String,
}

impl fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokens")
            .field("access_token", &"<redacted>")
            .field("id_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

/// A refresh lease: `owner` may call Cognito for this session until `until` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it (an id the refresh coordinator makes up per attempt).
    pub owner: String,
    /// When it lapses, Unix seconds.
    pub until: i64,
}

/// One session: what the store keeps under the session id.
///
/// `expires_at` is the absolute expiry (the DynamoDB `ttl` attribute); stores treat a
/// record whose `expires_at <= now` as absent. `version` counts writes: every write of a
/// store sets it to the previous value plus one, and [`replace`] is conditional on it.
/// `extra` holds any other members of the `data` JSON object, kept as they are.
///
/// [`replace`]: super::SessionStore::replace
#[derive(Clone, PartialEq)]
pub struct Session {
    /// The session id (the partition key).
    pub id: SessionId,
    /// The Cognito tokens the session holds; the refresh token never leaves the server.
    pub tokens: SessionTokens,
    /// When the session was made, Unix seconds.
    pub created_at: i64,
    /// When it ends, Unix seconds; never extended past the refresh token's life.
    pub expires_at: i64,
    /// The write counter (0 for a new record, and for records written before l42).
    pub version: u64,
    /// The refresh lease, if one was taken.
    pub lease: Option<Lease>,
    /// Other members of the `data` JSON object.
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("tokens", &self.tokens)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("version", &self.version)
            .field("lease", &self.lease)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Session {
    /// A new record (version 0, no lease, no extra data).
    pub fn new(id: SessionId, tokens: SessionTokens, created_at: i64, expires_at: i64) -> Session {
        Session {
            id,
            tokens,
            created_at,
            expires_at,
            version: 0,
            lease: None,
            extra: Map::new(),
        }
    }

    /// True when the session has ended at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at <= now
    }

    /// The lease, when one is held at `now`.
    pub fn live_lease(&self, now: i64) -> Option<&Lease> {
        self.lease.as_ref().filter(|l| l.until > now)
    }

    /// The `data` attribute: `{"tokens":{"access_token","id_token","refresh_token",
    /// "auth_method"}, …extra}` (a missing refresh token is written as `null`).
    pub fn data_json(&self) -> String {
        let mut data = self.extra.clone();
        let tokens = serde_json::json!({
            "access_token": self.tokens.access_token,
            "id_token": self.tokens.id_token,
            "refresh_token": self.tokens.refresh_token,
            "auth_method": self.tokens.auth_method,
        });
        data.insert("tokens".into(), tokens);
        Value::Object(data).to_string()
    }

    /// Checks what a store is about to write.
    pub(crate) fn check_writable(&self) -> Result<String, String> {
        if self.tokens.access_token.is_empty() || self.tokens.id_token.is_empty() {
            return Err("a session needs an access token and an id token".into());
        }
        let data = self.data_json();
        if data.len() > MAX_DATA_BYTES {
            return Err(format!(
                "session data of {} bytes is over {MAX_DATA_BYTES}",
                data.len()
            ));
        }
        Ok(data)
    }
}

#[derive(Deserialize)]
struct TokensJson {
    access_token: String,
    id_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    auth_method: Option<String>,
}

/// Parses the `data` attribute into tokens and the other members. The error never quotes
/// the data (it holds tokens): it names what is wrong and where.
pub(crate) fn parse_data(data: &str) -> Result<(SessionTokens, Map<String, Value>), String> {
    let describe = |e: serde_json::Error| {
        format!(
            "data is not the expected JSON ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    };
    let value: Value = serde_json::from_str(data).map_err(describe)?;
    let Value::Object(mut map) = value else {
        return Err("data is not a JSON object".into());
    };
    let tokens = map
        .remove("tokens")
        .ok_or_else(|| "data has no tokens".to_string())?;
    let t: TokensJson = serde_json::from_value(tokens).map_err(describe)?;
    if t.access_token.is_empty() || t.id_token.is_empty() {
        return Err("data has an empty access or id token".into());
    }
    Ok((
        SessionTokens {
            access_token: t.access_token,
            id_token: t.id_token,
            refresh_token: t.refresh_token.filter(|r| !r.is_empty()),
            auth_method: t
                .auth_method
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| DEFAULT_AUTH_METHOD.to_string()),
        },
        map,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn tokens() -> SessionTokens {
        SessionTokens {
            access_token: "secret-access".into(),
            id_token: "secret-id".into(),
            refresh_token: Some("secret-refresh".into()),
            auth_method: "direct".into(),
        }
    }

    #[test]
    fn data_round_trip_keeps_extra_members() {
        let mut s = Session::new(SessionId::from_bytes(&[1; 32]), tokens(), 10, 20);
        s.extra
            .insert("return_to".into(), Value::String("/x".into()));
        let (t, extra) = parse_data(&s.data_json()).unwrap();
        assert_eq!(t, s.tokens);
        assert_eq!(extra, s.extra);
    }

    #[test]
    fn records_of_the_existing_table_parse() {
        // No refresh token, no auth_method, extra members.
        let (t, extra) =
            parse_data(r#"{"tokens":{"access_token":"a","id_token":"i"},"user":{"sub":"s"}}"#)
                .unwrap();
        assert_eq!(t.refresh_token, None);
        assert_eq!(t.auth_method, DEFAULT_AUTH_METHOD);
        assert!(extra.contains_key("user"));
        let (t, _) = parse_data(
            r#"{"tokens":{"access_token":"a","id_token":"i","refresh_token":null,"auth_method":"direct"}}"#,
        )
        .unwrap();
        assert_eq!(t.refresh_token, None);
        assert_eq!(t.auth_method, "direct");
    }

    #[test]
    fn bad_data_is_described_without_quoting_it() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"no":"tokens"}"#,
            r#"{"tokens":"eyJsecret"}"#,
            r#"{"tokens":{"access_token":"eyJsecret"}}"#,
            r#"{"tokens":{"access_token":"eyJsecret","id_token":7}}"#,
            r#"{"tokens":{"access_token":"","id_token":"eyJsecret"}}"#,
        ] {
            let e = parse_data(bad).unwrap_err();
            assert!(!e.contains("eyJsecret"), "{e}");
        }
    }

    #[test]
    fn debug_never_prints_tokens() {
        let s = Session::new(SessionId::from_bytes(&[1; 32]), tokens(), 10, 20);
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("secret-"), "{dbg}");
        assert!(dbg.contains("direct"));
    }

    #[test]
    fn writes_are_checked() {
        let mut s = Session::new(SessionId::from_bytes(&[1; 32]), tokens(), 10, 20);
        assert!(s.check_writable().is_ok());
        s.tokens.id_token.clear();
        assert!(s.check_writable().is_err());
        s.tokens.id_token = "x".into();
        s.extra
            .insert("big".into(), Value::String("x".repeat(MAX_DATA_BYTES)));
        assert!(s.check_writable().is_err());
    }
}

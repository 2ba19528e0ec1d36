//! The session record and its `data` JSON, shared by every store.

use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::id::SessionId;

/// The `auth_method` of a record that does not name one (the protocol's default).
pub const DEFAULT_AUTH_METHOD: &str = "handler";

/// The largest `data` JSON a store writes (a DynamoDB item is at most 400 KB).
pub const MAX_DATA_BYTES: usize = 350 * 1024;

/// The longest `User-Agent` a session keeps, in bytes (cut on a character boundary).
pub const MAX_USER_AGENT_BYTES: usize = 256;

/// The `data` member the refresh coordinator sets to the Unix time of the last refresh.
pub const REFRESHED_AT: &str = "refreshed_at";

/// Beyond the covered tokens' own lifetime, how long a revocation record is kept: more
/// than any verifier's clock leeway, and than a refresh that was in flight at Cognito
/// while the session ended.
pub const REVOCATION_MARGIN_SECS: i64 = 300;

/// The longest lifetime Cognito gives an access or id token (one day): a revocation is
/// kept at least this long when the stored tokens do not say theirs.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 86_400;

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
    /// Whose session it is ([`user_key`]: the pool and `sub` of its verified tokens), the
    /// key sessions are listed by; `None` on records written before sessions were listed.
    pub user: Option<String>,
    /// The `User-Agent` the sign-in came with, at most [`MAX_USER_AGENT_BYTES`].
    pub user_agent: Option<String>,
}

/// The key a user's sessions are listed by: `<pool id>|<sub>` (a `sub` is unique within
/// its pool only).
pub fn user_key(pool_id: &str, sub: &str) -> String {
    format!("{pool_id}|{sub}")
}

/// A `User-Agent` value as a session keeps it: control characters dropped, at most
/// [`MAX_USER_AGENT_BYTES`] (cut on a character boundary), `None` when nothing is left.
pub fn kept_user_agent(value: &str) -> Option<String> {
    let mut kept: String = value.chars().filter(|c| !c.is_control()).collect();
    crate::error::truncate_on_char_boundary(&mut kept, MAX_USER_AGENT_BYTES);
    let kept = kept.trim().to_string();
    (!kept.is_empty()).then_some(kept)
}

/// What listing a user's sessions shows of one (no tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session id (never shown to a client: see [`SessionId::handle`]).
    pub id: SessionId,
    /// When it was made, Unix seconds.
    pub created_at: i64,
    /// When it ends, Unix seconds (a listing may include sessions already past it).
    pub expires_at: i64,
    /// When it last got tokens (its sign-in or its latest refresh), Unix seconds.
    pub last_used_at: i64,
    /// How it was made (`handler`, `direct`, …).
    pub auth_method: String,
    /// The `User-Agent` of its sign-in.
    pub user_agent: Option<String>,
}

/// The record an ended sign-in leaves: every token whose `origin_jti` is this one is
/// refused until `until` (Unix seconds), after which all of them have expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Cognito's `origin_jti`: the same for the access and id tokens of one sign-in,
    /// across its refreshes.
    pub origin_jti: String,
    /// When the record may go (the DynamoDB `ttl`).
    pub until: i64,
}

/// The longest `origin_jti` a revocation is recorded under (Cognito's are UUIDs).
pub const MAX_ORIGIN_JTI_BYTES: usize = 128;

/// Whether `v` can be an `origin_jti` l42 records or looks up: 1 to
/// [`MAX_ORIGIN_JTI_BYTES`] bytes of `[A-Za-z0-9._-]`. A token whose `origin_jti` is
/// anything else cannot be checked, so a revocation check refuses it.
pub fn is_valid_origin_jti(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_ORIGIN_JTI_BYTES
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
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
            .field("user", &self.user)
            .field("user_agent", &self.user_agent)
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
            user: None,
            user_agent: None,
        }
    }

    /// What a listing shows of the session.
    pub fn summary(&self) -> SessionSummary {
        SessionSummary {
            id: self.id.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at(),
            auth_method: self.tokens.auth_method.clone(),
            user_agent: self.user_agent.clone(),
        }
    }

    /// When the session last got tokens: its latest refresh, else its creation.
    pub fn last_used_at(&self) -> i64 {
        self.extra
            .get(REFRESHED_AT)
            .and_then(Value::as_i64)
            .unwrap_or(self.created_at)
    }

    /// The sign-in's `origin_jti`, read from the stored access token, else the id token
    /// (both are Cognito's; the store holds only tokens that were verified or came from
    /// its token endpoint). `None` when neither carries a usable one.
    pub fn origin_jti(&self) -> Option<String> {
        [&self.tokens.access_token, &self.tokens.id_token]
            .into_iter()
            .filter_map(|t| stored_claims(t))
            .find_map(|c| {
                c.get("origin_jti")
                    .and_then(Value::as_str)
                    .filter(|v| is_valid_origin_jti(v))
                    .map(str::to_string)
            })
    }

    /// The revocation that ending this session at `now` records, `None` when its tokens
    /// name no `origin_jti`. It lasts past every token the sign-in can still have: the
    /// stored ones, and one a refresh in flight at `now` may get (the stored tokens'
    /// lifetime from now), plus [`REVOCATION_MARGIN_SECS`].
    pub fn revocation(&self, now: i64) -> Option<Revocation> {
        let origin_jti = self.origin_jti()?;
        let mut lifetime = 0;
        let mut last_exp = now;
        for token in [&self.tokens.access_token, &self.tokens.id_token] {
            let Some(c) = stored_claims(token) else {
                continue;
            };
            let exp = c.get("exp").and_then(Value::as_i64);
            let iat = c.get("iat").and_then(Value::as_i64);
            if let Some(exp) = exp {
                last_exp = last_exp.max(exp.min(now.saturating_add(MAX_TOKEN_LIFETIME_SECS)));
            }
            if let (Some(exp), Some(iat)) = (exp, iat) {
                lifetime = lifetime.max(exp.saturating_sub(iat));
            }
        }
        let lifetime = if lifetime > 0 {
            lifetime.min(MAX_TOKEN_LIFETIME_SECS)
        } else {
            MAX_TOKEN_LIFETIME_SECS
        };
        let until = last_exp
            .max(now.saturating_add(lifetime))
            .saturating_add(REVOCATION_MARGIN_SECS);
        Some(Revocation { origin_jti, until })
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
        if self
            .user
            .as_ref()
            .is_some_and(|u| u.is_empty() || u.len() > 1024)
        {
            return Err("a session's user key is empty or over 1024 bytes".into());
        }
        if self
            .user_agent
            .as_ref()
            .is_some_and(|a| a.len() > MAX_USER_AGENT_BYTES)
        {
            return Err(format!(
                "a session's user agent is over {MAX_USER_AGENT_BYTES} bytes"
            ));
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

/// The claims of a stored JWT, read without verifying it (the store holds only tokens
/// that were verified or came from Cognito's token endpoint). `None` when unreadable.
pub(crate) fn stored_claims(token: &str) -> Option<Map<String, Value>> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    if payload.len() > crate::MAX_TOKEN_BYTES {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
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

    fn jwt(claims: Value) -> String {
        use base64::Engine as _;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            b64(b"{\"alg\":\"RS256\"}"),
            b64(claims.to_string().as_bytes())
        )
    }

    fn signed_in(access: Value, id: Value) -> Session {
        let mut t = tokens();
        t.access_token = jwt(access);
        t.id_token = jwt(id);
        Session::new(SessionId::from_bytes(&[2; 32]), t, 10, 20)
    }

    #[test]
    fn a_revocation_outlasts_every_token_of_the_sign_in() {
        let now = 1_000_000;
        let o = "0f8fad5b-d9cb-469f-a165-70867728950e";
        // Hour-long tokens issued ten minutes ago: a refresh in flight may get one that
        // lives an hour from now.
        let s = signed_in(
            serde_json::json!({"origin_jti": o, "iat": now - 600, "exp": now + 3000}),
            serde_json::json!({"origin_jti": o, "iat": now - 600, "exp": now + 3000}),
        );
        let r = s.revocation(now).unwrap();
        assert_eq!(r.origin_jti, o);
        assert_eq!(r.until, now + 3600 + REVOCATION_MARGIN_SECS);
        // Only the id token names it: still found.
        let s = signed_in(
            serde_json::json!({"iat": now, "exp": now + 300}),
            serde_json::json!({"origin_jti": o, "iat": now, "exp": now + 300}),
        );
        assert_eq!(
            s.revocation(now).unwrap().until,
            now + 300 + REVOCATION_MARGIN_SECS
        );
        // No times: a day, the longest Cognito gives.
        let s = signed_in(serde_json::json!({"origin_jti": o}), serde_json::json!({}));
        assert_eq!(
            s.revocation(now).unwrap().until,
            now + MAX_TOKEN_LIFETIME_SECS + REVOCATION_MARGIN_SECS
        );
        // A token claiming a year is held to a day.
        let s = signed_in(
            serde_json::json!({"origin_jti": o, "iat": now, "exp": now + 365 * 86_400}),
            serde_json::json!({}),
        );
        assert_eq!(
            s.revocation(now).unwrap().until,
            now + MAX_TOKEN_LIFETIME_SECS + REVOCATION_MARGIN_SECS
        );
        // None, or an unusable one: nothing to record.
        for bad in [
            Value::Null,
            Value::from(7),
            Value::from(""),
            Value::from("a#b"),
        ] {
            let s = signed_in(
                serde_json::json!({"origin_jti": bad}),
                serde_json::json!({}),
            );
            assert_eq!(s.revocation(now), None, "{bad}");
        }
        let plain = Session::new(SessionId::from_bytes(&[2; 32]), tokens(), 10, 20);
        assert_eq!(plain.revocation(now), None);
    }

    #[test]
    fn user_agents_are_kept_short_and_printable() {
        assert_eq!(kept_user_agent("Firefox/140"), Some("Firefox/140".into()));
        assert_eq!(
            kept_user_agent("a\r\nSet-Cookie: x"),
            Some("aSet-Cookie: x".into())
        );
        assert_eq!(kept_user_agent("  \t "), None);
        let long = "é".repeat(MAX_USER_AGENT_BYTES);
        let kept = kept_user_agent(&long).unwrap();
        assert!(kept.len() <= MAX_USER_AGENT_BYTES && kept.chars().all(|c| c == 'é'));
        assert_eq!(user_key("eu-west-1_P", "s-1"), "eu-west-1_P|s-1");
    }

    #[test]
    fn handles_are_stable_opaque_and_distinct() {
        let a = SessionId::from_bytes(&[1; 32]);
        let b = SessionId::from_bytes(&[3; 32]);
        assert_eq!(a.handle(), a.handle());
        assert_ne!(a.handle(), b.handle());
        assert!(SessionId::is_handle(&a.handle()));
        assert!(!a.as_str().contains(&a.handle()) && !a.handle().contains(&a.as_str()[..8]));
        for bad in ["", a.as_str(), "abc", "aaaaaaaaaaaaaaaaaaaaa#"] {
            assert!(!SessionId::is_handle(bad), "{bad}");
        }
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
        let mut s = Session::new(SessionId::from_bytes(&[1; 32]), tokens(), 10, 20);
        s.user = Some(String::new());
        assert!(s.check_writable().is_err());
        s.user = Some("p|s".into());
        s.user_agent = Some("x".repeat(MAX_USER_AGENT_BYTES + 1));
        assert!(s.check_writable().is_err());
    }
}

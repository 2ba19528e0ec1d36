//! The session cookie: its value (format v1), its keys and its `Set-Cookie` attributes.
//!
//! # Value, format v1
//!
//! `v1.<sid>.<exp>.<mac>`, at most [`MAX_COOKIE_VALUE_BYTES`] bytes (a valid one has 103):
//!
//! - `<sid>`: the [`SessionId`], 43 characters of `[A-Za-z0-9_-]` (32 random bytes,
//!   base64url without padding);
//! - `<exp>`: the session's absolute expiry in Unix seconds, decimal, 1 to 12 digits, no
//!   leading zero;
//! - `<mac>`: base64url without padding (43 characters) of HMAC-SHA256 keyed with the
//!   secret's UTF-8 bytes over the text `v1.<sid>.<exp>`.
//!
//! A value is valid when it has exactly this shape, its `<mac>` equals (compared in constant
//! time, as text) the MAC under the current secret or else the previous one, and
//! `<exp>` is after `now`. Anything else is no session, never an error answer.
//!
//! # Reading `Cookie` headers
//!
//! [`CookieKeys::find_session`] takes `Cookie` header values (or API Gateway payload 2.0
//! `cookies` entries, one `name=value` each): each is split on `;`, each piece at its first
//! `=`; name and value are trimmed of spaces and tabs only (no other whitespace, no
//! unquoting); names match exactly (case-sensitive). Every cookie with the wanted name is
//! tried in order and the first that verifies wins, so a stale duplicate (say one set for a
//! parent domain) does not hide a good one. The edge functions follow the same rules; the
//! test vectors in `edge/test-vectors/session-cookie.json` pin them down.
//!
//! # Configuration
//!
//! | variable | meaning |
//! |---|---|
//! | `SESSION_SECRET` | required; at least 32 bytes; signs new cookies and verifies |
//! | `SESSION_SECRET_PREVIOUS` | optional; at least 32 bytes; still verifies (key rotation) |
//! | `SESSION_HTTPS_ONLY` | a boolean ([`crate::config::parse_bool`]; default `true` inside AWS Lambda, `false` elsewhere): the `Secure` attribute |
//! | `COOKIE_DOMAIN` | optional `Domain` attribute: a domain name with a dot, or `localhost` (a leading `.` is dropped) |
//! | `SESSION_SAME_SITE` | `lax` (default) or `strict` |
//!
//! The name is `__Host-l42_session` when Secure without a domain, `__Secure-l42_session`
//! when Secure with a domain, else `l42_session`.
//!
//! # The login binding cookie
//!
//! `{P}/login` ties each pending login to the browser that started it (RFC 9700 §4.7,
//! RFC 6749 §10.12: else an attacker's callback URL, opened by a victim, would sign the
//! victim in as the attacker). The binding of a login's `state` is the HMAC-SHA256 under
//! the current secret of the text `login.<state>` (a message no session cookie MAC covers,
//! since those start `v1.`), base64url without padding. The cookie `__Host-l42_login`
//! (`l42_login` when not Secure) holds the bindings of the browser's latest
//! [`MAX_LOGIN_BINDINGS`] logins, newest first, joined with `.`, for
//! [`LOGIN_STATE_TTL_SECS`]; the callback accepts a `state` only when its binding is among
//! them (under the current or the previous secret) and removes it. The cookie is always
//! `HttpOnly`, `Path=/`, without `Domain` (only the host that started the login reads it;
//! the `__Host-` prefix keeps a sibling subdomain from planting one) and `SameSite=Lax`
//! whatever `SESSION_SAME_SITE` says: a `Strict` cookie is not sent on the navigation back
//! from Cognito. One cookie however many logins a page starts, so no page can fill the
//! browser's cookie jar through `{P}/login`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use thiserror::Error;

use super::id::{SessionId, is_b64url_43};
use super::login_state::LOGIN_STATE_TTL_SECS;
use crate::config::ConfigError;

/// The version prefix of the value format.
pub const COOKIE_VERSION: &str = "v1";
/// Values longer than this are refused before any other check.
pub const MAX_COOKIE_VALUE_BYTES: usize = 256;
/// The largest expiry the format carries (12 digits).
pub const MAX_EXPIRY: i64 = 999_999_999_999;
/// The smallest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// The base name of the cookie (prefixed with `__Host-` or `__Secure-` when Secure).
pub const COOKIE_BASE_NAME: &str = "l42_session";

/// The length of an encoded MAC.
const MAC_LEN: usize = 43;

/// The base name of the login binding cookie (`__Host-` prefixed when Secure).
pub const LOGIN_COOKIE_BASE_NAME: &str = "l42_login";

/// The most pending logins one browser can have at once (several tabs): the login
/// binding cookie keeps this many bindings, dropping the oldest.
pub const MAX_LOGIN_BINDINGS: usize = 4;

/// Why a callback's `state` is not bound to the browser that brought it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LoginBindingError {
    /// The browser sent no login binding cookie: the login was not started in this browser
    /// (or more than ten minutes ago, or its cookies are blocked).
    #[error("no login cookie: the login was not started in this browser")]
    Missing,
    /// The cookie is there, but binds other logins.
    #[error("the login cookie binds another login")]
    Mismatch,
}

impl LoginBindingError {
    /// A short, stable code for logs and the callback's error redirect.
    pub fn code(&self) -> &'static str {
        match self {
            LoginBindingError::Missing => "login_cookie_missing",
            LoginBindingError::Mismatch => "login_cookie_mismatch",
        }
    }
}

/// Why a cookie value (or a set of `Cookie` headers) names no session. Every variant means
/// "no session"; [`code`](Self::code) is for logs. Neither form contains the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CookieError {
    /// No cookie with the session cookie's name was sent.
    #[error("no session cookie")]
    Missing,
    /// The value is longer than [`MAX_COOKIE_VALUE_BYTES`].
    #[error("session cookie too long")]
    TooLong,
    /// The value does not have the v1 shape.
    #[error("malformed session cookie: {0}")]
    Malformed(&'static str),
    /// The value starts with a version other than `v1`.
    #[error("unknown session cookie version")]
    UnknownVersion,
    /// The MAC matches neither the current nor the previous secret.
    #[error("session cookie signature does not verify")]
    BadMac,
    /// The MAC verifies but the expiry has passed.
    #[error("session cookie expired")]
    Expired,
    /// An expiry outside `1..=MAX_EXPIRY` was given to [`CookieKeys::sign`].
    #[error("expiry out of range")]
    ExpiryOutOfRange,
}

impl CookieError {
    /// A short, stable code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            CookieError::Missing => "missing",
            CookieError::TooLong => "too_long",
            CookieError::Malformed(_) => "malformed",
            CookieError::UnknownVersion => "unknown_version",
            CookieError::BadMac => "bad_mac",
            CookieError::Expired => "expired",
            CookieError::ExpiryOutOfRange => "expiry_out_of_range",
        }
    }
}

/// Which secret verified a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsed {
    /// `SESSION_SECRET`.
    Current,
    /// `SESSION_SECRET_PREVIOUS`: the caller may re-issue the cookie under the current one.
    Previous,
}

impl KeyUsed {
    /// `current` or `previous`.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyUsed::Current => "current",
            KeyUsed::Previous => "previous",
        }
    }
}

/// A cookie value that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCookie {
    /// The session it names.
    pub session_id: SessionId,
    /// Its absolute expiry, Unix seconds.
    pub expires: i64,
    /// The secret that verified it.
    pub key: KeyUsed,
}

/// The HMAC keys: the current secret signs and verifies, the previous one only verifies.
#[derive(Clone)]
pub struct CookieKeys {
    current: hmac::Key,
    previous: Option<hmac::Key>,
}

impl fmt::Debug for CookieKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieKeys")
            .field("current", &"<redacted>")
            .field("previous", &self.previous.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl CookieKeys {
    /// Keys from secrets of at least [`MIN_SECRET_BYTES`] bytes each (their UTF-8 bytes are
    /// the HMAC keys, used as given: nothing is trimmed).
    pub fn new(current: &str, previous: Option<&str>) -> Result<CookieKeys, ConfigError> {
        Ok(CookieKeys {
            current: key_from("SESSION_SECRET", current)?,
            previous: previous
                .map(|p| key_from("SESSION_SECRET_PREVIOUS", p))
                .transpose()?,
        })
    }

    /// Reads `SESSION_SECRET` and `SESSION_SECRET_PREVIOUS` from the process environment.
    pub fn from_env() -> Result<CookieKeys, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads `SESSION_SECRET` (required) and `SESSION_SECRET_PREVIOUS` (optional; empty
    /// counts as unset) through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<CookieKeys, ConfigError> {
        let current = lookup("SESSION_SECRET")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ConfigError::new("SESSION_SECRET", "is required"))?;
        let previous = lookup("SESSION_SECRET_PREVIOUS").filter(|v| !v.is_empty());
        CookieKeys::new(&current, previous.as_deref())
    }

    /// The cookie value for session `id` expiring at `expires`, under the current secret.
    pub fn sign(&self, id: &SessionId, expires: i64) -> Result<String, CookieError> {
        if !(1..=MAX_EXPIRY).contains(&expires) {
            return Err(CookieError::ExpiryOutOfRange);
        }
        let mut value = format!("{COOKIE_VERSION}.{}.{expires}", id.as_str());
        let mac = mac_of(&self.current, value.as_bytes());
        value.push('.');
        value.push_str(std::str::from_utf8(&mac).unwrap_or_default());
        Ok(value)
    }

    /// The binding of pending login `state` under the current secret (see the module docs).
    pub fn login_binding(&self, state: &str) -> String {
        let mac = mac_of(&self.current, login_message(state).as_bytes());
        String::from_utf8_lossy(&mac).into_owned()
    }

    /// Whether `binding` is the binding of `state` under the current or previous secret,
    /// compared in constant time.
    pub fn login_binding_matches(&self, state: &str, binding: &str) -> bool {
        let message = login_message(state);
        is_b64url_43(binding)
            && (mac_matches(&self.current, message.as_bytes(), binding)
                || self
                    .previous
                    .as_ref()
                    .is_some_and(|k| mac_matches(k, message.as_bytes(), binding)))
    }

    /// Checks one cookie value at time `now` (see the module docs).
    pub fn verify(&self, value: &str, now: i64) -> Result<VerifiedCookie, CookieError> {
        if value.is_empty() {
            return Err(CookieError::Malformed("empty"));
        }
        if value.len() > MAX_COOKIE_VALUE_BYTES {
            return Err(CookieError::TooLong);
        }
        let mut parts = value.split('.');
        let (Some(version), Some(sid), Some(exp), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(CookieError::Malformed("not four dot-separated parts"));
        };
        if version != COOKIE_VERSION {
            return Err(CookieError::UnknownVersion);
        }
        if !is_b64url_43(sid) {
            return Err(CookieError::Malformed("session id"));
        }
        let expires = parse_expiry(exp).ok_or(CookieError::Malformed("expiry"))?;
        if !is_b64url_43(mac) {
            return Err(CookieError::Malformed("mac"));
        }
        let signed = &value.as_bytes()[..value.len() - MAC_LEN - 1];
        let key = if mac_matches(&self.current, signed, mac) {
            KeyUsed::Current
        } else if self
            .previous
            .as_ref()
            .is_some_and(|k| mac_matches(k, signed, mac))
        {
            KeyUsed::Previous
        } else {
            return Err(CookieError::BadMac);
        };
        if expires <= now {
            return Err(CookieError::Expired);
        }
        Ok(VerifiedCookie {
            session_id: SessionId::parse(sid).ok_or(CookieError::Malformed("session id"))?,
            expires,
            key,
        })
    }

    /// Finds the session cookie named `name` in `Cookie` header values (or payload 2.0
    /// `cookies` entries) and returns the first one that verifies at `now`. When none
    /// does, the error is [`CookieError::Missing`] if no cookie had the name, else the
    /// reason the first one failed.
    pub fn find_session<'a>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'a str>,
        name: &str,
        now: i64,
    ) -> Result<VerifiedCookie, CookieError> {
        let mut first_error = None;
        for header in cookie_headers {
            for (n, value) in header.split(';').filter_map(split_pair) {
                if n != name {
                    continue;
                }
                match self.verify(value, now) {
                    Ok(found) => return Ok(found),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        Err(first_error.unwrap_or(CookieError::Missing))
    }
}

/// The values of every cookie named `name` in `Cookie` header values, in order (names and
/// values trimmed of spaces and tabs).
pub fn cookie_values<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &'a str,
) -> impl Iterator<Item = &'a str> {
    cookie_headers
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(split_pair)
        .filter_map(move |(n, v)| (n == name).then_some(v))
}

/// `name=value` split at the first `=`, both trimmed of spaces and tabs.
fn split_pair(pair: &str) -> Option<(&str, &str)> {
    let (n, v) = pair.split_once('=')?;
    Some((trim_ows(n), trim_ows(v)))
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

fn login_message(state: &str) -> String {
    format!("login.{state}")
}

fn key_from(var: &str, secret: &str) -> Result<hmac::Key, ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::new(
            var,
            format!(
                "must be at least {MIN_SECRET_BYTES} bytes (it has {})",
                secret.len()
            ),
        ));
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()))
}

/// 1 to 12 ASCII digits, the first not `0`.
fn parse_expiry(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 12 || b[0] == b'0' || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.parse().ok()
}

fn mac_of(key: &hmac::Key, message: &[u8]) -> [u8; MAC_LEN] {
    let tag = hmac::sign(key, message);
    let mut out = [0u8; MAC_LEN];
    // 32 bytes always encode to exactly 43 characters.
    let _ = URL_SAFE_NO_PAD.encode_slice(tag.as_ref(), &mut out);
    out
}

/// Whether `mac` is the canonical base64url form of `message`'s tag, compared in constant
/// time (`hmac::verify`). Only 43 characters decode to the 32 bytes of a tag, and the decoder
/// refuses a last character with stray low bits, so one tag has exactly one accepted form
/// (the `mac_noncanonical_encoding` vector).
fn mac_matches(key: &hmac::Key, message: &[u8], mac: &str) -> bool {
    let mut tag = [0u8; 32];
    mac.len() == MAC_LEN
        && URL_SAFE_NO_PAD.decode_slice(mac, &mut tag) == Ok(tag.len())
        && hmac::verify(key, message, &tag).is_ok()
}

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// `SameSite=Lax` (the default: the cookie survives the OAuth callback navigation).
    #[default]
    Lax,
    /// `SameSite=Strict`.
    Strict,
}

/// The cookie's attributes: name, `Secure`, `Domain`, `SameSite`. Always `HttpOnly` and
/// `Path=/`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CookieSettings {
    /// Adds `Secure` (and the `__Host-`/`__Secure-` name prefix).
    pub secure: bool,
    /// The `Domain` attribute, if any.
    pub domain: Option<String>,
    /// The `SameSite` attribute.
    pub same_site: SameSite,
}

impl CookieSettings {
    /// Reads `SESSION_HTTPS_ONLY`, `COOKIE_DOMAIN` and `SESSION_SAME_SITE` from the process
    /// environment.
    pub fn from_env() -> Result<CookieSettings, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (see the module docs).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<CookieSettings, ConfigError> {
        let get = |name: &str| crate::config::var(&lookup, name);
        // Every binary reads the attribute so: inside Lambda (HTTPS behind API Gateway or
        // CloudFront) the cookie is Secure unless the deployment says otherwise.
        let in_lambda = crate::config::in_lambda(&lookup);
        let secure = crate::config::bool_var(get, "SESSION_HTTPS_ONLY", in_lambda)?;
        let same_site = match get("SESSION_SAME_SITE") {
            None => SameSite::Lax,
            Some(v) if v.eq_ignore_ascii_case("lax") => SameSite::Lax,
            Some(v) if v.eq_ignore_ascii_case("strict") => SameSite::Strict,
            Some(v) => {
                return Err(ConfigError::new(
                    "SESSION_SAME_SITE",
                    format!("`{v}` is not lax or strict"),
                ));
            }
        };
        let domain = get("COOKIE_DOMAIN").map(|d| check_domain(&d)).transpose()?;
        Ok(CookieSettings {
            secure,
            domain,
            same_site,
        })
    }

    /// `__Host-l42_session` (Secure, no domain), `__Secure-l42_session` (Secure with a
    /// domain) or `l42_session`.
    pub fn name(&self) -> &'static str {
        match (self.secure, self.domain.is_some()) {
            (true, false) => "__Host-l42_session",
            (true, true) => "__Secure-l42_session",
            (false, _) => COOKIE_BASE_NAME,
        }
    }

    /// The `Set-Cookie` header value for `value` expiring at `expires`
    /// (`Max-Age` = `expires - now`, at least 0).
    pub fn set_cookie_header(&self, value: &str, expires: i64, now: i64) -> String {
        self.header(value, expires.saturating_sub(now).max(0))
    }

    /// The `Set-Cookie` header value that deletes the cookie (`Max-Age=0`, same name,
    /// path and domain).
    pub fn clear_cookie_header(&self) -> String {
        self.header("", 0)
    }

    /// The login binding cookie's name: `__Host-l42_login` when Secure, else `l42_login`
    /// (never `__Secure-`: it has no `Domain`, see the module docs).
    pub fn login_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-l42_login"
        } else {
            LOGIN_COOKIE_BASE_NAME
        }
    }

    /// The `Set-Cookie` header value of the login binding cookie holding `value` for
    /// `max_age` seconds (0 deletes it): `HttpOnly`, `Path=/`, no `Domain`, `SameSite=Lax`,
    /// `Secure` when the session cookie is.
    pub fn login_cookie_header(&self, value: &str, max_age: i64) -> String {
        let mut h = format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly",
            self.login_cookie_name()
        );
        if self.secure {
            h.push_str("; Secure");
        }
        h.push_str("; SameSite=Lax");
        h
    }

    fn header(&self, value: &str, max_age: i64) -> String {
        let mut h = format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly",
            self.name()
        );
        if self.secure {
            h.push_str("; Secure");
        }
        if let Some(d) = &self.domain {
            h.push_str("; Domain=");
            h.push_str(d);
        }
        h.push_str(match self.same_site {
            SameSite::Lax => "; SameSite=Lax",
            SameSite::Strict => "; SameSite=Strict",
        });
        h
    }
}

fn check_domain(d: &str) -> Result<String, ConfigError> {
    let d = d.strip_prefix('.').unwrap_or(d).to_ascii_lowercase();
    if crate::web::valid_hostname(&d) && (d.contains('.') || d == "localhost") {
        Ok(d)
    } else {
        Err(ConfigError::new(
            "COOKIE_DOMAIN",
            format!("`{d}` is not a domain name"),
        ))
    }
}

/// Keys and attributes together: what a handler needs to read and write the cookie.
#[derive(Debug, Clone)]
pub struct SessionCookies {
    /// The HMAC keys.
    pub keys: CookieKeys,
    /// The attributes.
    pub settings: CookieSettings,
}

impl SessionCookies {
    /// Reads every variable of the module docs from the process environment.
    pub fn from_env() -> Result<SessionCookies, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every variable of the module docs through `lookup`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<SessionCookies, ConfigError> {
        Ok(SessionCookies {
            keys: CookieKeys::from_lookup(&lookup)?,
            settings: CookieSettings::from_lookup(&lookup)?,
        })
    }

    /// The cookie's name.
    pub fn name(&self) -> &'static str {
        self.settings.name()
    }

    /// The `Set-Cookie` header value naming session `id` until `expires`.
    pub fn issue(&self, id: &SessionId, expires: i64, now: i64) -> Result<String, CookieError> {
        let value = self.keys.sign(id, expires)?;
        Ok(self.settings.set_cookie_header(&value, expires, now))
    }

    /// The `Set-Cookie` header value that deletes the cookie.
    pub fn clear(&self) -> String {
        self.settings.clear_cookie_header()
    }

    /// The bindings the request's login binding cookie holds, newest first: its first
    /// well-formed value of the name (bindings that are not 43 base64url characters are
    /// dropped), at most [`MAX_LOGIN_BINDINGS`].
    fn login_bindings<'a>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'a str>,
    ) -> Vec<&'a str> {
        cookie_values(cookie_headers, self.settings.login_cookie_name())
            .find(|v| !v.is_empty() && v.len() <= MAX_LOGIN_BINDINGS * (MAC_LEN + 1))
            .map(|v| {
                v.split('.')
                    .filter(|b| is_b64url_43(b))
                    .take(MAX_LOGIN_BINDINGS)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `Set-Cookie` header value `{P}/login` answers with: the binding of `state`,
    /// then the request's earlier bindings, the oldest dropped beyond
    /// [`MAX_LOGIN_BINDINGS`].
    pub fn bind_login<'a>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'a str>,
        state: &str,
    ) -> String {
        let new = self.keys.login_binding(state);
        let mut value = new.clone();
        for earlier in self
            .login_bindings(cookie_headers)
            .into_iter()
            .filter(|b| *b != new)
            .take(MAX_LOGIN_BINDINGS - 1)
        {
            value.push('.');
            value.push_str(earlier);
        }
        self.settings
            .login_cookie_header(&value, LOGIN_STATE_TTL_SECS)
    }

    /// At the callback: whether `state` is bound to the browser whose `Cookie` headers
    /// these are. When it is, the `Set-Cookie` header value that removes its binding
    /// (keeping the others, or deleting the cookie when none is left).
    pub fn take_login_binding<'a>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'a str>,
        state: &str,
    ) -> Result<String, LoginBindingError> {
        let bindings = self.login_bindings(cookie_headers);
        if bindings.is_empty() {
            return Err(LoginBindingError::Missing);
        }
        let Some(at) = bindings
            .iter()
            .position(|b| self.keys.login_binding_matches(state, b))
        else {
            return Err(LoginBindingError::Mismatch);
        };
        let rest: Vec<&str> = bindings
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, b)| *b)
            .collect();
        Ok(if rest.is_empty() {
            self.settings.login_cookie_header("", 0)
        } else {
            self.settings
                .login_cookie_header(&rest.join("."), LOGIN_STATE_TTL_SECS)
        })
    }

    /// The session named by the request's `Cookie` headers (or payload 2.0 `cookies`).
    pub fn read<'a>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'a str>,
        now: i64,
    ) -> Result<VerifiedCookie, CookieError> {
        self.keys.find_session(cookie_headers, self.name(), now)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const A: &str = "current-secret-current-secret-0123456789";
    const B: &str = "previous-secret-previous-secret-01234567";
    const NOW: i64 = 1_800_000_000;

    fn keys() -> CookieKeys {
        CookieKeys::new(A, Some(B)).unwrap()
    }

    use crate::test_lookup as lookup;

    #[test]
    fn sign_then_verify_round_trip_and_rotation() {
        let id = SessionId::generate().unwrap();
        let v = keys().sign(&id, NOW + 60).unwrap();
        assert_eq!(v.len(), 2 + 1 + 43 + 1 + 10 + 1 + 43);
        let got = keys().verify(&v, NOW).unwrap();
        assert_eq!(got.session_id, id);
        assert_eq!(got.expires, NOW + 60);
        assert_eq!(got.key, KeyUsed::Current);

        // After rotation the old secret is the previous one: still valid, reported as such.
        let rotated = CookieKeys::new("a-brand-new-secret-of-32-bytes-or-more", Some(A)).unwrap();
        assert_eq!(rotated.verify(&v, NOW).unwrap().key, KeyUsed::Previous);
        // Without the previous secret it is refused.
        let only_new = CookieKeys::new("a-brand-new-secret-of-32-bytes-or-more", None).unwrap();
        assert_eq!(only_new.verify(&v, NOW), Err(CookieError::BadMac));
    }

    #[test]
    fn expiry_edges() {
        let id = SessionId::from_bytes(&[1; 32]);
        let v = keys().sign(&id, NOW).unwrap();
        assert_eq!(keys().verify(&v, NOW), Err(CookieError::Expired));
        assert!(keys().verify(&v, NOW - 1).is_ok());
        assert_eq!(keys().sign(&id, 0), Err(CookieError::ExpiryOutOfRange));
        assert_eq!(
            keys().sign(&id, MAX_EXPIRY + 1),
            Err(CookieError::ExpiryOutOfRange)
        );
        assert!(keys().sign(&id, MAX_EXPIRY).is_ok());
    }

    #[test]
    fn shapes_are_refused_with_reasons() {
        let id = SessionId::from_bytes(&[2; 32]);
        let v = keys().sign(&id, NOW + 10).unwrap();
        let k = keys();
        assert_eq!(k.verify("", NOW), Err(CookieError::Malformed("empty")));
        assert_eq!(k.verify(&"x".repeat(300), NOW), Err(CookieError::TooLong));
        assert_eq!(
            k.verify(&v.replacen("v1.", "v2.", 1), NOW),
            Err(CookieError::UnknownVersion)
        );
        assert!(matches!(
            k.verify(&format!("{v}.x"), NOW),
            Err(CookieError::Malformed(_))
        ));
        let exp_zero = v.replacen(&format!(".{}.", NOW + 10), &format!(".0{}.", NOW + 10), 1);
        assert_eq!(
            k.verify(&exp_zero, NOW),
            Err(CookieError::Malformed("expiry"))
        );
        let mut bad_mac = v.clone();
        bad_mac.pop();
        bad_mac.push('=');
        assert_eq!(k.verify(&bad_mac, NOW), Err(CookieError::Malformed("mac")));
        let mut other_mac = v.clone();
        let last = other_mac.pop().unwrap();
        other_mac.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(k.verify(&other_mac, NOW), Err(CookieError::BadMac));
        assert_eq!(k.verify("v1.é.1.x", NOW).unwrap_err().code(), "malformed");
    }

    #[test]
    fn find_session_tries_every_cookie_of_the_name() {
        let k = keys();
        let good = k.sign(&SessionId::from_bytes(&[3; 32]), NOW + 10).unwrap();
        let stale = k.sign(&SessionId::from_bytes(&[4; 32]), NOW - 10).unwrap();
        let name = "__Host-l42_session";
        let h1 = format!("a=1; {name}={stale}");
        let h2 = format!("{name}={good}; b=2");
        let found = k
            .find_session([h1.as_str(), h2.as_str()], name, NOW)
            .unwrap();
        assert_eq!(found.session_id, SessionId::from_bytes(&[3; 32]));
        assert_eq!(
            k.find_session([h1.as_str()], name, NOW),
            Err(CookieError::Expired)
        );
        assert_eq!(
            k.find_session(["a=1; b"], name, NOW),
            Err(CookieError::Missing)
        );
        assert_eq!(
            k.find_session(std::iter::empty(), name, NOW),
            Err(CookieError::Missing)
        );
        // Payload 2.0 `cookies` entries.
        let entry = format!("{name}={good}");
        assert!(k.find_session(["x=y", entry.as_str()], name, NOW).is_ok());
    }

    #[test]
    fn secrets_are_required_long_and_never_printed() {
        let e = CookieKeys::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(e.var, "SESSION_SECRET");
        let e = CookieKeys::from_lookup(lookup(&[("SESSION_SECRET", "short")])).unwrap_err();
        assert_eq!(e.var, "SESSION_SECRET");
        assert!(!e.to_string().contains("short"));
        let e = CookieKeys::from_lookup(lookup(&[
            ("SESSION_SECRET", A),
            ("SESSION_SECRET_PREVIOUS", "short"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "SESSION_SECRET_PREVIOUS");
        let k = CookieKeys::from_lookup(lookup(&[
            ("SESSION_SECRET", A),
            ("SESSION_SECRET_PREVIOUS", ""),
        ]))
        .unwrap();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(A) && dbg.contains("redacted"), "{dbg}");
    }

    #[test]
    fn attributes_and_names() {
        let plain = CookieSettings::default();
        assert_eq!(plain.name(), "l42_session");
        assert_eq!(
            plain.set_cookie_header("V", NOW + 100, NOW),
            "l42_session=V; Path=/; Max-Age=100; HttpOnly; SameSite=Lax"
        );
        let host = CookieSettings::from_lookup(lookup(&[
            ("SESSION_HTTPS_ONLY", "true"),
            ("SESSION_SAME_SITE", "Strict"),
        ]))
        .unwrap();
        assert_eq!(host.name(), "__Host-l42_session");
        assert_eq!(
            host.clear_cookie_header(),
            "__Host-l42_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
        );
        assert_eq!(
            host.set_cookie_header("V", NOW - 5, NOW),
            "__Host-l42_session=V; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
        );
        let dom = CookieSettings::from_lookup(lookup(&[
            ("SESSION_HTTPS_ONLY", "1"),
            ("COOKIE_DOMAIN", ".Example.com"),
        ]))
        .unwrap();
        assert_eq!(dom.name(), "__Secure-l42_session");
        assert_eq!(
            dom.set_cookie_header("V", NOW + 1, NOW),
            "__Secure-l42_session=V; Path=/; Max-Age=1; HttpOnly; Secure; Domain=example.com; SameSite=Lax"
        );
        let insecure_dom =
            CookieSettings::from_lookup(lookup(&[("COOKIE_DOMAIN", "example.com")])).unwrap();
        assert_eq!(insecure_dom.name(), "l42_session");
        for (var, val) in [
            ("SESSION_HTTPS_ONLY", "maybe"),
            ("SESSION_SAME_SITE", "none"),
            ("COOKIE_DOMAIN", "exa mple.com"),
            ("COOKIE_DOMAIN", "a..b"),
            ("COOKIE_DOMAIN", "example.com; Secure"),
            ("COOKIE_DOMAIN", "com"),
        ] {
            let e = CookieSettings::from_lookup(lookup(&[(var, val)])).unwrap_err();
            assert_eq!(e.var, var, "{val}");
        }
        // Every boolean spelling of every binary; Secure by default inside Lambda.
        let on = CookieSettings::from_lookup(lookup(&[("SESSION_HTTPS_ONLY", " On ")])).unwrap();
        assert!(on.secure);
        let lambda =
            CookieSettings::from_lookup(lookup(&[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")]))
                .unwrap();
        assert!(lambda.secure);
        let opted_out = CookieSettings::from_lookup(lookup(&[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("SESSION_HTTPS_ONLY", "false"),
        ]))
        .unwrap();
        assert!(!opted_out.secure);
        let local = CookieSettings::from_lookup(lookup(&[("COOKIE_DOMAIN", "localhost")])).unwrap();
        assert_eq!(local.domain.as_deref(), Some("localhost"));
    }

    #[test]
    fn session_cookies_issue_and_read() {
        let c = SessionCookies::from_lookup(lookup(&[
            ("SESSION_SECRET", A),
            ("SESSION_HTTPS_ONLY", "true"),
        ]))
        .unwrap();
        let id = SessionId::generate().unwrap();
        let set = c.issue(&id, NOW + 30, NOW).unwrap();
        let pair = set.split(';').next().unwrap();
        assert!(pair.starts_with("__Host-l42_session=v1."));
        assert_eq!(c.read([pair], NOW).unwrap().session_id, id);
        assert!(c.clear().contains("Max-Age=0"));
    }

    fn pair_of(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_string()
    }

    #[test]
    fn login_bindings_tie_a_state_to_the_browser_that_started_it() {
        let c = SessionCookies::from_lookup(lookup(&[
            ("SESSION_SECRET", A),
            ("SESSION_HTTPS_ONLY", "true"),
            ("COOKIE_DOMAIN", "example.com"),
            ("SESSION_SAME_SITE", "strict"),
        ]))
        .unwrap();
        let s1 = "1".repeat(43);
        let s2 = "2".repeat(43);
        let set = c.bind_login(["theme=dark"], &s1);
        // `__Host-` even with a session cookie domain; Lax even with a Strict session cookie.
        assert_eq!(set.split_once('=').unwrap().0, "__Host-l42_login", "{set}");
        for attr in [
            "Path=/",
            "Max-Age=600",
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
        ] {
            assert!(set.contains(attr), "{attr}: {set}");
        }
        assert!(!set.contains("Domain"), "{set}");
        let jar = pair_of(&set);
        // A second login in another tab keeps the first one's binding.
        let jar = pair_of(&c.bind_login([jar.as_str()], &s2));
        assert_eq!(jar.split('=').nth(1).unwrap().split('.').count(), 2);
        // Each callback finds its own binding and removes only it.
        let after = c.take_login_binding([jar.as_str()], &s1).unwrap();
        assert!(after.contains("Max-Age=600"), "{after}");
        let left = pair_of(&after);
        assert_eq!(
            c.take_login_binding([left.as_str()], &s1),
            Err(LoginBindingError::Mismatch)
        );
        let last = c.take_login_binding([left.as_str()], &s2).unwrap();
        assert!(
            last.contains("Max-Age=0"),
            "the last binding deletes the cookie"
        );
        // No cookie, an empty one, junk, or another browser's binding.
        for jar in ["", "__Host-l42_login=", "__Host-l42_login=x.y.z", "other=1"] {
            assert_eq!(
                c.take_login_binding([jar], &s1),
                Err(LoginBindingError::Missing),
                "{jar}"
            );
        }
        let other = SessionCookies::from_lookup(lookup(&[
            ("SESSION_SECRET", B),
            ("SESSION_HTTPS_ONLY", "true"),
        ]))
        .unwrap();
        let foreign = pair_of(&other.bind_login([], &s1));
        assert_eq!(
            c.take_login_binding([foreign.as_str()], &s1),
            Err(LoginBindingError::Mismatch)
        );
        // The binding of one state is not another's, nor a session cookie's MAC.
        let b1 = c.keys.login_binding(&s1);
        assert!(!c.keys.login_binding_matches(&s2, &b1));
        assert_ne!(
            b1,
            c.keys.sign(&SessionId::parse(&s1).unwrap(), 1).unwrap()[47..]
        );
    }

    #[test]
    fn login_bindings_are_bounded_and_survive_a_key_rotation() {
        let c = SessionCookies::from_lookup(lookup(&[("SESSION_SECRET", A)])).unwrap();
        assert!(c.bind_login([], &"a".repeat(43)).starts_with("l42_login="));
        let states: Vec<String> = (0..10).map(|i| format!("{i:0>43}")).collect();
        let mut jar = String::new();
        for s in &states {
            jar = pair_of(&c.bind_login([jar.as_str()], s));
        }
        let value = jar.split_once('=').unwrap().1;
        assert_eq!(value.split('.').count(), MAX_LOGIN_BINDINGS);
        assert!(c.take_login_binding([jar.as_str()], &states[9]).is_ok());
        assert!(c.take_login_binding([jar.as_str()], &states[6]).is_ok());
        assert_eq!(
            c.take_login_binding([jar.as_str()], &states[5]),
            Err(LoginBindingError::Mismatch),
            "the oldest gave way"
        );
        // Binding again the same state does not repeat it.
        let again = pair_of(&c.bind_login([jar.as_str()], &states[9]));
        assert_eq!(again, jar);
        // Rotated: the previous secret still verifies a binding made before.
        let rotated = SessionCookies::from_lookup(lookup(&[
            ("SESSION_SECRET", B),
            ("SESSION_SECRET_PREVIOUS", A),
        ]))
        .unwrap();
        assert!(
            rotated
                .take_login_binding([jar.as_str()], &states[8])
                .is_ok()
        );
        // An oversized value is no cookie at all.
        let huge = format!("l42_login={}", "a".repeat(43 * 10 + 9));
        assert_eq!(
            c.take_login_binding([huge.as_str()], &states[9]),
            Err(LoginBindingError::Missing)
        );
    }
}

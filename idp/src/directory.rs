//! Users, groups and app clients: the users file, its validation, and the embedded default.
//!
//! The file is JSON; unknown fields are rejected everywhere. See `dev/README.md` and
//! `idp/users.example.json` (the embedded default) for the format.

use l42_core::urls;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::util::format_uuid;

/// The embedded default directory (also shipped as `idp/users.example.json`).
pub const EXAMPLE_USERS_JSON: &str = include_str!("../users.example.json");

/// The largest users file accepted.
pub const MAX_USERS_FILE_BYTES: usize = 1024 * 1024;

/// The longest grace period Cognito allows for refresh-token rotation, in seconds.
pub const MAX_GRACE_SECONDS: u32 = 60;

/// The most callback or logout URLs per app client (Cognito's limit).
pub const MAX_URLS_PER_CLIENT: usize = 100;

/// Scopes Cognito reserves; any other scope must look like `<resource server>/<scope>`.
pub const STANDARD_SCOPES: [&str; 5] = [
    "openid",
    "email",
    "phone",
    "profile",
    "aws.cognito.signin.user.admin",
];

/// An invalid users file or directory: where (a JSON path such as `users[1].username`, or
/// the file) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("users file: {at}: {message}")]
pub struct DirectoryError {
    /// Where the problem is.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl DirectoryError {
    fn new(at: impl Into<String>, message: impl Into<String>) -> DirectoryError {
        DirectoryError {
            at: at.into(),
            message: message.into(),
        }
    }
}

/// One user of the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The sign-in name (`cognito:username` / `username`); matched case-insensitively,
    /// as in a Cognito pool created with the default case-insensitive setting.
    pub username: String,
    /// The password typed into the sign-in form.
    pub password: String,
    /// The `email` attribute, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email_verified` (default `true`).
    #[serde(default = "yes")]
    pub email_verified: bool,
    /// The stable id; when the file leaves it out, a UUID derived from the username.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub: String,
    /// Group names (each must be listed in `groups`), in `cognito:groups` order.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Custom attributes by name without the prefix (`{"tenant": "acme"}`): the id token
    /// and userInfo carry each as `custom:<name>`, a string, as Cognito writes custom
    /// attributes whatever their declared type (`"custom:level": "3"`). Names are 1 to
    /// [`MAX_CUSTOM_NAME`] letters, digits, `_` or `-`; values at most
    /// [`MAX_CUSTOM_VALUE`] bytes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
    /// Claims added to the user's access and id tokens, as a pre-token-generation (V2)
    /// trigger adds them (`{"tenant": "acme", "roles": ["ops"]}`): any JSON but `null`.
    /// The claims Cognito keeps for itself ([`RESERVED_CLAIMS`], `cognito:*`) are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_claims: BTreeMap<String, serde_json::Value>,
}

/// Claims a pre-token-generation trigger cannot add or override, as in Cognito (with
/// every `cognito:` claim).
pub const RESERVED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "azp",
    "c_hash",
    "client_id",
    "device_key",
    "event_id",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "scope",
    "sub",
    "token_use",
    "username",
    "version",
];
/// The longest token claim value, as JSON text.
pub const MAX_TOKEN_CLAIM_BYTES: usize = 2048;

/// The longest custom attribute name, as in Cognito.
pub const MAX_CUSTOM_NAME: usize = 20;
/// The longest custom attribute value, in bytes, as Cognito's string attributes.
pub const MAX_CUSTOM_VALUE: usize = 2048;

fn yes() -> bool {
    true
}

/// Refresh-token rotation of an app client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRotation {
    /// Whether the refresh grant returns a new refresh token (and retires the old one).
    pub enabled: bool,
    /// How long (0–60 s) a rotated-out refresh token still works, once.
    #[serde(default)]
    pub grace_seconds: u32,
}

/// One app client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppClient {
    /// The client id (`aud` of id tokens, `client_id` of access tokens).
    pub client_id: String,
    /// The secret; present means a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Allowed `redirect_uri` values (exact match); none for a machine client.
    #[serde(default)]
    pub callback_urls: Vec<String>,
    /// Allowed `logout_uri` values (exact match).
    #[serde(default)]
    pub logout_urls: Vec<String>,
    /// Scopes the client may request; all of them when a request names none.
    #[serde(default = "default_scopes")]
    pub allowed_scopes: Vec<String>,
    /// Refresh-token rotation (default off).
    #[serde(default)]
    pub refresh_token_rotation: RefreshRotation,
    /// Refuse authorization requests without PKCE (Cognito itself only checks PKCE when
    /// the request sends a challenge; default `false`).
    #[serde(default)]
    pub require_pkce: bool,
    /// A machine-to-machine client: the `client_credentials` grant only, as Cognito has
    /// it. Needs a secret, `<resource server>/<scope>` scopes and no callback or logout
    /// URLs; its access token's `sub` is its client id, with no `username` or groups.
    #[serde(default)]
    pub client_credentials: bool,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"]
        .into_iter()
        .map(str::to_string)
        .collect()
}

impl AppClient {
    /// True when the client has a secret.
    pub fn is_confidential(&self) -> bool {
        self.client_secret.is_some()
    }

    /// The scopes a request for `requested` (space-separated; none or blank means all the
    /// client allows) is granted, each once; `Err` says which scope is not allowed.
    pub(crate) fn grant_scopes(&self, requested: Option<&str>) -> Result<Vec<String>, String> {
        let mut out: Vec<String> = Vec::new();
        for sc in requested.unwrap_or_default().split_ascii_whitespace() {
            if !self.allowed_scopes.iter().any(|a| a == sc) {
                return Err(format!("scope `{sc}` is not allowed for this app client"));
            }
            if !out.iter().any(|o| o == sc) {
                out.push(sc.to_string());
            }
        }
        if out.is_empty() {
            out.clone_from(&self.allowed_scopes);
        }
        for dep in ["email", "phone", "profile"] {
            if out.iter().any(|s| s == dep) && !out.iter().any(|s| s == "openid") {
                return Err(format!("scope `{dep}` needs `openid` as well"));
            }
        }
        Ok(out)
    }
}

/// The whole users file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    users: Vec<User>,
    clients: Vec<AppClient>,
}

/// Users, groups and app clients, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directory {
    groups: Vec<String>,
    users: Vec<User>,
    clients: Vec<AppClient>,
}

impl Default for Directory {
    /// The embedded example directory ([`Directory::example`]).
    fn default() -> Directory {
        Directory::example()
    }
}

impl Directory {
    /// Validates a directory built in code (fills in missing `sub`s).
    pub fn new(
        groups: Vec<String>,
        users: Vec<User>,
        clients: Vec<AppClient>,
    ) -> Result<Directory, DirectoryError> {
        let mut d = Directory {
            groups,
            users,
            clients,
        };
        d.validate()?;
        Ok(d)
    }

    /// Parses and validates a users file's text.
    pub fn from_json(text: &str) -> Result<Directory, DirectoryError> {
        if text.len() > MAX_USERS_FILE_BYTES {
            return Err(DirectoryError::new(
                "file",
                format!("larger than {MAX_USERS_FILE_BYTES} bytes"),
            ));
        }
        let raw: RawDirectory =
            serde_json::from_str(text).map_err(|e| DirectoryError::new("JSON", e.to_string()))?;
        Directory::new(raw.groups, raw.users, raw.clients)
    }

    /// Reads, parses and validates a users file.
    pub fn from_file(path: &Path) -> Result<Directory, DirectoryError> {
        let cannot = |e: std::io::Error| {
            DirectoryError::new(path.display().to_string(), format!("cannot read: {e}"))
        };
        let len = std::fs::metadata(path).map_err(cannot)?.len();
        if len > MAX_USERS_FILE_BYTES as u64 {
            return Err(DirectoryError::new(
                path.display().to_string(),
                format!("larger than {MAX_USERS_FILE_BYTES} bytes"),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(cannot)?;
        Directory::from_json(&text).map_err(|e| DirectoryError {
            at: format!("{}: {}", path.display(), e.at),
            message: e.message,
        })
    }

    /// The embedded default: users `admin` (group `admin`), `editor` (group `editor`) and
    /// `user`, each with a tenant; a public client `l42-dev-public` and a confidential
    /// client `l42-dev-confidential`, both with loopback callback URLs; a machine client
    /// `l42-dev-machine`.
    pub fn example() -> Directory {
        // The embedded file is checked by a unit test; an empty directory is only a
        // fallback that keeps this function free of panics.
        Directory::from_json(EXAMPLE_USERS_JSON).unwrap_or(Directory {
            groups: Vec::new(),
            users: Vec::new(),
            clients: Vec::new(),
        })
    }

    /// The declared groups.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The users.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The app clients.
    pub fn clients(&self) -> &[AppClient] {
        &self.clients
    }

    /// The user named `username` (case-insensitive).
    pub fn user(&self, username: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// The app client with id `client_id` (exact).
    pub fn client(&self, client_id: &str) -> Option<&AppClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    fn validate(&mut self) -> Result<(), DirectoryError> {
        let mut seen = HashSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            let at = format!("groups[{i}]");
            check_name(&at, g, 128)?;
            if !seen.insert(g.as_str()) {
                return Err(DirectoryError::new(at, format!("duplicate group `{g}`")));
            }
        }
        let mut names = HashSet::new();
        let mut subs = HashSet::new();
        for (i, u) in self.users.iter_mut().enumerate() {
            let at = format!("users[{i}]");
            check_name(&format!("{at}.username"), &u.username, 128)?;
            if !names.insert(u.username.to_ascii_lowercase()) {
                return Err(DirectoryError::new(
                    format!("{at}.username"),
                    format!("duplicate username `{}`", u.username),
                ));
            }
            if u.password.is_empty() || u.password.len() > 256 {
                return Err(DirectoryError::new(
                    format!("{at}.password"),
                    "must be 1 to 256 bytes",
                ));
            }
            if let Some(email) = &u.email {
                let ok = email.len() <= 254
                    && email
                        .split_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
                    && !email.chars().any(char::is_whitespace);
                if !ok {
                    return Err(DirectoryError::new(
                        format!("{at}.email"),
                        format!("`{email}` is not an email address"),
                    ));
                }
            }
            for (name, value) in &u.custom {
                let ok = !name.is_empty()
                    && name.len() <= MAX_CUSTOM_NAME
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok {
                    return Err(DirectoryError::new(
                        format!("{at}.custom"),
                        format!(
                            "`{name}` is not a custom attribute name (1 to {MAX_CUSTOM_NAME} letters, digits, _ or -; no custom: prefix)"
                        ),
                    ));
                }
                if value.len() > MAX_CUSTOM_VALUE {
                    return Err(DirectoryError::new(
                        format!("{at}.custom.{name}"),
                        format!("is longer than {MAX_CUSTOM_VALUE} bytes"),
                    ));
                }
            }
            for (name, value) in &u.token_claims {
                let at = format!("{at}.token_claims");
                if name.is_empty()
                    || name.len() > 128
                    || name.chars().any(|c| c.is_control() || c.is_whitespace())
                {
                    return Err(DirectoryError::new(
                        at,
                        format!(
                            "`{name}` is not a claim name (1 to 128 characters without spaces)"
                        ),
                    ));
                }
                if RESERVED_CLAIMS.contains(&name.as_str()) || name.starts_with("cognito:") {
                    return Err(DirectoryError::new(
                        at,
                        format!("`{name}` is a claim Cognito sets itself; a trigger cannot add it"),
                    ));
                }
                if value.is_null() {
                    return Err(DirectoryError::new(
                        format!("{at}.{name}"),
                        "is null; leave the claim out instead",
                    ));
                }
                if value.to_string().len() > MAX_TOKEN_CLAIM_BYTES {
                    return Err(DirectoryError::new(
                        format!("{at}.{name}"),
                        format!("is longer than {MAX_TOKEN_CLAIM_BYTES} bytes of JSON"),
                    ));
                }
            }
            if u.sub.is_empty() {
                u.sub = derived_sub(&u.username);
            } else if u.sub.len() > 128 || u.sub.chars().any(|c| c.is_control() || c == ' ') {
                return Err(DirectoryError::new(
                    format!("{at}.sub"),
                    "must be 1 to 128 characters without spaces",
                ));
            }
            if !subs.insert(u.sub.clone()) {
                return Err(DirectoryError::new(
                    format!("{at}.sub"),
                    format!("duplicate sub `{}`", u.sub),
                ));
            }
            let mut mine = HashSet::new();
            for (j, g) in u.groups.iter().enumerate() {
                if !seen.contains(g.as_str()) {
                    return Err(DirectoryError::new(
                        format!("{at}.groups[{j}]"),
                        format!("group `{g}` is not listed in `groups`"),
                    ));
                }
                if !mine.insert(g.as_str()) {
                    return Err(DirectoryError::new(
                        format!("{at}.groups[{j}]"),
                        format!("group `{g}` is listed twice"),
                    ));
                }
            }
        }
        if self.clients.is_empty() {
            return Err(DirectoryError::new(
                "clients",
                "at least one app client is required",
            ));
        }
        let mut ids = HashSet::new();
        for (i, c) in self.clients.iter().enumerate() {
            let at = format!("clients[{i}]");
            let id_ok = !c.client_id.is_empty()
                && c.client_id.len() <= 128
                && c.client_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok {
                return Err(DirectoryError::new(
                    format!("{at}.client_id"),
                    "must be 1 to 128 characters of A-Z, a-z, 0-9, `-`, `_`",
                ));
            }
            if !ids.insert(c.client_id.as_str()) {
                return Err(DirectoryError::new(
                    format!("{at}.client_id"),
                    format!("duplicate client id `{}`", c.client_id),
                ));
            }
            if let Some(s) = &c.client_secret
                && (s.is_empty() || s.len() > 256)
            {
                return Err(DirectoryError::new(
                    format!("{at}.client_secret"),
                    "must be 1 to 256 bytes (leave it out for a public client)",
                ));
            }
            if c.client_credentials {
                // As in Cognito: the client-credentials flow cannot be combined with a
                // user flow, needs a secret and grants resource-server scopes only.
                if c.client_secret.is_none() {
                    return Err(DirectoryError::new(
                        format!("{at}.client_secret"),
                        "a client_credentials client needs a secret",
                    ));
                }
                for (field, urls) in [
                    ("callback_urls", &c.callback_urls),
                    ("logout_urls", &c.logout_urls),
                ] {
                    if !urls.is_empty() {
                        return Err(DirectoryError::new(
                            format!("{at}.{field}"),
                            "a client_credentials client signs no user in: leave it out",
                        ));
                    }
                }
                if let Some((j, s)) = c
                    .allowed_scopes
                    .iter()
                    .enumerate()
                    .find(|(_, s)| STANDARD_SCOPES.contains(&s.as_str()))
                {
                    return Err(DirectoryError::new(
                        format!("{at}.allowed_scopes[{j}]"),
                        format!(
                            "`{s}` is a user scope; a client_credentials client has `<resource server>/<scope>` scopes only"
                        ),
                    ));
                }
            } else if c.callback_urls.is_empty() {
                return Err(DirectoryError::new(
                    format!("{at}.callback_urls"),
                    "at least one callback URL is required",
                ));
            }
            check_urls(&format!("{at}.callback_urls"), &c.callback_urls)?;
            check_urls(&format!("{at}.logout_urls"), &c.logout_urls)?;
            if c.allowed_scopes.is_empty() {
                return Err(DirectoryError::new(
                    format!("{at}.allowed_scopes"),
                    "at least one scope is required",
                ));
            }
            let mut scopes = HashSet::new();
            for (j, s) in c.allowed_scopes.iter().enumerate() {
                let sat = format!("{at}.allowed_scopes[{j}]");
                let custom = s
                    .split_once('/')
                    .is_some_and(|(r, n)| !r.is_empty() && !n.is_empty());
                let chars_ok = !s.is_empty()
                    && s.len() <= 256
                    && s.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
                if !chars_ok || !(STANDARD_SCOPES.contains(&s.as_str()) || custom) {
                    return Err(DirectoryError::new(
                        sat,
                        format!(
                            "`{s}` is neither a standard scope ({}) nor `<resource server>/<scope>`",
                            STANDARD_SCOPES.join(", ")
                        ),
                    ));
                }
                if !scopes.insert(s.as_str()) {
                    return Err(DirectoryError::new(
                        sat,
                        format!("scope `{s}` is listed twice"),
                    ));
                }
            }
            for dep in ["email", "phone", "profile"] {
                if scopes.contains(dep) && !scopes.contains("openid") {
                    return Err(DirectoryError::new(
                        format!("{at}.allowed_scopes"),
                        format!("`{dep}` needs `openid` as well"),
                    ));
                }
            }
            if c.refresh_token_rotation.grace_seconds > MAX_GRACE_SECONDS {
                return Err(DirectoryError::new(
                    format!("{at}.refresh_token_rotation.grace_seconds"),
                    format!(
                        "{} is out of range (0 to {MAX_GRACE_SECONDS})",
                        c.refresh_token_rotation.grace_seconds
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn check_name(at: &str, s: &str, max: usize) -> Result<(), DirectoryError> {
    if s.is_empty() || s.len() > max || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(DirectoryError::new(
            at,
            format!("must be 1 to {max} characters without spaces"),
        ));
    }
    Ok(())
}

/// Callback and logout URLs: absolute, no fragment; `https`, plain `http` only on
/// loopback hosts (as Cognito allows `http://localhost`), or an app scheme (`myapp://`).
fn check_urls(at: &str, urls: &[String]) -> Result<(), DirectoryError> {
    if urls.len() > MAX_URLS_PER_CLIENT {
        return Err(DirectoryError::new(
            at,
            format!("more than {MAX_URLS_PER_CLIENT} URLs"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, u) in urls.iter().enumerate() {
        let uat = format!("{at}[{i}]");
        if let Err(m) = check_url(u) {
            return Err(DirectoryError::new(uat, format!("`{u}`: {m}")));
        }
        if !seen.insert(u.as_str()) {
            return Err(DirectoryError::new(uat, format!("`{u}` is listed twice")));
        }
    }
    Ok(())
}

fn check_url(u: &str) -> Result<(), String> {
    if u.len() > 1024 {
        return Err("longer than 1024 characters".to_owned());
    }
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces".to_owned());
    }
    let Some((scheme, _)) = u.split_once("://") else {
        return Err("must be an absolute URL".to_owned());
    };
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        // Read as every configured URL is read, so "loopback" is the parsed host's.
        let url = urls::parse_http_url(u)?;
        if url.scheme() == "http" && !urls::is_loopback(&url) {
            return Err(
                "plain http is allowed only on localhost and loopback addresses".to_owned(),
            );
        }
        return Ok(());
    }
    // An app scheme (`myapp://callback`).
    let url = urls::Url::parse(u).map_err(|_| "has an invalid scheme".to_owned())?;
    if url.fragment().is_some() {
        return Err("must not have a fragment".to_owned());
    }
    Ok(())
}

/// A stable `sub` for a user without one: a name-based (version 5 style) UUID from the
/// SHA-256 of the lower-cased username.
pub fn derived_sub(username: &str) -> String {
    let d = digest::digest(
        &digest::SHA256,
        format!("l42-dev-user:{}", username.to_ascii_lowercase()).as_bytes(),
    );
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    format_uuid(b, 5)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_embedded_example_is_valid() {
        let d = Directory::from_json(EXAMPLE_USERS_JSON).unwrap();
        assert_eq!(d, Directory::example());
        assert_eq!(d.user("ADMIN").unwrap().groups, ["admin"]);
        assert_eq!(d.user("editor").unwrap().groups, ["editor"]);
        assert!(d.user("user").unwrap().groups.is_empty());
        assert!(d.clients().iter().any(|c| c.is_confidential()));
        assert!(d.clients().iter().any(|c| !c.is_confidential()));
        assert!(d.clients().iter().any(|c| c.client_credentials));
        assert_eq!(d.user("user").unwrap().token_claims["tenant"], "globex");
    }

    #[test]
    fn subs_are_stable_and_distinct() {
        assert_eq!(derived_sub("alice"), derived_sub("Alice"));
        assert_ne!(derived_sub("alice"), derived_sub("bob"));
        assert_eq!(derived_sub("alice").len(), 36);
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "groups": ["admin"],
            "users": [{"username": "a", "password": "p", "groups": ["admin"]}],
            "clients": [{"client_id": "c1", "callback_urls": ["http://localhost:1/cb"]}]
        })
    }

    fn err_of(v: serde_json::Value) -> DirectoryError {
        Directory::from_json(&v.to_string()).unwrap_err()
    }

    #[test]
    fn a_minimal_file_is_accepted() {
        let d = Directory::from_json(&base().to_string()).unwrap();
        let c = d.client("c1").unwrap();
        assert_eq!(c.allowed_scopes, ["openid", "email", "profile"]);
        assert!(!c.refresh_token_rotation.enabled);
        assert!(d.user("a").unwrap().email_verified);
    }

    #[test]
    fn bad_files_name_the_problem() {
        let mut v = base();
        v["users"][0]["nickname"] = "x".into();
        let e = err_of(v);
        assert!(e.message.contains("unknown field"), "{e}");

        let mut v = base();
        v["users"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"username": "A", "password": "q"}));
        let e = err_of(v);
        assert_eq!(e.at, "users[1].username", "{e}");
        assert!(e.message.contains("duplicate"));

        let mut v = base();
        v["clients"][0]["refresh_token_rotation"] =
            serde_json::json!({"enabled": true, "grace_seconds": 61});
        assert_eq!(
            err_of(v).at,
            "clients[0].refresh_token_rotation.grace_seconds"
        );

        let mut v = base();
        v["clients"][0]["refresh_token_rotation"] =
            serde_json::json!({"enabled": true, "grace_seconds": -1});
        assert_eq!(err_of(v).at, "JSON");

        let mut v = base();
        v["users"][0]["groups"] = serde_json::json!(["editor"]);
        assert_eq!(err_of(v).at, "users[0].groups[0]");

        let mut v = base();
        v["clients"][0]["callback_urls"] = serde_json::json!(["http://example.com/cb"]);
        assert_eq!(err_of(v).at, "clients[0].callback_urls[0]");

        let mut v = base();
        v["clients"][0]["callback_urls"] = serde_json::json!(["https://example.com/cb#x"]);
        assert_eq!(err_of(v).at, "clients[0].callback_urls[0]");

        let mut v = base();
        v["clients"][0]["allowed_scopes"] = serde_json::json!(["email"]);
        assert_eq!(err_of(v).at, "clients[0].allowed_scopes");

        let mut v = base();
        v["clients"][0]["allowed_scopes"] = serde_json::json!(["openid", "bogus"]);
        assert_eq!(err_of(v).at, "clients[0].allowed_scopes[1]");

        let mut v = base();
        v["clients"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"client_id": "c1", "callback_urls": ["myapp://cb"]}));
        assert_eq!(err_of(v).at, "clients[1].client_id");

        let mut v = base();
        v["clients"] = serde_json::json!([]);
        assert_eq!(err_of(v).at, "clients");

        let mut v = base();
        v["clients"][0]["client_id"] = "has space".into();
        assert_eq!(err_of(v).at, "clients[0].client_id");

        let mut v = base();
        v["users"][0]["email"] = "nope".into();
        assert_eq!(err_of(v).at, "users[0].email");

        assert_eq!(Directory::from_json("[").unwrap_err().at, "JSON");
        assert_eq!(Directory::from_json("{}").unwrap_err().at, "JSON");
    }

    #[test]
    fn url_rules() {
        for ok in [
            "https://app.example.com/cb",
            "http://localhost/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1:8080/x?y=1",
            "http://[::1]:3000/cb",
            "myapp://callback",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "http://example.com/",
            "http://localhost.example.com/",
            "https:///nohost",
            "https://a/b#frag",
            "1x://a",
            "https://a b",
            "http://127.0.0.1:@other.example/cb",
            "http://localhost:@other.example/cb",
            "https://user@example.com/cb",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}

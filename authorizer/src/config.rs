//! The authorizer's configuration, read once per process.
//!
//! Beyond the verifier's variables (see [`l42_core::config`]) and the policy store's
//! (`CEDAR_POLICY_DIR`, `CEDAR_APPLICATION`):
//!
//! | variable | meaning |
//! |---|---|
//! | `IDENTITY_SOURCES` | comma-separated, in order: `header` (default; `Authorization: Bearer`), `query` (`?token=`), `protocol` (`Sec-WebSocket-Protocol`), `cookie` (the token handler's session cookie: its MAC, then one session read, then the stored access token) |
//!
//! With `cookie`, the session variables of [`l42_core::session::cookie`] (`SESSION_SECRET`,
//! `SESSION_SECRET_PREVIOUS`, or `SESSION_SECRET_ARN` for both from Secrets Manager;
//! `SESSION_HTTPS_ONLY`, `COOKIE_DOMAIN`) and of the DynamoDB
//! store ([`l42_core::session::dynamodb`]: `DYNAMODB_TABLE`, `DYNAMODB_ENDPOINT`, …) apply,
//! with the same values as the token handler's. So do the token handler's origin
//! allow-list, `FRONTEND_URL` and `CALLBACK_ALLOWED_ORIGINS` (here without a default):
//! a cookie-authenticated request with a method other than `GET`, `HEAD` or `OPTIONS`
//! (a WebSocket `$connect` included) must carry `X-L42-CSRF: 1` or an `Origin` header
//! equal to one of them, else it is denied (403).
//!
//! | variable | meaning |
//! |---|---|
//! | `HTTP_API_RESPONSE` | `simple` (default) or `iam`, for HTTP API payload 2.0 |
//! | `REVOCATION_CHECK` | `on` or `off`: refuse (401) a token whose sign-in was ended (logout, a session ended from another device, `l42 sessions end`), read from the session table (`DYNAMODB_TABLE`); default `on` when the authorizer reads that table (the `cookie` source, or `DYNAMODB_TABLE` set), `off` otherwise: without the token handler's table nothing records revocations |
//! | `REVOCATION_RECHECK_SECONDS` | how long a sign-in's answer is kept, 0–3600 (default 30): one `GetItem` per sign-in per window, and the longest a revoked token is still accepted by a warm authorizer |
//! | `POLICY_CACHE_SAFE` | `true` (default): a REST/WebSocket Allow lists every route Cedar allows, so API Gateway's result cache neither over- nor under-grants; `false`: only the requested ARN |

use l42_core::session::{RevocationSettings, SessionCookies};
use l42_core::web::Origin;
use l42_core::{ConfigError, VerifierConfig};

/// Where a token may be found, tried in the configured order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// `Authorization: Bearer <jwt>` (or a bare JWT in `Authorization`).
    Header,
    /// The `token` query string parameter.
    Query,
    /// An entry of `Sec-WebSocket-Protocol` that is a JWT.
    Protocol,
    /// The token handler's session cookie: the session's stored access token.
    Cookie,
}

/// The response shape for HTTP API payload 2.0 events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpApiResponse {
    /// `{"isAuthorized": …, "context": …}`.
    Simple,
    /// An IAM policy, as for REST.
    Iam,
}

/// Everything the authorizer reads from the environment besides the verifier and Cedar.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// Identity sources, in order.
    pub identity_sources: Vec<IdentitySource>,
    /// Payload 2.0 response shape.
    pub http_api_response: HttpApiResponse,
    /// List every allowed route in REST/WebSocket policies.
    pub policy_cache_safe: bool,
    /// The verifier's configuration.
    pub verifier: VerifierConfig,
    /// The session cookie's keys and name, when `cookie` is an identity source.
    pub cookies: Option<SessionCookies>,
    /// With `cookie`: the origins (`FRONTEND_URL`, `CALLBACK_ALLOWED_ORIGINS`) whose
    /// `Origin` header proves a state-changing cookie-authenticated request as the
    /// `X-L42-CSRF` header does. Empty: only the header proves it.
    pub csrf_origins: Vec<Origin>,
    /// The revocation check (`REVOCATION_CHECK`, `REVOCATION_RECHECK_SECONDS`).
    pub revocation: RevocationSettings,
}

impl AuthorizerConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<AuthorizerConfig, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<AuthorizerConfig, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let identity_sources = match get("IDENTITY_SOURCES") {
            None => vec![IdentitySource::Header],
            Some(list) => parse_sources(&list)?,
        };
        let http_api_response = match get("HTTP_API_RESPONSE").as_deref().map(str::trim) {
            None => HttpApiResponse::Simple,
            Some(v) if v.eq_ignore_ascii_case("simple") => HttpApiResponse::Simple,
            Some(v) if v.eq_ignore_ascii_case("iam") => HttpApiResponse::Iam,
            Some(v) => {
                return Err(ConfigError::new(
                    "HTTP_API_RESPONSE",
                    format!("`{v}` is not simple or iam"),
                ));
            }
        };
        let policy_cache_safe = match get("POLICY_CACHE_SAFE") {
            None => true,
            Some(v) => l42_core::config::parse_bool("POLICY_CACHE_SAFE", &v)?,
        };
        let verifier = VerifierConfig::from_lookup(&lookup)?;
        let (cookies, csrf_origins) = if identity_sources.contains(&IdentitySource::Cookie) {
            (
                Some(SessionCookies::from_lookup(&lookup)?),
                l42_core::web::app_origins(&lookup, None)?,
            )
        } else {
            (None, Vec::new())
        };
        let reads_table =
            cookies.is_some() || l42_core::config::var(&lookup, "DYNAMODB_TABLE").is_some();
        let revocation = RevocationSettings::from_lookup(&lookup, reads_table)?;
        Ok(AuthorizerConfig {
            identity_sources,
            http_api_response,
            policy_cache_safe,
            verifier,
            cookies,
            csrf_origins,
            revocation,
        })
    }
}

fn parse_sources(list: &str) -> Result<Vec<IdentitySource>, ConfigError> {
    let mut out = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let src = match s.to_ascii_lowercase().as_str() {
            "header" => IdentitySource::Header,
            "query" => IdentitySource::Query,
            "protocol" => IdentitySource::Protocol,
            "cookie" => IdentitySource::Cookie,
            _ => {
                return Err(ConfigError::new(
                    "IDENTITY_SOURCES",
                    format!("`{s}` is not header, query, protocol or cookie"),
                ));
            }
        };
        if out.contains(&src) {
            return Err(ConfigError::new(
                "IDENTITY_SOURCES",
                format!("`{s}` is listed twice"),
            ));
        }
        out.push(src);
    }
    if out.is_empty() {
        return Err(ConfigError::new("IDENTITY_SOURCES", "names no source"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;

    fn cfg(extra: &[(&str, &str)]) -> Result<AuthorizerConfig, ConfigError> {
        let mut m: HashMap<String, String> = [
            ("COGNITO_USER_POOL_ID", "us-east-1_Pool"),
            ("COGNITO_CLIENT_ID", "c"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            m.insert(k.to_string(), v.to_string());
        }
        AuthorizerConfig::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.identity_sources, [IdentitySource::Header]);
        assert_eq!(c.http_api_response, HttpApiResponse::Simple);
        assert!(c.policy_cache_safe);
        assert!(
            !c.revocation.enabled,
            "no session table, nothing to check against"
        );
    }

    #[test]
    fn the_revocation_check_is_on_where_the_session_table_is_read() {
        let secret = ("SESSION_SECRET", "a-session-secret-of-at-least-32-bytes");
        let c = cfg(&[("IDENTITY_SOURCES", "cookie"), secret]).unwrap();
        assert!(c.revocation.enabled);
        assert_eq!(c.revocation.recheck.as_secs(), 30);
        assert!(
            cfg(&[("DYNAMODB_TABLE", "sessions")])
                .unwrap()
                .revocation
                .enabled
        );
        let off = cfg(&[
            ("IDENTITY_SOURCES", "cookie"),
            secret,
            ("REVOCATION_CHECK", "off"),
        ])
        .unwrap();
        assert!(!off.revocation.enabled);
        let c = cfg(&[
            ("REVOCATION_CHECK", "on"),
            ("REVOCATION_RECHECK_SECONDS", "5"),
        ])
        .unwrap();
        assert!(c.revocation.enabled);
        assert_eq!(c.revocation.recheck.as_secs(), 5);
        for (k, v) in [
            ("REVOCATION_CHECK", "maybe"),
            ("REVOCATION_RECHECK_SECONDS", "a minute"),
        ] {
            assert_eq!(cfg(&[(k, v)]).unwrap_err().var, k);
        }
    }

    #[test]
    fn sources_in_order() {
        let c = cfg(&[("IDENTITY_SOURCES", "protocol, query,header")]).unwrap();
        assert_eq!(
            c.identity_sources,
            [
                IdentitySource::Protocol,
                IdentitySource::Query,
                IdentitySource::Header
            ]
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("IDENTITY_SOURCES", "header,header"),
            ("IDENTITY_SOURCES", "smoke-signal"),
            ("IDENTITY_SOURCES", " , "),
            ("HTTP_API_RESPONSE", "fancy"),
            ("POLICY_CACHE_SAFE", "maybe"),
        ] {
            let e = cfg(&[(k, v)]).unwrap_err();
            assert_eq!(e.var, k, "{k}={v}");
        }
    }

    #[test]
    fn the_cookie_source_needs_the_session_secret() {
        let e = cfg(&[("IDENTITY_SOURCES", "header,cookie")]).unwrap_err();
        assert_eq!(e.var, "SESSION_SECRET");
        let c = cfg(&[
            ("IDENTITY_SOURCES", "cookie,header"),
            ("SESSION_SECRET", "a-session-secret-of-at-least-32-bytes"),
            ("SESSION_HTTPS_ONLY", "true"),
        ])
        .unwrap();
        assert_eq!(
            c.identity_sources,
            [IdentitySource::Cookie, IdentitySource::Header]
        );
        assert_eq!(c.cookies.unwrap().name(), "__Host-l42_session");
        assert!(c.csrf_origins.is_empty(), "no default origin");
        assert!(cfg(&[]).unwrap().cookies.is_none());
    }

    #[test]
    fn the_cookie_source_reads_the_app_origins() {
        let secret = ("SESSION_SECRET", "a-session-secret-of-at-least-32-bytes");
        let c = cfg(&[
            ("IDENTITY_SOURCES", "cookie"),
            secret,
            ("FRONTEND_URL", "https://App.example.com"),
            ("CALLBACK_ALLOWED_ORIGINS", "https://b.example.com"),
        ])
        .unwrap();
        let origins: Vec<&str> = c.csrf_origins.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            origins,
            ["https://app.example.com", "https://b.example.com"]
        );
        let e = cfg(&[
            ("IDENTITY_SOURCES", "cookie"),
            secret,
            ("CALLBACK_ALLOWED_ORIGINS", "https://b.example.com/x"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "CALLBACK_ALLOWED_ORIGINS");
        // Without the cookie source they are not read at all.
        assert!(
            cfg(&[("FRONTEND_URL", "not an origin")])
                .unwrap()
                .csrf_origins
                .is_empty()
        );
    }
}

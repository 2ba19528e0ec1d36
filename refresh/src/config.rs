//! The refresh Lambda's configuration, read once from the environment.
//!
//! | variable | meaning |
//! |---|---|
//! | `COGNITO_DOMAIN`, `COGNITO_CLIENT_ID`, `COGNITO_CLIENT_SECRET`, `COGNITO_HTTP_TIMEOUT_MS` | the Cognito client ([`l42_core::oauth`]) |
//! | `SESSION_SECRET`, `SESSION_SECRET_PREVIOUS`, `SESSION_HTTPS_ONLY`, `COOKIE_DOMAIN`, `SESSION_SAME_SITE` | the session cookie ([`l42_core::session::cookie`]) |
//! | `SESSION_SECRET_ARN` | instead of `SESSION_SECRET`/`SESSION_SECRET_PREVIOUS` (production): the key from Secrets Manager, read once at start-up by the binary ([`l42_core::session::SessionSecret`]), with `SESSION_SECRET_PREVIOUS_ARN` optional |
//! | `SESSION_BACKEND` | `memory` or `dynamodb` (default `dynamodb` inside Lambda, `memory` elsewhere) |
//! | `DYNAMODB_TABLE`, `DYNAMODB_ENDPOINT`, `AWS_REGION`, `DYNAMODB_TIMEOUT_MS`, credentials | the DynamoDB store ([`l42_core::session::dynamodb`]) |
//! | `REFRESH_LEASE_SECONDS`, `REFRESH_MAX_WAIT_MS`, `REFRESH_REUSE_SECONDS` | the coordinator ([`l42_core::session::refresh::RefreshOptions::from_lookup`]) |
//! | `AUTH_PATH_PREFIX` | where the endpoint lives (default `/auth`; leading `/` added, trailing `/` dropped) |
//! | `FRONTEND_URL` | the app's origin (default `http://localhost:3000`) |
//! | `CALLBACK_ALLOWED_ORIGINS` | comma-separated exact origins also allowed (CORS) |
//! | `HOST`, `PORT` | the local listener (default `127.0.0.1:3002`); unused inside Lambda |
//!
//! Every error names its variable on one line ([`ConfigError`]).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use l42_core::ConfigError;
use l42_core::OAuthConfig;
use l42_core::config::listen_address;
use l42_core::session::refresh::RefreshOptions;
use l42_core::session::{Backend, DynamoStore, MemoryStore, SessionCookies, SessionStore};
pub use l42_core::web::{DEFAULT_AUTH_PATH_PREFIX, Origin, auth_path_prefix};

/// The default local port.
pub const DEFAULT_PORT: u16 = 3002;
/// The default frontend origin.
pub const DEFAULT_FRONTEND_URL: &str = "http://localhost:3000";

/// Everything the binary reads from the environment.
#[derive(Clone)]
pub struct Config {
    /// `AUTH_PATH_PREFIX`, normalised (`/auth`, or `""` for the root).
    pub auth_path_prefix: String,
    /// `FRONTEND_URL` then `CALLBACK_ALLOWED_ORIGINS`, normalised, without duplicates.
    pub origins: Vec<Origin>,
    /// The local listener.
    pub listen: SocketAddr,
    /// Whether the process runs inside Lambda (`AWS_LAMBDA_RUNTIME_API`).
    pub in_lambda: bool,
    /// The session cookie.
    pub cookies: SessionCookies,
    /// Cognito.
    pub oauth: OAuthConfig,
    /// The coordinator's options.
    pub refresh: RefreshOptions,
    /// The session store, as `SESSION_BACKEND` chose it.
    pub store: Arc<dyn SessionStore>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("auth_path_prefix", &self.auth_path_prefix)
            .field("origins", &self.origins)
            .field("listen", &self.listen)
            .field("in_lambda", &self.in_lambda)
            .field("oauth", &self.oauth)
            .field("refresh", &self.refresh)
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| l42_core::config::var(&lookup, name);
        let in_lambda = l42_core::config::in_lambda(&lookup);
        let oauth = OAuthConfig::from_lookup(&lookup)?;
        let cookies = SessionCookies::from_lookup(&lookup)?;
        let refresh = RefreshOptions::from_lookup(&lookup, oauth.timeout)?;
        let auth_path_prefix = auth_path_prefix(get("AUTH_PATH_PREFIX").as_deref())?;
        let origins = l42_core::web::app_origins(&lookup, Some(DEFAULT_FRONTEND_URL))?;
        let listen = listen_address(&lookup, DEFAULT_PORT)?;
        let backend = Backend::from_lookup(&lookup)?;
        let store: Arc<dyn SessionStore> = match backend {
            Backend::Memory => Arc::new(MemoryStore::new()),
            Backend::DynamoDb => Arc::new(DynamoStore::from_lookup(&lookup)?),
        };
        Ok(Config {
            auth_path_prefix,
            origins,
            listen,
            in_lambda,
            cookies,
            oauth,
            refresh,
            store,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut m: HashMap<String, String> = [
            ("COGNITO_DOMAIN", "auth.example.com"),
            ("COGNITO_CLIENT_ID", "client-1"),
            ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in vars {
            m.insert(k.to_string(), v.to_string());
        }
        Config::from_lookup(move |k| m.get(k).cloned())
    }

    fn origins(c: &Config) -> Vec<&str> {
        c.origins.iter().map(Origin::as_str).collect()
    }

    #[test]
    fn defaults_and_errors_name_the_variable() {
        let c = config(&[]).unwrap();
        assert_eq!(c.auth_path_prefix, "/auth");
        assert_eq!(origins(&c), ["http://localhost:3000"]);
        assert_eq!(c.store.backend(), "memory");
        assert_eq!(c.listen.port(), DEFAULT_PORT);
        let c = config(&[
            ("AUTH_PATH_PREFIX", "_auth/"),
            ("FRONTEND_URL", "HTTPS://App.Example.com:443/"),
            (
                "CALLBACK_ALLOWED_ORIGINS",
                "https://b.example.com, https://app.example.com",
            ),
        ])
        .unwrap();
        assert_eq!(c.auth_path_prefix, "/_auth");
        assert_eq!(
            origins(&c),
            ["https://app.example.com", "https://b.example.com"]
        );
        for (vars, var) in [
            (vec![("PORT", "x")], "PORT"),
            (vec![("SESSION_BACKEND", "redis")], "SESSION_BACKEND"),
            (vec![("FRONTEND_URL", "app.example.com")], "FRONTEND_URL"),
            (
                vec![("CALLBACK_ALLOWED_ORIGINS", "https://a.example.com/path")],
                "CALLBACK_ALLOWED_ORIGINS",
            ),
            (vec![("AUTH_PATH_PREFIX", "/a/../b")], "AUTH_PATH_PREFIX"),
            (vec![("SESSION_SECRET", "short")], "SESSION_SECRET"),
            (vec![("COGNITO_DOMAIN", "")], "COGNITO_DOMAIN"),
            (
                vec![("REFRESH_LEASE_SECONDS", "1")],
                "REFRESH_LEASE_SECONDS",
            ),
        ] {
            assert_eq!(config(&vars).unwrap_err().var, var, "{vars:?}");
        }
    }
}

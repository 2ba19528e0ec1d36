//! The Cognito OAuth client: hosted-UI URLs, the code exchange with PKCE, the refresh grant
//! and revocation, with errors classified for the session's fate.
//!
//! # Configuration
//!
//! | variable | meaning |
//! |---|---|
//! | `COGNITO_DOMAIN` | required; the hosted UI domain: a bare name (`auth.example.com`, `myapp.auth.us-east-1.amazoncognito.com`) means `https://`; or a full URL, `https://…`, or plain `http://` on loopback only (the dev identity provider) |
//! | `COGNITO_CLIENT_ID` | required; the app client (the first, when the verifier's list names several) |
//! | `COGNITO_CLIENT_SECRET` | optional; sent by HTTP Basic when set (confidential client; id and secret form-encoded first, RFC 6749 §2.3.1) |
//! | `COGNITO_HTTP_TIMEOUT_MS` | timeout of one call to Cognito, connection included (default 5000, at most 60000) |
//!
//! # Errors decide the session's fate
//!
//! - [`OAuthError::InvalidGrant`]: the code or refresh token is dead (revoked, expired,
//!   rotated out): the session ends.
//! - [`OAuthError::Transient`]: timeout, connection failure, 5xx, 429 (or an OAuth error
//!   that says "try later"): the session is kept and the caller answers 503.
//! - [`OAuthError::Rejected`]: any other OAuth error (`invalid_client`, `invalid_request`,
//!   `unauthorized_client`, …): configuration or request trouble; the session is kept.
//! - [`OAuthError::Malformed`]: a success status with a body that is not a token response.
//!
//! No token, code, verifier or secret appears in an error or a `Debug` form.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::digest;
use serde::Deserialize;
use thiserror::Error;

use crate::config::ConfigError;
use crate::session::RandomError;

/// The largest token-endpoint response read (Cognito's are a few KB).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The default timeout of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and as whom to talk to Cognito. Its `Debug` form hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// `https://<domain>` (or loopback `http://…`), without a trailing slash.
    pub base_url: String,
    /// The app client id.
    pub client_id: String,
    /// The app client secret (confidential clients).
    pub client_secret: Option<String>,
    /// Timeout of one call.
    pub timeout: Duration,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl OAuthConfig {
    /// Checks and builds a configuration (see the module docs for `domain`).
    pub fn new(
        domain: &str,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Result<OAuthConfig, ConfigError> {
        let base_url = base_url(domain)?;
        let client_id = client_id.trim();
        if client_id.is_empty()
            || client_id.len() > 128
            || !client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConfigError::new(
                "COGNITO_CLIENT_ID",
                format!("`{client_id}` is not an app client id"),
            ));
        }
        let client_secret = client_secret.filter(|s| !s.is_empty());
        if client_secret.is_some_and(|s| s.contains(|c: char| c.is_control())) {
            return Err(ConfigError::new(
                "COGNITO_CLIENT_SECRET",
                "contains control characters",
            ));
        }
        Ok(OAuthConfig {
            base_url,
            client_id: client_id.to_string(),
            client_secret: client_secret.map(str::to_string),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same configuration with another timeout per call.
    pub fn with_timeout(mut self, timeout: Duration) -> OAuthConfig {
        self.timeout = timeout;
        self
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<OAuthConfig, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (see the module docs).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<OAuthConfig, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let domain = get("COGNITO_DOMAIN")
            .ok_or_else(|| ConfigError::new("COGNITO_DOMAIN", "is required"))?;
        let clients = get("COGNITO_CLIENT_ID")
            .ok_or_else(|| ConfigError::new("COGNITO_CLIENT_ID", "is required"))?;
        let client_id = clients
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let secret = lookup("COGNITO_CLIENT_SECRET");
        let mut config = OAuthConfig::new(&domain, &client_id, secret.as_deref())?;
        if let Some(v) = get("COGNITO_HTTP_TIMEOUT_MS") {
            let ms: u64 = v
                .trim()
                .parse()
                .ok()
                .filter(|ms| (1..=60_000).contains(ms))
                .ok_or_else(|| {
                    ConfigError::new(
                        "COGNITO_HTTP_TIMEOUT_MS",
                        format!("`{v}` is not a number of milliseconds from 1 to 60000"),
                    )
                })?;
            config.timeout = Duration::from_millis(ms);
        }
        Ok(config)
    }
}

/// `https://<domain>` for a bare domain; a full `https` URL as it is; `http` on loopback
/// ([`crate::urls::service_url`]); no path, query, user info or fragment; lower case, no
/// trailing `/`.
fn base_url(domain: &str) -> Result<String, ConfigError> {
    let d = domain.trim();
    let text = if d.contains("://") {
        d.to_owned()
    } else {
        format!("https://{d}")
    };
    let url = crate::urls::service_url("COGNITO_DOMAIN", &text, crate::urls::Tail::Nothing)
        .map_err(|e| ConfigError::new("COGNITO_DOMAIN", format!("`{domain}`: {}", e.message)))?;
    Ok(crate::urls::without_trailing_slash(&url))
}

/// A token response. Its `Debug` form shows only which tokens are present.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// The id token (present with the `openid` scope).
    pub id_token: Option<String>,
    /// A refresh token: always from the code exchange; from the refresh grant only when the
    /// app client rotates refresh tokens (else keep the old one).
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires, as Cognito said.
    pub expires_in: Option<u64>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"<redacted>")
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why a call to Cognito failed (see the module docs for what each means for a session).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OAuthError {
    /// `invalid_grant`: the code or refresh token is no longer valid. The session ends.
    #[error("invalid_grant: the code or refresh token is not valid")]
    InvalidGrant,
    /// Timeout, connection failure, 5xx, 429, or an error saying to try later. The session
    /// is kept.
    #[error("Cognito unavailable: {0}")]
    Transient(String),
    /// Another OAuth error, with the HTTP status.
    #[error("Cognito refused the request: {error} (HTTP {status})")]
    Rejected {
        /// The OAuth `error` code (`invalid_client`, …), or `http_error` without one.
        error: String,
        /// The HTTP status.
        status: u16,
    },
    /// A success status with a body that is not a token response, or a request that
    /// could not be built.
    #[error("unexpected answer from Cognito: {0}")]
    Malformed(String),
}

impl OAuthError {
    /// A short, stable code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::Transient(_) => "transient",
            OAuthError::Rejected { .. } => "rejected",
            OAuthError::Malformed(_) => "malformed",
        }
    }

    /// True when the session must end (the grant is dead).
    pub fn ends_session(&self) -> bool {
        matches!(self, OAuthError::InvalidGrant)
    }
}

/// OAuth error codes that mean "try again later".
const TRANSIENT_CODES: [&str; 5] = [
    "temporarily_unavailable",
    "server_error",
    "slow_down",
    "too_many_requests",
    "TooManyRequestsException",
];

/// Classifies a non-success answer of the token or revoke endpoint.
fn classify(status: u16, body: &[u8]) -> OAuthError {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    let code = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|e| e.error)
        .filter(|e| {
            !e.is_empty()
                && e.len() <= 64
                && e.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        });
    let transient_status = status >= 500 || status == 429 || status == 408;
    match code {
        Some(c) if c == "invalid_grant" && !transient_status => OAuthError::InvalidGrant,
        Some(c) if transient_status || TRANSIENT_CODES.contains(&c.as_str()) => {
            OAuthError::Transient(format!("HTTP {status} {c}"))
        }
        None if transient_status => OAuthError::Transient(format!("HTTP {status}")),
        Some(error) => OAuthError::Rejected { error, status },
        None => OAuthError::Rejected {
            error: "http_error".into(),
            status,
        },
    }
}

/// A PKCE pair: a verifier of 43 characters (32 random bytes) and its S256 challenge.
/// Its `Debug` form hides the verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"<redacted>")
            .field("challenge", &self.challenge)
            .finish()
    }
}

impl Pkce {
    /// A new random pair.
    pub fn new() -> Result<Pkce, RandomError> {
        let verifier = URL_SAFE_NO_PAD.encode(crate::session::random_bytes::<32>()?);
        Ok(Pkce {
            challenge: Pkce::challenge_for(&verifier),
            verifier,
        })
    }

    /// The verifier (kept server-side, sent with the code exchange).
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// The S256 challenge (sent with the authorize request).
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// `BASE64URL(SHA-256(verifier))`, as RFC 7636 defines S256.
    pub fn challenge_for(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
    }
}

/// A random `state` value: 43 characters (32 random bytes, base64url).
pub fn random_state() -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(crate::session::random_bytes::<32>()?))
}

/// A client of Cognito's hosted OAuth endpoints. The HTTP client (rustls, bundled web
/// roots, no redirects) is built on first use, so a cold start that never calls Cognito
/// loads no TLS roots.
pub struct CognitoClient {
    config: OAuthConfig,
    http: tokio::sync::OnceCell<Result<reqwest::Client, String>>,
}

impl fmt::Debug for CognitoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CognitoClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl CognitoClient {
    /// A client for `config`.
    pub fn new(config: OAuthConfig) -> CognitoClient {
        CognitoClient {
            config,
            http: tokio::sync::OnceCell::new(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// The hosted UI's authorize URL: `response_type=code`, the client, `redirect_uri`,
    /// `state`, the space-separated `scopes` (left out when empty) and the S256 challenge.
    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        code_challenge: &str,
        scopes: &[&str],
    ) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        if !scopes.is_empty() {
            q.append_pair("scope", &scopes.join(" "));
        }
        q.append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        format!("{}/oauth2/authorize?{}", self.config.base_url, q.finish())
    }

    /// Cognito's logout URL: `/logout?client_id=…&logout_uri=…` (`logout_uri` must be one
    /// of the app client's sign-out URLs).
    pub fn logout_url(&self, logout_uri: &str) -> String {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.config.client_id)
            .append_pair("logout_uri", logout_uri)
            .finish();
        format!("{}/logout?{q}", self.config.base_url)
    }

    /// Exchanges an authorization code (with its PKCE verifier and the same
    /// `redirect_uri` as the authorize request) for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet, OAuthError> {
        let body = self.form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
        ]);
        let tokens = self.token_request(body).await?;
        if tokens.refresh_token.is_none() {
            tracing::debug!("code exchange returned no refresh token");
        }
        Ok(tokens)
    }

    /// The refresh grant. `refresh_token` in the answer is `None` unless the app client
    /// rotates refresh tokens: then keep the old one.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, OAuthError> {
        let body = self.form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]);
        self.token_request(body).await
    }

    /// Revokes a refresh token (and every token minted from it).
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), OAuthError> {
        let body = self.form(&[("token", refresh_token)]);
        self.post("/oauth2/revoke", body).await.map(|_| ())
    }

    /// The form body: `client_id` and the given pairs.
    fn form(&self, pairs: &[(&str, &str)]) -> String {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("client_id", &self.config.client_id);
        for (k, v) in pairs {
            f.append_pair(k, v);
        }
        f.finish()
    }

    async fn token_request(&self, body: String) -> Result<TokenSet, OAuthError> {
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: String,
            #[serde(default)]
            id_token: Option<String>,
            #[serde(default)]
            refresh_token: Option<String>,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let bytes = self.post("/oauth2/token", body).await?;
        let r: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
            OAuthError::Malformed(format!(
                "token response is not the expected JSON ({:?} error at column {})",
                e.classify(),
                e.column()
            ))
        })?;
        if r.access_token.is_empty() {
            return Err(OAuthError::Malformed("empty access_token".into()));
        }
        Ok(TokenSet {
            access_token: r.access_token,
            id_token: r.id_token.filter(|t| !t.is_empty()),
            refresh_token: r.refresh_token.filter(|t| !t.is_empty()),
            expires_in: r.expires_in,
        })
    }

    async fn http(&self) -> Result<&reqwest::Client, OAuthError> {
        let timeout = self.config.timeout;
        let c = self
            .http
            .get_or_init(|| async move { crate::http::client(timeout) })
            .await;
        c.as_ref()
            .map_err(|e| OAuthError::Malformed(format!("cannot build the HTTP client: {e}")))
    }

    /// POSTs a form to `path`; the body of a 2xx answer, else the classified error.
    async fn post(&self, path: &str, body: String) -> Result<Vec<u8>, OAuthError> {
        let client = self.http().await?;
        let mut request = client
            .post(format!("{}{path}", self.config.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        if let Some(secret) = &self.config.client_secret {
            let credentials = basic_credentials(&self.config.client_id, secret);
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Basic {credentials}"))
                .map_err(|_| OAuthError::Malformed("client credentials are not a header".into()))?;
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let mut resp = request.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        if resp
            .content_length()
            .is_some_and(|l| l > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large(status));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large(status));
            }
            bytes.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            Ok(bytes)
        } else {
            Err(classify(status, &bytes))
        }
    }
}

/// The `client_secret_basic` credentials: RFC 6749 §2.3.1 form-encodes the id and the
/// secret before joining them with `:`, so a `:` or `%` in a secret survives the server's
/// decoding. (Cognito's ids and secrets are letters and digits, which encoding leaves alone.)
fn basic_credentials(client_id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    STANDARD.encode(format!("{}:{}", encode(client_id), encode(secret)))
}

fn too_large(status: u16) -> OAuthError {
    if (200..300).contains(&status) {
        OAuthError::Malformed(format!("answer larger than {MAX_RESPONSE_BYTES} bytes"))
    } else {
        classify(status, b"")
    }
}

/// Any transport failure (timeout, connection, a broken body) is transient.
fn transport(e: reqwest::Error) -> OAuthError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_builder() {
        return OAuthError::Malformed("the request could not be built".into());
    } else {
        "transport error"
    };
    OAuthError::Transient(format!("{kind}: {}", e.without_url()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use crate::test_lookup as lookup;

    #[test]
    fn domains_become_base_urls() {
        for (domain, url) in [
            ("auth.example.com", "https://auth.example.com"),
            (
                "myapp.auth.us-east-1.amazoncognito.com",
                "https://myapp.auth.us-east-1.amazoncognito.com",
            ),
            ("https://Auth.Example.com/", "https://auth.example.com"),
            (
                "https://auth.example.com:8443",
                "https://auth.example.com:8443",
            ),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
            ("http://localhost:9000/", "http://localhost:9000"),
            ("http://[::1]:9000", "http://[::1]:9000"),
        ] {
            assert_eq!(base_url(domain).unwrap(), url, "{domain}");
        }
        for bad in [
            "http://auth.example.com",
            "ftp://auth.example.com",
            "https://auth.example.com/path",
            "https://user@auth.example.com",
            "auth example.com",
            "auth..example.com",
            "https://",
            "http://127.0.0.1:port",
            "http://[::2]:80",
            "auth.example.com?x=1",
        ] {
            let e = base_url(bad).unwrap_err();
            assert_eq!(e.var, "COGNITO_DOMAIN", "{bad}");
        }
    }

    #[test]
    fn configuration_from_the_environment() {
        let c = OAuthConfig::from_lookup(lookup(&[
            ("COGNITO_DOMAIN", "auth.example.com"),
            ("COGNITO_CLIENT_ID", "client-a, client-b"),
            ("COGNITO_CLIENT_SECRET", "s3cr3t-value"),
            ("COGNITO_HTTP_TIMEOUT_MS", "1500"),
        ]))
        .unwrap();
        assert_eq!(c.base_url, "https://auth.example.com");
        assert_eq!(c.client_id, "client-a");
        assert_eq!(c.client_secret.as_deref(), Some("s3cr3t-value"));
        assert_eq!(c.timeout, Duration::from_millis(1500));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let public = OAuthConfig::from_lookup(lookup(&[
            ("COGNITO_DOMAIN", "auth.example.com"),
            ("COGNITO_CLIENT_ID", "client-a"),
            ("COGNITO_CLIENT_SECRET", ""),
        ]))
        .unwrap();
        assert_eq!(public.client_secret, None);
        assert_eq!(public.timeout, DEFAULT_TIMEOUT);

        for (vars, var) in [
            (vec![("COGNITO_CLIENT_ID", "c")], "COGNITO_DOMAIN"),
            (
                vec![("COGNITO_DOMAIN", "a.example.com")],
                "COGNITO_CLIENT_ID",
            ),
            (
                vec![
                    ("COGNITO_DOMAIN", "a.example.com"),
                    ("COGNITO_CLIENT_ID", "c d"),
                ],
                "COGNITO_CLIENT_ID",
            ),
            (
                vec![
                    ("COGNITO_DOMAIN", "a.example.com"),
                    ("COGNITO_CLIENT_ID", "c"),
                    ("COGNITO_HTTP_TIMEOUT_MS", "0"),
                ],
                "COGNITO_HTTP_TIMEOUT_MS",
            ),
        ] {
            assert_eq!(
                OAuthConfig::from_lookup(lookup(&vars)).unwrap_err().var,
                var
            );
        }
    }

    #[test]
    fn urls_are_encoded() {
        let client =
            CognitoClient::new(OAuthConfig::new("auth.example.com", "client-a", None).unwrap());
        let url = client.authorize_url(
            "https://app.example.com/auth/callback",
            "st&te",
            "challenge",
            &["openid", "email"],
        );
        assert_eq!(
            url,
            "https://auth.example.com/oauth2/authorize?response_type=code&client_id=client-a\
             &redirect_uri=https%3A%2F%2Fapp.example.com%2Fauth%2Fcallback&state=st%26te\
             &scope=openid+email&code_challenge=challenge&code_challenge_method=S256"
        );
        assert!(!client.authorize_url("r", "s", "c", &[]).contains("scope"));
        assert_eq!(
            client.logout_url("https://app.example.com/"),
            "https://auth.example.com/logout?client_id=client-a&logout_uri=https%3A%2F%2Fapp.example.com%2F"
        );
    }

    #[test]
    fn pkce_and_state() {
        let p = Pkce::new().unwrap();
        assert_eq!(p.verifier().len(), 43);
        assert_eq!(p.challenge(), Pkce::challenge_for(p.verifier()));
        assert_ne!(Pkce::new().unwrap().verifier(), p.verifier());
        assert!(!format!("{p:?}").contains(p.verifier()));
        // RFC 7636, appendix B.
        assert_eq!(
            Pkce::challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let s = random_state().unwrap();
        assert_eq!(s.len(), 43);
        assert_ne!(s, random_state().unwrap());
    }

    #[test]
    fn errors_are_classified_for_the_session() {
        let body = |e: &str| format!(r#"{{"error":"{e}","error_description":"x"}}"#);
        assert_eq!(
            classify(400, body("invalid_grant").as_bytes()),
            OAuthError::InvalidGrant
        );
        assert!(classify(400, body("invalid_grant").as_bytes()).ends_session());
        for (status, b) in [
            (500, body("server_error")),
            (502, String::new()),
            (503, "<html>".into()),
            (429, String::new()),
            (400, body("slow_down")),
            (400, body("TooManyRequestsException")),
            (500, body("invalid_grant")),
        ] {
            let e = classify(status, b.as_bytes());
            assert!(matches!(e, OAuthError::Transient(_)), "{status} {b}: {e:?}");
            assert!(!e.ends_session());
        }
        assert_eq!(
            classify(400, body("invalid_client").as_bytes()),
            OAuthError::Rejected {
                error: "invalid_client".into(),
                status: 400
            }
        );
        assert_eq!(
            classify(403, b"<html>forbidden</html>"),
            OAuthError::Rejected {
                error: "http_error".into(),
                status: 403
            }
        );
        // An error code that is not a plain code is not echoed.
        let e = classify(400, body("eyJ secret token").as_bytes());
        assert_eq!(
            e,
            OAuthError::Rejected {
                error: "http_error".into(),
                status: 400
            }
        );
    }

    #[test]
    fn token_sets_hide_tokens() {
        let t = TokenSet {
            access_token: "eyJaccess".into(),
            id_token: Some("eyJid".into()),
            refresh_token: None,
            expires_in: Some(3600),
        };
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("eyJ"), "{dbg}");
    }

    /// RFC 6749 §2.3.1: the id and the secret are each form-encoded, then joined with `:`
    /// and base64-encoded; a server that decodes them (as the RFC asks) sees the real secret.
    #[tokio::test]
    async fn the_basic_credentials_are_form_encoded() {
        use std::io::{BufRead as _, BufReader, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // One request: its Authorization header, answered with invalid_grant.
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut authorization = None;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("authorization")
                {
                    authorization = Some(value.trim().to_string());
                }
            }
            let body = r#"{"error":"invalid_grant"}"#;
            write!(
                &stream,
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            authorization
        });
        let secret = "a b+c:d%e/\u{e9}";
        let client = CognitoClient::new(
            OAuthConfig::new(
                &format!("http://127.0.0.1:{port}"),
                "client-a",
                Some(secret),
            )
            .unwrap(),
        );
        assert_eq!(
            client.refresh("r").await.unwrap_err(),
            OAuthError::InvalidGrant
        );
        let header = server.join().unwrap().expect("an Authorization header");
        let credentials = header.strip_prefix("Basic ").unwrap();
        let user_pass = String::from_utf8(STANDARD.decode(credentials).unwrap()).unwrap();
        assert_eq!(user_pass, "client-a:a+b%2Bc%3Ad%25e%2F%C3%A9");
    }
}

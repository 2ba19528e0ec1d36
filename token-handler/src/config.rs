//! The token handler's configuration, read once from the environment.
//!
//! | variable | meaning |
//! |---|---|
//! | `COGNITO_CLIENT_ID` | required; the app client the handler logs users in with |
//! | `COGNITO_USER_POOL_ID` | required; the user pool (`us-east-1_AbC123`) |
//! | `COGNITO_DOMAIN` | required; the hosted UI domain (`auth.example.com`, `https://…`, or `http://` on loopback for the dev identity provider) |
//! | `SESSION_SECRET` | required; at least 32 bytes; signs the session cookie |
//! | `SESSION_SECRET_PREVIOUS` | optional; the previous secret, still accepted while keys rotate (at least 32 bytes) |
//! | `SESSION_SECRET_ARN` | instead of the two above (production): a Secrets Manager secret whose `AWSCURRENT` version signs and whose `AWSPREVIOUS` version is still accepted, read once at start-up by the binary ([`l42_core::session::SessionSecret`]); `SESSION_SECRET_PREVIOUS_ARN` optionally names another secret holding the previous key; `SECRETS_MANAGER_ENDPOINT` overrides the endpoint |
//! | `COGNITO_CLIENT_SECRET` | optional; sent by HTTP Basic to the token endpoint |
//! | `COGNITO_REGION` | optional; default: the pool id's region |
//! | `FRONTEND_URL` | the app's origin (default `http://localhost:3000`) |
//! | `HOST`, `PORT` | the local listener (default `127.0.0.1:3001`); unused inside Lambda |
//! | `SESSION_BACKEND` | `memory` or `dynamodb` (default `dynamodb` inside Lambda, `memory` elsewhere) |
//! | `DYNAMODB_TABLE` | the session table (default `l42_sessions`) |
//! | `DYNAMODB_ENDPOINT` | a DynamoDB endpoint other than AWS's (local emulators) |
//! | `SESSION_HTTPS_ONLY` | `true` marks the cookie `Secure` (default: `true` inside Lambda, `false` elsewhere) |
//! | `SESSION_SAME_SITE` | `lax` (default) or `strict` |
//! | `COOKIE_DOMAIN` | the cookie's `Domain` (default none: a host-only cookie) |
//! | `AUTH_PATH_PREFIX` | where the endpoints live (default `/auth`; leading `/` added, trailing `/` dropped) |
//! | `CALLBACK_USE_ORIGIN` | `true`: the OAuth callback returns to the origin the login started from |
//! | `CALLBACK_ALLOWED_ORIGINS` | comma-separated exact origins allowed besides `FRONTEND_URL` (CORS, callbacks, WebAuthn) |
//! | `AAGUID_ALLOWLIST` | comma-separated authenticator AAGUIDs (UUIDs) accepted by `validate-credential`; empty accepts all |
//! | `REQUIRE_DEVICE_BOUND` | `true` rejects backup-eligible (synced) passkeys |
//! | `WEBAUTHN_RP_ID` | comma-separated RP IDs `validate-credential` accepts in `rpIdHash` (the user pool's WebAuthn relying party id); each must be the host, or a parent domain, of an allowed origin; default: the hosts of the allowed origins |
//! | `ATTESTATION_ROOTS`, `ATTESTATION_ROOTS_FILE` | PEM certificates (text, or a file's path; both may be set) that `validate-credential` trusts as attestation roots; `AAGUID_ALLOWLIST` and `REQUIRE_DEVICE_BOUND` pass only attestations that chain to one of them |
//! | `ADDITIONAL_AUDIENCE` | comma-separated app client ids also accepted in tokens |
//! | `ENTITY_TABLE` | a DynamoDB table (`id` → `owner`) that `authorize` reads resource owners from |
//! | `AWS_REGION` (or `AWS_DEFAULT_REGION`) | the region of the DynamoDB tables (default: `COGNITO_REGION`) |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | the credentials Lambda provides, for DynamoDB |
//! | `JWKS_URL`, `JWKS_JSON`, `JWKS_FILE`, `JWT_LEEWAY_SECONDS`, … | the verifier's, as for the authorizer ([`l42_core::config`]) |
//!
//! Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` (any case). An empty
//! variable is the same as an unset one. Every error names its variable
//! ([`ConfigError::var`]) on one line.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use l42_core::ConfigError;
use l42_core::config::{bool_var, listen_address, split_list, valid_region};
use l42_core::session::{Backend, SessionCookies};
use l42_core::urls::{Tail, service_url, without_trailing_slash};
use l42_core::web::valid_hostname;
pub use l42_core::web::{DEFAULT_AUTH_PATH_PREFIX, Origin, auth_path_prefix};
use l42_core::{OAuthConfig, PoolId, VerifierConfig};

use crate::webauthn::{AttestationRoots, origin_host, rp_id_serves_host};

/// The shortest accepted session secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The default local port.
pub const DEFAULT_PORT: u16 = 3001;

/// The default frontend origin.
pub const DEFAULT_FRONTEND_URL: &str = "http://localhost:3000";

/// The default session table.
pub const DEFAULT_SESSION_TABLE: &str = "l42_sessions";

/// The largest request body accepted, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// How long one request may take before it is answered with a 503.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// An authenticator AAGUID (16 bytes), shown as a lower-case UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aaguid(pub [u8; 16]);

impl Aaguid {
    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (or the 32 hex digits without dashes).
    pub fn parse(s: &str) -> Result<Aaguid, String> {
        let t = s.trim();
        let dashed = t.len() == 36
            && [8, 13, 18, 23]
                .iter()
                .all(|&i| t.as_bytes().get(i) == Some(&b'-'));
        let hex: String = if dashed {
            t.chars().filter(|&c| c != '-').collect()
        } else {
            t.to_owned()
        };
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{t}` is not a UUID"));
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).unwrap_or("00");
            *byte = u8::from_str_radix(pair, 16).map_err(|_| format!("`{t}` is not a UUID"))?;
        }
        Ok(Aaguid(out))
    }
}

impl fmt::Display for Aaguid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Everything the token handler reads from the environment; see the module docs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `COGNITO_CLIENT_ID`.
    pub client_id: String,
    /// Cognito's OAuth endpoints and this client (`COGNITO_DOMAIN`, `COGNITO_CLIENT_ID`,
    /// `COGNITO_CLIENT_SECRET`, `COGNITO_HTTP_TIMEOUT_MS`), as [`OAuthConfig`] reads them.
    pub oauth: OAuthConfig,
    /// `COGNITO_USER_POOL_ID`.
    pub user_pool_id: PoolId,
    /// `COGNITO_REGION`, else the pool's region.
    pub region: String,
    /// The session cookie's keys and attributes (`SESSION_SECRET`,
    /// `SESSION_SECRET_PREVIOUS`, `SESSION_HTTPS_ONLY`, `SESSION_SAME_SITE`,
    /// `COOKIE_DOMAIN`), as [`SessionCookies`] reads them for every l42 binary.
    pub cookies: SessionCookies,
    /// `FRONTEND_URL`.
    pub frontend_url: Origin,
    /// `CALLBACK_ALLOWED_ORIGINS`.
    pub callback_allowed_origins: Vec<Origin>,
    /// `CALLBACK_USE_ORIGIN`.
    pub callback_use_origin: bool,
    /// The local listener (`HOST`, `PORT`).
    pub listen: SocketAddr,
    /// `SESSION_BACKEND`.
    pub session_backend: Backend,
    /// `DYNAMODB_ENDPOINT` (`https`, plain `http` only on loopback), for the entity
    /// table's client.
    pub dynamodb_endpoint: Option<String>,
    /// `AUTH_PATH_PREFIX`, normalised: `/auth`, `/_auth`, or `""` for the root.
    pub auth_path_prefix: String,
    /// `AAGUID_ALLOWLIST` (empty: every authenticator).
    pub aaguid_allowlist: Vec<Aaguid>,
    /// `REQUIRE_DEVICE_BOUND`.
    pub require_device_bound: bool,
    /// `WEBAUTHN_RP_ID`, lower case (default: the hosts of
    /// [`allowed_origins`](Self::allowed_origins) that are not IP addresses).
    pub webauthn_rp_ids: Vec<String>,
    /// `ATTESTATION_ROOTS` and `ATTESTATION_ROOTS_FILE` (never empty when
    /// `AAGUID_ALLOWLIST` or `REQUIRE_DEVICE_BOUND` is set: the configuration is refused).
    pub attestation_roots: AttestationRoots,
    /// `ADDITIONAL_AUDIENCE`.
    pub additional_audiences: Vec<String>,
    /// `ENTITY_TABLE`.
    pub entity_table: Option<String>,
    /// Whether the process runs inside AWS Lambda (`AWS_LAMBDA_RUNTIME_API`).
    pub in_lambda: bool,
    /// The token verifier's configuration: `COGNITO_USER_POOL_ID`, `COGNITO_CLIENT_ID` plus
    /// `ADDITIONAL_AUDIENCE`, the `JWKS_*` variables; token use `any` (the session checks
    /// each token's `token_use` itself).
    pub verifier: VerifierConfig,
    /// The largest request body accepted (not configurable from the environment).
    pub max_body_bytes: usize,
    /// How long a request may take (not configurable from the environment).
    pub request_timeout: Duration,
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable at fault.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable at fault.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| l42_core::config::var(&lookup, name);
        let required =
            |name: &'static str| get(name).ok_or_else(|| ConfigError::new(name, "is required"));
        let in_lambda = l42_core::config::in_lambda(&lookup);

        let client_id = required("COGNITO_CLIENT_ID")?;
        check_client_id("COGNITO_CLIENT_ID", &client_id)?;
        let pool = required("COGNITO_USER_POOL_ID")?;
        let user_pool_id =
            PoolId::parse(&pool).map_err(|m| ConfigError::new("COGNITO_USER_POOL_ID", m))?;
        required("COGNITO_DOMAIN")?;
        let oauth = OAuthConfig::from_lookup(get)?;
        required("SESSION_SECRET")?;
        let cookies = SessionCookies::from_lookup(get)?;
        let region = match get("COGNITO_REGION") {
            Some(r) => {
                if !valid_region(&r) {
                    return Err(ConfigError::new(
                        "COGNITO_REGION",
                        format!("`{r}` is not an AWS region"),
                    ));
                }
                r
            }
            None => user_pool_id.region().to_owned(),
        };

        // FRONTEND_URL first, then the other allowed origins.
        let mut origins = l42_core::web::app_origins(get, Some(DEFAULT_FRONTEND_URL))?.into_iter();
        let frontend_url = origins
            .next()
            .ok_or_else(|| ConfigError::new("FRONTEND_URL", "no frontend origin"))?;
        let callback_allowed_origins: Vec<Origin> = origins.collect();
        let callback_use_origin = bool_var(get, "CALLBACK_USE_ORIGIN", false)?;

        let listen = listen_address(get, DEFAULT_PORT)?;
        let session_backend = Backend::from_lookup(get)?;
        if let Some(t) = get("DYNAMODB_TABLE") {
            check_table_name("DYNAMODB_TABLE", &t)?;
        }
        let dynamodb_endpoint = get("DYNAMODB_ENDPOINT")
            .map(|v| {
                service_url("DYNAMODB_ENDPOINT", &v, Tail::PathAndQuery)
                    .map(|u| without_trailing_slash(&u))
            })
            .transpose()?;
        let auth_path_prefix = auth_path_prefix(lookup("AUTH_PATH_PREFIX").as_deref())?;

        let mut aaguid_allowlist = Vec::new();
        for item in list(get("AAGUID_ALLOWLIST")) {
            aaguid_allowlist
                .push(Aaguid::parse(&item).map_err(|m| ConfigError::new("AAGUID_ALLOWLIST", m))?);
        }
        let require_device_bound = bool_var(get, "REQUIRE_DEVICE_BOUND", false)?;
        let mut origins = vec![frontend_url.clone()];
        origins.extend(callback_allowed_origins.iter().cloned());
        let webauthn_rp_ids = webauthn_rp_ids(get("WEBAUTHN_RP_ID"), &origins)?;
        let mut attestation_roots = AttestationRoots::default();
        if let Some(text) = get("ATTESTATION_ROOTS") {
            attestation_roots.extend(
                AttestationRoots::from_pem(text.as_bytes())
                    .map_err(|m| ConfigError::new("ATTESTATION_ROOTS", m))?,
            );
        }
        if let Some(path) = get("ATTESTATION_ROOTS_FILE") {
            let text = std::fs::read(&path).map_err(|e| {
                ConfigError::new(
                    "ATTESTATION_ROOTS_FILE",
                    format!("`{path}` cannot be read: {e}"),
                )
            })?;
            attestation_roots.extend(AttestationRoots::from_pem(&text).map_err(|m| {
                ConfigError::new("ATTESTATION_ROOTS_FILE", format!("`{path}` {m}"))
            })?);
        }
        if attestation_roots.is_empty() && (!aaguid_allowlist.is_empty() || require_device_bound) {
            // Without a root no attestation proves an authenticator model or its flags:
            // the policy would pass what a client claims, or refuse everything.
            let name = if aaguid_allowlist.is_empty() {
                "REQUIRE_DEVICE_BOUND"
            } else {
                "AAGUID_ALLOWLIST"
            };
            return Err(ConfigError::new(
                name,
                "needs ATTESTATION_ROOTS or ATTESTATION_ROOTS_FILE: only an attestation that \
                 chains to a trusted root proves the authenticator model and its flags"
                    .to_owned(),
            ));
        }
        let additional_audiences = list(get("ADDITIONAL_AUDIENCE"));
        for a in &additional_audiences {
            check_client_id("ADDITIONAL_AUDIENCE", a)?;
        }
        // Read by the DynamoDB clients (core); checked here too so that a bad value stops
        // the start-up whichever backend is in use.
        if let Some(r) = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"))
            && !valid_region(&r)
        {
            return Err(ConfigError::new(
                "AWS_REGION",
                format!("`{r}` is not an AWS region"),
            ));
        }
        let entity_table = get("ENTITY_TABLE");
        if let Some(t) = &entity_table {
            check_table_name("ENTITY_TABLE", t)?;
        }

        let mut clients = client_id.clone();
        for a in &additional_audiences {
            clients.push(',');
            clients.push_str(a);
        }
        let verifier = VerifierConfig::from_lookup(|name| match name {
            "COGNITO_USER_POOL_ID" => Some(user_pool_id.as_str().to_owned()),
            "COGNITO_CLIENT_ID" => Some(clients.clone()),
            "TOKEN_USE" => Some("any".to_owned()),
            other => lookup(other),
        })?;

        Ok(Config {
            client_id,
            oauth,
            user_pool_id,
            region,
            cookies,
            frontend_url,
            callback_allowed_origins,
            callback_use_origin,
            listen,
            session_backend,
            dynamodb_endpoint,
            auth_path_prefix,
            aaguid_allowlist,
            require_device_bound,
            webauthn_rp_ids,
            attestation_roots,
            additional_audiences,
            entity_table,
            in_lambda,
            verifier,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// Every origin the handler answers: `FRONTEND_URL` first, then
    /// `CALLBACK_ALLOWED_ORIGINS`, without duplicates.
    pub fn allowed_origins(&self) -> Vec<Origin> {
        let mut out = vec![self.frontend_url.clone()];
        for o in &self.callback_allowed_origins {
            if !out.contains(o) {
                out.push(o.clone());
            }
        }
        out
    }

    /// The path of an endpoint under the prefix, e.g. `route("/authorize")` →
    /// `/auth/authorize`.
    pub fn route(&self, path: &str) -> String {
        format!("{}{path}", self.auth_path_prefix)
    }
}

/// `WEBAUTHN_RP_ID`: each a domain name (no scheme, port or path; not an IP address; a
/// single label only for `localhost`) that is the host, or a parent domain, of one of
/// `origins`. Unset: the hosts of `origins` that are not IP addresses.
fn webauthn_rp_ids(value: Option<String>, origins: &[Origin]) -> Result<Vec<String>, ConfigError> {
    const NAME: &str = "WEBAUTHN_RP_ID";
    let hosts: Vec<&str> = origins.iter().map(origin_host).collect();
    let mut out: Vec<String> = Vec::new();
    let configured = list(value);
    if configured.is_empty() {
        for host in hosts {
            if !host.starts_with('[')
                && host.parse::<IpAddr>().is_err()
                && !out.iter().any(|h| h == host)
            {
                out.push(host.to_owned());
            }
        }
        return Ok(out);
    }
    for item in configured {
        let id = item.to_ascii_lowercase();
        let domain = valid_hostname(&id)
            && id.parse::<IpAddr>().is_err()
            && (id.contains('.') || id == "localhost");
        if !domain {
            return Err(ConfigError::new(
                NAME,
                format!(
                    "`{item}` is not an RP ID (a domain name: no scheme, port or path, not an IP address)"
                ),
            ));
        }
        if !hosts.iter().any(|h| rp_id_serves_host(&id, h)) {
            return Err(ConfigError::new(
                NAME,
                format!(
                    "`{item}` is neither the host nor a parent domain of an allowed origin (FRONTEND_URL, CALLBACK_ALLOWED_ORIGINS)"
                ),
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn list(value: Option<String>) -> Vec<String> {
    value.as_deref().map(split_list).unwrap_or_default()
}

fn check_client_id(name: &'static str, id: &str) -> Result<(), ConfigError> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ConfigError::new(
            name,
            format!("`{id}` is not an app client id"),
        ));
    }
    Ok(())
}

fn check_table_name(name: &'static str, table: &str) -> Result<(), ConfigError> {
    let ok = (3..=255).contains(&table.len())
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            name,
            format!("`{table}` is not a DynamoDB table name (3-255 of a-z A-Z 0-9 _ - .)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn aaguids_round_trip() {
        let a = Aaguid::parse("ADCE0002-35BC-C60A-648B-0B25F1F05503").unwrap();
        assert_eq!(a.to_string(), "adce0002-35bc-c60a-648b-0b25f1f05503");
        assert_eq!(
            Aaguid::parse("adce000235bcc60a648b0b25f1f05503").unwrap(),
            a
        );
        for bad in [
            "",
            "xyz",
            "adce0002-35bc-c60a-648b-0b25f1f0550",
            "adce0002_35bc_c60a_648b_0b25f1f05503",
        ] {
            assert!(Aaguid::parse(bad).is_err(), "{bad}");
        }
    }
}

//! Verifier configuration, read once from the environment.
//!
//! | variable | meaning |
//! |---|---|
//! | `COGNITO_USER_POOL_ID` | required; comma-separated pool ids (`us-east-1_AbC123`); the region is read from each id |
//! | `COGNITO_CLIENT_ID` | required; comma-separated app client ids accepted in `client_id` / `aud` |
//! | `TOKEN_USE` | `access` (default), `id` or `any` |
//! | `JWKS_JSON` / `JWKS_FILE` | an embedded JWKS (`{"keys":[…]}` for every pool, or `{"<poolId>":{"keys":[…]}}`) |
//! | `JWKS_URL` | comma-separated, one for all pools or one per pool; default `<issuer>/.well-known/jwks.json`; `off` disables fetching |
//! | `JWT_LEEWAY_SECONDS` | clock leeway for `exp`, `nbf`, `iat` (default 0, at most 300) |
//! | `JWKS_REFETCH_COOLDOWN_SECONDS` | at most one refetch per pool in this window (default 10) |
//! | `JWKS_FETCH_TIMEOUT_MS` | timeout of one JWKS fetch (default 3000) |
//! | `CLAIMS_CACHE_SIZE` | verified-claims cache entries (default 10000; 0 disables) |

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use thiserror::Error;

use crate::claims::TokenUse;

/// Bad configuration: names the variable and what is wrong, on one line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    /// The environment variable (or builder field) at fault.
    pub var: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// A new error for `var`.
    pub fn new(var: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            var: var.into(),
            message: message.into(),
        }
    }
}

/// A Cognito user pool id such as `us-east-1_AbC123`, with its region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolId {
    id: String,
    region_len: usize,
}

impl PoolId {
    /// Parses and checks a pool id: `<region>_<alphanumerics>`.
    pub fn parse(s: &str) -> Result<PoolId, String> {
        let s = s.trim();
        let Some((region, rest)) = s.split_once('_') else {
            return Err(format!(
                "`{s}` is not a user pool id (expected <region>_<id>)"
            ));
        };
        let region_ok = {
            let parts: Vec<&str> = region.split('-').collect();
            parts.len() >= 3
                && parts[0].len() == 2
                && parts[..parts.len() - 1]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
                && parts
                    .last()
                    .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        if !region_ok {
            return Err(format!("`{s}` does not start with an AWS region"));
        }
        if rest.is_empty() || rest.len() > 55 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("`{s}` has an invalid id after the region"));
        }
        Ok(PoolId {
            id: s.to_string(),
            region_len: region.len(),
        })
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The region, e.g. `us-east-1`.
    pub fn region(&self) -> &str {
        &self.id[..self.region_len]
    }

    /// The classic issuer, `https://cognito-idp.<region>.amazonaws.com/<poolId>`.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region(),
            self.id
        )
    }

    /// The multi-region issuer, `https://issuer-cognito-idp.<region>.amazonaws.com/<poolId>`.
    pub fn regional_issuer(&self) -> String {
        format!(
            "https://issuer-cognito-idp.{}.amazonaws.com/{}",
            self.region(),
            self.id
        )
    }
}

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// Where a pool's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksSource {
    /// A JWKS document known at start-up (no network needed for its keys).
    pub embedded: Option<String>,
    /// The variable the embedded document came from (`JWKS_JSON` or `JWKS_FILE`), for
    /// errors.
    pub embedded_var: &'static str,
    /// Where to refetch when a `kid` is unknown; `None` disables fetching.
    pub url: Option<String>,
}

/// Everything the verifier needs; see the module docs for the environment variables.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The accepted user pools.
    pub pools: Vec<PoolId>,
    /// Key sources, one per pool (same order).
    pub jwks: Vec<JwksSource>,
    /// Accepted app client ids.
    pub client_ids: Vec<String>,
    /// Accepted token kind.
    pub token_use: TokenUse,
    /// Clock leeway in seconds.
    pub leeway_secs: i64,
    /// Minimum time between two refetches of one pool's JWKS.
    pub refetch_cooldown: Duration,
    /// Timeout of one JWKS fetch.
    pub fetch_timeout: Duration,
    /// Entries in the verified-claims cache (0 disables it).
    pub claims_cache_size: u64,
    /// Claims kept in [`VerifiedClaims::claims`](crate::VerifiedClaims::claims) as the
    /// token carries them, by name (a Cedar schema's principal attributes, for example).
    /// Empty keeps none, and costs nothing.
    pub keep_claims: Vec<String>,
}

/// The largest leeway accepted, in seconds.
pub const MAX_LEEWAY_SECS: i64 = 300;

impl VerifierConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<VerifierConfig, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<VerifierConfig, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let pools = get("COGNITO_USER_POOL_ID")
            .ok_or_else(|| ConfigError::new("COGNITO_USER_POOL_ID", "is required"))?;
        let clients = get("COGNITO_CLIENT_ID")
            .ok_or_else(|| ConfigError::new("COGNITO_CLIENT_ID", "is required"))?;
        let mut b = VerifierConfigBuilder::from_lists(&pools, &clients);
        if let Some(t) = get("TOKEN_USE") {
            let tu = TokenUse::parse(&t).ok_or_else(|| {
                ConfigError::new("TOKEN_USE", format!("`{t}` is not access, id or any"))
            })?;
            b = b.token_use(tu);
        }
        match (get("JWKS_JSON"), get("JWKS_FILE")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "JWKS_FILE",
                    "set JWKS_JSON or JWKS_FILE, not both",
                ));
            }
            (Some(json), None) => b = b.jwks_json_from("JWKS_JSON", &json),
            (None, Some(path)) => {
                let json = std::fs::read_to_string(&path).map_err(|e| {
                    ConfigError::new("JWKS_FILE", format!("cannot read `{path}`: {e}"))
                })?;
                b = b.jwks_json_from("JWKS_FILE", &json);
            }
            (None, None) => {}
        }
        if let Some(url) = get("JWKS_URL") {
            b = b.jwks_url(&url);
        }
        if let Some(v) = get("JWT_LEEWAY_SECONDS") {
            b = b.leeway_secs(parse_num("JWT_LEEWAY_SECONDS", &v)?);
        }
        if let Some(v) = get("JWKS_REFETCH_COOLDOWN_SECONDS") {
            b = b.refetch_cooldown(Duration::from_secs(parse_num(
                "JWKS_REFETCH_COOLDOWN_SECONDS",
                &v,
            )?));
        }
        if let Some(v) = get("JWKS_FETCH_TIMEOUT_MS") {
            let ms: u64 = parse_num("JWKS_FETCH_TIMEOUT_MS", &v)?;
            if ms == 0 {
                return Err(ConfigError::new("JWKS_FETCH_TIMEOUT_MS", "must be above 0"));
            }
            b = b.fetch_timeout(Duration::from_millis(ms));
        }
        if let Some(v) = get("CLAIMS_CACHE_SIZE") {
            b = b.claims_cache_size(parse_num("CLAIMS_CACHE_SIZE", &v)?);
        }
        b.build()
    }

    /// A builder for one pool and one client (more can be added).
    pub fn builder(pool_id: &str, client_id: &str) -> VerifierConfigBuilder {
        VerifierConfigBuilder::from_lists(pool_id, client_id)
    }
}

fn parse_num<T: std::str::FromStr>(var: &str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| ConfigError::new(var, format!("`{v}` is not a non-negative whole number")))
}

/// Whether `r` is an AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.first().is_some_and(|p| p.len() == 2)
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Variable `name` through `lookup`, trimmed; unset or blank is `None`. Every variable of
/// every l42 binary is read so.
///
/// ```
/// let env = |name: &str| (name == "TABLE").then(|| "  sessions \n".to_string());
/// assert_eq!(l42_core::config::var(env, "TABLE").as_deref(), Some("sessions"));
/// assert_eq!(l42_core::config::var(|_| Some("   ".to_string()), "TABLE"), None);
/// ```
pub fn var(lookup: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether `lookup` says the process runs inside AWS Lambda: `AWS_LAMBDA_RUNTIME_API` is
/// set (the Runtime API's address, which Lambda always sets).
pub fn in_lambda(lookup: impl Fn(&str) -> Option<String>) -> bool {
    var(lookup, "AWS_LAMBDA_RUNTIME_API").is_some()
}

/// The local listener of a service binary: `HOST` (an IP address or `localhost`, default
/// `127.0.0.1`) and `PORT` (1-65535, default `default_port`). Unused inside Lambda.
pub fn listen_address(
    lookup: impl Fn(&str) -> Option<String>,
    default_port: u16,
) -> Result<SocketAddr, ConfigError> {
    let get = |name: &str| var(&lookup, name);
    let port =
        match get("PORT") {
            None => default_port,
            Some(p) => p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError::new("PORT", format!("`{p}` is not a port (1-65535)"))
            })?,
        };
    let host = match get("HOST") {
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some(h) if h.eq_ignore_ascii_case("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Some(h) => h.parse().map_err(|_| {
            ConfigError::new("HOST", format!("`{h}` is not an IP address or localhost"))
        })?,
    };
    Ok(SocketAddr::new(host, port))
}

/// A comma-separated list: items trimmed, empty ones dropped (`" a, ,b "` → `["a", "b"]`).
/// Every list variable of every l42 binary is read so.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// A boolean variable's value: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any
/// case, surrounding spaces ignored. Every boolean variable of every l42 binary is read
/// so.
///
/// # Errors
/// A [`ConfigError`] for `var` quoting the value.
pub fn parse_bool(var: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(
            var,
            format!("`{value}` is not a boolean (true or false)"),
        )),
    }
}

/// Boolean variable `var` through `lookup`: unset or empty is `default`, otherwise
/// [`parse_bool`].
///
/// # Errors
/// A [`ConfigError`] for `var` quoting the value.
pub fn bool_var(
    lookup: impl Fn(&str) -> Option<String>,
    var: &str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(var).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => parse_bool(var, &v),
    }
}

/// Builds a [`VerifierConfig`]; errors are collected and reported by [`build`](Self::build).
#[derive(Debug, Clone)]
pub struct VerifierConfigBuilder {
    pools: String,
    clients: String,
    token_use: TokenUse,
    jwks_json: Option<(&'static str, String)>,
    jwks_url: Option<String>,
    leeway_secs: i64,
    refetch_cooldown: Duration,
    fetch_timeout: Duration,
    claims_cache_size: u64,
}

impl VerifierConfigBuilder {
    fn from_lists(pools: &str, clients: &str) -> Self {
        VerifierConfigBuilder {
            pools: pools.to_string(),
            clients: clients.to_string(),
            token_use: TokenUse::Access,
            jwks_json: None,
            jwks_url: None,
            leeway_secs: 0,
            refetch_cooldown: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(3),
            claims_cache_size: 10_000,
        }
    }

    /// Comma-separated pool ids.
    pub fn pools(mut self, pools: &str) -> Self {
        self.pools = pools.to_string();
        self
    }

    /// Comma-separated app client ids.
    pub fn clients(mut self, clients: &str) -> Self {
        self.clients = clients.to_string();
        self
    }

    /// The accepted token kind.
    pub fn token_use(mut self, token_use: TokenUse) -> Self {
        self.token_use = token_use;
        self
    }

    /// An embedded JWKS document (see the module docs for its two shapes).
    pub fn jwks_json(self, json: &str) -> Self {
        self.jwks_json_from("JWKS_JSON", json)
    }

    fn jwks_json_from(mut self, var: &'static str, json: &str) -> Self {
        self.jwks_json = Some((var, json.to_string()));
        self
    }

    /// JWKS URLs: one for all pools or one per pool, comma-separated; `off` disables fetching.
    pub fn jwks_url(mut self, url: &str) -> Self {
        self.jwks_url = Some(url.to_string());
        self
    }

    /// Clock leeway in seconds (0–300).
    pub fn leeway_secs(mut self, secs: i64) -> Self {
        self.leeway_secs = secs;
        self
    }

    /// Minimum time between refetches of one pool's JWKS.
    pub fn refetch_cooldown(mut self, d: Duration) -> Self {
        self.refetch_cooldown = d;
        self
    }

    /// Timeout of one JWKS fetch.
    pub fn fetch_timeout(mut self, d: Duration) -> Self {
        self.fetch_timeout = d;
        self
    }

    /// Entries in the verified-claims cache (0 disables it).
    pub fn claims_cache_size(mut self, n: u64) -> Self {
        self.claims_cache_size = n;
        self
    }

    /// Checks everything and returns the configuration.
    pub fn build(self) -> Result<VerifierConfig, ConfigError> {
        let pools = split_list(&self.pools)
            .iter()
            .map(|p| PoolId::parse(p).map_err(|m| ConfigError::new("COGNITO_USER_POOL_ID", m)))
            .collect::<Result<Vec<_>, _>>()?;
        if pools.is_empty() {
            return Err(ConfigError::new("COGNITO_USER_POOL_ID", "is required"));
        }
        let client_ids = split_list(&self.clients);
        if client_ids.is_empty() {
            return Err(ConfigError::new("COGNITO_CLIENT_ID", "is required"));
        }
        if let Some(bad) = client_ids.iter().find(|c| {
            c.len() > 128
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) {
            return Err(ConfigError::new(
                "COGNITO_CLIENT_ID",
                format!("`{bad}` is not an app client id"),
            ));
        }
        if !(0..=MAX_LEEWAY_SECS).contains(&self.leeway_secs) {
            return Err(ConfigError::new(
                "JWT_LEEWAY_SECONDS",
                format!("must be between 0 and {MAX_LEEWAY_SECS}"),
            ));
        }

        let urls: Vec<Option<String>> = match self.jwks_url.as_deref().map(str::trim) {
            None => pools
                .iter()
                .map(|p| Some(format!("{}/.well-known/jwks.json", p.issuer())))
                .collect(),
            Some(off) if off.eq_ignore_ascii_case("off") || off.eq_ignore_ascii_case("none") => {
                vec![None; pools.len()]
            }
            Some(list) => {
                let urls = split_list(list);
                for u in &urls {
                    check_url(u)?;
                }
                match urls.len() {
                    1 => vec![Some(urls[0].clone()); pools.len()],
                    n if n == pools.len() => urls.into_iter().map(Some).collect(),
                    n => {
                        return Err(ConfigError::new(
                            "JWKS_URL",
                            format!(
                                "has {n} URLs for {} pools (give one, or one per pool)",
                                pools.len()
                            ),
                        ));
                    }
                }
            }
        };

        let embedded: Vec<Option<String>> = match &self.jwks_json {
            None => vec![None; pools.len()],
            Some((var, json)) => split_embedded(var, json, &pools)?,
        };
        if let Some(i) = (0..pools.len()).find(|&i| urls[i].is_none() && embedded[i].is_none()) {
            return Err(ConfigError::new(
                "JWKS_URL",
                format!(
                    "fetching is off and no embedded JWKS covers pool {}",
                    pools[i]
                ),
            ));
        }
        let embedded_var = self.jwks_json.as_ref().map_or("JWKS_JSON", |(var, _)| *var);
        let jwks = urls
            .into_iter()
            .zip(embedded)
            .map(|(url, embedded)| JwksSource {
                embedded,
                embedded_var,
                url,
            })
            .collect();
        Ok(VerifierConfig {
            pools,
            jwks,
            client_ids,
            token_use: self.token_use,
            leeway_secs: self.leeway_secs,
            refetch_cooldown: self.refetch_cooldown,
            fetch_timeout: self.fetch_timeout,
            claims_cache_size: self.claims_cache_size,
            keep_claims: Vec::new(),
        })
    }
}

fn check_url(u: &str) -> Result<(), ConfigError> {
    crate::urls::service_url("JWKS_URL", u, crate::urls::Tail::PathAndQuery).map(|_| ())
}

/// Splits an embedded document into one JWKS per pool.
fn split_embedded(
    var: &str,
    json: &str,
    pools: &[PoolId],
) -> Result<Vec<Option<String>>, ConfigError> {
    if json.len() > crate::jwks::MAX_JWKS_BYTES * pools.len().max(1) {
        return Err(ConfigError::new(var, "is too large"));
    }
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| ConfigError::new(var, format!("is not JSON: {e}")))?;
    let serde_json::Value::Object(map) = &value else {
        return Err(ConfigError::new(var, "must be a JSON object"));
    };
    if map.contains_key("keys") {
        return Ok(vec![Some(json.to_string()); pools.len()]);
    }
    if let Some(unknown) = map.keys().find(|k| !pools.iter().any(|p| p.as_str() == *k)) {
        return Err(ConfigError::new(
            var,
            format!("names pool `{unknown}`, which COGNITO_USER_POOL_ID does not list"),
        ));
    }
    Ok(pools
        .iter()
        .map(|p| map.get(p.as_str()).map(|v| v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<VerifierConfig, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        VerifierConfig::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn pool_ids_and_issuers() {
        let p = PoolId::parse("eu-west-2_AbC123").unwrap();
        assert_eq!(p.region(), "eu-west-2");
        assert_eq!(
            p.issuer(),
            "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_AbC123"
        );
        assert_eq!(
            p.regional_issuer(),
            "https://issuer-cognito-idp.eu-west-2.amazonaws.com/eu-west-2_AbC123"
        );
        assert!(PoolId::parse("us-gov-west-1_X1").is_ok());
        for bad in [
            "",
            "abc",
            "_x",
            "us-east-1_",
            "US-east-1_x",
            "us-east-1_a/b",
            "us-east_x",
        ] {
            assert!(PoolId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn required_variables_are_named() {
        let e = cfg(&[]).unwrap_err();
        assert_eq!(e.var, "COGNITO_USER_POOL_ID");
        let e = cfg(&[("COGNITO_USER_POOL_ID", "us-east-1_a")]).unwrap_err();
        assert_eq!(e.var, "COGNITO_CLIENT_ID");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn several_pools_and_clients() {
        let c = cfg(&[
            ("COGNITO_USER_POOL_ID", "us-east-1_a, eu-west-1_b"),
            ("COGNITO_CLIENT_ID", "c1,c2"),
            ("TOKEN_USE", "any"),
            ("JWT_LEEWAY_SECONDS", "5"),
        ])
        .unwrap();
        assert_eq!(c.pools.len(), 2);
        assert_eq!(c.client_ids, ["c1", "c2"]);
        assert_eq!(c.token_use, TokenUse::Any);
        assert_eq!(c.leeway_secs, 5);
        assert_eq!(
            c.jwks[1].url.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_b/.well-known/jwks.json")
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let base = [
            ("COGNITO_USER_POOL_ID", "us-east-1_a"),
            ("COGNITO_CLIENT_ID", "c"),
        ];
        for (var, val) in [
            ("TOKEN_USE", "both"),
            ("JWT_LEEWAY_SECONDS", "-1"),
            ("JWT_LEEWAY_SECONDS", "301"),
            ("JWKS_URL", "http://example.com/jwks"),
            ("JWKS_URL", "https://a,https://b"),
            ("JWKS_JSON", "[1]"),
            ("JWKS_JSON", "{\"us-east-1_zzz\":{\"keys\":[]}}"),
            ("JWKS_FILE", "/nonexistent/jwks.json"),
            ("CLAIMS_CACHE_SIZE", "many"),
        ] {
            let mut v = base.to_vec();
            v.push((var, val));
            let e = cfg(&v).unwrap_err();
            assert_eq!(e.var, var, "{var}={val}: {e}");
        }
        let e = cfg(&[base[0], base[1], ("JWKS_URL", "off")]).unwrap_err();
        assert_eq!(e.var, "JWKS_URL");
    }
}

//! What the HTTP-facing binaries (token handler, refresh, and the authorizer's cookie
//! source) share: the web origins they compare a request's `Origin` with, the CSRF
//! proof a state-changing cookie-authenticated request must carry, and the path prefix
//! the token handler's endpoints live under.

use std::fmt;

use crate::ConfigError;

/// The default path prefix of the token handler's and refresh's endpoints.
pub const DEFAULT_AUTH_PATH_PREFIX: &str = "/auth";

/// The custom header that proves a state-changing request came from a page the app's
/// origin allow-list trusts (lower-case, as HTTP/2 and `http` spell it): a cross-site
/// form or `<img>` cannot set it, and a cross-origin `fetch` that sets it needs a CORS
/// preflight, which only listed origins pass.
pub const CSRF_HEADER: &str = "x-l42-csrf";

/// The one accepted value of [`CSRF_HEADER`].
pub const CSRF_VALUE: &str = "1";

/// Whether `method` is safe (RFC 9110 §9.2.1: `GET`, `HEAD`, `OPTIONS`), so that it needs
/// no CSRF proof. Methods are case-sensitive: `get` is not `GET`.
pub fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// Whether the values of a request's [`CSRF_HEADER`] prove it: exactly one value, exactly
/// [`CSRF_VALUE`].
pub fn csrf_header_proves<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> bool {
    matches!((values.next(), values.next()), (Some(v), None) if v == CSRF_VALUE.as_bytes())
}

/// The app's origins: `FRONTEND_URL` (else `default_frontend`, if any) then every entry
/// of the comma-separated `CALLBACK_ALLOWED_ORIGINS`, normalised, without duplicates.
/// A bad entry is an error naming its variable.
pub fn app_origins(
    lookup: impl Fn(&str) -> Option<String>,
    default_frontend: Option<&str>,
) -> Result<Vec<Origin>, ConfigError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let parse =
        |var: &'static str, value: &str| Origin::parse(value).map_err(|m| ConfigError::new(var, m));
    let mut origins = Vec::new();
    if let Some(front) = get("FRONTEND_URL").or_else(|| default_frontend.map(str::to_owned)) {
        origins.push(parse("FRONTEND_URL", &front)?);
    }
    for item in get("CALLBACK_ALLOWED_ORIGINS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let o = parse("CALLBACK_ALLOWED_ORIGINS", item)?;
        if !origins.contains(&o) {
            origins.push(o);
        }
    }
    Ok(origins)
}

/// A web origin, `scheme://host[:port]`, normalised: lower-case, default port dropped,
/// no trailing slash. Compared byte for byte with a request's `Origin` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin(String);

impl Origin {
    /// Parses an origin (a trailing `/` is allowed; a path, query, user info or fragment
    /// is not), read as [`crate::urls::parse_http_url`] reads URLs: `http` or `https`, a
    /// DNS name, IPv4 or IPv6 host, a port from 1 to 65535 without leading zeros.
    pub fn parse(s: &str) -> Result<Origin, String> {
        let s = s.trim();
        let not_origin = || format!("`{s}` is not an origin (expected http(s)://host[:port])");
        let (_, rest) = s.split_once("://").ok_or_else(not_origin)?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() {
            return Err(not_origin());
        }
        if authority.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "`{s}` is not an origin (no path, query, fragment or user info)"
            ));
        }
        // The URL parser reads `:0443` as 443 and takes `:0`; no origin header has either.
        let after_host = authority
            .rsplit_once(']')
            .map_or(authority, |(_, tail)| tail);
        if let Some((_, port)) = after_host.rsplit_once(':')
            && (port.is_empty() || port.starts_with('0'))
        {
            return Err(format!("`{s}` has an invalid port"));
        }
        let url = crate::urls::parse_http_url(s).map_err(|m| format!("`{s}` {m}"))?;
        if url.path() != "/" || url.query().is_some() {
            return Err(format!(
                "`{s}` is not an origin (no path, query, fragment or user info)"
            ));
        }
        Ok(Origin(url.origin().ascii_serialization()))
    }

    /// The origin's text, e.g. `https://app.example.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is an `https` origin.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A lower-case DNS name or IPv4 address: labels of `[a-z0-9-]`, not starting or ending
/// with `-`.
pub fn valid_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Normalises `AUTH_PATH_PREFIX`: default `/auth`; a leading `/` added, trailing ones
/// dropped (`/` alone means the root, `""`).
pub fn auth_path_prefix(value: Option<&str>) -> Result<String, ConfigError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_AUTH_PATH_PREFIX.to_owned());
    };
    let trimmed = v.trim_end_matches('/');
    let prefix = if trimmed.starts_with('/') || trimmed.is_empty() {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    };
    let ok = prefix.split('/').skip(1).all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
    });
    if !ok || prefix.contains(['{', '}', '*', ':']) {
        return Err(ConfigError::new(
            "AUTH_PATH_PREFIX",
            format!("`{v}` is not a path prefix (letters, digits, - _ . ~ between slashes)"),
        ));
    }
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn origins_normalise() {
        for (input, want) in [
            ("https://App.Example.com/", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("http://localhost:80", "http://localhost"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("http://[::1]:3000", "http://[::1]:3000"),
            ("http://[::1]", "http://[::1]"),
            ("HTTPS://[::1]:443/", "https://[::1]"),
        ] {
            assert_eq!(Origin::parse(input).unwrap().as_str(), want, "{input}");
        }
        for bad in [
            "",
            "example.com",
            "ftp://example.com",
            "https://",
            "https://example.com/path",
            "https://example.com?x",
            "https://user@example.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://exa mple.com",
            "https://-bad.com",
            "https://[zz]:1",
            "*",
            "http://127.0.0.1:@other.example",
            "https://ex%61mple.com",
            "https://example.com:0443",
            "https://example.com:",
            "https://bad_host.example",
            "https://example.com\\",
            "https://b\u{fc}cher.example",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csrf_proof_is_exactly_one_header_of_value_1() {
        let proves = |v: &[&str]| csrf_header_proves(v.iter().map(|s| s.as_bytes()));
        assert!(proves(&["1"]));
        for bad in [
            &[][..],
            &["0"],
            &["1 "],
            &["true"],
            &["1", "1"],
            &["1,1"],
            &[""],
        ] {
            assert!(!proves(bad), "{bad:?}");
        }
        for safe in ["GET", "HEAD", "OPTIONS"] {
            assert!(is_safe_method(safe));
        }
        for unsafe_method in [
            "POST", "PUT", "PATCH", "DELETE", "get", "", "$connect", "ANY",
        ] {
            assert!(!is_safe_method(unsafe_method), "{unsafe_method}");
        }
    }

    #[test]
    fn app_origins_read_both_variables_in_order() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let got = app_origins(
            vars(&[
                ("FRONTEND_URL", "HTTPS://App.Example.com:443/"),
                (
                    "CALLBACK_ALLOWED_ORIGINS",
                    " https://b.example.com, https://app.example.com ,,",
                ),
            ]),
            None,
        )
        .unwrap();
        let got: Vec<&str> = got.iter().map(Origin::as_str).collect();
        assert_eq!(got, ["https://app.example.com", "https://b.example.com"]);
        assert!(app_origins(vars(&[]), None).unwrap().is_empty());
        assert_eq!(
            app_origins(vars(&[]), Some("http://localhost:3000")).unwrap()[0].as_str(),
            "http://localhost:3000"
        );
        for (pairs, var) in [
            (&[("FRONTEND_URL", "app.example.com")][..], "FRONTEND_URL"),
            (
                &[("CALLBACK_ALLOWED_ORIGINS", "https://a.example.com/path")][..],
                "CALLBACK_ALLOWED_ORIGINS",
            ),
        ] {
            let pairs: &'static [(&str, &str)] = Box::leak(pairs.to_vec().into_boxed_slice());
            assert_eq!(app_origins(vars(pairs), None).unwrap_err().var, var);
        }
    }

    #[test]
    fn prefixes() {
        for (input, want) in [
            (None, "/auth"),
            (Some(""), "/auth"),
            (Some("auth"), "/auth"),
            (Some("/_auth/"), "/_auth"),
            (Some("/api/auth//"), "/api/auth"),
            (Some("/"), ""),
        ] {
            assert_eq!(auth_path_prefix(input).unwrap(), want, "{input:?}");
        }
        for bad in ["/a b", "/a//b", "/../x", "/{id}", "/a?b"] {
            assert_eq!(
                auth_path_prefix(Some(bad)).unwrap_err().var,
                "AUTH_PATH_PREFIX"
            );
        }
    }
}

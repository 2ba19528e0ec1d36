//! URLs in the configuration, read by one set of rules on the `url` crate (the WHATWG
//! parser, which is how reqwest and browsers read them), so that every variable holding a
//! URL means the same thing by "https" and by "loopback".
//!
//! - [`parse_http_url`]: an absolute `http` or `https` URL of printable ASCII, with a
//!   host that is a DNS name, an IPv4 or an IPv6 address, and no user info or fragment.
//! - [`is_loopback`]: `localhost`, `127.0.0.0/8` or `::1`, read from the parsed host (so
//!   `http://127.0.0.1:@other.example/`, whose host is `other.example`, is not).
//! - [`service_url`]: a URL l42 calls (Cognito, a JWKS, an AWS endpoint): `https`, or
//!   plain `http` only on loopback.

use std::net::IpAddr;

use url::Host;
pub use url::Url;

use crate::config::ConfigError;
use crate::web::valid_hostname;

/// The longest URL read from the configuration.
pub const MAX_URL_BYTES: usize = 2048;

/// What may follow the host and port of a [`service_url`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Nothing (a base URL: `https://auth.example.com`); a trailing `/` is allowed.
    Nothing,
    /// A path and a query (`https://example.com/.well-known/jwks.json`).
    PathAndQuery,
}

/// Parses an absolute `http` or `https` URL: printable ASCII (no spaces, no control
/// characters, no `\`), a host that is a lower-case DNS name ([`valid_hostname`]), an
/// IPv4 or an IPv6 address, no user info, no fragment. The message says what is wrong.
pub fn parse_http_url(text: &str) -> Result<Url, String> {
    if text.len() > MAX_URL_BYTES {
        return Err(format!("is longer than {MAX_URL_BYTES} bytes"));
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return Err("is not a URL (printable ASCII, no spaces)".to_owned());
    }
    // The WHATWG parser forgives `https:host` and `https:///host`; a configured URL is
    // written out.
    match text.split_once("://") {
        Some((_, rest)) if !rest.is_empty() && !rest.starts_with('/') => {}
        _ => return Err("is not an absolute URL (scheme://host...)".to_owned()),
    }
    let url = Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not have user info (`user@`)".to_owned());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment (`#`)".to_owned());
    }
    match url.host() {
        Some(Host::Domain(d)) if valid_hostname(d) => {}
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => {}
        Some(Host::Domain(_)) | None => return Err("has an invalid host".to_owned()),
    }
    if text.contains('%')
        && text
            .split(['/', '?'])
            .nth(2)
            .is_some_and(|a| a.contains('%'))
    {
        // A percent-encoded host would be decoded by the parser: refuse it rather than
        // read one host as another.
        return Err("has an invalid host".to_owned());
    }
    Ok(url)
}

/// Whether the URL's host is loopback: `localhost`, an address in `127.0.0.0/8`, or `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A URL l42 calls, from variable `var`: [`parse_http_url`], `https` or plain `http` on
/// loopback only ([`is_loopback`]), and with `tail` [`Tail::Nothing`] no path or query.
///
/// # Errors
/// A [`ConfigError`] for `var` quoting the value.
pub fn service_url(var: &str, text: &str, tail: Tail) -> Result<Url, ConfigError> {
    let bad = |why: &str| ConfigError::new(var, format!("`{text}` {why}"));
    let url = parse_http_url(text.trim()).map_err(|m| bad(&m))?;
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(bad("must be https (plain http only on loopback)"));
    }
    if tail == Tail::Nothing && (url.path() != "/" || url.query().is_some()) {
        return Err(bad("must be scheme://host[:port], without a path or query"));
    }
    Ok(url)
}

/// The URL's text without a trailing `/` (`https://example.com/` → `https://example.com`).
pub fn without_trailing_slash(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn loopback_is_read_from_the_parsed_host() {
        for ok in [
            "http://127.0.0.1:5000",
            "http://127.0.0.1/",
            "http://127.1.2.3:80/x",
            "http://localhost:3000/a?b",
            "http://LOCALHOST",
            "http://[::1]:9000",
        ] {
            assert!(is_loopback(&parse_http_url(ok).unwrap()), "{ok}");
        }
        for not in [
            "http://127.0.0.1:@other.example/",
            "http://127.0.0.1.other.example/",
            "http://localhost.other.example/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://example.com/127.0.0.1",
        ] {
            let url = parse_http_url(not);
            assert!(url.is_err() || !is_loopback(&url.unwrap()), "{not}");
        }
    }

    #[test]
    fn service_urls() {
        for ok in [
            ("https://auth.example.com", Tail::Nothing),
            ("https://auth.example.com/", Tail::Nothing),
            ("https://auth.example.com:8443", Tail::Nothing),
            ("http://127.0.0.1:9229", Tail::Nothing),
            (
                "https://example.com/.well-known/jwks.json",
                Tail::PathAndQuery,
            ),
            ("http://localhost:1/jwks?x=1", Tail::PathAndQuery),
        ] {
            assert!(service_url("V", ok.0, ok.1).is_ok(), "{ok:?}");
        }
        for bad in [
            "http://example.com",
            "http://127.0.0.1:@other.example/",
            "http://localhost:@other.example:80/",
            "https://user:pw@example.com",
            "https://example.com/#x",
            "ftp://example.com",
            "example.com",
            "https://exa mple.com",
            "https://ex%61mple.com",
            "https://bad_host.example",
            "https://example.com\\@other",
            "https:example.com",
            "https:///example.com",
            "",
        ] {
            let err = service_url("V", bad, Tail::PathAndQuery).unwrap_err();
            assert_eq!(err.var, "V", "{bad}");
        }
        assert!(service_url("V", "https://a.example/x", Tail::Nothing).is_err());
        assert!(service_url("V", "https://a.example/?q", Tail::Nothing).is_err());
        let long = format!("https://a.example/{}", "x".repeat(MAX_URL_BYTES));
        assert!(service_url("V", &long, Tail::PathAndQuery).is_err());
    }
}

//! What every request shows before a handler runs.
//!
//! The provider listens on loopback, but a web page the developer visits can still reach it:
//!
//! - **Cross-site requests.** A page may send "simple" requests anywhere without asking
//!   first: a form post or a `fetch` with `text/plain`, `application/x-www-form-urlencoded`
//!   or `multipart/form-data`, and no custom header. It cannot read the answer, but a `/_dev`
//!   control would already have rotated a key or moved the clock. So every `/_dev` request
//!   that is not a `GET`/`HEAD` must carry `Content-Type: application/json` or
//!   `X-L42-Dev: 1`: a page can send either only after a CORS preflight, and no `/_dev`
//!   answer ever carries a CORS header (any is removed here), so the browser never sends it.
//! - **DNS rebinding.** A page's own name made to resolve to 127.0.0.1 is same-origin with the
//!   provider: it could read `/_dev/mint`'s tokens, or sign in with the example users' public
//!   passwords and read the code exchange. Such requests carry the page's name in `Host`, so
//!   every request (hosted endpoints too: the browser and the token handler reach them at
//!   `http://127.0.0.1:<port>`) must name a loopback host: `localhost`, an address of
//!   127.0.0.0/8, `[::1]`, or the address the provider is bound to, with any port or none.
//!   An IP literal cannot be rebound; a name other than `localhost` can.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use thiserror::Error;

use crate::oauth::OAuthError;
use crate::state::Shared;

/// The custom header that marks a `/_dev` request as not cross-site (its value must be `1`).
pub(crate) const DEV_HEADER: &str = "x-l42-dev";

/// The path prefix of the test controls.
pub(crate) const DEV_PREFIX: &str = "/_dev";

/// Why a request was refused before reaching its handler.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum GuardError {
    /// Neither a `Host` header nor an absolute request target.
    #[error("the request names no host: send `Host: 127.0.0.1:<port>` (or localhost, [::1])")]
    NoHost,
    /// More than one `Host` header.
    #[error("the request has more than one Host header")]
    ManyHosts,
    /// A host that is not this machine's loopback (DNS rebinding), or not one host at all.
    #[error(
        "host `{0}` is not loopback: the dev identity provider answers only requests for \
         localhost, 127.0.0.0/8, [::1] or its bound address (any port), which a DNS-rebinding \
         page cannot send"
    )]
    NotLoopback(String),
    /// A state-changing `/_dev` request a cross-site page could have sent.
    #[error(
        "a /_dev control that changes state needs `Content-Type: application/json` or \
         `X-L42-Dev: 1` (a cross-site page can send neither without a CORS preflight, which \
         this provider never approves)"
    )]
    CrossSite,
}

impl From<GuardError> for OAuthError {
    fn from(e: GuardError) -> OAuthError {
        match e {
            GuardError::CrossSite => {
                OAuthError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            // 421 Misdirected Request: this server does not serve the host that was named.
            GuardError::NoHost | GuardError::ManyHosts | GuardError::NotLoopback(_) => {
                OAuthError::new(
                    StatusCode::MISDIRECTED_REQUEST,
                    "invalid_host",
                    e.to_string(),
                )
            }
        }
    }
}

/// The middleware: checks the host of every request and the cross-site marker of `/_dev`
/// writes; strips any CORS header from `/_dev` answers.
pub(crate) async fn guard(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let dev = is_dev_path(req.uri().path());
    if let Err(e) = check(&req, shared.listen_ip, dev) {
        tracing::warn!(error = %e, path = req.uri().path(), "request refused");
        return OAuthError::from(e).into_response();
    }
    let mut resp = next.run(req).await;
    if dev {
        strip_cors(resp.headers_mut());
    }
    resp
}

fn is_dev_path(path: &str) -> bool {
    path.strip_prefix(DEV_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn check(req: &Request, listen: IpAddr, dev: bool) -> Result<(), GuardError> {
    check_host(req, listen)?;
    if dev && !matches!(*req.method(), Method::GET | Method::HEAD) && !marked(req.headers()) {
        return Err(GuardError::CrossSite);
    }
    Ok(())
}

/// Every host the request names must be loopback: the `Host` header and, for an
/// absolute-form target (`POST http://host/…`, which RFC 9112 §3.2.2 says wins), its authority.
fn check_host(req: &Request, listen: IpAddr) -> Result<(), GuardError> {
    let mut hosts = req.headers().get_all(HOST).iter();
    let header = hosts.next();
    if hosts.next().is_some() {
        return Err(GuardError::ManyHosts);
    }
    let target = req.uri().authority().map(|a| a.as_str());
    if header.is_none() && target.is_none() {
        return Err(GuardError::NoHost);
    }
    if let Some(h) = header {
        let h = h
            .to_str()
            .map_err(|_| GuardError::NotLoopback(String::from_utf8_lossy(h.as_bytes()).into()))?;
        if !is_loopback_host(h, listen) {
            return Err(GuardError::NotLoopback(h.to_string()));
        }
    }
    match target {
        Some(t) if !is_loopback_host(t, listen) => Err(GuardError::NotLoopback(t.to_string())),
        _ => Ok(()),
    }
}

/// `host[:port]` naming this machine: `localhost` (any case), an IPv4 address of
/// 127.0.0.0/8, `[::1]` (any spelling), or `listen`; the port, if given, decimal digits
/// that fit 16 bits. Anything else (a longer name, user info, a path, a second port, a
/// trailing dot, a zone id, the shorthand IPv4 forms) is refused.
fn is_loopback_host(host: &str, listen: IpAddr) -> bool {
    let (ip, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        let Ok(ip) = inside.parse::<Ipv6Addr>() else {
            return false;
        };
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => return false,
            },
        };
        (Some(IpAddr::V6(ip)), port)
    } else {
        let (name, port) = match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        };
        if name.eq_ignore_ascii_case("localhost") {
            (None, port)
        } else {
            // Rust's parser takes only the four-part dotted form without leading zeros.
            let Ok(ip) = name.parse::<Ipv4Addr>() else {
                return false;
            };
            (Some(IpAddr::V4(ip)), port)
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
    });
    let ip_ok = ip.is_none_or(|ip| ip.is_loopback() || (!listen.is_unspecified() && ip == listen));
    port_ok && ip_ok
}

/// A state-changing `/_dev` request shows it was not sent by a cross-site page: a JSON
/// content type, or the custom header.
fn marked(headers: &HeaderMap) -> bool {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    json || headers.get(DEV_HEADER) == Some(&HeaderValue::from_static("1"))
}

/// Removes every `Access-Control-*` header: no `/_dev` answer may let a page read it or
/// approve a preflight, whatever a later layer or handler adds.
fn strip_cors(headers: &mut HeaderMap) {
    let cors: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for k in cors {
        headers.remove(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST:8042",
            "127.0.0.1",
            "127.0.0.1:0",
            "127.255.0.9:65535",
            "[::1]",
            "[::1]:8042",
            "[0:0:0:0:0:0:0:1]",
        ] {
            assert!(is_loopback_host(h, LOOPBACK), "{h}");
        }
        for h in [
            "",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "localhost.",
            "localhost@evil",
            "127.0.0.1:80@x",
            "x@127.0.0.1",
            "localhost:",
            "localhost:65536",
            "localhost:+1",
            "localhost:1:2",
            "127.1",
            "127.0.0.01",
            "0x7f.0.0.1",
            "2130706433",
            "0.0.0.0",
            "10.0.0.1",
            "::1",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[::2]",
            "[::ffff:127.0.0.1]",
            "[fe80::1%lo]",
            "[::1]:80/x",
        ] {
            assert!(!is_loopback_host(h, LOOPBACK), "{h}");
        }
    }

    #[test]
    fn the_bound_address_counts_as_this_machine() {
        let lan = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 5));
        assert!(is_loopback_host("192.168.1.5:9000", lan));
        assert!(!is_loopback_host("192.168.1.6:9000", lan));
        assert!(is_loopback_host("localhost:9000", lan));
        // Bound to every address: only loopback names still count.
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert!(!is_loopback_host("0.0.0.0", any));
        assert!(!is_loopback_host("192.168.1.5", any));
    }

    #[test]
    fn dev_paths() {
        assert!(is_dev_path("/_dev"));
        assert!(is_dev_path("/_dev/mint"));
        assert!(!is_dev_path("/_devx"));
        assert!(!is_dev_path("/oauth2/token"));
    }
}

//! What the CloudFront Functions of `edge/functions/` do, emulated in Rust.
//!
//! - [`auth_router`] (`auth-router.js`, on `/_auth/*`): forwarding headers the client made
//!   up are dropped and `x-forwarded-host` is set to the viewer's `Host`. The stack also
//!   sets `x-forwarded-proto: http` (CloudFront's origin request says `https`; the stack
//!   serves plain http on loopback).
//! - [`SessionGate`] (`session-gate.js`, on the protected static paths): a request for a
//!   page under [`PROTECTED_PREFIX`] goes on only with a session cookie whose MAC verifies
//!   and whose expiry is ahead (l42-core's codec; no store read, as at the edge); else a
//!   302 to `/_auth/login?return_to=<path>`.
//! - [`security_headers`] (`security-headers.js`, viewer response): the same headers,
//!   without `strict-transport-security` (meaningless on plain http).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use l42_core::session::SessionCookies;
use l42_core::unix_now;

use super::AUTH_PREFIX;

/// Static pages below this prefix need a session cookie.
pub const PROTECTED_PREFIX: &str = "/private/";

/// The forwarding headers `auth-router.js` drops when the viewer sent them.
const DROPPED: [&str; 20] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-scheme",
    "x-forwarded-ssl",
    "x-original-url",
    "x-original-uri",
    "x-original-host",
    "x-rewrite-url",
    "x-host",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-client-ip",
    "true-client-ip",
    "client-ip",
    "x-cluster-client-ip",
];

/// The viewer-response headers of `security-headers.js` (without HSTS).
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("content-security-policy", "frame-ancestors 'none'"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
];

/// The auth router's header rules, applied to a request for `/_auth/*`.
pub fn auth_router(mut request: Request) -> Request {
    let headers = request.headers_mut();
    for name in DROPPED {
        headers.remove(name);
    }
    headers.remove("x-forwarded-proto");
    if let Some(host) = headers.get(header::HOST).cloned() {
        headers.insert("x-forwarded-host", host);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    request
}

/// Whether `path` is a protected static page.
pub fn is_protected(path: &str) -> bool {
    path.starts_with(PROTECTED_PREFIX) || path == PROTECTED_PREFIX.trim_end_matches('/')
}

/// The session gate: the cookie check of `session-gate.js`.
#[derive(Debug, Clone)]
pub struct SessionGate {
    cookies: SessionCookies,
}

impl SessionGate {
    /// A gate checking cookies with `cookies`' keys and name.
    pub fn new(cookies: SessionCookies) -> SessionGate {
        SessionGate { cookies }
    }

    /// `None` when the request carries a valid, unexpired session cookie (it goes on);
    /// else the redirect to the login.
    pub fn refusal(&self, request: &Request) -> Option<Response> {
        let values = request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        match self.cookies.read(values, unix_now()) {
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(reason = e.code(), "session gate: no valid session cookie");
                Some(login_redirect(request))
            }
        }
    }
}

/// 302 to the login, returning to the path (and query) asked for.
fn login_redirect(request: &Request) -> Response {
    let uri = request.uri();
    let safe = uri.path().starts_with('/') && !uri.path().starts_with("//");
    let to = match (safe, uri.query()) {
        (false, _) => "/".to_string(),
        (true, Some(q)) => format!("{}?{q}", uri.path()),
        (true, None) => uri.path().to_string(),
    };
    let location: String = format!(
        "{AUTH_PREFIX}/login?return_to={}",
        form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>()
    );
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds the viewer-response security headers the response lacks.
pub fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        let name = HeaderName::from_static(name);
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use l42_core::session::SessionId;

    fn cookies() -> SessionCookies {
        SessionCookies::from_lookup(|k| match k {
            "SESSION_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
            "SESSION_HTTPS_ONLY" => Some("true".into()),
            _ => None,
        })
        .unwrap()
    }

    fn get(path: &str, cookie: Option<&str>) -> Request {
        let mut r = Request::builder().uri(path);
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        r.body(Body::empty()).unwrap()
    }

    #[test]
    fn the_auth_router_replaces_forwarding_headers() {
        let r = Request::builder()
            .uri("/_auth/login")
            .header(header::HOST, "127.0.0.1:8042")
            .header("x-forwarded-host", "evil.example")
            .header("x-forwarded-proto", "https")
            .header("forwarded", "host=evil.example")
            .header("x-http-method-override", "DELETE")
            .body(Body::empty())
            .unwrap();
        let r = auth_router(r);
        let h = r.headers();
        assert_eq!(h["x-forwarded-host"], "127.0.0.1:8042");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert!(h.get("forwarded").is_none());
        assert!(h.get("x-http-method-override").is_none());
        assert_eq!(h.get_all("x-forwarded-host").iter().count(), 1);
    }

    #[test]
    fn the_gate_wants_a_valid_cookie() {
        let gate = SessionGate::new(cookies());
        let now = unix_now();
        let id = SessionId::generate().unwrap();
        let set = cookies().issue(&id, now + 60, now).unwrap();
        let pair = set.split(';').next().unwrap().to_string();
        assert!(pair.starts_with("__Host-l42_session="));
        assert!(gate.refusal(&get("/private/", Some(&pair))).is_none());
        let stale = cookies().keys.sign(&id, now - 1).unwrap();
        for cookie in [
            None,
            Some(format!("__Host-l42_session={stale}")),
            Some(pair.replace("__Host-", "")),
            Some(format!("{}x", pair)),
        ] {
            let r = gate
                .refusal(&get("/private/page.html?a=b", cookie.as_deref()))
                .unwrap();
            assert_eq!(r.status(), StatusCode::FOUND);
            assert_eq!(
                r.headers()[header::LOCATION],
                "/_auth/login?return_to=%2Fprivate%2Fpage.html%3Fa%3Db"
            );
        }
    }

    #[test]
    fn protected_paths() {
        assert!(is_protected("/private/"));
        assert!(is_protected("/private"));
        assert!(is_protected("/private/x.html"));
        assert!(!is_protected("/privately"));
        assert!(!is_protected("/"));
    }

    #[test]
    fn security_headers_are_added_not_replaced() {
        let mut r = Response::new(Body::empty());
        r.headers_mut()
            .insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
        let r = security_headers(r);
        assert_eq!(r.headers()["x-frame-options"], "SAMEORIGIN");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
}

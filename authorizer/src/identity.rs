//! Finding the token in an event.

use crate::config::IdentitySource;
use crate::event::{EventKind, RawEvent};

/// Where the token was found and, for `Sec-WebSocket-Protocol`, what to echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'e> {
    /// The JWT.
    pub token: &'e str,
    /// The source it came from (`None` for a TOKEN event's `authorizationToken`).
    pub source: Option<IdentitySource>,
    /// For the protocol source: the other subprotocol the client offered, which the
    /// `$connect` integration must echo (empty when the client offered only the token).
    pub subprotocol: Option<&'e str>,
}

/// The token from an `Authorization` value: `Bearer <jwt>` (any case), or a bare JWT as
/// Cognito-aware clients often send. Any other scheme is no token.
pub fn from_authorization(value: &str) -> Option<&str> {
    let v = value.trim();
    if v.len() > 7 && v.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ") {
        let t = v[7..].trim_start();
        return (!t.is_empty()).then_some(t);
    }
    looks_like_jwt(v).then_some(v)
}

/// Three dot-separated base64url segments, the first opening a JSON object.
pub fn looks_like_jwt(s: &str) -> bool {
    s.starts_with("eyJ")
        && s.bytes().filter(|b| *b == b'.').count() == 2
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// What identifies the caller: a token in the event, or a session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential<'e> {
    /// A JWT carried by the event.
    Token(Found<'e>),
    /// The session cookie is present among these `Cookie` values (payload 2.0 `cookies`
    /// entries or `Cookie` headers); it is not verified yet.
    Cookie(Vec<&'e str>),
}

/// The `Cookie` values of an event: payload 2.0's `cookies` entries (each `name=value`),
/// else the `Cookie` header.
fn cookie_values<'e>(event: &'e RawEvent<'e>) -> Vec<&'e str> {
    match &event.cookies {
        Some(c) if !c.is_empty() => c.iter().map(|v| v.as_ref()).collect(),
        _ => event
            .headers
            .get_ignore_case("cookie")
            .into_iter()
            .collect(),
    }
}

/// Whether a cookie named `name` is among `values`, read by the one rule every part of
/// l42 reads cookies by ([`l42_core::session::cookie::cookie_values`]: split at `;` and
/// the first `=`, spaces and tabs trimmed), so `name = value` is the cookie here as it
/// is at `/_auth` and at the edge gate.
fn has_cookie(values: &[&str], name: &str) -> bool {
    l42_core::session::cookie::cookie_values(values.iter().copied(), name)
        .next()
        .is_some()
}

/// Finds the caller's credential in `event` (of kind `kind`), trying `sources` in order.
/// The first source that is present decides: a present but unusable value is not skipped
/// over. `cookie_name` is the session cookie's name (when `cookie` is a source).
pub fn find<'e>(
    event: &'e RawEvent<'e>,
    kind: EventKind,
    sources: &[IdentitySource],
    cookie_name: Option<&str>,
) -> Option<Credential<'e>> {
    if kind == EventKind::RestToken {
        return event
            .authorization_token
            .as_deref()
            .and_then(from_authorization)
            .map(|token| {
                Credential::Token(Found {
                    token,
                    source: None,
                    subprotocol: None,
                })
            });
    }
    find_token(event, sources, cookie_name)
}

fn find_token<'e>(
    event: &'e RawEvent<'e>,
    sources: &[IdentitySource],
    cookie_name: Option<&str>,
) -> Option<Credential<'e>> {
    for &source in sources {
        if source == IdentitySource::Cookie {
            let Some(name) = cookie_name else { continue };
            let values = cookie_values(event);
            if has_cookie(&values, name) {
                return Some(Credential::Cookie(values));
            }
            continue;
        }
        // `None`: the source is absent, try the next; `Some(found)`: it is present and
        // decides, usable or not.
        let present: Option<Option<Found<'e>>> = match source {
            IdentitySource::Header => event.headers.get_ignore_case("authorization").map(|v| {
                from_authorization(v).map(|token| Found {
                    token,
                    source: Some(source),
                    subprotocol: None,
                })
            }),
            IdentitySource::Query => event.query.get("token").map(|v| {
                let v = v.trim();
                (!v.is_empty()).then_some(Found {
                    token: v,
                    source: Some(source),
                    subprotocol: None,
                })
            }),
            IdentitySource::Protocol => event
                .headers
                .get_ignore_case("sec-websocket-protocol")
                .map(|v| {
                    let mut token = None;
                    let mut other = None;
                    for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        if token.is_none() && looks_like_jwt(p) {
                            token = Some(p);
                        } else if other.is_none() && !looks_like_jwt(p) {
                            other = Some(p);
                        }
                    }
                    token.map(|token| Found {
                        token,
                        source: Some(source),
                        subprotocol: Some(other.unwrap_or("")),
                    })
                }),
            IdentitySource::Cookie => None,
        };
        if let Some(found) = present {
            return found.map(Credential::Token);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

    #[test]
    fn authorization_values() {
        assert_eq!(from_authorization(&format!("Bearer {JWT}")), Some(JWT));
        assert_eq!(from_authorization(&format!("bearer   {JWT} ")), Some(JWT));
        assert_eq!(from_authorization(JWT), Some(JWT));
        assert_eq!(from_authorization("Basic dXNlcjpwYXNz"), None);
        assert_eq!(from_authorization("Bearer "), None);
        assert_eq!(from_authorization(""), None);
    }

    #[test]
    fn sources_are_tried_in_order_and_the_first_present_decides() {
        let ev = format!(
            r#"{{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:a:api/s/$connect",
                "headers":{{"Sec-WebSocket-Protocol":"chat.v1, {JWT}","Authorization":"Basic x"}},
                "queryStringParameters":{{"token":"{JWT}"}}}}"#
        );
        let e = RawEvent::parse(ev.as_bytes()).unwrap();
        let k = EventKind::WebSocketConnect;
        let token = |sources: &[IdentitySource]| match find(&e, k, sources, None) {
            Some(Credential::Token(f)) => Some((f.token, f.subprotocol)),
            _ => None,
        };
        assert_eq!(
            token(&[IdentitySource::Protocol, IdentitySource::Header]),
            Some((JWT, Some("chat.v1")))
        );
        assert_eq!(token(&[IdentitySource::Query]), Some((JWT, None)));
        // The Authorization header is present but not a bearer token: no fallback to query.
        assert!(
            find(
                &e,
                k,
                &[IdentitySource::Header, IdentitySource::Query],
                None
            )
            .is_none()
        );
    }

    #[test]
    fn the_session_cookie_is_a_source_when_present() {
        let name = "__Host-l42_session";
        let h = format!(
            r#"{{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:a:api/s/GET/x",
                "headers":{{"Cookie":"theme=dark; {name}=v1.x.1.y","Authorization":"Bearer {JWT}"}}}}"#
        );
        let e = RawEvent::parse(h.as_bytes()).unwrap();
        let k = EventKind::RestRequest;
        let sources = [IdentitySource::Cookie, IdentitySource::Header];
        assert_eq!(
            find(&e, k, &sources, Some(name)),
            Some(Credential::Cookie(vec![&*format!(
                "theme=dark; {name}=v1.x.1.y"
            )]))
        );
        // The spacing `name = value` is read as the cookie, as the token handler and the
        // edge gate read it.
        let spaced = format!(
            r#"{{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:a:api/s/GET/x",
                "headers":{{"Cookie":"theme=dark;{name} = v1.x.1.y","Authorization":"Bearer {JWT}"}}}}"#
        );
        let e2 = RawEvent::parse(spaced.as_bytes()).unwrap();
        assert!(matches!(
            find(&e2, k, &sources, Some(name)),
            Some(Credential::Cookie(_))
        ));
        // Another cookie name, or a name that only starts like it: the next source.
        for other in ["l42_session", "__Host-l42_sessionx"] {
            assert!(matches!(
                find(&e, k, &sources, Some(other)),
                Some(Credential::Token(_))
            ));
        }
        // Payload 2.0 carries cookies in their own list.
        let v2 = format!(
            r#"{{"version":"2.0","type":"REQUEST","routeArn":"arn:aws:execute-api:r:a:api/s/GET/x",
                "cookies":["a=b","{name}=v1.x.1.y"],"headers":{{}}}}"#
        );
        let e = RawEvent::parse(v2.as_bytes()).unwrap();
        assert_eq!(
            find(&e, EventKind::HttpV2, &[IdentitySource::Cookie], Some(name)),
            Some(Credential::Cookie(vec![
                "a=b",
                &*format!("{name}=v1.x.1.y")
            ]))
        );
        assert!(
            find(
                &e,
                EventKind::HttpV2,
                &[IdentitySource::Cookie],
                Some("other")
            )
            .is_none()
        );
    }
}

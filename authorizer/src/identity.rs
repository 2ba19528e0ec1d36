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

/// Finds the token in `event` (of kind `kind`), trying `sources` in order. The first
/// source that is present decides: a present but unusable value is not skipped over.
pub fn find<'e>(
    event: &'e RawEvent<'e>,
    kind: EventKind,
    sources: &[IdentitySource],
) -> Option<Found<'e>> {
    if kind == EventKind::RestToken {
        return event
            .authorization_token
            .as_deref()
            .and_then(from_authorization)
            .map(|token| Found {
                token,
                source: None,
                subprotocol: None,
            });
    }
    for &source in sources {
        match source {
            IdentitySource::Header => {
                if let Some(v) = event.headers.get_ignore_case("authorization") {
                    return from_authorization(v).map(|token| Found {
                        token,
                        source: Some(source),
                        subprotocol: None,
                    });
                }
            }
            IdentitySource::Query => {
                if let Some(v) = event.query.get("token") {
                    let v = v.trim();
                    return (!v.is_empty()).then_some(Found {
                        token: v,
                        source: Some(source),
                        subprotocol: None,
                    });
                }
            }
            IdentitySource::Protocol => {
                if let Some(v) = event.headers.get_ignore_case("sec-websocket-protocol") {
                    let mut token = None;
                    let mut other = None;
                    for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        if token.is_none() && looks_like_jwt(p) {
                            token = Some(p);
                        } else if other.is_none() && !looks_like_jwt(p) {
                            other = Some(p);
                        }
                    }
                    return token.map(|token| Found {
                        token,
                        source: Some(source),
                        subprotocol: Some(other.unwrap_or("")),
                    });
                }
            }
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
        let f = find(&e, k, &[IdentitySource::Protocol, IdentitySource::Header]).unwrap();
        assert_eq!((f.token, f.subprotocol), (JWT, Some("chat.v1")));
        assert_eq!(find(&e, k, &[IdentitySource::Query]).unwrap().token, JWT);
        // The Authorization header is present but not a bearer token: no fallback to query.
        assert!(find(&e, k, &[IdentitySource::Header, IdentitySource::Query]).is_none());
    }
}

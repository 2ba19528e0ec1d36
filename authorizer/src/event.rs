//! The incoming event: one lean, borrowing model for every API Gateway authorizer payload,
//! and the detection of which kind it is.
//!
//! Only the fields the decision reads are parsed (borrowed from the input where no escape
//! forces a copy); everything else is skipped. Field names follow the AWS documentation and
//! `aws_lambda_events`; the golden tests feed the AWS example events through this model.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A string borrowed from the event when it has no escapes.
pub type Str<'a> = Cow<'a, str>;

/// A JSON object of strings; `null` values and a `null` map are read as absent.
#[derive(Debug, Default)]
pub struct StrMap<'a>(pub Vec<(Str<'a>, Str<'a>)>);

impl<'a> StrMap<'a> {
    /// The value of `key`, compared exactly.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// The value of `key`, compared without regard to ASCII case (HTTP header names).
    pub fn get_ignore_case(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_ref())
    }

    /// The pairs, in event order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

/// A JSON string, borrowed from the input when it holds no escape. (serde borrows a
/// `Cow<str>` only when it is a struct field of exactly that type; inside an `Option`, a
/// map or a sequence it would always be copied.)
struct CowStr<'a>(Str<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// An optional string field, borrowed where it can be (see [`CowStr`]).
fn opt_str<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Str<'a>>, D::Error> {
    Ok(Option::<CowStr<'a>>::deserialize(d)?.map(|s| s.0))
}

/// An optional list of strings, borrowed where they can be (see [`CowStr`]).
fn opt_strs<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Str<'a>>>, D::Error> {
    Ok(Option::<Vec<CowStr<'a>>>::deserialize(d)?.map(|v| v.into_iter().map(|s| s.0).collect()))
}

impl<'de: 'a, 'a> Deserialize<'de> for StrMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = StrMap<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(StrMap::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(StrMap::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_map(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(Str<'a>, Option<Str<'a>>)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<CowStr<'a>, Option<CowStr<'a>>>()? {
                    entries.push((k.0, v.map(|v| v.0)));
                }
                Ok(StrMap(last_non_null(entries)))
            }
        }
        d.deserialize_option(V(PhantomData))
    }
}

/// The entries of a JSON object as a map would hold them: a repeated name keeps its last
/// value, and a `null` value means absent. Kept in event order (of the last occurrences).
fn last_non_null<'a>(entries: Vec<(Str<'a>, Option<Str<'a>>)>) -> Vec<(Str<'a>, Str<'a>)> {
    // Repeated names never occur in API Gateway's events: a few comparisons rule them out
    // for the usual handful of entries, a set for many.
    let repeated = if entries.len() <= 32 {
        entries
            .iter()
            .enumerate()
            .any(|(i, (k, _))| entries[i + 1..].iter().any(|(l, _)| l == k))
    } else {
        let mut seen = HashSet::with_capacity(entries.len());
        !entries.iter().all(|(k, _)| seen.insert(k.as_ref()))
    };
    if !repeated {
        return entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
    }
    let mut later: HashSet<Str<'a>> = HashSet::with_capacity(entries.len());
    let mut out: Vec<(Str<'a>, Str<'a>)> = Vec::with_capacity(entries.len());
    for (k, v) in entries.into_iter().rev() {
        if later.contains(&k) {
            continue;
        }
        later.insert(k.clone());
        if let Some(v) = v {
            out.push((k, v));
        }
    }
    out.reverse();
    out
}

/// `requestContext.http` (payload 2.0).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HttpContext<'a> {
    /// The request's verb.
    #[serde(borrow, deserialize_with = "opt_str")]
    pub method: Option<Str<'a>>,
    /// The request's path.
    #[serde(borrow, deserialize_with = "opt_str")]
    pub path: Option<Str<'a>>,
    /// The caller's address.
    #[serde(borrow, rename = "sourceIp", deserialize_with = "opt_str")]
    pub source_ip: Option<Str<'a>>,
}

/// `requestContext.identity` (REST, payload 1.0, WebSocket).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Identity<'a> {
    /// The caller's address.
    #[serde(borrow, rename = "sourceIp", deserialize_with = "opt_str")]
    pub source_ip: Option<Str<'a>>,
}

/// The parts of `requestContext` the decision reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestContext<'a> {
    /// Payload 2.0's request facts.
    #[serde(borrow)]
    pub http: Option<HttpContext<'a>>,
    /// REST's and WebSocket's caller identity.
    #[serde(borrow)]
    pub identity: Option<Identity<'a>>,
    /// The route key (HTTP APIs, WebSocket).
    #[serde(borrow, rename = "routeKey", deserialize_with = "opt_str")]
    pub route_key: Option<Str<'a>>,
    /// WebSocket event type (`CONNECT`).
    #[serde(borrow, rename = "eventType", deserialize_with = "opt_str")]
    pub event_type: Option<Str<'a>>,
}

/// Every field any authorizer payload carries that l42 reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RawEvent<'a> {
    /// `TOKEN` or `REQUEST`.
    #[serde(borrow, rename = "type", deserialize_with = "opt_str")]
    pub kind: Option<Str<'a>>,
    /// `1.0` or `2.0` for HTTP APIs.
    #[serde(borrow, deserialize_with = "opt_str")]
    pub version: Option<Str<'a>>,
    /// TOKEN: the identity header's value.
    #[serde(borrow, rename = "authorizationToken", deserialize_with = "opt_str")]
    pub authorization_token: Option<Str<'a>>,
    /// REST, WebSocket, payload 1.0: the method ARN.
    #[serde(borrow, rename = "methodArn", deserialize_with = "opt_str")]
    pub method_arn: Option<Str<'a>>,
    /// Payload 2.0: the route ARN.
    #[serde(borrow, rename = "routeArn", deserialize_with = "opt_str")]
    pub route_arn: Option<Str<'a>>,
    /// Payload 2.0: the route key.
    #[serde(borrow, rename = "routeKey", deserialize_with = "opt_str")]
    pub route_key: Option<Str<'a>>,
    /// REST REQUEST, payload 1.0: the resource template.
    #[serde(borrow, deserialize_with = "opt_str")]
    pub resource: Option<Str<'a>>,
    /// REST REQUEST, payload 1.0: the concrete path.
    #[serde(borrow, deserialize_with = "opt_str")]
    pub path: Option<Str<'a>>,
    /// Payload 2.0: the concrete path.
    #[serde(borrow, rename = "rawPath", deserialize_with = "opt_str")]
    pub raw_path: Option<Str<'a>>,
    /// REST REQUEST, payload 1.0: the verb.
    #[serde(borrow, rename = "httpMethod", deserialize_with = "opt_str")]
    pub http_method: Option<Str<'a>>,
    /// Request headers.
    #[serde(borrow)]
    pub headers: StrMap<'a>,
    /// Query string parameters.
    #[serde(borrow, rename = "queryStringParameters")]
    pub query: StrMap<'a>,
    /// Path parameters.
    #[serde(borrow, rename = "pathParameters")]
    pub path_parameters: StrMap<'a>,
    /// Payload 2.0: cookies.
    #[serde(borrow, deserialize_with = "opt_strs")]
    pub cookies: Option<Vec<Str<'a>>>,
    /// Request context.
    #[serde(borrow, rename = "requestContext")]
    pub request_context: RequestContext<'a>,
}

/// Which payload an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// REST API TOKEN authorizer.
    RestToken,
    /// REST API REQUEST authorizer.
    RestRequest,
    /// HTTP API, payload format 1.0.
    HttpV1,
    /// HTTP API, payload format 2.0.
    HttpV2,
    /// WebSocket API `$connect`.
    WebSocketConnect,
}

impl EventKind {
    /// A short name for logs and `--explain`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::RestToken => "rest-token",
            EventKind::RestRequest => "rest-request",
            EventKind::HttpV1 => "http-v1",
            EventKind::HttpV2 => "http-v2",
            EventKind::WebSocketConnect => "websocket-connect",
        }
    }
}

/// Why an event could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not JSON, or a field with the wrong type.
    #[error("event is not a valid authorizer payload: {0}")]
    Invalid(String),
    /// JSON, but not any authorizer payload l42 knows.
    #[error("event is not a TOKEN, REQUEST or payload 2.0 authorizer event")]
    Unrecognized,
}

/// The largest event accepted (API Gateway's own limits keep real ones far below this).
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

impl<'a> RawEvent<'a> {
    /// Parses an event from its JSON bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<RawEvent<'a>, EventError> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(EventError::Invalid("event too large".into()));
        }
        // Valid UTF-8 checked once, up front, spares serde a check of every string it
        // borrows; anything else gets the same error as before.
        match std::str::from_utf8(bytes) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(bytes),
        }
        .map_err(|e| {
            // serde's message may quote the event's text: cut on a character boundary
            // (`String::truncate` panics inside a multi-byte character).
            let m = e.to_string();
            let end = (0..=m.len().min(120))
                .rev()
                .find(|&i| m.is_char_boundary(i))
                .unwrap_or(0);
            EventError::Invalid(m[..end].to_string())
        })
    }

    /// Tells the payload kind from the event itself.
    pub fn kind(&self) -> Result<EventKind, EventError> {
        let kind = self.kind.as_deref();
        if kind == Some("TOKEN") && self.method_arn.is_some() {
            return Ok(EventKind::RestToken);
        }
        if self.version.as_deref() == Some("2.0") && self.route_arn.is_some() {
            return Ok(EventKind::HttpV2);
        }
        if kind == Some("REQUEST")
            && let Some(arn) = self.method_arn.as_deref()
        {
            let ctx = &self.request_context;
            if ctx.event_type.as_deref() == Some("CONNECT")
                || ctx.route_key.as_deref() == Some("$connect")
                || arn.ends_with("/$connect")
            {
                return Ok(EventKind::WebSocketConnect);
            }
            if self.version.as_deref() == Some("1.0") {
                return Ok(EventKind::HttpV1);
            }
            return Ok(EventKind::RestRequest);
        }
        Err(EventError::Unrecognized)
    }

    /// The caller's address, from whichever context carries it.
    pub fn source_ip(&self) -> &str {
        let ctx = &self.request_context;
        ctx.http
            .as_ref()
            .and_then(|h| h.source_ip.as_deref())
            .or_else(|| ctx.identity.as_ref().and_then(|i| i.source_ip.as_deref()))
            .unwrap_or("")
    }
}

/// A parsed `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{verb}/{path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodArn<'a> {
    /// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/`, kept for building ARNs.
    pub prefix: &'a str,
    /// The verb (`GET`, …) or the WebSocket route key.
    pub verb: &'a str,
    /// The path after the verb, with its leading `/` (`/` for the root).
    pub path: String,
}

/// The longest method ARN API Gateway sends.
pub const MAX_ARN_BYTES: usize = 1600;

impl<'a> MethodArn<'a> {
    /// Parses a method or route ARN; `None` when it is not an execute-api ARN.
    pub fn parse(arn: &'a str) -> Option<MethodArn<'a>> {
        if arn.len() > MAX_ARN_BYTES || !arn.starts_with("arn:") {
            return None;
        }
        let mut fields = arn.splitn(6, ':');
        let (_arn, partition, service, _region, _account, rest) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        if partition.is_empty() || service != "execute-api" {
            return None;
        }
        let mut parts = rest.splitn(3, '/');
        let api = parts.next()?;
        let stage = parts.next()?;
        let after_stage = parts.next()?;
        if api.is_empty() || stage.is_empty() {
            return None;
        }
        let (verb, path) = match after_stage.split_once('/') {
            Some((v, p)) => (v, format!("/{p}")),
            None => (after_stage, "/".to_string()),
        };
        if verb.is_empty() {
            return None;
        }
        let prefix_len = arn.len() - after_stage.len();
        Some(MethodArn {
            prefix: &arn[..prefix_len],
            verb,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn parses_method_arns() {
        let a = MethodArn::parse(
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42",
        )
        .unwrap();
        assert_eq!(
            a.prefix,
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/"
        );
        assert_eq!(a.verb, "GET");
        assert_eq!(a.path, "/orders/42");
        let root = MethodArn::parse("arn:aws:execute-api:us-east-1:1:abc/dev/GET/").unwrap();
        assert_eq!(root.path, "/");
        let ws = MethodArn::parse("arn:aws:execute-api:us-east-1:1:abc/dev/$connect").unwrap();
        assert_eq!(ws.verb, "$connect");
        for bad in [
            "",
            "arn:aws:s3:::b",
            "arn:aws:execute-api:r:a:api",
            "arn:aws:execute-api:r:a:api//GET/x",
        ] {
            assert!(MethodArn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn error_messages_are_cut_on_a_character_boundary() {
        // serde quotes the string: the 120-byte cut lands inside a 3-byte character.
        let ev = format!(r#"{{"headers":"{}"}}"#, "\u{20ac}".repeat(60));
        assert!(matches!(
            RawEvent::parse(ev.as_bytes()),
            Err(EventError::Invalid(_))
        ));
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let e = RawEvent::parse(
            br#"{"type":"TOKEN","methodArn":"a\/b","headers":{"x":"1","y\u0041":"\"2"},"cookies":["c"]}"#,
        )
        .unwrap();
        assert!(matches!(e.kind, Some(Cow::Borrowed("TOKEN"))));
        assert!(matches!(e.method_arn.as_deref(), Some("a/b")));
        assert!(matches!(e.method_arn, Some(Cow::Owned(_))));
        assert!(matches!(
            &e.headers.0[0],
            (Cow::Borrowed("x"), Cow::Borrowed("1"))
        ));
        assert_eq!(e.headers.get("yA"), Some("\"2"));
        assert!(matches!(e.cookies.as_deref(), Some([Cow::Borrowed("c")])));
    }

    #[test]
    fn repeated_names_keep_the_last_value_as_a_map_would() {
        let e = RawEvent::parse(
            br#"{"headers":{"a":"1","b":"2","a":"3"},"queryStringParameters":{"q":"1","q":null}}"#,
        )
        .unwrap();
        assert_eq!(
            e.headers.pairs().collect::<Vec<_>>(),
            [("b", "2"), ("a", "3")]
        );
        assert!(e.query.0.is_empty());
        let many: Vec<String> = (0..40).map(|i| format!(r#""k{}":"{i}""#, i % 35)).collect();
        let ev = format!(r#"{{"headers":{{{}}}}}"#, many.join(","));
        let e = RawEvent::parse(ev.as_bytes()).unwrap();
        assert_eq!(e.headers.0.len(), 35);
        assert_eq!(e.headers.get("k0"), Some("35"));
        assert_eq!(e.headers.get("k34"), Some("34"));
    }

    #[test]
    fn null_maps_and_values_are_absent() {
        let e = RawEvent::parse(br#"{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:a:api/s/GET/x","headers":null,"queryStringParameters":{"a":null,"b":"1"}}"#).unwrap();
        assert!(e.headers.0.is_empty());
        assert_eq!(e.query.get("b"), Some("1"));
        assert_eq!(e.query.get("a"), None);
    }
}

//! The incoming event: one lean, borrowing model for every API Gateway authorizer payload,
//! and the detection of which kind it is.
//!
//! Only the fields the decision reads are parsed (borrowed from the input where no escape
//! forces a copy); everything else is skipped. Field names follow the AWS documentation and
//! `aws_lambda_events`; the golden tests feed the AWS example events through this model.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::json::{JsonError, Reader};

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
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

/// Which of an object's known fields have been read: each may occur once (a repeated
/// field could mean one thing to API Gateway and another here). One bit per field name,
/// numbered by the caller.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn once(&mut self, r: &Reader<'_>, bit: u32, name: &'static str) -> Result<(), JsonError> {
        if self.0 & (1 << bit) != 0 {
            return r.error(format!("field `{name}` appears twice"));
        }
        self.0 |= 1 << bit;
        Ok(())
    }

    /// Reads a string or `null` into `slot`.
    fn opt_str<'a>(
        &mut self,
        r: &mut Reader<'a>,
        bit: u32,
        name: &'static str,
        slot: &mut Option<Str<'a>>,
    ) -> Result<(), JsonError> {
        self.once(r, bit, name)?;
        *slot = if r.null()? { None } else { Some(r.string()?) };
        Ok(())
    }
}

impl<'a> StrMap<'a> {
    /// Reads an object of strings (a `null` map or value is absent).
    fn read(r: &mut Reader<'a>) -> Result<StrMap<'a>, JsonError> {
        if r.null()? {
            return Ok(StrMap::default());
        }
        let mut entries: Vec<(Str<'a>, Option<Str<'a>>)> = Vec::with_capacity(16);
        r.object(|r, k| {
            let v = if r.null()? { None } else { Some(r.string()?) };
            entries.push((k, v));
            Ok(())
        })?;
        Ok(StrMap(last_non_null(entries)))
    }
}

impl<'a> RequestContext<'a> {
    fn read(r: &mut Reader<'a>) -> Result<RequestContext<'a>, JsonError> {
        let mut ctx = RequestContext::default();
        if r.null()? {
            return Ok(ctx);
        }
        let mut seen = Seen::default();
        r.object(|r, key| match key.as_ref() {
            "routeKey" => seen.opt_str(r, 0, "routeKey", &mut ctx.route_key),
            "eventType" => seen.opt_str(r, 1, "eventType", &mut ctx.event_type),
            "http" => {
                seen.once(r, 2, "http")?;
                if r.null()? {
                    return Ok(());
                }
                let mut http = HttpContext::default();
                let mut seen = Seen::default();
                r.object(|r, key| match key.as_ref() {
                    "method" => seen.opt_str(r, 0, "method", &mut http.method),
                    "path" => seen.opt_str(r, 1, "path", &mut http.path),
                    "sourceIp" => seen.opt_str(r, 2, "sourceIp", &mut http.source_ip),
                    _ => r.skip(),
                })?;
                ctx.http = Some(http);
                Ok(())
            }
            "identity" => {
                seen.once(r, 3, "identity")?;
                if r.null()? {
                    return Ok(());
                }
                let mut identity = Identity::default();
                let mut seen = Seen::default();
                r.object(|r, key| match key.as_ref() {
                    "sourceIp" => seen.opt_str(r, 0, "sourceIp", &mut identity.source_ip),
                    _ => r.skip(),
                })?;
                ctx.identity = Some(identity);
                Ok(())
            }
            _ => r.skip(),
        })?;
        Ok(ctx)
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
#[derive(Debug, Default)]
pub struct HttpContext<'a> {
    /// The request's verb.
    pub method: Option<Str<'a>>,
    /// The request's path.
    pub path: Option<Str<'a>>,
    /// The caller's address.
    pub source_ip: Option<Str<'a>>,
}

/// `requestContext.identity` (REST, payload 1.0, WebSocket).
#[derive(Debug, Default)]
pub struct Identity<'a> {
    /// The caller's address.
    pub source_ip: Option<Str<'a>>,
}

/// The parts of `requestContext` the decision reads.
#[derive(Debug, Default)]
pub struct RequestContext<'a> {
    /// Payload 2.0's request facts.
    pub http: Option<HttpContext<'a>>,
    /// REST's and WebSocket's caller identity.
    pub identity: Option<Identity<'a>>,
    /// The route key (HTTP APIs, WebSocket).
    pub route_key: Option<Str<'a>>,
    /// WebSocket event type (`CONNECT`).
    pub event_type: Option<Str<'a>>,
}

/// Every field any authorizer payload carries that l42 reads.
#[derive(Debug, Default)]
pub struct RawEvent<'a> {
    /// `TOKEN` or `REQUEST`.
    pub kind: Option<Str<'a>>,
    /// `1.0` or `2.0` for HTTP APIs.
    pub version: Option<Str<'a>>,
    /// TOKEN: the identity header's value.
    pub authorization_token: Option<Str<'a>>,
    /// REST, WebSocket, payload 1.0: the method ARN.
    pub method_arn: Option<Str<'a>>,
    /// Payload 2.0: the route ARN.
    pub route_arn: Option<Str<'a>>,
    /// Payload 2.0: the route key.
    pub route_key: Option<Str<'a>>,
    /// REST REQUEST, payload 1.0: the resource template.
    pub resource: Option<Str<'a>>,
    /// REST REQUEST, payload 1.0: the concrete path.
    pub path: Option<Str<'a>>,
    /// Payload 2.0: the concrete path.
    pub raw_path: Option<Str<'a>>,
    /// REST REQUEST, payload 1.0: the verb.
    pub http_method: Option<Str<'a>>,
    /// Request headers.
    pub headers: StrMap<'a>,
    /// Query string parameters.
    pub query: StrMap<'a>,
    /// Path parameters.
    pub path_parameters: StrMap<'a>,
    /// Payload 2.0: cookies.
    pub cookies: Option<Vec<Str<'a>>>,
    /// Request context.
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
    /// Parses an event from its JSON bytes: a JSON object, every field the model reads of
    /// the type AWS sends (or `null`, read as absent), each at most once; other fields are
    /// skipped, but must be valid JSON too.
    pub fn parse(bytes: &'a [u8]) -> Result<RawEvent<'a>, EventError> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(EventError::Invalid("event too large".into()));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| EventError::Invalid(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
        let mut r = Reader::new(text);
        let mut ev = RawEvent::default();
        let mut seen = Seen::default();
        r.object(|r, key| {
            let k = key.as_ref();
            match k {
                "type" => seen.opt_str(r, 0, "type", &mut ev.kind),
                "version" => seen.opt_str(r, 1, "version", &mut ev.version),
                "authorizationToken" => {
                    seen.opt_str(r, 2, "authorizationToken", &mut ev.authorization_token)
                }
                "methodArn" => seen.opt_str(r, 3, "methodArn", &mut ev.method_arn),
                "routeArn" => seen.opt_str(r, 4, "routeArn", &mut ev.route_arn),
                "routeKey" => seen.opt_str(r, 5, "routeKey", &mut ev.route_key),
                "resource" => seen.opt_str(r, 6, "resource", &mut ev.resource),
                "path" => seen.opt_str(r, 7, "path", &mut ev.path),
                "rawPath" => seen.opt_str(r, 8, "rawPath", &mut ev.raw_path),
                "httpMethod" => seen.opt_str(r, 9, "httpMethod", &mut ev.http_method),
                "headers" => {
                    seen.once(r, 10, "headers")?;
                    ev.headers = StrMap::read(r)?;
                    Ok(())
                }
                "queryStringParameters" => {
                    seen.once(r, 11, "queryStringParameters")?;
                    ev.query = StrMap::read(r)?;
                    Ok(())
                }
                "pathParameters" => {
                    seen.once(r, 12, "pathParameters")?;
                    ev.path_parameters = StrMap::read(r)?;
                    Ok(())
                }
                "cookies" => {
                    seen.once(r, 13, "cookies")?;
                    if r.null()? {
                        return Ok(());
                    }
                    let mut cookies = Vec::new();
                    r.array(|r| {
                        cookies.push(r.string()?);
                        Ok(())
                    })?;
                    ev.cookies = Some(cookies);
                    Ok(())
                }
                "requestContext" => {
                    seen.once(r, 14, "requestContext")?;
                    ev.request_context = RequestContext::read(r)?;
                    Ok(())
                }
                _ => r.skip(),
            }
        })
        .and_then(|()| r.end())
        .map_err(|e| EventError::Invalid(e.to_string()))?;
        Ok(ev)
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
            // A WebSocket connect is only what API Gateway sends for one: the event type
            // `CONNECT`, the route key `$connect` and a method ARN naming `$connect` right
            // after the stage, all three. Any path can end in `/$connect` (a REST
            // `{proxy+}` resource, an HTTP API route), so the ARN alone proves nothing;
            // and an event with some of the three and not the others is no event API
            // Gateway sends: refused, never decided as a connect.
            let ctx = &self.request_context;
            let event_type = ctx.event_type.as_deref();
            let route_key = ctx.route_key.as_deref();
            if event_type.is_some() || route_key == Some("$connect") {
                let connect = event_type == Some("CONNECT")
                    && route_key == Some("$connect")
                    && MethodArn::is_connect(arn);
                return if connect {
                    Ok(EventKind::WebSocketConnect)
                } else {
                    Err(EventError::Unrecognized)
                };
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

    /// Whether `arn` is a WebSocket connect's method ARN: `$connect` right after the
    /// stage and nothing after it (not `…/$connect/`, not `…/GET/x/$connect`).
    pub fn is_connect(arn: &str) -> bool {
        MethodArn::parse(arn).is_some_and(|a| &arn[a.prefix.len()..] == "$connect")
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
    fn refuses_what_is_not_one_well_typed_object() {
        for (bad, why) in [
            (r#"{"type":"TOKEN"} x"#, "trailing characters"),
            (r#"{"type":"TOKEN"}}"#, "trailing characters"),
            (r#"["TOKEN","arn"]"#, "expected an object"),
            ("null", "expected an object"),
            (
                r#"{"type":"TOKEN","type":"REQUEST"}"#,
                "field `type` appears twice",
            ),
            (
                r#"{"requestContext":{"http":{"sourceIp":"a","sourceIp":"b"}}}"#,
                "field `sourceIp` appears twice",
            ),
            (r#"{"type":5}"#, "expected a string"),
            (r#"{"headers":["a"]}"#, "expected an object"),
            (r#"{"headers":{"a":1}}"#, "expected a string"),
            (r#"{"cookies":"a=b"}"#, "expected an array"),
            (r#"{"cookies":[null]}"#, "expected a string"),
            (r#"{"requestContext":[]}"#, "expected an object"),
            (r#"{"other":[1,}"#, "expected a value"),
            ("{\"other\":\"\u{1}\"}", "control character in string"),
        ] {
            let e = RawEvent::parse(bad.as_bytes()).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
        let e = RawEvent::parse(b"{\"type\":\"\xff\"}").unwrap_err();
        assert!(e.to_string().contains("not UTF-8 at byte 9"), "{e}");
    }

    #[test]
    fn every_field_once_is_accepted() {
        let ev = r#"{"type":"REQUEST","version":"2.0","authorizationToken":"t","methodArn":"m",
            "routeArn":"a","routeKey":"k","resource":"r","path":"p","rawPath":"rp",
            "httpMethod":"GET","headers":{},"queryStringParameters":{},"pathParameters":{},
            "cookies":[],"requestContext":{"routeKey":"k","eventType":"CONNECT",
            "http":{"method":"GET","path":"/","sourceIp":"1.2.3.4"},
            "identity":{"sourceIp":"1.2.3.4"}}}"#;
        let e = RawEvent::parse(ev.as_bytes()).unwrap();
        assert_eq!(e.source_ip(), "1.2.3.4");
        assert_eq!(e.raw_path.as_deref(), Some("rp"));
    }

    #[test]
    fn error_messages_never_quote_the_event() {
        let secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln";
        let ev = format!(r#"{{"headers":{{"authorization":"{secret}","x":5}}}}"#);
        let e = RawEvent::parse(ev.as_bytes()).unwrap_err().to_string();
        assert!(!e.contains(secret), "{e}");
        assert_eq!(
            e,
            format!(
                "event is not a valid authorizer payload: expected a string at byte {}",
                ev.len() - 3
            )
        );
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

//! The incoming event: one lean, borrowing model for every API Gateway authorizer payload,
//! and the detection of which kind it is.
//!
//! Only the fields the decision reads are kept (borrowed from the input where no escape
//! forces a copy); everything else is skipped. Field names follow the AWS documentation and
//! `aws_lambda_events`; the golden tests feed the AWS example events through this model.
//!
//! `serde_json` reads the event, through the visitors below rather than derived ones (a
//! derived struct would also accept an array of its fields). What reading guarantees, each
//! checked by the tests at the end of this file and by `tests/proptests.rs`:
//! - at most [`MAX_EVENT_BYTES`], UTF-8 (checked once, up front), one JSON object and
//!   nothing after it;
//! - every field the model reads is of the type AWS sends (or `null`, read as absent) and
//!   appears at most once: a repeated field could mean one thing to API Gateway and another
//!   here; inside a map of strings a repeated name keeps its last value, as a map would;
//! - every other field is skipped (by `serde_json`'s iterative skipper) but must be valid
//!   JSON too, so a malformed event is refused whatever field the damage is in;
//! - nesting is limited to [`MAX_DEPTH`] levels everywhere: `serde_json` counts the levels
//!   of what it reads, [`nesting_too_deep`] those of the fields it skips (which it does not
//!   count), so no input can exhaust the stack or be read differently for its depth;
//! - an error says what was wrong and at which byte, and never quotes the event.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The deepest nesting of arrays and objects accepted: `serde_json`'s limit (it refuses
/// the 128th level).
const MAX_DEPTH: usize = 127;

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

/// A string of the event, borrowed unless an escape forces a copy.
struct Borrowed<'a>(Str<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Borrowed<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Borrowed<'a>, E> {
                Ok(Borrowed(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Borrowed<'a>, E> {
                Ok(Borrowed(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// A string field: a string, or `null` (absent).
fn opt_str<'de: 'a, 'a, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Str<'a>>, A::Error> {
    Ok(map.next_value::<Option<Borrowed<'a>>>()?.map(|s| s.0))
}

/// A part of the event read as an object of named fields.
trait Fields<'a>: Default {
    /// The names of the fields read, by index (at most 32).
    const NAMES: &'static [&'static str];
    /// The index of the field named `key`, if it is one of [`NAMES`](Self::NAMES).
    fn index(key: &str) -> Option<usize>;
    /// Reads the value of field `index` (of [`NAMES`](Self::NAMES)).
    fn read<'de: 'a, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Reads a [`Fields`] object: known fields once each, others skipped; `null` is the
/// default (where the object may be `null`: not the event itself).
struct Object<'a, T>(PhantomData<(&'a (), T)>);

impl<'a, T> Object<'a, T> {
    fn new() -> Self {
        Object(PhantomData)
    }
}

impl<'de: 'a, 'a, T: Fields<'a>> Visitor<'de> for Object<'a, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut value = T::default();
        let mut seen: u32 = 0;
        while let Some(key) = map.next_key::<Borrowed<'a>>()? {
            let Some(index) = T::index(&key.0) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if seen & (1 << index) != 0 {
                return Err(de::Error::custom(format_args!(
                    "field `{}` appears twice",
                    T::NAMES[index]
                )));
            }
            seen |= 1 << index;
            value.read(index, &mut map)?;
        }
        Ok(value)
    }
}

/// Deserializes a nested [`Fields`] object (`null` allowed).
macro_rules! nested_object {
    ($t:ident) => {
        impl<'de: 'a, 'a> Deserialize<'de> for $t<'a> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(Object::<'a, $t<'a>>::new())
            }
        }
    };
}
nested_object!(RequestContext);
nested_object!(HttpContext);
nested_object!(Identity);

impl<'de: 'a, 'a> Deserialize<'de> for StrMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = StrMap<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_unit<E>(self) -> Result<StrMap<'a>, E> {
                Ok(StrMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrMap<'a>, A::Error> {
                let mut entries: Vec<(Str<'a>, Option<Str<'a>>)> = Vec::with_capacity(16);
                while let Some((k, v)) = map.next_entry::<Borrowed<'a>, Option<Borrowed<'a>>>()? {
                    entries.push((k.0, v.map(|v| v.0)));
                }
                Ok(StrMap(last_non_null(entries)))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Payload 2.0's `cookies`: an array of strings.
struct Cookies<'a>(Vec<Str<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Cookies<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Cookies<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cookies<'a>, A::Error> {
                let mut cookies = Vec::new();
                while let Some(c) = seq.next_element::<Borrowed<'a>>()? {
                    cookies.push(c.0);
                }
                Ok(Cookies(cookies))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// The [`Fields::NAMES`] and [`Fields::index`] of one list of `index "name"` pairs.
macro_rules! names {
    ($($index:literal $name:literal),* $(,)?) => {
        const NAMES: &'static [&'static str] = &[$($name),*];
        fn index(key: &str) -> Option<usize> {
            match key {
                $($name => Some($index),)*
                _ => None,
            }
        }
    };
}

impl<'a> Fields<'a> for RawEvent<'a> {
    names! {
        0 "type",
        1 "version",
        2 "authorizationToken",
        3 "methodArn",
        4 "routeArn",
        5 "routeKey",
        6 "resource",
        7 "path",
        8 "rawPath",
        9 "httpMethod",
        10 "headers",
        11 "queryStringParameters",
        12 "pathParameters",
        13 "cookies",
        14 "requestContext",
    }
    fn read<'de: 'a, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match index {
            0 => self.kind = opt_str(map)?,
            1 => self.version = opt_str(map)?,
            2 => self.authorization_token = opt_str(map)?,
            3 => self.method_arn = opt_str(map)?,
            4 => self.route_arn = opt_str(map)?,
            5 => self.route_key = opt_str(map)?,
            6 => self.resource = opt_str(map)?,
            7 => self.path = opt_str(map)?,
            8 => self.raw_path = opt_str(map)?,
            9 => self.http_method = opt_str(map)?,
            10 => self.headers = map.next_value()?,
            11 => self.query = map.next_value()?,
            12 => self.path_parameters = map.next_value()?,
            13 => self.cookies = map.next_value::<Option<Cookies<'a>>>()?.map(|c| c.0),
            _ => self.request_context = map.next_value()?,
        }
        Ok(())
    }
}

impl<'a> Fields<'a> for RequestContext<'a> {
    names! {
        0 "routeKey",
        1 "eventType",
        2 "http",
        3 "identity",
    }
    fn read<'de: 'a, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match index {
            0 => self.route_key = opt_str(map)?,
            1 => self.event_type = opt_str(map)?,
            2 => self.http = map.next_value()?,
            _ => self.identity = map.next_value()?,
        }
        Ok(())
    }
}

impl<'a> Fields<'a> for HttpContext<'a> {
    names! {
        0 "method",
        1 "path",
        2 "sourceIp",
    }
    fn read<'de: 'a, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match index {
            0 => self.method = opt_str(map)?,
            1 => self.path = opt_str(map)?,
            _ => self.source_ip = opt_str(map)?,
        }
        Ok(())
    }
}

impl<'a> Fields<'a> for Identity<'a> {
    names! {
        0 "sourceIp",
    }
    fn read<'de: 'a, A: MapAccess<'de>>(
        &mut self,
        _index: usize,
        map: &mut A,
    ) -> Result<(), A::Error> {
        self.source_ip = opt_str(map)?;
        Ok(())
    }
}

/// Where `text` first nests arrays and objects deeper than [`MAX_DEPTH`], if it does.
/// Exact for valid JSON (brackets inside strings do not count); anything else `serde_json`
/// refuses anyway. An event with no more brackets than the limit, as API Gateway's are,
/// costs one vector search for them.
fn nesting_too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr2_iter(b'[', b'{', bytes).nth(MAX_DEPTH)?;
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, &c) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(at);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// What is wrong with an event `serde_json` refused, and where: its own words for a
/// syntax error (they never quote the input), the expected type for a value of the wrong
/// type (not the value: that is the event's), our own words for a repeated field.
fn describe(e: &serde_json::Error, text: &str) -> String {
    let message = e.to_string();
    let what = match message.rsplit_once(" at line ") {
        Some((what, _)) => what,
        None => message.as_str(),
    };
    let what = match e.classify() {
        serde_json::error::Category::Data => {
            if what.starts_with("field `") {
                what.to_owned()
            } else if let Some((_, expected)) = what.rsplit_once(", expected ") {
                format!("expected {expected}")
            } else {
                "a field has the wrong type".to_owned()
            }
        }
        _ => what.to_owned(),
    };
    // serde_json counts lines from 1 and columns as bytes from the line's start.
    let line_start = match e.line() {
        0 | 1 => 0,
        n => text
            .match_indices('\n')
            .nth(n - 2)
            .map_or(text.len(), |(i, _)| i + 1),
    };
    format!("{what} at byte {}", line_start + e.column())
}

impl<'a> RawEvent<'a> {
    /// Parses an event from its JSON bytes (see the module documentation for what is
    /// accepted).
    pub fn parse(bytes: &'a [u8]) -> Result<RawEvent<'a>, EventError> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(EventError::Invalid("event too large".into()));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| EventError::Invalid(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
        if let Some(at) = nesting_too_deep(text) {
            return Err(EventError::Invalid(format!(
                "nesting too deep at byte {at}"
            )));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_map(Object::<'a, RawEvent<'a>>::new())
            .and_then(|ev| de.end().map(|()| ev))
            .map_err(|e| EventError::Invalid(describe(&e, text)))
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
            (r#"{"other":[1,}"#, "expected value"),
            ("{\"other\":\"\u{1}\"}", "control character"),
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
        // The offset is where the reader stood when it saw the mistake: after the `5`.
        assert_eq!(
            e,
            format!(
                "event is not a valid authorizer payload: expected a string at byte {}",
                ev.len() - 2
            )
        );
        // A string where another type belongs is not quoted either (serde_json's own
        // message would quote it), wherever it is.
        for ev in [
            format!(r#"{{"headers":"Bearer {secret}"}}"#),
            format!(r#"{{"requestContext":"{secret}"}}"#),
            format!(r#"{{"requestContext":{{"http":"{secret}"}}}}"#),
            format!(r#"{{"cookies":"{secret}"}}"#),
            format!(r#"{{"type":["{secret}"]}}"#),
            format!(r#"["{secret}"]"#),
            format!(r#""{secret}""#),
        ] {
            let e = RawEvent::parse(ev.as_bytes()).unwrap_err().to_string();
            assert!(!e.contains("c2VjcmV0"), "{e}");
            assert!(e.contains(" expected "), "{e}");
        }
        let e = RawEvent::parse(format!("\"{secret}").as_bytes()).unwrap_err();
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
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

    #[test]
    fn skipped_fields_must_be_what_serde_json_accepts() {
        let cases = [
            "null",
            "true",
            " false ",
            "0",
            "-0",
            "12.5e-3",
            "1E+2",
            "01",
            "1.",
            "-",
            ".5",
            "1e",
            "\"a\\u00e9\\n\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"tab\there\"",
            "\"\\ud83d\"",
            "[]",
            "[1,2,[3,{\"a\":[]}]]",
            "[1,]",
            "[,1]",
            "{}",
            "{\"a\":1,\"b\":{\"c\":\"d\"}}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":}",
            "[1 2]",
            "nul",
            "truex",
            "[",
            "{",
            "\"",
            "",
            "[1]]",
            "{\"a\":[1}",
            "[{\"a\":1]",
        ];
        for c in cases {
            let ev = format!("{{\"other\":{c},\"type\":\"TOKEN\"}}");
            let ours = RawEvent::parse(ev.as_bytes()).is_ok();
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(c).is_ok();
            assert_eq!(ours, theirs, "{c:?}: ours {ours}, serde_json {theirs}");
        }
    }

    #[test]
    fn nesting_is_limited_in_skipped_fields_too() {
        // The event object is the first of the 127 levels.
        let nested = |depth: usize| {
            format!(
                r#"{{"other":{}{},"type":"TOKEN"}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        assert!(RawEvent::parse(nested(126).as_bytes()).is_ok());
        let e = RawEvent::parse(nested(127).as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("nesting too deep at byte 135"),
            "{e}"
        );
        // Brackets inside strings are not nesting.
        let quoted = format!(
            r#"{{"other":["{}\"{}"],"type":"TOKEN"}}"#,
            "[".repeat(200),
            "{".repeat(200)
        );
        assert!(RawEvent::parse(quoted.as_bytes()).is_ok());
        // Nor do arrays side by side add up.
        let wide = format!(r#"{{"other":[{}[]],"type":"TOKEN"}}"#, "[],".repeat(500));
        assert!(RawEvent::parse(wide.as_bytes()).is_ok());
        let deep = format!(r#"{{"other":{}}}"#, "[{\"a\":".repeat(100_000));
        assert!(RawEvent::parse(deep.as_bytes()).is_err());
        let deep = format!(r#"{{"requestContext":{}}}"#, "{\"http\":".repeat(100_000));
        assert!(RawEvent::parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn escapes_are_decoded_and_lone_surrogates_refused() {
        let e = RawEvent::parse(br#"{"path":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00e"}"#).unwrap();
        assert_eq!(
            e.path.as_deref(),
            Some("a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1f600}e")
        );
        for bad in [
            r#""\ud83d""#,
            r#""\ud83dx""#,
            r#""\ude00""#,
            r#""\ud83d\u0041""#,
            r#""\q""#,
            "\"a\nb\"",
            r#""abc"#,
            r#""ab\"#,
        ] {
            let read = format!("{{\"path\":{bad}}}");
            assert!(RawEvent::parse(read.as_bytes()).is_err(), "{read:?}");
            // A skipped string is checked as JSON, not decoded: a lone surrogate passes
            // there, as `serde_json` skips it.
            let skipped = format!("{{\"other\":{bad}}}");
            let surrogate = bad.contains("\\ud") || bad.contains("\\ude");
            assert_eq!(
                RawEvent::parse(skipped.as_bytes()).is_ok(),
                surrogate,
                "{skipped:?}"
            );
        }
    }

    #[test]
    fn events_over_the_size_limit_are_refused_unread() {
        let pad = " ".repeat(MAX_EVENT_BYTES);
        let ev = format!(r#"{{"type":"TOKEN"}}{pad}"#);
        let e = RawEvent::parse(ev.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "event is not a valid authorizer payload: event too large"
        );
        let ev = format!(r#"{{"type":"TOKEN"}}{}"#, &pad[..MAX_EVENT_BYTES - 16]);
        assert!(RawEvent::parse(ev.as_bytes()).is_ok());
    }

    #[test]
    fn field_indices_agree_with_field_names() {
        fn check<'a, T: Fields<'a>>() {
            for (i, name) in T::NAMES.iter().enumerate() {
                assert_eq!(T::index(name), Some(i), "{name}");
            }
            assert!(T::NAMES.len() <= 32);
            assert_eq!(T::index("unknown"), None);
        }
        check::<RawEvent<'_>>();
        check::<RequestContext<'_>>();
        check::<HttpContext<'_>>();
        check::<Identity<'_>>();
    }
}

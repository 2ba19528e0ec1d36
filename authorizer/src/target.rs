//! Which route an event asks for: the route table's action for it (by route key, resource
//! template or concrete path, per event kind), and the method, path, parameters and ARN
//! the decision and the response use.

use std::borrow::Cow;

use l42_cedar::{ActionRef, Engine};

use crate::event::{EventKind, MethodArn, RawEvent, Str};

/// The route a request maps to, and the facts Cedar sees.
pub(crate) struct Target<'e> {
    /// The route's action, when the table has the route.
    pub(crate) action: Option<&'e ActionRef>,
    /// The verb, upper case.
    pub(crate) method: Cow<'e, str>,
    /// The concrete path.
    pub(crate) path: Cow<'e, str>,
    /// The path parameters Cedar sees.
    pub(crate) path_parameters: PathParams<'e>,
    /// The ARN API Gateway evaluates the policy against.
    pub(crate) arn: &'e str,
    /// `…/{stage}/`, when the ARN parses.
    pub(crate) arn_prefix: Option<&'e str>,
}

/// A route's path parameters: the event's own (borrowed) or those the route table
/// resolved from the concrete path.
pub(crate) enum PathParams<'e> {
    Event(&'e [(Str<'e>, Str<'e>)]),
    Resolved(Vec<(String, String)>),
}

impl PathParams<'_> {
    /// The parameters as Cedar's request facts take them.
    pub(crate) fn params(&self) -> l42_cedar::Params<'_> {
        match self {
            PathParams::Event(pairs) => l42_cedar::Params::Borrowed(pairs),
            PathParams::Resolved(pairs) => l42_cedar::Params::Pairs(pairs),
        }
    }
}

/// Maps the event to a route, per event kind. (Every kind [`RawEvent::kind`] returns
/// carries its ARN; an ARN that does not parse leaves `arn_prefix` empty.)
pub(crate) fn target<'e>(
    engine: &'e Engine,
    event: &'e RawEvent<'e>,
    kind: EventKind,
) -> Target<'e> {
    let arn: &str = match kind {
        EventKind::HttpV2 => event.route_arn.as_deref(),
        _ => event.method_arn.as_deref(),
    }
    .unwrap_or("");
    let parsed = MethodArn::parse(arn);
    let arn_prefix = parsed.as_ref().map(|p| p.prefix);
    match kind {
        EventKind::RestToken => {
            let m = parsed
                .as_ref()
                .and_then(|p| engine.resolve(p.verb, &p.path));
            Target {
                action: m.as_ref().map(|m| m.action()),
                method: upper(parsed.as_ref().map_or("", |p| p.verb)),
                path: Cow::Owned(parsed.as_ref().map_or_else(String::new, |p| p.path.clone())),
                path_parameters: PathParams::Resolved(
                    m.map(|m| m.path_parameters().to_vec()).unwrap_or_default(),
                ),
                arn,
                arn_prefix,
            }
        }
        EventKind::RestRequest | EventKind::HttpV1 => {
            let method = upper(
                event
                    .http_method
                    .as_deref()
                    .or(parsed.as_ref().map(|p| p.verb))
                    .unwrap_or(""),
            );
            let path = match (event.path.as_deref(), &parsed) {
                (Some(p), _) => Cow::Borrowed(p),
                (None, Some(p)) => Cow::Owned(p.path.clone()),
                (None, None) => Cow::Borrowed("/"),
            };
            let by_key = event
                .request_context
                .route_key
                .as_deref()
                .filter(|k| is_http_route_key(k))
                .and_then(|k| engine.action_by_route_key(k));
            let by_template = event
                .resource
                .as_deref()
                .and_then(|r| engine.action_by_template(&method, r));
            let named = by_key.or(by_template);
            named_or_resolved(engine, named, event, method, path, arn, arn_prefix)
        }
        EventKind::HttpV2 => {
            let http = event.request_context.http.as_ref();
            let method = upper(
                http.and_then(|h| h.method.as_deref())
                    .or(parsed.as_ref().map(|p| p.verb))
                    .unwrap_or(""),
            );
            let path = Cow::Borrowed(
                event
                    .raw_path
                    .as_deref()
                    .or(http.and_then(|h| h.path.as_deref()))
                    .unwrap_or("/"),
            );
            let named = event
                .route_key
                .as_deref()
                .filter(|k| is_http_route_key(k))
                .and_then(|k| engine.action_by_route_key(k));
            named_or_resolved(engine, named, event, method, path, arn, arn_prefix)
        }
        EventKind::WebSocketConnect => Target {
            action: engine.action_by_route_key("$connect"),
            method: Cow::Borrowed("$connect"),
            path: Cow::Borrowed("$connect"),
            path_parameters: PathParams::Resolved(Vec::new()),
            arn,
            arn_prefix,
        },
    }
}

/// The route the event names (route key or template), with the event's path
/// parameters; else the concrete path resolved through the route table.
fn named_or_resolved<'e>(
    engine: &'e Engine,
    named: Option<&'e ActionRef>,
    event: &'e RawEvent<'e>,
    method: Cow<'e, str>,
    path: Cow<'e, str>,
    arn: &'e str,
    arn_prefix: Option<&'e str>,
) -> Target<'e> {
    let (action, path_parameters) = match named {
        Some(action) => (
            Some(action),
            PathParams::Event(event.path_parameters.0.as_slice()),
        ),
        None => match engine.resolve(&method, &path) {
            Some(m) => (
                Some(m.action()),
                PathParams::Resolved(m.path_parameters().to_vec()),
            ),
            None => (None, PathParams::Resolved(Vec::new())),
        },
    };
    Target {
        action,
        method,
        path,
        path_parameters,
        arn,
        arn_prefix,
    }
}

/// Whether an HTTP API route key names a route (`GET /orders/{id}`): `$default` names
/// none (the concrete path is resolved instead), and `$connect` is a WebSocket route key
/// that an HTTP event must never reach (only a connect event is decided as one).
fn is_http_route_key(key: &str) -> bool {
    key.contains(' ')
}

/// `verb` in upper case, borrowed when it already is (as API Gateway sends it).
fn upper(verb: &str) -> Cow<'_, str> {
    if verb.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(verb.to_ascii_uppercase())
    } else {
        Cow::Borrowed(verb)
    }
}

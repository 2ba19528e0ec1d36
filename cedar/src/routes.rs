//! The route table derived from the schema's action names.
//!
//! Actions are named as Amazon Verified Permissions names them:
//! `"<verb> <path template>"` with a lower-case verb (`get`, `post`, `put`,
//! `patch`, `delete`, `head`, `options`, `any`) and a template whose segments
//! are literals, `{name}` (one segment) or a final `{name+}` (one or more
//! segments); `"$connect"` is the WebSocket connect route.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// An HTTP verb as used in route action names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `get`
    Get,
    /// `post`
    Post,
    /// `put`
    Put,
    /// `patch`
    Patch,
    /// `delete`
    Delete,
    /// `head`
    Head,
    /// `options`
    Options,
    /// `any`: every method.
    Any,
}

impl Verb {
    /// The request methods, every verb but [`Verb::Any`]: what API Gateway puts in a
    /// request's ARN, for an `any` route too.
    pub const METHODS: [Verb; 7] = [
        Verb::Get,
        Verb::Post,
        Verb::Put,
        Verb::Patch,
        Verb::Delete,
        Verb::Head,
        Verb::Options,
    ];

    fn all() -> impl Iterator<Item = Verb> {
        Verb::METHODS.into_iter().chain([Verb::Any])
    }

    /// The lower-case form used in action names (`get`, `any`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Put => "put",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::Head => "head",
            Verb::Options => "options",
            Verb::Any => "any",
        }
    }

    /// The upper-case form used by API Gateway (`GET`, `ANY`).
    pub fn as_upper(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
            Verb::Head => "HEAD",
            Verb::Options => "OPTIONS",
            Verb::Any => "ANY",
        }
    }

    /// Parses a request method or route-key verb, case-insensitively.
    pub fn from_method(method: &str) -> Option<Verb> {
        Verb::all().find(|v| v.as_str().eq_ignore_ascii_case(method))
    }

    /// Parses the exact lower-case form used in action names.
    fn from_action_verb(verb: &str) -> Option<Verb> {
        Verb::all().find(|v| v.as_str() == verb)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of route an action is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKind {
    /// `"<verb> <template>"`.
    Http {
        /// The HTTP method the route matches (`Any`: every method).
        verb: Verb,
        /// The path template as written, e.g. `/orders/{id}`.
        template: String,
    },
    /// `"$connect"`.
    WebSocketConnect,
}

/// One segment of a route's path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text, matched exactly (`orders`).
    Literal(String),
    /// `{name}`: any one segment, named `name`.
    Param(String),
    /// `{name+}`: the rest of the path, one segment or more (only ever the last).
    Greedy(String),
}

/// A decidable action of a loaded [`Engine`](crate::Engine): one that applies to principal
/// `User` and resource `Application`.
///
/// Obtained from [`Engine::action`](crate::Engine::action), a [`Route`] or a [`RouteMatch`]; cheap
/// to clone. Only meaningful for the engine that produced it (another
/// engine denies it as an unknown action).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionRef {
    index: usize,
    name: Arc<str>,
}

impl ActionRef {
    /// The action at `index` of its engine's action list, named `name`.
    pub(crate) fn new(index: usize, name: &str) -> ActionRef {
        ActionRef {
            index,
            name: Arc::from(name),
        }
    }

    /// Its index in the engine's action list.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// The action name, e.g. `get /orders/{id}`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ActionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A route: an action whose name is route-shaped.
#[derive(Debug, Clone)]
pub struct Route {
    action: ActionRef,
    kind: RouteKind,
    segments: Vec<Segment>,
}

impl Route {
    /// The action for this route.
    pub fn action(&self) -> &ActionRef {
        &self.action
    }

    /// The kind of route, with verb and template for HTTP routes.
    pub fn kind(&self) -> &RouteKind {
        &self.kind
    }

    /// The verb (`None` for `$connect`).
    pub fn verb(&self) -> Option<Verb> {
        match &self.kind {
            RouteKind::Http { verb, .. } => Some(*verb),
            RouteKind::WebSocketConnect => None,
        }
    }

    /// The path template (`None` for `$connect`).
    pub fn template(&self) -> Option<&str> {
        match &self.kind {
            RouteKind::Http { template, .. } => Some(template),
            RouteKind::WebSocketConnect => None,
        }
    }

    /// The template's segments, in order (none for `/` and for `$connect`).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The names of the template's parameters (`{id}`, `{proxy+}`), in order.
    pub(crate) fn parameter_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Literal(_) => None,
            Segment::Param(name) | Segment::Greedy(name) => Some(name.as_str()),
        })
    }

    /// Extracts parameter values from the segments this route matched.
    fn params(&self, segs: &[&str]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Literal(_) => {}
                Segment::Param(name) => {
                    if let Some(v) = segs.get(i) {
                        out.push((name.clone(), (*v).to_owned()));
                    }
                }
                Segment::Greedy(name) => {
                    if let Some(rest) = segs.get(i..) {
                        out.push((name.clone(), rest.join("/")));
                    }
                }
            }
        }
        out
    }
}

/// The result of resolving a concrete request path.
#[derive(Debug, Clone)]
pub struct RouteMatch<'e> {
    route: &'e Route,
    path_parameters: Vec<(String, String)>,
}

impl<'e> RouteMatch<'e> {
    /// The matched route.
    pub fn route(&self) -> &'e Route {
        self.route
    }

    /// The matched route's action.
    pub fn action(&self) -> &'e ActionRef {
        &self.route.action
    }

    /// Path parameters, as `(name, value)` in template order; values are the
    /// raw segments (not percent-decoded); a greedy `{x+}` value is the rest
    /// of the path joined with `/`.
    pub fn path_parameters(&self) -> &[(String, String)] {
        &self.path_parameters
    }
}

/// Is this action name route-shaped (`<word> /...`)? Returns (verb, path).
fn route_shape(name: &str) -> Option<(&str, &str)> {
    let (verb, path) = name.split_once(' ')?;
    (!verb.is_empty() && path.starts_with('/')).then_some((verb, path))
}

/// Parses a template path into segments, or says what is wrong.
fn parse_template(path: &str) -> Result<Vec<Segment>, String> {
    if path == "/" {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err("the path must start with '/'".into());
    };
    if rest.ends_with('/') {
        return Err("the path must not end with '/'".into());
    }
    let raw: Vec<&str> = rest.split('/').collect();
    let mut segments = Vec::with_capacity(raw.len());
    let mut names: Vec<&str> = Vec::new();
    for (i, seg) in raw.iter().enumerate() {
        if seg.is_empty() {
            return Err("the path has an empty segment ('//')".into());
        }
        if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(n) => (n, true),
                None => (inner, false),
            };
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
            if !valid {
                return Err(format!("invalid path parameter {seg}"));
            }
            if names.contains(&name) {
                return Err(format!("path parameter {{{name}}} appears twice"));
            }
            names.push(name);
            if greedy {
                if i + 1 != raw.len() {
                    return Err(format!("greedy parameter {seg} must be the last segment"));
                }
                segments.push(Segment::Greedy(name.to_owned()));
            } else {
                segments.push(Segment::Param(name.to_owned()));
            }
        } else if seg.contains(['{', '}']) {
            return Err(format!(
                "segment {seg} mixes text and a parameter; a parameter must be a whole segment"
            ));
        } else {
            segments.push(Segment::Literal((*seg).to_owned()));
        }
    }
    Ok(segments)
}

/// Classifies an action name: `Ok(None)` for a non-route action.
pub(crate) fn parse_route_name(name: &str) -> Result<Option<(RouteKind, Vec<Segment>)>, String> {
    if name == "$connect" {
        return Ok(Some((RouteKind::WebSocketConnect, Vec::new())));
    }
    let Some((verb_text, path)) = route_shape(name) else {
        return Ok(None);
    };
    let Some(verb) = Verb::from_action_verb(verb_text) else {
        let suggestion = Verb::from_method(verb_text).map_or_else(
            || {
                format!(
                    "unknown route verb {verb_text:?}; use one of get, post, put, patch, delete, head, options, any (e.g. \"get {path}\")"
                )
            },
            |v| {
                format!(
                    "route verbs must be lower-case as Amazon Verified Permissions writes them: name the action \"{} {path}\"",
                    v.as_str()
                )
            },
        );
        return Err(suggestion);
    };
    let segments = parse_template(path)?;
    Ok(Some((
        RouteKind::Http {
            verb,
            template: path.to_owned(),
        },
        segments,
    )))
}

/// Per-verb route indices.
type VerbSlots = [Option<usize>; 8];

/// The exact verb's route, else the `any` route.
fn pick(slots: &VerbSlots, verb: Verb) -> Option<usize> {
    slots[verb.index()].or(slots[Verb::Any.index()])
}

#[derive(Debug, Default)]
struct Node {
    literals: HashMap<String, Node>,
    param: Option<Box<Node>>,
    /// Routes ending here.
    end: VerbSlots,
    /// Routes whose greedy segment starts here.
    greedy: VerbSlots,
}

impl Node {
    fn find(&self, segs: &[&str], i: usize, verb: Verb) -> Option<usize> {
        let Some(seg) = segs.get(i) else {
            return pick(&self.end, verb);
        };
        if let Some(found) = self
            .literals
            .get(*seg)
            .and_then(|child| child.find(segs, i + 1, verb))
        {
            return Some(found);
        }
        if let Some(found) = self
            .param
            .as_ref()
            .and_then(|child| child.find(segs, i + 1, verb))
        {
            return Some(found);
        }
        pick(&self.greedy, verb)
    }
}

/// All routes, indexed for the three kinds of lookup.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    routes: Vec<Route>,
    root: Node,
    by_template: HashMap<String, VerbSlots>,
    connect: Option<usize>,
}

/// Shape key for conflict detection: parameter names do not matter.
fn shape_key(segments: &[Segment]) -> String {
    let mut key = String::new();
    for s in segments {
        key.push('/');
        match s {
            Segment::Literal(l) => key.push_str(l),
            Segment::Param(_) => key.push_str("{}"),
            Segment::Greedy(_) => key.push_str("{+}"),
        }
    }
    key
}

impl RouteTable {
    /// Adds a route; errors if another route has the same verb and path shape.
    pub(crate) fn insert(
        &mut self,
        action: ActionRef,
        kind: RouteKind,
        segments: Vec<Segment>,
        shapes: &mut HashMap<(Option<Verb>, String), String>,
    ) -> Result<(), String> {
        let idx = self.routes.len();
        let verb = match &kind {
            RouteKind::Http { verb, .. } => Some(*verb),
            RouteKind::WebSocketConnect => None,
        };
        let key = (verb, shape_key(&segments));
        if let Some(other) = shapes.get(&key) {
            return Err(format!(
                "conflicts with action \"{other}\" (same verb and path shape)"
            ));
        }
        shapes.insert(key, action.name().to_owned());

        match &kind {
            RouteKind::WebSocketConnect => self.connect = Some(idx),
            RouteKind::Http { verb, template } => {
                let mut node = &mut self.root;
                for seg in &segments {
                    node = match seg {
                        Segment::Literal(l) => node.literals.entry(l.clone()).or_default(),
                        Segment::Param(_) => node.param.get_or_insert_with(Box::default),
                        Segment::Greedy(_) => break,
                    };
                }
                let slots = if matches!(segments.last(), Some(Segment::Greedy(_))) {
                    &mut node.greedy
                } else {
                    &mut node.end
                };
                slots[verb.index()] = Some(idx);
                self.by_template.entry(template.clone()).or_default()[verb.index()] = Some(idx);
            }
        }
        self.routes.push(Route {
            action,
            kind,
            segments,
        });
        Ok(())
    }

    pub(crate) fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Resolves a concrete method and path (REST TOKEN events).
    pub(crate) fn resolve(&self, method: &str, path: &str) -> Option<RouteMatch<'_>> {
        let verb = Verb::from_method(method)?;
        let path = if path.is_empty() { "/" } else { path };
        let path = match path.strip_suffix('/') {
            Some(stripped) if !stripped.is_empty() => stripped,
            _ => path,
        };
        let rest = path.strip_prefix('/')?;
        let segs: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        if segs.iter().any(|s| s.is_empty()) {
            return None;
        }
        let idx = self.root.find(&segs, 0, verb)?;
        let route = self.routes.get(idx)?;
        Some(RouteMatch {
            route,
            path_parameters: route.params(&segs),
        })
    }

    /// Looks up a verb and exact template, falling back to `any`.
    pub(crate) fn by_template(&self, method: &str, template: &str) -> Option<&Route> {
        let verb = Verb::from_method(method)?;
        let slots = self.by_template.get(template)?;
        pick(slots, verb).and_then(|i| self.routes.get(i))
    }

    /// Looks up an HTTP API / WebSocket route key.
    pub(crate) fn by_route_key(&self, route_key: &str) -> Option<&Route> {
        if route_key == "$connect" {
            return self.connect.and_then(|i| self.routes.get(i));
        }
        let (method, template) = route_key.split_once(' ')?;
        self.by_template(method, template)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn template_parsing() {
        assert_eq!(parse_template("/").unwrap(), vec![]);
        assert_eq!(
            parse_template("/a/{b}/{c+}").unwrap(),
            vec![
                Segment::Literal("a".into()),
                Segment::Param("b".into()),
                Segment::Greedy("c".into())
            ]
        );
        for bad in [
            "/a/", "//a", "/a//b", "/{}", "/{a+}/b", "/x{a}", "/{a}/{a}", "/{a b}", "a",
        ] {
            assert!(parse_template(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn route_names() {
        assert!(parse_route_name("readActions").unwrap().is_none());
        assert!(parse_route_name("read orders").unwrap().is_none());
        assert!(parse_route_name("$disconnect").unwrap().is_none());
        let err = parse_route_name("GET /orders").unwrap_err();
        assert!(err.contains("\"get /orders\""), "{err}");
        let err = parse_route_name("fetch /orders").unwrap_err();
        assert!(err.contains("unknown route verb"), "{err}");
        assert!(matches!(
            parse_route_name("$connect").unwrap(),
            Some((RouteKind::WebSocketConnect, _))
        ));
    }
}

//! The resource list of a cache-safe REST policy.
//!
//! API Gateway caches a REST authorizer's policy per identity and applies it to every
//! method of the API. So the policy must name every route the principal may call, and no
//! route it may not. A route template becomes an ARN pattern with `*` for each parameter,
//! but IAM's `*` also matches `/`, so `GET/orders/*` would also match
//! `GET/orders/1/secret`. A pattern is therefore only listed when no denied route of the
//! table has an instance it matches (checked by intersecting the two as small automata).
//! An `ANY` route's `*/…` pattern is then replaced by one pattern per method, each listed
//! when it reaches no denied route. Otherwise only the requested ARN stands for the route,
//! which can under-grant while the result is cached but never over-grants.

use std::sync::atomic::{AtomicU8, Ordering};

use l42_cedar::{Engine, Principal, RequestFacts, Route, Segment, Verb};

use crate::target::Target;

/// The longest resource list put in a cache-safe policy, in bytes (the whole response
/// must stay under API Gateway's 8 KB).
const MAX_RESOURCE_BYTES: usize = 6 * 1024;

/// One element of a pattern or template, over characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// Exactly one character (any, or any but `/`).
    One {
        slash: bool,
    },
    /// Zero or more characters (any, or any but `/`).
    Star {
        slash: bool,
    },
}

fn accepts(t: Tok, c: char) -> bool {
    match t {
        Tok::Lit(l) => l == c,
        Tok::One { slash } | Tok::Star { slash } => slash || c != '/',
    }
}

/// An IAM glob (`*` any run of characters, `?` one character).
fn glob_tokens(p: &str) -> Vec<Tok> {
    p.chars()
        .map(|c| match c {
            '*' => Tok::Star { slash: true },
            '?' => Tok::One { slash: true },
            c => Tok::Lit(c),
        })
        .collect()
}

/// The concrete `VERB/path` strings a route stands for: `{x}` is one or more characters
/// but `/`, `{x+}` one or more of any, an `ANY` verb one or more characters but `/`.
fn route_tokens(verb: Verb, segments: &[Segment]) -> Vec<Tok> {
    let mut out = Vec::new();
    if verb == Verb::Any {
        out.push(Tok::One { slash: false });
        out.push(Tok::Star { slash: false });
    } else {
        out.extend(verb.as_upper().chars().map(Tok::Lit));
    }
    if segments.is_empty() {
        out.push(Tok::Lit('/'));
    }
    for segment in segments {
        out.push(Tok::Lit('/'));
        match segment {
            Segment::Literal(text) => out.extend(text.chars().map(Tok::Lit)),
            Segment::Param(_) => {
                out.push(Tok::One { slash: false });
                out.push(Tok::Star { slash: false });
            }
            Segment::Greedy(_) => {
                out.push(Tok::One { slash: true });
                out.push(Tok::Star { slash: true });
            }
        }
    }
    out
}

/// The ARN pattern (after the `…/{stage}/` prefix) for a route: `*` for an `ANY` verb and
/// for each parameter.
fn route_pattern(verb: Verb, segments: &[Segment]) -> String {
    let mut s = if verb == Verb::Any {
        "*".to_string()
    } else {
        verb.as_upper().to_string()
    };
    if segments.is_empty() {
        s.push('/');
    }
    for segment in segments {
        s.push('/');
        match segment {
            Segment::Literal(text) => s.push_str(text),
            Segment::Param(_) | Segment::Greedy(_) => s.push('*'),
        }
    }
    s
}

/// Positions reachable from `states` without reading a character (skipping stars).
fn closure(toks: &[Tok], states: &mut Vec<usize>) {
    let mut i = 0;
    while i < states.len() {
        let s = states[i];
        if let Some(Tok::Star { .. }) = toks.get(s)
            && !states.contains(&(s + 1))
        {
            states.push(s + 1);
        }
        i += 1;
    }
}

fn step(toks: &[Tok], states: &[usize], c: char) -> Vec<usize> {
    let mut next = Vec::new();
    for &s in states {
        match toks.get(s) {
            Some(t @ Tok::Star { .. }) if accepts(*t, c) && !next.contains(&s) => next.push(s),
            Some(t)
                if accepts(*t, c) && !matches!(t, Tok::Star { .. }) && !next.contains(&(s + 1)) =>
            {
                next.push(s + 1)
            }
            _ => {}
        }
    }
    closure(toks, &mut next);
    next
}

/// Whether the literal characters the two lists start with, or end with, differ: then no
/// string is matched by both (every string either matches starts, or ends, with them).
fn literal_ends_differ(a: &[Tok], b: &[Tok]) -> bool {
    fn differ<'t>(pairs: impl Iterator<Item = (&'t Tok, &'t Tok)>) -> bool {
        for pair in pairs {
            match pair {
                (Tok::Lit(x), Tok::Lit(y)) if x != y => return true,
                (Tok::Lit(_), Tok::Lit(_)) => {}
                _ => return false,
            }
        }
        false
    }
    differ(a.iter().zip(b)) || differ(a.iter().rev().zip(b.iter().rev()))
}

/// Whether some string is matched by both token lists (breadth-first over the product of
/// the two automata, over the characters that appear in either plus one stand-in for all
/// others).
fn intersects(a: &[Tok], b: &[Tok]) -> bool {
    // The usual case, a route beside others with other names, costs no search.
    if literal_ends_differ(a, b) {
        return false;
    }
    intersects_by_search(a, b)
}

fn intersects_by_search(a: &[Tok], b: &[Tok]) -> bool {
    let mut alphabet: Vec<char> = a
        .iter()
        .chain(b)
        .filter_map(|t| if let Tok::Lit(c) = t { Some(*c) } else { None })
        .collect();
    alphabet.push('/');
    alphabet.push('\u{1}'); // any character that appears in neither
    alphabet.sort_unstable();
    alphabet.dedup();

    let mut sa = vec![0];
    closure(a, &mut sa);
    let mut sb = vec![0];
    closure(b, &mut sb);
    let mut seen: std::collections::HashSet<(Vec<usize>, Vec<usize>)> = Default::default();
    let mut queue = std::collections::VecDeque::new();
    sa.sort_unstable();
    sb.sort_unstable();
    queue.push_back((sa, sb));
    while let Some((sa, sb)) = queue.pop_front() {
        if sa.contains(&a.len()) && sb.contains(&b.len()) {
            return true;
        }
        if !seen.insert((sa.clone(), sb.clone())) {
            continue;
        }
        for &c in &alphabet {
            let mut na = step(a, &sa, c);
            let mut nb = step(b, &sb, c);
            if na.is_empty() || nb.is_empty() {
                continue;
            }
            na.sort_unstable();
            nb.sort_unstable();
            queue.push_back((na, nb));
        }
    }
    false
}

/// The ARN patterns of every HTTP route of a table and the automata the overreach check
/// intersects, computed once at start-up so that listing a caller's routes builds
/// nothing per pair of routes.
#[derive(Debug, Default)]
pub struct RouteShapes {
    /// By route index (the order of `Engine::routes`); `None` for `$connect`.
    shapes: Vec<Option<Shape>>,
    /// Every pattern of every route, indexed by [`Shape::pattern`] and [`Shape::by_verb`].
    patterns: Vec<Pattern>,
    /// The answers of [`pattern_overreaches`](Self::pattern_overreaches) for tables of up
    /// to [`MEMO_ROUTES`] routes, by `pattern * routes + denied`: 0 not known yet, 1 no,
    /// 2 yes. A pair's answer never changes, so it is worked out once, when first asked.
    memo: Vec<AtomicU8>,
}

/// The largest table whose pairs are memoized (a byte per pair of a pattern and a route:
/// at most 8 MiB, when every route is an `ANY` one).
const MEMO_ROUTES: usize = 1024;

#[derive(Debug)]
struct Shape {
    /// The route's ARN pattern (`*` for an `ANY` verb), an index into
    /// [`RouteShapes::patterns`].
    pattern: usize,
    /// For an `ANY` route, one pattern per concrete method, listed instead when the `*`
    /// one reaches a denied route; empty otherwise.
    by_verb: std::ops::Range<usize>,
    /// The concrete `VERB/path` strings the route stands for.
    instances: Vec<Tok>,
}

#[derive(Debug)]
struct Pattern {
    /// The ARN pattern after the `…/{stage}/` prefix.
    text: String,
    /// The pattern as IAM reads it.
    glob: Vec<Tok>,
}

impl Pattern {
    fn new(verb: Verb, segments: &[Segment]) -> Pattern {
        let text = route_pattern(verb, segments);
        Pattern {
            glob: glob_tokens(&text),
            text,
        }
    }
}

impl RouteShapes {
    /// The shapes of `routes` (those of [`Engine::routes`], in that order).
    pub fn new<'r>(routes: impl IntoIterator<Item = &'r Route>) -> RouteShapes {
        let mut patterns = Vec::new();
        let shapes = routes
            .into_iter()
            .map(|route| {
                route.verb().map(|verb| {
                    let segments = route.segments();
                    patterns.push(Pattern::new(verb, segments));
                    let pattern = patterns.len() - 1;
                    let start = patterns.len();
                    if verb == Verb::Any {
                        // API Gateway puts the request's own method in the ARN.
                        patterns.extend(Verb::METHODS.map(|v| Pattern::new(v, segments)));
                    }
                    Shape {
                        pattern,
                        by_verb: start..patterns.len(),
                        instances: route_tokens(verb, segments),
                    }
                })
            })
            .collect::<Vec<_>>();
        let memo = if shapes.len() <= MEMO_ROUTES {
            (0..patterns.len() * shapes.len())
                .map(|_| AtomicU8::new(0))
                .collect()
        } else {
            Vec::new()
        };
        RouteShapes {
            shapes,
            patterns,
            memo,
        }
    }

    /// How many routes the table has.
    pub fn route_count(&self) -> usize {
        self.shapes.len()
    }

    /// The ARN pattern of route `index` (after the stage prefix).
    pub fn pattern(&self, index: usize) -> Option<&str> {
        self.shape(index)
            .and_then(|s| self.patterns.get(s.pattern))
            .map(|p| p.text.as_str())
    }

    /// Whether the pattern of route `allowed` could match a concrete request to route
    /// `denied`. `$connect` (no shape) is never matched by an HTTP pattern; an `allowed`
    /// route without a shape counts as overreaching (it has no pattern to list).
    pub fn overreaches(&self, allowed: usize, denied: usize) -> bool {
        match self.shape(allowed) {
            Some(a) => self.pattern_overreaches(a.pattern, denied),
            None => true,
        }
    }

    /// Whether pattern `pattern` could match a concrete request to route `denied`.
    fn pattern_overreaches(&self, pattern: usize, denied: usize) -> bool {
        let (Some(p), Some(d)) = (self.patterns.get(pattern), self.shape(denied)) else {
            // `$connect` (or no such route) is never matched by an HTTP pattern.
            return false;
        };
        let slot = self.memo.get(pattern * self.shapes.len() + denied);
        match slot.map(|s| s.load(Ordering::Relaxed)) {
            Some(1) => return false,
            Some(2) => return true,
            _ => {}
        }
        let answer = intersects(&p.glob, &d.instances);
        if let Some(slot) = slot {
            slot.store(if answer { 2 } else { 1 }, Ordering::Relaxed);
        }
        answer
    }

    /// The patterns listed for allowed route `route` when the routes not `is_allowed` are
    /// denied: its own pattern if it reaches none of them, else (for an `ANY` route) each
    /// of its per-method patterns that reaches none.
    fn listable(&self, route: usize, is_allowed: &[bool]) -> Vec<&str> {
        let Some(shape) = self.shape(route) else {
            return Vec::new();
        };
        let safe = |pattern: usize| {
            !is_allowed
                .iter()
                .enumerate()
                .any(|(denied, &ok)| !ok && self.pattern_overreaches(pattern, denied))
        };
        let text = |pattern: usize| self.patterns.get(pattern).map(|p| p.text.as_str());
        if safe(shape.pattern) {
            return text(shape.pattern).into_iter().collect();
        }
        shape
            .by_verb
            .clone()
            .filter(|&p| safe(p))
            .filter_map(text)
            .collect()
    }

    /// Every route Cedar allows this principal whatever the request (see
    /// [`Engine::allowed_routes`]), as ARN patterns under the requested ARN's
    /// `…/{stage}/` that cannot reach a route of the table it is denied, other than the
    /// requested ARN itself. Empty when they do not fit in one response, or when the
    /// requested ARN does not parse. (The requested ARN's own wildcards are refused by
    /// [`Authorizer::handle`](crate::Authorizer::handle) before any response names it.)
    pub(crate) fn allowed_patterns(
        &self,
        engine: &Engine,
        target: &Target<'_>,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Vec<String> {
        let (arn, Some(prefix)) = (target.arn, target.arn_prefix) else {
            return Vec::new();
        };
        let allowed = engine.allowed_route_indices(principal, facts);
        let mut is_allowed = vec![false; self.route_count()];
        for &i in &allowed {
            if let Some(slot) = is_allowed.get_mut(i) {
                *slot = true;
            }
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut bytes = arn.len();
        for &route in &allowed {
            for pattern in self.listable(route, &is_allowed) {
                let listed = format!("{prefix}{pattern}");
                if listed == arn || patterns.contains(&listed) {
                    continue;
                }
                bytes += listed.len() + 3;
                if bytes > MAX_RESOURCE_BYTES {
                    tracing::warn!(
                        "the allowed routes do not fit in one policy; listing only the requested ARN"
                    );
                    return Vec::new();
                }
                patterns.push(listed);
            }
        }
        patterns
    }

    fn shape(&self, index: usize) -> Option<&Shape> {
        self.shapes.get(index).and_then(Option::as_ref)
    }
}

/// Whether a concrete ARN tail is safe to list verbatim (no glob characters in it).
pub fn is_literal(arn_tail: &str) -> bool {
    !arn_tail.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// A policy store whose actions are `routes` (`"<verb> <template>"` or `$connect`).
    fn engine(routes: &[&str]) -> Engine {
        let mut schema = String::from(
            "namespace T {\n entity UserGroup;\n entity User in [UserGroup];\n entity Application;\n",
        );
        for name in routes {
            schema.push_str(&format!(
                " action \"{name}\" appliesTo {{ principal: [User], resource: [Application] }};\n"
            ));
        }
        schema.push_str("}\n");
        let policies = [("p.cedar", "permit(principal, action, resource);")];
        Engine::from_sources(&schema, &policies, None).unwrap()
    }

    fn route<'e>(engine: &'e Engine, name: &str) -> &'e Route {
        engine.routes().find(|r| r.action().name() == name).unwrap()
    }

    fn tokens(route: &Route) -> (Vec<Tok>, Vec<Tok>) {
        let verb = route.verb().unwrap();
        let pattern = glob_tokens(&route_pattern(verb, route.segments()));
        (pattern, route_tokens(verb, route.segments()))
    }

    /// Whether the ARN pattern of route `allowed` could match a concrete request to route
    /// `denied`, by the pairwise check.
    fn pattern_overreaches(engine: &Engine, allowed: &str, denied: &str) -> bool {
        let (pattern, _) = tokens(route(engine, allowed));
        let (_, instances) = tokens(route(engine, denied));
        intersects(&pattern, &instances)
    }

    #[test]
    fn patterns() {
        let e = engine(&["get /orders/{id}", "any /admin/{proxy+}", "get /"]);
        let pattern = |name| {
            let r = route(&e, name);
            route_pattern(r.verb().unwrap(), r.segments())
        };
        assert_eq!(pattern("get /orders/{id}"), "GET/orders/*");
        assert_eq!(pattern("any /admin/{proxy+}"), "*/admin/*");
        assert_eq!(pattern("get /"), "GET/");
    }

    #[test]
    fn the_literal_shortcut_agrees_with_the_search() {
        let names = [
            "get /",
            "get /orders",
            "post /orders",
            "get /orders/{id}",
            "get /orders/{id}/secret",
            "get /orders/export",
            "any /orders/{id}",
            "any /admin/{proxy+}",
            "delete /admin/users",
            "get /r1",
            "get /r12",
            "get /{a}/x",
            "get /{a}/y",
            "put /a/{b}/c/{d+}",
        ];
        let e = engine(&names);
        for a in names {
            for d in names {
                let (pattern, _) = tokens(route(&e, a));
                let (_, denied) = tokens(route(&e, d));
                assert_eq!(
                    intersects(&pattern, &denied),
                    intersects_by_search(&pattern, &denied),
                    "{a} / {d}"
                );
            }
        }
    }

    #[test]
    fn route_shapes_agree_with_the_pairwise_check() {
        let e = engine(&[
            "get /orders/{id}",
            "get /orders/{id}/secret",
            "any /admin/{proxy+}",
            "delete /admin/users",
            "post /orders",
            "$connect",
        ]);
        let routes: Vec<&Route> = e.routes().collect();
        let shapes = RouteShapes::new(routes.iter().copied());
        for (i, a) in routes.iter().enumerate() {
            for (j, d) in routes.iter().enumerate() {
                let expected = match (a.verb(), d.verb()) {
                    (Some(_), Some(_)) => {
                        pattern_overreaches(&e, a.action().name(), d.action().name())
                    }
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                assert_eq!(shapes.overreaches(i, j), expected, "{a:?} / {d:?}");
            }
            let pattern = a.verb().map(|v| route_pattern(v, a.segments()));
            assert_eq!(shapes.pattern(i), pattern.as_deref());
        }
        let http = routes.iter().position(|r| r.verb().is_some()).unwrap();
        assert!(!shapes.overreaches(http, 99));
        assert!(shapes.overreaches(99, http));
        // Memoized answers are the same answers.
        for i in 0..routes.len() {
            for j in 0..routes.len() {
                let first = shapes.overreaches(i, j);
                assert_eq!(shapes.overreaches(i, j), first);
            }
        }
        assert_eq!(shapes.pattern(99), None);
    }

    /// An `ANY` route whose `*` method reaches a denied route elsewhere in the table
    /// (`*/admin/*` matches `GET/tenants/admin/orders`) is listed per method instead, each
    /// method's pattern only where it reaches no denied route.
    #[test]
    fn an_any_route_falls_back_to_one_pattern_per_method() {
        let e = engine(&[
            "any /admin/{proxy+}",
            "get /tenants/{tenantId}/orders",
            "delete /admin/users",
            "get /me",
        ]);
        let routes: Vec<&Route> = e.routes().collect();
        let shapes = RouteShapes::new(routes.iter().copied());
        let index = |name: &str| {
            routes
                .iter()
                .position(|r| r.action().name() == name)
                .unwrap()
        };
        let listed = |allowed: &[&str]| {
            let mut is_allowed = vec![false; routes.len()];
            for name in allowed {
                is_allowed[index(name)] = true;
            }
            shapes.listable(index("any /admin/{proxy+}"), &is_allowed)
        };
        let all = [
            "any /admin/{proxy+}",
            "get /tenants/{tenantId}/orders",
            "delete /admin/users",
            "get /me",
        ];
        assert_eq!(listed(&all), ["*/admin/*"]);
        assert_eq!(
            listed(&["any /admin/{proxy+}", "delete /admin/users", "get /me"]),
            [
                "GET/admin/*",
                "POST/admin/*",
                "PUT/admin/*",
                "PATCH/admin/*",
                "DELETE/admin/*",
                "HEAD/admin/*",
                "OPTIONS/admin/*"
            ]
        );
        // A denied DELETE /admin/users takes out the DELETE pattern alone.
        assert_eq!(
            listed(&["any /admin/{proxy+}", "get /me"]),
            [
                "GET/admin/*",
                "POST/admin/*",
                "PUT/admin/*",
                "PATCH/admin/*",
                "HEAD/admin/*",
                "OPTIONS/admin/*"
            ]
        );
        // A route that is not ANY has no fallback.
        let mut is_allowed = vec![true; routes.len()];
        is_allowed[index("get /tenants/{tenantId}/orders")] = false;
        assert!(
            shapes
                .listable(index("get /tenants/{tenantId}/orders"), &is_allowed)
                .len()
                <= 1
        );
        // Every per-method pattern is checked as the `*` one is.
        for p in shapes.patterns.iter() {
            let deleted = intersects(&p.glob, &tokens(route(&e, "delete /admin/users")).1);
            assert_eq!(
                deleted,
                p.text == "*/admin/*" || p.text.starts_with("DELETE/"),
                "{}",
                p.text
            );
        }
    }

    #[test]
    fn a_param_pattern_overreaches_into_deeper_routes() {
        let e = engine(&[
            "get /orders/{id}",
            "get /orders/{id}/secret",
            "any /orders/{id}/secret",
            "post /orders/{id}/secret",
            "get /users/{id}",
            "get /orders",
            "get /orders/export",
            "any /orders",
            "delete /orders",
        ]);
        let over = |a, d| pattern_overreaches(&e, a, d);
        assert!(over("get /orders/{id}", "get /orders/{id}/secret"));
        assert!(over("get /orders/{id}", "any /orders/{id}/secret"));
        assert!(!over("get /orders/{id}", "post /orders/{id}/secret"));
        assert!(!over("get /orders/{id}", "get /users/{id}"));
        assert!(!over("get /orders/{id}", "get /orders"));
        // A literal sibling is matched by the pattern.
        assert!(over("get /orders/{id}", "get /orders/export"));
        // Any verb reaches every verb.
        assert!(over("any /orders", "delete /orders"));
        assert!(!over("get /orders", "delete /orders"));
    }
}

//! The resource list of a cache-safe REST policy.
//!
//! API Gateway caches a REST authorizer's policy per identity and applies it to every
//! method of the API. So the policy must name every route the principal may call, and no
//! route it may not. A route template becomes an ARN pattern with `*` for each parameter,
//! but IAM's `*` also matches `/`, so `GET/orders/*` would also match
//! `GET/orders/1/secret`. A pattern is therefore only listed when no denied route of the
//! table has an instance it matches (checked by intersecting the two as small automata);
//! otherwise only the requested ARN stands for it, which can under-grant while the result
//! is cached but never over-grants.

use std::sync::atomic::{AtomicU8, Ordering};

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
fn route_tokens(verb: &str, template: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    if verb.eq_ignore_ascii_case("any") {
        out.push(Tok::One { slash: false });
        out.push(Tok::Star { slash: false });
    } else {
        out.extend(verb.to_ascii_uppercase().chars().map(Tok::Lit));
    }
    for (i, seg) in template.trim_start_matches('/').split('/').enumerate() {
        out.push(Tok::Lit('/'));
        let _ = i;
        if seg.starts_with('{') && seg.ends_with("+}") {
            out.push(Tok::One { slash: true });
            out.push(Tok::Star { slash: true });
        } else if seg.starts_with('{') && seg.ends_with('}') {
            out.push(Tok::One { slash: false });
            out.push(Tok::Star { slash: false });
        } else {
            out.extend(seg.chars().map(Tok::Lit));
        }
    }
    out
}

/// The ARN pattern (after the `…/{stage}/` prefix) for a route.
pub fn route_pattern(verb: &str, template: &str) -> String {
    let mut s = if verb.eq_ignore_ascii_case("any") {
        "*".to_string()
    } else {
        verb.to_ascii_uppercase()
    };
    for seg in template.trim_start_matches('/').split('/') {
        s.push('/');
        if seg.starts_with('{') && seg.ends_with('}') {
            s.push('*');
        } else {
            s.push_str(seg);
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

/// Whether the ARN pattern of the allowed route `(verb, template)` could match a concrete
/// request to the denied route `(dverb, dtemplate)`.
pub fn pattern_overreaches(verb: &str, template: &str, dverb: &str, dtemplate: &str) -> bool {
    let pattern = glob_tokens(&route_pattern(verb, template));
    let denied = route_tokens(dverb, dtemplate);
    intersects(&pattern, &denied)
}

/// The ARN pattern of every HTTP route of a table and the two automata the overreach
/// check intersects, computed once at start-up so that listing a caller's routes builds
/// nothing per pair of routes.
#[derive(Debug, Default)]
pub struct RouteShapes {
    /// By route index (the order of `Engine::routes`); `None` for `$connect`.
    shapes: Vec<Option<Shape>>,
    /// The answers of [`overreaches`](Self::overreaches) for tables of up to
    /// [`MEMO_ROUTES`] routes, by `allowed * n + denied`: 0 not known yet, 1 no, 2 yes.
    /// A pair's answer never changes, so it is worked out once, when first asked.
    memo: Vec<AtomicU8>,
}

/// The largest table whose pairs are memoized (a byte per pair: 1 MiB).
const MEMO_ROUTES: usize = 1024;

#[derive(Debug)]
struct Shape {
    /// The ARN pattern after the `…/{stage}/` prefix.
    pattern: String,
    /// The pattern as IAM reads it.
    glob: Vec<Tok>,
    /// The concrete `VERB/path` strings the route stands for.
    instances: Vec<Tok>,
}

impl RouteShapes {
    /// The shapes of `routes` (`(verb, template)` per route, `None` for `$connect`), in
    /// route index order.
    pub fn new<'r>(routes: impl IntoIterator<Item = Option<(&'r str, &'r str)>>) -> RouteShapes {
        let shapes = routes
            .into_iter()
            .map(|route| {
                route.map(|(verb, template)| {
                    let pattern = route_pattern(verb, template);
                    Shape {
                        glob: glob_tokens(&pattern),
                        instances: route_tokens(verb, template),
                        pattern,
                    }
                })
            })
            .collect::<Vec<_>>();
        let n = shapes.len();
        let memo = if n <= MEMO_ROUTES {
            (0..n * n).map(|_| AtomicU8::new(0)).collect()
        } else {
            Vec::new()
        };
        RouteShapes { shapes, memo }
    }

    /// How many routes the table has.
    pub fn route_count(&self) -> usize {
        self.shapes.len()
    }

    /// The ARN pattern of route `index` (after the stage prefix).
    pub fn pattern(&self, index: usize) -> Option<&str> {
        self.shape(index).map(|s| s.pattern.as_str())
    }

    /// Whether the pattern of route `allowed` could match a concrete request to route
    /// `denied`. `$connect` (no shape) is never matched by an HTTP pattern; an `allowed`
    /// route without a shape counts as overreaching (it has no pattern to list).
    pub fn overreaches(&self, allowed: usize, denied: usize) -> bool {
        let (a, d) = match (self.shape(allowed), self.shape(denied)) {
            (Some(a), Some(d)) => (a, d),
            (Some(_), None) => return false,
            _ => return true,
        };
        let slot = self.memo.get(allowed * self.shapes.len() + denied);
        match slot.map(|s| s.load(Ordering::Relaxed)) {
            Some(1) => return false,
            Some(2) => return true,
            _ => {}
        }
        let answer = intersects(&a.glob, &d.instances);
        if let Some(slot) = slot {
            slot.store(if answer { 2 } else { 1 }, Ordering::Relaxed);
        }
        answer
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
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(route_pattern("get", "/orders/{id}"), "GET/orders/*");
        assert_eq!(route_pattern("any", "/admin/{proxy+}"), "*/admin/*");
        assert_eq!(route_pattern("get", "/"), "GET/");
    }

    #[test]
    fn the_literal_shortcut_agrees_with_the_search() {
        let routes = [
            ("get", "/"),
            ("get", "/orders"),
            ("post", "/orders"),
            ("get", "/orders/{id}"),
            ("get", "/orders/{id}/secret"),
            ("get", "/orders/export"),
            ("any", "/orders/{id}"),
            ("any", "/admin/{proxy+}"),
            ("delete", "/admin/users"),
            ("get", "/r1"),
            ("get", "/r12"),
            ("get", "/{a}/x"),
            ("get", "/{a}/y"),
            ("put", "/a/{b}/c/{d+}"),
        ];
        for (v, t) in routes {
            for (dv, dt) in routes {
                let pattern = glob_tokens(&route_pattern(v, t));
                let denied = route_tokens(dv, dt);
                assert_eq!(
                    intersects(&pattern, &denied),
                    intersects_by_search(&pattern, &denied),
                    "{v} {t} / {dv} {dt}"
                );
            }
        }
    }

    #[test]
    fn route_shapes_agree_with_the_pairwise_check() {
        let routes = [
            Some(("get", "/orders/{id}")),
            Some(("get", "/orders/{id}/secret")),
            Some(("any", "/admin/{proxy+}")),
            Some(("delete", "/admin/users")),
            Some(("post", "/orders")),
            None,
        ];
        let shapes = RouteShapes::new(routes);
        for (i, a) in routes.iter().enumerate() {
            for (j, d) in routes.iter().enumerate() {
                let expected = match (a, d) {
                    (Some((v, t)), Some((dv, dt))) => pattern_overreaches(v, t, dv, dt),
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                assert_eq!(shapes.overreaches(i, j), expected, "{a:?} / {d:?}");
            }
            let pattern = a.map(|(v, t)| route_pattern(v, t));
            assert_eq!(shapes.pattern(i), pattern.as_deref());
        }
        assert!(!shapes.overreaches(0, 99));
        assert!(shapes.overreaches(99, 0));
        // Memoized answers are the same answers.
        for i in 0..routes.len() {
            for j in 0..routes.len() {
                let first = shapes.overreaches(i, j);
                assert_eq!(shapes.overreaches(i, j), first);
            }
        }
        assert_eq!(shapes.pattern(99), None);
    }

    #[test]
    fn a_param_pattern_overreaches_into_deeper_routes() {
        assert!(pattern_overreaches(
            "get",
            "/orders/{id}",
            "get",
            "/orders/{id}/secret"
        ));
        assert!(pattern_overreaches(
            "get",
            "/orders/{id}",
            "any",
            "/orders/{id}/secret"
        ));
        assert!(!pattern_overreaches(
            "get",
            "/orders/{id}",
            "post",
            "/orders/{id}/secret"
        ));
        assert!(!pattern_overreaches(
            "get",
            "/orders/{id}",
            "get",
            "/users/{id}"
        ));
        assert!(!pattern_overreaches(
            "get",
            "/orders/{id}",
            "get",
            "/orders"
        ));
        // A literal sibling is matched by the pattern.
        assert!(pattern_overreaches(
            "get",
            "/orders/{id}",
            "get",
            "/orders/export"
        ));
        // Any verb reaches every verb.
        assert!(pattern_overreaches("any", "/orders", "delete", "/orders"));
        assert!(!pattern_overreaches("get", "/orders", "delete", "/orders"));
    }
}

//! Route table: precedence, lookups, and property tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{engine, load_error, schema_with};
use l42_cedar::{Engine, LoadError, RouteKind};
use proptest::prelude::*;

fn action(name: &str) -> String {
    format!("  action \"{name}\" appliesTo {{ principal: [User], resource: [Application] }};\n")
}

fn precedence_engine() -> Engine {
    let names = [
        "get /",
        "get /a/b",
        "get /a/{x}",
        "any /a/{x}",
        "get /a/{p+}",
        "post /{proxy+}",
        "get /c",
        "any /c",
        "delete /d/{id}/items/{item}",
        "$connect",
        "readActions",
    ];
    let actions: String = names.iter().map(|n| action(n)).collect();
    engine(
        &schema_with(&actions),
        "permit(principal, action, resource);",
    )
}

fn resolved(engine: &Engine, method: &str, path: &str) -> Option<(String, Vec<(String, String)>)> {
    engine
        .resolve(method, path)
        .map(|m| (m.action().name().to_owned(), m.path_parameters().to_vec()))
}

fn name(engine: &Engine, method: &str, path: &str) -> Option<String> {
    resolved(engine, method, path).map(|(n, _)| n)
}

fn p(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

#[test]
fn literal_beats_param_beats_greedy() {
    let e = precedence_engine();
    assert_eq!(
        resolved(&e, "GET", "/a/b"),
        Some(("get /a/b".into(), vec![]))
    );
    assert_eq!(
        resolved(&e, "GET", "/a/z"),
        Some(("get /a/{x}".into(), vec![p("x", "z")]))
    );
    assert_eq!(
        resolved(&e, "GET", "/a/z/w"),
        Some(("get /a/{p+}".into(), vec![p("p", "z/w")]))
    );
    assert_eq!(
        resolved(&e, "GET", "/a/b/c"),
        Some(("get /a/{p+}".into(), vec![p("p", "b/c")]))
    );
    assert_eq!(
        resolved(&e, "DELETE", "/d/1/items/2"),
        Some((
            "delete /d/{id}/items/{item}".into(),
            vec![p("id", "1"), p("item", "2")]
        ))
    );
}

#[test]
fn exact_verb_beats_any() {
    let e = precedence_engine();
    assert_eq!(name(&e, "GET", "/c").as_deref(), Some("get /c"));
    assert_eq!(name(&e, "PUT", "/c").as_deref(), Some("any /c"));
    assert_eq!(name(&e, "GET", "/a/z").as_deref(), Some("get /a/{x}"));
    assert_eq!(name(&e, "POST", "/a/z").as_deref(), Some("any /a/{x}"));
    // No POST on the literal /a/b: the next most specific match is used.
    assert_eq!(name(&e, "POST", "/a/b").as_deref(), Some("any /a/{x}"));
    // POST on a deeper path: only the root greedy route accepts POST.
    assert_eq!(
        resolved(&e, "POST", "/a/z/w"),
        Some(("post /{proxy+}".into(), vec![p("proxy", "a/z/w")]))
    );
    assert_eq!(name(&e, "DELETE", "/a/z/w"), None);
    // `ANY` as a request method matches only `any` routes.
    assert_eq!(name(&e, "ANY", "/c").as_deref(), Some("any /c"));
}

#[test]
fn methods_slashes_and_root() {
    let e = precedence_engine();
    assert_eq!(name(&e, "get", "/c").as_deref(), Some("get /c"));
    assert_eq!(name(&e, "gEt", "/c").as_deref(), Some("get /c"));
    assert_eq!(name(&e, "GET", "/c/").as_deref(), Some("get /c"));
    assert_eq!(name(&e, "GET", "/c//"), None);
    assert_eq!(name(&e, "GET", "/").as_deref(), Some("get /"));
    assert_eq!(name(&e, "GET", "").as_deref(), Some("get /"));
    assert_eq!(name(&e, "GET", "c"), None);
    assert_eq!(name(&e, "GET", "/a//b"), None);
    assert_eq!(name(&e, "TRACE", "/c"), None);
    assert_eq!(name(&e, "", "/c"), None);
    // Segments are case-sensitive and not percent-decoded.
    assert_eq!(name(&e, "GET", "/C"), None);
    assert_eq!(
        resolved(&e, "GET", "/a/x%2Fy"),
        Some(("get /a/{x}".into(), vec![p("x", "x%2Fy")]))
    );
}

#[test]
fn greedy_needs_a_segment() {
    let e = precedence_engine();
    assert_eq!(name(&e, "POST", "/"), None);
    assert_eq!(name(&e, "POST", "/x").as_deref(), Some("post /{proxy+}"));
    assert_eq!(name(&e, "GET", "/a"), None);
}

#[test]
fn route_key_and_template_lookups() {
    let e = precedence_engine();
    let key = |k: &str| e.action_by_route_key(k).map(|a| a.name().to_owned());
    assert_eq!(key("GET /a/{x}").as_deref(), Some("get /a/{x}"));
    assert_eq!(key("PATCH /a/{x}").as_deref(), Some("any /a/{x}"));
    assert_eq!(key("ANY /c").as_deref(), Some("any /c"));
    assert_eq!(key("GET /a/{p+}").as_deref(), Some("get /a/{p+}"));
    assert_eq!(key("$connect").as_deref(), Some("$connect"));
    assert_eq!(key("$default"), None);
    assert_eq!(key("GET /nope"), None);
    assert_eq!(key("GET /a/{y}"), None);
    assert_eq!(key("GET"), None);
    assert_eq!(key(""), None);
    assert_eq!(key("FETCH /c"), None);

    let tpl = |m: &str, t: &str| e.action_by_template(m, t).map(|a| a.name().to_owned());
    assert_eq!(tpl("GET", "/a/{x}").as_deref(), Some("get /a/{x}"));
    assert_eq!(tpl("delete", "/a/{x}").as_deref(), Some("any /a/{x}"));
    assert_eq!(tpl("GET", "/"), Some("get /".into()));
    assert_eq!(tpl("PUT", "/"), None);
    assert_eq!(tpl("GET", "/a/b/"), None);

    // Non-route actions are decidable but not routes.
    assert!(e.action("readActions").is_some());
    assert!(e.routes().all(|r| r.action().name() != "readActions"));
    assert!(e.action("get /nope").is_none());
}

#[test]
fn conflicting_shapes_are_rejected() {
    let actions = format!("{}{}", action("get /o/{id}"), action("get /o/{orderId}"));
    let err = load_error(
        &schema_with(&actions),
        "permit(principal, action, resource);",
    );
    assert!(matches!(err, LoadError::Route { .. }), "{err}");
    assert!(err.to_string().contains("conflicts"), "{err}");
    // Different verbs on one shape, and different names at one position, are fine.
    let actions = format!("{}{}", action("get /o/{id}"), action("put /o/{orderId}"));
    let e = engine(
        &schema_with(&actions),
        "permit(principal, action, resource);",
    );
    assert_eq!(
        resolved(&e, "PUT", "/o/9"),
        Some(("put /o/{orderId}".into(), vec![p("orderId", "9")]))
    );
}

fn example() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine::embedded().unwrap())
}

fn precedence() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(precedence_engine)
}

proptest! {
    #[test]
    fn resolution_never_panics(method in ".{0,10}", path in ".{0,64}") {
        let _ = example().resolve(&method, &path);
        let _ = precedence().resolve(&method, &path);
        let _ = example().action_by_route_key(&format!("{method} {path}"));
        let _ = precedence().action_by_template(&method, &path);
    }

    #[test]
    fn resolution_never_panics_on_path_like_input(
        method in prop::sample::select(vec!["GET", "post", "ANY", "Delete", "x"]),
        segs in prop::collection::vec("(a|b|c|d|items|orders|admin|me|[^/]{0,3})", 0..8),
        trailing in any::<bool>(),
    ) {
        let mut path = format!("/{}", segs.join("/"));
        if trailing { path.push('/'); }
        let _ = example().resolve(method, &path);
        let _ = precedence().resolve(method, &path);
    }

    #[test]
    fn filled_templates_resolve_to_their_action(
        route_index in 0usize..64,
        values in prop::collection::vec("[^/]{1,12}", 4),
        rest in prop::collection::vec("[^/]{1,8}", 1..4),
    ) {
        let engine = example();
        let routes: Vec<_> = engine
            .routes()
            .filter(|r| matches!(r.kind(), RouteKind::Http { .. }))
            .collect();
        let route = routes[route_index % routes.len()];
        let (verb, template) = (route.verb().unwrap(), route.template().unwrap());
        let mut expected_params = Vec::new();
        let mut path = String::new();
        let mut next = values.iter();
        for seg in template.trim_start_matches('/').split('/') {
            path.push('/');
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                let v = rest.join("/");
                expected_params.push((name.to_owned(), v.clone()));
                path.push_str(&v);
            } else if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let v = next.next().unwrap().clone();
                expected_params.push((name.to_owned(), v.clone()));
                path.push_str(&v);
            } else {
                path.push_str(seg);
            }
        }
        let method = if verb.as_str() == "any" { "PATCH" } else { verb.as_upper() };
        let m = engine.resolve(method, &path).unwrap();
        prop_assert_eq!(m.action(), route.action());
        prop_assert_eq!(m.path_parameters(), expected_params.as_slice());
    }
}

//! The shipped example schema and policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{assert_conforms, decide_path, strings};
use l42_cedar::{Engine, Principal, RequestFacts, RouteKind, Verb};

const ROUTES: [(&str, &str, &str); 8] = [
    ("GET", "/orders", "get /orders"),
    ("POST", "/orders", "post /orders"),
    ("GET", "/orders/42", "get /orders/{id}"),
    ("PUT", "/orders/42", "put /orders/{id}"),
    ("DELETE", "/orders/42", "delete /orders/{id}"),
    ("GET", "/me", "get /me"),
    ("GET", "/admin/users/7", "any /admin/{proxy+}"),
    ("POST", "/admin/reindex", "any /admin/{proxy+}"),
];

#[test]
fn loads_and_validates() {
    let engine = Engine::embedded().unwrap();
    assert_eq!(engine.namespace(), "App");
    assert_eq!(engine.application(), "App");
    assert_eq!(engine.policy_count(), 8);
    // The tenant policy reads the path: its route stays out of cached listings.
    assert!(engine.has_context_sensitive_policies());
    assert!(engine.has_client_type());
    assert_eq!(engine.principal_claims(), ["tenant"]);
    let names: Vec<&str> = engine.routes().map(|r| r.action().name()).collect();
    assert_eq!(
        names,
        [
            "$connect",
            "any /admin/{proxy+}",
            "delete /orders/{id}",
            "get /me",
            "get /orders",
            "get /orders/{id}",
            "get /tenants/{tenantId}/orders",
            "post /integrations/orders",
            "post /orders",
            "put /orders/{id}",
        ]
    );
}

#[test]
fn every_route_resolves() {
    let engine = Engine::embedded().unwrap();
    for (method, path, action) in ROUTES {
        let m = engine
            .resolve(method, path)
            .unwrap_or_else(|| panic!("{method} {path}"));
        assert_eq!(m.action().name(), action, "{method} {path}");
    }
    let m = engine.resolve("get", "/orders/42").unwrap();
    assert_eq!(m.path_parameters(), [("id".to_owned(), "42".to_owned())]);
    let m = engine.resolve("PATCH", "/admin/a/b/c").unwrap();
    assert_eq!(
        m.path_parameters(),
        [("proxy".to_owned(), "a/b/c".to_owned())]
    );
    for route in engine.routes() {
        match route.kind() {
            RouteKind::Http { verb, template } => {
                let by_template = engine
                    .action_by_template(verb.as_upper(), template)
                    .unwrap();
                assert_eq!(by_template, route.action());
                let key = format!("{} {template}", verb.as_upper());
                assert_eq!(engine.action_by_route_key(&key).unwrap(), route.action());
            }
            RouteKind::WebSocketConnect => {
                assert_eq!(
                    engine.action_by_route_key("$connect").unwrap(),
                    route.action()
                );
            }
        }
    }
    assert!(engine.resolve("GET", "/orders/42/items").is_none());
    assert!(engine.resolve("PATCH", "/orders/42").is_none());
    assert!(engine.resolve("GET", "/admin").is_none());
    assert!(engine.action_by_route_key("$default").is_none());
    assert!(engine.action_by_route_key("$disconnect").is_none());
}

/// (groups, method, path or "$connect", allowed) over the example policies,
/// with hosted-UI scopes.
#[test]
fn allow_deny_table() {
    let engine = Engine::embedded().unwrap();
    let all_allowed = [true; 9];
    // Columns: the eight ROUTES, then $connect.
    let table: [(&[&str], [bool; 9]); 7] = [
        (&["admin"], all_allowed),
        (
            &["editors"],
            [true, true, true, true, false, true, false, false, true],
        ),
        (
            &["users"],
            [true, true, true, false, false, true, false, false, true],
        ),
        (
            &["readonly"],
            [true, false, true, false, false, true, false, false, true],
        ),
        (
            &[],
            [false, false, false, false, false, true, false, false, true],
        ),
        // Group ids are exact: no case folding.
        (
            &["Admin", "EDITORS"],
            [false, false, false, false, false, true, false, false, true],
        ),
        (
            &["readonly", "editors"],
            [true, true, true, true, false, true, false, false, true],
        ),
    ];
    let scopes = strings(&["openid", "email", "profile"]);
    for (groups, expected) in table {
        let groups = strings(groups);
        let principal = Principal::new("sub-1", &groups);
        for (i, (method, path, _)) in ROUTES.iter().enumerate() {
            let d = decide_path(&engine, method, path, &principal, &scopes);
            assert_eq!(d.allowed, expected[i], "{groups:?} {method} {path}: {d:?}");
            assert!(d.errors.is_empty(), "{d:?}");
            if d.allowed {
                assert!(!d.reasons.is_empty());
            }
        }
        let connect = engine.action_by_route_key("$connect").unwrap();
        let d = engine.decide(connect, &principal, &RequestFacts::new("GET", "/"));
        assert_eq!(d.allowed, expected[8], "{groups:?} $connect: {d:?}");
    }
}

#[test]
fn reasons_name_policy_ids() {
    let engine = Engine::embedded().unwrap();
    let groups = strings(&["users"]);
    let d = decide_path(&engine, "GET", "/me", &Principal::new("s", &groups), &[]);
    assert!(d.allowed);
    let mut reasons = d.reasons.clone();
    reasons.sort();
    assert_eq!(reasons, ["authenticated-me", "users-orders"]);
}

#[test]
fn read_only_scope_forbids_writes_even_for_admins() {
    let engine = Engine::embedded().unwrap();
    let groups = strings(&["admin"]);
    let principal = Principal::new("s", &groups);
    let scopes = strings(&["orders/read-only"]);
    let d = decide_path(&engine, "POST", "/orders", &principal, &scopes);
    assert!(!d.allowed);
    assert_eq!(d.reasons, ["read-only-scope-no-writes"]);
    assert!(!decide_path(&engine, "DELETE", "/orders/1", &principal, &scopes).allowed);
    assert!(decide_path(&engine, "GET", "/orders", &principal, &scopes).allowed);
}

/// The tenant route: a user's `tenant` claim must name the tenant of the path.
#[test]
fn tenants_read_their_own_orders_only() {
    let engine = Engine::embedded().unwrap();
    let acme = [("tenant".to_owned(), serde_json::json!("acme"))];
    let none: Vec<String> = Vec::new();
    let admins = strings(&["admin"]);
    let user = |groups, claims| Principal {
        claims,
        ..Principal::new("sub-1", groups)
    };
    for (principal, path, allowed) in [
        (user(&none, &acme), "/tenants/acme/orders", true),
        (user(&none, &acme), "/tenants/globex/orders", false),
        (user(&none, &acme), "/tenants/Acme/orders", false),
        (user(&none, &[]), "/tenants/acme/orders", false),
        // Administrators may call every route.
        (user(&admins, &[]), "/tenants/globex/orders", true),
    ] {
        let d = decide_path(&engine, "GET", path, &principal, &[]);
        assert_eq!(d.allowed, allowed, "{path}: {d:?}");
        assert!(d.errors.is_empty(), "{d:?}");
    }
    let d = decide_path(
        &engine,
        "GET",
        "/tenants/acme/orders",
        &user(&none, &acme),
        &[],
    );
    assert_eq!(d.reasons, ["tenant-own-orders"]);
}

/// The machine route: a client-credentials token with the `orders/import` scope, and
/// never a user, whatever its groups.
#[test]
fn machines_import_orders_with_the_scope_only() {
    let engine = Engine::embedded().unwrap();
    let machine = Principal {
        client_id: Some("partner-service"),
        token_use: Some("access"),
        machine: true,
        ..Principal::new("partner-service", &[])
    };
    let import = strings(&["orders/import"]);
    let d = decide_path(&engine, "POST", "/integrations/orders", &machine, &import);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.reasons, ["machines-import-orders"]);
    for scopes in [
        strings(&[]),
        strings(&["orders/read-only"]),
        strings(&["orders/importer"]),
    ] {
        let d = decide_path(&engine, "POST", "/integrations/orders", &machine, &scopes);
        assert!(!d.allowed && d.errors.is_empty(), "{scopes:?}: {d:?}");
    }
    let admins = strings(&["admin"]);
    let admin = Principal {
        client_id: Some("partner-service"),
        ..Principal::new("partner-service", &admins)
    };
    let d = decide_path(&engine, "POST", "/integrations/orders", &admin, &import);
    assert!(!d.allowed, "{d:?}");
    assert!(d.errors[0].contains("only machine clients"), "{d:?}");
    // Elsewhere a machine is the User of its sub: it reads its profile, as every caller.
    assert!(decide_path(&engine, "GET", "/me", &machine, &import).allowed);
    assert!(!decide_path(&engine, "GET", "/orders", &machine, &import).allowed);
    let listed: Vec<&str> = engine
        .allowed_routes(
            &machine,
            &RequestFacts::new("GET", "/").with_scopes(&import),
        )
        .iter()
        .map(|r| r.action().name())
        .collect();
    assert_eq!(listed, ["get /me", "post /integrations/orders"]);
}

#[test]
fn requests_conform_to_the_schema() {
    let engine = Engine::embedded().unwrap();
    let groups = strings(&["admin", "users", "Mixed Case"]);
    let scopes = strings(&["openid"]);
    let query = vec![("limit".to_owned(), "10".to_owned())];
    let full = Principal {
        username: Some("alice"),
        email: Some("alice@example.com"),
        client_id: Some("client"),
        token_use: Some("access"),
        ..Principal::new("sub-1", &groups)
    };
    let bare = Principal::new("sub-2", &[]);
    let tenant = [("tenant".to_owned(), serde_json::json!("acme"))];
    let machine = Principal {
        client_id: Some("partner-service"),
        token_use: Some("access"),
        claims: &tenant,
        machine: true,
        ..Principal::new("partner-service", &[])
    };
    let full = Principal {
        claims: &tenant,
        ..full
    };
    for route in engine.routes() {
        let (method, path) = match route.kind() {
            RouteKind::Http { verb, template } => (
                verb.as_upper(),
                template
                    .replace("{id}", "42")
                    .replace("{proxy+}", "a/b")
                    .replace("{tenantId}", "acme"),
            ),
            RouteKind::WebSocketConnect => ("GET", "/".to_owned()),
        };
        let params = engine
            .resolve(method, &path)
            .map(|m| m.path_parameters().to_vec())
            .unwrap_or_default();
        let principals = if route.action().name() == "post /integrations/orders" {
            vec![&machine]
        } else {
            vec![&full, &bare, &machine]
        };
        for principal in principals {
            let facts = RequestFacts::new(method, &path)
                .with_scopes(&scopes)
                .with_auth_time(1)
                .with_source_ip("192.0.2.1")
                .with_path_parameters(&params)
                .with_query_string_parameters(&query);
            assert_conforms(&engine, route.action(), principal, &facts);
            // Optional members absent: still conformant.
            let facts = facts.with_query_string_parameters(l42_cedar::Params::None);
            assert_conforms(&engine, route.action(), principal, &facts);
        }
    }
}

#[test]
fn allowed_routes_list_every_route_a_caller_may_call_whatever_its_parameters() {
    let engine = Engine::embedded().unwrap();
    let routes = |groups: &[&str], scopes: &[&str]| -> Vec<String> {
        let groups = strings(groups);
        let scopes = strings(scopes);
        let facts = RequestFacts::new("GET", "/ignored").with_scopes(&scopes);
        engine
            .allowed_routes(&Principal::new("s", &groups), &facts)
            .iter()
            .map(|r| r.action().name().to_owned())
            .collect()
    };
    // Routes with a required {id} path parameter are listed too: no shipped policy reads
    // it, so every request of the route gets the same decision. The tenant route's policy
    // reads its path, so it is never listed; the machine route is not a user's.
    let everything = [
        "any /admin/{proxy+}",
        "delete /orders/{id}",
        "get /me",
        "get /orders",
        "get /orders/{id}",
        "post /orders",
        "put /orders/{id}",
    ];
    assert_eq!(routes(&["admin"], &["openid"]), everything);
    assert_eq!(
        routes(&["editors"], &["openid"]),
        [
            "get /me",
            "get /orders",
            "get /orders/{id}",
            "post /orders",
            "put /orders/{id}"
        ]
    );
    assert_eq!(
        routes(&["users"], &["openid"]),
        ["get /me", "get /orders", "get /orders/{id}", "post /orders"]
    );
    assert_eq!(
        routes(&["readonly"], &["openid"]),
        ["get /me", "get /orders", "get /orders/{id}"]
    );
    assert_eq!(routes(&[], &["openid"]), ["get /me"]);
    // The token facts still count: a read-only scope forbids the writes, even to admins.
    assert_eq!(
        routes(&["admin"], &["orders/read-only"]),
        [
            "any /admin/{proxy+}",
            "get /me",
            "get /orders",
            "get /orders/{id}"
        ]
    );
    // Every listed route is what a concrete request of it gets.
    let groups = strings(&["editors"]);
    let scopes = strings(&["openid"]);
    let id = vec![("id".to_owned(), "42".to_owned())];
    for (verb, path, allowed) in [
        ("GET", "/orders/42", true),
        ("PUT", "/orders/42", true),
        ("DELETE", "/orders/42", false),
    ] {
        let m = engine.resolve(verb, path).unwrap();
        let facts = RequestFacts::new(verb, path)
            .with_scopes(&scopes)
            .with_path_parameters(&id);
        let d = engine.decide(m.action(), &Principal::new("s", &groups), &facts);
        assert_eq!(d.allowed, allowed, "{verb} {path}: {d:?}");
    }
    let admin = engine.action("any /admin/{proxy+}").unwrap();
    let route = engine.routes().find(|r| r.action() == &admin).unwrap();
    assert_eq!(route.verb(), Some(Verb::Any));
    assert_eq!(route.template(), Some("/admin/{proxy+}"));
}

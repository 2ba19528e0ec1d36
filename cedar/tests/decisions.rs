//! Decisions: fail-closed behaviour, action groups, slicing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::{BTreeSet, HashMap};

use cedar_policy::{Authorizer, Entities, Request};
use common::{assert_conforms, decide_path, engine, schema_with, strings};
use l42_cedar::{Engine, Principal, RequestFacts};

#[test]
fn engine_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Engine>();
}

const ORDER: &str = "  action \"get /orders/{id}\" appliesTo {
    principal: [User], resource: [Application],
    context: { pathParameters: { id: String }, queryStringParameters: { limit?: Long, full?: Bool } },
  };";

fn order_engine(policies: &str) -> Engine {
    engine(&schema_with(ORDER), policies)
}

#[test]
fn missing_required_path_parameter_denies() {
    let e = order_engine("permit(principal, action, resource);");
    let action = e.action("get /orders/{id}").unwrap();
    let p = Principal::new("s", &[]);
    let d = e.decide(&action, &p, &RequestFacts::new("GET", "/orders/1"));
    assert!(!d.allowed);
    assert_eq!(d.errors, ["missing context attribute pathParameters.id"]);

    let params = vec![("id".to_owned(), "1".to_owned())];
    let facts = RequestFacts::new("GET", "/orders/1").with_path_parameters(&params);
    assert!(e.decide(&action, &p, &facts).allowed);
    assert_conforms(&e, &action, &p, &facts);

    // A map works as well as pairs.
    let map: HashMap<String, String> = params.iter().cloned().collect();
    let facts = RequestFacts::new("GET", "/orders/1").with_path_parameters(&map);
    assert!(e.decide(&action, &p, &facts).allowed);
}

#[test]
fn unparsable_typed_query_parameters_deny() {
    let e = order_engine("permit(principal, action, resource);");
    let action = e.action("get /orders/{id}").unwrap();
    let p = Principal::new("s", &[]);
    let path_params = vec![("id".to_owned(), "1".to_owned())];
    let decide = |query: &[(&str, &str)]| {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let facts = RequestFacts::new("GET", "/orders/1")
            .with_path_parameters(&path_params)
            .with_query_string_parameters(&query);
        let d = e.decide(&action, &p, &facts);
        if d.allowed {
            assert_conforms(&e, &action, &p, &facts);
        }
        d
    };
    assert!(decide(&[]).allowed);
    assert!(decide(&[("limit", "10"), ("full", "true"), ("other", "x")]).allowed);
    assert!(decide(&[("limit", "-3")]).allowed);
    let d = decide(&[("limit", "ten")]);
    assert!(!d.allowed);
    assert_eq!(
        d.errors,
        ["context attribute queryStringParameters.limit: value \"ten\" is not a Long"]
    );
    assert!(!decide(&[("limit", "99999999999999999999")]).allowed);
    assert!(!decide(&[("full", "TRUE")]).allowed);
}

#[test]
fn erroring_forbid_is_not_skipped() {
    let schema = schema_with(
        "  action \"get /a\" appliesTo { principal: [User], resource: [Application], context: { authTime: Long } };",
    );
    let policies = "@id(\"allow\") permit(principal, action, resource);
@id(\"overflow\") forbid(principal, action, resource) when { context.authTime + 1 < 0 };";
    let e = engine(&schema, policies);
    let action = e.action("get /a").unwrap();
    let p = Principal::new("s", &[]);

    let ok = RequestFacts::new("GET", "/a").with_auth_time(5);
    assert!(e.decide(&action, &p, &ok).allowed);

    // i64::MAX + 1 overflows: Cedar skips the erroring forbid and allows...
    let facts = RequestFacts::new("GET", "/a").with_auth_time(i64::MAX);
    let parts = e.request_parts(&action, &p, &facts).unwrap();
    let request = Request::new(
        parts.principal,
        parts.action,
        parts.resource,
        parts.context,
        None,
    )
    .unwrap();
    let entities = Entities::from_entities(parts.entities, None).unwrap();
    let raw = Authorizer::new().is_authorized(&request, e.policies(), &entities);
    assert_eq!(raw.decision(), cedar_policy::Decision::Allow);
    // ...the engine denies.
    let d = e.decide(&action, &p, &facts);
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.errors.len(), 1);
    assert!(d.errors[0].contains("overflow"), "{d:?}");

    // A missing required authTime never reaches Cedar.
    let d = e.decide(&action, &p, &RequestFacts::new("GET", "/a"));
    assert!(!d.allowed);
    assert_eq!(d.errors, ["missing context attribute authTime"]);
}

#[test]
fn erroring_permit_grants_nothing_but_does_not_deny_others() {
    let schema = schema_with(
        "  action \"get /a\" appliesTo { principal: [User], resource: [Application], context: { authTime: Long } };",
    );
    let policies = "@id(\"allow\") permit(principal, action, resource);
@id(\"bad\") permit(principal, action, resource) when { context.authTime + 1 < 0 };";
    let e = engine(&schema, policies);
    let action = e.action("get /a").unwrap();
    let d = e.decide(
        &action,
        &Principal::new("s", &[]),
        &RequestFacts::new("GET", "/a").with_auth_time(i64::MAX),
    );
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.reasons, ["allow"]);
    assert_eq!(d.errors.len(), 1);
}

#[test]
fn principal_attributes_are_filtered_and_required_ones_enforced() {
    let schema = "namespace App {
  entity UserGroup;
  entity User in [UserGroup] { email: String, tokenUse?: String };
  entity Application;
  action \"get /a\" appliesTo { principal: [User], resource: [Application] };
}";
    let e = engine(
        schema,
        "permit(principal, action, resource) when { principal.email like \"*@example.com\" };",
    );
    let action = e.action("get /a").unwrap();
    let facts = RequestFacts::new("GET", "/a");
    let groups = strings(&["g"]);
    let full = Principal {
        email: Some("a@example.com"),
        username: Some("alice"),
        client_id: Some("c"),
        token_use: Some("id"),
        ..Principal::new("s", &groups)
    };
    assert!(e.decide(&action, &full, &facts).allowed);
    assert_conforms(&e, &action, &full, &facts);

    let no_email = Principal::new("s", &groups);
    let d = e.decide(&action, &no_email, &facts);
    assert!(!d.allowed);
    assert_eq!(d.errors, ["missing principal attribute email"]);

    let d = e.decide(&action, &Principal::new("", &groups), &facts);
    assert!(!d.allowed);
    assert_eq!(d.errors, ["empty principal sub"]);
}

#[test]
fn actions_of_another_engine_are_denied() {
    let a = Engine::embedded().unwrap();
    let b = order_engine("permit(principal, action, resource);");
    let foreign = b.action("get /orders/{id}").unwrap();
    let d = a.decide(
        &foreign,
        &Principal::new("s", &strings(&["admin"])),
        &RequestFacts::new("GET", "/"),
    );
    assert!(!d.allowed);
    assert!(d.errors[0].contains("unknown action"), "{d:?}");
    assert!(a.slice(&foreign).is_none());
}

#[test]
fn empty_contexts_validate_and_decide() {
    let schema = schema_with(
        "  action \"get /a\" appliesTo { principal: [User], resource: [Application] };
  action \"post /a\" appliesTo { principal: [User], resource: [Application], context: {} };
  action \"$connect\" appliesTo { principal: [User], resource: [Application] };",
    );
    let e = engine(
        &schema,
        "permit(principal in App::UserGroup::\"g\", action, resource);",
    );
    let groups = strings(&["g"]);
    let p = Principal::new("s", &groups);
    let scopes = strings(&["openid"]);
    for (m, path) in [("GET", "/a"), ("POST", "/a")] {
        let d = decide_path(&e, m, path, &p, &scopes);
        assert!(d.allowed, "{d:?}");
    }
    for route in e.routes() {
        let facts = RequestFacts::new("GET", "/a")
            .with_scopes(&scopes)
            .with_auth_time(1)
            .with_source_ip("192.0.2.1");
        assert_conforms(&e, route.action(), &p, &facts);
    }
    assert!(!decide_path(&e, "GET", "/a", &Principal::new("s", &[]), &[]).allowed);
}

#[test]
fn action_groups_work_through_slices_and_action_entities() {
    let schema = schema_with(
        "  action \"readActions\";
  action \"allActions\";
  action \"get /a\" in [\"readActions\"] appliesTo { principal: [User], resource: [Application] };
  action \"get /b\" in [\"readActions\"] appliesTo { principal: [User], resource: [Application] };
  action \"post /a\" in [\"allActions\"] appliesTo { principal: [User], resource: [Application] };
  action \"delete /a\" appliesTo { principal: [User], resource: [Application] };",
    );
    let schema = schema.replace(
        "action \"readActions\";",
        "action \"readActions\" in [\"allActions\"];",
    );
    let policies = "@id(\"readers\") permit(principal in App::UserGroup::\"r\", action in App::Action::\"readActions\", resource);
@id(\"writers\") permit(principal in App::UserGroup::\"w\", action in [App::Action::\"allActions\"], resource);
@id(\"deleters\") permit(principal in App::UserGroup::\"d\", action == App::Action::\"delete /a\", resource);";
    let e = engine(&schema, policies);

    let slice = |name: &str| -> BTreeSet<String> {
        e.slice(&e.action(name).unwrap())
            .unwrap()
            .policies()
            .map(|p| p.id().to_string())
            .collect()
    };
    assert_eq!(
        slice("get /a"),
        BTreeSet::from(["readers".into(), "writers".into()])
    );
    assert_eq!(slice("post /a"), BTreeSet::from(["writers".into()]));
    assert_eq!(slice("delete /a"), BTreeSet::from(["deleters".into()]));
    // Groups themselves are not decidable actions.
    assert!(e.action("readActions").is_none());

    let r = strings(&["r"]);
    let w = strings(&["w"]);
    let reader = Principal::new("s", &r);
    let writer = Principal::new("s", &w);
    assert!(decide_path(&e, "GET", "/a", &reader, &[]).allowed);
    assert!(decide_path(&e, "GET", "/b", &reader, &[]).allowed);
    assert!(!decide_path(&e, "POST", "/a", &reader, &[]).allowed);
    assert!(!decide_path(&e, "DELETE", "/a", &reader, &[]).allowed);
    // Transitively: get /a in readActions in allActions.
    assert!(decide_path(&e, "GET", "/a", &writer, &[]).allowed);
    assert!(decide_path(&e, "POST", "/a", &writer, &[]).allowed);
    assert!(!decide_path(&e, "DELETE", "/a", &writer, &[]).allowed);

    for route in e.routes() {
        assert_conforms(&e, route.action(), &reader, &RequestFacts::new("GET", "/a"));
    }
    let allowed: Vec<&str> = e
        .allowed_routes(&writer, &RequestFacts::new("GET", "/"))
        .iter()
        .map(|r| r.action().name())
        .collect();
    assert_eq!(allowed, ["get /a", "get /b", "post /a"]);
}

#[test]
fn slices_hold_exactly_the_applicable_policies() {
    const N: usize = 200;
    let actions: String = (0..N)
        .map(|i| {
            format!("  action \"get /r{i}\" appliesTo {{ principal: [User], resource: [Application] }};\n")
        })
        .collect();
    let mut policies: String = (0..N)
        .map(|i| {
            format!(
                "permit(principal in App::UserGroup::\"g{i}\", action == App::Action::\"get /r{i}\", resource);\n"
            )
        })
        .collect();
    policies.push_str(
        "@id(\"admins\") permit(principal in App::UserGroup::\"admin\", action, resource);\n",
    );
    policies.push_str(
        "@id(\"nobody\") forbid(principal in App::UserGroup::\"banned\", action, resource);\n",
    );
    let e = engine(&schema_with(&actions), &policies);
    assert_eq!(e.policy_count(), N + 2);
    for i in 0..N {
        let action = e.action(&format!("get /r{i}")).unwrap();
        let ids: BTreeSet<String> = e
            .slice(&action)
            .unwrap()
            .policies()
            .map(|p| p.id().to_string())
            .collect();
        let expected = BTreeSet::from([format!("test.{i}"), "admins".into(), "nobody".into()]);
        assert_eq!(ids, expected, "get /r{i}");
    }
    let g5 = strings(&["g5"]);
    let p = Principal::new("s", &g5);
    assert!(decide_path(&e, "GET", "/r5", &p, &[]).allowed);
    assert!(!decide_path(&e, "GET", "/r6", &p, &[]).allowed);
    let banned = strings(&["g5", "banned"]);
    assert!(!decide_path(&e, "GET", "/r5", &Principal::new("s", &banned), &[]).allowed);
}

#[test]
fn context_sensitivity_detection() {
    let schema = schema_with(
        "  action \"get /a\" appliesTo { principal: [User], resource: [Application],
      context: { path: String, scopes: Set<String>, sourceIp?: String } };
  action \"get /b\" appliesTo { principal: [User], resource: [Application], context: { scopes: Set<String> } };",
    );
    let scopes_only = engine(
        &schema,
        "permit(principal, action, resource) when { context.scopes.contains(\"x\") };",
    );
    assert!(!scopes_only.has_context_sensitive_policies());
    let by_path = engine(
        &schema,
        "permit(principal, action == App::Action::\"get /a\", resource) when { context.path like \"/a*\" };",
    );
    assert!(by_path.has_context_sensitive_policies());
    let by_ip = engine(
        &schema,
        "forbid(principal, action == App::Action::\"get /a\", resource) when { context has sourceIp && context.sourceIp == \"10.0.0.1\" };",
    );
    assert!(by_ip.has_context_sensitive_policies());
}

#[test]
fn allowed_routes_are_what_every_request_of_the_route_gets() {
    let schema = schema_with(
        "  action \"get /a/{id}\" appliesTo { principal: [User], resource: [Application],
      context: { method: String, path: String, pathParameters: { id?: String } } };
  action \"any /b\" appliesTo { principal: [User], resource: [Application], context: { method: String } };
  action \"get /c/{id}\" appliesTo { principal: [User], resource: [Application],
      context: { pathParameters: { id: String }, sourceIp: String } };
  action \"get /d\" appliesTo { principal: [User], resource: [Application],
      context: { sourceIp: String } };
  action \"get /e/{rest+}\" appliesTo { principal: [User], resource: [Application],
      context: { pathParameters: { rest: String }, queryStringParameters: { q?: String } } };
  action \"get /f/{n}\" appliesTo { principal: [User], resource: [Application],
      context: { pathParameters: { n: Long } } };
  action \"get /g\" appliesTo { principal: [User], resource: [Application],
      context: { queryStringParameters: { q: String } } };
  action \"get /h/{id}\" appliesTo { principal: [User], resource: [Application],
      context: { pathParameters: { id: String, other: String } } };",
    );
    let mut policies: String = [
        "get /c/{id}",
        "get /e/{rest+}",
        "get /f/{n}",
        "get /g",
        "get /h/{id}",
    ]
    .iter()
    .map(|a| format!("permit(principal, action == App::Action::\"{a}\", resource);\n"))
    .collect();
    policies.push_str(
        "permit(principal, action == App::Action::\"get /a/{id}\", resource) when { context.path like \"/a/*\" && context.method == \"GET\" };
permit(principal, action == App::Action::\"any /b\", resource) when { context.method == \"POST\" };
permit(principal, action == App::Action::\"get /d\", resource);
forbid(principal, action == App::Action::\"get /d\", resource) when { context.sourceIp == \"10.0.0.1\" };",
    );
    let e = engine(&schema, &policies);
    assert!(e.has_context_sensitive_policies());
    let p = Principal::new("s", &[]);
    let allowed = |facts: &RequestFacts<'_>| -> Vec<String> {
        e.allowed_routes(&p, facts)
            .iter()
            .map(|r| r.action().name().to_owned())
            .collect()
    };
    // Listed: get /c/{id} (its parameter comes with every request, a source IP with every
    // request of an API whose events carry one) and get /e/{rest+} (the query parameter
    // it declares is optional). Left out, each for a reason:
    // - get /a/{id}, any /b, get /d: their policies read request facts, so a decision for
    //   one request says nothing about the next (each is still decided per request);
    // - get /f/{n}: `n: Long`, and /f/abc does not parse;
    // - get /g: requires a query parameter some requests lack;
    // - get /h/{id}: requires a parameter its template does not have.
    assert_eq!(
        allowed(&RequestFacts::new("DELETE", "/zzz").with_source_ip("203.0.113.7")),
        ["get /c/{id}", "get /e/{rest+}"]
    );
    // Without a source IP (a REST TOKEN event) get /c/{id} cannot be decided either.
    assert_eq!(allowed(&RequestFacts::new("GET", "/d")), ["get /e/{rest+}"]);

    let decide = |action: &str, facts: RequestFacts<'_>| {
        e.decide(&e.action(action).unwrap(), &p, &facts).allowed
    };
    let params = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    // The listed routes are allowed for their requests.
    let id = params(&[("id", "7")]);
    assert!(decide(
        "get /c/{id}",
        RequestFacts::new("GET", "/c/7")
            .with_path_parameters(&id)
            .with_source_ip("1.2.3.4")
    ));
    let rest = params(&[("rest", "x/y")]);
    assert!(decide(
        "get /e/{rest+}",
        RequestFacts::new("GET", "/e/x/y").with_path_parameters(&rest)
    ));
    // Each route left out has requests that are denied, or allowed, by their own facts.
    assert!(decide(
        "get /a/{id}",
        RequestFacts::new("GET", "/a/7").with_path_parameters(&id)
    ));
    assert!(decide("any /b", RequestFacts::new("POST", "/b")));
    assert!(!decide("any /b", RequestFacts::new("GET", "/b")));
    assert!(decide(
        "get /d",
        RequestFacts::new("GET", "/d").with_source_ip("10.0.0.2")
    ));
    assert!(!decide(
        "get /d",
        RequestFacts::new("GET", "/d").with_source_ip("10.0.0.1")
    ));
    let n = params(&[("n", "12")]);
    assert!(decide(
        "get /f/{n}",
        RequestFacts::new("GET", "/f/12").with_path_parameters(&n)
    ));
    let n = params(&[("n", "abc")]);
    assert!(!decide(
        "get /f/{n}",
        RequestFacts::new("GET", "/f/abc").with_path_parameters(&n)
    ));
    let q = params(&[("q", "x")]);
    assert!(decide(
        "get /g",
        RequestFacts::new("GET", "/g").with_query_string_parameters(&q)
    ));
    assert!(!decide("get /g", RequestFacts::new("GET", "/g")));
    assert!(!decide(
        "get /h/{id}",
        RequestFacts::new("GET", "/h/7").with_path_parameters(&id)
    ));
}

/// A machine client is `Client::"<client_id>"` (no groups) where the action lists
/// `Client`, the `User` of its `sub` elsewhere, and what is handed to Cedar conforms.
#[test]
fn a_machine_is_a_client_where_the_action_lists_one() {
    let e = engine(
        r#"namespace App { entity UserGroup; entity User in [UserGroup] { tier?: Long };
             entity Client { clientId: String, tokenUse?: String, username?: String, tier?: Long };
             entity Application;
             action "get /both" appliesTo { principal: [User, Client], resource: [Application] };
             action "get /users" appliesTo { principal: [User], resource: [Application] };
             action "get /machines" appliesTo { principal: [Client], resource: [Application] }; }"#,
        "permit(principal, action, resource);",
    );
    let tier = [("tier".to_owned(), serde_json::json!("3"))];
    let groups = strings(&["g"]);
    let machine = Principal {
        client_id: Some("m2m-client"),
        token_use: Some("access"),
        username: Some("m2m-client"),
        claims: &tier,
        machine: true,
        ..Principal::new("m2m-client", &groups)
    };
    let user = Principal {
        machine: false,
        ..machine
    };
    let facts = RequestFacts::new("GET", "/");
    for (action, who, expected) in [
        ("get /both", &machine, Some(r#"App::Client::"m2m-client""#)),
        ("get /users", &machine, Some(r#"App::User::"m2m-client""#)),
        (
            "get /machines",
            &machine,
            Some(r#"App::Client::"m2m-client""#),
        ),
        ("get /both", &user, Some(r#"App::User::"m2m-client""#)),
        ("get /users", &user, Some(r#"App::User::"m2m-client""#)),
        ("get /machines", &user, None),
    ] {
        let a = e.action(action).unwrap();
        match expected {
            Some(uid) => {
                let parts = e.request_parts(&a, who, &facts).unwrap();
                assert_eq!(parts.principal.to_string(), uid, "{action}");
                if uid.contains("Client") {
                    // No groups, no username: a client has neither.
                    assert_eq!(parts.entities.len(), 2, "{action}: {:?}", parts.entities);
                    let client = &parts.entities[0];
                    assert!(client.attr("username").is_none());
                    assert!(client.attr("tier").is_some());
                }
                assert_conforms(&e, &a, who, &facts);
                assert!(e.decide(&a, who, &facts).allowed, "{action}");
            }
            None => {
                let d = e.decide(&a, who, &facts);
                assert!(!d.allowed);
                assert!(d.errors[0].contains("only machine clients"), "{d:?}");
            }
        }
    }
    // A machine without a client id cannot be built as a Client.
    let nameless = Principal {
        client_id: None,
        ..machine
    };
    let d = e.decide(&e.action("get /machines").unwrap(), &nameless, &facts);
    assert!(!d.allowed && d.errors[0].contains("client id"), "{d:?}");
}

/// The routes listed for a cached policy are decided with the principal's entities of the
/// route's kind only, as `decide` decides them: a policy naming the principal's other
/// kind (`User::"m"` for the machine `Client::"m"`) sees no such entity in either.
#[test]
fn a_machine_s_listed_routes_are_decided_with_its_own_kind_s_entities() {
    let e = engine(
        r#"namespace App { entity UserGroup; entity User in [UserGroup] { username?: String };
             entity Client { clientId: String }; entity Application;
             action "post /a" appliesTo { principal: [Client], resource: [Application] };
             action "get /b" appliesTo { principal: [User], resource: [Application] };
             action "get /c" appliesTo { principal: [User, Client], resource: [Application] }; }"#,
        r#"permit(principal is App::Client, action == App::Action::"post /a", resource)
             when { App::User::"m" has username };
           permit(principal is App::User, action == App::Action::"get /b", resource)
             when { App::Client::"m" has clientId };
           permit(principal is App::Client, action == App::Action::"get /c", resource);"#,
    );
    let machine = Principal {
        client_id: Some("m"),
        username: Some("m"),
        machine: true,
        ..Principal::new("m", &[])
    };
    let facts = RequestFacts::new("GET", "/");
    let listed: Vec<&str> = e
        .allowed_routes(&machine, &facts)
        .iter()
        .map(|r| r.action().name())
        .collect();
    assert_eq!(listed, ["get /c"]);
    for name in ["post /a", "get /b", "get /c"] {
        let decided = e.decide(&e.action(name).unwrap(), &machine, &facts).allowed;
        assert_eq!(decided, listed.contains(&name), "{name}");
    }
}

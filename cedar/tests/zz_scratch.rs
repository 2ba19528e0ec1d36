#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
mod common;
use common::*;
use l42_cedar::*;
use std::time::Instant;

#[test]
fn show_errors() {
    let get_a = "  action \"get /a\" appliesTo { principal: [User], resource: [Application] };\n";
    for (s, p) in [
        ("namespace App { entity User in [UserGroup] }".to_string(), "permit(principal, action, resource);"),
        (schema_with(get_a), "permit(principal, action, resource) when { 1 + };"),
        (schema_with(get_a), "permit(principal, action == Foo, resource);"),
        (schema_with(get_a), "// x\npermit(principal, action == App::Action::\"get /b\", resource);\npermit(principal, action, resource) when { principal.x };"),
        (schema_with(get_a), "permit(principal == ?principal, action, resource);"),
        (schema_with("  action \"GET /a\" appliesTo { principal: [User], resource: [Application] };"), "permit(principal, action, resource);"),
        (schema_with("  action \"get /a\" appliesTo { principal: [User], resource: [Application], context: { authTime: String, x: Long } };"), "permit(principal, action, resource);"),
        (schema_with("  action \"get /a\" appliesTo { principal: [User], resource: [Application], context: { x: Long } };"), "permit(principal, action, resource);"),
        (format!("{}\nnamespace B {{ entity X; }}", schema_with(get_a)), "permit(principal, action, resource);"),
    ] {
        println!("{}", load_error(&s, p));
    }
}

#[test]
fn timing() {
    let e = Engine::embedded().unwrap();
    let groups = strings(&["users", "readonly"]);
    let scopes = strings(&["openid", "email", "profile"]);
    let p = Principal { email: Some("a@example.com"), username: Some("alice"), ..Principal::new("7d1f0c3e-aaaa-bbbb-cccc-000000000000", &groups) };
    for (m, path) in [("GET", "/orders/42"), ("GET", "/me"), ("GET", "/orders"), ("POST", "/admin/x")] {
        let n = 20000;
        let t = Instant::now();
        let mut allowed = 0;
        for _ in 0..n {
            let r = e.resolve(m, path).unwrap();
            let f = RequestFacts::new(m, path).with_scopes(&scopes).with_auth_time(1).with_source_ip("1.2.3.4").with_path_parameters(r.path_parameters());
            if e.decide(r.action(), &p, &f).allowed { allowed += 1; }
        }
        println!("{m} {path}: {:?}/decision (allowed {allowed})", t.elapsed() / n);
    }
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n { let f = RequestFacts::new("GET", "/").with_scopes(&scopes); std::hint::black_box(e.allowed_routes(&p, &f)); }
    println!("allowed_routes: {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..20 { std::hint::black_box(Engine::embedded().unwrap()); }
    println!("load embedded: {:?}", t.elapsed() / 20);
}

#[test]
fn breakdown() {
    use cedar_policy::*;
    let e = l42_cedar::Engine::embedded().unwrap();
    let groups = strings(&["users", "readonly"]);
    let scopes = strings(&["openid", "email", "profile"]);
    let p = l42_cedar::Principal { email: Some("a@example.com"), username: Some("alice"), ..l42_cedar::Principal::new("7d1f0c3e-aaaa-bbbb-cccc-000000000000", &groups) };
    let r = e.resolve("GET", "/orders/42").unwrap();
    let f = l42_cedar::RequestFacts::new("GET", "/orders/42").with_scopes(&scopes).with_path_parameters(r.path_parameters());
    let n = 20000u32;
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(e.resolve("GET", "/orders/42")); }
    println!("resolve {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(e.request_parts(r.action(), &p, &f).unwrap()); }
    println!("parts {:?}", t.elapsed() / n);
    let parts = e.request_parts(r.action(), &p, &f).unwrap();
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(Entities::from_entities(parts.entities.clone(), None).unwrap()); }
    println!("entities {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(parts.entities.clone()); }
    println!("clone entities {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(Request::new(parts.principal.clone(), parts.action.clone(), parts.resource.clone(), parts.context.clone(), None).unwrap()); }
    println!("request {:?}", t.elapsed() / n);
    let ents = Entities::from_entities(parts.entities.clone(), None).unwrap();
    let req = Request::new(parts.principal.clone(), parts.action.clone(), parts.resource.clone(), parts.context.clone(), None).unwrap();
    let slice = e.slice(r.action()).unwrap();
    let a = Authorizer::new();
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(a.is_authorized(&req, slice, &ents)); }
    println!("authorize {:?} ({} policies)", t.elapsed() / n, slice.num_of_policies());
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(Authorizer::new()); }
    println!("Authorizer::new {:?}", t.elapsed() / n);
}

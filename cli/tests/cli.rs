//! The `l42` binary as a CI job runs it: exit codes, reports, and input that tries to
//! break it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Scratch, l42, stderr, stdout};

fn text(out: &std::process::Output) -> (String, String) {
    (stdout(out), stderr(out))
}

const CALLERS: &str = r#"
callers:
  admin: { claims: { sub: admin-1, username: admin, "cognito:groups": [admin] } }
  nobody: { claims: { sub: nobody-1, username: nobody } }
"#;

#[test]
fn the_shipped_examples_cases_pass() {
    let out = l42(&["policy", "test", "cedar", "cedar/tests/policy-cases.yaml"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.ends_with(" passed, 0 failed\n"), "{stdout}");
    let passed: usize = stdout.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 100, "{stdout}");
}

#[test]
fn a_wrong_case_fails_naming_it_with_the_explanation() {
    let s = Scratch::new("wrong");
    let cases = s.write(
        "cases.yaml",
        &format!(
            "{CALLERS}
cases:
  - name: nobody deletes orders
    caller: nobody
    request: {{ method: DELETE, path: /orders/1 }}
    expect: allow
  - name: admins delete orders
    caller: admin
    request: {{ method: DELETE, path: /orders/1 }}
    expect: allow
    policies: [some-other-policy]
  - name: admins list orders
    request: {{ path: /orders }}
    expect: {{ admin: allow, nobody: deny }}
"
        ),
    );
    let out = l42(&["policy", "test", "cedar", &cases]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("FAIL ")
            && stdout.contains(": nobody deletes orders: expected allow, got deny"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            ": admins delete orders: expected allow (policies some-other-policy), got allow"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("policies: admin-all"), "{stdout}");
    assert!(stdout.contains("action: delete /orders/{id}"), "{stdout}");
    assert!(stdout.ends_with("2 passed, 2 failed\n"), "{stdout}");

    let out = l42(&["policy", "test", "cedar", &cases, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], 2);
    assert_eq!(report["failed"], 2);
    assert_eq!(report["cases"][0]["name"], "nobody deletes orders");
    assert_eq!(report["cases"][0]["got"], "deny");
    assert_eq!(report["cases"][2]["name"], "admins list orders as admin");
    assert_eq!(report["cases"][3]["name"], "admins list orders as nobody");
}

/// Input that cannot be used is exit 2 with one line naming it, never a panic, a hang or a
/// pass.
#[test]
fn unusable_input_is_exit_2_naming_it() {
    let s = Scratch::new("unusable");
    let case = |caller: &str| {
        format!(
            "{CALLERS}\ncases:\n  - name: c\n    caller: {caller}\n    request: {{ path: /orders }}\n    expect: allow\n"
        )
    };
    // A billion laughs: nested aliases must be refused, not expanded.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
        let prev = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
        bomb.push_str(&format!(
            "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    bomb.push_str("cases: []\n");
    let token = s.write("token.jwt", "not a token");
    for (file, contents, says) in [
        (
            "unknown-caller.yaml",
            case("nobody-at-all"),
            "no caller named",
        ),
        (
            "no-sub.yaml",
            case("{ claims: { username: x } }"),
            "non-empty `sub`",
        ),
        (
            "bad-token.yaml",
            case(&format!("{{ token: {token} }}")),
            "not a JWT",
        ),
        (
            "missing-token.yaml",
            case("{ token: /no/such/file }"),
            "/no/such/file",
        ),
        ("broken.yaml", "cases: [".to_owned(), "broken.yaml"),
        ("no-cases.json", "{\"cases\": []}".to_owned(), "no cases"),
        (
            "unknown-field.yaml",
            case("admin").replace("expect: allow", "expect: allow\n    extra: 1"),
            "extra",
        ),
        (
            "bad-answer.yaml",
            case("admin").replace("expect: allow", "expect: maybe"),
            "bad-answer.yaml",
        ),
        (
            "bad-event.yaml",
            case("admin").replace("{ path: /orders }", "{ path: /orders, event: grpc }"),
            "bad-event.yaml",
        ),
        ("bomb.yaml", bomb.clone(), "budget breached"),
    ] {
        let path = s.write(file, &contents);
        let out = l42(&["policy", "test", "cedar", &path]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {stdout}{stderr}");
        assert!(stderr.starts_with("l42: "), "{file}: {stderr}");
        assert!(stderr.contains(says), "{file}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{file}: {stderr}");
    }
    // Policies that do not load, a missing test file, bad settings.
    let broken = Scratch::new("broken-policies");
    broken.write("a.cedarschema", "namespace A { entity User; }");
    broken.write("a.cedar", "permit(principal, action, resource);");
    let cases = s.write("ok.yaml", &case("admin"));
    for (args, says) in [
        (
            vec!["policy", "test", broken.0.to_str().unwrap(), &cases],
            "do not load",
        ),
        (
            vec!["policy", "test", "cedar", "/no/such/cases.yaml"],
            "/no/such/cases.yaml",
        ),
    ] {
        let out = l42(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // Settings a test cannot honour, and requests API Gateway never sends.
    for (settings, says) in [
        (
            "CEDAR_ENTITY_ID: avp",
            "not a variable a policy test can set",
        ),
        ("JWKS_URL: https://example.com/jwks", "not a variable"),
        ("IDENTITY_SOURCES: cookie", "must include header"),
    ] {
        let file = s.write(
            "bad-settings.yaml",
            &format!("settings: {{ {settings} }}\n{}", case("admin")),
        );
        let out = l42(&["policy", "test", "cedar", &file]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{settings}: {stderr}");
        assert!(stderr.contains(says), "{settings}: {stderr}");
    }
    for request in [
        "{ path: orders }",
        "{ path: \"/orders?x=1\" }",
        "{ method: ANY, path: /admin/x }",
    ] {
        let file = s.write(
            "bad-request.yaml",
            &case("admin").replace("{ path: /orders }", request),
        );
        let out = l42(&["policy", "test", "cedar", &file]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{request}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{request}: {stderr}");
    }
    // A folder that fails validation: one line, however many problems.
    let invalid = Scratch::new("invalid-policies");
    invalid.write(
        "a.cedarschema",
        &std::fs::read_to_string(common::repo().join("cedar/schema/app.cedarschema")).unwrap(),
    );
    invalid.write("a.cedar", "permit(principal, action == App::Action::\"get /nowhere\", resource);\npermit(principal, action == App::Action::\"get /elsewhere\", resource);\n");
    let out = l42(&["policy", "test", invalid.path(), &cases]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("a.cedar:1") && stderr.contains("a.cedar:2"),
        "{stderr}"
    );
    let settings = s.write(
        "settings.yaml",
        &format!(
            "settings: {{ CEDAR_ENTITY_IDS: sometimes }}\n{}",
            case("admin")
        ),
    );
    let out = l42(&["policy", "test", "cedar", &settings]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CEDAR_ENTITY_IDS"), "{stderr}");
}

#[test]
fn bad_usage_is_exit_2() {
    for args in [
        vec![],
        vec!["policy"],
        vec!["policy", "test", "cedar"],
        vec!["policy", "explain", "cedar"],
        vec![
            "policy", "explain", "cedar", "--claims", "a", "--token", "b",
        ],
        vec![
            "policy", "explain", "cedar", "--claims", "a", "--event", "grpc",
        ],
        vec![
            "policy", "explain", "cedar", "--claims", "a", "--query", "novalue",
        ],
        vec!["policy", "nonsense"],
    ] {
        let out = l42(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {:?}", text(&out));
    }
    let out = l42(&["policy", "test", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).0.contains("Test files, YAML or JSON"));
}

#[test]
fn explain_says_what_decided() {
    let s = Scratch::new("explain");
    let claims = s.write(
        "claims.yaml",
        "sub: user-1\nusername: user\ncognito:groups: [users]\ntenant: acme\n",
    );
    let out = l42(&[
        "policy",
        "explain",
        "cedar",
        "--claims",
        &claims,
        "--path",
        "/tenants/acme/orders",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("allow at the policy step"), "{stdout}");
    assert!(stdout.contains("policies: tenant-own-orders"), "{stdout}");
    let out = l42(&[
        "policy",
        "explain",
        "cedar",
        "--claims",
        &claims,
        "--method",
        "post",
        "--path",
        "/integrations/orders",
        "--event",
        "rest-request",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["answer"], "deny");
    assert_eq!(v["explain"]["event"], "rest-request");
    assert!(
        v["explain"]["errors"][0]
            .as_str()
            .unwrap()
            .contains("only machine clients"),
        "{v}"
    );
    // A token file's claims are used as they are, re-signed.
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"sub":"admin-1","username":"admin","cognito:groups":["admin"],"exp":1}"#);
    let token = s.write(
        "token.jwt",
        &format!("Bearer eyJhbGciOiJSUzI1NiJ9.{payload}.sig\n"),
    );
    let out = l42(&[
        "policy",
        "explain",
        "cedar",
        "--token",
        &token,
        "--method",
        "DELETE",
        "--path",
        "/orders/1",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("allow"), "{stdout}");
    // Settings reach the authorizer: with AVP-style ids the plain group policy no longer
    // matches.
    let out = l42(&[
        "policy",
        "explain",
        "cedar",
        "--token",
        &token,
        "--method",
        "DELETE",
        "--path",
        "/orders/1",
        "--set",
        "CEDAR_ENTITY_IDS=avp",
    ]);
    assert!(text(&out).0.starts_with("deny"), "{:?}", text(&out));
}

#[test]
fn check_reports_every_route_and_fails_only_on_what_it_must() {
    let out = l42(&["policy", "check", "cedar"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "get /tenants/{tenantId}/orders  not cache-safe: policy tenant-own-orders reads context.pathParameters"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("post /integrations/orders       cache-safe; allowed by admin-all, machines-import-orders"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(
            "10 routes, 9 cache-safe, 0 never allowed; 0 policies apply to no route; 0 warnings\n"
        ),
        "{stdout}"
    );

    let s = Scratch::new("check");
    s.write(
        "a.cedarschema",
        r#"namespace A {
  entity UserGroup; entity User in [UserGroup]; entity Application;
  action "get /a", "get /b" appliesTo { principal: [User], resource: [Application],
                                        context: { sourceIp?: String } };
  action "orphan";
}"#,
    );
    s.write(
        "a.cedar",
        r#"@id("by-ip")
permit(principal, action == A::Action::"get /a", resource)
when { context has sourceIp && context.sourceIp == "192.0.2.1" };
@id("orphan")
permit(principal, action == A::Action::"orphan", resource);
"#,
    );
    let dir = s.0.to_str().unwrap();
    let out = l42(&["policy", "check", dir]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "get /a  not cache-safe: policy by-ip reads context.sourceIp; allowed by by-ip"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("get /b  cache-safe; never allowed: no permit policy applies"),
        "{stdout}"
    );
    assert!(
        stdout.contains("policy orphan applies to no route"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning: ") && stdout.contains("a.cedar:4: policy orphan"),
        "{stdout}"
    );
    assert_eq!(
        l42(&["policy", "check", dir, "--strict"]).status.code(),
        Some(1)
    );
    let out = l42(&["policy", "check", dir, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["routes"][0]["action"], "get /a");
    assert_eq!(v["routes"][0]["cache_safe"], false);
    assert_eq!(v["routes"][1]["permits"], serde_json::json!([]));
    assert_eq!(v["policies_without_route"], serde_json::json!(["orphan"]));

    // A folder that does not load fails the check, one line per problem, naming the file.
    s.write(
        "b.cedar",
        "permit(principal, action == A::Action::\"get /c\", resource);\n",
    );
    let out = l42(&["policy", "check", dir]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("the policies do not load:\n"),
        "{stdout}"
    );
    assert!(stdout.contains("b.cedar:1"), "{stdout}");
    // Bad settings are bad usage.
    let out = l42(&[
        "policy",
        "check",
        "cedar",
        "--set",
        "CEDAR_ENTITY_IDS=maybe",
    ]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
}

//! `l42 policy init --openapi`: OpenAPI 3.0, 3.1 and Swagger 2.0 (an API Gateway export's
//! shape), JSON and YAML, into a folder that loads as the authorizer loads it and in
//! `cedar-policy` directly; refusals of documents it cannot use and of files in the way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{Scratch, l42, stderr, stdout};

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

/// Runs init into a fresh folder and returns the folder and the written schema.
fn init(doc: &str, extra: &[&str]) -> (Scratch, String, Output) {
    let out_dir = Scratch::new(Path::new(doc).file_name().unwrap().to_str().unwrap());
    let mut args = vec!["policy", "init", "--openapi", doc, "--out", out_dir.path()];
    args.extend_from_slice(extra);
    let out = l42(&args);
    let schema = std::fs::read_to_string(out_dir.0.join("schema.cedarschema")).unwrap_or_default();
    (out_dir, schema, out)
}

/// The generated folder loads as the authorizer loads it, and in cedar-policy on its own.
fn loads_everywhere(dir: &Scratch, schema: &str) {
    let check = l42(&["policy", "check", dir.path()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
    let (_schema, warnings) = cedar_policy::Schema::from_cedarschema_str(schema).unwrap();
    assert_eq!(warnings.count(), 0);
    let policies = std::fs::read_to_string(dir.0.join("policies.cedar")).unwrap();
    let set: cedar_policy::PolicySet = policies.parse().unwrap();
    assert_eq!(
        set.policies().count(),
        0,
        "the starter policies are all comments"
    );
}

#[test]
fn openapi_3_0_yaml() {
    let (dir, schema, out) = init(&data("shop-openapi-3.0.yaml"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("(5 actions in namespace CornerShopAPI)"),
        "{said}"
    );
    assert!(
        said.contains("left out: trace /items/{itemId}: API Gateway has no TRACE method"),
        "{said}"
    );
    for action in [
        "\"delete /items/{itemId}\"",
        "\"get /items\"",
        "\"get /items/{itemId}\"",
        "\"post /items\"",
        "\"get /shops/{shopId}/items/{itemId}\"",
    ] {
        assert!(
            schema.contains(&format!("action {action} appliesTo")),
            "{action}\n{schema}"
        );
    }
    // Path parameters are Strings; the document's other type is noted.
    assert!(
        schema.contains("\"itemId\": String, // integer in the document"),
        "{schema}"
    );
    assert!(schema.contains("\"shopId\": String,\n"), "{schema}");
    assert!(schema.contains("// One item, by its id"), "{schema}");
    loads_everywhere(&dir, &schema);
    // Every route is denied until a policy is written: the secure default.
    let check = stdout(&l42(&["policy", "check", dir.path()]));
    assert!(
        check.contains("5 routes, 5 cache-safe, 5 never allowed"),
        "{check}"
    );
}

#[test]
fn an_api_gateway_export_in_swagger_2_0() {
    let (dir, schema, out) = init(
        &data("gateway-export-swagger-2.0.json"),
        &["--namespace", "Orders"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for action in [
        "\"any /{proxy+}\"",
        "\"get /orders\"",
        "\"options /orders\"",
        "\"get /orders/{id}\"",
    ] {
        assert!(
            schema.contains(&format!("action {action} appliesTo")),
            "{action}\n{schema}"
        );
    }
    assert!(schema.contains("namespace Orders {"), "{schema}");
    assert!(schema.contains("\"proxy\": String,"), "{schema}");
    loads_everywhere(&dir, &schema);
    // The starter policy, uncommented, decides through the authorizer.
    let policies = std::fs::read_to_string(dir.0.join("policies.cedar")).unwrap();
    let line = policies
        .lines()
        .find(|l| l.contains("\"get /orders/{id}\""))
        .unwrap()
        .trim_start_matches("// ")
        .to_owned();
    std::fs::write(
        dir.0.join("policies.cedar"),
        format!("{policies}\n{line}\n"),
    )
    .unwrap();
    let claims = dir.0.join("claims.yaml");
    std::fs::write(&claims, "sub: a-1\nusername: a\ncognito:groups: [admin]\n").unwrap();
    let explain = l42(&[
        "policy",
        "explain",
        dir.path(),
        "--claims",
        claims.to_str().unwrap(),
        "--path",
        "/orders/9",
    ]);
    assert!(
        stdout(&explain).starts_with("allow"),
        "{}{}",
        stdout(&explain),
        stderr(&explain)
    );
    let explain = l42(&[
        "policy",
        "explain",
        dir.path(),
        "--claims",
        claims.to_str().unwrap(),
        "--path",
        "/orders",
    ]);
    assert!(stdout(&explain).starts_with("deny"), "{}", stdout(&explain));
}

#[test]
fn openapi_3_1_json_and_the_namespace_from_the_title() {
    let (dir, schema, out) = init(&data("notes-openapi-3.1.json"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(schema.contains("namespace Notes {"), "{schema}");
    for verb in ["put", "patch", "head"] {
        assert!(
            schema.contains(&format!("action \"{verb} /notes/{{noteId}}\"")),
            "{schema}"
        );
    }
    loads_everywhere(&dir, &schema);
}

#[test]
fn init_never_overwrites() {
    let (dir, schema, out) = init(&data("notes-openapi-3.1.json"), &[]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(dir.0.join("policies.cedar"), "// mine\n").unwrap();
    let again = l42(&[
        "policy",
        "init",
        "--openapi",
        &data("shop-openapi-3.0.yaml"),
        "--out",
        dir.path(),
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", stdout(&again));
    assert!(
        stderr(&again).contains("never overwrites"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read_to_string(dir.0.join("schema.cedarschema")).unwrap(),
        schema
    );
    assert_eq!(
        std::fs::read_to_string(dir.0.join("policies.cedar")).unwrap(),
        "// mine\n"
    );
    // A folder holding another schema is refused too (it would hold two).
    let other = Scratch::new("other-schema");
    std::fs::create_dir_all(&other.0).unwrap();
    std::fs::write(other.0.join("old.cedarschema.json"), "{}").unwrap();
    let out = l42(&[
        "policy",
        "init",
        "--openapi",
        &data("notes-openapi-3.1.json"),
        "--out",
        other.path(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!other.0.join("schema.cedarschema").exists());
}

/// Documents init cannot use: exit 2, one line naming the problem, nothing written.
#[test]
fn unusable_documents_are_refused() {
    let docs = Scratch::new("docs");
    std::fs::create_dir_all(&docs.0).unwrap();
    let write = |name: &str, text: &str| {
        let path = docs.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cases = [
        (
            write("not-openapi.yaml", "asyncapi: 2.0.0\npaths: {}\n"),
            "not an OpenAPI",
        ),
        (
            write("v4.yaml", "openapi: 4.0.0\npaths: {}\n"),
            "not an OpenAPI",
        ),
        (
            write("no-paths.json", r#"{"openapi": "3.0.0"}"#),
            "no `paths`",
        ),
        (
            write("empty.yaml", "openapi: 3.0.0\npaths: {}\n"),
            "no operations",
        ),
        (
            write(
                "mixed.yaml",
                "openapi: 3.0.0\npaths:\n  /a/x{b}:\n    get: {}\n",
            ),
            "mixes text",
        ),
        (
            write(
                "ref.yaml",
                "openapi: 3.0.0\npaths:\n  /a:\n    $ref: other.yaml\n",
            ),
            "`$ref` path item",
        ),
        (
            write(
                "bad-verb-case.yaml",
                "openapi: 3.0.0\npaths:\n  /a/{b}:\n    get: {}\n  /a/{c}:\n    get: {}\n",
            ),
            "generated schema",
        ),
        (write("broken.yaml", "openapi: [\n"), "broken.yaml"),
        (
            write(
                "relative.yaml",
                "openapi: 3.0.0\npaths:\n  a/b:\n    get: {}\n",
            ),
            "not a route path",
        ),
        (
            write(
                "blank.json",
                r#"{"openapi": "3.0.0", "paths": {"": {"get": {}}}}"#,
            ),
            "not a route path",
        ),
        (
            write(
                "newline.json",
                r#"{"openapi": "3.0.0", "paths": {"/a\n@id(\"x\") permit(principal, action, resource);": {"get": {}}}}"#,
            ),
            "not a route path",
        ),
        (
            write("upper.yaml", "openapi: 3.0.0\npaths:\n  /a:\n    GET: {}\n"),
            "lower-case",
        ),
    ];
    for (doc, says) in cases {
        let out_dir = Scratch::new("refused");
        let out = l42(&["policy", "init", "--openapi", &doc, "--out", out_dir.path()]);
        assert_eq!(out.status.code(), Some(2), "{doc}: {}", stdout(&out));
        assert!(stderr(&out).contains(says), "{doc}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{doc}: {}", stderr(&out));
        assert!(!out_dir.0.exists(), "{doc}: nothing written");
    }
    let out_dir = Scratch::new("bad-namespace");
    let out = l42(&[
        "policy",
        "init",
        "--openapi",
        &data("notes-openapi-3.1.json"),
        "--out",
        out_dir.path(),
        "--namespace",
        "9bad",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a Cedar namespace"));
    assert!(!out_dir.0.exists());
}

/// `check --openapi`: the API and the schema must not drift apart, either way.
#[test]
fn check_reports_drift_both_ways() {
    let doc = data("gateway-export-swagger-2.0.json");
    let (dir, _, out) = init(&doc, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let check = l42(&["policy", "check", dir.path(), "--openapi", &doc]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    assert!(!stdout(&check).contains("drift"), "{}", stdout(&check));

    // The API gains an operation and loses one.
    let mut api: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&doc).unwrap()).unwrap();
    api["paths"]["/refunds"] = serde_json::json!({"post": {"responses": {}}});
    api["paths"].as_object_mut().unwrap().remove("/orders/{id}");
    let changed = dir.0.join("changed.json");
    std::fs::write(&changed, api.to_string()).unwrap();
    let check = l42(&[
        "policy",
        "check",
        dir.path(),
        "--openapi",
        changed.to_str().unwrap(),
    ]);
    let said = stdout(&check);
    assert_eq!(check.status.code(), Some(1), "{said}");
    assert!(said.contains("drift: the API's operation \"post /refunds\" has no action: every request to it is denied"), "{said}");
    assert!(
        said.contains("drift: the action \"get /orders/{id}\" is no operation of the API"),
        "{said}"
    );
    let json = l42(&[
        "policy",
        "check",
        dir.path(),
        "--openapi",
        changed.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["drift"]["operations_without_action"],
        serde_json::json!(["post /refunds"])
    );
    // A document that is not OpenAPI is bad input.
    let bad = dir.0.join("bad.yaml");
    std::fs::write(&bad, "hello: world\n").unwrap();
    let check = l42(&[
        "policy",
        "check",
        dir.path(),
        "--openapi",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(check.status.code(), Some(2));
}

/// Text from the document lands in comments only, one line each: an `operationId` or a
/// summary cannot plant a policy.
#[test]
fn document_text_cannot_plant_a_policy() {
    let docs = Scratch::new("planted");
    let doc = docs.write(
        "planted.json",
        r#"{"openapi": "3.0.0", "info": {"title": "T"}, "paths": {"/pets": {"get": {
            "operationId": "listPets\n@id(\"backdoor\") permit (principal, action, resource);\n//",
            "summary": "x\r\npermit (principal, action, resource);"}}}}"#,
    );
    let out_dir = Scratch::new("planted-out");
    let out = l42(&["policy", "init", "--openapi", &doc, "--out", out_dir.path()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let policies = std::fs::read_to_string(out_dir.0.join("policies.cedar")).unwrap();
    let set: cedar_policy::PolicySet = policies.parse().unwrap();
    assert_eq!(set.policies().count(), 0, "{policies}");
    let check = stdout(&l42(&["policy", "check", out_dir.path()]));
    assert!(check.contains("never allowed"), "{check}");
}

/// A folder laid out as `cedar/` is (schema/ and policies/) already holds a schema.
#[test]
fn init_refuses_a_folder_whose_subfolders_hold_a_schema() {
    let out_dir = Scratch::new("layout");
    out_dir.write("schema/app.cedarschema", "namespace A {}");
    let out = l42(&[
        "policy",
        "init",
        "--openapi",
        &data("notes-openapi-3.1.json"),
        "--out",
        out_dir.path(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("schema/app.cedarschema exists"),
        "{}",
        stderr(&out)
    );
    assert!(!out_dir.0.join("schema.cedarschema").exists());
}

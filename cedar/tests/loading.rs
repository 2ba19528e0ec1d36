//! Loader: folders, sources, configuration and every load error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{TempDir, engine, load_error, schema_with};
use l42_cedar::{Engine, LoadError, PolicyConfig};

const GET_A: &str =
    "  action \"get /a\" appliesTo { principal: [User], resource: [Application] };\n";
const PERMIT_ALL: &str = "permit(principal, action, resource);";

fn example_dir(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    dir.write("app.cedarschema", include_str!("../schema/app.cedarschema"));
    dir.write("admin.cedar", include_str!("../policies/admin.cedar"));
    dir.write("common.cedar", include_str!("../policies/common.cedar"));
    dir.write("orders.cedar", include_str!("../policies/orders.cedar"));
    dir
}

#[test]
fn loads_a_folder() {
    let dir = example_dir("ok");
    dir.write("README.md", "ignored");
    dir.write("z-extra.cedar", "permit(principal in App::UserGroup::\"ops\", action == App::Action::\"get /me\", resource);\n");
    let engine = Engine::from_dir(&dir.0).unwrap();
    assert_eq!(engine.policy_count(), 7);
    // A policy without @id is named after its file stem and index.
    let ids: Vec<String> = engine
        .policies()
        .policies()
        .map(|p| p.id().to_string())
        .collect();
    assert!(ids.contains(&"z-extra.0".to_owned()), "{ids:?}");
    // Files are read in name order, so ids and slices are deterministic.
    let again = Engine::from_dir(&dir.0).unwrap();
    let ids2: Vec<String> = again
        .policies()
        .policies()
        .map(|p| p.id().to_string())
        .collect();
    assert_eq!(ids, ids2);
}

#[test]
fn config_selects_folder_and_application() {
    let dir = example_dir("cfg");
    let config = PolicyConfig {
        policy_dir: Some(dir.0.clone()),
        application: Some("orders-api".into()),
        ..PolicyConfig::default()
    };
    let engine = Engine::from_config(&config).unwrap();
    assert_eq!(engine.application(), "orders-api");
    assert_eq!(engine.namespace(), "App");

    let engine = Engine::from_config(&PolicyConfig::default()).unwrap();
    assert_eq!(engine.application(), "App");
    assert_eq!(
        engine.policy_count(),
        Engine::embedded().unwrap().policy_count()
    );

    let from_lookup = PolicyConfig::from_lookup(|name| match name {
        PolicyConfig::POLICY_DIR_VAR => Some(dir.0.clone().into_os_string()),
        PolicyConfig::APPLICATION_VAR => Some("x".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(from_lookup.policy_dir.as_deref(), Some(dir.0.as_path()));
    assert_eq!(from_lookup.application.as_deref(), Some("x"));

    let err = Engine::from_sources(&schema_with(GET_A), &[("p.cedar", PERMIT_ALL)], Some(""))
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::Application { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn non_unicode_env_value_is_an_error() {
    use std::os::unix::ffi::OsStringExt;
    let err = PolicyConfig::from_lookup(|name| {
        (name == PolicyConfig::APPLICATION_VAR).then(|| std::ffi::OsString::from_vec(vec![0xff]))
    })
    .unwrap_err();
    assert!(matches!(
        err,
        LoadError::EnvNotUnicode {
            name: "CEDAR_APPLICATION"
        }
    ));
}

#[test]
fn folder_errors() {
    let dir = TempDir::new("two-schemas");
    dir.write("a.cedarschema", schema_with(GET_A));
    dir.write("b.cedarschema", schema_with(GET_A));
    dir.write("p.cedar", PERMIT_ALL);
    let err = Engine::from_dir(&dir.0).err().unwrap();
    assert!(
        matches!(err, LoadError::SeveralSchemas { ref files, .. } if files.len() == 2),
        "{err}"
    );
    assert!(err.to_string().contains("a.cedarschema"), "{err}");

    // One schema in either format: a human one and a JSON one are two.
    let dir = TempDir::new("two-formats");
    dir.write("a.cedarschema", schema_with(GET_A));
    dir.write("a.cedarschema.json", json_schema());
    dir.write("p.cedar", PERMIT_ALL);
    let err = Engine::from_dir(&dir.0).err().unwrap();
    assert!(
        matches!(err, LoadError::SeveralSchemas { ref files, .. } if files.len() == 2),
        "{err}"
    );
    assert!(err.to_string().contains("a.cedarschema.json"), "{err}");
    // A JSON file that is not a schema's name is not read as one.
    let dir = TempDir::new("other-json");
    dir.write("a.cedarschema", schema_with(GET_A));
    dir.write("package.json", "{}");
    dir.write("p.cedar", PERMIT_ALL);
    Engine::from_dir(&dir.0).unwrap();

    let dir = TempDir::new("no-schema");
    dir.write("p.cedar", PERMIT_ALL);
    let err = Engine::from_dir(&dir.0).err().unwrap();
    assert!(matches!(err, LoadError::NoSchema { .. }), "{err}");

    let dir = TempDir::new("no-policies");
    dir.write("a.cedarschema", schema_with(GET_A));
    let err = Engine::from_dir(&dir.0).err().unwrap();
    assert!(matches!(err, LoadError::NoPolicies { .. }), "{err}");

    let dir = TempDir::new("unreadable");
    dir.write("a.cedarschema", schema_with(GET_A));
    dir.write("bad.cedar", [0xff, 0xfe, 0x00]);
    let err = Engine::from_dir(&dir.0).err().unwrap();
    assert!(matches!(err, LoadError::Io { .. }), "{err}");
    assert!(err.to_string().contains("bad.cedar"), "{err}");

    let err = Engine::from_dir(&dir.0.join("missing")).err().unwrap();
    assert!(matches!(err, LoadError::Io { .. }), "{err}");

    let dir = TempDir::new("parse");
    dir.write("a.cedarschema", schema_with(GET_A));
    dir.write("good.cedar", PERMIT_ALL);
    dir.write(
        "broken.cedar",
        "permit(principal, action, resource);\npermit(principal action, resource);\n",
    );
    let err = Engine::from_dir(&dir.0).err().unwrap();
    assert!(
        matches!(err, LoadError::PolicyParse { line: Some(2), .. }),
        "{err}"
    );
    assert!(err.to_string().contains("broken.cedar:2"), "{err}");
}

#[test]
fn schema_errors() {
    let err = load_error("namespace App { entity User in [UserGroup] }", PERMIT_ALL);
    assert!(
        matches!(err, LoadError::SchemaParse { line: Some(1), .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("schema:1: "), "{err}");

    let err = load_error("namespace App { entity User in [Nope]; }", PERMIT_ALL);
    assert!(matches!(err, LoadError::SchemaParse { .. }), "{err}");

    let two = format!("{}\nnamespace Other {{ entity X; }}", schema_with(GET_A));
    let err = load_error(&two, PERMIT_ALL);
    assert!(
        matches!(err, LoadError::Namespace { ref found, .. } if found.len() == 2),
        "{err}"
    );

    let none = "entity UserGroup; entity User in [UserGroup]; entity Application;";
    let err = load_error(none, PERMIT_ALL);
    assert!(matches!(err, LoadError::Namespace { .. }), "{err}");

    let mixed = format!("{}\nentity Stray;", schema_with(GET_A));
    let err = load_error(&mixed, PERMIT_ALL);
    assert!(matches!(err, LoadError::Namespace { .. }), "{err}");

    let err = load_error(
        "namespace App { entity UserGroup; entity User in [UserGroup]; }",
        PERMIT_ALL,
    );
    assert!(
        matches!(
            err,
            LoadError::MissingEntityType {
                entity_type: "Application",
                ..
            }
        ),
        "{err}"
    );

    let err = load_error(
        "namespace App { entity UserGroup; entity User; entity Application; }",
        PERMIT_ALL,
    );
    assert!(
        matches!(
            err,
            LoadError::EntityShape {
                entity_type: "User",
                ..
            }
        ),
        "{err}"
    );

    let err = load_error(
        "namespace App { entity UserGroup { name: String }; entity User in [UserGroup]; entity Application; }",
        PERMIT_ALL,
    );
    assert!(
        matches!(
            err,
            LoadError::EntityShape {
                entity_type: "UserGroup",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn other_namespace_names_work() {
    let schema = "namespace Acme::Shop {
  entity UserGroup; entity User in [UserGroup]; entity Application;
  action \"get /a\" appliesTo { principal: [User], resource: [Application] };
}";
    let e = engine(
        schema,
        "permit(principal in Acme::Shop::UserGroup::\"g\", action == Acme::Shop::Action::\"get /a\", resource == Acme::Shop::Application::\"Acme::Shop\");",
    );
    assert_eq!(e.namespace(), "Acme::Shop");
    let groups = vec!["g".to_owned()];
    let d = common::decide_path(
        &e,
        "GET",
        "/a",
        &l42_cedar::Principal::new("s", &groups),
        &[],
    );
    assert!(d.allowed, "{d:?}");
}

#[test]
fn user_attribute_errors() {
    let schema = |attrs: &str| {
        format!(
            "namespace App {{ entity UserGroup; entity User in [UserGroup] {{ {attrs} }}; entity Application; {GET_A} }}"
        )
    };
    // Any other attribute reads the claim of its name; a type no claim coerces to is
    // refused at load, naming the attribute (and the field of a record).
    for (declared, named) in [
        ("department: Application", "department"),
        ("\"custom:score\": Set<Long>", "custom:score"),
        ("profile: { nested: Set<Set<String>> }", "profile.nested"),
        ("ip: ipaddr", "ip"),
    ] {
        let err = load_error(&schema(declared), PERMIT_ALL);
        assert!(
            matches!(err, LoadError::UnsupportedClaimType { .. }),
            "{declared}: {err}"
        );
        assert!(err.to_string().contains(named), "{declared}: {err}");
    }
    engine(
        &schema(
            "department: String, \"custom:tenant\"?: String, level: Long, admin?: Bool, roles: Set<String>, profile?: { team: String, rank?: Long }",
        ),
        PERMIT_ALL,
    );
    let err = load_error(&schema("email: Long"), PERMIT_ALL);
    assert!(
        matches!(err, LoadError::UnsupportedUserAttributeType { .. }),
        "{err}"
    );
    engine(
        &schema("email: String, username?: String, clientId?: String, tokenUse?: String"),
        PERMIT_ALL,
    );
}

/// A folder may keep its schema and policies in `schema/` and `policies/`, as the shipped
/// example does: this crate's own folder loads as the embedded example.
#[test]
fn schema_and_policies_subfolders_are_read() {
    let e = Engine::from_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let embedded = Engine::embedded().unwrap();
    assert_eq!(e.policy_count(), embedded.policy_count());
    let names = |e: &Engine| {
        e.routes()
            .map(|r| r.action().name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&e), names(&embedded));
    // Still exactly one schema, wherever it is.
    let dir = TempDir::new("subfolders");
    std::fs::create_dir_all(dir.0.join("schema")).unwrap();
    std::fs::create_dir_all(dir.0.join("policies")).unwrap();
    let schema = schema_with(GET_A);
    dir.write("schema/app.cedarschema", &schema);
    dir.write("policies/all.cedar", PERMIT_ALL);
    assert_eq!(Engine::from_dir(&dir.0).unwrap().policy_count(), 1);
    dir.write("top.cedarschema", &schema);
    let err = Engine::from_dir(&dir.0).unwrap_err();
    assert!(matches!(err, LoadError::SeveralSchemas { .. }), "{err}");
    // Other subfolders are not read.
    let other = TempDir::new("other-subfolder");
    std::fs::create_dir_all(other.0.join("old")).unwrap();
    other.write("old/app.cedarschema", &schema);
    other.write("all.cedar", PERMIT_ALL);
    assert!(matches!(
        Engine::from_dir(&other.0).unwrap_err(),
        LoadError::NoSchema { .. }
    ));
}

#[test]
fn client_entity_type_errors() {
    let schema = |client: &str, principals: &str| {
        format!(
            "namespace App {{ entity UserGroup; entity User in [UserGroup]; {client} entity Application;
               action \"get /a\" appliesTo {{ principal: [{principals}], resource: [Application] }}; }}"
        )
    };
    // Client attributes follow the User rules; errors name the Client type.
    let err = load_error(
        &schema("entity Client { level: Set<Long> };", "Client"),
        PERMIT_ALL,
    );
    assert!(
        matches!(
            err,
            LoadError::UnsupportedClaimType {
                entity_type: "Client",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("entity Client"), "{err}");
    let err = load_error(
        &schema("entity Client { clientId: Long };", "Client"),
        PERMIT_ALL,
    );
    assert!(
        matches!(
            err,
            LoadError::UnsupportedUserAttributeType {
                entity_type: "Client",
                ..
            }
        ),
        "{err}"
    );
    // A machine client has no username or email: requiring one could never be met.
    for attr in ["username", "email"] {
        let err = load_error(
            &schema(&format!("entity Client {{ {attr}: String }};"), "Client"),
            PERMIT_ALL,
        );
        assert!(
            matches!(
                err,
                LoadError::EntityShape {
                    entity_type: "Client",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(attr), "{err}");
        engine(
            &schema(&format!("entity Client {{ {attr}?: String }};"), "Client"),
            PERMIT_ALL,
        );
    }
    let err = load_error(
        &schema("entity Client enum [\"c1\"];", "Client"),
        PERMIT_ALL,
    );
    assert!(err.to_string().contains("enumerated"), "{err}");
    // A route for machines alone loads; one for neither User nor Client does not.
    let e = engine(
        &schema(
            "entity Client { clientId: String, tokenUse?: String, tier?: Long };",
            "Client",
        ),
        PERMIT_ALL,
    );
    assert!(e.has_client_type());
    assert_eq!(e.principal_claims(), ["tier"]);
    assert!(e.action("get /a").is_some());
    let err = load_error(&schema("entity Client;", "UserGroup"), PERMIT_ALL);
    assert!(err.to_string().contains("User (or Client)"), "{err}");
    // Without a Client type nothing changes.
    assert!(!engine(&schema("", "User"), PERMIT_ALL).has_client_type());
}

/// The claims both principal types read are handed to the verifier once each.
#[test]
fn user_and_client_claims_are_named_once() {
    let e = engine(
        &format!(
            "namespace App {{ entity UserGroup; entity User in [UserGroup] {{ tenant?: String, tier?: Long }};
               entity Client {{ tier?: Long, partner?: String }}; entity Application; {GET_A} }}"
        ),
        PERMIT_ALL,
    );
    assert_eq!(e.principal_claims(), ["tenant", "tier", "partner"]);
}

#[test]
fn policy_errors() {
    let schema = schema_with(GET_A);

    let err = load_error(&schema, "permit(principal, action, resource) when { 1 + };");
    assert!(matches!(err, LoadError::PolicyParse { .. }), "{err}");
    assert!(err.to_string().starts_with("test.cedar:1: "), "{err}");

    let err = load_error(
        &schema,
        "permit(principal, action == App::Action::\"get /b\", resource);",
    );
    let LoadError::Validation { problems } = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].file, "test.cedar");
    assert_eq!(problems[0].policy_id, "test.0");
    assert_eq!(problems[0].line, Some(1));
    assert!(err.to_string().contains("unrecognized action"), "{err}");

    let err = load_error(
        &schema,
        "// first\npermit(principal, action, resource);\n\n@id(\"bad-attr\")\npermit(principal, action, resource) when { principal.department == \"x\" };",
    );
    let LoadError::Validation { problems } = &err else {
        panic!("{err}")
    };
    assert_eq!(problems[0].policy_id, "bad-attr");
    assert_eq!(problems[0].line, Some(4));
    assert!(
        err.to_string().contains("test.cedar:4: policy bad-attr"),
        "{err}"
    );

    let err = load_error(
        &schema,
        "permit(principal == ?principal, action, resource);",
    );
    assert!(matches!(err, LoadError::Template { .. }), "{err}");
    assert!(err.to_string().contains("templates"), "{err}");

    let err = load_error(
        &schema,
        "@id(\"same\") permit(principal, action, resource);\n@id(\"same\") forbid(principal, action, resource);",
    );
    assert!(
        matches!(err, LoadError::DuplicatePolicyId { line: Some(2), .. }),
        "{err}"
    );

    // An @id colliding with a generated id in another file.
    let err = Engine::from_sources(
        &schema,
        &[
            ("a.cedar", PERMIT_ALL),
            (
                "b.cedar",
                "@id(\"a.0\") permit(principal, action, resource);",
            ),
        ],
        None,
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, LoadError::DuplicatePolicyId { ref first_file, .. } if first_file == "a.cedar"),
        "{err}"
    );

    let err = load_error(&schema, "@id(\"\") permit(principal, action, resource);");
    assert!(matches!(err, LoadError::PolicyParse { .. }), "{err}");
}

#[test]
fn route_name_errors() {
    let err = load_error(
        &schema_with(
            "  action \"GET /orders\" appliesTo { principal: [User], resource: [Application] };",
        ),
        PERMIT_ALL,
    );
    assert!(matches!(err, LoadError::Route { .. }), "{err}");
    assert!(err.to_string().contains("\"get /orders\""), "{err}");

    let err = load_error(
        &schema_with(
            "  action \"fetch /orders\" appliesTo { principal: [User], resource: [Application] };",
        ),
        PERMIT_ALL,
    );
    assert!(err.to_string().contains("unknown route verb"), "{err}");

    let err = load_error(
        &schema_with(
            "  action \"get /orders/{id\" appliesTo { principal: [User], resource: [Application] };",
        ),
        PERMIT_ALL,
    );
    assert!(matches!(err, LoadError::Route { .. }), "{err}");

    let err = load_error(
        &schema_with(
            "  entity Other;\n  action \"get /x\" appliesTo { principal: [Other], resource: [Application] };",
        ),
        PERMIT_ALL,
    );
    assert!(
        err.to_string().contains("must apply to principal User"),
        "{err}"
    );
}

#[test]
fn context_declaration_errors() {
    let with_context = |ctx: &str| {
        schema_with(&format!(
            "  action \"get /a\" appliesTo {{ principal: [User], resource: [Application], context: {ctx} }};"
        ))
    };
    let err = load_error(&with_context("{ authTime: String }"), PERMIT_ALL);
    assert!(
        matches!(err, LoadError::UnsupportedContextType { ref attribute, expected: "Long", .. } if attribute == "authTime"),
        "{err}"
    );
    assert!(err.to_string().contains("\"get /a\""), "{err}");

    let err = load_error(
        &with_context("{ pathParameters: { id: Set<String> } }"),
        PERMIT_ALL,
    );
    assert!(
        matches!(err, LoadError::UnsupportedContextType { ref attribute, .. } if attribute == "pathParameters.id"),
        "{err}"
    );

    let err = load_error(&with_context("{ sourceIp: ipaddr }"), PERMIT_ALL);
    assert!(
        matches!(err, LoadError::UnsupportedContextType { .. }),
        "{err}"
    );

    let err = load_error(&with_context("{ scopes: Set<Long> }"), PERMIT_ALL);
    assert!(
        matches!(err, LoadError::UnsupportedContextType { .. }),
        "{err}"
    );

    let err = load_error(&with_context("{ tenant: String }"), PERMIT_ALL);
    assert!(
        matches!(err, LoadError::UnknownContextAttribute { ref attribute, .. } if attribute == "tenant"),
        "{err}"
    );

    // Every supported type, through a common type.
    let schema = schema_with(
        "  type Q = { limit?: Long, verbose?: Bool, q?: String };
  type Ctx = { method: String, path: String, sourceIp?: String, scopes: Set<String>,
               authTime: Long, pathParameters: {}, queryStringParameters: Q };
  action \"get /a\" appliesTo { principal: [User], resource: [Application], context: Ctx };",
    );
    engine(&schema, PERMIT_ALL);
}

#[test]
fn an_enumerated_application_must_list_the_configured_name() {
    let schema = schema_with(GET_A).replace(
        "entity Application;",
        r#"entity Application enum ["shop"];"#,
    );
    let engine = Engine::from_sources(&schema, &[("p.cedar", PERMIT_ALL)], Some("shop")).unwrap();
    assert_eq!(engine.application(), "shop");
    // A configured name the enumeration lacks: the name is at fault (CEDAR_APPLICATION).
    let err = Engine::from_sources(&schema, &[("p.cedar", PERMIT_ALL)], Some("other"))
        .err()
        .unwrap();
    assert!(
        matches!(err, LoadError::Application { ref name, .. } if name == "other"),
        "{err}"
    );
    // The default name (the namespace's) missing from it: the schema is at fault.
    let err = Engine::from_sources(&schema, &[("p.cedar", PERMIT_ALL)], None)
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            LoadError::EntityShape {
                entity_type: "Application",
                ..
            }
        ),
        "{err}"
    );
}

/// The schema of `schema_with(GET_A)` in Cedar's JSON format, as Verified Permissions'
/// console and `aws verifiedpermissions get-schema` give it.
fn json_schema() -> String {
    serde_json::json!({
        "App": {
            "entityTypes": {
                "UserGroup": {},
                "User": {
                    "memberOfTypes": ["UserGroup"],
                    "shape": {"type": "Record", "attributes": {
                        "custom:tenant": {"type": "String", "required": false}
                    }}
                },
                "Application": {}
            },
            "actions": {
                "get /a": {"appliesTo": {"principalTypes": ["User"], "resourceTypes": ["Application"]}}
            }
        }
    })
    .to_string()
}

#[test]
fn a_json_schema_loads_as_its_human_form_does() {
    let dir = TempDir::new("json-schema");
    dir.write("schema.cedarschema.json", json_schema());
    dir.write("p.cedar", PERMIT_ALL);
    let from_dir = Engine::from_dir(&dir.0).unwrap();
    assert_eq!(from_dir.principal_claims(), ["custom:tenant"]);
    // Given as text, a schema that starts with `{` is JSON too.
    let from_text = engine(&json_schema(), PERMIT_ALL);
    assert_eq!(from_text.routes().count(), from_dir.routes().count());
    // A broken JSON schema is an error naming its file, not a panic.
    let dir = TempDir::new("json-broken");
    dir.write("schema.cedarschema.json", "{\"App\": {\"entityTypes\": 7}}");
    dir.write("p.cedar", PERMIT_ALL);
    let err = Engine::from_dir(&dir.0).err().unwrap();
    assert!(matches!(err, LoadError::SchemaParse { .. }), "{err}");
    assert!(err.to_string().contains("schema.cedarschema.json"), "{err}");
}

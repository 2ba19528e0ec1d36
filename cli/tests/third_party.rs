//! `l42 policy init` over OpenAPI documents this project did not write: the Swagger
//! Petstore in OpenAPI 3.0 (YAML), 3.1 (JSON) and Swagger 2.0 (YAML), as the npm package
//! `@readme/oas-examples` 8.2.2 (MIT) carries them. `scripts/test-all` installs it into
//! `cli/tests/third-party/node_modules/` with `npm ci`; the documents are not copied into
//! the repository.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::PathBuf;

use common::{Scratch, l42, stderr, stdout};

fn document(relative: &str) -> String {
    let root: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/third-party/node_modules/@readme/oas-examples",
    ]
    .iter()
    .collect();
    let path = root.join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/test-all, which installs cli/tests/third-party/ with npm ci",
        path.display()
    );
    path.display().to_string()
}

/// The Petstore's operations, as the authorizer names them (the same in every version).
const PETSTORE: [&str; 20] = [
    "delete /pet/{petId}",
    "delete /store/order/{orderId}",
    "delete /user/{username}",
    "get /pet/findByStatus",
    "get /pet/findByTags",
    "get /pet/{petId}",
    "get /store/inventory",
    "get /store/order/{orderId}",
    "get /user/login",
    "get /user/logout",
    "get /user/{username}",
    "post /pet",
    "post /pet/{petId}",
    "post /pet/{petId}/uploadImage",
    "post /store/order",
    "post /user",
    "post /user/createWithArray",
    "post /user/createWithList",
    "put /pet",
    "put /user/{username}",
];

#[test]
fn the_petstore_in_every_version_gives_a_schema_that_loads() {
    for (relative, namespace) in [
        ("3.0/yaml/petstore.yaml", "SwaggerPetstore"),
        ("3.1/json/petstore.json", "SwaggerPetstore"),
        ("2.0/yaml/petstore.yaml", "SwaggerPetstore"),
    ] {
        let doc = document(relative);
        let out_dir = Scratch::new("petstore");
        let out = l42(&[
            "policy",
            "init",
            "--openapi",
            &doc,
            "--out",
            out_dir.path(),
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{relative}: {}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["namespace"], namespace, "{relative}");
        let actions: Vec<&str> = report["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(actions, PETSTORE, "{relative}");

        // The authorizer's own start-up validation, and cedar-policy on its own.
        let check = l42(&["policy", "check", out_dir.path()]);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{relative}: {}",
            stdout(&check)
        );
        assert!(
            stdout(&check).contains("20 routes,"),
            "{relative}: {}",
            stdout(&check)
        );
        let schema = std::fs::read_to_string(out_dir.0.join("schema.cedarschema")).unwrap();
        let (_schema, warnings) = cedar_policy::Schema::from_cedarschema_str(&schema).unwrap();
        assert_eq!(warnings.count(), 0, "{relative}");
        // The document's integer ids are Strings here, their type noted.
        assert!(
            schema.contains("\"petId\": String, // integer in the document"),
            "{relative}:\n{schema}"
        );
    }
}

//! The protocol engine for the token handler's `/authorize`: the shipped files, loading
//! errors, context handling and failing closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use l42_cedar::LoadError;
use l42_cedar::protocol::{DecisionKind, ProtocolEngine, ProtocolRequest, ResourceRef};
use serde_json::{Map, Value, json};

fn request<'a>(groups: &'a [String], action: &'a str) -> ProtocolRequest<'a> {
    ProtocolRequest {
        sub: "alice",
        email: Some("alice@example.com"),
        groups,
        action,
        resource: ResourceRef::default(),
        context: None,
    }
}

fn groups(names: &[&str]) -> Vec<String> {
    names.iter().map(|g| (*g).to_owned()).collect()
}

#[test]
fn the_shipped_files_load_through_the_strict_path_too() {
    let policies = ProtocolEngine::embedded_policy_texts();
    let engine =
        ProtocolEngine::from_sources(ProtocolEngine::embedded_schema_text(), policies).unwrap();
    assert_eq!(engine.policy_count(), 9);
    assert!(engine.has_action("admin:delete-user"));
    assert!(!engine.has_action("get /orders"));
}

#[test]
fn decisions_of_the_default_policies() {
    let engine = ProtocolEngine::embedded().unwrap();
    let admin = groups(&["Admins"]);
    let d = engine.decide(&request(&admin, "admin:manage"));
    assert!(d.allowed);
    assert_eq!(d.kind, DecisionKind::Permitted);
    assert_eq!(d.policies, ["admin-all"]);

    let users = groups(&["users"]);
    let d = engine.decide(&request(&users, "admin:manage"));
    assert!(!d.allowed);
    assert_eq!(d.kind, DecisionKind::NoPermit);

    let d = engine.decide(&ProtocolRequest {
        resource: ResourceRef {
            id: Some("doc"),
            resource_type: Some("document"),
            owner: Some("bob"),
        },
        ..request(&admin, "delete:own")
    });
    assert_eq!(d.kind, DecisionKind::Forbidden);
    assert_eq!(d.policies, ["owner-only"]);

    let d = engine.decide(&request(&admin, "no:such"));
    assert_eq!(d.kind, DecisionKind::UnknownAction);
    assert_eq!(d.reason, "unknown action \"no:such\"");
}

#[test]
fn bad_principals_are_denied_not_errors() {
    let engine = ProtocolEngine::embedded().unwrap();
    let admin = groups(&["admin"]);
    let d = engine.decide(&ProtocolRequest {
        sub: "",
        ..request(&admin, "read:content")
    });
    assert_eq!(d.kind, DecisionKind::InvalidRequest);
    let many: Vec<String> = (0..1000).map(|i| format!("g{i}")).collect();
    let d = engine.decide(&request(&many, "read:content"));
    assert_eq!(d.kind, DecisionKind::InvalidRequest);
    let long = "x".repeat(5000);
    let d = engine.decide(&ProtocolRequest {
        resource: ResourceRef {
            id: Some(&long),
            ..ResourceRef::default()
        },
        ..request(&admin, "read:content")
    });
    assert_eq!(d.kind, DecisionKind::InvalidRequest);
    assert!(!d.allowed);
}

const CONTEXT_SCHEMA: &str = r#"
namespace App {
    entity UserGroup;
    entity User in [UserGroup] { email: String, sub: String };
    entity Resource { resourceType: String, owner?: User };
    type Ctx = { mfa: Bool };
    action "read:content" appliesTo { principal: User, resource: Resource, context: { level: Long } };
    action "write:content" appliesTo { principal: User, resource: Resource, context: Ctx };
}
"#;

#[test]
fn declared_context_attributes_are_used_and_others_ignored() {
    let engine = ProtocolEngine::from_sources(
        CONTEXT_SCHEMA,
        &[(
            "p.cedar",
            r#"@id("levels") permit(principal, action == App::Action::"read:content", resource) when { context.level > 2 };
               @id("mfa") permit(principal, action == App::Action::"write:content", resource) when { context.mfa };"#,
        )],
    )
    .unwrap();
    let none = groups(&[]);
    let ctx = |v: Value| -> Map<String, Value> { v.as_object().unwrap().clone() };
    let high = ctx(json!({"level": 3, "extra": "ignored"}));
    let d = engine.decide(&ProtocolRequest {
        context: Some(&high),
        ..request(&none, "read:content")
    });
    assert!(d.allowed, "{d:?}");
    let low = ctx(json!({"level": 1}));
    assert!(
        !engine
            .decide(&ProtocolRequest {
                context: Some(&low),
                ..request(&none, "read:content")
            })
            .allowed
    );
    // Missing or mistyped declared attributes deny with the reason.
    let wrong = ctx(json!({"level": "high"}));
    let d = engine.decide(&ProtocolRequest {
        context: Some(&wrong),
        ..request(&none, "read:content")
    });
    assert_eq!(d.kind, DecisionKind::InvalidRequest);
    assert!(d.reason.starts_with("invalid"), "{}", d.reason);
    let d = engine.decide(&request(&none, "read:content"));
    assert_eq!(d.kind, DecisionKind::InvalidRequest);
    // A common-type context works the same.
    let mfa = ctx(json!({"mfa": true}));
    assert!(
        engine
            .decide(&ProtocolRequest {
                context: Some(&mfa),
                ..request(&none, "write:content")
            })
            .allowed
    );
}

#[test]
fn loading_errors_name_what_is_wrong() {
    let schema = ProtocolEngine::embedded_schema_text();
    let err = ProtocolEngine::from_sources(
        schema,
        &[(
            "bad.cedar",
            "permit(principal, action == App::Action::\"nope\", resource);",
        )],
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::Validation { .. }), "{err}");
    assert!(err.to_string().contains("bad.cedar"), "{err}");

    let err = ProtocolEngine::from_sources(
        "namespace Other { entity User; }",
        &[("p.cedar", "permit(principal, action, resource);")],
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::Namespace { .. }), "{err}");

    let err = ProtocolEngine::from_sources(
        "namespace App { entity User; entity UserGroup; }",
        &[("p.cedar", "permit(principal, action, resource);")],
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::MissingEntityType {
                entity_type: "Resource",
                ..
            }
        ),
        "{err}"
    );

    let err = ProtocolEngine::from_sources(schema, &[("p.cedar", "permit(principal")]).unwrap_err();
    assert!(matches!(err, LoadError::PolicyParse { .. }), "{err}");

    let err = ProtocolEngine::from_sources(
        schema,
        &[
            ("a.cedar", "@id(\"x\") permit(principal, action, resource);"),
            ("b.cedar", "@id(\"x\") permit(principal, action, resource);"),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::DuplicatePolicyId { .. }), "{err}");
}

#[test]
fn an_erroring_forbid_denies() {
    // Cedar skips a policy whose evaluation errors (here an overflow), which would let the
    // permit through. The engine denies instead.
    let engine = ProtocolEngine::from_sources(
        CONTEXT_SCHEMA,
        &[(
            "p.cedar",
            "@id(\"all\") permit(principal, action, resource);\n\
             @id(\"overflowing\") forbid(principal, action == App::Action::\"read:content\", resource) \
             when { context.level * 9223372036854775807 > 0 };",
        )],
    )
    .unwrap();
    let none = groups(&[]);
    let level = json!({"level": 2}).as_object().unwrap().clone();
    let d = engine.decide(&ProtocolRequest {
        context: Some(&level),
        ..request(&none, "read:content")
    });
    assert!(!d.allowed);
    assert_eq!(d.kind, DecisionKind::EvaluationError);
    assert!(!d.errors.is_empty());
    // Without the overflow the forbid applies normally.
    let level = json!({"level": 0}).as_object().unwrap().clone();
    let d = engine.decide(&ProtocolRequest {
        context: Some(&level),
        ..request(&none, "read:content")
    });
    assert!(d.allowed, "{d:?}");
}

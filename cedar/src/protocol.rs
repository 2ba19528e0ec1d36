//! Cedar for the token handler's `POST {P}/authorize` (the L42 protocol, namespace `App`).
//!
//! Unlike the route-oriented [`Engine`](crate::Engine), the actions here are the protocol's
//! named permissions (`read:content`, `write:own`, ...), the principal is
//! `App::User::"<sub>"` with its groups as parents, and the resource is
//! `App::Resource::"<id>"` (`"_application"` when the request names none) with a
//! `resourceType` and an optional `owner`.
//!
//! Group names are lower-cased and mapped through the alias table
//! ([`canonical_group`]): `Admins` becomes `admin`, `mods` becomes `moderators`, and so on.
//!
//! Deciding never fails: an unknown action, a request the schema rejects or a policy that
//! errors while evaluating is a deny with the reason.
//!
//! ```
//! use l42_cedar::protocol::{ProtocolEngine, ProtocolRequest, ResourceRef};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = ProtocolEngine::embedded()?;
//! let groups = vec!["Editors".to_owned()];
//! let request = ProtocolRequest {
//!     sub: "user-1",
//!     email: Some("user@example.com"),
//!     groups: &groups,
//!     action: "write:content",
//!     resource: ResourceRef::default(),
//!     context: None,
//! };
//! let decision = engine.decide(&request);
//! assert!(decision.allowed);
//! assert_eq!(decision.policies, ["editors"]);
//!
//! let decision = engine.decide(&ProtocolRequest { action: "admin:manage", ..request });
//! assert!(!decision.allowed);
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Effect, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, PolicySet, Request, RestrictedExpression, Schema,
};
use serde_json::{Map, Value};

use crate::error::LoadError;
use crate::loader::{SourceFile, load_policies, parse_schema, sources_of};

/// The namespace of the protocol schema.
pub const NAMESPACE: &str = "App";

/// The resource id used when a request names no resource id.
pub const APPLICATION_RESOURCE: &str = "_application";

/// The `resourceType` used when a request names none.
pub const DEFAULT_RESOURCE_TYPE: &str = "application";

/// The longest action name, resource id, type or owner accepted (longer is a deny).
pub const MAX_NAME_BYTES: usize = 1024;

/// The most groups taken from one principal (more is a deny: it is no real user).
pub const MAX_GROUPS: usize = 256;

/// The shipped protocol schema.
const EMBEDDED_SCHEMA: (&str, &str) = (
    "protocol/protocol.cedarschema",
    include_str!("../protocol/protocol.cedarschema"),
);

/// The shipped default policies, sorted by name.
const EMBEDDED_POLICIES: [(&str, &str); 9] = [
    (
        "protocol/policies/admin.cedar",
        include_str!("../protocol/policies/admin.cedar"),
    ),
    (
        "protocol/policies/developers.cedar",
        include_str!("../protocol/policies/developers.cedar"),
    ),
    (
        "protocol/policies/editors.cedar",
        include_str!("../protocol/policies/editors.cedar"),
    ),
    (
        "protocol/policies/moderators.cedar",
        include_str!("../protocol/policies/moderators.cedar"),
    ),
    (
        "protocol/policies/ownership.cedar",
        include_str!("../protocol/policies/ownership.cedar"),
    ),
    (
        "protocol/policies/publishers.cedar",
        include_str!("../protocol/policies/publishers.cedar"),
    ),
    (
        "protocol/policies/readonly.cedar",
        include_str!("../protocol/policies/readonly.cedar"),
    ),
    (
        "protocol/policies/reviewers.cedar",
        include_str!("../protocol/policies/reviewers.cedar"),
    ),
    (
        "protocol/policies/users.cedar",
        include_str!("../protocol/policies/users.cedar"),
    ),
];

/// The alias table: lower-case group name → canonical group.
const ALIASES: [(&str, &str); 25] = [
    ("admin", "admin"),
    ("admins", "admin"),
    ("administrators", "admin"),
    ("readonly", "readonly"),
    ("read-only", "readonly"),
    ("viewer", "readonly"),
    ("viewers", "readonly"),
    ("user", "users"),
    ("users", "users"),
    ("member", "users"),
    ("members", "users"),
    ("editor", "editors"),
    ("editors", "editors"),
    ("reviewer", "reviewers"),
    ("reviewers", "reviewers"),
    ("publisher", "publishers"),
    ("publishers", "publishers"),
    ("moderator", "moderators"),
    ("moderators", "moderators"),
    ("mod", "moderators"),
    ("mods", "moderators"),
    ("developer", "developers"),
    ("developers", "developers"),
    ("dev", "developers"),
    ("devs", "developers"),
];

/// The canonical name of a Cognito group: trimmed, lower-cased, and mapped through the
/// alias table (`Admins` → `admin`, `mods` → `moderators`); a name the table does not
/// know is kept, lower-cased.
pub fn canonical_group(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower, |(_, canonical)| (*canonical).to_owned())
}

/// The resource of a request, as the caller (or the entity table) names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceRef<'a> {
    /// The resource id; `None` is the application itself ([`APPLICATION_RESOURCE`]).
    pub id: Option<&'a str>,
    /// The `resourceType` attribute; `None` is [`DEFAULT_RESOURCE_TYPE`].
    pub resource_type: Option<&'a str>,
    /// The owner's `sub`, when the resource has one.
    pub owner: Option<&'a str>,
}

/// One authorization question.
#[derive(Debug, Clone, Copy)]
pub struct ProtocolRequest<'a> {
    /// The caller's `sub`.
    pub sub: &'a str,
    /// The caller's email, when known (the `email` attribute is `""` otherwise).
    pub email: Option<&'a str>,
    /// The caller's `cognito:groups`, as the token carries them.
    pub groups: &'a [String],
    /// The action name, e.g. `read:content`.
    pub action: &'a str,
    /// The resource the action is on (its id, type and owner, each optional).
    pub resource: ResourceRef<'a>,
    /// The caller's context object. Only the attributes the action's schema declares are
    /// used (the shipped schema declares none, so it is ignored there).
    pub context: Option<&'a Map<String, Value>>,
}

/// Why a request was not allowed (or that it was).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    /// A permit applied and no forbid did.
    Permitted,
    /// A forbid policy applied.
    Forbidden,
    /// No permit policy applied.
    NoPermit,
    /// The action is not declared in the schema.
    UnknownAction,
    /// The request could not be built (bad context, oversized name, ...).
    InvalidRequest,
    /// A policy failed while evaluating (fail closed).
    EvaluationError,
}

/// The outcome of [`ProtocolEngine::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolDecision {
    /// `true` only when Cedar allowed and nothing failed.
    pub allowed: bool,
    /// What decided.
    pub kind: DecisionKind,
    /// A short, human-readable reason (never contains a token).
    pub reason: String,
    /// Ids of the policies that decided (the permits when allowed, the forbids when
    /// forbidden).
    pub policies: Vec<String>,
    /// Evaluation errors, when a policy failed.
    pub errors: Vec<String>,
}

impl ProtocolDecision {
    fn deny(kind: DecisionKind, reason: String) -> Self {
        Self {
            allowed: false,
            kind,
            reason,
            policies: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// The protocol schema and policies, loaded and validated, ready to decide.
#[derive(Debug)]
pub struct ProtocolEngine {
    schema: Schema,
    policies: PolicySet,
    /// Declared actions → their uid and declared context attribute names.
    actions: HashMap<String, ActionInfo>,
    user_type: EntityTypeName,
    group_type: EntityTypeName,
    resource_type: EntityTypeName,
    authorizer: Authorizer,
}

#[derive(Debug)]
struct ActionInfo {
    uid: EntityUid,
    context_attributes: BTreeSet<String>,
}

impl ProtocolEngine {
    /// The shipped schema and default policies (`cedar/protocol/`).
    ///
    /// The shipped files are validated strictly by a test rather than at every start-up.
    ///
    /// # Errors
    /// Only if the shipped files are broken.
    pub fn embedded() -> Result<Self, LoadError> {
        let (schema, policies) = embedded_sources();
        Self::build(&schema, &policies, false)
    }

    /// Loads a schema and policy files from their texts (`(name, text)` pairs; the names
    /// appear in errors and default policy ids), validating the policies strictly.
    ///
    /// # Errors
    /// A [`LoadError`] naming the file and line at fault.
    pub fn from_sources<N: AsRef<str>, S: AsRef<str>>(
        schema: &str,
        policies: &[(N, S)],
    ) -> Result<Self, LoadError> {
        let schema = SourceFile {
            name: "schema.cedarschema".to_owned(),
            text: schema.to_owned(),
        };
        let policies: Vec<SourceFile> = policies
            .iter()
            .map(|(n, s)| SourceFile {
                name: n.as_ref().to_owned(),
                text: s.as_ref().to_owned(),
            })
            .collect();
        Self::build(&schema, &policies, true)
    }

    /// The shipped schema's text.
    pub fn embedded_schema_text() -> &'static str {
        EMBEDDED_SCHEMA.1
    }

    /// The shipped policy files, `(name, text)`, sorted by name.
    pub fn embedded_policy_texts() -> &'static [(&'static str, &'static str)] {
        &EMBEDDED_POLICIES
    }

    /// Whether the schema declares `action`.
    pub fn has_action(&self, action: &str) -> bool {
        self.actions.contains_key(action)
    }

    /// The declared action names, sorted.
    pub fn action_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.actions.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// How many policies are loaded.
    pub fn policy_count(&self) -> usize {
        self.policies.policies().count()
    }

    /// Decides one request. Never fails: every problem is a deny with its reason.
    pub fn decide(&self, request: &ProtocolRequest<'_>) -> ProtocolDecision {
        let Some(action) = self.actions.get(request.action) else {
            return ProtocolDecision::deny(
                DecisionKind::UnknownAction,
                format!("unknown action {}", quoted(request.action)),
            );
        };
        match self.build_request(request, action) {
            Ok((req, entities)) => self.evaluate(request.action, &req, &entities),
            Err(reason) => ProtocolDecision::deny(DecisionKind::InvalidRequest, reason),
        }
    }

    fn build_request(
        &self,
        request: &ProtocolRequest<'_>,
        action: &ActionInfo,
    ) -> Result<(Request, Entities), String> {
        let resource = request.resource;
        let too_long = [
            ("principal", Some(request.sub)),
            ("email", request.email),
            ("resource id", resource.id),
            ("resource type", resource.resource_type),
            ("resource owner", resource.owner),
        ]
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| v.len() > MAX_NAME_BYTES));
        if let Some((what, _)) = too_long {
            return Err(format!("{what} is longer than {MAX_NAME_BYTES} bytes"));
        }
        if request.sub.is_empty() {
            return Err("the principal has no sub".to_owned());
        }
        if request.groups.len() > MAX_GROUPS {
            return Err(format!("more than {MAX_GROUPS} groups"));
        }

        let uid = |t: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(t.clone(), EntityId::new(id))
        };
        let principal = uid(&self.user_type, request.sub);
        let groups: HashSet<EntityUid> = request
            .groups
            .iter()
            .filter(|g| !g.trim().is_empty() && g.len() <= MAX_NAME_BYTES)
            .map(|g| uid(&self.group_type, &canonical_group(g)))
            .collect();
        let mut entities: Vec<Entity> = groups
            .iter()
            .map(|g| Entity::new_no_attrs(g.clone(), HashSet::new()))
            .collect();
        let user_attrs = HashMap::from([
            (
                "email".to_owned(),
                RestrictedExpression::new_string(request.email.unwrap_or("").to_owned()),
            ),
            (
                "sub".to_owned(),
                RestrictedExpression::new_string(request.sub.to_owned()),
            ),
        ]);
        entities.push(
            Entity::new(principal.clone(), user_attrs, groups)
                .map_err(|e| format!("principal: {e}"))?,
        );

        let resource_uid = uid(
            &self.resource_type,
            resource.id.unwrap_or(APPLICATION_RESOURCE),
        );
        let mut resource_attrs = HashMap::from([(
            "resourceType".to_owned(),
            RestrictedExpression::new_string(
                resource
                    .resource_type
                    .unwrap_or(DEFAULT_RESOURCE_TYPE)
                    .to_owned(),
            ),
        )]);
        if let Some(owner) = resource.owner {
            resource_attrs.insert(
                "owner".to_owned(),
                RestrictedExpression::new_entity_uid(uid(&self.user_type, owner)),
            );
        }
        entities.push(
            Entity::new(resource_uid.clone(), resource_attrs, HashSet::new())
                .map_err(|e| format!("resource: {e}"))?,
        );
        let entities = Entities::from_entities(entities, Some(&self.schema))
            .map_err(|e| format!("entities: {e}"))?;

        let declared: Map<String, Value> = request
            .context
            .map(|c| {
                c.iter()
                    .filter(|(k, _)| action.context_attributes.contains(k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let context =
            Context::from_json_value(Value::Object(declared), Some((&self.schema, &action.uid)))
                .map_err(|e| format!("invalid context: {e}"))?;
        let req = Request::new(
            principal,
            action.uid.clone(),
            resource_uid,
            context,
            Some(&self.schema),
        )
        .map_err(|e| format!("invalid request: {e}"))?;
        Ok((req, entities))
    }

    fn evaluate(&self, action: &str, request: &Request, entities: &Entities) -> ProtocolDecision {
        let response = self
            .authorizer
            .is_authorized(request, &self.policies, entities);
        let diagnostics = response.diagnostics();
        let errors: Vec<String> = diagnostics.errors().map(ToString::to_string).collect();
        let mut policies: Vec<String> = diagnostics.reason().map(ToString::to_string).collect();
        policies.sort_unstable();
        if !errors.is_empty() {
            // A policy that errors is skipped by Cedar; an erroring forbid would then let a
            // permit through. Fail closed instead.
            return ProtocolDecision {
                allowed: false,
                kind: DecisionKind::EvaluationError,
                reason: "policy evaluation failed".to_owned(),
                policies: Vec::new(),
                errors,
            };
        }
        match response.decision() {
            CedarDecision::Allow => ProtocolDecision {
                allowed: true,
                kind: DecisionKind::Permitted,
                reason: format!("permitted by {}", policies.join(", ")),
                policies,
                errors,
            },
            CedarDecision::Deny => {
                let forbids: Vec<String> = policies
                    .into_iter()
                    .filter(|id| {
                        self.policies
                            .policy(&cedar_policy::PolicyId::new(id))
                            .is_some_and(|p| p.effect() == Effect::Forbid)
                    })
                    .collect();
                if forbids.is_empty() {
                    ProtocolDecision {
                        allowed: false,
                        kind: DecisionKind::NoPermit,
                        reason: format!("no policy permits {}", quoted(action)),
                        policies: forbids,
                        errors,
                    }
                } else {
                    ProtocolDecision {
                        allowed: false,
                        kind: DecisionKind::Forbidden,
                        reason: format!("forbidden by {}", forbids.join(", ")),
                        policies: forbids,
                        errors,
                    }
                }
            }
        }
    }

    fn build(
        schema_file: &SourceFile,
        policy_files: &[SourceFile],
        validate: bool,
    ) -> Result<Self, LoadError> {
        let file = schema_file.name.as_str();
        let (schema, json) = parse_schema(schema_file)?;
        let namespaces: Vec<&String> = json
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        if namespaces.as_slice() != [NAMESPACE] {
            return Err(LoadError::Namespace {
                file: file.to_owned(),
                found: namespaces.into_iter().cloned().collect(),
            });
        }
        let ns = json.get(NAMESPACE).cloned().unwrap_or(Value::Null);
        for entity_type in ["User", "UserGroup", "Resource"] {
            if ns.pointer(&format!("/entityTypes/{entity_type}")).is_none() {
                return Err(LoadError::MissingEntityType {
                    file: file.to_owned(),
                    namespace: NAMESPACE.to_owned(),
                    entity_type,
                });
            }
        }
        let type_name = |basename: &str| crate::loader::entity_type(NAMESPACE, basename);
        let user_type = type_name("User")?;
        let group_type = type_name("UserGroup")?;
        let resource_type = type_name("Resource")?;

        let (policies, _) = load_policies(policy_files, validate.then_some(&schema))?;

        let mut actions = HashMap::new();
        for uid in schema.actions() {
            let applies = schema
                .principals_for_action(uid)
                .is_some_and(|mut it| it.any(|t| *t == user_type))
                && schema
                    .resources_for_action(uid)
                    .is_some_and(|mut it| it.any(|t| *t == resource_type));
            if !applies {
                continue;
            }
            let name = uid.id().unescaped().to_owned();
            let context_attributes = declared_context_attributes(&ns, &name);
            actions.insert(
                name,
                ActionInfo {
                    uid: uid.clone(),
                    context_attributes,
                },
            );
        }
        Ok(Self {
            schema,
            policies,
            actions,
            user_type,
            group_type,
            resource_type,
            authorizer: Authorizer::new(),
        })
    }
}

/// The attribute names an action's context declares (inline record or common type).
fn declared_context_attributes(ns: &Value, action: &str) -> BTreeSet<String> {
    let Some(context) = ns
        .get("actions")
        .and_then(|a| a.get(action))
        .and_then(|a| a.get("appliesTo"))
        .and_then(|a| a.get("context"))
    else {
        return BTreeSet::new();
    };
    let record = if context.get("attributes").is_some() {
        Some(context)
    } else {
        // A reference to a common type: `{"type": "Ctx"}` or
        // `{"type": "EntityOrCommon", "name": "Ctx"}`, possibly namespace-qualified.
        let name = context
            .get("name")
            .or_else(|| context.get("type"))
            .and_then(Value::as_str)
            .map(|n| n.rsplit("::").next().unwrap_or(n));
        name.and_then(|n| ns.get("commonTypes").and_then(|c| c.get(n)))
    };
    record
        .and_then(|r| r.get("attributes"))
        .and_then(Value::as_object)
        .map(|attrs| attrs.keys().cloned().collect())
        .unwrap_or_default()
}

/// `name` in quotes, cut to 64 characters, for reasons.
fn quoted(name: &str) -> String {
    let cut: String = name.chars().take(64).collect();
    if cut.len() < name.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn embedded_sources() -> (SourceFile, Vec<SourceFile>) {
    sources_of(EMBEDDED_SCHEMA, &EMBEDDED_POLICIES)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// `embedded` skips validation at start-up; this is where it happens.
    #[test]
    fn the_shipped_files_validate_strictly() {
        let (schema, policies) = embedded_sources();
        let strict = ProtocolEngine::build(&schema, &policies, true).unwrap();
        assert_eq!(strict.policy_count(), 9);
        assert_eq!(strict.action_names().len(), 23);
    }

    #[test]
    fn aliases() {
        for (name, canonical) in [
            ("Admins", "admin"),
            ("ADMINISTRATORS", "admin"),
            ("mods", "moderators"),
            ("Viewer", "readonly"),
            ("read-only", "readonly"),
            ("members", "users"),
            ("devs", "developers"),
            (" editor ", "editors"),
            ("Custom-Group", "custom-group"),
        ] {
            assert_eq!(canonical_group(name), canonical, "{name}");
        }
    }

    #[test]
    fn quoting_cuts_long_names() {
        assert_eq!(quoted("a"), "\"a\"");
        let long = "x".repeat(100);
        assert!(quoted(&long).ends_with('…'));
        assert!(quoted(&long).len() < 80);
    }
}

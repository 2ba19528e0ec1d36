//! The engine: load once, decide per request.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Effect, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, Policy, PolicySet, Request, Schema,
};
use serde_json::Value;

use crate::context::{ContextPlan, Params, PlanError, RequestFacts};
use crate::entities::{EntityKit, Principal, UserPlan, UserPlanError};
use crate::error::LoadError;
use crate::loader::{
    EMBEDDED_POLICIES, EMBEDDED_SCHEMA, PolicyConfig, SourceFile, load_policies, parse_schema,
    read_dir,
};
use crate::memo::{self, Memo};
use crate::routes::{Route, RouteKind, RouteMatch, RouteTable, parse_route_name};
use crate::shape::NamespaceJson;

/// A decidable action of a loaded [`Engine`]: one that applies to principal
/// `User` and resource `Application`.
///
/// Obtained from [`Engine::action`], a [`Route`] or a [`RouteMatch`]; cheap
/// to clone. Only meaningful for the engine that produced it (another
/// engine denies it as an unknown action).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionRef {
    index: usize,
    name: Arc<str>,
}

impl ActionRef {
    /// The action name, e.g. `get /orders/{id}`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ActionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The outcome of one authorization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// `true` only if Cedar allowed the request and nothing failed closed.
    pub allowed: bool,
    /// Ids of the policies that determined the decision.
    pub reasons: Vec<String>,
    /// Evaluation errors and fail-closed reasons (e.g.
    /// `missing context attribute pathParameters.id`).
    pub errors: Vec<String>,
}

impl Decision {
    fn deny(errors: Vec<String>) -> Self {
        Self {
            allowed: false,
            reasons: Vec::new(),
            errors,
        }
    }
}

/// Exactly what [`Engine::decide`] hands to Cedar for one request.
///
/// Exposed so that callers and tests can check it against the schema
/// (`Request::new(.., Some(schema))`, `Entities::from_entities(.., Some(schema))`).
#[derive(Debug, Clone)]
pub struct RequestParts {
    /// `<Namespace>::User::"<sub>"`.
    pub principal: EntityUid,
    /// `<Namespace>::Action::"<name>"`.
    pub action: EntityUid,
    /// `<Namespace>::Application::"<application>"`.
    pub resource: EntityUid,
    /// The context, holding only the attributes the action declares.
    pub context: Context,
    /// The user, its groups, the application and, when the schema has
    /// action groups, the action and its ancestors.
    pub entities: Vec<Entity>,
}

#[derive(Debug)]
struct ActionEntry {
    action: ActionRef,
    uid: EntityUid,
    slice: PolicySet,
    plan: ContextPlan,
    /// The action entity and its ancestors; empty if it has no ancestors.
    lineage: Vec<Entity>,
    /// Whether a policy of the slice reads a request fact the context declares (method,
    /// path, source IP, parameters): its decision can differ between two requests of
    /// the same caller, so a cached policy cannot list the route.
    request_sensitive: bool,
}

/// A loaded schema and policy set: routes, per-action policy slices and
/// context plans, ready to decide requests.
///
/// Loading validates everything (see [`LoadError`]); deciding never fails,
/// it denies.
#[derive(Debug)]
pub struct Engine {
    namespace: String,
    application: String,
    schema: Schema,
    policies: PolicySet,
    actions: Vec<ActionEntry>,
    by_name: HashMap<String, usize>,
    routes: RouteTable,
    kit: EntityKit,
    /// All action entities, when the schema has action groups.
    all_action_entities: Vec<Entity>,
    authorizer: Authorizer,
    context_sensitive: bool,
    /// Decisions already made, by principal, action and declared facts.
    decisions: Memo<Decision>,
    /// [`allowed_routes`](Self::allowed_routes) answers (route indices).
    allowed: Memo<Vec<usize>>,
}

impl Engine {
    /// The shipped example (`cedar/schema/app.cedarschema`,
    /// `cedar/policies/*.cedar`), application name = namespace.
    ///
    /// # Errors
    /// Only if the shipped files are broken (a test guards against that).
    pub fn embedded() -> Result<Self, LoadError> {
        Self::embedded_with_application(None)
    }

    fn embedded_with_application(application: Option<&str>) -> Result<Self, LoadError> {
        let (schema, policies) = embedded_sources();
        // The shipped store is validated by a test, not at every start-up (strict
        // validation is a tenth of the start-up's work).
        Self::build(&schema, &policies, application, Validation::Skip)
    }

    /// Loads a folder holding exactly one `*.cedarschema` file and at least
    /// one `*.cedar` file (read in file-name order); application name =
    /// namespace.
    ///
    /// # Errors
    /// Any [`LoadError`]; messages name the file.
    pub fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        Self::from_dir_with_application(dir, None)
    }

    fn from_dir_with_application(dir: &Path, application: Option<&str>) -> Result<Self, LoadError> {
        let (schema, policies) = read_dir(dir)?;
        Self::build(&schema, &policies, application, Validation::Strict)
    }

    /// Loads from source texts. `policies` are `(file name, text)` pairs in
    /// the order given; a policy without `@id` gets `<file stem>.<n>`.
    /// `application` defaults to the namespace name.
    ///
    /// # Errors
    /// Any [`LoadError`]; the schema is named `schema` in messages.
    pub fn from_sources<N: AsRef<str>, S: AsRef<str>>(
        schema_src: &str,
        policies: &[(N, S)],
        application: Option<&str>,
    ) -> Result<Self, LoadError> {
        let schema = SourceFile {
            name: "schema".to_owned(),
            text: schema_src.to_owned(),
        };
        let policies: Vec<SourceFile> = policies
            .iter()
            .map(|(name, text)| SourceFile {
                name: name.as_ref().to_owned(),
                text: text.as_ref().to_owned(),
            })
            .collect();
        Self::build(&schema, &policies, application, Validation::Strict)
    }

    /// Loads what `config` says: its folder, else the embedded example.
    ///
    /// # Errors
    /// Any [`LoadError`].
    pub fn from_config(config: &PolicyConfig) -> Result<Self, LoadError> {
        let application = config.application.as_deref();
        match &config.policy_dir {
            Some(dir) => Self::from_dir_with_application(dir, application),
            None => Self::embedded_with_application(application),
        }
    }

    /// [`PolicyConfig::from_env`] then [`from_config`](Self::from_config).
    ///
    /// # Errors
    /// Any [`LoadError`].
    pub fn from_env() -> Result<Self, LoadError> {
        Self::from_config(&PolicyConfig::from_env()?)
    }

    /// The schema's namespace, e.g. `App`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The `Application` entity id used as every request's resource.
    pub fn application(&self) -> &str {
        &self.application
    }

    /// The number of policies loaded.
    pub fn policy_count(&self) -> usize {
        self.policies.num_of_policies()
    }

    /// The validated schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// All loaded policies, with their final ids.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// The action with this exact name, if it applies to `User` and
    /// `Application` (action groups and actions for other types are not
    /// decidable and give `None`).
    pub fn action(&self, name: &str) -> Option<ActionRef> {
        self.by_name
            .get(name)
            .and_then(|&i| self.actions.get(i))
            .map(|e| e.action.clone())
    }

    /// The policies that can apply to `action` (its slice), or `None` for an
    /// action of another engine.
    pub fn slice(&self, action: &ActionRef) -> Option<&PolicySet> {
        self.entry(action).map(|e| &e.slice)
    }

    /// Every route (HTTP routes and `$connect`), in action-name order.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.routes().iter()
    }

    /// Resolves a concrete request (REST TOKEN events: method and path from
    /// the method ARN). The method is case-insensitive and must be one of the
    /// route verbs (`GET` ... `OPTIONS`, or `ANY`, which matches only `any`
    /// routes); anything else gives `None`. One trailing `/` is
    /// ignored and an empty path is `/`. At each segment a literal beats
    /// `{param}` beats `{param+}`, and at a given template the exact verb
    /// beats `any`. `None` means no route: deny.
    pub fn resolve(&self, method: &str, path: &str) -> Option<RouteMatch<'_>> {
        self.routes.resolve(method, path)
    }

    /// The action for an HTTP API / WebSocket route key (`GET /orders/{id}`,
    /// `$connect`), falling back to `any` for that template. `$default` and
    /// unknown keys give `None` (use [`resolve`](Self::resolve) for `$default`).
    pub fn action_by_route_key(&self, route_key: &str) -> Option<&ActionRef> {
        self.routes.by_route_key(route_key).map(Route::action)
    }

    /// The action for a REST REQUEST event's method and resource template
    /// (`GET`, `/orders/{id}`), falling back to `any` for that template.
    pub fn action_by_template(&self, method: &str, resource_template: &str) -> Option<&ActionRef> {
        self.routes
            .by_template(method, resource_template)
            .map(Route::action)
    }

    /// Whether any policy reads a per-request fact from `context` (method,
    /// path, sourceIp, pathParameters, queryStringParameters) for an action
    /// whose context declares one. Such actions' routes are left out of
    /// [`allowed_routes`](Self::allowed_routes), so a cached REST policy can refuse
    /// them until it expires (the result TTL should then be 0).
    ///
    /// Detection is syntactic (the policy's JSON form): reading only the
    /// token facts `context.scopes` / `context.authTime` does not count, any
    /// other use of `context` does.
    pub fn has_context_sensitive_policies(&self) -> bool {
        self.context_sensitive
    }

    fn entry(&self, action: &ActionRef) -> Option<&ActionEntry> {
        self.actions
            .get(action.index)
            .filter(|e| e.action.name == action.name)
    }

    /// Builds what would be handed to Cedar, or the fail-closed reasons why
    /// the request cannot be evaluated.
    ///
    /// # Errors
    /// The reasons (unknown action, empty `sub`, missing or malformed
    /// required attributes).
    pub fn request_parts(
        &self,
        action: &ActionRef,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Result<RequestParts, Vec<String>> {
        let entry = self
            .entry(action)
            .ok_or_else(|| vec![format!("unknown action {}", action.name())])?;
        let (principal_uid, mut entities) = self.kit.principal_entities(principal)?;
        let context = entry.plan.build(facts)?;
        entities.push(self.kit.application.clone());
        entities.extend(entry.lineage.iter().cloned());
        Ok(RequestParts {
            principal: principal_uid,
            action: entry.uid.clone(),
            resource: self.kit.application_uid.clone(),
            context,
            entities,
        })
    }

    /// Decides one request. Never panics; anything that prevents a sound
    /// evaluation is a Deny with the reason in `errors`. An erroring
    /// `forbid` policy also denies (Cedar alone would skip it).
    pub fn decide(
        &self,
        action: &ActionRef,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Decision {
        // Same answer as below for an action of another engine, without a key.
        let Some(entry) = self.entry(action) else {
            return Decision::deny(vec![format!("unknown action {}", action.name())]);
        };
        let key = memo::decision_key(action.index, principal, &entry.plan, facts);
        if let Some(decision) = self.decisions.get(&key) {
            return decision;
        }
        let decision = self.evaluate(action, principal, facts);
        self.decisions.insert(key, decision.clone());
        decision
    }

    /// [`decide`](Self::decide) without the memo.
    fn evaluate(
        &self,
        action: &ActionRef,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Decision {
        let parts = match self.request_parts(action, principal, facts) {
            Ok(parts) => parts,
            Err(errors) => return Decision::deny(errors),
        };
        let Some(entry) = self.entry(action) else {
            return Decision::deny(vec![format!("unknown action {}", action.name())]);
        };
        let entities = match Entities::from_entities(parts.entities, None) {
            Ok(e) => e,
            Err(e) => return Decision::deny(vec![format!("cannot build entities: {e}")]),
        };
        self.authorize(entry, parts.principal, parts.context, &entities)
    }

    fn authorize(
        &self,
        entry: &ActionEntry,
        principal: EntityUid,
        context: Context,
        entities: &Entities,
    ) -> Decision {
        let request = match Request::new(
            principal,
            entry.uid.clone(),
            self.kit.application_uid.clone(),
            context,
            None,
        ) {
            Ok(r) => r,
            Err(e) => return Decision::deny(vec![format!("cannot build request: {e}")]),
        };
        let response = self
            .authorizer
            .is_authorized(&request, &entry.slice, entities);
        let diagnostics = response.diagnostics();
        let mut errors = Vec::new();
        let mut forbid_failed = false;
        for err in diagnostics.errors() {
            let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = err;
            let effect = entry.slice.policy(e.policy_id()).map(Policy::effect);
            if effect != Some(Effect::Permit) {
                forbid_failed = true;
                errors.push(format!("{err} (forbid policy failed: denying)"));
            } else {
                errors.push(err.to_string());
            }
        }
        Decision {
            allowed: response.decision() == cedar_policy::Decision::Allow && !forbid_failed,
            reasons: diagnostics.reason().map(ToString::to_string).collect(),
            errors,
        }
    }

    /// The HTTP routes (not `$connect`) the principal may call whatever the request, for
    /// building a cache-safe REST policy: the routes every request of this caller (same
    /// token facts: scopes, `authTime`) is allowed, whatever its path parameters or
    /// source IP.
    ///
    /// - A route whose policies read no request fact is decided once, with the token
    ///   facts, `method` = the route's verb upper-cased (`ANY` stays `ANY`), `path` = its
    ///   template and stand-ins for what every request of the route carries (its template
    ///   parameters as `String`s, a source IP when `facts` has one). It is listed only
    ///   when that context is valid: a route whose context requires what some requests
    ///   lack (a query parameter, a parameter not in the template) or may not parse (a
    ///   `Long` or `Bool` parameter) is left out, since such requests are denied.
    /// - A route whose policies read a request fact (see
    ///   [`has_context_sensitive_policies`](Self::has_context_sensitive_policies)) is never
    ///   listed: the decision for one request says nothing about the next.
    /// - A principal that cannot be built (empty `sub`, missing required attribute) gets
    ///   no routes at all.
    ///
    /// Leaving a route out can only under-grant while a result is cached, never
    /// over-grant.
    pub fn allowed_routes(
        &self,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Vec<&Route> {
        let routes = self.routes.routes();
        self.allowed_route_indices(principal, facts)
            .iter()
            .filter_map(|&i| routes.get(i))
            .collect()
    }

    /// [`allowed_routes`](Self::allowed_routes) as indices into
    /// [`routes`](Self::routes), in order.
    pub fn allowed_route_indices(
        &self,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Vec<usize> {
        let key = memo::routes_key(principal, facts);
        if let Some(indices) = self.allowed.get(&key) {
            return indices;
        }
        let indices = self.evaluate_allowed_routes(principal, facts);
        // Long answers (very large route tables) are not worth their memory.
        if indices.len() <= memo::MAX_ROUTES {
            self.allowed.insert(key, indices.clone());
        }
        indices
    }

    /// [`allowed_route_indices`](Self::allowed_route_indices) without the memo.
    fn evaluate_allowed_routes(
        &self,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Vec<usize> {
        let Ok((principal_uid, mut entities)) = self.kit.principal_entities(principal) else {
            return Vec::new();
        };
        entities.push(self.kit.application.clone());
        entities.extend(self.all_action_entities.iter().cloned());
        let Ok(entities) = Entities::from_entities(entities, None) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (index, route) in self.routes.routes().iter().enumerate() {
            let RouteKind::Http { verb, template } = route.kind() else {
                continue;
            };
            let Some(entry) = self.entry(route.action()) else {
                continue;
            };
            if entry.request_sensitive {
                continue;
            }
            // Stand-ins for what every request of the route carries: each template
            // parameter (API Gateway always fills them), a source IP when this request
            // has one (the events of one API are all of one kind). No policy reads them,
            // so the decision is every such request's. What some requests lack (query
            // parameters, parameters not in the template) or may not parse (a `Long`
            // parameter) is not supplied: the strict context then fails and the route
            // is left out.
            let placeholders: Vec<(String, String)> = route
                .parameter_names()
                .map(|name| (name.to_owned(), String::new()))
                .collect();
            let route_facts = RequestFacts {
                method: verb.as_upper(),
                path: template,
                source_ip: facts.source_ip.map(|_| ""),
                scopes: facts.scopes,
                auth_time: facts.auth_time,
                path_parameters: Params::Pairs(&placeholders),
                query_string_parameters: Params::None,
            };
            let Ok(context) = entry.plan.build(&route_facts) else {
                continue;
            };
            if self
                .authorize(entry, principal_uid.clone(), context, &entities)
                .allowed
            {
                out.push(index);
            }
        }
        out
    }

    fn build(
        schema_file: &SourceFile,
        policy_files: &[SourceFile],
        application: Option<&str>,
        validation: Validation,
    ) -> Result<Self, LoadError> {
        let file = schema_file.name.as_str();
        let (schema, json) = parse_schema(schema_file)?;

        // Exactly one named namespace.
        let namespaces: Vec<(&String, &Value)> = json
            .as_object()
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        let (namespace, ns_value) = match namespaces.as_slice() {
            [(name, value)] if !name.is_empty() => ((*name).clone(), *value),
            _ => {
                return Err(LoadError::Namespace {
                    file: file.to_owned(),
                    found: namespaces.iter().map(|(n, _)| (*n).clone()).collect(),
                });
            }
        };
        let empty = serde_json::Map::new();
        let ns = NamespaceJson::new(&namespace, ns_value.as_object().unwrap_or(&empty));

        let configured = application.is_some();
        let application = match application {
            None => namespace.clone(),
            Some("") => {
                return Err(LoadError::Application {
                    name: String::new(),
                    reason: "it is empty",
                });
            }
            Some(a) => a.to_owned(),
        };
        let user_plan = check_entity_types(file, &namespace, &ns, &application, configured)?;
        let type_name = |basename: &str| {
            EntityTypeName::from_str(&format!("{namespace}::{basename}")).map_err(|e| {
                LoadError::Internal {
                    during: "building entity type names",
                    message: e.to_string(),
                }
            })
        };
        let user_type = type_name("User")?;
        let group_type = type_name("UserGroup")?;
        let application_type = type_name("Application")?;
        let application_uid =
            EntityUid::from_type_name_and_id(application_type.clone(), EntityId::new(&application));
        let kit = EntityKit {
            user_type: user_type.clone(),
            group_type,
            application: Entity::new_no_attrs(application_uid.clone(), HashSet::new()),
            application_uid,
            user_plan,
        };

        // Policies: parse, ids, duplicates, validation.
        let (policies, located) = load_policies(
            policy_files,
            (validation == Validation::Strict).then_some(&schema),
        )?;

        // Actions: slices, context plans, routes.
        let action_entities = schema.action_entities().map_err(|e| LoadError::Internal {
            during: "building action entities",
            message: e.to_string(),
        })?;
        let mut action_uids: Vec<&EntityUid> = schema.actions().collect();
        action_uids.sort_by(|a, b| a.id().unescaped().cmp(b.id().unescaped()));
        let has_groups = schema.action_groups().next().is_some();
        let context_reads: HashMap<String, bool> = located
            .iter()
            .map(|p| (p.id.clone(), reads_request_context(&p.policy)))
            .collect();

        let mut actions = Vec::new();
        let mut by_name = HashMap::new();
        let mut routes = RouteTable::default();
        let mut shapes = HashMap::new();
        let mut context_sensitive = false;
        for uid in action_uids {
            let name = uid.id().unescaped();
            let route = parse_route_name(name).map_err(|message| LoadError::Route {
                file: file.to_owned(),
                action: name.to_owned(),
                message,
            })?;
            let decidable = schema
                .principals_for_action(uid)
                .is_some_and(|mut it| it.any(|t| *t == user_type))
                && schema
                    .resources_for_action(uid)
                    .is_some_and(|mut it| it.any(|t| *t == application_type));
            if !decidable {
                if route.is_some() {
                    return Err(LoadError::Route {
                        file: file.to_owned(),
                        action: name.to_owned(),
                        message:
                            "a route action must apply to principal User and resource Application"
                                .into(),
                    });
                }
                continue;
            }
            let declared = ns
                .action_context(name)
                .map_err(|message| LoadError::Internal {
                    during: "reading an action context",
                    message,
                })?;
            let plan = ContextPlan::from_declared(&declared).map_err(|e| match e {
                PlanError::Unknown { attribute } => LoadError::UnknownContextAttribute {
                    file: file.to_owned(),
                    action: name.to_owned(),
                    attribute,
                },
                PlanError::Unsupported {
                    attribute,
                    found,
                    expected,
                } => LoadError::UnsupportedContextType {
                    file: file.to_owned(),
                    action: name.to_owned(),
                    attribute,
                    found,
                    expected,
                },
            })?;

            let ancestors: Vec<EntityUid> = action_entities
                .ancestors(uid)
                .map(|it| it.cloned().collect())
                .unwrap_or_default();
            let mut lineage = Vec::new();
            if !ancestors.is_empty() {
                lineage.extend(action_entities.get(uid).cloned());
                lineage.extend(
                    ancestors
                        .iter()
                        .filter_map(|a| action_entities.get(a).cloned()),
                );
            }
            let slice_policies: Vec<Policy> = located
                .iter()
                .filter(|p| applies_to(&p.policy, uid, &ancestors))
                .map(|p| p.policy.clone())
                .collect();
            let request_sensitive = plan.uses_request_facts()
                && slice_policies.iter().any(|p| {
                    context_reads
                        .get(&p.id().to_string())
                        .copied()
                        .unwrap_or(true)
                });
            context_sensitive |= request_sensitive;
            let slice =
                PolicySet::from_policies(slice_policies).map_err(|e| LoadError::Internal {
                    during: "building a policy slice",
                    message: e.to_string(),
                })?;

            let action = ActionRef {
                index: actions.len(),
                name: Arc::from(name),
            };
            if let Some((kind, segments)) = route {
                routes
                    .insert(action.clone(), kind, segments, &mut shapes)
                    .map_err(|message| LoadError::Route {
                        file: file.to_owned(),
                        action: name.to_owned(),
                        message,
                    })?;
            }
            by_name.insert(name.to_owned(), actions.len());
            actions.push(ActionEntry {
                action,
                uid: uid.clone(),
                slice,
                plan,
                lineage,
                request_sensitive,
            });
        }
        let all_action_entities = if has_groups {
            action_entities.iter().cloned().collect()
        } else {
            Vec::new()
        };

        Ok(Self {
            namespace,
            application,
            schema,
            policies,
            actions,
            by_name,
            routes,
            kit,
            all_action_entities,
            authorizer: Authorizer::new(),
            context_sensitive,
            decisions: Memo::default(),
            allowed: Memo::default(),
        })
    }
}

/// Whether [`Engine::build`] validates the policies against the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validation {
    /// Strict validation; any problem is a [`LoadError::Validation`].
    Strict,
    /// None: only for the shipped store, which a test validates strictly.
    Skip,
}

/// Checks `User`, `UserGroup`, `Application` and returns the `User` plan. `configured`:
/// the application name was given (`CEDAR_APPLICATION`) rather than taken from the
/// namespace, so an enumeration that lacks it is the name's fault.
fn check_entity_types(
    file: &str,
    namespace: &str,
    ns: &NamespaceJson<'_>,
    application: &str,
    configured: bool,
) -> Result<UserPlan, LoadError> {
    for entity_type in ["User", "UserGroup", "Application"] {
        if ns.entity_type(entity_type).is_none() {
            return Err(LoadError::MissingEntityType {
                file: file.to_owned(),
                namespace: namespace.to_owned(),
                entity_type,
            });
        }
    }
    let shape_error = |entity_type: &'static str, message: String| LoadError::EntityShape {
        file: file.to_owned(),
        entity_type,
        message,
    };
    if !ns.member_of("User", "UserGroup") {
        return Err(shape_error(
            "User",
            "must be declared `in [UserGroup]` (groups are the user's parents)".into(),
        ));
    }
    for entity_type in ["User", "UserGroup"] {
        if ns
            .entity_type(entity_type)
            .is_some_and(|e| e.contains_key("enum"))
        {
            return Err(shape_error(
                entity_type,
                "must not be an enumerated type (ids come from tokens)".into(),
            ));
        }
    }
    if let Some(members) = ns
        .entity_type("Application")
        .and_then(|e| e.get("enum"))
        .and_then(Value::as_array)
        && !members.iter().any(|m| m.as_str() == Some(application))
    {
        if configured {
            return Err(LoadError::Application {
                name: application.to_owned(),
                reason: "it is not one of the schema's enumerated Application ids",
            });
        }
        return Err(shape_error(
            "Application",
            format!("the application name {application:?} is not one of its enumerated ids"),
        ));
    }
    for entity_type in ["UserGroup", "Application"] {
        let attrs = ns
            .entity_attributes(entity_type)
            .map_err(|m| shape_error(entity_type, m))?;
        if let Some(a) = attrs.iter().find(|a| a.required) {
            return Err(shape_error(
                entity_type,
                format!(
                    "attribute {} is required, but the authorizer gives {entity_type} entities no attributes; declare it optional ({}?)",
                    a.name, a.name
                ),
            ));
        }
    }
    let user_attrs = ns
        .entity_attributes("User")
        .map_err(|m| shape_error("User", m))?;
    UserPlan::from_declared(&user_attrs).map_err(|e| match e {
        UserPlanError::Unknown { attribute } => LoadError::UnknownUserAttribute {
            file: file.to_owned(),
            attribute,
        },
        UserPlanError::Unsupported { attribute, found } => {
            LoadError::UnsupportedUserAttributeType {
                file: file.to_owned(),
                attribute,
                found,
            }
        }
    })
}

/// Can `policy` apply to `action` (whose ancestors are given)?
fn applies_to(policy: &Policy, action: &EntityUid, ancestors: &[EntityUid]) -> bool {
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(a) => a == *action,
        ActionConstraint::In(list) => list.iter().any(|a| a == action || ancestors.contains(a)),
    }
}

/// Does the policy read a per-request fact from `context` (method, path,
/// sourceIp, pathParameters, queryStringParameters)?
///
/// Walks the policy's JSON form for `{"Var":"context"}`. A use that is an
/// attribute access or `has` test on a token-level fact (`context.scopes`,
/// `context has authTime`) does not count; every other use of `context`
/// does (conservatively, as does a policy that cannot be rendered as JSON).
fn reads_request_context(policy: &Policy) -> bool {
    // The policy's text answers most cases for a fraction of the JSON form's cost (Cedar
    // parses the text again to render it).
    if policy
        .to_cedar()
        .is_some_and(|text| only_token_facts(&text))
    {
        return false;
    }
    reads_request_context_json(policy)
}

/// The token-level facts of `context`.
const TOKEN_FACTS: [&str; 2] = ["scopes", "authTime"];

/// Whether every occurrence of the word `context` in a policy's text (there may be none)
/// is an attribute access or `has` test on a token-level fact: `context.scopes`,
/// `context has authTime`. Cedar names the context variable only by that word, so every
/// use of it is such an occurrence; occurrences inside strings, comments or longer paths
/// can only make this answer `false`, which is the cautious answer. When this is `true`,
/// [`reads_request_context_json`] is `false`.
fn only_token_facts(text: &str) -> bool {
    const WORD: &str = "context";
    let ident = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|t| t.find(WORD)) {
        let start = from + at;
        let end = start + WORD.len();
        from = end;
        let before = start.checked_sub(1).and_then(|i| bytes.get(i));
        if before.is_some_and(ident) || bytes.get(end).is_some_and(ident) {
            continue; // part of a longer word
        }
        let rest = text.get(end..).unwrap_or("").trim_start();
        let (attribute, has) = if let Some(r) = rest.strip_prefix('.') {
            (r.trim_start(), false)
        } else if let Some(r) = rest.strip_prefix("has")
            && r.starts_with(|c: char| c.is_ascii_whitespace())
        {
            (r.trim_start(), true)
        } else {
            return false;
        };
        let token_fact = TOKEN_FACTS.iter().any(|fact| {
            attribute.strip_prefix(fact).is_some_and(|after| {
                let longer_word = after.as_bytes().first().is_some_and(ident);
                // `has scopes.x` tests a path, which the JSON form does not answer.
                let path = has && after.trim_start().starts_with('.');
                !(longer_word || path)
            })
        });
        if !token_fact {
            return false;
        }
    }
    true
}

/// [`reads_request_context`] by the policy's JSON form.
fn reads_request_context_json(policy: &Policy) -> bool {
    fn is_context(v: &Value) -> bool {
        v.as_object().is_some_and(|m| {
            m.len() == 1 && m.get("Var").and_then(Value::as_str) == Some("context")
        })
    }
    fn walk(v: &Value) -> bool {
        match v {
            Value::Object(m) => {
                if is_context(v) {
                    return true;
                }
                for op in [".", "has"] {
                    if let Some(access) = m.get(op).and_then(Value::as_object)
                        && access.get("left").is_some_and(is_context)
                    {
                        let attr = access.get("attr").and_then(Value::as_str);
                        return !attr.is_some_and(|a| TOKEN_FACTS.contains(&a));
                    }
                }
                m.values().any(walk)
            }
            Value::Array(a) => a.iter().any(walk),
            _ => false,
        }
    }
    policy.to_json().map_or(true, |json| walk(&json))
}

/// The shipped schema and policy files, as loader input.
fn embedded_sources() -> (SourceFile, Vec<SourceFile>) {
    let schema = SourceFile {
        name: EMBEDDED_SCHEMA.0.to_owned(),
        text: EMBEDDED_SCHEMA.1.to_owned(),
    };
    let policies = EMBEDDED_POLICIES
        .iter()
        .map(|(name, text)| SourceFile {
            name: (*name).to_owned(),
            text: (*text).to_owned(),
        })
        .collect();
    (schema, policies)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn reads(src: &str) -> bool {
        reads_request_context(&Policy::from_str(src).unwrap())
    }

    #[test]
    fn request_context_detection() {
        assert!(!reads("permit(principal, action, resource);"));
        assert!(!reads(
            "permit(principal, action, resource) when { context.scopes.contains(\"a\") };"
        ));
        assert!(!reads(
            "permit(principal, action, resource) when { context has authTime && context.authTime > 0 };"
        ));
        assert!(reads(
            "permit(principal, action, resource) when { context.path == \"/x\" };"
        ));
        assert!(reads(
            "permit(principal, action, resource) when { context.pathParameters.id == \"1\" };"
        ));
        assert!(reads(
            "permit(principal, action, resource) when { context.scopes.isEmpty() || context.sourceIp == \"1\" };"
        ));
        assert!(reads(
            "permit(principal, action, resource) when { context has queryStringParameters };"
        ));
        assert!(reads(
            "permit(principal, action, resource) when { context == {} };"
        ));
    }

    /// `Engine::embedded` skips validation at start-up; this is where it happens.
    #[test]
    fn the_shipped_store_validates_strictly() {
        let (schema, policies) = embedded_sources();
        let engine = Engine::build(&schema, &policies, None, Validation::Strict).unwrap();
        assert_eq!(
            engine.policy_count(),
            Engine::embedded().unwrap().policy_count()
        );
    }

    #[test]
    fn the_text_shortcut_never_contradicts_the_json_form() {
        let policies = [
            "permit(principal, action, resource);",
            "permit(principal, action, resource) when { context.scopes.contains(\"a\") };",
            "permit(principal, action, resource) when { context . scopes .isEmpty() };",
            "permit(principal, action, resource) when { context has authTime && context.authTime > 0 };",
            "permit(principal, action, resource) when { context has scopes.x };",
            "permit(principal, action, resource) when { context has scopes . x };",
            "permit(principal, action, resource) when { context has scopes && context.scopes.x };",
            "permit(principal, action, resource) when { context.scopesX == 1 };",
            "permit(principal, action, resource) when { context[\"scopes\"].isEmpty() };",
            "permit(principal, action, resource) when { context has \"authTime\" };",
            "permit(principal, action, resource) when { (context).scopes.isEmpty() };",
            "permit(principal, action, resource) when { context.path == \"context.scopes\" };",
            "permit(principal, action, resource) when { \"context.path\" == \"x\" };",
            "permit(principal, action, resource) when { principal.context.path == \"x\" };",
            "permit(principal, action, resource) when { context // c\n.scopes.isEmpty() };",
            "permit(principal, action, resource) when { context.scopes.isEmpty() || context.sourceIp == \"1\" };",
            "permit(principal, action, resource) when { context == {} };",
            "@id(\"context\") permit(principal, action, resource);",
        ];
        for src in policies {
            let policy = Policy::from_str(src).unwrap();
            let text = policy.to_cedar().unwrap();
            if only_token_facts(&text) {
                assert!(
                    !reads_request_context_json(&policy),
                    "{src} {}",
                    policy.to_json().unwrap()
                );
            }
        }
        // The shortcut answers the common shapes by itself.
        assert!(only_token_facts("permit(principal, action, resource);"));
        assert!(only_token_facts(
            "forbid(principal, action, resource) when { context.scopes.contains(\"x\") };"
        ));
        assert!(only_token_facts(
            "when { context has authTime && context.authTime > 1 }"
        ));
        assert!(!only_token_facts("when { context.path == \"/\" }"));
        assert!(!only_token_facts("when { context == {} }"));
        assert!(!only_token_facts("when { context }"));
    }
}

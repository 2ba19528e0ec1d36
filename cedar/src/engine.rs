//! The engine: load once, decide per request.

use std::collections::HashMap;
use std::path::Path;

use cedar_policy::{
    Authorizer, Context, Effect, Entities, Entity, EntityUid, Policy, PolicySet, Request, Schema,
};

use crate::context::{ContextPlan, Params, RequestFacts};
use crate::entities::{Accepts, EntityIds, EntityKit, Kind, Principal};
use crate::error::LoadError;
use crate::loader::{self, PolicyConfig, SourceFile, Validation, read_dir};
use crate::memo::{self, Memo};
use crate::routes::{ActionRef, Route, RouteKind, RouteMatch, RouteTable};

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
    /// `<Namespace>::User::"<sub>"`, or `<Namespace>::Client::"<client_id>"` for a
    /// machine client on an action that lists `Client`.
    pub principal: EntityUid,
    /// `<Namespace>::Action::"<name>"`.
    pub action: EntityUid,
    /// `<Namespace>::Application::"<application>"`.
    pub resource: EntityUid,
    /// The context, holding only the attributes the action declares.
    pub context: Context,
    /// The principal (a user and its groups, or a client), the application and, when the schema has
    /// action groups, the action and its ancestors.
    pub entities: Vec<Entity>,
}

/// What [`Engine::route_checks`] finds about one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCheck {
    /// The route's action name (`get /orders/{id}`, `$connect`).
    pub action: String,
    /// Whether a cached policy can stand for the route's every request: for an HTTP
    /// route, whether a cached REST policy lists it (see [`Engine::allowed_routes`]); for
    /// `$connect`, whether no policy reads a request fact.
    pub cache_safe: bool,
    /// Why it cannot be listed: each policy that reads a request fact, and what the
    /// route's context requires that some of its requests lack.
    pub not_cache_safe_because: Vec<String>,
    /// The ids of the `permit` policies that can apply to it; none means every request
    /// of the route is denied.
    pub permits: Vec<String>,
}

/// What the engine keeps per decidable action.
#[derive(Debug)]
pub(crate) struct ActionEntry {
    pub(crate) action: ActionRef,
    pub(crate) uid: EntityUid,
    /// Which of `User` and `Client` its principals include.
    pub(crate) accepts: Accepts,
    pub(crate) slice: PolicySet,
    pub(crate) plan: ContextPlan,
    /// The action entity and its ancestors; empty if it has no ancestors.
    pub(crate) lineage: Vec<Entity>,
    /// Whether a policy of the slice reads a request fact the context declares (method,
    /// path, source IP, parameters): its decision can differ between two requests of
    /// the same caller, so a cached policy cannot list the route.
    pub(crate) request_sensitive: bool,
}

/// A loaded schema and policy set: routes, per-action policy slices and
/// context plans, ready to decide requests.
///
/// Loading validates everything (see [`LoadError`]); deciding never fails,
/// it denies.
#[derive(Debug)]
pub struct Engine {
    pub(crate) namespace: String,
    pub(crate) application: String,
    pub(crate) schema: Schema,
    pub(crate) policies: PolicySet,
    pub(crate) actions: Vec<ActionEntry>,
    pub(crate) by_name: HashMap<String, usize>,
    pub(crate) routes: RouteTable,
    pub(crate) kit: EntityKit,
    /// All action entities, when the schema has action groups.
    pub(crate) all_action_entities: Vec<Entity>,
    pub(crate) authorizer: Authorizer,
    pub(crate) context_sensitive: bool,
    /// Where each policy was read from: its file and first line, by id.
    pub(crate) locations: HashMap<String, (String, Option<usize>)>,
    /// Decisions already made, by principal, action and declared facts.
    pub(crate) decisions: Memo<Decision>,
    /// [`allowed_routes`](Self::allowed_routes) answers (route indices).
    pub(crate) allowed: Memo<Vec<usize>>,
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
        let (schema, policies) = loader::embedded_sources();
        // The shipped store is validated by a test, not at every start-up (strict
        // validation is a tenth of the start-up's work).
        loader::build(&schema, &policies, application, Validation::Skip)
    }

    /// Loads a folder holding exactly one schema (`*.cedarschema`, or `*.cedarschema.json`
    /// in Cedar's JSON format) and at least one `*.cedar` file (read in file-name order);
    /// application name = namespace.
    ///
    /// # Errors
    /// Any [`LoadError`]; messages name the file.
    pub fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        Self::from_dir_with_application(dir, None)
    }

    fn from_dir_with_application(dir: &Path, application: Option<&str>) -> Result<Self, LoadError> {
        let (schema, policies) = read_dir(dir)?;
        loader::build(&schema, &policies, application, Validation::Strict)
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
        loader::build(&schema, &policies, application, Validation::Strict)
    }

    /// Loads what `config` says: its folder, else the embedded example.
    ///
    /// # Errors
    /// Any [`LoadError`].
    pub fn from_config(config: &PolicyConfig) -> Result<Self, LoadError> {
        let application = config.application.as_deref();
        let engine = match &config.policy_dir {
            Some(dir) => Self::from_dir_with_application(dir, application),
            None => Self::embedded_with_application(application),
        }?;
        Ok(engine.with_entity_ids(config.entity_ids))
    }

    /// The same engine writing principal and group ids as `ids` says (see
    /// [`EntityIds`]).
    pub fn with_entity_ids(mut self, ids: EntityIds) -> Self {
        self.kit.entity_ids = ids;
        self
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

    /// The token claims the schema's `User` and `Client` attributes read, by name, each
    /// once: every declared attribute but `username`, `email`, `clientId` and `tokenUse`,
    /// whose meaning is fixed. Hand them to the verifier
    /// (`l42_core::VerifierConfig::keep_claims`) and pass the kept claims as
    /// [`Principal::claims`].
    pub fn principal_claims(&self) -> Vec<String> {
        self.kit.claims()
    }

    /// Whether the schema declares a `Client` entity type for machine clients.
    pub fn has_client_type(&self) -> bool {
        self.kit.client.is_some()
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

    /// The action with this exact name, if it applies to `User` or `Client` and
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
            .get(action.index())
            .filter(|e| e.action == *action)
    }

    /// Builds what would be handed to Cedar, or the fail-closed reasons why
    /// the request cannot be evaluated.
    ///
    /// # Errors
    /// The reasons (unknown action, empty `sub`, missing or malformed
    /// required attributes, a user on an action only machine clients may call).
    pub fn request_parts(
        &self,
        action: &ActionRef,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Result<RequestParts, Vec<String>> {
        let entry = self
            .entry(action)
            .ok_or_else(|| vec![format!("unknown action {}", action.name())])?;
        let kind = entry
            .accepts
            .kind_of(principal)
            .map_err(|why| vec![format!("{why} ({})", action.name())])?;
        let (principal_uid, mut entities) = self.kit.principal_entities(principal, kind)?;
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
        let key = memo::decision_key(action.index(), principal, &entry.plan, facts);
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

    /// For every route, in [`routes`](Self::routes) order: whether a cached policy can
    /// list it and why not, and the `permit` policies that can allow it (what
    /// `l42 policy check` reports).
    pub fn route_checks(&self) -> Vec<RouteCheck> {
        let facts = RequestFacts::new("GET", "/").with_source_ip("");
        self.routes
            .routes()
            .iter()
            .filter_map(|route| {
                let entry = self.entry(route.action())?;
                let permits: Vec<String> = entry
                    .slice
                    .policies()
                    .filter(|p| p.effect() == Effect::Permit)
                    .map(|p| p.id().to_string())
                    .collect();
                let mut why = Vec::new();
                if entry.plan.uses_request_facts() {
                    for policy in entry.slice.policies() {
                        let read = crate::analysis::request_facts_read(policy);
                        if !read.is_empty() {
                            let read: Vec<String> = read
                                .iter()
                                .map(|f| match f.as_str() {
                                    "context" => "the whole context".to_owned(),
                                    f => format!("context.{f}"),
                                })
                                .collect();
                            why.push(format!("policy {} reads {}", policy.id(), read.join(", ")));
                        }
                    }
                }
                let cache_safe = match route.kind() {
                    // The one route of its API: a cached answer is for `$connect` alone.
                    RouteKind::WebSocketConnect => why.is_empty(),
                    RouteKind::Http { .. } => {
                        if let Err(errors) = self.stand_in_context(entry, route, &facts) {
                            why.push(format!(
                                "its context requires what some requests lack: {}",
                                errors.join("; ")
                            ));
                        }
                        why.is_empty()
                    }
                };
                Some(RouteCheck {
                    action: route.action().name().to_owned(),
                    cache_safe,
                    not_cache_safe_because: why,
                    permits,
                })
            })
            .collect()
    }

    /// The ids of the policies that apply to no route's action: they can never decide a
    /// request (an action group of no route, an action no route has).
    pub fn policies_without_route(&self) -> Vec<String> {
        let used: std::collections::HashSet<String> = self
            .routes
            .routes()
            .iter()
            .filter_map(|r| self.entry(r.action()))
            .flat_map(|e| e.slice.policies().map(|p| p.id().to_string()))
            .collect();
        let mut unused: Vec<String> = self
            .policies
            .policies()
            .map(|p| p.id().to_string())
            .filter(|id| !used.contains(id))
            .collect();
        unused.sort();
        unused
    }

    /// Cedar's validation warnings (an impossible policy, one that can never apply, ...),
    /// each with its file and line. Loading refuses errors but keeps going on warnings;
    /// this validates again, so it is for tools, not requests.
    pub fn validation_warnings(&self) -> Vec<crate::ValidationProblem> {
        let result = cedar_policy::Validator::new(self.schema.clone())
            .validate(&self.policies, cedar_policy::ValidationMode::Strict);
        result
            .validation_warnings()
            .map(|w| {
                let id = w.policy_id().to_string();
                let (file, line) = self.locations.get(&id).cloned().unwrap_or_default();
                crate::ValidationProblem {
                    file,
                    line,
                    policy_id: id,
                    message: w.to_string(),
                }
            })
            .collect()
    }

    /// The context an HTTP route's every request carries, with stand-ins for its template
    /// parameters and (when `facts` has one) its source IP; `Err` with the reasons when
    /// the route's context requires more (a query parameter, a parameter not in the
    /// template) or something a stand-in may not be (a `Long` parameter).
    fn stand_in_context(
        &self,
        entry: &ActionEntry,
        route: &Route,
        facts: &RequestFacts<'_>,
    ) -> Result<Context, Vec<String>> {
        let RouteKind::Http { verb, template } = route.kind() else {
            return Err(vec!["not an HTTP route".to_owned()]);
        };
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
        entry.plan.build(&route_facts)
    }

    /// [`allowed_route_indices`](Self::allowed_route_indices) without the memo.
    fn evaluate_allowed_routes(
        &self,
        principal: &Principal<'_>,
        facts: &RequestFacts<'_>,
    ) -> Vec<usize> {
        // The principal as each kind a route may need: a machine client is a `Client`
        // where the action lists one and a `User` elsewhere, each decided with its own
        // entities only (as `request_parts` builds them); a kind that cannot be built (a
        // required attribute missing) gets none of its routes.
        let as_kind = |kind: Kind| -> Option<(EntityUid, Entities)> {
            let (uid, mut entities) = self.kit.principal_entities(principal, kind).ok()?;
            entities.push(self.kit.application.clone());
            entities.extend(self.all_action_entities.iter().cloned());
            Entities::from_entities(entities, None)
                .ok()
                .map(|e| (uid, e))
        };
        let user = as_kind(Kind::User);
        let client = if principal.machine && self.kit.client.is_some() {
            as_kind(Kind::Client)
        } else {
            None
        };
        if user.is_none() && client.is_none() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (index, route) in self.routes.routes().iter().enumerate() {
            if !matches!(route.kind(), RouteKind::Http { .. }) {
                continue;
            }
            let Some(entry) = self.entry(route.action()) else {
                continue;
            };
            if entry.request_sensitive {
                continue;
            }
            let principal = match entry.accepts.kind_of(principal) {
                Ok(Kind::User) => user.as_ref(),
                Ok(Kind::Client) => client.as_ref(),
                Err(_) => None,
            };
            let Some((principal_uid, entities)) = principal else {
                continue;
            };
            // Stand-ins for what every request of the route carries: each template
            // parameter (API Gateway always fills them), a source IP when this request
            // has one (the events of one API are all of one kind). No policy reads them,
            // so the decision is every such request's. What some requests lack (query
            // parameters, parameters not in the template) or may not parse (a `Long`
            // parameter) is not supplied: the strict context then fails and the route
            // is left out.
            let Ok(context) = self.stand_in_context(entry, route, facts) else {
                continue;
            };
            if self
                .authorize(entry, principal_uid.clone(), context, entities)
                .allowed
            {
                out.push(index);
            }
        }
        out
    }
}

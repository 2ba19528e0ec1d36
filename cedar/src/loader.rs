//! Loading: finding and parsing the schema and policy files, then building the
//! [`Engine`] from them (entity types checked, per action its policy slice, context plan,
//! lineage and route).

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Entity, EntityId, EntityTypeName, EntityUid, Policy, PolicyId,
    PolicySet, Schema, SchemaFragment, ValidationMode, Validator,
};
use serde_json::Value;

use crate::analysis;
use crate::context::{ContextPlan, PlanError};
use crate::engine::{ActionEntry, Engine};
use crate::entities::{Accepts, ClientKit, EntityIds, EntityKit, UserPlan, UserPlanError};
use crate::error::{LoadError, ValidationProblem, line_of, syntax_error_offset};
use crate::memo::Memo;
use crate::routes::{ActionRef, RouteTable, parse_route_name};
use crate::shape::NamespaceJson;

/// The shipped example schema.
pub(crate) const EMBEDDED_SCHEMA: (&str, &str) = (
    "schema/app.cedarschema",
    include_str!("../schema/app.cedarschema"),
);

/// The shipped example policies, sorted by name.
pub(crate) const EMBEDDED_POLICIES: [(&str, &str); 5] = [
    (
        "policies/admin.cedar",
        include_str!("../policies/admin.cedar"),
    ),
    (
        "policies/common.cedar",
        include_str!("../policies/common.cedar"),
    ),
    (
        "policies/machines.cedar",
        include_str!("../policies/machines.cedar"),
    ),
    (
        "policies/orders.cedar",
        include_str!("../policies/orders.cedar"),
    ),
    (
        "policies/tenants.cedar",
        include_str!("../policies/tenants.cedar"),
    ),
];

/// Where to load policies from, usually read from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Folder holding one schema (`*.cedarschema` or `*.cedarschema.json`) and the
    /// `*.cedar` files
    /// (`CEDAR_POLICY_DIR`); `None` uses the embedded example.
    pub policy_dir: Option<PathBuf>,
    /// The `Application` entity id (`CEDAR_APPLICATION`); `None` uses the
    /// schema's namespace name, as Amazon Verified Permissions does.
    pub application: Option<String>,
    /// How principal and group entity ids are written (`CEDAR_ENTITY_IDS`: `plain`, the
    /// default, or `avp`).
    pub entity_ids: EntityIds,
}

impl PolicyConfig {
    /// The variable naming the policy folder.
    pub const POLICY_DIR_VAR: &'static str = "CEDAR_POLICY_DIR";
    /// The variable naming the application.
    pub const APPLICATION_VAR: &'static str = "CEDAR_APPLICATION";
    /// The variable choosing how entity ids are written.
    pub const ENTITY_IDS_VAR: &'static str = "CEDAR_ENTITY_IDS";

    /// Reads `CEDAR_POLICY_DIR`, `CEDAR_APPLICATION` and `CEDAR_ENTITY_IDS`. An unset or
    /// empty variable means "not configured".
    ///
    /// # Errors
    /// [`LoadError::EnvNotUnicode`] if a variable is not valid UTF-8;
    /// [`LoadError::Variable`] for a `CEDAR_ENTITY_IDS` other than `plain` or `avp`.
    pub fn from_env() -> Result<Self, LoadError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Like [`from_env`](Self::from_env) but reading variables through `lookup`.
    ///
    /// # Errors
    /// [`LoadError::EnvNotUnicode`] if a value is not valid UTF-8.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, LoadError> {
        let read = |name: &'static str| -> Result<Option<String>, LoadError> {
            match lookup(name) {
                None => Ok(None),
                Some(v) => {
                    let v = v
                        .into_string()
                        .map_err(|_| LoadError::EnvNotUnicode { name })?;
                    Ok((!v.is_empty()).then_some(v))
                }
            }
        };
        let entity_ids = match read(Self::ENTITY_IDS_VAR)? {
            None => EntityIds::default(),
            Some(v) => EntityIds::parse(&v).ok_or(LoadError::Variable {
                name: Self::ENTITY_IDS_VAR,
                value: v,
                expected: "expected plain or avp",
            })?,
        };
        Ok(Self {
            policy_dir: read(Self::POLICY_DIR_VAR)?.map(PathBuf::from),
            application: read(Self::APPLICATION_VAR)?,
            entity_ids,
        })
    }
}

/// One source text with its display name and id stem.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) name: String,
    pub(crate) text: String,
}

impl SourceFile {
    fn stem(&self) -> String {
        Path::new(&self.name)
            .file_stem()
            .map_or_else(|| self.name.clone(), |s| s.to_string_lossy().into_owned())
    }
}

fn io_error(path: &Path, source: std::io::Error) -> LoadError {
    LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the schema and policy files of a folder, and of its `schema/` and `policies/`
/// subfolders when it has them (the shipped example's layout); policies sorted by path.
pub(crate) fn read_dir(dir: &Path) -> Result<(SourceFile, Vec<SourceFile>), LoadError> {
    let mut schemas = Vec::new();
    let mut policies = Vec::new();
    let mut entries: Vec<PathBuf> = Vec::new();
    for folder in [dir.to_path_buf(), dir.join("schema"), dir.join("policies")] {
        if folder != dir && !folder.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&folder).map_err(|e| io_error(&folder, e))? {
            entries.push(entry.map_err(|e| io_error(&folder, e))?.path());
        }
    }
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let bucket = if name.ends_with(".cedarschema") || name.ends_with(".cedarschema.json") {
            &mut schemas
        } else if name.ends_with(".cedar") {
            &mut policies
        } else {
            continue;
        };
        let meta = std::fs::metadata(&path).map_err(|e| io_error(&path, e))?;
        if meta.is_file() {
            bucket.push(path);
        }
    }
    schemas.sort();
    policies.sort();
    let schema_path = match schemas.as_slice() {
        [] => {
            return Err(LoadError::NoSchema {
                dir: dir.to_path_buf(),
            });
        }
        [one] => one.clone(),
        several => {
            return Err(LoadError::SeveralSchemas {
                dir: dir.to_path_buf(),
                files: several.iter().map(|p| p.display().to_string()).collect(),
            });
        }
    };
    if policies.is_empty() {
        return Err(LoadError::NoPolicies {
            dir: dir.to_path_buf(),
        });
    }
    let read = |path: &PathBuf| -> Result<SourceFile, LoadError> {
        Ok(SourceFile {
            name: path.display().to_string(),
            text: std::fs::read_to_string(path).map_err(|e| io_error(path, e))?,
        })
    };
    let schema = read(&schema_path)?;
    let policies = policies.iter().map(read).collect::<Result<_, _>>()?;
    Ok((schema, policies))
}

/// Parses a schema file once, in either of Cedar's formats: the human one
/// (`*.cedarschema`) or the JSON one (`*.cedarschema.json`, as Verified Permissions' console
/// and `aws verifiedpermissions get-schema` give it; a text that starts with `{` is read
/// so too). The fragment gives both the schema (exactly as `Schema::from_cedarschema_str`
/// or `Schema::from_json_str` builds it) and its JSON form, which the loaders read for
/// what cedar-policy does not expose. Parsing the text is most of the start-up, so it is
/// done only here.
pub(crate) fn parse_schema(file: &SourceFile) -> Result<(Schema, Value), LoadError> {
    let src = file.text.as_str();
    let schema_error = |message: String, debug: String| LoadError::SchemaParse {
        file: file.name.clone(),
        line: syntax_error_offset(&debug).map(|o| line_of(src, o)),
        message,
    };
    let fragment = if is_json_schema(file) {
        SchemaFragment::from_json_str(src)
            .map_err(|e| schema_error(e.to_string(), String::new()))?
    } else {
        SchemaFragment::from_cedarschema_str(src)
            .map_err(|e| schema_error(e.to_string(), format!("{e:?}")))?
            .0
    };
    let json_text = fragment.to_json_string();
    let schema = Schema::from_schema_fragments([fragment])
        .map_err(|e| schema_error(e.to_string(), format!("{e:?}")))?;
    let json: Value = json_text
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|message| LoadError::Internal {
            during: "converting the schema to JSON",
            message,
        })?;
    Ok((schema, json))
}

/// Whether a schema file is in Cedar's JSON format: by its name, or (for a schema given
/// as text) by its first character, which no human-format schema can start with.
fn is_json_schema(file: &SourceFile) -> bool {
    file.name.ends_with(".json") || file.text.trim_start().starts_with('{')
}

/// Every policy of `files` with its id (unique across the files) and place, assembled
/// into one set and, with `validate_against`, validated strictly against that schema
/// (every problem named with its file and line).
pub(crate) fn load_policies(
    files: &[SourceFile],
    validate_against: Option<&Schema>,
) -> Result<(PolicySet, Vec<LocatedPolicy>), LoadError> {
    let mut located: Vec<LocatedPolicy> = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for f in files {
        for p in parse_policy_file(f)? {
            if let Some(first_file) = seen.get(&p.id) {
                return Err(LoadError::DuplicatePolicyId {
                    file: p.file,
                    line: p.line,
                    id: p.id,
                    first_file: first_file.clone(),
                });
            }
            seen.insert(p.id.clone(), p.file.clone());
            located.push(p);
        }
    }
    let policies =
        PolicySet::from_policies(located.iter().map(|p| p.policy.clone())).map_err(|e| {
            LoadError::Internal {
                during: "assembling the policy set",
                message: e.to_string(),
            }
        })?;
    let Some(schema) = validate_against else {
        return Ok((policies, located));
    };
    let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
    if !result.validation_passed() {
        let by_id: HashMap<&str, &LocatedPolicy> =
            located.iter().map(|p| (p.id.as_str(), p)).collect();
        let problems = result
            .validation_errors()
            .map(|e| {
                let id = e.policy_id().to_string();
                let at = by_id.get(id.as_str());
                ValidationProblem {
                    file: at.map_or_else(String::new, |p| p.file.clone()),
                    line: at.and_then(|p| p.line),
                    policy_id: id,
                    message: e.to_string(),
                }
            })
            .collect();
        return Err(LoadError::Validation { problems });
    }
    Ok((policies, located))
}

/// A parsed policy with its final id and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct LocatedPolicy {
    pub(crate) policy: Policy,
    pub(crate) id: String,
    pub(crate) file: String,
    pub(crate) line: Option<usize>,
}

/// Byte ranges of the `...;` statements of a policy file, skipping comments
/// and strings when looking for `;`. Used only to locate errors.
fn statement_spans(src: &str) -> Vec<(usize, usize)> {
    let b = src.as_bytes();
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' => {
                start.get_or_insert(i);
                i += 1;
                while let Some(&c) = b.get(i) {
                    if c == b'\\' {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if c == b'"' {
                        break;
                    }
                }
            }
            b';' => {
                spans.push((start.unwrap_or(i), i + 1));
                start = None;
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                start.get_or_insert(i);
                i += 1;
            }
        }
    }
    if let Some(s) = start {
        spans.push((s, b.len()));
    }
    spans
}

/// Locates a parse error: the exact position when Cedar's syntax error
/// carries one, else the start of the first statement that fails alone.
fn parse_error_line(src: &str, debug: &str) -> Option<usize> {
    if let Some(offset) = syntax_error_offset(debug) {
        return Some(line_of(src, offset));
    }
    statement_spans(src).into_iter().find_map(|(start, end)| {
        let chunk = src.get(start..end)?;
        PolicySet::from_str(chunk)
            .is_err()
            .then(|| line_of(src, start))
    })
}

/// Parses one policy file into static policies with their final ids.
pub(crate) fn parse_policy_file(file: &SourceFile) -> Result<Vec<LocatedPolicy>, LoadError> {
    let src = file.text.as_str();
    let set = PolicySet::from_str(src).map_err(|e| LoadError::PolicyParse {
        file: file.name.clone(),
        line: parse_error_line(src, &format!("{e:?}")),
        message: e
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let stem = file.stem();
    // Cedar names the statements of a file `policy0`, `policy1`, ...
    let index_of = |id: &PolicyId| -> Option<usize> {
        id.to_string()
            .strip_prefix("policy")
            .and_then(|n| n.parse().ok())
    };
    let final_id = |annotation: Option<&str>, index: usize| -> String {
        annotation.map_or_else(|| format!("{stem}.{index}"), str::to_owned)
    };

    if let Some(t) = set.templates().next() {
        let index = index_of(t.id()).unwrap_or(0);
        return Err(LoadError::Template {
            file: file.name.clone(),
            line: src.find(&t.to_cedar()).map(|o| line_of(src, o)),
            id: final_id(t.annotation("id"), index),
        });
    }

    let mut indexed: Vec<(usize, &Policy)> = set
        .policies()
        .enumerate()
        .map(|(n, p)| (index_of(p.id()).unwrap_or(n), p))
        .collect();
    indexed.sort_by_key(|(n, _)| *n);

    let mut cursor = 0;
    let mut out = Vec::with_capacity(indexed.len());
    for (index, policy) in indexed {
        let line = policy.to_cedar().and_then(|text| {
            let found = src.get(cursor..)?.find(&text)? + cursor;
            cursor = found + text.len();
            Some(line_of(src, found))
        });
        let annotation = policy.annotation("id");
        if annotation.is_some_and(|a| a.trim().is_empty()) {
            return Err(LoadError::PolicyParse {
                file: file.name.clone(),
                line,
                message: "empty @id annotation".into(),
            });
        }
        let id = final_id(annotation, index);
        out.push(LocatedPolicy {
            policy: policy.new_id(PolicyId::new(&id)),
            id,
            file: file.name.clone(),
            line,
        });
    }
    Ok(out)
}

/// Builds an engine from a schema file and policy files: the schema's one namespace, its
/// entity types checked, the policies parsed (and validated unless `validation` says
/// otherwise), and per action its slice, context plan, lineage and route.
pub(crate) fn build(
    schema_file: &SourceFile,
    policy_files: &[SourceFile],
    application: Option<&str>,
    validation: Validation,
) -> Result<Engine, LoadError> {
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
    let (user_plan, client_plan) =
        check_entity_types(file, &namespace, &ns, &application, configured)?;
    let type_name = |basename: &str| entity_type(&namespace, basename);
    let user_type = type_name("User")?;
    let client = match client_plan {
        Some(plan) => Some(ClientKit {
            client_type: type_name("Client")?,
            plan,
        }),
        None => None,
    };
    let client_type = client.as_ref().map(|c| c.client_type.clone());
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
        client,
        entity_ids: EntityIds::default(),
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
        .map(|p| (p.id.clone(), analysis::reads_request_context(&p.policy)))
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
        let principals: Vec<&EntityTypeName> = schema
            .principals_for_action(uid)
            .map(Iterator::collect)
            .unwrap_or_default();
        let accepts = Accepts {
            user: principals.contains(&&user_type),
            client: client_type
                .as_ref()
                .is_some_and(|c| principals.contains(&c)),
        };
        let decidable = (accepts.user || accepts.client)
            && schema
                .resources_for_action(uid)
                .is_some_and(|mut it| it.any(|t| *t == application_type));
        if !decidable {
            if route.is_some() {
                return Err(LoadError::Route {
                    file: file.to_owned(),
                    action: name.to_owned(),
                    message: "a route action must apply to principal User (or Client) and resource Application"
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
        let slice = PolicySet::from_policies(slice_policies).map_err(|e| LoadError::Internal {
            during: "building a policy slice",
            message: e.to_string(),
        })?;

        let action = ActionRef::new(actions.len(), name);
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
            accepts,
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

    Ok(Engine {
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
        locations: located
            .iter()
            .map(|p| (p.id.clone(), (p.file.clone(), p.line)))
            .collect(),
        decisions: Memo::default(),
        allowed: Memo::default(),
    })
}

/// Whether [`build`] validates the policies against the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validation {
    /// Strict validation; any problem is a [`LoadError::Validation`].
    Strict,
    /// None: only for the shipped store, which a test validates strictly.
    Skip,
}

/// Checks `User`, `UserGroup`, `Application` and the optional `Client`, and returns the
/// `User` plan and the `Client` one (when declared). `configured`: the application name
/// was given (`CEDAR_APPLICATION`) rather than taken from the namespace, so an
/// enumeration that lacks it is the name's fault.
fn check_entity_types(
    file: &str,
    namespace: &str,
    ns: &NamespaceJson<'_>,
    application: &str,
    configured: bool,
) -> Result<(UserPlan, Option<UserPlan>), LoadError> {
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
    for entity_type in ["User", "UserGroup", "Client"] {
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
    let plan = |entity_type: &'static str| -> Result<UserPlan, LoadError> {
        let attrs = ns
            .entity_attributes(entity_type)
            .map_err(|m| shape_error(entity_type, m))?;
        UserPlan::from_declared(&attrs).map_err(|e| match e {
            UserPlanError::UnsupportedClaim { attribute, found } => {
                LoadError::UnsupportedClaimType {
                    file: file.to_owned(),
                    entity_type,
                    attribute,
                    found,
                }
            }
            UserPlanError::Unsupported { attribute, found } => {
                LoadError::UnsupportedUserAttributeType {
                    file: file.to_owned(),
                    entity_type,
                    attribute,
                    found,
                }
            }
        })
    };
    let client = match ns.entity_type("Client") {
        Some(_) => {
            let attrs = ns
                .entity_attributes("Client")
                .map_err(|m| shape_error("Client", m))?;
            // A client-credentials token names no user: these could never be filled.
            if let Some(a) = attrs
                .iter()
                .find(|a| a.required && (a.name == "username" || a.name == "email"))
            {
                return Err(shape_error(
                    "Client",
                    format!(
                        "attribute {} is required, but a machine client has none; declare it optional ({}?) or remove it",
                        a.name, a.name
                    ),
                ));
            }
            Some(plan("Client")?)
        }
        None => None,
    };
    Ok((plan("User")?, client))
}

/// Can `policy` apply to `action` (whose ancestors are given)?
fn applies_to(policy: &Policy, action: &EntityUid, ancestors: &[EntityUid]) -> bool {
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(a) => a == *action,
        ActionConstraint::In(list) => list.iter().any(|a| a == action || ancestors.contains(a)),
    }
}

/// The shipped schema and policy files, as loader input.
pub(crate) fn embedded_sources() -> (SourceFile, Vec<SourceFile>) {
    sources_of(EMBEDDED_SCHEMA, &EMBEDDED_POLICIES)
}

/// Embedded `(name, text)` files as loader input: a schema and its policies.
pub(crate) fn sources_of(
    schema: (&str, &str),
    policies: &[(&str, &str)],
) -> (SourceFile, Vec<SourceFile>) {
    let file = |(name, text): (&str, &str)| SourceFile {
        name: name.to_owned(),
        text: text.to_owned(),
    };
    (file(schema), policies.iter().copied().map(file).collect())
}

/// The entity type `namespace::basename`.
pub(crate) fn entity_type(namespace: &str, basename: &str) -> Result<EntityTypeName, LoadError> {
    EntityTypeName::from_str(&format!("{namespace}::{basename}")).map_err(|e| LoadError::Internal {
        during: "building entity type names",
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn file(name: &str, text: &str) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn ids_and_lines() {
        let src = "// c\npermit(principal, action, resource);\n\n@id(\"named\")\nforbid(principal, action, resource);\npermit(principal, action, resource);\n";
        let got = parse_policy_file(&file("dir/x.cedar", src)).unwrap();
        let ids: Vec<_> = got.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["x.0", "named", "x.2"]);
        let lines: Vec<_> = got.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(2), Some(4), Some(6)]);
        assert_eq!(got[1].policy.id().to_string(), "named");
    }

    #[test]
    fn statement_spans_skip_comments_and_strings() {
        let src = "// a; b\npermit(p) when { \"x;\\\"y\" };\n  forbid(q);";
        let spans = statement_spans(src);
        assert_eq!(spans.len(), 2);
        assert!(src[spans[0].0..spans[0].1].starts_with("permit"));
        assert_eq!(&src[spans[1].0..spans[1].1], "forbid(q);");
    }

    #[test]
    fn parse_errors_have_lines() {
        let src = "permit(principal, action, resource);\n\npermit(principal, action, resource) when { 1 + };\n";
        let err = parse_policy_file(&file("bad.cedar", src)).unwrap_err();
        let LoadError::PolicyParse { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, Some(3));
        assert!(err.to_string().starts_with("bad.cedar:3: "), "{err}");

        // An AST-level error carries no offset: the failing statement is found.
        let src =
            "permit(principal, action, resource);\n\npermit(principal, action == Foo, resource);\n";
        let err = parse_policy_file(&file("bad.cedar", src)).unwrap_err();
        assert!(err.to_string().starts_with("bad.cedar:3: "), "{err}");
    }

    #[test]
    fn config_from_lookup() {
        let cfg = PolicyConfig::from_lookup(|n| match n {
            "CEDAR_POLICY_DIR" => Some("/p".into()),
            "CEDAR_APPLICATION" => Some("".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.policy_dir, Some(PathBuf::from("/p")));
        assert_eq!(cfg.application, None);
        assert_eq!(
            PolicyConfig::from_lookup(|_| None).unwrap(),
            PolicyConfig::default()
        );
    }

    /// `Engine::embedded` skips validation at start-up; this is where it happens.
    #[test]
    fn the_shipped_store_validates_strictly() {
        let (schema, policies) = embedded_sources();
        let engine = build(&schema, &policies, None, Validation::Strict).unwrap();
        assert_eq!(
            engine.policy_count(),
            Engine::embedded().unwrap().policy_count()
        );
    }
}

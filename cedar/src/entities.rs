//! The principal and the entities built for each request.

use std::collections::HashSet;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use crate::shape::{Attr, Ty};

/// How the principal's and its groups' entity ids are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EntityIds {
    /// `User::"<sub>"`, `UserGroup::"<group>"`.
    #[default]
    Plain,
    /// As Amazon Verified Permissions' Cognito identity source writes them:
    /// `User::"<userPoolId>|<sub>"`, `UserGroup::"<userPoolId>|<group>"`, so policies
    /// written for an AVP policy store decide the same here (`CEDAR_ENTITY_IDS=avp`).
    Avp,
}

impl EntityIds {
    /// `plain` or `avp`, any case, surrounding spaces ignored.
    pub fn parse(value: &str) -> Option<EntityIds> {
        match value.trim().to_ascii_lowercase().as_str() {
            "plain" => Some(EntityIds::Plain),
            "avp" => Some(EntityIds::Avp),
            _ => None,
        }
    }
}

/// The types a claim attribute may be declared with.
pub(crate) const CLAIM_TYPES: &str =
    "String, Long, Bool, Set<String>, or a record whose fields are of these types";

/// The signed-in caller, built cheaply from verified token claims.
///
/// Only the attributes the schema declares on `User` are given to Cedar; a
/// declared *required* attribute that is missing here (or whose claim does not coerce to
/// its declared type) makes the decision Deny.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    /// The `sub` claim; the `User` entity id.
    pub sub: &'a str,
    /// The `cognito:groups` claim; each entry becomes a parent `UserGroup`
    /// with exactly that id (no case change).
    pub groups: &'a [String],
    /// `User` attribute `username` (Cognito `username` / `cognito:username`).
    pub username: Option<&'a str>,
    /// `User` attribute `email`.
    pub email: Option<&'a str>,
    /// `User` attribute `clientId` (`client_id` / `aud`).
    pub client_id: Option<&'a str>,
    /// `User` attribute `tokenUse` (`access` or `id`).
    pub token_use: Option<&'a str>,
    /// The user pool the token came from (`us-east-1_AbC123`): the prefix of the ids
    /// with [`EntityIds::Avp`], which denies a principal without one.
    pub pool_id: Option<&'a str>,
    /// The token's claims by name, for every other declared attribute (see
    /// [`Engine::principal_claims`](crate::Engine::principal_claims) for the names an
    /// engine reads).
    pub claims: &'a [(String, serde_json::Value)],
    /// A machine client's token (client credentials: an access token without `username`
    /// or `cognito:groups` whose `sub` is its `client_id`). For an action that lists
    /// `Client` among its principals it is `Client::"<client_id>"`; otherwise the `User`
    /// of its `sub`.
    pub machine: bool,
}

impl<'a> Principal<'a> {
    /// A principal with a subject and groups and no optional attributes.
    pub fn new(sub: &'a str, groups: &'a [String]) -> Self {
        Self {
            sub,
            groups,
            username: None,
            email: None,
            client_id: None,
            token_use: None,
            pool_id: None,
            claims: &[],
            machine: false,
        }
    }

    /// A fixed attribute's value for a principal of `kind`: a machine client has no
    /// username or email.
    fn candidate(&self, attr: UserAttr, kind: Kind) -> Option<&'a str> {
        match (attr, kind) {
            (UserAttr::Username | UserAttr::Email, Kind::Client) => None,
            (UserAttr::Username, Kind::User) => self.username,
            (UserAttr::Email, Kind::User) => self.email,
            (UserAttr::ClientId, _) => self.client_id,
            (UserAttr::TokenUse, _) => self.token_use,
        }
    }

    fn claim(&self, name: &str) -> Option<&'a serde_json::Value> {
        self.claims.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// The `User` attributes with a fixed meaning; any other declared attribute reads the
/// token's claim of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserAttr {
    Username,
    Email,
    ClientId,
    TokenUse,
}

impl UserAttr {
    fn of(name: &str) -> Option<UserAttr> {
        match name {
            "username" => Some(UserAttr::Username),
            "email" => Some(UserAttr::Email),
            "clientId" => Some(UserAttr::ClientId),
            "tokenUse" => Some(UserAttr::TokenUse),
            _ => None,
        }
    }
}

/// Why a declared `User` shape cannot be satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserPlanError {
    /// One of [`USER_ATTRIBUTES`] declared with a type other than `String`.
    Unsupported { attribute: String, found: String },
    /// A claim attribute (or a field of one) of a type no claim coerces to.
    UnsupportedClaim { attribute: String, found: String },
}

/// Where one declared attribute's value comes from.
#[derive(Debug, Clone)]
enum Source {
    /// One of the four attributes with a fixed meaning.
    Fixed(UserAttr),
    /// The token's claim of the attribute's name, coerced to `Ty`.
    Claim(Ty),
}

#[derive(Debug, Clone)]
struct Planned {
    name: String,
    source: Source,
    required: bool,
}

/// Which principal attributes the schema declares on `User`, and where each comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserPlan {
    attrs: Vec<Planned>,
}

impl UserPlan {
    pub(crate) fn from_declared(attrs: &[Attr]) -> Result<Self, UserPlanError> {
        let mut out = Vec::with_capacity(attrs.len());
        for a in attrs {
            let source = match UserAttr::of(&a.name) {
                Some(fixed) if a.ty == Ty::String => Source::Fixed(fixed),
                Some(_) => {
                    return Err(UserPlanError::Unsupported {
                        attribute: a.name.clone(),
                        found: a.ty.describe(),
                    });
                }
                None => {
                    check_claim_type(&a.name, &a.ty)?;
                    Source::Claim(a.ty.clone())
                }
            };
            out.push(Planned {
                name: a.name.clone(),
                source,
                required: a.required,
            });
        }
        Ok(Self { attrs: out })
    }

    /// The claims the plan reads, by name, in declaration order.
    pub(crate) fn claims(&self) -> Vec<String> {
        self.attrs
            .iter()
            .filter(|p| matches!(p.source, Source::Claim(_)))
            .map(|p| p.name.clone())
            .collect()
    }
}

/// Whether a claim can be coerced to `ty`; the error names the attribute (or field path).
fn check_claim_type(path: &str, ty: &Ty) -> Result<(), UserPlanError> {
    match ty {
        Ty::String | Ty::Long | Ty::Bool => Ok(()),
        Ty::Set(inner) if **inner == Ty::String => Ok(()),
        Ty::Record(fields) => fields
            .iter()
            .try_for_each(|f| check_claim_type(&format!("{path}.{}", f.name), &f.ty)),
        other => Err(UserPlanError::UnsupportedClaim {
            attribute: path.to_owned(),
            found: other.describe(),
        }),
    }
}

/// A claim's JSON value as a Cedar value of the declared type, the way Cognito writes
/// claims: `Long` also from a string of decimal digits (custom number attributes arrive
/// as strings), `Bool` also from `"true"`/`"false"`, `Set<String>` also from a
/// space-separated string (as `scope` is), a record from an object (its declared fields
/// only). `Err` says why not.
fn coerce(ty: &Ty, value: &serde_json::Value) -> Result<RestrictedExpression, String> {
    use serde_json::Value as J;
    match (ty, value) {
        (Ty::String, J::String(s)) => Ok(RestrictedExpression::new_string(s.clone())),
        (Ty::Long, J::Number(n)) => n
            .as_i64()
            .map(RestrictedExpression::new_long)
            .ok_or_else(|| format!("{n} is not a whole number in Cedar's Long range")),
        (Ty::Long, J::String(s)) => parse_long(s)
            .map(RestrictedExpression::new_long)
            .ok_or_else(|| format!("{} is not a string of decimal digits", quoted(s))),
        (Ty::Bool, J::Bool(b)) => Ok(RestrictedExpression::new_bool(*b)),
        (Ty::Bool, J::String(s)) if s == "true" || s == "false" => {
            Ok(RestrictedExpression::new_bool(s == "true"))
        }
        (Ty::Set(_), J::Array(items)) => items
            .iter()
            .map(|i| match i {
                J::String(s) => Ok(RestrictedExpression::new_string(s.clone())),
                _ => Err("the array holds something other than strings".to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(RestrictedExpression::new_set),
        (Ty::Set(_), J::String(s)) => Ok(RestrictedExpression::new_set(
            s.split_ascii_whitespace()
                .map(|w| RestrictedExpression::new_string(w.to_owned())),
        )),
        (Ty::Record(fields), J::Object(object)) => {
            let mut out = Vec::with_capacity(fields.len());
            for f in fields {
                match object.get(&f.name) {
                    Some(v) => out.push((
                        f.name.clone(),
                        coerce(&f.ty, v).map_err(|why| format!("field {}: {why}", f.name))?,
                    )),
                    None if f.required => return Err(format!("field {} is missing", f.name)),
                    None => {}
                }
            }
            RestrictedExpression::new_record(out).map_err(|e| e.to_string())
        }
        (ty, v) => Err(format!(
            "a JSON {} is not a {}",
            json_kind(v),
            ty.describe()
        )),
    }
}

/// `-?[0-9]+` as an `i64`, nothing else (no spaces, no `+`, no exponent).
fn parse_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn quoted(s: &str) -> String {
    let mut short: String = s.chars().take(40).collect();
    if short.len() < s.len() {
        short.push('…');
    }
    format!("{short:?}")
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Which entity type a request's principal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `User::"<sub>"`, in its groups.
    User,
    /// `Client::"<client_id>"`, a machine client, in no group.
    Client,
}

/// Which principal types an action lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accepts {
    pub(crate) user: bool,
    pub(crate) client: bool,
}

impl Accepts {
    /// The kind `principal` is for an action accepting these types, or why it cannot be
    /// decided: a machine client is a `Client` where the action lists one, else a `User`.
    pub(crate) fn kind_of(self, principal: &Principal<'_>) -> Result<Kind, String> {
        match (principal.machine && self.client, self.user) {
            (true, _) => Ok(Kind::Client),
            (false, true) => Ok(Kind::User),
            (false, false) => Err("the action accepts only machine clients".to_owned()),
        }
    }
}

/// The `Client` entity type, when the schema declares one.
#[derive(Debug, Clone)]
pub(crate) struct ClientKit {
    pub(crate) client_type: EntityTypeName,
    pub(crate) plan: UserPlan,
}

/// Entity type names and fixed entities, computed once at load.
#[derive(Debug, Clone)]
pub(crate) struct EntityKit {
    pub(crate) user_type: EntityTypeName,
    pub(crate) group_type: EntityTypeName,
    pub(crate) application_uid: EntityUid,
    pub(crate) application: Entity,
    pub(crate) user_plan: UserPlan,
    pub(crate) client: Option<ClientKit>,
    pub(crate) entity_ids: EntityIds,
}

impl EntityKit {
    /// The claims the `User` and `Client` attributes read, each name once.
    pub(crate) fn claims(&self) -> Vec<String> {
        let mut names = self.user_plan.claims();
        for name in self.client.iter().flat_map(|c| c.plan.claims()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The principal's uid and entities as `kind`: for a `User` its entity and its
    /// groups', for a `Client` its entity alone.
    pub(crate) fn principal_entities(
        &self,
        principal: &Principal<'_>,
        kind: Kind,
    ) -> Result<(EntityUid, Vec<Entity>), Vec<String>> {
        match kind {
            Kind::User => self.user_entities(principal),
            Kind::Client => self.client_entities(principal),
        }
    }

    fn client_entities(
        &self,
        principal: &Principal<'_>,
    ) -> Result<(EntityUid, Vec<Entity>), Vec<String>> {
        let Some(client) = &self.client else {
            return Err(vec!["the schema declares no Client entity type".to_owned()]);
        };
        let client_id = principal.client_id.unwrap_or_default();
        if client_id.is_empty() {
            return Err(vec!["empty client id for the Client principal".to_owned()]);
        }
        let attrs = attributes(&client.plan, principal, Kind::Client)?;
        let uid =
            EntityUid::from_type_name_and_id(client.client_type.clone(), EntityId::new(client_id));
        let entity = Entity::new_with_tags(uid.clone(), attrs, HashSet::new(), [])
            .map_err(|e| vec![format!("cannot build principal entity: {e}")])?;
        Ok((uid, vec![entity]))
    }

    fn user_entities(
        &self,
        principal: &Principal<'_>,
    ) -> Result<(EntityUid, Vec<Entity>), Vec<String>> {
        if principal.sub.is_empty() {
            return Err(vec!["empty principal sub".to_owned()]);
        }
        let attrs = attributes(&self.user_plan, principal, Kind::User)?;
        let id = |name: &str| -> Result<EntityId, Vec<String>> {
            match (self.entity_ids, principal.pool_id) {
                (EntityIds::Plain, _) => Ok(EntityId::new(name)),
                (EntityIds::Avp, Some(pool)) if !pool.is_empty() => {
                    Ok(EntityId::new(format!("{pool}|{name}")))
                }
                (EntityIds::Avp, _) => Err(vec![
                    "no user pool id for the AVP-style principal id".to_owned(),
                ]),
            }
        };
        let mut entities = Vec::with_capacity(principal.groups.len() + 1);
        let mut parents = HashSet::with_capacity(principal.groups.len());
        for group in principal.groups {
            let uid = EntityUid::from_type_name_and_id(self.group_type.clone(), id(group)?);
            if parents.insert(uid.clone()) {
                entities.push(Entity::new_no_attrs(uid, HashSet::new()));
            }
        }
        let uid = EntityUid::from_type_name_and_id(self.user_type.clone(), id(principal.sub)?);
        let user = Entity::new_with_tags(uid.clone(), attrs, parents, [])
            .map_err(|e| vec![format!("cannot build principal entity: {e}")])?;
        entities.push(user);
        Ok((uid, entities))
    }
}

/// The attributes `plan` gives `principal` as a `kind`, or the problems with the
/// required ones.
fn attributes(
    plan: &UserPlan,
    principal: &Principal<'_>,
    kind: Kind,
) -> Result<Vec<(String, RestrictedExpression)>, Vec<String>> {
    let mut problems = Vec::new();
    let mut attrs = Vec::with_capacity(plan.attrs.len());
    for planned in &plan.attrs {
        let value = match &planned.source {
            Source::Fixed(which) => principal
                .candidate(*which, kind)
                .map(|v| Ok(RestrictedExpression::new_string(v.to_owned()))),
            Source::Claim(ty) => principal.claim(&planned.name).map(|v| coerce(ty, v)),
        };
        match value {
            Some(Ok(v)) => attrs.push((planned.name.clone(), v)),
            Some(Err(why)) if planned.required => {
                problems.push(format!("principal attribute {}: {why}", planned.name))
            }
            None if planned.required => {
                problems.push(format!("missing principal attribute {}", planned.name))
            }
            // An optional attribute that is absent or does not coerce is left out.
            Some(Err(_)) | None => {}
        }
    }
    if problems.is_empty() {
        Ok(attrs)
    } else {
        Err(problems)
    }
}

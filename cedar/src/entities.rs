//! The principal and the entities built for each request.

use std::collections::HashSet;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use crate::shape::{Attr, Ty};

/// The `User` attribute names the authorizer can supply.
pub(crate) const USER_ATTRIBUTES: [&str; 4] = ["username", "email", "clientId", "tokenUse"];

/// The signed-in caller, built cheaply from verified token claims.
///
/// Only the attributes the schema declares on `User` are given to Cedar; a
/// declared *required* attribute that is `None` here makes the decision Deny.
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
        }
    }

    fn candidate(&self, attr: UserAttr) -> Option<&'a str> {
        match attr {
            UserAttr::Username => self.username,
            UserAttr::Email => self.email,
            UserAttr::ClientId => self.client_id,
            UserAttr::TokenUse => self.token_use,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserAttr {
    Username,
    Email,
    ClientId,
    TokenUse,
}

impl UserAttr {
    fn name(self) -> &'static str {
        match self {
            UserAttr::Username => "username",
            UserAttr::Email => "email",
            UserAttr::ClientId => "clientId",
            UserAttr::TokenUse => "tokenUse",
        }
    }
}

/// Why a declared `User` shape cannot be satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserPlanError {
    Unknown { attribute: String },
    Unsupported { attribute: String, found: String },
}

/// Which principal attributes the schema declares on `User`.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserPlan {
    attrs: Vec<(UserAttr, bool)>,
}

impl UserPlan {
    pub(crate) fn from_declared(attrs: &[Attr]) -> Result<Self, UserPlanError> {
        let mut out = Vec::with_capacity(attrs.len());
        for a in attrs {
            let which = match a.name.as_str() {
                "username" => UserAttr::Username,
                "email" => UserAttr::Email,
                "clientId" => UserAttr::ClientId,
                "tokenUse" => UserAttr::TokenUse,
                _ => {
                    return Err(UserPlanError::Unknown {
                        attribute: a.name.clone(),
                    });
                }
            };
            if a.ty != Ty::String {
                return Err(UserPlanError::Unsupported {
                    attribute: a.name.clone(),
                    found: a.ty.describe(),
                });
            }
            out.push((which, a.required));
        }
        Ok(Self { attrs: out })
    }
}

/// Entity type names and fixed entities, computed once at load.
#[derive(Debug, Clone)]
pub(crate) struct EntityKit {
    pub(crate) user_type: EntityTypeName,
    pub(crate) group_type: EntityTypeName,
    pub(crate) application_uid: EntityUid,
    pub(crate) application: Entity,
    pub(crate) user_plan: UserPlan,
}

impl EntityKit {
    /// The principal's uid, its entity and its group entities.
    pub(crate) fn principal_entities(
        &self,
        principal: &Principal<'_>,
    ) -> Result<(EntityUid, Vec<Entity>), Vec<String>> {
        if principal.sub.is_empty() {
            return Err(vec!["empty principal sub".to_owned()]);
        }
        let mut problems = Vec::new();
        let mut attrs = Vec::with_capacity(self.user_plan.attrs.len());
        for &(which, required) in &self.user_plan.attrs {
            match principal.candidate(which) {
                Some(v) => attrs.push((
                    which.name().to_owned(),
                    RestrictedExpression::new_string(v.to_owned()),
                )),
                None if required => {
                    problems.push(format!("missing principal attribute {}", which.name()));
                }
                None => {}
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }

        let mut entities = Vec::with_capacity(principal.groups.len() + 1);
        let mut parents = HashSet::with_capacity(principal.groups.len());
        for group in principal.groups {
            let uid =
                EntityUid::from_type_name_and_id(self.group_type.clone(), EntityId::new(group));
            if parents.insert(uid.clone()) {
                entities.push(Entity::new_no_attrs(uid, HashSet::new()));
            }
        }
        let uid =
            EntityUid::from_type_name_and_id(self.user_type.clone(), EntityId::new(principal.sub));
        let user = Entity::new_with_tags(uid.clone(), attrs, parents, [])
            .map_err(|e| vec![format!("cannot build principal entity: {e}")])?;
        entities.push(user);
        Ok((uid, entities))
    }
}

//! Reading declared types out of the schema's JSON form (load time only).
//!
//! The human-readable schema is converted with
//! `SchemaFragment::from_cedarschema_str(..)?.to_json_value()`; there, an
//! unqualified type name may appear as `{"type":"EntityOrCommon","name":"X"}`
//! and a common-type reference as `{"type":"X"}`. Names are resolved the way
//! Cedar does for a single namespace: a common type of the namespace first,
//! then an entity type, then a built-in type.

use serde_json::{Map, Value};

/// A declared type, reduced to what the authorizer cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Long,
    Bool,
    Set(Box<Ty>),
    Record(Vec<Attr>),
    /// Anything else (entity, extension, unknown); the text describes it.
    Other(String),
}

/// A declared record attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub(crate) name: String,
    pub(crate) ty: Ty,
    pub(crate) required: bool,
}

impl Ty {
    /// Human description used in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Ty::String => "String".into(),
            Ty::Long => "Long".into(),
            Ty::Bool => "Bool".into(),
            Ty::Set(e) => format!("Set<{}>", e.describe()),
            Ty::Record(_) => "a record".into(),
            Ty::Other(s) => s.clone(),
        }
    }
}

/// Common types are never recursive in a valid schema; this guards anyway.
const MAX_DEPTH: usize = 32;

/// The JSON of the schema's single namespace.
pub(crate) struct NamespaceJson<'a> {
    namespace: &'a str,
    json: &'a Map<String, Value>,
}

impl<'a> NamespaceJson<'a> {
    pub(crate) fn new(namespace: &'a str, json: &'a Map<String, Value>) -> Self {
        Self { namespace, json }
    }

    fn section(&self, key: &str) -> Option<&'a Map<String, Value>> {
        self.json.get(key).and_then(Value::as_object)
    }

    /// The declaration of entity type `name`, if any.
    pub(crate) fn entity_type(&self, name: &str) -> Option<&'a Map<String, Value>> {
        self.section("entityTypes")?
            .get(name)
            .and_then(Value::as_object)
    }

    /// Whether entity type `child` declares `parent` among its `memberOfTypes`.
    pub(crate) fn member_of(&self, child: &str, parent: &str) -> bool {
        let qualified = format!("{}::{parent}", self.namespace);
        self.entity_type(child)
            .and_then(|e| e.get("memberOfTypes"))
            .and_then(Value::as_array)
            .is_some_and(|parents| {
                parents
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|p| p == parent || p == qualified)
            })
    }

    /// Declared attributes of entity type `name` (empty when it has no shape).
    pub(crate) fn entity_attributes(&self, name: &str) -> Result<Vec<Attr>, String> {
        match self.entity_type(name).and_then(|e| e.get("shape")) {
            None => Ok(Vec::new()),
            Some(shape) => match self.resolve(shape, 0) {
                Ty::Record(attrs) => Ok(attrs),
                other => Err(format!("shape is {}, not a record", other.describe())),
            },
        }
    }

    /// The declared context record of action `name` (empty when absent).
    pub(crate) fn action_context(&self, name: &str) -> Result<Vec<Attr>, String> {
        let context = self
            .section("actions")
            .and_then(|a| a.get(name))
            .and_then(|a| a.get("appliesTo"))
            .and_then(|a| a.get("context"));
        match context {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(ctx) => match self.resolve(ctx, 0) {
                Ty::Record(attrs) => Ok(attrs),
                other => Err(format!("context is {}, not a record", other.describe())),
            },
        }
    }

    /// Resolves one JSON type.
    fn resolve(&self, v: &Value, depth: usize) -> Ty {
        if depth > MAX_DEPTH {
            return Ty::Other("a type nested too deeply".into());
        }
        let Some(obj) = v.as_object() else {
            return Ty::Other(format!("unrecognised type {v}"));
        };
        let name = obj.get("name").and_then(Value::as_str);
        match obj.get("type").and_then(Value::as_str) {
            Some("String") => Ty::String,
            Some("Long") => Ty::Long,
            Some("Boolean") => Ty::Bool,
            Some("Set") => match obj.get("element") {
                Some(e) => Ty::Set(Box::new(self.resolve(e, depth + 1))),
                None => Ty::Other("Set without element type".into()),
            },
            Some("Record") => {
                let attrs = obj
                    .get("attributes")
                    .and_then(Value::as_object)
                    .map(|attrs| {
                        attrs
                            .iter()
                            .map(|(name, a)| Attr {
                                name: name.clone(),
                                ty: self.resolve(a, depth + 1),
                                required: a.get("required").and_then(Value::as_bool) != Some(false),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ty::Record(attrs)
            }
            Some("Entity") => Ty::Other(format!("entity {}", name.unwrap_or("?"))),
            Some("Extension") => Ty::Other(name.unwrap_or("extension").to_owned()),
            Some("EntityOrCommon") => match name {
                Some(n) => self.resolve_name(n, depth),
                None => Ty::Other("unnamed type".into()),
            },
            // In the JSON format any other `type` is a common-type reference.
            Some(other) => self.resolve_common_ref(other, depth),
            None => Ty::Other(format!("unrecognised type {v}")),
        }
    }

    fn resolve_common_ref(&self, name: &str, depth: usize) -> Ty {
        let local = self.local_name(name).unwrap_or(name);
        match self.section("commonTypes").and_then(|c| c.get(local)) {
            Some(t) => self.resolve(t, depth + 1),
            None => Ty::Other(name.to_owned()),
        }
    }

    fn local_name<'n>(&self, name: &'n str) -> Option<&'n str> {
        name.strip_prefix(self.namespace)
            .and_then(|rest| rest.strip_prefix("::"))
    }

    fn resolve_name(&self, name: &str, depth: usize) -> Ty {
        if let Some(builtin) = name.strip_prefix("__cedar::") {
            return builtin_type(builtin);
        }
        let local = match self.local_name(name) {
            Some(local) => local,
            None if name.contains("::") => return Ty::Other(name.to_owned()),
            None => name,
        };
        if let Some(t) = self.section("commonTypes").and_then(|c| c.get(local)) {
            return self.resolve(t, depth + 1);
        }
        if self.entity_type(local).is_some() {
            return Ty::Other(format!("entity {local}"));
        }
        builtin_type(local)
    }
}

fn builtin_type(name: &str) -> Ty {
    match name {
        "String" => Ty::String,
        "Long" => Ty::Long,
        "Bool" | "Boolean" => Ty::Bool,
        other => Ty::Other(other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use cedar_policy::SchemaFragment;

    fn ns_json(src: &str) -> Value {
        let (frag, _) = SchemaFragment::from_cedarschema_str(src).unwrap();
        frag.to_json_value().unwrap()
    }

    #[test]
    fn resolves_inline_common_and_builtin_types() {
        let json = ns_json(
            r#"namespace N {
                type P = { id: String, n?: Long, b: Bool, s: __cedar::String, ip: ipaddr };
                type C = { pathParameters: P, scopes: Set<String> };
                entity E;
                action "a" appliesTo { principal: E, resource: E, context: C };
                action "b" appliesTo { principal: E, resource: E, context: { e: E, x: N::P } };
                action "c" appliesTo { principal: E, resource: E };
            }"#,
        );
        let ns = NamespaceJson::new("N", json["N"].as_object().unwrap());
        let a = ns.action_context("a").unwrap();
        let pp = a.iter().find(|x| x.name == "pathParameters").unwrap();
        let Ty::Record(fields) = &pp.ty else {
            panic!("not a record")
        };
        let find = |n: &str| fields.iter().find(|f| f.name == n).unwrap();
        assert_eq!(find("id").ty, Ty::String);
        assert!(find("id").required);
        assert_eq!(find("n").ty, Ty::Long);
        assert!(!find("n").required);
        assert_eq!(find("b").ty, Ty::Bool);
        assert_eq!(find("s").ty, Ty::String);
        assert_eq!(find("ip").ty, Ty::Other("ipaddr".into()));
        let scopes = a.iter().find(|x| x.name == "scopes").unwrap();
        assert_eq!(scopes.ty, Ty::Set(Box::new(Ty::String)));

        let b = ns.action_context("b").unwrap();
        let e = b.iter().find(|x| x.name == "e").unwrap();
        assert_eq!(e.ty, Ty::Other("entity E".into()));
        let x = b.iter().find(|x| x.name == "x").unwrap();
        assert!(matches!(x.ty, Ty::Record(_)));

        assert!(ns.action_context("c").unwrap().is_empty());
        assert!(ns.action_context("missing").unwrap().is_empty());
    }
}

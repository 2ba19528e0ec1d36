//! Request facts and the per-action context plan.
//!
//! The authorizer knows a fixed set of facts about a request ([`RequestFacts`]).
//! Each action's schema declares which of them its policies may read; at load
//! time that declaration becomes a [`ContextPlan`], and per request the plan
//! picks exactly the declared facts (so the context always conforms to the
//! schema) or says which required fact is missing (so the decision is Deny).

use std::borrow::Cow;
use std::collections::HashMap;

use cedar_policy::{Context, RestrictedExpression};

use crate::shape::{Attr, Ty};

/// The context attribute names the authorizer can supply.
pub(crate) const CONTEXT_ATTRIBUTES: [&str; 7] = [
    "method",
    "path",
    "sourceIp",
    "scopes",
    "authTime",
    "pathParameters",
    "queryStringParameters",
];

/// Named string parameters (path or query string), borrowed from the caller.
#[derive(Debug, Clone, Copy, Default)]
pub enum Params<'a> {
    /// No parameters.
    #[default]
    None,
    /// A list of `(name, value)` pairs; the first pair with a name wins.
    Pairs(&'a [(String, String)]),
    /// A map of names to values.
    Map(&'a HashMap<String, String>),
    /// Pairs borrowed from a parsed event (no copies); the first pair with a name wins.
    Borrowed(&'a [(Cow<'a, str>, Cow<'a, str>)]),
}

impl<'a> Params<'a> {
    /// The value of parameter `name`, if present.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        match *self {
            Params::None => None,
            Params::Pairs(pairs) => pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            Params::Map(map) => map.get(name).map(String::as_str),
            Params::Borrowed(pairs) => pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_ref()),
        }
    }
}

impl<'a> From<&'a [(String, String)]> for Params<'a> {
    fn from(pairs: &'a [(String, String)]) -> Self {
        Params::Pairs(pairs)
    }
}

impl<'a> From<&'a Vec<(String, String)>> for Params<'a> {
    fn from(pairs: &'a Vec<(String, String)>) -> Self {
        Params::Pairs(pairs)
    }
}

impl<'a> From<&'a [(Cow<'a, str>, Cow<'a, str>)]> for Params<'a> {
    fn from(pairs: &'a [(Cow<'a, str>, Cow<'a, str>)]) -> Self {
        Params::Borrowed(pairs)
    }
}

impl<'a> From<&'a HashMap<String, String>> for Params<'a> {
    fn from(map: &'a HashMap<String, String>) -> Self {
        Params::Map(map)
    }
}

/// What the authorizer knows about one request.
///
/// Only the facts an action's schema context declares are passed to Cedar.
/// Facts the event does not carry are `None` / empty; a *required* declared
/// attribute that is absent makes the decision Deny.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// HTTP verb, upper-case (`GET`); context attribute `method`.
    pub method: &'a str,
    /// The concrete request path (`/orders/42`); context attribute `path`.
    pub path: &'a str,
    /// Caller IP address; context attribute `sourceIp`. Not in REST TOKEN events.
    pub source_ip: Option<&'a str>,
    /// OAuth scopes of the token (empty for ID tokens); context attribute `scopes`.
    pub scopes: &'a [String],
    /// The token's `auth_time` (seconds since the epoch); context attribute `authTime`.
    pub auth_time: Option<i64>,
    /// Path parameters; context record `pathParameters`.
    pub path_parameters: Params<'a>,
    /// Query string parameters; context record `queryStringParameters`.
    pub query_string_parameters: Params<'a>,
}

impl<'a> RequestFacts<'a> {
    /// Facts with only a method and path; everything else absent or empty.
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Self {
            method,
            path,
            source_ip: None,
            scopes: &[],
            auth_time: None,
            path_parameters: Params::None,
            query_string_parameters: Params::None,
        }
    }

    /// Sets the source IP.
    #[must_use]
    pub fn with_source_ip(mut self, source_ip: &'a str) -> Self {
        self.source_ip = Some(source_ip);
        self
    }

    /// Sets the token scopes.
    #[must_use]
    pub fn with_scopes(mut self, scopes: &'a [String]) -> Self {
        self.scopes = scopes;
        self
    }

    /// Sets the token `auth_time`.
    #[must_use]
    pub fn with_auth_time(mut self, auth_time: i64) -> Self {
        self.auth_time = Some(auth_time);
        self
    }

    /// Sets the path parameters.
    #[must_use]
    pub fn with_path_parameters(mut self, params: impl Into<Params<'a>>) -> Self {
        self.path_parameters = params.into();
        self
    }

    /// Sets the query string parameters.
    #[must_use]
    pub fn with_query_string_parameters(mut self, params: impl Into<Params<'a>>) -> Self {
        self.query_string_parameters = params.into();
        self
    }
}

/// A scalar type a string parameter can be converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    String,
    Long,
    Bool,
}

impl Scalar {
    fn name(self) -> &'static str {
        match self {
            Scalar::String => "String",
            Scalar::Long => "Long",
            Scalar::Bool => "Bool",
        }
    }

    fn convert(self, raw: &str) -> Option<RestrictedExpression> {
        match self {
            Scalar::String => Some(RestrictedExpression::new_string(raw.to_owned())),
            Scalar::Long => raw.parse::<i64>().ok().map(RestrictedExpression::new_long),
            Scalar::Bool => match raw {
                "true" => Some(RestrictedExpression::new_bool(true)),
                "false" => Some(RestrictedExpression::new_bool(false)),
                _ => None,
            },
        }
    }
}

/// One declared member of `pathParameters` / `queryStringParameters`.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    ty: Scalar,
    required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamsKind {
    Path,
    Query,
}

impl ParamsKind {
    fn attribute(self) -> &'static str {
        match self {
            ParamsKind::Path => "pathParameters",
            ParamsKind::Query => "queryStringParameters",
        }
    }
}

#[derive(Debug, Clone)]
enum Fact {
    Method,
    Path,
    SourceIp,
    Scopes,
    AuthTime,
    Params(ParamsKind, Vec<Field>),
}

#[derive(Debug, Clone)]
struct Slot {
    fact: Fact,
    required: bool,
}

/// Why a declared context could not be turned into a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlanError {
    Unknown {
        attribute: String,
    },
    Unsupported {
        attribute: String,
        found: String,
        expected: &'static str,
    },
}

/// Which request facts an action's context declares, and their types.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContextPlan {
    slots: Vec<Slot>,
}

const SCALAR_EXPECTED: &str = "String, Long or Bool";

impl ContextPlan {
    /// Builds the plan from the declared context record.
    pub(crate) fn from_declared(attrs: &[Attr]) -> Result<Self, PlanError> {
        let mut slots = Vec::with_capacity(attrs.len());
        for attr in attrs {
            let unsupported = |expected: &'static str| PlanError::Unsupported {
                attribute: attr.name.clone(),
                found: attr.ty.describe(),
                expected,
            };
            let fact = match attr.name.as_str() {
                "method" | "path" | "sourceIp" => {
                    if attr.ty != Ty::String {
                        return Err(unsupported("String"));
                    }
                    match attr.name.as_str() {
                        "method" => Fact::Method,
                        "path" => Fact::Path,
                        _ => Fact::SourceIp,
                    }
                }
                "scopes" => {
                    if attr.ty != Ty::Set(Box::new(Ty::String)) {
                        return Err(unsupported("Set<String>"));
                    }
                    Fact::Scopes
                }
                "authTime" => {
                    if attr.ty != Ty::Long {
                        return Err(unsupported("Long"));
                    }
                    Fact::AuthTime
                }
                "pathParameters" | "queryStringParameters" => {
                    let kind = if attr.name == "pathParameters" {
                        ParamsKind::Path
                    } else {
                        ParamsKind::Query
                    };
                    let Ty::Record(members) = &attr.ty else {
                        return Err(unsupported("a record of String, Long or Bool"));
                    };
                    let mut fields = Vec::with_capacity(members.len());
                    for m in members {
                        let ty = match m.ty {
                            Ty::String => Scalar::String,
                            Ty::Long => Scalar::Long,
                            Ty::Bool => Scalar::Bool,
                            _ => {
                                return Err(PlanError::Unsupported {
                                    attribute: format!("{}.{}", attr.name, m.name),
                                    found: m.ty.describe(),
                                    expected: SCALAR_EXPECTED,
                                });
                            }
                        };
                        fields.push(Field {
                            name: m.name.clone(),
                            ty,
                            required: m.required,
                        });
                    }
                    Fact::Params(kind, fields)
                }
                _ => {
                    return Err(PlanError::Unknown {
                        attribute: attr.name.clone(),
                    });
                }
            };
            slots.push(Slot {
                fact,
                required: attr.required,
            });
        }
        Ok(Self { slots })
    }

    /// Whether the context includes a fact that varies per request path or
    /// caller (method, path, sourceIp, path or query parameters), as opposed
    /// to facts of the token (scopes, authTime).
    pub(crate) fn uses_request_facts(&self) -> bool {
        self.slots.iter().any(|s| {
            matches!(
                s.fact,
                Fact::Method | Fact::Path | Fact::SourceIp | Fact::Params(..)
            )
        })
    }

    /// Appends to `key` every fact [`build`](Self::build) reads, unambiguously
    /// (tagged and length-prefixed): two requests whose keys are equal get the
    /// same context, or the same reasons why there is none.
    pub(crate) fn write_key(&self, facts: &RequestFacts<'_>, key: &mut Vec<u8>) {
        use crate::memo::{long, text};
        for slot in &self.slots {
            match &slot.fact {
                Fact::Method => text(key, Some(facts.method)),
                Fact::Path => text(key, Some(facts.path)),
                Fact::SourceIp => text(key, facts.source_ip),
                Fact::Scopes => {
                    key.extend_from_slice(&facts.scopes.len().to_le_bytes());
                    for s in facts.scopes {
                        text(key, Some(s));
                    }
                }
                Fact::AuthTime => long(key, facts.auth_time),
                Fact::Params(kind, fields) => {
                    let params = match kind {
                        ParamsKind::Path => facts.path_parameters,
                        ParamsKind::Query => facts.query_string_parameters,
                    };
                    for field in fields {
                        text(key, params.get(&field.name));
                    }
                }
            }
        }
    }

    /// Builds the Cedar context for one request, or the reasons it cannot
    /// (a required attribute is missing or a value does not parse).
    pub(crate) fn build(&self, facts: &RequestFacts<'_>) -> Result<Context, Vec<String>> {
        let mut pairs: Vec<(String, RestrictedExpression)> = Vec::with_capacity(self.slots.len());
        let mut problems = Vec::new();
        for slot in &self.slots {
            let (name, value) = match &slot.fact {
                Fact::Method => ("method", Some(string(facts.method))),
                Fact::Path => ("path", Some(string(facts.path))),
                Fact::SourceIp => ("sourceIp", facts.source_ip.map(string)),
                Fact::Scopes => (
                    "scopes",
                    Some(RestrictedExpression::new_set(
                        facts.scopes.iter().map(|s| string(s)),
                    )),
                ),
                Fact::AuthTime => (
                    "authTime",
                    facts.auth_time.map(RestrictedExpression::new_long),
                ),
                Fact::Params(kind, fields) => {
                    let params = match kind {
                        ParamsKind::Path => facts.path_parameters,
                        ParamsKind::Query => facts.query_string_parameters,
                    };
                    // The record itself can always be supplied; its members
                    // may be missing (reported inside).
                    if let Some(record) = params_record(*kind, fields, params, &mut problems) {
                        pairs.push((kind.attribute().to_owned(), record));
                    }
                    continue;
                }
            };
            match value {
                Some(v) => pairs.push((name.to_owned(), v)),
                None if slot.required => {
                    problems.push(format!("missing context attribute {name}"));
                }
                None => {}
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Context::from_pairs(pairs).map_err(|e| vec![format!("cannot build context: {e}")])
    }
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

/// The declared members of a parameters record. Returns `None` after
/// recording why when a member cannot be supplied.
fn params_record(
    kind: ParamsKind,
    fields: &[Field],
    params: Params<'_>,
    problems: &mut Vec<String>,
) -> Option<RestrictedExpression> {
    let before = problems.len();
    let mut members = Vec::with_capacity(fields.len());
    for field in fields {
        match params.get(&field.name) {
            Some(raw) => match field.ty.convert(raw) {
                Some(v) => members.push((field.name.clone(), v)),
                None => problems.push(format!(
                    "context attribute {}.{}: value {raw:?} is not a {}",
                    kind.attribute(),
                    field.name,
                    field.ty.name()
                )),
            },
            None if field.required => problems.push(format!(
                "missing context attribute {}.{}",
                kind.attribute(),
                field.name
            )),
            None => {}
        }
    }
    if problems.len() > before {
        return None;
    }
    match RestrictedExpression::new_record(members) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!(
                "cannot build context attribute {}: {e}",
                kind.attribute()
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn attr(name: &str, ty: Ty, required: bool) -> Attr {
        Attr {
            name: name.into(),
            ty,
            required,
        }
    }

    #[test]
    fn unknown_and_unsupported_attributes_are_plan_errors() {
        assert_eq!(
            ContextPlan::from_declared(&[attr("foo", Ty::String, true)]).unwrap_err(),
            PlanError::Unknown {
                attribute: "foo".into()
            }
        );
        let err = ContextPlan::from_declared(&[attr("authTime", Ty::String, true)]).unwrap_err();
        assert!(matches!(
            err,
            PlanError::Unsupported {
                expected: "Long",
                ..
            }
        ));
        let err = ContextPlan::from_declared(&[attr(
            "pathParameters",
            Ty::Record(vec![attr("id", Ty::Set(Box::new(Ty::String)), true)]),
            true,
        )])
        .unwrap_err();
        assert!(
            matches!(err, PlanError::Unsupported { ref attribute, .. } if attribute == "pathParameters.id")
        );
    }

    #[test]
    fn builds_only_declared_and_reports_missing() {
        let plan = ContextPlan::from_declared(&[
            attr("sourceIp", Ty::String, false),
            attr(
                "queryStringParameters",
                Ty::Record(vec![
                    attr("limit", Ty::Long, false),
                    attr("flag", Ty::Bool, true),
                ]),
                true,
            ),
        ])
        .unwrap();
        assert!(plan.uses_request_facts());

        let q = vec![("flag".to_owned(), "true".to_owned())];
        let ctx = plan
            .build(&RequestFacts::new("GET", "/").with_query_string_parameters(&q))
            .unwrap();
        assert!(ctx.get("sourceIp").is_none());
        assert!(ctx.get("queryStringParameters").is_some());
        assert!(ctx.get("method").is_none());

        let errs = plan.build(&RequestFacts::new("GET", "/")).unwrap_err();
        assert_eq!(
            errs,
            vec!["missing context attribute queryStringParameters.flag".to_owned()]
        );

        let q = vec![
            ("flag".to_owned(), "yes".to_owned()),
            ("limit".to_owned(), "ten".to_owned()),
        ];
        let errs = plan
            .build(&RequestFacts::new("GET", "/").with_query_string_parameters(&q))
            .unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].contains("queryStringParameters.limit"));
        assert!(errs[1].contains("queryStringParameters.flag"));
    }
}

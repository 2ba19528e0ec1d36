//! `l42 policy init --openapi`: a schema with one action per operation of an OpenAPI 3.0 /
//! 3.1 or Swagger 2.0 document (JSON or YAML, API Gateway exports included), named as the
//! authorizer names routes, and a starter policy file.
//!
//! Path parameters are declared `String` whatever type the document gives them: API
//! Gateway passes them as strings, a policy compares them as such, and a `Long` parameter
//! would take its route out of cached REST policies (a request whose parameter does not
//! parse is denied, so no cached pattern may stand for all of them). The document's type
//! is kept in a comment.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::Error;

/// One operation of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The authorizer's verb: `get` ... `options`, or `any`.
    pub verb: String,
    /// The path template (`/pets/{petId}`).
    pub path: String,
    /// The template's parameters, each with the type the document declares (when it
    /// does).
    pub parameters: Vec<(String, Option<String>)>,
    /// `operationId` and `summary`, for the starter policy's comment.
    pub operation_id: Option<String>,
    /// The operation's summary.
    pub summary: Option<String>,
}

impl Operation {
    /// The action name: `"<verb> <path>"`.
    pub fn action(&self) -> String {
        format!("{} {}", self.verb, self.path)
    }
}

/// The operations of an OpenAPI document, sorted by action name, and the operations left
/// out with the reason (`trace /x`: API Gateway has no TRACE method).
///
/// # Errors
/// [`Error::Cases`] (naming `file`) when the document is neither OpenAPI 3 nor Swagger 2,
/// has no `paths`, or holds an operation the authorizer cannot name.
pub fn operations(file: &str, doc: &Value) -> Result<(Vec<Operation>, Vec<String>), Error> {
    let bad = |message: String| Error::Cases {
        file: file.to_owned(),
        message,
    };
    let version = match (doc.get("openapi"), doc.get("swagger")) {
        (Some(Value::String(v)), None) if v.starts_with("3.0") || v.starts_with("3.1") => 3,
        (None, Some(Value::String(v))) if v == "2.0" => 2,
        _ => {
            return Err(bad(
                "not an OpenAPI 3.0/3.1 (`openapi: 3.x`) or Swagger 2.0 (`swagger: \"2.0\"`) document"
                    .into(),
            ));
        }
    };
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no `paths` object".into()))?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        // A route path: it is written into the schema and the starter policies, so
        // nothing in it may end a string or a comment.
        if !path.starts_with('/')
            || path
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '"' || c == '\\')
        {
            return Err(bad(format!(
                "paths.{}: not a route path (it starts with / and has no spaces, quotes or control characters)",
                one_line(path)
            )));
        }
        let item = item
            .as_object()
            .ok_or_else(|| bad(format!("paths.{path}: not an object")))?;
        if item.contains_key("$ref") {
            return Err(bad(format!(
                "paths.{path}: a `$ref` path item is not supported; write the operations in place"
            )));
        }
        let shared = item.get("parameters");
        for (key, op) in item {
            let verb = match key.as_str() {
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" => key.clone(),
                "x-amazon-apigateway-any-method" => "any".to_owned(),
                "trace" => {
                    skipped.push(format!(
                        "trace {path}: API Gateway has no TRACE method; left out"
                    ));
                    continue;
                }
                other
                    if [
                        "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
                    ]
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(other)) =>
                {
                    return Err(bad(format!(
                        "paths.{path}.{other}: OpenAPI method keys are lower-case (`{}`)",
                        other.to_ascii_lowercase()
                    )));
                }
                _ => continue, // parameters, summary, servers, other extensions
            };
            let op = op
                .as_object()
                .ok_or_else(|| bad(format!("paths.{path}.{key}: not an object")))?;
            let mut types: BTreeMap<String, Option<String>> = BTreeMap::new();
            for list in [shared, op.get("parameters")].into_iter().flatten() {
                for p in list.as_array().into_iter().flatten() {
                    let p = resolve(doc, p).ok_or_else(|| {
                        bad(format!(
                            "paths.{path}.{key}: a parameter `$ref` that does not resolve"
                        ))
                    })?;
                    if p.get("in").and_then(Value::as_str) != Some("path") {
                        continue;
                    }
                    let Some(name) = p.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let ty = if version == 2 {
                        p.get("type")
                    } else {
                        p.get("schema")
                            .and_then(|s| resolve(doc, s))
                            .and_then(|s| s.get("type"))
                    };
                    types.insert(
                        name.to_owned(),
                        ty.and_then(Value::as_str).map(str::to_owned),
                    );
                }
            }
            let parameters = template_parameters(path)
                .map_err(|m| bad(format!("paths.{path}: {m}")))?
                .into_iter()
                .map(|name| {
                    let ty = types.get(&name).cloned().flatten();
                    (name, ty)
                })
                .collect();
            // Written into comments: one line each, so no text can end a comment.
            let text = |k: &str| op.get(k).and_then(Value::as_str).map(one_line);
            out.push(Operation {
                verb,
                path: path.clone(),
                parameters,
                operation_id: text("operationId"),
                summary: text("summary"),
            });
        }
    }
    out.sort_by_key(Operation::action);
    Ok((out, skipped))
}

/// A local `$ref` (`#/components/...`, `#/parameters/...`) followed, a few times at most.
fn resolve<'d>(doc: &'d Value, mut v: &'d Value) -> Option<&'d Value> {
    for _ in 0..8 {
        let Some(reference) = v.get("$ref").and_then(Value::as_str) else {
            return Some(v);
        };
        let pointer = reference.strip_prefix('#')?;
        v = doc.pointer(pointer)?;
    }
    None
}

/// The `{name}` / `{name+}` parameters of a template, in order.
fn template_parameters(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for segment in path.split('/') {
        if let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let name = inner.strip_suffix('+').unwrap_or(inner);
            if name.is_empty() || out.iter().any(|n| n == name) {
                return Err(format!("parameter `{{{inner}}}` is empty or repeated"));
            }
            out.push(name.to_owned());
        } else if segment.contains(['{', '}']) {
            return Err(format!(
                "segment `{segment}` mixes text and a parameter, which API Gateway does not route"
            ));
        }
    }
    Ok(out)
}

/// A Cedar namespace name from a title: its words, capitalised and joined (`Swagger
/// Petstore` → `SwaggerPetstore`); `Api` when nothing usable is left.
pub fn namespace_from_title(title: &str) -> String {
    let mut out = String::new();
    for word in title.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        "Api".to_owned()
    } else {
        out
    }
}

/// Whether `name` is a Cedar namespace (`Shop`, `Acme::Shop`).
pub fn is_namespace(name: &str) -> bool {
    !name.is_empty()
        && name.split("::").all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The schema text for `operations` in `namespace`, from `source` (the document's file).
pub fn schema_text(namespace: &str, source: &str, operations: &[Operation]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Generated by `l42 policy init` from {source}: one action per operation, named\n\
         // as the authorizer names routes. Path parameters are Strings (see the l42 README).\n\
         namespace {namespace} {{\n  // A Cognito group, as the `cognito:groups` claim names it.\n  entity UserGroup;\n\n  \
         // The caller; the entity id is the `sub` claim. Declare more attributes to read\n  \
         // more claims (`tenant?: String`).\n  entity User in [UserGroup] {{\n    username?: String,\n    email?: String,\n  }};\n\n  \
         // The API.\n  entity Application;"
    );
    for op in operations {
        s.push('\n');
        if let Some(summary) = &op.summary {
            let _ = writeln!(s, "  // {}", one_line(summary));
        }
        let _ = writeln!(s, "  action \"{}\" appliesTo {{", op.action());
        s.push_str("    principal: [User],\n    resource: [Application],\n");
        if !op.parameters.is_empty() {
            s.push_str("    context: {\n      pathParameters: {\n");
            for (name, ty) in &op.parameters {
                let note = match ty.as_deref() {
                    Some("string") | None => String::new(),
                    Some(other) => format!(" // {other} in the document"),
                };
                let _ = writeln!(s, "        \"{name}\": String,{note}");
            }
            s.push_str("      },\n    },\n");
        }
        s.push_str("  };\n");
    }
    s.push_str("}\n");
    s
}

/// The starter policy file: one commented example per route. Nothing is allowed until a
/// policy is written.
pub fn policies_text(namespace: &str, operations: &[Operation]) -> String {
    let mut s = String::from(
        "// Starter policies from `l42 policy init`: nothing is allowed until you write a\n\
         // permit. One commented example per route; uncomment and edit, then run\n\
         // `l42 policy check` and `l42 policy test`.\n",
    );
    for op in operations {
        let about = match (&op.operation_id, &op.summary) {
            (Some(id), Some(summary)) => format!(" ({id}: {})", one_line(summary)),
            (Some(id), None) => format!(" ({id})"),
            (None, Some(summary)) => format!(" ({})", one_line(summary)),
            (None, None) => String::new(),
        };
        let _ = write!(
            s,
            "\n// {} {}{about}\n// @id(\"{}\")\n// permit (principal in {namespace}::UserGroup::\"admin\", action == {namespace}::Action::\"{}\", resource);\n",
            op.verb.to_ascii_uppercase(),
            op.path,
            policy_id(op),
            op.action(),
        );
    }
    s
}

fn policy_id(op: &Operation) -> String {
    let path: String = op
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = path
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("{}-{path}", op.verb)
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = line.chars().take(100).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

/// The title of the document, if any.
pub fn title(doc: &Value) -> Option<&str> {
    doc.get("info")
        .and_then(Value::as_object)
        .and_then(|i: &Map<String, Value>| i.get("title"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn namespaces_from_titles() {
        assert_eq!(namespace_from_title("Swagger Petstore"), "SwaggerPetstore");
        assert_eq!(namespace_from_title("orders-api v2"), "OrdersApiV2");
        assert_eq!(namespace_from_title("42 things"), "Api");
        assert_eq!(namespace_from_title("  ---  "), "Api");
        assert!(is_namespace("Acme::Shop"));
        for bad in ["", "9x", "a-b", "A::", "::A", "A::9"] {
            assert!(!is_namespace(bad), "{bad}");
        }
    }

    #[test]
    fn template_parameters_are_read_and_checked() {
        assert_eq!(
            template_parameters("/a/{b}/c/{d+}").unwrap(),
            ["b".to_owned(), "d".to_owned()]
        );
        assert!(template_parameters("/a/{b}/{b}").is_err());
        assert!(template_parameters("/a/{}").is_err());
        assert!(template_parameters("/a/x{b}").is_err());
    }

    #[test]
    fn refs_resolve_locally_and_loops_end() {
        let doc = serde_json::json!({
            "components": {"parameters": {"id": {"name": "id", "in": "path"}}},
            "loop": {"$ref": "#/loop"},
        });
        let r = serde_json::json!({"$ref": "#/components/parameters/id"});
        assert_eq!(resolve(&doc, &r).unwrap()["name"], "id");
        assert!(resolve(&doc, &serde_json::json!({"$ref": "#/loop"})).is_none());
        assert!(resolve(&doc, &serde_json::json!({"$ref": "other.yaml#/x"})).is_none());
    }
}

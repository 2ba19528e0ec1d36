//! What a policy reads from `context`: whether its decision can depend on per-request
//! facts (method, path, source IP, path and query parameters) rather than only on the
//! token facts (`context.scopes`, `context.authTime`). A route whose policies read a
//! request fact cannot be listed in a cached REST policy.

use cedar_policy::Policy;
use serde_json::Value;

/// Does the policy read a per-request fact from `context` (method, path,
/// sourceIp, pathParameters, queryStringParameters)?
///
/// Walks the policy's JSON form for `{"Var":"context"}`. A use that is an
/// attribute access or `has` test on a token-level fact (`context.scopes`,
/// `context has authTime`) does not count; every other use of `context`
/// does (conservatively, as does a policy that cannot be rendered as JSON).
pub(crate) fn reads_request_context(policy: &Policy) -> bool {
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

/// The per-request facts a policy reads from `context`, by attribute name (`path`,
/// `pathParameters`, ...), each once in order of appearance; `context` itself when the
/// policy uses the whole record. Empty exactly when [`reads_request_context`] is `false`
/// (a policy without a JSON form reads, cautiously, `context`).
pub(crate) fn request_facts_read(policy: &Policy) -> Vec<String> {
    fn is_context(v: &Value) -> bool {
        v.as_object().is_some_and(|m| {
            m.len() == 1 && m.get("Var").and_then(Value::as_str) == Some("context")
        })
    }
    fn add(out: &mut Vec<String>, fact: &str) {
        if !out.iter().any(|f| f == fact) {
            out.push(fact.to_owned());
        }
    }
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if is_context(v) {
                    return add(out, "context");
                }
                for op in [".", "has"] {
                    if let Some(access) = m.get(op).and_then(Value::as_object)
                        && access.get("left").is_some_and(is_context)
                    {
                        match access.get("attr").and_then(Value::as_str) {
                            Some(a) if TOKEN_FACTS.contains(&a) => {}
                            Some(a) => add(out, a),
                            None => add(out, "context"),
                        }
                        return;
                    }
                }
                m.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    if !reads_request_context(policy) {
        return Vec::new();
    }
    let mut out = Vec::new();
    match policy.to_json() {
        Ok(json) => walk(&json, &mut out),
        Err(_) => add(&mut out, "context"),
    }
    if out.is_empty() {
        out.push("context".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::str::FromStr;

    use super::*;

    fn reads(src: &str) -> bool {
        reads_request_context(&Policy::from_str(src).unwrap())
    }

    #[test]
    fn the_facts_read_are_named() {
        let facts = |src: &str| request_facts_read(&Policy::from_str(src).unwrap());
        assert!(
            facts("permit(principal, action, resource) when { context.scopes.contains(\"a\") };")
                .is_empty()
        );
        assert_eq!(
            facts(
                "permit(principal, action, resource) when { context.path == \"/x\" && context has pathParameters && context.pathParameters.id == context.path };"
            ),
            ["path", "pathParameters"]
        );
        assert_eq!(
            facts("permit(principal, action, resource) when { context == {} };"),
            ["context"]
        );
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

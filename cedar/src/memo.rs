//! Bounded memos of decisions.
//!
//! Cedar's answer for one request is a function of the principal (the `User`
//! entity and its groups), the action and the context the action declares;
//! the resource, the policy slices and every other entity are fixed when the
//! engine is loaded. So a request whose principal and declared facts were
//! seen before is answered from memory: building the entities (with their
//! transitive closure) and evaluating the slice is most of a decision's time.
//!
//! Keys hold those inputs exactly (tagged and length-prefixed, so no two
//! different inputs share a key); a memo that reaches [`CAPACITY`] entries
//! starts afresh, and a key longer than [`MAX_KEY_BYTES`] (a request with
//! very large parameters) is not remembered, so memory stays bounded
//! whatever callers send.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::context::{ContextPlan, RequestFacts};
use crate::entities::Principal;

/// Entries a memo holds before it starts afresh.
pub(crate) const CAPACITY: usize = 1024;
/// The longest key remembered, in bytes. With [`CAPACITY`], this bounds each memo to
/// a few megabytes whatever callers send (typical entries are a few hundred bytes).
pub(crate) const MAX_KEY_BYTES: usize = 1024;
/// The longest list of allowed routes remembered.
pub(crate) const MAX_ROUTES: usize = 256;

/// A bounded map from request keys to answers.
#[derive(Debug)]
pub(crate) struct Memo<V> {
    map: Mutex<HashMap<Vec<u8>, V>>,
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Memo<V> {
    /// The remembered answer for `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<V> {
        // A poisoned lock only disables the memo: answers are then computed.
        self.map.lock().ok()?.get(key).cloned()
    }

    /// Remembers `value` for `key`.
    pub(crate) fn insert(&self, key: Vec<u8>, value: V) {
        if key.len() > MAX_KEY_BYTES {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(key, value);
        }
    }
}

/// Appends an optional string, tagged and length-prefixed.
pub(crate) fn text(key: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => key.push(0),
        Some(v) => {
            key.push(1);
            key.extend_from_slice(&v.len().to_le_bytes());
            key.extend_from_slice(v.as_bytes());
        }
    }
}

/// Everything the principal's entities are built from.
fn principal(key: &mut Vec<u8>, p: &Principal<'_>) {
    // A machine client may be a `Client` where a user of the same ids is a `User`.
    key.push(u8::from(p.machine));
    text(key, Some(p.sub));
    key.extend_from_slice(&p.groups.len().to_le_bytes());
    for g in p.groups {
        text(key, Some(g));
    }
    for attr in [p.username, p.email, p.client_id, p.token_use, p.pool_id] {
        text(key, attr);
    }
    // The claims the schema's attributes read: two tokens of one `sub` may carry different
    // tenants, and must not share an answer.
    key.extend_from_slice(&p.claims.len().to_le_bytes());
    for (name, value) in p.claims {
        text(key, Some(name));
        json(key, value);
    }
}

/// Appends a JSON value's text, length-prefixed, written in place (no string is built).
fn json(key: &mut Vec<u8>, value: &serde_json::Value) {
    const LEN: usize = std::mem::size_of::<usize>();
    let start = key.len();
    key.extend_from_slice(&[0; LEN]);
    // Writing into a Vec cannot fail, and a Value always serializes.
    let _ = serde_json::to_writer(&mut *key, value);
    let len = key.len() - start - LEN;
    key[start..start + LEN].copy_from_slice(&len.to_le_bytes());
}

/// The key of [`Engine::decide`](crate::Engine::decide) for the action at
/// `action` (whose context plan is `plan`).
pub(crate) fn decision_key(
    action: usize,
    p: &Principal<'_>,
    plan: &ContextPlan,
    facts: &RequestFacts<'_>,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(256);
    key.push(b'd');
    key.extend_from_slice(&action.to_le_bytes());
    principal(&mut key, p);
    plan.write_key(facts, &mut key);
    key
}

/// The key of [`Engine::allowed_routes`](crate::Engine::allowed_routes): the
/// principal, the token facts and whether there is a source IP (all it reads).
pub(crate) fn routes_key(p: &Principal<'_>, facts: &RequestFacts<'_>) -> Vec<u8> {
    let mut key = Vec::with_capacity(256);
    key.push(b'r');
    principal(&mut key, p);
    key.push(u8::from(facts.source_ip.is_some()));
    key.extend_from_slice(&facts.scopes.len().to_le_bytes());
    for s in facts.scopes {
        text(&mut key, Some(s));
    }
    long(&mut key, facts.auth_time);
    key
}

/// Appends an optional number, tagged.
pub(crate) fn long(key: &mut Vec<u8>, value: Option<i64>) {
    match value {
        None => key.push(0),
        Some(t) => {
            key.push(1);
            key.extend_from_slice(&t.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn keys_tell_apart_what_concatenation_would_not() {
        let ab = vec!["ab".to_owned()];
        let a_b = vec!["a".to_owned(), "b".to_owned()];
        let none: Vec<String> = Vec::new();
        let facts = RequestFacts::new("GET", "/");
        let k = |p: &Principal<'_>| routes_key(p, &facts);
        assert_ne!(k(&Principal::new("s", &ab)), k(&Principal::new("s", &a_b)));
        assert_ne!(
            k(&Principal::new("sab", &none)),
            k(&Principal::new("s", &ab))
        );
        let mut with_email = Principal::new("s", &none);
        with_email.email = Some("");
        assert_ne!(k(&with_email), k(&Principal::new("s", &none)));
        let scoped = [String::from("x")];
        assert_ne!(
            routes_key(&Principal::new("s", &none), &facts.with_scopes(&scoped)),
            k(&Principal::new("s", &none))
        );
        assert_eq!(k(&Principal::new("s", &ab)), k(&Principal::new("s", &ab)));
        let mut machine = Principal::new("s", &none);
        machine.machine = true;
        assert_ne!(k(&machine), k(&Principal::new("s", &none)));
    }

    #[test]
    fn claims_are_part_of_the_key() {
        let none: Vec<String> = Vec::new();
        let facts = RequestFacts::new("GET", "/");
        let key = |claims: &[(String, serde_json::Value)]| {
            let mut p = Principal::new("s", &none);
            p.claims = claims;
            (
                routes_key(&p, &facts),
                decision_key(0, &p, &ContextPlan::default(), &facts),
            )
        };
        let claim = |name: &str, value: serde_json::Value| vec![(name.to_owned(), value)];
        let acme = key(&claim("custom:tenant", serde_json::json!("acme")));
        assert_ne!(
            acme,
            key(&claim("custom:tenant", serde_json::json!("globex")))
        );
        assert_ne!(acme, key(&[]));
        assert_ne!(acme, key(&claim("custom:other", serde_json::json!("acme"))));
        // A string and a number of the same text differ.
        assert_ne!(
            key(&claim("level", serde_json::json!("3"))),
            key(&claim("level", serde_json::json!(3)))
        );
        assert_eq!(
            acme,
            key(&claim("custom:tenant", serde_json::json!("acme")))
        );
    }

    #[test]
    fn the_memo_is_bounded() {
        let memo: Memo<u32> = Memo::default();
        for i in 0..(CAPACITY as u32 + 10) {
            memo.insert(i.to_le_bytes().to_vec(), i);
        }
        assert!(memo.map.lock().unwrap().len() <= CAPACITY);
        assert_eq!(
            memo.get(&(CAPACITY as u32 + 9).to_le_bytes()),
            Some(CAPACITY as u32 + 9)
        );
        memo.insert(vec![0; MAX_KEY_BYTES + 1], 1);
        assert_eq!(memo.get(&[0; MAX_KEY_BYTES + 1]), None);
    }
}

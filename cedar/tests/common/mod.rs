//! Shared helpers for the integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

use std::path::PathBuf;

use cedar_policy::{Entities, Request};
use l42_cedar::{ActionRef, Decision, Engine, Principal, RequestFacts};

/// Loads an engine from one schema and one policy file, panicking with the
/// error message on failure.
pub fn engine(schema: &str, policies: &str) -> Engine {
    Engine::from_sources(schema, &[("test.cedar", policies)], None)
        .unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// The load error message for one schema and one policy file.
pub fn load_error(schema: &str, policies: &str) -> l42_cedar::LoadError {
    match Engine::from_sources(schema, &[("test.cedar", policies)], None) {
        Ok(_) => panic!("expected a load error"),
        Err(e) => e,
    }
}

/// Asserts that what the engine hands to Cedar conforms to the schema.
pub fn assert_conforms(
    engine: &Engine,
    action: &ActionRef,
    principal: &Principal<'_>,
    facts: &RequestFacts<'_>,
) {
    let parts = engine
        .request_parts(action, principal, facts)
        .unwrap_or_else(|e| panic!("{action}: request not buildable: {e:?}"));
    Request::new(
        parts.principal,
        parts.action,
        parts.resource,
        parts.context,
        Some(engine.schema()),
    )
    .unwrap_or_else(|e| panic!("{action}: request does not conform: {e}"));
    Entities::from_entities(parts.entities, Some(engine.schema()))
        .unwrap_or_else(|e| panic!("{action}: entities do not conform: {e}"));
}

/// Decides `method path` on a resolved route, supplying the path parameters.
pub fn decide_path(
    engine: &Engine,
    method: &str,
    path: &str,
    principal: &Principal<'_>,
    scopes: &[String],
) -> Decision {
    let m = engine
        .resolve(method, path)
        .unwrap_or_else(|| panic!("{method} {path} does not resolve"));
    let facts = RequestFacts::new(method, path)
        .with_scopes(scopes)
        .with_auth_time(1_700_000_000)
        .with_source_ip("192.0.2.1")
        .with_path_parameters(m.path_parameters());
    engine.decide(m.action(), principal, &facts)
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A fresh, empty temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "l42-cedar-{}-{name}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        std::fs::write(self.0.join(name), contents).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A minimal valid schema header (namespace App) to which actions are added.
pub fn schema_with(actions: &str) -> String {
    format!(
        "namespace App {{
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
{actions}
}}"
    )
}

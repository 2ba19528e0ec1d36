//! Call counters per endpoint and per grant type.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Endpoint names counted (every one is present in [`Stats::endpoints`], zero or not).
pub const ENDPOINTS: [&str; 8] = [
    "openid_configuration",
    "jwks",
    "authorize",
    "login",
    "token",
    "revoke",
    "userinfo",
    "logout",
];

/// Grant types counted at the token endpoint (`other` for anything else, including a
/// missing `grant_type`).
pub const GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "other",
];

/// A snapshot of the counters, as `GET /_dev/stats` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Calls per endpoint (`authorize` is the GET of the form, `login` its POST).
    pub endpoints: BTreeMap<String, u64>,
    /// Token-endpoint calls per `grant_type`.
    pub grants: BTreeMap<String, u64>,
}

impl Stats {
    fn zero() -> Stats {
        Stats {
            endpoints: ENDPOINTS.iter().map(|e| (e.to_string(), 0)).collect(),
            grants: GRANTS.iter().map(|g| (g.to_string(), 0)).collect(),
        }
    }

    /// Calls of `endpoint` (0 for an unknown name).
    pub fn endpoint(&self, endpoint: &str) -> u64 {
        self.endpoints.get(endpoint).copied().unwrap_or(0)
    }

    /// Token calls with `grant_type` `grant` (0 for an unknown name).
    pub fn grant(&self, grant: &str) -> u64 {
        self.grants.get(grant).copied().unwrap_or(0)
    }
}

/// The live counters.
#[derive(Debug, Clone)]
pub(crate) struct Counters(Arc<Mutex<Stats>>);

impl Default for Counters {
    fn default() -> Counters {
        Counters(Arc::new(Mutex::new(Stats::zero())))
    }
}

impl Counters {
    fn lock(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn endpoint(&self, name: &'static str) {
        *self.lock().endpoints.entry(name.to_string()).or_insert(0) += 1;
    }

    pub(crate) fn grant(&self, grant_type: Option<&str>) {
        let name = grant_type
            .filter(|g| GRANTS.contains(g) && *g != "other")
            .unwrap_or("other");
        *self.lock().grants.entry(name.to_string()).or_insert(0) += 1;
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.lock().clone()
    }

    pub(crate) fn reset(&self) {
        *self.lock() = Stats::zero();
    }
}

//! Fault injection: make the next N calls of an endpoint fail.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An endpoint that faults can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultEndpoint {
    /// `POST /oauth2/token`.
    Token,
    /// `GET`/`POST /oauth2/authorize` and `/login`.
    Authorize,
    /// `POST /oauth2/revoke`.
    Revoke,
    /// `/oauth2/userInfo`.
    Userinfo,
    /// Both JWKS paths.
    Jwks,
}

impl FaultEndpoint {
    /// The name used in JSON (`token`, `authorize`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FaultEndpoint::Token => "token",
            FaultEndpoint::Authorize => "authorize",
            FaultEndpoint::Revoke => "revoke",
            FaultEndpoint::Userinfo => "userinfo",
            FaultEndpoint::Jwks => "jwks",
        }
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// Answer 500 `{"error":"server_error"}` at once.
    #[serde(rename = "status500")]
    Status500,
    /// Hang for the fault's delay (default: the configured
    /// [`fault_delay`](crate::IdpConfig::fault_delay), 30 s), then answer 500. A
    /// shutdown ends the wait early.
    #[serde(rename = "timeout")]
    Timeout,
    /// Answer 400 `{"error":"invalid_grant"}`.
    #[serde(rename = "invalid_grant")]
    InvalidGrant,
    /// Wait for the fault's delay (as for `timeout`), then answer as usual: a call that
    /// is still in flight while something else happens.
    #[serde(rename = "slow")]
    Slow,
}

/// One injected fault, as `POST /_dev/faults` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Which endpoint fails.
    pub endpoint: FaultEndpoint,
    /// How it fails.
    pub kind: FaultKind,
    /// How many calls fail (0 clears the endpoint's fault).
    pub count: u32,
    /// For `timeout`: how long to hang, in milliseconds (default: the configured delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// The pending faults; a handle shared by the server and [`RunningIdp`](crate::RunningIdp).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pending: Arc<Mutex<BTreeMap<FaultEndpoint, FaultSpec>>>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<FaultEndpoint, FaultSpec>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `count` calls of `endpoint` fail with `kind` (replacing any pending fault
    /// of that endpoint).
    pub fn inject(&self, endpoint: FaultEndpoint, kind: FaultKind, count: u32) {
        self.inject_spec(FaultSpec {
            endpoint,
            kind,
            count,
            delay_ms: None,
        });
    }

    /// Injects a fault described in full.
    pub fn inject_spec(&self, spec: FaultSpec) {
        let mut p = self.lock();
        if spec.count == 0 {
            p.remove(&spec.endpoint);
        } else {
            p.insert(spec.endpoint, spec);
        }
    }

    /// Removes every pending fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many calls of `endpoint` will still fail.
    pub fn remaining(&self, endpoint: FaultEndpoint) -> u32 {
        self.lock().get(&endpoint).map_or(0, |f| f.count)
    }

    /// Every pending fault.
    pub fn pending(&self) -> Vec<FaultSpec> {
        self.lock().values().cloned().collect()
    }

    /// Consumes one call's worth of the endpoint's fault: its kind and delay, if any.
    pub(crate) fn take(&self, endpoint: FaultEndpoint) -> Option<(FaultKind, Option<Duration>)> {
        let mut p = self.lock();
        let f = p.get_mut(&endpoint)?;
        let out = (f.kind, f.delay_ms.map(Duration::from_millis));
        f.count = f.count.saturating_sub(1);
        if f.count == 0 {
            p.remove(&endpoint);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn counts_down_then_clears() {
        let f = Faults::default();
        f.inject(FaultEndpoint::Token, FaultKind::Status500, 2);
        assert_eq!(f.remaining(FaultEndpoint::Token), 2);
        assert!(f.take(FaultEndpoint::Revoke).is_none());
        assert_eq!(
            f.take(FaultEndpoint::Token).unwrap().0,
            FaultKind::Status500
        );
        assert!(f.take(FaultEndpoint::Token).is_some());
        assert!(f.take(FaultEndpoint::Token).is_none());
        f.inject(FaultEndpoint::Jwks, FaultKind::Timeout, 1);
        f.inject(FaultEndpoint::Jwks, FaultKind::Timeout, 0);
        assert!(f.pending().is_empty());
    }

    #[test]
    fn json_names() {
        let s: FaultSpec =
            serde_json::from_str(r#"{"endpoint":"token","kind":"invalid_grant","count":3}"#)
                .unwrap();
        assert_eq!(s.kind, FaultKind::InvalidGrant);
        assert!(
            serde_json::from_str::<FaultSpec>(r#"{"endpoint":"token","kind":"boom","count":1}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<FaultSpec>(
                r#"{"endpoint":"token","kind":"timeout","count":1,"x":1}"#
            )
            .is_err()
        );
    }
}

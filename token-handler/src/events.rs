//! The token handler's security events: [`l42_core::events`] records naming the feature
//! `token-handler` (the refresh coordinator's own records, which `GET /token` also emits,
//! name `refresh`).

pub use l42_core::events::{Activity, SecurityEvent, Severity, Status, TARGET};

/// The `metadata.product.feature.name` of the token handler's events.
pub const FEATURE: &str = "token-handler";

/// A new token handler event (see [`SecurityEvent::new`]).
pub fn event(activity: Activity, status: Status, message: impl Into<String>) -> SecurityEvent {
    SecurityEvent::new(activity, status, message).feature(FEATURE)
}

//! The l42 Cedar policy engine wrapper.
//!
//! An [`Engine`] is loaded once (from the embedded example, a folder named
//! by `CEDAR_POLICY_DIR`, or source texts), validated strictly, and then
//! decides requests on the hot path:
//!
//! * the schema's action names are the routes, as Amazon Verified
//!   Permissions names them (`"get /orders/{id}"`, `"$connect"`); the engine
//!   resolves a request to its action ([`Engine::resolve`],
//!   [`Engine::action_by_route_key`], [`Engine::action_by_template`]);
//! * each action has a precomputed slice of the policies that can apply to
//!   it and a plan of which request facts its declared context takes;
//! * the principal is `User::"<sub>"` in `UserGroup`s from `cognito:groups`,
//!   the resource is `Application::"<application>"`.
//!
//! The token handler's `POST {P}/authorize` uses a second, smaller engine over the L42
//! protocol schema (namespace `App`, named permissions such as `read:content`):
//! [`protocol::ProtocolEngine`], with its files under `cedar/protocol/`.
//!
//! Everything fails closed: an unknown route has no action, a required
//! context or principal attribute the request cannot supply is a Deny with
//! the reason, and an erroring `forbid` policy denies.
//!
//! ```
//! use l42_cedar::{Engine, Principal, RequestFacts};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::embedded()?;
//! let route = engine.resolve("GET", "/orders/42").ok_or("no route")?;
//! assert_eq!(route.action().name(), "get /orders/{id}");
//!
//! let groups = vec!["users".to_owned()];
//! let principal = Principal::new("7d1f0c3e-user-sub", &groups);
//! let facts = RequestFacts::new("GET", "/orders/42")
//!     .with_path_parameters(route.path_parameters());
//! let decision = engine.decide(route.action(), &principal, &facts);
//! assert!(decision.allowed);
//! assert_eq!(decision.reasons, ["users-orders"]);
//!
//! // No route, no decision: the caller denies.
//! assert!(engine.resolve("GET", "/nowhere").is_none());
//! # Ok(())
//! # }
//! ```

mod analysis;
mod context;
mod engine;
mod entities;
mod error;
mod loader;
mod memo;
pub mod protocol;
mod routes;
mod shape;

pub use context::{Params, RequestFacts};
pub use engine::{Decision, Engine, RequestParts, RouteCheck};
pub use entities::{EntityIds, Principal};
pub use error::{LoadError, ValidationProblem};
pub use loader::PolicyConfig;
pub use routes::{ActionRef, Route, RouteKind, RouteMatch, Segment, Verb};

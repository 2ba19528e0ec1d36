//! Where `authorize` learns who owns a resource when `ENTITY_TABLE` is set.
//!
//! The owner must never come from the caller then: a caller who could name the owner could
//! name themselves and pass the ownership rule. [`OwnerLookup`] answers from a trusted
//! store; a failed lookup is a 503 (fail closed), an unknown resource has no owner.

use std::future::Future;
use std::pin::Pin;

use thiserror::Error;

/// A boxed, sendable future (the traits here are used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A lookup that did not answer (the store failed or timed out).
#[derive(Debug, Clone, Error)]
#[error("owner lookup failed: {0}")]
pub struct OwnerLookupError(pub String);

/// Resource id → owner `sub`, from a store the caller cannot write.
pub trait OwnerLookup: Send + Sync + 'static {
    /// The owner of `resource_id`, `None` when the store does not know the resource.
    fn owner<'a>(
        &'a self,
        resource_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, OwnerLookupError>>;
}

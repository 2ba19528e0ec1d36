//! Sessions of the token handler: the session id, the signed cookie that names a session,
//! the session record, and where records live.
//!
//! - [`cookie`]: the cookie value (format v1), its keys, its attributes.
//! - [`refresh`]: the single-flight refresh coordinator ([`Refresher`]).
//! - [`SessionStore`]: the store interface; [`MemoryStore`] (the embedded default outside
//!   Lambda) and [`DynamoStore`] implement it with the same semantics.
//!
//! ```
//! use std::sync::Arc;
//! use l42_core::session::{MemoryStore, Session, SessionId, SessionStore, SessionTokens};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
//! let now = l42_core::unix_now();
//! let tokens = SessionTokens {
//!     access_token: "eyJ…".into(),
//!     id_token: "eyJ…".into(),
//!     refresh_token: None,
//!     auth_method: "direct".into(),
//! };
//! let session = Session::new(SessionId::generate()?, tokens, now, now + 30 * 86_400);
//! store.create(&session).await?;
//! assert_eq!(store.get(&session.id).await?, Some(session));
//! # Ok(())
//! # }
//! ```

pub mod cookie;
pub mod dynamodb;
mod id;
pub mod login_state;
mod memory;
mod record;
pub mod refresh;
mod secret;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cookie::{
    CookieError, CookieKeys, CookieSettings, KeyUsed, LoginBindingError, SameSite, SessionCookies,
    VerifiedCookie,
};
pub use dynamodb::{DynamoOptions, DynamoStore};
pub(crate) use id::random_bytes;
pub use id::{RandomError, SessionId};
pub use login_state::{
    DynamoLoginStates, LOGIN_STATE_TTL_SECS, LoginState, LoginStateStore, MemoryLoginStates,
};
pub use memory::MemoryStore;
pub use record::{DEFAULT_AUTH_METHOD, Lease, MAX_DATA_BYTES, Session, SessionTokens};
pub use refresh::{RefreshError, RefreshOptions, RefreshOutcome, RefreshSource, Refresher};
pub use secret::SessionSecret;
pub use store::{LeaseOutcome, Replaced, SessionStore, StoreError, StoreFuture};

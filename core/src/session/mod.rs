//! Sessions of the token handler: the session id, the signed cookie that names a session,
//! the session record, and where records live.
//!
//! - [`cookie`]: the cookie value (format v1), its keys, its attributes.
//! - [`refresh`]: the single-flight refresh coordinator ([`Refresher`]).
//! - [`SessionStore`]: the store interface; [`MemoryStore`] (the embedded default outside
//!   Lambda) and `DynamoStore` (the `dynamodb` feature) implement it with the same
//!   semantics. [`SessionReader`] is its point reads alone, which [`DynamoReader`] also
//!   implements without the AWS SDK.
//!
//! ```
//! use std::sync::Arc;
//! use l42_core::session::{
//!     MemoryStore, Session, SessionId, SessionReader, SessionStore, SessionTokens,
//! };
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
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
mod end;
mod id;
pub mod login_state;
mod memory;
mod reader;
mod record;
pub mod refresh;
pub mod revocation;
mod secret;
mod store;
pub mod table;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cookie::{
    CookieError, CookieKeys, CookieSettings, KeyUsed, LoginBindingError, SameSite, SessionCookies,
    VerifiedCookie,
};
#[cfg(feature = "dynamodb")]
pub use dynamodb::DynamoStore;
pub use end::{Ended, end_session};
pub(crate) use id::random_bytes;
pub use id::{RandomError, SessionId};
#[cfg(feature = "dynamodb")]
pub use login_state::DynamoLoginStates;
pub use login_state::{LOGIN_STATE_TTL_SECS, LoginState, LoginStateStore, MemoryLoginStates};
pub use memory::MemoryStore;
pub use reader::DynamoReader;
pub use record::{
    DEFAULT_AUTH_METHOD, Lease, MAX_DATA_BYTES, MAX_ORIGIN_JTI_BYTES, MAX_TOKEN_LIFETIME_SECS,
    MAX_USER_AGENT_BYTES, REVOCATION_MARGIN_SECS, Revocation, Session, SessionSummary,
    SessionTokens, is_valid_origin_jti, kept_user_agent, user_key,
};
pub use refresh::{RefreshError, RefreshOptions, RefreshOutcome, RefreshSource, Refresher};
pub use revocation::{RevocationCheck, RevocationError, RevocationSettings};
pub use secret::SessionSecret;
pub use store::{
    LeaseOutcome, MAX_LISTED, Replaced, SessionReader, SessionStore, StoreError, StoreFuture,
};
pub use table::DynamoOptions;

/// Where a service keeps its sessions (`SESSION_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In process (local runs only: sessions end with the process, and each process sees
    /// only its own).
    Memory,
    /// A DynamoDB table (`DYNAMODB_TABLE`, read by [`DynamoStore::from_lookup`]).
    DynamoDb,
}

impl Backend {
    /// `SESSION_BACKEND`: `memory` or `dynamodb`, any case; unset, `dynamodb` inside
    /// Lambda (`AWS_LAMBDA_RUNTIME_API` set) and `memory` elsewhere.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Backend, crate::ConfigError> {
        let chosen = crate::config::var(&lookup, "SESSION_BACKEND").map(|v| v.to_ascii_lowercase());
        match chosen.as_deref() {
            None if crate::config::in_lambda(&lookup) => Ok(Backend::DynamoDb),
            None => Ok(Backend::Memory),
            Some("memory") => Ok(Backend::Memory),
            Some("dynamodb") => Ok(Backend::DynamoDb),
            Some(v) => Err(crate::ConfigError::new(
                "SESSION_BACKEND",
                format!("`{v}` is not memory or dynamodb"),
            )),
        }
    }
}

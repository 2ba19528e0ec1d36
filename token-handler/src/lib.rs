//! # l42-token-handler
//!
//! The l42 token handler: a backend-for-frontend for single-page apps that speaks the L42
//! token handler protocol (`PROTOCOL.md`), so the `auth.js` client works unchanged. Tokens
//! stay on the server; the browser holds an HttpOnly session cookie.
//!
//! One axum [`Router`](axum::Router) serves every endpoint, inside AWS Lambda through
//! `lambda_http` (API Gateway HTTP API payload 2.0 and 1.0, REST APIs, Function URLs) and
//! locally through a plain listener; the binary picks by `AWS_LAMBDA_RUNTIME_API`.
//!
//! | module | what lives there |
//! |---|---|
//! | [`config`] | [`Config::from_env`](config::Config::from_env): every variable, validated once |
//! | [`app`] | the router, [`AppState`], the caller's [`Identity`] and the layers |
//! | [`routes`] | one file per endpoint |
//! | [`error`] | every error's status and JSON body |
//! | [`l42_core::service`] | the HTTP shell shared with refresh: CORS, CSRF, JSON errors, serving in Lambda, `main` |
//! | [`events`] | OCSF security events |
//! | [`webauthn`] | reading WebAuthn registrations for `validate-credential` |
//! | [`owners`] | resource owners for `authorize` when `ENTITY_TABLE` is set |
//! | [`session`] | the session layer: cookie, store, pending logins, Cognito, the caller |
//! | [`aws`] | AWS clients from the configuration |
//!
//! ```
//! use std::sync::Arc;
//! use l42_cedar::protocol::ProtocolEngine;
//! use l42_token_handler::{AppState, Config, router};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_lookup(|name| match name {
//!     "COGNITO_CLIENT_ID" => Some("client-1".into()),
//!     "COGNITO_USER_POOL_ID" => Some("us-east-1_Example".into()),
//!     "COGNITO_DOMAIN" => Some("auth.example.com".into()),
//!     "SESSION_SECRET" => Some("0123456789abcdef0123456789abcdef".into()),
//!     _ => None,
//! })?;
//! assert_eq!(config.auth_path_prefix, "/auth");
//! let state = AppState::builder(config)
//!     .cedar(Some(Arc::new(ProtocolEngine::embedded()?)))
//!     .build();
//! let app: axum::Router = router(state);
//! # drop(app);
//! # Ok(())
//! # }
//! ```

pub mod app;
pub mod aws;
pub mod body;
pub mod config;
pub mod error;
pub mod events;
pub mod owners;
pub mod routes;
pub mod session;
pub mod webauthn;

pub use app::{AppState, Caller, Identity, IdentityProvider, MaybeCaller, NoSessions, router};
pub use config::{Config, ConfigError};
pub use error::ApiError;
pub use session::{SessionIdentity, Sessions};

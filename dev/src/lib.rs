//! # l42-dev
//!
//! The l42 local stack ([`stack`]): `cargo run -p l42-dev` starts the dev identity
//! provider, the token handler and the refresh function under `/_auth`, the authorizer in
//! front of a demo API under `/api`, and a demo single-page app, on loopback.
//!
//! Its identity provider ([`idp`]) is Cognito-compatible: Cognito's hosted OAuth endpoints (`/oauth2/authorize` with a sign-in form,
//! `/oauth2/token`, `/oauth2/revoke`, `/oauth2/userInfo`, `/logout`, the discovery
//! document and the JWKS) on loopback, with users and app clients from a JSON file,
//! RS256 tokens shaped like Cognito's, refresh-token rotation with a grace period, and
//! test controls: fault injection, key rotation, a clock that tests can advance, call
//! counters and direct minting.
//!
//! Start it in-process from a test:
//!
//! ```no_run
//! use l42_dev::idp::{Idp, IdpConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let idp = Idp::start(IdpConfig::default(), "127.0.0.1:0").await?;
//! let tokens = idp.mint("admin", "l42-dev-public")?;
//!
//! let verifier = l42_core::Verifier::new(idp.verifier_builder("l42-dev-public").build()?)?;
//! let claims = verifier.verify(&tokens.access_token).await?;
//! assert_eq!(claims.groups, ["admin"]);
//! # Ok(())
//! # }
//! ```
//!
//! or as a process: `l42-dev idp --port 0 [--users FILE] [--issuer URL] [--pool-id ID]`
//! prints its base URL on standard output; `l42-dev` without arguments runs the whole
//! stack. See `dev/README.md`.

pub mod idp;
pub mod stack;

mod error;

pub use error::DevError;

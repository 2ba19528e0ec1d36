//! # l42-dev
//!
//! The l42 local stack ([`stack`]): `cargo run -p l42-dev` starts the dev identity
//! provider, the token handler and the refresh function under `/_auth`, the authorizer in
//! front of a demo API under `/api`, and a demo single-page app, on loopback.
//!
//! Its identity provider is the dev one of `l42-idp`, with the example users and one more
//! public client whose callback and logout URLs are the stack's origin.
//!
//! `l42-dev` without arguments runs the whole stack; `l42-dev idp --port 0 [--users FILE]
//! [--issuer URL] [--pool-id ID]` runs only the identity provider and prints its base URL
//! on standard output. See `dev/README.md`.

pub mod stack;

mod error;

pub use error::DevError;

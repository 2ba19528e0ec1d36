//! # l42-tests
//!
//! Cross-component tests for l42, and the support code that other crates' tests share as a
//! dev-dependency. Everything here talks to real parts, never mocks:
//!
//! - [`moto`]: the `moto_server` emulator that `scripts/test-all` starts on a free loopback
//!   port, and the Python virtual environment it comes from.
//! - [`dynamo`]: a DynamoDB client for the emulator and [`fresh_table`], a new session table
//!   per test (unique name, so tests run in parallel).
//! - [`cognito`]: user pools, users and real tokens from moto's `cognito-idp`, an issuer
//!   l42 did not write.
//! - [`requests`]: a DynamoDB client that counts its requests and refuses scans and
//!   queries.
//! - [`secrets`]: secrets in moto's Secrets Manager (the session cookie's key).
//! - [`idp`]: the dev identity provider (`l42-dev`) on a free loopback port, tokens minted
//!   for its users, and a verifier for them.
//! - [`browser`]: a cookie jar, for the cookies a browser carries between requests.
//!
//! A test that needs the emulator fails with a clear message when it is not running; it
//! never skips.
//!
//! ```no_run
//! # async fn demo() -> Result<(), l42_tests::Error> {
//! let table = l42_tests::fresh_table().await?;
//! table
//!     .client()
//!     .put_item()
//!     .table_name(table.name())
//!     .item("session_id", l42_tests::dynamo::s("abc"))
//!     .send()
//!     .await
//!     .map_err(l42_tests::Error::dynamo("PutItem"))?;
//! # Ok(())
//! # }
//! ```

pub mod browser;
pub mod cognito;
pub mod dynamo;
mod error;
pub mod idp;
pub mod moto;
pub mod requests;
pub mod secrets;

pub use cognito::{MotoUserPool, Tokens};
pub use dynamo::{TestTable, fresh_table};
pub use error::Error;
pub use idp::{mint, start_idp, start_idp_with};
pub use moto::{moto_endpoint, python};

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
//! - [`stores`]: a session store around a real one that counts calls and fails the
//!   operations a test names.
//! - [`for_each_backend!`]: one test per session [`Backend`] from one function.
//! - [`idp`]: the dev identity provider (`l42-idp`) on a free loopback port, tokens minted
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
pub mod stores;

pub use cognito::{MotoUserPool, Tokens};
pub use dynamo::{TestTable, fresh_table};
pub use error::Error;
pub use idp::{mint, start_idp, start_idp_with};
/// Where sessions live in a test: in memory, or in a fresh table on the emulator
/// (`fresh_table`). It is the services' own `SESSION_BACKEND` choice.
pub use l42_core::session::Backend;
pub use moto::{moto_endpoint, python};

/// One test per session backend from one async function that takes a [`Backend`]:
/// `for_each_backend!(full_login_flow, token_refreshes);` makes the tests
/// `full_login_flow::memory` and `full_login_flow::dynamodb` (which needs the emulator,
/// and fails without it) from `async fn full_login_flow(backend: Backend)`, and so on.
///
/// The caller needs `tokio` with its `macros` feature, as every async test here has.
#[macro_export]
macro_rules! for_each_backend {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn memory() {
                super::$name($crate::Backend::Memory).await;
            }

            #[tokio::test]
            async fn dynamodb() {
                super::$name($crate::Backend::DynamoDb).await;
            }
        }
    )+};
}

//! AWS clients of the token handler.
//!
//! The entity table's client is built as every l42 table client is
//! ([`l42_core::session::dynamodb::client_from_lookup`]: `DYNAMODB_ENDPOINT`, the region and
//! the credentials Lambda puts in the environment); the session layer builds its own (see
//! [`crate::session::Sessions::from_config`]).

use l42_core::ConfigError;

/// The entity table's DynamoDB client, read through `lookup`.
///
/// # Errors
/// When the environment holds no usable AWS settings (no credentials, say): the binary then
/// answers 503 for requests naming a resource (fail closed).
pub fn dynamodb_client(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<aws_sdk_dynamodb::Client, ConfigError> {
    l42_core::session::dynamodb::client_from_lookup(lookup)
}

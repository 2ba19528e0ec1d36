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

/// The DynamoDB entity table (`ENTITY_TABLE`): partition key `id` (S, the resource id),
/// attribute `owner` (S, the owner's `sub`). Deployers write it when resources are created
/// or change hands; the token handler only reads it (`GetItem`, strongly consistent, so a
/// transfer is seen at once).
#[derive(Debug, Clone)]
pub struct DynamoOwnerLookup {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The entity table's partition key.
pub const ENTITY_KEY: &str = "id";

/// The entity table's owner attribute.
pub const OWNER_ATTRIBUTE: &str = "owner";

impl DynamoOwnerLookup {
    /// A lookup in `table` through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl OwnerLookup for DynamoOwnerLookup {
    fn owner<'a>(
        &'a self,
        resource_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, OwnerLookupError>> {
        use aws_sdk_dynamodb::types::AttributeValue;
        Box::pin(async move {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(ENTITY_KEY, AttributeValue::S(resource_id.to_owned()))
                // `owner` is a DynamoDB reserved word.
                .projection_expression("#o")
                .expression_attribute_names("#o", OWNER_ATTRIBUTE)
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| {
                    OwnerLookupError(format!(
                        "GetItem on {}: {}",
                        self.table,
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ))
                })?;
            match out.item().and_then(|item| item.get(OWNER_ATTRIBUTE)) {
                None => Ok(None),
                Some(AttributeValue::S(owner)) if !owner.is_empty() => Ok(Some(owner.clone())),
                Some(_) => Err(OwnerLookupError(format!(
                    "item {:?} in {} has an owner that is not a non-empty string",
                    resource_id.chars().take(64).collect::<String>(),
                    self.table
                ))),
            }
        })
    }
}

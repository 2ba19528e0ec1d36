//! Counting DynamoDB requests: a client interceptor that counts requests by operation
//! (the `X-Amz-Target` header, every attempt included) and refuses any operation but the
//! four point operations, a `TransactWriteItems` of puts and deletes (ending a session)
//! and a `Query` of the user index (listing a user's sessions), so that a `Scan`, or a
//! `Query` of the table itself, anywhere in a test fails it. Which operations a request
//! path sends is each test's to assert from the counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

/// The only operations l42 may send.
pub const POINT_OPERATIONS: [&str; 4] = ["GetItem", "PutItem", "UpdateItem", "DeleteItem"];

/// Requests seen so far, by operation.
#[derive(Debug, Clone, Default)]
pub struct Requests(Arc<Mutex<HashMap<String, usize>>>);

impl Requests {
    /// The counts so far, which start again from zero.
    pub fn take(&self) -> HashMap<String, usize> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// How many requests so far.
    pub fn total(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }
}

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "l42-test-request-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("none");
        let op = target.rsplit('.').next().unwrap_or(target).to_string();
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(op.clone())
            .or_default() += 1;
        if POINT_OPERATIONS.contains(&op.as_str()) {
            return Ok(());
        }
        let body: serde_json::Value = context
            .request()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let allowed = match op.as_str() {
            "Query" => body["IndexName"] == l42_core::session::dynamodb::USER_INDEX,
            "TransactWriteItems" => body["TransactItems"].as_array().is_some_and(|items| {
                items.iter().all(|i| {
                    i.as_object().is_some_and(|o| {
                        o.len() == 1 && (o.contains_key("Put") || o.contains_key("Delete"))
                    })
                })
            }),
            _ => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "{op} was sent: only point operations, transactions of puts and deletes, \
                 and queries of the user index are allowed"
            )
            .into())
        }
    }
}

/// `client` with `requests` counting (and policing) every request it sends.
pub fn counted(client: &Client, requests: &Requests) -> Client {
    Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(requests.clone())
            .build(),
    )
}

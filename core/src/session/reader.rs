//! [`DynamoReader`]: the session table's point reads without the AWS SDK. Each read is
//! one `GetItem` (strongly consistent), sent as a SigV4-signed JSON request over the HTTP
//! client l42 already has ([`crate::aws`]), and decoded by the same code as the full
//! store's ([`super::table`]). It is what the authorizer reads sessions (its `cookie`
//! source) and revocations with: the SDK's DynamoDB client is most of a binary's size,
//! and the authorizer never writes.
//!
//! Configuration, timeouts and retries are the full store's
//! ([`DynamoStore`](super::DynamoStore)'s module docs): `DYNAMODB_TABLE`,
//! `DYNAMODB_ENDPOINT`, `DYNAMODB_TIMEOUT_MS`, the AWS region and credentials; each
//! attempt is bounded by [`DynamoOptions::attempt_timeout`], the whole read by
//! [`DynamoOptions::operation_timeout`], and throttling, 5xx answers, timeouts and
//! connection failures are retried up to [`DynamoOptions::max_attempts`] with a jittered
//! backoff. What still fails is [`StoreError::Unavailable`]; any other refusal (a missing
//! table, access denied) is [`StoreError::Other`] at once.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::id::SessionId;
use super::record::{Session, is_valid_origin_jti};
use super::store::{SessionReader, StoreError, StoreFuture};
use super::table::{
    DynamoOptions, KEY, TTL, TableSettings, is_unavailable, live, revocation_holds, revocation_key,
};
use crate::aws::{JsonAnswer, JsonCall, JsonFailure, JsonService};
use crate::config::ConfigError;
use crate::unix_now;

/// DynamoDB's JSON protocol.
const DYNAMODB: JsonService = JsonService {
    name: "dynamodb",
    target_prefix: "DynamoDB_20120810",
    content_type: "application/x-amz-json-1.0",
};

/// Point reads of the session table (see the module docs).
#[derive(Clone)]
pub struct DynamoReader {
    call: JsonCall,
    table: String,
    options: DynamoOptions,
}

impl fmt::Debug for DynamoReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoReader")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// One attempt's outcome: the item (if any), or an error and whether to try again.
enum Attempt {
    Done(Option<Map<String, Value>>),
    Retry(StoreError),
    Fail(StoreError),
}

impl DynamoReader {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<DynamoReader, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the variables of the module docs).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<DynamoReader, ConfigError> {
        let TableSettings {
            table,
            aws,
            options,
        } = TableSettings::from_lookup(lookup)?;
        let http = crate::http::client_with(
            options.attempt_timeout.min(options.operation_timeout),
            options.connect_timeout,
        )
        .map_err(|e| ConfigError::new("DYNAMODB_ENDPOINT", format!("no HTTP client: {e}")))?;
        Ok(DynamoReader {
            call: JsonCall {
                http,
                aws,
                service: DYNAMODB,
            },
            table,
            options,
        })
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The item under `key` (only the `projected` attribute when given), retried and
    /// bounded as the module docs say.
    async fn get_item(
        &self,
        key: &str,
        projected: Option<&str>,
    ) -> Result<Option<Map<String, Value>>, StoreError> {
        let mut body = json!({
            "TableName": self.table,
            "Key": {KEY: {"S": key}},
            "ConsistentRead": true,
        });
        if let Some(name) = projected {
            body["ProjectionExpression"] = json!("#p");
            body["ExpressionAttributeNames"] = json!({"#p": name});
        }
        let attempts = async {
            let mut last = StoreError::Unavailable("GetItem: no attempt was made".into());
            for attempt in 0..self.options.max_attempts.max(1) {
                if attempt > 0 {
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
                match self.attempt(&body).await {
                    Attempt::Done(item) => return Ok(item),
                    Attempt::Fail(e) => return Err(e),
                    Attempt::Retry(e) => last = e,
                }
            }
            Err(last)
        };
        match tokio::time::timeout(self.options.operation_timeout, attempts).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(format!(
                "GetItem: no answer within {} ms",
                self.options.operation_timeout.as_millis()
            ))),
        }
    }

    async fn attempt(&self, body: &Value) -> Attempt {
        match self.call.call("GetItem", body).await {
            Ok(JsonAnswer::Ok(answer)) => match answer.get("Item") {
                None | Some(Value::Null) => Attempt::Done(None),
                Some(Value::Object(item)) => Attempt::Done(Some(item.clone())),
                Some(_) => Attempt::Fail(StoreError::Other(
                    "GetItem: the answer's Item is not an object".into(),
                )),
            },
            Ok(JsonAnswer::Error(status, code, message)) => {
                let e = format!("GetItem: {code} (HTTP {status}): {message}");
                if is_unavailable(status, &code) {
                    Attempt::Retry(StoreError::Unavailable(e))
                } else {
                    Attempt::Fail(StoreError::Other(e))
                }
            }
            Err(JsonFailure(why)) => {
                Attempt::Retry(StoreError::Unavailable(format!("GetItem: {why}")))
            }
        }
    }

    /// The wait before retry `attempt` (1, 2, …): up to the initial backoff doubled per
    /// retry, at most the largest, with full jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let bound = self
            .options
            .initial_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.options.max_backoff);
        let jitter = super::random_bytes::<4>().map_or(u32::MAX / 2, u32::from_le_bytes);
        bound.mul_f64(f64::from(jitter) / f64::from(u32::MAX))
    }

    async fn get_now(&self, id: &SessionId, now: i64) -> Result<Option<Session>, StoreError> {
        match self.get_item(id.as_str(), None).await? {
            None => Ok(None),
            Some(item) => live(id, &item, now),
        }
    }

    async fn is_revoked_now(&self, origin_jti: &str, now: i64) -> Result<bool, StoreError> {
        if !is_valid_origin_jti(origin_jti) {
            return Err(StoreError::Other("not a usable origin_jti".into()));
        }
        let item = self
            .get_item(&revocation_key(origin_jti), Some(TTL))
            .await?;
        Ok(item.is_some_and(|item| revocation_holds(&item, now)))
    }
}

impl SessionReader for DynamoReader {
    fn backend(&self) -> &'static str {
        "dynamodb"
    }

    fn get<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<Session>> {
        Box::pin(self.get_now(id, unix_now()))
    }

    fn is_revoked<'a>(&'a self, origin_jti: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(self.is_revoked_now(origin_jti, now))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn reader(vars: &[(&str, &str)]) -> DynamoReader {
        DynamoReader::from_lookup(crate::test_lookup(vars)).unwrap()
    }

    #[test]
    fn configuration_is_the_stores() {
        let r = reader(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
        ]);
        assert_eq!(r.table(), super::super::table::DEFAULT_TABLE);
        assert_eq!(r.call.url(), "https://dynamodb.eu-west-1.amazonaws.com/");
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("wJalr"), "{dbg}");
        let local = reader(&[
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000/"),
            ("DYNAMODB_TABLE", "my-sessions"),
            ("DYNAMODB_TIMEOUT_MS", "500"),
        ]);
        assert_eq!(local.call.url(), "http://127.0.0.1:8000/");
        assert_eq!(local.options.operation_timeout, Duration::from_millis(500));
        let e = DynamoReader::from_lookup(crate::test_lookup(&[("AWS_REGION", "eu-west-1")]))
            .unwrap_err();
        assert_eq!(e.var, "AWS_ACCESS_KEY_ID");
    }

    #[test]
    fn backoff_stays_within_its_bounds() {
        let r = reader(&[("DYNAMODB_ENDPOINT", "http://127.0.0.1:1")]);
        for attempt in 1..40 {
            let b = r.backoff(attempt);
            assert!(b <= r.options.max_backoff, "{attempt}: {b:?}");
        }
        assert!(r.backoff(1) <= r.options.initial_backoff);
    }

    /// Nothing listens: every attempt fails to connect, and the read is `Unavailable`
    /// after the configured attempts, never a panic or an `Ok`.
    #[tokio::test(flavor = "current_thread")]
    async fn an_unreachable_table_is_unavailable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let endpoint = format!("http://127.0.0.1:{port}");
        let r = reader(&[("DYNAMODB_ENDPOINT", &endpoint)]);
        let id = SessionId::from_bytes(&[1; 32]);
        assert!(matches!(r.get(&id).await, Err(StoreError::Unavailable(_))));
        let jti = "0b6a1f36-8f2e-4c1e-9d1a-3c1f7d2a9e10";
        assert!(matches!(
            r.is_revoked(jti, 0).await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            r.is_revoked("not a jti", 0).await,
            Err(StoreError::Other(_))
        ));
    }
}

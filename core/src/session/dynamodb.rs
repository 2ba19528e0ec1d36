//! The DynamoDB session store: one item per session, point reads and writes only
//! (`GetItem`, `PutItem`, `UpdateItem`, `DeleteItem`), every write conditional.
//!
//! # Item
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `session_id` | S | partition key, the [`SessionId`] |
//! | `data` | S | JSON `{"tokens":{"access_token","id_token","refresh_token","auth_method"}, …}` |
//! | `created_at` | N | Unix seconds |
//! | `ttl` | N | absolute expiry, Unix seconds (the table's TTL attribute) |
//! | `version` | N | write counter (absent on items written before l42: read as 0) |
//! | `lease_owner`, `lease_until` | S, N | the refresh lease, both or neither |
//!
//! Reads are strongly consistent (a waiter must see the write it waits for) and ignore
//! items past `ttl`: DynamoDB deletes expired items days late.
//!
//! # Configuration ([`DynamoStore::from_env`])
//!
//! | variable | meaning |
//! |---|---|
//! | `DYNAMODB_TABLE` | the table (default `l42_sessions`) |
//! | `DYNAMODB_ENDPOINT` | optional endpoint (DynamoDB Local, moto): `https://…`, plain `http` only on loopback |
//! | `AWS_REGION` | the region; else `AWS_DEFAULT_REGION`, `COGNITO_REGION`, the first pool of `COGNITO_USER_POOL_ID`, or `us-east-1` with an endpoint |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | credentials (Lambda sets them from the function's role); with an endpoint and none set, dummy local credentials |
//! | `DYNAMODB_TIMEOUT_MS` | the whole-operation timeout, retries included (default 2000, at most 30000) |
//!
//! Every call is bounded: a per-attempt and a whole-operation timeout, and at most
//! [`DynamoOptions::max_attempts`] attempts with a short jittered backoff for throttling,
//! 5xx, timeouts and connection failures. What still fails is [`StoreError::Unavailable`].

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::id::SessionId;
use super::record::{Lease, Session, parse_data};
use super::store::{LeaseOutcome, Replaced, SessionStore, StoreError, StoreFuture};
use crate::aws::{AwsSettings, http_client};
use crate::config::ConfigError;
use crate::unix_now;

/// The table's partition key.
pub const KEY: &str = "session_id";
/// The table's TTL attribute.
pub const TTL: &str = "ttl";
const DATA: &str = "data";
const CREATED_AT: &str = "created_at";
const VERSION: &str = "version";
const LEASE_OWNER: &str = "lease_owner";
const LEASE_UNTIL: &str = "lease_until";

/// The default table name.
pub const DEFAULT_TABLE: &str = "l42_sessions";

type Item = HashMap<String, AttributeValue>;

/// Timeouts and retries applied to every call of a [`DynamoStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoOptions {
    /// The whole operation, retries and backoff included (default 2 s).
    pub operation_timeout: Duration,
    /// One attempt (default 700 ms; DynamoDB answers in milliseconds).
    pub attempt_timeout: Duration,
    /// Connecting (default 500 ms).
    pub connect_timeout: Duration,
    /// Attempts in all, the first included (default 3).
    pub max_attempts: u32,
    /// The first retry's backoff bound (default 25 ms), doubled per retry with jitter.
    pub initial_backoff: Duration,
    /// The largest backoff (default 250 ms).
    pub max_backoff: Duration,
}

impl Default for DynamoOptions {
    fn default() -> Self {
        DynamoOptions {
            operation_timeout: Duration::from_millis(2000),
            attempt_timeout: Duration::from_millis(700),
            connect_timeout: Duration::from_millis(500),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(25),
            max_backoff: Duration::from_millis(250),
        }
    }
}

impl DynamoOptions {
    fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .operation_timeout(self.operation_timeout)
            .operation_attempt_timeout(self.attempt_timeout.min(self.operation_timeout))
            .connect_timeout(self.connect_timeout)
            .build()
    }

    fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }
}

/// A DynamoDB client read through `lookup`, as every l42 table client is built:
/// `DYNAMODB_ENDPOINT` (https, plain http only on loopback), the region and credentials of
/// the environment (see [`crate::config`]'s AWS settings: Lambda sets them), the bundled
/// web roots, and the [`DynamoOptions`] timeouts and retries with `DYNAMODB_TIMEOUT_MS`
/// (1 to 30000) as the operation timeout.
///
/// # Errors
/// A [`ConfigError`] naming the variable that is missing or malformed.
pub fn client_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Client, ConfigError> {
    let get = |name: &str| crate::config::var(&lookup, name);
    let aws = AwsSettings::from_lookup(&get, "DYNAMODB_ENDPOINT", "DynamoDB")?;
    let mut options = DynamoOptions::default();
    if let Some(v) = get("DYNAMODB_TIMEOUT_MS") {
        let ms: u64 = v
            .parse()
            .ok()
            .filter(|ms| (1..=30_000).contains(ms))
            .ok_or_else(|| {
                ConfigError::new(
                    "DYNAMODB_TIMEOUT_MS",
                    format!("`{v}` is not a number of milliseconds from 1 to 30000"),
                )
            })?;
        options.operation_timeout = Duration::from_millis(ms);
    }
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws.region)
        .credentials_provider(aws.credentials)
        .http_client(http_client("DYNAMODB_ENDPOINT")?)
        .timeout_config(options.timeout_config())
        .retry_config(options.retry_config());
    if let Some(e) = aws.endpoint {
        config = config.endpoint_url(e);
    }
    Ok(Client::from_conf(config.build()))
}

/// Sessions in a DynamoDB table (see the module docs).
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    /// A store over `table` through `client`, with the [`DynamoOptions`] defaults for
    /// timeouts and retries (they replace the client's own; everything else, such as
    /// the HTTP client, credentials and interceptors, is kept).
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore::with_options(client, table, &DynamoOptions::default())
    }

    /// Like [`new`](Self::new) with other timeouts and retries.
    pub fn with_options(
        client: Client,
        table: impl Into<String>,
        options: &DynamoOptions,
    ) -> DynamoStore {
        let config = client
            .config()
            .to_builder()
            .timeout_config(options.timeout_config())
            .retry_config(options.retry_config())
            .build();
        DynamoStore {
            client: Client::from_conf(config),
            table: table.into(),
        }
    }

    /// Reads the configuration from the process environment (see the module docs).
    pub fn from_env() -> Result<DynamoStore, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (see the module docs).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<DynamoStore, ConfigError> {
        let table = crate::config::var(&lookup, "DYNAMODB_TABLE")
            .unwrap_or_else(|| DEFAULT_TABLE.to_string());
        check_table_name(&table)?;
        Ok(DynamoStore {
            client: client_from_lookup(&lookup)?,
            table,
        })
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The client (with the store's timeouts and retries).
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get_now(&self, id: &SessionId, now: i64) -> Result<Option<Session>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))?;
        match out.item {
            None => Ok(None),
            Some(item) => live(id, &item, now),
        }
    }

    async fn create_now(&self, session: &Session, now: i64) -> Result<(), StoreError> {
        let data = session.check_writable().map_err(StoreError::Other)?;
        let mut item = Item::new();
        item.insert(KEY.into(), s(session.id.as_str()));
        item.insert(DATA.into(), AttributeValue::S(data));
        item.insert(CREATED_AT.into(), n(session.created_at));
        item.insert(TTL.into(), n(session.expires_at));
        item.insert(VERSION.into(), n(session.version));
        if let Some(l) = &session.lease {
            item.insert(LEASE_OWNER.into(), s(&l.owner));
            item.insert(LEASE_UNTIL.into(), n(l.until));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k) OR #t <= :now")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#t", TTL)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match condition_failed("PutItem", e)? {
                PutItemError::ConditionalCheckFailedException(_) => Err(StoreError::AlreadyExists),
                other => Err(StoreError::Other(format!(
                    "PutItem: {}",
                    DisplayErrorContext(other)
                ))),
            },
        }
    }

    async fn replace_now(
        &self,
        session: &Session,
        expected: u64,
        now: i64,
    ) -> Result<Replaced, StoreError> {
        let data = session.check_writable().map_err(StoreError::Other)?;
        let next = expected.saturating_add(1);
        let mut update = String::from("SET #d = :d, #c = :c, #t = :t, #v = :next");
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(session.id.as_str()))
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#d", DATA)
            .expression_attribute_names("#c", CREATED_AT)
            .expression_attribute_names("#t", TTL)
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_names("#lo", LEASE_OWNER)
            .expression_attribute_names("#lu", LEASE_UNTIL)
            .expression_attribute_values(":d", AttributeValue::S(data))
            .expression_attribute_values(":c", n(session.created_at))
            .expression_attribute_values(":t", n(session.expires_at))
            .expression_attribute_values(":next", n(next))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":expected", n(expected));
        match &session.lease {
            Some(l) => {
                update.push_str(", #lo = :lo, #lu = :lu");
                request = request
                    .expression_attribute_values(":lo", s(&l.owner))
                    .expression_attribute_values(":lu", n(l.until));
            }
            None => update.push_str(" REMOVE #lo, #lu"),
        }
        let version_matches = if expected == 0 {
            "(attribute_not_exists(#v) OR #v = :expected)"
        } else {
            "#v = :expected"
        };
        let result = request
            .update_expression(update)
            .condition_expression(format!(
                "attribute_exists(#k) AND #t > :now AND {version_matches}"
            ))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => {
                let mut written = session.clone();
                written.version = next;
                Ok(Replaced::Written(written))
            }
            Err(e) => {
                let current = self.current_after_failure(&session.id, e, now)?;
                Ok(current.map_or(Replaced::Missing, Replaced::Conflict))
            }
        }
    }

    /// The live record a failed conditional update returned (`ALL_OLD`), if any.
    fn current_after_failure(
        &self,
        id: &SessionId,
        err: SdkError<UpdateItemError>,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        match condition_failed("UpdateItem", err)? {
            UpdateItemError::ConditionalCheckFailedException(ccf) => match ccf.item() {
                None => Ok(None),
                Some(item) => live(id, item, now),
            },
            other => Err(StoreError::Other(format!(
                "UpdateItem: {}",
                DisplayErrorContext(other)
            ))),
        }
    }

    async fn acquire_now(
        &self,
        id: &SessionId,
        owner: &str,
        until: i64,
        now: i64,
    ) -> Result<LeaseOutcome, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(id.as_str()))
            .update_expression(
                "SET #lo = :owner, #lu = :until, #v = if_not_exists(#v, :zero) + :one",
            )
            .condition_expression(
                "attribute_exists(#k) AND #t > :now AND (attribute_not_exists(#lu) OR #lu <= :now)",
            )
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#t", TTL)
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_names("#lo", LEASE_OWNER)
            .expression_attribute_names("#lu", LEASE_UNTIL)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out
                    .attributes
                    .ok_or_else(|| StoreError::Other("UpdateItem returned no attributes".into()))?;
                Ok(LeaseOutcome::Acquired(from_item(id, &item)?))
            }
            Err(e) => Ok(self
                .current_after_failure(id, e, now)?
                .map_or(LeaseOutcome::Missing, LeaseOutcome::Held)),
        }
    }

    async fn release_now(&self, id: &SessionId, owner: &str, now: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(id.as_str()))
            .update_expression("REMOVE #lo, #lu SET #v = if_not_exists(#v, :zero) + :one")
            .condition_expression("#lo = :owner AND #t > :now")
            .expression_attribute_names("#t", TTL)
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_names("#lo", LEASE_OWNER)
            .expression_attribute_names("#lu", LEASE_UNTIL)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match condition_failed("UpdateItem", e)? {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(StoreError::Other(format!(
                    "UpdateItem: {}",
                    DisplayErrorContext(other)
                ))),
            },
        }
    }

    async fn delete_now(&self, id: &SessionId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(id.as_str()))
            .send()
            .await
            .map_err(|e| classify("DeleteItem", &e))?;
        Ok(())
    }
}

impl SessionStore for DynamoStore {
    fn backend(&self) -> &'static str {
        "dynamodb"
    }

    fn get<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Option<Session>> {
        Box::pin(self.get_now(id, unix_now()))
    }

    fn create<'a>(&'a self, session: &'a Session) -> StoreFuture<'a, ()> {
        Box::pin(self.create_now(session, unix_now()))
    }

    fn replace<'a>(
        &'a self,
        session: &'a Session,
        expected_version: u64,
    ) -> StoreFuture<'a, Replaced> {
        Box::pin(self.replace_now(session, expected_version, unix_now()))
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, ()> {
        Box::pin(self.delete_now(id))
    }

    fn acquire_lease<'a>(
        &'a self,
        id: &'a SessionId,
        owner: &'a str,
        until: i64,
        now: i64,
    ) -> StoreFuture<'a, LeaseOutcome> {
        Box::pin(self.acquire_now(id, owner, until, now))
    }

    fn release_lease<'a>(&'a self, id: &'a SessionId, owner: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(self.release_now(id, owner, unix_now()))
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The record in `item` unless it has expired at `now` (an expired item is `None` even
/// when the rest of it does not parse).
fn live(id: &SessionId, item: &Item, now: i64) -> Result<Option<Session>, StoreError> {
    if number(item, TTL).is_some_and(|ttl| ttl <= now) {
        return Ok(None);
    }
    let session = from_item(id, item)?;
    Ok((!session.is_expired(now)).then_some(session))
}

/// An integer attribute; a decimal (written by other tools) is cut to whole seconds.
fn number(item: &Item, name: &str) -> Option<i64> {
    let AttributeValue::N(v) = item.get(name)? else {
        return None;
    };
    v.parse::<i64>().ok().or_else(|| {
        v.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && f.abs() < 1e15)
            .map(|f| f.trunc() as i64)
    })
}

fn from_item(id: &SessionId, item: &Item) -> Result<Session, StoreError> {
    let corrupt = |m: &str| StoreError::Corrupt(format!("session {}: {m}", id.short()));
    if item.get(KEY) != Some(&AttributeValue::S(id.as_str().to_string())) {
        return Err(corrupt("session_id does not match the key"));
    }
    let Some(AttributeValue::S(data)) = item.get(DATA) else {
        return Err(corrupt("data is missing or not a string"));
    };
    let (tokens, extra) = parse_data(data).map_err(|m| corrupt(&m))?;
    let created_at = number(item, CREATED_AT).ok_or_else(|| corrupt("bad created_at"))?;
    let expires_at = number(item, TTL).ok_or_else(|| corrupt("bad ttl"))?;
    let version = match item.get(VERSION) {
        None => 0,
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt("bad version"))?,
        Some(_) => return Err(corrupt("bad version")),
    };
    let lease = match (item.get(LEASE_OWNER), item.get(LEASE_UNTIL)) {
        (None, None) => None,
        (Some(AttributeValue::S(owner)), Some(_)) => Some(Lease {
            owner: owner.clone(),
            until: number(item, LEASE_UNTIL).ok_or_else(|| corrupt("bad lease_until"))?,
        }),
        _ => return Err(corrupt("half a lease")),
    };
    Ok(Session {
        id: id.clone(),
        tokens,
        created_at,
        expires_at,
        version,
        lease,
        extra,
    })
}

/// Throttling and server-side trouble: worth a retry later, so the session is kept.
const UNAVAILABLE_CODES: [&str; 6] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

/// Maps an SDK error (after the SDK's own retries) to a [`StoreError`].
fn classify<E>(op: &'static str, err: &SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = format!("{op}: {}", DisplayErrorContext(err));
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(message)
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or_default();
            if status >= 500 || status == 429 || UNAVAILABLE_CODES.contains(&code) {
                StoreError::Unavailable(message)
            } else {
                StoreError::Other(message)
            }
        }
        _ => StoreError::Other(message),
    }
}

/// The service error when `err` is a failed condition, else the classified error.
fn condition_failed<E>(op: &'static str, err: SdkError<E>) -> Result<E, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(se)
            if se.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(se.into_err())
        }
        other => Err(classify(op, &other)),
    }
}

fn check_table_name(t: &str) -> Result<(), ConfigError> {
    let ok = (3..=255).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            "DYNAMODB_TABLE",
            format!("`{t}` is not a table name (3-255 of A-Z a-z 0-9 _ - .)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use crate::test_lookup as lookup;

    #[test]
    fn configuration_from_the_environment() {
        let store = DynamoStore::from_lookup(lookup(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
            ("AWS_SESSION_TOKEN", "token"),
        ]))
        .unwrap();
        assert_eq!(store.table(), DEFAULT_TABLE);
        assert_eq!(
            store.client().config().region().map(|r| r.as_ref()),
            Some("eu-west-1")
        );
        let dbg = format!("{store:?}");
        assert!(!dbg.contains("wJalr"), "{dbg}");

        // A local endpoint needs no credentials; the region falls back to the pool's.
        let local = DynamoStore::from_lookup(lookup(&[
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            ("DYNAMODB_TABLE", "my-sessions"),
            ("COGNITO_USER_POOL_ID", "ap-south-1_abc,us-east-1_x"),
        ]))
        .unwrap();
        assert_eq!(local.table(), "my-sessions");
        assert_eq!(
            local.client().config().region().map(|r| r.as_ref()),
            Some("ap-south-1")
        );
        let timeouts = local.client().config().timeout_config().unwrap();
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(2)));
        assert_eq!(
            local
                .client()
                .config()
                .retry_config()
                .unwrap()
                .max_attempts(),
            3
        );
    }

    #[test]
    fn bad_configuration_names_the_variable() {
        let creds = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ];
        for (var, val) in [
            ("DYNAMODB_TABLE", "x"),
            ("DYNAMODB_TABLE", "bad name"),
            ("DYNAMODB_ENDPOINT", "http://dynamo.example.com:8000"),
            ("DYNAMODB_ENDPOINT", "ftp://127.0.0.1"),
            ("DYNAMODB_TIMEOUT_MS", "0"),
            ("DYNAMODB_TIMEOUT_MS", "soon"),
            ("AWS_REGION", "US East"),
        ] {
            let mut v = creds.to_vec();
            v.retain(|(k, _)| *k != var);
            v.push((var, val));
            let e = DynamoStore::from_lookup(lookup(&v)).unwrap_err();
            assert_eq!(e.var, var, "{val}: {e}");
        }
        let e = DynamoStore::from_lookup(lookup(&[("AWS_REGION", "us-east-1")])).unwrap_err();
        assert_eq!(e.var, "AWS_ACCESS_KEY_ID");
        let e = DynamoStore::from_lookup(lookup(&[("AWS_ACCESS_KEY_ID", "a")])).unwrap_err();
        assert_eq!(e.var, "AWS_REGION");
    }

    #[test]
    fn items_parse_leniently_but_fail_closed() {
        let id = SessionId::from_bytes(&[5; 32]);
        let data = r#"{"tokens":{"access_token":"a","id_token":"i"}}"#;
        let base = || {
            let mut item = Item::new();
            item.insert(KEY.into(), s(id.as_str()));
            item.insert(DATA.into(), s(data));
            item.insert(CREATED_AT.into(), n("1700000000.25"));
            item.insert(TTL.into(), n(4_000_000_000i64));
            item
        };
        let session = from_item(&id, &base()).unwrap();
        assert_eq!(session.version, 0);
        assert_eq!(session.created_at, 1_700_000_000);
        assert_eq!(session.lease, None);

        let broken: [(&str, Option<AttributeValue>); 7] = [
            (DATA, Some(n(1))),
            (DATA, None),
            (TTL, None),
            (TTL, Some(s("soon"))),
            (VERSION, Some(n(-1))),
            (LEASE_OWNER, Some(s("half"))),
            (KEY, Some(s("another"))),
        ];
        for (attr, value) in broken {
            let mut item = base();
            match value {
                Some(v) => item.insert(attr.into(), v),
                None => item.remove(attr),
            };
            let e = from_item(&id, &item).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(_)), "{attr}: {e:?}");
        }
        // Expired and corrupt: no session, not an error.
        let mut item = base();
        item.insert(TTL.into(), n(10));
        item.insert(DATA.into(), s("junk"));
        assert_eq!(live(&id, &item, 100).unwrap(), None);
    }
}

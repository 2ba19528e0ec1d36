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
//! | `user` | S | whose session ([`user_key`](super::user_key): `<pool id>\|<sub>`), the key of the [`USER_INDEX`]; absent on records written before sessions were listed |
//! | `user_agent` | S | the sign-in's `User-Agent`, at most 256 bytes |
//! | `auth_method` | S | a copy of `data`'s, for the index |
//! | `last_used_at` | N | the last refresh, else `created_at`, for the index |
//!
//! The same table holds pending logins (`login#<state>`, see [`super::login_state`]) and
//! revocations: `session_id = "rev#<origin_jti>"`, `ttl` (until every token of the
//! sign-in has expired) and `revoked_at` (N). Neither has a `user`, so neither is in the
//! index.
//!
//! The global secondary index [`USER_INDEX`] (partition key `user`, sort key
//! `created_at`, projecting `ttl`, `last_used_at`, `auth_method` and `user_agent` beside
//! the keys: never the tokens) lists a user's sessions; it is the only thing ever
//! queried, and never on a request path but `GET {P}/sessions` and ending sessions.
//! [`create_session_table`] makes a table of this shape.
//!
//! Reads are strongly consistent (a waiter must see the write it waits for) and ignore
//! items past `ttl`: DynamoDB deletes expired items days late. Index reads are eventually
//! consistent (DynamoDB offers nothing else on a global index).
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
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TransactWriteItem,
};

use super::id::SessionId;
use super::record::{
    DEFAULT_AUTH_METHOD, Lease, Revocation, Session, SessionSummary, is_valid_origin_jti,
    parse_data,
};
use super::store::{LeaseOutcome, MAX_LISTED, Replaced, SessionStore, StoreError, StoreFuture};
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
/// The attribute sessions are listed by (the [`USER_INDEX`]'s partition key).
pub const USER: &str = "user";
/// The global secondary index over [`USER`] and `created_at`.
pub const USER_INDEX: &str = "user_sessions";
/// The attributes the [`USER_INDEX`] projects beside its keys and the table's.
pub const USER_INDEX_PROJECTS: [&str; 4] = [TTL, LAST_USED_AT, AUTH_METHOD, USER_AGENT];
const USER_AGENT: &str = "user_agent";
const AUTH_METHOD: &str = "auth_method";
const LAST_USED_AT: &str = "last_used_at";
const REVOKED_AT: &str = "revoked_at";
/// The key prefix of revocation records (`rev#<origin_jti>`); a session id never has `#`.
pub const REVOCATION_KEY_PREFIX: &str = "rev#";

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
        item.insert(AUTH_METHOD.into(), s(&session.tokens.auth_method));
        item.insert(LAST_USED_AT.into(), n(session.last_used_at()));
        if let Some(user) = &session.user {
            item.insert(USER.into(), s(user));
        }
        if let Some(agent) = &session.user_agent {
            item.insert(USER_AGENT.into(), s(agent));
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
        let mut update =
            String::from("SET #d = :d, #c = :c, #t = :t, #v = :next, #am = :am, #lua = :lua");
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
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_names("#am", AUTH_METHOD)
            .expression_attribute_names("#lua", LAST_USED_AT)
            .expression_attribute_values(":am", s(&session.tokens.auth_method))
            .expression_attribute_values(":lua", n(session.last_used_at()));
        // Who and where from are kept as they are unless the record says.
        if let Some(user) = &session.user {
            update.push_str(", #u = :u");
            request = request
                .expression_attribute_names("#u", USER)
                .expression_attribute_values(":u", s(user));
        }
        if let Some(agent) = &session.user_agent {
            update.push_str(", #ua = :ua");
            request = request
                .expression_attribute_names("#ua", USER_AGENT)
                .expression_attribute_values(":ua", s(agent));
        }
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

    async fn end_now(
        &self,
        id: &SessionId,
        revocation: Option<&Revocation>,
        now: i64,
    ) -> Result<(), StoreError> {
        let Some(r) = revocation else {
            return self.delete_now(id).await;
        };
        if !is_valid_origin_jti(&r.origin_jti) {
            return Err(StoreError::Other("not a usable origin_jti".into()));
        }
        let bad = |e: aws_sdk_dynamodb::error::BuildError| {
            StoreError::Other(format!("TransactWriteItems: {e}"))
        };
        let put = Put::builder()
            .table_name(&self.table)
            .item(KEY, s(&revocation_key(&r.origin_jti)))
            .item(TTL, n(r.until))
            .item(REVOKED_AT, n(now))
            .build()
            .map_err(bad)?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(KEY, s(id.as_str()))
            .build()
            .map_err(bad)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await
            .map_err(|e| {
                // A concurrent write to either item cancels the transaction: worth a retry.
                let cancelled = e
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .is_some_and(|c| c == "TransactionCanceledException");
                let classified = classify("TransactWriteItems", &e);
                match classified {
                    StoreError::Other(m) if cancelled => StoreError::Unavailable(m),
                    other => other,
                }
            })?;
        Ok(())
    }

    async fn is_revoked_now(&self, origin_jti: &str, now: i64) -> Result<bool, StoreError> {
        if !is_valid_origin_jti(origin_jti) {
            return Err(StoreError::Other("not a usable origin_jti".into()));
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(&revocation_key(origin_jti)))
            .projection_expression("#t")
            .expression_attribute_names("#t", TTL)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))?;
        // A record without a readable `ttl` was written by something else: it still
        // says "ended", and is kept until someone removes it.
        Ok(out
            .item
            .is_some_and(|item| number(&item, TTL).is_none_or(|until| until > now)))
    }

    async fn list_now(&self, user: &str) -> Result<Vec<SessionSummary>, StoreError> {
        let mut listed = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(USER_INDEX)
                .key_condition_expression("#u = :u")
                .expression_attribute_names("#u", USER)
                .expression_attribute_values(":u", s(user))
                .scan_index_forward(false)
                .limit(LIST_PAGE)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify("Query", &e))?;
            for item in out.items.unwrap_or_default() {
                match summary_of(&item) {
                    Some(summary) => listed.push(summary),
                    None => tracing::warn!("an unreadable item in the user index was skipped"),
                }
                if listed.len() >= MAX_LISTED {
                    return Ok(listed);
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(listed),
            }
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

    fn end<'a>(
        &'a self,
        id: &'a SessionId,
        revocation: Option<&'a Revocation>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.end_now(id, revocation, unix_now()))
    }

    fn is_revoked<'a>(&'a self, origin_jti: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(self.is_revoked_now(origin_jti, now))
    }

    fn list_for_user<'a>(&'a self, user: &'a str) -> StoreFuture<'a, Vec<SessionSummary>> {
        Box::pin(self.list_now(user))
    }
}

/// A `CreateTable` request for a session table named `table` of the shape the module docs
/// give (on-demand billing); send it, wait for `ACTIVE`, then turn TTL on for [`TTL`].
pub fn create_session_table(client: &Client, table: &str) -> CreateTableFluentBuilder {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let attribute = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
    };
    let mut projection = Projection::builder().projection_type(ProjectionType::Include);
    for name in USER_INDEX_PROJECTS {
        projection = projection.non_key_attributes(name);
    }
    let index = GlobalSecondaryIndex::builder()
        .index_name(USER_INDEX)
        .set_key_schema(
            [
                key(USER, KeyType::Hash).ok(),
                key(CREATED_AT, KeyType::Range).ok(),
            ]
            .into_iter()
            .collect(),
        )
        .projection(projection.build())
        .build()
        .ok();
    client
        .create_table()
        .table_name(table)
        .set_key_schema(key(KEY, KeyType::Hash).ok().map(|k| vec![k]))
        .set_attribute_definitions(
            [
                attribute(KEY, ScalarAttributeType::S).ok(),
                attribute(USER, ScalarAttributeType::S).ok(),
                attribute(CREATED_AT, ScalarAttributeType::N).ok(),
            ]
            .into_iter()
            .collect(),
        )
        .set_global_secondary_indexes(index.map(|i| vec![i]))
        .billing_mode(BillingMode::PayPerRequest)
}

/// Index items per `Query` page when listing.
const LIST_PAGE: i32 = 100;

fn revocation_key(origin_jti: &str) -> String {
    format!("{REVOCATION_KEY_PREFIX}{origin_jti}")
}

/// The summary of an index item; `None` when its key is not a session id or a time is
/// missing.
fn summary_of(item: &Item) -> Option<SessionSummary> {
    let Some(AttributeValue::S(key)) = item.get(KEY) else {
        return None;
    };
    let id = SessionId::parse(key)?;
    let created_at = number(item, CREATED_AT)?;
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) if !v.is_empty() => Some(v.clone()),
        _ => None,
    };
    Some(SessionSummary {
        id,
        created_at,
        expires_at: number(item, TTL)?,
        last_used_at: number(item, LAST_USED_AT).unwrap_or(created_at),
        auth_method: text(AUTH_METHOD).unwrap_or_else(|| DEFAULT_AUTH_METHOD.to_string()),
        user_agent: text(USER_AGENT),
    })
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
    let text = |name: &str| match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(corrupt(&format!("{name} is not a string"))),
    };
    Ok(Session {
        id: id.clone(),
        tokens,
        created_at,
        expires_at,
        version,
        lease,
        extra,
        user: text(USER)?,
        user_agent: text(USER_AGENT)?,
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

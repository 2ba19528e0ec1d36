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
use super::record::{Revocation, Session, SessionSummary, is_valid_origin_jti};
use super::store::{
    LeaseOutcome, MAX_LISTED, Replaced, SessionReader, SessionStore, StoreError, StoreFuture,
};
use crate::aws::{AwsSettings, http_client};
use crate::config::ConfigError;
use crate::unix_now;

pub use super::table::DynamoOptions;
use super::table::{
    AUTH_METHOD, Attr, CREATED_AT, DATA, Item, LAST_USED_AT, LEASE_OWNER, LEASE_UNTIL, REVOKED_AT,
    TableSettings, USER_AGENT, VERSION, from_item, is_unavailable, live, revocation_holds,
    revocation_key, summary_of,
};
pub use super::table::{
    DEFAULT_TABLE, KEY, REVOCATION_KEY_PREFIX, TTL, USER, USER_INDEX, USER_INDEX_PROJECTS,
};

type SdkItem = HashMap<String, AttributeValue>;

/// The SDK's timeouts for `options`.
fn timeout_config(options: &DynamoOptions) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(options.operation_timeout)
        .operation_attempt_timeout(options.attempt_timeout.min(options.operation_timeout))
        .connect_timeout(options.connect_timeout)
        .build()
}

/// The SDK's retries for `options`.
fn retry_config(options: &DynamoOptions) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(options.max_attempts.max(1))
        .with_initial_backoff(options.initial_backoff)
        .with_max_backoff(options.max_backoff)
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
    client_from(TableSettings::aws(&get)?, &TableSettings::options(&get)?)
}

/// The SDK client for `aws` with the timeouts and retries of `options`.
fn client_from(aws: AwsSettings, options: &DynamoOptions) -> Result<Client, ConfigError> {
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(aws.region))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            aws.credentials.access_key_id,
            aws.credentials.secret_access_key,
            aws.credentials.session_token,
            None,
            "environment",
        ))
        .http_client(http_client("DYNAMODB_ENDPOINT")?)
        .timeout_config(timeout_config(options))
        .retry_config(retry_config(options));
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
            .timeout_config(timeout_config(options))
            .retry_config(retry_config(options))
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
        // The environment is read once; the client is built from what was read.
        let settings = TableSettings::from_lookup(&lookup)?;
        Ok(DynamoStore {
            client: client_from(settings.aws, &settings.options)?,
            table: settings.table,
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
        let mut item = SdkItem::new();
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
        Ok(out.item.is_some_and(|item| revocation_holds(&item, now)))
    }

    async fn list_now(&self, user: &str) -> Result<Vec<SessionSummary>, StoreError> {
        let mut listed = Vec::new();
        let mut start: Option<SdkItem> = None;
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

impl SessionReader for DynamoStore {
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

impl SessionStore for DynamoStore {
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

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The SDK's attribute map, read as the table's items are ([`super::table`]).
impl Item for SdkItem {
    fn attr(&self, name: &str) -> Option<Attr<'_>> {
        Some(match self.get(name)? {
            AttributeValue::S(v) => Attr::S(v),
            AttributeValue::N(v) => Attr::N(v),
            _ => Attr::Other,
        })
    }
}

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
            if is_unavailable(status, code) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use std::time::Duration;

    use super::super::table::number;
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
    fn sdk_attributes_read_as_the_table_reads_them() {
        let mut item = SdkItem::new();
        item.insert(KEY.into(), s("k"));
        item.insert(TTL.into(), n("12.5"));
        item.insert(DATA.into(), AttributeValue::Bool(true));
        assert_eq!(item.attr(KEY), Some(Attr::S("k")));
        assert_eq!(number(&item, TTL), Some(12));
        assert_eq!(item.attr(DATA), Some(Attr::Other));
        assert_eq!(item.attr(VERSION), None);
    }
}

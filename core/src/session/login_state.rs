//! Pending hosted-UI logins: what `{P}/login` keeps server-side until `{P}/callback`.
//!
//! A [`LoginState`] binds the OAuth `state` to the PKCE verifier, the origin the login
//! started from and the path to return to. It is single use: [`LoginStateStore::take`]
//! removes it as it reads it, so a replayed callback finds nothing. It lives
//! [`LOGIN_STATE_TTL_SECS`] (10 minutes); expiry is checked on every read.
//!
//! - [`MemoryLoginStates`]: in process (bounded; expired entries are dropped on write).
//! - [`DynamoLoginStates`]: the session table, item `session_id = "login#<state>"` with
//!   `data` (JSON: `verifier`, `origin`, `return_to`), `created_at` and `ttl`; taken by one
//!   conditional `DeleteItem` with `ReturnValues=ALL_OLD`, so two callbacks with the same
//!   state cannot both get it. Session ids never contain `#`, so the two kinds of item never
//!   meet.
//!
//! Neither the verifier nor the state appears in an error or a `Debug` form.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use super::store::{StoreError, StoreFuture};
use crate::unix_now;

/// How long a pending login lives, in seconds.
pub const LOGIN_STATE_TTL_SECS: i64 = 600;

/// The prefix of a pending login's key in the session table.
pub const LOGIN_KEY_PREFIX: &str = "login#";

/// The most pending logins a [`MemoryLoginStates`] holds (further logins are refused
/// until some expire or are used).
pub const MAX_MEMORY_LOGIN_STATES: usize = 100_000;

/// One pending login.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginState {
    /// The OAuth `state` (43 base64url characters).
    pub state: String,
    /// The PKCE verifier sent with the code exchange.
    pub code_verifier: String,
    /// The origin the login started from (`https://app.example.com`).
    pub origin: String,
    /// The path to return to on that origin (`/`, `/admin?tab=1`).
    pub return_to: String,
    /// When it lapses, Unix seconds.
    pub expires_at: i64,
}

impl fmt::Debug for LoginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginState")
            .field("state", &"<redacted>")
            .field("code_verifier", &"<redacted>")
            .field("origin", &self.origin)
            .field("return_to", &self.return_to)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Whether `state` has the shape [`crate::oauth::random_state`] makes (43 base64url
/// characters); anything else is never looked up.
pub fn is_valid_state(state: &str) -> bool {
    state.len() == 43
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where pending logins live.
pub trait LoginStateStore: Send + Sync {
    /// `memory` or `dynamodb`, for logs.
    fn backend(&self) -> &'static str;

    /// Stores a pending login (its `state` must satisfy [`is_valid_state`]).
    fn put<'a>(&'a self, login: &'a LoginState) -> StoreFuture<'a, ()>;

    /// Removes and returns the live pending login named `state`; `None` when there is none
    /// (never made, already taken, expired, or `state` is malformed).
    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<LoginState>>;
}

/// Pending logins in process.
#[derive(Default)]
pub struct MemoryLoginStates {
    map: Mutex<HashMap<String, LoginState>>,
}

impl fmt::Debug for MemoryLoginStates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLoginStates").finish_non_exhaustive()
    }
}

impl MemoryLoginStates {
    /// An empty store.
    pub fn new() -> MemoryLoginStates {
        MemoryLoginStates::default()
    }

    fn put_now(&self, login: &LoginState, now: i64) -> Result<(), StoreError> {
        if !is_valid_state(&login.state) {
            return Err(StoreError::Other("malformed login state".into()));
        }
        let mut map = self
            .map
            .lock()
            .map_err(|_| StoreError::Other("login state lock poisoned".into()))?;
        if map.len() >= MAX_MEMORY_LOGIN_STATES {
            map.retain(|_, l| l.expires_at > now);
        }
        if map.len() >= MAX_MEMORY_LOGIN_STATES {
            return Err(StoreError::Unavailable("too many pending logins".into()));
        }
        map.insert(login.state.clone(), login.clone());
        Ok(())
    }

    fn take_now(&self, state: &str, now: i64) -> Result<Option<LoginState>, StoreError> {
        if !is_valid_state(state) {
            return Ok(None);
        }
        let mut map = self
            .map
            .lock()
            .map_err(|_| StoreError::Other("login state lock poisoned".into()))?;
        Ok(map.remove(state).filter(|l| l.expires_at > now))
    }
}

impl LoginStateStore for MemoryLoginStates {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn put<'a>(&'a self, login: &'a LoginState) -> StoreFuture<'a, ()> {
        let result = self.put_now(login, unix_now());
        Box::pin(async move { result })
    }

    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<LoginState>> {
        let result = self.take_now(state, unix_now());
        Box::pin(async move { result })
    }
}

/// Pending logins in the session table (see the module docs).
#[derive(Clone)]
pub struct DynamoLoginStates {
    client: Client,
    table: String,
}

impl fmt::Debug for DynamoLoginStates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoLoginStates")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct LoginData {
    verifier: String,
    origin: String,
    return_to: String,
}

const KEY: &str = "session_id";
const DATA: &str = "data";
const CREATED_AT: &str = "created_at";
const TTL: &str = "ttl";

impl DynamoLoginStates {
    /// Pending logins in `table` through `client` (use the session store's, see
    /// [`super::DynamoStore::client`], to share its timeouts and retries).
    pub fn new(client: Client, table: impl Into<String>) -> DynamoLoginStates {
        DynamoLoginStates {
            client,
            table: table.into(),
        }
    }

    /// Over the same table and client as `store`.
    pub fn for_store(store: &super::DynamoStore) -> DynamoLoginStates {
        DynamoLoginStates::new(store.client().clone(), store.table())
    }

    async fn put_now(&self, login: &LoginState, now: i64) -> Result<(), StoreError> {
        if !is_valid_state(&login.state) {
            return Err(StoreError::Other("malformed login state".into()));
        }
        let data = serde_json::to_string(&LoginData {
            verifier: login.code_verifier.clone(),
            origin: login.origin.clone(),
            return_to: login.return_to.clone(),
        })
        .map_err(|e| StoreError::Other(format!("login state: {e}")))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(format!("{LOGIN_KEY_PREFIX}{}", login.state)))
            .item(DATA, s(data))
            .item(CREATED_AT, n(now))
            .item(TTL, n(login.expires_at))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await
            .map_err(|e| classify("PutItem", &e))?;
        Ok(())
    }

    async fn take_now(&self, state: &str, now: i64) -> Result<Option<LoginState>, StoreError> {
        if !is_valid_state(state) {
            return Ok(None);
        }
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(format!("{LOGIN_KEY_PREFIX}{state}")))
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let item = match result {
            Ok(out) => out.attributes,
            Err(SdkError::ServiceError(se))
                if se.err().code() == Some("ConditionalCheckFailedException") =>
            {
                None
            }
            Err(e) => return Err(classify("DeleteItem", &e)),
        };
        let Some(item) = item else {
            return Ok(None);
        };
        let expires_at = match item.get(TTL) {
            Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
            _ => None,
        };
        let Some(expires_at) = expires_at.filter(|t| *t > now) else {
            return Ok(None);
        };
        let Some(AttributeValue::S(data)) = item.get(DATA) else {
            return Err(StoreError::Corrupt("login state without data".into()));
        };
        let data: LoginData = serde_json::from_str(data)
            .map_err(|_| StoreError::Corrupt("login state data is not the expected JSON".into()))?;
        if data.verifier.is_empty() || data.origin.is_empty() {
            return Err(StoreError::Corrupt(
                "login state without a verifier or origin".into(),
            ));
        }
        Ok(Some(LoginState {
            state: state.to_string(),
            code_verifier: data.verifier,
            origin: data.origin,
            return_to: data.return_to,
            expires_at,
        }))
    }
}

impl LoginStateStore for DynamoLoginStates {
    fn backend(&self) -> &'static str {
        "dynamodb"
    }

    fn put<'a>(&'a self, login: &'a LoginState) -> StoreFuture<'a, ()> {
        Box::pin(self.put_now(login, unix_now()))
    }

    fn take<'a>(&'a self, state: &'a str) -> StoreFuture<'a, Option<LoginState>> {
        Box::pin(self.take_now(state, unix_now()))
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Throttling, timeouts, connection failures and 5xx are [`StoreError::Unavailable`];
/// anything else [`StoreError::Other`].
fn classify<E>(op: &'static str, err: &SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = format!("{op}: {}", DisplayErrorContext(err));
    match err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or_default();
            if status >= 500
                || status == 429
                || code.contains("Throttl")
                || code == "ProvisionedThroughputExceededException"
                || code == "RequestLimitExceeded"
            {
                StoreError::Unavailable(message)
            } else {
                StoreError::Other(message)
            }
        }
        _ => StoreError::Unavailable(message),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn login(state: &str, expires_at: i64) -> LoginState {
        LoginState {
            state: state.into(),
            code_verifier: "v".repeat(43),
            origin: "http://localhost:3000".into(),
            return_to: "/".into(),
            expires_at,
        }
    }

    #[test]
    fn memory_is_single_use_and_expires() {
        let m = MemoryLoginStates::new();
        let a = "a".repeat(43);
        m.put_now(&login(&a, 100), 10).unwrap();
        assert_eq!(m.take_now(&a, 10).unwrap(), Some(login(&a, 100)));
        assert_eq!(m.take_now(&a, 10).unwrap(), None);
        m.put_now(&login(&a, 100), 10).unwrap();
        assert_eq!(m.take_now(&a, 100).unwrap(), None);
        assert_eq!(m.take_now("short", 10).unwrap(), None);
        assert!(m.put_now(&login("bad#state", 100), 10).is_err());
    }

    #[test]
    fn debug_hides_secrets() {
        let l = login(&"s".repeat(43), 1);
        let d = format!("{l:?}");
        assert!(!d.contains("vvvv") && !d.contains("ssss"), "{d}");
    }
}

//! Pending hosted-UI logins: what `{P}/login` keeps server-side until `{P}/callback`.
//!
//! A [`LoginState`] binds the OAuth `state` to the PKCE verifier, the origin the login
//! started from and the path to return to. It is single use: [`LoginStateStore::take`]
//! removes it as it reads it, so a replayed callback finds nothing. It lives
//! [`LOGIN_STATE_TTL_SECS`] (10 minutes); expiry is checked on every read.
//!
//! - [`MemoryLoginStates`]: in process, bounded in count ([`MAX_MEMORY_LOGIN_STATES`]) and
//!   in bytes ([`MAX_MEMORY_LOGIN_BYTES`]); when full, the oldest pending logins give way
//!   to new ones, so a flood of `{P}/login` requests costs a bounded amount of memory and
//!   can delay, never block, the logins that follow it.
//! - [`DynamoLoginStates`]: the session table, item `session_id = "login#<state>"` with
//!   `data` (JSON: `verifier`, `origin`, `return_to`), `created_at` and `ttl`; taken by one
//!   conditional `DeleteItem` with `ReturnValues=ALL_OLD`, so two callbacks with the same
//!   state cannot both get it. Session ids never contain `#`, so the two kinds of item never
//!   meet.
//!
//! Neither the verifier nor the state appears in an error or a `Debug` form.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;

use super::store::{StoreError, StoreFuture};
use crate::unix_now;

/// How long a pending login lives, in seconds.
pub const LOGIN_STATE_TTL_SECS: i64 = 600;

/// The prefix of a pending login's key in the session table.
pub const LOGIN_KEY_PREFIX: &str = "login#";

/// The most pending logins a [`MemoryLoginStates`] holds; beyond it the oldest give way.
pub const MAX_MEMORY_LOGIN_STATES: usize = 100_000;

/// The most bytes of pending logins a [`MemoryLoginStates`] holds (as
/// [`LoginState::footprint`] counts them); beyond it the oldest give way.
pub const MAX_MEMORY_LOGIN_BYTES: usize = 32 * 1024 * 1024;

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

impl LoginState {
    /// What the login costs to keep in memory, in bytes: its text plus a fixed allowance
    /// for the map entry and the strings' headers.
    pub fn footprint(&self) -> usize {
        const OVERHEAD: usize = 256;
        // The state is held twice: as the map's key and in the entry.
        2 * self.state.len()
            + self.code_verifier.len()
            + self.origin.len()
            + self.return_to.len()
            + OVERHEAD
    }
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

/// Pending logins in process (see the module docs).
pub struct MemoryLoginStates {
    inner: Mutex<Pending>,
    max_count: usize,
    max_bytes: usize,
}

/// The pending logins and their order of arrival.
#[derive(Default)]
struct Pending {
    /// By state: the login and its arrival number.
    by_state: HashMap<String, (LoginState, u64)>,
    /// By arrival number: the state (the oldest first).
    by_arrival: BTreeMap<u64, String>,
    next: u64,
    bytes: usize,
}

impl Pending {
    fn remove(&mut self, state: &str) -> Option<LoginState> {
        let (login, arrival) = self.by_state.remove(state)?;
        self.by_arrival.remove(&arrival);
        self.bytes = self.bytes.saturating_sub(login.footprint());
        Some(login)
    }

    /// Drops the oldest pending login; `false` when there is none.
    fn evict_oldest(&mut self) -> bool {
        match self.by_arrival.pop_first() {
            Some((_, state)) => {
                if let Some((login, _)) = self.by_state.remove(&state) {
                    self.bytes = self.bytes.saturating_sub(login.footprint());
                }
                true
            }
            None => false,
        }
    }
}

impl Default for MemoryLoginStates {
    fn default() -> Self {
        MemoryLoginStates::with_limits(MAX_MEMORY_LOGIN_STATES, MAX_MEMORY_LOGIN_BYTES)
    }
}

impl fmt::Debug for MemoryLoginStates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLoginStates").finish_non_exhaustive()
    }
}

impl MemoryLoginStates {
    /// An empty store with the default limits.
    pub fn new() -> MemoryLoginStates {
        MemoryLoginStates::default()
    }

    /// An empty store holding at most `max_count` pending logins and `max_bytes` of them.
    pub fn with_limits(max_count: usize, max_bytes: usize) -> MemoryLoginStates {
        MemoryLoginStates {
            inner: Mutex::new(Pending::default()),
            max_count: max_count.max(1),
            max_bytes,
        }
    }

    /// How many pending logins are held, and their bytes (as [`LoginState::footprint`]
    /// counts them).
    pub fn usage(&self) -> (usize, usize) {
        self.inner
            .lock()
            .map(|p| (p.by_state.len(), p.bytes))
            .unwrap_or_default()
    }

    fn put_now(&self, login: &LoginState, now: i64) -> Result<(), StoreError> {
        if !is_valid_state(&login.state) {
            return Err(StoreError::Other("malformed login state".into()));
        }
        let size = login.footprint();
        if size > self.max_bytes {
            return Err(StoreError::Other("pending login too large".into()));
        }
        let mut p = self
            .inner
            .lock()
            .map_err(|_| StoreError::Other("login state lock poisoned".into()))?;
        p.remove(&login.state);
        // Expired logins go first (they arrived first: every login lives as long), then
        // the oldest live ones, until the new one fits.
        while let Some(oldest) = p.by_arrival.first_key_value().map(|(_, s)| s.clone()) {
            let expired = p
                .by_state
                .get(&oldest)
                .is_none_or(|(l, _)| l.expires_at <= now);
            let full = p.by_state.len() >= self.max_count || p.bytes + size > self.max_bytes;
            if !expired && !full {
                break;
            }
            p.evict_oldest();
        }
        let arrival = p.next;
        p.next += 1;
        p.by_arrival.insert(arrival, login.state.clone());
        p.by_state
            .insert(login.state.clone(), (login.clone(), arrival));
        p.bytes += size;
        Ok(())
    }

    fn take_now(&self, state: &str, now: i64) -> Result<Option<LoginState>, StoreError> {
        if !is_valid_state(state) {
            return Ok(None);
        }
        let mut p = self
            .inner
            .lock()
            .map_err(|_| StoreError::Other("login state lock poisoned".into()))?;
        Ok(p.remove(state).filter(|l| l.expires_at > now))
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

#[cfg(feature = "dynamodb")]
pub use dynamo::DynamoLoginStates;

/// Pending logins on DynamoDB (the `dynamodb` feature).
#[cfg(feature = "dynamodb")]
mod dynamo {
    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
    use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
    use serde::{Deserialize, Serialize};

    use super::super::table::{CREATED_AT, DATA, KEY, TTL};
    use super::{LOGIN_KEY_PREFIX, LoginState, LoginStateStore, is_valid_state};
    use crate::session::store::{StoreError, StoreFuture};
    use crate::unix_now;
    use std::fmt;

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

    impl DynamoLoginStates {
        /// Pending logins in `table` through `client` (use the session store's, see
        /// [`super::super::DynamoStore::client`], to share its timeouts and retries).
        pub fn new(client: Client, table: impl Into<String>) -> DynamoLoginStates {
            DynamoLoginStates {
                client,
                table: table.into(),
            }
        }

        /// Over the same table and client as `store`.
        pub fn for_store(store: &super::super::DynamoStore) -> DynamoLoginStates {
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
            let data: LoginData = serde_json::from_str(data).map_err(|_| {
                StoreError::Corrupt("login state data is not the expected JSON".into())
            })?;
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

    /// The review's attack on the memory store: 100,000 unauthenticated `/login`
    /// requests filled it and every later login was refused ("too many pending logins")
    /// for 10 minutes. Now the oldest give way: the store stays within its limits, the
    /// flood's own oldest entries are gone, and the login after the flood works.
    #[test]
    fn a_flood_of_logins_is_bounded_and_never_blocks_the_next_login() {
        let m = MemoryLoginStates::with_limits(1000, 64 * 1024);
        let state = |i: usize| format!("{i:0>43}");
        let big = |i: usize| LoginState {
            return_to: format!("/{}", "x".repeat(511)),
            ..login(&state(i), 1000)
        };
        for i in 0..5000 {
            m.put_now(&big(i), 10).unwrap();
            let (count, bytes) = m.usage();
            assert!(count <= 1000 && bytes <= 64 * 1024, "{i}: {count} {bytes}");
        }
        let (count, _) = m.usage();
        assert!(count > 50, "the byte budget holds many: {count}");
        let victim = "v".repeat(43);
        m.put_now(&login(&victim, 1000), 10).unwrap();
        assert_eq!(
            m.take_now(&state(0), 10).unwrap(),
            None,
            "the oldest gave way"
        );
        assert!(
            m.take_now(&state(4999), 10).unwrap().is_some(),
            "the newest kept"
        );
        assert!(
            m.take_now(&victim, 10).unwrap().is_some(),
            "the next login works"
        );
        // Taking frees what it held.
        let (count, bytes) = m.usage();
        m.take_now(&state(4998), 10).unwrap();
        let (count2, bytes2) = m.usage();
        assert_eq!((count2, bytes2 + big(4998).footprint()), (count - 1, bytes));

        // By count: 3 fit, the fourth pushes the first out.
        let m = MemoryLoginStates::with_limits(3, usize::MAX);
        for i in 0..4 {
            m.put_now(&login(&state(i), 1000), 10).unwrap();
        }
        assert_eq!(m.usage().0, 3);
        assert_eq!(m.take_now(&state(0), 10).unwrap(), None);
        assert!(m.take_now(&state(1), 10).unwrap().is_some());
        // Expired ones go before live ones, whatever room is left.
        let m = MemoryLoginStates::with_limits(100, usize::MAX);
        m.put_now(&login(&state(0), 20), 10).unwrap();
        m.put_now(&login(&state(1), 1000), 30).unwrap();
        assert_eq!(m.usage().0, 1, "the expired one was dropped on write");
        // One login larger than the whole budget is refused, never stored.
        let m = MemoryLoginStates::with_limits(100, 300);
        assert!(m.put_now(&big(1), 10).is_err());
        assert_eq!(m.usage(), (0, 0));
        // The same state twice is one entry.
        let m = MemoryLoginStates::with_limits(100, usize::MAX);
        m.put_now(&login(&state(7), 1000), 10).unwrap();
        m.put_now(&login(&state(7), 1000), 10).unwrap();
        assert_eq!(m.usage().0, 1);
    }

    #[test]
    fn debug_hides_secrets() {
        let l = login(&"s".repeat(43), 1);
        let d = format!("{l:?}");
        assert!(!d.contains("vvvv") && !d.contains("ssss"), "{d}");
    }
}

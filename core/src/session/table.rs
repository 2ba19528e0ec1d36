//! The session table, whichever client reads it: its attributes and keys, its
//! configuration (`DYNAMODB_TABLE`, `DYNAMODB_ENDPOINT`, `DYNAMODB_TIMEOUT_MS` and the AWS
//! settings), and the one reading of its items into records. `DynamoStore` (the SDK's
//! client, every operation) and [`DynamoReader`](super::DynamoReader) (signed `GetItem`s
//! alone) both use it.
//! The item's shape is described in the module docs of `session::dynamodb` (the
//! `dynamodb` feature).

use std::time::Duration;

use super::id::SessionId;
use super::record::{DEFAULT_AUTH_METHOD, Lease, Session, SessionSummary, parse_data};
use super::store::StoreError;
use crate::aws::AwsSettings;
use crate::config::ConfigError;

/// The table's partition key.
pub const KEY: &str = "session_id";
/// The table's TTL attribute.
pub const TTL: &str = "ttl";
pub(crate) const DATA: &str = "data";
pub(crate) const CREATED_AT: &str = "created_at";
pub(crate) const VERSION: &str = "version";
pub(crate) const LEASE_OWNER: &str = "lease_owner";
pub(crate) const LEASE_UNTIL: &str = "lease_until";
/// The attribute sessions are listed by (the [`USER_INDEX`]'s partition key).
pub const USER: &str = "user";
/// The global secondary index over [`USER`] and `created_at`.
pub const USER_INDEX: &str = "user_sessions";
/// The attributes the [`USER_INDEX`] projects beside its keys and the table's.
pub const USER_INDEX_PROJECTS: [&str; 4] = [TTL, LAST_USED_AT, AUTH_METHOD, USER_AGENT];
pub(crate) const USER_AGENT: &str = "user_agent";
pub(crate) const AUTH_METHOD: &str = "auth_method";
pub(crate) const LAST_USED_AT: &str = "last_used_at";
#[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
pub(crate) const REVOKED_AT: &str = "revoked_at";
/// The key prefix of revocation records (`rev#<origin_jti>`); a session id never has `#`.
pub const REVOCATION_KEY_PREFIX: &str = "rev#";

/// The default table name.
pub const DEFAULT_TABLE: &str = "l42_sessions";

/// Throttling and server-side trouble: worth a retry later, so the session is kept.
const UNAVAILABLE_CODES: [&str; 6] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

/// Whether an error answer (HTTP `status`, error type `code`) is the table being
/// unavailable for now ([`StoreError::Unavailable`], worth a retry), not a refusal.
pub(crate) fn is_unavailable(status: u16, code: &str) -> bool {
    status >= 500 || status == 429 || UNAVAILABLE_CODES.contains(&code)
}

/// The key of the revocation record of `origin_jti`.
pub(crate) fn revocation_key(origin_jti: &str) -> String {
    format!("{REVOCATION_KEY_PREFIX}{origin_jti}")
}

/// Timeouts and retries applied to every call to the session table.
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

/// Everything a client of the session table is built from, read through a lookup.
#[derive(Debug, Clone)]
pub(crate) struct TableSettings {
    pub(crate) table: String,
    pub(crate) aws: AwsSettings,
    pub(crate) options: DynamoOptions,
}

impl TableSettings {
    /// `DYNAMODB_TABLE` (default [`DEFAULT_TABLE`]), `DYNAMODB_ENDPOINT` (https, plain
    /// http only on loopback), the region and credentials of the environment, and
    /// `DYNAMODB_TIMEOUT_MS` (1 to 30000) as the operation timeout.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<TableSettings, ConfigError> {
        let get = |name: &str| crate::config::var(&lookup, name);
        let table = get("DYNAMODB_TABLE").unwrap_or_else(|| DEFAULT_TABLE.to_string());
        check_table_name(&table)?;
        Ok(TableSettings {
            table,
            aws: Self::aws(&get)?,
            options: Self::options(&get)?,
        })
    }

    /// The AWS settings alone (a client without a table of its own).
    pub(crate) fn aws(get: &dyn Fn(&str) -> Option<String>) -> Result<AwsSettings, ConfigError> {
        AwsSettings::from_lookup(get, "DYNAMODB_ENDPOINT", "DynamoDB")
    }

    /// The options alone (`DYNAMODB_TIMEOUT_MS`).
    pub(crate) fn options(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DynamoOptions, ConfigError> {
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
        Ok(options)
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

/// One attribute of an item, as far as l42 reads it: a string, a number (its decimal
/// text), or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr<'a> {
    S(&'a str),
    N(&'a str),
    Other,
}

/// An item as a client returned it (the SDK's attribute map, or DynamoDB JSON).
pub(crate) trait Item {
    /// The attribute `name`, if present.
    fn attr(&self, name: &str) -> Option<Attr<'_>>;
}

/// An integer attribute; a decimal (written by other tools) is cut to whole seconds.
pub(crate) fn number(item: &dyn Item, name: &str) -> Option<i64> {
    let Attr::N(v) = item.attr(name)? else {
        return None;
    };
    v.parse::<i64>().ok().or_else(|| {
        v.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && f.abs() < 1e15)
            .map(|f| f.trunc() as i64)
    })
}

/// The record in `item` unless it has expired at `now` (an expired item is `None` even
/// when the rest of it does not parse).
pub(crate) fn live(
    id: &SessionId,
    item: &dyn Item,
    now: i64,
) -> Result<Option<Session>, StoreError> {
    if number(item, TTL).is_some_and(|ttl| ttl <= now) {
        return Ok(None);
    }
    let session = from_item(id, item)?;
    Ok((!session.is_expired(now)).then_some(session))
}

/// Whether a revocation record read at `now` still holds. A record without a readable
/// `ttl` was written by something else: it still says "ended", and is kept until someone
/// removes it.
pub(crate) fn revocation_holds(item: &dyn Item, now: i64) -> bool {
    number(item, TTL).is_none_or(|until| until > now)
}

/// The record under `id` in `item`; anything that does not parse is
/// [`StoreError::Corrupt`] (fail closed).
pub(crate) fn from_item(id: &SessionId, item: &dyn Item) -> Result<Session, StoreError> {
    let corrupt = |m: &str| StoreError::Corrupt(format!("session {}: {m}", id.short()));
    if item.attr(KEY) != Some(Attr::S(id.as_str())) {
        return Err(corrupt("session_id does not match the key"));
    }
    let Some(Attr::S(data)) = item.attr(DATA) else {
        return Err(corrupt("data is missing or not a string"));
    };
    let (tokens, extra) = parse_data(data).map_err(|m| corrupt(&m))?;
    let created_at = number(item, CREATED_AT).ok_or_else(|| corrupt("bad created_at"))?;
    let expires_at = number(item, TTL).ok_or_else(|| corrupt("bad ttl"))?;
    let version = match item.attr(VERSION) {
        None => 0,
        Some(Attr::N(v)) => v.parse().map_err(|_| corrupt("bad version"))?,
        Some(_) => return Err(corrupt("bad version")),
    };
    let lease = match (item.attr(LEASE_OWNER), item.attr(LEASE_UNTIL)) {
        (None, None) => None,
        (Some(Attr::S(owner)), Some(_)) => Some(Lease {
            owner: owner.to_string(),
            until: number(item, LEASE_UNTIL).ok_or_else(|| corrupt("bad lease_until"))?,
        }),
        _ => return Err(corrupt("half a lease")),
    };
    let text = |name: &str| match item.attr(name) {
        None => Ok(None),
        Some(Attr::S(v)) => Ok(Some(v.to_string())),
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

/// The summary of an index item; `None` when its key is not a session id or a time is
/// missing.
#[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
pub(crate) fn summary_of(item: &dyn Item) -> Option<SessionSummary> {
    let Some(Attr::S(key)) = item.attr(KEY) else {
        return None;
    };
    let id = SessionId::parse(key)?;
    let created_at = number(item, CREATED_AT)?;
    let text = |name: &str| match item.attr(name) {
        Some(Attr::S(v)) if !v.is_empty() => Some(v.to_string()),
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

/// DynamoDB JSON (`{"S": "…"}`, `{"N": "…"}`, …), as the JSON protocol returns items.
impl Item for serde_json::Map<String, serde_json::Value> {
    fn attr(&self, name: &str) -> Option<Attr<'_>> {
        let value = self.get(name)?.as_object()?;
        let one = |tag: &str| value.get(tag).and_then(serde_json::Value::as_str);
        Some(match (value.len(), one("S"), one("N")) {
            (1, Some(s), None) => Attr::S(s),
            (1, None, Some(n)) => Attr::N(n),
            _ => Attr::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn item(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn items_parse_leniently_but_fail_closed() {
        let id = SessionId::from_bytes(&[5; 32]);
        let data = r#"{"tokens":{"access_token":"a","id_token":"i"}}"#;
        let base = || {
            item(json!({
                KEY: {"S": id.as_str()},
                DATA: {"S": data},
                CREATED_AT: {"N": "1700000000.25"},
                TTL: {"N": "4000000000"},
            }))
        };
        let session = from_item(&id, &base()).unwrap();
        assert_eq!(session.version, 0);
        assert_eq!(session.created_at, 1_700_000_000);
        assert_eq!(session.lease, None);

        let broken = [
            (DATA, Some(json!({"N": "1"}))),
            (DATA, None),
            (DATA, Some(json!({"S": data, "N": "1"}))),
            (DATA, Some(json!("not an attribute value"))),
            (TTL, None),
            (TTL, Some(json!({"S": "soon"}))),
            (TTL, Some(json!({"N": "soon"}))),
            (VERSION, Some(json!({"N": "-1"}))),
            (LEASE_OWNER, Some(json!({"S": "half"}))),
            (KEY, Some(json!({"S": "another"}))),
            (USER, Some(json!({"N": "7"}))),
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
        let mut expired = base();
        expired.insert(TTL.into(), json!({"N": "10"}));
        expired.insert(DATA.into(), json!({"S": "junk"}));
        assert_eq!(live(&id, &expired, 100).unwrap(), None);
    }

    #[test]
    fn revocation_records_hold_until_their_ttl() {
        let at = |ttl: serde_json::Value| item(json!({KEY: {"S": "rev#x"}, TTL: ttl}));
        assert!(revocation_holds(&at(json!({"N": "200"})), 100));
        assert!(!revocation_holds(&at(json!({"N": "100"})), 100));
        // Unreadable: still "ended".
        assert!(revocation_holds(&at(json!({"S": "later"})), 100));
        assert!(revocation_holds(&item(json!({})), 100));
    }

    #[test]
    fn table_configuration_names_the_variable() {
        let lookup = crate::test_lookup(&[("DYNAMODB_ENDPOINT", "http://127.0.0.1:1")]);
        let s = TableSettings::from_lookup(&lookup).unwrap();
        assert_eq!(s.table, DEFAULT_TABLE);
        assert_eq!(s.options, DynamoOptions::default());
        for (var, val) in [
            ("DYNAMODB_TABLE", "x"),
            ("DYNAMODB_TABLE", "bad name"),
            ("DYNAMODB_TIMEOUT_MS", "0"),
            ("DYNAMODB_TIMEOUT_MS", "31000"),
            ("DYNAMODB_ENDPOINT", "http://dynamo.example.com"),
        ] {
            let lookup =
                crate::test_lookup(&[("DYNAMODB_ENDPOINT", "http://127.0.0.1:1"), (var, val)]);
            let e = TableSettings::from_lookup(&lookup).unwrap_err();
            assert_eq!(e.var, var, "{val}");
        }
    }
}

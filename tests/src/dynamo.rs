//! DynamoDB on the emulator: a client, and a fresh session table per test.
//!
//! The table has the shape of l42's session table
//! ([`l42_core::session::dynamodb::create_session_table`]: partition key `session_id`,
//! the user index, on-demand billing) and TTL on the number attribute `ttl`. Each [`fresh_table`] has a name no
//! other test (in this process or another) uses, so tests run in parallel without seeing
//! each other's items. Tables are not deleted: the emulator keeps them in memory only for
//! the one `scripts/test-all` run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use aws_sdk_dynamodb::types::{AttributeValue, TableStatus, TimeToLiveSpecification};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use crate::{Error, moto_endpoint};

/// The partition key of the session table.
pub const SESSION_KEY: &str = "session_id";

/// The TTL attribute of the session table (seconds since the epoch, a number).
pub const TTL_ATTRIBUTE: &str = "ttl";

/// The region the test client signs for (the emulator accepts any).
pub const REGION: &str = "us-east-1";

/// How many times [`fresh_table`] asks for the table's status before giving up.
const ACTIVE_POLLS: u32 = 100;

/// A DynamoDB client for `endpoint`, with static test credentials, region [`REGION`], the
/// latest behaviour version and the SDK's current HTTP stack (hyper 1, rustls with aws-lc).
pub fn client(endpoint: &str) -> Client {
    let http: SharedHttpClient = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(test_credentials())
        .endpoint_url(endpoint)
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// The static credentials every test client signs with (the emulator accepts any).
pub(crate) fn test_credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "l42-tests")
}

/// A client for the running emulator ([`moto_endpoint`]).
pub fn moto_client() -> Result<Client, Error> {
    Ok(client(&moto_endpoint()?))
}

/// A table made for one test, with the client that made it.
#[derive(Debug, Clone)]
pub struct TestTable {
    client: Client,
    name: String,
}

impl TestTable {
    /// The client (cheap to clone).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Creates a new, empty session table on the emulator, enables TTL on [`TTL_ATTRIBUTE`] and
/// waits until the table is `ACTIVE`.
pub async fn fresh_table() -> Result<TestTable, Error> {
    let client = moto_client()?;
    let name = unique_name();
    create_session_table(&client, &name).await?;
    Ok(TestTable { client, name })
}

/// Creates table `name` with the session table's shape, enables TTL on [`TTL_ATTRIBUTE`]
/// and waits until the table is `ACTIVE`.
pub async fn create_session_table(client: &Client, name: &str) -> Result<(), Error> {
    l42_core::session::dynamodb::create_session_table(client, name)
        .send()
        .await
        .map_err(Error::dynamo("CreateTable"))?;
    wait_active(client, name).await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(|e| Error::Dynamo {
                    op: "UpdateTimeToLive",
                    message: e.to_string(),
                })?,
        )
        .send()
        .await
        .map_err(Error::dynamo("UpdateTimeToLive"))?;
    Ok(())
}

/// Polls `DescribeTable` until the table is `ACTIVE` (a bounded number of times).
async fn wait_active(client: &Client, name: &str) -> Result<(), Error> {
    let mut last = None;
    for _ in 0..ACTIVE_POLLS {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(Error::dynamo("DescribeTable"))?;
        last = out.table().and_then(|t| t.table_status()).cloned();
        if last == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Error::Dynamo {
        op: "DescribeTable",
        message: format!("table {name} is still {last:?} after {ACTIVE_POLLS} polls"),
    })
}

/// A table name no other test uses: process id, time and a counter.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "l42-test-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A string attribute value.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

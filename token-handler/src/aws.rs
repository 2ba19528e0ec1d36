//! AWS clients built from the [`Config`].
//!
//! The entity table's client (the session layer builds its own, see
//! [`crate::session::Sessions::from_config`]): region `AWS_REGION` (set by Lambda), the
//! credentials Lambda puts in the environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), `DYNAMODB_ENDPOINT` when set, and the
//! SDK's current HTTP stack (hyper 1, rustls with aws-lc).

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use crate::config::Config;

/// A DynamoDB client for `config`, or `None` when the environment holds no credentials.
pub fn dynamodb_client(config: &Config) -> Option<aws_sdk_dynamodb::Client> {
    let keys = config.aws_credentials.as_ref()?;
    let http: SharedHttpClient = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    let credentials = Credentials::new(
        keys.access_key_id.clone(),
        String::from_utf8_lossy(keys.secret_access_key.expose()).into_owned(),
        keys.session_token
            .as_ref()
            .map(|t| String::from_utf8_lossy(t.expose()).into_owned()),
        None,
        "environment",
    );
    let mut builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.aws_region.clone()))
        .credentials_provider(credentials)
        .http_client(http);
    if let Some(endpoint) = &config.dynamodb_endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    Some(aws_sdk_dynamodb::Client::from_conf(builder.build()))
}

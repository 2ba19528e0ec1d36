//! Secrets in moto's Secrets Manager, for the session secret's tests.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Region};

use crate::{Error, moto_endpoint};

/// A Secrets Manager client for the emulator.
pub fn client() -> Result<Client, Error> {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(crate::dynamo::REGION))
        .credentials_provider(crate::dynamo::test_credentials())
        .endpoint_url(moto_endpoint()?)
        .build();
    Ok(Client::from_conf(config))
}

/// A new secret (unique name) whose only version holds `value`; its ARN.
pub async fn create_secret(client: &Client, value: &str) -> Result<String, Error> {
    let suffix =
        l42_core::session::SessionId::generate().map_err(|e| Error::Secrets(e.to_string()))?;
    let fail =
        |e| Error::Secrets(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string());
    client
        .create_secret()
        .name(format!("l42-session-{}", suffix.as_str()))
        .secret_string(value)
        .send()
        .await
        .map_err(fail)?
        .arn
        .ok_or_else(|| Error::Secrets("CreateSecret answered without an ARN".into()))
}

/// Puts `value` as the secret's new `AWSCURRENT` version (the old one becomes
/// `AWSPREVIOUS`), as a rotation does.
pub async fn rotate_secret(client: &Client, arn: &str, value: &str) -> Result<(), Error> {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| {
            Error::Secrets(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
        })?;
    Ok(())
}

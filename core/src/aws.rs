//! What every AWS client of l42 shares: the region, the credentials and an optional local
//! endpoint read from the environment (no `aws-config`: nothing to discover, nothing to
//! load from disk), and one HTTP client trusting the bundled web roots.

use aws_sdk_dynamodb::config::{Credentials, Region, SharedHttpClient};
use base64::Engine as _;

use crate::config::{ConfigError, PoolId};

/// Region, credentials and endpoint for one AWS service's client.
#[derive(Debug, Clone)]
pub(crate) struct AwsSettings {
    pub(crate) region: Region,
    pub(crate) credentials: Credentials,
    pub(crate) endpoint: Option<String>,
}

impl AwsSettings {
    /// Reads the settings through `get` (values trimmed, empty ones absent):
    /// `endpoint_var` (an https URL, plain http only on loopback); the region from
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, `COGNITO_REGION`, the first pool of
    /// `COGNITO_USER_POOL_ID`, or `us-east-1` with an endpoint; the credentials from
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (Lambda sets them
    /// from the function's role), or dummy local ones with an endpoint. `service` names the
    /// service in messages.
    pub(crate) fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        endpoint_var: &'static str,
        service: &str,
    ) -> Result<AwsSettings, ConfigError> {
        let endpoint = get(endpoint_var)
            .map(|e| check_endpoint(endpoint_var, &e))
            .transpose()?;
        let pool_region = || {
            get("COGNITO_USER_POOL_ID").and_then(|pools| {
                let first = pools.split(',').next()?.trim().to_string();
                PoolId::parse(&first).ok().map(|p| p.region().to_string())
            })
        };
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .or_else(|| get("COGNITO_REGION"))
            .or_else(pool_region)
            .or_else(|| endpoint.as_ref().map(|_| "us-east-1".to_string()))
            .ok_or_else(|| ConfigError::new("AWS_REGION", "is required (Lambda sets it)"))?;
        if !crate::config::valid_region(&region) {
            return Err(ConfigError::new(
                "AWS_REGION",
                format!("`{region}` is not a region"),
            ));
        }
        let credentials = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => {
                Credentials::new(id, secret, get("AWS_SESSION_TOKEN"), None, "environment")
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "AWS_SECRET_ACCESS_KEY",
                    "is required with AWS_ACCESS_KEY_ID",
                ));
            }
            (None, _) if endpoint.is_some() => {
                Credentials::new("local", "local", None, None, "l42-local-endpoint")
            }
            (None, _) => {
                return Err(ConfigError::new(
                    "AWS_ACCESS_KEY_ID",
                    format!("is required for {service} (Lambda sets it from the function's role)"),
                ));
            }
        };
        Ok(AwsSettings {
            region: Region::new(region),
            credentials,
            endpoint,
        })
    }
}

/// An endpoint override: `https://…`, or plain `http` on loopback only
/// ([`crate::urls::service_url`]), without a trailing `/`.
fn check_endpoint(var: &'static str, e: &str) -> Result<String, ConfigError> {
    crate::urls::service_url(var, e, crate::urls::Tail::PathAndQuery)
        .map(|url| crate::urls::without_trailing_slash(&url))
}

/// The SDKs' HTTP client (hyper 1, rustls with aws-lc) trusting the bundled web roots, not
/// the system store: nothing to load from disk at start-up.
pub(crate) fn http_client(var: &'static str) -> Result<SharedHttpClient, ConfigError> {
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider};
    let mut pem = String::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    let tls = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(pem.into_bytes()))
        .build()
        .map_err(|e| ConfigError::new(var, format!("TLS set-up failed: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(rustls_provider::CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<AwsSettings, ConfigError> {
        let lookup = crate::test_lookup(vars);
        AwsSettings::from_lookup(&|k| lookup(k), "X_ENDPOINT", "X")
    }

    #[test]
    fn endpoints_are_https_or_loopback() {
        for ok in [
            "https://x.example.com",
            "http://127.0.0.1:5000",
            "http://localhost:1/",
            "http://[::1]:9",
        ] {
            let s = settings(&[("X_ENDPOINT", ok)]).unwrap();
            assert_eq!(s.endpoint.as_deref(), Some(ok.trim_end_matches('/')));
            assert_eq!(s.region.as_ref(), "us-east-1");
        }
        for bad in ["http://example.com", "https://", "ftp://x", "https://a b"] {
            let e = settings(&[("X_ENDPOINT", bad)]).unwrap_err();
            assert_eq!(e.var, "X_ENDPOINT", "{bad}");
        }
    }

    #[test]
    fn region_and_credentials() {
        let e = settings(&[]).unwrap_err();
        assert_eq!(e.var, "AWS_REGION");
        let e = settings(&[("AWS_REGION", "eu-west-1")]).unwrap_err();
        assert_eq!(e.var, "AWS_ACCESS_KEY_ID");
        assert!(e.message.contains("for X"), "{e}");
        let e = settings(&[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "a")]).unwrap_err();
        assert_eq!(e.var, "AWS_SECRET_ACCESS_KEY");
        let e = settings(&[
            ("AWS_REGION", "EU west"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "AWS_REGION");
        let s = settings(&[
            ("COGNITO_USER_POOL_ID", "ap-south-1_abc,eu-west-1_def"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
            ("AWS_SESSION_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(s.region.as_ref(), "ap-south-1");
        assert_eq!(s.credentials.session_token(), Some("t"));
    }
}

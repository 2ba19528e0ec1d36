//! What every AWS client of l42 shares: the region, the credentials and an optional local
//! endpoint read from the environment (no `aws-config`: nothing to discover, nothing to
//! load from disk); [`JsonCall`], one SigV4-signed request of an AWS JSON protocol over
//! the HTTP client l42 already has (Secrets Manager at start-up, the authorizer's
//! DynamoDB reads); and, with the `dynamodb` feature, the SDK's HTTP client trusting the
//! bundled web roots.

use std::time::SystemTime;

use crate::config::{ConfigError, PoolId};
pub(crate) use crate::sigv4::Credentials;

/// Region, credentials and endpoint for one AWS service's client.
#[derive(Debug, Clone)]
pub(crate) struct AwsSettings {
    pub(crate) region: String,
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
            (Some(id), Some(secret)) => Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: get("AWS_SESSION_TOKEN"),
            },
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "AWS_SECRET_ACCESS_KEY",
                    "is required with AWS_ACCESS_KEY_ID",
                ));
            }
            (None, _) if endpoint.is_some() => Credentials {
                access_key_id: "local".into(),
                secret_access_key: "local".into(),
                session_token: None,
            },
            (None, _) => {
                return Err(ConfigError::new(
                    "AWS_ACCESS_KEY_ID",
                    format!("is required for {service} (Lambda sets it from the function's role)"),
                ));
            }
        };
        Ok(AwsSettings {
            region,
            credentials,
            endpoint,
        })
    }
}

/// One AWS JSON-protocol service (`X-Amz-Target` names the operation), called with one
/// signed `POST` per operation.
#[derive(Debug, Clone)]
pub(crate) struct JsonService {
    /// The signing name and the endpoint's first label (`dynamodb`, `secretsmanager`).
    pub(crate) name: &'static str,
    /// The target prefix (`DynamoDB_20120810`, `secretsmanager`).
    pub(crate) target_prefix: &'static str,
    /// `application/x-amz-json-1.0` or `-1.1`.
    pub(crate) content_type: &'static str,
}

/// What a service answered to one [`JsonCall`].
#[derive(Debug)]
pub(crate) enum JsonAnswer {
    /// 2xx, with its JSON body.
    Ok(serde_json::Value),
    /// An error answer: the HTTP status, the error's type without its namespace
    /// (`ResourceNotFoundException`, …, or `HTTP <status>` when it names none) and its
    /// message.
    Error(u16, String, String),
}

/// Why a [`JsonCall`] got no answer: it could not be signed or sent, timed out, or the
/// answer was cut off or not JSON. The text says which.
#[derive(Debug)]
pub(crate) struct JsonFailure(pub(crate) String);

/// Signed JSON calls to one service with the settings and HTTP client given.
#[derive(Debug, Clone)]
pub(crate) struct JsonCall {
    pub(crate) http: reqwest::Client,
    pub(crate) aws: AwsSettings,
    pub(crate) service: JsonService,
}

impl JsonCall {
    /// The service's URL: the endpoint override, else the regional one.
    pub(crate) fn url(&self) -> String {
        match &self.aws.endpoint {
            Some(e) => format!("{e}/"),
            None => format!(
                "https://{}.{}.amazonaws.com/",
                self.service.name, self.aws.region
            ),
        }
    }

    /// Calls `operation` with `body`.
    pub(crate) async fn call(
        &self,
        operation: &str,
        body: &serde_json::Value,
    ) -> Result<JsonAnswer, JsonFailure> {
        let url = self.url();
        let body = body.to_string();
        let target = format!("{}.{operation}", self.service.target_prefix);
        let headers = [
            ("content-type", self.service.content_type),
            ("x-amz-target", target.as_str()),
        ];
        let parsed = reqwest::Url::parse(&url)
            .map_err(|e| JsonFailure(format!("cannot sign: the URL {url} is not valid ({e})")))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(JsonFailure(format!("cannot sign: {url} names no host"))),
        };
        let signed = crate::sigv4::sign(
            &crate::sigv4::Request {
                host: &host,
                headers: &headers,
                body: body.as_bytes(),
                region: &self.aws.region,
                service: self.service.name,
            },
            &self.aws.credentials,
            SystemTime::now(),
        );
        let mut request = self.http.post(&url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| {
            JsonFailure(if e.is_timeout() {
                "timed out".to_string()
            } else {
                format!("cannot reach {} ({e})", self.service.name)
            })
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| JsonFailure(format!("the answer was cut off ({e})")))?;
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|_| JsonFailure(format!("HTTP {status} with a body that is not JSON")))?;
        if status.is_success() {
            return Ok(JsonAnswer::Ok(json));
        }
        // `__type` may carry a namespace prefix (`com.amazonaws…#ResourceNotFoundException`).
        let code = json
            .get("__type")
            .and_then(serde_json::Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| format!("HTTP {status}"));
        let message = json
            .get("message")
            .or_else(|| json.get("Message"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no message")
            .to_string();
        Ok(JsonAnswer::Error(status.as_u16(), code, message))
    }
}

/// An endpoint override: `https://…`, or plain `http` on loopback only
/// ([`crate::urls::service_url`]), without a trailing `/`.
fn check_endpoint(var: &'static str, e: &str) -> Result<String, ConfigError> {
    crate::urls::service_url(var, e, crate::urls::Tail::PathAndQuery)
        .map(|url| crate::urls::without_trailing_slash(&url))
}

/// The SDKs' HTTP client (hyper 1, rustls with ring, as everywhere in l42) trusting the bundled web roots, not
/// the system store: nothing to load from disk at start-up.
#[cfg(feature = "dynamodb")]
pub(crate) fn http_client(
    var: &'static str,
) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, ConfigError> {
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider};
    use base64::Engine as _;
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
        .tls_provider(Provider::Rustls(rustls_provider::CryptoMode::Ring))
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
            assert_eq!(s.region, "us-east-1");
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
        assert_eq!(s.region, "ap-south-1");
        assert_eq!(s.credentials.session_token.as_deref(), Some("t"));
    }
}

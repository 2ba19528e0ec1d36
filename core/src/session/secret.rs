//! The session cookie's secret from AWS Secrets Manager, so that in production it never
//! sits in a function's environment.
//!
//! With `SESSION_SECRET_ARN` set, a binary calls [`SessionSecret::load`] once at start-up:
//! it reads the secret's `AWSCURRENT` version (the cookie key) and its `AWSPREVIOUS`
//! version when there is one (still accepted, so cookies issued before a rotation keep
//! working), and [`SessionSecret::lookup`] hands them to the configuration as
//! `SESSION_SECRET` and `SESSION_SECRET_PREVIOUS`. Rotating the secret in Secrets Manager
//! (a new `AWSCURRENT`, the old one moving to `AWSPREVIOUS`) takes effect as instances
//! start.
//!
//! | variable | meaning |
//! |---|---|
//! | `SESSION_SECRET_ARN` | the secret's ARN (or name); its `SecretString` is the key, at least 32 bytes |
//! | `SESSION_SECRET_PREVIOUS_ARN` | optional: another secret whose `AWSCURRENT` version is the previous key (instead of `AWSPREVIOUS` of the first), for a rotation by switching secrets |
//! | `SECRETS_MANAGER_ENDPOINT` | optional endpoint (moto): `https://…`, plain `http` only on loopback |
//! | `AWS_REGION`, `AWS_ACCESS_KEY_ID`, … | as for DynamoDB (Lambda sets them) |
//!
//! Setting `SESSION_SECRET_ARN` together with `SESSION_SECRET` or
//! `SESSION_SECRET_PREVIOUS` is a configuration error: one source of truth. The function
//! needs `secretsmanager:GetSecretValue` on that secret only.

use std::time::Duration;

use crate::aws::{AwsSettings, JsonAnswer, JsonCall, JsonFailure, JsonService};
use crate::config::ConfigError;

const ARN_VAR: &str = "SESSION_SECRET_ARN";
const PREVIOUS_ARN_VAR: &str = "SESSION_SECRET_PREVIOUS_ARN";
const ENDPOINT_VAR: &str = "SECRETS_MANAGER_ENDPOINT";

/// The session secret read from Secrets Manager.
#[derive(Clone)]
pub struct SessionSecret {
    current: String,
    previous: Option<String>,
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSecret")
            .field("current", &"<redacted>")
            .field("previous", &self.previous.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl SessionSecret {
    /// Reads `SESSION_SECRET_ARN` and the rest from the process environment.
    pub async fn load_from_env() -> Result<Option<SessionSecret>, ConfigError> {
        Self::load(|name| std::env::var(name).ok()).await
    }

    /// [`load_from_env`](Self::load_from_env) for a binary's `main` before its async
    /// runtime exists: with neither `SESSION_SECRET_ARN` nor `SESSION_SECRET_PREVIOUS_ARN`
    /// it returns `None` at once; otherwise it runs the calls on a short-lived runtime of
    /// its own. Inside a runtime it refuses (use the async form there).
    pub fn load_from_env_blocking() -> Result<Option<SessionSecret>, ConfigError> {
        // Neither variable: nothing to read. (With only the previous one set, `load`
        // refuses it, as the async form does.)
        if std::env::var_os(ARN_VAR).is_none() && std::env::var_os(PREVIOUS_ARN_VAR).is_none() {
            return Ok(None);
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(ConfigError::new(
                ARN_VAR,
                "load_from_env_blocking called inside an async runtime",
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConfigError::new(ARN_VAR, format!("no runtime to read it: {e}")))?;
        runtime.block_on(Self::load_from_env())
    }

    /// What a service binary hands its configuration: the process environment, with
    /// `SESSION_SECRET` and `SESSION_SECRET_PREVIOUS` read from Secrets Manager when
    /// `SESSION_SECRET_ARN` is set ([`load_from_env`](Self::load_from_env) and
    /// [`environment`](Self::environment)).
    ///
    /// # Errors
    /// A [`ConfigError`] naming `SESSION_SECRET_ARN` when the secret cannot be read.
    pub async fn load_environment() -> Result<impl Fn(&str) -> Option<String>, ConfigError> {
        Ok(Self::environment(Self::load_from_env().await?))
    }

    /// The process environment, with `SESSION_SECRET` and `SESSION_SECRET_PREVIOUS`
    /// answered from `secret` when there is one: what a binary hands its configuration.
    pub fn environment(secret: Option<SessionSecret>) -> impl Fn(&str) -> Option<String> {
        move |name| match &secret {
            Some(s) => s.lookup(|n| std::env::var(n).ok())(name),
            None => std::env::var(name).ok(),
        }
    }

    /// `None` when `SESSION_SECRET_ARN` is not set (the secret then comes from
    /// `SESSION_SECRET`); otherwise the secret's current and previous versions, or an error
    /// naming `SESSION_SECRET_ARN` when they cannot be read.
    pub async fn load(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<SessionSecret>, ConfigError> {
        let get = |name: &str| crate::config::var(&lookup, name);
        let Some(arn) = get(ARN_VAR) else {
            if get(PREVIOUS_ARN_VAR).is_some() {
                return Err(ConfigError::new(
                    PREVIOUS_ARN_VAR,
                    "is set without SESSION_SECRET_ARN",
                ));
            }
            return Ok(None);
        };
        for other in ["SESSION_SECRET", "SESSION_SECRET_PREVIOUS"] {
            if get(other).is_some() {
                return Err(ConfigError::new(
                    ARN_VAR,
                    format!("is set together with {other}: set only one of them"),
                ));
            }
        }
        let aws = AwsSettings::from_lookup(&get, ENDPOINT_VAR, "Secrets Manager")?;
        let http = crate::http::client(Duration::from_secs(5))
            .map_err(|e| ConfigError::new(ARN_VAR, format!("no HTTP client: {e}")))?;
        let client = Client(JsonCall {
            http,
            aws,
            service: JsonService {
                name: "secretsmanager",
                target_prefix: "secretsmanager",
                content_type: "application/x-amz-json-1.1",
            },
        });
        let current = fetch(&client, ARN_VAR, &arn, "AWSCURRENT").await?;
        let previous = match get(PREVIOUS_ARN_VAR) {
            Some(other) => Some(fetch(&client, PREVIOUS_ARN_VAR, &other, "AWSCURRENT").await?),
            None => fetch_previous(&client, &arn).await?,
        };
        Ok(Some(SessionSecret { current, previous }))
    }

    /// `lookup` with `SESSION_SECRET` and `SESSION_SECRET_PREVIOUS` answered from this
    /// secret, for the binaries' `Config::from_lookup`.
    pub fn lookup<'a>(
        &'a self,
        lookup: impl Fn(&str) -> Option<String> + 'a,
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| match name {
            "SESSION_SECRET" => Some(self.current.clone()),
            "SESSION_SECRET_PREVIOUS" => self.previous.clone(),
            other => lookup(other),
        }
    }
}

/// The `SecretString` of one version stage of the secret named by `var`.
async fn fetch(
    client: &Client,
    var: &'static str,
    arn: &str,
    stage: &str,
) -> Result<String, ConfigError> {
    fetch_stage(client, var, arn, stage)
        .await?
        .ok_or_else(|| ConfigError::new(var, format!("`{arn}` has no {stage} version")))
}

/// The `AWSPREVIOUS` version of the secret; `None` before its first rotation.
async fn fetch_previous(client: &Client, arn: &str) -> Result<Option<String>, ConfigError> {
    fetch_stage(client, ARN_VAR, arn, "AWSPREVIOUS").await
}

/// One version stage's `SecretString`; `None` when the secret has no such stage (only
/// asked of `AWSPREVIOUS`: a missing `AWSCURRENT` means a missing secret, an error).
async fn fetch_stage(
    client: &Client,
    var: &'static str,
    arn: &str,
    stage: &str,
) -> Result<Option<String>, ConfigError> {
    let failed = |why: String| {
        ConfigError::new(
            var,
            format!("GetSecretValue of `{arn}` ({stage}) failed: {why}"),
        )
    };
    match client.get_secret_value(arn, stage).await.map_err(failed)? {
        Answer::Value(Some(s)) if !s.is_empty() => Ok(Some(s)),
        Answer::Value(_) => Err(ConfigError::new(
            var,
            format!("`{arn}` ({stage}) has no SecretString (binary secrets are not used)"),
        )),
        // No such version stage (no rotation yet): nothing to accept besides the current.
        Answer::Error(code, _) if stage != "AWSCURRENT" && code == "ResourceNotFoundException" => {
            Ok(None)
        }
        Answer::Error(code, message) => Err(failed(format!("{code}: {message}"))),
    }
}

/// Secrets Manager's `GetSecretValue`, one signed JSON request ([`JsonCall`]: no second
/// SDK client for one call at start-up).
struct Client(JsonCall);

/// What Secrets Manager answered.
enum Answer {
    /// 200: the version's `SecretString`, if it has one.
    Value(Option<String>),
    /// An error answer: its type (`ResourceNotFoundException`, …) and message.
    Error(String, String),
}

impl Client {
    async fn get_secret_value(&self, secret_id: &str, stage: &str) -> Result<Answer, String> {
        let body = serde_json::json!({"SecretId": secret_id, "VersionStage": stage});
        match self.0.call("GetSecretValue", &body).await {
            Ok(JsonAnswer::Ok(json)) => Ok(Answer::Value(
                json.get("SecretString")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string),
            )),
            Ok(JsonAnswer::Error(_, code, message)) => Ok(Answer::Error(code, message)),
            Err(JsonFailure(why)) => Err(why),
        }
    }
}

//! Real Cognito user-pool tokens from moto's `cognito-idp`.
//!
//! Calls go over plain HTTP with the JSON 1.1 protocol
//! (`X-Amz-Target: AWSCognitoIdentityProviderService.<Op>`); moto routes them by that
//! header, so no signature is needed. Each [`MotoUserPool::create`] makes a new pool and an
//! app client that allows `USER_PASSWORD_AUTH`; [`MotoUserPool::sign_in`] returns the ID,
//! access and refresh tokens moto signs (RS256, `kid` `dummy`, issuer in the real AWS form
//! `https://cognito-idp.<region>.amazonaws.com/<poolId>`; only the JWKS is local, at
//! [`MotoUserPool::jwks_url`]).

use serde_json::{Value, json};

use crate::{Error, moto_endpoint};

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService";

/// A user pool and app client on the emulator.
#[derive(Debug, Clone)]
pub struct MotoUserPool {
    endpoint: String,
    http: reqwest::Client,
    pool_id: String,
    client_id: String,
}

/// The tokens of one sign-in.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The ID token (`token_use: "id"`, app client in `aud`).
    pub id_token: String,
    /// The access token (`token_use: "access"`, app client in `client_id`).
    pub access_token: String,
    /// The refresh token, when moto returns one.
    pub refresh_token: Option<String>,
}

impl MotoUserPool {
    /// Creates a pool named `name` and an app client allowing `USER_PASSWORD_AUTH` and
    /// `REFRESH_TOKEN_AUTH`, on the running emulator.
    pub async fn create(name: &str) -> Result<MotoUserPool, Error> {
        let endpoint = moto_endpoint()?;
        let http = l42_core::http::client_builder()
            .and_then(|b| b.build().map_err(|e| e.to_string()))
            .map_err(|message| Error::Cognito {
                op: "HTTP client".into(),
                message,
            })?;
        let pool = call(
            &http,
            &endpoint,
            "CreateUserPool",
            json!({ "PoolName": name }),
        )
        .await?;
        let pool_id = str_at(&pool, "/UserPool/Id", "CreateUserPool")?;
        let client = call(
            &http,
            &endpoint,
            "CreateUserPoolClient",
            json!({
                "UserPoolId": pool_id,
                "ClientName": format!("{name}-client"),
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            }),
        )
        .await?;
        let client_id = str_at(&client, "/UserPoolClient/ClientId", "CreateUserPoolClient")?;
        Ok(MotoUserPool {
            endpoint,
            http,
            pool_id,
            client_id,
        })
    }

    /// The pool id, `<region>_<id>`.
    pub fn pool_id(&self) -> &str {
        &self.pool_id
    }

    /// The app client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The pool's JWKS on the emulator: `<endpoint>/<poolId>/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        format!("{}/{}/.well-known/jwks.json", self.endpoint, self.pool_id)
    }

    /// Fetches the pool's JWKS document.
    pub async fn jwks_json(&self) -> Result<String, Error> {
        let err = |message: String| Error::Cognito {
            op: "GET jwks.json".into(),
            message,
        };
        let resp = self
            .http
            .get(self.jwks_url())
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| err(e.to_string()))?;
        if !status.is_success() {
            return Err(err(format!("{status}: {body}")));
        }
        Ok(body)
    }

    /// Creates a confirmed user with a permanent `password`, an optional `email`
    /// attribute, and membership in `groups` (each group is created when missing).
    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
        groups: &[&str],
    ) -> Result<(), Error> {
        let attributes: Vec<Value> = email
            .map(|e| json!({ "Name": "email", "Value": e }))
            .into_iter()
            .collect();
        self.call(
            "AdminCreateUser",
            json!({
                "UserPoolId": self.pool_id,
                "Username": username,
                "UserAttributes": attributes,
                "MessageAction": "SUPPRESS",
            }),
        )
        .await?;
        self.call(
            "AdminSetUserPassword",
            json!({
                "UserPoolId": self.pool_id,
                "Username": username,
                "Password": password,
                "Permanent": true,
            }),
        )
        .await?;
        for group in groups {
            let exists = self
                .call(
                    "GetGroup",
                    json!({ "UserPoolId": self.pool_id, "GroupName": group }),
                )
                .await
                .is_ok();
            if !exists {
                self.call(
                    "CreateGroup",
                    json!({ "UserPoolId": self.pool_id, "GroupName": group }),
                )
                .await?;
            }
            self.call(
                "AdminAddUserToGroup",
                json!({ "UserPoolId": self.pool_id, "Username": username, "GroupName": group }),
            )
            .await?;
        }
        Ok(())
    }

    /// Signs `username` in with `USER_PASSWORD_AUTH` (`InitiateAuth`).
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Tokens, Error> {
        let out = self
            .call(
                "InitiateAuth",
                json!({
                    "ClientId": self.client_id,
                    "AuthFlow": "USER_PASSWORD_AUTH",
                    "AuthParameters": { "USERNAME": username, "PASSWORD": password },
                }),
            )
            .await?;
        Ok(Tokens {
            id_token: str_at(&out, "/AuthenticationResult/IdToken", "InitiateAuth")?,
            access_token: str_at(&out, "/AuthenticationResult/AccessToken", "InitiateAuth")?,
            refresh_token: out
                .pointer("/AuthenticationResult/RefreshToken")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// Any other `cognito-idp` operation: `op` is the name after the target prefix
    /// (`AdminGetUser`), `body` its JSON input; returns the JSON output.
    pub async fn call(&self, op: &str, body: Value) -> Result<Value, Error> {
        call(&self.http, &self.endpoint, op, body).await
    }
}

async fn call(
    http: &reqwest::Client,
    endpoint: &str,
    op: &str,
    body: Value,
) -> Result<Value, Error> {
    let err = |message: String| Error::Cognito {
        op: op.to_string(),
        message,
    };
    let resp = http
        .post(format!("{endpoint}/"))
        .header("X-Amz-Target", format!("{TARGET_PREFIX}.{op}"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| err(e.to_string()))?;
    if !status.is_success() {
        return Err(err(format!("{status}: {text}")));
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| err(format!("answer is not JSON ({e}): {text}")))
}

fn str_at(v: &Value, pointer: &str, op: &str) -> Result<String, Error> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::Cognito {
            op: op.to_string(),
            message: format!("answer has no string at {pointer}: {v}"),
        })
}

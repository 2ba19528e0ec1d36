//! The one error type of the support code.

use std::fmt;

use thiserror::Error;

/// What went wrong while setting up or talking to a real part. Its `Debug` form is its
/// message, so `unwrap()` and a test returning `Result` both print something readable.
#[derive(Error)]
pub enum Error {
    /// `L42_MOTO_ENDPOINT` is not set: the test runs outside `scripts/test-all`.
    #[error(
        "AWS emulator (moto_server) not running: run scripts/test-all, which starts moto_server \
         (or start it by hand and export {var}=http://127.0.0.1:<port>, see README.md)"
    )]
    NotRunning {
        /// The variable that was missing.
        var: &'static str,
    },
    /// An environment variable holds something unusable.
    #[error("{var}=`{value}`: {message}")]
    BadEnv {
        /// The variable.
        var: &'static str,
        /// The value it holds, as read.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// A DynamoDB call failed.
    #[error("DynamoDB {op}: {message}")]
    Dynamo {
        /// The operation, e.g. `CreateTable`.
        op: &'static str,
        /// The SDK's error with its causes.
        message: String,
    },
    /// The dev identity provider could not start or answer.
    #[error("dev identity provider: {0}")]
    Idp(String),
    /// A call to moto's Secrets Manager failed.
    #[error("Secrets Manager: {0}")]
    Secrets(String),
    /// A call to moto's `cognito-idp` failed.
    #[error("cognito-idp {op}: {message}")]
    Cognito {
        /// The operation, e.g. `InitiateAuth`.
        op: String,
        /// Status and body of the answer, or the transport error.
        message: String,
    },
}

impl Error {
    /// A mapper for `map_err` that keeps the SDK error's whole cause chain:
    /// `.send().await.map_err(Error::dynamo("PutItem"))?`.
    pub fn dynamo<E>(op: &'static str) -> impl FnOnce(E) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |e| Error::Dynamo {
            op,
            message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

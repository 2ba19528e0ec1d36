//! The crate's error type.

use thiserror::Error;

use crate::DirectoryError;

/// Why the dev identity provider could not start or could not do what was asked.
#[derive(Debug, Error)]
pub enum IdpError {
    /// The configuration is unusable (bad pool id, bad issuer, zero lifetime...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The users file (or a programmatic directory) is invalid.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// A key could not be generated or a token not signed.
    #[error(transparent)]
    Signing(#[from] l42_core::SigningError),
    /// No user has this username.
    #[error("unknown user `{0}`")]
    UnknownUser(String),
    /// No app client has this id.
    #[error("unknown app client `{0}`")]
    UnknownClient(String),
    /// A machine client (`client_credentials`) signs no user in.
    #[error("app client `{0}` uses the client_credentials grant only: it signs no user in")]
    MachineClient(String),
    /// Retiring the only signing key would leave nothing to sign with.
    #[error("cannot retire the only signing key (rotate first)")]
    LastKey,
    /// A browser-like sign-in ([`crate::browser`]) did not get where it should.
    #[error("sign-in: {0}")]
    SignIn(String),
    /// The system random generator failed.
    #[error("the random generator failed")]
    Random,
}

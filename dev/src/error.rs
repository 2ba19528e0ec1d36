//! The crate's error type.

use thiserror::Error;

/// Why the local stack could not start.
#[derive(Debug, Error)]
pub enum DevError {
    /// The identity provider could not start, or refused what it was asked.
    #[error(transparent)]
    Idp(#[from] l42_idp::IdpError),
    /// A setting is unusable: an `L42_DEV_*` variable, the demo policies, a part's
    /// configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The site's listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why binding failed.
        source: std::io::Error,
    },
}

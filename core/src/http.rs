//! The one way l42 builds an outgoing HTTP client (JWKS fetches, Cognito's OAuth
//! endpoints): the bundled web PKI roots only (no operating-system certificate store to
//! load at start-up), one timeout for connecting and for the whole request, no redirects.

use std::time::Duration;

/// A client as described in the module docs; the error is the builder's message.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    client_with(timeout, timeout)
}

/// [`client`] with a connect timeout of its own (shorter than the whole request's).
pub(crate) fn client_with(
    timeout: Duration,
    connect_timeout: Duration,
) -> Result<reqwest::Client, String> {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|c| reqwest::Certificate::from_der(c.as_ref()).ok());
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .tls_certs_only(roots)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

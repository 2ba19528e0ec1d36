//! The one way l42 builds an outgoing HTTP client (JWKS fetches, Cognito's OAuth
//! endpoints): the bundled web PKI roots only (no operating-system certificate store to
//! load at start-up), one timeout for connecting and for the whole request, no redirects;
//! TLS 1.2 and 1.3 by rustls with ring's cryptography (the one crypto library every l42
//! Lambda links).

use std::sync::Arc;
use std::time::Duration;

/// A client builder with l42's TLS set-up (rustls, ring, the bundled web PKI roots) and
/// nothing else: for the dev identity provider's browser and for tests, which choose their
/// own timeouts and redirect policy. `reqwest::Client::new()` would refuse to build, since
/// reqwest is used without a crypto provider of its own.
///
/// # Errors
/// None of the bundled roots could be read (never with an intact build).
pub fn client_builder() -> Result<reqwest::ClientBuilder, String> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls_config()?))
}

fn tls_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let (_, unparsable) =
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    if roots.is_empty() {
        return Err(format!(
            "none of the bundled web PKI roots could be read ({unparsable} refused)"
        ));
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// A client as described in the module docs; the error is the builder's message.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    client_with(timeout, timeout)
}

/// [`client`] with a connect timeout of its own (shorter than the whole request's).
pub(crate) fn client_with(
    timeout: Duration,
    connect_timeout: Duration,
) -> Result<reqwest::Client, String> {
    client_builder()?
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

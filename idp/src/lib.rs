//! # l42-idp
//!
//! The l42 dev identity provider, Cognito-compatible: Cognito's hosted OAuth endpoints
//! (`/oauth2/authorize` with a sign-in form, `/oauth2/token`, `/oauth2/revoke`,
//! `/oauth2/userInfo`, `/logout`, the discovery document and the JWKS) on loopback, with
//! users and app clients from a JSON file, RS256 tokens shaped like Cognito's,
//! refresh-token rotation with a grace period, and test controls: fault injection, key
//! rotation, a clock that tests can advance, call counters and direct minting. It depends
//! on `l42-core` only, so every other crate's tests can use it.
//!
//! Start it with [`Idp::start`]; the returned [`RunningIdp`] knows its URLs, mints
//! tokens directly, signs in as a browser would ([`RunningIdp::sign_in`]), injects
//! faults, rotates keys, advances the clock and stops the server when dropped (or on
//! [`RunningIdp::shutdown`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use l42_idp::{Idp, IdpConfig};
//!
//! let idp = Idp::start(IdpConfig::default(), "127.0.0.1:0").await?;
//! let tokens = idp.mint("admin", "l42-dev-public")?;
//!
//! let verifier = l42_core::Verifier::new(idp.verifier_builder("l42-dev-public").build()?)?;
//! let claims = verifier.verify(&tokens.access_token).await?;
//! assert_eq!(claims.groups, ["admin"]);
//! idp.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! As a process: `l42-dev idp --port 0 [--users FILE] [--issuer URL] [--pool-id ID]`
//! (the `l42-dev` binary) prints its base URL on standard output. See `idp/README.md`.

pub mod browser;
mod clock;
mod directory;
mod error;
mod faults;
mod html;
mod keys;
mod oauth;
mod routes;
mod state;
mod stats;
mod util;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use l42_core::{PoolId, VerifierConfig, VerifierConfigBuilder};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use clock::Clock;
pub use directory::{
    AppClient, Directory, DirectoryError, EXAMPLE_USERS_JSON, MAX_GRACE_SECONDS,
    MAX_USERS_FILE_BYTES, RefreshRotation, STANDARD_SCOPES, User, derived_sub,
};
pub use error::IdpError;
pub use faults::{FaultEndpoint, FaultKind, FaultSpec, Faults};
pub use stats::{ENDPOINTS, GRANTS, Stats};

use keys::KeyRing;
use state::{Settings, Shared, Store};
use stats::Counters;

/// The pool id used when none is given.
pub const DEFAULT_POOL_ID: &str = "us-east-1_DevPool1";

/// How the identity provider behaves. Build it with struct update syntax:
/// `IdpConfig { access_token_ttl: Duration::from_secs(5), ..IdpConfig::default() }`.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// The user pool id, `<region>_<id>`; the region is read from it.
    pub pool_id: String,
    /// The `iss` of every token; default `https://cognito-idp.<region>.amazonaws.com/<poolId>`,
    /// which is what `l42_core::Verifier` accepts. Another issuer suits other verifiers only.
    pub issuer: Option<String>,
    /// Lifetime of access tokens (also the `expires_in` of token responses). Default 1 h.
    pub access_token_ttl: Duration,
    /// Lifetime of id tokens. Default 1 h.
    pub id_token_ttl: Duration,
    /// Lifetime of a sign-in's refresh tokens (rotation keeps the original expiry).
    /// Default 30 days.
    pub refresh_token_ttl: Duration,
    /// Lifetime of authorization codes. Default 5 min (Cognito's).
    pub code_ttl: Duration,
    /// How long a `timeout` fault hangs before answering 500 (at most 10 min). Default 30 s.
    pub fault_delay: Duration,
    /// The largest request body accepted. Default 64 KiB.
    pub max_body_bytes: usize,
    /// Users, groups and app clients.
    pub directory: Directory,
}

impl Default for IdpConfig {
    fn default() -> IdpConfig {
        IdpConfig {
            pool_id: DEFAULT_POOL_ID.to_string(),
            issuer: None,
            access_token_ttl: Duration::from_secs(3600),
            id_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            code_ttl: Duration::from_secs(300),
            fault_delay: Duration::from_secs(30),
            max_body_bytes: 64 * 1024,
            directory: Directory::example(),
        }
    }
}

impl IdpConfig {
    fn settings(&self) -> Result<Settings, IdpError> {
        let pool = PoolId::parse(&self.pool_id).map_err(IdpError::Config)?;
        let issuer = match &self.issuer {
            None => pool.issuer(),
            Some(i) => {
                let i = i.trim().trim_end_matches('/');
                let rest = i
                    .strip_prefix("https://")
                    .or_else(|| i.strip_prefix("http://"));
                if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                    return Err(IdpError::Config(format!(
                        "issuer `{i}` must be an http(s) URL"
                    )));
                }
                i.to_string()
            }
        };
        let secs = |name: &str, d: Duration| -> Result<i64, IdpError> {
            match i64::try_from(d.as_secs()) {
                Ok(s) if s >= 1 => Ok(s),
                _ => Err(IdpError::Config(format!(
                    "{name} must be at least one second"
                ))),
            }
        };
        if self.max_body_bytes < 1024 {
            return Err(IdpError::Config(
                "max_body_bytes must be at least 1024".into(),
            ));
        }
        Ok(Settings {
            pool_id: pool.as_str().to_string(),
            issuer,
            access_ttl: secs("access_token_ttl", self.access_token_ttl)?,
            id_ttl: secs("id_token_ttl", self.id_token_ttl)?,
            refresh_ttl: secs("refresh_token_ttl", self.refresh_token_ttl)?,
            code_ttl: secs("code_ttl", self.code_ttl)?,
            fault_delay: self.fault_delay,
            max_body_bytes: self.max_body_bytes,
        })
    }
}

/// A token response, as `POST /oauth2/token` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// The access token.
    pub access_token: String,
    /// The id token (when the `openid` scope was granted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The refresh token (code exchange, or a refresh with rotation on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

/// Starts identity providers.
#[derive(Debug)]
pub struct Idp;

impl Idp {
    /// Binds `addr` (e.g. `127.0.0.1:0` for a free port) and serves in a background task of
    /// the current Tokio runtime.
    pub async fn start(config: IdpConfig, addr: &str) -> Result<RunningIdp, IdpError> {
        let settings = config.settings()?;
        let keys = KeyRing::new()?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| IdpError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| IdpError::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            settings,
            directory: config.directory,
            clock: Clock::new(),
            counters: Counters::default(),
            faults: Faults::default(),
            keys: RwLock::new(keys),
            store: Mutex::new(Store::default()),
            base_url: format!("http://{local}"),
            listen_ip: local.ip(),
            shutdown: stopped.clone(),
        });
        let app = routes::router(shared.clone());
        let mut signal = stopped;
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // Ends on `true` or when the sender is dropped.
                let _ = signal.wait_for(|stop| *stop).await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "dev identity provider stopped with an error");
            }
        });
        tracing::info!(url = %shared.base_url, issuer = %shared.settings.issuer, "dev identity provider listening");
        Ok(RunningIdp {
            shared,
            addr: local,
            stop,
            task: Some(task),
        })
    }
}

/// A running identity provider. Dropping it stops the server (gracefully, in the
/// background); [`shutdown`](RunningIdp::shutdown) stops it and waits.
#[derive(Debug)]
pub struct RunningIdp {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl RunningIdp {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `iss` of every token.
    pub fn issuer(&self) -> &str {
        &self.shared.settings.issuer
    }

    /// The user pool id.
    pub fn pool_id(&self) -> &str {
        &self.shared.settings.pool_id
    }

    /// `<base>/<poolId>/.well-known/jwks.json` (also served at `<base>/.well-known/jwks.json`).
    pub fn jwks_url(&self) -> String {
        self.shared.jwks_url()
    }

    /// The JWKS document as served now.
    pub fn jwks_json(&self) -> String {
        self.shared.keys().jwks().to_string()
    }

    /// A verifier configuration for `client_id` that fetches this provider's JWKS (build it
    /// with `.build()`, adjust `token_use` and the rest first if needed).
    pub fn verifier_builder(&self, client_id: &str) -> VerifierConfigBuilder {
        VerifierConfig::builder(self.pool_id(), client_id).jwks_url(&self.jwks_url())
    }

    /// The users, groups and app clients.
    pub fn directory(&self) -> &Directory {
        &self.shared.directory
    }

    /// The call counters now.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Sets every counter to zero.
    pub fn reset_stats(&self) {
        self.shared.counters.reset();
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The clock (advance it to expire codes, refresh tokens and grace periods).
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The `kid` that signs new tokens.
    pub fn current_kid(&self) -> String {
        self.shared
            .keys()
            .current()
            .map(|k| k.signing.kid().to_string())
            .unwrap_or_default()
    }

    /// Every published `kid`, oldest first.
    pub fn kids(&self) -> Vec<String> {
        self.shared.keys().kids()
    }

    /// Adds a new signing key: published at once, signs every new token. Returns its `kid`.
    pub fn rotate_keys(&self) -> Result<String, IdpError> {
        let kid = self.shared.keys_mut().rotate()?;
        tracing::info!(kid = %kid, "signing key rotated");
        Ok(kid)
    }

    /// Removes the oldest key from the JWKS; tokens it signed stop verifying. Returns its
    /// `kid`; [`IdpError::LastKey`] when only one key is left.
    pub fn retire_old_key(&self) -> Result<String, IdpError> {
        let kid = self.shared.keys_mut().retire_oldest()?;
        tracing::info!(kid = %kid, "signing key retired");
        Ok(kid)
    }

    /// Signs `username` in at `client_id` (every scope the client allows) and returns the
    /// tokens a code exchange would: access, id (with `openid`) and a refresh token that
    /// works at `/oauth2/token` and `/oauth2/revoke`.
    pub fn mint(&self, username: &str, client_id: &str) -> Result<Tokens, IdpError> {
        self.shared.mint(username, client_id)
    }

    /// Signs in as `username` as a browser would, with the password the directory holds
    /// for them: opens `authorize_url` (an `/oauth2/authorize` URL of this provider, as
    /// a token handler's `/login` redirects to), submits the form, and returns the
    /// `Location` the provider redirects to (the client's callback with `code` and
    /// `state`).
    ///
    /// # Errors
    /// [`IdpError::UnknownUser`] for a user the directory does not hold;
    /// [`IdpError::SignIn`] when the form is not shown or the sign-in does not end in a
    /// redirect (a refused client or redirect URI, an injected fault).
    pub async fn sign_in(&self, authorize_url: &str, username: &str) -> Result<String, IdpError> {
        let password = self
            .directory()
            .user(username)
            .map(|u| u.password.clone())
            .ok_or_else(|| IdpError::UnknownUser(username.to_string()))?;
        let answer = browser::submit_sign_in(authorize_url, username, &password).await?;
        let status = answer.status();
        let location = answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match location {
            Some(location) if status == reqwest::StatusCode::FOUND => Ok(location),
            _ => {
                let text = answer.text().await.unwrap_or_default();
                Err(IdpError::SignIn(format!(
                    "the sign-in as `{username}` answered {status}, not a redirect: {}",
                    browser::excerpt(&text)
                )))
            }
        }
    }

    /// Signs arbitrary claims with the current key (for hostile or unusual tokens).
    pub fn sign_claims(&self, claims: &serde_json::Value) -> Result<String, IdpError> {
        self.shared.sign(claims)
    }

    /// Stops the server and waits for it (at most 5 s, then the task is aborted).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningIdp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

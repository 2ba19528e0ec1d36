//! State shared by the handlers: settings, directory, keys, codes, refresh tokens.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use super::Tokens;
use super::clock::Clock;
use super::directory::{AppClient, Directory, User};
use super::faults::Faults;
use super::keys::{Key, KeyRing};
use super::stats::Counters;
use super::util::{random_token, random_uuid};
use crate::IdpError;

/// Checked settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) pool_id: String,
    pub(crate) issuer: String,
    pub(crate) access_ttl: i64,
    pub(crate) id_ttl: i64,
    pub(crate) refresh_ttl: i64,
    pub(crate) code_ttl: i64,
    pub(crate) fault_delay: Duration,
    pub(crate) max_body_bytes: usize,
}

/// One sign-in: what every token of its family is minted from.
#[derive(Debug, Clone)]
pub(crate) struct SignIn {
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_time: i64,
    /// Shared by every token of the sign-in; also names the refresh-token family.
    pub(crate) origin_jti: String,
    pub(crate) nonce: Option<String>,
}

/// A pending authorization code.
#[derive(Debug)]
pub(crate) struct CodeGrant {
    pub(crate) signin: SignIn,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: Option<String>,
    pub(crate) expires_at: i64,
}

/// Where a refresh token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshState {
    /// Usable.
    Active,
    /// Rotated out at `at`; usable once more within the client's grace period.
    Rotated { at: i64, grace_used: bool },
}

/// A refresh token's record.
#[derive(Debug)]
pub(crate) struct RefreshRecord {
    pub(crate) signin: Arc<SignIn>,
    /// The sign-in's original expiry, kept by every rotated descendant.
    pub(crate) expires_at: i64,
    pub(crate) state: RefreshState,
}

/// Codes, refresh tokens and revoked families.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) codes: HashMap<String, CodeGrant>,
    pub(crate) refresh: HashMap<String, RefreshRecord>,
    pub(crate) revoked: HashSet<String>,
}

impl Store {
    /// Adds a refresh token to the sign-in's family; drops expired records on the way.
    pub(crate) fn add_refresh(
        &mut self,
        signin: Arc<SignIn>,
        expires_at: i64,
        now: i64,
    ) -> Result<String, IdpError> {
        self.refresh.retain(|_, r| r.expires_at > now);
        let token = random_token()?;
        self.refresh.insert(
            token.clone(),
            RefreshRecord {
                signin,
                expires_at,
                state: RefreshState::Active,
            },
        );
        Ok(token)
    }

    /// Revokes a whole family: every refresh token of the sign-in, and its access tokens
    /// at `userInfo`.
    pub(crate) fn revoke_family(&mut self, origin_jti: &str) {
        self.revoked.insert(origin_jti.to_string());
        self.refresh
            .retain(|_, r| r.signin.origin_jti != origin_jti);
    }
}

/// Everything a handler needs.
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) directory: Directory,
    pub(crate) clock: Clock,
    pub(crate) counters: Counters,
    pub(crate) faults: Faults,
    pub(crate) keys: RwLock<KeyRing>,
    pub(crate) store: Mutex<Store>,
    pub(crate) base_url: String,
    /// The address the listener is bound to (a `Host` naming it is this machine).
    pub(crate) listen_ip: IpAddr,
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// Access and id token of one issue.
pub(crate) struct Issued {
    pub(crate) access_token: String,
    pub(crate) id_token: Option<String>,
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn keys_mut(&self) -> RwLockWriteGuard<'_, KeyRing> {
        self.keys.write().unwrap_or_else(|e| e.into_inner())
    }

    fn signing_key(&self) -> Result<Arc<Key>, IdpError> {
        self.keys().current().ok_or(IdpError::LastKey)
    }

    /// A new sign-in of `user` at `client` now.
    pub(crate) fn sign_in(
        &self,
        user: &User,
        client: &AppClient,
        scopes: Vec<String>,
        nonce: Option<String>,
    ) -> Result<SignIn, IdpError> {
        Ok(SignIn {
            username: user.username.clone(),
            client_id: client.client_id.clone(),
            scopes,
            auth_time: self.clock.now(),
            origin_jti: random_uuid()?,
            nonce,
        })
    }

    /// Signs arbitrary claims with the current key.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, IdpError> {
        Ok(self.signing_key()?.signing.sign_json(claims)?)
    }

    /// Mints the access token and, when `openid` was granted, the id token of `signin`.
    /// `with_nonce` puts the sign-in's nonce in the id token (code exchange only).
    pub(crate) fn issue(&self, signin: &SignIn, with_nonce: bool) -> Result<Issued, IdpError> {
        let user = self
            .directory
            .user(&signin.username)
            .ok_or_else(|| IdpError::UnknownUser(signin.username.clone()))?;
        let now = self.clock.now();
        let s = &self.settings;
        let mut access = json!({
            "sub": user.sub,
            "iss": s.issuer,
            "client_id": signin.client_id,
            "origin_jti": signin.origin_jti,
            "event_id": random_uuid()?,
            "token_use": "access",
            "scope": signin.scopes.join(" "),
            "auth_time": signin.auth_time,
            "exp": now.saturating_add(s.access_ttl),
            "iat": now,
            "jti": random_uuid()?,
            "username": user.username,
            "version": 2,
        });
        if !user.groups.is_empty() {
            access["cognito:groups"] = json!(user.groups);
        }
        for (name, value) in &user.token_claims {
            access[name] = value.clone();
        }
        let access_token = self.sign(&access)?;
        let id_token = if signin.scopes.iter().any(|s| s == "openid") {
            let mut id = json!({
                "sub": user.sub,
                "iss": s.issuer,
                "cognito:username": user.username,
                "origin_jti": signin.origin_jti,
                "aud": signin.client_id,
                "event_id": random_uuid()?,
                "token_use": "id",
                "auth_time": signin.auth_time,
                "exp": now.saturating_add(s.id_ttl),
                "iat": now,
                "jti": random_uuid()?,
            });
            if !user.groups.is_empty() {
                id["cognito:groups"] = json!(user.groups);
            }
            if let Some(email) = &user.email {
                id["email"] = json!(email);
                id["email_verified"] = json!(user.email_verified);
            }
            for (name, value) in &user.custom {
                id[format!("custom:{name}")] = json!(value);
            }
            for (name, value) in &user.token_claims {
                id[name] = value.clone();
            }
            if with_nonce && let Some(n) = &signin.nonce {
                id["nonce"] = json!(n);
            }
            Some(self.sign(&id)?)
        } else {
            None
        };
        Ok(Issued {
            access_token,
            id_token,
        })
    }

    /// The token response of the client-credentials grant: an access token whose `sub`
    /// is the client id, with `scopes` and no `username` or groups, as Cognito issues it.
    pub(crate) fn client_tokens(
        &self,
        client: &AppClient,
        scopes: &[String],
    ) -> Result<Tokens, IdpError> {
        let now = self.clock.now();
        let s = &self.settings;
        let access = json!({
            "sub": client.client_id,
            "token_use": "access",
            "scope": scopes.join(" "),
            "auth_time": now,
            "iss": s.issuer,
            "exp": now.saturating_add(s.access_ttl),
            "iat": now,
            "version": 2,
            "jti": random_uuid()?,
            "client_id": client.client_id,
        });
        Ok(Tokens {
            access_token: self.sign(&access)?,
            id_token: None,
            refresh_token: None,
            token_type: "Bearer".into(),
            expires_in: s.access_ttl,
        })
    }

    /// A complete token response for a fresh sign-in (tokens plus a new refresh family).
    pub(crate) fn tokens_for(&self, signin: SignIn, with_nonce: bool) -> Result<Tokens, IdpError> {
        let issued = self.issue(&signin, with_nonce)?;
        let now = self.clock.now();
        let expires_at = signin.auth_time.saturating_add(self.settings.refresh_ttl);
        let refresh = self
            .store()
            .add_refresh(Arc::new(signin), expires_at, now)?;
        Ok(Tokens {
            access_token: issued.access_token,
            id_token: issued.id_token,
            refresh_token: Some(refresh),
            token_type: "Bearer".into(),
            expires_in: self.settings.access_ttl,
        })
    }

    /// Signs `username` in at `client_id` with every scope the client allows.
    pub(crate) fn mint(&self, username: &str, client_id: &str) -> Result<Tokens, IdpError> {
        let user = self
            .directory
            .user(username)
            .ok_or_else(|| IdpError::UnknownUser(username.to_string()))?;
        let client = self
            .directory
            .client(client_id)
            .ok_or_else(|| IdpError::UnknownClient(client_id.to_string()))?;
        if client.client_credentials {
            return Err(IdpError::MachineClient(client_id.to_string()));
        }
        let signin = self.sign_in(user, client, client.allowed_scopes.clone(), None)?;
        self.tokens_for(signin, false)
    }

    /// The JWKS URL under the pool path.
    pub(crate) fn jwks_url(&self) -> String {
        format!(
            "{}/{}/.well-known/jwks.json",
            self.base_url, self.settings.pool_id
        )
    }
}

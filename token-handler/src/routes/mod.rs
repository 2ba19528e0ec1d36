//! One file per endpoint.
//!
//! [`auth_routes`] lists the endpoints under `AUTH_PATH_PREFIX`; `/health` is mounted at
//! the root by [`crate::app::router`]. `/refresh` comes with the refresh coordinator and
//! is 404 until then.

use axum::Router;
use axum::routing::{delete, get, post};

use crate::app::AppState;

pub mod authorize;
pub mod callback;
pub mod health;
pub mod login;
pub mod logout;
pub mod me;
pub mod session;
pub mod sessions;
pub mod token;
pub mod validate_credential;

/// The endpoints under the prefix, relative to it (`/authorize`, ...).
pub fn auth_routes() -> Router<AppState> {
    Router::new()
        .route("/token", get(token::handler))
        .route("/session", post(session::handler))
        .route("/logout", post(logout::handler))
        .route("/sessions", get(sessions::list))
        .route("/sessions/{id}", delete(sessions::end))
        .route("/login", get(login::handler))
        .route("/callback", get(callback::handler))
        .route("/me", get(me::handler))
        .route("/authorize", post(authorize::handler))
        .route("/validate-credential", post(validate_credential::handler))
}

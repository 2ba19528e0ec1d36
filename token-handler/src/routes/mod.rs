//! One file per endpoint.
//!
//! [`auth_routes`] lists the endpoints under `AUTH_PATH_PREFIX`; `/health` is mounted at
//! the root by [`crate::app::router`]. The session endpoints (`/token`, `/session`,
//! `/refresh`, `/logout`, `/login`, `/callback`, `/me`) are added here, one file each,
//! when the session layer lands; until then those paths are 404.

use axum::Router;
use axum::routing::post;

use crate::app::AppState;

pub mod authorize;
pub mod health;
pub mod validate_credential;

/// The endpoints under the prefix, relative to it (`/authorize`, ...).
pub fn auth_routes() -> Router<AppState> {
    Router::new()
        .route("/authorize", post(authorize::handler))
        .route("/validate-credential", post(validate_credential::handler))
}

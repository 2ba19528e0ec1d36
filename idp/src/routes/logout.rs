//! `GET /logout?client_id=…&logout_uri=…`: redirects to `logout_uri` when it is exactly one
//! of the client's sign-out URLs; otherwise an error page. Without `logout_uri` but with
//! `redirect_uri` (and the other authorize parameters) it goes on to the sign-in form, as
//! Cognito's "sign out and sign in as another user" does.
//!
//! The provider keeps no browser session (every authorization shows the form), so there
//! is nothing else to clear.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::found;

use crate::html::error_page;
use crate::state::Shared;
use crate::util::Params;

pub(super) async fn logout(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    shared.counters.endpoint("logout");
    let raw = query.unwrap_or_default();
    let p = Params::parse(raw.as_bytes());
    let bad = |code: &str, msg: &str| error_page(StatusCode::BAD_REQUEST, code, msg);
    if let Some(name) = p.first_repeated() {
        return bad(
            "invalid_request",
            &format!("parameter `{name}` is repeated"),
        );
    }
    let Some(client_id) = p.get("client_id") else {
        return bad("invalid_request", "client_id is required");
    };
    let Some(client) = shared.directory.client(client_id) else {
        return bad("invalid_client", "unknown app client");
    };
    match (p.get("logout_uri"), p.get("redirect_uri")) {
        (Some(uri), _) if client.logout_urls.iter().any(|u| u == uri) => {
            tracing::info!(client_id = %client_id, "signed out");
            found(uri)
        }
        (Some(_), _) => bad(
            "redirect_mismatch",
            "logout_uri is not a sign-out URL of this app client",
        ),
        (None, Some(_)) => found(&format!("/oauth2/authorize?{raw}")),
        (None, None) => bad("invalid_request", "logout_uri is required"),
    }
}

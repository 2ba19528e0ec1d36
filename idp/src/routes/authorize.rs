//! `GET /oauth2/authorize` (and `GET /login`): the sign-in form; `POST /login` (and
//! `POST /oauth2/authorize`): check the credentials, then redirect with a code.
//!
//! Errors found before the redirect URI is known to be one of the client's callback URLs
//! are shown as an error page; later errors are redirected to it with `error=` (and
//! `state`), as OAuth does.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{body_or_error, fault_gate, found};
use crate::directory::AppClient;
use crate::faults::FaultEndpoint;
use crate::html::{error_page, login_form};
use crate::state::{CodeGrant, Shared};
use crate::util::{Params, random_uuid, secrets_equal, with_query};

/// The request parameters carried through the form, in order.
const CARRIED: [&str; 8] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
];

/// A valid authorization request.
struct AuthzRequest<'a> {
    client: &'a AppClient,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
    challenge: Option<String>,
    nonce: Option<String>,
    hidden: Vec<(&'static str, String)>,
}

/// Why an authorization request is refused.
enum Refusal {
    /// Before the redirect URI is trusted: an error page.
    Page(StatusCode, &'static str, String),
    /// After: a redirect with `error=`.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

impl Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Page(status, code, message) => error_page(status, code, &message),
            Refusal::Redirect {
                redirect_uri,
                error,
                description,
                state,
            } => {
                let mut pairs = vec![("error", error), ("error_description", &description)];
                if let Some(s) = &state {
                    pairs.push(("state", s));
                }
                found(&with_query(&redirect_uri, &pairs))
            }
        }
    }
}

fn is_pkce_value(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn validate<'a>(shared: &'a Shared, p: &Params) -> Result<AuthzRequest<'a>, Refusal> {
    let page = |code, msg: &str| Refusal::Page(StatusCode::BAD_REQUEST, code, msg.to_string());
    if p.is_repeated("client_id") || p.is_repeated("redirect_uri") {
        return Err(page(
            "invalid_request",
            "client_id and redirect_uri must be sent once",
        ));
    }
    let client_id = p
        .get("client_id")
        .ok_or_else(|| page("invalid_request", "client_id is required"))?;
    let client = shared
        .directory
        .client(client_id)
        .ok_or_else(|| page("invalid_client", "unknown app client"))?;
    if client.client_credentials {
        return Err(page(
            "unauthorized_client",
            "this app client uses the client_credentials grant only",
        ));
    }
    let redirect_uri = p
        .get("redirect_uri")
        .ok_or_else(|| page("redirect_mismatch", "redirect_uri is required"))?;
    if !client.callback_urls.iter().any(|u| u == redirect_uri) {
        return Err(page(
            "redirect_mismatch",
            "redirect_uri is not a callback URL of this app client",
        ));
    }
    let state = p.get("state").map(str::to_string);
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.to_string(),
        error,
        description: description.to_string(),
        state: state.clone(),
    };
    if let Some(name) = p.first_repeated() {
        return Err(refuse(
            "invalid_request",
            &format!("parameter `{name}` is repeated"),
        ));
    }
    match p.get("response_type") {
        None => return Err(refuse("invalid_request", "response_type is required")),
        Some("code") => {}
        Some("token") => {
            return Err(refuse(
                "unauthorized_client",
                "the implicit grant is not enabled for this app client",
            ));
        }
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "response_type must be code",
            ));
        }
    }
    let challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) if client.require_pkce => {
            return Err(refuse(
                "invalid_request",
                "this app client requires PKCE (code_challenge with code_challenge_method=S256)",
            ));
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method is required with code_challenge",
            ));
        }
        (None, Some(_)) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge is required with code_challenge_method",
            ));
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
        (Some(c), Some(_)) => {
            if c.len() != 43 || !is_pkce_value(c) {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge must be the 43-character base64url SHA-256 of the verifier",
                ));
            }
            Some(c.to_string())
        }
    };
    let scopes = client
        .grant_scopes(p.get("scope"))
        .map_err(|why| refuse("invalid_scope", &why))?;
    let hidden = CARRIED
        .iter()
        .filter_map(|&k| p.get(k).map(|v| (k, v.to_string())))
        .collect();
    Ok(AuthzRequest {
        client,
        redirect_uri: redirect_uri.to_string(),
        state,
        scopes,
        challenge,
        nonce: p.get("nonce").map(str::to_string),
        hidden,
    })
}

/// `GET /oauth2/authorize` and `GET /login`.
pub(super) async fn show_form(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    shared.counters.endpoint("authorize");
    if let Some(r) = fault_gate(&shared, FaultEndpoint::Authorize).await {
        return r;
    }
    let p = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    match validate(&shared, &p) {
        Ok(req) => login_form(&req.client.client_id, &req.hidden, "", None),
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /login` and `POST /oauth2/authorize`.
pub(super) async fn submit(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    shared.counters.endpoint("login");
    if let Some(r) = fault_gate(&shared, FaultEndpoint::Authorize).await {
        return r;
    }
    let body = match body_or_error(body) {
        Ok(b) => b,
        Err(e) => return error_page(e.status, e.error, &e.description),
    };
    let p = Params::parse(&body);
    let req = match validate(&shared, &p) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let username = p.get("username").unwrap_or("");
    let password = p.get("password").unwrap_or("");
    let client_id = &req.client.client_id;
    if username.is_empty() || password.is_empty() {
        return login_form(
            client_id,
            &req.hidden,
            username,
            Some("Enter your username and password."),
        );
    }
    let user = shared
        .directory
        .user(username)
        .filter(|u| secrets_equal(&u.password, password));
    let Some(user) = user else {
        tracing::info!(client_id = %client_id, "sign-in failed: incorrect username or password");
        return login_form(
            client_id,
            &req.hidden,
            username,
            Some("Incorrect username or password."),
        );
    };
    let signin = match shared.sign_in(user, req.client, req.scopes, req.nonce) {
        Ok(s) => s,
        Err(e) => return server_error_redirect(&req.redirect_uri, req.state, &e),
    };
    let code = match random_uuid() {
        Ok(c) => c,
        Err(e) => return server_error_redirect(&req.redirect_uri, req.state, &e),
    };
    let now = shared.clock.now();
    {
        let mut store = shared.store();
        store.codes.retain(|_, g| g.expires_at > now);
        store.codes.insert(
            code.clone(),
            CodeGrant {
                signin,
                redirect_uri: req.redirect_uri.clone(),
                challenge: req.challenge,
                expires_at: now.saturating_add(shared.settings.code_ttl),
            },
        );
    }
    tracing::info!(client_id = %client_id, username = %user.username, "sign-in succeeded");
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    found(&with_query(&req.redirect_uri, &pairs))
}

/// As Cognito documents it: an unexpected failure after the redirect URI is trusted goes
/// to the client as `error=server_error`, not as a 500 page.
fn server_error_redirect(
    redirect_uri: &str,
    state: Option<String>,
    e: &crate::IdpError,
) -> Response {
    tracing::error!(error = %e, "sign-in failed internally");
    Refusal::Redirect {
        redirect_uri: redirect_uri.to_string(),
        error: "server_error",
        description: "internal error".into(),
        state,
    }
    .into_response()
}

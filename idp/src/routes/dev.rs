//! `/_dev/*`: test controls (stats, faults, keys, clock, direct minting). Loopback only,
//! like the rest of the provider; never part of Cognito. A write needs a JSON content type
//! or `X-L42-Dev: 1`, and every request a loopback `Host` (checked before these handlers
//! run, in `guard`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::body_or_error;
use crate::IdpError;
use crate::faults::FaultSpec;
use crate::oauth::{OAuthError, json_response};
use crate::state::Shared;

fn ok(v: &Value) -> Response {
    json_response(StatusCode::OK, v)
}

fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, OAuthError> {
    let body = body_or_error(body)?;
    serde_json::from_slice(&body).map_err(|e| OAuthError::request(format!("bad JSON body: {e}")))
}

fn stats_json(shared: &Shared) -> Value {
    serde_json::to_value(shared.counters.snapshot()).unwrap_or(Value::Null)
}

pub(super) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    ok(&stats_json(&shared))
}

pub(super) async fn reset_stats(State(shared): State<Arc<Shared>>) -> Response {
    shared.counters.reset();
    ok(&stats_json(&shared))
}

fn faults_json(shared: &Shared) -> Value {
    json!({ "faults": shared.faults.pending() })
}

pub(super) async fn faults(State(shared): State<Arc<Shared>>) -> Response {
    ok(&faults_json(&shared))
}

pub(super) async fn inject_fault(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match parse::<FaultSpec>(body) {
        Ok(spec) => {
            shared.faults.inject_spec(spec);
            ok(&faults_json(&shared))
        }
        Err(e) => e.into_response(),
    }
}

pub(super) async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.clear();
    ok(&faults_json(&shared))
}

fn keys_json(shared: &Shared) -> Value {
    let ring = shared.keys();
    let current = ring
        .current()
        .map(|k| k.signing.kid().to_string())
        .unwrap_or_default();
    json!({ "kids": ring.kids(), "current": current })
}

pub(super) async fn keys(State(shared): State<Arc<Shared>>) -> Response {
    ok(&keys_json(&shared))
}

pub(super) async fn rotate_keys(State(shared): State<Arc<Shared>>) -> Response {
    let result = shared.keys_mut().rotate();
    match result {
        Ok(kid) => {
            tracing::info!(kid = %kid, "signing key rotated");
            let mut v = keys_json(&shared);
            v["kid"] = json!(kid);
            ok(&v)
        }
        Err(e) => OAuthError::from(e).into_response(),
    }
}

pub(super) async fn retire_key(State(shared): State<Arc<Shared>>) -> Response {
    let result = shared.keys_mut().retire_oldest();
    match result {
        Ok(kid) => {
            tracing::info!(kid = %kid, "signing key retired");
            let mut v = keys_json(&shared);
            v["retired"] = json!(kid);
            ok(&v)
        }
        Err(IdpError::LastKey) => OAuthError::new(
            StatusCode::CONFLICT,
            "last_key",
            "cannot retire the only signing key (rotate first)",
        )
        .into_response(),
        Err(e) => OAuthError::from(e).into_response(),
    }
}

fn clock_json(shared: &Shared) -> Value {
    json!({ "now": shared.clock.now(), "offset_seconds": shared.clock.offset_secs() })
}

pub(super) async fn clock(State(shared): State<Arc<Shared>>) -> Response {
    ok(&clock_json(&shared))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: i64,
}

pub(super) async fn advance_clock(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match parse::<Advance>(body) {
        Ok(a) => {
            shared.clock.advance_secs(a.seconds);
            ok(&clock_json(&shared))
        }
        Err(e) => e.into_response(),
    }
}

pub(super) async fn reset_clock(State(shared): State<Arc<Shared>>) -> Response {
    shared.clock.reset();
    ok(&clock_json(&shared))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Mint {
    username: String,
    client_id: String,
}

pub(super) async fn mint(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let m = match parse::<Mint>(body) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    match shared.mint(&m.username, &m.client_id) {
        Ok(t) => ok(&serde_json::to_value(t).unwrap_or(Value::Null)),
        Err(
            e
            @ (IdpError::UnknownUser(_) | IdpError::UnknownClient(_) | IdpError::MachineClient(_)),
        ) => OAuthError::request(e.to_string()).into_response(),
        Err(e) => OAuthError::from(e).into_response(),
    }
}

//! `POST {P}/validate-credential`: may this passkey be registered?
//!
//! Body `{"attestation_object", "client_data_json"}`, each standard base64 or base64url,
//! padded or not. Requires a signed-in caller (401 otherwise).
//!
//! | outcome | status | body |
//! |---|---|---|
//! | accepted | 200 | `{"allowed":true,"device":{"aaguid","backup_eligible","backup_state","user_verified"}}` |
//! | origin not allowed, user not present, AAGUID not in `AAGUID_ALLOWLIST`, backup-eligible under `REQUIRE_DEVICE_BOUND` | 403 | `{"allowed":false,"reason"}` |
//! | unreadable input (base64, JSON, CBOR, authenticator data, wrong `type`) | 400 | `{"error":"Invalid credential","message"}` |

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::app::{AppState, Caller, Identity};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::events::{Activity, SecurityEvent, Severity, Status};
use crate::webauthn::{self, CredentialError};

/// The request body.
#[derive(Debug, Deserialize)]
pub struct ValidateCredentialBody {
    /// The CBOR attestation object, base64 or base64url.
    pub attestation_object: String,
    /// The `clientDataJSON` bytes, base64 or base64url.
    pub client_data_json: String,
}

/// The handler.
pub async fn handler(
    State(state): State<AppState>,
    Caller(identity): Caller,
    JsonBody(body): JsonBody<ValidateCredentialBody>,
) -> Result<Response, ApiError> {
    let parsed = parse(&body);
    let (client_data, attestation) = match parsed {
        Ok(p) => p,
        Err(e) => {
            event(
                &identity,
                Status::Failure,
                Severity::Medium,
                "credential unreadable",
            )
            .detail("reason", e.to_string())
            .emit();
            return Err(ApiError::InvalidCredential(e.to_string()));
        }
    };
    let auth_data = &attestation.auth_data;
    let Some(credential) = &auth_data.attested else {
        let e = CredentialError::AuthenticatorData("no attested credential data".to_owned());
        event(
            &identity,
            Status::Failure,
            Severity::Medium,
            "credential unreadable",
        )
        .detail("reason", e.to_string())
        .emit();
        return Err(ApiError::InvalidCredential(e.to_string()));
    };
    let aaguid = credential.aaguid.to_string();
    let config = state.config();

    let refusal = if !state.origin_allowed(&client_data.origin) {
        Some("origin not allowed".to_owned())
    } else if !auth_data.user_present() {
        Some("user presence not asserted".to_owned())
    } else if !config.aaguid_allowlist.is_empty()
        && !config.aaguid_allowlist.contains(&credential.aaguid)
    {
        Some(format!("authenticator {aaguid} is not in the allow-list"))
    } else if config.require_device_bound && auth_data.backup_eligible() {
        Some("device-bound credential required (this one can be synced)".to_owned())
    } else {
        None
    };

    let outcome = |status, severity, message| {
        event(&identity, status, severity, message)
            .detail("aaguid", aaguid.clone())
            .detail("format", attestation.format.clone())
            .detail("backup_eligible", auth_data.backup_eligible())
            .detail("backup_state", auth_data.backup_state())
            .detail("user_verified", auth_data.user_verified())
    };
    if let Some(reason) = refusal {
        outcome(Status::Failure, Severity::Medium, "credential rejected")
            .detail("reason", reason.clone())
            .emit();
        return Ok((
            StatusCode::FORBIDDEN,
            Json(json!({"allowed": false, "reason": reason})),
        )
            .into_response());
    }
    outcome(
        Status::Success,
        Severity::Informational,
        "credential accepted",
    )
    .emit();
    Ok(Json(json!({
        "allowed": true,
        "device": {
            "aaguid": aaguid,
            "backup_eligible": auth_data.backup_eligible(),
            "backup_state": auth_data.backup_state(),
            "user_verified": auth_data.user_verified(),
        },
    }))
    .into_response())
}

fn parse(
    body: &ValidateCredentialBody,
) -> Result<(webauthn::ClientData, webauthn::Attestation), CredentialError> {
    let client_data_bytes = webauthn::decode_base64("client_data_json", &body.client_data_json)?;
    let client_data = webauthn::parse_client_data(&client_data_bytes)?;
    let attestation_bytes =
        webauthn::decode_base64("attestation_object", &body.attestation_object)?;
    let attestation = webauthn::parse_attestation_object(&attestation_bytes)?;
    Ok((client_data, attestation))
}

fn event(
    identity: &Identity,
    status: Status,
    severity: Severity,
    message: &'static str,
) -> SecurityEvent {
    SecurityEvent::new(Activity::Other, status, message)
        .activity_name("Validate Credential")
        .severity(severity)
        .auth_protocol("FIDO2")
        .actor(&identity.sub, identity.email.as_deref())
}

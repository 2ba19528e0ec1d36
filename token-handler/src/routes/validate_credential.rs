//! `POST {P}/validate-credential`: may this passkey be registered?
//!
//! Body `{"attestation_object", "client_data_json"}`, each standard base64 or base64url,
//! padded or not. Requires a signed-in caller (401 otherwise).
//!
//! | outcome | status | body |
//! |---|---|---|
//! | accepted | 200 | `{"allowed":true,"device":{"aaguid","backup_eligible","backup_state","user_verified"},"attestation":{"format","trust"}}` |
//! | origin not allowed; `rpIdHash` not of an accepted RP ID for the origin's host; user not present; an attestation statement that is there and wrong (signature, certificate, AAGUID extension); under `AAGUID_ALLOWLIST` or `REQUIRE_DEVICE_BOUND`, an attestation that is not `verified`; AAGUID not in `AAGUID_ALLOWLIST`; backup-eligible under `REQUIRE_DEVICE_BOUND` | 403 | `{"allowed":false,"reason"}` |
//! | unreadable input (base64, JSON, CBOR, authenticator data, wrong `type`) | 400 | `{"error":"Invalid credential","message"}` |
//!
//! `attestation.trust` is [`AttestationTrust::label`]: `verified` (chains to
//! `ATTESTATION_ROOTS`: the AAGUID and the flags are the authenticator's), `untrusted`,
//! `self`, `none` or `unsupported` (the AAGUID and the flags are what the client says).
//! The AAGUID policy and `REQUIRE_DEVICE_BOUND` pass only `verified`; the challenge is
//! Cognito's and not checked here (see the README).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::app::{AppState, Caller, Identity};
use crate::body::JsonBody;
use crate::config::Origin;
use crate::error::ApiError;
use crate::events::{self, Activity, Severity, Status};
use crate::webauthn::{self, AttestationTrust, CredentialError};
use rustls_pki_types::UnixTime;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct ValidateCredentialBody {
    /// The CBOR attestation object, base64 or base64url.
    pub attestation_object: String,
    /// The `clientDataJSON` bytes, base64 or base64url.
    pub client_data_json: String,
}

/// Answers `POST {P}/validate-credential` with whether the registration may proceed.
pub async fn handler(
    State(state): State<AppState>,
    Caller(identity): Caller,
    JsonBody(body): JsonBody<ValidateCredentialBody>,
) -> Result<Response, ApiError> {
    let parsed = parse(&body);
    let (client_data_bytes, client_data, attestation) = match parsed {
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
        // `parse` refuses a registration without one.
        return Err(ApiError::InvalidCredential(
            "no attested credential data".to_owned(),
        ));
    };
    let aaguid = credential.aaguid.to_string();
    let config = state.config();
    let policy = !config.aaguid_allowlist.is_empty() || config.require_device_bound;

    // The order matters only for which reason is reported; every check must pass.
    let mut trust = None;
    let refusal = 'checks: {
        let Some(origin) = Origin::parse(&client_data.origin)
            .ok()
            .filter(|_| state.origin_allowed(&client_data.origin))
        else {
            break 'checks Some("origin not allowed".to_owned());
        };
        let host = webauthn::origin_host(&origin);
        if webauthn::rp_id_for(&auth_data.rp_id_hash, host, &config.webauthn_rp_ids).is_none() {
            break 'checks Some(format!(
                "rpIdHash is not SHA-256 of an RP ID accepted for {host} (WEBAUTHN_RP_ID)"
            ));
        }
        if !auth_data.user_present() {
            break 'checks Some("user presence not asserted".to_owned());
        }
        let verified = webauthn::verify_attestation(
            &attestation,
            &client_data_bytes,
            &config.attestation_roots,
            UnixTime::now(),
        );
        let proved = match verified {
            Ok(t) => trust.insert(t),
            Err(e) => break 'checks Some(format!("attestation refused: {e}")),
        };
        if policy && *proved != AttestationTrust::Verified {
            // `none`, self and untrusted attestations prove neither the AAGUID nor the
            // flags: anyone can write them.
            let why = match &*proved {
                AttestationTrust::Untrusted(why) | AttestationTrust::Unsupported(why) => {
                    format!(" ({why})")
                }
                _ => String::new(),
            };
            break 'checks Some(format!(
                "a {} attestation{why} does not prove the authenticator model; \
                 AAGUID_ALLOWLIST and REQUIRE_DEVICE_BOUND need one that chains to ATTESTATION_ROOTS",
                proved.label()
            ));
        }
        if !config.aaguid_allowlist.is_empty()
            && !config.aaguid_allowlist.contains(&credential.aaguid)
        {
            break 'checks Some(format!("authenticator {aaguid} is not in the allow-list"));
        }
        if config.require_device_bound && auth_data.backup_eligible() {
            break 'checks Some(
                "device-bound credential required (this one can be synced)".to_owned(),
            );
        }
        None
    };
    let trust_label = trust.as_ref().map_or("unchecked", AttestationTrust::label);

    let outcome = |status, severity, message| {
        event(&identity, status, severity, message)
            .detail("aaguid", aaguid.clone())
            .detail("format", attestation.format.clone())
            .detail("attestation", trust_label)
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
        "attestation": {
            "format": attestation.format,
            "trust": trust_label,
        },
    }))
    .into_response())
}

/// The registration read from the body: `clientDataJSON`'s bytes (whose hash the
/// attestation signs) and fields, and the attestation object.
fn parse(
    body: &ValidateCredentialBody,
) -> Result<(Vec<u8>, webauthn::ClientData, webauthn::Attestation), CredentialError> {
    let client_data_bytes = webauthn::decode_base64("client_data_json", &body.client_data_json)?;
    let client_data = webauthn::parse_client_data(&client_data_bytes)?;
    let attestation_bytes =
        webauthn::decode_base64("attestation_object", &body.attestation_object)?;
    let attestation = webauthn::parse_attestation_object(&attestation_bytes)?;
    if attestation.auth_data.attested.is_none() {
        return Err(CredentialError::AuthenticatorData(
            "no attested credential data".to_owned(),
        ));
    }
    Ok((client_data_bytes, client_data, attestation))
}

fn event(
    identity: &Identity,
    status: Status,
    severity: Severity,
    message: &'static str,
) -> events::SecurityEvent {
    events::event(Activity::Other, status, message)
        .activity_name("Validate Credential")
        .severity(severity)
        .auth_protocol("FIDO2")
        .actor(&identity.sub, identity.email.as_deref())
}

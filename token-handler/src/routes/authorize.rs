//! `POST {P}/authorize`: a Cedar decision over the L42 protocol schema for the caller.
//!
//! Body `{"action", "resource"?: {"id"?, "type"?, "owner"?}, "context"?}`.
//!
//! | outcome | status | body |
//! |---|---|---|
//! | allowed | 200 | `{"authorized":true,"reason","policies"}` |
//! | denied (also: an action the schema does not declare) | 403 | `{"authorized":false,"reason"}` |
//! | no caller | 401 | `{"error":"Not authenticated"}` |
//! | the engine did not load, or the owner lookup failed | 503 | `{"error":…}` |
//! | no `action`, a `context` that is not an object | 400 | `{"error":…,"message"}` |
//!
//! When an owner lookup is configured (`ENTITY_TABLE`), the resource's owner comes from
//! it and the caller's `owner` is ignored; when `ENTITY_TABLE` is set but no lookup is
//! available, a request naming a resource id fails closed (503).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use l42_cedar::protocol::{DecisionKind, ProtocolRequest, ResourceRef};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{AppState, Caller};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::events::{self, Activity, Severity, Status};

/// The request body.
#[derive(Debug, Deserialize)]
pub struct AuthorizeBody {
    /// The action, e.g. `read:content`.
    pub action: Option<String>,
    /// The resource, when the action is about one.
    #[serde(default)]
    pub resource: Option<ResourceBody>,
    /// Extra request facts (only those the action's schema declares are used).
    #[serde(default)]
    pub context: Option<Value>,
}

/// The request's resource.
#[derive(Debug, Default, Deserialize)]
pub struct ResourceBody {
    /// The resource id (`_application` when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// The resource type.
    #[serde(default, rename = "type")]
    pub resource_type: Option<String>,
    /// The owner's `sub` (ignored when an owner lookup is configured).
    #[serde(default)]
    pub owner: Option<String>,
}

/// Answers `POST {P}/authorize`: 200 with the decision when Cedar allows, 403 when it
/// does not, 401 without a caller, 503 when no engine is loaded (fail closed).
pub async fn handler(
    State(state): State<AppState>,
    Caller(identity): Caller,
    JsonBody(body): JsonBody<AuthorizeBody>,
) -> Result<Response, ApiError> {
    let action = body
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::BadRequest("Missing or invalid action".to_owned()))?;
    let context = match &body.context {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "context must be a JSON object".to_owned(),
            ));
        }
    };
    let Some(engine) = state.cedar() else {
        events::event(
            Activity::Other,
            Status::Failure,
            "authorization engine unavailable",
        )
        .activity_name("Authorize")
        .severity(Severity::High)
        .actor(&identity.sub, identity.email.as_deref())
        .detail("action", truncate(action))
        .emit();
        return Err(ApiError::CedarUnavailable);
    };

    let resource = body.resource.unwrap_or_default();
    let owner = resolve_owner(&state, &resource).await?;
    let request = ProtocolRequest {
        sub: &identity.sub,
        email: identity.email.as_deref(),
        groups: &identity.groups,
        action,
        resource: ResourceRef {
            id: resource.id.as_deref(),
            resource_type: resource.resource_type.as_deref(),
            owner: owner.as_deref(),
        },
        context,
    };
    let decision = engine.decide(&request);

    let (status, severity) = match (decision.allowed, decision.kind) {
        (true, _) => (Status::Success, Severity::Informational),
        (false, DecisionKind::EvaluationError) => (Status::Failure, Severity::High),
        (false, _) => (Status::Failure, Severity::Medium),
    };
    let mut event = events::event(
        Activity::Other,
        status,
        if decision.allowed {
            "authorization allowed"
        } else {
            "authorization denied"
        },
    )
    .activity_name("Authorize")
    .severity(severity)
    .actor(&identity.sub, identity.email.as_deref())
    .detail("action", truncate(action))
    .detail("reason", decision.reason.clone())
    .detail("policies", decision.policies.clone());
    if let Some(id) = &resource.id {
        event = event.detail("resource_id", truncate(id));
    }
    if !decision.errors.is_empty() {
        event = event.detail("errors", decision.errors.clone());
    }
    event.emit();

    Ok(if decision.allowed {
        (
            StatusCode::OK,
            Json(json!({
                "authorized": true,
                "reason": decision.reason,
                "policies": decision.policies,
            })),
        )
            .into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            Json(json!({"authorized": false, "reason": decision.reason})),
        )
            .into_response()
    })
}

/// The owner Cedar sees: from the lookup when one is configured (never from the caller),
/// else the caller's.
async fn resolve_owner(
    state: &AppState,
    resource: &ResourceBody,
) -> Result<Option<String>, ApiError> {
    let table_configured = state.config().entity_table.is_some();
    match (state.owner_lookup(), resource.id.as_deref()) {
        (Some(lookup), Some(id)) => lookup
            .owner(id)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string())),
        (Some(_), None) => Ok(None),
        (None, Some(_)) if table_configured => Err(ApiError::Unavailable(
            "ENTITY_TABLE is set but no owner lookup is available".to_owned(),
        )),
        (None, _) if table_configured => Ok(None),
        (None, _) => Ok(resource.owner.clone()),
    }
}

/// At most 128 characters of a caller-supplied name, for events.
fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}

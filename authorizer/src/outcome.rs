//! What one event comes to: an [`Outcome`] (the response, or why there is none) and its
//! [`Explain`]ation, which `--explain` prints and every decision logs.

use std::borrow::Cow;

use serde::Serialize;

/// Why a request was decided as it was: what `--explain` prints and what is logged.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Explain {
    /// The event kind, when it was recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'static str>,
    /// The step that decided: `event`, `identity`, `token`, `route` or `policy`.
    pub stage: &'static str,
    /// What happened at that step.
    pub reason: Cow<'static, str>,
    /// The Cedar action, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The caller's `sub`, once verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The policies that determined the decision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Evaluation errors and fail-closed reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The result of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No usable token: the Lambda returns the error `Unauthorized` (401).
    Unauthorized {
        /// Why.
        explain: Explain,
    },
    /// The decision could not be made (the session store did not answer): the Lambda
    /// returns another error, which API Gateway answers with 500. Nothing is allowed.
    Failed {
        /// Why.
        explain: Explain,
    },
    /// A response document to return as is (Allow, or an explicit Deny).
    Respond {
        /// The response JSON.
        body: Vec<u8>,
        /// Whether it allows the request.
        allowed: bool,
        /// Why.
        explain: Explain,
    },
}

impl Outcome {
    /// The explanation, whatever the outcome.
    pub fn explain(&self) -> &Explain {
        match self {
            Outcome::Unauthorized { explain }
            | Outcome::Failed { explain }
            | Outcome::Respond { explain, .. } => explain,
        }
    }
}

/// Security events: every rejection and decision, without tokens.
pub(crate) fn log_outcome(outcome: &Outcome) {
    let e = outcome.explain();
    match outcome {
        Outcome::Unauthorized { .. } => tracing::info!(
            event_kind = e.event.unwrap_or("unknown"),
            stage = e.stage,
            reason = %e.reason,
            "token rejected"
        ),
        Outcome::Failed { .. } => tracing::error!(
            event_kind = e.event.unwrap_or("unknown"),
            stage = e.stage,
            reason = %e.reason,
            "no decision"
        ),
        Outcome::Respond { allowed, .. } => tracing::info!(
            event_kind = e.event.unwrap_or("unknown"),
            sub = e.sub.as_deref().unwrap_or(""),
            action = e.action.as_deref().unwrap_or(""),
            decision = if *allowed { "allow" } else { "deny" },
            policies = ?e.policies,
            errors = ?e.errors,
            "authorization decision"
        ),
    }
}

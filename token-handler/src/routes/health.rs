//! `GET /health` (always at the root): liveness and whether Cedar loaded.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::AppState;

/// `{"status":"ok","mode":"token-handler","cedar":"ready"|"unavailable","version"}`.
pub async fn handler(State(state): State<AppState>) -> Json<Value> {
    let cedar = if state.cedar().is_some() {
        "ready"
    } else {
        "unavailable"
    };
    Json(json!({
        "status": "ok",
        "mode": "token-handler",
        "cedar": cedar,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

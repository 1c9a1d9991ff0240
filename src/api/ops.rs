//! Operator endpoints (API.md, "Operations").

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Alive while the process runs; readiness (dependencies) is a separate question.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

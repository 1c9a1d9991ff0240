//! Operator endpoints of the service port: `/healthz`, `/readyz`, `/openapi.json`
//! (docs/contract-notes.md, "Operations"). `/metrics` has its own listener (`metrics.rs`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi;
use crate::app::AppState;
use crate::error::{Error, ErrorBody, Result};

/// How long readiness waits for each dependency: a probe must answer even when one hangs.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// `{"status": "ok"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    status: &'static str,
}

const OK: Status = Status { status: "ok" };

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi))
}

/// Alive while the process runs; readiness (dependencies) is a separate question.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process runs", body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(OK)
}

/// Ready when the database and Redis (when configured) answer; a load balancer sends traffic
/// only to ready nodes.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "The database and Redis answer", body = Status),
    (status = 503, description = "`temporarily_unavailable`: a dependency does not answer", body = ErrorBody),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Status>> {
    if state.health.ready(PING_TIMEOUT).await {
        Ok(Json(OK))
    } else {
        Err(Error::Unavailable)
    }
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses(
    (status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object),
))]
pub async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        openapi::document(state.config.demo),
    )
}

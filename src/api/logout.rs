//! `POST /v1/logout`: the holder of an access token ends its session.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Client};
use crate::app::AppState;
use crate::error::{ErrorBody, Result};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(logout))
}

/// Ends the session of the presented access token.
#[utoipa::path(post, path = "/v1/logout", tag = "login", security(("access_token" = [])), responses(
    (status = 204, description = "The token's session is revoked"),
    (status = 401, description = "`invalid_token`: missing, expired, revoked or malformed (with `WWW-Authenticate`)", body = ErrorBody,
        headers(("WWW-Authenticate" = String, description = "`Bearer error=\"invalid_token\"`"))),
    (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
))]
pub async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    Authenticated(claims): Authenticated,
) -> Result<StatusCode> {
    state
        .tokens
        .log_out(&claims, client.ip.as_deref(), state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

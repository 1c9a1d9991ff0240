//! `POST /v1/otp/start`: send a login code.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Client, JsonBody};
use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::error::{Error, ErrorBody, Result};
use crate::login::Started;
use crate::sms::Channel;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// E.164, or a national format with spaces, dashes, dots or parentheses.
    #[schema(example = "+44 7700 900123")]
    pub phone_number: String,
    #[serde(default)]
    pub channel: Channel,
}

/// Sends a one-time code to a phone number; starting again replaces the previous code.
#[utoipa::path(post, path = "/v1/otp/start", tag = "login", request_body = StartRequest, responses(
    (status = 202, description = "A code is on its way (the same answer whether or not the number belongs to an employee)", body = Started),
    (status = 400, description = "`invalid_request`, `invalid_phone_number` or `country_not_allowed`", body = ErrorBody),
    (status = 413, description = "`invalid_request`: the body is over 64 KiB", body = ErrorBody),
    (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    (status = 502, description = "`delivery_failed`: every provider failed", body = ErrorBody),
    (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
))]
pub async fn start(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(request): JsonBody<StartRequest>,
) -> Result<(StatusCode, Json<Started>)> {
    let number =
        PhoneNumber::parse(&request.phone_number).map_err(|_| Error::InvalidPhoneNumber)?;
    let now_ms = state.clock.now_millis();
    let started = state
        .login
        .start(&number, request.channel, client.ip.as_deref(), now_ms)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}

//! `POST /v1/otp/start` (API.md, "Login").

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{Client, JsonBody};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::login::{PhoneNumber, Started};
use crate::sms::Channel;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/otp/start", post(start))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub phone_number: String,
    #[serde(default)]
    pub channel: Channel,
}

async fn start(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(request): JsonBody<StartRequest>,
) -> Result<(StatusCode, Json<Started>)> {
    let number =
        PhoneNumber::parse(&request.phone_number).map_err(|_| Error::InvalidPhoneNumber)?;
    let now = crate::unix_now();
    let started = state
        .login
        .start(&number, request.channel, client.ip.as_deref(), now)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}

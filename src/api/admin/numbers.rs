//! `POST /admin/v1/numbers/{phone_number}/unlock`: lift a number's verification lock and
//! empty its send caps (docs/contract-notes.md, "Abuse limits").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::extract::{AdminKey, Client};
use crate::api::openapi::AdminErrors;
use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::error::{Error, ErrorBody, Result};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(unlock))
}

/// Lifts a number's verification lock, forgets its failed checks and empties its send caps.
///
/// The lock is the growing backoff or the long lockout, of the number and of each client that
/// guessed its codes. The send caps are the resend cooldown and the hourly and daily caps,
/// with each client's share of them (the country and global budgets keep their count). `204`
/// whether or not it was locked.
#[utoipa::path(post, path = "/admin/v1/numbers/{phone_number}/unlock", tag = "admin",
    security(("api_key" = [])),
    params(("phone_number" = String, Path, description = "E.164 or any format the API accepts", example = "+447700900123")),
    responses(
        (status = 204, description = "Unlocked and its send caps emptied (whether or not it was locked)"),
        (status = 400, description = "`invalid_phone_number`", body = ErrorBody),
        AdminErrors,
    ))]
pub async fn unlock(
    State(state): State<AppState>,
    AdminKey { actor }: AdminKey,
    Client(client): Client,
    Path(phone_number): Path<String>,
) -> Result<StatusCode> {
    let number = PhoneNumber::parse(&phone_number).map_err(|_| Error::InvalidPhoneNumber)?;
    let now = state.clock.now();
    state
        .admin
        .numbers
        .unlock(&actor, client.ip.as_deref(), &number, now)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! Admin control of abuse limits (docs/contract-notes.md, "Abuse limits").

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;

use super::extract::{AdminKey, Client};
use super::openapi::AdminErrors;
use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::error::{Error, ErrorBody, Result};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/numbers/{phone_number}/unlock", post(unlock))
}

/// Lifts a number's verification lock and forgets its failed checks.
///
/// The lock is the growing backoff or the long lockout. `204` whether or not it was locked.
#[utoipa::path(post, path = "/admin/v1/numbers/{phone_number}/unlock", tag = "admin",
    security(("api_key" = [])),
    params(("phone_number" = String, Path, description = "E.164 or any format the API accepts", example = "+447700900123")),
    responses(
        (status = 204, description = "Unlocked (or was not locked)"),
        (status = 400, description = "`invalid_phone_number`", body = ErrorBody),
        AdminErrors,
    ))]
pub async fn unlock(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    Path(phone_number): Path<String>,
) -> Result<StatusCode> {
    let number = PhoneNumber::parse(&phone_number).map_err(|_| Error::InvalidPhoneNumber)?;
    state.login.limits().unlock(&number).await?;
    admin
        .audit(
            &state,
            client.ip.as_deref(),
            "number.unlocked",
            number.as_str(),
            None,
            state.clock.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

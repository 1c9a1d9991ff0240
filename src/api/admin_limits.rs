//! Admin control of abuse limits (docs/contract-notes.md, "Abuse limits").

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;

use super::extract::{AdminKey, Client};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::login::PhoneNumber;
use crate::store::AuditEvent;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/numbers/{phone_number}/unlock", post(unlock))
}

/// Lifts a number's verification lock (growing backoff or the long lockout) and forgets its
/// failed checks. `204` whether or not it was locked.
async fn unlock(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    Path(phone_number): Path<String>,
) -> Result<StatusCode> {
    let number = PhoneNumber::parse(&phone_number).map_err(|_| Error::InvalidPhoneNumber)?;
    state.login.limits().unlock(&number).await?;
    state
        .db
        .append_audit(&AuditEvent {
            at: crate::unix_now(),
            actor: &admin.actor,
            action: "number.unlocked",
            subject: Some(number.as_str()),
            ip: client.ip.as_deref(),
            detail: None,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

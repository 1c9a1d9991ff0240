//! `/admin/v1/api-keys`: create, list and revoke API keys (admin role).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{AdminKey, Client, JsonBody};
use crate::admin::issue_api_key;
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::store::{ApiKey, ApiKeyRole};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/api-keys", get(list).post(create))
        .route("/admin/v1/api-keys/{id}", delete(revoke))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub name: String,
    pub role: String,
}

#[derive(Debug, Serialize)]
pub struct ApiKeyResponse {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            role: key.role.as_str(),
            created_at: crate::rfc3339(key.created_at),
            revoked_at: key.revoked_at.map(crate::rfc3339),
        }
    }
}

async fn create(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    JsonBody(request): JsonBody<CreateRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>)> {
    let role = ApiKeyRole::parse(&request.role)
        .ok_or_else(|| Error::InvalidRequest("role must be admin or introspect".into()))?;
    let now = crate::unix_now();
    let issued = issue_api_key(&state.db, &request.name, role, now).await?;
    admin
        .audit(
            &state,
            client.ip.as_deref(),
            "api_key.created",
            &issued.record.id,
            None,
            now,
        )
        .await?;
    let mut body = serde_json::to_value(ApiKeyResponse::from(issued.record))
        .map_err(|err| Error::Internal(err.into()))?;
    // The only time the key is shown.
    body["key"] = json!(issued.key.expose_secret());
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list(State(state): State<AppState>, _admin: AdminKey) -> Result<Json<serde_json::Value>> {
    let keys: Vec<ApiKeyResponse> = state
        .db
        .list_api_keys()
        .await?
        .into_iter()
        .map(ApiKeyResponse::from)
        .collect();
    Ok(Json(json!({ "items": keys, "next": null })))
}

/// Revoking is idempotent: `204` for a known key, revoked or not; `404` for an unknown id.
async fn revoke(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let now = crate::unix_now();
    if state.db.revoke_api_keys(&id, now).await? == 0 {
        return Err(Error::NotFound);
    }
    admin
        .audit(
            &state,
            client.ip.as_deref(),
            "api_key.revoked",
            &id,
            None,
            now,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

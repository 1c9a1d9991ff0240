//! `/admin/v1/api-keys`: create, list, re-role and revoke API keys (docs/contract-notes.md, "API
//! keys").

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::extract::{AdminKey, Client, JsonBody};
use crate::api::openapi::AdminErrors;
use crate::api::page::Page;
use crate::app::AppState;
use crate::error::{Error, ErrorBody, Result};
use crate::store::{ApiKey, ApiKeyRole};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke, set_role))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// 1 to 100 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]*\S[^\u0000]*$"
    )]
    pub name: String,
    /// `admin`, `introspect` (token introspection and the revocation feed) or `auditor` (the
    /// admin console, read-only; `403` on the JSON admin API).
    #[schema(example = "introspect", pattern = "^(admin|introspect|auditor)$")]
    pub role: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    #[schema(example = "auditor", pattern = "^(admin|introspect|auditor)$")]
    pub role: String,
}

fn parse_role(role: &str) -> Result<ApiKeyRole> {
    ApiKeyRole::parse(role)
        .ok_or_else(|| Error::InvalidRequest("role must be admin, introspect or auditor".into()))
}

/// Times are RFC 3339.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyResponse {
    pub id: String,
    pub name: String,
    #[schema(example = "introspect")]
    pub role: &'static str,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A new key's record and the key itself, shown only in this answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub record: ApiKeyResponse,
    pub key: String,
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

/// Creates an API key; the key is shown only in this answer (only its hash is stored).
#[utoipa::path(post, path = "/admin/v1/api-keys", tag = "admin", operation_id = "create_api_key", security(("api_key" = [])),
    request_body = CreateRequest,
    responses(
        (status = 201, description = "The key's record and `key`", body = CreatedApiKey),
        (status = 400, description = "`invalid_request`: malformed body or an unknown role", body = ErrorBody),
        AdminErrors,
        (status = 413, description = "`invalid_request`: the body is over 64 KiB", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    AdminKey { actor }: AdminKey,
    Client(client): Client,
    JsonBody(request): JsonBody<CreateRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    let role = parse_role(&request.role)?;
    let now = state.clock.now();
    let issued = state
        .admin
        .api_keys
        .create(&actor, client.ip.as_deref(), &request.name, role, now)
        .await?;
    // The only time the key is shown.
    let body = CreatedApiKey {
        record: issued.record.into(),
        key: issued.key.expose_secret().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Every API key, without secrets, in one page.
#[utoipa::path(get, path = "/admin/v1/api-keys", tag = "admin", operation_id = "list_api_keys", security(("api_key" = [])),
    responses(
        (status = 200, description = "Every key (revoked ones too); `next` is always `null`", body = Page<ApiKeyResponse>),
        AdminErrors,
    ))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminKey,
) -> Result<Json<Page<ApiKeyResponse>>> {
    let keys: Vec<ApiKeyResponse> = state
        .admin
        .api_keys
        .list()
        .await?
        .into_iter()
        .map(ApiKeyResponse::from)
        .collect();
    Ok(Json(Page {
        items: keys,
        next: None,
    }))
}

/// Revokes an API key.
///
/// Idempotent: `204` for a known key, revoked or not; `404` for an unknown id.
#[utoipa::path(delete, path = "/admin/v1/api-keys/{id}", tag = "admin", operation_id = "revoke_api_key", security(("api_key" = [])),
    params(("id" = String, Path, description = "The key's `id`")),
    responses(
        (status = 204, description = "Revoked (now or before)"),
        AdminErrors,
        (status = 404, description = "`not_found`: no key with this id", body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    AdminKey { actor }: AdminKey,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let now = state.clock.now();
    state
        .admin
        .api_keys
        .revoke(&actor, client.ip.as_deref(), &id, now)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives an API key another role. The node that answers stops honouring the old role at once;
/// other nodes may honour it for introspection for up to 5 s (docs/contract-notes.md).
#[utoipa::path(patch, path = "/admin/v1/api-keys/{id}", tag = "admin", operation_id = "set_api_key_role", security(("api_key" = [])),
    params(("id" = String, Path, description = "The key's `id`")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The key's record with its new role", body = ApiKeyResponse),
        (status = 400, description = "`invalid_request`: malformed body or an unknown role", body = ErrorBody),
        AdminErrors,
        (status = 404, description = "`not_found`: no live key with this id (unknown, or revoked)", body = ErrorBody),
        (status = 413, description = "`invalid_request`: the body is over 64 KiB", body = ErrorBody),
    ))]
pub async fn set_role(
    State(state): State<AppState>,
    AdminKey { actor }: AdminKey,
    Client(client): Client,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<RoleRequest>,
) -> Result<Json<ApiKeyResponse>> {
    let role = parse_role(&request.role)?;
    let now = state.clock.now();
    let record = state
        .admin
        .api_keys
        .set_role(&actor, client.ip.as_deref(), &id, role, now)
        .await?;
    Ok(Json(record.into()))
}

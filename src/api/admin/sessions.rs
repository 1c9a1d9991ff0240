//! `/admin/v1/identities/*`, `/admin/v1/sessions/*`, `/admin/v1/tokens/*`: an identity's
//! sessions, and revoking a session, a token or a whole identity (docs/contract-notes.md,
//! "Token lifecycle"). Revocations answer `204` for a known target, revoked before or not
//! (idempotent), and `404` for one that never existed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::extract::{AdminKey, Client, QueryParams};
use crate::api::openapi::AdminErrors;
use crate::api::page::{self, Page};
use crate::app::AppState;
use crate::error::{ErrorBody, Result};
use crate::store::{RevokeTarget, SessionRecord};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_identity))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_token))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The `next` of the previous page; absent or empty = the first page. Opaque: a cursor
    /// this API did not return is `400 invalid_request`.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Times are RFC 3339.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    pub sid: String,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_reason: Option<String>,
}

impl From<SessionRecord> for SessionResponse {
    fn from(session: SessionRecord) -> Self {
        Self {
            sid: session.id,
            created_at: crate::rfc3339(session.created_at),
            last_used_at: crate::rfc3339(session.last_used_at),
            expires_at: crate::rfc3339(session.expires_at),
            ip: session.ip,
            user_agent: session.user_agent,
            revoked_at: session.revoked_at.map(crate::rfc3339),
            revoked_reason: session.revoked_reason,
        }
    }
}

/// An identity's sessions, newest first; `next` is `null` on the last page.
#[utoipa::path(get, path = "/admin/v1/identities/{sub}/sessions", tag = "admin",
    security(("api_key" = [])),
    params(("sub" = String, Path, description = "The identity (the tokens' `sub`)"), ListQuery),
    responses(
        (status = 200, description = "One page of sessions", body = Page<SessionResponse>),
        (status = 400, description = "`invalid_request`: a bad `limit`, a cursor this API did not return, or an unknown parameter", body = ErrorBody),
        AdminErrors,
        (status = 404, description = "`not_found`: no identity with this `sub`", body = ErrorBody),
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    _admin: AdminKey,
    Path(sub): Path<String>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<Page<SessionResponse>>> {
    let limit = page::limit(query.limit, 50, 500)?;
    let after: Option<(i64, String)> = page::position(query.cursor.as_deref())?;
    // One more than asked tells whether another page exists.
    let mut sessions = state
        .admin
        .sessions
        .of_identity(&sub, after.as_ref(), limit + 1)
        .await?;
    let next = if sessions.len() as i64 > limit {
        sessions.truncate(limit as usize);
        sessions
            .last()
            .map(|last| page::encode(&(last.created_at, &last.id)))
            .transpose()?
    } else {
        None
    };
    Ok(Json(Page {
        items: sessions.into_iter().map(SessionResponse::from).collect(),
        next,
    }))
}

/// Revokes every session of an identity.
///
/// Idempotent: `204` whether or not it was already revoked.
#[utoipa::path(post, path = "/admin/v1/identities/{sub}/revoke", tag = "admin", security(("api_key" = [])),
    params(("sub" = String, Path, description = "The identity (the tokens' `sub`)")),
    responses(
        (status = 204, description = "Revoked (now or before)"),
        AdminErrors,
        (status = 404, description = "`not_found`: it never existed", body = ErrorBody),
    ))]
pub async fn revoke_identity(
    state: State<AppState>,
    admin: AdminKey,
    client: Client,
    Path(sub): Path<String>,
) -> Result<StatusCode> {
    revoke_as_admin(state, admin, client, RevokeTarget::Identity(&sub)).await
}

/// Revokes a session: every token issued in it.
///
/// Idempotent: `204` whether or not it was already revoked.
#[utoipa::path(post, path = "/admin/v1/sessions/{sid}/revoke", tag = "admin", security(("api_key" = [])),
    params(("sid" = String, Path, description = "The session (the tokens' `sid`)")),
    responses(
        (status = 204, description = "Revoked (now or before)"),
        AdminErrors,
        (status = 404, description = "`not_found`: it never existed", body = ErrorBody),
    ))]
pub async fn revoke_session(
    state: State<AppState>,
    admin: AdminKey,
    client: Client,
    Path(sid): Path<String>,
) -> Result<StatusCode> {
    revoke_as_admin(state, admin, client, RevokeTarget::Session(&sid)).await
}

/// Revokes one token; the rest of its session stays alive.
///
/// Idempotent: `204` whether or not it was already revoked.
#[utoipa::path(post, path = "/admin/v1/tokens/{jti}/revoke", tag = "admin",
    operation_id = "admin_revoke_token", security(("api_key" = [])),
    params(("jti" = String, Path, description = "The token (its `jti`)")),
    responses(
        (status = 204, description = "Revoked (now or before)"),
        AdminErrors,
        (status = 404, description = "`not_found`: it never existed", body = ErrorBody),
    ))]
pub async fn revoke_token(
    state: State<AppState>,
    admin: AdminKey,
    client: Client,
    Path(jti): Path<String>,
) -> Result<StatusCode> {
    revoke_as_admin(state, admin, client, RevokeTarget::Token(&jti)).await
}

async fn revoke_as_admin(
    State(state): State<AppState>,
    AdminKey { actor }: AdminKey,
    Client(client): Client,
    target: RevokeTarget<'_>,
) -> Result<StatusCode> {
    let now = state.clock.now();
    state
        .admin
        .sessions
        .revoke(&actor, client.ip.as_deref(), target, now)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `GET /v1/me`: the identity behind an access token.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Authenticated;
use crate::app::AppState;
use crate::error::{ErrorBody, Result};
use crate::tokens::{IdentityKind, Permissions};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub sub: String,
    pub phone_number: String,
    pub kind: IdentityKind,
    pub permissions: Permissions,
    pub user: Option<MeUser>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeUser {
    pub id: String,
    pub external_id: String,
    pub name: String,
}

/// The caller's identity, from a valid access token.
#[utoipa::path(get, path = "/v1/me", tag = "login", security(("access_token" = [])), responses(
    (status = 200, description = "The identity behind the token", body = Me),
    (status = 401, description = "`invalid_token`: missing, expired, revoked or malformed (with `WWW-Authenticate`)", body = ErrorBody),
    (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
))]
pub async fn me(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
) -> Result<Json<Me>> {
    let user = match &claims.user_id {
        Some(id) => state
            .admin
            .employees
            .by_id(id)
            .await?
            .map(|employee| MeUser {
                id: employee.id,
                external_id: employee.external_id,
                name: employee.name,
            }),
        None => None,
    };
    Ok(Json(Me {
        sub: claims.sub,
        phone_number: claims.phone_number,
        kind: claims.kind,
        permissions: claims.permissions,
        user,
    }))
}

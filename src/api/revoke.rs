//! `POST /oauth/revoke` (RFC 7009) and `POST /v1/logout` (API.md, "Login").

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::extract::{Authenticated, Client, FormOrJson};
use crate::app::AppState;
use crate::error::Result;
use crate::store::RevokeTarget;
use crate::tokens::revoke;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/revoke", post(revoke_token))
        .route("/v1/logout", post(logout))
}

/// RFC 7009 §2.1. `token_type_hint` (like any other field) is accepted and ignored: Sesame
/// recognises both kinds by their `typ`.
#[derive(Deserialize)]
pub struct RevokeRequest {
    pub token: SecretString,
}

/// Revokes the session of any token Sesame signed (expired or not). Unknown or invalid tokens
/// get the same `200`: RFC 7009 §2.2, and nothing to learn for the caller.
async fn revoke_token(
    State(state): State<AppState>,
    Client(client): Client,
    FormOrJson(request): FormOrJson<RevokeRequest>,
) -> Result<Json<serde_json::Value>> {
    if let Some(owner) = state.tokens.owner_of(request.token.expose_secret()) {
        revoke(
            &state.db,
            RevokeTarget::Session(&owner.sid),
            "client_revoked",
            &format!("identity:{}", owner.sub),
            client.ip.as_deref(),
            crate::unix_now(),
        )
        .await?;
    }
    Ok(Json(serde_json::json!({})))
}

async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    Authenticated(claims): Authenticated,
) -> Result<StatusCode> {
    revoke(
        &state.db,
        RevokeTarget::Session(&claims.sid),
        "logout",
        &format!("identity:{}", claims.sub),
        client.ip.as_deref(),
        crate::unix_now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

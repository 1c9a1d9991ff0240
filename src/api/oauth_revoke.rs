//! `POST /oauth/revoke` (RFC 7009): a client ends the session of a token it holds.

use axum::Json;
use axum::extract::State;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Client, FormOrJson};
use crate::app::AppState;
use crate::error::{ErrorBody, Result};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(revoke_token))
}

/// RFC 7009 §2.1. `token_type_hint` (like any other field) is accepted and ignored: Sesame
/// recognises both kinds by their `typ`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    /// An access or refresh token Sesame signed.
    #[schema(value_type = String)]
    pub token: SecretString,
}

/// OAuth 2.0 token revocation (RFC 7009): revokes the session of a token.
///
/// Any access or refresh token Sesame signed, expired or not. Unknown or invalid tokens get the
/// same `200`: RFC 7009 §2.2, and nothing to learn for the caller. The body is form-encoded
/// (RFC 7009) or JSON with the same fields.
#[utoipa::path(post, path = "/oauth/revoke", tag = "login", operation_id = "oauth_revoke",
    request_body(content(
        (RevokeRequest = "application/x-www-form-urlencoded"),
        (RevokeRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "`{}` for every well-formed request, whatever the token", body = Object),
        (status = 400, description = "`invalid_request`: no `token`, or another content type", body = ErrorBody),
        (status = 413, description = "`invalid_request`: the body is over 64 KiB", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Client(client): Client,
    FormOrJson(request): FormOrJson<RevokeRequest>,
) -> Result<Json<serde_json::Value>> {
    state
        .tokens
        .revoke_presented(
            request.token.expose_secret(),
            client.ip.as_deref(),
            state.clock.now(),
        )
        .await?;
    Ok(Json(serde_json::json!({})))
}

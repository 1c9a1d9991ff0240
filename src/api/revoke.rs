//! `POST /oauth/revoke` (RFC 7009) and `POST /v1/logout` (API.md, "Login").

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::extract::{Authenticated, Client, FormOrJson};
use crate::app::AppState;
use crate::error::{ErrorBody, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/revoke", post(revoke_token))
        .route("/v1/logout", post(logout))
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

/// Ends the session of the presented access token.
#[utoipa::path(post, path = "/v1/logout", tag = "login", security(("access_token" = [])), responses(
    (status = 204, description = "The token's session is revoked"),
    (status = 401, description = "`invalid_token`: missing, expired, revoked or malformed (with `WWW-Authenticate`)", body = ErrorBody,
        headers(("WWW-Authenticate" = String, description = "`Bearer error=\"invalid_token\"`"))),
    (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
))]
pub async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    Authenticated(claims): Authenticated,
) -> Result<StatusCode> {
    state
        .tokens
        .log_out(&claims, client.ip.as_deref(), state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

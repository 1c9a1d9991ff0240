//! `POST /oauth/introspect` (RFC 7662), for callers with an `introspect` or `admin` API key.

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{FormOrJson, IntrospectKey};
use crate::app::AppState;
use crate::error::{ErrorBody, Result};
use crate::tokens::ActiveToken;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(introspect))
}

/// RFC 7662 §2.1; `token_type_hint` is accepted and ignored (both kinds are recognised).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct IntrospectRequest {
    /// An access or refresh token.
    #[schema(value_type = String)]
    pub token: SecretString,
}

/// A live token's claims with `active: true`, or exactly `{"active": false}` (RFC 7662 §2.2).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Introspection {
    Active(Box<LiveToken>),
    Inactive(InactiveToken),
}

/// A live token: `active` is `true`, with its claims.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LiveToken {
    pub active: bool,
    #[serde(flatten)]
    pub token: ActiveToken,
}

/// A token that is not live: `active` is `false` and nothing else is said.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InactiveToken {
    pub active: bool,
}

/// OAuth 2.0 token introspection (RFC 7662): whether a token is live, and what it says.
///
/// Live: signature, claims, not expired, not revoked; a refresh token also unspent. The body is
/// form-encoded (RFC 7662) or JSON with the same fields; `token_type_hint` is accepted and
/// ignored.
#[utoipa::path(post, path = "/oauth/introspect", tag = "discovery",
    security(("api_key" = [])),
    request_body(content(
        (IntrospectRequest = "application/x-www-form-urlencoded"),
        (IntrospectRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "The token's claims with `active: true`, or exactly `{\"active\": false}` (`Cache-Control: no-store`)", body = Introspection),
        (status = 400, description = "`invalid_request`: no `token`, or another content type", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid API key of role `introspect` or `admin` (with `WWW-Authenticate: Bearer`)", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 413, description = "`invalid_request`: the body is over 64 KiB", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    _key: IntrospectKey,
    FormOrJson(request): FormOrJson<IntrospectRequest>,
) -> Result<impl IntoResponse> {
    let token = state
        .tokens
        .introspect(request.token.expose_secret(), state.clock.now())
        .await?;
    Ok((
        [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
        Json(match token {
            Some(token) => Introspection::Active(Box::new(LiveToken {
                active: true,
                token,
            })),
            None => Introspection::Inactive(InactiveToken { active: false }),
        }),
    ))
}

//! `POST /oauth/token` (RFC 6749 §4, §5): a code or a refresh token for a token pair.

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Client, FormOrJson};
use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::error::{Error, ErrorBody, Result};
use crate::tokens::TokenPair;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

/// Fields of every grant; which are required depends on `grant_type`. Extra fields (an OAuth
/// client's `client_id`, `scope`) are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `otp` (or `refresh_token`).
    #[schema(example = "otp")]
    pub grant_type: String,
    /// For `grant_type=otp`.
    #[schema(example = "+447700900123")]
    pub phone_number: Option<String>,
    /// For `grant_type=otp`: the code that was sent.
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<SecretString>,
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<SecretString>,
}

/// OAuth 2.0 token endpoint (RFC 6749 §4, §6): a code or a refresh token for a token pair.
#[utoipa::path(post, path = "/oauth/token", tag = "login",
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "A new token pair (`Cache-Control: no-store`)", body = TokenPair),
        (status = 400, description = "`invalid_grant`, `unsupported_grant_type`, `invalid_request` or `invalid_phone_number`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ))]
pub async fn token(
    State(state): State<AppState>,
    Client(client): Client,
    FormOrJson(request): FormOrJson<TokenRequest>,
) -> Result<impl IntoResponse> {
    let now_ms = state.clock.now_millis();
    let now = now_ms.div_euclid(1_000);
    let pair = match request.grant_type.as_str() {
        "otp" => {
            let number = request
                .phone_number
                .ok_or_else(|| Error::InvalidRequest("phone_number is required".into()))?;
            let number = PhoneNumber::parse(&number).map_err(|_| Error::InvalidPhoneNumber)?;
            let code = request
                .code
                .ok_or_else(|| Error::InvalidRequest("code is required".into()))?;
            state
                .login
                .verify(&number, &code, client.ip.as_deref(), now_ms)
                .await?;
            state.tokens.open_session(&number, &client, now).await?
        }
        "refresh_token" => {
            let token = request
                .refresh_token
                .ok_or_else(|| Error::InvalidRequest("refresh_token is required".into()))?;
            state
                .tokens
                .refresh(token.expose_secret(), &client, state.clock.now_millis())
                .await?
        }
        _ => return Err(Error::UnsupportedGrantType),
    };
    // RFC 6749 §5.1: token responses are never cached.
    Ok((
        [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
        Json(pair),
    ))
}

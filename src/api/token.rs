//! `POST /oauth/token` (API.md, "Login"; RFC 6749 §4, §5).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::extract::{Client, FormOrJson};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::login::PhoneNumber;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", post(token))
}

/// Fields of every grant; which are required depends on `grant_type`. Extra fields (an OAuth
/// client's `client_id`, `scope`) are ignored.
#[derive(Deserialize)]
pub struct TokenRequest {
    pub grant_type: String,
    pub phone_number: Option<String>,
    pub code: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
}

async fn token(
    State(state): State<AppState>,
    Client(client): Client,
    FormOrJson(request): FormOrJson<TokenRequest>,
) -> Result<impl IntoResponse> {
    let now = crate::unix_now();
    let pair = match request.grant_type.as_str() {
        "otp" => {
            let number = request
                .phone_number
                .ok_or_else(|| Error::InvalidRequest("phone_number is required".into()))?;
            let number = PhoneNumber::parse(&number).map_err(|_| Error::InvalidPhoneNumber)?;
            let code = request
                .code
                .ok_or_else(|| Error::InvalidRequest("code is required".into()))?;
            let identity = state
                .login
                .verify(&number, &code, client.ip.as_deref(), now)
                .await?;
            state.tokens.open_session(&identity, &client, now).await?
        }
        "refresh_token" => {
            let token = request
                .refresh_token
                .ok_or_else(|| Error::InvalidRequest("refresh_token is required".into()))?;
            state
                .tokens
                .refresh(token.expose_secret(), &client, now)
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

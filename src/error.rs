//! The service layer's error, and its one mapping to HTTP: status + OAuth-style code
//! (docs/http-api.md, "Conventions"). Internal causes are logged, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::sms::SendError;
use crate::store::StoreError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The body of every error response (docs/http-api.md, "Conventions").
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_request`, `invalid_grant`, `rate_limited`.
    #[schema(example = "invalid_request")]
    pub error: &'static str,
    /// Human-readable explanation; never a secret or an internal cause.
    pub error_description: String,
    /// Every bad row of a rejected import (`422`), and only there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RowError>>,
}

/// One bad row of an imported file: its line (the header is line 1; for a JSON array, the
/// element's 1-based position) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub line: u64,
    pub error: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed JSON or form, wrong content type, missing or mistyped field.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("not a valid phone number")]
    InvalidPhoneNumber,
    #[error("phone numbers of this country are not accepted")]
    CountryNotAllowed,
    /// Wrong, expired, spent or unknown code or refresh token. One message for every cause, so
    /// the answer never tells them apart.
    #[error("the code or refresh token is invalid, expired or already used")]
    InvalidGrant,
    #[error("grant_type must be otp or refresh_token")]
    UnsupportedGrantType,
    /// A missing, malformed, expired or revoked bearer token (RFC 6750 §3.1).
    #[error("{0}")]
    InvalidToken(&'static str),
    /// No or unknown API key.
    #[error("a valid API key is required")]
    Unauthorized,
    #[error("this API key's role may not call this route")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// A bulk import with bad rows: `422` listing every one, nothing applied.
    #[error("{} row(s) are invalid; nothing was imported", .0.len())]
    InvalidRows(Vec<RowError>),
    #[error("too many requests; retry later")]
    RateLimited { retry_after: u64 },
    #[error("the message could not be delivered")]
    DeliveryFailed,
    #[error("a dependency is unavailable; retry later")]
    Unavailable,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_)
            | Self::InvalidPhoneNumber
            | Self::CountryNotAllowed
            | Self::InvalidGrant
            | Self::UnsupportedGrantType => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidToken(_) | Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::InvalidRows(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::DeliveryFailed => StatusCode::BAD_GATEWAY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::PayloadTooLarge | Self::InvalidRows(_) => {
                "invalid_request"
            }
            Self::InvalidPhoneNumber => "invalid_phone_number",
            Self::CountryNotAllowed => "country_not_allowed",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidToken(_) => "invalid_token",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::RateLimited { .. } => "rate_limited",
            Self::DeliveryFailed => "delivery_failed",
            Self::Unavailable => "temporarily_unavailable",
            Self::Internal(_) => "server_error",
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => Self::Conflict("conflicts with an existing record".into()),
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "storage unavailable");
                Self::Unavailable
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<SendError> for Error {
    fn from(err: SendError) -> Self {
        match err {
            SendError::InvalidNumber => Self::InvalidPhoneNumber,
            _ => Self::DeliveryFailed,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // The request id is on the enclosing span; the cause never reaches the client.
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let status = self.status();
        let body = ErrorBody {
            error: self.code(),
            error_description: self.to_string(),
            errors: match &self {
                Self::InvalidRows(rows) => Some(rows.clone()),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::InvalidToken(description) => {
                let challenge =
                    format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::RateLimited { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_the_contract_status_and_code() {
        let cases = [
            (Error::InvalidRequest("x".into()), 400, "invalid_request"),
            (Error::PayloadTooLarge, 413, "invalid_request"),
            (Error::InvalidPhoneNumber, 400, "invalid_phone_number"),
            (Error::CountryNotAllowed, 400, "country_not_allowed"),
            (Error::InvalidGrant, 400, "invalid_grant"),
            (Error::UnsupportedGrantType, 400, "unsupported_grant_type"),
            (Error::InvalidToken("x"), 401, "invalid_token"),
            (Error::Unauthorized, 401, "unauthorized"),
            (Error::Forbidden, 403, "forbidden"),
            (Error::Conflict("x".into()), 409, "conflict"),
            (Error::InvalidRows(Vec::new()), 422, "invalid_request"),
            (Error::RateLimited { retry_after: 3 }, 429, "rate_limited"),
            (Error::DeliveryFailed, 502, "delivery_failed"),
            (Error::Unavailable, 503, "temporarily_unavailable"),
            (
                Error::Internal(anyhow::anyhow!("secret cause")),
                500,
                "server_error",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
        }
    }

    #[test]
    fn internal_causes_are_not_in_the_body() {
        assert_eq!(
            Error::Internal(anyhow::anyhow!("password=hunter2")).to_string(),
            "internal error"
        );
    }

    #[test]
    fn rate_limits_carry_retry_after_and_bad_tokens_a_challenge() {
        let response = Error::RateLimited { retry_after: 42 }.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        let response = Error::InvalidToken("the token has expired").into_response();
        assert!(
            response.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\"")
        );
    }
}

//! The one error type, and how it answers an HTTP caller (RFC 6750 §3).

use axum::Json;
use axum::http::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why a verifier could not be built, or why a request was refused.
///
/// The `Display` text carries the detailed reason, for your logs. As an axum response an
/// error says only what RFC 6750 requires, never why a token was refused:
///
/// | variant | status | `WWW-Authenticate` | `error` |
/// |---|---|---|---|
/// | [`MissingToken`](Error::MissingToken) | 401 | `Bearer` | `unauthorized` |
/// | [`InvalidToken`](Error::InvalidToken), [`Revoked`](Error::Revoked) | 401 | `Bearer error="invalid_token"` | `invalid_token` |
/// | [`InsufficientScope`](Error::InsufficientScope) | 403 | `Bearer error="insufficient_scope"` | `insufficient_scope` |
/// | [`Unavailable`](Error::Unavailable) | 503 | | `temporarily_unavailable` |
/// | [`Config`](Error::Config) | 500 | | `server_error` |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A builder option is out of range, or a route needs an option that was not set.
    #[error("invalid verifier configuration: {0}")]
    Config(String),
    /// Sesame could not be reached or gave an unexpected answer (at build time, or when a
    /// route asks it to introspect a token).
    #[error("Sesame is unavailable: {0}")]
    Unavailable(String),
    /// The request carries no bearer token.
    #[error("no bearer access token")]
    MissingToken,
    /// The token failed a check; the text says which.
    #[error("invalid access token: {0}")]
    InvalidToken(String),
    /// The token, or its session, has been revoked.
    #[error("the access token has been revoked")]
    Revoked,
    /// The token is valid but lacks the permission the route requires.
    #[error("the access token lacks the permission {0}")]
    InsufficientScope(String),
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// The JSON body of every refusal, the same shape as Sesame's own errors.
#[derive(Serialize)]
struct Body {
    error: &'static str,
    error_description: &'static str,
}

impl Error {
    fn answer(&self) -> (StatusCode, Option<&'static str>, Body) {
        let (status, challenge, error, error_description) = match self {
            Self::MissingToken => (
                StatusCode::UNAUTHORIZED,
                // No error code when the request had no credentials (RFC 6750 §3.1).
                Some("Bearer"),
                "unauthorized",
                "an access token is required",
            ),
            Self::InvalidToken(_) | Self::Revoked => (
                StatusCode::UNAUTHORIZED,
                Some(
                    r#"Bearer error="invalid_token", error_description="the access token is invalid""#,
                ),
                "invalid_token",
                "the access token is invalid",
            ),
            Self::InsufficientScope(_) => (
                StatusCode::FORBIDDEN,
                Some(r#"Bearer error="insufficient_scope""#),
                "insufficient_scope",
                "the access token does not allow this request",
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "temporarily_unavailable",
                "the login service is unavailable; retry later",
            ),
            Self::Config(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                "server_error",
                "internal error",
            ),
        };
        let body = Body {
            error,
            error_description,
        };
        (status, challenge, body)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Self::Config(_) | Self::Unavailable(_) => {
                tracing::error!(error = %self, "request refused")
            }
            _ => tracing::debug!(reason = %self, "request refused"),
        }
        let (status, challenge, body) = self.answer();
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = challenge {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_rfc_6750_requires_and_nothing_more() {
        let cases = [
            (Error::MissingToken, 401, Some("Bearer"), "unauthorized"),
            (
                Error::InvalidToken("exp is a string".into()),
                401,
                Some("Bearer error=\"invalid_token\""),
                "invalid_token",
            ),
            (
                Error::Revoked,
                401,
                Some("Bearer error=\"invalid_token\""),
                "invalid_token",
            ),
            (
                Error::InsufficientScope("employee:full".into()),
                403,
                Some("Bearer error=\"insufficient_scope\""),
                "insufficient_scope",
            ),
            (
                Error::Unavailable("connection refused".into()),
                503,
                None,
                "temporarily_unavailable",
            ),
            (Error::Config("no key".into()), 500, None, "server_error"),
        ];
        for (error, status, challenge, code) in cases {
            let detail = error.to_string();
            let (got_status, got_challenge, body) = error.answer();
            assert_eq!(got_status.as_u16(), status, "{detail}");
            match challenge {
                Some(prefix) => assert!(got_challenge.is_some_and(|c| c.starts_with(prefix))),
                None => assert!(got_challenge.is_none()),
            }
            assert_eq!(body.error, code);
            assert!(!body.error_description.contains("string"), "{detail}");
            assert!(!body.error_description.contains("employee"), "{detail}");
        }
    }
}

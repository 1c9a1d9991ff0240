//! Extractors: parse and authenticate before a handler runs, rejecting with our JSON errors.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::admin::KeyHolder;
use crate::app::AppState;
use crate::domain::Actor;
use crate::error::Error;
use crate::store::ApiKeyRole;
use crate::tokens::{AccessClaims, ClientInfo};

/// A JSON body (`application/json`); any rejection is `400 invalid_request` (or `413`).
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody { media_type, bytes } = RawBody::from_request(request, state).await?;
        if media_type.as_deref() != Some("application/json") {
            return Err(Error::InvalidRequest(
                "the body must be JSON (Content-Type: application/json)".into(),
            ));
        }
        json(&bytes).map(Self)
    }
}

fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes)
        .map_err(|err| Error::InvalidRequest(format!("invalid JSON body: {err}")))
}

/// Query parameters; any rejection is `400 invalid_request`.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct QueryParams<T>(pub T);

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::InvalidRequest(rejection.body_text())
    }
}

/// A body of any type, with its media type, for routes that accept several formats. A form or
/// JSON body with a NUL or invalid UTF-8 is refused here, below every body extractor.
pub struct RawBody {
    pub media_type: Option<String>,
    pub bytes: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media_type = media_type(request.headers());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(bytes_rejection)?;
        super::hostile::screen_body(media_type.as_deref(), &bytes)?;
        Ok(Self { media_type, bytes })
    }
}

fn bytes_rejection(rejection: BytesRejection) -> Error {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::PayloadTooLarge
    } else {
        Error::InvalidRequest("the request body could not be read".into())
    }
}

/// An OAuth body: `application/x-www-form-urlencoded` (RFC 6749) or JSON with the same fields.
pub struct FormOrJson<T>(pub T);

impl<T, S> FromRequest<S> for FormOrJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody { media_type, bytes } = RawBody::from_request(request, state).await?;
        let value = match media_type.as_deref() {
            Some("application/x-www-form-urlencoded") => serde_urlencoded::from_bytes(&bytes)
                .map_err(|err| Error::InvalidRequest(format!("invalid form body: {err}")))?,
            Some("application/json") => json(&bytes)?,
            _ => {
                return Err(Error::InvalidRequest(
                    "the body must be application/x-www-form-urlencoded or application/json".into(),
                ));
            }
        };
        Ok(Self(value))
    }
}

/// The media type of the body, lowercased and without parameters (`; charset=utf-8`).
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next()?.trim().to_ascii_lowercase();
    Some(media)
}

/// The bearer credential of `Authorization`, when there is exactly one well-formed one.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

/// A valid access token: signature, claims and row checked.
pub struct Authenticated(pub AccessClaims);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token =
            bearer(parts).ok_or(Error::InvalidToken("a bearer access token is required"))?;
        let claims = state.tokens.authenticate(token, state.clock.now()).await?;
        Ok(Self(claims))
    }
}

/// The holder of the caller's API key (the bootstrap `SESAME_ADMIN_API_KEY` or a stored
/// key); `401` without a valid key.
async fn api_key(parts: &Parts, state: &AppState) -> Result<KeyHolder, Error> {
    let key = bearer(parts).ok_or(Error::Unauthorized)?;
    state
        .admin
        .api_keys
        .authenticate(key)
        .await?
        .ok_or(Error::Unauthorized)
}

/// An API key with the `admin` role (`403` for another role: an `auditor` key is for the
/// console only).
pub struct AdminKey {
    /// Who is calling, for the audit log.
    pub actor: Actor,
}

impl FromRequestParts<AppState> for AdminKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        match api_key(parts, state).await? {
            KeyHolder {
                role: ApiKeyRole::Admin,
                actor,
                ..
            } => Ok(Self { actor }),
            _ => Err(Error::Forbidden),
        }
    }
}

/// An API key allowed to check tokens: role `introspect` or `admin` (`403` for `auditor`).
/// `401` without a valid key. The key's lookup may be up to five seconds old; the token's
/// state never is. It keeps the key, so that a request that lasts (the revocation stream) can
/// hold it to the same rule again.
pub struct IntrospectKey(SecretString);

impl IntrospectKey {
    /// Whether the key may still check tokens: a key revoked or re-roled since the request
    /// began no longer may.
    pub async fn still_allowed(&self, state: &AppState) -> Result<(), Error> {
        Self::allowed(self.0.expose_secret(), state).await
    }

    async fn allowed(key: &str, state: &AppState) -> Result<(), Error> {
        let holder = state
            .admin
            .api_keys
            .authenticate_cached(key)
            .await?
            .ok_or(Error::Unauthorized)?;
        // Exhaustive on purpose: a new role must decide whether it may introspect.
        match holder.role {
            ApiKeyRole::Introspect | ApiKeyRole::Admin => Ok(()),
            ApiKeyRole::Auditor => Err(Error::Forbidden),
        }
    }
}

impl FromRequestParts<AppState> for IntrospectKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let key = bearer(parts).ok_or(Error::Unauthorized)?;
        Self::allowed(key, state).await?;
        Ok(Self(SecretString::from(key)))
    }
}

/// Where a request comes from: the client IP (`client_ip`, honouring trusted proxies) and the
/// `User-Agent`.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| {
                let trusted = &state.config.limits.trusted_proxies;
                super::client_ip::client_ip(address.ip(), &parts.headers, trusted).to_string()
            });
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(256).collect());
        Ok(Self(ClientInfo { ip, user_agent }))
    }
}

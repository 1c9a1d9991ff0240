//! `POST /oauth/introspect` (RFC 7662) and `GET /v1/revocations` (API.md, "For downstream
//! APIs"), both for callers with an `introspect` or `admin` API key.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::extract::{FormOrJson, IntrospectKey, QueryParams};
use super::page;
use crate::app::AppState;
use crate::error::{ErrorBody, Result};
use crate::store::FeedPosition;
use crate::tokens::ActiveToken;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/introspect", post(introspect))
        .route("/v1/revocations", get(revocations))
}

/// RFC 7662 §2.1; `token_type_hint` is accepted and ignored (both kinds are recognised).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct IntrospectRequest {
    /// An access or refresh token.
    #[schema(value_type = String)]
    pub token: SecretString,
}

/// `{"active": false}` and nothing else for a token that is not live (RFC 7662 §2.2).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Introspection {
    pub active: bool,
    /// Only when `active` is true.
    #[serde(flatten)]
    pub token: Option<ActiveToken>,
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
        Json(Introspection {
            active: token.is_some(),
            token,
        }),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The `next` of the previous page; absent = from the beginning. `cursor` is an alias.
    #[serde(alias = "cursor")]
    pub since: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Times are Unix seconds, like `exp` in the tokens they deny.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedEntry {
    pub sid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    pub revoked_at: i64,
    pub expires_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Feed {
    pub items: Vec<FeedEntry>,
    /// Where to resume; always present, since a feed has no last page.
    pub next: String,
}

/// Revoked sessions and tokens that have not expired, oldest first.
///
/// For a downstream deny-list. The feed stays
/// `SESAME_REVOCATION_FEED_LAG` seconds behind the clock, so a cursor never passes a
/// revocation stamped with an earlier time that had not committed yet (same second, slow
/// transaction, another node's clock).
#[utoipa::path(get, path = "/v1/revocations", tag = "discovery", security(("api_key" = [])),
    params(FeedQuery),
    responses(
        (status = 200, description = "Revoked sessions (no `jti`) and tokens (with `jti`) not yet expired, oldest first; keep `next` and poll with it", body = Feed),
        (status = 400, description = "`invalid_request`: a bad `limit`, a cursor this API did not return, or an unknown parameter", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid API key of role `introspect` or `admin` (with `WWW-Authenticate: Bearer`)", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ))]
pub async fn revocations(
    State(state): State<AppState>,
    _key: IntrospectKey,
    QueryParams(query): QueryParams<FeedQuery>,
) -> Result<Json<Feed>> {
    let now = state.clock.now();
    let limit = page::limit(query.limit, 100, 1_000)?;
    let after = match query.since.as_deref() {
        Some(since) => page::decode(since)?,
        None => FeedPosition::start(),
    };
    let items = state.tokens.revocation_feed(&after, now, limit).await?;
    let next = page::encode(items.last().map_or(&after, |last| &last.position))?;
    Ok(Json(Feed {
        items: items
            .into_iter()
            .map(|item| FeedEntry {
                sid: item.sid,
                jti: item.jti,
                revoked_at: item.revoked_at,
                expires_at: item.expires_at,
            })
            .collect(),
        next,
    }))
}

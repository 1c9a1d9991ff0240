//! `GET /v1/revocations`: the feed of revoked sessions and tokens a downstream deny-list
//! polls (docs/contract-notes.md, "Token lifecycle"); for callers with an `introspect` or
//! `admin` API key.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{IntrospectKey, QueryParams};
use super::page;
use crate::app::AppState;
use crate::error::{ErrorBody, Result};
use crate::store::{FeedItem, FeedPosition};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(revocations))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The `next` of the previous page; absent or empty = from the beginning. `cursor` is an
    /// alias. Opaque: a cursor this API did not return is `400 invalid_request`.
    #[serde(alias = "cursor")]
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
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

impl From<FeedItem> for FeedEntry {
    fn from(item: FeedItem) -> Self {
        Self {
            sid: item.sid,
            jti: item.jti,
            revoked_at: item.revoked_at,
            expires_at: item.expires_at,
        }
    }
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
    let after = page::position(query.since.as_deref())?.unwrap_or_else(FeedPosition::start);
    let items = state.tokens.revocation_feed(&after, now, limit).await?;
    let next = page::encode(items.last().map_or(&after, |last| &last.position))?;
    Ok(Json(Feed {
        items: items.into_iter().map(FeedEntry::from).collect(),
        next,
    }))
}

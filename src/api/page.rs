//! Cursor pagination shared by every list (docs/http-api.md, "Conventions": `{"items", "next"}`). Cursors are opaque
//! to clients: base64url of the JSON position after which the next page starts; anything
//! else passed back is `400 invalid_request`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub fn encode<T: Serialize>(position: &T) -> Result<String> {
    let json = serde_json::to_vec(position).map_err(|err| Error::Internal(err.into()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| Error::InvalidRequest("cursor is not one this API returned".into()))
}

/// The position a cursor parameter stands for; absent or empty is the first page (`None`).
pub fn position<T: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<T>> {
    cursor
        .filter(|cursor| !cursor.is_empty())
        .map(decode)
        .transpose()
}

/// A page size: `limit` within 1..=`max`, `default` when absent.
pub fn limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64> {
    match limit {
        None => Ok(default),
        Some(limit) if (1..=max).contains(&limit) => Ok(limit),
        Some(_) => Err(Error::InvalidRequest(format!(
            "limit must be between 1 and {max}"
        ))),
    }
}

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// Flattened into each list's query parameters (and listed beside them in its `params(...)`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The `next` of the previous page; absent or empty = the first page. Opaque: a cursor
    /// this API did not return is `400 invalid_request`.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    // Text, not a number: `#[serde(flatten)]` hands query values over as strings.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

/// One page of a list: `next` is the cursor of the next page, `null` on the last one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl PageParams {
    /// The page size: 50 unless asked, at most 500.
    pub fn limit(&self) -> Result<i64> {
        let asked = match self.limit.as_deref() {
            None => None,
            Some(text) => Some(text.trim().parse::<i64>().map_err(|_| {
                Error::InvalidRequest(format!("limit must be between 1 and {MAX_LIMIT}"))
            })?),
        };
        limit(asked, DEFAULT_LIMIT, MAX_LIMIT)
    }

    /// The position the cursor stands for; `None` for the first page.
    pub fn position(&self) -> Result<Option<String>> {
        position(self.cursor.as_deref())
    }
}

/// Trims `items` (fetched with `limit + 1`) to one page and returns the cursor of the next
/// page, `None` when this one is the last.
pub fn paginate<T>(
    items: &mut Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> String,
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or_default();
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().and_then(|last| encode(&position(last)).ok())
}

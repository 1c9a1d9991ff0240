//! Opaque list cursors (API.md, "Conventions"): a position, serialised and base64url-encoded.
//! Clients pass them back untouched; anything else is `400 invalid_request`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub fn encode<T: Serialize>(position: &T) -> Result<String> {
    let json = serde_json::to_vec(position).map_err(|err| Error::Internal(err.into()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

pub fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| Error::InvalidRequest("invalid cursor".into()))
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

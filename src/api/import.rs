//! `POST /admin/v1/employees/import?mode=merge|sync` (API.md, "Admin").

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{AdminKey, Client, QueryParams, RawBody};
use crate::admin::{ImportFormat, ImportMode, Importer, import_employees};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::store::ImportCounts;

/// An HR export of 100,000 employees is a few MiB of CSV (about twice that as JSON); this
/// route alone accepts bodies up to 32 MiB.
const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/v1/employees/import",
        post(import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// `merge` (the default) or `sync`.
    pub mode: Option<String>,
}

async fn import(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    QueryParams(params): QueryParams<ImportParams>,
    body: RawBody,
) -> Result<Json<ImportCounts>> {
    let mode = match params.mode.as_deref() {
        None | Some("merge") => ImportMode::Merge,
        Some("sync") => ImportMode::Sync,
        Some(_) => return Err(Error::InvalidRequest("mode must be merge or sync".into())),
    };
    let format = body
        .media_type
        .as_deref()
        .and_then(ImportFormat::from_media_type)
        .ok_or_else(|| {
            Error::InvalidRequest("the body must be text/csv or application/json".into())
        })?;
    let importer = Importer {
        actor: &admin.actor,
        ip: client.ip.as_deref(),
    };
    let counts = import_employees(
        &state.db,
        format,
        Vec::from(body.bytes),
        mode,
        &importer,
        crate::unix_now(),
    )
    .await?;
    Ok(Json(counts))
}

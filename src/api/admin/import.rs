//! `POST /admin/v1/employees/import?mode=merge|sync` (docs/contract-notes.md, "Bulk
//! import").

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::{ImportFormat, ImportMode};
use crate::api::extract::{AdminKey, Client, QueryParams, RawBody};
use crate::api::openapi::AdminErrors;
use crate::app::AppState;
use crate::error::{Error, ErrorBody, Result};
use crate::store::ImportCounts;

/// An HR export of 100,000 employees is a few MiB of CSV (about twice that as JSON); this
/// route alone accepts bodies up to 32 MiB.
const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import))
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `merge` (the default) or `sync`: `sync` also disables active employees absent from the
    /// file (leavers).
    #[param(pattern = "^(merge|sync)$")]
    pub mode: Option<String>,
}

/// Imports employees in bulk, all or nothing.
///
/// CSV (`text/csv`, header `external_id,phone_number,name,email,active`) or a JSON array of the
/// same objects, up to 32 MiB.
#[utoipa::path(post, path = "/admin/v1/employees/import", tag = "admin",
    operation_id = "import_employees",
    security(("api_key" = [])),
    params(ImportParams),
    request_body(description = "One employee per CSV row or array element: `external_id`, `phone_number`, `name`, `email` (optional), `active` (optional, default true)", content(
        (String = "text/csv"),
        (Vec<Object> = "application/json"),
    )),
    responses(
        (status = 200, description = "Applied; what changed", body = ImportCounts),
        (status = 400, description = "`invalid_request`: a bad `mode`, another content type, JSON that is not an array, or a `sync` with no rows", body = ErrorBody),
        AdminErrors,
        (status = 409, description = "`conflict`: a concurrent change made two active employees share a number; nothing applied", body = ErrorBody),
        (status = 413, description = "`invalid_request`: the body is over 32 MiB", body = ErrorBody),
        (status = 422, description = "`invalid_request` with `errors`: every bad row (`line`, `error`); nothing applied", body = ErrorBody),
    ))]
pub async fn import(
    State(state): State<AppState>,
    AdminKey { actor }: AdminKey,
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
    let now = state.clock.now();
    let counts = state
        .admin
        .import
        .run(
            &actor,
            client.ip.as_deref(),
            format,
            body.bytes.into(),
            mode,
            now,
        )
        .await?;
    Ok(Json(counts))
}

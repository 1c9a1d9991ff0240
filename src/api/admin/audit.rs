//! `GET /admin/v1/audit`: the append-only audit log, newest first (docs/contract-notes.md,
//! "Audit log"). There is no route that changes or deletes an event.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::extract::{AdminKey, QueryParams};
use crate::api::openapi::AdminErrors;
use crate::api::page::{Page, PageParams, paginate};
use crate::app::AppState;
use crate::domain::parse_instant;
use crate::error::{Error, ErrorBody, Result};
use crate::store::{AuditQuery, AuditRecord};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Exact match, e.g. `api-key:hr-sync`, `cli` or `phone:+447700900123`.
    pub actor: Option<String>,
    /// Exact match.
    pub subject: Option<String>,
    /// Exact match, e.g. `employee.upserted`.
    pub action: Option<String>,
    /// RFC 3339 or Unix seconds; inclusive.
    #[param(schema_with = instant_schema)]
    pub since: Option<String>,
    /// RFC 3339 or Unix seconds; exclusive.
    #[param(schema_with = instant_schema)]
    pub until: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

/// An RFC 3339 time or Unix seconds.
fn instant_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    let one_of = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^-?[0-9]{1,18}$")),
        )
        .build();
    one_of.into()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditItem {
    pub id: i64,
    /// RFC 3339.
    pub time: String,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub ip: Option<String>,
    /// A JSON object, when the action has details.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
    /// How many requests the event stands for: `1`, except for `login.refused`, audited once
    /// per client, reason and minute (`time` is the first of them).
    pub count: i64,
}

impl From<AuditRecord> for AuditItem {
    fn from(record: AuditRecord) -> Self {
        Self {
            id: record.id,
            time: crate::rfc3339(record.at),
            actor: record.actor,
            action: record.action,
            subject: record.subject,
            ip: record.ip,
            // Details are stored as JSON text; anything else is shown as the text it is.
            detail: record
                .detail
                .map(|detail| serde_json::from_str(&detail).unwrap_or(Value::String(detail))),
            count: record.occurrences,
        }
    }
}

/// The append-only audit log, newest first.
///
/// Logins, refusals, revocations, imports and admin calls. No route changes or deletes an event.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "admin", operation_id = "list_audit_events", security(("api_key" = [])),
    params(AuditParams, PageParams),
    responses(
        (status = 200, description = "One page of events", body = Page<AuditItem>),
        (status = 400, description = "`invalid_request`: a bad `limit`, `since` or `until`, or a cursor this API did not return", body = ErrorBody),
        AdminErrors,
    ))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminKey,
    QueryParams(params): QueryParams<AuditParams>,
) -> Result<Json<Page<AuditItem>>> {
    let limit = params.page.limit()?;
    let before_id = params
        .page
        .position()?
        .map(|position| {
            position
                .parse::<i64>()
                .map_err(|_| Error::InvalidRequest("cursor is not one this API returned".into()))
        })
        .transpose()?;
    let mut records = state
        .admin
        .audit_log
        .events(&AuditQuery {
            before_id,
            actor: non_empty(&params.actor),
            subject: non_empty(&params.subject),
            action: non_empty(&params.action),
            since: params
                .since
                .as_deref()
                .map(|t| instant("since", t))
                .transpose()?,
            until: params
                .until
                .as_deref()
                .map(|t| instant("until", t))
                .transpose()?,
            limit: limit + 1,
        })
        .await?;
    let next = paginate(&mut records, limit, |record| record.id.to_string());
    let items = records.into_iter().map(Into::into).collect();
    Ok(Json(Page { items, next }))
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Unix seconds from an RFC 3339 time or a number of seconds.
fn instant(name: &str, value: &str) -> Result<i64> {
    parse_instant(value).ok_or_else(|| {
        Error::InvalidRequest(format!("{name} must be an RFC 3339 time or Unix seconds"))
    })
}

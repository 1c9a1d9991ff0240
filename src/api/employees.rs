//! `/admin/v1/employees`: upsert, list and disable employee records (API.md, "Admin").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{AdminKey, Client, JsonBody, QueryParams};
use super::page::{PageParams, paginate};
use crate::admin::ValidEmployee;
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::login::PhoneNumber;
use crate::store::{Employee, EmployeeQuery, Upserted};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/employees", get(list))
        .route("/admin/v1/employees/{external_id}", put(upsert_employee))
        .route("/admin/v1/employees/{external_id}/disable", post(disable))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeRequest {
    pub phone_number: String,
    pub name: String,
    pub email: Option<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

#[derive(Debug, Serialize)]
pub struct EmployeeResponse {
    pub id: String,
    pub external_id: String,
    pub phone_number: String,
    pub name: String,
    pub email: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Employee> for EmployeeResponse {
    fn from(employee: Employee) -> Self {
        Self {
            id: employee.id,
            external_id: employee.external_id,
            phone_number: employee.phone_number,
            name: employee.name,
            email: employee.email,
            active: employee.active,
            created_at: crate::rfc3339(employee.created_at),
            updated_at: crate::rfc3339(employee.updated_at),
        }
    }
}

async fn upsert_employee(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    Path(external_id): Path<String>,
    JsonBody(request): JsonBody<EmployeeRequest>,
) -> Result<(StatusCode, Json<EmployeeResponse>)> {
    let employee = ValidEmployee::parse(
        &external_id,
        &request.phone_number,
        &request.name,
        request.email.as_deref(),
        request.active,
    )
    .map_err(|problems| {
        problems.into_iter().next().map_or_else(
            || Error::InvalidRequest("invalid employee".into()),
            Error::from,
        )
    })?;
    let now = crate::unix_now();
    let (employee, outcome, revoked) = state
        .db
        .upsert_employee(&employee.as_upsert(), now)
        .await
        .map_err(|err| match Error::from(err) {
        Error::Conflict(_) => {
            Error::Conflict("another active employee already has this phone number".into())
        }
        other => other,
    })?;
    let detail = json!({
        "created": outcome == Upserted::Created,
        "active": employee.active,
        "sessions_revoked": revoked,
    });
    admin
        .audit(
            &state,
            client.ip.as_deref(),
            "employee.upserted",
            &employee.external_id,
            Some(detail),
            now,
        )
        .await?;
    let status = match outcome {
        Upserted::Created => StatusCode::CREATED,
        Upserted::Updated => StatusCode::OK,
    };
    Ok((status, Json(employee.into())))
}

/// Disables the employee and revokes every session of their identities, at once. Idempotent.
async fn disable(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    Path(external_id): Path<String>,
) -> Result<Json<EmployeeResponse>> {
    let now = crate::unix_now();
    let (employee, revoked) = state
        .db
        .disable_employee(&external_id, now)
        .await?
        .ok_or(Error::NotFound)?;
    let detail = json!({ "reason": "admin", "sessions_revoked": revoked });
    admin
        .audit(
            &state,
            client.ip.as_deref(),
            "employee.disabled",
            &employee.external_id,
            Some(detail),
            now,
        )
        .await?;
    Ok(Json(employee.into()))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    pub q: Option<String>,
    #[serde(flatten)]
    pub page: PageParams,
}

/// Employees ordered by `external_id`; `q` matches a name (case-insensitive substring), an
/// external or internal id, or a phone number (in any format the API accepts).
async fn list(
    State(state): State<AppState>,
    _admin: AdminKey,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<serde_json::Value>> {
    let limit = params.page.limit()?;
    let after = params.page.position()?;
    let text = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let number = text.and_then(|q| PhoneNumber::parse(q).ok());
    let mut employees = state
        .db
        .search_employees(&EmployeeQuery {
            text,
            phone_number: number.as_ref().map(PhoneNumber::as_str),
            after: after.as_deref(),
            limit: limit + 1,
        })
        .await?;
    let next = paginate(&mut employees, limit, |employee| {
        employee.external_id.clone()
    });
    let items: Vec<EmployeeResponse> = employees.into_iter().map(Into::into).collect();
    Ok(Json(json!({ "items": items, "next": next })))
}

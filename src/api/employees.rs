//! `/admin/v1/employees`: upsert, list and disable employee records (API.md, "Admin").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{AdminKey, Client, JsonBody, QueryParams};
use super::openapi::AdminErrors;
use super::page::{Page, PageParams, paginate};
use crate::admin::ValidEmployee;
use crate::app::AppState;
use crate::domain::PhoneNumber;
use crate::error::{Error, ErrorBody, Result};
use crate::store::{ChangedBy, Employee, EmployeeQuery, Upserted};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/employees", get(list))
        .route("/admin/v1/employees/{external_id}", put(upsert_employee))
        .route("/admin/v1/employees/{external_id}/disable", post(disable))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeRequest {
    #[schema(example = "+44 7700 900123")]
    pub phone_number: String,
    /// 1 to 256 characters.
    pub name: String,
    /// At most 320 characters; empty means none.
    pub email: Option<String>,
    /// `false` disables the employee and revokes their sessions.
    #[serde(default = "active_by_default")]
    #[schema(default = true)]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

/// Times are RFC 3339.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// Creates or updates an employee from the HR system.
///
/// Two active employees never share a number.
#[utoipa::path(put, path = "/admin/v1/employees/{external_id}", tag = "admin",
    operation_id = "upsert_employee",
    security(("api_key" = [])),
    params(("external_id" = String, Path, description = "The HR system's id, 1 to 128 characters")),
    request_body = EmployeeRequest,
    responses(
        (status = 200, description = "Updated", body = EmployeeResponse),
        (status = 201, description = "Created", body = EmployeeResponse),
        (status = 400, description = "`invalid_request` (malformed body, a field out of bounds) or `invalid_phone_number`", body = ErrorBody),
        AdminErrors,
        (status = 409, description = "`conflict`: another active employee has this phone number, or it is a test number", body = ErrorBody),
        (status = 413, description = "`invalid_request`: the body is over 64 KiB", body = ErrorBody),
    ))]
pub async fn upsert_employee(
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
    employee.check_not_a_test_number(&state.config.test_numbers)?;
    let now = state.clock.now();
    let by = ChangedBy {
        actor: &admin.actor,
        ip: client.ip.as_deref(),
    };
    let (employee, outcome, revoked) = state
        .db
        .upsert_employee(&employee.as_upsert(), by, now)
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

/// Disables the employee and revokes every session of their identities, at once.
///
/// Idempotent: a disabled employee keeps the time they were first disabled.
#[utoipa::path(post, path = "/admin/v1/employees/{external_id}/disable", tag = "admin",
    operation_id = "disable_employee",
    security(("api_key" = [])),
    params(("external_id" = String, Path, description = "The HR system's id, 1 to 128 characters")),
    responses(
        (status = 200, description = "The disabled employee", body = EmployeeResponse),
        AdminErrors,
        (status = 404, description = "`not_found`: no employee with this `external_id`", body = ErrorBody),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    Path(external_id): Path<String>,
) -> Result<Json<EmployeeResponse>> {
    let now = state.clock.now();
    let by = ChangedBy {
        actor: &admin.actor,
        ip: client.ip.as_deref(),
    };
    let (employee, revoked) = state
        .db
        .disable_employee(&external_id, by, now)
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A name (case-insensitive substring), an external or internal id, or a phone number.
    pub q: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageParams,
}

/// Employees, ordered by `external_id`.
///
/// `q` matches a name (case-insensitive substring), an external or internal id, or a phone
/// number (in any format the API accepts). Disabled employees are listed too.
#[utoipa::path(get, path = "/admin/v1/employees", tag = "admin", operation_id = "list_employees", security(("api_key" = [])),
    params(ListParams, PageParams),
    responses(
        (status = 200, description = "One page of employees", body = Page<EmployeeResponse>),
        (status = 400, description = "`invalid_request`: a bad `limit` or a cursor this API did not return", body = ErrorBody),
        AdminErrors,
    ))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminKey,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<Page<EmployeeResponse>>> {
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
    let items = employees.into_iter().map(Into::into).collect();
    Ok(Json(Page { items, next }))
}

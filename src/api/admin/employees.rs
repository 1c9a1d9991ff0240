//! `/admin/v1/employees`: upsert, list and disable employee records (docs/contract-notes.md,
//! "Employees, import and audit").

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::EmployeeFields;
use crate::api::extract::{AdminKey, Client, JsonBody, QueryParams};
use crate::api::openapi::AdminErrors;
use crate::api::page::{Page, PageParams, paginate};
use crate::app::AppState;
use crate::error::{ErrorBody, Result};
use crate::store::Employee;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(upsert_employee))
        .routes(routes!(disable))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeRequest {
    #[schema(example = "+44 7700 900123")]
    pub phone_number: String,
    /// 1 to 256 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = r"^[^\u0000]*\S[^\u0000]*$"
    )]
    pub name: String,
    /// At most 320 characters; empty means none.
    #[schema(max_length = 320)]
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
    AdminKey { actor }: AdminKey,
    Client(client): Client,
    Path(external_id): Path<String>,
    JsonBody(request): JsonBody<EmployeeRequest>,
) -> Result<(StatusCode, Json<EmployeeResponse>)> {
    let fields = EmployeeFields {
        phone_number: &request.phone_number,
        name: &request.name,
        email: request.email.as_deref(),
        active: request.active,
    };
    let now = state.clock.now();
    let saved = state
        .admin
        .employees
        .upsert(&actor, client.ip.as_deref(), &external_id, &fields, now)
        .await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(saved.employee.into())))
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
    AdminKey { actor }: AdminKey,
    Client(client): Client,
    Path(external_id): Path<String>,
) -> Result<Json<EmployeeResponse>> {
    let now = state.clock.now();
    let disabled = state
        .admin
        .employees
        .disable(&actor, client.ip.as_deref(), &external_id, now)
        .await?;
    Ok(Json(disabled.employee.into()))
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
    let mut employees = state
        .admin
        .employees
        .search(params.q.as_deref(), after.as_deref(), limit + 1)
        .await?;
    let next = paginate(&mut employees, limit, |employee| {
        employee.external_id.clone()
    });
    let items = employees.into_iter().map(Into::into).collect();
    Ok(Json(Page { items, next }))
}

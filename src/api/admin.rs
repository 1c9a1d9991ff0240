//! Admin API, for operators and the HR sync (API.md, "Admin").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::extract::{AdminKey, Client, JsonBody};
use crate::app::AppState;
use crate::error::{Error, ErrorBody, Result};
use crate::login::PhoneNumber;
use crate::store::{AuditEvent, Employee, EmployeeUpsert, Upserted};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/employees/{external_id}", put(upsert_employee))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
#[utoipa::path(put, path = "/admin/v1/employees/{external_id}", tag = "admin",
    security(("api_key" = [])),
    params(("external_id" = String, Path, description = "The HR system's id, 1 to 128 characters")),
    request_body = EmployeeRequest,
    responses(
        (status = 200, description = "Updated", body = EmployeeResponse),
        (status = 201, description = "Created", body = EmployeeResponse),
        (status = 400, description = "`invalid_request` or `invalid_phone_number`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no or unknown API key", body = ErrorBody),
        (status = 403, description = "`forbidden`: the key's role is not `admin`", body = ErrorBody),
        (status = 409, description = "`conflict`: another active employee has this number", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ))]
pub async fn upsert_employee(
    State(state): State<AppState>,
    admin: AdminKey,
    Client(client): Client,
    Path(external_id): Path<String>,
    JsonBody(request): JsonBody<EmployeeRequest>,
) -> Result<(StatusCode, Json<EmployeeResponse>)> {
    let external_id = external_id.trim();
    if external_id.is_empty() || external_id.len() > 128 {
        return Err(Error::InvalidRequest(
            "external_id must be 1 to 128 characters".into(),
        ));
    }
    let name = request.name.trim();
    if name.is_empty() {
        return Err(Error::InvalidRequest("name must not be empty".into()));
    }
    let number =
        PhoneNumber::parse(&request.phone_number).map_err(|_| Error::InvalidPhoneNumber)?;
    let now = crate::unix_now();
    let (employee, outcome) = state
        .db
        .upsert_employee(
            &EmployeeUpsert {
                external_id,
                phone_number: number.as_str(),
                name,
                email: request
                    .email
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty()),
                active: request.active,
            },
            now,
        )
        .await
        .map_err(|err| match Error::from(err) {
            Error::Conflict(_) => {
                Error::Conflict("another active employee already has this phone number".into())
            }
            other => other,
        })?;
    state
        .db
        .append_audit(&AuditEvent {
            at: now,
            actor: &admin.actor,
            action: "employee.upserted",
            subject: Some(&employee.external_id),
            ip: client.ip.as_deref(),
            detail: None,
        })
        .await?;
    let status = match outcome {
        Upserted::Created => StatusCode::CREATED,
        Upserted::Updated => StatusCode::OK,
    };
    Ok((status, Json(employee.into())))
}

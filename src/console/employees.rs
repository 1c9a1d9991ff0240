//! Employees: list and search, create, edit, disable (after a confirmation that says whose
//! sessions end). Each change calls the same `admin.employees` method as the JSON API.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Area, PageError, csrf_field, encode, page, respond, see_other, when};
use super::session::{ADMIN, Console, NoFields, Posted, require_admin};
use crate::admin::{ConsoleUser, EmployeeFields};
use crate::api::Client;
use crate::app::AppState;
use crate::error::Error;
use crate::store::Employee;

const PER_PAGE: i64 = 50;

pub fn employee_table(employees: &[Employee]) -> Markup {
    html! {
        div.scroll { table {
            thead { tr { th { "Name" } th { "External id" } th { "Phone number" } th { "Email" } th { "State" } } }
            tbody {
                @for employee in employees {
                    tr {
                        td { a href=(format!("/admin/employees/{}", encode(&employee.external_id))) { (employee.name) } }
                        td { (employee.external_id) }
                        td { (employee.phone_number) }
                        td { (employee.email.as_deref().unwrap_or("")) }
                        td { (if employee.active { "active" } else { "disabled" }) }
                    }
                }
            }
        } }
    }
}

#[derive(Deserialize)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    after: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Console(user): Console,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let q = Some(params.q.as_str()).filter(|q| !q.trim().is_empty());
    let mut employees = state
        .admin
        .employees
        .search(q, params.after.as_deref(), PER_PAGE + 1)
        .await?;
    let more = employees.len() as i64 > PER_PAGE;
    employees.truncate(PER_PAGE as usize);
    let body = html! {
        div.actions {
            form.filters method="get" action="/admin/employees" role="search" {
                label { "Name, external id or phone number" input type="search" name="q" value=(params.q); }
                button type="submit" { "Search" }
            }
            @if user.may_change() {
                a.button href="/admin/employees/new" { "New employee" }
            }
        }
        @if employees.is_empty() { p.muted { "No employees." } } @else { (employee_table(&employees)) }
        @if more {
            @if let Some(last) = employees.last() {
                p { a href=(format!("/admin/employees?q={}&after={}", encode(&params.q), encode(&last.external_id))) { "Next page" } }
            }
        }
    };
    Ok(page("Employees", Some(&user), Area::Employees, body))
}

/// The form's fields, as typed (kept to show them again after a refusal).
#[derive(Deserialize, Default)]
pub struct EmployeeForm {
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    phone_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    /// A checkbox: present when checked.
    active: Option<String>,
}

fn employee_form(
    user: &ConsoleUser,
    fields: &EmployeeForm,
    existing: Option<&str>,
    problem: Option<&str>,
) -> Markup {
    let action = match existing {
        Some(id) => format!("/admin/employees/{}", encode(id)),
        None => "/admin/employees".to_owned(),
    };
    html! {
        @if let Some(problem) = problem { p.error role="alert" { (problem) } }
        form.stack method="post" action=(action) {
            (csrf_field(user))
            @if existing.is_none() {
                label { "External id (the HR system's)" input name="external_id" value=(fields.external_id) required maxlength="128"; }
            }
            label { "Name" input name="name" value=(fields.name) required maxlength="256" autocomplete="off"; }
            label { "Phone number" input type="tel" name="phone_number" value=(fields.phone_number) required placeholder="+44 7700 900123"; }
            label { "Email (optional)" input type="email" name="email" value=(fields.email) maxlength="320"; }
            label.inline { input type="checkbox" name="active" value="true" checked[fields.active.is_some()]; "Active (unchecked: disabled, their sessions end)" }
            div { button type="submit" { "Save" } }
        }
    }
}

pub async fn new(Console(user): Console) -> Result<Markup, PageError> {
    require_admin(&user)?;
    let fields = EmployeeForm {
        active: Some("true".into()),
        ..EmployeeForm::default()
    };
    Ok(page(
        "New employee",
        Some(&user),
        Area::Employees,
        employee_form(&user, &fields, None, None),
    ))
}

pub async fn create(
    state: State<AppState>,
    client: Client,
    Posted { user, form }: Posted<EmployeeForm, ADMIN>,
) -> Result<Response, PageError> {
    let external_id = form.external_id.clone();
    save(state, client, user, &external_id, form, false).await
}

pub async fn update(
    state: State<AppState>,
    client: Client,
    Path(external_id): Path<String>,
    Posted { user, form }: Posted<EmployeeForm, ADMIN>,
) -> Result<Response, PageError> {
    save(state, client, user, &external_id, form, true).await
}

/// Saves through `admin.employees.upsert`; a refusal shows the form again with the reason.
async fn save(
    State(state): State<AppState>,
    Client(client): Client,
    user: ConsoleUser,
    external_id: &str,
    form: EmployeeForm,
    existing: bool,
) -> Result<Response, PageError> {
    let fields = EmployeeFields {
        phone_number: &form.phone_number,
        name: &form.name,
        email: Some(form.email.as_str()),
        active: form.active.is_some(),
    };
    let now = state.clock.now();
    let saved = state
        .admin
        .employees
        .upsert(&user.actor, client.ip.as_deref(), external_id, &fields, now)
        .await;
    match saved {
        Ok(saved) => {
            let done = if saved.created { "created" } else { "updated" };
            see_other(&format!(
                "/admin/employees/{}?done={done}",
                encode(&saved.employee.external_id)
            ))
        }
        Err(
            error @ (Error::InvalidRequest(_) | Error::InvalidPhoneNumber | Error::Conflict(_)),
        ) => {
            let title = if existing {
                "Edit employee"
            } else {
                "New employee"
            };
            let problem = error.to_string();
            let existing = existing.then_some(external_id);
            let body = employee_form(&user, &form, existing, Some(&problem));
            Ok(respond(
                error.status(),
                page(title, Some(&user), Area::Employees, body),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct ShowParams {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Console(user): Console,
    Path(external_id): Path<String>,
    Query(params): Query<ShowParams>,
) -> Result<Markup, PageError> {
    let employee = state
        .admin
        .employees
        .by_external_id(&external_id)
        .await?
        .ok_or(Error::NotFound)?;
    let fields = EmployeeForm {
        external_id: employee.external_id.clone(),
        phone_number: employee.phone_number.clone(),
        name: employee.name.clone(),
        email: employee.email.clone().unwrap_or_default(),
        active: employee.active.then(|| "true".to_owned()),
    };
    let encoded = encode(&employee.external_id);
    let body = html! {
        @match params.done.as_deref() {
            Some("created") => p.notice role="status" { "Created." },
            Some("updated") => p.notice role="status" { "Saved." },
            Some("disabled") => p.notice role="status" { "Disabled: their sessions were revoked." },
            _ => {}
        }
        dl.facts {
            dt { "External id" } dd { (employee.external_id) }
            dt { "State" } dd { (if employee.active { "active" } else { "disabled" }) }
            dt { "Created" } dd { (when(employee.created_at)) }
            dt { "Updated" } dd { (when(employee.updated_at)) }
            dt { "Logins" } dd { a href=(format!("/admin/people?q={}", encode(&employee.phone_number))) { "Phone identities of " (employee.phone_number) } }
        }
        @if user.may_change() {
            h2 { "Edit" }
            (employee_form(&user, &fields, Some(&employee.external_id), None))
            @if employee.active {
                p { a.button.danger href=(format!("/admin/employees/{encoded}/disable")) { "Disable…" } }
            }
        } @else {
            dl.facts {
                dt { "Name" } dd { (employee.name) }
                dt { "Phone number" } dd { (employee.phone_number) }
                dt { "Email" } dd { (employee.email.as_deref().unwrap_or("none")) }
            }
        }
    };
    Ok(page(&employee.name, Some(&user), Area::Employees, body))
}

pub async fn confirm_disable(
    State(state): State<AppState>,
    Console(user): Console,
    Path(external_id): Path<String>,
) -> Result<Markup, PageError> {
    require_admin(&user)?;
    let employee = state
        .admin
        .employees
        .by_external_id(&external_id)
        .await?
        .ok_or(Error::NotFound)?;
    let encoded = encode(&employee.external_id);
    let body = html! {
        p.warning {
            "Disable " strong { (employee.name) } " (" (employee.external_id) ", " (employee.phone_number) ")"
            ": every session opened for them ends at once, with their access and refresh tokens, and their number no longer logs in as them."
        }
        form.actions method="post" action=(format!("/admin/employees/{encoded}/disable")) {
            (csrf_field(&user))
            button.danger type="submit" { "Disable" }
            a.button.secondary href=(format!("/admin/employees/{encoded}")) { "Cancel" }
        }
    };
    Ok(page(
        "Disable an employee",
        Some(&user),
        Area::Employees,
        body,
    ))
}

pub async fn disable(
    State(state): State<AppState>,
    Client(client): Client,
    Path(external_id): Path<String>,
    Posted { user, .. }: Posted<NoFields, ADMIN>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let disabled = state
        .admin
        .employees
        .disable(&user.actor, client.ip.as_deref(), &external_id, now)
        .await?;
    see_other(&format!(
        "/admin/employees/{}?done=disabled",
        encode(&disabled.employee.external_id)
    ))
}

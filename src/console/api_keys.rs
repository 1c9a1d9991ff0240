//! API keys: the list; for admins, creating a key (shown once, on the page that answers the
//! form), giving a live key another role, and revoking one after a confirmation that says
//! what stops working. Each change calls the same `admin.api_keys` method as the JSON API.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::layout::{Area, PageError, csrf_field, encode, page, respond, see_other, when};
use super::session::{ADMIN, Console, NoFields, Posted, require_admin};
use crate::admin::ConsoleUser;
use crate::api::Client;
use crate::app::AppState;
use crate::error::Error;
use crate::store::{ApiKey, ApiKeyRole};

/// What each role may do, as the forms explain it.
fn role_help(role: ApiKeyRole) -> &'static str {
    match role {
        ApiKeyRole::Admin => "admin: the admin API, introspection and this console",
        ApiKeyRole::Introspect => "introspect: introspection and the revocation feed",
        ApiKeyRole::Auditor => "auditor: this console, read-only",
    }
}

#[derive(Deserialize)]
pub struct ListParams {
    done: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Console(user): Console,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let keys = state.admin.api_keys.list().await?;
    let body = html! {
        @match params.done.as_deref() {
            Some("role") => p.notice role="status" { "The key's role was changed: it holds at once." },
            Some("revoked") => p.notice role="status" { "The key was revoked: it stopped working at once." },
            _ => {}
        }
        @if keys.is_empty() {
            p.muted { "No stored keys (only SESAME_ADMIN_API_KEY, if set)." }
        } @else {
            (key_table(&user, &keys))
        }
        @if user.may_change() {
            h2 { "New API key" }
            (new_key_form(&user, "", ApiKeyRole::Introspect, None))
        }
    };
    Ok(page("API keys", Some(&user), Area::ApiKeys, body))
}

fn key_table(user: &ConsoleUser, keys: &[ApiKey]) -> Markup {
    html! {
        div.scroll { table.cards {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "State" }
                @if user.may_change() { th scope="col" { span.skip { "Actions" } } }
            } }
            tbody {
                @for key in keys {
                    tr {
                        td data-label="Name" { span { (key.name) } }
                        td data-label="Role" {
                            @if user.may_change() && key.revoked_at.is_none() {
                                (role_form(user, key))
                            } @else {
                                span { (key.role.as_str()) }
                            }
                        }
                        td data-label="Created" { span { (when(key.created_at)) } }
                        td data-label="State" { span {
                            @match key.revoked_at { Some(at) => { span.state-ended { "revoked" } " " (when(at)) }, None => span.state-live { "live" } }
                        } }
                        @if user.may_change() {
                            td { @if key.revoked_at.is_none() {
                                a.button.secondary href=(format!("/admin/api-keys/{}/revoke", encode(&key.id)))
                                    aria-label=(format!("Revoke the key {}", key.name)) { "Revoke…" }
                            } }
                        }
                    }
                }
            }
        } }
    }
}

/// A live key's role, as a form that changes it.
fn role_form(user: &ConsoleUser, key: &ApiKey) -> Markup {
    html! {
        form.inline method="post" action=(format!("/admin/api-keys/{}/role", encode(&key.id))) {
            (csrf_field(user))
            select name="role" aria-label=(format!("Role of {}", key.name)) {
                @for role in ApiKeyRole::ALL {
                    option value=(role.as_str()) selected[role == key.role] { (role.as_str()) }
                }
            }
            button.secondary type="submit" aria-label=(format!("Change the role of {}", key.name)) { "Change" }
        }
    }
}

fn new_key_form(user: &ConsoleUser, name: &str, role: ApiKeyRole, problem: Option<&str>) -> Markup {
    html! {
        @if let Some(problem) = problem { p.error role="alert" { (problem) } }
        form.stack method="post" action="/admin/api-keys" {
            (csrf_field(user))
            label { "Name (who or what will use it)" input name="name" value=(name) required maxlength="100" autocomplete="off"; }
            fieldset {
                legend { "Role" }
                @for option in ApiKeyRole::ALL {
                    label.inline { input type="radio" name="role" value=(option.as_str()) checked[option == role]; (role_help(option)) }
                }
            }
            div { button type="submit" { "Create key" } }
        }
    }
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    name: String,
    role: Option<String>,
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: Option<String>,
}

fn unknown_role() -> Error {
    Error::InvalidRequest("role must be admin, introspect or auditor".into())
}

/// Creates a key and shows it, this once; a refusal shows the form again with the reason.
pub async fn create(
    State(state): State<AppState>,
    Client(client): Client,
    Posted { user, form }: Posted<NewKeyForm, ADMIN>,
) -> Result<Response, PageError> {
    let role = form.role.as_deref().and_then(ApiKeyRole::parse);
    let created = match role {
        Some(role) => {
            let now = state.clock.now();
            let api_keys = &state.admin.api_keys;
            api_keys
                .create(&user.actor, client.ip.as_deref(), &form.name, role, now)
                .await
        }
        None => Err(unknown_role()),
    };
    match created {
        Ok(issued) => {
            let record = &issued.record;
            let body = html! {
                p.warning {
                    "Copy the key now: Sesame keeps only its hash and cannot show it again. "
                    "Give it to " strong { (record.name) } " through a secret store, never by email or chat."
                }
                label { "The key" input readonly value=(issued.key.expose_secret()) autocomplete="off" spellcheck="false"; }
                dl.facts {
                    dt { "Name" } dd { (record.name) }
                    dt { "Role" } dd { (role_help(record.role)) }
                    dt { "Created" } dd { (when(record.created_at)) }
                }
                p { a.button href="/admin/api-keys" { "Done" } }
            };
            Ok(respond(
                StatusCode::CREATED,
                page("API key created", Some(&user), Area::ApiKeys, body),
            ))
        }
        Err(error @ Error::InvalidRequest(_)) => {
            let problem = error.to_string();
            let role = role.unwrap_or(ApiKeyRole::Introspect);
            let body = new_key_form(&user, &form.name, role, Some(&problem));
            Ok(respond(
                error.status(),
                page("New API key", Some(&user), Area::ApiKeys, body),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn set_role(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
    Posted { user, form }: Posted<RoleForm, ADMIN>,
) -> Result<Response, PageError> {
    let role = form.role.as_deref().and_then(ApiKeyRole::parse);
    let role = role.ok_or_else(unknown_role)?;
    let now = state.clock.now();
    let api_keys = &state.admin.api_keys;
    api_keys
        .set_role(&user.actor, client.ip.as_deref(), &id, role, now)
        .await?;
    see_other("/admin/api-keys?done=role")
}

pub async fn confirm_revoke(
    State(state): State<AppState>,
    Console(user): Console,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    require_admin(&user)?;
    let key = live_key(&state, &id).await?;
    let signed_in_with_it = user.key_id.as_deref() == Some(key.id.as_str());
    let body = html! {
        p.warning {
            "Revoke the key " strong { (key.name) } " (" (key.role.as_str()) ", created " (when(key.created_at)) ")"
            ": every request made with it is refused from now on, on every node within 5 seconds, and its console sessions and revocation streams end. "
            "A revoked key cannot be brought back; make a new one instead."
        }
        @if signed_in_with_it {
            p.warning { strong { "You are signed in with this key:" } " revoking it signs you out." }
        }
        form.actions method="post" action=(format!("/admin/api-keys/{}/revoke", encode(&key.id))) {
            (csrf_field(&user))
            button.danger type="submit" { "Revoke this key" }
            a.button.secondary href="/admin/api-keys" { "Cancel" }
        }
    };
    Ok(page("Revoke an API key", Some(&user), Area::ApiKeys, body))
}

pub async fn revoke(
    State(state): State<AppState>,
    Client(client): Client,
    Path(id): Path<String>,
    Posted { user, .. }: Posted<NoFields, ADMIN>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let api_keys = &state.admin.api_keys;
    api_keys
        .revoke(&user.actor, client.ip.as_deref(), &id, now)
        .await?;
    see_other("/admin/api-keys?done=revoked")
}

/// The live key with id `id`; `NotFound` for an unknown or revoked one.
async fn live_key(state: &AppState, id: &str) -> Result<ApiKey, PageError> {
    let keys = state.admin.api_keys.list().await?;
    keys.into_iter()
        .find(|key| key.id == id && key.revoked_at.is_none())
        .ok_or(PageError::Service(Error::NotFound))
}

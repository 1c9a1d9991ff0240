//! People: search employees and phone identities; an identity's page with its employee and
//! sessions; revoking one session or all of them, each after a confirmation page that says
//! what stops working.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Area, PageError, csrf_field, encode, page, see_other, when};
use super::session::{ADMIN, Console, NoFields, Posted, require_admin};
use crate::admin::{ConsoleUser, Person};
use crate::api::Client;
use crate::app::AppState;
use crate::store::{Identity, RevokeTarget, SessionRecord};
use crate::tokens::ClientInfo;

/// Sessions per page of an identity.
const SESSIONS_PER_PAGE: i64 = 20;

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
}

pub async fn search(
    State(state): State<AppState>,
    Console(user): Console,
    Query(params): Query<SearchParams>,
) -> Result<Markup, PageError> {
    let found = state.admin.people.search(&params.q).await?;
    let searched = !params.q.trim().is_empty();
    let body = html! {
        form.filters method="get" action="/admin/people" role="search" {
            label {
                "Name, external id or phone number"
                input type="search" name="q" value=(params.q) autofocus;
            }
            button type="submit" { "Search" }
        }
        @if searched {
            h2 { "Phone identities" }
            @if found.identities.is_empty() {
                p.muted { "No phone identity matches." }
            } @else {
                (identity_table(&found.identities))
            }
            h2 { "Employees" }
            @if found.employees.is_empty() {
                p.muted { "No employee matches." }
            } @else {
                (super::employees::employee_table(&found.employees))
            }
        }
    };
    Ok(page("People", Some(&user), Area::People, body))
}

fn identity_table(identities: &[Identity]) -> Markup {
    html! {
        div.scroll { table {
            thead { tr { th { "Phone number" } th { "Identity (sub)" } th { "Last login" } } }
            tbody {
                @for identity in identities {
                    tr {
                        td { a href=(format!("/admin/people/{}", encode(&identity.sub))) { (identity.phone_number) } }
                        td { code { (identity.sub) } }
                        td { (last_login(identity)) }
                    }
                }
            }
        } }
    }
}

#[derive(Deserialize)]
pub struct PersonParams {
    /// `created_at` and `sid` of the last session of the previous page.
    before: Option<i64>,
    before_sid: Option<String>,
    done: Option<String>,
}

pub async fn person(
    State(state): State<AppState>,
    Console(user): Console,
    Path(sub): Path<String>,
    Query(params): Query<PersonParams>,
) -> Result<Markup, PageError> {
    let after = params.before.zip(params.before_sid);
    let mut person = state
        .admin
        .people
        .person(&sub, after.as_ref(), SESSIONS_PER_PAGE + 1)
        .await?;
    let next = (person.sessions.len() as i64 > SESSIONS_PER_PAGE).then(|| {
        person.sessions.truncate(SESSIONS_PER_PAGE as usize);
        person.sessions.last().map(|last| {
            format!(
                "/admin/people/{}?before={}&before_sid={}",
                encode(&sub),
                last.created_at,
                encode(&last.id)
            )
        })
    });
    let now = state.clock.now();
    let title = format!("Phone {}", person.identity.phone_number);
    let body = html! {
        @match params.done.as_deref() {
            Some("session") => p.notice role="status" { "The session was revoked: its tokens stopped working." },
            Some("all") => p.notice role="status" { "Every session was revoked: all of this identity's tokens stopped working." },
            _ => {}
        }
        (person_facts(&person))
        h2 { "Sessions" }
        @if user.may_change() && person.sessions.iter().any(|s| is_live(s, now)) {
            p { a.button.danger href=(format!("/admin/people/{}/revoke", encode(&sub))) { "Revoke everything…" } }
        }
        @if person.sessions.is_empty() {
            p.muted { "No sessions." }
        } @else {
            div.scroll { table.cards {
                thead { tr {
                    th { "Device" } th { "IP" } th { "Created" } th { "Last used" } th { "Expires" } th { "State" }
                    @if user.may_change() { th { span.skip { "Actions" } } }
                } }
                tbody {
                    @for session in &person.sessions {
                        tr {
                            td data-label="Device" { span { (session.user_agent.as_deref().unwrap_or("unknown")) } }
                            td data-label="IP" { span { (session.ip.as_deref().unwrap_or("unknown")) } }
                            td data-label="Created" { span { (when(session.created_at)) } }
                            td data-label="Last used" { span { (when(session.last_used_at)) } }
                            td data-label="Expires" { span { (when(session.expires_at)) } }
                            td data-label="State" { span { (state_of(session, now)) } }
                            @if user.may_change() {
                                td { @if is_live(session, now) {
                                    a.button.secondary href=(format!("/admin/people/{}/sessions/{}/revoke", encode(&sub), encode(&session.id)))
                                        aria-label=(format!("Revoke the session created {}", when(session.created_at))) { "Revoke…" }
                                } }
                            }
                        }
                    }
                }
            } }
        }
        @if let Some(Some(next)) = next {
            p { a href=(next) { "Older sessions" } }
        }
    };
    Ok(page(&title, Some(&user), Area::People, body))
}

fn person_facts(person: &Person) -> Markup {
    let identity = &person.identity;
    html! {
        dl.facts {
            dt { "Identity (sub)" } dd { code { (identity.sub) } }
            dt { "First login" } dd { (when(identity.created_at)) }
            dt { "Last login" } dd { (last_login(identity)) }
            dt { "Employee" }
            dd {
                @match &person.employee {
                    Some(employee) => {
                        a href=(format!("/admin/employees/{}", encode(&employee.external_id))) { (employee.name) }
                        " (" (employee.external_id) ", " (if employee.active { "active" } else { "disabled" }) ") "
                        span.muted { (if person.linked { "linked at the last login" } else { "holds this number now; not yet logged in as them" }) }
                    }
                    None => "none: logins with this number are anonymous",
                }
            }
        }
    }
}

fn is_live(session: &SessionRecord, now: i64) -> bool {
    session.revoked_at.is_none() && session.expires_at > now
}

fn state_of(session: &SessionRecord, now: i64) -> Markup {
    html! {
        @if let Some(at) = session.revoked_at {
            span.state-ended { "revoked" } " " (when(at))
            @if let Some(reason) = &session.revoked_reason { " (" (reason) ")" }
        } @else if session.expires_at <= now {
            span.state-ended { "expired" }
        } @else {
            span.state-live { "live" }
        }
    }
}

pub async fn confirm_revoke_session(
    State(state): State<AppState>,
    Console(user): Console,
    Path((sub, sid)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    require_admin(&user)?;
    let (identity, session) = state.admin.people.session(&sub, &sid).await?;
    let device = session.user_agent.as_deref().unwrap_or("an unknown device");
    let body = html! {
        p.warning {
            "Revoke the session of " strong { (identity.phone_number) } " on " strong { (device) }
            ", created " (when(session.created_at)) ", last used " (when(session.last_used_at))
            ": its access and refresh tokens stop working at once. The person's other sessions stay signed in."
        }
        form.actions method="post" action=(format!("/admin/people/{}/sessions/{}/revoke", encode(&sub), encode(&sid))) {
            (csrf_field(&user))
            button.danger type="submit" { "Revoke this session" }
            a.button.secondary href=(format!("/admin/people/{}", encode(&sub))) { "Cancel" }
        }
    };
    Ok(page("Revoke a session", Some(&user), Area::People, body))
}

pub async fn revoke_session(
    State(state): State<AppState>,
    Client(client): Client,
    Path((sub, sid)): Path<(String, String)>,
    Posted { user, .. }: Posted<NoFields, ADMIN>,
) -> Result<Response, PageError> {
    let target = RevokeTarget::Session(&sid);
    revoke_then_show(&state, &client, &user, target, &sub, "session").await
}

pub async fn confirm_revoke_all(
    State(state): State<AppState>,
    Console(user): Console,
    Path(sub): Path<String>,
) -> Result<Markup, PageError> {
    require_admin(&user)?;
    let person = state.admin.people.person(&sub, None, 1).await?;
    let body = html! {
        p.warning {
            "Revoke every session of " strong { (person.identity.phone_number) }
            ": every access and refresh token issued to this identity stops working at once, on every device. "
            "The next login with this number needs a new code."
        }
        form.actions method="post" action=(format!("/admin/people/{}/revoke", encode(&sub))) {
            (csrf_field(&user))
            button.danger type="submit" { "Revoke every session" }
            a.button.secondary href=(format!("/admin/people/{}", encode(&sub))) { "Cancel" }
        }
    };
    Ok(page("Revoke everything", Some(&user), Area::People, body))
}

pub async fn revoke_all(
    State(state): State<AppState>,
    Client(client): Client,
    Path(sub): Path<String>,
    Posted { user, .. }: Posted<NoFields, ADMIN>,
) -> Result<Response, PageError> {
    let target = RevokeTarget::Identity(&sub);
    revoke_then_show(&state, &client, &user, target, &sub, "all").await
}

/// Revokes `target` as `user` (the sessions service audits it), then shows identity `sub`'s
/// page with the notice `done`.
async fn revoke_then_show(
    state: &AppState,
    client: &ClientInfo,
    user: &ConsoleUser,
    target: RevokeTarget<'_>,
    sub: &str,
    done: &str,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let sessions = &state.admin.sessions;
    sessions
        .revoke(&user.actor, client.ip.as_deref(), target, now)
        .await?;
    see_other(&format!("/admin/people/{}?done={done}", encode(sub)))
}

/// When the identity's newest kept session began; a dash once every session has been swept.
fn last_login(identity: &Identity) -> String {
    identity
        .last_login_at
        .map(when)
        .unwrap_or_else(|| "—".to_owned())
}

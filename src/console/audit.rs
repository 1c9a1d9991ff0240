//! The audit log, newest first, filtered by actor, action, subject and time: the
//! `admin.audit_log` service the JSON API reads too.

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Area, PageError, encode, page, when};
use super::session::Console;
use crate::app::AppState;
use crate::domain::parse_instant;
use crate::error::Error;
use crate::store::AuditQuery;

const PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    before: Option<i64>,
}

fn given(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|text| !text.is_empty())
}

fn instant(name: &str, text: &str) -> Result<Option<i64>, PageError> {
    given(text)
        .map(|text| {
            parse_instant(text).ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "{name} must be a date and time (2025-05-01T09:30, read as UTC), an RFC 3339 time or Unix seconds"
                ))
                .into()
            })
        })
        .transpose()
}

pub async fn list(
    State(state): State<AppState>,
    Console(user): Console,
    Query(filters): Query<Filters>,
) -> Result<Markup, PageError> {
    let query = AuditQuery {
        before_id: filters.before,
        actor: given(&filters.actor),
        subject: given(&filters.subject),
        action: given(&filters.action),
        since: instant("From", &filters.since)?,
        until: instant("Until", &filters.until)?,
        limit: PER_PAGE + 1,
    };
    let mut events = state.admin.audit_log.events(&query).await?;
    let more = events.len() as i64 > PER_PAGE;
    events.truncate(PER_PAGE as usize);
    let next = events.last().filter(|_| more).map(|last| {
        format!(
            "/admin/audit?actor={}&action={}&subject={}&since={}&until={}&before={}",
            encode(&filters.actor),
            encode(&filters.action),
            encode(&filters.subject),
            encode(&filters.since),
            encode(&filters.until),
            last.id
        )
    });
    let body = html! {
        form.filters method="get" action="/admin/audit" {
            label { "Actor" input name="actor" value=(filters.actor) placeholder="api-key:hr-sync"; }
            label { "Action" input name="action" value=(filters.action) placeholder="session.revoked"; }
            label { "Subject" input name="subject" value=(filters.subject); }
            label { "From (UTC)" input type="datetime-local" name="since" value=(filters.since); }
            label { "Until (UTC)" input type="datetime-local" name="until" value=(filters.until); }
            button type="submit" { "Filter" }
        }
        @if events.is_empty() {
            p.muted { "No events." }
        } @else {
            div.scroll { table {
                thead { tr { th { "Time" } th { "Actor" } th { "Action" } th { "Subject" } th { "IP" } th { "Detail" } } }
                tbody {
                    @for event in &events {
                        tr {
                            td { (when(event.at)) }
                            td { (event.actor) }
                            td { (event.action) }
                            td { code { (event.subject.as_deref().unwrap_or("")) } }
                            td { (event.ip.as_deref().unwrap_or("")) }
                            td { code { (event.detail.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            } }
        }
        @if let Some(next) = next { p { a href=(next) { "Older events" } } }
    };
    Ok(page("Audit log", Some(&user), Area::Audit, body))
}

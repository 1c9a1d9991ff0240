//! The overview: the last 24 hours' logins, refusals and codes sent (server-rendered SVG bar
//! charts, with the numbers in a table for screen readers), readiness of the database, Redis
//! and the SMS providers, the signing keys' rotation and the API keys.

use axum::extract::State;
use maud::{Markup, html};

use super::layout::{Area, PageError, page, when};
use super::session::Console;
use crate::admin::{HOURS, Series, Summary};
use crate::app::AppState;

pub async fn show(
    State(state): State<AppState>,
    Console(user): Console,
) -> Result<Markup, PageError> {
    let summary = state.admin.overview.summary(state.clock.now()).await?;
    let body = html! {
        h2 { "Last 24 hours" }
        div.charts {
            (chart("Logins", &summary.logins))
            (chart("Refusals", &summary.refusals))
            (chart("Codes sent", &summary.codes_sent))
        }
        p.muted { "Codes sent are counted by each node and stored every minute: the latest minute may be missing." }
        (readiness(&summary))
        (signing_keys(&summary))
        (api_keys(&summary))
    };
    Ok(page("Overview", Some(&user), Area::Overview, body))
}

/// Bar width and gap, and the chart's drawing height, in SVG units.
const BAR: usize = 10;
const GAP: usize = 2;
const HEIGHT: i64 = 60;

fn chart(title: &str, series: &Series) -> Markup {
    let max = series.counts.iter().copied().max().unwrap_or(0).max(1);
    let width = HOURS * (BAR + GAP);
    html! {
        figure {
            figcaption { (title) ": " (series.total()) }
            svg.chart viewBox=(format!("0 0 {width} {}", HEIGHT + 2)) role="img"
                aria-label=(format!("{title} per hour over the last 24 hours, {} in all", series.total())) {
                line x1="0" y1=(HEIGHT) x2=(width) y2=(HEIGHT) stroke="#6b7580" stroke-width="1" {}
                @for (index, (hour, count)) in series.hours.iter().zip(&series.counts).enumerate() {
                    @let height = if *count > 0 { (count * HEIGHT / max).max(2) } else { 0 };
                    rect x=(index * (BAR + GAP)) y=(HEIGHT - height) width=(BAR) height=(height) fill="currentColor" {
                        title { (when(*hour)) ": " (count) }
                    }
                }
            }
            details {
                summary { "Numbers" }
                table {
                    thead { tr { th scope="col" { "Hour" } th scope="col" { (title) } } }
                    tbody { @for (hour, count) in series.hours.iter().zip(&series.counts) { tr { td { (when(*hour)) } td { (count) } } } }
                }
            }
        }
    }
}

fn ready(answered: bool) -> Markup {
    html! {
        @if answered { span.state-live { "ready" } } @else { span.state-ended { "not answering" } }
    }
}

fn readiness(summary: &Summary) -> Markup {
    html! {
        h2 { "Readiness" }
        dl.facts {
            dt { "Database" } dd { (ready(summary.readiness.database)) }
            dt { "Redis" }
            dd {
                @if summary.redis { (ready(summary.readiness.ephemeral)) }
                @else { "not configured: codes and limits are kept in this process (one node only)" }
            }
            dt { "SMS providers" }
            dd {
                (summary.providers.join(", "))
                " "
                span.muted { "(in failover order; a provider cannot be pinged without sending, so its readiness is how its sends went)" }
            }
        }
        @if summary.send_outcomes.is_empty() {
            p.muted { "No codes sent in the last 24 hours." }
        } @else {
            table {
                thead { tr { th scope="col" { "Provider" } th scope="col" { "Outcome" } th scope="col" { "Messages (24 h)" } } }
                tbody { @for (provider, outcome, count) in &summary.send_outcomes { tr { td { (provider) } td { (outcome) } td { (count) } } } }
            }
        }
    }
}

fn signing_keys(summary: &Summary) -> Markup {
    html! {
        h2 { "Signing keys" }
        div.scroll { table {
            thead { tr { th scope="col" { "Key id" } th scope="col" { "Algorithm" } th scope="col" { "State" } } }
            tbody {
                @for key in &summary.signing_keys {
                    tr { td { code { (key.kid) } } td { (key.alg.name()) } td { (key.state.to_string()) } }
                }
            }
        } }
        p.muted { "Rotate with " code { "sesame keys rotate" } "; nodes pick the new key up within SESAME_KEYS_RELOAD_INTERVAL." }
    }
}

fn api_keys(summary: &Summary) -> Markup {
    let live = summary
        .api_keys
        .iter()
        .filter(|key| key.revoked_at.is_none())
        .count();
    let revoked = summary.api_keys.len() - live;
    html! {
        h2 { "API keys" }
        p {
            (live) " live, " (revoked) " revoked, besides SESAME_ADMIN_API_KEY if it is set. "
            a href="/admin/api-keys" { "See and manage the keys" }
        }
    }
}

//! `GET /v1/revocations/stream`: the revocation feed pushed as Server-Sent Events, for a
//! downstream deny-list that should learn of a revocation within a second instead of a poll
//! interval. It replays from a cursor like `GET /v1/revocations`, then pushes what any node
//! revokes (docs/contract-notes.md, "Token lifecycle").

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{IntrospectKey, QueryParams};
use super::page;
use super::revocation_feed::FeedEntry;
use crate::app::AppState;
use crate::error::{ErrorBody, Result};
use crate::store::FeedPosition;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(revocation_stream))
}

/// Items read from the feed per query.
const BATCH: i64 = 500;
/// How often a stream re-reads the feed without a notification: on SQLite (no notifications)
/// and, as a safety net for a lost notification, on Postgres.
const POLL: Duration = Duration::from_secs(1);
const FALLBACK: Duration = Duration::from_secs(15);
/// A comment this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Where to start: a `next` of `GET /v1/revocations` or an event's `id`; absent or empty =
    /// from the beginning. A `Last-Event-ID` header (an event source reconnecting) wins over it.
    /// Opaque: a cursor this API did not return is `400 invalid_request`.
    #[serde(alias = "cursor")]
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub since: Option<String>,
}

/// Revocations as Server-Sent Events: a replay from the cursor, then each new one as it commits.
///
/// Each event is `event: revocation`, `data:` one feed entry (JSON) and `id:` a cursor to
/// resume from. Delivery is at least once: a revocation younger than
/// `SESAME_REVOCATION_FEED_LAG` seconds is sent at once but stays after the cursor until it is
/// that old, so a stream resumed from any `id` misses nothing and may repeat a few entries.
#[utoipa::path(get, path = "/v1/revocations/stream", tag = "discovery", security(("api_key" = [])),
    params(StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The `id` of the last event received; resumes after it")),
    responses(
        (status = 200, description = "An endless `text/event-stream` of `revocation` events (data: a feed entry as JSON; id: a cursor), with a keep-alive comment every 15 seconds", content_type = "text/event-stream", body = String),
        (status = 400, description = "`invalid_request`: a cursor this API did not return, or an unknown parameter", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid API key of role `introspect` or `admin` (with `WWW-Authenticate: Bearer`)", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 503, description = "`temporarily_unavailable`", body = ErrorBody),
    ))]
pub async fn revocation_stream(
    State(state): State<AppState>,
    _key: IntrospectKey,
    headers: HeaderMap,
    QueryParams(query): QueryParams<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last_event = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let settled =
        page::position(last_event.or(query.since).as_deref())?.unwrap_or_else(FeedPosition::start);
    let wake = state.revocation_signal.subscribe().await?;
    let follow = Follow {
        state,
        settled,
        sent: HashSet::new(),
        pending: VecDeque::new(),
        wake,
        started: false,
    };
    let events = futures::stream::unfold(follow, Follow::next);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One stream's place in the feed.
struct Follow {
    state: AppState,
    /// Everything up to here is sent and older than the feed's lag: no revocation can still
    /// commit before it. Each event's `id`.
    settled: FeedPosition,
    /// Items after `settled` already sent, by (source, id).
    sent: HashSet<(String, String)>,
    pending: VecDeque<Event>,
    /// Notifications of committed revocations; `None` on SQLite.
    wake: Option<broadcast::Receiver<()>>,
    started: bool,
}

impl Follow {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.started {
                // A stream never ends by itself: it ends when the node shuts down, and the
                // client resumes on another node from its last `id`.
                let mut stopping = self.state.stopping.clone();
                tokio::select! {
                    () = self.wait() => {}
                    _ = stopping.wait_for(|stopping| *stopping) => return None,
                }
            }
            self.started = true;
            // A failing database ends the stream; the client resumes from its last `id`.
            if let Err(err) = self.read().await {
                tracing::warn!(error = %err, "revocation stream ended");
                return None;
            }
        }
    }

    async fn wait(&mut self) {
        let Some(wake) = &mut self.wake else {
            tokio::time::sleep(POLL).await;
            return;
        };
        tokio::select! {
            woken = wake.recv() => {
                if matches!(woken, Err(broadcast::error::RecvError::Closed)) {
                    self.wake = None;
                }
            }
            () = tokio::time::sleep(FALLBACK) => {}
        }
    }

    /// Queues an event for each item after `settled` not sent yet, and moves `settled` over
    /// the items old enough.
    async fn read(&mut self) -> Result<()> {
        let now = self.state.clock.now();
        let settles_at = now - self.state.config.revocation_feed_lag;
        let mut after = self.settled.clone();
        let mut sent = HashSet::new();
        loop {
            let items = self
                .state
                .tokens
                .revocations_now(&after, now, BATCH)
                .await?;
            let full = i64::try_from(items.len()).unwrap_or(i64::MAX) >= BATCH;
            for item in items {
                after = item.position.clone();
                let key = (item.position.source.clone(), item.position.id.clone());
                // Items come oldest first: the settled ones precede the others.
                if item.revoked_at <= settles_at {
                    self.settled = item.position.clone();
                }
                if !self.sent.contains(&key) {
                    let event = Event::default()
                        .event("revocation")
                        .id(page::encode(&self.settled)?)
                        .json_data(FeedEntry::from(item))
                        .map_err(|err| crate::error::Error::Internal(err.into()))?;
                    self.pending.push_back(event);
                }
                if after != self.settled {
                    sent.insert(key);
                }
            }
            if !full {
                break;
            }
        }
        self.sent = sent;
        Ok(())
    }
}

//! `GET /v1/revocations/stream`: the revocation feed pushed as Server-Sent Events, for a
//! downstream deny-list that should learn of a revocation within a second instead of a poll
//! interval. It replays from a cursor like `GET /v1/revocations`, then pushes what any node
//! revokes (docs/contract-notes.md, "Token lifecycle"). It lasts while its API key may read
//! the feed: a key revoked or re-roled since the stream opened ends it.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio::time::{Instant, Interval, MissedTickBehavior};
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
/// How often an open stream holds its key to the rule a new request meets (through the
/// node's memory of key lookups, so it seldom costs a query).
const KEY_CHECK: Duration = Duration::from_secs(1);
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
    key: IntrospectKey,
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
    let now = Instant::now();
    let mut key_check = tokio::time::interval_at(now + KEY_CHECK, KEY_CHECK);
    key_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let follow = Follow {
        state,
        key,
        key_check,
        settled,
        sent: HashSet::new(),
        pending: VecDeque::new(),
        wake,
        read_at: now,
        started: false,
    };
    let events = futures::stream::unfold(follow, Follow::next);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One stream's place in the feed.
struct Follow {
    state: AppState,
    /// The key the stream was opened with, checked again every [`KEY_CHECK`].
    key: IntrospectKey,
    key_check: Interval,
    /// Everything up to here is sent and older than the feed's lag: no revocation can still
    /// commit before it. Each event's `id`.
    settled: FeedPosition,
    /// Items after `settled` already sent, by (source, id).
    sent: HashSet<(String, String)>,
    pending: VecDeque<Event>,
    /// Notifications of committed revocations; `None` on SQLite.
    wake: Option<broadcast::Receiver<()>>,
    /// When to read the feed again without a notification.
    read_at: Instant,
    started: bool,
}

/// Why a stream's wait ended.
#[derive(PartialEq, Eq)]
enum Woken {
    /// The feed may hold something new.
    Feed,
    /// Time to check the stream's key again.
    KeyCheck,
}

impl Follow {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.started {
                // A stream ends when the node shuts down (the client resumes on another node
                // from its last `id`) or when its key may no longer read the feed.
                let mut stopping = self.state.stopping.clone();
                let woken = tokio::select! {
                    woken = self.wait() => woken,
                    _ = stopping.wait_for(|stopping| *stopping) => return None,
                };
                if woken == Woken::KeyCheck {
                    // Reconnecting with a key revoked or re-roled then answers `401` or `403`.
                    if let Err(err) = self.key.still_allowed(&self.state).await {
                        tracing::info!(error = %err, "revocation stream ended by its API key");
                        return None;
                    }
                    continue;
                }
            }
            self.started = true;
            // A failing database ends the stream; the client resumes from its last `id`.
            if let Err(err) = self.read().await {
                tracing::warn!(error = %err, "revocation stream ended");
                return None;
            }
            let interval = if self.wake.is_some() { FALLBACK } else { POLL };
            self.read_at = Instant::now() + interval;
        }
    }

    /// Waits for a notification, the time to read without one, or the time to check the key.
    async fn wait(&mut self) -> Woken {
        let read_at = tokio::time::sleep_until(self.read_at);
        let Some(wake) = &mut self.wake else {
            return tokio::select! {
                () = read_at => Woken::Feed,
                _ = self.key_check.tick() => Woken::KeyCheck,
            };
        };
        tokio::select! {
            woken = wake.recv() => {
                if matches!(woken, Err(broadcast::error::RecvError::Closed)) {
                    self.wake = None;
                }
                Woken::Feed
            }
            () = read_at => Woken::Feed,
            _ = self.key_check.tick() => Woken::KeyCheck,
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

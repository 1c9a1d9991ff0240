//! The pushed feed, `GET /v1/revocations/stream` (Server-Sent Events, `docs/http-api.md`):
//! Sesame sends each revocation as it commits, so the deny-list learns of it within a second
//! instead of a poll interval. The polled feed (`revocations.rs`) stays the durable source and
//! keeps running: both resume from the same cursor, so a stream that drops replays on
//! reconnection what it missed, and a poll catches what a broken stream could not deliver.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::revocations::{Follower, Item};
use crate::tasks::{Backoff, lock};

/// Sesame sends a keep-alive comment every 15 s: a stream silent this long is dead.
const IDLE: Duration = Duration::from_secs(45);
/// A stream is reopened (from its cursor) this often, whatever timeout the client has.
const LIFETIME: Duration = Duration::from_secs(3600);
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Why a stream ended.
enum End {
    /// Sesame closed it (a node shutting down): reconnect, maybe to another node.
    Closed,
    Failed(String),
    /// This Sesame has no stream (it predates it): polling alone follows the feed.
    NotServed,
}

impl Follower {
    /// Follows the stream for as long as the verifier lives, reconnecting from the cursor
    /// after a backoff that starts at 250 ms and doubles to 30 s while connections fail.
    pub(crate) async fn stream(self: Arc<Self>) {
        let mut backoff = Backoff::new(FIRST_RETRY, MAX_RETRY);
        loop {
            let end = self.follow(&mut backoff).await;
            {
                let mut progress = lock(&self.progress);
                if progress.streaming {
                    progress.caught_up_at = SystemTime::now();
                }
                progress.streaming = false;
                if let End::Failed(err) = &end {
                    tracing::warn!(error = %err, "the revocation stream failed");
                    progress.last_error = Some(err.clone());
                }
            }
            if let End::NotServed = end {
                tracing::warn!("Sesame serves no revocation stream: polling only");
                return;
            }
            tokio::time::sleep(backoff.fail()).await;
        }
    }

    /// Opens the stream from the cursor and applies its events until it ends.
    async fn follow(&self, backoff: &mut Backoff) -> End {
        let url = format!("{}/stream", self.url);
        let cursor = lock(&self.progress).cursor.clone();
        let mut request = self
            .client
            .get(&url)
            .bearer_auth(&self.api_key)
            .timeout(LIFETIME);
        if let Some(cursor) = &cursor {
            request = request.query(&[("since", cursor)]);
        }
        let response = match request.send().await {
            Ok(response) if response.status() == StatusCode::NOT_FOUND => return End::NotServed,
            Ok(response) => response.error_for_status(),
            Err(err) => Err(err),
        };
        let response = match response {
            Ok(response) => response,
            Err(err) => return End::Failed(format!("GET {url}: {err}")),
        };
        backoff.reset();
        {
            let mut progress = lock(&self.progress);
            progress.streaming = true;
            progress.last_error = None;
        }
        let mut events = response.bytes_stream().eventsource();
        loop {
            let event = match tokio::time::timeout(IDLE, events.next()).await {
                Err(_) => return End::Failed(format!("{url}: silent for {IDLE:?}")),
                Ok(None) => return End::Closed,
                Ok(Some(Err(err))) => return End::Failed(format!("{url}: {err}")),
                Ok(Some(Ok(event))) => event,
            };
            if event.event != "revocation" {
                continue;
            }
            match serde_json::from_str::<Item>(&event.data) {
                // Each event's id is a cursor past it: resuming there misses nothing.
                Ok(item) if !event.id.is_empty() => self.apply(vec![item], event.id),
                Ok(_) => return End::Failed(format!("{url}: an event without an id")),
                Err(err) => return End::Failed(format!("{url}: a malformed event: {err}")),
            }
        }
    }
}

//! The pushed revocation feed (`GET /v1/revocations/stream`, Server-Sent Events).

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{ADMIN_KEY, Backend, TestApp, assert_error, spawn_app};
use crate::lifecycle_helpers::{claim, text};
use crate::on_both_backends;

on_both_backends!(a_stream_replays_pushes_and_resumes_from_its_last_id);

/// An open event stream, read event by event.
pub struct EventStream {
    response: Response,
    buffer: String,
}

/// One `revocation` event: its `id` and its data.
pub struct Revocation {
    pub id: String,
    pub data: Value,
}

impl EventStream {
    /// Opens the stream on `app` with `key`, resuming after `last_event_id` if given.
    pub async fn open(app: &TestApp, key: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app
            .client
            .get(app.url("/v1/revocations/stream"))
            .bearer_auth(key)
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, or `None` when none comes within `within`.
    pub async fn next_within(&mut self, within: Duration) -> Option<Revocation> {
        tokio::time::timeout(within, self.next()).await.ok()
    }

    async fn next(&mut self) -> Revocation {
        loop {
            // Events end with a blank line; keep-alive comments (`:` lines) are skipped.
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|line| line.strip_prefix(name))
                        .map(str::to_owned)
                };
                if let (Some(id), Some(data)) = (field("id: "), field("data: ")) {
                    assert_eq!(field("event: ").as_deref(), Some("revocation"), "{block}");
                    return Revocation {
                        id,
                        data: serde_json::from_str(&data).unwrap(),
                    };
                }
                continue;
            }
            let chunk = self
                .response
                .chunk()
                .await
                .unwrap()
                .expect("the stream ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Reads events until one names session `sid`; fails after `within`.
    pub async fn until_session(&mut self, sid: &str, within: Duration) -> Revocation {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self
                .next_within(left)
                .await
                .unwrap_or_else(|| panic!("session {sid} was not pushed within {within:?}"));
            if event.data["sid"] == sid && event.data.get("jti").is_none() {
                return event;
            }
        }
    }
}

/// Logs `number` in on `app` and revokes the session over the admin API; returns its `sid`.
pub async fn revoked_session(app: &TestApp, number: &str) -> String {
    let pair = app.login(number).await;
    let sid = claim(text(&pair, "access_token"), "sid");
    let response = app
        .admin_post(&format!("/admin/v1/sessions/{sid}/revoke"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    sid
}

async fn a_stream_replays_pushes_and_resumes_from_its_last_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .get(app.url("/v1/revocations/stream"))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let response = app
        .client
        .get(app.url("/v1/revocations/stream?since=not-a-cursor"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    // Revoked before the stream opens and older than the feed's lag: replayed, with an id
    // past it. Revoked while the stream is open: pushed.
    let key = app.api_key("introspect").await;
    let before = revoked_session(&app, "+447700900201").await;
    app.clock.advance(Duration::from_secs(10));
    let mut stream = EventStream::open(&app, &key, None).await;
    let replayed = stream.until_session(&before, Duration::from_secs(10)).await;
    let during = revoked_session(&app, "+447700900202").await;
    stream.until_session(&during, Duration::from_secs(10)).await;
    drop(stream);

    // Revoked while disconnected: a stream resuming from an id gets what followed it, and
    // nothing before it.
    let missed = revoked_session(&app, "+447700900203").await;
    let mut resumed = EventStream::open(&app, &key, Some(&replayed.id)).await;
    let first = resumed.next_within(Duration::from_secs(10)).await.unwrap();
    assert_ne!(first.data["sid"], before.as_str(), "resumed after it");
    if first.data["sid"] != missed.as_str() {
        resumed
            .until_session(&missed, Duration::from_secs(10))
            .await;
    }
}

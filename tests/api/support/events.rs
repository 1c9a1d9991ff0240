//! The pushed revocation feed as a client reads it: an open Server-Sent Events stream.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::{TestApp, claim, text};

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

    /// Whether the server ends the stream within `within` (events before the end are skipped).
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let end = async { while let Ok(Some(_)) = self.response.chunk().await {} };
        tokio::time::timeout(within, end).await.is_ok()
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

//! The deny-list, kept from Sesame's revocation feed (`GET /v1/revocations`, described in
//! `docs/contract-notes.md`, "Token lifecycle"), polled here and pushed by `stream.rs`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::status::RevocationsStatus;
use crate::tasks::{Backoff, lock, unix_now};

/// The largest page Sesame serves; a shorter page means the follower has caught up.
pub(crate) const PAGE: usize = 1_000;
/// The longest wait between two polls while Sesame fails.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One revocation: a whole session (no `jti`) or one token. Until `expires_at` (Unix seconds)
/// a token it covers could still be presented.
#[derive(Deserialize)]
pub(crate) struct Item {
    sid: String,
    #[serde(default)]
    jti: Option<String>,
    expires_at: i64,
}

#[derive(Deserialize)]
struct Page {
    items: Vec<Item>,
    next: String,
}

/// Revoked sessions and tokens with the time until which they must be refused. Two hash
/// maps: a lookup costs the same with ten entries or a million.
#[derive(Default)]
pub(crate) struct DenyList {
    sessions: HashMap<String, i64>,
    tokens: HashMap<String, i64>,
}

impl DenyList {
    fn add(&mut self, item: Item) {
        let (map, id) = match item.jti {
            Some(jti) => (&mut self.tokens, jti),
            None => (&mut self.sessions, item.sid),
        };
        let until = map.entry(id).or_insert(item.expires_at);
        *until = (*until).max(item.expires_at);
    }

    pub(crate) fn denies(&self, sid: &str, jti: &str) -> bool {
        self.sessions.contains_key(sid) || self.tokens.contains_key(jti)
    }

    /// Forgets entries that expired before `cutoff`: every token they cover is expired too.
    fn prune(&mut self, cutoff: i64) {
        self.sessions.retain(|_, until| *until >= cutoff);
        self.tokens.retain(|_, until| *until >= cutoff);
    }

    fn len(&self) -> usize {
        self.sessions.len() + self.tokens.len()
    }
}

pub(crate) struct Progress {
    pub(crate) cursor: Option<String>,
    pub(crate) caught_up_at: SystemTime,
    pub(crate) last_error: Option<String>,
    /// The push stream is open: the deny-list is current within a second.
    pub(crate) streaming: bool,
}

/// Follows the feed into the deny-list: reads pages while they are full, keeps the cursor of
/// the last page applied, and starts again from it after an error.
pub(crate) struct Follower {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) api_key: String,
    page: usize,
    /// Entries are kept this long past `expires_at`: tokens pass that late with the leeway.
    leeway: i64,
    deny: RwLock<DenyList>,
    pub(crate) progress: Mutex<Progress>,
}

impl Follower {
    pub(crate) fn new(
        client: reqwest::Client,
        url: String,
        api_key: String,
        page: usize,
        leeway: i64,
    ) -> Self {
        Self {
            client,
            url,
            api_key,
            page,
            leeway,
            deny: RwLock::default(),
            progress: Mutex::new(Progress {
                cursor: None,
                caught_up_at: SystemTime::UNIX_EPOCH,
                last_error: None,
                streaming: false,
            }),
        }
    }

    pub(crate) fn denies(&self, sid: &str, jti: &str) -> bool {
        self.deny
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .denies(sid, jti)
    }

    async fn fetch(&self, since: Option<&str>) -> Result<Page, String> {
        let limit = self.page.to_string();
        let mut query = vec![("limit", limit.as_str())];
        query.extend(since.map(|cursor| ("since", cursor)));
        let response = self
            .client
            .get(&self.url)
            .query(&query)
            .bearer_auth(&self.api_key)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| format!("GET {}: {err}", self.url))?;
        response
            .json()
            .await
            .map_err(|err| format!("{}: {err}", self.url))
    }

    /// Reads the feed to its end from the last cursor, then prunes what has expired.
    async fn catch_up(&self) -> Result<(), String> {
        let mut cursor = lock(&self.progress).cursor.clone();
        loop {
            let page = self.fetch(cursor.as_deref()).await?;
            let full = page.items.len() >= self.page;
            self.apply(page.items, page.next.clone());
            cursor = Some(page.next);
            if !full {
                break;
            }
        }
        let cutoff = unix_now().saturating_sub(self.leeway);
        self.deny
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .prune(cutoff);
        Ok(())
    }

    /// Adds `items` to the deny-list, then moves the cursor to `next`: only what was applied
    /// moves it. The poll and the stream both apply here; whichever writes last, everything
    /// before the cursor is in the deny-list, so either may resume from it.
    pub(crate) fn apply(&self, items: Vec<Item>, next: String) {
        {
            let mut deny = self.deny.write().unwrap_or_else(PoisonError::into_inner);
            for item in items {
                deny.add(item);
            }
        }
        lock(&self.progress).cursor = Some(next);
    }

    /// One catch-up, its outcome recorded for the status.
    pub(crate) async fn poll(&self) -> Result<(), String> {
        let outcome = self.catch_up().await;
        let mut progress = lock(&self.progress);
        match &outcome {
            Ok(()) => {
                progress.caught_up_at = SystemTime::now();
                progress.last_error = None;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read Sesame's revocation feed");
                progress.last_error = Some(err.clone());
            }
        }
        outcome
    }

    /// Polls every `interval` (the first catch-up is `build`'s); after an error, again after a
    /// backoff that starts at `interval`.
    pub(crate) async fn run(self: std::sync::Arc<Self>, interval: Duration) {
        let mut backoff = Backoff::new(interval, MAX_BACKOFF);
        let mut wait = interval;
        loop {
            tokio::time::sleep(wait).await;
            wait = match self.poll().await {
                Ok(()) => {
                    backoff.reset();
                    interval
                }
                Err(_) => backoff.fail(),
            };
        }
    }

    pub(crate) fn status(&self) -> RevocationsStatus {
        let entries = self
            .deny
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        let progress = lock(&self.progress);
        // An open stream is caught up: Sesame pushes each revocation as it commits.
        let caught_up_at = if progress.streaming {
            SystemTime::now()
        } else {
            progress.caught_up_at
        };
        RevocationsStatus {
            caught_up_at,
            lag: caught_up_at.elapsed().unwrap_or_default(),
            cursor: progress.cursor.clone(),
            entries,
            last_error: progress.last_error.clone(),
            streaming: progress.streaming,
        }
    }
}

#[cfg(test)]
#[path = "revocations_tests.rs"]
mod tests;
